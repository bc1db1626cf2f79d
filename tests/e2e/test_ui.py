"""`kinspect ui` on the demo in a real API server, headless through Textual's Pilot.

The app gets its snapshot from `kinspect.ui.command.load`, the read `kinspect ui` itself does
(then `r` calls it again); what it shows is compared with what the API server says.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import OptionList, Static, Tree

from kinspect.commands import Session, Target, Where
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


async def _until(pilot: Pilot[None], what: str, check: Callable[[], bool]) -> None:
    for _ in range(1500):  # 30 s: a re-read of the test bed
        if check():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"the app never showed {what}")


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
