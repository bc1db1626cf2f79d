"""docs/architecture.md stays true: every module has its line, and the package arrows are real.

The map for the next person is only useful while it matches the tree. These tests fail when a
module is added, moved or removed without its line, and when a package starts (or stops)
importing another without the "Who imports whom" table saying so.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "architecture.md"
PACKAGE = ROOT / "kinspect"


def _section(title: str) -> str:
    text = DOC.read_text()
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def _modules_on_disk() -> set[str]:
    """Every module, as `pkg/mod.py`; an `__init__.py` only when it holds more than a docstring."""
    out: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).as_posix()
        if path.name == "__init__.py":
            body = ast.parse(path.read_text()).body
            if all(isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant) for n in body):
                continue
        out.add(rel)
    return out


def _modules_in_doc() -> set[str]:
    rows = re.findall(r"^\| ([^|]+) \|", _section("Every package, every module"), re.M)
    out: set[str] = set()
    for cell in rows:
        out.update(re.findall(r"`([\w/]+\.py)`", cell))
    return out


def test_every_module_has_its_line_and_every_line_its_module() -> None:
    on_disk, in_doc = _modules_on_disk(), _modules_in_doc()
    assert sorted(on_disk - in_doc) == [], "modules without a line in docs/architecture.md"
    assert sorted(in_doc - on_disk) == [], "lines in docs/architecture.md naming no module"


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "kinspect"


def test_the_package_arrows_are_the_real_imports() -> None:
    graph = grimp.build_graph("kinspect", cache_dir=None)
    real: dict[str, set[str]] = {}
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            a, b = _room(module), _room(imported)
            if a != b:
                real.setdefault(a, set()).add(b)
    table = _section("Who imports whom")
    documented: dict[str, set[str]] = {}
    for room, cell in re.findall(r"^\| `(\w+)` \| ([^|]*) \|", table, re.M):
        documented[room] = set(re.findall(r"`(\w+)`", cell))
    assert {k: sorted(v) for k, v in documented.items() if v} == {
        k: sorted(v) for k, v in real.items()
    }
