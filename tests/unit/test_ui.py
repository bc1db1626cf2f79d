"""`kinspect ui` headless, through Textual's Pilot, on snapshots built here; and its view model.

Each app test drives the real app with key presses and reads what its widgets hold.
"""

from __future__ import annotations

import asyncio
import datetime
import io
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

import msgspec
import pytest
from rich.console import Console, RenderableType
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import Input, OptionList, Static, Tree

from kinspect.model.errors import ExitCode, UnreachableError
from kinspect.model.snapshot import Snapshot
from kinspect.ui import view as v
from kinspect.ui.app import LIVE_NOT_YET, Detail, KinspectApp, Search
from kinspect.ui.view import Loaded, View
from kinspect.wire import snapshotfile

from .builders import cport, ep, group, node, pod, snap, sport, svc
from .runner import invoke, one_line_error

MARKUP_POD = "[bold]x"
MARKUP_SVC = "[red]y[/red]"
NODES_FORBIDDEN = 'nodes is forbidden: User "u" cannot list nodes; NodePort frontends are unknown'


def _shop() -> Snapshot:
    """shop: web (2/2 ready, NodePort), api (1 ready, 1 not), gone (selects nothing), ext.

    odd: a service and a pod whose names look like rich markup.
    """
    web = (
        pod("web-a", "10.244.0.5", cport("app", 8080, "http"), ns="shop"),
        pod("web-b", "10.244.1.5", cport("app", 8080, "http"), ns="shop", node_name="n1"),
    )
    api = (
        pod("api-a", "10.244.0.50", cport("api", 9000), ns="shop", labels={"app": "api"}),
        pod(
            "api-b",
            "10.244.1.50",
            cport("api", 9000),
            ns="shop",
            labels={"app": "api"},
            ready=False,
        ),
    )
    odd = pod(MARKUP_POD, "10.244.2.9", cport("c", 80), ns="odd", labels={"app": "odd"})
    return snap(
        nodes=(node(0), node(1)),
        services=(
            svc(
                "web",
                sport(80, "http", name="http", node_port=30080),
                ns="shop",
                type="NodePort",
                cluster_ips=("10.96.0.10",),
            ),
            svc(
                "api", sport(9000), ns="shop", selector={"app": "api"}, cluster_ips=("10.96.0.20",)
            ),
            svc(
                "gone", sport(80), ns="shop", selector={"app": "none"}, cluster_ips=("10.96.0.30",)
            ),
            svc(
                "ext",
                sport(443),
                ns="shop",
                type="ExternalName",
                cluster_ips=(),
                external_name="x.io",
            ),
            svc(
                MARKUP_SVC, sport(80), ns="odd", selector={"app": "odd"}, cluster_ips=("10.96.1.1",)
            ),
        ),
        groups=(
            group(
                "web",
                [("http", 8080, "TCP")],
                ep("10.244.0.5", "web-a", ns="shop"),
                ep("10.244.1.5", "web-b", "n1", ns="shop"),
                ns="shop",
            ),
            group(
                "api",
                [(None, 9000, "TCP")],
                ep("10.244.0.50", "api-a", ns="shop"),
                ep("10.244.1.50", "api-b", "n1", ready=False, ns="shop"),
                ns="shop",
            ),
            group(
                MARKUP_SVC, [(None, 80, "TCP")], ep("10.244.2.9", MARKUP_POD, ns="odd"), ns="odd"
            ),
        ),
        pods=(*web, *api, odd),
    )


def _without_web_b() -> Snapshot:
    """_shop after web-b left web's EndpointSlice (web: 1 of 2 ready, degraded)."""
    s = _shop()
    web = s.endpoint_groups[0]
    fewer = msgspec.structs.replace(web, endpoints=web.endpoints[:1])
    return msgspec.structs.replace(s, endpoint_groups=(fewer, *s.endpoint_groups[1:]))


def _loaded(s: Snapshot | None = None, notes: tuple[str, ...] = ()) -> Loaded:
    at = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    return Loaded(s or _shop(), "snapshot shop.json", at, notes, "shop")


