"""`kinspect ui` on the demo in a real API server, headless through Textual's Pilot.

The app gets its snapshot from `kinspect.ui.command.load`, the read `kinspect ui --no-watch`
does (then `r` calls it again), or follows the cluster through `command.live_app`, the live
path of `kinspect ui`; what it shows is compared with what the API server says.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import OptionList, Static, Tree

from kinspect.commands.session import Session, Target, Where
from kinspect.commands.watch import WatchOptions
from kinspect.ui import command
from kinspect.ui.app import KinspectApp

from .conftest import Namespace
from .test_demo import EXPECTED_READY, _ready_endpoints

READ = ["get", "list", "watch"]


def _session() -> Session:
    return Session(io.StringIO(), io.StringIO(), {})


def _drive(app: KinspectApp, script: Callable[[Pilot[None]], Awaitable[None]]) -> None:
    async def go() -> None:
        async with app.run_test(size=(160, 45)) as pilot:
            await pilot.pause()
            await script(pilot)

    asyncio.run(go())


async def _until(
    pilot: Pilot[None], what: str, check: Callable[[], bool], seconds: float = 30
) -> None:
    """Let the app run until `check` holds (30 s: a re-read of the test bed), or fail."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"the app never showed {what}")
        await pilot.pause(0.02)


def _rows(app: KinspectApp) -> dict[str, list[str]]:
    """The service list as shown, by name: [mark, STATE, SERVICE, TYPE, PORTS, READY]."""
    options = app.query_one("#services", OptionList)
    rows = []
    for i in range(options.option_count):
        line = str(options.get_option_at_index(i).prompt)
        rows.append([line[0], *line[2:].split()])
    return {r[2]: r for r in rows}


def _ready_with_ports(ns: Namespace, service: str) -> int:
    """Ready endpoint addresses of a service's slices that carry ports (a slice without ports,
    web-noname's, sends no traffic: kube-proxy programs no rule from it)."""
    slices = ns.get("endpointslices", "-l", f"kubernetes.io/service-name={service}")["items"]
    return len(
        {
            a
            for s in slices
            if s.get("ports")
            for e in s.get("endpoints") or []
            if e["conditions"].get("ready", True)
            for a in e["addresses"]
        }
    )


def _demo(ns: Namespace) -> None:
    ns.apply_demo()
    ns.wait_until(
        "demo endpoints to be ready",
        lambda: all(_ready_endpoints(ns).get(k, 0) >= v for k, v in EXPECTED_READY.items()),
        seconds=120,
    )


def test_ui_shows_the_demo_as_the_api_server_has_it_and_r_rereads(ns: Namespace) -> None:
    _demo(ns)
    c = ns.cluster
    target = Target(c.kubeconfig, c.context)
    where = Where(namespace=ns.name)
    loaded = command.load(_session(), target, where, quiet=True)
    assert loaded.source == f"context {c.context}"
    app = KinspectApp(loaded, lambda: command.load(_session(), target, where, quiet=True))
    api_names = {s["metadata"]["name"] for s in ns.get("services")["items"]}

    async def script(pilot: Pilot[None]) -> None:
        assert app.namespace == ns.name
        rows = _rows(app)
        assert set(rows) == api_names
        web = rows["web"]
        # web-noname and web-pending are selected but get no endpoint: degraded, and READY
        # counts the ready endpoints the API server lists over the pods the selector matches.
        assert web[1:4] == ["degraded", "web", "NodePort"]
        selected = ns.get("pods", "-l", "app=web")["items"]
        assert web[5] == f"{_ready_with_ports(ns, 'web')}/{len(selected)}"
        assert rows["shop"][1] == "ready"
        assert rows["ext-db"][1] == "dns"
        # The chain of web, down to its containers, with the pods the API server has.
        app.query_one("#services", OptionList).highlighted = sorted(rows).index("web")
        await _until(pilot, "web's chain", lambda: app.service == (ns.name, "web"))
        tree: Tree[str | None] = app.query_one("#chain", Tree)
        lines = [str(tree.get_node_at_line(i).label) for i in range(tree.last_line + 1)]  # type: ignore[union-attr]
        for p in selected:
            if p["status"].get("podIP"):
                name = p["metadata"]["name"]
                assert any(f"pod {ns.name}/{name}" in line for line in lines), lines
        assert any(line.startswith("container ") for line in lines)
        # A service added in the cluster appears after r, marked as changed.
        ns.apply(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {"name": "added"},
                    "spec": {"selector": {"app": "web"}, "ports": [{"port": 81}]},
                }
            )
        )
        await pilot.press("r")
        await _until(pilot, "the added service", lambda: "added" in _rows(app))
        assert _rows(app)["added"][0] == "●"
        assert app.service == (ns.name, "web")  # the selection stays

    _drive(app, script)


