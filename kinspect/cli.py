"""The typer app: the only place that reads the environment, prints, and exits.

Each command: build a Scope from kubectl-style flags → cluster.snapshot (I/O) → chain/trace/
inventory (pure) → a renderer (pure) → print here. Errors become one line on stderr with a
hint and a documented exit code (docs/exit-codes.md); --debug shows the traceback instead.
"""

from __future__ import annotations

import datetime
import functools
import gc
import io
import json
import os
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated, NoReturn, TypeVar, assert_never

import msgspec
import typer
import yaml
from rich.console import Console, RenderableType

# typer vendors its own click; its exception base is not re-exported publicly.
from typer._click.exceptions import ClickException

from kinspect import __version__, audit, chain, cluster, files, inventory, snapshotfile, trace
from kinspect.errors import ExitCode, KinspectError, NotFoundError, UsageError
from kinspect.model import Snapshot
from kinspect.render import data, report, table, tree

app = typer.Typer(
    name="kinspect",
    help="Show the IP and port chain of every Service: frontends → ClusterIP → pods → containers.",
    no_args_is_help=True,
    add_completion=False,
    # Pretty exceptions print local variables: a token in a local must never reach a terminal.
    pretty_exceptions_enable=False,
)


class MapFormat(StrEnum):
    table = "table"
    wide = "wide"
    tree = "tree"
    json = "json"
    yaml = "yaml"


class DataFormat(StrEnum):
    text = "text"
    json = "json"
    yaml = "yaml"


_debug = False

ContextOpt = Annotated[str | None, typer.Option("--context", help="kubeconfig context to use.")]
KubeconfigOpt = Annotated[
    str | None, typer.Option("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG).")
]
NamespaceOpt = Annotated[str | None, typer.Option("-n", "--namespace", help="Namespace.")]
AllNsOpt = Annotated[bool, typer.Option("-A", "--all-namespaces", help="All namespaces.")]
SelectorOpt = Annotated[
    str | None, typer.Option("-l", "--selector", help="Label selector on services.")
]
TimeoutOpt = Annotated[
    float, typer.Option("--request-timeout", help="Seconds to wait for each API request.")
]
SnapshotOpt = Annotated[
    str | None,
    typer.Option(
        "--snapshot", help="Read a file from `kinspect snapshot save` instead of a cluster."
    ),
]


def _version(value: bool) -> None:
    if value:
        print(f"kinspect {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    version: Annotated[
        bool,
        typer.Option("--version", help="Print the version.", callback=_version, is_eager=True),
    ] = False,
) -> None:
    global _debug
    _debug = debug or bool(os.environ.get("KINSPECT_DEBUG"))


def _stdout() -> Console:
    # Off a terminal rich would wrap at 80 columns; keep lines whole unless COLUMNS says so.
    width = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 200
    return Console(width=width, highlight=False, soft_wrap=False)


_stderr = Console(stderr=True, highlight=False)

T = TypeVar("T")


@contextmanager
def _spinner(text: str) -> Iterator[None]:
    if _stderr.is_terminal:
        with _stderr.status(text):
            yield
    else:
        yield


def _connect(kubeconfig: str | None, context: str | None, timeout: float) -> cluster.Connection:
    kubeconfig = kubeconfig or os.environ.get("KUBECONFIG") or None
    default = os.path.expanduser("~/.kube/config")
    in_cluster = (
        kubeconfig is None
        and context is None
        and not os.path.exists(default)
        and "KUBERNETES_SERVICE_HOST" in os.environ
    )
    if timeout <= 0:
        raise UsageError(f"--request-timeout must be positive, got {timeout}", "e.g. 30")
    # Like kubectl's --chunk-size: items per LIST page, 0 for no paging.
    chunk = os.environ.get("KINSPECT_CHUNK_SIZE", "")
    if chunk and not (chunk.isdigit() and chunk.isascii()):
        raise UsageError(
            f"KINSPECT_CHUNK_SIZE must be a whole number, got {chunk!r}",
            f"e.g. {cluster.PAGE_SIZE}, or 0 for no paging",
        )
    page_size = int(chunk) if chunk else cluster.PAGE_SIZE
    return cluster.connect(kubeconfig, context, timeout, in_cluster=in_cluster, page_size=page_size)


