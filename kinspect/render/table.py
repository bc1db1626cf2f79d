"""Tables for `map` (one row per backend) and `ips`. Return rich renderables; never print."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import assert_never

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from kinspect.edge.entry import Entrypoint, PortKey, short
from kinspect.model.values import PodRef, host_port
from kinspect.path import reasons
from kinspect.path.chain import Backend, Frontend, PortChain, ServiceChain
from kinspect.path.inventory import Inventory
from kinspect.policy.netpol import Isolation
from kinspect.render.safe import plain
from kinspect.render.words import (
    consumer_short,
    hints_label,
    port_label,
    through_controller,
    topology_lines,
)

# The rows of a service that just changed (`map --watch` at a terminal).
HIGHLIGHT = "reverse"


def frontends_summary(pc: PortChain, wide: bool) -> str:
    """One short line per frontend; the ClusterIP's port is the service port (PORT column).

    NodePorts collapse to one line saying on how many nodes they answer, unless `wide`.
    Cluster text arrives escaped (`safe.plain`); the lines are joined by real newlines.
    """
    lines = []
    nodeports: list[Frontend] = []
    for f in pc.frontends:
        match f.kind:
            case "NodePort":
                nodeports.append(f)
            case "ClusterIP":
                # internalTrafficPolicy Local: from how many nodes it answers.
                ok = sum(n.answers for n in f.from_nodes)
                local = f" local {ok}/{len(f.from_nodes)}" if f.from_nodes else ""
                lines.append(plain(f.address) + local)
            case "LoadBalancer":
                lines.append(f"lb {plain(f.address)}")
            case "ExternalIP":
                lines.append(f"ext {plain(f.address)}")
            case _:
                # A new frontend kind is a type error here until it has a label.
                assert_never(f.kind)
    if nodeports:
        if wide:
            lines.extend(
                plain(host_port(f.address, f.port)) + ("" if f.answers else " drops")
                for f in nodeports
            )
        else:
            answering = {f.node for f in nodeports if f.answers}
            nodes = {f.node for f in nodeports}
            lines.append(f"node:{nodeports[0].port} {len(answering)}/{len(nodes)}")
    return "\n".join(lines) or "-"


def _state(b: Backend, iso: Isolation | None = None) -> Text:
    if b.ready:
        t = Text("ready", style="green")
    elif b.terminating:
        t = Text("terminating" + (" (serving)" if b.serving else ""), style="yellow")
    else:
        t = Text("not ready", style="red")
    if b.host_network:
        t.append(", hostNetwork", style="cyan")
    if b.container_port and b.container_port.sidecar:
        t.append(", sidecar", style="cyan")
    if b.for_nodes or b.for_zones:
        # The slice's topology hints: which nodes (or zones) should use this endpoint.
        hint = f"node {', '.join(b.for_nodes)}" if b.for_nodes else ", ".join(b.for_zones)
        t.append(f", for {plain(hint)}", style="cyan")
    match iso.ingress_mark(str(b.pod)) if iso is not None and b.pod is not None else None:
        case "plugin-unknown":  # a network plugin's policy may apply (issue 23)
            t.append(", policy unknown", style="yellow")
        case "admits-all":  # selected, nothing denied
            t.append(", policy admits all", style="dim")
        case "isolated":
            t.append(", isolated", style="magenta")
        case None:
            pass
    return t


def _container(b: Backend) -> str:
    """The container declaring the backend's port (same number, so only its name)."""
    if b.container_port is None:
        if b.pod_found:
            return "(undeclared)"
        return "-" if not b.pod else "(pod not read)" if b.pod_unknown else "(pod missing)"
    return plain(b.container_port.container)


def _pod_name(ref: PodRef | None, namespace: str) -> str:
    if ref is None:
        return "-"
    return plain(ref.name if ref.namespace == namespace else str(ref))


def _cells(*cells: str | Text) -> list[Text]:
    """Table cells as `Text`: a str cell is never parsed as rich markup (`[/]` in a name)."""
    return [c if isinstance(c, Text) else Text(c) for c in cells]


