"""map/trace --watch after the first read, in-process: a feed's queue → what the user sees.

The feed stands in for `watcher.Watcher` (which needs an API server, tested in
tests/e2e/test_watch.py): its queue is filled beforehand with what the watcher threads put
there (changes, relists, health), then `Crashed(KeyboardInterrupt())` plays Ctrl-C, which the
consumer raises as it would a watcher thread's failure.
"""

from __future__ import annotations

import io
import json
import queue
from dataclasses import dataclass, field

import msgspec
import pytest

from kinspect.commands import watch
from kinspect.commands.session import MapFormat, Session
from kinspect.live import state as live
from kinspect.live.state import State
from kinspect.live.watcher import Crashed, Health, Item, Relisted
from kinspect.model.change import Change
from kinspect.model.snapshot import Snapshot
from kinspect.path import chain, trace

from ..schema import validate
from .builders import cport, ep, group, node, pod, snap, sport, svc


@dataclass
class Feed:
    items: list[Item]
    queue: queue.Queue[Item] = field(default_factory=queue.Queue)
    started: bool = False

    def start(self) -> None:
        self.started = True
        for item in self.items:
            self.queue.put(item)
        self.queue.put(Crashed(KeyboardInterrupt()))


def _snap() -> Snapshot:
    a = pod("a", "10.244.0.5", cport("app", 8080))
    s = svc("web", sport(80, 8080))
    g = group("web", [(None, 8080, "TCP")], ep("10.244.0.5", "a"))
    return snap(nodes=(node(0),), services=(s,), groups=(g,), pods=(a,))


def _changes() -> list[Item]:
    b = pod("b", "10.244.1.6", cport("app", 8080), node_name="n1")
    both = group("web", [(None, 8080, "TCP")], ep("10.244.0.5", "a"), ep("10.244.1.6", "b", "n1"))
    return [
        Health("pods", "reconnecting", 1, "connection refused"),
        Health("pods", "watching"),
        Change("pods", "ADDED", ("ns", "b"), (b,)),
        Change("endpoint_groups", "MODIFIED", ("ns", "web-8080"), (both,)),
        # After a 410: the whole list, in which a is gone.
        Relisted("pods", {("ns", "b"): (b,)}),
    ]


def _session(tty: bool = False) -> tuple[Session, io.TextIOWrapper, io.TextIOWrapper]:
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)
    err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)
    env = {"COLUMNS": "150"}
    return Session(out, err, env, stdout_tty=tty, stderr_tty=False), out, err


def _text(s: io.TextIOWrapper) -> str:
    s.flush()
    buf = s.buffer
    assert isinstance(buf, io.BytesIO)
    return buf.getvalue().decode()


def test_json_lines_the_first_read_synced_then_every_change() -> None:
    s, out, err = _session()
    feed = Feed(_changes())
    with pytest.raises(KeyboardInterrupt):
        watch.follow_map(s, MapFormat.json, _snap(), State.of(_snap()), feed)
    assert feed.started
    docs = [json.loads(line) for line in _text(out).splitlines()]
    for d in docs:
        validate(d, "chain-event.json")
    assert [d["event"] for d in docs] == [
        "service-added",
        "synced",
        "backend-added",
        "backend-changed",
    ]
    assert docs[2]["backend"]["pod"] == {"namespace": "ns", "name": "b"}
    assert docs[2]["backend"]["container"] == "app"
    # The relist (after a 410) no longer has pod a: its endpoint, still in the slice, names a
    # pod that is gone (podFound false, no container).
    assert docs[3]["backend"]["address"] == "10.244.0.5"
    assert docs[3]["backend"]["podFound"] is False
    assert docs[3]["backend"]["container"] is None
    assert _text(err).splitlines() == [
        "kinspect: watch of pods: reconnecting (attempt 1): connection refused",
        "kinspect: watch of pods: watching again",
    ]


def test_text_lines_off_a_terminal() -> None:
    s, out, _ = _session()
    with pytest.raises(KeyboardInterrupt):
        watch.follow_map(s, MapFormat.table, _snap(), State.of(_snap()), Feed(_changes()))
    lines = _text(out).splitlines()
    assert lines[0].split()[:3] == ["NAMESPACE", "SERVICE", "TYPE"]
    changes = [line.split(" ", 1)[1] for line in lines if line.startswith("20")]
    assert changes == [
        "backend-added ns/web 80/TCP 10.244.1.6:8080 ns/b ready",
        "backend-changed ns/web 80/TCP 10.244.0.5:8080 ns/a ready",
    ]


def test_the_live_view_at_a_terminal() -> None:
    s, out, err = _session(tty=True)
    with pytest.raises(KeyboardInterrupt):
        watch.follow_map(s, MapFormat.wide, _snap(), State.of(_snap()), Feed(_changes()))
    shown = _text(out)
    assert "10.244.1.6:8080" in shown
    assert "\x1b[7m" in shown  # the changed service highlighted
    assert "healthy" in shown
    assert _text(err) == ""  # health goes in the status line, not on stderr


def test_a_crashed_watcher_is_raised() -> None:
    s, _, _ = _session()

    class Boom(Exception):
        pass

    feed = Feed([Crashed(Boom("bug"))])
    with pytest.raises(Boom):
        watch.follow_map(s, MapFormat.json, _snap(), State.of(_snap()), feed)


def test_trace_json_prints_the_trace_again_only_when_it_changes() -> None:
    s, out, _ = _session()
    target = trace.parse_target("10.96.0.10:80")
    a_not_ready = msgspec.structs.replace(_snap().pods[0], ready=False)
    items: list[Item] = [
        # Another namespace's pod: nothing the trace involves, not traced again.
        Change("pods", "ADDED", ("other", "x"), (pod("x", "10.244.9.9", ns="other"),)),
        *_changes()[2:4],
        Change("pods", "MODIFIED", ("ns", "a"), (a_not_ready,)),
    ]
    with pytest.raises(KeyboardInterrupt):
        watch.follow_trace(s, "json", target, _snap(), State.of(_snap()), Feed(items))
    docs = [json.loads(line) for line in _text(out).splitlines()]
    for d in docs:
        validate(d, "trace-report.json")
    assert [len(d["routes"][0]["backends"]) for d in docs] == [1, 2]


def test_trace_live_view_at_a_terminal() -> None:
    s, out, _ = _session(tty=True)
    target = trace.parse_target("10.96.0.10:80")
    with pytest.raises(KeyboardInterrupt):
        watch.follow_trace(s, "text", target, _snap(), State.of(_snap()), Feed(_changes()))
    shown = _text(out)
    assert "10.244.1.6" in shown
    assert "watching test" in shown


def test_involved_names_the_services_a_trace_passes() -> None:
    state = live.State.of(_snap())
    result = trace.trace(chain.Index.of(state.as_snapshot()), trace.parse_target("10.96.0.10:80"))
    assert live.involved(result) == {("ns", "web")}
