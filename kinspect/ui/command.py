"""`kinspect ui`'s body: refuse a non-terminal, read the source once, run the app.

The snapshot is read as `map -A` reads it (`commands.read`: the cluster, or `--snapshot`),
except that a refused read of every namespace falls back to the context's namespace, as the
audit does; warnings are collected for the app's "could not read" line instead of printed.
`r` in the app calls the same `load` again, in a worker thread.
"""

from __future__ import annotations

import datetime
import functools
import io
from dataclasses import dataclass, field

from kinspect import commands
from kinspect.commands import Session, Target, Where
from kinspect.errors import ExitCode, UsageError
from kinspect.ui.view import Loaded


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
    snap, where = commands.read(r, t, w, default_all=True, narrow_when_forbidden=True)
    notes = tuple(dict.fromkeys((*snap.warnings, *r.collected)))
    source = f"snapshot {w.snapshot}" if w.snapshot else f"context {snap.context}"
    now = datetime.datetime.now(datetime.UTC)
    return Loaded(snap, source, now, notes, where)


def ui(s: Session, t: Target, w: Where) -> ExitCode:
    """Explore the chains interactively: namespaces, services, chains, search, trace, audit."""
    # Textual draws on stderr and reads the keyboard through the terminal: both must be one.
    for name, tty in (("stdout", s.out_is_terminal), ("stderr", s.err.is_terminal)):
        if not tty:
            raise UsageError(
                f"kinspect ui needs a terminal and {name} is not one",
                "kinspect map -A, which prints the same chains as text",
            )
    first = load(s, t, w)
    from kinspect.ui.app import KinspectApp  # Textual: only when the ui runs

    app = KinspectApp(first, functools.partial(load, s, t, w, True))
    app.run()
    if app.crashed is not None:
        raise app.crashed
    return ExitCode(app.return_code or 0)
