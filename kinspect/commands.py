"""What each command does, between the typer surface (`kinspect.cli`) and the pipeline.

A command reads a snapshot (the cluster through `kinspect.cluster`, or a file), runs the pure
core (chain, trace, inventory, audit), hands the result to a renderer and writes what it
returns to the session's streams. Everything a command needs from outside (streams, terminal,
environment, --debug) arrives in a `Session`, so the tests run every command in-process.
Errors are raised as `KinspectError`s; `cli.run` turns them into one line and an exit code.
"""

from __future__ import annotations

import datetime
import functools
import io
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, TextIO, assert_never

import msgspec
from rich.console import Console, Group, RenderableType
from rich.text import Text

from kinspect import (
    access,
    audit,
    auditfiles,
    auditreport,
    chain,
    cluster,
    entry,
    files,
    inventory,
    plan,
    policy,
    reach,
    snapshotfile,
    trace,
)
from kinspect.errors import ExitCode, KinspectError, NotFoundError, UsageError
from kinspect.model import Pod, Snapshot
from kinspect.render import data, report
from kinspect.render.audit import AuditFormat, Chart, RenderContext
from kinspect.render.audit import render as render_audit
from kinspect.render.safe import plain

# "No width" for rich, which needs one: wider than any line a table of a cluster makes.
_UNBOUNDED = 1_000_000
Layout = Literal["lines", "wide", "prose"]


class MapFormat(StrEnum):
    table = "table"
    wide = "wide"
    tree = "tree"
    json = "json"
    yaml = "yaml"
    dot = "dot"
    mermaid = "mermaid"
    svg = "svg"


class Level(StrEnum):
    """audit --fail-on."""

    info = "info"
    warning = "warning"
    error = "error"
    never = "never"


class DataFormat(StrEnum):
    text = "text"
    json = "json"
    yaml = "yaml"


@dataclass
class Session:
    """The outside world of one run: streams, environment, and the root flags."""

    stdout: TextIO
    stderr: TextIO
    environ: Mapping[str, str]
    debug: bool = False
    verbose: bool = False  # -v: each retry of a request on stderr (--debug implies it)
    # Tests pass their own; a real run asks the streams.
    stdout_tty: bool | None = None
    stderr_tty: bool | None = None
    _err: Console | None = field(default=None, repr=False)

    @property
    def out_is_terminal(self) -> bool:
        return self.stdout.isatty() if self.stdout_tty is None else self.stdout_tty

    def console(self, layout: Layout = "lines") -> Console:
        """A console on stdout, as wide as the layout of what it prints wants.

        "lines" (tables, trees, reports): off a terminal (a pipe, a file) there is no width at
        all, like kubectl, so every table row is one whole line and `kinspect map -A | grep POD`
        finds it; at a terminal, its width (or COLUMNS), where tables end a cell too long with
        an ellipsis. "wide" (`-o wide`): no width even at a terminal. "prose" (explain's
        Markdown, whose headings span the width): the terminal's, else COLUMNS, else 200.
        """
        columns = self.environ.get("COLUMNS", "")
        given = int(columns) if columns.isdigit() and int(columns) > 0 else None
        width: int | None
        match layout:
            case "lines":
                width = (given or None) if self.out_is_terminal else _UNBOUNDED
            case "wide":
                width = _UNBOUNDED
            case "prose":
                width = given if given or self.out_is_terminal else 200
            case _:
                assert_never(layout)
        return Console(
            file=self.stdout,
            width=width,
            highlight=False,
            soft_wrap=False,
            force_terminal=self.stdout_tty,
        )

    @property
    def err(self) -> Console:
        if self._err is None:
            self._err = Console(file=self.stderr, highlight=False, force_terminal=self.stderr_tty)
        return self._err

    def warn(self, text: str, label: str = "warning:", style: str = "yellow") -> None:
        """One warning line on stderr (cluster text printed as text, never as markup)."""
        self.err.print(Text.assemble((label, style), " ", plain(text)), soft_wrap=True)

    def log(self, text: str) -> None:
        """A progress line (a retry) on stderr, with -v or --debug only."""
        if self.verbose or self.debug:
            self.err.print(Text(f"kinspect: {text}"), soft_wrap=True)

    @contextmanager
    def spinner(self, text: str) -> Iterator[None]:
        """A spinner on stderr while reading, when stderr is a terminal."""
        if self.err.is_terminal:
            with self.err.status(Text(plain(text))):
                yield
        else:
            yield


