"""The typer surface: the commands, their arguments and help. Nothing else.

Each command turns its flags (the shared ones declared once in `options`) into plain values and
calls its module of `kinspect.commands`, which does the work against an injected `Session`
(streams, environment, --debug). `run(argv)` is the whole program and returns its exit status;
`program` holds the one handler that maps errors to exits (docs/exit-codes.md) and `main`, the
only place the process exits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, TextIO

import typer

from kinspect import __version__, program
from kinspect.audit.finding import Severity
from kinspect.commands import audit as audit_cmd
from kinspect.commands import map as map_cmd
from kinspect.commands import policy as policy_cmd
from kinspect.commands import snapshot as snapshot_cmd
from kinspect.commands import trace as trace_cmd
from kinspect.commands.audit import AuditOptions, Level
from kinspect.commands.session import DataFormat, MapFormat, Session, Target, Where
from kinspect.commands.snapshot import DiffFormat
from kinspect.commands.watch import WATCH_TIMEOUT, WatchOptions
from kinspect.model.errors import ExitCode
from kinspect.options import (
    REQUEST_TIMEOUT,
    AllNsOpt,
    ContextOpt,
    DataOutputOpt,
    DiffOutputOpt,
    EvidenceOpt,
    KubeconfigOpt,
    MapOutputOpt,
    NamespaceOpt,
    SelectorOpt,
    SnapshotOpt,
    TimeoutOpt,
    WatchOpt,
    WatchTimeoutOpt,
)
from kinspect.render.audit import AuditFormat

app = typer.Typer(
    name="kinspect",
    help="Show the IP and port chain of every Service: frontends → ClusterIP → pods → containers.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion and --show-completion (bash, zsh, fish, pwsh)
    # Pretty exceptions print local variables: a token in a local must never reach a terminal.
    pretty_exceptions_enable=False,
    cls=program.Group,  # a closed stdout ends quietly (exit 0), not as click's exit 1
)


def _session(ctx: typer.Context) -> Session:
    session: Session = ctx.find_root().obj  # set by run()
    return session


def _version(ctx: typer.Context, value: bool) -> None:
    if value:
        _session(ctx).stdout.write(f"kinspect {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def _root(
    ctx: typer.Context,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    verbose: Annotated[
        bool, typer.Option("-v", "--verbose", help="Show each retry of a request.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", help="Print the version.", callback=_version, is_eager=True),
    ] = False,
) -> None:
    session = _session(ctx)
    session.debug = session.debug or debug
    session.verbose = session.verbose or verbose


@app.command("map")
def map_(
    ctx: typer.Context,
    service: Annotated[str | None, typer.Argument(help="Only this service.")] = None,
    output: MapOutputOpt = MapFormat.table,
    namespace: NamespaceOpt = None,
    all_namespaces: AllNsOpt = False,
    selector: SelectorOpt = None,
    context: ContextOpt = None,
    kubeconfig: KubeconfigOpt = None,
    request_timeout: TimeoutOpt = REQUEST_TIMEOUT,
    snapshot: SnapshotOpt = None,
    entrypoints: Annotated[bool, typer.Option(help="Every host and path, where it lands.")] = False,
    watch: WatchOpt = False,
    watch_timeout: WatchTimeoutOpt = WATCH_TIMEOUT,
    evidence: EvidenceOpt = False,
) -> ExitCode:
    """The chain of every service port, one row per backend."""
    t, w = Target(kubeconfig, context, request_timeout), Where(namespace, all_namespaces, snapshot)
    o = WatchOptions(watch, watch_timeout)
    return map_cmd.map_(_session(ctx), t, w, output, service, selector, entrypoints, o, evidence)


@app.command()
def ips(
    ctx: typer.Context,
    output: DataOutputOpt = DataFormat.text,
    namespace: NamespaceOpt = None,
    all_namespaces: AllNsOpt = False,
    context: ContextOpt = None,
    kubeconfig: KubeconfigOpt = None,
    request_timeout: TimeoutOpt = REQUEST_TIMEOUT,
    snapshot: SnapshotOpt = None,
) -> ExitCode:
    """The IP inventory: node, cluster, external and pod IPs, and who allocates each."""
    t, w = Target(kubeconfig, context, request_timeout), Where(namespace, all_namespaces, snapshot)
    return map_cmd.ips(_session(ctx), t, w, output.value)


@app.command("trace")
def trace_(
    ctx: typer.Context,
    address: Annotated[
        str,
        typer.Argument(
            help="ADDRESS[:PORT[/PROTOCOL]] (e.g. 10.96.0.10:443, 10.96.0.10:53/UDP) or a URL "
            "(http://h/p)"
        ),
    ],
    host: Annotated[str | None, typer.Option(help="Host header: trace an Ingress rule")] = None,
    path: Annotated[str | None, typer.Option(help="URL path: trace an Ingress rule")] = None,
    output: DataOutputOpt = DataFormat.text,
    namespace: NamespaceOpt = None,
    all_namespaces: AllNsOpt = False,
    context: ContextOpt = None,
    kubeconfig: KubeconfigOpt = None,
    request_timeout: TimeoutOpt = REQUEST_TIMEOUT,
    snapshot: SnapshotOpt = None,
    source: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="NAMESPACE/POD, NAMESPACE, node/NAME, IP or 'outside': the NetworkPolicy "
            "verdict at every hop.",
        ),
    ] = None,
    watch: WatchOpt = False,
    watch_timeout: WatchTimeoutOpt = WATCH_TIMEOUT,
    evidence: EvidenceOpt = False,
) -> ExitCode:
    """What an address is and, with a port, where its traffic goes hop by hop.

    Without a port: the services a pod IP backs (or why not), the ports open on a node IP.
    A URL (or --host/--path): the Ingress rule that answers it, then the service's chain.
    """
    t, w = Target(kubeconfig, context, request_timeout), Where(namespace, all_namespaces, snapshot)
    o = WatchOptions(watch, watch_timeout)
    return trace_cmd.trace_(
        _session(ctx), t, w, output.value, address, host, path, source, o, evidence
    )


@app.command("policy")
def policy_(
    ctx: typer.Context,
    target: Annotated[
        str | None, typer.Argument(help="NAMESPACE/POD or NAMESPACE/SERVICE[:PORT]")
    ] = None,
    matrix: Annotated[bool, typer.Option("--matrix", help="Pod-to-pod matrix of -n.")] = False,
    port: Annotated[int | None, typer.Option(help="--matrix on this TCP port only.")] = None,
    output: DataOutputOpt = DataFormat.text,
    namespace: NamespaceOpt = None,
    context: ContextOpt = None,
    kubeconfig: KubeconfigOpt = None,
    request_timeout: TimeoutOpt = REQUEST_TIMEOUT,
    snapshot: SnapshotOpt = None,
) -> ExitCode:
    """Who may reach a pod or service port by NetworkPolicy; --matrix: pod to pod."""
    o = policy_cmd.PolicyOptions(target, matrix, port)
    t, w = Target(kubeconfig, context, request_timeout), Where(namespace, False, snapshot)
    return policy_cmd.policy_(_session(ctx), t, w, output.value, o)


@app.command("explain")
def explain_(
    ctx: typer.Context,
    namespace: NamespaceOpt = None,
    all_namespaces: AllNsOpt = False,
    context: ContextOpt = None,
    kubeconfig: KubeconfigOpt = None,
    request_timeout: TimeoutOpt = REQUEST_TIMEOUT,
    snapshot: SnapshotOpt = None,
) -> ExitCode:
    """The four IPs and four ports, illustrated with a real service of this cluster."""
    t, w = Target(kubeconfig, context, request_timeout), Where(namespace, all_namespaces, snapshot)
    return map_cmd.explain(_session(ctx), t, w)


@app.command("diff")
def diff_(
    ctx: typer.Context,
    old: Annotated[str, typer.Argument(help="A snapshot file, an audit -o json report, or live.")],
    new: Annotated[str, typer.Argument(help="A snapshot file, an audit -o json report, or live.")],
    output: DiffOutputOpt = DiffFormat.text,
    namespace: NamespaceOpt = None,
    all_namespaces: AllNsOpt = False,
    context: ContextOpt = None,
    kubeconfig: KubeconfigOpt = None,
    request_timeout: TimeoutOpt = REQUEST_TIMEOUT,
) -> ExitCode:
    """What changed in the chain from OLD to NEW: exit 0 when nothing, 10 when something did.

    Services, ports, frontends, backends (and their readiness), the container port a named
    targetPort resolves to; between two audit reports, findings new and resolved. -n compares
    that namespace only, on both sides. A file named live: ./live.
    """
    t, w = Target(kubeconfig, context, request_timeout), Where(namespace, all_namespaces)
    return snapshot_cmd.diff(_session(ctx), t, w, output, old, new)


@app.command("ui")
def ui_(
    ctx: typer.Context,
    namespace: NamespaceOpt = None,
    all_namespaces: AllNsOpt = False,
    context: ContextOpt = None,
    kubeconfig: KubeconfigOpt = None,
    request_timeout: TimeoutOpt = REQUEST_TIMEOUT,
    snapshot: SnapshotOpt = None,
    no_watch: Annotated[
        bool,
        typer.Option("--no-watch", help="Read the cluster once and stop there (r reads it again)."),
    ] = False,
) -> ExitCode:
    """Explore interactively: namespaces, services, chains; / search, t trace, a audit, q quit.

    Reads all namespaces unless -n (only the context's own when refused), then follows the
    cluster live through a watch (the status line says how it goes); --no-watch reads once,
    and r reads again. A snapshot file (--snapshot) is never live; r reads it again.
    """
    from kinspect.ui import command  # Textual loads only for this command

    t, w = Target(kubeconfig, context, request_timeout), Where(namespace, all_namespaces, snapshot)
    return command.ui(_session(ctx), t, w, watch=not no_watch)


snapshot_app = typer.Typer(help="Save what kinspect reads, to work offline with --snapshot.")
app.add_typer(snapshot_app, name="snapshot")


@snapshot_app.command("save")
def snapshot_save(
    ctx: typer.Context,
    path: Annotated[str, typer.Argument(help="File to write (.gz: gzip-compressed).")],
    namespace: NamespaceOpt = None,
    all_namespaces: AllNsOpt = False,
    context: ContextOpt = None,
    kubeconfig: KubeconfigOpt = None,
    request_timeout: TimeoutOpt = REQUEST_TIMEOUT,
) -> ExitCode:
    """Write nodes, services, endpoint slices, endpoints, pods and namespaces (never secrets)."""
    t = Target(kubeconfig, context, request_timeout)
    w = Where(namespace, all_namespaces)
    return snapshot_cmd.snapshot_save(_session(ctx), t, w, path)


@app.command("audit")
def audit_(
    ctx: typer.Context,
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
    request_timeout: TimeoutOpt = REQUEST_TIMEOUT,
    evidence: EvidenceOpt = False,
) -> ExitCode:
    """Find what breaks the chain: findings by severity, for people and for schedulers."""
    options = AuditOptions(
        fmt=output,
        output_file=output_file,
        fail_on=None if fail_on is Level.never else Severity[fail_on.name.upper()],
        ignore=frozenset(x.strip() for x in (ignore or "").split(",") if x.strip()),
        ignore_file=ignore_file,
        baseline=baseline,
        contexts=tuple(contexts or ()),
        all_contexts=all_contexts,
        snapshots=tuple(snapshots or ()),
        evidence=evidence,
    )
    t = Target(kubeconfig, None, request_timeout)
    return audit_cmd.audit_(_session(ctx), t, Where(namespace, all_namespaces), options)


def run(
    argv: list[str],
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
    prog: str = "kinspect",
) -> ExitCode:
    """The whole program: parse `argv`, run the command, map any error to its exit code."""
    return program.run(app, argv, stdout, stderr, environ, prog)


def main() -> None:
    """Console-script entry point: run, flush, and leave without the interpreter's teardown."""
    program.main(app)
