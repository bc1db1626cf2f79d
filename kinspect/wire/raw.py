"""Lean typed structs for the wire JSON kinspect reads: only the fields the chain uses.

Field names follow the API's camelCase on purpose: these are wire types, converted to the
snake_case domain model in one place (`kinspect.wire.convert`, with `convert_edge` and
`convert_policy` beside it). msgspec skips every field not declared here without building it,
which is what makes a 100k-pod LIST cheap to decode.
"""

from __future__ import annotations

import msgspec


class Wire(msgspec.Struct, gc=False):
    """Base of the wire structs: decoded from JSON, so acyclic; untracked by the cyclic GC."""


# Fields that the API may send as JSON null (e.g. `"endpoints": null` on an empty slice) are
# typed `X | None` and normalised in the convert modules.


class ListMeta(Wire):
    resourceVersion: str | None = None
    continue_: str | None = msgspec.field(default=None, name="continue")
    remainingItemCount: int | None = None


class OwnerReference(Wire):
    kind: str = ""
    name: str = ""


class ObjectMeta(Wire):
    name: str = ""
    namespace: str = ""
    labels: dict[str, str] | None = None
    deletionTimestamp: str | None = None
    ownerReferences: list[OwnerReference] | None = None


class AnnotatedMeta(ObjectMeta):
    """ObjectMeta with annotations, for the kinds whose annotations kinspect reads.

    A pod's annotations can be large: the shared ObjectMeta does not declare them.
    """

    annotations: dict[str, str] | None = None


class NodeAddress(Wire):
    type: str
    address: str


class Condition(Wire):
    type: str
    status: str = "Unknown"
    reason: str | None = None
    message: str | None = None


class NodeSpec(Wire):
    podCIDR: str | None = None
    podCIDRs: list[str] | None = None


class NodeStatus(Wire):
    addresses: list[NodeAddress] | None = None
    conditions: list[Condition] | None = None


class Node(Wire):
    metadata: ObjectMeta
    spec: NodeSpec = msgspec.field(default_factory=NodeSpec)
    status: NodeStatus = msgspec.field(default_factory=NodeStatus)


class ContainerPort(Wire):
    containerPort: int
    name: str | None = None
    protocol: str = "TCP"
    hostPort: int | None = None


class PortAction(Wire):
    port: int | str | None = None


class ExecAction(Wire):
    """Only its presence is used (the command is not read)."""


class Probe(Wire):
    httpGet: PortAction | None = None
    tcpSocket: PortAction | None = None
    grpc: PortAction | None = None
    exec: ExecAction | None = None


class Container(Wire):
    name: str
    ports: list[ContainerPort] | None = None
    restartPolicy: str | None = None  # "Always" on an init container makes it a sidecar
    livenessProbe: Probe | None = None
    readinessProbe: Probe | None = None
    startupProbe: Probe | None = None


class PodSpec(Wire):
    containers: list[Container] = msgspec.field(default_factory=list)
    initContainers: list[Container] | None = None
    nodeName: str | None = None
    hostNetwork: bool = False


class PodIP(Wire):
    ip: str


class PodStatus(Wire):
    phase: str | None = None
    podIP: str | None = None
    podIPs: list[PodIP] | None = None
    hostIP: str | None = None
    conditions: list[Condition] | None = None
    reason: str | None = None


class Pod(Wire):
    metadata: ObjectMeta
    spec: PodSpec = msgspec.field(default_factory=PodSpec)
    status: PodStatus = msgspec.field(default_factory=PodStatus)


class ServicePort(Wire):
    port: int
    name: str | None = None
    protocol: str = "TCP"
    targetPort: int | str | None = None
    nodePort: int | None = None
    appProtocol: str | None = None


class ClientIPConfig(Wire):
    timeoutSeconds: int | None = None


class SessionAffinityConfig(Wire):
    clientIP: ClientIPConfig | None = None


