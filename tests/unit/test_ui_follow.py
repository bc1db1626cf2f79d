"""`kinspect ui` live, in-process: a feed's queue → the consumer thread → what the app shows.

The feed stands in for `watcher.Watcher` (which needs an API server: tests/e2e/test_ui.py
runs the real one): the test puts on its queue what the watcher threads would (changes,
relists, health), while the app runs headless under Textual's Pilot. Its queue hands the
consumer one item per batch (as a slow trickle of events would), so each item is followed by
the consumer's tick, where posts are decided.
"""

from __future__ import annotations

import asyncio
import datetime
import io
import queue
import re
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import msgspec
import pytest
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import OptionList, Static

from kinspect.commands.session import Session
from kinspect.live import watcher
from kinspect.live.state import State
from kinspect.model.change import Change
from kinspect.model.errors import ExitCode
from kinspect.model.snapshot import Snapshot
from kinspect.path.chain import ServiceChain
from kinspect.render import watch as render_watch
from kinspect.ui import follow
from kinspect.ui.app import KinspectApp
from kinspect.ui.follow import Follower
from kinspect.ui.view import Loaded, ServiceKey

from .builders import cport, ep, group, node, pod, snap, sport, svc
from .runner import invoke, one_line_error


class OneByOne(queue.Queue[watcher.Item]):
    """A queue that never has a second item at hand: every item is a batch of its own."""

    def get_nowait(self) -> watcher.Item:
        raise queue.Empty


@dataclass
class Feed:
    queue: queue.Queue[watcher.Item] = field(default_factory=OneByOne)
    started: bool = False

    def start(self) -> None:
        self.started = True


A = pod("a", "10.244.0.5", cport("app", 8080))
B = pod("b", "10.244.1.6", cport("app", 8080), node_name="n1")
API = svc("api", sport(80, 8080), cluster_ips=("10.96.0.11",), selector={"app": "api"})


def _first() -> Snapshot:
    web = svc("web", sport(80, 8080))
    g = group("web", [(None, 8080, "TCP")], ep("10.244.0.5", "a"))
    return snap(nodes=(node(0), node(1)), services=(web, API), groups=(g,), pods=(A,))


def _slice(*ready: bool) -> Change:
    """web's EndpointSlice with a and b, each ready or not."""
    eps = (ep("10.244.0.5", "a", ready=ready[0]), ep("10.244.1.6", "b", "n1", ready=ready[1]))
    g = group("web", [(None, 8080, "TCP")], *eps)
    return Change("endpoint_groups", "MODIFIED", ("ns", "web-8080"), (g,))


def _session() -> Session:
    return Session(io.StringIO(), io.StringIO(), {})


def _live() -> tuple[KinspectApp, Follower, Feed]:
    state = State.of(_first())
    feed = Feed()
    follower = Follower(_session(), state, feed, ())
    at = datetime.datetime.now(datetime.UTC)
    first = Loaded(state.as_snapshot(), "context test", at, (), "ns")
    return KinspectApp(first, None, "live: starting", follower.start), follower, feed


def _drive(app: KinspectApp, script: Callable[[Pilot[None]], Awaitable[None]]) -> None:
    async def go() -> None:
        async with app.run_test(size=(160, 45)) as pilot:
            await pilot.pause()
            await script(pilot)

    asyncio.run(go())


async def _until(pilot: Pilot[None], what: str, check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"the app never showed {what}")
        await pilot.pause(0.02)


def _rows(app: KinspectApp) -> dict[str, list[str]]:
    """The service list as shown, by name: [mark, STATE, SERVICE, TYPE, PORTS, READY]."""
    options = app.query_one("#services", OptionList)
    out = {}
    for i in range(options.option_count):
        prompt = options.get_option_at_index(i).prompt
        assert isinstance(prompt, Text)
        row = [prompt.plain[0], *prompt.plain[2:].split()]
        out[row[2]] = row
    return out


def _status(app: KinspectApp) -> str:
    return str(app.query_one("#status", Static).content)


