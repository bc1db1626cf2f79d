"""Exposure checks: how services open to clients outside the cluster, through nodes and LBs.

nodePort and hostPort collisions, externalTrafficPolicy, pending LoadBalancers, and the cost
of LoadBalancer and NodePort services.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from kinspect.audit.check import AuditInput, Check, proxied
from kinspect.audit.finding import Finding, PortKey


def local_policy_drops_nodes(check: Check, a: AuditInput) -> Iterator[Finding]:
    """ExternalTrafficPolicy Local: nodes without a local ready endpoint drop nodePort traffic."""
    for c in proxied(a):
        if c.service.external_traffic_policy != "Local":
            continue
        for pc in c.ports:
            drops = sorted(
                {
                    f.node
                    for f in pc.frontends
                    if f.kind == "NodePort" and f.answers is False and f.node
                }
            )
            answers = {f.node for f in pc.frontends if f.kind == "NodePort" and f.answers}
            if drops and answers:
                yield check.finding(
                    c,
                    f"externalTrafficPolicy Local: nodePort {pc.port.node_port} is dropped "
                    f"on {len(drops)} node(s) without a local ready endpoint: " + ", ".join(drops),
                    pc,
                )


def node_port_collision(check: Check, a: AuditInput) -> Iterator[Finding]:
    """A nodePort also claimed by another service or a hostPort/hostNetwork pod."""
    owners: defaultdict[tuple[int, str], list[str]] = defaultdict(list)
    for c in proxied(a):
        for pc in c.ports:
            if pc.port.node_port and c.service.type in ("NodePort", "LoadBalancer"):
                owners[(pc.port.node_port, pc.port.protocol)].append(
                    f"{c.service.namespace}/{c.service.name}"
                )
    host: defaultdict[tuple[int, str], list[str]] = defaultdict(list)
    for p in a.snapshot.pods:
        for cp in p.ports:
            hp = cp.host_port or (cp.port if p.host_network else None)
            if hp:
                host[(hp, cp.protocol)].append(f"{p.namespace}/{p.name}")
    for (port, proto), svcs in sorted(owners.items()):
        clash = sorted(set(svcs)) if len(set(svcs)) > 1 else []
        pods = sorted(set(host.get((port, proto), [])))
        if clash or pods:
            ns, _, name = svcs[0].partition("/")
            yield check.finding_at(
                ns,
                name,
                f"nodePort {port}/{proto} is also claimed by " + ", ".join([*clash[1:], *pods]),
                PortKey(None, port, proto),
                pods,
            )


def host_port_collision(check: Check, a: AuditInput) -> Iterator[Finding]:
    """Two pods on one node claim the same hostPort: only one can bind it."""
    on_node: defaultdict[tuple[str, int, str], set[str]] = defaultdict(set)
    for p in a.snapshot.pods:
        if not p.node_name or p.phase in ("Succeeded", "Failed"):
            continue
        for cp in p.ports:
            hp = cp.host_port or (cp.port if p.host_network else None)
            if hp:
                on_node[(p.node_name, hp, cp.protocol)].add(f"{p.namespace}/{p.name}")
    for (node, port, proto), pods in sorted(on_node.items()):
        if len(pods) > 1:
            ns = sorted(pods)[0].partition("/")[0]
            yield check.finding_at(
                ns,
                "",
                f"hostPort {port}/{proto} claimed by {len(pods)} pods on node {node}: "
                "only one can bind it",
                PortKey(None, port, proto),
                sorted(pods),
            )


def load_balancer_pending(check: Check, a: AuditInput) -> Iterator[Finding]:
    """A LoadBalancer service without an ingress address yet."""
    for c in a.chains:
        if c.service.type == "LoadBalancer" and not c.service.load_balancer_ingress:
            yield check.finding(
                c,
                "LoadBalancer has no ingress address yet: no load-balancer controller, or "
                "it failed (see the service's events)",
            )


def service_type_cost(check: Check, a: AuditInput) -> Iterator[Finding]:
    """LoadBalancer (cost) and NodePort (opened on every node) services."""
    for c in a.chains:
        t = c.service.type
        if t == "LoadBalancer":
            yield check.finding(
                c,
                "type LoadBalancer: each one may bill a cloud "
                "load balancer; an Ingress or Gateway can share one",
            )
        elif t == "NodePort":
            yield check.finding(c, "type NodePort: opens the port on every node")


def lb_cluster_traffic_policy(check: Check, a: AuditInput) -> Iterator[Finding]:
    """LoadBalancer with externalTrafficPolicy Cluster: extra hop, client IP lost."""
    for c in a.chains:
        if c.service.type == "LoadBalancer" and c.service.external_traffic_policy != "Local":
            yield check.finding(
                c,
                "externalTrafficPolicy Cluster: an extra hop between nodes, and the client's "
                "source IP is replaced by a node's",
            )