def _policies(b: Backend, iso: Isolation | None) -> str:
    """-o wide's POLICIES cell: the policies isolating the backend pod for ingress."""
    if iso is None or b.pod is None:
        return "-"
    if not iso.known_at(str(b.pod)):
        return "unknown"
    return plain(", ".join(iso.by_pod.get(str(b.pod), ()))) or "-"


def map_table(
    chains: list[ServiceChain],
    wide: bool = False,
    entries: Mapping[PortKey, list[Entrypoint]] | None = None,
    isolation: Isolation | None = None,
    highlight: Collection[tuple[str, str]] = (),
    whole: bool = False,
    namespace_column: bool = False,
) -> Table:
    """One row per backend (and per pod that gets no endpoint), grouped by service port.

    `whole` (off a terminal: a pipe, a file): every row stands alone, as kubectl's, so that
    `kinspect map -A | grep POD` finds rows that say everything: the namespace
    (`namespace_column`, for -A), service, TYPE (with the service's notes) and port on each,
    the frontends on one line. At a terminal the service is named once, its notes below it.

    `highlight`: (namespace, name) of services whose rows stand out (`--watch`: just changed).

    With `isolation`, a backend pod that NetworkPolicies isolate for ingress is marked
    "isolated" in STATE, and `wide` names the policies in a POLICIES column.

    `entries`: the Ingress paths and Gateway routes that enter each port, shown under its
    frontends (`← ingress shop shop.example.com/api`).
    """
    namespaced = len({c.service.namespace for c in chains}) == 1
    if whole:
        namespaced = not namespace_column
    # No cell ever wraps (a folded name defeats grep, like kubectl's tables): off a terminal the
    # console has no width, at a terminal a cell too long ends in an ellipsis.
    t = Table(box=None, pad_edge=False, header_style="bold", show_edge=False, padding=(0, 1, 0, 0))
    heads: tuple[str, ...] = ("SERVICE", "PORT", "FRONTENDS", "BACKEND", "POD", "CONTAINER")
    if whole:
        heads = ("NAMESPACE",) * namespace_column + ("SERVICE", "TYPE", *heads[1:])
    for col in heads:
        t.add_column(col, no_wrap=True, overflow="ellipsis")
    if wide:
        t.add_column("NODE", no_wrap=True, overflow="ellipsis")
    t.add_column("STATE", no_wrap=True, overflow="ellipsis")
    if wide:
        t.add_column("POLICIES", no_wrap=True, overflow="ellipsis")
    for c in chains:
        s = c.service
        style = HIGHLIGHT if (s.namespace, s.name) in highlight else None
        kind = "Headless" if s.headless else s.type
        notes: list[str] = [kind]
        if hints_label(s):
            # A label: which endpoints each node uses follows the slices' hints (FRONTENDS).
            notes.append(plain(hints_label(s).split()[-1]))
        if wide and s.publish_not_ready_addresses:
            notes.append("publishNotReady")
        if (timeout := s.affinity_seconds) is not None:
            notes.append(f"affinity ClientIP {timeout}s")
        if s.load_balancer_source_ranges:
            notes.append(
                "sourceRanges " + plain(",".join(r.strip() for r in s.load_balancer_source_ranges))
            )
        elif s.source_ranges_annotation is not None:
            notes.append("sourceRanges: annotation only (cloud LB)")
        # What the API server calls through this service (APIServices, webhooks).
        notes += [f"← {plain(consumer_short(u))}" for u in c.consumers]
        if whole:
            # Whole rows: the namespace and service on every row, the notes in TYPE.
            lead = [plain(s.namespace)] if namespace_column else []
            svc_cells: list[str] = [*lead, plain(s.name), ",".join(notes)]
        else:
            # The common type goes unsaid; the others are worth a line of their own.
            if kind == "ClusterIP":
                notes = notes[1:]
            svc = plain(s.name if namespaced else f"{s.namespace}/{s.name}")
            svc_cells = ["\n".join([svc, *notes])]
        blank = [""] * len(svc_cells)
        sep = "," if whole else "\n"
        if s.type == "ExternalName":
            t.add_row(
                *_cells(
                    *svc_cells,
                    plain(", ".join(port_label(pc) for pc in c.ports)) or "-",
                    f"CNAME {plain(s.external_name or '')}",
                    "-",
                    "-",
                    "-",
                    *([""] if wide else []),
                    Text("DNS only", style="dim"),
                    *([""] if wide else []),
                ),
                style=style,
            )
            continue
        for n, pc in enumerate(c.ports):
            # The service is named once, on its first port's row (every row, when whole).
            fronts = frontends_summary(pc, wide).split("\n")
            if c.health_checks and n == 0:
                ok = {h.node for h in c.health_checks if h.status == 200}
                nodes = {h.node for h in c.health_checks}
                fronts.append(f"hc:{c.health_checks[0].port} {len(ok)}/{len(nodes)}")
            if pc.topology:
                # Topology hints: on how many nodes kube-proxy uses a same-zone or same-node
                # subset (the others use every endpoint); -o wide names each node's.
                narrowed = sum(t.mode is not None for t in pc.topology)
                fronts.append(f"hints {narrowed}/{len(pc.topology)}")
                if wide:
                    fronts += [plain(line) for line in topology_lines(pc.topology)]
            # One line per host and path (a route on two listeners enters the port once).
            ins = (entries or {}).get((s.namespace, s.name, pc.port.port), ())
            lines = dict.fromkeys(f"{short(e)}{through_controller(e)}" for e in ins)
            fronts += [f"← {plain(line)}" for line in lines]
            label = plain(port_label(pc))
            if wide and pc.port.app_protocol:
                label += f"{' ' if whole else chr(10)}({plain(pc.port.app_protocol)})"
            first = [*(svc_cells if n == 0 or whole else blank), label, sep.join(fronts)]
            rows: list[list[str | Text]] = []
            for b in pc.backends:
                rows.append(
                    [
                        plain(host_port(b.address, b.port)),
                        _pod_name(b.pod, s.namespace),
                        _container(b),
                        *([plain(b.node or "-")] if wide else []),
                        _state(b, isolation),
                        *([_policies(b, isolation)] if wide else []),
                    ]
                )
            for nb in pc.not_backends:
                if any(b.pod == nb.pod for b in pc.backends):
                    continue  # already shown above with its state
                rows.append(
                    [
                        "-",
                        _pod_name(nb.pod, s.namespace),
                        "-",
                        *([plain(nb.node or "-")] if wide else []),
                        Text(f"NO ENDPOINT: {plain(reasons.not_backend(nb))}", style="red"),
                        *(["-"] if wide else []),
                    ]
                )
            if not rows:
                why = "no selector, no endpoints" if s.selector is None else "selects no pods"
                end: list[str | Text] = ["-"] if wide else []
                rows.append(["-", "-", "-", *end, Text(why, style="red"), *end])
            for i, r in enumerate(rows):
                lead_cells = first if i == 0 or whole else [*blank, "", ""]
                t.add_row(*_cells(*lead_cells, *r), style=style)
    return t


