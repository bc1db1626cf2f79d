"""What an address is, and where traffic to ADDRESS:PORT goes, hop by hop. Pure."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field, replace
from typing import Literal

from kinspect.model.errors import UsageError
from kinspect.model.values import (
    ContainerPort,
    Pod,
    PodRef,
    Protocol,
    Service,
    ServicePort,
    ServiceType,
    ip_family,
)
from kinspect.path import topology
from kinspect.path.chain import (
    Backend,
    Frontend,
    HealthCheck,
    Index,
    NotBackend,
    ServiceChain,
    not_backend,
    same_family,
    service_chain,
)
from kinspect.path.firewall import Firewall, firewall
from kinspect.path.topology import RouteTopology

MatchKind = Literal[
    "NodeIP", "ClusterIP", "LoadBalancer", "ExternalIP", "PodIP", "EndpointAddress", "ExternalName"
]

_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$",
    re.I,
)


@dataclass(frozen=True, slots=True)
class Target:
    """ADDRESS[:PORT[/PROTOCOL]]: `protocol` None follows every protocol on the port."""

    address: str
    port: int | None = None
    protocol: Protocol | None = None


def echo(text: str, limit: int = 80) -> str:
    """The user's text as an error message quotes it: at most `limit` + 1 characters.

    Cut after `repr`, which writes an unprintable character as up to ten.
    """
    shown = repr(text[:limit])
    return shown[:limit] + "…" if len(text) > limit or len(shown) > limit + 2 else shown


PROTOCOLS: tuple[Protocol, ...] = ("TCP", "UDP", "SCTP")


def parse_target(text: str) -> Target:
    """Parse ADDRESS[:PORT[/PROTOCOL]]: IPv4, IPv6 (bracketed when a port follows) or a DNS name.

    PROTOCOL is kubectl's `53/UDP` form, TCP, UDP or SCTP in any case; without it the trace
    follows every protocol on the port.
    """
    text = text.strip()
    shown = echo(text)
    hint = (
        "give an IP or hostname, optionally with :PORT or :PORT/PROTOCOL, e.g. 10.96.0.10:443, "
        "10.96.0.10:53/UDP or [fd00::1]:80"
    )
    protocol: Protocol | None = None
    if "/" in text:
        # No IP address or DNS name holds a "/": what follows the first one is a protocol.
        text, _, proto_text = text.partition("/")
        protocol = next(
            (p for p in PROTOCOLS if proto_text.isascii() and p == proto_text.upper()), None
        )
        if protocol is None:
            raise UsageError(
                f"bad protocol {echo(proto_text, 20)} in {shown}: expected TCP, UDP or SCTP", hint
            )
    host, port_text = text, None
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise UsageError(f"bad address {shown}: missing ']'", hint)
        host, rest = text[1:end], text[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise UsageError(f"bad address {shown}", hint)
            port_text = rest[1:]
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    port = None
    if port_text is not None:
        # ASCII digits only: str.isdigit() also accepts "²" and "٨٠" (which int() reads as 80).
        ascii_digits = port_text.isascii() and port_text.isdigit() and len(port_text) <= 5
        if not ascii_digits or not 1 <= int(port_text) <= 65535:
            raise UsageError(f"bad port {echo(port_text, 20)} in {shown}: expected 1-65535", hint)
        port = int(port_text)
    elif protocol is not None:
        raise UsageError(
            f"bad address {shown}: a protocol needs a port (ADDRESS:PORT/{protocol})", hint
        )
    try:
        return Target(str(ipaddress.ip_address(host)), port, protocol)
    except ValueError:
        pass
    if _HOSTNAME.match(host) and not host.replace(".", "").isdigit():
        return Target(host.lower(), port, protocol)
    raise UsageError(f"bad address {shown}: not an IP address or DNS name", hint)


@dataclass(frozen=True, slots=True)
class Match:
    """One thing the address is (an address can be several at once)."""

    kind: MatchKind
    detail: str
    node: str | None = None
    service: str | None = None  # "namespace/name"
    pod: PodRef | None = None


@dataclass(frozen=True, slots=True)
class Route:
    """Traffic entering a service port through one frontend, and where it is forwarded.

    From a NodePort, LoadBalancer or ExternalIP entry kube-proxy DNATs the packet straight to
    an endpoint: the ClusterIP is not on the wire. `cluster_ips` are the same service port's
    other (in-cluster) entry points, not a hop.
    """

    service: str
    service_type: ServiceType
    port: ServicePort
    entry: Frontend
    cluster_ips: tuple[str, ...]
    backends: tuple[Backend, ...]
    # sessionAffinity ClientIP: one client keeps one backend for this many seconds (None: off).
    affinity_seconds: int | None = None
    # loadBalancerSourceRanges at this entry (None: the service sets none).
    firewall: Firewall | None = None
    # Topology hints in force (issue 22): which endpoints the deciding node's kube-proxy uses.
    topology: RouteTopology | None = None


DirectVia = Literal["PodIP", "HostPort", "HostNetwork", "Endpoint"]


@dataclass(frozen=True, slots=True)
class Direct:
    """Traffic that reaches a pod or an endpoint without a service frontend.

    PodIP, HostPort or HostNetwork (a pod), or Endpoint: the address and port are listed as an
    endpoint of a service (a selectorless service's hand-made endpoints, the API server behind
    default/kubernetes), so something is expected to listen there.
    """

    via: DirectVia
    pod: PodRef | None
    node: str | None
    port: int
    container_port: ContainerPort | None  # None: no container declares it (may still listen)
    # Every way this same container port is reached on the address (HostPort and HostNetwork
    # for a hostNetwork pod's hostPort), `via` first.
    vias: tuple[DirectVia, ...] = ()
    service: str | None = None  # Endpoint: the service listing it
    service_port: ServicePort | None = None
    endpoint: Backend | None = None  # Endpoint: the endpoint as the chain sees it
    # The declared port's, the endpoint's, or the one asked (TCP, Kubernetes' default, when
    # the trace names none and no container declares the port).
    protocol: Protocol = "TCP"


@dataclass(frozen=True, slots=True)
class HealthCheckHop:
    """NODE:healthCheckNodePort: kube-proxy's health check server for one service."""

    service: str
    check: HealthCheck