class ServiceSpec(Wire):
    type: str = "ClusterIP"
    clusterIP: str | None = None
    clusterIPs: list[str] | None = None
    externalIPs: list[str] | None = None
    externalName: str | None = None
    externalTrafficPolicy: str | None = None
    internalTrafficPolicy: str | None = None
    healthCheckNodePort: int | None = None
    publishNotReadyAddresses: bool = False
    selector: dict[str, str] | None = None
    ports: list[ServicePort] | None = None
    trafficDistribution: str | None = None
    sessionAffinity: str | None = None
    sessionAffinityConfig: SessionAffinityConfig | None = None
    loadBalancerSourceRanges: list[str] | None = None
    ipFamilyPolicy: str | None = None
    ipFamilies: list[str] | None = None


class LoadBalancerIngress(Wire):
    ip: str | None = None
    hostname: str | None = None
    ipMode: str | None = None  # VIP (None: VIP) or Proxy


class LoadBalancerStatus(Wire):
    ingress: list[LoadBalancerIngress] | None = None


class ServiceStatus(Wire):
    loadBalancer: LoadBalancerStatus = msgspec.field(default_factory=LoadBalancerStatus)


class Service(Wire):
    # Annotated: the legacy source-ranges and the topology-mode annotations are read (issue 22).
    metadata: AnnotatedMeta
    spec: ServiceSpec = msgspec.field(default_factory=ServiceSpec)
    status: ServiceStatus = msgspec.field(default_factory=ServiceStatus)


class ObjectReference(Wire):
    kind: str | None = None
    namespace: str | None = None
    name: str | None = None


class EndpointConditions(Wire):
    ready: bool | None = None
    serving: bool | None = None
    terminating: bool | None = None


class ForZone(Wire):
    name: str = ""


class ForNode(Wire):
    name: str = ""


class EndpointHints(Wire):
    forZones: list[ForZone] | None = None
    forNodes: list[ForNode] | None = None


class SliceEndpoint(Wire):
    addresses: list[str]
    conditions: EndpointConditions = msgspec.field(default_factory=EndpointConditions)
    nodeName: str | None = None
    targetRef: ObjectReference | None = None
    hints: EndpointHints | None = None


class SlicePort(Wire):
    name: str | None = None
    protocol: str | None = None
    port: int | None = None


class EndpointSlice(Wire):
    metadata: ObjectMeta
    addressType: str = "IPv4"
    endpoints: list[SliceEndpoint] | None = None
    ports: list[SlicePort] | None = None


class EndpointAddress(Wire):
    ip: str
    nodeName: str | None = None
    targetRef: ObjectReference | None = None


class EndpointsPort(Wire):
    port: int
    name: str | None = None
    protocol: str = "TCP"


class EndpointSubset(Wire):
    addresses: list[EndpointAddress] | None = None
    notReadyAddresses: list[EndpointAddress] | None = None
    ports: list[EndpointsPort] | None = None


class Endpoints(Wire):
    metadata: ObjectMeta
    subsets: list[EndpointSubset] | None = None


class ServiceReference(Wire):
    """An APIService's or a webhook's spec.service / clientConfig.service."""

    namespace: str = ""
    name: str = ""
    port: int | None = None  # defaults to 443 in both APIs
    path: str | None = None


class APIServiceSpec(Wire):
    service: ServiceReference | None = None  # null: served by kube-apiserver itself (Local)
    group: str = ""
    version: str = ""


class APIServiceStatus(Wire):
    conditions: list[Condition] | None = None


class APIService(Wire):
    metadata: ObjectMeta
    spec: APIServiceSpec = msgspec.field(default_factory=APIServiceSpec)
    status: APIServiceStatus = msgspec.field(default_factory=APIServiceStatus)


# caBundle is deliberately not declared: kinspect never reads it.
class WebhookClientConfig(Wire):
    service: ServiceReference | None = None  # null: the webhook is called by URL


