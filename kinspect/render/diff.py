"""`kinspect diff` in words, as the kinspect/v1 ChainDiff document, and as Markdown.

Pure: each function returns what the command writes. The change kinds are a closed set
(`chaindiff.ChangeKind`), matched here with `assert_never`, so a new kind is a type error until
each format words it. Cluster text goes through `safe.plain` (text) or `safe.markdown`.
"""

from __future__ import annotations

from itertools import groupby
from typing import Any, assert_never

from rich.console import Group, RenderableType
from rich.text import Text

from kinspect.diff.chaindiff import ChainDiff, Change, ChangeKind, Side
from kinspect.render.report import API_VERSION
from kinspect.render.safe import markdown as md
from kinspect.render.safe import plain

_STYLE = {"+": "green", "-": "red", "~": "yellow"}


def mark(kind: ChangeKind) -> str:
    """`+` for what appeared, `-` for what went, `~` for what changed."""
    match kind:
        case "service-added" | "port-added" | "frontend-added" | "backend-added" | "finding-new":
            return "+"
        case (
            "service-removed"
            | "port-removed"
            | "frontend-removed"
            | "backend-removed"
            | "finding-resolved"
        ):
            return "-"
        case (
            "service-changed"
            | "port-changed"
            | "target-port-changed"
            | "backend-state"
            | "backend-address"
            | "pod-no-endpoint"
            | "answers-changed"
        ):
            return "~"
        case _:
            assert_never(kind)


def _was_now(c: Change) -> str:
    return f"{c.before} → {c.after}"


_PORT_LEVEL = ("port-added", "port-removed", "port-changed")


def words(c: Change) -> str:
    """What changed, in one line.

    Without its service, and with its port only for the port's own changes: both head groups.
    """
    match c.kind:
        case "service-added":
            return f"service added ({c.after})"
        case "service-removed":
            return f"service removed ({c.before})"
        case "service-changed":
            return f"service changed: {_was_now(c)}"
        case "port-added":
            return f"port {c.port} added ({c.after})"
        case "port-removed":
            return f"port {c.port} removed ({c.before})"
        case "port-changed":
            return f"port {c.port} changed: {_was_now(c)}"
        case "target-port-changed":
            return f"targetPort {c.subject} resolves to {_was_now(c)}"
        case "frontend-added":
            return f"frontend {c.subject}"
        case "frontend-removed":
            return f"frontend {c.subject}"
        case "backend-added":
            return f"backend {c.subject} {c.after}"
        case "backend-removed":
            return f"backend {c.subject} {c.before}"
        case "backend-state":
            return f"backend {c.subject} {_was_now(c)}"
        case "backend-address":
            return f"backend {c.subject} address {_was_now(c)}"
        case "pod-no-endpoint":
            if c.before is None:
                return f"pod {c.subject} selected, gets no endpoint: {c.after}"
            if c.after is None:
                return f"pod {c.subject} no longer idle (was: {c.before})"
            return f"pod {c.subject} gets no endpoint: {_was_now(c)}"
        case "answers-changed":
            return f"{c.subject} answers on {_was_now(c)}"
        case "finding-new":
            return f"[{c.severity}] {c.subject}: {c.after}"
        case "finding-resolved":
            return f"[{c.severity}] {c.subject}: {c.before}"
        case _:
            assert_never(c.kind)


def _side(s: Side) -> str:
    what = "live cluster" if s.source == "live" else s.path or ""
    context = f", context {s.context}" if s.context else ""
    return f"{what} ({s.source}{context})"


def _group(c: Change) -> str:
    where = f"{c.namespace}/{c.service}" if c.service else f"{c.namespace} (pods)"
    if c.context and c.kind in ("finding-new", "finding-resolved"):
        return f"{c.context}: {where}"
    return where


def totals(d: ChainDiff) -> str:
    """`3 differences: 1 backend-added, 2 backend-state`."""
    parts = [f"{n} {k}" for k, n in d.summary().items() if n]
    return f"{len(d.changes)} difference(s): " + ", ".join(parts)


def text(d: ChainDiff) -> RenderableType:
    """The changes grouped by namespace/service, one line each, marked + - ~."""
    if not d.different:
        return Text("no differences")
    parts: list[RenderableType] = [
        Text(plain(f"--- {_side(d.old)}"), style="red"),
        Text(plain(f"+++ {_side(d.new)}"), style="green"),
    ]
    if d.namespace is not None:
        parts.append(Text(plain(f"namespace {d.namespace} only"), style="dim"))
    for where, changes in groupby(d.changes, key=_group):
        parts.append(Text(plain(where), style="bold"))
        port: str | None = None
        for c in changes:
            m = mark(c.kind)
            indent = "  "
            if c.kind in _PORT_LEVEL:
                port = c.port
            elif c.port is not None:
                if c.port != port:
                    parts.append(Text(plain(f"  port {c.port}")))
                    port = c.port
                indent = "    "
            parts.append(Text.assemble(indent, (m, _STYLE[m]), " ", plain(words(c))))
    parts.append(Text(totals(d)))
    return Group(*parts)


def _json_side(s: Side) -> dict[str, Any]:
    return {"source": s.source, "path": s.path, "context": s.context}


def document(d: ChainDiff) -> dict[str, Any]:
    """The kinspect/v1 ChainDiff (docs/json.md, kinspect/schemas/chain-diff.json)."""
    return {
        "apiVersion": API_VERSION,
        "kind": "ChainDiff",
        "old": _json_side(d.old),
        "new": _json_side(d.new),
        "namespace": d.namespace,
        "different": d.different,
        "summary": dict(d.summary()),
        "changes": [
            {
                "kind": c.kind,
                "mark": mark(c.kind),
                "namespace": c.namespace,
                "service": c.service,
                "port": c.port,
                "subject": c.subject,
                "before": c.before,
                "after": c.after,
                "pod": (
                    None if c.pod is None else {"namespace": c.pod.namespace, "name": c.pod.name}
                ),
                "context": c.context,
                "severity": c.severity,
            }
            for c in d.changes
        ],
    }


def markdown(d: ChainDiff) -> str:
    """A Markdown table of the changes, for a ticket or a pull request."""
    lines = [
        "# kinspect diff",
        "",
        f"- old: {md(_side(d.old))}",
        f"- new: {md(_side(d.new))}",
    ]
    if d.namespace is not None:
        lines.append(f"- namespace: {md(d.namespace)} only")
    if not d.different:
        return "\n".join([*lines, "", "No differences."]) + "\n"
    lines += ["", "| | where | port | change |", "|---|---|---|---|"]
    for c in d.changes:
        port = md(c.port) if c.port and c.kind not in _PORT_LEVEL else ""
        lines.append(f"| {mark(c.kind)} | {md(_group(c))} | {port} | {md(words(c))} |")
    lines += ["", md(totals(d))]
    return "\n".join(lines) + "\n"