def _namespace(
    namespace: str | None, all_namespaces: bool, default_all: bool, default: str
) -> str | None:
    """The namespace to read (None: all), from -n/-A and the command's default."""
    if namespace and all_namespaces:
        raise UsageError("-n and -A both given", "use one of them")
    if all_namespaces or (default_all and not namespace):
        return None
    return namespace or default


def _read(
    conn: cluster.Connection,
    namespace: str | None,
    all_namespaces: bool,
    default_all: bool = False,
    service: str | None = None,
    selector: str | None = None,
) -> Snapshot:
    ns = _namespace(namespace, all_namespaces, default_all, conn.default_namespace)
    with _spinner(f"reading {conn.context} ({conn.server})…"):
        return cluster.snapshot(conn, cluster.Scope(ns, service=service, selector=selector))


def _read_for_trace(conn: cluster.Connection, ns: str | None, target: trace.Target) -> Snapshot:
    """Nodes, services and endpoints in full, but only the pods the trace touches.

    Rounds of server-side-selected pod reads until `trace.pods_needed` has what it asks for
    (usually two: the address's pods, then the entered services' pods); every pod when it
    cannot tell.
    """
    done = trace.first_pod_queries(target, ns)
    snap = cluster.snapshot(conn, cluster.Scope(ns), pod_queries=done)
    while (need := trace.pods_needed(snap, target, ns, done)) != []:
        if need is None:
            return msgspec.structs.replace(snap, pods=tuple(cluster.read_pods(conn, ns)))
        done = [*done, *need]
        known = {p.ref for p in snap.pods}
        more = [p for p in cluster.read_pod_queries(conn, need) if p.ref not in known]
        snap = msgspec.structs.replace(snap, pods=(*snap.pods, *more))
    # In the API server's (etcd key) order, as a full LIST returns them.
    pods = sorted(snap.pods, key=lambda p: f"{p.namespace}/{p.name}")
    return msgspec.structs.replace(snap, pods=tuple(pods))


def _offline(path: str, namespace: str | None, service: str | None = None) -> Snapshot:
    """A saved snapshot, narrowed to a namespace (and service) when asked."""
    snap = snapshotfile.load(path)
    if namespace is None and service is None:
        return snap

    def keep(ns: str, name: str | None = None) -> bool:
        return (namespace is None or ns == namespace) and (
            service is None or name is None or name == service
        )

    return msgspec.structs.replace(
        snap,
        services=tuple(s for s in snap.services if keep(s.namespace, s.name)),
        endpoint_groups=tuple(g for g in snap.endpoint_groups if keep(g.namespace, g.service)),
        legacy_endpoint_groups=tuple(
            g for g in snap.legacy_endpoint_groups if keep(g.namespace, g.service)
        ),
        pods=tuple(p for p in snap.pods if keep(p.namespace)),
        namespaces=tuple(n for n in snap.namespaces if keep(n.name)),
    )


def _snapshot_or_cluster(
    snapshot: str | None,
    kubeconfig: str | None,
    context: str | None,
    timeout: float,
    namespace: str | None,
    all_namespaces: bool,
    default_all: bool = False,
    service: str | None = None,
    selector: str | None = None,
) -> tuple[Snapshot, str]:
    """Read the snapshot file or the cluster; also return the namespace a bare -n means."""
    if snapshot:
        if selector:
            raise UsageError("-l cannot filter a snapshot", "drop -l, or read the cluster")
        ns = _namespace(namespace, all_namespaces, default_all, "default")
        return _offline(snapshot, ns, service), ns or "default"
    conn = _connect(kubeconfig, context, timeout)
    snap = _read(conn, namespace, all_namespaces, default_all, service, selector)
    return snap, namespace or conn.default_namespace