class Webhook(Wire):
    name: str = ""
    clientConfig: WebhookClientConfig = msgspec.field(default_factory=WebhookClientConfig)
    failurePolicy: str | None = None


class WebhookConfiguration(Wire):
    """A Validating- or MutatingWebhookConfiguration (the same shape for what is read)."""

    metadata: ObjectMeta
    webhooks: list[Webhook] | None = None


class APIServiceList(Wire):
    items: list[APIService] | None = None
    metadata: ListMeta = msgspec.field(default_factory=ListMeta)


class WebhookConfigurationList(Wire):
    items: list[WebhookConfiguration] | None = None
    metadata: ListMeta = msgspec.field(default_factory=ListMeta)


class NodeList(Wire):
    items: list[Node] | None = None
    metadata: ListMeta = msgspec.field(default_factory=ListMeta)


class PodList(Wire):
    items: list[Pod] | None = None
    metadata: ListMeta = msgspec.field(default_factory=ListMeta)


class ServiceList(Wire):
    items: list[Service] | None = None
    metadata: ListMeta = msgspec.field(default_factory=ListMeta)


class EndpointSliceList(Wire):
    items: list[EndpointSlice] | None = None
    metadata: ListMeta = msgspec.field(default_factory=ListMeta)


class Namespace(Wire):
    metadata: ObjectMeta = msgspec.field(default_factory=ObjectMeta)


class NamespaceList(Wire):
    items: list[Namespace] | None = None
    metadata: ListMeta = msgspec.field(default_factory=ListMeta)


class LabelSelectorRequirement(Wire):
    key: str
    operator: str
    values: list[str] | None = None


class LabelSelector(Wire):
    matchLabels: dict[str, str] | None = None
    matchExpressions: list[LabelSelectorRequirement] | None = None


class IPBlock(Wire):
    cidr: str
    except_: list[str] | None = msgspec.field(default=None, name="except")


class NetworkPolicyPeer(Wire):
    podSelector: LabelSelector | None = None
    namespaceSelector: LabelSelector | None = None
    ipBlock: IPBlock | None = None


class NetworkPolicyPort(Wire):
    protocol: str | None = None
    port: int | str | None = None
    endPort: int | None = None


class NetworkPolicyIngressRule(Wire):
    from_: list[NetworkPolicyPeer] | None = msgspec.field(default=None, name="from")
    ports: list[NetworkPolicyPort] | None = None


class NetworkPolicyEgressRule(Wire):
    to: list[NetworkPolicyPeer] | None = None
    ports: list[NetworkPolicyPort] | None = None


class NetworkPolicySpec(Wire):
    podSelector: LabelSelector | None = None
    policyTypes: list[str] | None = None
    ingress: list[NetworkPolicyIngressRule] | None = None
    egress: list[NetworkPolicyEgressRule] | None = None


class NetworkPolicy(Wire):
    metadata: ObjectMeta
    spec: NetworkPolicySpec = msgspec.field(default_factory=NetworkPolicySpec)


class NetworkPolicyList(Wire):
    items: list[NetworkPolicy] | None = None
    metadata: ListMeta = msgspec.field(default_factory=ListMeta)


# Discovery: what a group/version serves (GET /apis/GROUP/VERSION), to tell a CRD that is not
# installed from one that is refused.
class APIResource(Wire):
    name: str = ""


class APIResourceList(Wire):
    resources: list[APIResource] | None = None


# GET /apis (meta/v1 APIGroupList): the API groups the server serves and their versions. One
# request tells which network plugin policy groups exist (issue 23).
class GroupVersion(Wire):
    version: str = ""


class APIGroup(Wire):
    name: str = ""
    versions: list[GroupVersion] | None = None


class APIGroupList(Wire):
    groups: list[APIGroup] | None = None