def _drive(app: KinspectApp, script: Callable[[Pilot[None]], Awaitable[None]]) -> None:
    async def go() -> None:
        async with app.run_test(size=(160, 45)) as pilot:
            await pilot.pause()
            await script(pilot)

    asyncio.run(go())


async def _until(pilot: Pilot[None], what: str, check: Callable[[], bool]) -> None:
    """Let the app process messages until `check` holds, or fail naming what was awaited."""
    for _ in range(200):
        if check():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"the app never showed {what}")


def _rows(app: KinspectApp) -> list[list[str]]:
    """The service list as shown: [mark, STATE, SERVICE, TYPE, PORTS, READY] per line."""
    options = app.query_one("#services", OptionList)
    out = []
    for i in range(options.option_count):
        prompt = options.get_option_at_index(i).prompt
        assert isinstance(prompt, Text)
        out.append([prompt.plain[0], *prompt.plain[2:].split()])
    return out


def _tree_lines(app: KinspectApp) -> list[str]:
    tree: Tree[str | None] = app.query_one("#chain", Tree)
    out = []
    for i in range(tree.last_line + 1):
        n = tree.get_node_at_line(i)
        assert n is not None
        out.append(str(n.label))
    return out


def _text(r: RenderableType) -> str:
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(r)
    return console.export_text()


def _detail(app: KinspectApp) -> str:
    assert isinstance(app.screen, Detail)
    return _text(app.screen.body)


# --- the view model, on plain data ----------------------------------------------------------


def test_service_states_are_computed_from_the_chains_backend_states() -> None:
    view = View(_shop())
    got = {r.name: (r.health.state, r.health.ready, r.health.total) for r in view.services("shop")}
    assert got == {
        "api": ("degraded", 1, 2),
        "ext": ("dns", 0, 0),
        "gone": ("none", 0, 0),
        "web": ("ready", 2, 2),
    }
    assert [(n.name, n.services, n.pods, n.troubled) for n in view.namespaces] == [
        ("odd", 1, 1, 0),
        ("shop", 4, 4, 2),
    ]


def test_search_puts_the_exact_address_before_longer_ones_and_finds_every_kind() -> None:
    view = View(_shop())
    hits = view.search("10.244.0.5")
    assert [(h.kind, h.text) for h in hits] == [
        ("PodIP", "10.244.0.5  pod IP of shop/web-a"),
        ("PodIP", "10.244.0.50  pod IP of shop/api-a"),
    ]
    assert hits[0].service == ("shop", "web")
    assert hits[0].address == "10.244.0.5"
    assert {h.kind for h in view.search("10.96.0.10")} == {"ClusterIP"}
    assert [h.text for h in view.search("192.0.2.11")] == ["192.0.2.11  InternalIP of node n1"]
    assert [h.text for h in view.search("API-B")] == ["pod shop/api-b"]
    assert view.search("  ") == []


def test_an_address_is_found_in_a_chain_line() -> None:
    assert v.address_in("10.244.0.5:8080  ready  pod shop/web-a  on n0") == "10.244.0.5:8080"
    assert v.address_in("NodePort 192.0.2.10:30080 (node n0)") == "192.0.2.10:30080"
    assert v.address_in("fd00::5:8080  ready") == "[fd00::5]:8080"
    assert v.address_in("[fd00::5]:8080  ready") == "[fd00::5]:8080"
    assert v.address_in("container app:8080 (http)/TCP") is None


def test_changed_names_the_services_whose_chain_differs() -> None:
    old = View(_shop())
    assert View(_without_web_b()).changed(old) == {("shop", "web")}
    assert View(_shop()).changed(old) == frozenset()


# --- the app, headless ----------------------------------------------------------------------


