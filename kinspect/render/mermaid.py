"""`map -o mermaid`: the chain as a Mermaid flowchart (GitHub renders it in Markdown)."""

from __future__ import annotations

from collections.abc import Sequence

from kinspect.edge.entry import Entrypoint
from kinspect.path.chain import ServiceChain
from kinspect.render.graph import LEGEND, Mark, graph

_SHAPE = {
    "entry": ('[/"', '"/]'),
    "port": ('["', '"]'),
    "backend": ('("', '")'),
    "container": ('[["', '"]]'),
    "more": ('>"', '"]'),
    "route": ('[/"', '"/]'),
    "controller": ('{{"', '"}}'),
}
_LINK: dict[Mark, str] = {
    "ok": "stroke:#1f2328",
    "broken": "stroke:#cf222e,stroke-dasharray:5 5",
    "dropping": "stroke:#bf8700,stroke-dasharray:5 5",
}


def _text(text: str) -> str:
    """Label text: Mermaid entity codes for what would end a label or start markup."""
    out = []
    for c in text:
        if c in '"#<>`|[]{}()':
            out.append(f"#{ord(c)};")
        elif c.isprintable():
            out.append(c)
        else:
            out.append(" ")
    return "".join(out)


def render(chains: list[ServiceChain], entries: Sequence[Entrypoint] = ()) -> str:
    """The whole flowchart, legend included; `entries`: host and path → controller → port."""
    g = graph(chains, entries)
    out = ["flowchart LR"]
    for n in g.nodes:
        left, right = _SHAPE[n.kind]
        out.append(f"  {n.id}{left}{_text(n.label)}{right}")
        if n.mark != "ok":
            out.append(f"  class {n.id} {n.mark}")
    links: list[Mark] = []
    for e in g.edges:
        arrow = "-.->" if e.mark != "ok" else "-->"
        out.append(f'  {e.source} {arrow}|"{_text(e.label)}"| {e.target}')
        links.append(e.mark)
    out.append('  subgraph legend["legend"]')
    for i, (mark, meaning) in enumerate(LEGEND):
        arrow = "-.->" if mark != "ok" else "-->"
        out.append(f'    legend{i}a[" "] {arrow}|"{_text(meaning)}"| legend{i}b[" "]')
        links.append(mark)
    out.append("  end")
    out.append("  classDef broken stroke:#cf222e,color:#cf222e,stroke-dasharray:5 5")
    out.append("  classDef dropping stroke:#bf8700,color:#9a6700,stroke-dasharray:5 5")
    for i, mark in enumerate(links):
        if mark != "ok":
            out.append(f"  linkStyle {i} {_LINK[mark]}")
    return "\n".join(out) + "\n"
