"""`--evidence` in every format: indented lines under a hop or finding, or JSON objects.

Each piece: the object, `path=value`, and the read-only kubectl command on a line of its own
(`$ kubectl ...`), ready to paste. Cluster text goes through `safe.plain` (text) or stays exact
(JSON, whose encoder escapes it); the command itself is already quoted for a POSIX shell.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import msgspec
from rich.text import Text
from rich.tree import Tree

from kinspect.path.evidence import Evidence, Evidencer
from kinspect.path.trace import TraceResult
from kinspect.render.safe import markdown, plain


def _object(e: Evidence) -> str:
    where = f"{e.namespace}/{e.name}" if e.namespace is not None else e.name
    return f"{e.kind} {where}"


def _claim(e: Evidence) -> str:
    value = "(set)" if e.value is None else e.value or '""'
    return f"{_object(e)} {e.path}={value}"


def lines(items: Sequence[Evidence], indent: str = "") -> list[Text]:
    """`evidence:` and, per piece, its claim and its command: for the text reports."""
    if not items:
        return []
    out = [Text(f"{indent}evidence:", style="dim")]
    for e in items:
        out.append(Text(f"{indent}  {plain(_claim(e))}", style="dim"))
        out.append(Text(f"{indent}    $ {plain(e.command)}", style="dim"))
    return out


def add(parent: Tree, items: Sequence[Evidence]) -> None:
    """Hang `evidence:` under a tree's hop: one node per piece, its command below it."""
    if not items:
        return
    node = parent.add(Text("evidence:", style="dim"))
    for e in items:
        node.add(Text(plain(_claim(e)), style="dim")).add(
            Text(f"$ {plain(e.command)}", style="dim")
        )


def markdown_lines(items: Sequence[Evidence]) -> list[str]:
    """Markdown list items under a finding: the claim, then the command in a code span."""
    out = []
    for e in items:
        cmd = plain(e.command)
        # A code span's fence is one backtick longer than any run of them inside it.
        fence = "`" * (max((len(r) for r in re.findall("`+", cmd)), default=0) + 1)
        out.append(f"  - evidence: {markdown(_claim(e))}: {fence} {cmd} {fence}")
    return out


def as_json(items: Sequence[Evidence]) -> list[dict[str, Any]]:
    """The JSON form: `[{kind, namespace, name, path, value, command}]`."""
    return [
        {
            "kind": e.kind,
            "namespace": e.namespace,
            "name": e.name,
            "path": e.path,
            "value": e.value,
            "command": e.command,
        }
        for e in items
    ]


def trace_json(doc: dict[str, Any], r: TraceResult, ev: Evidencer) -> dict[str, Any]:
    """A TraceReport with `evidence` on each route, each of its backends, and each direct hop.

    The backends, otherwise their values' encoding, become that encoding plus `evidence`.
    """
    for route, rt in zip(doc["routes"], r.routes, strict=True):
        route["evidence"] = as_json(ev.route(rt))
        route["backends"] = [
            {**msgspec.to_builtins(b), "evidence": as_json(ev.route_backend(rt, b))}
            for b in rt.backends
        ]
    for hop, d in zip(doc["direct"], r.direct, strict=True):
        hop["evidence"] = as_json(ev.direct(d))
    return doc
