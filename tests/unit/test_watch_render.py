"""--watch's output: ChainEvent documents (schema), text lines, the status line, usage errors."""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import msgspec
import pytest
from rich.console import Console

from kinspect.live import state as live
from kinspect.live.state import State
from kinspect.model.change import Change
from kinspect.model.errors import ExitCode
from kinspect.render import report
from kinspect.render import watch as render_watch

from ..schema import validate
from .builders import cport, ep, group, node, pod, snap, sport, svc
from .runner import invoke, one_line_error

T = "2026-11-28T21:00:00.000001Z"


def _events() -> list[live.ChainEvent]:
    """One of every kind of ChainEvent, from real state changes."""
    a = pod("a", "10.244.0.5", cport("app", 8080))
    s = svc("web", sport(80, 8080, node_port=30080), type="NodePort")
    g = group("web", [(None, 8080, "TCP")], ep("10.244.0.5", "a"))
    state = State.of(snap(nodes=(node(0),), services=(s,), groups=(g,), pods=(a,)))
    out: list[live.ChainEvent] = []
    key = ("ns", "web-8080")
    not_ready = group("web", [(None, 8080, "TCP")], ep("10.244.0.5", "a", ready=False))
    out += state.step(Change("endpoint_groups", "MODIFIED", key, (not_ready,)))
    out += state.step(Change("endpoint_groups", "MODIFIED", key, (g,)))
    moved = group("web", [(None, 8080, "TCP")], ep("10.244.0.5", "a", node="n1"))
    out += state.step(Change("endpoint_groups", "MODIFIED", key, (moved,)))
    out += state.step(Change("endpoint_groups", "DELETED", key))
    out += state.step(Change("endpoint_groups", "ADDED", key, (g,)))
    changed = msgspec.structs.replace(s, cluster_ips=("10.96.0.99",))
    out += state.step(Change("services", "MODIFIED", ("ns", "web"), (changed,)))
    out += state.step(Change("services", "DELETED", ("ns", "web")))
    out += state.step(Change("services", "ADDED", ("ns", "web"), (s,)))
    return out


def test_every_kind_of_change_is_a_valid_chain_event() -> None:
    events = _events()
    # A port's frontends come before its backends: the NodePort drops without a ready backend.
    assert [e.event for e in events] == [
        "frontends-changed",
        "backend-not-ready",
        "frontends-changed",
        "backend-ready",
        "backend-changed",  # moved to another node
        "frontends-changed",
        "backend-removed",
        "frontends-changed",
        "backend-added",
        "service-changed",
        "service-removed",
        "service-added",
    ]
    for ev in events:
        doc = json.loads(msgspec.json.encode(report.chain_event("ctx", T, ev)))
        validate(doc, "chain-event.json")
    synced = json.loads(msgspec.json.encode(report.synced_event("ctx", T, 3, ["w"])))
    validate(synced, "chain-event.json")


def test_the_schema_rejects_a_backend_event_without_its_backend() -> None:
    ev = next(e for e in _events() if e.event == "backend-added")
    doc = json.loads(msgspec.json.encode(report.chain_event("ctx", T, ev)))
    doc["backend"] = None
    with pytest.raises(jsonschema.ValidationError):
        validate(doc, "chain-event.json")
    doc = json.loads(msgspec.json.encode(report.synced_event("ctx", T, 3, [])))
    doc["service"] = "x"
    with pytest.raises(jsonschema.ValidationError):
        validate(doc, "chain-event.json")


def test_chain_event_schema_shares_the_chain_reports_definitions() -> None:
    def defs(name: str) -> dict[str, object]:
        text = resources.files("kinspect").joinpath("schemas", name).read_text()
        found: dict[str, object] = json.loads(text)["$defs"]
        return found

    event, chain = defs("chain-event.json"), defs("chain-report.json")
    shared = set(event) - {"servicePort"}
    assert shared, event
    assert {k: event[k] for k in shared} == {k: chain[k] for k in shared}


def _text(r: object) -> str:
    c = Console(width=200, record=True, color_system=None)
    c.print(r)
    return c.export_text()


def test_event_lines_name_the_change() -> None:
    by_kind = {e.event: e for e in _events()}
    line = render_watch.event_line(T, by_kind["backend-not-ready"]).plain
    assert line == f"{T} backend-not-ready ns/web 80/TCP 10.244.0.5:8080 ns/a not-ready"
    added = render_watch.event_line(T, by_kind["service-added"]).plain
    assert added == f"{T} service-added ns/web 1 ports, 1/1 backends ready"


def test_status_line_says_healthy_or_what_is_wrong() -> None:
    st = render_watch.Status("ctx\x1b[31m")
    assert _text(render_watch.status_line(st)).strip() == (
        "watching ctx\\x1b[31m · 0 events · no event yet · healthy"
    )
    st.applied, st.last_event = 4, "21:00:00"
    st.problems["pods"] = "reconnecting (attempt 2): connection refused"
    assert _text(render_watch.status_line(st)).strip() == (
        "watching ctx\\x1b[31m · 4 events · last 21:00:00 UTC · "
        "pods: reconnecting (attempt 2): connection refused"
    )


def test_map_frame_highlights_the_changed_service() -> None:
    s = snap(services=(svc("web", sport(80)), svc("db", sport(5432), cluster_ips=("10.96.0.2",))))
    chains = State.of(s).current()
    frame = render_watch.map_frame(chains, render_watch.Status("ctx"), {("ns", "web")})
    c = Console(width=200, record=True, force_terminal=True, color_system="standard")
    c.print(frame)
    styled = c.export_text(styles=True)
    web = next(line for line in styled.splitlines() if "web" in line)
    db = next(line for line in styled.splitlines() if "db" in line)
    assert "\x1b[7m" in web
    assert "\x1b[7m" not in db


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["map", "--watch", "-o", "yaml"], "--watch cannot write -o yaml"),
        (["map", "--watch", "--entrypoints"], "--watch does not follow --entrypoints"),
        (["map", "--watch", "--snapshot", "x.json"], "not a snapshot file"),
        (["map", "--watch", "--watch-timeout", "0"], "--watch-timeout must be from 1"),
        (["trace", "http://shop/", "--watch"], "ADDRESS[:PORT]"),
        (["trace", "10.0.0.1:80", "--from", "outside", "--watch"], "ADDRESS[:PORT]"),
    ],
)
def test_watch_usage_errors_are_one_line_exit_2(args: list[str], needle: str) -> None:
    one_line_error(invoke(*args), ExitCode.USAGE, needle)