def test_ui_with_a_namespace_reader_says_what_it_could_not_read(
    ns: Namespace, tmp_path: Path
) -> None:
    _demo(ns)
    kc = ns.restricted_kubeconfig(
        str(tmp_path),
        [
            {"apiGroups": [""], "resources": ["services", "pods", "endpoints"], "verbs": READ},
            {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": READ},
        ],
    )
    # No -n: every namespace is asked for, refused, and the context's own is read instead.
    loaded = command.load(_session(), Target(kc), Where(), quiet=True)
    app = KinspectApp(loaded)

    async def script(pilot: Pilot[None]) -> None:
        assert [n.name for n in app.view.namespaces] == [ns.name]
        assert "web" in _rows(app)
        notes = app.query_one("#notes", Static)
        assert notes.display
        text = str(notes.content)
        assert text.startswith("could not read: ")
        assert f"read namespace {ns.name} only" in text
        assert "may not list nodes" in text

    _drive(app, script)


def _ready_slices(ns: Namespace, service: str) -> int:
    slices = ns.get("endpointslices", "-l", f"kubernetes.io/service-name={service}")["items"]
    return sum(
        1
        for s in slices
        for e in s.get("endpoints") or []
        if (e.get("conditions") or {}).get("ready", True)
    )


def test_ui_follows_a_deployment_scaled_up_then_to_zero(ns: Namespace) -> None:
    ns.apply(APP)
    ns.wait_until("1 ready endpoint of web", lambda: _ready_slices(ns, "web") == 1)
    c = ns.cluster
    # The command's own live path: the first read as --watch does it, the watcher threads,
    # the consumer posting to the app (only the terminal check and app.run are left out).
    app, stop = command.live_app(
        _session(), Target(c.kubeconfig, c.context), Where(ns.name), WatchOptions(True, 10)
    )

    async def script(pilot: Pilot[None]) -> None:
        assert app.namespace == ns.name
        await _until(pilot, "the watch", lambda: "live: watching" in _status(app))
        assert _rows(app)["web"][1] == "ready"
        assert _rows(app)["web"][5] == "1/1"
        ns.kubectl("scale", "deployment", "web", "--replicas=3")
        await _until(pilot, "web 3/3", lambda: _rows(app)["web"][5] == "3/3", seconds=90)
        assert _rows(app)["web"][:2] == ["●", "ready"]
        assert len(ns.get("pods", "-l", "app=web")["items"]) == 3  # what the API server says
        ns.kubectl("scale", "deployment", "web", "--replicas=0")
        # Terminating pods show as not ready first (none, 0/2); then they are gone.
        await _until(pilot, "web none", lambda: _rows(app)["web"][1] == "none", seconds=90)
        await _until(pilot, "web 0/0", lambda: _rows(app)["web"][5] == "0/0", seconds=90)
        assert _rows(app)["web"][1] == "none"
        ns.wait_until("no pod of web", lambda: not ns.get("pods", "-l", "app=web")["items"])
        assert re.search(r"last event \d\d:\d\d:\d\dZ", _status(app))
        await pilot.press("q")

    try:
        _drive(app, script)
    finally:
        stop()
    assert app.return_code == 0
    assert app.crashed is None


def test_ui_live_for_a_namespace_reader_who_may_not_watch_polls(
    ns: Namespace, tmp_path: Path
) -> None:
    ns.apply(APP)
    ns.wait_until("1 ready endpoint of web", lambda: _ready_slices(ns, "web") == 1)
    listing = ["get", "list"]  # no watch: the watcher lists again every 10 s instead
    kc = ns.restricted_kubeconfig(
        str(tmp_path),
        [
            {"apiGroups": [""], "resources": ["services", "pods", "endpoints"], "verbs": listing},
            {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": listing},
        ],
    )
    # No -n: every namespace is refused, the context's own is read and followed instead.
    app, stop = command.live_app(_session(), Target(kc), Where(), WatchOptions(True, 10))

    async def script(pilot: Pilot[None]) -> None:
        assert [n.name for n in app.view.namespaces] == [ns.name]
        notes = str(app.query_one("#notes", Static).content)
        assert f"read namespace {ns.name} only" in notes
        assert "may not list nodes" in notes
        await _until(pilot, "polling", lambda: "(watch refused)" in _status(app), seconds=60)
        status = _status(app)
        assert "live: polling endpointslices, pods, services every 10 s" in status
        ns.kubectl("scale", "deployment", "web", "--replicas=2")
        await _until(pilot, "web 2/2", lambda: _rows(app)["web"][5] == "2/2", seconds=90)
        assert _rows(app)["web"][1] == "ready"

    try:
        _drive(app, script)
    finally:
        stop()
    assert app.crashed is None


APP = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: app
          image: registry.k8s.io/pause:3.10
          ports: [{containerPort: 8080, name: http}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
"""


def _status(app: KinspectApp) -> str:
    return str(app.query_one("#status", Static).content)
