"""`map -o dot|mermaid|svg`: whole outputs (golden), escaping of cluster text, "+N more"."""

from __future__ import annotations

from pathlib import Path

import pytest

from kinspect.model.errors import ExitCode
from kinspect.model.snapshot import Snapshot
from kinspect.path import chain
from kinspect.render import dot, graph, mermaid
from kinspect.wire import snapshotfile

from .builders import cport, ep, group, pod, snap, sport, svc
from .runner import invoke, one_line_error
from .test_commands import _demo

GOLDEN = Path(__file__).parent / "golden"


@pytest.mark.parametrize(("render", "name"), [(dot.render, "map.dot"), (mermaid.render, "map.mmd")])
def test_whole_output(render: object, name: str) -> None:
    assert callable(render)
    assert render(chain.build(_demo())) == (GOLDEN / name).read_text()


def test_the_cli_writes_the_same(tmp_path: Path) -> None:
    path = str(tmp_path / "s.json")
    snapshotfile.save(path, _demo())
    for fmt, name in (("dot", "map.dot"), ("mermaid", "map.mmd")):
        r = invoke("map", "-n", "ns", "--snapshot", path, "-o", fmt)
        assert r.code == ExitCode.OK
        assert r.stdout == (GOLDEN / name).read_text()


def _hostile() -> list[chain.ServiceChain]:
    # The API server accepts any targetRef name; pod names come from the cluster too.
    name = 'x"] --> evil["pwn\nnext'
    s = svc("web", sport(80, 8080))
    g = group("web", [(None, 8080, "TCP")], ep("10.244.0.5", name))
    return chain.build(snap(services=(s,), groups=(g,)))


def test_cluster_text_cannot_break_out_of_a_dot_label() -> None:
    out = dot.render(_hostile())
    (line,) = [ln for ln in out.splitlines() if "evil" in ln]
    assert '\\"] --> evil[\\"pwn next' in line
    assert line.count('"') - line.count('\\"') == 6  # label, color: balanced quotes only


def test_cluster_text_cannot_break_out_of_a_mermaid_label() -> None:
    out = mermaid.render(_hostile())
    (line,) = [ln for ln in out.splitlines() if "evil" in ln]
    assert "#34;#93; --#62; evil#91;#34;pwn next" in line
    assert line.count('"') == 2


def test_big_groups_say_how_many_more() -> None:
    pods = tuple(pod(f"p{i}", f"10.244.0.{i + 2}", cport("app", 8080, "http")) for i in range(10))
    eps = (ep(p.pod_ips[0], p.name) for p in pods)
    s = snap(
        services=(svc("web", sport(80, "http", name="http")),),
        groups=(group("web", [("http", 8080, "TCP")], *eps),),
        pods=pods,
    )
    g = graph.graph(chain.build(s))
    backends = [n.label for n in g.nodes if n.kind == "backend"]
    assert len(backends) == graph.SHOWN
    assert [n.label for n in g.nodes if n.kind == "more"] == [
        f"+{10 - graph.SHOWN} more → container app:8080"
    ]


def test_svg_without_graphviz_is_one_line_saying_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    r = invoke("map", "--snapshot", "whatever.json", "-o", "svg")
    one_line_error(r, ExitCode.USAGE, "Graphviz", "apt install graphviz")


def broken() -> Snapshot:
    """ghost: its one pod is not ready, so the port has no ready endpoint (an error)."""
    p = pod("g", "10.244.0.9", cport("app", 8080), labels={"app": "ghost"}, ready=False)
    return snap(
        services=(svc("ghost", sport(80, 8080), selector={"app": "ghost"}),),
        groups=(group("ghost", [(None, 8080, "TCP")], ep("10.244.0.9", "g", ready=False)),),
        pods=(p,),
    )


def _broken_snapshot(tmp_path: Path) -> str:
    path = str(tmp_path / "broken.json")
    snapshotfile.save(path, broken())
    return path


def test_the_markdown_audit_report_draws_each_broken_service_in_mermaid(tmp_path: Path) -> None:
    r = invoke("audit", "--snapshot", _broken_snapshot(tmp_path), "-o", "markdown")
    assert r.code == ExitCode.OK
    section = r.stdout.split("## Chains of the services with errors\n", 1)[1]
    assert section.startswith("\n### ns/ghost\n\n```mermaid\nflowchart LR\n")
    assert section.count("```") == 2
