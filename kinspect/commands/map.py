"""`kinspect map`, `ips` and `explain`: every service port's chain in each of map's formats.

Also the cluster's IP inventory, and the four IPs and ports illustrated with its services.
"""

from __future__ import annotations

import shutil
from typing import assert_never

from kinspect.commands.session import (
    SVG_HINT,
    MapFormat,
    Session,
    Target,
    Where,
    emit,
    read,
    svg,
    warnings,
)
from kinspect.commands.watch import WatchOptions, map_watch
from kinspect.edge import entry, gateway
from kinspect.model.errors import ExitCode, NotFoundError, UsageError
from kinspect.model.values import Pod
from kinspect.path import chain, inventory, plan
from kinspect.path.evidence import Evidencer
from kinspect.policy import netpol as policy
from kinspect.render import report


def map_(
    s: Session,
    t: Target,
    w: Where,
    fmt: MapFormat,
    service: str | None,
    selector: str | None,
    entrypoints: bool = False,
    watch: WatchOptions | None = None,
    evidence: bool = False,
) -> ExitCode:
    """The chain of every service port, one row per backend.

    Each port names the Ingress paths and Gateway routes that enter it; `entrypoints`
    (--entrypoints) lists every host and path of the cluster instead, with where it lands.
    `watch` (--watch): follow the chains as they change (`map_watch`). `evidence`
    (--evidence, -o tree only): under each hop, what shows it and the kubectl that prints it.
    """
    if service is not None and not plan.is_service_name(service):
        # Checked before any read: it would go into the LIST's field selector (HTTP 400).
        raise UsageError(
            f"{service!r} is not a service name (lowercase letters, digits and '-', at most 63)",
            "give one service's name, or -l SELECTOR for several",
        )
    if evidence and (fmt is not MapFormat.tree or entrypoints or (watch and watch.watch)):
        raise UsageError(
            "--evidence hangs under the hops of -o tree, read once (no --entrypoints, --watch)",
            "kinspect map SERVICE -o tree --evidence",
        )
    if watch is not None and watch.watch:
        if entrypoints:
            raise UsageError("--watch does not follow --entrypoints", "drop one of them")
        return map_watch(s, t, w, fmt, service, selector, watch)
    if fmt is MapFormat.svg and shutil.which("dot") is None:
        raise UsageError("-o svg needs Graphviz's dot, which is not on PATH", SVG_HINT)
    snap, where = read(s, t, w, service=service, selector=selector)
    warnings(s, snap)
    # Only the namespace read counts: with -n, services of other namespaces are in the snapshot
    # because an answer here depends on them (a route's backendRef), not because they match.
    mine = [x for x in snap.services if snap.read_namespace in (None, x.namespace)]
    if service and not mine:
        raise NotFoundError(
            f"service {service!r} not found in namespace {where}",
            f"list services with: kinspect map -n {where}",
        )
    idx = chain.Index.of(snap)
    chains = chain.build(snap, idx)
    found: list[Pod] = []
    # Without policies no pod is isolated: skip the walk.
    if snap.network_policies or snap.admin_network_policies or snap.baseline_admin_network_policies:
        refs = {b.pod for c in chains for pc in c.ports for b in pc.backends if b.pod_found}
        found = [idx.pods[r] for r in refs if r is not None and r in idx.pods]
    isolation = policy.backend_isolation(snap, found, idx.by_labels)
    eps = entry.entrypoints(idx)
    # A route whose parent Gateway was not read (-n, RBAC) has no entry point: say why.
    for note in gateway.unknown_parents(idx):
        s.warn(note)
    by_port = entry.entries_by_port(eps)
    doc = report.chain_report(snap, chains, isolation, eps)
    if entrypoints and fmt in (MapFormat.table, MapFormat.wide, MapFormat.tree):
        from kinspect.render import table

        emit(s, "text", doc, lambda: table.entrypoints_table(eps), "lines")
        return ExitCode.OK
    match fmt:
        case MapFormat.json | MapFormat.yaml:
            emit(s, fmt.value, doc, lambda: "")
        case MapFormat.tree:
            from kinspect.render import tree

            ev = Evidencer.over(idx) if evidence else None
            emit(s, "text", doc, lambda: tree.map_tree(chains, by_port, ev, isolation))
        case MapFormat.table | MapFormat.wide:
            from kinspect.render import table

            wide = fmt is MapFormat.wide
            emit(
                s,
                "text",
                doc,
                lambda: table.map_table(
                    chains,
                    wide=wide,
                    entries=by_port,
                    isolation=isolation,
                    whole=not s.out_is_terminal,
                    namespace_column=snap.read_namespace is None,
                ),
                "wide" if wide else "lines",
            )
        case MapFormat.dot:
            from kinspect.render import dot

            s.stdout.write(dot.render(chains, eps))
        case MapFormat.mermaid:
            from kinspect.render import mermaid

            s.stdout.write(mermaid.render(chains, eps))
        case MapFormat.svg:
            from kinspect.render import dot

            s.stdout.write(svg(dot.render(chains, eps)))
        case _:
            assert_never(fmt)
    return ExitCode.OK


def ips(s: Session, t: Target, w: Where, fmt: str) -> ExitCode:
    """The IP inventory: node, cluster, external and pod IPs, and who allocates each."""
    snap, _ = read(s, t, w, default_all=True)
    warnings(s, snap)
    inv = inventory.inventory(snap)
    from kinspect.render import table

    emit(s, fmt, report.inventory_report(inv), lambda: table.ips_tables(inv))
    return ExitCode.OK


def explain(s: Session, t: Target, w: Where) -> ExitCode:
    """The four IPs and four ports, illustrated with a real service of this cluster."""
    snap, _ = read(s, t, w, default_all=True)
    warnings(s, snap)
    from kinspect.render import explain  # rich.markdown costs 50 ms of every start otherwise

    entries = entry.entrypoints(chain.Index.of(snap))
    s.console("prose").print(explain.explain(chain.build(snap), entries))
    return ExitCode.OK
