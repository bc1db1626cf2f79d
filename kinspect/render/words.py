"""Wording shared by the text formats (table, tree, explain): one phrase, one place."""

from __future__ import annotations

from collections.abc import Sequence

from kinspect.edge.entry import Entrypoint
from kinspect.model.values import Service, ServiceConsumer, ServicePort
from kinspect.path import firewall
from kinspect.path.chain import PortChain
from kinspect.path.topology import NodeTopology


def consumer_short(c: ServiceConsumer) -> str:
    """`apiservice v1beta1.metrics.k8s.io`, `webhook validate.nginx.ingress.kubernetes.io`."""
    if c.kind == "APIService":
        return f"apiservice {c.name}"
    return f"webhook {c.webhook or c.name}"


def consumer_long(c: ServiceConsumer) -> str:
    """The consumer, the service port it calls and, for a webhook, its failurePolicy."""
    path = c.path or ""
    policy = f", failurePolicy {c.failure_policy}" if c.failure_policy else ""
    return f"{c.label} calls port {c.port}{path}{policy}"


def port_text(p: ServicePort) -> str:
    """`name 80/TCP`."""
    return f"{p.name + ' ' if p.name else ''}{p.port}/{p.protocol}"


def port_label(pc: PortChain) -> str:
    """`name port→targetPort`, with the protocol only when it is not TCP."""
    p = pc.port
    name = f"{p.name} " if p.name else ""
    proto = "" if p.protocol == "TCP" else f"/{p.protocol}"
    target = f"→{p.target_port}" if p.target_port is not None else ""
    return f"{name}{p.port}{proto}{target}"


def affinity(seconds: int) -> str:
    """SessionAffinity ClientIP's meaning, with its timeout."""
    return f"sessionAffinity ClientIP: one client IP keeps one backend for {seconds}s"


def source_ranges(s: Service) -> list[str]:
    """The service's loadBalancerSourceRanges (and legacy annotation), one line each.

    Which addresses kube-proxy filters, which it does not (docs/kube-proxy.md).
    """
    r = firewall.ranges(s)
    if r is None:
        return []
    out: list[str] = []
    if r.written and not r.valid:
        out.append("loadBalancerSourceRanges: no valid range, kube-proxy filters nothing")
    elif r.written:
        valid = ", ".join(str(n) for n in r.valid)
        zero = " (a /0 range lets every source of its family in)" if r.any_zero() else ""
        out.append(
            f"loadBalancerSourceRanges {valid}: kube-proxy drops other sources to the load "
            f"balancer's IPs (not to the nodePort, ClusterIP or externalIPs){zero}"
        )
    if r.invalid:
        out.append(
            "loadBalancerSourceRanges not a CIDR, ignored: " + ", ".join(repr(t) for t in r.invalid)
        )
    if r.annotation is not None:
        why = (
            "not read: the cloud load balancer takes spec.loadBalancerSourceRanges first"
            if r.written
            else "read by the cloud load balancer, not kube-proxy: kube-proxy does not filter"
        )
        out.append(f"annotation {firewall.ANNOTATION} {r.annotation!r}: {why}")
    return out


def hints_label(s: Service) -> str:
    """`trafficDistribution PreferSameZone`, the annotation's, or "" (labels: hints decide)."""
    if s.traffic_distribution:
        return f"trafficDistribution {s.traffic_distribution}"
    if s.topology_mode:
        return f"topology-mode {s.topology_mode}"
    return ""


_MODE = {"PreferSameNode": "same-node hints", "PreferSameZone": "same-zone hints"}


def topology_line(nt: NodeTopology) -> str:
    """`kwok-node-0 (zone-0): same-zone hints → 10.244.0.5:80`, or every endpoint and why."""
    return _topology_text([nt.node], nt)


# Nodes named in one grouped line before the rest are counted.
NODES_NAMED = 5


def topology_lines(nodes: Sequence[NodeTopology]) -> list[str]:
    """One line per zone's nodes that get the same answer (per node when they differ).

    A thousand nodes in three zones make three lines, not a thousand; JSON keeps every node.
    """
    groups: dict[tuple[object, ...], list[NodeTopology]] = {}
    for nt in nodes:
        why = tuple(f.replace(f"node {nt.node}", "node {}") for f in nt.fallback)
        key = (nt.zone, nt.mode, nt.endpoints, nt.unknown, why)
        groups.setdefault(key, []).append(nt)
    return [_topology_text([n.node for n in same], same[0]) for same in groups.values()]


def _topology_text(names: Sequence[str], nt: NodeTopology) -> str:
    shown = ", ".join(names[:NODES_NAMED])
    if len(names) > NODES_NAMED:
        shown += f" and {len(names) - NODES_NAMED} more"
    where = f"{shown} ({nt.zone or 'no zone label'})"
    if nt.unknown is not None:
        return f"{where}: {nt.unknown}"
    eps = ", ".join(nt.endpoints) or "none"
    how = _MODE[nt.mode] if nt.mode else "every endpoint"
    fallback = nt.fallback
    if len(names) > 1:
        # The same reason on each node of the group: said once, of "their" nodes.
        fallback = tuple(f.replace(f"node {nt.node}", "their node") for f in fallback)
    why = f" ({'; '.join(fallback)})" if fallback else ""
    return f"{where}: {how}{why} → {eps}"


def dual_stack_words(s: Service) -> str:
    """`RequireDualStack (IPv4, IPv6)`, `SingleStack (IPv6)`; "" for the usual IPv4 single stack.

    Shown only where it tells something: a service in more than one family, or in IPv6 only.
    """
    if not s.ip_families or tuple(s.ip_families) == ("IPv4",):
        return ""
    return f"{s.ip_family_policy or 'ipFamilyPolicy unset'} ({', '.join(s.ip_families)})"


def through_controller(e: Entrypoint) -> str:
    """` through controller ns/svc` when an entry point's controller Service is known, else ``."""
    c = e.controller
    if c is None or not c.services:
        return ""
    return " through controller " + ", ".join(f"{s.namespace}/{s.name}" for s in c.services)