def _controller_cell(e: Entrypoint) -> str:
    """The controller's Service, "unknown" (several candidates, none) or "-" (no address)."""
    c = e.controller
    if c is None:
        return "-"
    if not c.services:
        return "unknown"
    return ", ".join(f"{plain(s.namespace)}/{plain(s.name)}" for s in c.services)


def entrypoints_table(eps: list[Entrypoint]) -> Table:
    """`map --entrypoints`: every host and path of the cluster and where it lands."""
    t = Table(box=None, pad_edge=False, header_style="bold", show_edge=False, padding=(0, 1, 0, 0))
    for col in ("HOST", "PATH", "ENTRY", "VIA", "CONTROLLER", "SERVICE", "WEIGHT", "READY"):
        t.add_column(col, no_wrap=True, overflow="ellipsis")
    for e in sorted(eps, key=lambda e: (e.host, e.path, e.kind, e.namespace, e.name)):
        target = (
            f"{plain(e.service.namespace)}/{plain(e.service.name)}:{e.port.port.port}"
            if e.service is not None and e.port is not None
            else "-"
        )
        weight = (
            f"{e.weight} ({e.share:.0%})" if e.weight is not None and e.share is not None else "-"
        )
        if e.problem:
            ready = Text(plain(e.problem), style="red")
        elif e.unknown:
            ready = Text(plain(e.unknown), style="yellow")
        else:
            ready = Text(f"{e.ready}/{e.total}", style="green" if e.ready else "red")
        t.add_row(
            *_cells(
                plain(e.host), plain(e.path), f"{e.kind} {plain(e.namespace)}/{plain(e.name)}",
                plain(e.via), _controller_cell(e), target, weight, ready,
            )
        )  # fmt: skip
    return t


