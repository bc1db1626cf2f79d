"""Wire Ingresses, IngressClasses and Gateway API objects made entry point values (`model.edge`)."""

from __future__ import annotations

from collections.abc import Callable

from kinspect.model import edge as model_edge
from kinspect.model import values as model
from kinspect.wire import raw
from kinspect.wire.convert import label_selector

# networking.k8s.io/v1: the API server requires pathType (one of the three) and validates it.
_PATH_TYPES: dict[str, model_edge.PathType] = {
    "Exact": "Exact",
    "Prefix": "Prefix",
    "ImplementationSpecific": "ImplementationSpecific",
}
INGRESS_CLASS_ANNOTATION = "kubernetes.io/ingress.class"
DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"


def _ingress_backend(b: raw.IngressBackend) -> model_edge.IngressBackend:
    if b.service is not None:
        port = b.service.port
        return model_edge.IngressBackend(
            service=b.service.name, port_number=port.number, port_name=port.name
        )
    r = b.resource or raw.TypedLocalObjectReference()
    group = f" ({r.apiGroup})" if r.apiGroup else ""
    return model_edge.IngressBackend(resource=f"{r.kind} {r.name}{group}")


def ingress(i: raw.Ingress) -> model_edge.Ingress:
    """Convert a wire Ingress (TLS secrets by name only)."""
    spec = i.spec
    annotations = i.metadata.annotations or {}
    return model_edge.Ingress(
        namespace=i.metadata.namespace,
        name=i.metadata.name,
        class_name=spec.ingressClassName,
        class_annotation=annotations.get(INGRESS_CLASS_ANNOTATION),
        default_backend=_ingress_backend(spec.defaultBackend) if spec.defaultBackend else None,
        rules=tuple(
            model_edge.IngressRule(
                host=r.host or None,
                paths=tuple(
                    model_edge.IngressPath(
                        path=p.path or "/",
                        path_type=_PATH_TYPES.get(p.pathType, "ImplementationSpecific"),
                        backend=_ingress_backend(p.backend),
                    )
                    for p in (r.http.paths or () if r.http else ())
                ),
            )
            for r in spec.rules or ()
        ),
        tls=tuple(
            model_edge.IngressTLS(hosts=tuple(t.hosts or ()), secret_name=t.secretName)
            for t in spec.tls or ()
        ),
        addresses=tuple(
            model.LoadBalancerIngress(ip=a.ip, hostname=a.hostname)
            for a in i.status.loadBalancer.ingress or ()
        ),
    )


def ingress_class(c: raw.IngressClass) -> model_edge.IngressClass:
    """Convert a wire IngressClass."""
    annotations = c.metadata.annotations or {}
    return model_edge.IngressClass(
        name=c.metadata.name,
        controller=c.spec.controller,
        default=annotations.get(DEFAULT_CLASS_ANNOTATION) == "true",
    )


# --- gateway.networking.k8s.io (issue 13) ----------------------------------------------------

GATEWAY_GROUP = "gateway.networking.k8s.io"
_FROM: dict[str, model_edge.FromNamespaces] = {"Same": "Same", "All": "All", "Selector": "Selector"}
_GW_PATH_TYPES: dict[str, model_edge.GatewayPathType] = {
    "Exact": "Exact",
    "PathPrefix": "PathPrefix",
    "RegularExpression": "RegularExpression",
}


def _conditions(cs: list[raw.GWCondition] | None) -> tuple[model_edge.GatewayCondition, ...]:
    return tuple(
        model_edge.GatewayCondition(c.type, c.status, c.reason, c.message) for c in cs or ()
    )


def gateway_class(c: raw.GatewayClass) -> model_edge.GatewayClass:
    """Convert a wire GatewayClass."""
    return model_edge.GatewayClass(
        c.metadata.name, c.spec.controllerName, _conditions(c.status.conditions)
    )


def _listener(ln: raw.Listener, status: raw.ListenerStatus | None) -> model_edge.Listener:
    ar = ln.allowedRoutes
    return model_edge.Listener(
        name=ln.name,
        port=ln.port,
        protocol=ln.protocol,
        hostname=ln.hostname.lower() if ln.hostname else None,
        # "None" (no routes) and unknown values admit nothing.
        allowed_from=_FROM.get(ar.namespaces.from_, "None"),
        allowed_selector=label_selector(ar.namespaces.selector),
        allowed_kinds=tuple(
            f"{k.group if k.group is not None else GATEWAY_GROUP}/{k.kind}" for k in ar.kinds or ()
        ),
        tls_mode=ln.tls.mode if ln.tls else None,
        certificate_refs=tuple(r.name for r in ln.tls.certificateRefs or ()) if ln.tls else (),
        attached_routes=status.attachedRoutes if status else None,
        conditions=_conditions(status.conditions) if status else (),
    )