# The network plugin's policies (cilium.io, crd.projectcalico.org, projectcalico.org,
# crd.antrea.io): only their names are read; their specs are skipped by the decoder.
class NamedItem(Wire):
    metadata: ObjectMeta = msgspec.field(default_factory=ObjectMeta)


class NamedList(Wire):
    items: list[NamedItem] | None = None
    metadata: ListMeta = msgspec.field(default_factory=ListMeta)


# policy.networking.k8s.io/v1alpha1 (sigs.k8s.io/network-policy-api apis/v1alpha1): the
# AdminNetworkPolicy and the BaselineAdminNetworkPolicy share subject, peer and port types.
class NamespacedPod(Wire):
    namespaceSelector: LabelSelector | None = None
    podSelector: LabelSelector | None = None


class AdminNetworkPolicySubject(Wire):
    namespaces: LabelSelector | None = None
    pods: NamespacedPod | None = None


class AdminNetworkPolicyPeer(Wire):
    """An ingress peer (namespaces, pods) or an egress peer (also nodes, networks, domainNames)."""

    namespaces: LabelSelector | None = None
    pods: NamespacedPod | None = None
    nodes: LabelSelector | None = None
    networks: list[str] | None = None
    domainNames: list[str] | None = None


class AdminPortNumber(Wire):
    port: int
    protocol: str | None = None


class AdminPortRange(Wire):
    start: int
    end: int
    protocol: str | None = None


class AdminNetworkPolicyPort(Wire):
    portNumber: AdminPortNumber | None = None
    namedPort: str | None = None
    portRange: AdminPortRange | None = None


class AdminNetworkPolicyRule(Wire):
    """An ingress rule (`from`) or an egress rule (`to`)."""

    action: str = ""
    name: str | None = None
    from_: list[AdminNetworkPolicyPeer] | None = msgspec.field(default=None, name="from")
    to: list[AdminNetworkPolicyPeer] | None = None
    ports: list[AdminNetworkPolicyPort] | None = None


class AdminNetworkPolicySpec(Wire):
    priority: int | None = None  # absent on a BaselineAdminNetworkPolicy
    subject: AdminNetworkPolicySubject = msgspec.field(default_factory=AdminNetworkPolicySubject)
    ingress: list[AdminNetworkPolicyRule] | None = None
    egress: list[AdminNetworkPolicyRule] | None = None


class AdminNetworkPolicy(Wire):
    """An AdminNetworkPolicy or a BaselineAdminNetworkPolicy (same shape, less the priority)."""

    metadata: ObjectMeta
    spec: AdminNetworkPolicySpec = msgspec.field(default_factory=AdminNetworkPolicySpec)


class AdminNetworkPolicyList(Wire):
    items: list[AdminNetworkPolicy] | None = None
    metadata: ListMeta = msgspec.field(default_factory=ListMeta)


class EndpointsList(Wire):
    items: list[Endpoints] | None = None
    metadata: ListMeta = msgspec.field(default_factory=ListMeta)


class WatchObjectMeta(Wire):
    name: str = ""
    namespace: str = ""
    resourceVersion: str = ""


class WatchObject(Wire):
    """What a watch event's object is, whatever its kind: its name and resourceVersion."""

    metadata: WatchObjectMeta = msgspec.field(default_factory=WatchObjectMeta)


class WatchEvent(Wire):
    """One line of a watch stream: ADDED, MODIFIED, DELETED, BOOKMARK or ERROR, and its object.

    The object is kept raw and decoded by its kind's item type (or as a Status, for ERROR).
    """

    type: str
    object: msgspec.Raw = msgspec.Raw(b"null")


class Status(Wire):
    """A metav1.Status error body (403, 404 ...)."""

    message: str = ""
    reason: str = ""
    code: int = 0


# --- networking.k8s.io/v1 Ingress and IngressClass (issue 13) ---------------------------------


class ServiceBackendPort(Wire):
    name: str | None = None
    number: int | None = None


