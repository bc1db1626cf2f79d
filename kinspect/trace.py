"""What an address is, and where traffic to ADDRESS:PORT goes, hop by hop. Pure."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Literal

from kinspect.chain import Backend, Frontend, Index, service_chain
from kinspect.errors import UsageError
from kinspect.model import ContainerPort, PodRef, Service, ServicePort, ServiceType

MatchKind = Literal[
    "NodeIP", "ClusterIP", "LoadBalancer", "ExternalIP", "PodIP", "EndpointAddress", "ExternalName"
]

_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$",
    re.I,
)


@dataclass(frozen=True, slots=True)
class Target:
    address: str
    port: int | None = None


def _echo(text: str, limit: int = 80) -> str:
    """The user's text as an error message quotes it: at most `limit` + 1 characters.

    Cut after `repr`, which writes an unprintable character as up to ten.
    """
    shown = repr(text[:limit])
    return shown[:limit] + "…" if len(text) > limit or len(shown) > limit + 2 else shown


def parse_target(text: str) -> Target:
    """Parse ADDRESS[:PORT]: IPv4, IPv6 (bracketed when a port follows) or a DNS name."""
    text = text.strip()
    shown = _echo(text)
    hint = "give an IP or hostname, optionally with :PORT, e.g. 10.96.0.10:443 or [fd00::1]:80"
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
            raise UsageError(f"bad port {_echo(port_text, 20)} in {shown}: expected 1-65535", hint)
        port = int(port_text)
    try:
        return Target(str(ipaddress.ip_address(host)), port)
    except ValueError:
        pass
    if _HOSTNAME.match(host) and not host.replace(".", "").isdigit():
        return Target(host.lower(), port)
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
    """Traffic entering a service port through one frontend, and where it is forwarded."""

    service: str
    service_type: ServiceType
    port: ServicePort
    entry: Frontend
    cluster_ips: tuple[str, ...]
    backends: tuple[Backend, ...]


@dataclass(frozen=True, slots=True)
class Direct:
    """Traffic that reaches a pod without a service: pod IP, hostPort or hostNetwork."""

    via: Literal["PodIP", "HostPort", "HostNetwork"]
    pod: PodRef
    node: str | None
    port: int
    container_port: ContainerPort | None  # None: no container declares it (may still listen)


@dataclass
class TraceResult:
    target: Target
    matches: list[Match] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)
    direct: list[Direct] = field(default_factory=list)

    @property
    def found(self) -> bool:
        """The address is known and, when a port was given, something receives it."""
        if not self.matches:
            return False
        return self.target.port is None or bool(self.routes or self.direct)


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
        if (
            name not in seen
            and g.ports
            and any(e.address == addr and e.pod is None for e in g.endpoints)
        ):
            seen.add(name)
            out.append(Match("EndpointAddress", f"endpoint of {name} (no pod)", service=name))
    return out


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
        if _name(s) in named or (on_node and any(p.node_port == port for p in s.ports))
    ]


def trace(idx: Index, target: Target) -> TraceResult:
    """Identify the address and, with a port, follow every route from it."""
    res = TraceResult(target, identify(idx, target.address))
    port = target.port
    if port is None:
        return res
    for svc in entry_services(idx, res.matches, port):
        c = service_chain(idx, svc)
        for pc in c.ports:
            for f in pc.frontends:
                if f.address == target.address and f.port == port:
                    res.routes.append(
                        Route(
                            _name(svc),
                            svc.type,
                            pc.port,
                            f,
                            svc.cluster_ips,
                            pc.backends,
                        )
                    )
    node_names = {m.node for m in res.matches if m.kind == "NodeIP"}
    for p in idx.snapshot.pods:
        if p.node_name in node_names:
            for cp in p.ports:
                if cp.host_port == port:
                    res.direct.append(Direct("HostPort", p.ref, p.node_name, port, cp))
    for m in res.matches:
        if m.kind != "PodIP" or m.pod is None:
            continue
        pod = idx.pods[m.pod]
        declared = next((cp for cp in pod.ports if cp.port == port), None)
        if pod.host_network and declared is None:
            continue  # a node IP: only the hostNetwork pods that declare the port are shown
        via: Literal["PodIP", "HostNetwork"] = "HostNetwork" if pod.host_network else "PodIP"
        res.direct.append(Direct(via, pod.ref, pod.node_name, port, declared))
    return res