def test_changes_show_the_new_ready_count_marked_and_the_last_event_time() -> None:
    app, follower, feed = _live()

    async def script(pilot: Pilot[None]) -> None:
        await _until(pilot, "the watch started", lambda: "live: watching" in _status(app))
        assert feed.started
        assert "no event yet" in _status(app)
        assert _rows(app)["web"][:2] == [" ", "ready"]
        assert _rows(app)["web"][-1] == "1/1"
        feed.queue.put(Change("pods", "ADDED", ("ns", "b"), (B,)))
        feed.queue.put(_slice(True, False))
        await _until(pilot, "web 1/2", lambda: _rows(app)["web"][-1] == "1/2")
        assert _rows(app)["web"][:2] == ["●", "degraded"]
        assert _rows(app)["api"][0] == " "
        feed.queue.put(_slice(True, True))
        await _until(pilot, "web 2/2", lambda: _rows(app)["web"][-1] == "2/2")
        assert _rows(app)["web"][:2] == ["●", "ready"]
        status = _status(app)
        assert re.search(r"live: watching · 3 events · last event \d\d:\d\d:\d\dZ", status)
        assert "3 pods" not in status
        assert "2 pods" in status
        # r does not re-read a live app: it says it is live already.
        await pilot.press("r")
        assert "live: watching" in _status(app)
        await pilot.press("q")

    _drive(app, script)
    assert app.return_code == 0
    follower.stop()
    assert follower.thread is not None
    assert not follower.thread.is_alive()


def test_health_items_are_the_status_line() -> None:
    app, follower, feed = _live()

    async def script(pilot: Pilot[None]) -> None:
        await _until(pilot, "the watch started", lambda: "live: watching" in _status(app))
        feed.queue.put(watcher.Health("pods", "reconnecting", 2, "connection refused"))
        await _until(pilot, "reconnecting", lambda: "reconnecting" in _status(app))
        assert "live: reconnecting (attempt 2) · pods: connection refused" in _status(app)
        feed.queue.put(watcher.Health("pods", "watching"))
        await _until(pilot, "watching again", lambda: "live: watching" in _status(app))
        # A 410's relist: the status says so; the pod b it brings is shown.
        feed.queue.put(watcher.Relisted("pods", {("ns", "a"): (A,), ("ns", "b"): (B,)}, "pods"))
        await _until(pilot, "the relist", lambda: "re-listed pods after 410" in _status(app))
        assert "2 pods" in _status(app)
        feed.queue.put(watcher.Health("endpointslices", "polling"))
        await _until(pilot, "polling", lambda: "polling" in _status(app))
        assert "live: polling endpointslices every 10 s (watch refused)" in _status(app)
        # A poll's list is no 410: the relist said is still the pods' one.
        polled = watcher.Relisted("endpoint_groups", {}, "endpointslices", polled=True)
        feed.queue.put(polled)
        await _until(pilot, "the poll applied", lambda: _rows(app)["web"][1] == "none")
        assert "re-listed pods after 410" in _status(app)
        assert "re-listed endpointslices" not in _status(app)

    _drive(app, script)
    follower.stop()


def test_a_crash_of_the_watch_ends_the_app_with_the_error_for_the_command() -> None:
    app, follower, feed = _live()

    async def script(pilot: Pilot[None]) -> None:
        await _until(pilot, "the watch started", lambda: feed.started)
        feed.queue.put(watcher.Crashed(RuntimeError("a bug in a watcher thread")))
        await _until(pilot, "the end", lambda: app.crashed is not None)

    _drive(app, script)
    assert isinstance(app.crashed, RuntimeError)
    assert app.return_code == 1
    follower.stop()


def test_many_changes_make_few_posts_and_the_last_state_is_shown() -> None:
    app, follower, feed = _live()
    n = 300

    async def script(pilot: Pilot[None]) -> None:
        await _until(pilot, "the watch started", lambda: "live: watching" in _status(app))
        t0 = time.monotonic()
        feed.queue.put(Change("pods", "ADDED", ("ns", "b"), (B,)))
        for i in range(n):
            feed.queue.put(_slice(True, i % 2 == 1))  # the last one: both ready
        await _until(pilot, f"{n + 1} events", lambda: f"· {n + 1} events" in _status(app))
        elapsed = time.monotonic() - t0
        assert _rows(app)["web"][-1] == "2/2"
        assert app.view.snapshot.endpoint_groups[0].endpoints[1].ready
        # At most one post per POST_SECONDS (and one at the start of a burst).
        assert 1 <= follower.posted <= 2 + elapsed / follow.POST_SECONDS
        assert follower.posted < n // 10

    _drive(app, script)
    follower.stop()


@dataclass
class Busy:
    """A screen that has not shown its posts yet: `shown` stays where the test puts it."""

    shown: int = 0
    posts: list[frozenset[ServiceKey] | None] = field(default_factory=list)
    crashed: list[BaseException] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)

    def post_snapshot(
        self,
        snapshot: Snapshot,
        changed: frozenset[ServiceKey] | None = None,
        status: str | None = None,
        notes: tuple[str, ...] | None = None,
        read_at: datetime.datetime | None = None,
        chains: list[ServiceChain] | None = None,
    ) -> None:
        self.posts.append(changed)

    def post_status(self, status: str) -> None:
        pass

    def post_crash(self, error: BaseException) -> None:
        self.crashed.append(error)
        self.done.set()


