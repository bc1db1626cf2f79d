"""`map -o dot`: the chain as a Graphviz digraph (render it with `dot -Tsvg`, or `-o svg`)."""

from __future__ import annotations

from collections.abc import Sequence

from kinspect.edge.entry import Entrypoint
from kinspect.path.chain import ServiceChain
from kinspect.render.graph import LEGEND, Mark, graph

_SHAPE = {
    "entry": "cds",
    "port": "box",
    "backend": "ellipse",
    "container": "component",
    "more": "note",
    "route": "cds",
    "controller": "hexagon",
}
_STYLE: dict[Mark, str] = {
    "ok": 'color="#1f2328"',
    "broken": 'color="#cf222e", fontcolor="#cf222e", style=dashed',
    "dropping": 'color="#bf8700", fontcolor="#9a6700", style=dashed',
}


def _quote(text: str) -> str:
    """A DOT string: cluster text cannot close the quote or inject attributes."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(c if c.isprintable() else " " for c in escaped) + '"'


def render(chains: list[ServiceChain], entries: Sequence[Entrypoint] = ()) -> str:
    """The whole digraph, legend included; `entries`: host and path → controller → port."""
    g = graph(chains, entries)
    out = [
        "digraph kinspect {",
        '  rankdir=LR; node [fontname="Helvetica", fontsize=10]; edge [fontname="Helvetica", '
        "fontsize=9];",
    ]
    for n in g.nodes:
        out.append(f"  {n.id} [label={_quote(n.label)}, shape={_SHAPE[n.kind]}, {_STYLE[n.mark]}];")
    for e in g.edges:
        out.append(f"  {e.source} -> {e.target} [label={_quote(e.label)}, {_STYLE[e.mark]}];")
    out.append('  subgraph cluster_legend { label="legend"; fontsize=10;')
    for i, (mark, meaning) in enumerate(LEGEND):
        out.append(f'    legend{i}a [label="", shape=point]; legend{i}b [label="", shape=point];')
        out.append(f"    legend{i}a -> legend{i}b [label={_quote(meaning)}, {_STYLE[mark]}];")
    out.append("  }")
    out.append("}")
    return "\n".join(out) + "\n"
