"""Domain values: what a cluster holds, as far as the IP/port chain is concerned.

Frozen structs in snake_case, built from the wire structs in `kinspect.wire.convert` (or by hand in
tests). Nothing here knows about HTTP or the `kubernetes` package. They are msgspec Structs
rather than dataclasses because a 100k-pod cluster makes millions of them: a Struct is built
several times faster and is encoded to JSON without an intermediate dict. `Value` renames fields
to camelCase when encoded, so values nested in kinspect's JSON documents read like the API.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Literal

import msgspec

from kinspect.model.labels import LabelSelector

Protocol = Literal["TCP", "UDP", "SCTP"]
ServiceType = Literal["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"]
EndpointSource = Literal["EndpointSlice", "Endpoints"]
ProbeAction = Literal["httpGet", "tcpSocket", "grpc"]
# Whether the NetworkPolicies of a snapshot were read: "forbidden" (RBAC refused, or the API
# failed) and "not-read" (a snapshot file written before kinspect read them) make every policy
# verdict "unknown", never "allowed".
ReadState = Literal["read", "forbidden", "not-read"]
ConsumerKind = Literal[
    "APIService", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"
]
IPFamily = Literal["IPv4", "IPv6"]


def ip_family(address: str) -> IPFamily | None:
    """The family of an IP address; None for anything else (a hostname, cluster junk)."""
    try:
        return "IPv6" if ipaddress.ip_address(address).version == 6 else "IPv4"
    except ValueError:
        return None


def host_port(address: str, port: int | str) -> str:
    """ADDRESS:PORT as URLs and kubectl write it: an IPv6 address in brackets, `[fd00::1]:80`.

    Any address with a colon is bracketed (not only valid IPv6), so the port stays readable.
    """
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


class Value(msgspec.Struct, frozen=True, rename="camel", gc=False):
    """Base of the domain values: immutable, hashable, camelCase when encoded.

    gc=False: values hold only strings, numbers, tuples and dicts of strings, so they cannot
    form reference cycles; untracked, millions of them cost the cyclic GC nothing.
    """


class NodeAddress(Value, frozen=True):
    type: str  # InternalIP, ExternalIP, Hostname, InternalDNS, ExternalDNS
    address: str


class Node(Value, frozen=True):
    name: str
    addresses: tuple[NodeAddress, ...] = ()
    pod_cidrs: tuple[str, ...] = ()
    ready: bool = True
    # What an AdminNetworkPolicy's `nodes` peer selects (last, defaulted: old snapshot files load).
    labels: Mapping[str, str] = msgspec.field(default_factory=dict)

    def ips(self) -> tuple[NodeAddress, ...]:
        """The node's addresses that are IPs (InternalIP, ExternalIP): where nodePorts open."""
        return tuple(a for a in self.addresses if a.type in ("InternalIP", "ExternalIP"))


class PodRef(Value, frozen=True, order=True):
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


class ContainerPort(Value, frozen=True):
    container: str
    port: int
    protocol: Protocol = "TCP"
    name: str | None = None
    host_port: int | None = None
    sidecar: bool = False  # declared by a restartable init container


class ProbePort(Value, frozen=True):
    """The port a liveness/readiness/startup probe checks (number or container port name)."""

    container: str
    probe: str  # liveness, readiness, startup
    port: int | str
    # httpGet, tcpSocket or grpc (None in snapshot files written before it was read). gRPC
    # probes take a number only (GRPCAction.port): there is no name to advise there.
    action: ProbeAction | None = None


class Pod(Value, frozen=True):
    namespace: str
    name: str
    labels: Mapping[str, str] = msgspec.field(default_factory=dict)
    node_name: str | None = None
    host_network: bool = False
    phase: str = "Pending"
    ready: bool = False
    pod_ips: tuple[str, ...] = ()
    host_ip: str | None = None
    containers: tuple[str, ...] = ()
    ports: tuple[ContainerPort, ...] = ()
    deleting: bool = False
    owner: str | None = None  # "ReplicaSet/web-5d4f..." for display
    probes: tuple[ProbePort, ...] = ()
    # Init containers that run to completion before the others (sidecars are in `containers`).
    init_containers: tuple[str, ...] = ()
    # The Ready condition's reason and message (e.g. "ContainersNotReady", "containers with
    # unready status: [app]"), and the containers whose readiness probe is an exec command.
    ready_reason: str | None = None
    ready_message: str | None = None
    exec_readiness: tuple[str, ...] = ()
    # The PodScheduled condition when False (issue 23): the scheduler's reason and message
    # ("Unschedulable", "0/3 nodes are available: ..."). Last, defaulted: old snapshots load.
    unscheduled_reason: str | None = None
    unscheduled_message: str | None = None

    @property
    def ref(self) -> PodRef:
        return PodRef(self.namespace, self.name)


class ServicePort(Value, frozen=True):
    port: int
    protocol: Protocol = "TCP"
    name: str | None = None
    target_port: int | str | None = None  # None only on ExternalName services
    node_port: int | None = None
    app_protocol: str | None = None  # e.g. "https", "kubernetes.io/h2c": what the port speaks


class LoadBalancerIngress(Value, frozen=True):
    ip: str | None = None
    hostname: str | None = None
    # "VIP" or "Proxy" (None: not written, which kube-proxy takes as VIP). Proxy: the load
    # balancer proxies, kube-proxy programs no rule for the address (issue 22).
    ip_mode: str | None = None

    @property
    def address(self) -> str:
        return self.ip or self.hostname or ""


