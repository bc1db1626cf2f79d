"""What kinspect reads from a cluster: one entry per resource kind, walked by `cluster.snapshot`.

To read a new kind: a wire struct in raw.py, a converter in convert.py (convert_edge.py,
convert_policy.py for entry points and policies), one entry here (and the field it fills in
`Snapshot`). An entry says where the kind is listed, how a scope narrows the LIST, which
Snapshot field it fills and what happens when it cannot be read. How it is read (paging,
errors, concurrency) is the business of cluster.py, lists.py and transport.py: nothing here
does I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, Protocol, TypeVar

from kinspect.model import edge as model_edge
from kinspect.model import values as model
from kinspect.wire import convert, convert_edge, convert_policy, raw

CORE, DISCOVERY = "/api/v1", "/apis/discovery.k8s.io/v1"
APIREGISTRATION = "/apis/apiregistration.k8s.io/v1"
ADMISSIONREGISTRATION = "/apis/admissionregistration.k8s.io/v1"
NETWORKING = "/apis/networking.k8s.io/v1"
GATEWAY = "/apis/gateway.networking.k8s.io/v1"
GATEWAY_BETA = "/apis/gateway.networking.k8s.io/v1beta1"
POLICY_ALPHA = "/apis/policy.networking.k8s.io/v1alpha1"

W = TypeVar("W")  # a wire item (raw.Node ...)
W_co = TypeVar("W_co", covariant=True)
V = TypeVar("V", bound=model.Value)  # the domain value it becomes (model.Node ...)


class Page(Protocol[W_co]):
    """One page of a LIST: raw.NodeList, raw.PodList ..."""

    @property
    def items(self) -> Sequence[W_co] | None: ...

    @property
    def metadata(self) -> raw.ListMeta: ...


@dataclass(frozen=True)
class Match:
    """A server-side selector on one key, e.g. `fieldSelector=metadata.name=<value>`."""

    param: Literal["fieldSelector", "labelSelector"]
    key: str


BY_NAME = Match("fieldSelector", "metadata.name")
BY_SERVICE_LABEL = Match("labelSelector", "kubernetes.io/service-name")


@dataclass(frozen=True, eq=False)
class Kind(Generic[W, V]):
    """How one resource kind is listed, and which `Snapshot` field it fills."""

    field: str  # the Snapshot field
    group: str  # the API group's path: CORE, DISCOVERY ...
    plural: str  # the resource, as in the path and in messages
    namespaced: bool  # False: cluster-scoped
    list_type: type[Page[W]]
    # One wire item → its value, several values (a legacy Endpoints' subsets) or None (skip it).
    convert: Callable[[W], V | Iterable[V] | None]
    by_service: Match | None = None  # how Scope.service narrows the LIST; None: it does not
    by_selector: bool = False  # Scope.selector (-l) is a label selector on this kind
    by_namespace: Match | None = None  # cluster-scoped kinds: how Scope.namespace narrows them
    # Refused (401/403), not served (404) or failed in any other way (a server error, a
    # malformed page): the field stays empty instead of failing the read. A refusal is quiet
    # unless `consequence` is set; any other failure is always a warning.
    optional: bool = False
    # Read this kind into the field instead when this one is refused or not served.
    fallback: Kind[Any, Any] | None = None
    # The warning's tail, after the error's message, when optional or fallback applies
    # ("<error>; <consequence>"). None: no warning.
    consequence: str | None = None
    # A Snapshot field set to "read" when this kind was read and "forbidden" when it was not,
    # for kinds whose absence must not read as "none exist" (NetworkPolicies: a policy that
    # cannot be read makes verdicts unknown, never allowed).
    state_field: str | None = None
    # Not served (404: the CRD is not installed) is quiet even with a consequence: a cluster
    # without the Gateway API has no Gateway entry points, nothing is hidden. Refused still warns.
    quiet_when_absent: bool = False
    # Several kinds may fill one field (the five route kinds fill `routes`): values are appended.


# Legacy core/v1 Endpoints: the fallback for EndpointSlices, and read beside them for the audit
# (snapshot(with_legacy_endpoints=True)) to find the two disagreeing.
ENDPOINTS = Kind(
    field="legacy_endpoint_groups",
    group=CORE,
    plural="endpoints",
    namespaced=True,
    list_type=raw.EndpointsList,
    convert=convert.endpoints,
    by_service=BY_NAME,
    optional=True,
    consequence="EndpointSlices and Endpoints not compared",
)
ENDPOINT_SLICES = Kind(
    field="endpoint_groups",
    group=DISCOVERY,
    plural="endpointslices",
    namespaced=True,
    list_type=raw.EndpointSliceList,
    convert=convert.endpoint_slice,
    by_service=BY_SERVICE_LABEL,
    fallback=ENDPOINTS,
    consequence="read core/v1 Endpoints instead",
)
SERVICES = Kind(
    field="services",
    group=CORE,
    plural="services",
    namespaced=True,
    list_type=raw.ServiceList,
    convert=convert.service,
    by_service=BY_NAME,
    by_selector=True,
)
# Read by lists.read_pods (all namespaces: namespace by namespace on big clusters) or by
# lists.read_pod_queries (trace: only the pods it touches), both through this entry.
PODS = Kind(
    field="pods",
    group=CORE,
    plural="pods",
    namespaced=True,
    list_type=raw.PodList,
    convert=convert.pod,
)
# Namespace-scoped RBAC often forbids nodes.
NODES = Kind(
    field="nodes",
    group=CORE,
    plural="nodes",
    namespaced=False,
    list_type=raw.NodeList,
    convert=convert.node,
    optional=True,
    consequence="NodePort frontends are unknown",
)
# Only NetworkPolicy needs namespaces (their labels), and it is not read yet: refused is quiet,
# so no output changes for a namespace-scoped reader. TODO(#14): once NetworkPolicies are
# read, give this a consequence ("namespaceSelectors are unknown"). Read in full, they also
# tell lists.read_pods which namespaces to read one by one.
NAMESPACES = Kind(
    field="namespaces",
    group=CORE,
    plural="namespaces",
    namespaced=False,
    list_type=raw.NamespaceList,
    convert=convert.namespace,
    by_namespace=BY_NAME,
    optional=True,
)

# Cluster-scoped objects that call services: the API server sends them requests through a
# service, so a service without endpoints breaks them (map's consumers, the audit's checks).
# Read in full whatever the scope (a handful of objects). Refused or not served is quiet: a
# namespace-scoped reader may not list them, and map/trace work without them.
API_SERVICES = Kind(
    field="api_services",
    group=APIREGISTRATION,
    plural="apiservices",
    namespaced=False,
    list_type=raw.APIServiceList,
    convert=convert.api_service,
    optional=True,
)
VALIDATING_WEBHOOKS = Kind(
    field="validating_webhooks",
    group=ADMISSIONREGISTRATION,
    plural="validatingwebhookconfigurations",
    namespaced=False,
    list_type=raw.WebhookConfigurationList,
    convert=convert.validating_webhooks,
    optional=True,
)
MUTATING_WEBHOOKS = Kind(
    field="mutating_webhooks",
    group=ADMISSIONREGISTRATION,
    plural="mutatingwebhookconfigurations",
    namespaced=False,
    list_type=raw.WebhookConfigurationList,
    convert=convert.mutating_webhooks,
    optional=True,
)

# Entry points in front of services (issue 13): optional, a warning says what is not shown.
INGRESSES = Kind(
    field="ingresses",
    group=NETWORKING,
    plural="ingresses",
    namespaced=True,
    list_type=raw.IngressList,
    convert=convert_edge.ingress,
    optional=True,
    consequence="Ingress entry points are not shown",
)
INGRESS_CLASSES = Kind(
    field="ingress_classes",
    group=NETWORKING,
    plural="ingressclasses",
    namespaced=False,
    list_type=raw.IngressClassList,
    convert=convert_edge.ingress_class,
    optional=True,
    # Quiet when refused: IngressClasses are cluster-scoped, so every namespace-scoped reader
    # would get the warning; the class is then unknown (the audit's class check stays quiet).
    state_field="ingress_class_state",
)

# Policy verdicts (policy.netpol). Refused or failed: every verdict is "unknown", one warning.
NETWORK_POLICIES = Kind(
    field="network_policies",
    group=NETWORKING,
    plural="networkpolicies",
    namespaced=True,
    list_type=raw.NetworkPolicyList,
    convert=convert_policy.network_policy,
    optional=True,
    consequence="NetworkPolicy verdicts are unknown",
    state_field="network_policy_state",
)

# AdminNetworkPolicy and BaselineAdminNetworkPolicy (policy.networking.k8s.io/v1alpha1, the
# CRDs of sigs.k8s.io/network-policy-api up to v0.1.x; v0.3 replaced them with
# ClusterNetworkPolicy). Not installed: quiet, state "absent" (none exist). Refused or failed: a
# warning, and every verdict they could decide is "unknown" (kinspect.policy.admin).
ADMIN_NETWORK_POLICIES = Kind(
    field="admin_network_policies",
    group=POLICY_ALPHA,
    plural="adminnetworkpolicies",
    namespaced=False,
    list_type=raw.AdminNetworkPolicyList,
    convert=convert_policy.admin_network_policy,
    optional=True,
    consequence="policy verdicts that AdminNetworkPolicies could decide are unknown",
    state_field="admin_network_policy_state",
    quiet_when_absent=True,
)
BASELINE_ADMIN_NETWORK_POLICIES = Kind(
    field="baseline_admin_network_policies",
    group=POLICY_ALPHA,
    plural="baselineadminnetworkpolicies",
    namespaced=False,
    list_type=raw.AdminNetworkPolicyList,
    convert=convert_policy.baseline_admin_network_policy,
    optional=True,
    consequence="policy verdicts that the BaselineAdminNetworkPolicy could decide are unknown",
    state_field="baseline_admin_network_policy_state",
    quiet_when_absent=True,
)

# Gateway API (gateway.networking.k8s.io, issue 13), optional CRDs. Not installed: quiet.
# Refused: one warning for Gateways (what is not shown), one for HTTPRoutes, one for
# ReferenceGrants (cross-namespace backendRefs would look unpermitted); the other kinds' refusal
# is quiet. ReferenceGrant is read at v1beta1 (served by every release since v0.6, and by
# v1.6's CRD beside v1); TLS/TCP/UDPRoute at v1 (v1.6's standard channel): an install that
# serves them only at v1alpha2 (before v1.5) is not read, docs/json.md says so.
GATEWAY_CLASSES = Kind(
    field="gateway_classes",
    group=GATEWAY,
    plural="gatewayclasses",
    namespaced=False,
    list_type=raw.GatewayClassList,
    convert=convert_edge.gateway_class,
    optional=True,
    quiet_when_absent=True,
)
GATEWAYS = Kind(
    field="gateways",
    group=GATEWAY,
    plural="gateways",
    namespaced=True,
    list_type=raw.GatewayList,
    convert=convert_edge.gateway,
    optional=True,
    consequence="Gateway API entry points are not shown",
    quiet_when_absent=True,
)


def _route_kind(
    plural: str, kind: model_edge.RouteKind, consequence: str | None = None
) -> Kind[Any, Any]:
    return Kind(
        field="routes",
        group=GATEWAY,
        plural=plural,
        namespaced=True,
        list_type=raw.RouteList,
        convert=convert_edge.route(kind),
        optional=True,
        consequence=consequence,
        quiet_when_absent=True,
    )


HTTP_ROUTES = _route_kind("httproutes", "HTTPRoute", "HTTPRoutes are not shown")
GRPC_ROUTES = _route_kind("grpcroutes", "GRPCRoute")
TLS_ROUTES = _route_kind("tlsroutes", "TLSRoute")
TCP_ROUTES = _route_kind("tcproutes", "TCPRoute")
UDP_ROUTES = _route_kind("udproutes", "UDPRoute")
REFERENCE_GRANTS = Kind(
    field="reference_grants",
    group=GATEWAY_BETA,
    plural="referencegrants",
    namespaced=True,
    list_type=raw.ReferenceGrantList,
    convert=convert_edge.reference_grant,
    optional=True,
    consequence="cross-namespace backendRefs are shown as not permitted",
    quiet_when_absent=True,
)
GATEWAY_KINDS = (
    GATEWAY_CLASSES,
    GATEWAYS,
    HTTP_ROUTES,
    GRPC_ROUTES,
    TLS_ROUTES,
    TCP_ROUTES,
    UDP_ROUTES,
    REFERENCE_GRANTS,
)

# The registry `cluster.snapshot` walks. To read a new kind: a wire struct in raw.py, a
# converter in convert.py (or convert_edge.py, convert_policy.py), one entry here. Order
# matters: reads are submitted and their results taken in this order, so when several fail
# the first one's error is reported; namespaces come before pods (read_pods' split reuses
# their names), Endpoints before EndpointSlices (whose fallback reuses them when read beside).
KINDS: tuple[Kind[Any, Any], ...] = (
    NAMESPACES,
    SERVICES,
    PODS,
    ENDPOINTS,
    ENDPOINT_SLICES,
    NODES,
    API_SERVICES,
    VALIDATING_WEBHOOKS,
    MUTATING_WEBHOOKS,
    INGRESSES,
    INGRESS_CLASSES,
    NETWORK_POLICIES,
    ADMIN_NETWORK_POLICIES,
    BASELINE_ADMIN_NETWORK_POLICIES,
    *GATEWAY_KINDS,
)


# The network plugin's own policy kinds (issue 23), read only where discovery (GET /apis, one
# request) shows their group served, each at the first of its versions served. Names only:
# kinspect does not evaluate them, it says "unknown" where they may apply (policy.plugin).
# Calico's policies are stored in crd.projectcalico.org/v1 CRDs; its API server, when
# installed, serves the same objects as projectcalico.org/v3: that group is read only when the
# CRD group is not served (a datastore without CRDs), never both (each object once).
@dataclass(frozen=True)
class PluginKind:
    """One plugin policy kind: its API group, the versions read (first served wins), its plural."""

    group: str
    versions: tuple[str, ...]
    plural: str
    kind: str
    namespaced: bool
    # Read only when this group is not served (Calico's v3 API beside its CRDs).
    unless: str | None = None

    def at(self, version: str) -> Kind[raw.NamedItem, Any]:
        """The registry entry that lists this kind at `version`."""
        return Kind(
            field="plugin_policies",
            group=f"/apis/{self.group}/{version}",
            plural=self.plural,
            namespaced=self.namespaced,
            list_type=raw.NamedList,
            convert=convert_policy.plugin_policy(self.group, self.kind),
            optional=True,
        )


CALICO_CRD = "crd.projectcalico.org"
PLUGIN_POLICY_KINDS = (
    PluginKind("cilium.io", ("v2",), "ciliumnetworkpolicies", "CiliumNetworkPolicy", True),
    PluginKind(
        "cilium.io",
        ("v2",),
        "ciliumclusterwidenetworkpolicies",
        "CiliumClusterwideNetworkPolicy",
        False,
    ),
    PluginKind(CALICO_CRD, ("v1",), "networkpolicies", "NetworkPolicy", True),
    PluginKind(CALICO_CRD, ("v1",), "globalnetworkpolicies", "GlobalNetworkPolicy", False),
    PluginKind("projectcalico.org", ("v3",), "networkpolicies", "NetworkPolicy", True, CALICO_CRD),
    PluginKind(
        "projectcalico.org",
        ("v3",),
        "globalnetworkpolicies",
        "GlobalNetworkPolicy",
        False,
        CALICO_CRD,
    ),
    # "Antrea-native policies": v1beta1 since Antrea v1.13, v1alpha1 before.
    PluginKind("crd.antrea.io", ("v1beta1", "v1alpha1"), "networkpolicies", "NetworkPolicy", True),
    PluginKind(
        "crd.antrea.io",
        ("v1beta1", "v1alpha1"),
        "clusternetworkpolicies",
        "ClusterNetworkPolicy",
        False,
    ),
)
PLUGIN_GROUPS = frozenset(k.group for k in PLUGIN_POLICY_KINDS)


def plugin_kinds_served(served: dict[str, set[str]]) -> list[tuple[PluginKind, str]]:
    """The plugin policy kinds to LIST, each with its version, from the served groups' versions."""
    out = []
    for k in PLUGIN_POLICY_KINDS:
        if k.unless is not None and k.unless in served:
            continue
        version = next((v for v in k.versions if v in served.get(k.group, ())), None)
        if version is not None:
            out.append((k, version))
    return out
