"""`kinspect policy`: who may reach a pod or a service port, and a namespace's pod matrix.

Pure: the ingress side of `policy.PolicyIndex` put in words. For a pod, the policies that
select it (for ingress and for egress) and, rule by rule, the peers each ingress rule admits
(selectors as kubectl prints them, `labels.describe`; IP blocks with their exceptions) and on
which ports. A service port is the same question asked of each backend pod at its target port
(kube-proxy DNATs to the pod before NetworkPolicy sees the packet, as in `reach`). The matrix
asks `PolicyIndex.check` for every ordered pair of a namespace's pods, on the destination's
declared ports or one given port. Verdicts are by policy; unreadable policies give "unknown".
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from kinspect.model.errors import NotFoundError, UsageError
from kinspect.model.labels import LabelSelector, describe
from kinspect.model.policy import (
    AdminPeer,
    AdminPort,
    PluginPolicy,
    PolicyPeer,
    PolicyPort,
    PolicyRule,
)
from kinspect.model.snapshot import Snapshot
from kinspect.model.values import Pod, PodRef, Protocol
from kinspect.policy.admin import UNREAD, AdminRef, ports_match
from kinspect.policy.netpol import PolicyIndex, Verdict, dead_peer, describe_block, port_matches
from kinspect.policy.peer import Peer
from kinspect.policy.reach import _NAME

# A pair's verdict over several ports: "partial" when some are allowed and some denied.
PairVerdict = Verdict | str

TARGET_HINT = "kinspect policy NAMESPACE/POD, NAMESPACE/SERVICE[:PORT], or --matrix -n NAMESPACE"


def peer_words(peer: PolicyPeer, policy_ns: str) -> str:
    """One from-entry in words: `pods app=shop in namespace demo`, `addresses 10.0.0.0/8`."""
    if peer.ip_block is not None:
        return f"addresses {describe_block(peer.ip_block)}"
    dead = dead_peer(peer)
    if dead is not None:
        return f"nothing ({dead})"
    pods = (
        "every pod"
        if peer.pod_selector is None or peer.pod_selector.empty
        else f"pods {describe(peer.pod_selector)}"
    )
    if peer.namespace_selector is None:
        return f"{pods} in namespace {policy_ns}"
    if peer.namespace_selector.empty:
        return f"{pods} in every namespace"
    return f"{pods} in namespaces {describe(peer.namespace_selector)}"


def port_words(pp: PolicyPort) -> str:
    """`8080/TCP`, `8000-8080/TCP`, `http/TCP`, `every TCP port`."""
    if pp.port is None:
        return f"every {pp.protocol} port"
    if pp.end_port is not None:
        return f"{pp.port}-{pp.end_port}/{pp.protocol}"
    return f"{pp.port}/{pp.protocol}"


def _every(sel: LabelSelector, what: str) -> str:
    return f"every {what}" if sel.empty else f"{what}s {describe(sel)}"


def admin_peer_words(peer: AdminPeer) -> str:
    """One from/to entry of an (Baseline)AdminNetworkPolicy rule in words."""
    if peer.namespaces is not None:
        return "every pod in " + _every(peer.namespaces, "namespace")
    if peer.pods is not None:
        return (
            _every(peer.pods.pod_selector, "pod")
            + " in "
            + _every(peer.pods.namespace_selector, "namespace")
        )
    if peer.nodes is not None:
        return _every(peer.nodes, "node")
    if peer.networks:
        return "addresses " + ", ".join(peer.networks)
    if peer.domain_names:
        return "domain names " + ", ".join(peer.domain_names)
    return "a peer kinspect does not know (the API says to fail closed)"


def admin_port_words(ap: AdminPort) -> str:
    """`8080/TCP`, `8000-8080/TCP`, `named port http`."""
    if ap.name is not None:
        return f"named port {ap.name}"
    if ap.port is None:
        return "a port entry kinspect does not know"
    if ap.end_port is not None:
        return f"{ap.port}-{ap.end_port}/{ap.protocol}"
    return f"{ap.port}/{ap.protocol}"


@dataclass(frozen=True, slots=True)
class AdminAdmission:
    """One ingress rule of an (Baseline)AdminNetworkPolicy applying to the pod."""

    rule: AdminRef
    sources: tuple[str, ...]
    ports: tuple[str, ...]  # ("every port",) for a rule with no ports


@dataclass(frozen=True, slots=True)
class Admission:
    """One ingress rule of a policy selecting the pod: whom it admits, on which ports."""

    policy: str  # namespace/name
    rule: int
    sources: tuple[str, ...]  # in words; ("every source",) for a rule with no peers
    ports: tuple[str, ...]  # in words; ("every port",) for a rule with no ports


@dataclass(frozen=True, slots=True)
class PodAccess:
    """Who may reach one pod (on `port`, when asked about a service port)."""

    pod: PodRef
    port: int | None
    protocol: Protocol | None
    state: str  # the snapshot's network_policy_state: anything but "read" is unknown
    ingress_policies: tuple[str, ...]
    egress_policies: tuple[str, ...]
    admissions: tuple[Admission, ...]
    host_network: bool = False
    via: str = ""  # "service demo/web port 80" for a service port's backend
    # AdminNetworkPolicy ingress rules applying to the pod, in the order they are evaluated
    # (priority, then rule order), before the NetworkPolicies; the baseline's after them.
    admin_rules: tuple[AdminAdmission, ...] = ()
    baseline_rules: tuple[AdminAdmission, ...] = ()
    admin_state: str = "absent"  # the snapshot's admin_network_policy_state
    baseline_state: str = "absent"
    # The network plugin's policies that may apply to the pod (policy.plugin), and why its
    # ingress is then unknown; the snapshot's plugin_policy_state.
    plugin_state: str = "absent"
    plugin_reason: str | None = None
    plugin_policies: tuple[PluginPolicy, ...] = ()

    @property
    def summary(self) -> str:
        """The pod's ingress in one phrase (AdminNetworkPolicy rules, when any, come first)."""
        if self.plugin_reason is not None:
            return f"unknown: {self.plugin_reason}"
        np = self._np_summary
        if self.admin_state in UNREAD:
            return f"unknown: AdminNetworkPolicies {UNREAD[self.admin_state]}"
        if self.admin_rules:
            return f"AdminNetworkPolicy rules decide first; then {np}"
        return np

    @property
    def _np_summary(self) -> str:
        if self.state != "read":
            return "unknown: NetworkPolicies could not be read"
        if self.host_network and self.ingress_policies:
            return "unknown: policies select a hostNetwork pod (left to the network plugin)"
        if not self.ingress_policies:
            if self.baseline_state in UNREAD:
                return (
                    "not isolated for ingress by NetworkPolicies; unknown: the "
                    f"BaselineAdminNetworkPolicy {UNREAD[self.baseline_state]}"
                )
            if self.baseline_rules:
                return (
                    "not isolated for ingress by NetworkPolicies: the BaselineAdminNetworkPolicy "
                    "rules decide, and what none matches may reach it"
                )
            return "not isolated for ingress: every source may reach it"
        if not self.admissions:
            return "isolated for ingress and no rule admits anything: nothing may reach it"
        return "isolated for ingress: only what these rules admit may reach it"