class Service(Value, frozen=True):
    namespace: str
    name: str
    type: ServiceType = "ClusterIP"
    # Empty for headless and ExternalName services: convert drops the API's "None" marker.
    cluster_ips: tuple[str, ...] = ()
    external_ips: tuple[str, ...] = ()
    load_balancer_ingress: tuple[LoadBalancerIngress, ...] = ()
    external_name: str | None = None
    external_traffic_policy: str | None = None
    selector: Mapping[str, str] | None = None
    ports: tuple[ServicePort, ...] = ()
    # Defaulted last, so snapshot files written before they were read still load.
    internal_traffic_policy: str | None = None
    health_check_node_port: int | None = None
    publish_not_ready_addresses: bool = False
    # Issue 22 (defaulted, last: older snapshot files load). spec.trafficDistribution
    # (PreferSameZone, PreferSameNode, or PreferClose, the older name of PreferSameZone) and the
    # older annotation service.kubernetes.io/topology-mode (or topology-aware-hints): labels
    # only. kube-proxy follows the hints the EndpointSlices carry, whoever wrote them.
    traffic_distribution: str | None = None
    topology_mode: str | None = None
    # "ClientIP" (None: spec.sessionAffinity None), with its timeout in seconds.
    session_affinity: str | None = None
    session_affinity_timeout: int | None = None
    # spec.loadBalancerSourceRanges as written, and the legacy annotation
    # service.beta.kubernetes.io/load-balancer-source-ranges as written.
    load_balancer_source_ranges: tuple[str, ...] = ()
    source_ranges_annotation: str | None = None
    # SingleStack, PreferDualStack, RequireDualStack; ["IPv4", "IPv6"] in the order of clusterIPs.
    ip_family_policy: str | None = None
    ip_families: tuple[str, ...] = ()

    @property
    def affinity_seconds(self) -> int | None:
        """ClientIP affinity's timeout in seconds, or None without ClientIP affinity.

        The API's default, 10800 s, when none is written: snapshot files are not defaulted.
        """
        if self.session_affinity != "ClientIP":
            return None
        return self.session_affinity_timeout or 10800

    @property
    def headless(self) -> bool:
        return self.type != "ExternalName" and not self.cluster_ips

    @property
    def families(self) -> tuple[IPFamily, ...]:
        """The IP families kube-proxy serves the service in: spec.ipFamilies, else its ClusterIPs'.

        kube-proxy runs one proxier per family and each ignores a service without a ClusterIP
        of its family (kubernetes pkg/proxy/servicechangetracker.go, serviceToServiceMap with
        GetClusterIPByFamily): no nodePort of it opens on that family's node IPs. Empty when
        unknown (headless, ExternalName): no filtering.
        """
        given: tuple[IPFamily, ...] = tuple(
            "IPv6" if f == "IPv6" else "IPv4" for f in self.ip_families if f in ("IPv4", "IPv6")
        )
        if given:
            return given
        return tuple(dict.fromkeys(f for f in map(ip_family, self.cluster_ips) if f))


class Endpoint(Value, frozen=True):
    """One address of an EndpointSlice (or a legacy Endpoints subset)."""

    address: str
    ready: bool = True
    serving: bool = True
    terminating: bool = False
    node: str | None = None
    pod: PodRef | None = None  # targetRef when it names a Pod
    # Topology hints (issue 22): the zones and nodes whose kube-proxy should use this endpoint.
    for_zones: tuple[str, ...] = ()
    for_nodes: tuple[str, ...] = ()


class EndpointPort(Value, frozen=True):
    port: int
    protocol: Protocol = "TCP"
    name: str | None = None


class EndpointGroup(Value, frozen=True):
    """An EndpointSlice, or one subset of a legacy Endpoints object: endpoints by ports."""

    namespace: str
    service: str
    name: str
    address_type: str = "IPv4"
    ports: tuple[EndpointPort, ...] = ()
    endpoints: tuple[Endpoint, ...] = ()


class Namespace(Value, frozen=True):
    """A namespace and its labels (what NetworkPolicy namespaceSelectors match)."""

    name: str
    labels: Mapping[str, str] = msgspec.field(default_factory=dict)


class NamespacedPods(Value, frozen=True):
    """AdminNetworkPolicy's `pods`: pods matching both, the namespace's and the pod's labels."""

    namespace_selector: LabelSelector
    pod_selector: LabelSelector


class ServiceConsumer(Value, frozen=True):
    """An API object that calls a service: an APIService or one webhook of a configuration.

    The API server sends it requests through the service (spec.service / clientConfig.service),
    so when the service has no ready endpoint, what it serves fails: an aggregated API's
    requests, or (failurePolicy Fail) every write the webhook's rules match.
    """

    kind: ConsumerKind
    name: str  # the APIService or the webhook configuration
    namespace: str  # the service's
    service: str
    port: int = 443  # the service port (both APIs default it to 443)
    webhook: str | None = None  # the webhook's name within its configuration
    path: str | None = None
    failure_policy: str | None = None  # webhooks: Fail (the v1 default) or Ignore
    # APIServices: "REASON: message" of the Available condition when it is False (issue 23),
    # e.g. "FailedDiscoveryCheck: failing or missing response from ...". None: available, or
    # the condition says nothing yet.
    unavailable: str | None = None

    @property
    def label(self) -> str:
        """`ValidatingWebhookConfiguration x (webhook y)`, `APIService v1beta1.metrics.k8s.io`."""
        hook = f" (webhook {self.webhook})" if self.webhook else ""
        return f"{self.kind} {self.name}{hook}"
