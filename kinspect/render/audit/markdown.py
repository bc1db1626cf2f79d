"""The Markdown report, for tickets and wikis: a table of contexts, then one table per severity."""

from __future__ import annotations

from kinspect.audit.finding import Severity
from kinspect.audit.report import AuditResult
from kinspect.render import evidence
from kinspect.render.audit.common import RenderContext, grouped, pods, rollups, where
from kinspect.render.safe import markdown as md


def render(result: AuditResult, ctx: RenderContext) -> str:
    """A Markdown report: contexts, then one table per severity."""
    lines = [
        f"# kinspect audit — {ctx.stamp}",
        "",
        "| context | status | services |",
        "|---|---|---|",
    ]
    for c in result.contexts:
        status = "ok" if c.ok else f"**failed**: {md(c.error or '')}"
        lines.append(f"| {md(c.context)} | {status} | {len(c.services)} |")
    for sev, places in sorted(grouped(result).items(), reverse=True):
        n = sum(len(v) for v in places.values())
        lines += ["", f"## {sev.label.capitalize()} ({n})", ""]
        lines += ["| where | service | check | finding | pods |", "|---|---|---|---|---|"]
        for place, findings in sorted(places.items()):
            for f in findings:
                mark = " 🆕" if result.is_new(f) else ""
                lines.append(
                    f"| {md(place)} | {md(where(f))} | `{f.check}`{mark} | "
                    f"{md(f.message)} | {md(', '.join(pods(f)))} |"
                )
    for line in rollups(result):
        lines += ["", md(line)]
    shown = [f for f in result.findings if f.evidence]
    if shown:
        # --evidence: what each finding rests on, and the kubectl command that shows it.
        lines += ["", "## Evidence", ""]
        for f in shown:
            lines.append(f"- `{f.check}` {md(where(f))}: {md(f.message)}")
            lines += evidence.markdown_lines(f.evidence)
    charts = [
        (key, ctx.charts[key])
        for key in dict.fromkeys(
            (f.context, f.namespace, f.service)
            for f in result.findings
            if f.severity is Severity.ERROR
        )
        if key in ctx.charts
    ]
    if charts:
        # GitHub renders ```mermaid blocks as pictures.
        lines += ["", "## Chains of the services with errors"]
        for (context, namespace, service), chart in charts:
            where_ = (
                f"{context} · {namespace}/{service}"
                if len(result.contexts) > 1
                else f"{namespace}/{service}"
            )
            lines += [
                "",
                f"### {md(where_)}",
                "",
                "```mermaid",
                chart.mermaid.rstrip(),
                "```",
            ]
    if not result.findings:
        lines += ["", "No findings."]
    if result.baseline:
        lines += ["", f"{len(result.baseline.resolved)} finding(s) resolved since the baseline."]
    if result.ignored:
        lines += ["", "## Ignored", ""]
        lines += [
            f"- `{f.check}` {md(f'{f.namespace}/{f.service}')}: {md(why)}"
            for f, why in result.ignored
        ]
    return "\n".join(lines) + "\n"
