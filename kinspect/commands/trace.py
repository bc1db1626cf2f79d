"""`kinspect trace`: an address or a URL followed hop by hop, read with only the pods it touches.

With --from, a URL's entry hops (edge) are judged by NetworkPolicy (policy) here, through
`reach.EntryHops`: the two domains never import each other, so they meet in this command.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import msgspec
from rich.console import Group, RenderableType

from kinspect.commands.session import (
    Session,
    Target,
    Where,
    connect,
    emit,
    namespace_of,
    read,
    warnings,
)
from kinspect.commands.watch import WatchOptions, trace_watch
from kinspect.edge import controller, entry
from kinspect.edge import plan as edge_plan
from kinspect.model.errors import ExitCode, UsageError
from kinspect.model.snapshot import Snapshot
from kinspect.path import chain, firewall, plan, trace
from kinspect.path.evidence import Evidencer
from kinspect.policy import netpol as policy
from kinspect.policy import reach
from kinspect.policy.peer import in_cidr
from kinspect.render import evidence as render_evidence
from kinspect.render import report
from kinspect.wire import cluster, connection, lists

# Route patterns RE2 refuses, named one by one before the rest are only counted.
PATTERNS_NAMED = 3


def read_for_trace(conn: connection.Connection, ns: str | None, target: trace.Target) -> Snapshot:
    """Nodes, services and endpoints in full, but only the pods the trace touches.

    Rounds of server-side-selected pod reads until `plan.pods_needed` has what it asks for
    (usually two: the address's pods, then the entered services' pods); every pod when it
    cannot tell.
    """
    return _read_in_rounds(
        conn,
        ns,
        plan.first_pod_queries(target, ns),
        lambda snap, done: plan.pods_needed(snap, target, ns, done),
    )


def _read_in_rounds(
    conn: connection.Connection,
    ns: str | None,
    first: list[plan.PodQuery],
    needed: Callable[[Snapshot, list[plan.PodQuery]], list[plan.PodQuery] | None],
) -> Snapshot:
    """Everything but pods in full, then rounds of the pod reads `needed` asks for (until []).

    `needed` returning None: only every pod in `ns` can answer. Pods outside `ns` (a backend
    Service in another namespace) are read narrowly: refused, they are unknown, not an error.
    """
    done = first
    snap = cluster.snapshot(conn, lists.Scope(ns), pod_queries=done)
    while (need := needed(snap, done)) != []:
        if need is None:
            return msgspec.structs.replace(snap, pods=tuple(lists.read_pods(conn, ns)))
        done = [*done, *need]
        snap = cluster.with_pods(conn, snap, need)
    # In the API server's (etcd key) order, as a full LIST returns them.
    pods = sorted(snap.pods, key=lambda p: f"{p.namespace}/{p.name}")
    return msgspec.structs.replace(snap, pods=tuple(pods))


def read_for_entry(
    conn: connection.Connection, ns: str | None, req: entry.Request, controllers: bool = False
) -> Snapshot:
    """Everything but pods in full, then only the pods of the services the URL can reach.

    With `controllers` (`--from`), the pods of the Services at the entry's address as well.
    """
    return _read_in_rounds(
        conn,
        ns,
        [],
        lambda snap, done: edge_plan.entry_pods_needed(snap, req, done, controllers, ns),
    )


def _read_traced(
    s: Session,
    t: Target,
    w: Where,
    live: Callable[[connection.Connection, str | None], Snapshot],
) -> Snapshot:
    """A trace's snapshot, its warnings printed.

    The snapshot file in full, or the cluster as `live` reads it (only what the trace
    touches), in all namespaces unless -n.
    """
    if w.snapshot:
        snap, _ = read(s, t, w, default_all=True)
    else:
        conn = connect(s, t)
        ns = namespace_of(w, True, conn.default_namespace)
        with s.spinner(f"reading {conn.context} ({conn.server})…"):
            snap = live(conn, ns)
    warnings(s, snap)
    return snap


def _with_policy(
    s: Session,
    fmt: str,
    doc: dict[str, Any],
    text: Callable[[], RenderableType],
    snap: Snapshot,
    src: reach.Source | None,
    hops: Callable[[policy.PolicyIndex, reach.From], list[reach.HopVerdict]],
    routes: Sequence[trace.Route] = (),
    ev: Evidencer | None = None,
) -> None:
    """Emit a trace's document and text, with --from's verdict at every hop when given.

    `routes`: a trace's routes, whose loadBalancerSourceRanges --from is judged by too.
    """
    if src is not None:
        from kinspect.render import policy as policy_render
        from kinspect.render import tree

        origin = reach.resolve(src, snap.pods, snap.nodes)
        found = hops(policy.PolicyIndex(snap), origin)
        doc["policy"] = policy_render.hops_json(origin, found, ev)
        checks = _source_ranges(routes, origin, snap)
        # kube-proxy's firewall acts before the packet reaches a pod's NetworkPolicy.
        parts: list[Callable[[], RenderableType]] = [text]
        if checks:
            doc["sourceRanges"] = report.source_checks(checks)
            parts.append(lambda: tree.source_checks_text(origin.label, checks))
        parts.append(lambda: policy_render.hops_text(origin, found, ev))
        text = lambda: Group(*(p() for p in parts))  # noqa: E731
    emit(s, fmt, doc, text)


def _source_ranges(
    routes: Sequence[trace.Route], origin: reach.From, snap: Snapshot
) -> list[firewall.EntryCheck]:
    """Each source of --from at each route entry that loadBalancerSourceRanges concern."""
    node_ips = [a.address for n in snap.nodes for a in n.ips()]
    many = origin.kind == "namespace"
    out: list[firewall.EntryCheck] = []
    for rt in routes:
        fw, e = rt.firewall, rt.entry
        if fw is None:
            continue
        for peer in origin.peers:
            ip = firewall.source_ip(peer.ips(), e.address)
            if peer.kind != "outside" and ip is None:
                check = firewall.SourceCheck("unknown", f"{peer} has no IP address")
            else:
                check = firewall.check(fw, e.address, ip, node_ips)
            label = str(peer) if many else origin.label
            out.append(firewall.EntryCheck(rt.service, e.kind, e.address, e.port, label, ip, check))
    return out


def trace_url(
    s: Session,
    t: Target,
    w: Where,
    fmt: str,
    address: str,
    host: str | None,
    path: str | None,
    source: str | None = None,
) -> ExitCode:
    """Which Ingress rule answers a URL, why, and the chain behind its service port.

    With `source` (--from): the verdict from it to the controller, and from the controller's
    pods to the backends.
    """
    req = entry.parse_request(address, host, path)
    src = reach.parse_source(source) if source is not None else None

    def live(conn: connection.Connection, ns: str | None) -> Snapshot:
        snap = read_for_entry(conn, ns, req, controllers=src is not None)
        return snap if src is None else _with_source_pods(conn, snap, src)

    snap = _read_traced(s, t, w, live)
    idx = chain.Index.of(snap)
    result = entry.resolve(idx, req)
    # Patterns RE2 refuses matched nothing: a few named, the rest counted (cluster text).
    invalid = result.gateway.invalid
    for note in invalid[:PATTERNS_NAMED]:
        s.warn(note)
    if len(invalid) > PATTERNS_NAMED:
        more = len(invalid) - PATTERNS_NAMED
        s.warn(f"{more} more route patterns are not valid RE2: they match no request")
    from kinspect.render import tree

    def verdicts(index: policy.PolicyIndex, origin: reach.From) -> list[reach.HopVerdict]:
        # trace URL --from composes the two domains: the entry's hops (edge) judged by policy.
        fh = result.first_hop
        hops = reach.EntryHops(
            result.request.port,
            tuple(entry.controller_services(idx, result)),
            tuple(entry.answer_backends(result)),
            tuple(fh.pods()) if fh is not None else (),
        )
        return reach.entry_verdicts(hops, idx, index, origin)

    _with_policy(
        s,
        fmt,
        report.entry_report(snap.context, result),
        lambda: tree.entry_tree(result),
        snap,
        src,
        verdicts,
    )
    return ExitCode.OK if result.found else ExitCode.NOT_FOUND


def trace_(
    s: Session,
    t: Target,
    w: Where,
    fmt: str,
    address: str,
    host: str | None = None,
    path: str | None = None,
    source: str | None = None,
    watch: WatchOptions | None = None,
    evidence: bool = False,
) -> ExitCode:
    """What an address is and, with a port, where its traffic goes hop by hop.

    A URL (or --host/--path) is traced through the Ingress rule that answers it. With `source`
    (--from): the NetworkPolicy verdict at every hop, from that source. `watch` (--watch):
    trace again as the cluster changes (`trace_watch`). `evidence` (--evidence): under each
    hop, the object and field that show it and the kubectl command that prints it.
    """
    url = entry.is_url(address) or host is not None or path is not None
    if evidence and (url or (watch is not None and watch.watch)):
        raise UsageError(
            "--evidence shows the hops of an ADDRESS[:PORT] traced once, without a URL, "
            "--host, --path or --watch",
            "kinspect trace 10.96.0.10:443 --evidence",
        )
    if watch is not None and watch.watch:
        if entry.is_url(address) or host is not None or path is not None or source is not None:
            raise UsageError(
                "--watch follows the trace of an ADDRESS[:PORT], without a URL, --host, "
                "--path or --from",
                "kinspect trace 10.96.0.10:443 --watch",
            )
        return trace_watch(s, t, w, fmt, address, watch)
    if entry.is_url(address) or host is not None or path is not None:
        return trace_url(s, t, w, fmt, address, host, path, source)
    target = trace.parse_target(address)
    src = reach.parse_source(source) if source is not None else None

    def live(conn: connection.Connection, ns: str | None) -> Snapshot:
        snap = read_for_trace(conn, ns, target)
        return snap if src is None else _with_source_pods(conn, snap, src)

    snap = _read_traced(s, t, w, live)
    idx = chain.Index.of(snap)
    result = trace.trace(idx, target, _client_node(src, snap))
    result.hints.extend(_controller_hints(idx, result))
    from kinspect.render import tree

    pods = {p.ref: p for p in snap.pods}
    services = {f"{v.namespace}/{v.name}": v for v in snap.services}
    ev = Evidencer.over(idx) if evidence else None
    doc = report.trace_report(snap.context, result)
    if ev is not None:
        doc = render_evidence.trace_json(doc, result, ev)
    _with_policy(
        s,
        fmt,
        doc,
        lambda: tree.trace_tree(result, ev),
        snap,
        src,
        lambda index, origin: reach.hop_verdicts(result, index, origin, pods, services),
        result.routes,
        ev,
    )
    return ExitCode.OK if result.found else ExitCode.NOT_FOUND


def _controller_hints(idx: chain.Index, result: trace.TraceResult) -> list[trace.Hint]:
    """An ingress controller's frontend traced without --host: its Ingresses are one flag away.

    The trace stops at the controller's pods; which rule answers depends on the request's host.
    """
    port = result.target.port
    if port is None or not result.routes:
        return []
    out = []
    for svc in dict.fromkeys(r.service for r in result.routes):
        behind = controller.ingresses_of(idx, {svc})
        if not behind:
            continue
        hosts = sorted({r.host or "*" for ing in behind for r in ing.rules})
        shown = ", ".join(hosts[:5]) + (f" and {len(hosts) - 5} more" if len(hosts) > 5 else "")
        n = len(behind)
        out.append(
            trace.Hint(
                port,
                f"{svc} is the ingress controller of {n} Ingress{'es' if n > 1 else ''}"
                + (f" (hosts {shown})" if hosts else "")
                + ": add --host HOST to follow a request through its rules",
            )
        )
    return out


def _client_node(src: reach.Source | None, snap: Snapshot) -> str | None:
    """The node whose kube-proxy handles --from's traffic: a pod's node, or the node itself.

    None for a namespace's pods, an outside client or an address of neither: then the trace
    gives every node's answer where topology hints make it differ.
    """
    if src is None:
        return None
    if src.kind == "node":
        return src.node
    if src.kind == "pod":
        return next((p.node_name for p in snap.pods if p.ref == src.pod), None)
    if src.kind == "ip" and src.ip is not None:
        for n in snap.nodes:
            if any(a.address == src.ip for a in n.ips()):
                return n.name
        return next((p.node_name for p in snap.pods if src.ip in p.pod_ips), None)
    return None


def _with_source_pods(conn: connection.Connection, snap: Snapshot, src: reach.Source) -> Snapshot:
    """The snapshot with --from's pods (by name, by pod IP, or a namespace's) read too."""
    if src.kind == "pod" and src.pod is not None:
        q = plan.PodQuery(
            src.pod.namespace,
            field_selector=f"metadata.name={plan.escape_field_value(src.pod.name)}",
        )
    elif src.kind == "ip":
        q = plan.PodQuery(None, field_selector=f"status.podIP={src.ip}")
    elif src.kind == "namespace":
        q = plan.PodQuery(src.namespace)
    else:
        return snap
    known = {p.ref for p in snap.pods}
    more = [p for p in lists.read_pod_queries(conn, [q]) if p.ref not in known]
    if src.kind == "ip" and src.ip and not any(src.ip in p.pod_ips for p in (*snap.pods, *more)):
        # status.podIP is a pod's first IP only: a dual-stack pod's second (its IPv6, say) is
        # found among the pods of the node whose podCIDRs hold it (at most its pod capacity).
        # An address in no node's podCIDRs stays an address.
        nodes = [n.name for n in snap.nodes if any(in_cidr(src.ip, c) for c in n.pod_cidrs)]
        queries = [
            plan.PodQuery(None, field_selector=f"spec.nodeName={plan.escape_field_value(n)}")
            for n in nodes
        ]
        known |= {p.ref for p in more}
        more += [p for p in lists.read_pod_queries(conn, queries) if p.ref not in known]
    snap = msgspec.structs.replace(snap, pods=(*snap.pods, *more))
    # The source's namespace may lie outside -n: its labels and policies decide verdicts too.
    return cluster.reach_outside(conn, snap, pods=False)