class IngressServiceBackend(Wire):
    name: str = ""
    port: ServiceBackendPort = msgspec.field(default_factory=ServiceBackendPort)


class TypedLocalObjectReference(Wire):
    apiGroup: str | None = None
    kind: str = ""
    name: str = ""


class IngressBackend(Wire):
    service: IngressServiceBackend | None = None
    resource: TypedLocalObjectReference | None = None


class HTTPIngressPath(Wire):
    backend: IngressBackend
    path: str | None = None
    pathType: str = "ImplementationSpecific"


class HTTPIngressRuleValue(Wire):
    paths: list[HTTPIngressPath] | None = None


class IngressRule(Wire):
    host: str | None = None
    http: HTTPIngressRuleValue | None = None


# secretName is read as a name only: kinspect never reads Secrets.
class IngressTLS(Wire):
    hosts: list[str] | None = None
    secretName: str | None = None


class IngressSpec(Wire):
    ingressClassName: str | None = None
    defaultBackend: IngressBackend | None = None
    rules: list[IngressRule] | None = None
    tls: list[IngressTLS] | None = None


class IngressStatus(Wire):
    loadBalancer: LoadBalancerStatus = msgspec.field(default_factory=LoadBalancerStatus)


class Ingress(Wire):
    metadata: AnnotatedMeta
    spec: IngressSpec = msgspec.field(default_factory=IngressSpec)
    status: IngressStatus = msgspec.field(default_factory=IngressStatus)


class IngressList(Wire):
    items: list[Ingress] | None = None
    metadata: ListMeta = msgspec.field(default_factory=ListMeta)


class IngressClassSpec(Wire):
    controller: str = ""


class IngressClass(Wire):
    metadata: AnnotatedMeta
    spec: IngressClassSpec = msgspec.field(default_factory=IngressClassSpec)


class IngressClassList(Wire):
    items: list[IngressClass] | None = None
    metadata: ListMeta = msgspec.field(default_factory=ListMeta)


# --- gateway.networking.k8s.io (issue 13): only the fields route attachment and matching use ---


class GWCondition(Wire):
    type: str = ""
    status: str = ""
    reason: str = ""
    message: str = ""


class GatewayClassSpec(Wire):
    controllerName: str = ""


class GatewayClassStatus(Wire):
    conditions: list[GWCondition] | None = None


class GatewayClass(Wire):
    metadata: ObjectMeta
    spec: GatewayClassSpec = msgspec.field(default_factory=GatewayClassSpec)
    status: GatewayClassStatus = msgspec.field(default_factory=GatewayClassStatus)


class GatewayClassList(Wire):
    items: list[GatewayClass] | None = None
    metadata: ListMeta = msgspec.field(default_factory=ListMeta)


class RouteNamespaces(Wire):
    # The CRD defaults `from` to Same; a missing value is read the same way.
    from_: str = msgspec.field(default="Same", name="from")
    selector: LabelSelector | None = None


class RouteGroupKind(Wire):
    group: str | None = None
    kind: str = ""


class AllowedRoutes(Wire):
    namespaces: RouteNamespaces = msgspec.field(default_factory=RouteNamespaces)
    kinds: list[RouteGroupKind] | None = None


class GatewayTLSCertRef(Wire):
    name: str = ""  # a Secret's name: shown, never read


class GatewayTLSConfig(Wire):
    mode: str | None = None
    certificateRefs: list[GatewayTLSCertRef] | None = None


class Listener(Wire):
    name: str = ""
    port: int = 0
    protocol: str = ""
    hostname: str | None = None
    allowedRoutes: AllowedRoutes = msgspec.field(default_factory=AllowedRoutes)
    tls: GatewayTLSConfig | None = None


class GatewayAddress(Wire):
    type: str | None = None
    value: str = ""


class GatewaySpec(Wire):
    gatewayClassName: str = ""
    listeners: list[Listener] | None = None
    addresses: list[GatewayAddress] | None = None


