"""`kinspect ui`'s body: refuse a non-terminal, read the source, run the app, live or not.

Against a cluster the ui follows it (`follow`): the first read is `--watch`'s
(`watch.start_watch`: one LIST per kind, resourceVersions kept, a `live.State`), then the
watcher threads and the consumer (`ui/follow.py`) post every change to the app until it ends;
both are stopped then. A refused read of every namespace falls back to the context's
namespace (read and watched there), as the audit does.

A snapshot file, or `--no-watch`, is read once as `map -A` reads it (`session.read`), with
the same fallback; `r` in the app calls the same `load` again, in a worker thread.
Warnings are collected for the app's "could not read" line instead of printed.
"""

from __future__ import annotations

import datetime
import functools
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kinspect.commands.session import Session, Target, Where, read
from kinspect.commands.watch import WatchOptions, start_watch
from kinspect.live import watcher
from kinspect.model.errors import ExitCode, UsageError
from kinspect.ui.follow import Follower
from kinspect.ui.view import Loaded

if TYPE_CHECKING:
    from kinspect.ui.app import KinspectApp


@dataclass
class _Collecting(Session):
    """A session whose warnings are kept for the app rather than printed."""

    collected: list[str] = field(default_factory=list)

    def warn(self, text: str, label: str = "warning:", style: str = "yellow") -> None:
        self.collected.append(text)


def load(s: Session, t: Target, w: Where, quiet: bool = False) -> Loaded:
    """Read the source once. `quiet`: no spinner or progress on the terminal (the app runs)."""
    streams = (io.StringIO(), io.StringIO()) if quiet else (s.stdout, s.stderr)
    r = _Collecting(*streams, s.environ, s.debug, s.verbose, s.stdout_tty, s.stderr_tty)
    if quiet:
        r.stderr_tty = False
    snap, where = read(r, t, w, default_all=True, narrow_when_forbidden=True)
    notes = tuple(dict.fromkeys((*snap.warnings, *r.collected)))
    source = f"snapshot {w.snapshot}" if w.snapshot else f"context {snap.context}"
    now = datetime.datetime.now(datetime.UTC)
    return Loaded(snap, source, now, notes, where)


def follow(
    s: Session, t: Target, w: Where, o: WatchOptions
) -> tuple[Loaded, Follower, watcher.Watcher]:
    """The first read of a live ui, the follower that will post its changes, and the watcher.

    Warnings (of the first read, and the watcher threads' later ones: the app's status line
    says those) are kept, never printed over the app.
    """
    r = _Collecting(s.stdout, s.stderr, s.environ, s.debug, s.verbose, s.stdout_tty, s.stderr_tty)
    _, state, wt = start_watch(r, t, w, o, True, narrow_when_forbidden=True)
    snap = state.as_snapshot()
    notes = tuple(dict.fromkeys((*snap.warnings, *r.collected)))
    now = datetime.datetime.now(datetime.UTC)
    first = Loaded(
        snap, f"context {snap.context}", now, notes, w.namespace or wt.conn.default_namespace
    )
    return first, Follower(r, state, wt, notes), wt


def live_app(
    s: Session, t: Target, w: Where, o: WatchOptions
) -> tuple[KinspectApp, Callable[[], None]]:
    """The app following the cluster (the first read done), and what stops its watch after."""
    first, follower, wt = follow(s, t, w, o)
    from kinspect.ui.app import KinspectApp  # Textual: only when the ui runs

    def stop() -> None:
        follower.stop()
        wt.stop()

    return KinspectApp(first, None, "live: starting the watch", follower.start), stop


def ui(s: Session, t: Target, w: Where, watch: bool = True) -> ExitCode:
    """Explore the chains interactively: namespaces, services, chains, search, trace, audit.

    Live against a cluster unless `watch` is False (--no-watch); a snapshot file never is.
    """
    # Textual draws on stderr and reads the keyboard through the terminal: both must be one.
    for name, tty in (("stdout", s.out_is_terminal), ("stderr", s.err.is_terminal)):
        if not tty:
            raise UsageError(
                f"kinspect ui needs a terminal and {name} is not one",
                "kinspect map -A, which prints the same chains as text",
            )
    if w.snapshot or not watch:
        first = load(s, t, w)
        from kinspect.ui.app import NO_WATCH, NOT_LIVE, KinspectApp  # Textual: only for the ui

        reload = functools.partial(load, s, t, w, True)
        app = KinspectApp(first, reload, NOT_LIVE if w.snapshot else NO_WATCH)
        app.run()
    else:
        app, stop = live_app(s, t, w, WatchOptions(watch=True))
        try:
            app.run()
        finally:
            stop()
    if app.crashed is not None:
        raise app.crashed
    return ExitCode(app.return_code or 0)
