"""What each command does, between the typer surface (`kinspect.cli`) and the pipeline.

A command reads a snapshot (the cluster through `kinspect.wire.cluster`, or a file), runs the pure
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
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, TextIO, assert_never

import msgspec
from rich.console import Console, Group, RenderableType
from rich.text import Text

from kinspect.audit import checks as audit
from kinspect.audit import finding as audit_finding
from kinspect.audit import report as auditreport
from kinspect.diff import chaindiff
from kinspect.edge import entry
from kinspect.edge import plan as edge_plan
from kinspect.live import state as live
from kinspect.live import watcher
from kinspect.model.change import Change, Key
from kinspect.model.errors import ExitCode, KinspectError, NotFoundError, UsageError
from kinspect.model.snapshot import Snapshot
from kinspect.model.values import Pod, Value
from kinspect.path import chain, inventory, plan, trace
from kinspect.policy import access, reach
from kinspect.policy import netpol as policy
from kinspect.render import data, report
from kinspect.render import watch as render_watch
from kinspect.render.audit import AuditFormat, Chart, RenderContext
from kinspect.render.audit import render as render_audit
from kinspect.render.safe import plain
from kinspect.wire import auditfiles, cluster, connection, files, lists, snapshotfile, transport

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


class DiffFormat(StrEnum):
    text = "text"
    json = "json"
    yaml = "yaml"
    markdown = "markdown"


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


def connect(s: Session, t: Target) -> connection.Connection:
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
    chunk = _env_count(s, "KINSPECT_CHUNK_SIZE", f"e.g. {connection.PAGE_SIZE}, or 0 for no paging")
    page_size = connection.PAGE_SIZE if chunk is None else chunk
    # A page size the user chose is kept for every list, unless KINSPECT_UNPAGED_MAX says
    # which lists to read whole anyway (docs/performance.md).
    whole = _env_count(
        s,
        "KINSPECT_UNPAGED_MAX",
        f"e.g. {connection.UNPAGED_MAX}, or 0 to read every list by pages",
    )
    unpaged_max = whole if whole is not None else 0 if chunk is not None else connection.UNPAGED_MAX
    return connection.connect(
        kubeconfig,
        t.context,
        t.request_timeout,
        in_cluster=in_cluster,
        page_size=page_size,
        log=s.log,
        warn=s.warn,
        unpaged_max=unpaged_max,
        gzip=_env_gzip(s),
    )


def _env_gzip(s: Session) -> bool:
    """KINSPECT_GZIP: 0 asks for plain lists; 1 (the default) for gzip-compressed ones."""
    value = s.environ.get("KINSPECT_GZIP", "")
    if value in ("", "0", "1"):
        return value != "0"
    raise UsageError(
        f"KINSPECT_GZIP must be 0 or 1, got {value[:20]!r}",
        "unset it to ask for compressed lists (the default), or set 0 for plain ones",
    )


def _env_count(s: Session, name: str, hint: str) -> int | None:
    """A whole number from 0 to MAX_CHUNK_SIZE in environment variable `name`, if set."""
    value = s.environ.get(name, "")
    if not value:
        return None
    if not (
        value.isascii() and value.isdigit() and len(value) <= 10 and int(value) <= MAX_CHUNK_SIZE
    ):
        raise UsageError(
            f"{name} must be a whole number from 0 to {MAX_CHUNK_SIZE}, got {value[:20]!r}",
            hint,
        )
    return int(value)


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
            lists.Scope(ns, service=service, selector=selector),
            narrow_when_forbidden=narrow_when_forbidden,
        )
    return snap, w.namespace or conn.default_namespace


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

    `needed` returning None: only every pod in `ns` can answer.
    """
    done = first
    snap = cluster.snapshot(conn, lists.Scope(ns), pod_queries=done)
    while (need := needed(snap, done)) != []:
        if need is None:
            return msgspec.structs.replace(snap, pods=tuple(lists.read_pods(conn, ns)))
        done = [*done, *need]
        known = {p.ref for p in snap.pods}
        more = [p for p in lists.read_pod_queries(conn, need) if p.ref not in known]
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
    watch: WatchOptions | None = None,
) -> ExitCode:
    """The chain of every service port, one row per backend.

    Each port names the Ingress paths and Gateway routes that enter it; `entrypoints`
    (--entrypoints) lists every host and path of the cluster instead, with where it lands.
    `watch` (--watch): follow the chains as they change (`map_watch`).
    """
    if watch is not None and watch.watch:
        if entrypoints:
            raise UsageError("--watch does not follow --entrypoints", "drop one of them")
        return map_watch(s, t, w, fmt, service, selector, watch)
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
    # Without policies no pod is isolated: skip the walk.
    if snap.network_policies or snap.admin_network_policies or snap.baseline_admin_network_policies:
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