class ListenerStatus(Wire):
    name: str = ""
    attachedRoutes: int = 0
    conditions: list[GWCondition] | None = None


class GatewayStatus(Wire):
    addresses: list[GatewayAddress] | None = None
    conditions: list[GWCondition] | None = None
    listeners: list[ListenerStatus] | None = None


class Gateway(Wire):
    metadata: ObjectMeta
    spec: GatewaySpec = msgspec.field(default_factory=GatewaySpec)
    status: GatewayStatus = msgspec.field(default_factory=GatewayStatus)


class GatewayList(Wire):
    items: list[Gateway] | None = None
    metadata: ListMeta = msgspec.field(default_factory=ListMeta)


class ParentReference(Wire):
    group: str | None = None
    kind: str | None = None
    namespace: str | None = None
    name: str = ""
    sectionName: str | None = None
    port: int | None = None


class BackendRef(Wire):
    group: str | None = None
    kind: str | None = None
    namespace: str | None = None
    name: str = ""
    port: int | None = None
    weight: int | None = None


class PathMatch(Wire):
    type: str = "PathPrefix"
    value: str = "/"


class ValueMatch(Wire):
    """A header or query parameter match (HTTPHeaderMatch, HTTPQueryParamMatch, GRPCHeaderMatch)."""

    name: str = ""
    value: str = ""
    type: str = "Exact"


class GRPCMethodMatch(Wire):
    type: str = "Exact"
    service: str | None = None
    method: str | None = None


class RouteMatch(Wire):
    """An HTTPRouteMatch or a GRPCRouteMatch (`method`: a string in one, an object in the other)."""

    path: PathMatch | None = None
    headers: list[ValueMatch] | None = None
    queryParams: list[ValueMatch] | None = None
    method: str | GRPCMethodMatch | None = None


class RouteFilter(Wire):
    type: str = ""


class RouteRule(Wire):
    name: str | None = None
    matches: list[RouteMatch] | None = None
    backendRefs: list[BackendRef] | None = None
    filters: list[RouteFilter] | None = None


class RouteSpec(Wire):
    parentRefs: list[ParentReference] | None = None
    hostnames: list[str] | None = None
    rules: list[RouteRule] | None = None


class RouteParentStatus(Wire):
    parentRef: ParentReference = msgspec.field(default_factory=ParentReference)
    controllerName: str = ""
    conditions: list[GWCondition] | None = None


class RouteStatus(Wire):
    parents: list[RouteParentStatus] | None = None


class CreatedMeta(ObjectMeta):
    """ObjectMeta with the creation time: the oldest route wins a tie (HTTPRouteRule.matches)."""

    creationTimestamp: str | None = None


class Route(Wire):
    """HTTPRoute, GRPCRoute, TLSRoute, TCPRoute or UDPRoute: the kind comes from the list read."""

    metadata: CreatedMeta
    spec: RouteSpec = msgspec.field(default_factory=RouteSpec)
    status: RouteStatus = msgspec.field(default_factory=RouteStatus)


class RouteList(Wire):
    items: list[Route] | None = None
    metadata: ListMeta = msgspec.field(default_factory=ListMeta)


class ReferenceGrantFrom(Wire):
    group: str = ""
    kind: str = ""
    namespace: str = ""


class ReferenceGrantTo(Wire):
    group: str = ""
    kind: str = ""
    name: str | None = None


class ReferenceGrantSpec(Wire):
    from_: list[ReferenceGrantFrom] | None = msgspec.field(default=None, name="from")
    to: list[ReferenceGrantTo] | None = None


class ReferenceGrant(Wire):
    metadata: ObjectMeta
    spec: ReferenceGrantSpec = msgspec.field(default_factory=ReferenceGrantSpec)


class ReferenceGrantList(Wire):
    items: list[ReferenceGrant] | None = None
    metadata: ListMeta = msgspec.field(default_factory=ListMeta)