def _warn(snap: Snapshot) -> None:
    for w in snap.warnings:
        _stderr.print(f"[yellow]warning:[/] {w}")


def _emit(fmt: str, doc: dict[str, object], text: Callable[[], RenderableType]) -> None:
    out = _stdout()
    if fmt == "json":
        sys.stdout.flush()
        # Indented for a person at a terminal; compact for programs, which need no whitespace
        # (on 100k pods it is hundreds of MB and a second pass over them).
        data.write_json(doc, sys.stdout.buffer, stream="services", pretty=sys.stdout.isatty())
    elif fmt == "yaml":
        sys.stdout.write(data.to_yaml(doc))
    else:
        out.print(text())


@app.command("map")
def map_(
    service: Annotated[str | None, typer.Argument(help="Only this service.")] = None,
    output: Annotated[MapFormat, typer.Option("-o", "--output", help="Output format.")] = (
        MapFormat.table
    ),
    namespace: NamespaceOpt = None,
    all_namespaces: AllNsOpt = False,
    selector: SelectorOpt = None,
    context: ContextOpt = None,
    kubeconfig: KubeconfigOpt = None,
    request_timeout: TimeoutOpt = 30.0,
    snapshot: SnapshotOpt = None,
) -> None:
    """The chain of every service port, one row per backend."""
    snap, where = _snapshot_or_cluster(
        snapshot,
        kubeconfig,
        context,
        request_timeout,
        namespace,
        all_namespaces,
        service=service,
        selector=selector,
    )
    _warn(snap)
    if service and not snap.services:
        raise NotFoundError(
            f"service {service!r} not found in namespace {where}",
            f"list services with: kinspect map -n {where}",
        )
    chains = chain.build(snap)
    doc = report.chain_report(snap, chains)
    match output:
        case MapFormat.table | MapFormat.wide:
            wide = output is MapFormat.wide
            _emit("text", doc, lambda: table.map_table(chains, wide=wide))
        case MapFormat.tree:
            _emit("text", doc, lambda: tree.map_tree(chains))
        case MapFormat.json | MapFormat.yaml:
            _emit(output.value, doc, lambda: "")
        case _:
            assert_never(output)


@app.command()
def ips(
    output: Annotated[DataFormat, typer.Option("-o", "--output")] = DataFormat.text,
    namespace: NamespaceOpt = None,
    all_namespaces: AllNsOpt = False,
    context: ContextOpt = None,
    kubeconfig: KubeconfigOpt = None,
    request_timeout: TimeoutOpt = 30.0,
    snapshot: SnapshotOpt = None,
) -> None:
    """The IP inventory: node, cluster, external and pod IPs, and who allocates each."""
    snap, _ = _snapshot_or_cluster(
        snapshot, kubeconfig, context, request_timeout, namespace, all_namespaces, True
    )
    _warn(snap)
    inv = inventory.inventory(snap)
    _emit(output.value, report.inventory_report(inv), lambda: table.ips_tables(inv))


@app.command("trace")
def trace_(
    address: Annotated[str, typer.Argument(help="ADDRESS[:PORT], e.g. 10.96.0.10:443")],
    output: Annotated[DataFormat, typer.Option("-o", "--output")] = DataFormat.text,
    namespace: NamespaceOpt = None,
    all_namespaces: AllNsOpt = False,
    context: ContextOpt = None,
    kubeconfig: KubeconfigOpt = None,
    request_timeout: TimeoutOpt = 30.0,
    snapshot: SnapshotOpt = None,
) -> None:
    """What an address is and, with a port, where its traffic goes hop by hop."""
    target = trace.parse_target(address)
    if snapshot:
        snap, _ = _snapshot_or_cluster(
            snapshot, kubeconfig, context, request_timeout, namespace, all_namespaces, True
        )
    else:
        conn = _connect(kubeconfig, context, request_timeout)
        ns = _namespace(namespace, all_namespaces, True, conn.default_namespace)
        with _spinner(f"reading {conn.context} ({conn.server})…"):
            snap = _read_for_trace(conn, ns, target)
    _warn(snap)
    result = trace.trace(chain.Index.of(snap), target)
    _emit(output.value, report.trace_report(snap.context, result), lambda: tree.trace_tree(result))
    if not result.found:
        raise typer.Exit(ExitCode.NOT_FOUND)


