"""The ingress controller in front of an Ingress or a Gateway: the first hop of entry traffic. Pure.

Traffic for an Ingress reaches the controller first: the address the controller publishes
(`status.loadBalancer.ingress`, a Gateway's `status.addresses`) at the request's port, then the
controller's pods, and only then the rule. Two questions, two answers:

- What receives the published ADDRESS:PORT (`receivers`): the trace of that address and port
  (`path.trace`), as `trace ADDRESS:PORT` gives it: a load balancer, externalIP, nodePort or
  hostPort/hostNetwork pod, or nothing. Data, never guessed.
- Which Service is the controller's (`controller_of`), for `map` and the pictures, where no
  port is asked:
  - a published address that a Service holds (load-balancer ingress, externalIP, ClusterIP):
    that Service;
  - a published address that is a node's IP (a baremetal controller on nodePorts): the only
    Service of type NodePort or LoadBalancer with an HTTP(S) port on a nodePort (port 80 or
    443, a port named http/https, or appProtocol http/https) that no Ingress or route names as
    its backend. Several such Services: "controller unknown: N candidate services", never a
    guess. A controller run with hostNetwork or hostPorts and no Service is only seen by
    `receivers` (its pods on the node).
"""

from __future__ import annotations

from dataclasses import dataclass

from kinspect.edge import gateway_match
from kinspect.model.edge import Ingress
from kinspect.model.values import PodRef, Protocol, Service, ServicePort
from kinspect.path.chain import Index
from kinspect.path.trace import Target, TraceResult, trace


@dataclass(frozen=True, slots=True)
class Receiver:
    """What receives one published ADDRESS:PORT: the trace of it."""

    address: str
    port: int
    result: TraceResult

    @property
    def known(self) -> bool:
        """Whether the address is held by anything kinspect read (a node, a service, a pod).

        An ExternalName service naming it (a CNAME to a load balancer's host name) does not
        hold it: what receives that name lies outside the cluster.
        """
        return any(m.kind != "ExternalName" for m in self.result.matches)

    @property
    def received(self) -> bool:
        return self.result.found

    def pods(self) -> list[tuple[str, PodRef, int, Protocol]]:
        """The pods the traffic lands on, each with how (the hop into the controller)."""
        out: list[tuple[str, PodRef, int, Protocol]] = []
        for r in self.result.routes:
            via = (
                f"the controller's service {r.service} port {r.port.port} "
                f"({r.entry.kind} {r.entry.address}:{r.entry.port})"
            )
            out.extend((via, b.pod, b.port, b.protocol) for b in r.backends if b.pod is not None)
        for d in self.result.direct:
            if d.pod is not None:
                port = d.container_port.port if d.container_port else d.port
                via = f"the controller's pod by {'+'.join(d.vias)} {self.address}:{d.port}"
                out.append((via, d.pod, port, d.protocol))
        return out


def published(addresses: tuple[str, ...], dialled: str | None) -> tuple[str, ...]:
    """The addresses a request reaches the controller on: the one dialled, else those published."""
    return (dialled,) if dialled else tuple(dict.fromkeys(a for a in addresses if a))


def receivers(
    idx: Index, addresses: tuple[str, ...], port: int, client_node: str | None = None
) -> list[Receiver]:
    """What receives each address at `port` (TCP: an Ingress or Gateway speaks HTTP)."""
    return [Receiver(a, port, trace(idx, Target(a, port, "TCP"), client_node)) for a in addresses]


def received(rs: list[Receiver]) -> bool | None:
    """Whether something receives the request: None when no address is one kinspect read.

    An address no node, service or pod holds (an external load balancer that no Service
    reports) is unknown: what receives it was not read.
    """
    known = [r for r in rs if r.known]
    if not known:
        return None
    return any(r.received for r in known)