def test_opens_on_the_context_namespace_with_states_and_the_first_chain() -> None:
    app = KinspectApp(_loaded())

    async def script(pilot: Pilot[None]) -> None:
        assert app.namespace == "shop"
        assert [r[1:] for r in _rows(app)] == [
            ["degraded", "api", "ClusterIP", "9000", "1/2"],
            ["dns", "ext", "ExternalName", "443", "-"],
            ["none", "gone", "ClusterIP", "80", "0/0"],
            ["ready", "web", "NodePort", "80", "2/2"],
        ]
        lines = _tree_lines(app)
        assert lines[0] == "shop/api  ClusterIP"
        assert "10.244.1.50:9000  NOT READY  pod shop/api-b  on n1" in lines
        assert "container api:9000/TCP" in lines
        assert app.target == "10.96.0.20:9000"
        status = str(app.query_one("#status", Static).content)
        assert "snapshot shop.json  read 03:04:05Z  5 services 5 pods" in status
        assert LIVE_NOT_YET in status

    _drive(app, script)


def test_moving_through_services_and_namespaces_shows_their_chains() -> None:
    app = KinspectApp(_loaded())

    async def script(pilot: Pilot[None]) -> None:
        await pilot.press("down", "down", "down")
        await _until(pilot, "web's chain", lambda: app.service == ("shop", "web"))
        lines = _tree_lines(app)
        assert lines[0] == "shop/web  NodePort"
        assert "10.244.1.5:8080  ready  pod shop/web-b  on n1" in lines
        assert "container app:8080 (http)/TCP" in lines
        await pilot.press("shift+tab")  # to the namespace list
        assert app.focused is app.query_one("#namespaces")
        await pilot.press("up")
        await _until(pilot, "namespace odd", lambda: app.namespace == "odd")
        assert [r[2] for r in _rows(app)] == [MARKUP_SVC]
        assert app.service == ("odd", MARKUP_SVC)

    _drive(app, script)


def test_names_that_look_like_markup_are_shown_as_written() -> None:
    app = KinspectApp(_loaded())

    async def script(pilot: Pilot[None]) -> None:
        await pilot.press("shift+tab", "up")
        await _until(pilot, "namespace odd", lambda: app.namespace == "odd")
        line = app.query_one("#services", OptionList).get_option_at_index(0).prompt
        assert isinstance(line, Text)
        assert MARKUP_SVC in line.plain
        assert all(str(sp.style) != "red" for sp in line.spans)  # none from the name
        lines = _tree_lines(app)
        assert lines[0] == f"odd/{MARKUP_SVC}  ClusterIP"
        assert f"10.244.2.9:80  ready  pod odd/{MARKUP_POD}  on n0" in lines
        # ... and on screen: the rendered lines hold the brackets.
        shown = "\n".join(line.text for line in app.screen._compositor.render_strips())
        assert MARKUP_SVC in shown
        assert f"pod odd/{MARKUP_POD}" in shown
        await pilot.press("slash", *"[bold]")
        await pilot.pause()
        assert isinstance(app.screen, Search)
        hits = app.screen.query_one("#search-hits", OptionList)
        prompt = hits.get_option_at_index(0).prompt
        assert isinstance(prompt, Text)
        assert prompt.plain == f"pod odd/{MARKUP_POD}"

    _drive(app, script)


def test_search_finds_a_pod_by_ip_jumps_to_it_and_t_traces_it() -> None:
    app = KinspectApp(_loaded())

    async def script(pilot: Pilot[None]) -> None:
        await pilot.press("slash", *"10.244.1.5")
        assert isinstance(app.screen, Search)
        await pilot.press("enter")
        await _until(pilot, "web selected", lambda: app.service == ("shop", "web"))
        tree: Tree[str | None] = app.query_one("#chain", Tree)
        await _until(pilot, "the pod's line", lambda: tree.cursor_node is not None)
        assert tree.cursor_node is not None
        assert "pod shop/web-b" in str(tree.cursor_node.label)
        assert app.target == "10.244.1.5"
        await pilot.press("t")
        await _until(pilot, "the trace", lambda: isinstance(app.screen, Detail))
        text = _detail(app)
        assert "PodIP: pod IP of shop/web-b on n1" in text
        assert "service shop/web port http 80/TCP: endpoint 10.244.1.5:8080" in text
        await pilot.press("escape")
        await _until(pilot, "the explorer again", lambda: not isinstance(app.screen, Detail))

    _drive(app, script)


