"""Domain values: what a cluster holds, as far as the IP/port chain is concerned.

Frozen structs in snake_case, built from the wire structs in `kinspect.convert` (or by hand in
tests). Nothing here knows about HTTP or the `kubernetes` package. They are msgspec Structs
rather than dataclasses because a 100k-pod cluster makes millions of them: a Struct is built
several times faster and is encoded to JSON without an intermediate dict. `Value` renames fields
to camelCase when encoded, so values nested in kinspect's JSON documents read like the API.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import msgspec

from kinspect.labels import LabelSelector

Protocol = Literal["TCP", "UDP", "SCTP"]
ServiceType = Literal["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"]
EndpointSource = Literal["EndpointSlice", "Endpoints"]
ProbeAction = Literal["httpGet", "tcpSocket", "grpc"]
PolicyType = Literal["Ingress", "Egress"]
# Whether the NetworkPolicies of a snapshot were read: "forbidden" (RBAC refused, or the API
# failed) and "not-read" (a snapshot file written before kinspect read them) make every policy
# verdict "unknown", never "allowed".
ReadState = Literal["read", "forbidden", "not-read"]
PolicyState = ReadState
# AdminNetworkPolicies and the BaselineAdminNetworkPolicy are CRDs: "absent" (not served, the
# CRD is not installed: none exist) reads like "read" with none; "forbidden" (refused, or the
# read failed) and "not-read" (a snapshot file from before kinspect read them) make every
# verdict they could decide "unknown".
AdminState = Literal["read", "absent", "forbidden", "not-read"]
AdminAction = Literal["Allow", "Deny", "Pass"]
AdminTier = Literal["AdminNetworkPolicy", "BaselineAdminNetworkPolicy"]
ConsumerKind = Literal[
    "APIService", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"
]


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

    @property
    def headless(self) -> bool:
        return self.type != "ExternalName" and not self.cluster_ips


class Endpoint(Value, frozen=True):
    """One address of an EndpointSlice (or a legacy Endpoints subset)."""

    address: str
    ready: bool = True
    serving: bool = True
    terminating: bool = False
    node: str | None = None
    pod: PodRef | None = None  # targetRef when it names a Pod


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


class AdminPeer(Value, frozen=True):
    """One `from`/`to` entry of an (Baseline)AdminNetworkPolicy rule; exactly one field is set.

    `namespaces` and `pods` exist in both directions; `nodes`, `networks` (CIDRs) and
    `domain_names` only in egress rules. None of them set: a peer type this kinspect does not
    know (a newer CRD), which the API says to "fail closed" on.
    """

    namespaces: LabelSelector | None = None
    pods: NamespacedPods | None = None
    nodes: LabelSelector | None = None
    networks: tuple[str, ...] = ()
    domain_names: tuple[str, ...] = ()

    @property
    def known(self) -> bool:
        return bool(
            self.namespaces is not None
            or self.pods is not None
            or self.nodes is not None
            or self.networks
            or self.domain_names
        )


class AdminPort(Value, frozen=True):
    """One `ports` entry: a number (`port`), a range (`port`..`end_port`) or a name (`name`).

    None of them: an entry of a kind this kinspect does not know (it matches nothing).
    """

    protocol: Protocol = "TCP"
    port: int | None = None
    end_port: int | None = None
    name: str | None = None


class AdminRule(Value, frozen=True):
    """One ingress or egress rule: action, peers (at least one), ports (None: every port).

    `action` None: an action this kinspect does not know; a rule that matches with it is
    "unknown".
    """

    action: AdminAction | None
    name: str = ""
    peers: tuple[AdminPeer, ...] = ()
    ports: tuple[AdminPort, ...] | None = None


class AdminSubject(Value, frozen=True):
    """The pods a policy applies to: every pod of `namespaces`, or `pods` (exactly one set)."""

    namespaces: LabelSelector | None = None
    pods: NamespacedPods | None = None


class AdminNetworkPolicy(Value, frozen=True):
    """A policy.networking.k8s.io/v1alpha1 AdminNetworkPolicy or BaselineAdminNetworkPolicy.

    `priority` is None for the baseline (a singleton named `default`, evaluated after
    NetworkPolicies, whose rules only Allow or Deny).
    """

    tier: AdminTier
    name: str
    subject: AdminSubject
    priority: int | None = None
    ingress: tuple[AdminRule, ...] = ()
    egress: tuple[AdminRule, ...] = ()

    def __str__(self) -> str:
        return f"{self.tier} {self.name}"


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

    @property
    def label(self) -> str:
        """`ValidatingWebhookConfiguration x (webhook y)`, `APIService v1beta1.metrics.k8s.io`."""
        hook = f" (webhook {self.webhook})" if self.webhook else ""
        return f"{self.kind} {self.name}{hook}"


PathType = Literal["Exact", "Prefix", "ImplementationSpecific"]


class IngressBackend(Value, frozen=True):
    """Where an Ingress path (or its defaultBackend) sends traffic: a service port or a resource.

    The port is a Service port, given by number or by the Service port's name.
    """

    service: str | None = None  # in the Ingress's namespace
    port_number: int | None = None
    port_name: str | None = None
    resource: str | None = None  # "Kind name (apiGroup)" of a resource backend

    @property
    def port_text(self) -> str:
        return str(self.port_number) if self.port_number is not None else repr(self.port_name)


class IngressPath(Value, frozen=True):
    path: str  # "/" when the API left it empty (valid only for ImplementationSpecific)
    path_type: PathType
    backend: IngressBackend


class IngressRule(Value, frozen=True):
    host: str | None  # None: every host
    paths: tuple[IngressPath, ...] = ()


class IngressTLS(Value, frozen=True):
    hosts: tuple[str, ...] = ()
    secret_name: str | None = None  # a name only: kinspect never reads Secrets


class Ingress(Value, frozen=True):
    namespace: str
    name: str
    class_name: str | None = None  # spec.ingressClassName
    class_annotation: str | None = None  # the legacy kubernetes.io/ingress.class annotation
    default_backend: IngressBackend | None = None
    rules: tuple[IngressRule, ...] = ()
    tls: tuple[IngressTLS, ...] = ()
    addresses: tuple[LoadBalancerIngress, ...] = ()  # status.loadBalancer.ingress


class IngressClass(Value, frozen=True):
    name: str
    controller: str = ""
    default: bool = False  # annotation ingressclass.kubernetes.io/is-default-class: "true"


class IPBlock(Value, frozen=True):
    """A NetworkPolicy peer's ipBlock: a CIDR less the CIDRs in `except_cidrs`."""

    cidr: str
    except_cidrs: tuple[str, ...] = ()


