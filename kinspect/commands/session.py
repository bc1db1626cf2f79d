"""The run's outside world (`Session`), where commands read (`Target`, `Where`), and their steps.

Connecting, reading a snapshot file or the cluster, printing its warnings, writing a document;
Graphviz's SVG is here because map -o svg and the audit's HTML charts both draw one.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, TextIO, assert_never

from rich.console import Console, RenderableType
from rich.text import Text

from kinspect.model.errors import UsageError
from kinspect.model.snapshot import Snapshot
from kinspect.render import data, safe
from kinspect.render.safe import plain
from kinspect.wire import cluster, connection, lists, snapshotfile

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
        return safe.console(self.stdout, width=width, force_terminal=self.stdout_tty)

    @property
    def err(self) -> Console:
        if self._err is None:
            self._err = safe.console(self.stderr, force_terminal=self.stderr_tty)
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
        max_body=max_response_bytes(s),
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
    return _bytes(s, "KINSPECT_MAX_SNAPSHOT_BYTES", snapshotfile.MAX_BYTES)


def max_response_bytes(s: Session) -> int:
    """The largest API response read, inflated: KINSPECT_MAX_RESPONSE_BYTES or 1 GiB."""
    return _bytes(s, "KINSPECT_MAX_RESPONSE_BYTES", connection.MAX_RESPONSE_BYTES)


def _bytes(s: Session, name: str, default: int) -> int:
    """A positive whole number of bytes from the environment variable `name`, or `default`."""
    v = s.environ.get(name, "")
    if not v:
        return default
    if not (v.isascii() and v.isdigit() and len(v) <= 18 and int(v) > 0):
        raise UsageError(
            f"{name} must be a whole number of bytes, got {v[:20]!r}",
            f"e.g. {default} (the default)",
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


def warnings(s: Session, snap: Snapshot) -> None:
    """The snapshot's warnings on stderr, one line each."""
    for w in snap.warnings:
        s.warn(w)


def emit(
    s: Session,
    fmt: str,
    doc: dict[str, object],
    text: Callable[[], RenderableType],
    layout: Layout = "lines",
) -> None:
    """Write `doc` as JSON or YAML when `fmt` asks for it, else print `text()` at `layout`."""
    if fmt == "json":
        s.stdout.flush()
        # Indented for a person at a terminal; compact for programs, which need no whitespace
        # (on 100k pods it is hundreds of MB and a second pass over them).
        data.write_json(doc, s.stdout.buffer, stream="services", pretty=s.out_is_terminal)
    elif fmt == "yaml":
        s.stdout.write(data.to_yaml(doc))
    else:
        s.console(layout).print(text())


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