def test_t_on_a_chain_line_traces_its_address_and_port() -> None:
    app = KinspectApp(_loaded())

    async def script(pilot: Pilot[None]) -> None:
        await pilot.press("down", "down", "down", "enter")  # web, then into its chain
        await _until(pilot, "the chain focused", lambda: app.focused is app.query_one("#chain"))
        tree: Tree[str | None] = app.query_one("#chain", Tree)
        line = next(i for i, t in enumerate(_tree_lines(app)) if t.startswith("10.244.0.5:8080"))
        tree.move_cursor_to_line(line)
        await _until(pilot, "the backend's address", lambda: app.target == "10.244.0.5:8080")
        await pilot.press("t")
        await _until(pilot, "the trace", lambda: isinstance(app.screen, Detail))
        assert "pod IP → pod shop/web-a on n0" in _detail(app)

    _drive(app, script)


def test_a_opens_the_audit_findings_of_the_selected_service_or_namespace() -> None:
    app = KinspectApp(_loaded())

    async def script(pilot: Pilot[None]) -> None:
        await pilot.press("down", "down")  # gone: its selector matches no pods
        await _until(pilot, "gone selected", lambda: app.service == ("shop", "gone"))
        await pilot.press("a")
        await _until(pilot, "the audit", lambda: isinstance(app.screen, Detail))
        text = _detail(app)
        assert "[selector-matches-no-pods]" in text
        assert "shop/api" not in text  # another service's findings are not listed
        await pilot.press("escape", "shift+tab", "a")  # on the namespace list: all of shop
        await _until(pilot, "the namespace's audit", lambda: isinstance(app.screen, Detail))
        text = _detail(app)
        assert "[selector-matches-no-pods]" in text
        assert "[single-ready-endpoint]" in text

    _drive(app, script)


def test_what_could_not_be_read_is_shown() -> None:
    app = KinspectApp(_loaded(notes=(NODES_FORBIDDEN,)))

    async def script(pilot: Pilot[None]) -> None:
        notes = app.query_one("#notes", Static)
        assert notes.display
        assert str(notes.content) == f"could not read: {NODES_FORBIDDEN}"

    _drive(app, script)
    quiet = KinspectApp(_loaded())

    async def none(pilot: Pilot[None]) -> None:
        assert not quiet.query_one("#notes", Static).display

    _drive(quiet, none)


def test_post_snapshot_from_another_thread_keeps_the_selection_and_marks_changes() -> None:
    app = KinspectApp(_loaded())
    s = _shop()
    fewer = _without_web_b()  # web degrades to 1 of 2 ready; the rest is unchanged

    async def script(pilot: Pilot[None]) -> None:
        await pilot.press("down", "down", "down")
        await _until(pilot, "web selected", lambda: app.service == ("shop", "web"))
        t = threading.Thread(target=app.post_snapshot, args=(fewer, None, "live: watching"))
        t.start()
        t.join()
        await _until(pilot, "the new snapshot", lambda: app.view.snapshot is fewer)
        assert app.service == ("shop", "web")
        assert app.query_one("#services", OptionList).highlighted == 3
        rows = {r[2]: r for r in _rows(app)}
        assert rows["web"][0] == "●"
        assert rows["api"][0] == " "
        assert rows["web"][1] == "degraded"
        assert "live: watching" in str(app.query_one("#status", Static).content)
        # A watch names what changed itself.
        app.post_snapshot(s, [("shop", "api")], "live: watching")
        await _until(pilot, "the next snapshot", lambda: app.view.snapshot is s)
        rows = {r[2]: r for r in _rows(app)}
        assert rows["api"][0] == "●"
        assert rows["web"][0] == " "
        assert rows["web"][1] == "ready"

    _drive(app, script)


