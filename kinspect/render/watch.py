"""What `--watch` shows as text: the live view's frame and status line, and one line per change.

Pure: renderables and strings in, nothing printed. The frame reuses map's table
(`table.map_table`, changed services highlighted) and trace's tree; the status line says when
the last event came and whether every watch is healthy. Cluster text goes through
`safe.plain` into rich `Text`, never markup.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from rich.console import Group, RenderableType
from rich.text import Text

from kinspect.live.state import ChainEvent
from kinspect.model.values import host_port
from kinspect.path.chain import ServiceChain
from kinspect.path.trace import TraceResult
from kinspect.render import table, tree
from kinspect.render.safe import plain
from kinspect.render.words import port_text


@dataclass
class Status:
    """The watch as the status line tells it (kept by the command, rendered here)."""

    context: str
    applied: int = 0  # watch events applied
    last_event: str | None = None  # its time, HH:MM:SS UTC
    # resource → what is wrong with its watch ("reconnecting (attempt 2): connection refused");
    # a resource not here is watched and healthy. "polling" is healthy, said once on stderr.
    problems: dict[str, str] = field(default_factory=dict)
    polling: set[str] = field(default_factory=set)  # resources listed again and again (403)
    # The last resource listed again after its watch expired (410 Gone), and when (HH:MM:SS).
    relisted: tuple[str, str] | None = None


def status_line(s: Status) -> Text:
    """`watching CONTEXT · 12 events · last 21:03:04 UTC · healthy` (or what is wrong)."""
    last = f"last {s.last_event} UTC" if s.last_event else "no event yet"
    head = Text.assemble(
        "watching ", plain(s.context), f" · {s.applied} events · {last} · ", style="dim"
    )
    if not s.problems:
        return head + Text("healthy", style="green")
    wrong = "; ".join(f"{k}: {v}" for k, v in sorted(s.problems.items()))
    return head + Text(plain(wrong), style="yellow")


def map_frame(
    chains: list[ServiceChain],
    status: Status,
    highlight: Collection[tuple[str, str]] = (),
    wide: bool = False,
) -> RenderableType:
    """The map table as it is now, the services that just changed highlighted, then the status."""
    return Group(table.map_table(chains, wide=wide, highlight=highlight), status_line(status))


def trace_frame(result: TraceResult, status: Status) -> RenderableType:
    """The trace as it is now, then the status line."""
    return Group(tree.trace_tree(result), status_line(status))


def event_line(time: str, ev: ChainEvent) -> Text:
    """One change as a line (map --watch off a terminal, without -o json).

    `TIME EVENT NAMESPACE/SERVICE [PORT] [BACKEND POD STATE | FRONTENDS]`.
    """
    parts = [time, ev.event, f"{ev.namespace}/{ev.service}"]
    if ev.port is not None:
        parts.append(port_text(ev.port))
    if ev.backend is not None:
        b = ev.backend
        parts.append(host_port(b.address, b.port))
        parts.append(str(b.pod) if b.pod else "-")
        parts.append("ready" if b.ready else "terminating" if b.terminating else "not-ready")
    if ev.frontends is not None:
        parts.append(
            ",".join(f"{f.kind}:{host_port(f.address, f.port)}" for f in ev.frontends) or "-"
        )
    if ev.topology:
        # Topology hints: on how many nodes kube-proxy uses a same-zone or same-node subset.
        parts.append(f"hints {sum(t.mode is not None for t in ev.topology)}/{len(ev.topology)}")
    if ev.chain is not None:
        backends = [b for pc in ev.chain.ports for b in pc.backends]
        ready = sum(b.ready for b in backends)
        parts.append(f"{len(ev.chain.ports)} ports, {ready}/{len(backends)} backends ready")
    return Text(plain(" ".join(parts)))


def health_line(resource: str, problem: str | None) -> Text:
    """A watch's health changing (stderr, off the live view): `watch of pods: reconnecting …`."""
    return Text(plain(f"kinspect: watch of {resource}: {problem or 'watching again'}"))
