"""Small builders for domain objects, so each test states only what matters to it."""

from __future__ import annotations

from kinspect.model.edge import (
    Ingress,
    IngressBackend,
    IngressPath,
    IngressRule,
    IngressTLS,
    PathType,
)
from kinspect.model.snapshot import Snapshot
from kinspect.model.values import (
    ContainerPort,
    Endpoint,
    EndpointGroup,
    EndpointPort,
    LoadBalancerIngress,
    Node,
    NodeAddress,
    Pod,
    PodRef,
    Protocol,
    Service,
    ServicePort,
    ServiceType,
)


def node(i: int, external: bool = False) -> Node:
    addrs = [NodeAddress("InternalIP", f"192.0.2.{10 + i}")]
    if external:
        addrs.append(NodeAddress("ExternalIP", f"198.51.100.{10 + i}"))
    return Node(f"n{i}", tuple(addrs), (f"10.244.{i}.0/24",))


def cport(
    container: str,
    port: int,
    name: str | None = None,
    protocol: Protocol = "TCP",
    host_port: int | None = None,
    sidecar: bool = False,
) -> ContainerPort:
    return ContainerPort(container, port, protocol, name, host_port, sidecar)


def pod(
    name: str,
    ip: str | None,
    *ports: ContainerPort,
    ns: str = "ns",
    node_name: str | None = "n0",
    labels: dict[str, str] | None = None,
    ready: bool = True,
    phase: str = "Running",
    host_network: bool = False,
) -> Pod:
    return Pod(
        namespace=ns,
        name=name,
        labels=labels if labels is not None else {"app": "web"},
        node_name=node_name,
        host_network=host_network,
        phase=phase,
        ready=ready,
        pod_ips=(ip,) if ip else (),
        containers=tuple(sorted({p.container for p in ports})) or ("main",),
        ports=ports,
    )


def sport(
    port: int,
    target: int | str | None = None,
    name: str | None = None,
    protocol: Protocol = "TCP",
    node_port: int | None = None,
) -> ServicePort:
    return ServicePort(port, protocol, name, port if target is None else target, node_port)


def svc(
    name: str,
    *ports: ServicePort,
    ns: str = "ns",
    type: ServiceType = "ClusterIP",
    cluster_ips: tuple[str, ...] = ("10.96.0.10",),
    selector: dict[str, str] | None = None,
    etp: str | None = None,
    lb: tuple[str, ...] = (),
    external_ips: tuple[str, ...] = (),
    external_name: str | None = None,
    selectorless: bool = False,
) -> Service:
    return Service(
        namespace=ns,
        name=name,
        type=type,
        cluster_ips=cluster_ips,
        external_ips=external_ips,
        load_balancer_ingress=tuple(LoadBalancerIngress(ip=a) for a in lb),
        external_name=external_name,
        external_traffic_policy=etp,
        selector=None if selectorless else (selector or {"app": "web"}),
        ports=ports,
    )


def ep(
    address: str,
    pod_name: str | None = None,
    node: str | None = "n0",
    ready: bool = True,
    terminating: bool = False,
    ns: str = "ns",
) -> Endpoint:
    return Endpoint(
        address,
        ready,
        ready or terminating,
        terminating,
        node,
        PodRef(ns, pod_name) if pod_name else None,
    )


def group(
    service: str,
    ports: list[tuple[str | None, int, Protocol]],
    *eps: Endpoint,
    ns: str = "ns",
    name: str | None = None,
) -> EndpointGroup:
    return EndpointGroup(
        namespace=ns,
        service=service,
        name=name or f"{service}-{ports[0][1] if ports else 0}",
        ports=tuple(EndpointPort(port, proto, pname) for pname, port, proto in ports),
        endpoints=eps,
    )


def snap(
    *,
    nodes: tuple[Node, ...] = (),
    services: tuple[Service, ...] = (),
    groups: tuple[EndpointGroup, ...] = (),
    pods: tuple[Pod, ...] = (),
) -> Snapshot:
    # A cluster without the AdminNetworkPolicy CRDs (the Snapshot default is "not-read", which
    # makes every verdict unknown, as for a snapshot file from before they were read).
    return Snapshot(
        "test",
        nodes,
        services,
        groups,
        pods,
        admin_network_policy_state="absent",
        baseline_admin_network_policy_state="absent",
        plugin_policy_state="absent",
    )


def ibackend(service: str, port: int | str) -> IngressBackend:
    if isinstance(port, int):
        return IngressBackend(service=service, port_number=port)
    return IngressBackend(service=service, port_name=port)


def ipath(path: str, service: str, port: int | str = 80, kind: PathType = "Prefix") -> IngressPath:
    return IngressPath(path, kind, ibackend(service, port))


def ingress(
    name: str,
    *rules: IngressRule,
    ns: str = "ns",
    class_name: str | None = "nginx",
    annotation: str | None = None,
    default: IngressBackend | None = None,
    tls: tuple[IngressTLS, ...] = (),
    address: str | None = None,
) -> Ingress:
    return Ingress(
        namespace=ns,
        name=name,
        class_name=class_name,
        class_annotation=annotation,
        default_backend=default,
        rules=rules,
        tls=tls,
        addresses=(LoadBalancerIngress(ip=address),) if address else (),
    )