@dataclass(frozen=True)
class Target:
    """kubectl's connection flags."""

    kubeconfig: str | None = None
    context: str | None = None
    request_timeout: float = 30.0


@dataclass(frozen=True)
class Where:
    """Which namespaces a command reads: -n / -A, or a snapshot file instead of a cluster."""

    namespace: str | None = None
    all_namespaces: bool = False
    snapshot: str | None = None

    def __post_init__(self) -> None:
        # Before anything is read: a usage error never waits for a cluster.
        if self.namespace and self.all_namespaces:
            raise UsageError("-n and -A both given", "use one of them")


# Bounds of what the user may ask for, checked before anything is read: a day per request
# (kubectl accepts any duration, but nothing useful waits longer), and a page no larger than
# the API's int32-sized limits.
MAX_REQUEST_TIMEOUT = 86400.0
MAX_CHUNK_SIZE = 2**31 - 1


def connect(s: Session, t: Target) -> cluster.Connection:
    """Credentials for the context: kubeconfig (flag, $KUBECONFIG, ~/.kube/config) or in-cluster."""
    kubeconfig = t.kubeconfig or s.environ.get("KUBECONFIG") or None
    default = os.path.expanduser("~/.kube/config")
    in_cluster = (
        kubeconfig is None
        and t.context is None
        and not os.path.exists(default)
        and "KUBERNETES_SERVICE_HOST" in s.environ
    )
    if not 0 < t.request_timeout <= MAX_REQUEST_TIMEOUT:  # False for nan too
        raise UsageError(
            f"--request-timeout must be positive and at most {MAX_REQUEST_TIMEOUT:g} seconds, "
            f"got {t.request_timeout}",
            "e.g. 30",
        )
    # Like kubectl's --chunk-size: items per LIST page, 0 for no paging.
    chunk = s.environ.get("KINSPECT_CHUNK_SIZE", "")
    if chunk and not (
        chunk.isascii() and chunk.isdigit() and len(chunk) <= 10 and int(chunk) <= MAX_CHUNK_SIZE
    ):
        raise UsageError(
            f"KINSPECT_CHUNK_SIZE must be a whole number from 0 to {MAX_CHUNK_SIZE}, "
            f"got {chunk[:20]!r}",
            f"e.g. {cluster.PAGE_SIZE}, or 0 for no paging",
        )
    page_size = int(chunk) if chunk else cluster.PAGE_SIZE
    return cluster.connect(
        kubeconfig,
        t.context,
        t.request_timeout,
        in_cluster=in_cluster,
        page_size=page_size,
        log=s.log,
        warn=s.warn,
    )


def max_snapshot_bytes(s: Session) -> int:
    """The largest snapshot file read (decompressed): KINSPECT_MAX_SNAPSHOT_BYTES or 2 GiB."""
    v = s.environ.get("KINSPECT_MAX_SNAPSHOT_BYTES", "")
    if not v:
        return snapshotfile.MAX_BYTES
    if not (v.isascii() and v.isdigit() and len(v) <= 18 and int(v) > 0):
        raise UsageError(
            f"KINSPECT_MAX_SNAPSHOT_BYTES must be a whole number of bytes, got {v[:20]!r}",
            f"e.g. {snapshotfile.MAX_BYTES} (the default)",
        )
    return int(v)


def namespace_of(w: Where, default_all: bool, default: str) -> str | None:
    """The namespace to read (None: all), from -n/-A and the command's default."""
    if w.all_namespaces or (default_all and not w.namespace):
        return None
    return w.namespace or default


