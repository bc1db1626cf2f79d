"""Wire structs (`wire.raw`) of the core kinds made domain values (`model.values`), and selectors.

Entry points and policies are converted beside this, in `convert_edge` and `convert_policy`, as
`kinspect.model` splits them; nothing else builds a domain value from a wire struct.
"""

from __future__ import annotations

from collections.abc import Iterable

from kinspect.model import labels
from kinspect.model import values as model
from kinspect.wire import raw

_SERVICE_NAME_LABEL = "kubernetes.io/service-name"

# The API server defaults an absent protocol to TCP and admits only these values (and these
# service types), so the closed sets of the model hold for everything it serves.
PROTOCOLS: dict[str | None, model.Protocol] = {
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
# Service annotations kinspect shows (issue 22): the topology-aware routing annotation (and its
# older name), and the legacy source ranges, which cloud load balancers read; kube-proxy reads
# only spec.loadBalancerSourceRanges (kubernetes pkg/proxy/serviceport.go).
_TOPOLOGY_MODE = "service.kubernetes.io/topology-mode"
_TOPOLOGY_AWARE_HINTS = "service.kubernetes.io/topology-aware-hints"
_SOURCE_RANGES = "service.beta.kubernetes.io/load-balancer-source-ranges"


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
            protocol=PROTOCOLS[p.protocol],
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
    sched = next(
        (c for c in status.conditions or () if c.type == "PodScheduled" and c.status == "False"),
        None,
    )
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
        unscheduled_reason=sched.reason if sched else None,
        unscheduled_message=sched.message if sched else None,
    )


def service(s: raw.Service) -> model.Service:
    """Convert a wire Service."""
    spec = s.spec
    cluster_ips = spec.clusterIPs or ([spec.clusterIP] if spec.clusterIP else [])
    if _HEADLESS in cluster_ips:
        cluster_ips = []
    annotations = s.metadata.annotations or {}
    affinity = spec.sessionAffinity if spec.sessionAffinity == "ClientIP" else None
    timeout = None
    if affinity:
        client = spec.sessionAffinityConfig.clientIP if spec.sessionAffinityConfig else None
        # The API server defaults it (core/v1 DefaultClientIPServiceAffinitySeconds).
        timeout = client.timeoutSeconds if client and client.timeoutSeconds else 10800
    return model.Service(
        namespace=s.metadata.namespace,
        name=s.metadata.name,
        type=_SERVICE_TYPES[spec.type],
        cluster_ips=tuple(cluster_ips),
        external_ips=tuple(spec.externalIPs or ()),
        load_balancer_ingress=tuple(
            model.LoadBalancerIngress(ip=i.ip, hostname=i.hostname, ip_mode=i.ipMode or None)
            for i in s.status.loadBalancer.ingress or ()
        ),
        external_name=spec.externalName,
        external_traffic_policy=spec.externalTrafficPolicy,
        internal_traffic_policy=spec.internalTrafficPolicy,
        health_check_node_port=spec.healthCheckNodePort,
        publish_not_ready_addresses=spec.publishNotReadyAddresses,
        traffic_distribution=spec.trafficDistribution or None,
        topology_mode=(
            annotations.get(_TOPOLOGY_MODE) or annotations.get(_TOPOLOGY_AWARE_HINTS) or None
        ),
        session_affinity=affinity,
        session_affinity_timeout=timeout,
        load_balancer_source_ranges=tuple(spec.loadBalancerSourceRanges or ()),
        source_ranges_annotation=annotations.get(_SOURCE_RANGES),
        ip_family_policy=spec.ipFamilyPolicy or None,
        ip_families=tuple(spec.ipFamilies or ()),
        selector=spec.selector or None,
        ports=tuple(
            model.ServicePort(
                port=p.port,
                protocol=PROTOCOLS[p.protocol],
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
        h = e.hints
        zones = tuple(z.name for z in h.forZones or ()) if h else ()
        nodes = tuple(n.name for n in h.forNodes or ()) if h else ()
        for addr in e.addresses:
            endpoints.append(
                model.Endpoint(
                    address=addr,
                    ready=ready,
                    serving=serving,
                    terminating=bool(c.terminating),
                    node=e.nodeName,
                    pod=ref,
                    for_zones=zones,
                    for_nodes=nodes,
                )
            )
    ports = tuple(
        model.EndpointPort(port=p.port, protocol=PROTOCOLS[p.protocol], name=p.name or None)
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
                    model.EndpointPort(p.port, PROTOCOLS[p.protocol], p.name or None)
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
    cond = next(
        (c for c in a.status.conditions or () if c.type == "Available" and c.status == "False"),
        None,
    )
    return model.ServiceConsumer(
        kind="APIService",
        name=a.metadata.name,
        namespace=ref.namespace,
        service=ref.name,
        port=ref.port or 443,
        unavailable=(
            ": ".join(x for x in (cond.reason, cond.message) if x) or "Available=False"
            if cond
            else None
        ),
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
