"""Outputs and files checked by the real tools: DOT by Graphviz, Mermaid by the mermaid package,
the Containerfile by dockerfilelint.

Run by `make pictures-check` (in `make test`), which installs them: Graphviz from Debian,
mermaid, jsdom and dockerfilelint from npm (tests/tools/package-lock.json). A broken input must
fail too, so each check is shown able to fail.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from kinspect.edge import entry
from kinspect.path import chain
from kinspect.render import dot, mermaid

from ..unit.test_commands import _demo
from ..unit.test_controller import _baremetal
from ..unit.test_pictures import _hostile

HERE = Path(__file__).parent
pytestmark = pytest.mark.tools


def _dot(source: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("dot")
    assert exe, "Graphviz's dot is not installed: make pictures-check installs it"
    return subprocess.run(
        [exe, "-Tsvg"], input=source, capture_output=True, text=True, check=False, timeout=60
    )


def _mermaid(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    assert (HERE / "node_modules" / "mermaid").is_dir(), "run: make pictures-check (npm ci)"
    path = tmp_path / "chart.mmd"
    path.write_text(source)
    return subprocess.run(
        ["node", str(HERE / "mermaid-check.mjs"), str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=HERE,
    )


def _ingress() -> tuple[list[chain.ServiceChain], list[entry.Entrypoint]]:
    """The baremetal ingress-nginx shape: host and path → controller → service port."""
    idx = chain.Index.of(_baremetal())
    return chain.build(idx.snapshot, idx), entry.entrypoints(idx)


CASES = [(chain.build(_demo()), []), (_hostile(), []), _ingress()]
IDS = ["demo", "hostile", "ingress"]


@pytest.mark.parametrize(("chains", "entries"), CASES, ids=IDS)
def test_graphviz_parses_the_dot_output(
    chains: list[chain.ServiceChain], entries: list[entry.Entrypoint]
) -> None:
    proc = _dot(dot.render(chains, entries))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.lstrip().startswith("<?xml")
    assert _dot("digraph { a -> }").returncode != 0


@pytest.mark.parametrize(("chains", "entries"), CASES, ids=IDS)
def test_mermaid_parses_the_mermaid_output(
    tmp_path: Path, chains: list[chain.ServiceChain], entries: list[entry.Entrypoint]
) -> None:
    proc = _mermaid(tmp_path, mermaid.render(chains, entries))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ok (flowchart" in proc.stdout
    assert _mermaid(tmp_path, 'flowchart LR\n  a["x" -->\n').returncode != 0


def _dockerfilelint(path: Path) -> subprocess.CompletedProcess[str]:
    exe = HERE / "node_modules" / ".bin" / "dockerfilelint"
    assert exe.exists(), "run: make pictures-check (npm ci)"
    return subprocess.run(
        [str(exe), str(path)], capture_output=True, text=True, check=False, timeout=60
    )


def test_the_containerfile_passes_dockerfilelint(tmp_path: Path) -> None:
    proc = _dockerfilelint(HERE.parents[1] / "Containerfile")
    assert proc.returncode == 0, proc.stdout
    bad = tmp_path / "Containerfile"
    bad.write_text("FROM ubuntu\nRUN apt-get install curl\n")
    assert _dockerfilelint(bad).returncode != 0


def test_the_html_audit_report_embeds_graphviz_svg_beside_an_error(tmp_path: Path) -> None:
    from kinspect.wire import snapshotfile

    from ..unit.runner import invoke
    from ..unit.test_pictures import broken

    path = str(tmp_path / "broken.json")
    snapshotfile.save(path, broken())
    page = invoke("audit", "--snapshot", path, "-o", "html").stdout
    assert "<summary>chain of ns/ghost</summary><svg" in page
    assert "<?xml" not in page
    assert "<!DOCTYPE svg" not in page
    assert "-o svg" not in page
    assert _mermaid(tmp_path, invoke("map", "--snapshot", path, "-A", "-o", "mermaid").stdout)