def read_for_entry(
    conn: connection.Connection, ns: str | None, req: entry.Request, controllers: bool = False
) -> Snapshot:
    """Everything but pods in full, then only the pods of the services the URL can reach.

    With `controllers` (`--from`), the pods of the Services at the entry's address as well.
    """
    return _read_in_rounds(
        conn, ns, [], lambda snap, done: edge_plan.entry_pods_needed(snap, req, done, controllers)
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
    _warnings(s, snap)
    return snap


def _with_policy(
    s: Session,
    fmt: str,
    doc: dict[str, Any],
    text: Callable[[], RenderableType],
    snap: Snapshot,
    src: reach.Source | None,
    hops: Callable[[policy.PolicyIndex, reach.From], list[reach.HopVerdict]],
) -> None:
    """Emit a trace's document and text, with --from's verdict at every hop when given."""
    if src is not None:
        from kinspect.render import policy as policy_render

        origin = reach.resolve(src, snap.pods, snap.nodes)
        found = hops(policy.PolicyIndex(snap), origin)
        doc["policy"] = policy_render.hops_json(origin, found)
        before = text
        text = lambda: Group(before(), policy_render.hops_text(origin, found))  # noqa: E731
    _emit(s, fmt, doc, text)


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
    from kinspect.render import tree

    def verdicts(index: policy.PolicyIndex, origin: reach.From) -> list[reach.HopVerdict]:
        # trace URL --from composes the two domains: the entry's hops (edge) judged by policy.
        hops = reach.EntryHops(
            result.request.port,
            tuple(entry.controller_services(idx, result)),
            tuple(entry.answer_backends(result)),
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
) -> ExitCode:
    """What an address is and, with a port, where its traffic goes hop by hop.

    A URL (or --host/--path) is traced through the Ingress rule that answers it. With `source`
    (--from): the NetworkPolicy verdict at every hop, from that source. `watch` (--watch):
    trace again as the cluster changes (`trace_watch`).
    """
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
    result = trace.trace(chain.Index.of(snap), target)
    from kinspect.render import tree

    pods = {p.ref: p for p in snap.pods}
    services = {f"{v.namespace}/{v.name}": v for v in snap.services}
    _with_policy(
        s,
        fmt,
        report.trace_report(snap.context, result),
        lambda: tree.trace_tree(result),
        snap,
        src,
        lambda index, origin: reach.hop_verdicts(result, index, origin, pods, services),
    )
    return ExitCode.OK if result.found else ExitCode.NOT_FOUND


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
    return msgspec.structs.replace(snap, pods=(*snap.pods, *more))


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
        snap = cluster.snapshot(conn, lists.Scope(ns), with_legacy_endpoints=True)
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
    fail_on: audit_finding.Severity | None = None
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
    context: str, chains: list[chain.ServiceChain], findings: list[audit_finding.Finding], svg: bool
) -> dict[tuple[str, str, str], Chart]:
    """The chain of each service with an error, as Mermaid and (with Graphviz) SVG."""
    from kinspect.render import dot, mermaid

    by_name = {(c.service.namespace, c.service.name): c for c in chains}
    broken = dict.fromkeys(
        (f.namespace, f.service) for f in findings if f.severity is audit_finding.Severity.ERROR
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
        conn, lists.Scope(ns), with_legacy_endpoints=True, narrow_when_forbidden=True
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
            names = list(connection.contexts(kc)[0])
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
            transport.threads(min(4, len(loaders))) as pool,  # Ctrl-C never waits for it
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
    ctx = RenderContext(now, o.fail_on or audit_finding.Severity.WARNING, charts)
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


# --- diff ----------------------------------------------------------------------------------

LIVE = "live"
DIFF_HINT = (
    "each side is a file of kinspect snapshot save, a report of kinspect audit -o json, or live"
)
MIXED_HINT = (
    "compare two snapshots (or a snapshot and live), or two audit reports; "
    "kinspect audit --snapshot FILE -o json writes a snapshot's report"
)


@dataclass(frozen=True)
class _DiffInput:
    """One side of a diff as read: a snapshot (a file's, or live) or an audit report's findings."""

    side: chaindiff.Side
    snapshot: Snapshot | None = None
    findings: list[auditreport.BaselineFinding] | None = None


def _diff_file(path: str, max_bytes: int) -> _DiffInput:
    """A snapshot file or an AuditReport, told apart by the document's kind (gzip or not)."""
    data = snapshotfile.read_bytes(path, max_bytes, "file")
    api, kind = snapshotfile.document_kind(data, path)
    if kind == "Snapshot":
        snap = snapshotfile.decode(data, path)
        return _DiffInput(chaindiff.Side("snapshot", path, snap.context), snapshot=snap)
    if kind == "AuditReport" and api == report.API_VERSION:
        findings = auditfiles.decode_report(data, path, DIFF_HINT)
        contexts = ", ".join(auditfiles.report_contexts(data))
        return _DiffInput(chaindiff.Side("audit", path, contexts), findings=findings)
    what = f"a {kind} of {api}" if kind else "not a kinspect document"
    raise UsageError(f"{path} is {what}, not a snapshot or an audit report", DIFF_HINT)


def diff(s: Session, t: Target, w: Where, fmt: DiffFormat, old: str, new: str) -> ExitCode:
    """What changed in the traffic chain (or in the audit's findings) from OLD to NEW.

    OK when nothing did, DIFFERENT (10) when something did: 1 is kinspect's bug code.
    Snapshot against snapshot or live, audit report against audit report. An audit report
    against a snapshot is refused: the report carries its run's choices (ignore rules,
    --ignore, contexts), which the snapshot's audit would not share, so set-aside findings
    would show as new.
    """
    if old == LIVE and new == LIVE:
        raise UsageError("both sides are live", "save one first: kinspect snapshot save FILE")
    max_bytes = max_snapshot_bytes(s)
    # Both files are read before the cluster: a bad file never waits for a connection.
    given = [None if p == LIVE else _diff_file(p, max_bytes) for p in (old, new)]
    audits = sum(1 for x in given if x is not None and x.findings is not None)
    if audits == 1:
        other = "live" if LIVE in (old, new) else "a snapshot"
        raise UsageError(f"cannot compare an audit report with {other}", MIXED_HINT)
    ns = namespace_of(w, True, "default")
    if audits == 2:
        a, b = (x for x in given if x is not None)
        changes = chaindiff.diff_findings(a.findings or [], b.findings or [], ns)
        sides = (a.side, b.side)
    else:
        snaps: list[Snapshot] = []
        side_list: list[chaindiff.Side] = []
        for x in given:
            if x is None or x.snapshot is None:  # live
                snap, _ = read(s, t, Where(w.namespace, w.all_namespaces), default_all=True)
                snaps.append(snap)
                side_list.append(chaindiff.Side("live", None, snap.context))
            else:
                snaps.append(x.snapshot.narrow(ns))
                side_list.append(x.side)
        for side, snap in zip(side_list, snaps, strict=True):
            for warning in snap.warnings:
                s.warn(f"{side.path or LIVE}: {warning}")
        changes = chaindiff.diff_snapshots(snaps[0], snaps[1])
        sides = (side_list[0], side_list[1])
    result = chaindiff.ChainDiff(sides[0], sides[1], ns, tuple(changes))
    from kinspect.render import diff as render_diff

    match fmt:
        case DiffFormat.text | DiffFormat.json | DiffFormat.yaml:
            doc = render_diff.document(result)
            _emit(s, fmt.value, doc, lambda: render_diff.text(result))
        case DiffFormat.markdown:
            s.stdout.write(render_diff.markdown(result))
        case _:
            assert_never(fmt)
    return ExitCode.DIFFERENT if result.different else ExitCode.OK


# --- --watch -------------------------------------------------------------------------------


@dataclass(frozen=True)
class WatchOptions:
    """`--watch` (follow the cluster after the first read) and `--watch-timeout`."""

    watch: bool = False
    timeout: int = watcher.WATCH_TIMEOUT  # the server-side timeoutSeconds of each WATCH


WATCH_TIMEOUT = watcher.WATCH_TIMEOUT
MAX_WATCH_TIMEOUT = 3600
# The live view is drawn at most this often: events between two frames are all applied, and
# only the state after them is drawn (a slow terminal loses frames, never events).
FRAME_SECONDS = 0.25
# How long the rows of a service that changed stay highlighted.
HIGHLIGHT_SECONDS = 3.0
# Events applied at most between two looks at the clock (and two frames).
BATCH = 500


def _clock() -> tuple[str, str]:
    """Now, as RFC 3339 UTC (JSON) and as HH:MM:SS (the status line)."""
    now = datetime.datetime.now(datetime.UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), now.strftime("%H:%M:%S")


@dataclass
class Watching:
    """One `--watch` run: the state, the watcher threads and what the status line says.

    The consumer of map/trace --watch and of `kinspect ui` (`ui/follow.py`): it applies every
    item of the feed to the state, calls `changed` after each change and `tick` after each
    batch (and every FRAME_SECONDS when nothing comes), and keeps `status`.
    """

    s: Session
    state: live.State
    feed: watcher.Feed
    status: render_watch.Status
    live_view: bool  # the status goes in the live view; otherwise health changes go to stderr
    # Set by another thread to end `run` (the ui quitting); map/trace --watch end on Ctrl-C.
    stopped: threading.Event = field(default_factory=threading.Event)

    def run(
        self,
        changed: Callable[[Change, tuple[Value, ...], list[live.ChainEvent]], None],
        tick: Callable[[], None],
    ) -> None:
        """Apply the watchers' events until Ctrl-C or `stopped`, calling `changed` after each."""
        import gc

        # A long-lived process: cycles (a traceback per reconnect) must be collected, though
        # `cli.main` turned the collector off for one-shot commands. What the first read built
        # is frozen first, so the collector never walks it again.
        if not gc.isenabled():
            gc.freeze()
            gc.enable()
        self.feed.start()
        while not self.stopped.is_set():
            try:
                items = [self.feed.queue.get(timeout=FRAME_SECONDS)]
            except queue.Empty:
                tick()
                continue
            while len(items) < BATCH:
                try:
                    items.append(self.feed.queue.get_nowait())
                except queue.Empty:
                    break
            crash: BaseException | None = None
            for item in items:
                if isinstance(item, watcher.Crashed):
                    crash = item.error  # raised once what came before it is shown
                    break
                if isinstance(item, watcher.Health):
                    self._health(item)
                    continue
                if isinstance(item, watcher.Relisted):
                    if not item.polled:
                        self.status.relisted = (item.kind or item.field, _clock()[1])
                    changes = self.state.relist(item.field, item.objects)
                else:
                    changes = [item]
                for change in changes:
                    before = self.state.stored(change.field, change.key)
                    events = self.state.step(change)
                    self.status.applied += 1
                    self.status.last_event = _clock()[1]
                    changed(change, before, events)
            tick()
            if crash is not None:
                raise crash

    def _health(self, h: watcher.Health) -> None:
        problem = None
        if h.state == "polling":
            self.status.polling.add(h.kind)
        if h.state == "reconnecting":
            problem = f"reconnecting (attempt {h.attempt})" + (f": {h.reason}" if h.reason else "")
        before = self.status.problems.get(h.kind)
        if problem is None:
            self.status.problems.pop(h.kind, None)
        else:
            self.status.problems[h.kind] = problem
        if not self.live_view and problem != before:
            self.s.err.print(render_watch.health_line(h.kind, problem), soft_wrap=True)


def start_watch(
    s: Session,
    t: Target,
    w: Where,
    o: WatchOptions,
    default_all: bool,
    service: str | None = None,
    selector: str | None = None,
    narrow_when_forbidden: bool = False,
) -> tuple[Snapshot, live.State, watcher.Watcher]:
    """The first read (one LIST per kind, versions kept), its state, and the watchers for it.

    The snapshot returned is the first read without the watched kinds (the state has those).
    `narrow_when_forbidden` (ui): a refused read of every namespace reads and watches the
    context's own namespace instead, as `read` does.
    """
    if w.snapshot:
        raise UsageError("--watch follows a cluster, not a snapshot file", "drop --snapshot")
    if not 1 <= o.timeout <= MAX_WATCH_TIMEOUT:
        raise UsageError(
            f"--watch-timeout must be from 1 to {MAX_WATCH_TIMEOUT} seconds, got {o.timeout}",
            f"e.g. {watcher.WATCH_TIMEOUT}",
        )
    conn = connect(s, t)
    conn.list_versions = {}
    ns = namespace_of(w, default_all, conn.default_namespace)
    scope = lists.Scope(ns, service=service, selector=selector)
    with s.spinner(f"reading {conn.context} ({conn.server})…"):
        snap, scope = cluster.snapshot_scoped(
            conn, scope, narrow_when_forbidden=narrow_when_forbidden
        )
    _warnings(s, snap)
    state = live.State.of(snap, watcher.pod_versions(conn, scope))
    kinds_ = watcher.watched(conn, snap, scope)
    # The state holds the objects from here on: the first read's own tuples are let go.
    return state.snapshot, state, watcher.Watcher(conn, scope, kinds_, o.timeout, s.warn)


def _write_line(s: Session, doc: dict[str, object]) -> None:
    s.stdout.flush()
    s.stdout.buffer.write(data.json_line(doc))
    s.stdout.buffer.flush()


def map_watch(
    s: Session,
    t: Target,
    w: Where,
    fmt: MapFormat,
    service: str | None,
    selector: str | None,
    o: WatchOptions,
) -> ExitCode:
    """`map --watch`: the first read, then every change, until Ctrl-C (exit 130).

    -o json: JSON Lines of ChainEvents (each service of the first read as service-added, then
    synced, then the changes). At a terminal: map's table, redrawn in place, changed services
    highlighted, and a status line. Otherwise: the table once, then one line per change.
    """
    if fmt not in (MapFormat.table, MapFormat.wide, MapFormat.json):
        raise UsageError(f"--watch cannot write -o {fmt.value}", "use -o json, wide or table")
    snap, state, wt = start_watch(s, t, w, o, False, service, selector)
    return follow_map(s, fmt, snap, state, wt)


def follow_map(
    s: Session, fmt: MapFormat, snap: Snapshot, state: live.State, wt: watcher.Feed
) -> ExitCode:
    """The rest of `map --watch` after its first read: the chains, then each change of `wt`."""
    status = render_watch.Status(snap.context)
    live_view = fmt is not MapFormat.json and s.out_is_terminal
    run = Watching(s, state, wt, status, live_view)
    wide = fmt is MapFormat.wide
    if fmt is MapFormat.json:
        stamp = _clock()[0]
        for c in state.current():
            ev = live.ChainEvent("service-added", c.service.namespace, c.service.name, chain=c)
            _write_line(s, report.chain_event(snap.context, stamp, ev))
        _write_line(s, report.synced_event(snap.context, stamp, len(state.chains), snap.warnings))

        def json_lines(_: Change, __: tuple[Value, ...], evs: list[live.ChainEvent]) -> None:
            stamp = _clock()[0]
            for ev in evs:
                _write_line(s, report.chain_event(snap.context, stamp, ev))

        run.run(json_lines, lambda: None)
        return ExitCode.OK
    if not live_view:
        from kinspect.render import table

        s.console("wide" if wide else "lines").print(table.map_table(state.current(), wide=wide))

        def text_lines(_: Change, __: tuple[Value, ...], evs: list[live.ChainEvent]) -> None:
            stamp = _clock()[0]
            for ev in evs:
                s.console("wide").print(render_watch.event_line(stamp, ev))
            s.stdout.flush()

        run.run(text_lines, lambda: None)
        return ExitCode.OK
    from rich.live import Live

    lit: dict[Key, float] = {}  # service → until when it is highlighted
    drawn = {"at": 0.0, "dirty": True}

    def mark(_: Change, __: tuple[Value, ...], evs: list[live.ChainEvent]) -> None:
        until = time.monotonic() + HIGHLIGHT_SECONDS
        for ev in evs:
            lit[(ev.namespace, ev.service)] = until
        drawn["dirty"] = True

    with Live(console=s.console("wide" if wide else "lines"), auto_refresh=False) as view:

        def draw(last: bool = False) -> None:
            now = time.monotonic()
            for k in [k for k, until in lit.items() if until <= now]:
                del lit[k]
                drawn["dirty"] = True
            # At most one frame per FRAME_SECONDS, and one a second for the status line.
            due = now - drawn["at"] >= (FRAME_SECONDS if drawn["dirty"] else 1.0)
            if due or (last and drawn["dirty"]):
                frame = render_watch.map_frame(state.current(), status, set(lit), wide)
                view.update(frame, refresh=True)
                drawn["at"], drawn["dirty"] = now, False

        draw()
        try:
            run.run(mark, draw)
        finally:
            draw(last=True)  # Ctrl-C leaves the state as it is, not as last drawn
    return ExitCode.OK


@dataclass
class _Traced:
    """trace --watch: the trace as last shown, and whether the live view must redraw it."""

    result: trace.TraceResult
    doc: dict[str, object]
    involved: set[Key]
    dirty: bool = True
    drawn_at: float = 0.0


def trace_watch(
    s: Session, t: Target, w: Where, fmt: str, address: str, o: WatchOptions
) -> ExitCode:
    """`trace ADDRESS --watch`: the trace again whenever an event touches what it involves.

    It is run again when an event changes a service it names (or any service is added,
    removed or its spec changed), or when the object of an event carries the address. -o json:
    a TraceReport per line, each time the trace changed. At a terminal: the tree, redrawn in
    place, with a status line. Otherwise: the tree again under a line with the time.
    """
    target = trace.parse_target(address)
    snap, state, wt = start_watch(s, t, w, o, True)
    return follow_trace(s, fmt, target, snap, state, wt)


def follow_trace(
    s: Session,
    fmt: str,
    target: trace.Target,
    snap: Snapshot,
    state: live.State,
    wt: watcher.Feed,
) -> ExitCode:
    """The rest of `trace --watch` after its first read: the trace, again when it changes."""
    status = render_watch.Status(snap.context)
    live_view = fmt != "json" and s.out_is_terminal
    run = Watching(s, state, wt, status, live_view)
    from kinspect.render import tree

    first = trace.trace(chain.Index.of(state.as_snapshot()), target)
    now = _Traced(first, report.trace_report(snap.context, first), live.involved(first))

    def show() -> None:
        if fmt == "json":
            _write_line(s, now.doc)
        elif not live_view:
            s.console().print(Text(f"--- {_clock()[0]}"))
            s.console().print(tree.trace_tree(now.result))
            s.stdout.flush()

    def retrace(change: Change, before: tuple[Value, ...], evs: list[live.ChainEvent]) -> None:
        touched = {(e.namespace, e.service) for e in evs}
        structural = any(e.event.startswith("service-") for e in evs)
        carried = target.address in live.addresses((*before, *change.values))
        if not (structural or carried or touched & now.involved):
            return
        result = trace.trace(chain.Index.of(state.as_snapshot()), target)
        doc = report.trace_report(snap.context, result)
        if doc != now.doc:
            now.result, now.doc, now.involved = result, doc, live.involved(result)
            now.dirty = True
            show()

    show()
    if not live_view:
        run.run(retrace, lambda: None)
        return ExitCode.OK
    from rich.live import Live

    with Live(console=s.console(), auto_refresh=False) as view:

        def draw(last: bool = False) -> None:
            at = time.monotonic()
            due = at - now.drawn_at >= (FRAME_SECONDS if now.dirty else 1.0)
            if due or (last and now.dirty):
                view.update(render_watch.trace_frame(now.result, status), refresh=True)
                now.drawn_at, now.dirty = at, False

        draw()
        try:
            run.run(retrace, draw)
        finally:
            draw(last=True)
    return ExitCode.OK
