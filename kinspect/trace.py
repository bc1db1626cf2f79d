"""What an address is, and where traffic to ADDRESS:PORT goes, hop by hop. Pure."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Literal

from kinspect.chain import Backend, Frontend, Index, service_chain
from kinspect.errors import UsageError
from kinspect.model import ContainerPort, PodQuery, PodRef, Service, ServicePort, Snapshot

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


def parse_target(text: str) -> Target:
    """Parse ADDRESS[:PORT]: IPv4, IPv6 (bracketed when a port follows) or a DNS name."""
    text = text.strip()
    hint = "give an IP or hostname, optionally with :PORT, e.g. 10.96.0.10:443 or [fd00::1]:80"
    host, port_text = text, None
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise UsageError(f"bad address {text!r}: missing ']'", hint)
        host, rest = text[1:end], text[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise UsageError(f"bad address {text!r}", hint)
            port_text = rest[1:]
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    port = None
    if port_text is not None:
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise UsageError(f"bad port {port_text!r} in {text!r}: expected 1-65535", hint)
        port = int(port_text)
    try:
        return Target(str(ipaddress.ip_address(host)), port)
    except ValueError:
        pass
    if _HOSTNAME.match(host) and not host.replace(".", "").isdigit():
        return Target(host.lower(), port)
    raise UsageError(f"bad address {text!r}: not an IP address or DNS name", hint)


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
    service_type: str
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


def _entry_services(idx: Index, matches: list[Match], port: int) -> list[Service]:
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


def _by_name(ref: PodRef) -> PodQuery:
    return PodQuery(ref.namespace, field_selector=f"metadata.name={ref.name}")


def first_pod_queries(target: Target, namespace: str | None) -> list[PodQuery]:
    """The pods a trace reads before it knows anything: those whose pod IP is the address."""
    try:
        ipaddress.ip_address(target.address)
    except ValueError:
        return []  # a DNS name is no pod's IP
    return [PodQuery(namespace, field_selector=f"status.podIP={target.address}")]


def pods_needed(
    snap: Snapshot, target: Target, namespace: str | None, done: Collection[PodQuery]
) -> list[PodQuery] | None:
    """The pod reads, beyond `done`, that `trace` needs for the same answer as on every pod.

    A trace touches few pods: those carrying the address, the pods of the nodes it names
    (hostNetwork pods share the node's IP; hostPorts open on it), and the pods of the services
    it enters (their selectors, then any endpoint targetRef still missing). Reading those with
    server-side selectors costs a fraction of listing every pod on a big cluster. Returns []
    when nothing is missing, and None when only every pod in `namespace` can answer: an IP
    that matches nothing may still be a pod's secondary IP, which no field selector reaches.
    """
    idx = Index.of(snap)
    addr = target.address
    # Endpoints that carry the address and name their pod: that pod holds it, maybe as a
    # secondary (dual-stack) IP, which the status.podIP query of first_pod_queries misses.
    want = [
        _by_name(e.pod)
        for g in snap.endpoint_groups
        for e in g.endpoints
        if e.address == addr and e.pod is not None and e.pod not in idx.pods
    ]
    matches = identify(idx, addr)
    if not matches:
        if not first_pod_queries(target, namespace):
            return []  # a DNS name that nothing carries: pods cannot carry it either
        fresh = [q for q in dict.fromkeys(want) if q not in done]
        return fresh or None
    want += [
        PodQuery(namespace, field_selector=f"spec.nodeName={m.node}")
        for m in matches
        if m.kind == "NodeIP" and m.node
    ]
    if target.port is not None:
        for svc in _entry_services(idx, matches, target.port):
            by_selector = None
            if svc.selector:
                labels = ",".join(f"{k}={v}" for k, v in sorted(svc.selector.items()))
                by_selector = PodQuery(svc.namespace, label_selector=labels)
                want.append(by_selector)
            if by_selector is None or by_selector in done:
                # Once the selector's pods are read, fetch by name only the endpoints' pods
                # still missing (selectorless services, hand-written slices).
                want += [
                    _by_name(e.pod)
                    for g in idx.groups.get((svc.namespace, svc.name), ())
                    for e in g.endpoints
                    if e.pod is not None and e.pod not in idx.pods
                ]
    return list(dict.fromkeys(q for q in want if q not in done))


def trace(idx: Index, target: Target) -> TraceResult:
    """Identify the address and, with a port, follow every route from it."""
    res = TraceResult(target, identify(idx, target.address))
    port = target.port
    if port is None:
        return res
    for svc in _entry_services(idx, res.matches, port):
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
                            tuple(ip for ip in svc.cluster_ips if ip != "None"),
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
