"""Trees: `map -o tree` (service → port → frontends/backends) and `trace` hop by hop."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text
from rich.tree import Tree

from kinspect.chain import Backend, ServiceChain
from kinspect.render import reasons
from kinspect.render.safe import plain
from kinspect.render.words import port_label
from kinspect.trace import TraceResult


def _backend_label(b: Backend) -> Text:
    state = "ready" if b.ready else ("terminating" if b.terminating else "NOT READY")
    style = "green" if b.ready else "red"
    t = Text(f"{plain(b.address)}:{b.port}", style="bold")
    t.append(f"  {state}", style=style)
    if b.pod:
        t.append(f"  pod {plain(str(b.pod))}" + (" (missing!)" if not b.pod_found else ""))
    if b.node:
        t.append(f"  on {plain(b.node)}", style="dim")
    if b.host_network:
        t.append("  hostNetwork: address is the node IP", style="cyan")
    return t


def _container_label(b: Backend) -> Text:
    cp = b.container_port
    if cp is None:
        return Text(
            f"no container declares {b.port}/{b.protocol}: traffic reaches whatever listens there",
            style="yellow",
        )
    name = f" ({plain(cp.name)})" if cp.name else ""
    kind = "sidecar " if cp.sidecar else ""
    return Text(f"{kind}container {plain(cp.container)}:{cp.port}{name}/{cp.protocol}")


def map_tree(chains: list[ServiceChain]) -> RenderableType:
    """Render chains as trees: service, port, frontends, backends, containers."""
    trees = []
    for c in chains:
        s = c.service
        head = Text(plain(f"{s.namespace}/{s.name}"), style="bold")
        head.append(f"  {'Headless' if s.headless else s.type}", style="cyan")
        if s.external_traffic_policy == "Local":
            head.append("  externalTrafficPolicy: Local", style="dim")
        tree = Tree(head)
        if s.type == "ExternalName":
            name = plain(s.external_name or "")
            tree.add(Text(f"DNS CNAME → {name} (no ClusterIP, no endpoints)"))
        for pc in c.ports:
            pt = tree.add(Text(f"port {plain(port_label(pc))}", style="bold magenta"))
            if s.type != "ExternalName":
                fronts = pt.add(Text("frontends"))
                for f in pc.frontends:
                    label = f"{f.kind} {plain(f.address)}:{f.port}"
                    if f.node:
                        label += f" (node {plain(f.node)})"
                    if f.answers is False:
                        label += " — drops traffic (no local ready endpoint)"
                    fronts.add(Text(label))
                if not pc.frontends:
                    fronts.add(Text("none (headless: clients use the pod IPs from DNS)"))
            if s.type == "ExternalName":
                continue
            backs = pt.add(Text("backends"))
            for b in pc.backends:
                backs.add(_backend_label(b)).add(_container_label(b))
            if not pc.backends:
                backs.add(Text("none", style="red"))
            listed = {b.pod for b in pc.backends}
            for nb in pc.not_backends:
                if nb.pod not in listed:
                    pt.add(
                        Text(
                            plain(f"pod {nb.pod} gets no endpoint: {reasons.not_backend(nb)}"),
                            style="red",
                        )
                    )
        trees.append(tree)
    return Group(*trees)


def trace_tree(r: TraceResult) -> RenderableType:
    """Render a trace hop by hop."""
    addr = r.target.address
    target = f"{addr}:{r.target.port}" if r.target.port else addr
    root = Tree(Text(plain(target), style="bold"))
    if not r.matches:
        root.add(Text("nothing in this cluster owns or carries this address", style="red"))
        return root
    what = root.add(Text("is"))
    for m in r.matches:
        what.add(Text(f"{m.kind}: {plain(m.detail)}"))
    if r.target.port is None:
        return root
    for rt in r.routes:
        p = rt.port
        e = rt.entry
        head = f"{e.kind} {plain(e.address)}:{e.port} → service {plain(rt.service)} port "
        hop = root.add(Text(f"{head}{p.port}/{p.protocol}", style="bold magenta"))
        if e.answers is False:
            hop.add(
                Text(
                    f"node {plain(e.node or '')} drops it: externalTrafficPolicy Local and "
                    "no local ready endpoint",
                    style="red",
                )
            )
        if e.kind != "ClusterIP" and rt.cluster_ips:
            hop = hop.add(Text(f"ClusterIP {plain(', '.join(rt.cluster_ips))}:{p.port}"))
        hop = hop.add(Text(f"targetPort {plain(str(p.target_port))}"))
        for b in rt.backends:
            hop.add(_backend_label(b)).add(_container_label(b))
        if not rt.backends:
            hop.add(Text("no endpoints: traffic is rejected", style="red"))
    for d in r.direct:
        label = {"PodIP": "pod IP", "HostPort": "hostPort", "HostNetwork": "hostNetwork"}[d.via]
        where = plain(f"{d.pod} on {d.node}")
        node = root.add(Text(f"{label} → pod {where}", style="bold magenta"))
        if d.container_port:
            cp = d.container_port
            node.add(
                Text(
                    f"container {plain(cp.container)}:{cp.port}/{cp.protocol}"
                    + (f" (hostPort {cp.host_port})" if cp.host_port else "")
                )
            )
        else:
            node.add(
                Text(
                    f"no container declares {d.port}: traffic reaches whatever listens "
                    "there (containerPort is informational)",
                    style="yellow",
                )
            )
    if not r.routes and not r.direct:
        root.add(Text(f"nothing receives port {r.target.port} on this address", style="red"))
    return root