@dataclass(frozen=True, slots=True)
class Hint:
    """A likely port mix-up: the port the user probably meant, and why."""

    port: int
    message: str


@dataclass(frozen=True, slots=True)
class Backing:
    """Whether a pod backs one service port (trace POD_IP without a port)."""

    service: str
    port: ServicePort
    backend: Backend | None  # the pod's endpoint on that port; None when it gets no traffic
    not_backend: NotBackend | None  # why not (None when it is an endpoint)


OpenPortKind = Literal["NodePort", "HealthCheckNodePort", "HostPort", "HostNetwork"]


@dataclass(frozen=True, slots=True)
class OpenPort:
    """A port open on a node IP (trace NODE_IP without a port)."""

    kind: OpenPortKind
    port: int
    protocol: str
    service: str | None = None
    service_port: ServicePort | None = None
    answers: bool | None = None  # NodePort: the frontend's answers; HealthCheck: 200 or not
    pod: PodRef | None = None
    container_port: ContainerPort | None = None


@dataclass
class TraceResult:
    target: Target
    matches: list[Match] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)
    direct: list[Direct] = field(default_factory=list)
    health_checks: list[HealthCheckHop] = field(default_factory=list)
    hints: list[Hint] = field(default_factory=list)
    backs: list[Backing] = field(default_factory=list)
    open_ports: list[OpenPort] = field(default_factory=list)

    @property
    def found(self) -> bool:
        """The address is known and, when a port was given, something receives it."""
        if not self.matches:
            return False
        return self.target.port is None or bool(self.routes or self.direct or self.health_checks)


def _name(s: Service) -> str:
    return f"{s.namespace}/{s.name}"


