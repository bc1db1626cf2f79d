"""The typer app: the only place that reads the environment, prints, and exits.

Each command: build a Scope from kubectl-style flags → cluster.snapshot (I/O) → chain/trace/
inventory (pure) → a renderer (pure) → print here. Errors become one line on stderr with a
hint and a documented exit code (docs/exit-codes.md); --debug shows the traceback instead.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated, NoReturn, TypeVar, assert_never

import typer
from rich.console import Console, RenderableType

# typer vendors its own click; its exception base is not re-exported publicly.
from typer._click.exceptions import ClickException

from kinspect import __version__, chain, cluster, inventory, trace
from kinspect.errors import ExitCode, KinspectError, NotFoundError, UsageError
from kinspect.model import Snapshot
from kinspect.render import data, explain, report, table, tree

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


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    version: Annotated[bool, typer.Option("--version", help="Print the version.")] = False,
) -> None:
    global _debug
    _debug = debug or bool(os.environ.get("KINSPECT_DEBUG"))
    if version:
        print(f"kinspect {__version__}")
        raise typer.Exit(0)


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
    return cluster.connect(kubeconfig, context, timeout, in_cluster=in_cluster)


def _read(
    conn: cluster.Connection,
    namespace: str | None,
    all_namespaces: bool,
    default_all: bool = False,
    service: str | None = None,
    selector: str | None = None,
) -> Snapshot:
    if namespace and all_namespaces:
        raise UsageError("-n and -A both given", "use one of them")
    ns: str | None
    if all_namespaces or (default_all and not namespace):
        ns = None
    else:
        ns = namespace or conn.default_namespace
    with _spinner(f"reading {conn.context} ({conn.server})…"):
        return cluster.snapshot(conn, cluster.Scope(ns, service=service, selector=selector))


def _warn(snap: Snapshot) -> None:
    for w in snap.warnings:
        _stderr.print(f"[yellow]warning:[/] {w}")


def _emit(fmt: str, doc: dict[str, object], text: Callable[[], RenderableType]) -> None:
    out = _stdout()
    if fmt == "json":
        sys.stdout.write(data.to_json(doc))
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
) -> None:
    """The chain of every service port, one row per backend."""
    conn = _connect(kubeconfig, context, request_timeout)
    snap = _read(conn, namespace, all_namespaces, service=service, selector=selector)
    _warn(snap)
    if service and not snap.services:
        where = namespace or conn.default_namespace
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
) -> None:
    """The IP inventory: node, cluster, external and pod IPs, and who allocates each."""
    conn = _connect(kubeconfig, context, request_timeout)
    snap = _read(conn, namespace, all_namespaces, default_all=True)
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
) -> None:
    """What an address is and, with a port, where its traffic goes hop by hop."""
    target = trace.parse_target(address)
    conn = _connect(kubeconfig, context, request_timeout)
    snap = _read(conn, namespace, all_namespaces, default_all=True)
    _warn(snap)
    idx = chain.Index.of(snap)
    result = trace.trace(idx, chain.build(snap, idx), target)
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
) -> None:
    """The four IPs and four ports, illustrated with a real service of this cluster."""
    conn = _connect(kubeconfig, context, request_timeout)
    snap = _read(conn, namespace, all_namespaces, default_all=True)
    _warn(snap)
    _stdout().print(explain.explain(chain.build(snap)))


def _fail(message: str, hint: str, code: int) -> NoReturn:
    line = f"kinspect: error: {message}" + (f" (try: {hint})" if hint else "")
    _stderr.print(line, markup=False, highlight=False, soft_wrap=True)
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: one exception handler maps errors to exit codes."""
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
    sys.exit(rv if isinstance(rv, int) else 0)