class PolicyPeer(Value, frozen=True):
    """One `from`/`to` entry: selectors (both set means AND) or an ipBlock.

    None is "not given", which differs from an empty selector (all pods / all namespaces).
    """

    pod_selector: LabelSelector | None = None
    namespace_selector: LabelSelector | None = None
    ip_block: IPBlock | None = None


class PolicyPort(Value, frozen=True):
    """One `ports` entry: a number (with `end_port`, a range), a name, or None (every port)."""

    protocol: Protocol = "TCP"
    port: int | str | None = None
    end_port: int | None = None


class PolicyRule(Value, frozen=True):
    """One ingress or egress rule: its peers (none: every peer) and ports (none: every port)."""

    peers: tuple[PolicyPeer, ...] = ()
    ports: tuple[PolicyPort, ...] = ()


class NetworkPolicy(Value, frozen=True):
    """A networking.k8s.io/v1 NetworkPolicy, policyTypes defaulted as the API server does."""

    namespace: str
    name: str
    pod_selector: LabelSelector = msgspec.field(default_factory=LabelSelector)
    policy_types: tuple[PolicyType, ...] = ("Ingress",)
    ingress: tuple[PolicyRule, ...] = ()
    egress: tuple[PolicyRule, ...] = ()

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


# --- gateway.networking.k8s.io (issue 13) ----------------------------------------------------

RouteKind = Literal["HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute"]
FromNamespaces = Literal["Same", "All", "Selector", "None"]
GatewayPathType = Literal["Exact", "PathPrefix", "RegularExpression"]