def identify(idx: Index, addr: str) -> list[Match]:
    """Everything in the snapshot that owns or carries `addr` (one pass, no chains built)."""
    out: list[Match] = []
    for n in idx.snapshot.nodes:
        out.extend(
            Match("NodeIP", f"{a.type} of node {n.name}", node=n.name)
            for a in n.addresses
            if a.address == addr
        )
    for s in idx.snapshot.services:
        name = _name(s)
        if addr in s.cluster_ips:
            out.append(Match("ClusterIP", f"ClusterIP of service {name}", service=name))
        if any(i.address == addr for i in s.load_balancer_ingress):
            out.append(Match("LoadBalancer", f"load-balancer ingress of {name}", service=name))
        if addr in s.external_ips:
            out.append(Match("ExternalIP", f"externalIP of service {name}", service=name))
        if s.external_name and s.external_name.lower() == addr:
            out.append(Match("ExternalName", f"externalName of service {name}", service=name))
    for p in idx.pods_by_ip.get(addr, ()):
        what = "hostNetwork pod (the node's IP)" if p.host_network else "pod IP"
        out.append(
            Match("PodIP", f"{what} of {p.ref} on {p.node_name}", node=p.node_name, pod=p.ref)
        )
    seen: set[str] = set()
    for g in idx.snapshot.endpoint_groups:
        name = f"{g.namespace}/{g.service}"
        if name in seen or not g.ports:
            continue
        # The service's own endpoint, as map lists it: no pod named, or a pod that is missing.
        e = next((e for e in g.endpoints if e.address == addr and _podless(idx, e.pod)), None)
        if e is not None:
            seen.add(name)
            out.append(
                Match("EndpointAddress", f"endpoint of {name} ({_pod_words(e.pod)})", service=name)
            )
    return out


def _podless(idx: Index, ref: PodRef | None) -> bool:
    """An endpoint that names no pod, or a pod not in the snapshot (deleted, or impossible)."""
    return ref is None or ref not in idx.pods


def _pod_words(ref: PodRef | None) -> str:
    return "no pod" if ref is None else f"pod {ref} missing"


def entry_services(idx: Index, matches: list[Match], port: int) -> list[Service]:
    """The services that traffic to the address and port can enter.

    Only their chains are built, so a trace on a 100k-pod cluster costs little more than
    reading it.
    """
    named = {m.service for m in matches if m.service}
    on_node = any(m.kind == "NodeIP" for m in matches)
    return [
        s
        for s in idx.snapshot.services
        if _name(s) in named
        or (
            on_node
            and (
                any(p.node_port == port for p in s.ports)
                or (s.health_check_node_port == port and s.type == "LoadBalancer")
            )
        )
    ]


def trace(idx: Index, target: Target, client_node: str | None = None) -> TraceResult:
    """Identify the address and, with a port, follow every route from it.

    `client_node`: the node of --from's pod (or the node itself), whose kube-proxy decides
    which endpoints topology hints leave a ClusterIP, load-balancer or externalIP route.
    """
    res = TraceResult(target, identify(idx, target.address))
    port, proto = target.port, target.protocol
    if port is None:
        _without_port(idx, res)
        return res
    chains: dict[str, ServiceChain] = {}
    for svc in entry_services(idx, res.matches, port):
        c = chains[_name(svc)] = service_chain(idx, svc)
        for pc in c.ports:
            if proto is not None and pc.port.protocol != proto:
                continue
            for f in pc.frontends:
                if f.address == target.address and f.port == port:
                    # kube-proxy serves each family apart: its endpoints, and its hints.
                    fam = tuple(same_family(pc.backends, f.address))
                    topo = topology.route(svc, f.kind, f.node, client_node, fam, idx.node_list)
                    res.routes.append(
                        Route(
                            _name(svc),
                            svc.type,
                            pc.port,
                            f,
                            svc.cluster_ips,
                            fam,
                            svc.affinity_seconds,
                            firewall(svc, f.kind, f.address),
                            topo,
                        )
                    )
        # kube-proxy's health check server speaks HTTP: TCP only.
        res.health_checks.extend(
            HealthCheckHop(_name(svc), hc)
            for hc in c.health_checks
            if hc.address == target.address and hc.port == port and proto in (None, "TCP")
        )
    direct: list[Direct] = []
    node_names = {m.node for m in res.matches if m.kind == "NodeIP"}
    for p in idx.snapshot.pods:
        if p.node_name in node_names:
            for cp in p.ports:
                if cp.host_port == port and proto in (None, cp.protocol):
                    direct.append(
                        Direct("HostPort", p.ref, p.node_name, port, cp, protocol=cp.protocol)
                    )
    for m in res.matches:
        if m.kind == "EndpointAddress" and m.service in chains:
            direct.extend(_endpoint_hops(chains[m.service], target.address, port, proto))
        if m.kind != "PodIP" or m.pod is None:
            continue
        pod = idx.pods[m.pod]
        # Every container port of that number (CoreDNS declares 53/UDP and 53/TCP), or the
        # one of the protocol asked.
        declared = [cp for cp in pod.ports if cp.port == port and proto in (None, cp.protocol)]
        if pod.host_network and not declared:
            continue  # a node IP: only the hostNetwork pods that declare the port are shown
        via: DirectVia = "HostNetwork" if pod.host_network else "PodIP"
        direct.extend(
            Direct(via, pod.ref, pod.node_name, port, cp, protocol=cp.protocol) for cp in declared
        )
        if not declared:
            direct.append(Direct(via, pod.ref, pod.node_name, port, None, protocol=proto or "TCP"))
    res.direct = _merge(direct)
    res.hints = _hints(idx, res, chains)
    return res