@app.command("explain")
def explain_(
    namespace: NamespaceOpt = None,
    all_namespaces: AllNsOpt = False,
    context: ContextOpt = None,
    kubeconfig: KubeconfigOpt = None,
    request_timeout: TimeoutOpt = 30.0,
    snapshot: SnapshotOpt = None,
) -> None:
    """The four IPs and four ports, illustrated with a real service of this cluster."""
    snap, _ = _snapshot_or_cluster(
        snapshot, kubeconfig, context, request_timeout, namespace, all_namespaces, True
    )
    _warn(snap)
    from kinspect.render import explain  # rich.markdown costs 50 ms of every start otherwise

    _stdout().print(explain.explain(chain.build(snap)))


snapshot_app = typer.Typer(help="Save what kinspect reads, to work offline with --snapshot.")
app.add_typer(snapshot_app, name="snapshot")


@snapshot_app.command("save")
def snapshot_save(
    path: Annotated[str, typer.Argument(help="File to write (.gz: gzip-compressed).")],
    namespace: NamespaceOpt = None,
    all_namespaces: AllNsOpt = False,
    context: ContextOpt = None,
    kubeconfig: KubeconfigOpt = None,
    request_timeout: TimeoutOpt = 30.0,
) -> None:
    """Write nodes, services, endpoint slices, endpoints, pods and namespaces (never secrets)."""
    conn = _connect(kubeconfig, context, request_timeout)
    ns = _namespace(namespace, all_namespaces, True, conn.default_namespace)
    with _spinner(f"reading {conn.context} ({conn.server})…"):
        snap = cluster.snapshot(conn, cluster.Scope(ns), with_legacy_endpoints=True)
    _warn(snap)
    snapshotfile.save(path, snap)
    _stderr.print(
        f"saved {len(snap.services)} services, {len(snap.pods)} pods, {len(snap.nodes)} nodes "
        f"of {snap.context} to {path}"
    )