def read(
    s: Session,
    t: Target,
    w: Where,
    default_all: bool = False,
    service: str | None = None,
    selector: str | None = None,
    narrow_when_forbidden: bool = False,
) -> tuple[Snapshot, str]:
    """Read the snapshot file or the cluster; also return the namespace a bare -n means.

    `narrow_when_forbidden`: a refused read of every namespace reads the context's own
    namespace instead, saying so in the snapshot's warnings (audit, ui).
    """
    if w.snapshot:
        if selector:
            raise UsageError("-l cannot filter a snapshot", "drop -l, or read the cluster")
        ns = namespace_of(w, default_all, "default")
        snap = snapshotfile.load(w.snapshot, max_snapshot_bytes(s))
        return snap.narrow(ns, service), ns or "default"
    conn = connect(s, t)
    ns = namespace_of(w, default_all, conn.default_namespace)
    with s.spinner(f"reading {conn.context} ({conn.server})…"):
        snap = cluster.snapshot(
            conn,
            cluster.Scope(ns, service=service, selector=selector),
            narrow_when_forbidden=narrow_when_forbidden,
        )
    return snap, w.namespace or conn.default_namespace


def read_for_trace(conn: cluster.Connection, ns: str | None, target: trace.Target) -> Snapshot:
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
    conn: cluster.Connection,
    ns: str | None,
    first: list[plan.PodQuery],
    needed: Callable[[Snapshot, list[plan.PodQuery]], list[plan.PodQuery] | None],
) -> Snapshot:
    """Everything but pods in full, then rounds of the pod reads `needed` asks for (until []).

    `needed` returning None: only every pod in `ns` can answer.
    """
    done = first
    snap = cluster.snapshot(conn, cluster.Scope(ns), pod_queries=done)
    while (need := needed(snap, done)) != []:
        if need is None:
            return msgspec.structs.replace(snap, pods=tuple(cluster.read_pods(conn, ns)))
        done = [*done, *need]
        known = {p.ref for p in snap.pods}
        more = [p for p in cluster.read_pod_queries(conn, need) if p.ref not in known]
        snap = msgspec.structs.replace(snap, pods=(*snap.pods, *more))
    # In the API server's (etcd key) order, as a full LIST returns them.
    pods = sorted(snap.pods, key=lambda p: f"{p.namespace}/{p.name}")
    return msgspec.structs.replace(snap, pods=tuple(pods))


def _warnings(s: Session, snap: Snapshot) -> None:
    for w in snap.warnings:
        s.warn(w)


def _emit(
    s: Session,
    fmt: str,
    doc: dict[str, object],
    text: Callable[[], RenderableType],
    layout: Layout = "lines",
) -> None:
    if fmt == "json":
        s.stdout.flush()
        # Indented for a person at a terminal; compact for programs, which need no whitespace
        # (on 100k pods it is hundreds of MB and a second pass over them).
        data.write_json(doc, s.stdout.buffer, stream="services", pretty=s.out_is_terminal)
    elif fmt == "yaml":
        s.stdout.write(data.to_yaml(doc))
    else:
        s.console(layout).print(text())


def map_(
    s: Session,
    t: Target,
    w: Where,
    fmt: MapFormat,
    service: str | None,
    selector: str | None,
    entrypoints: bool = False,
) -> ExitCode:
    """The chain of every service port, one row per backend.

    Each port names the Ingress paths and Gateway routes that enter it; `entrypoints`
    (--entrypoints) lists every host and path of the cluster instead, with where it lands.
    """
    if fmt is MapFormat.svg and shutil.which("dot") is None:
        raise UsageError("-o svg needs Graphviz's dot, which is not on PATH", SVG_HINT)
    snap, where = read(s, t, w, service=service, selector=selector)
    _warnings(s, snap)
    if service and not snap.services:
        raise NotFoundError(
            f"service {service!r} not found in namespace {where}",
            f"list services with: kinspect map -n {where}",
        )
    idx = chain.Index.of(snap)
    chains = chain.build(snap, idx)
    found: list[Pod] = []
    if snap.network_policies:  # without policies no pod is isolated: skip the walk
        refs = {b.pod for c in chains for pc in c.ports for b in pc.backends if b.pod_found}
        found = [idx.pods[r] for r in refs if r is not None and r in idx.pods]
    isolation = policy.backend_isolation(snap, found, idx.by_labels)
    eps = entry.entrypoints(idx)
    by_port = entry.entries_by_port(eps)
    doc = report.chain_report(snap, chains, isolation, eps)
    if entrypoints and fmt in (MapFormat.table, MapFormat.wide, MapFormat.tree):
        from kinspect.render import table

        _emit(s, "text", doc, lambda: table.entrypoints_table(eps), "lines")
        return ExitCode.OK
    match fmt:
        case MapFormat.json | MapFormat.yaml:
            _emit(s, fmt.value, doc, lambda: "")
        case MapFormat.tree:
            from kinspect.render import tree

            _emit(s, "text", doc, lambda: tree.map_tree(chains, by_port))
        case MapFormat.table | MapFormat.wide:
            from kinspect.render import table

            wide = fmt is MapFormat.wide
            _emit(
                s,
                "text",
                doc,
                lambda: table.map_table(chains, wide=wide, entries=by_port, isolation=isolation),
                "wide" if wide else "lines",
            )
        case MapFormat.dot:
            from kinspect.render import dot

            s.stdout.write(dot.render(chains))
        case MapFormat.mermaid:
            from kinspect.render import mermaid

            s.stdout.write(mermaid.render(chains))
        case MapFormat.svg:
            from kinspect.render import dot

            s.stdout.write(svg(dot.render(chains)))
        case _:
            assert_never(fmt)
    return ExitCode.OK


