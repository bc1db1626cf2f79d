"""`trace --from`: the NetworkPolicy verdict at every hop of a trace, from one source.

Pure: joins a `trace.TraceResult` (routes through service frontends to backends, direct hops)
with `policy.PolicyIndex`. A route's hop is the backend pod at its target port: kube-proxy
DNATs the service address to the endpoint before NetworkPolicy sees the packet, so the
policies are evaluated against the pod and its port, never the service's
(https://kubernetes.io/docs/concepts/services-networking/network-policies/: policies apply to
pod IPs and ports; "ports ... on the destination pod").

Sources (`--from`): a pod; every pod of a namespace (one verdict per source pod, grouped when
shown); an address; any outside client; a node. Node-originated traffic (a node's address, or a
hostNetwork pod, which has it) follows the same page's "What you can't do": pods cannot block
access from their resident node, so a hop to a pod on the source's own node is allowed whatever
the policies say; to a pod on another node the policies see the node's address (ipBlock rules),
and whether a plugin applies them to host traffic is implementation-defined: the hop says so.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from kinspect.model.errors import NotFoundError, UsageError
from kinspect.model.values import Node, Pod, PodRef, Protocol, Service, host_port, ip_family
from kinspect.path.chain import Backend, Index, service_chain
from kinspect.path.topology import endpoint_name
from kinspect.path.trace import TraceResult
from kinspect.policy.netpol import PolicyIndex, PolicyVerdict, Side
from kinspect.policy.peer import Peer

# A namespace or pod name (DNS-1123 subdomain; pods' are validated as such on create).
_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?")


@dataclass(frozen=True, slots=True)
class EntryHops:
    """What a URL trace's policy hops need from the entry point (built in commands from edge).

    `port`: the port the client asked for; `controllers`: the Services at the entry's published
    address, whose pods are the controller's; `backends`: the answering rule's or route's
    backends, each with how it is reached. `entered`: the pods the first hop lands on (what
    receives the published address and port: a nodePort's or load balancer's endpoints, a
    hostPort or hostNetwork pod), each with how and on which port: when given, the
    controller's pods are these, whatever port the request names.
    """

    port: int
    controllers: tuple[Service, ...]
    backends: tuple[tuple[str, Backend], ...]
    entered: tuple[tuple[str, PodRef, int, Protocol], ...] = ()


# The frontends that bring a client from outside the cluster.
_OUTSIDE_ENTRIES = ("NodePort", "LoadBalancer", "ExternalIP")


@dataclass(frozen=True, slots=True)
class HopVerdict:
    """The policy verdict for one hop: `source` to `pod` on `port`/`protocol`."""

    via: str  # "service ns/name port 80 via ClusterIP 10.96.0.10:80", "pod IP"
    pod: PodRef
    port: int
    protocol: Protocol
    verdict: PolicyVerdict
    notes: tuple[str, ...] = ()
    # Which source pod this verdict is for, when --from names several (a namespace).
    source: str | None = None


SourceKind = Literal["pod", "ip", "outside", "namespace", "node"]


@dataclass(frozen=True, slots=True)
class From:
    """A resolved `--from`: what it is called, and the peers it stands for.

    `peers` holds one peer, or one per pod of a namespace. `node` is set for node-originated
    traffic (a node, or a hostNetwork pod): the node it leaves from.
    """

    label: str
    kind: SourceKind
    peers: tuple[Peer, ...]
    node: str | None = None


OWN_NODE = (
    "from the pod's own node: NetworkPolicy cannot block it (pods cannot block access from "
    "their resident node)"
)
NODE_NOTE = (
    "node-originated traffic: policies see the node's address (ipBlock rules); whether the "
    "network plugin applies them to host traffic is implementation-defined"
)


def _own_node() -> PolicyVerdict:
    side = Side("allowed", reason=OWN_NODE)
    return PolicyVerdict("allowed", egress=side, ingress=side)


def _check(
    index: PolicyIndex,
    source: From,
    peer: Peer,
    dst: Pod,
    port: int,
    protocol: Protocol,
    address: str,
) -> tuple[PolicyVerdict, tuple[str, ...]]:
    """One source peer to one destination pod at `address`, with node-originated traffic's rules.

    Dual-stack: both ends speak from their address of `address`'s family (what ipBlock rules
    see); a source address of the other family gets a note, as it cannot reach it directly.
    """
    src, to = peer.towards(address), Peer.of_pod(dst).towards(address)
    notes: tuple[str, ...] = ()
    family = ip_family(address)
    if (
        src.pod is None
        and src.ip is not None
        and family
        and ip_family(src.ip) not in (family, None)
    ):
        notes = (
            f"{src.ip} is not {family}: it reaches {address} only through a translator "
            "(NAT64 or a proxy), whose address the policies then see",
        )
    if source.node is not None:
        if dst.node_name == source.node:
            return _own_node(), ()
        return index.check(src, to, port, protocol), (NODE_NOTE, *notes)
    return index.check(src, to, port, protocol), notes


def hop_verdicts(
    result: TraceResult,
    index: PolicyIndex,
    source: From,
    pods: Mapping[PodRef, Pod],
    services: Mapping[str, Service],
) -> list[HopVerdict]:
    """A verdict per backend of every route, and per direct hop to a pod, per source peer.

    `services` by `namespace/name`, for their externalTrafficPolicy.
    """
    many = source.kind == "namespace"
    out: list[HopVerdict] = []
    for r in result.routes:
        entry = f"{r.entry.kind} {host_port(r.entry.address, r.entry.port)}"
        notes: tuple[str, ...] = ()
        svc = services.get(r.service)
        etp = svc.external_traffic_policy if svc is not None else None
        # With externalTrafficPolicy Cluster (the default) kube-proxy SNATs external traffic to
        # a node address (https://kubernetes.io/docs/tasks/access-application-cluster/
        # create-external-load-balancer/#preserving-the-client-source-ip).
        if r.entry.kind in _OUTSIDE_ENTRIES and etp in (None, "Cluster"):
            notes = (SNAT_NOTE,)
        # Topology hints: only the endpoints the deciding node's kube-proxy uses are reached.
        used = r.topology.used() if r.topology is not None else None
        for b in r.backends:
            if b.pod is None or b.pod not in pods:
                continue
            if used is not None and endpoint_name(b) not in used:
                continue
            for peer in source.peers:
                v, more = _check(index, source, peer, pods[b.pod], b.port, b.protocol, b.address)
                out.append(
                    HopVerdict(
                        f"{r.service} via {entry}",
                        b.pod,
                        b.port,
                        b.protocol,
                        v,
                        notes + more,
                        str(peer) if many else None,
                    )
                )
    for d in result.direct:
        if d.pod is None or d.pod not in pods:
            continue
        for peer in source.peers:
            v, more = _check(
                index, source, peer, pods[d.pod], d.port, d.protocol, result.target.address
            )
            out.append(
                HopVerdict(
                    f"{d.via} {host_port(result.target.address, d.port)}",
                    d.pod,
                    d.port,
                    d.protocol,
                    v,
                    more,
                    str(peer) if many else None,
                )
            )
    return out


CONTROLLER_UNKNOWN = (
    "the controller's pods are unknown: no Service of this cluster has the address the "
    "Ingress or Gateway publishes, so the source of this hop cannot be evaluated"
)


def _pod_source(pod: Pod, host_label: str | None = None) -> From:
    """A pod as a source; a hostNetwork pod is node-originated traffic, from its node's address.

    `host_label`: what a hostNetwork pod is called (default: its name).
    """
    if pod.host_network and pod.node_name:
        # Its traffic leaves from the node's own address (the pod IP is the node's).
        ip = pod.pod_ips[0] if pod.pod_ips else pod.host_ip or ""
        label = host_label or str(pod.ref)
        return From(label, "node", (Peer.of_ip(ip),), node=pod.node_name)
    return From(str(pod.ref), "pod", (Peer.of_pod(pod),))


def entry_verdicts(
    entry: EntryHops, idx: Index, index: PolicyIndex, source: From
) -> list[HopVerdict]:
    """A URL trace's policy hops: the source to the controller, the controller to the backends.

    An Ingress or Gateway proxies: the backends see the controller's pods, never the client.
    The controller's pods are the backends of the Services at the entry's published address
    (`entry.controllers`, from `edge.entry.controller_services`); without one, the first hop is
    not evaluated and the second is unknown, saying why.
    """
    many = source.kind == "namespace"
    out: list[HopVerdict] = []
    controllers: list[Pod] = []
    for via, ref, port, proto in entry.entered:
        pod = idx.pods.get(ref)
        if pod is None:
            continue
        controllers.append(pod)
        # The address it lands on is the pod's (its first family's: entered hops keep no more).
        address = pod.pod_ips[0] if pod.pod_ips else ""
        for peer in source.peers:
            v, more = _check(index, source, peer, pod, port, proto, address)
            out.append(HopVerdict(via, pod.ref, port, proto, v, more, str(peer) if many else None))
    for svc in () if entry.entered else entry.controllers:
        for pc in service_chain(idx, svc).ports:
            if pc.port.port != entry.port:
                continue
            via = f"the controller's service {svc.namespace}/{svc.name} port {pc.port.port}"
            for b in pc.backends:
                pod = idx.pods.get(b.pod) if b.pod is not None else None
                if pod is None:
                    continue
                controllers.append(pod)
                for peer in source.peers:
                    v, more = _check(index, source, peer, pod, b.port, b.protocol, b.address)
                    out.append(
                        HopVerdict(
                            via, pod.ref, b.port, b.protocol, v, more, str(peer) if many else None
                        )
                    )
    controllers = list({p.ref: p for p in controllers}.values())
    for via, b in entry.backends:
        dst = idx.pods.get(b.pod) if b.pod is not None else None
        if dst is None:
            continue
        if not controllers:
            side = Side("unknown", reason=CONTROLLER_UNKNOWN)
            v = PolicyVerdict("unknown", egress=side, ingress=side)
            out.append(HopVerdict(f"{via} (from the controller)", dst.ref, b.port, b.protocol, v))
            continue
        for c in controllers:
            origin = _pod_source(c)
            v, more = _check(index, origin, origin.peers[0], dst, b.port, b.protocol, b.address)
            out.append(
                HopVerdict(
                    f"{via} (from the controller)", dst.ref, b.port, b.protocol, v, more, str(c.ref)
                )
            )
    return out


SNAT_NOTE = (
    "externalTrafficPolicy Cluster: the client may be SNATed to a node address, which is "
    "what ipBlock rules then see"
)


@dataclass(frozen=True, slots=True)
class Source:
    """What `--from` names, before the snapshot resolves it.

    A pod (namespace/name), every pod of a namespace, an address, any outside client, or a
    node (`node/NAME`).
    """

    kind: SourceKind
    pod: PodRef | None = None
    ip: str | None = None
    namespace: str | None = None
    node: str | None = None


FROM_HINT = "--from NAMESPACE/POD, --from NAMESPACE, --from node/NAME, --from IP or --from outside"


def parse_source(text: str) -> Source:
    """`--from`'s value; a UsageError (one line, exit 2) when it is none of the forms."""
    value = text.strip()
    if value == "outside":
        return Source("outside")
    try:
        return Source("ip", ip=str(ipaddress.ip_address(value)))
    except ValueError:
        pass
    ns, sep, name = value.partition("/")
    if sep and ns == "node" and _NAME.fullmatch(name):
        return Source("node", node=name)
    if sep and _NAME.fullmatch(ns) and _NAME.fullmatch(name):
        return Source("pod", pod=PodRef(ns, name))
    if not sep and _NAME.fullmatch(value):
        return Source("namespace", namespace=value)
    raise UsageError(
        f"bad --from {value!r}: not a pod, a namespace, a node, an IP address or 'outside'",
        FROM_HINT,
    )