def ips_tables(inv: Inventory) -> RenderableType:
    """Render the IP inventory as tables, one per kind of address."""
    nodes = Table(title="Node IPs", title_justify="left", box=None, header_style="bold")
    for col in ("NODE", "InternalIP", "ExternalIP", "podCIDRs", "READY"):
        nodes.add_column(col)
    for n in inv.nodes:
        by = {
            t: ", ".join(a.address for a in n.addresses if a.type == t) or "-"
            for t in ("InternalIP", "ExternalIP")
        }
        nodes.add_row(
            *_cells(
                plain(n.name),
                plain(by["InternalIP"]),
                plain(by["ExternalIP"]),
                plain(", ".join(n.pod_cidrs)) or "-",
                "yes" if n.ready else "no",
            )
        )
    svcs = Table(title="Cluster IPs", title_justify="left", box=None, header_style="bold")
    for col in ("SERVICE", "TYPE", "CLUSTER-IPs"):
        svcs.add_column(col)
    rows = [(s, ", ".join(s.cluster_ips)) for s in inv.cluster_ip_services]
    rows += [(s, "None (headless)") for s in inv.headless_services]
    for s, ips in sorted(rows, key=lambda r: (r[0].namespace, r[0].name)):
        svcs.add_row(*_cells(plain(f"{s.namespace}/{s.name}"), s.type, plain(ips)))
    ext = Table(
        title="Load-balancer and external IPs", title_justify="left", box=None, header_style="bold"
    )
    for col in ("SERVICE", "KIND", "ADDRESS"):
        ext.add_column(col)
    for svc, addr in inv.lb_ingress:
        ext.add_row(*_cells(plain(svc), "LoadBalancer ingress", plain(addr)))
    for svc, addr in inv.external_ips:
        ext.add_row(*_cells(plain(svc), "externalIP", plain(addr)))
    entries = Table(
        title="Ingress and Gateway addresses",
        title_justify="left",
        box=None,
        header_style="bold",
    )
    for col in ("ENTRY", "ADDRESS"):
        entries.add_column(col)
    for kind, name, addr in inv.entry_addresses:
        entries.add_row(*_cells(f"{kind} {plain(name)}", plain(addr)))
    pods = Table(
        title="Pod IPs (one network namespace per pod: its containers share the IP)",
        title_justify="left",
        box=None,
        header_style="bold",
    )
    for col in ("POD IP", "POD", "NODE", "CONTAINERS"):
        pods.add_column(col, overflow="fold")
    for p in inv.pods:
        ip = plain(", ".join(p.pod_ips)) + (" (hostNetwork = node IP)" if p.host_network else "")
        pods.add_row(
            *_cells(
                ip,
                plain(f"{p.namespace}/{p.name}"),
                plain(p.node_name or "-"),
                "\n".join(
                    [
                        *(f"└ {plain(c)} (init)" for c in p.init_containers),
                        *(f"└ {plain(c)}" for c in p.containers),
                    ]
                ),
            )
        )
    alloc = Table(title="Who allocates what", title_justify="left", box=None, header_style="bold")
    alloc.add_column("ADDRESS")
    alloc.add_column("ALLOCATED BY", overflow="fold")
    for k, v in inv.allocators:
        alloc.add_row(*_cells(plain(k), plain(v)))
    parts: list[RenderableType] = [nodes, Text(""), svcs, Text("")]
    if inv.lb_ingress or inv.external_ips:
        parts += [ext, Text("")]
    if inv.entry_addresses:
        parts += [entries, Text("")]
    parts.append(pods)
    if waiting := inv.pods_without_ip:
        parts.append(
            Text(f"{waiting} pod{' has' if waiting == 1 else 's have'} no IP yet (pending)")
        )
    parts += [Text(""), alloc]
    return Group(*parts)
