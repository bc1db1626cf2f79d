"""`make lint`'s leftover check: nothing lands that no one meant to ship.

Fails (exit 1, one line per problem) on
- a file git tracks named `*.orig`, `*.rej` or `*~` (merge and patch leftovers: one of 1,000
  lines once shipped in the wheel);
- a module of the package that no import reaches from the entry points (`kinspect.cli`,
  `python -m kinspect`): dead code that tests alone keep alive. Imports inside functions count
  (several renderers load lazily), and importing `a.b.c` runs `a` and `a.b` too.

Usage: `python dev/check_tree.py [ROOT]` (default: this repository).
"""

from __future__ import annotations

import fnmatch
import subprocess
import sys
from pathlib import Path

import grimp

PACKAGE = "kinspect"
ENTRY_POINTS = ("kinspect.__main__", "kinspect.cli")
LEFTOVERS = ("*.orig", "*.rej", "*~")


def leftovers(root: Path) -> list[str]:
    """Tracked files that look like merge or patch leftovers."""
    tracked = (
        subprocess.run(["git", "-C", str(root), "ls-files", "-z"], capture_output=True, check=True)
        .stdout.decode()
        .split("\0")
    )
    return [
        f
        for f in tracked
        if f and any(fnmatch.fnmatch(Path(f).name, pattern) for pattern in LEFTOVERS)
    ]


def unreachable(root: Path) -> list[str]:
    """Modules of the package no import chain from an entry point reaches."""
    sys.path.insert(0, str(root))
    graph = grimp.build_graph(PACKAGE, cache_dir=None)
    seen: set[str] = set()
    todo = [m for m in ENTRY_POINTS if m in graph.modules]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        todo.extend(graph.find_modules_directly_imported_by(module))
        # Importing a.b.c runs the packages a and a.b first.
        parts = module.split(".")
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))
    return sorted(m for m in graph.modules if m not in seen)


def main(argv: list[str]) -> int:
    root = Path(argv[1]).resolve() if len(argv) > 1 else Path(__file__).resolve().parents[1]
    problems = [f"{f}: a merge or patch leftover is tracked (git rm it)" for f in leftovers(root)]
    problems += [
        f"{m}: no import reaches this module from {' or '.join(ENTRY_POINTS)} "
        "(remove it, or import it where it is used)"
        for m in unreachable(root)
    ]
    for p in problems:
        print(f"check_tree: {p}")
    if not problems:
        print("check_tree: no leftovers, every module reachable")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
