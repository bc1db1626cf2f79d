"""The chain as a graph for the picture formats (DOT, Mermaid).

Entry points → service ports → backends (pods) → containers. Pure: chains in, nodes and edges
out; the formats only spell it. Given the cluster's entry points (`edge.entry.entrypoints`),
traffic starts where it starts: each host and path of an Ingress or route is drawn, from its
controller's Service when that is known (`edge.controller.controller_of`), into the service
port it lands on; the controller's own service ports (when drawn) lead to the controller.

Big namespaces stay readable: backends of one service port that land on the same container
name and port, in the same state, are drawn one by one up to `SHOWN` and then as one "+N more"
node. Broken hops are marked: a not-ready backend, a port no container declares, a node that
drops nodePort traffic (externalTrafficPolicy Local without a local ready endpoint).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from kinspect.edge.controller import web_port
from kinspect.edge.entry import Entrypoint
from kinspect.model.values import host_port
from kinspect.path import reasons
from kinspect.path.chain import Backend, PortChain, ServiceChain
from kinspect.render.words import port_label

NodeKind = Literal["entry", "port", "backend", "container", "more", "route", "controller"]
Mark = Literal["ok", "broken", "dropping"]

SHOWN = 3  # backends drawn one by one per group before "+N more"

LEGEND: tuple[tuple[Mark, str], ...] = (
    ("ok", "traffic flows"),
    ("broken", "not ready, no endpoint, or a port no container declares"),
    ("dropping", "some nodes drop it (externalTrafficPolicy Local, no local ready endpoint)"),
)


@dataclass(frozen=True, slots=True)
class Node:
    id: str
    kind: NodeKind
    label: str
    mark: Mark = "ok"
    group: str = ""  # the service ("namespace/name") the node belongs to


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    target: str
    label: str
    mark: Mark = "ok"


@dataclass
class Graph:
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    _ids: dict[tuple[str, ...], str] = field(default_factory=dict)

    def node(self, key: tuple[str, ...], kind: NodeKind, label: str, **kw: str) -> str:
        """The id of the node `key`, added on first use (a container shared by ports is one)."""
        key = (kind, *key)  # kinds never share a node, whatever their names
        if key not in self._ids:
            self._ids[key] = f"n{len(self._ids)}"
            self.nodes.append(Node(self._ids[key], kind, label, **kw))  # type: ignore[arg-type]
        return self._ids[key]


def _mapping(pc: PortChain, b: Backend) -> str:
    """`80→http=8080/TCP`: service port, the targetPort as written, the number it reached."""
    p = pc.port
    named = f"{p.target_port}=" if isinstance(p.target_port, str) else ""
    return f"{p.port}→{named}{b.port}/{b.protocol}"


def _entries(g: Graph, svc: str, pc: PortChain, port_id: str) -> None:
    nodeports = [f for f in pc.frontends if f.kind == "NodePort"]
    for f in pc.frontends:
        if f.kind == "NodePort":
            continue
        entry = g.node(
            (svc, f.kind, f.address, str(f.port)),
            "entry",
            f"{f.kind} {host_port(f.address, f.port)}",
        )
        g.edges.append(Edge(entry, port_id, str(f.port)))
    if nodeports:
        answering = sum(1 for f in nodeports if f.answers)
        mark: Mark = "ok" if answering == len(nodeports) else "dropping"
        if answering == 0:
            mark = "broken"
        np = nodeports[0].port
        label = f"NodePort :{np} ({answering}/{len(nodeports)} node IPs answer)"
        entry = g.node((svc, "NodePort", str(np)), "entry", label, mark=mark)
        g.edges.append(Edge(entry, port_id, str(np), mark))


def _backend_mark(b: Backend) -> Mark:
    return "ok" if b.ready and b.container_port is not None else "broken"


def _routes(g: Graph, entries: Sequence[Entrypoint], drawn: set[str]) -> None:
    """Each host and path into the service port it lands on, from its controller if known.

    Only into the ports drawn (an entry point of another service is not this picture's). An
    unknown controller is not drawn: the host and path then names its published addresses.
    """
    seen: set[tuple[str, str]] = set()

    def edge(source: str, target: str, label: str) -> None:
        if (source, target) not in seen:
            seen.add((source, target))
            g.edges.append(Edge(source, target, label))

    for e in entries:
        if e.service is None or e.port is None:
            continue
        svc = f"{e.service.namespace}/{e.service.name}"
        port_id = g._ids.get(("port", svc, "port", str(e.port.port.port), e.port.port.protocol))
        if port_id is None:
            continue
        c = e.controller
        known = c is not None and bool(c.services)
        at = "" if known or not e.addresses else f" at {', '.join(e.addresses)}"
        rid = g.node(
            (e.kind, e.namespace, e.name, e.host, e.path),
            "route",
            f"{e.kind} {e.namespace}/{e.name}: {e.host} {e.path}{at}",
            group=svc,
        )
        share = f" ({e.share:.0%})" if e.share is not None and e.share < 1 else ""
        edge(rid, port_id, f"{e.port.port.port}{share}")
        for cs in c.services if c is not None else ():
            name = f"{cs.namespace}/{cs.name}"
            cid = g.node(("controller", name), "controller", f"controller {name}")
            edge(cid, rid, e.via)
            if name not in drawn:
                continue
            for p in cs.ports:
                pid = g._ids.get(("port", name, "port", str(p.port), p.protocol))
                if pid is not None and web_port(p):
                    edge(pid, cid, "its pods proxy")


def graph(chains: list[ServiceChain], entries: Sequence[Entrypoint] = ()) -> Graph:
    """The graph of every service port of `chains`, and the entry points into them."""
    g = Graph()
    for c in chains:
        s = c.service
        svc = f"{s.namespace}/{s.name}"
        for pc in c.ports:
            port_id = g.node(
                (svc, "port", str(pc.port.port), pc.port.protocol),
                "port",
                f"{svc} {port_label(pc)}",
                group=svc,
            )
            if s.type == "ExternalName":
                cname = g.node((svc, "cname"), "entry", f"CNAME {s.external_name}")
                g.edges.append(Edge(port_id, cname, "DNS"))
                continue
            _entries(g, svc, pc, port_id)
            groups: defaultdict[tuple[str, int, Mark], list[Backend]] = defaultdict(list)
            for b in pc.backends:
                groups[(b.container or "", b.port, _backend_mark(b))].append(b)
            for (container, number, mark), backends in groups.items():
                for b in backends[:SHOWN]:
                    who = str(b.pod) if b.pod else "(no pod)"
                    state = "" if b.ready else " not ready"
                    bid = g.node(
                        (svc, "backend", b.address, str(b.port)),
                        "backend",
                        f"{who} {host_port(b.address, b.port)}{state}",
                        mark=mark,
                        group=svc,
                    )
                    g.edges.append(Edge(port_id, bid, _mapping(pc, b), mark))
                    if b.container_port is not None and b.pod is not None:
                        cp = b.container_port
                        name = f" ({cp.name})" if cp.name else ""
                        cid = g.node(
                            (str(b.pod), cp.container, str(cp.port), cp.protocol),
                            "container",
                            f"container {cp.container}:{cp.port}{name}",
                            group=svc,
                        )
                        g.edges.append(Edge(bid, cid, f"{cp.port}/{cp.protocol}"))
                more = len(backends) - SHOWN
                if more > 0:
                    what = f"container {container}:{number}" if container else f"port {number}"
                    mid = g.node(
                        (svc, "more", container, str(number), mark),
                        "more",
                        f"+{more} more → {what}",
                        mark=mark,
                        group=svc,
                    )
                    g.edges.append(Edge(port_id, mid, _mapping(pc, backends[SHOWN]), mark))
            for nb in pc.not_backends:
                if any(b.pod == nb.pod for b in pc.backends):
                    continue
                nid = g.node(
                    (svc, "nobackend", str(nb.pod)),
                    "backend",
                    f"{nb.pod}: {reasons.not_backend(nb)}",
                    mark="broken",
                    group=svc,
                )
                g.edges.append(Edge(port_id, nid, "no endpoint", "broken"))
    drawn = {f"{c.service.namespace}/{c.service.name}" for c in chains}
    _routes(g, entries, drawn)
    return g