def _endpoint_hops(c: ServiceChain, addr: str, port: int, proto: Protocol | None) -> list[Direct]:
    """The service's endpoints at addr:port whose pod is none or missing, as map lists them.

    No pod: a selectorless service's hand-made endpoints. Missing: deleted, or a targetRef no
    pod can match (`plan.impossible_pod`).
    """
    return [
        Direct(
            "Endpoint",
            None,
            b.node,
            port,
            None,
            service=_name(c.service),
            service_port=pc.port,
            endpoint=b,
            protocol=b.protocol,
        )
        for pc in c.ports
        for b in pc.backends
        if b.address == addr
        and b.port == port
        and proto in (None, b.protocol)
        and (b.pod is None or not b.pod_found)
    ]


def _merge(direct: list[Direct]) -> list[Direct]:
    """One hop per pod and container port, with every way it is reached (HostPort+HostNetwork)."""
    out: dict[tuple[object, ...], Direct] = {}
    for d in direct:
        key = (d.pod, d.container_port, d.protocol, d.service, d.via == "Endpoint" and id(d))
        prev = out.get(key)
        if prev is None:
            out[key] = replace(d, vias=(d.via,))
        elif d.via not in prev.vias:
            out[key] = replace(prev, vias=(*prev.vias, d.via))
    return list(out.values())


def _hints(idx: Index, res: TraceResult, chains: dict[str, ServiceChain]) -> list[Hint]:
    """The usual port mix-ups: a targetPort sent to a ClusterIP, a service port to a pod IP."""
    port, proto = res.target.port, res.target.protocol
    addr = res.target.address
    out: list[Hint] = []
    if not res.routes:
        # A service address with the wrong port: the user probably gave the targetPort (or a
        # nodePort to a ClusterIP), or, with /PROTOCOL, the port is there in another protocol.
        for m in res.matches:
            if m.kind not in ("ClusterIP", "LoadBalancer", "ExternalIP") or m.service is None:
                continue
            c = chains.get(m.service)
            ports = c.ports if c else ()
            others = list(
                dict.fromkeys(
                    pc.port.protocol
                    for pc in ports
                    if pc.port.port == port and pc.port.protocol != proto  # never "not UDP"
                )
            )
            if others and proto is not None and port is not None:
                out.append(
                    Hint(
                        port,
                        f"port {port} of service {m.service} is {', '.join(others)}: not "
                        f"{proto} (try :{port}/{others[0]})",
                    )
                )
                continue
            for pc in ports:
                sp = pc.port
                if proto not in (None, sp.protocol):
                    continue
                if port in (sp.target_port, sp.node_port) or any(
                    b.port == port for b in pc.backends
                ):
                    out.append(
                        Hint(
                            sp.port,
                            f"did you mean :{sp.port}? service {m.service} maps {sp.port} → "
                            f"{sp.target_port} ({port} is not a port of this {m.kind})",
                        )
                    )
    family = ip_family(addr)
    nodeip = any(m.kind == "NodeIP" for m in res.matches)
    if not res.routes and family and port is not None and nodeip:
        # A nodePort asked on a node address of a family the service lacks: kube-proxy opens
        # it only on the service's own families (docs/kube-proxy.md, Dual-stack).
        for name, c in chains.items():
            families = c.service.families
            if family in families or not families:
                continue
            if any(
                pc.port.node_port == port and proto in (None, pc.port.protocol) for pc in c.ports
            ):
                out.append(
                    Hint(
                        port,
                        f"service {name} has nodePort {port} but is {'/'.join(families)} only "
                        f"({c.service.ip_family_policy or 'SingleStack'}): kube-proxy opens it "
                        f"on the node's {'/'.join(families)} addresses, not on this {family} one",
                    )
                )
    if not res.direct:
        # A hand-made endpoint's address with the service port instead of the endpoint's.
        for m in res.matches:
            c = chains.get(m.service or "") if m.kind == "EndpointAddress" else None
            for pc in c.ports if c else ():
                for b in pc.backends:
                    podless = b.pod is None or not b.pod_found
                    if b.address == addr and podless and pc.port.port == port != b.port:
                        out.append(
                            Hint(
                                b.port,
                                f"did you mean :{b.port}? service {m.service} maps "
                                f"{pc.port.port} → {b.port} on this endpoint",
                            )
                        )
    pod_refs = [m.pod for m in res.matches if m.kind == "PodIP" and m.pod]
    undeclared = any(d.container_port is None for d in res.direct if d.pod in pod_refs)
    if pod_refs and undeclared:
        # A pod IP with a service's port: traffic to the service lands on the targetPort.
        for svc in _services_of(idx, [idx.pods[r] for r in pod_refs]):
            c = service_chain(idx, svc)
            for pc in c.ports:
                for b in pc.backends:
                    if (
                        b.address == addr
                        and pc.port.port == port
                        and b.port != port
                        and proto in (None, b.protocol)
                    ):
                        out.append(
                            Hint(
                                b.port,
                                f"did you mean :{b.port}? service {_name(svc)} maps "
                                f"{pc.port.port} → {pc.port.target_port}, which is {b.port} "
                                "on this pod",
                            )
                        )
    return list(dict.fromkeys(out))


