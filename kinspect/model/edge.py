"""Entry-point objects as domain values: Ingress, IngressClass and the Gateway API's kinds.

networking.k8s.io/v1 Ingress and IngressClass; gateway.networking.k8s.io GatewayClass,
Gateway and its Listeners, the five route kinds in one `Route`, and ReferenceGrant.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from kinspect.model.labels import LabelSelector
from kinspect.model.values import LoadBalancerIngress, Value

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
