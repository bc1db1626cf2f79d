"""map and trace `--watch`: the first read with its versions, the watchers, and `Watching`.

`Watching` applies the watchers' events to the live state; `kinspect ui` follows through it too.
"""

from __future__ import annotations

import datetime
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from rich.text import Text

from kinspect.commands.session import (
    MapFormat,
    Session,
    Target,
    Where,
    connect,
    namespace_of,
    warnings,
)
from kinspect.live import state as live
from kinspect.live import watcher
from kinspect.model.change import Change, Key
from kinspect.model.errors import ExitCode, UsageError
from kinspect.model.snapshot import Snapshot
from kinspect.model.values import Value
from kinspect.path import chain, trace
from kinspect.render import data, report
from kinspect.render import watch as render_watch
from kinspect.wire import cluster, lists


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
    warnings(s, snap)
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

        s.console("wide" if wide else "lines").print(
            table.map_table(
                state.current(), wide=wide, whole=True, namespace_column=snap.read_namespace is None
            )
        )

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