class GatewayCondition(Value, frozen=True):
    """A status condition a controller wrote (Accepted, ResolvedRefs, Programmed ...)."""

    type: str
    status: str  # "True", "False", "Unknown"
    reason: str = ""
    message: str = ""


class GatewayClass(Value, frozen=True):
    name: str
    controller: str = ""
    conditions: tuple[GatewayCondition, ...] = ()


class Listener(Value, frozen=True):
    """One Gateway listener and which routes it admits (allowedRoutes, CRD defaults applied)."""

    name: str
    port: int
    protocol: str  # HTTP, HTTPS, TLS, TCP, UDP or an implementation's own
    hostname: str | None = None  # None: every host
    allowed_from: FromNamespaces = "Same"
    allowed_selector: LabelSelector | None = None  # for allowed_from == "Selector"
    allowed_kinds: tuple[str, ...] = ()  # "group/Kind"; empty: inferred from the protocol
    tls_mode: str | None = None
    certificate_refs: tuple[str, ...] = ()  # Secret names: never read
    # status.listeners[] for this listener, when a controller wrote it.
    attached_routes: int | None = None
    conditions: tuple[GatewayCondition, ...] = ()


class Gateway(Value, frozen=True):
    namespace: str
    name: str
    class_name: str = ""
    listeners: tuple[Listener, ...] = ()
    addresses: tuple[str, ...] = ()  # status.addresses (else spec.addresses) values
    conditions: tuple[GatewayCondition, ...] = ()

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


class ParentRef(Value, frozen=True):
    """A route's parentRef, defaults applied (group gateway.networking.k8s.io, kind Gateway)."""

    namespace: str
    name: str
    group: str = "gateway.networking.k8s.io"
    kind: str = "Gateway"
    section_name: str | None = None
    port: int | None = None


class ValueMatch(Value, frozen=True):
    """A header or query parameter match."""

    name: str
    value: str
    type: str = "Exact"  # Exact or RegularExpression (implementation-specific)


class RouteMatch(Value, frozen=True):
    """One match of a rule: all of its parts must hold (HTTPRouteMatch, GRPCRouteMatch)."""

    path_type: GatewayPathType = "PathPrefix"
    path: str = "/"
    headers: tuple[ValueMatch, ...] = ()
    query_params: tuple[ValueMatch, ...] = ()
    method: str | None = None  # HTTP method
    # GRPCRoute: service and method, matched on the request path /service/method.
    grpc_service: str | None = None
    grpc_method: str | None = None
    grpc_type: str = "Exact"


class BackendRef(Value, frozen=True):
    namespace: str  # defaulted to the route's
    name: str
    group: str = ""  # "": core
    kind: str = "Service"
    port: int | None = None
    weight: int = 1


class RouteRule(Value, frozen=True):
    matches: tuple[RouteMatch, ...] = ()  # empty: PathPrefix / (HTTP), every request (others)
    backend_refs: tuple[BackendRef, ...] = ()
    name: str | None = None
    # The types of its filters (RequestRedirect, URLRewrite, RequestMirror, ...): only their
    # kind is read. A rule that redirects needs no backendRefs.
    filters: tuple[str, ...] = ()

    @property
    def redirects(self) -> bool:
        return "RequestRedirect" in self.filters


class RouteParentStatus(Value, frozen=True):
    parent: ParentRef
    controller: str = ""
    conditions: tuple[GatewayCondition, ...] = ()


class Route(Value, frozen=True):
    kind: RouteKind
    namespace: str
    name: str
    parent_refs: tuple[ParentRef, ...] = ()
    hostnames: tuple[str, ...] = ()
    rules: tuple[RouteRule, ...] = ()
    created: str = ""  # creationTimestamp (RFC 3339: sorts as text)
    parents: tuple[RouteParentStatus, ...] = ()  # status.parents

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


class GrantFrom(Value, frozen=True):
    group: str
    kind: str
    namespace: str


class GrantTo(Value, frozen=True):
    group: str
    kind: str
    name: str | None = None