def resolve(src: Source, pods: Iterable[Pod], nodes: Iterable[Node]) -> From:
    """`--from` against the snapshot; a NotFoundError (exit 6) when it names nothing there.

    An IP that is a node's address, and a hostNetwork pod, are node-originated traffic.
    """
    pods = list(pods)
    if src.kind == "outside":
        return From("outside (a client beyond the cluster)", "outside", (Peer.outside(),))
    if src.kind == "namespace":
        mine = sorted(
            (p for p in pods if p.namespace == src.namespace and not p.host_network),
            key=lambda p: p.name,
        )
        if not mine:
            raise NotFoundError(
                f"--from {src.namespace}: no pod in namespace {src.namespace!r} to trace from",
                "kubectl get pods -n NAMESPACE, or --from NAMESPACE/POD",
            )
        return From(
            f"namespace {src.namespace} ({len(mine)} pod(s))",
            "namespace",
            tuple(Peer.of_pod(p) for p in mine),
        )
    by_node = {n.name: n for n in nodes}
    if src.kind == "node":
        node = by_node.get(src.node or "")
        if node is None or not node.ips():
            raise NotFoundError(
                f"--from node/{src.node}: no such node with an address",
                "kubectl get nodes -o wide",
            )
        ip = node.ips()[0].address
        return From(f"node {node.name} ({ip})", "node", (Peer.of_ip(ip),), node=node.name)
    if src.kind == "ip" and src.ip is not None:
        for n in by_node.values():
            if any(a.address == src.ip for a in n.ips()):
                return From(f"node {n.name} ({src.ip})", "node", (Peer.of_ip(src.ip),), node=n.name)
        owners = [p for p in pods if src.ip in p.pod_ips and not p.host_network]
        if owners:
            return From(str(owners[0].ref), "pod", (Peer.of_pod(owners[0]),))
        return From(src.ip, "ip", (Peer.of_ip(src.ip),))
    found = [p for p in pods if p.ref == src.pod]
    if not found:
        raise NotFoundError(f"--from {src.pod}: no such pod", "kubectl get pods -n NAMESPACE")
    pod = found[0]
    return _pod_source(pod, f"{pod.ref} (hostNetwork, on node {pod.node_name})")
