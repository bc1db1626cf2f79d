"""The one place wire structs (`wire.raw`) become domain values (`model.values`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import msgspec

from kinspect.model import edge as model_edge
from kinspect.model import labels
from kinspect.model import policy as model_policy
from kinspect.model import values as model
from kinspect.wire import raw

_SERVICE_NAME_LABEL = "kubernetes.io/service-name"

# The API server defaults an absent protocol to TCP and admits only these values (and these
# service types), so the closed sets of the model hold for everything it serves.
_PROTOCOLS: dict[str | None, model.Protocol] = {
    None: "TCP",
    "": "TCP",
    "TCP": "TCP",
    "UDP": "UDP",
    "SCTP": "SCTP",
}
_SERVICE_TYPES: dict[str | None, model.ServiceType] = {
    None: "ClusterIP",
    "": "ClusterIP",
    "ClusterIP": "ClusterIP",
    "NodePort": "NodePort",
    "LoadBalancer": "LoadBalancer",
    "ExternalName": "ExternalName",
}
# spec.clusterIP(s) of a headless service: a marker, not an address.
_HEADLESS = "None"


def node(n: raw.Node) -> model.Node:
    """Convert a wire Node."""
    cidrs = n.spec.podCIDRs or ([n.spec.podCIDR] if n.spec.podCIDR else [])
    ready = any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or ())
    return model.Node(
        name=n.metadata.name,
        addresses=tuple(model.NodeAddress(a.type, a.address) for a in n.status.addresses or ()),
        pod_cidrs=tuple(cidrs),
        ready=ready,
        labels=n.metadata.labels or {},
    )


def namespace(n: raw.Namespace) -> model.Namespace:
    """Convert a wire Namespace."""
    return model.Namespace(name=n.metadata.name, labels=n.metadata.labels or {})


def _container_ports(c: raw.Container, sidecar: bool) -> Iterable[model.ContainerPort]:
    for p in c.ports or ():
        yield model.ContainerPort(
            container=c.name,
            port=p.containerPort,
            protocol=_PROTOCOLS[p.protocol],
            name=p.name,
            host_port=p.hostPort,
            sidecar=sidecar,
        )


def _probes(c: raw.Container) -> Iterable[model.ProbePort]:
    for kind, probe in (
        ("liveness", c.livenessProbe),
        ("readiness", c.readinessProbe),
        ("startup", c.startupProbe),
    ):
        if probe is None:
            continue
        actions: tuple[tuple[model.ProbeAction, raw.PortAction | None], ...] = (
            ("httpGet", probe.httpGet),
            ("tcpSocket", probe.tcpSocket),
            ("grpc", probe.grpc),
        )
        for name, action in actions:
            if action is not None and action.port is not None:
                yield model.ProbePort(c.name, kind, action.port, name)


def pod(p: raw.Pod) -> model.Pod:
    """Convert a wire Pod (sidecar ports included)."""
    spec, status, meta = p.spec, p.status, p.metadata
    # Restartable init containers ("sidecars", restartPolicy: Always) run beside the main
    # containers for the pod's whole life, so their ports receive service traffic too.
    sidecars = [c for c in spec.initContainers or () if c.restartPolicy == "Always"]
    ports = [cp for c in spec.containers for cp in _container_ports(c, False)]
    ports += [cp for c in sidecars for cp in _container_ports(c, True)]
    ips = tuple(i.ip for i in status.podIPs or ()) or ((status.podIP,) if status.podIP else ())
    cond = next((c for c in status.conditions or () if c.type == "Ready"), None)
    ready = cond is not None and cond.status == "True"
    owner = None
    if meta.ownerReferences:
        o = meta.ownerReferences[0]
        owner = f"{o.kind}/{o.name}"
    return model.Pod(
        namespace=meta.namespace,
        name=meta.name,
        labels=meta.labels or {},
        node_name=spec.nodeName,
        host_network=spec.hostNetwork,
        phase=status.phase or "Pending",
        ready=ready,
        pod_ips=ips,
        host_ip=status.hostIP,
        containers=tuple(c.name for c in sidecars) + tuple(c.name for c in spec.containers),
        ports=tuple(ports),
        deleting=meta.deletionTimestamp is not None,
        owner=owner,
        probes=tuple(pr for c in spec.containers for pr in _probes(c)),
        init_containers=tuple(
            c.name for c in spec.initContainers or () if c.restartPolicy != "Always"
        ),
        ready_reason=cond.reason if cond else None,
        ready_message=cond.message if cond else None,
        exec_readiness=tuple(
            c.name for c in spec.containers if c.readinessProbe and c.readinessProbe.exec
        ),
    )


def service(s: raw.Service) -> model.Service:
    """Convert a wire Service."""
    spec = s.spec
    cluster_ips = spec.clusterIPs or ([spec.clusterIP] if spec.clusterIP else [])
    if _HEADLESS in cluster_ips:
        cluster_ips = []
    return model.Service(
        namespace=s.metadata.namespace,
        name=s.metadata.name,
        type=_SERVICE_TYPES[spec.type],
        cluster_ips=tuple(cluster_ips),
        external_ips=tuple(spec.externalIPs or ()),
        load_balancer_ingress=tuple(
            model.LoadBalancerIngress(ip=i.ip, hostname=i.hostname)
            for i in s.status.loadBalancer.ingress or ()
        ),
        external_name=spec.externalName,
        external_traffic_policy=spec.externalTrafficPolicy,
        internal_traffic_policy=spec.internalTrafficPolicy,
        health_check_node_port=spec.healthCheckNodePort,
        publish_not_ready_addresses=spec.publishNotReadyAddresses,
        selector=spec.selector or None,
        ports=tuple(
            model.ServicePort(
                port=p.port,
                protocol=_PROTOCOLS[p.protocol],
                name=p.name or None,
                target_port=p.targetPort,
                node_port=p.nodePort,
                app_protocol=p.appProtocol or None,
            )
            for p in spec.ports or ()
        ),
    )


def _pod_ref(ref: raw.ObjectReference | None, namespace: str) -> model.PodRef | None:
    if ref is None or ref.kind != "Pod" or not ref.name:
        return None
    return model.PodRef(ref.namespace or namespace, ref.name)


def endpoint_slice(s: raw.EndpointSlice) -> model.EndpointGroup | None:
    """A slice as an endpoint group; None for slices that belong to no Service."""
    meta = s.metadata
    svc = (meta.labels or {}).get(_SERVICE_NAME_LABEL)
    if not svc:
        return None
    endpoints = []
    for e in s.endpoints or ():
        c = e.conditions
        # API semantics: a nil `ready` means ready, a nil `serving` means "same as ready",
        # a nil `terminating` means not terminating.
        ready = c.ready is not False
        serving = ready if c.serving is None else c.serving
        ref = _pod_ref(e.targetRef, meta.namespace)
        for addr in e.addresses:
            endpoints.append(
                model.Endpoint(
                    address=addr,
                    ready=ready,
                    serving=serving,
                    terminating=bool(c.terminating),
                    node=e.nodeName,
                    pod=ref,
                )
            )
    ports = tuple(
        model.EndpointPort(port=p.port, protocol=_PROTOCOLS[p.protocol], name=p.name or None)
        for p in s.ports or ()
        if p.port is not None
    )
    return model.EndpointGroup(
        namespace=meta.namespace,
        service=svc,
        name=meta.name,
        address_type=s.addressType,
        ports=ports,
        endpoints=tuple(endpoints),
    )


def endpoints(e: raw.Endpoints) -> list[model.EndpointGroup]:
    """Legacy core/v1 Endpoints: one group per subset (the fallback when slices can't be read)."""
    meta = e.metadata
    groups = []
    for i, sub in enumerate(e.subsets or ()):
        eps = [
            model.Endpoint(
                address=a.ip,
                ready=ready,
                serving=ready,
                node=a.nodeName,
                pod=_pod_ref(a.targetRef, meta.namespace),
            )
            for ready, addrs in ((True, sub.addresses), (False, sub.notReadyAddresses))
            for a in addrs or ()
        ]
        groups.append(
            model.EndpointGroup(
                namespace=meta.namespace,
                service=meta.name,
                name=f"{meta.name}[{i}]",
                address_type="IPv6" if eps and ":" in eps[0].address else "IPv4",
                ports=tuple(
                    model.EndpointPort(p.port, _PROTOCOLS[p.protocol], p.name or None)
                    for p in sub.ports or ()
                ),
                endpoints=tuple(eps),
            )
        )
    return groups


def api_service(a: raw.APIService) -> model.ServiceConsumer | None:
    """An APIService served by a service; None when kube-apiserver serves it (no service)."""
    ref = a.spec.service
    if ref is None or not ref.name:
        return None
    return model.ServiceConsumer(
        kind="APIService",
        name=a.metadata.name,
        namespace=ref.namespace,
        service=ref.name,
        port=ref.port or 443,
    )


def _webhooks(kind: model.ConsumerKind, c: raw.WebhookConfiguration) -> list[model.ServiceConsumer]:
    return [
        model.ServiceConsumer(
            kind=kind,
            name=c.metadata.name,
            namespace=ref.namespace,
            service=ref.name,
            port=ref.port or 443,
            webhook=w.name,
            path=ref.path,
            # admissionregistration.k8s.io/v1 defaults failurePolicy to Fail.
            failure_policy=w.failurePolicy or "Fail",
        )
        for w in c.webhooks or ()
        if (ref := w.clientConfig.service) is not None and ref.name
    ]


def validating_webhooks(c: raw.WebhookConfiguration) -> list[model.ServiceConsumer]:
    """The webhooks of a ValidatingWebhookConfiguration that call a service."""
    return _webhooks("ValidatingWebhookConfiguration", c)


def mutating_webhooks(c: raw.WebhookConfiguration) -> list[model.ServiceConsumer]:
    """The webhooks of a MutatingWebhookConfiguration that call a service."""
    return _webhooks("MutatingWebhookConfiguration", c)


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


def label_selector(s: raw.LabelSelector | None) -> labels.LabelSelector | None:
    """The API's structured selector; None (absent) stays None: it differs from empty."""
    if s is None:
        return None
    return labels.LabelSelector(
        match_labels=dict(s.matchLabels or {}),
        match_expressions=tuple(
            labels.Requirement(
                key=r.key,
                operator=r.operator,  # type: ignore[arg-type]  # invalid ones match nothing
                values=tuple(r.values or ()),
            )
            for r in s.matchExpressions or ()
        ),
    )


def _policy_peer(p: raw.NetworkPolicyPeer) -> model_policy.PolicyPeer:
    block = None
    if p.ipBlock is not None:
        block = model_policy.IPBlock(p.ipBlock.cidr, tuple(p.ipBlock.except_ or ()))
    return model_policy.PolicyPeer(
        pod_selector=label_selector(p.podSelector),
        namespace_selector=label_selector(p.namespaceSelector),
        ip_block=block,
    )


def _policy_ports(ports: list[raw.NetworkPolicyPort] | None) -> tuple[model_policy.PolicyPort, ...]:
    # The API server defaults protocol to TCP (NetworkPolicyPort.protocol).
    return tuple(
        model_policy.PolicyPort(
            protocol=_PROTOCOLS.get(p.protocol, "TCP"), port=p.port, end_port=p.endPort
        )
        for p in ports or ()
    )


def network_policy(n: raw.NetworkPolicy) -> model_policy.NetworkPolicy:
    """Convert a wire NetworkPolicy, defaulting policyTypes as the API server does.

    NetworkPolicySpec.policyTypes: "If this field is not specified, it will default based on
    the existence of ingress or egress rules; policies that contain an egress section are
    assumed to affect egress, and all policies (whether or not they contain an ingress
    section) are assumed to affect ingress" (k8s.io/api networking/v1 types.go). The server
    stores the defaulted value, so this only matters for objects that bypassed it.
    """
    spec = n.spec
    types: list[model_policy.PolicyType] = [
        t for t in ("Ingress", "Egress") if t in (spec.policyTypes or ())
    ]
    if not spec.policyTypes:
        types = ["Ingress", "Egress"] if spec.egress else ["Ingress"]
    return model_policy.NetworkPolicy(
        namespace=n.metadata.namespace,
        name=n.metadata.name,
        # podSelector is required; an absent one is read as empty (every pod), as Go's zero value.
        pod_selector=label_selector(spec.podSelector) or labels.LabelSelector(),
        policy_types=tuple(types),
        ingress=tuple(
            model_policy.PolicyRule(
                peers=tuple(_policy_peer(p) for p in r.from_ or ()), ports=_policy_ports(r.ports)
            )
            for r in spec.ingress or ()
        ),
        egress=tuple(
            model_policy.PolicyRule(
                peers=tuple(_policy_peer(p) for p in r.to or ()), ports=_policy_ports(r.ports)
            )
            for r in spec.egress or ()
        ),
    )


# --- policy.networking.k8s.io/v1alpha1 (issue 14) --------------------------------------------

_ADMIN_ACTIONS: dict[str, model_policy.AdminAction] = {
    "Allow": "Allow",
    "Deny": "Deny",
    "Pass": "Pass",
}


def _namespaced_pods(p: raw.NamespacedPod | None) -> model.NamespacedPods | None:
    # Both selectors are required; an absent one is read as empty (everything), as Go's zero.
    if p is None:
        return None
    return model.NamespacedPods(
        namespace_selector=label_selector(p.namespaceSelector) or labels.LabelSelector(),
        pod_selector=label_selector(p.podSelector) or labels.LabelSelector(),
    )


def _admin_peer(p: raw.AdminNetworkPolicyPeer) -> model_policy.AdminPeer:
    return model_policy.AdminPeer(
        namespaces=label_selector(p.namespaces),
        pods=_namespaced_pods(p.pods),
        nodes=label_selector(p.nodes),
        networks=tuple(p.networks or ()),
        domain_names=tuple(p.domainNames or ()),
    )


def _admin_port(p: raw.AdminNetworkPolicyPort) -> model_policy.AdminPort:
    # protocol defaults to TCP (+kubebuilder:default=TCP on Port and PortRange).
    if p.portNumber is not None:
        return model_policy.AdminPort(
            _PROTOCOLS.get(p.portNumber.protocol, "TCP"), p.portNumber.port
        )
    if p.portRange is not None:
        r = p.portRange
        return model_policy.AdminPort(_PROTOCOLS.get(r.protocol, "TCP"), r.start, end_port=r.end)
    if p.namedPort is not None:
        return model_policy.AdminPort(name=p.namedPort)
    return model_policy.AdminPort()  # a kind of port entry this kinspect does not know


def _admin_rules(
    rules: list[raw.AdminNetworkPolicyRule] | None, direction: str
) -> tuple[model_policy.AdminRule, ...]:
    return tuple(
        model_policy.AdminRule(
            action=_ADMIN_ACTIONS.get(r.action),
            name=r.name or "",
            peers=tuple(map(_admin_peer, (r.from_ if direction == "ingress" else r.to) or ())),
            ports=None if r.ports is None else tuple(_admin_port(p) for p in r.ports),
        )
        for r in rules or ()
    )


def _admin_policy(
    n: raw.AdminNetworkPolicy, tier: model_policy.AdminTier
) -> model_policy.AdminNetworkPolicy:
    spec = n.spec
    return model_policy.AdminNetworkPolicy(
        tier=tier,
        name=n.metadata.name,
        subject=model_policy.AdminSubject(
            namespaces=label_selector(spec.subject.namespaces),
            pods=_namespaced_pods(spec.subject.pods),
        ),
        priority=spec.priority if tier == "AdminNetworkPolicy" else None,
        ingress=_admin_rules(spec.ingress, "ingress"),
        egress=_admin_rules(spec.egress, "egress"),
    )


def admin_network_policy(n: raw.AdminNetworkPolicy) -> model_policy.AdminNetworkPolicy:
    """Convert a wire AdminNetworkPolicy (priority is required; absent is read as 0)."""
    p = _admin_policy(n, "AdminNetworkPolicy")
    return p if p.priority is not None else msgspec.structs.replace(p, priority=0)


def baseline_admin_network_policy(n: raw.AdminNetworkPolicy) -> model_policy.AdminNetworkPolicy:
    """Convert a wire BaselineAdminNetworkPolicy."""
    return _admin_policy(n, "BaselineAdminNetworkPolicy")


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