class AuditFormat(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"
    html = "html"
    junit = "junit"
    prometheus = "prometheus"


class Level(StrEnum):
    info = "info"
    warning = "warning"
    error = "error"
    never = "never"


_EXTENSIONS = {
    ".json": AuditFormat.json,
    ".md": AuditFormat.markdown,
    ".html": AuditFormat.html,
    ".xml": AuditFormat.junit,
    ".prom": AuditFormat.prometheus,
}


def _audit_one(
    load: Callable[[], Snapshot], name: str, ignore: frozenset[str]
) -> audit.ContextResult:
    try:
        snap = load()
    except KinspectError as e:
        return audit.ContextResult(name, error=e.message)
    idx = chain.Index.of(snap)
    findings = audit.run(snap, chain.build(snap, idx), idx, ignore)
    return audit.ContextResult(
        snap.context,
        None,
        snap.warnings,
        tuple(f"{s.namespace}/{s.name}" for s in snap.services),
        tuple(findings),
    )


@app.command("audit")
def audit_(
    output: Annotated[
        AuditFormat | None,
        typer.Option(
            "-o",
            "--output",
            help="Report format (default: text, or from --output-file's extension).",
        ),
    ] = None,
    output_file: Annotated[
        str | None,
        typer.Option(
            "--output-file", help="Write the report to FILE (atomically) instead of stdout."
        ),
    ] = None,
    fail_on: Annotated[
        Level, typer.Option("--fail-on", help="Exit 7 when a finding is at least this severe.")
    ] = Level.never,
    ignore: Annotated[
        str | None, typer.Option("--ignore", help="Check ids to skip, comma-separated.")
    ] = None,
    ignore_file: Annotated[
        str | None,
        typer.Option(
            "--ignore-file", help="YAML list of {check, reason, namespace?, service?, context?}."
        ),
    ] = None,
    baseline: Annotated[
        str | None,
        typer.Option(
            "--baseline", help="A previous -o json report: mark new findings, list resolved ones."
        ),
    ] = None,
    contexts: Annotated[
        list[str] | None,
        typer.Option(
            "--context", help="Context to audit; repeat for several (audited concurrently)."
        ),
    ] = None,
    all_contexts: Annotated[
        bool, typer.Option("--all-contexts", help="Audit every context of the kubeconfig.")
    ] = False,
    snapshots: Annotated[
        list[str] | None,
        typer.Option("--snapshot", help="Audit a saved snapshot instead of a cluster; repeatable."),
    ] = None,
    namespace: NamespaceOpt = None,
    all_namespaces: AllNsOpt = False,
    kubeconfig: KubeconfigOpt = None,
    request_timeout: TimeoutOpt = 30.0,
) -> None:
    """Find what breaks the chain: findings by severity, for people and for schedulers."""
    fmt = output or _EXTENSIONS.get(os.path.splitext(output_file or "")[1], AuditFormat.text)
    skip = frozenset(x.strip() for x in (ignore or "").split(",") if x.strip())
    unknown = skip - {c.id for c in audit.CHECKS}
    if unknown:
        raise UsageError(
            f"unknown check id(s) in --ignore: {', '.join(sorted(unknown))}",
            "see the ids in docs/audit.md",
        )
    rules = _ignore_rules(ignore_file) if ignore_file else []
    base = _baseline(baseline) if baseline else None
    loaders: list[tuple[str, Callable[[], Snapshot]]] = []
    for path in snapshots or ():
        ns = _namespace(namespace, all_namespaces, True, "default")
        loaders.append((path, functools.partial(_offline, path, ns)))
    if not snapshots or contexts or all_contexts:
        kc = kubeconfig or os.environ.get("KUBECONFIG") or None
        names = list(contexts or ())
        if all_contexts:
            names = list(cluster.contexts(kc)[0])
        targets: list[str | None] = [*names] or [None]
        for target in targets:
            read = functools.partial(
                _read_for_audit, kubeconfig, target, request_timeout, namespace, all_namespaces
            )
            loaders.append((target or "(current context)", read))
    if len(loaders) == 1:
        # One target: its failure is the command's failure, with its own exit code.
        label, read_one = loaders[0]
        with _spinner(f"auditing {label}…"):
            snap = read_one()
        results = [_audit_one(lambda: snap, label, skip)]
    else:
        with (
            _spinner(f"auditing {len(loaders)} targets…"),
            ThreadPoolExecutor(max_workers=min(4, len(loaders))) as pool,
        ):
            results = list(pool.map(lambda nl: _audit_one(nl[1], nl[0], skip), loaders))
    for r in results:
        for w in r.warnings:
            _stderr.print(f"[yellow]warning:[/] {r.context}: {w}")
        if not r.ok:
            _stderr.print(f"[red]failed:[/] {r.context}: {r.error}")
    result = audit.combine(results, rules, base)
    from kinspect.render import audit as render_audit  # only the audit needs it

    now = datetime.datetime.now(datetime.UTC)
    stamp = now.isoformat(timespec="seconds")
    threshold = None if fail_on is Level.never else audit.Severity[fail_on.name.upper()]
    text: str | None = None
    match fmt:
        case AuditFormat.text:
            renderable = render_audit.text(result)
        case AuditFormat.json:
            text = data.to_json(render_audit.document(result, stamp))
        case AuditFormat.markdown:
            text = render_audit.markdown(result, stamp)
        case AuditFormat.html:
            text = render_audit.html_report(result, stamp)
        case AuditFormat.junit:
            text = render_audit.junit(result, threshold or audit.Severity.WARNING)
        case AuditFormat.prometheus:
            text = render_audit.prometheus(result, now.timestamp())
        case _:
            assert_never(fmt)
    if text is None:
        if output_file:
            console = Console(record=True, width=120, file=io.StringIO())
            console.print(renderable)
            text = console.export_text()
        else:
            _stdout().print(renderable)
    if text is not None:
        if output_file:
            files.write_atomic(output_file, text.encode())
        else:
            sys.stdout.write(text)
    worst = result.worst()
    if threshold is not None and worst is not None and worst >= threshold:
        raise typer.Exit(ExitCode.FINDINGS)
    if any(not r.ok for r in results):
        raise typer.Exit(ExitCode.PARTIAL)


def _read_for_audit(
    kubeconfig: str | None,
    context: str | None,
    timeout: float,
    namespace: str | None,
    all_namespaces: bool,
) -> Snapshot:
    conn = _connect(kubeconfig, context, timeout)
    ns = _namespace(namespace, all_namespaces, True, conn.default_namespace)
    return cluster.snapshot(
        conn, cluster.Scope(ns), with_legacy_endpoints=True, narrow_when_forbidden=True
    )


def _ignore_rules(path: str) -> list[audit.IgnoreRule]:
    hint = "each entry: {check: ID, reason: WHY, namespace?: NS, service?: NAME, context?: CTX}"
    try:
        with open(path) as f:
            entries = yaml.safe_load(f) or []
    except (OSError, yaml.YAMLError) as e:
        raise UsageError(f"cannot read ignore file {path}: {type(e).__name__}", hint) from None
    if not isinstance(entries, list):
        raise UsageError(f"ignore file {path} is not a list", hint)
    ids = {c.id for c in audit.CHECKS} | {"*"}
    rules = []
    for i, entry in enumerate(entries, 1):
        if not isinstance(entry, dict) or not entry.get("check"):
            raise UsageError(f"ignore file {path}, entry {i}: needs a check and a reason", hint)
        if not str(entry.get("reason", "")).strip():
            raise UsageError(f"ignore file {path}, entry {i}: needs a reason", hint)
        if entry["check"] not in ids:
            raise UsageError(
                f"ignore file {path}, entry {i}: unknown check {entry['check']!r}", hint
            )
        rules.append(
            audit.IgnoreRule(
                str(entry["check"]),
                str(entry["reason"]),
                entry.get("namespace"),
                entry.get("service"),
                entry.get("context"),
            )
        )
    return rules


def _baseline(path: str) -> list[dict[str, str]]:
    hint = "pass a report written by: kinspect audit -o json"
    try:
        with open(path) as f:
            doc = json.load(f)
        findings = doc["findings"]
        assert doc.get("kind") == "AuditReport"
        return [
            {k: str(v) if v is not None else "" for k, v in x.items() if k != "pods"}
            for x in findings
        ]
    except (OSError, ValueError, KeyError, TypeError, AssertionError):
        raise UsageError(f"{path} is not a kinspect audit report", hint) from None


def _fail(message: str, hint: str, code: int) -> NoReturn:
    line = f"kinspect: error: {message}" + (f" (try: {hint})" if hint else "")
    _stderr.print(line, markup=False, highlight=False, soft_wrap=True)
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: one exception handler maps errors to exit codes."""
    # A short-lived process that builds millions of acyclic objects: the cyclic collector's
    # repeated full passes over them cost seconds on 100k pods and free nothing.
    gc.disable()
    cmd = typer.main.get_command(app)
    try:
        rv = cmd.main(args=argv, prog_name="kinspect", standalone_mode=False)
    except ClickException as e:  # bad flags or arguments
        _fail(e.format_message(), "kinspect --help", ExitCode.USAGE)
    except typer.Abort:
        _fail("interrupted", "", 130)
    except KinspectError as e:
        if _debug:
            raise
        _fail(e.message, e.hint, e.exit_code)
    except BrokenPipeError:
        sys.exit(0)
    except Exception as e:
        if _debug:
            raise
        _fail(f"unexpected {type(e).__name__}", "rerun with --debug and report it", ExitCode.ERROR)
    code = rv if isinstance(rv, int) else 0
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        code = 0
    # Skip the interpreter's teardown: it frees the millions of objects of a big cluster one by
    # one (half a second on 100k pods) and returns nothing the OS would not reclaim at once.
    os._exit(code)