def _rule_applies(rule: PolicyRule, pod: Pod, port: int | None, proto: Protocol | None) -> bool:
    if port is None or proto is None or not rule.ports:
        return True
    return any(port_matches(pp, port, proto, pod) for pp in rule.ports)


def pod_access(
    index: PolicyIndex, pod: Pod, port: int | None = None, protocol: Protocol | None = None
) -> PodAccess:
    """Who may reach `pod` (on `port`/`protocol` when given: rules for other ports left out)."""
    ing = index.selecting(pod, "ingress")
    egr = index.selecting(pod, "egress")
    admissions = []
    for p in ing:
        for i, rule in enumerate(p.ingress):
            if not _rule_applies(rule, pod, port, protocol):
                continue
            sources = tuple(peer_words(x, p.namespace) for x in rule.peers) or ("every source",)
            ports = tuple(port_words(pp) for pp in rule.ports) or ("every port",)
            admissions.append(Admission(str(p), i, sources, ports))
    admin: list[AdminAdmission] = []
    baseline: list[AdminAdmission] = []
    for ap in index.admin.applying(pod):
        for i, r in enumerate(ap.ingress):
            if (
                port is not None
                and protocol is not None
                and not ports_match(r.ports, port, protocol, pod)
            ):
                continue
            ref = AdminRef(ap.tier, ap.name, "ingress", i, r.action, r.name, ap.priority)
            words = AdminAdmission(
                ref,
                tuple(admin_peer_words(x) for x in r.peers),
                tuple(admin_port_words(x) for x in r.ports or ()) or ("every port",),
            )
            (admin if ap.tier == "AdminNetworkPolicy" else baseline).append(words)
    plugin = index.plugin.unknown(pod)
    return PodAccess(
        pod.ref,
        port,
        protocol,
        index.state,
        tuple(str(p) for p in ing),
        tuple(str(p) for p in egr),
        tuple(admissions),
        pod.host_network,
        admin_rules=tuple(admin),
        baseline_rules=tuple(baseline),
        admin_state=index.admin.state,
        baseline_state=index.admin.baseline_state,
        plugin_state=index.plugin.state,
        plugin_reason=plugin.reason if plugin is not None else None,
        plugin_policies=plugin.policies if plugin is not None else (),
    )


