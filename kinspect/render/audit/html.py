"""The HTML report, for people and e-mail: one self-contained page.

Inline CSS, no scripts, no external resources: it survives e-mail and offline archives.
"""

from __future__ import annotations

import html
from collections import Counter

from kinspect.audit.finding import Severity
from kinspect.audit.report import AuditResult
from kinspect.render.audit.common import RenderContext, grouped, pods, rollups, where
from kinspect.render.safe import utf8

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1200px;
color:#1f2328;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem}.sub{color:#656d76;margin-top:0}
.cards{display:flex;gap:1rem;margin:1rem 0}
.card{border-radius:8px;padding:.8rem 1.2rem;min-width:7rem}
.card b{display:block;font-size:1.8rem}.error{background:#ffebe9;color:#a40e26}
.warning{background:#fff8c5;color:#7d4e00}.info{background:#ddf4ff;color:#0550ae}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}th,td{text-align:left;
padding:.35rem .6rem;border-bottom:1px solid #d0d7de;vertical-align:top}
th{background:#f6f8fa}code{background:#f6f8fa;padding:.1rem .3rem;border-radius:4px}
.pods{color:#656d76;font-size:.9em}.failed{color:#a40e26;font-weight:600}.new{background:#8250df;
color:#fff;border-radius:4px;padding:0 .3rem;font-size:.8em;margin-left:.3rem}
"""


def _inline(svg: str) -> str:
    """Graphviz's SVG document as an inline element: from <svg on (no XML prolog, no DOCTYPE).

    Graphviz writes every label as escaped XML text, and the DOT it drew escaped them first.
    """
    start = svg.find("<svg")
    return svg[start:].strip() if start >= 0 else ""


def render(result: AuditResult, ctx: RenderContext) -> str:
    """A self-contained HTML page (inline CSS, no scripts, no external resources)."""

    def e(s: str) -> str:
        return html.escape(utf8(s))

    counts = Counter(f.severity for f in result.findings)
    out = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        "<meta name=viewport content='width=device-width,initial-scale=1'>",
        f"<title>kinspect audit {e(ctx.stamp)}</title><style>{_CSS}</style></head><body>",
        "<h1>kinspect audit</h1>",
        f"<p class=sub>{e(ctx.stamp)} · {len(result.contexts)} context(s)</p><div class=cards>",
    ]
    for sev in sorted(Severity, reverse=True):
        out.append(f"<div class='card {sev.label}'><b>{counts.get(sev, 0)}</b>{sev.label}</div>")
    out.append(
        "</div><h2>Contexts</h2><table><tr><th>context</th><th>status</th><th>services</th>"
        "<th>notes</th></tr>"
    )
    for c in result.contexts:
        status = "ok" if c.ok else f"<span class=failed>failed: {e(c.error or '')}</span>"
        notes = "<br>".join(e(w) for w in c.warnings)
        out.append(
            f"<tr><td>{e(c.context)}</td><td>{status}</td><td>{len(c.services)}</td>"
            f"<td>{notes}</td></tr>"
        )
    out.append("</table>")
    for sev, places in sorted(grouped(result).items(), reverse=True):
        n = sum(len(v) for v in places.values())
        out.append(f"<h2 class={sev.label}>{sev.label.capitalize()} ({n})</h2>")
        out.append("<table><tr><th>where</th><th>service</th><th>check</th><th>finding</th></tr>")
        drawn: set[tuple[str, str, str]] = set()
        for place, findings in sorted(places.items()):
            for f in findings:
                badge = "<span class=new>new</span>" if result.is_new(f) else ""
                names = pods(f)
                pods_html = f"<div class=pods>{e(', '.join(names))}</div>" if names else ""
                out.append(
                    f"<tr><td>{e(place)}</td><td>{e(where(f))}</td>"
                    f"<td><code>{e(f.check)}</code>{badge}</td><td>{e(f.message)}{pods_html}</td></tr>"
                )
                key = (f.context, f.namespace, f.service)
                chart = ctx.charts.get(key)
                if chart is not None and chart.svg is not None and key not in drawn:
                    drawn.add(key)  # once per service, under its first error
                    out.append(
                        "<tr><td colspan=4><details open><summary>chain of "
                        f"{e(f.namespace)}/{e(f.service)}</summary>{_inline(chart.svg)}"
                        "</details></td></tr>"
                    )
        out.append("</table>")
    out += [f"<p>{e(line)}</p>" for line in rollups(result)]
    if not result.findings:
        out.append("<p>No findings.</p>")
    if result.baseline:
        out.append(
            f"<p>{len(result.baseline.resolved)} finding(s) resolved since the baseline.</p>"
        )
    if result.ignored:
        out.append("<h2>Ignored</h2><ul>")
        out += [
            f"<li><code>{e(f.check)}</code> {e(f.namespace)}/{e(f.service)}: {e(why)}</li>"
            for f, why in result.ignored
        ]
        out.append("</ul>")
    out.append("</body></html>\n")
    return "\n".join(out)