def _services_of(idx: Index, pods: list[Pod]) -> list[Service]:
    """Services whose selector matches one of the pods or whose endpoints name one of them."""
    refs = {p.ref for p in pods}
    ips = {ip for p in pods for ip in p.pod_ips}
    named = {
        (g.namespace, g.service)
        for g in idx.snapshot.endpoint_groups
        for e in g.endpoints
        if e.pod in refs or e.address in ips
    }
    out = []
    for s in idx.snapshot.services:
        selects = s.selector and any(
            p.namespace == s.namespace and all(p.labels.get(k) == v for k, v in s.selector.items())
            for p in pods
        )
        if selects or (s.namespace, s.name) in named:
            out.append(s)
    return out


def _without_port(idx: Index, res: TraceResult) -> None:
    """Trace ADDRESS alone: what a pod backs, what a node IP has open."""
    pods = [idx.pods[m.pod] for m in res.matches if m.kind == "PodIP" and m.pod]
    for svc in _services_of(idx, pods):
        c = service_chain(idx, svc)
        for pc in c.ports:
            for p in pods:
                b = next((b for b in pc.backends if b.pod == p.ref or b.address in p.pod_ips), None)
                nb = not_backend(p, pc.port, b) if svc.selector else None
                if b is None and nb is None:
                    continue
                res.backs.append(Backing(_name(svc), pc.port, b, nb))
    nodes = {m.node: m for m in res.matches if m.kind == "NodeIP" and m.node}
    if not nodes:
        return
    for svc in idx.snapshot.services:
        if svc.type not in ("NodePort", "LoadBalancer"):
            continue
        c = service_chain(idx, svc)
        for pc in c.ports:
            for f in pc.frontends:
                if f.kind == "NodePort" and f.address == res.target.address:
                    res.open_ports.append(
                        OpenPort(
                            "NodePort", f.port, pc.port.protocol, _name(svc), pc.port, f.answers
                        )
                    )
        for hc in c.health_checks:
            if hc.address == res.target.address:
                res.open_ports.append(
                    OpenPort("HealthCheckNodePort", hc.port, "TCP", _name(svc), None,
                             hc.status == 200)
                )  # fmt: skip
    for p in idx.snapshot.pods:
        if p.node_name not in nodes:
            continue
        for cp in p.ports:
            if cp.host_port:
                res.open_ports.append(
                    OpenPort("HostPort", cp.host_port, cp.protocol, pod=p.ref, container_port=cp)
                )
            elif p.host_network:
                res.open_ports.append(
                    OpenPort("HostNetwork", cp.port, cp.protocol, pod=p.ref, container_port=cp)
                )
    res.open_ports.sort(key=lambda o: (o.port, o.protocol, o.kind))