@dataclass(frozen=True, slots=True)
class Controller:
    """The controller's Service(s) for a set of published addresses, and by which rule."""

    services: tuple[Service, ...] = ()
    rule: str = ""  # "holds 198.51.100.12 as load-balancer ingress", "node IP: only NodePort..."
    unknown: str | None = None  # "controller unknown: 2 candidate services (a/x, b/y)"


def _owns(svc: Service) -> dict[str, str]:
    out = {ip: "ClusterIP" for ip in svc.cluster_ips}
    out.update({ip: "externalIP" for ip in svc.external_ips})
    out.update({i.address: "load-balancer ingress" for i in svc.load_balancer_ingress if i.address})
    return out


_WEB_NAMES = ("http", "https")


def web_port(p: ServicePort) -> bool:
    """An HTTP(S) port on a nodePort: 80 or 443, named http/https, or appProtocol http/https."""
    if p.protocol != "TCP" or p.node_port is None:
        return False
    return (
        p.port in (80, 443)
        or (p.name or "").lower() in _WEB_NAMES
        or (p.app_protocol or "").lower() in _WEB_NAMES
    )


def backend_services(idx: Index) -> set[tuple[str, str]]:
    """Every Service an Ingress or a route names as a backend: served, not serving."""
    out: set[tuple[str, str]] = set()
    for ing in idx.snapshot.ingresses:
        bs = [p.backend for r in ing.rules for p in r.paths]
        if ing.default_backend is not None:
            bs.append(ing.default_backend)
        out.update((ing.namespace, b.service) for b in bs if b.service)
    for gp in gateway_match.gateway_paths(idx):
        out.update((r.service.namespace, r.service.name) for r in gp.refs if r.service)
    return out


def node_ips(idx: Index) -> set[str]:
    """Every node's IP (InternalIP, ExternalIP): where a node-IP status points."""
    return {a.address for n in idx.snapshot.nodes for a in n.ips()}


class Controllers:
    """`controller_of` for many sets of published addresses, on one index built once.

    Every Service's addresses and the nodePort candidates are gathered in one pass, and each
    set of addresses answered once: a cluster whose every Ingress has its own load balancer
    (one per Ingress, as some cloud controllers do) costs one pass, not one per Ingress.
    """

    def __init__(self, idx: Index, served: set[tuple[str, str]] | None = None) -> None:
        self._idx = idx
        self._served = served
        self._owners: dict[str, list[tuple[Service, str]]] = {}
        for svc in idx.snapshot.services:
            for addr, kind in _owns(svc).items():
                self._owners.setdefault(addr, []).append((svc, kind))
        self._nodes = node_ips(idx)
        self._candidates: list[Service] | None = None
        self._answers: dict[tuple[str, ...], Controller] = {}

    def candidates(self) -> list[Service]:
        """NodePort/LoadBalancer Services with an HTTP(S) nodePort that nothing routes to."""
        if self._candidates is None:
            served = backend_services(self._idx) if self._served is None else self._served
            self._candidates = [
                s
                for s in self._idx.snapshot.services
                if s.type in ("NodePort", "LoadBalancer")
                and (s.namespace, s.name) not in served
                and any(web_port(p) for p in s.ports)
            ]
        return self._candidates

    def of(self, addresses: tuple[str, ...]) -> Controller:
        """The controller's Service for published addresses (the module's docstring: the rule)."""
        if addresses not in self._answers:
            self._answers[addresses] = self._of([a for a in addresses if a])
        return self._answers[addresses]

    def _of(self, addrs: list[str]) -> Controller:
        if not addrs:
            return Controller(unknown="controller unknown: no published address (status)")
        held: dict[tuple[str, str], Service] = {}
        why: list[str] = []
        for a in addrs:
            for svc, kind in self._owners.get(a, ()):
                if (svc.namespace, svc.name) not in held:
                    held[(svc.namespace, svc.name)] = svc
                    why.append(f"{svc.namespace}/{svc.name} holds {a} as {kind}")
        if held:
            return Controller(tuple(held.values()), "; ".join(why))
        on_node = [a for a in addrs if a in self._nodes]
        if not on_node:
            return Controller(
                unknown=f"controller unknown: no Service or node holds {', '.join(addrs)}"
            )
        candidates = self.candidates()
        ns = self._idx.snapshot.read_namespace
        where = f" of namespace {ns} (only it was read: -n {ns})" if ns is not None else ""
        if len(candidates) == 1:
            s = candidates[0]
            return Controller(
                (s,),
                f"{on_node[0]} is a node IP; {s.namespace}/{s.name} is the only {s.type} Service"
                f"{where} with an HTTP(S) nodePort that no Ingress or route names as a backend",
            )
        if not candidates:
            return Controller(
                unknown=(
                    f"controller unknown: {on_node[0]} is a node IP and no NodePort or "
                    "LoadBalancer Service has an HTTP(S) nodePort (a hostNetwork or hostPort "
                    "controller shows in a trace of the address and port)"
                )
            )
        names = ", ".join(f"{s.namespace}/{s.name}" for s in candidates[:3])
        more = f" and {len(candidates) - 3} more" if len(candidates) > 3 else ""
        return Controller(
            unknown=(
                f"controller unknown: {len(candidates)} candidate services ({names}{more}) have "
                f"an HTTP(S) nodePort on node IP {on_node[0]}"
            )
        )