def test_a_busy_app_loses_frames_not_events_and_gets_the_union_of_what_changed() -> None:
    state = State.of(_first())
    feed = Feed()
    ticks = iter(range(1_000_000))  # a clock a second later at every look: never "too soon"
    follower = Follower(_session(), state, feed, (), clock=lambda: float(next(ticks)))
    api_pod = pod("c", "10.244.2.7", cport("app", 8080), labels={"app": "api"})
    g = group("api", [(None, 8080, "TCP")], ep("10.244.2.7", "c"))
    for item in (
        _slice(True, False),  # web: posted at once
        Change("pods", "ADDED", ("ns", "c"), (api_pod,)),  # api (the app still busy)
        Change("endpoint_groups", "ADDED", ("ns", "api-8080"), (g,)),
        _slice(True, True),  # web again
        watcher.Crashed(KeyboardInterrupt()),  # ends the consumer (as Ctrl-C would)
    ):
        feed.queue.put(item)
    screen = Busy()
    follower.start(screen)
    assert screen.done.wait(10)
    assert isinstance(screen.crashed[0], KeyboardInterrupt)
    # The first change was posted; the app never showed it, so nothing more was.
    assert screen.posts == [frozenset({("ns", "web")})]
    # Every event is in the state, though only one frame was posted.
    assert state.chains[("ns", "api")].ports[0].backends[0].address == "10.244.2.7"
    assert all(b.ready for b in state.chains[("ns", "web")].ports[0].backends)
    # Once the app has shown it, the next post carries what changed since, as one set.
    screen.shown = 1
    follower.posted_at = float("-inf")
    follower._tick()
    assert len(screen.posts) == 2
    assert screen.posts[1] is not None
    assert screen.posts[1] == {("ns", "api"), ("ns", "web")}


def test_status_text_on_plain_status() -> None:
    s = render_watch.Status("ctx")
    assert follow.status_text(s) == "live: watching · 0 events · no event yet"
    s.applied, s.last_event = 4, "21:03:04"
    s.problems = {"pods": "reconnecting (attempt 3)", "services": "reconnecting (attempt 1): x"}
    assert follow.status_text(s) == (
        "live: reconnecting (attempt 3) · pods; reconnecting (attempt 1) · services: x"
        " · 4 events · last event 21:03:04Z"
    )
    s.problems = {}
    s.polling = {"pods"}
    s.relisted = ("services", "21:03:00")
    assert follow.status_text(s) == (
        "live: polling pods every 10 s (watch refused) · 4 events · last event 21:03:04Z"
        " · re-listed services after 410 at 21:03:00Z"
    )


def test_view_after_reuses_what_did_not_change_and_equals_a_whole_build() -> None:
    from kinspect.ui.view import View

    state = State.of(_first())
    # The rows a view reuses are those of the same chain objects: the state's.
    before = View.after(
        View(state.as_snapshot()), state.as_snapshot(), state.current(), frozenset()
    )
    before.warm()
    touched: set[ServiceKey] = set()
    for change in (Change("pods", "ADDED", ("ns", "b"), (B,)), _slice(False, True)):
        touched |= {(e.namespace, e.service) for e in state.step(change)}
    assert touched == {("ns", "web")}
    after = View.after(before, state.as_snapshot(), state.current(), frozenset(touched))
    whole = View(state.as_snapshot())
    assert after.by_key == whole.by_key
    assert after.namespaces == whole.namespaces
    assert after.search("10.244") == whole.search("10.244")
    assert after.search("api") == whole.search("api")
    assert after.by_key[("ns", "api")] is before.by_key[("ns", "api")]  # untouched: reused
    assert after.by_key[("ns", "web")] is not before.by_key[("ns", "web")]
    assert msgspec.structs.asdict(after.snapshot) == msgspec.structs.asdict(whole.snapshot)


def test_help_offers_no_watch_and_says_the_ui_is_live(capsys: pytest.CaptureFixture[str]) -> None:
    r = invoke("ui", "--help", env={"COLUMNS": "200"})
    assert r.code == 0
    shown = " ".join((r.stdout + capsys.readouterr().out).split())  # click writes help itself
    assert "--no-watch" in shown
    assert "follows the cluster live" in shown
    # --no-watch is still a terminal explorer: off a terminal it refuses in one line.
    one_line_error(invoke("ui", "--no-watch"), ExitCode.USAGE, "needs a terminal")