@dataclass(frozen=True, slots=True)
class Query:
    """What `kinspect policy` was given: a pod, or a service with an optional port."""

    namespace: str
    name: str
    port: str | None  # a number or a name (service port), None: every port


def parse_query(text: str) -> Query:
    """NAMESPACE/NAME[:PORT]; a UsageError (one line, exit 2) otherwise."""
    value, _, port = text.strip().partition(":")
    ns, sep, name = value.partition("/")
    if not (sep and _NAME.fullmatch(ns) and _NAME.fullmatch(name)) or (
        _ and not (port.isdigit() or _NAME.fullmatch(port))
    ):
        raise UsageError(
            f"bad target {text!r}: not NAMESPACE/POD or NAMESPACE/SERVICE[:PORT]", TARGET_HINT
        )
    return Query(ns, name, port or None)


def who_may_reach(snapshot: Snapshot, index: PolicyIndex, q: Query) -> list[PodAccess]:
    """Access to the pod named by `q`, or to each backend of the service (port) it names."""
    pods = {p.ref: p for p in snapshot.pods}
    ref = PodRef(q.namespace, q.name)
    if q.port is None and ref in pods:
        return [pod_access(index, pods[ref])]
    svc = next(
        (s for s in snapshot.services if (s.namespace, s.name) == (q.namespace, q.name)), None
    )
    if svc is None:
        raise NotFoundError(
            f"no pod or service {q.namespace}/{q.name}" + (f":{q.port}" if q.port else ""),
            f"kubectl get pods,services -n {q.namespace}",
        )
    from kinspect.path.chain import Index, service_chain

    c = service_chain(Index.of(snapshot), svc)
    ports = [
        pc
        for pc in c.ports
        if q.port is None or str(pc.port.port) == q.port or pc.port.name == q.port
    ]
    if not ports:
        raise NotFoundError(
            f"service {q.namespace}/{q.name} has no port {q.port}",
            f"ports: {', '.join(str(pc.port.port) for pc in c.ports) or 'none'}",
        )
    out = []
    for pc in ports:
        for b in pc.backends:
            if b.pod is None or b.pod not in pods:
                continue
            a = pod_access(index, pods[b.pod], b.port, b.protocol)
            via = f"service {svc.namespace}/{svc.name} port {pc.port.port}"
            out.append(dataclasses.replace(a, via=via))
    return out


@dataclass(frozen=True, slots=True)
class Cell:
    source: PodRef
    destination: PodRef
    verdict: PairVerdict  # allowed, denied, unknown, partial, or "none" (no port to check)
    ports: tuple[tuple[int, Protocol, Verdict], ...]


def matrix(index: PolicyIndex, pods: list[Pod], port: int | None = None) -> list[Cell]:
    """Every ordered pair of `pods`: the verdict on `port`, or on the destination's ports.

    "partial" when the declared ports' verdicts differ, "none" when it declares none.
    """
    cells = []
    for dst in pods:
        targets: list[tuple[int, Protocol]] = (
            [(port, "TCP")]
            if port is not None
            else list(dict.fromkeys((cp.port, cp.protocol) for cp in dst.ports))
        )
        for src in pods:
            results = tuple(
                (n, proto, index.check(Peer.of_pod(src), Peer.of_pod(dst), n, proto).verdict)
                for n, proto in targets
            )
            kinds = {v for _, _, v in results}
            verdict: PairVerdict = (
                "none"
                if not kinds
                else "unknown"
                if "unknown" in kinds
                else kinds.pop()
                if len(kinds) == 1
                else "partial"
            )
            cells.append(Cell(src.ref, dst.ref, verdict, results))
    return cells