class ReferenceGrant(Value, frozen=True):
    namespace: str
    name: str
    from_: tuple[GrantFrom, ...] = msgspec.field(default=(), name="from")
    to: tuple[GrantTo, ...] = ()


class Snapshot(Value, frozen=True):
    """Everything read from one cluster (or one namespace of it) at one time."""

    context: str
    nodes: tuple[Node, ...] = ()
    services: tuple[Service, ...] = ()
    endpoint_groups: tuple[EndpointGroup, ...] = ()
    pods: tuple[Pod, ...] = ()
    endpoint_source: EndpointSource = "EndpointSlice"
    # core/v1 Endpoints read beside the slices (audit only), to find the two disagreeing.
    legacy_endpoint_groups: tuple[EndpointGroup, ...] = ()
    warnings: tuple[str, ...] = ()  # what could not be read (e.g. nodes forbidden)
    # Last and defaulted: snapshot files written before it load, positional constructors work.
    namespaces: tuple[Namespace, ...] = ()
    # Cluster-scoped objects that call services (optional kinds: quietly empty when refused).
    api_services: tuple[ServiceConsumer, ...] = ()
    validating_webhooks: tuple[ServiceConsumer, ...] = ()
    mutating_webhooks: tuple[ServiceConsumer, ...] = ()
    # networking.k8s.io/v1 (optional kinds, issue 13).
    ingresses: tuple[Ingress, ...] = ()
    ingress_classes: tuple[IngressClass, ...] = ()
    network_policies: tuple[NetworkPolicy, ...] = ()
    network_policy_state: PolicyState = "not-read"
    # Whether IngressClasses were read: refused (cluster-scoped, so every namespace-scoped
    # reader) makes an Ingress's class unknown, not missing.
    ingress_class_state: ReadState = "not-read"
    # gateway.networking.k8s.io (optional kinds, issue 13): quietly empty when not served.
    gateway_classes: tuple[GatewayClass, ...] = ()
    gateways: tuple[Gateway, ...] = ()
    routes: tuple[Route, ...] = ()  # HTTPRoutes, then GRPC, TLS, TCP and UDP routes
    reference_grants: tuple[ReferenceGrant, ...] = ()
    # policy.networking.k8s.io (optional CRDs, issue 14): cluster-scoped, never narrowed.
    admin_network_policies: tuple[AdminNetworkPolicy, ...] = ()
    admin_network_policy_state: AdminState = "not-read"
    baseline_admin_network_policies: tuple[AdminNetworkPolicy, ...] = ()
    baseline_admin_network_policy_state: AdminState = "not-read"

    @property
    def consumers(self) -> tuple[ServiceConsumer, ...]:
        """Every APIService and webhook that calls a service."""
        return self.api_services + self.validating_webhooks + self.mutating_webhooks

    def narrow(self, namespace: str | None, service: str | None = None) -> Snapshot:
        """The snapshot as if read with -n NAMESPACE (None: all) and a service name (None: all).

        Nodes are cluster-scoped and kept; a service's endpoint groups follow it.
        """
        if namespace is None and service is None:
            return self

        def keep(ns: str, name: str | None = None) -> bool:
            return (namespace is None or ns == namespace) and (
                service is None or name is None or name == service
            )

        return msgspec.structs.replace(
            self,
            services=tuple(s for s in self.services if keep(s.namespace, s.name)),
            endpoint_groups=tuple(g for g in self.endpoint_groups if keep(g.namespace, g.service)),
            legacy_endpoint_groups=tuple(
                g for g in self.legacy_endpoint_groups if keep(g.namespace, g.service)
            ),
            pods=tuple(p for p in self.pods if keep(p.namespace)),
            namespaces=tuple(n for n in self.namespaces if keep(n.name)),
            network_policies=tuple(p for p in self.network_policies if keep(p.namespace)),
            ingresses=tuple(i for i in self.ingresses if keep(i.namespace)),
            gateways=tuple(g for g in self.gateways if keep(g.namespace)),
            routes=tuple(r for r in self.routes if keep(r.namespace)),
        )