def gateway(g: raw.Gateway) -> model_edge.Gateway:
    """Convert a wire Gateway: listeners with their status, addresses from status (else spec)."""
    statuses = {s.name: s for s in g.status.listeners or ()}
    addresses = g.status.addresses or g.spec.addresses or ()
    return model_edge.Gateway(
        namespace=g.metadata.namespace,
        name=g.metadata.name,
        class_name=g.spec.gatewayClassName,
        listeners=tuple(_listener(ln, statuses.get(ln.name)) for ln in g.spec.listeners or ()),
        addresses=tuple(a.value for a in addresses if a.value),
        conditions=_conditions(g.status.conditions),
    )


def _parent_ref(p: raw.ParentReference, ns: str) -> model_edge.ParentRef:
    return model_edge.ParentRef(
        namespace=p.namespace or ns,
        name=p.name,
        group=p.group if p.group is not None else GATEWAY_GROUP,
        kind=p.kind or "Gateway",
        section_name=p.sectionName,
        port=p.port,
    )


def _value_matches(ms: list[raw.ValueMatch] | None) -> tuple[model_edge.ValueMatch, ...]:
    return tuple(model_edge.ValueMatch(m.name, m.value, m.type or "Exact") for m in ms or ())


def _route_match(m: raw.RouteMatch) -> model_edge.RouteMatch:
    path = m.path or raw.PathMatch()
    grpc = m.method if isinstance(m.method, raw.GRPCMethodMatch) else None
    return model_edge.RouteMatch(
        # Unknown path types match nothing; the API server admits only these three.
        path_type=_GW_PATH_TYPES.get(path.type, "RegularExpression"),
        path=path.value,
        headers=_value_matches(m.headers),
        query_params=_value_matches(m.queryParams),
        method=m.method if isinstance(m.method, str) else None,
        grpc_service=grpc.service if grpc else None,
        grpc_method=grpc.method if grpc else None,
        grpc_type=grpc.type if grpc else "Exact",
    )


def _backend_ref(b: raw.BackendRef, ns: str) -> model_edge.BackendRef:
    return model_edge.BackendRef(
        namespace=b.namespace or ns,
        name=b.name,
        group=b.group or "",
        kind=b.kind or "Service",
        port=b.port,
        weight=1 if b.weight is None else b.weight,  # the CRD's default weight is 1
    )


def route(kind: model_edge.RouteKind) -> Callable[[raw.Route], model_edge.Route]:
    """A converter for one route kind (the wire struct is shared, the kind is the list's)."""

    def convert(r: raw.Route) -> model_edge.Route:
        ns = r.metadata.namespace
        return model_edge.Route(
            kind=kind,
            namespace=ns,
            name=r.metadata.name,
            parent_refs=tuple(_parent_ref(p, ns) for p in r.spec.parentRefs or ()),
            hostnames=tuple(h.lower() for h in r.spec.hostnames or ()),
            rules=tuple(
                model_edge.RouteRule(
                    matches=tuple(_route_match(m) for m in rule.matches or ()),
                    backend_refs=tuple(_backend_ref(b, ns) for b in rule.backendRefs or ()),
                    name=rule.name,
                    filters=tuple(f.type for f in rule.filters or () if f.type),
                )
                for rule in r.spec.rules or ()
            ),
            created=r.metadata.creationTimestamp or "",
            parents=tuple(
                model_edge.RouteParentStatus(
                    _parent_ref(p.parentRef, ns), p.controllerName, _conditions(p.conditions)
                )
                for p in r.status.parents or ()
            ),
        )

    return convert


def reference_grant(g: raw.ReferenceGrant) -> model_edge.ReferenceGrant:
    """Convert a wire ReferenceGrant."""
    return model_edge.ReferenceGrant(
        namespace=g.metadata.namespace,
        name=g.metadata.name,
        from_=tuple(model_edge.GrantFrom(f.group, f.kind, f.namespace) for f in g.spec.from_ or ()),
        to=tuple(model_edge.GrantTo(t.group, t.kind, t.name) for t in g.spec.to or ()),
    )
