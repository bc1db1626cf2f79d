"""The text report: findings grouped by severity, then context and namespace, for a terminal."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text

from kinspect.audit.finding import Severity
from kinspect.audit.report import AuditResult
from kinspect.render import evidence
from kinspect.render.audit.common import RenderContext, grouped, pods, rollups, where
from kinspect.render.safe import plain

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def render(result: AuditResult, ctx: RenderContext) -> RenderableType:
    """Findings grouped by severity, then context and namespace."""
    parts: list[RenderableType] = []
    for c in result.contexts:
        line = Text(f"context {plain(c.context)}: ")
        if c.ok:
            line.append(f"{len(c.services)} services audited", style="green")
        else:
            line.append(f"FAILED: {plain(c.error or '')}", style="bold red")
        parts.append(line)
        parts.extend(Text(f"  warning: {plain(w)}", style="yellow") for w in c.warnings)
    for sev, places in sorted(grouped(result).items(), reverse=True):
        n = sum(len(v) for v in places.values())
        parts.append(Text(f"\n{sev.label.upper()} ({n})", style=_STYLE[sev]))
        for place, findings in sorted(places.items()):
            parts.append(Text(f"  {plain(place)}", style="bold"))
            for f in findings:
                t = Text("    ")
                if result.is_new(f):
                    t.append("NEW ", style="bold magenta")
                t.append(f"[{f.check}] ", style=_STYLE[sev])
                t.append(plain(f"{where(f)}: {f.message}"))
                parts.append(t)
                if names := pods(f):
                    parts.append(Text("      pods: " + plain(", ".join(names)), style="dim"))
                parts.extend(evidence.lines(f.evidence, "      "))
    parts.extend(Text(f"\n{plain(line)}", style=_STYLE[Severity.INFO]) for line in rollups(result))
    if result.baseline:
        parts.append(
            Text(f"\n{len(result.baseline.resolved)} finding(s) resolved since the baseline")
        )
    if result.ignored:
        parts.append(Text(f"{len(result.ignored)} finding(s) ignored by rule", style="dim"))
    if not result.findings:
        parts.append(Text("\nno findings", style="green"))
    return Group(*parts)