SVG_HINT = "install Graphviz (apt install graphviz, brew install graphviz), or use -o dot"


def svg(dot_source: str) -> str:
    """Graphviz's SVG of a DOT graph (dot must be on PATH)."""
    try:
        proc = subprocess.run(
            ["dot", "-Tsvg"],
            input=dot_source,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise UsageError(f"Graphviz's dot failed: {type(e).__name__}", SVG_HINT) from None
    if proc.returncode != 0:
        first = (proc.stderr.strip().splitlines() or [""])[0][:200]
        raise UsageError(f"Graphviz's dot failed (exit {proc.returncode}): {first}", SVG_HINT)
    return proc.stdout


def ips(s: Session, t: Target, w: Where, fmt: str) -> ExitCode:
    """The IP inventory: node, cluster, external and pod IPs, and who allocates each."""
    snap, _ = read(s, t, w, default_all=True)
    _warnings(s, snap)
    inv = inventory.inventory(snap)
    from kinspect.render import table

    _emit(s, fmt, report.inventory_report(inv), lambda: table.ips_tables(inv))
    return ExitCode.OK


def read_for_entry(conn: cluster.Connection, ns: str | None, req: entry.Request) -> Snapshot:
    """Everything but pods in full, then only the pods of the services the URL can reach."""
    return _read_in_rounds(conn, ns, [], lambda snap, done: plan.entry_pods_needed(snap, req, done))


def _read_traced(
    s: Session,
    t: Target,
    w: Where,
    live: Callable[[cluster.Connection, str | None], Snapshot],
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
    _warnings(s, snap)
    return snap


def trace_url(
    s: Session, t: Target, w: Where, fmt: str, address: str, host: str | None, path: str | None
) -> ExitCode:
    """Which Ingress rule answers a URL, why, and the chain behind its service port."""
    req = entry.parse_request(address, host, path)
    snap = _read_traced(s, t, w, lambda conn, ns: read_for_entry(conn, ns, req))
    result = entry.resolve(chain.Index.of(snap), req)
    from kinspect.render import tree

    _emit(s, fmt, report.entry_report(snap.context, result), lambda: tree.entry_tree(result))
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
) -> ExitCode:
    """What an address is and, with a port, where its traffic goes hop by hop.

    A URL (or --host/--path) is traced through the Ingress rule that answers it. With `source`
    (--from): the NetworkPolicy verdict at every hop, from that source.
    """
    if entry.is_url(address) or host is not None or path is not None:
        if source is not None:
            raise UsageError(
                "--from does not apply to a URL trace yet",
                "trace the service's ClusterIP:port with --from",
            )
        return trace_url(s, t, w, fmt, address, host, path)
    target = trace.parse_target(address)
    src = reach.parse_source(source) if source is not None else None

    def live(conn: cluster.Connection, ns: str | None) -> Snapshot:
        snap = read_for_trace(conn, ns, target)
        return snap if src is None else _with_source_pods(conn, snap, src)

    snap = _read_traced(s, t, w, live)
    result = trace.trace(chain.Index.of(snap), target)
    from kinspect.render import tree

    doc = report.trace_report(snap.context, result)
    text: Callable[[], RenderableType] = lambda: tree.trace_tree(result)  # noqa: E731
    if src is not None:
        from kinspect.render import policy as policy_render

        peer = _source_peer(snap, src)
        hops = reach.hop_verdicts(
            result,
            policy.PolicyIndex(snap),
            peer,
            {p.ref: p for p in snap.pods},
            {f"{v.namespace}/{v.name}": v for v in snap.services},
        )
        doc["policy"] = policy_render.hops_json(peer, hops)
        tree_text = text
        text = lambda: Group(tree_text(), policy_render.hops_text(peer, hops))  # noqa: E731
    _emit(s, fmt, doc, text)
    return ExitCode.OK if result.found else ExitCode.NOT_FOUND


def _with_source_pods(conn: cluster.Connection, snap: Snapshot, src: reach.Source) -> Snapshot:
    """The snapshot with --from's pod (by name, or by pod IP) read too."""
    if src.kind == "pod" and src.pod is not None:
        q = plan.PodQuery(
            src.pod.namespace,
            field_selector=f"metadata.name={plan.escape_field_value(src.pod.name)}",
        )
    elif src.kind == "ip":
        q = plan.PodQuery(None, field_selector=f"status.podIP={src.ip}")
    else:
        return snap
    known = {p.ref for p in snap.pods}
    more = [p for p in cluster.read_pod_queries(conn, [q]) if p.ref not in known]
    return msgspec.structs.replace(snap, pods=(*snap.pods, *more))


def _source_peer(snap: Snapshot, src: reach.Source) -> policy.Peer:
    if src.kind == "outside":
        return policy.Peer.outside()
    if src.kind == "ip" and src.ip is not None:
        pods = [p for p in snap.pods if src.ip in p.pod_ips and not p.host_network]
        return policy.Peer.of_pod(pods[0]) if pods else policy.Peer.of_ip(src.ip)
    found = [p for p in snap.pods if p.ref == src.pod]
    if not found:
        raise NotFoundError(f"--from {src.pod}: no such pod", "kubectl get pods -n NAMESPACE")
    return policy.Peer.of_pod(found[0])


@dataclass(frozen=True)
class PolicyOptions:
    """`kinspect policy`: a pod or service port (`target`), or `--matrix` with `--port`."""

    target: str | None = None
    matrix: bool = False
    port: int | None = None


POLICY_HINT = "kinspect policy NAMESPACE/POD, NAMESPACE/SERVICE[:PORT], or --matrix -n NAMESPACE"


def policy_(s: Session, t: Target, w: Where, fmt: str, o: PolicyOptions) -> ExitCode:
    """Who may reach a pod or a service port by NetworkPolicy, or a namespace's pod matrix."""
    if o.matrix == (o.target is not None):
        raise UsageError("give either a target or --matrix", POLICY_HINT)
    if o.port is not None and not (o.matrix and 1 <= o.port <= 65535):
        raise UsageError("--port takes a port from 1 to 65535, with --matrix", POLICY_HINT)
    from kinspect.render import policy as policy_render

    if o.matrix:
        snap, ns = read(s, t, w)
        pods = [
            p
            for p in snap.pods
            if p.namespace == ns and p.pod_ips and p.phase not in ("Succeeded", "Failed")
        ]
        cells = access.matrix(policy.PolicyIndex(snap), pods, o.port)
        body = policy_render.matrix_json(ns, cells, o.port)
        kind = "PolicyMatrix"
        text: Callable[[], RenderableType] = lambda: policy_render.matrix_text(  # noqa: E731
            ns, cells, o.port
        )
    else:
        q = access.parse_query(o.target or "")
        snap, _ = read(s, t, Where(q.namespace, False, w.snapshot))
        found = access.who_may_reach(snap, policy.PolicyIndex(snap), q)
        body = {"target": o.target, **policy_render.access_json(found)}
        kind = "PolicyAccess"
        text = lambda: policy_render.access_text(found)  # noqa: E731
    _warnings(s, snap)
    doc: dict[str, object] = {"apiVersion": report.API_VERSION, "kind": kind}
    doc |= {"context": snap.context, "warnings": list(snap.warnings), **body}
    _emit(s, fmt, doc, text)
    return ExitCode.OK


def explain(s: Session, t: Target, w: Where) -> ExitCode:
    """The four IPs and four ports, illustrated with a real service of this cluster."""
    snap, _ = read(s, t, w, default_all=True)
    _warnings(s, snap)
    from kinspect.render import explain  # rich.markdown costs 50 ms of every start otherwise

    entries = entry.entrypoints(chain.Index.of(snap))
    s.console("prose").print(explain.explain(chain.build(snap), entries))
    return ExitCode.OK


def snapshot_save(s: Session, t: Target, w: Where, path: str) -> ExitCode:
    """Write nodes, services, endpoint slices, endpoints and pods (never secrets) to PATH."""
    conn = connect(s, t)
    ns = namespace_of(w, True, conn.default_namespace)
    with s.spinner(f"reading {conn.context} ({conn.server})…"):
        snap = cluster.snapshot(conn, cluster.Scope(ns), with_legacy_endpoints=True)
    _warnings(s, snap)
    snapshotfile.save(path, snap)
    s.err.print(
        plain(
            f"saved {len(snap.services)} services, {len(snap.pods)} pods, "
            f"{len(snap.nodes)} nodes of {snap.context} to {path}"
        ),
        markup=False,
        highlight=False,
        soft_wrap=True,  # one line, as long as the path is
    )
    return ExitCode.OK


# --- audit ---------------------------------------------------------------------------------

# --output-file's extension picks the format when -o is absent.
EXTENSIONS = {
    ".json": AuditFormat.json,
    ".md": AuditFormat.markdown,
    ".html": AuditFormat.html,
    ".xml": AuditFormat.junit,
    ".prom": AuditFormat.prometheus,
}


@dataclass(frozen=True)
class AuditOptions:
    fmt: AuditFormat | None = None  # None: text, or from the output file's extension
    output_file: str | None = None
    fail_on: audit.Severity | None = None
    ignore: frozenset[str] = frozenset()
    ignore_file: str | None = None
    baseline: str | None = None
    contexts: tuple[str, ...] = ()
    all_contexts: bool = False
    snapshots: tuple[str, ...] = ()


# The HTML report draws at most this many services' chains (one Graphviz run each).
MAX_CHARTS = 50


@dataclass
class _Audited:
    result: auditreport.ContextResult
    charts: dict[tuple[str, str, str], Chart] = field(default_factory=dict)


def _audit_one(
    load: Callable[[], Snapshot], name: str, ignore: frozenset[str], draw: AuditFormat
) -> _Audited:
    try:
        snap = load()
    except KinspectError as e:
        return _Audited(auditreport.ContextResult(name, error=e.message))
    idx = chain.Index.of(snap)
    chains = chain.build(snap, idx)
    findings = audit.run(snap, chains, idx, ignore)
    done = _Audited(
        auditreport.ContextResult(
            snap.context,
            None,
            snap.warnings,
            tuple(f"{x.namespace}/{x.name}" for x in snap.services),
            tuple(findings),
        )
    )
    if draw in (AuditFormat.html, AuditFormat.markdown):
        done.charts = _charts(snap.context, chains, findings, svg=draw is AuditFormat.html)
    return done


def _charts(
    context: str, chains: list[chain.ServiceChain], findings: list[audit.Finding], svg: bool
) -> dict[tuple[str, str, str], Chart]:
    """The chain of each service with an error, as Mermaid and (with Graphviz) SVG."""
    from kinspect.render import dot, mermaid

    by_name = {(c.service.namespace, c.service.name): c for c in chains}
    broken = dict.fromkeys(
        (f.namespace, f.service) for f in findings if f.severity is audit.Severity.ERROR
    )
    draw_svg = svg and shutil.which("dot") is not None
    out = {}
    for key in list(broken)[:MAX_CHARTS]:
        c = by_name.get(key)
        if c is None:
            continue
        picture = _svg(dot.render([c])) if draw_svg else None
        out[(context, *key)] = Chart(mermaid.render([c]), picture)
    return out


def _svg(source: str) -> str | None:
    try:
        return svg(source)
    except UsageError:
        return None  # a report without the picture beats no report


def _load_narrowed(path: str, namespace: str | None, max_bytes: int) -> Snapshot:
    return snapshotfile.load(path, max_bytes).narrow(namespace)


def _read_for_audit(s: Session, t: Target, w: Where) -> Snapshot:
    conn = connect(s, t)
    ns = namespace_of(w, True, conn.default_namespace)
    return cluster.snapshot(
        conn, cluster.Scope(ns), with_legacy_endpoints=True, narrow_when_forbidden=True
    )


def audit_(s: Session, t: Target, w: Where, o: AuditOptions) -> ExitCode:
    """Find what breaks the chain: findings by severity, for people and for schedulers."""
    ext = os.path.splitext(o.output_file or "")[1]
    fmt = o.fmt or EXTENSIONS.get(ext, AuditFormat.text)
    unknown = o.ignore - {c.id for c in audit.CHECKS}
    if unknown:
        raise UsageError(
            f"unknown check id(s) in --ignore: {', '.join(sorted(unknown))}",
            "see the ids in docs/audit.md",
        )
    rules = auditfiles.read_ignore_file(o.ignore_file) if o.ignore_file else []
    base = auditfiles.read_baseline(o.baseline) if o.baseline else None
    loaders: list[tuple[str, Callable[[], Snapshot]]] = []
    max_bytes = max_snapshot_bytes(s) if o.snapshots else snapshotfile.MAX_BYTES
    for path in o.snapshots:
        ns = namespace_of(w, True, "default")
        loaders.append((path, functools.partial(_load_narrowed, path, ns, max_bytes)))
    if not o.snapshots or o.contexts or o.all_contexts:
        kc = t.kubeconfig or s.environ.get("KUBECONFIG") or None
        names = list(o.contexts)
        if o.all_contexts:
            names = list(cluster.contexts(kc)[0])
        targets: list[str | None] = [*names] or [None]
        for name in targets:
            one = Target(t.kubeconfig, name, t.request_timeout)
            read_one = functools.partial(_read_for_audit, s, one, w)
            loaders.append((name or "(current context)", read_one))
    if len(loaders) == 1:
        # One target: its failure is the command's failure, with its own exit code.
        label, load = loaders[0]
        with s.spinner(f"auditing {label}…"):
            snap = load()
        audited = [_audit_one(lambda: snap, label, o.ignore, fmt)]
    else:
        with (
            s.spinner(f"auditing {len(loaders)} targets…"),
            cluster.threads(min(4, len(loaders))) as pool,  # Ctrl-C never waits for it
        ):
            audited = list(pool.map(lambda nl: _audit_one(nl[1], nl[0], o.ignore, fmt), loaders))
    results = [a.result for a in audited]
    charts = {k: v for a in audited for k, v in a.charts.items()}
    for r in results:
        for warning in r.warnings:
            s.warn(f"{r.context}: {warning}")
        if not r.ok:
            s.warn(f"{r.context}: {r.error}", "failed:", "red")
    result = auditreport.combine(results, rules, base)
    # Without --fail-on, JUnit still marks findings at warning and above as failures.
    now = datetime.datetime.now(datetime.UTC)
    ctx = RenderContext(now, o.fail_on or audit.Severity.WARNING, charts)
    out = render_audit(fmt, result, ctx)
    text: str | None = None
    if isinstance(out, str):
        text = out
    elif o.output_file:
        console = Console(record=True, width=120, file=io.StringIO())
        console.print(out)
        text = console.export_text()
    else:
        s.console().print(out)
    if text is not None:
        if o.output_file:
            files.write_atomic(o.output_file, text.encode())
        else:
            s.stdout.write(text)
    worst = result.worst()
    if o.fail_on is not None and worst is not None and worst >= o.fail_on:
        return ExitCode.FINDINGS
    if any(not r.ok for r in results):
        return ExitCode.PARTIAL
    return ExitCode.OK