def test_r_rereads_the_source_in_a_worker_and_says_when_it_fails() -> None:
    s = _shop()
    fewer = _without_web_b()
    reads: list[Loaded | Exception] = [
        _loaded(fewer),
        UnreachableError("connection refused by https://127.0.0.1:1", "check the context"),
    ]

    def reload() -> Loaded:
        r = reads.pop(0)
        if isinstance(r, Exception):
            raise r
        return r

    app = KinspectApp(_loaded(s), reload)

    async def script(pilot: Pilot[None]) -> None:
        await pilot.press("r")
        await _until(pilot, "the re-read snapshot", lambda: app.view.snapshot is fewer)
        rows = {r[2]: r for r in _rows(app)}
        assert rows["web"][:2] == ["●", "degraded"]
        assert rows["api"][0] == " "
        await pilot.press("r")
        status = app.query_one("#status", Static)
        await _until(pilot, "the failure", lambda: "refresh failed" in str(status.content))
        assert "refresh failed: connection refused by https://127.0.0.1:1" in str(status.content)
        assert app.view.snapshot is fewer  # the last good snapshot stays

    _drive(app, script)


def test_q_quits_with_0_and_ctrl_c_with_130() -> None:
    app = KinspectApp(_loaded())

    async def quit_(pilot: Pilot[None]) -> None:
        await pilot.press("q")

    _drive(app, quit_)
    assert app.return_code == 0
    app = KinspectApp(_loaded())

    async def interrupt(pilot: Pilot[None]) -> None:
        await pilot.press("ctrl+c")

    _drive(app, interrupt)
    assert app.return_code == ExitCode.INTERRUPTED


def test_a_saved_snapshot_file_opens_through_the_commands_reader(tmp_path: Path) -> None:
    from kinspect.commands.session import Session, Target, Where
    from kinspect.ui import command

    path = str(tmp_path / "s.json.gz")
    snapshotfile.save(path, _shop())
    s = Session(io.StringIO(), io.StringIO(), {})
    loaded = command.load(s, Target(), Where(snapshot=path), quiet=True)
    assert loaded.source == f"snapshot {path}"
    app = KinspectApp(loaded)

    async def script(pilot: Pilot[None]) -> None:
        assert app.namespace == "shop"  # the most services (a file has no context namespace)
        assert len(_rows(app)) == 4

    _drive(app, script)


def test_off_a_terminal_ui_refuses_in_one_line(tmp_path: Path) -> None:
    path = str(tmp_path / "s.json.gz")
    snapshotfile.save(path, _shop())
    r = invoke("ui", "--snapshot", path)
    one_line_error(r, ExitCode.USAGE, "kinspect ui needs a terminal", "kinspect map -A")


def test_a_bug_is_kept_for_the_command_and_never_printed_with_locals(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Textual prints a crash with every frame's locals; kinspect re-raises it for cli.run."""

    def boom(self: View, address: str) -> RenderableType:
        raise RuntimeError("a bug")

    monkeypatch.setattr(View, "trace", boom)
    app = KinspectApp(_loaded())

    async def script(pilot: Pilot[None]) -> None:
        await pilot.press("t")

    with pytest.raises(RuntimeError, match="a bug"):
        _drive(app, script)
    assert isinstance(app.crashed, RuntimeError)
    assert app._exit_renderables == []  # no traceback (and no locals) left to print


def test_the_explorers_keys_are_text_in_the_search() -> None:
    app = KinspectApp(_loaded())

    async def script(pilot: Pilot[None]) -> None:
        await pilot.press("slash", "q", "t", "a", "r", "slash")
        await pilot.pause()
        assert isinstance(app.screen, Search)
        assert app.screen.query_one("#search-input", Input).value == "qtar/"
        await pilot.press("escape", "q")

    _drive(app, script)
    assert app.return_code == 0


def test_ui_refuses_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    """Textual draws on stderr: redirected, the screen would go into a file."""
    from kinspect.commands.session import Session, Target, Where
    from kinspect.model.errors import UsageError
    from kinspect.ui import command

    path = str(tmp_path / "s.json.gz")
    snapshotfile.save(path, _shop())
    s = Session(io.StringIO(), io.StringIO(), {}, stdout_tty=True)
    with pytest.raises(UsageError, match="stderr is not one"):
        command.ui(s, Target(), Where(snapshot=path))
