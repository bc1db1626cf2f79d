"""`make lint`'s leftover check can fail: a tracked `.orig` file and an unreachable module.

Each case copies `kinspect/` into a fresh git repository, adds one leftover, and runs
dev/check_tree.py there; the untouched copy must pass.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _repo(tmp_path: Path) -> Path:
    shutil.copytree(
        ROOT / "kinspect", tmp_path / "kinspect", ignore=shutil.ignore_patterns("__pycache__")
    )
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "add", "-A"], check=True)
    return tmp_path


def _check(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "dev" / "check_tree.py"), str(root)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_the_real_tree_passes(tmp_path: Path) -> None:
    proc = _check(_repo(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout == "check_tree: no leftovers, every module reachable\n"


@pytest.mark.parametrize("name", ["kinspect/audit/checks.py.orig", "kinspect/cli.py.rej", "x~"])
def test_a_tracked_leftover_fails(tmp_path: Path, name: str) -> None:
    root = _repo(tmp_path)
    (root / name).write_text("leftover\n")
    subprocess.run(["git", "-C", str(root), "add", "-f", name], check=True)
    proc = _check(root)
    assert proc.returncode == 1
    assert proc.stdout == f"check_tree: {name}: a merge or patch leftover is tracked (git rm it)\n"


def test_an_untracked_leftover_is_not_the_check_s_business(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    (root / "kinspect" / "cli.py.orig").write_text("leftover\n")
    assert _check(root).returncode == 0


@pytest.mark.parametrize(
    "module", ["kinspect/orphan.py", "kinspect/path/orphan.py", "kinspect/newroom/__init__.py"]
)
def test_a_module_no_import_reaches_fails(tmp_path: Path, module: str) -> None:
    root = _repo(tmp_path)
    path = root / module
    path.parent.mkdir(exist_ok=True)
    # It imports the package (so it is in the graph), but nothing imports it.
    path.write_text('"""Dead."""\n\nfrom kinspect.model import errors\n')
    proc = _check(root)
    assert proc.returncode == 1
    dotted = module.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
    assert f"check_tree: {dotted}: no import reaches this module" in proc.stdout


def test_a_module_imported_only_inside_a_function_is_reached(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    (root / "kinspect" / "lazy.py").write_text('"""Loaded on demand."""\n')
    cli = root / "kinspect" / "cli.py"
    cli.write_text(cli.read_text() + "\n\ndef _later() -> None:\n    from kinspect import lazy\n")
    assert _check(root).returncode == 0
