"""NetworkPolicy checks (issue 14): ports and DNS that policies cut off, and rules that do nothing.

Quiet when the policies could not be read (unknown, never "allowed").
"""

from __future__ import annotations

from collections.abc import Iterator

from kinspect.audit.check import AuditInput, Check, proxied
from kinspect.audit.finding import Finding
from kinspect.model.policy import NetworkPolicy
from kinspect.model.values import Pod
from kinspect.path.chain import Backend, PortChain, ServiceChain, named_port
from kinspect.policy.netpol import Reach, dead_peer
from kinspect.policy.peer import Peer


def _policy_place(p: NetworkPolicy) -> str:
    return f"networkpolicy/{p.name}"


def _ready_pods(a: AuditInput, pc: PortChain) -> list[tuple[Backend, Pod]]:
    out = []
    for b in pc.backends:
        pod = a.index.pods.get(b.pod) if b.pod is not None else None
        if pod is not None and b.ready:
            out.append((b, pod))
    return out


def service_port_unreachable(check: Check, a: AuditInput) -> Iterator[Finding]:
    """A service port no pod and no outside client may reach by policy: it carries nothing."""
    idx = a.policies
    if idx is None:
        return
    reach = Reach(idx)
    for c in proxied(a):
        for pc in c.ports:
            backends = _ready_pods(a, pc)
            if not backends:
                continue
            if any(reach.anyone(pod, b.port, b.protocol) is not False for b, pod in backends):
                continue
            names = sorted({p for _, pod in backends for p in map(str, idx.selecting(pod))})
            yield check.finding(
                c,
                f"no pod and no outside client may reach port {pc.port.port} by policy: its "
                f"backends are isolated by {', '.join(names)} and no rule admits port "
                f"{backends[0][0].port}/{backends[0][0].protocol} from anyone that exists",
                pc,
                pods=[str(pod.ref) for _, pod in backends],
            )


def external_traffic_denied(check: Check, a: AuditInput) -> Iterator[Finding]:
    """A NodePort/LoadBalancer whose backends admit no outside client by policy: all dropped."""
    idx = a.policies
    if idx is None:
        return
    for c in proxied(a):
        if c.service.type not in ("NodePort", "LoadBalancer"):
            continue
        for pc in c.ports:
            backends = _ready_pods(a, pc)
            if not backends or any(
                idx.ingress(pod, Peer.outside(), b.port, b.protocol).verdict != "denied"
                for b, pod in backends
            ):
                continue
            names = sorted({p for _, pod in backends for p in map(str, idx.selecting(pod))})
            yield check.finding(
                c,
                f"{c.service.type} port {pc.port.port}: no ingress rule of {', '.join(names)} "
                "admits clients outside the cluster (no ipBlock, no rule open to all), so "
                "external traffic is dropped by policy",
                pc,
                pods=[str(pod.ref) for _, pod in backends],
            )


def policy_selects_no_pod(check: Check, a: AuditInput) -> Iterator[Finding]:
    """A NetworkPolicy selecting no pod does nothing (often a label typo: pods left open)."""
    idx = a.policies
    if idx is None:
        return
    for p in idx.policies:
        if idx.selects_nothing(p):
            yield check.finding_at(
                p.namespace,
                _policy_place(p),
                f"NetworkPolicy {p.name} selects no pod (podSelector {p.pod_selector})",
            )


def policy_named_port_undeclared(check: Check, a: AuditInput) -> Iterator[Finding]:
    """A policy's named port no selected pod declares matches nothing: that traffic drops."""
    idx = a.policies
    if idx is None:
        return
    selected: dict[str, list[Pod]] = {}
    for pod in a.snapshot.pods:
        for p in idx.selecting(pod):
            selected.setdefault(str(p), []).append(pod)
    for p in idx.policies:
        pods = selected.get(str(p), [])
        if not pods:
            continue  # policy-selects-no-pod says it
        for i, rule in enumerate(p.ingress):
            for pp in rule.ports:
                if not isinstance(pp.port, str):
                    continue
                if any(named_port(pod, pp.port, pp.protocol) for pod in pods):
                    continue
                yield check.finding_at(
                    p.namespace,
                    _policy_place(p),
                    f"NetworkPolicy {p.name} ingress[{i}] allows port {pp.port}/{pp.protocol}, "
                    f"which none of the {len(pods)} pod(s) it selects declares: it matches nothing",
                    pods=[str(pod.ref) for pod in pods[:10]],
                )


# The cluster DNS service, found as kubeadm, kops, EKS, GKE, k3s and CoreDNS's own chart name
# it: in kube-system, named kube-dns (CoreDNS keeps the name for compatibility) or coredns, or
# selecting k8s-app=kube-dns / k8s-app=coredns.
DNS_NAMES = ("kube-dns", "coredns")


def dns_service(a: AuditInput) -> ServiceChain | None:
    """The cluster DNS service's chain, or None when the snapshot holds none."""
    for c in a.chains:
        s = c.service
        if s.namespace != "kube-system":
            continue
        if s.name in DNS_NAMES or (s.selector or {}).get("k8s-app") in DNS_NAMES:
            return c
    return None


def egress_blocks_dns(check: Check, a: AuditInput) -> Iterator[Finding]:
    """Egress isolation that blocks queries to the cluster DNS: names stop resolving."""
    idx = a.policies
    dns = dns_service(a)
    if idx is None or dns is None:
        return
    targets = [(b, pod) for pc in dns.ports for b, pod in _ready_pods(a, pc)]
    udp = [(b, pod) for b, pod in targets if b.protocol == "UDP"] or targets
    if not udp:
        return
    blocked: dict[str, list[str]] = {}
    policies: dict[str, set[str]] = {}
    for pod in a.snapshot.pods:
        isolating = idx.selecting(pod, "egress")
        if not isolating or pod.host_network:
            continue
        src = Peer.of_pod(pod)
        if any(
            # Denied by the NetworkPolicies only: this finding names them.
            (v := idx.egress(src, Peer.of_pod(d), b.port, b.protocol)).verdict != "denied"
            or v.decided_by is not None
            for b, d in udp
        ):
            continue
        blocked.setdefault(pod.namespace, []).append(str(pod.ref))
        policies.setdefault(pod.namespace, set()).update(str(p) for p in isolating)
    for ns, pods in sorted(blocked.items()):
        yield check.finding_at(
            ns,
            "",
            f"{len(pods)} pod(s) isolated for egress by {', '.join(sorted(policies[ns]))} may "
            f"not query DNS ({dns.service.namespace}/{dns.service.name} on "
            f"{udp[0][0].port}/{udp[0][0].protocol}): names stop resolving",
            pods=pods[:10],
        )


def policy_rule_never_matches(check: Check, a: AuditInput) -> Iterator[Finding]:
    """A policy rule that can never match (ignored direction, dead peers): a silent no-op."""
    if a.snapshot.network_policy_state != "read":
        return
    for p in a.snapshot.network_policies:
        for direction, ptype, rules in (
            ("ingress", "Ingress", p.ingress),
            ("egress", "Egress", p.egress),
        ):
            for i, rule in enumerate(rules):
                if ptype not in p.policy_types:
                    why = f"policyTypes {list(p.policy_types)} leaves out {ptype}: ignored"
                else:
                    dead = [dead_peer(peer) for peer in rule.peers]
                    if not rule.peers or not all(dead):
                        continue
                    why = "; ".join(d for d in dead if d)
                yield check.finding_at(
                    p.namespace,
                    _policy_place(p),
                    f"NetworkPolicy {p.name} {direction}[{i}] never matches: {why}",
                )
