"""NetworkPolicy verdicts as text and JSON (`trace --from`, `policy`): pure, returns what it builds.

Cluster text (names, labels) is data: everything goes into `rich.text.Text` with styles passed
as arguments, never as markup.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from kinspect.path.evidence import Evidence, Evidencer
from kinspect.policy import evidence as policy_evidence
from kinspect.policy.access import AdminAdmission, Cell, PodAccess
from kinspect.policy.admin import AdminRef
from kinspect.policy.netpol import Side
from kinspect.policy.reach import From, HopVerdict
from kinspect.render import evidence
from kinspect.render.report import plugin_policy_json
from kinspect.render.safe import plain

_STYLE = {"allowed": "green", "denied": "red", "unknown": "yellow"}
BY_POLICY = "by policy: what the policies say; enforcement depends on the network plugin"


def side_words(direction: str, side: Side) -> str:
    """`ingress: allowed by x/web ingress[0]`, `egress: isolated by x/deny, no rule matches`.

    AdminNetworkPolicy tiers: `ingress: denied by BaselineAdminNetworkPolicy default
    ingress[1] 'deny-all'`, `ingress: passed by AdminNetworkPolicy p ingress[0] (priority 5),
    then allowed by x/web ingress[0]`.
    """
    prefix = f"passed by {side.passed_by}, then " if side.passed_by is not None else ""
    return f"{direction}: {prefix}{_side_what(side)}"


def _side_what(side: Side) -> str:
    if side.reason and side.verdict == "unknown":
        what = f"unknown: {side.reason}"
    elif side.decided_by is not None:
        what = f"{side.verdict} by {side.decided_by}"
    elif side.reason and not side.isolating:
        what = f"{side.verdict}: {side.reason}"
    elif not side.isolating:
        what = "not isolated"
    elif side.allowed_by:
        what = "allowed by " + ", ".join(str(r) for r in side.allowed_by)
    elif side.only_from:
        what = "allowed only from " + "; ".join(side.only_from)
    else:
        what = "isolated by " + ", ".join(side.isolating) + ", no rule matches"
    return what


def hops_text(source: From, hops: list[HopVerdict], ev: Evidencer | None = None) -> Group:
    """One block per hop: the verdict, the pod and port, and each side's reason.

    From a namespace, the source pods with the same verdict at one hop share a block. `ev`
    (--evidence): under each hop, the policies and rules that decided it.
    """
    lines: list[Text] = [Text(plain(f"policy from {source.label} ({BY_POLICY}):"), style="bold")]
    if not hops:
        lines.append(Text("  no hop reaches a pod: nothing to evaluate"))
    groups: dict[tuple[object, ...], list[HopVerdict]] = {}
    for h in hops:
        key = (h.via, h.pod, h.port, h.protocol, h.verdict, h.notes)
        groups.setdefault(key, []).append(h)
    for same in groups.values():
        h = same[0]
        line = Text("  ")
        line.append(f"{h.verdict.verdict:<8}", style=_STYLE[h.verdict.verdict])
        line.append(plain(f" {h.pod}:{h.port}/{h.protocol}  via {h.via}"))
        lines.append(line)
        sources = [x.source for x in same if x.source is not None]
        if sources:
            who = ", ".join(sources)
            lines.append(Text(plain(f"           from {len(sources)} pod(s): {who}")))
        lines.append(Text(plain("           " + side_words("egress", h.verdict.egress))))
        lines.append(Text(plain("           " + side_words("ingress", h.verdict.ingress))))
        lines.extend(Text(plain(f"           note: {n}")) for n in h.notes)
        if ev is not None:
            lines.extend(evidence.lines(_hop_evidence(ev, h), "           "))
    return Group(*lines)


def _hop_evidence(ev: Evidencer, h: HopVerdict) -> list[Evidence]:
    egress = policy_evidence.side(ev, "egress", h.verdict.egress)
    return [*egress, *policy_evidence.side(ev, "ingress", h.verdict.ingress)]


def _side(side: Side) -> dict[str, Any]:
    return {
        "verdict": side.verdict,
        "isolatedBy": list(side.isolating),
        "allowedBy": [
            {
                "namespace": r.namespace,
                "policy": r.policy,
                "direction": r.direction,
                "rule": r.index,
            }
            for r in side.allowed_by
        ],
        "onlyFrom": list(side.only_from),
        "reason": side.reason,
        "decidedBy": admin_ref(side.decided_by),
        "passedBy": admin_ref(side.passed_by),
        "pluginPolicies": [plugin_policy_json(p) for p in side.plugin_policies],
    }


def admin_ref(r: AdminRef | None) -> dict[str, Any] | None:
    """An AdminNetworkPolicy or BaselineAdminNetworkPolicy rule in JSON (docs/json.md)."""
    if r is None:
        return None
    return {
        "kind": r.tier,
        "policy": r.policy,
        "priority": r.priority,
        "direction": r.direction,
        "rule": r.index,
        "name": r.name,
        "action": r.action,
    }


def hops_json(source: From, hops: list[HopVerdict], ev: Evidencer | None = None) -> dict[str, Any]:
    """The TraceReport's `policy` member (docs/json.md); `ev`: each hop's `evidence`."""
    doc: dict[str, Any] = {
        "from": source.label,
        "fromKind": source.kind,
        "hops": [
            {
                "source": h.source,
                "via": h.via,
                "pod": {"namespace": h.pod.namespace, "name": h.pod.name},
                "port": h.port,
                "protocol": h.protocol,
                "verdict": h.verdict.verdict,
                "egress": _side(h.verdict.egress),
                "ingress": _side(h.verdict.ingress),
                "notes": list(h.notes),
            }
            for h in hops
        ],
    }
    if ev is not None:
        for hop, h in zip(doc["hops"], hops, strict=True):
            hop["evidence"] = evidence.as_json(_hop_evidence(ev, h))
    return doc


# --- kinspect policy ----------------------------------------------------------------------


def access_text(found: list[PodAccess]) -> Group:
    """Per pod: the isolating policies and, rule by rule, whom they admit on which ports."""
    lines: list[Text] = [Text(f"who may reach it ({BY_POLICY}):", style="bold")]
    if not found:
        lines.append(Text("  no backend pod: nothing to evaluate"))
    for a in found:
        head = Text(f"{a.pod}")
        if a.port is not None:
            head.append(f":{a.port}/{a.protocol}")
        if a.via:
            head.append(f"  (backend of {a.via})")
        lines.append(Text(plain(head.plain), style="bold"))
        style = "yellow" if a.summary.startswith("unknown") else None
        lines.append(Text("  " + plain(a.summary), style=style or ""))
        if a.ingress_policies:
            lines.append(Text("  ingress policies: " + plain(", ".join(a.ingress_policies))))
        lines.append(Text("  egress policies: " + (plain(", ".join(a.egress_policies)) or "none")))
        if a.admin_rules:
            lines.append(Text("  first, AdminNetworkPolicy rules in the order they apply:"))
            lines.extend(_admin_lines(a.admin_rules))
        if a.state != "read" or (a.host_network and a.ingress_policies):
            continue
        if a.baseline_rules and not a.ingress_policies:
            lines.append(Text("  then, as no NetworkPolicy isolates it, the baseline's rules:"))
            lines.extend(_admin_lines(a.baseline_rules))
        for ad in a.admissions:
            lines.append(
                Text(
                    f"  allowed by {plain(ad.policy)} ingress[{ad.rule}]: from "
                    + plain("; or ".join(ad.sources))
                    + " on "
                    + plain(", ".join(ad.ports))
                )
            )
    return Group(*lines)


def _admin_lines(rules: tuple[AdminAdmission, ...]) -> list[Text]:
    return [
        Text(
            f"  {r.rule.action or 'unknown action'} by {plain(str(r.rule))}: from "
            + plain("; or ".join(r.sources))
            + " on "
            + plain(", ".join(r.ports))
        )
        for r in rules
    ]


def _admin_json(rules: tuple[AdminAdmission, ...]) -> list[dict[str, Any]]:
    return [
        {**(admin_ref(r.rule) or {}), "from": list(r.sources), "ports": list(r.ports)}
        for r in rules
    ]


def access_json(found: list[PodAccess]) -> dict[str, Any]:
    """The PolicyAccess document (docs/json.md)."""
    return {
        "pods": [
            {
                "pod": {"namespace": a.pod.namespace, "name": a.pod.name},
                "port": a.port,
                "protocol": a.protocol,
                "via": a.via or None,
                "policyState": a.state,
                "summary": a.summary,
                "ingressPolicies": list(a.ingress_policies),
                "egressPolicies": list(a.egress_policies),
                "admittedBy": [
                    {
                        "policy": ad.policy,
                        "rule": ad.rule,
                        "from": list(ad.sources),
                        "ports": list(ad.ports),
                    }
                    for ad in a.admissions
                ],
                "adminPolicyState": a.admin_state,
                "baselinePolicyState": a.baseline_state,
                "adminRules": _admin_json(a.admin_rules),
                "baselineRules": _admin_json(a.baseline_rules),
                "pluginPolicyState": a.plugin_state,
                "pluginPolicies": [plugin_policy_json(p) for p in a.plugin_policies],
            }
            for a in found
        ]
    }


_CELL = {"allowed": "✓", "denied": "✗", "unknown": "?", "partial": "~", "none": "-"}


def matrix_text(namespace: str, cells: list[Cell], port: int | None) -> Group:
    """Rows are sources, columns destinations (numbered, with a key), one mark per pair."""
    dsts = list(dict.fromkeys(c.destination for c in cells))
    srcs = list(dict.fromkeys(c.source for c in cells))
    by = {(c.source, c.destination): c for c in cells}
    on = f"port {port}/TCP" if port is not None else "each destination's declared ports"
    t = Table(box=None, header_style="bold", pad_edge=False, padding=(0, 1, 0, 0))
    t.add_column("FROM \\ TO", no_wrap=True)
    for i, _ in enumerate(dsts, 1):
        t.add_column(str(i), no_wrap=True, justify="center")
    for s in srcs:
        row = [Text(plain(s.name))]
        for d in dsts:
            v = by[(s, d)].verdict
            row.append(Text(_CELL[v], style=_STYLE.get(v, "")))
        t.add_row(*row)
    key = [Text(f"  {i} = {plain(d.name)}") for i, d in enumerate(dsts, 1)]
    return Group(
        Text(f"namespace {plain(namespace)}, pod to pod on {on} ({BY_POLICY}):", style="bold"),
        t,
        Text("✓ allowed  ✗ denied  ? unknown  ~ some ports allowed  - no declared port"),
        *key,
    )


def matrix_json(namespace: str, cells: list[Cell], port: int | None) -> dict[str, Any]:
    """The PolicyMatrix document (docs/json.md)."""
    return {
        "namespace": namespace,
        "port": port,
        "cells": [
            {
                "from": c.source.name,
                "to": c.destination.name,
                "verdict": c.verdict,
                "ports": [{"port": n, "protocol": p, "verdict": v} for n, p, v in c.ports],
            }
            for c in cells
        ],
    }
