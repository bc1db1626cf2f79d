"""The import contracts can fail: break a copy of the package on purpose and lint-imports says so.

Each case copies `kinspect/` and pyproject.toml to a temporary folder, adds one import that a
contract forbids, and runs lint-imports there; the untouched copy must pass.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _copy(tmp_path: Path) -> Path:
    shutil.copytree(
        ROOT / "kinspect", tmp_path / "kinspect", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _lint(where: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=where,
        env={**os.environ, "PYTHONPATH": str(where)},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def _add_import(where: Path, module: str, line: str) -> None:
    path = where / (module.replace(".", "/") + ".py")
    if not path.exists() and path.with_suffix("").is_dir():
        path = path.with_suffix("") / "__init__.py"
    text = path.read_text() if path.exists() else '"""A module nobody listed."""\n'
    path.write_text(text + f"\n{line}  # added by test_contracts\n")


def test_the_real_package_keeps_every_contract(tmp_path: Path) -> None:
    proc = _lint(_copy(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert " broken" in proc.stdout
    assert "0 broken" in proc.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        # kubernetes anywhere but kinspect.wire, including modules that no list names.
        ("kinspect.audit.report", "import kubernetes.client", "Only kinspect.wire imports"),
        ("kinspect.render.table", "import kubernetes", "Only kinspect.wire imports"),
        ("kinspect.live.state", "from kubernetes import config", "Only kinspect.wire imports"),
        ("kinspect.newcomer", "import kubernetes", "Only kinspect.wire imports"),
        ("kinspect.commands", "import urllib3", "Only kinspect.wire imports"),
        # Inside wire, only the modules that talk to the client: not a struct, not a converter.
        ("kinspect.wire.raw", "import kubernetes", "Only kinspect.wire imports"),
        ("kinspect.wire.convert", "from kubernetes import client", "Only kinspect.wire imports"),
        ("kinspect.wire.lists", "import urllib3", "Only kinspect.wire imports"),
        # A module nobody placed in the layers breaks the exhaustive pipeline contract, and a
        # module added to a package breaks that package's own stack.
        ("kinspect.newcomer", "import json", "pipeline"),
        ("kinspect.path.newcomer", "import json", "Inside path"),
        ("kinspect.policy.newcomer", "import json", "Inside policy"),
        ("kinspect.audit.newcomer", "import json", "Inside audit"),
        ("kinspect.wire.newcomer", "import json", "Inside wire"),
        # The pipeline's direction, and the pure core's distance from the wire.
        ("kinspect.path.chain", "import kinspect.edge.entry", "pipeline"),
        ("kinspect.path.chain", "import kinspect.wire.files", "pure core"),
        ("kinspect.model.values", "import kinspect.path.chain", "model imports no other"),
        ("kinspect.model.labels", "import kinspect.policy.peer", "model imports no other"),
        # edge and policy never import each other: the composition is above them.
        ("kinspect.edge.entry", "import kinspect.policy.netpol", "Entry points and policy"),
        ("kinspect.policy.reach", "from kinspect.edge import entry", "Entry points and policy"),
        # The audit reads the domains only.
        ("kinspect.audit.report", "import kinspect.wire.raw", "audit imports the domains"),
        ("kinspect.audit.report", "import kinspect.render.words", "audit imports the domains"),
        # Renderers return; they never read the cluster or call a command.
        ("kinspect.render.table", "import kinspect.wire.kinds", "Renderers never import"),
        ("kinspect.render.tree", "import kinspect.commands", "Renderers never import"),
        # Inside a package, modules keep their order.
        ("kinspect.path.chain", "import kinspect.path.trace", "Inside path"),
        ("kinspect.policy.peer", "import kinspect.policy.netpol", "Inside policy"),
        ("kinspect.model.values", "import kinspect.model.snapshot", "Inside model"),
        ("kinspect.edge.gateway", "import kinspect.edge.entry", "Inside edge"),
        ("kinspect.audit.report", "import kinspect.audit.checks", "Inside audit"),
        ("kinspect.audit.check", "import kinspect.audit.edge", "Inside audit"),
        ("kinspect.audit.finding", "import kinspect.audit.check", "Inside audit"),
        # Checks of one domain never import another's: what both need is in audit.check.
        ("kinspect.audit.edge", "from kinspect.audit import policy", "domains never import"),
        ("kinspect.audit.ports", "import kinspect.audit.chain", "domains never import"),
        ("kinspect.wire.raw", "import kinspect.wire.convert", "Inside wire"),
        ("kinspect.wire.connection", "from kinspect.wire import transport", "Inside wire"),
        ("kinspect.wire.convert_edge", "import kinspect.wire.convert_policy", "Inside wire"),
        ("kinspect.commands.session", "import kinspect.commands.map", "Inside commands"),
        ("kinspect.commands.audit", "import kinspect.commands.map", "Inside commands"),
        ("kinspect.render.tree", "import kinspect.render.table", "formats"),
        # The top: cli over its flags, its error handler and the explorer, which never import
        # each other or cli.
        ("kinspect.program", "import kinspect.cli", "pipeline"),
        ("kinspect.options", "import kinspect.ui.view", "pipeline"),
        ("kinspect.program", "from kinspect import options", "pipeline"),
    ],
)
def test_a_forbidden_import_breaks_a_contract(
    tmp_path: Path, module: str, line: str, contract: str
) -> None:
    where = _copy(tmp_path)
    _add_import(where, module, line)
    proc = _lint(where)
    assert proc.returncode != 0, proc.stdout
    broken = [ln for ln in proc.stdout.splitlines() if " BROKEN" in ln]
    assert any(contract in ln for ln in broken), proc.stdout
