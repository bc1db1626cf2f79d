"""Rebuild, for every service port, the chain frontends → ClusterIP → backends → containers.

Pure: a `Snapshot` in, `ServiceChain`s out. Joins go through the dict indexes of `Index`
(pod by namespace/name, by IP, by label), never nested scans, so a 100k-pod cluster costs
one pass per list.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from kinspect.model.labels import SelectorIndex, from_map
from kinspect.model.snapshot import Snapshot
from kinspect.model.values import (
    ContainerPort,
    Endpoint,
    EndpointGroup,
    Node,
    Pod,
    PodRef,
    Protocol,
    Service,
    ServiceConsumer,
    ServicePort,
    Value,
    ip_family,
)
from kinspect.path import topology
from kinspect.path.topology import NodeTopology

FrontendKind = Literal["ClusterIP", "NodePort", "LoadBalancer", "ExternalIP"]


class NodeAnswer(Value, frozen=True):
    """Whether clients on one node get an answer (internalTrafficPolicy: Local)."""

    node: str
    answers: bool


class Frontend(Value, frozen=True):
    """Where a client can send traffic for one service port."""

    kind: FrontendKind
    address: str
    port: int
    node: str | None = None
    # NodePort only: False on a node that drops the traffic (externalTrafficPolicy: Local with
    # no local ready endpoint, or no ready endpoint anywhere). None where it does not apply.
    answers: bool | None = None
    # ClusterIP under internalTrafficPolicy: Local only: per node, whether pods (and the node
    # itself) get an answer. kube-proxy then uses only node-local endpoints for traffic from
    # the node and drops it when there is none, even if other nodes have endpoints
    # (https://kubernetes.io/docs/concepts/services-networking/service-traffic-policy/).
    # Empty where it does not apply.
    from_nodes: tuple[NodeAnswer, ...] = ()


class HealthCheck(Value, frozen=True):
    """kube-proxy's health check server for a service's healthCheckNodePort, on one node.

    With externalTrafficPolicy Local, a LoadBalancer service gets spec.healthCheckNodePort; the
    load balancer probes it on every node, and kube-proxy answers 200 when the node has a
    local endpoint and 503 when it has none, so the LB sends traffic only to nodes that answer
    (https://kubernetes.io/docs/tasks/access-application-cluster/create-external-load-balancer/
    #preserving-the-client-source-ip; kubernetes pkg/proxy/healthcheck/service_health.go).
    """

    node: str
    address: str
    port: int
    local_endpoints: int
    status: int  # 200 or 503


class Readiness(Value, frozen=True):
    """A container's readiness probe: its kind, the port it checks and the port it names."""

    container: str
    action: str  # httpGet, tcpSocket, grpc or exec; "" from snapshot files older than it
    port: int | str | None = None
    container_port: ContainerPort | None = None


class Backend(Value, frozen=True):
    """One endpoint address of a service port, joined to its pod and container."""

    address: str
    port: int
    protocol: Protocol
    ready: bool
    serving: bool
    terminating: bool
    node: str | None = None
    pod: PodRef | None = None
    pod_found: bool = False  # False when targetRef names a pod that is not in the cluster
    container: str | None = None
    container_port: ContainerPort | None = None
    host_network: bool = False
    # "unknown, because ...": the pod is not found because it was not read (a namespace outside
    # -n whose pods could not be read, issue 22), so it is not known to be missing.
    pod_unknown: str | None = None
    # The slice's topology hints (issue 22): the zones and nodes whose kube-proxy should use
    # this endpoint (path/topology.py decides what kube-proxy does with them).
    for_zones: tuple[str, ...] = ()
    for_nodes: tuple[str, ...] = ()


# Why a pod the selector matches gets no traffic on a port: a closed set, worded for people
# by kinspect.path.reasons.
NotBackendReason = Literal[
    "terminating",
    "not ready",
    "finished",
    "unscheduled",
    "containers not started",
    "no pod IP",
    "no named port",
    "not in slice yet",
]


class NotBackend(Value, frozen=True):
    """A pod the selector matches that gets no traffic on this port, and why."""

    pod: PodRef
    reason: NotBackendReason
    node: str | None = None
    phase: str | None = None  # "finished": the pod's phase (Succeeded or Failed)
    # "no named port": the service port's targetPort name and protocol no container declares
    named_port: str | None = None
    protocol: str | None = None
    # "not ready": the pod's Ready condition and its readiness probes, to say why.
    ready_reason: str | None = None
    ready_message: str | None = None
    readiness: tuple[Readiness, ...] = ()
    # "unscheduled": the PodScheduled condition's reason and message, the scheduler's words.
    scheduled_reason: str | None = None
    scheduled_message: str | None = None


class PortChain(Value, frozen=True):
    port: ServicePort
    frontends: tuple[Frontend, ...] = ()
    backends: tuple[Backend, ...] = ()
    not_backends: tuple[NotBackend, ...] = ()
    # Issue 22: per node, which endpoints kube-proxy there uses for cluster-policy traffic, when
    # topology hints are in force (some ready endpoint carries one) and some of the service's
    # traffic uses cluster endpoints; empty otherwise (every node uses every endpoint).
    topology: tuple[NodeTopology, ...] = ()


class ServiceChain(Value, frozen=True):
    service: Service
    ports: tuple[PortChain, ...] = ()
    selected: tuple[PodRef, ...] = ()  # pods the selector matches (empty when selectorless)
    endpoint_groups: tuple[str, ...] = ()  # names of the slices (or Endpoints) read
    health_checks: tuple[HealthCheck, ...] = ()  # healthCheckNodePort, per node IP
    consumers: tuple[ServiceConsumer, ...] = ()  # APIServices and webhooks calling it


@dataclass
class Index:
    """Lookups over one snapshot, built in a single pass over each list."""

    snapshot: Snapshot
    pods: dict[PodRef, Pod] = field(default_factory=dict)
    pods_by_ip: dict[str, list[Pod]] = field(default_factory=dict)
    nodes: dict[str, Node] = field(default_factory=dict)
    groups: dict[tuple[str, str], list[EndpointGroup]] = field(default_factory=dict)
    _by_labels: SelectorIndex[Pod] = field(default_factory=SelectorIndex)
    # (node name, address) of every InternalIP/ExternalIP: where each nodePort opens.
    node_ips: list[tuple[str, str]] = field(default_factory=list)
    consumers: dict[tuple[str, str], list[ServiceConsumer]] = field(default_factory=dict)
    # Every node read, in snapshot order, by name: its zone label (topology hints).
    node_list: list[Node] = field(default_factory=list)

    @classmethod
    def of(cls, snapshot: Snapshot) -> Index:
        idx = cls(snapshot)
        by_ip: defaultdict[str, list[Pod]] = defaultdict(list)
        for p in snapshot.pods:
            idx.pods[p.ref] = p
            for ip in p.pod_ips:
                by_ip[ip].append(p)
        idx.pods_by_ip = dict(by_ip)
        idx._by_labels = SelectorIndex(snapshot.pods)
        idx.nodes = {n.name: n for n in snapshot.nodes}
        idx.node_list = list(snapshot.nodes)
        idx.node_ips = [(n.name, a.address) for n in snapshot.nodes for a in n.ips()]
        groups: defaultdict[tuple[str, str], list[EndpointGroup]] = defaultdict(list)
        for g in snapshot.endpoint_groups:
            groups[(g.namespace, g.service)].append(g)
        idx.groups = dict(groups)
        consumers: defaultdict[tuple[str, str], list[ServiceConsumer]] = defaultdict(list)
        for c in snapshot.consumers:
            consumers[(c.namespace, c.service)].append(c)
        idx.consumers = dict(consumers)
        return idx

    @property
    def by_labels(self) -> SelectorIndex[Pod]:
        """The pods indexed by namespace and label (shared with `policy.PolicyIndex`)."""
        return self._by_labels

    def select(self, namespace: str, selector: Mapping[str, str]) -> list[Pod]:
        """Pods of `namespace` whose labels contain every pair of `selector`, in snapshot order."""
        # Service semantics: an empty selector selects no pod (the endpoints are managed by
        # hand), where an empty LabelSelector would select every pod of the namespace.
        if not selector:
            return []
        # prevalidated: the API server validated the selector on write, and the endpointslice
        # controller matches it as written (labels.Set(...).AsSelectorPreValidated()).
        return self._by_labels.select(namespace, from_map(selector), prevalidated=True)


def declared_port(pod: Pod, port: int, protocol: Protocol) -> ContainerPort | None:
    """The container port of `pod` that declares `port`/`protocol`, if any container does."""
    for cp in pod.ports:
        if cp.port == port and cp.protocol == protocol:
            return cp
    return None


def named_port(pod: Pod, name: str, protocol: Protocol) -> ContainerPort | None:
    """Resolve a named targetPort against this pod's own container ports (and protocol)."""
    for cp in pod.ports:
        if cp.name == name and cp.protocol == protocol:
            return cp
    return None


def _backends(idx: Index, sp: ServicePort, groups: Sequence[EndpointGroup]) -> list[Backend]:
    out: list[Backend] = []
    for g in groups:
        for ep_port in g.ports:
            # EndpointSlice ports carry the service port's name; "" and None are the same.
            if ep_port.name != sp.name or ep_port.protocol != sp.protocol:
                continue
            out.extend(_backend(idx, e, ep_port.port, ep_port.protocol) for e in g.endpoints)
    out.sort(key=lambda b: (b.pod or PodRef("", ""), b.address, b.port))
    return out


def _backend(idx: Index, e: Endpoint, port: int, protocol: Protocol) -> Backend:
    pod = idx.pods.get(e.pod) if e.pod else None
    cp = declared_port(pod, port, protocol) if pod else None
    return Backend(
        address=e.address,
        port=port,
        protocol=protocol,
        ready=e.ready,
        serving=e.serving,
        terminating=e.terminating,
        node=e.node or (pod.node_name if pod else None),
        pod=e.pod,
        pod_found=pod is not None,
        container=cp.container if cp else None,
        container_port=cp,
        host_network=pod.host_network if pod else False,
        pod_unknown=(
            idx.snapshot.unknown("pods", e.pod.namespace, e.pod.name)
            if e.pod and pod is None
            else None
        ),
        for_zones=e.for_zones,
        for_nodes=e.for_nodes,
    )


def readiness(pod: Pod) -> tuple[Readiness, ...]:
    """The pod's readiness probes, each with the container port it names (if any declares it)."""
    out = []
    for pr in pod.probes:
        if pr.probe != "readiness":
            continue
        if isinstance(pr.port, str):
            cp = next((c for c in pod.ports if c.name == pr.port), None)
        else:
            cp = next((c for c in pod.ports if c.port == pr.port and c.protocol == "TCP"), None)
        out.append(Readiness(pr.container, pr.action or "", pr.port, cp))
    out += [Readiness(c, "exec") for c in pod.exec_readiness]
    return tuple(out)


def not_backend(pod: Pod, sp: ServicePort, listed: Backend | None) -> NotBackend | None:
    """Why a pod the selector matches gets no traffic on `sp`; None when it does."""

    def no(reason: NotBackendReason) -> NotBackend:
        if reason == "not ready":
            return NotBackend(
                pod.ref,
                reason,
                pod.node_name,
                ready_reason=pod.ready_reason,
                ready_message=pod.ready_message,
                readiness=readiness(pod),
            )
        return NotBackend(pod.ref, reason, pod.node_name)

    if listed is not None:
        if listed.ready:
            return None
        if listed.terminating:
            return no("terminating")
        return no("not ready")
    if pod.deleting:
        return no("terminating")
    if pod.phase in ("Succeeded", "Failed"):
        return NotBackend(pod.ref, "finished", pod.node_name, phase=pod.phase)
    if not pod.node_name:
        return NotBackend(
            pod.ref,
            "unscheduled",
            scheduled_reason=pod.unscheduled_reason,
            scheduled_message=pod.unscheduled_message,
        )
    if pod.phase == "Pending":
        return no("containers not started")
    if not pod.pod_ips:
        return no("no pod IP")
    if isinstance(sp.target_port, str) and named_port(pod, sp.target_port, sp.protocol) is None:
        return NotBackend(
            pod.ref, "no named port", pod.node_name, named_port=sp.target_port, protocol=sp.protocol
        )
    if not pod.ready:
        return no("not ready")
    return no("not in slice yet")


def usable(backends: Sequence[Backend]) -> list[Backend]:
    """The endpoints kube-proxy sends to: the ready ones, else serving and terminating ones."""
    return [b for b in backends if b.ready] or [b for b in backends if b.serving and b.terminating]


def same_family(backends: Sequence[Backend], address: str) -> list[Backend]:
    """The backends a frontend at `address` is DNATed to: those of its IP family.

    kube-proxy runs one proxier per family, each reading only the EndpointSlices of its
    addressType (kubernetes pkg/proxy/endpointschangetracker.go, EndpointSliceUpdate): an IPv4
    ClusterIP or node IP never leads to an IPv6 endpoint. A backend whose address is no IP
    (a hand-made one) and a frontend whose address is none keep everything.
    """
    family = ip_family(address)
    if family is None:
        return list(backends)
    return [b for b in backends if ip_family(b.address) in (family, None)]


def _frontends(
    svc: Service, sp: ServicePort, node_ips: Sequence[tuple[str, str]], backends: Sequence[Backend]
) -> list[Frontend]:
    out = []
    families = svc.families
    for ip in svc.cluster_ips:
        from_nodes: tuple[NodeAnswer, ...] = ()
        if svc.internal_traffic_policy == "Local":
            # Only node-local endpoints (of the ClusterIP's family) serve it for that node.
            local = {b.node for b in usable(same_family(backends, ip))}
            all_nodes = dict.fromkeys(n for n, _ in node_ips)
            from_nodes = tuple(NodeAnswer(n, n in local) for n in all_nodes)
        out.append(Frontend("ClusterIP", ip, sp.port, from_nodes=from_nodes))
    if sp.node_port and svc.type in ("NodePort", "LoadBalancer"):
        np = sp.node_port
        # A nodePort opens only on node IPs of the service's own families (see
        # Service.families): a SingleStack IPv4 service has none on a node's IPv6 address.
        # Per family (computed once, not per node): the nodes with a usable endpoint of it.
        # kube-proxy falls back to serving+terminating endpoints when none is ready.
        usable_nodes: dict[str | None, set[str | None]] = {}
        for n, a in node_ips:
            family = ip_family(a)
            if families and family is not None and family not in families:
                continue
            if family not in usable_nodes:
                usable_nodes[family] = {b.node for b in usable(same_family(backends, a))}
            nodes = usable_nodes[family]
            if svc.external_traffic_policy == "Local":
                out.append(Frontend("NodePort", a, np, n, n in nodes))
            else:
                out.append(Frontend("NodePort", a, np, n, bool(nodes)))

    # Load-balancer and external IPs too, per family: kube-proxy's proxier of a family the
    # service lacks ignores the service, and each proxier keeps only its family's externalIPs
    # and LB ingress IPs (kubernetes pkg/proxy/serviceport.go, newBaseServiceInfo).
    def served(address: str) -> bool:
        family = ip_family(address)
        return not families or family is None or family in families

    if svc.type == "LoadBalancer":
        out.extend(
            Frontend("LoadBalancer", i.address, sp.port)
            for i in svc.load_balancer_ingress
            if i.address and served(i.address)
        )
    out.extend(Frontend("ExternalIP", ip, sp.port) for ip in svc.external_ips if served(ip))
    return out


def service_chain(idx: Index, svc: Service) -> ServiceChain:
    """The chain of every port of one service."""
    if svc.type == "ExternalName":
        # A DNS CNAME: no ClusterIP, no endpoints, no proxying.
        return ServiceChain(
            svc,
            tuple(PortChain(sp) for sp in svc.ports),
            consumers=tuple(idx.consumers.get((svc.namespace, svc.name), ())),
        )
    groups = idx.groups.get((svc.namespace, svc.name), [])
    selected = idx.select(svc.namespace, svc.selector) if svc.selector else []
    selected.sort(key=lambda p: p.name)
    ports = []
    for sp in svc.ports:
        backends = _backends(idx, sp, groups)
        by_pod = {b.pod: b for b in backends if b.pod}
        not_backends = []
        for p in selected:
            nb = not_backend(p, sp, by_pod.get(p.ref))
            if nb:
                not_backends.append(nb)
        ports.append(
            PortChain(
                port=sp,
                frontends=tuple(_frontends(svc, sp, idx.node_ips, backends)),
                backends=tuple(backends),
                not_backends=tuple(not_backends),
                topology=topology.per_node(svc, backends, idx.node_list),
            )
        )
    return ServiceChain(
        service=svc,
        ports=tuple(ports),
        selected=tuple(p.ref for p in selected),
        endpoint_groups=tuple(sorted(g.name for g in groups)),
        health_checks=_health_checks(svc, idx.node_ips, ports),
        consumers=tuple(idx.consumers.get((svc.namespace, svc.name), ())),
    )


def _health_checks(
    svc: Service, node_ips: Sequence[tuple[str, str]], ports: Sequence[PortChain]
) -> tuple[HealthCheck, ...]:
    hc = svc.health_check_node_port
    if not hc or svc.type != "LoadBalancer" or svc.external_traffic_policy != "Local":
        return ()
    local: defaultdict[str | None, set[str]] = defaultdict(set)
    for pc in ports:
        for b in usable(pc.backends):
            local[b.node].add(b.address)
    # One health check server per kube-proxy family, serving that family's services only
    # (kubernetes pkg/proxy/healthcheck/service_health.go, NewServiceHealthServer).
    families = svc.families
    return tuple(
        HealthCheck(n, a, hc, len(local[n]), 200 if local[n] else 503)
        for n, a in node_ips
        if not families or ip_family(a) in (*families, None)
    )


def build(snapshot: Snapshot, idx: Index | None = None) -> list[ServiceChain]:
    """Chains for every service in the snapshot, sorted by namespace and name.

    Read with -n, only that namespace's: a service of another namespace is in the snapshot
    because an answer there depends on it (a route's backendRef), not to be listed itself.
    """
    idx = idx or Index.of(snapshot)
    ns = snapshot.read_namespace
    services = sorted(
        (s for s in snapshot.services if ns is None or s.namespace == ns),
        key=lambda s: (s.namespace, s.name),
    )
    return [service_chain(idx, s) for s in services]
