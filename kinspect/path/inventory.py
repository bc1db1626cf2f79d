"""The IP inventory of a cluster: every kind of address, and which component allocates it. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from kinspect.model.snapshot import Snapshot
from kinspect.model.values import Node, Pod, Service

# Who hands out each kind of address. Stated carefully: popular write-ups often credit
# kube-proxy with ClusterIPs, or give containers IPs of their own.
ALLOCATORS: dict[str, str] = {
    "nodeIP": "the node itself (kubelet reports its addresses; a cloud controller may add "
    "ExternalIP); podCIDRs by kube-controller-manager with --allocate-node-cidrs, or by the "
    "CNI/cloud",
    "clusterIP": "kube-apiserver, from --service-cluster-ip-range; kube-proxy (or a "
    "replacement) only programs forwarding rules for it",
    "loadBalancerIngress": "the load-balancer controller (cloud provider, MetalLB, ...) "
    "writes status.loadBalancer.ingress",
    "externalIP": "nobody: spec.externalIPs is set by hand and routed to a node by you",
    "ingressAddress": "the Ingress controller writes the Ingress's status.loadBalancer.ingress "
    "(usually its own LoadBalancer service's address)",
    "gatewayAddress": "the Gateway controller writes the Gateway's status.addresses "
    "(spec.addresses only asks for them)",
    "podIP": "the CNI plugin's IPAM, usually from the node's podCIDR; containers of a pod "
    "share it (one network namespace); hostNetwork pods use the node IP",
}


@dataclass(frozen=True, slots=True)
class Inventory:
    context: str
    nodes: tuple[Node, ...]
    cluster_ip_services: tuple[Service, ...]
    headless_services: tuple[Service, ...]  # no ClusterIP: DNS answers with the pod IPs
    lb_ingress: tuple[tuple[str, str], ...]  # (namespace/name, address)
    external_ips: tuple[tuple[str, str], ...]
    pods: tuple[Pod, ...]
    pods_without_ip: int  # not yet given one (pending), and not finished
    allocators: tuple[tuple[str, str], ...]
    # (kind "Ingress" or "Gateway", namespace/name, address): where entry points are reached.
    entry_addresses: tuple[tuple[str, str, str], ...] = ()


def inventory(snap: Snapshot) -> Inventory:
    """Collect every address of the snapshot by kind.

    Read with -n, only that namespace's: what was read in others only to answer for it (issue
    22) is not listed, as `chain.build` leaves it out.
    """
    ns = snap.read_namespace

    def mine(namespace: str) -> bool:
        return ns is None or namespace == ns

    services = sorted(
        (s for s in snap.services if mine(s.namespace)), key=lambda s: (s.namespace, s.name)
    )
    pods = [p for p in snap.pods if mine(p.namespace)]
    return Inventory(
        context=snap.context,
        nodes=tuple(sorted(snap.nodes, key=lambda n: n.name)),
        cluster_ip_services=tuple(s for s in services if s.cluster_ips),
        headless_services=tuple(s for s in services if s.headless),
        lb_ingress=tuple(
            (f"{s.namespace}/{s.name}", i.address)
            for s in services
            for i in s.load_balancer_ingress
        ),
        external_ips=tuple(
            (f"{s.namespace}/{s.name}", ip) for s in services for ip in s.external_ips
        ),
        pods=tuple(sorted((p for p in pods if p.pod_ips), key=lambda p: (p.namespace, p.name))),
        pods_without_ip=sum(
            1 for p in pods if not p.pod_ips and p.phase not in ("Succeeded", "Failed")
        ),
        allocators=tuple(ALLOCATORS.items()),
        entry_addresses=tuple(
            [
                ("Ingress", f"{i.namespace}/{i.name}", a.address)
                for i in sorted(snap.ingresses, key=lambda i: (i.namespace, i.name))
                for a in i.addresses
            ]
            + [
                ("Gateway", f"{g.namespace}/{g.name}", a)
                for g in sorted(snap.gateways, key=lambda g: (g.namespace, g.name))
                if mine(g.namespace)
                for a in g.addresses
            ]
        ),
    )