def controller_of(
    idx: Index, addresses: tuple[str, ...], served: set[tuple[str, str]] | None = None
) -> Controller:
    """The controller's Service for one set of published addresses (many: `Controllers`)."""
    return Controllers(idx, served).of(addresses)


def ingresses_behind(idx: Index, rs: list[Receiver]) -> list[Ingress]:
    """The Ingresses whose controller's Service receives the dialled address and port.

    `trace NODE_IP:NODEPORT --host H` on a controller's frontend that no Ingress publishes
    (another node, the nodePort itself): its Ingresses, found through `controller_of`.
    """
    return ingresses_of(idx, {r.service for x in rs for r in x.result.routes})


def ingresses_of(idx: Index, entered: set[str]) -> list[Ingress]:
    """The Ingresses whose controller's Service is one of `entered` (`namespace/name`)."""
    if not entered:
        return []
    ctl = Controllers(idx)
    out: list[Ingress] = []
    for ing in sorted(idx.snapshot.ingresses, key=lambda i: (i.namespace, i.name)):
        c = ctl.of(tuple(a.address for a in ing.addresses))
        if any(f"{s.namespace}/{s.name}" in entered for s in c.services):
            out.append(ing)
    return out


@dataclass(frozen=True, slots=True)
class FirstHop:
    """A URL trace's first hop: what receives the address:port, and the controller's Service."""

    port: int
    receivers: tuple[Receiver, ...]
    controller: Controller
    # "unknown, because ...": only one namespace was read (-n), so a Service or a hostPort pod
    # of another namespace may receive what nothing read receives.
    unread: str | None = None

    @property
    def received(self) -> bool | None:
        got = received(list(self.receivers))
        return None if got is False and self.unread else got

    def pods(self) -> list[tuple[str, PodRef, int, Protocol]]:
        """Every pod the first hop lands on (the controller's), with how."""
        return [p for r in self.receivers if r.received for p in r.pods()]


def first_hop(
    idx: Index,
    port: int,
    addresses: tuple[str, ...],
    dialled: str | None,
    client_node: str | None = None,
) -> FirstHop:
    """The first hop of a request to `addresses` (published) or `dialled` at `port`."""
    addrs = published(addresses, dialled)
    rs = receivers(idx, addrs, port, client_node)
    ns = idx.snapshot.read_namespace
    unread = (
        f"unknown, because only namespace {ns} was read (-n {ns}): a Service or a hostPort "
        "pod of another namespace may receive it (-A reads them all)"
        if ns is not None
        else None
    )
    return FirstHop(port, tuple(rs), controller_of(idx, addresses or addrs), unread)
