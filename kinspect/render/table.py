"""Tables for `map` (one row per backend) and `ips`. Return rich renderables; never print."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from kinspect.chain import Backend, Frontend, PortChain, ServiceChain
from kinspect.inventory import Inventory


def port_label(pc: PortChain) -> str:
    p = pc.port
    name = f"{p.name}:" if p.name else ""
    return f"{name}{p.port}/{p.protocol}→{p.target_port}" if p.target_port is not None else (
        f"{name}{p.port}/{p.protocol}"
    )


def frontends_summary(pc: PortChain, wide: bool) -> str:
    """ClusterIPs in full; NodePort as one line with how many node addresses answer."""
    lines = []
    nodeports: list[Frontend] = []
    for f in pc.frontends:
        if f.kind == "NodePort":
            nodeports.append(f)
        elif f.kind == "ClusterIP":
            lines.append(f"{f.address}:{f.port}")
        else:
            tag = "lb" if f.kind == "LoadBalancer" else "ext"
            lines.append(f"{tag} {f.address}:{f.port}")
    if nodeports:
        if wide:
            lines.extend(
                f"node {f.address}:{f.port}" + ("" if f.answers else " (drops)") for f in nodeports
            )
        else:
            answering = {f.node for f in nodeports if f.answers}
            nodes = {f.node for f in nodeports}
            lines.append(f"*:{nodeports[0].port} on {len(answering)}/{len(nodes)} nodes")
    return "\n".join(lines) or "-"


def _state(b: Backend) -> Text:
    if b.ready:
        return Text("ready", style="green")
    if b.terminating:
        return Text("terminating" + (" (serving)" if b.serving else ""), style="yellow")
    return Text("not ready", style="red")


def _container(b: Backend) -> str:
    if b.container_port is None:
        return "(none declares)" if b.pod_found else ("(pod missing)" if b.pod else "-")
    cp = b.container_port
    name = f" ({cp.name})" if cp.name else ""
    side = " sidecar" if cp.sidecar else ""
    return f"{cp.container}:{cp.port}{name}{side}"


def map_table(chains: list[ServiceChain], wide: bool = False) -> Table:
    t = Table(box=None, pad_edge=False, header_style="bold", show_edge=False)
    t.add_column("SERVICE", overflow="fold")
    t.add_column("TYPE")
    t.add_column("PORT", overflow="fold")
    t.add_column("FRONTENDS", overflow="fold")
    t.add_column("BACKEND", overflow="fold")
    t.add_column("POD", overflow="fold")
    t.add_column("CONTAINER", overflow="fold")
    if wide:
        t.add_column("NODE")
    t.add_column("STATE", overflow="fold")
    for c in chains:
        s = c.service
        svc = f"{s.namespace}/{s.name}"
        stype = "Headless" if s.headless else s.type
        if s.type == "ExternalName":
            t.add_row(svc, stype, ", ".join(port_label(pc) for pc in c.ports) or "-",
                      f"CNAME {s.external_name}", "-", "-", "-", *([""] if wide else []),
                      Text("DNS only", style="dim"))
            continue
        for pc in c.ports:
            first = [svc, stype, port_label(pc), frontends_summary(pc, wide)]
            rows: list[list[str | Text]] = []
            for b in pc.backends:
                tag = " hostNet" if b.host_network else ""
                rows.append([f"{b.address}:{b.port}{tag}", str(b.pod) if b.pod else "-",
                             _container(b), *([b.node or "-"] if wide else []), _state(b)])
            for nb in pc.not_backends:
                if any(b.pod == nb.pod for b in pc.backends):
                    continue  # already shown above with its state
                rows.append(["-", str(nb.pod), "-", *([nb.node or "-"] if wide else []),
                             Text(f"no endpoint: {nb.reason}", style="red")])
            if not rows:
                why = "no selector, no endpoints" if s.selector is None else "selects no pods"
                rows.append(["-", "-", "-", *(["-"] if wide else []), Text(why, style="red")])
            for i, r in enumerate(rows):
                t.add_row(*(first if i == 0 else ["", "", "", ""]), *r)
    return t


def ips_tables(inv: Inventory) -> RenderableType:
    nodes = Table(title="Node IPs", title_justify="left", box=None, header_style="bold")
    for col in ("NODE", "InternalIP", "ExternalIP", "podCIDRs", "READY"):
        nodes.add_column(col)
    for n in inv.nodes:
        by = {t: ", ".join(a.address for a in n.addresses if a.type == t) or "-"
              for t in ("InternalIP", "ExternalIP")}
        nodes.add_row(n.name, by["InternalIP"], by["ExternalIP"], ", ".join(n.pod_cidrs) or "-",
                      "yes" if n.ready else "no")
    svcs = Table(title="Cluster IPs", title_justify="left", box=None, header_style="bold")
    for col in ("SERVICE", "TYPE", "CLUSTER-IPs"):
        svcs.add_column(col)
    for s in inv.cluster_ip_services:
        svcs.add_row(f"{s.namespace}/{s.name}", s.type, ", ".join(s.cluster_ips))
    ext = Table(title="Load-balancer and external IPs", title_justify="left", box=None,
                header_style="bold")
    for col in ("SERVICE", "KIND", "ADDRESS"):
        ext.add_column(col)
    for svc, addr in inv.lb_ingress:
        ext.add_row(svc, "LoadBalancer ingress", addr)
    for svc, addr in inv.external_ips:
        ext.add_row(svc, "externalIP", addr)
    pods = Table(title="Pod IPs (one network namespace per pod: its containers share the IP)",
                 title_justify="left", box=None, header_style="bold")
    for col in ("POD IP", "POD", "NODE", "CONTAINERS"):
        pods.add_column(col, overflow="fold")
    for p in inv.pods:
        ip = ", ".join(p.pod_ips) + (" (hostNetwork = node IP)" if p.host_network else "")
        pods.add_row(ip, f"{p.namespace}/{p.name}", p.node_name or "-",
                     "\n".join(f"└ {c}" for c in p.containers))
    alloc = Table(title="Who allocates what", title_justify="left", box=None, header_style="bold")
    alloc.add_column("ADDRESS")
    alloc.add_column("ALLOCATED BY", overflow="fold")
    for k, v in inv.allocators:
        alloc.add_row(k, v)
    parts: list[RenderableType] = [nodes, Text(""), svcs, Text("")]
    if inv.lb_ingress or inv.external_ips:
        parts += [ext, Text("")]
    parts += [pods, Text(""), alloc]
    return Group(*parts)
