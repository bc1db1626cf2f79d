"""NetworkPolicy verdicts as text and as JSON (`trace --from`): pure, returns what it builds.

Cluster text (names, labels) is data: everything goes into `rich.text.Text` with styles passed
as arguments, never as markup.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.text import Text

from kinspect.policy import Peer, Side
from kinspect.reach import HopVerdict

_STYLE = {"allowed": "green", "denied": "red", "unknown": "yellow"}
BY_POLICY = "by policy: what the NetworkPolicies say; enforcement depends on the network plugin"


def side_words(direction: str, side: Side) -> str:
    """`ingress: allowed by x/web ingress[0]`, `egress: isolated by x/deny, no rule matches`."""
    if side.reason and side.verdict == "unknown":
        what = f"unknown: {side.reason}"
    elif not side.isolating:
        what = "not isolated"
    elif side.allowed_by:
        what = "allowed by " + ", ".join(str(r) for r in side.allowed_by)
    elif side.only_from:
        what = "allowed only from " + "; ".join(side.only_from)
    else:
        what = "isolated by " + ", ".join(side.isolating) + ", no rule matches"
    return f"{direction}: {what}"


def hops_text(source: Peer, hops: list[HopVerdict]) -> Group:
    """One block per hop: the verdict, the pod and port, and each side's reason."""
    lines: list[Text] = [Text(f"policy from {source} ({BY_POLICY}):", style="bold")]
    if not hops:
        lines.append(Text("  no hop reaches a pod: nothing to evaluate"))
    for h in hops:
        line = Text("  ")
        line.append(f"{h.verdict.verdict:<8}", style=_STYLE[h.verdict.verdict])
        line.append(f" {h.pod}:{h.port}/{h.protocol}  via {h.via}")
        lines.append(line)
        lines.append(Text("           " + side_words("egress", h.verdict.egress)))
        lines.append(Text("           " + side_words("ingress", h.verdict.ingress)))
        lines.extend(Text(f"           note: {n}") for n in h.notes)
    return Group(*lines)


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
    }


def hops_json(source: Peer, hops: list[HopVerdict]) -> dict[str, Any]:
    """The TraceReport's `policy` member (docs/json.md)."""
    return {
        "from": str(source),
        "fromKind": source.kind,
        "hops": [
            {
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
