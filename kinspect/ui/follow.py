"""`kinspect ui` live: the watch's consumer on its own thread, posting to the app.

The consumer is map/trace --watch's (`watch.Watching`): every item of the watcher's queue
is applied to the `live.State` (only the chains an event touches are rebuilt). After each
batch the `Follower` posts what changed to the app (`KinspectApp.post_snapshot`, with the
state's chains, so the view rebuilds only the touched services' rows and search entries):

- at most every `POST_SECONDS`, and never while the app has not yet shown the last post: a
  busy app loses frames, never events (each event is in the state; the next post shows the
  state after all of them, and marks every service whose chain differs from the last post's:
  the union of what changed meanwhile, including what `ChainEvent`s do not name, such as a
  selected pod that gets no endpoint);
- a change of the status alone (a reconnect, the time of an event that changed no chain) is
  posted as a status only (`post_status`, no view built);
- the consumer failing (a watcher thread's bug arrives as `watcher.Crashed` and is raised) ends
  the app through `post_crash`: the command re-raises it once the terminal is restored (exit 1).

No Textual here: the app is reached through the `Screen` protocol (a fake one in tests).
"""

from __future__ import annotations

import datetime
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from kinspect.commands.session import Session
from kinspect.commands.watch import FRAME_SECONDS, Watching
from kinspect.live import state as live
from kinspect.live import watcher
from kinspect.model.change import Change
from kinspect.model.snapshot import Snapshot
from kinspect.model.values import Value
from kinspect.path.chain import ServiceChain
from kinspect.render import watch as render_watch
from kinspect.ui.view import ServiceKey

# A post at most this often (the --watch live view's frame rate).
POST_SECONDS = FRAME_SECONDS


class Screen(Protocol):
    """What the follower needs of the app (`KinspectApp`); each method is safe from any thread."""

    @property
    def shown(self) -> int: ...  # snapshots posted and swapped in so far

    def post_snapshot(
        self,
        snapshot: Snapshot,
        changed: frozenset[ServiceKey] | None = None,
        status: str | None = None,
        notes: tuple[str, ...] | None = None,
        read_at: datetime.datetime | None = None,
        chains: list[ServiceChain] | None = None,
    ) -> None: ...

    def post_status(self, status: str) -> None: ...

    def post_crash(self, error: BaseException) -> None: ...


def status_text(s: render_watch.Status) -> str:
    """The status line's "live" part: `live: watching · 12 events · last event 21:03:04Z`.

    Or `live: reconnecting (attempt 2) · pods: connection refused · …`, `live: polling pods
    every 10 s (watch refused) · …`, and `· re-listed pods after 410 at 21:03:01Z` once a watch
    expired. Cluster text in it (a reason) is made plain by the app.
    """
    if s.problems:
        parts = []
        for kind, problem in sorted(s.problems.items()):
            head, _, reason = problem.partition(": ")
            parts.append(f"{head} · {kind}" + (f": {reason}" if reason else ""))
        head = "live: " + "; ".join(parts)
    elif s.polling:
        every = f"{watcher.POLL_SECONDS:g} s"
        head = f"live: polling {', '.join(sorted(s.polling))} every {every} (watch refused)"
    else:
        head = "live: watching"
    last = f"last event {s.last_event}Z" if s.last_event else "no event yet"
    text = f"{head} · {s.applied} events · {last}"
    if s.relisted is not None:
        text += f" · re-listed {s.relisted[0]} after 410 at {s.relisted[1]}Z"
    return text


@dataclass
class Follower:
    """One ui's watch: the consumer thread, and what it has not yet posted."""

    s: Session
    state: live.State
    feed: watcher.Feed
    notes: tuple[str, ...]  # what the first read could not read (kept on every post)
    clock: Callable[[], float] = time.monotonic
    status: render_watch.Status = field(init=False)
    watching: Watching = field(init=False)
    last: dict[ServiceKey, ServiceChain] = field(init=False)  # the chains last posted
    # The state changed since the last post (a pod no service selects changes counts and
    # the search, not a chain), as opposed to an event that changed nothing kinspect reads.
    dirty: bool = False
    said: str = ""  # the status last posted
    posted: int = 0
    posted_at: float = float("-inf")
    thread: threading.Thread | None = None
    screen: Screen | None = None

    def __post_init__(self) -> None:
        self.status = render_watch.Status(self.state.snapshot.context)
        # live_view: the status is the app's to show; nothing is written to the terminal.
        self.watching = Watching(self.s, self.state, self.feed, self.status, True)
        self.said = status_text(self.status)
        self.last = dict(self.state.chains)

    def start(self, screen: Screen) -> None:
        """Start the watch and the consumer thread, posting to `screen` (the app, running)."""
        self.screen = screen
        screen.post_status(self.said)
        self.thread = threading.Thread(target=self._run, name="ui-follow", daemon=True)
        self.thread.start()

    def stop(self, wait: float = 1.0) -> None:
        """End the consumer (within a FRAME_SECONDS) and wait for it at most `wait` seconds."""
        self.watching.stopped.set()
        if self.thread is not None and self.thread is not threading.current_thread():
            self.thread.join(wait)

    def _run(self) -> None:
        assert self.screen is not None
        try:
            self.watching.run(self._changed, self._tick)
        except BaseException as e:  # a bug, or a test's Ctrl-C: the app ends and says it
            self.screen.post_crash(e)

    def _changed(
        self, change: Change, before: tuple[Value, ...], evs: list[live.ChainEvent]
    ) -> None:
        after = () if change.type == "DELETED" else change.values
        self.dirty = self.dirty or bool(evs) or after != before

    def _tick(self) -> None:
        screen = self.screen
        assert screen is not None
        text = status_text(self.status)
        if not self.dirty:
            if text != self.said:
                # Nothing to rebuild: the status alone (a reconnect, an event that changed
                # nothing kinspect reads).
                screen.post_status(text)
                self.said = text
            return
        now = self.clock()
        if now - self.posted_at < POST_SECONDS or screen.shown < self.posted:
            return  # too soon, or the app still busy with the last post: a frame dropped
        # Rebuilt chains are new objects: those equal to the last post's are not marked.
        now_chains, last = self.state.chains, self.last
        touched = frozenset(
            k for k, c in now_chains.items() if (was := last.get(k)) is not c and was != c
        )
        self.last = dict(now_chains)
        self.dirty = False
        chains = self.state.current()
        screen.post_snapshot(self.state.as_snapshot(), touched, text, self.notes, None, chains)
        self.said, self.posted, self.posted_at = text, self.posted + 1, now
