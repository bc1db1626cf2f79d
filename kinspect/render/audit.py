"""Audit reports: the kinspect/v1 AuditReport document and its renderings.

Text, Markdown, HTML, JUnit and Prometheus. Pure: the caller passes the time of the run.
"""

from __future__ import annotations

import html
from collections import Counter, defaultdict
from typing import Any
from xml.etree import ElementTree as ET

from rich.console import Group, RenderableType
from rich.text import Text

from kinspect.audit import CHECKS, Finding, PortKey, Severity
from kinspect.auditreport import AuditResult, BaselineFinding
from kinspect.render import reasons
from kinspect.render.report import API_VERSION

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def _finding(f: Finding, new: bool | None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "context": f.context,
        "check": f.check,
        "severity": f.severity.label,
        "namespace": f.namespace,
        "service": f.service,
        "port": _port(f.port),
        "message": f.message,
        "pods": _pods(f),
    }
    if new is not None:
        doc["new"] = new
    return doc


def _port(p: PortKey | None) -> str | None:
    """A finding's port as reports print it: "http 80/TCP", or "80/TCP" when it has no name."""
    return None if p is None else f"{p.name + ' ' if p.name else ''}{p.port}/{p.protocol}"


def _resolved(b: BaselineFinding) -> dict[str, str]:
    """A finding of the baseline, echoed as 0.1.0 did: its fields as strings, "" for null."""
    i = b.identity
    doc = {
        "context": i.context,
        "check": i.check,
        "severity": b.severity.label,
        "namespace": i.namespace,
        "service": i.service,
        "port": _port(i.port) or "",
        "message": b.message,
    }
    if b.new is not None:
        doc["new"] = str(b.new)
    return doc


def document(r: AuditResult, generated_at: str) -> dict[str, Any]:
    """Build the kinspect/v1 AuditReport (docs/json.md)."""
    counts = Counter(f.severity.label for f in r.findings)
    return {
        "apiVersion": API_VERSION,
        "kind": "AuditReport",
        "generatedAt": generated_at,
        "summary": {s.label: counts.get(s.label, 0) for s in Severity},
        "contexts": [
            {
                "name": c.context,
                "status": "ok" if c.ok else "failed",
                "error": c.error,
                "warnings": list(c.warnings),
                "services": len(c.services),
            }
            for c in r.contexts
        ],
        "checks": [
            {"id": c.id, "severity": c.severity.label, "doc": c.doc, "popeye": list(c.popeye)}
            for c in CHECKS
        ],
        "findings": [_finding(f, r.is_new(f)) for f in r.findings],
        "ignored": [{**_finding(f, None), "reason": why} for f, why in r.ignored],
        "resolved": [_resolved(b) for b in r.baseline.resolved] if r.baseline else None,
    }


def _pods(f: Finding) -> list[str]:
    """The pods a finding names, each with its reason where there is one."""
    return [*f.pods, *(f"{nb.pod} ({reasons.not_backend(nb)})" for nb in f.not_backends)]


def _grouped(r: AuditResult) -> dict[Severity, dict[str, list[Finding]]]:
    out: dict[Severity, dict[str, list[Finding]]] = {}
    for f in r.findings:
        place = f"{f.context} · {f.namespace}" if len(r.contexts) > 1 else f.namespace
        out.setdefault(f.severity, defaultdict(list))[place].append(f)
    return out


def _where(f: Finding) -> str:
    return " ".join(x for x in (f.service or "(no service)", _port(f.port) or "") if x)


def text(r: AuditResult) -> RenderableType:
    """Findings grouped by severity, then context and namespace."""
    parts: list[RenderableType] = []
    for c in r.contexts:
        line = Text(f"context {c.context}: ")
        if c.ok:
            line.append(f"{len(c.services)} services audited", style="green")
        else:
            line.append(f"FAILED: {c.error}", style="bold red")
        parts.append(line)
        parts.extend(Text(f"  warning: {w}", style="yellow") for w in c.warnings)
    for sev, places in sorted(_grouped(r).items(), reverse=True):
        n = sum(len(v) for v in places.values())
        parts.append(Text(f"\n{sev.label.upper()} ({n})", style=_STYLE[sev]))
        for place, findings in sorted(places.items()):
            parts.append(Text(f"  {place}", style="bold"))
            for f in findings:
                t = Text("    ")
                if r.is_new(f):
                    t.append("NEW ", style="bold magenta")
                t.append(f"[{f.check}] ", style=_STYLE[sev])
                t.append(f"{_where(f)}: {f.message}")
                parts.append(t)
                if pods := _pods(f):
                    parts.append(Text("      pods: " + ", ".join(pods), style="dim"))
    if r.baseline:
        parts.append(Text(f"\n{len(r.baseline.resolved)} finding(s) resolved since the baseline"))
    if r.ignored:
        parts.append(Text(f"{len(r.ignored)} finding(s) ignored by rule", style="dim"))
    if not r.findings:
        parts.append(Text("\nno findings", style="green"))
    return Group(*parts)


def _md_cell(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def markdown(r: AuditResult, generated_at: str) -> str:
    """A Markdown report: contexts, then one table per severity."""
    lines = [
        f"# kinspect audit — {generated_at}",
        "",
        "| context | status | services |",
        "|---|---|---|",
    ]
    for c in r.contexts:
        status = "ok" if c.ok else f"**failed**: {_md_cell(c.error or '')}"
        lines.append(f"| {c.context} | {status} | {len(c.services)} |")
    for sev, places in sorted(_grouped(r).items(), reverse=True):
        n = sum(len(v) for v in places.values())
        lines += ["", f"## {sev.label.capitalize()} ({n})", ""]
        lines += ["| where | service | check | finding | pods |", "|---|---|---|---|---|"]
        for place, findings in sorted(places.items()):
            for f in findings:
                mark = " 🆕" if r.is_new(f) else ""
                lines.append(
                    f"| {_md_cell(place)} | {_md_cell(_where(f))} | `{f.check}`{mark} | "
                    f"{_md_cell(f.message)} | {_md_cell(', '.join(_pods(f)))} |"
                )
    if not r.findings:
        lines += ["", "No findings."]
    if r.baseline:
        lines += ["", f"{len(r.baseline.resolved)} finding(s) resolved since the baseline."]
    if r.ignored:
        lines += ["", "## Ignored", ""]
        lines += [
            f"- `{f.check}` {f.namespace}/{f.service}: {_md_cell(why)}" for f, why in r.ignored
        ]
    return "\n".join(lines) + "\n"


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


def html_report(r: AuditResult, generated_at: str) -> str:
    """A self-contained HTML page (inline CSS, no scripts, no external resources)."""
    e = html.escape
    counts = Counter(f.severity for f in r.findings)
    out = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        "<meta name=viewport content='width=device-width,initial-scale=1'>",
        f"<title>kinspect audit {e(generated_at)}</title><style>{_CSS}</style></head><body>",
        "<h1>kinspect audit</h1>",
        f"<p class=sub>{e(generated_at)} · {len(r.contexts)} context(s)</p><div class=cards>",
    ]
    for sev in sorted(Severity, reverse=True):
        out.append(f"<div class='card {sev.label}'><b>{counts.get(sev, 0)}</b>{sev.label}</div>")
    out.append(
        "</div><h2>Contexts</h2><table><tr><th>context</th><th>status</th><th>services</th>"
        "<th>notes</th></tr>"
    )
    for c in r.contexts:
        status = "ok" if c.ok else f"<span class=failed>failed: {e(c.error or '')}</span>"
        notes = "<br>".join(e(w) for w in c.warnings)
        out.append(
            f"<tr><td>{e(c.context)}</td><td>{status}</td><td>{len(c.services)}</td>"
            f"<td>{notes}</td></tr>"
        )
    out.append("</table>")
    for sev, places in sorted(_grouped(r).items(), reverse=True):
        n = sum(len(v) for v in places.values())
        out.append(f"<h2 class={sev.label}>{sev.label.capitalize()} ({n})</h2>")
        out.append("<table><tr><th>where</th><th>service</th><th>check</th><th>finding</th></tr>")
        for place, findings in sorted(places.items()):
            for f in findings:
                badge = "<span class=new>new</span>" if r.is_new(f) else ""
                pods = _pods(f)
                pods_html = f"<div class=pods>{e(', '.join(pods))}</div>" if pods else ""
                out.append(
                    f"<tr><td>{e(place)}</td><td>{e(_where(f))}</td>"
                    f"<td><code>{e(f.check)}</code>{badge}</td><td>{e(f.message)}{pods_html}</td></tr>"
                )
        out.append("</table>")
    if not r.findings:
        out.append("<p>No findings.</p>")
    if r.baseline:
        out.append(f"<p>{len(r.baseline.resolved)} finding(s) resolved since the baseline.</p>")
    if r.ignored:
        out.append("<h2>Ignored</h2><ul>")
        out += [
            f"<li><code>{e(f.check)}</code> {e(f.namespace)}/{e(f.service)}: {e(why)}</li>"
            for f, why in r.ignored
        ]
        out.append("</ul>")
    out.append("</body></html>\n")
    return "\n".join(out)


def junit(r: AuditResult, fail_on: Severity) -> str:
    """JUnit XML: a testsuite per context, a testcase per service.

    Findings at or above `fail_on` are failures, the rest go to system-out. A context that
    could not be read is one errored case.
    """
    suites = ET.Element("testsuites", name="kinspect audit")
    for c in r.contexts:
        mine = [f for f in r.findings if f.context == c.context]
        suite = ET.SubElement(suites, "testsuite", name=c.context)
        if not c.ok:
            case = ET.SubElement(suite, "testcase", classname=c.context, name="read cluster")
            ET.SubElement(case, "error", message=c.error or "failed")
            suite.set("tests", "1")
            suite.set("errors", "1")
            suite.set("failures", "0")
            continue
        by_service: defaultdict[str, list[Finding]] = defaultdict(list)
        for f in mine:
            by_service[f"{f.namespace}/{f.service}" if f.service else f.namespace].append(f)
        names = sorted(set(c.services) | set(by_service))
        failures = 0
        for name in names:
            ns, _, svc = name.partition("/")
            case = ET.SubElement(suite, "testcase", classname=f"{c.context}.{ns}", name=svc or ns)
            bad = [f for f in by_service.get(name, []) if f.severity >= fail_on]
            if bad:
                failures += 1
                body = "\n".join(
                    f"[{f.severity.label}] {f.check} {_port(f.port) or ''}: {f.message}"
                    + (f" (pods: {', '.join(pods)})" if (pods := _pods(f)) else "")
                    for f in bad
                )
                fail = ET.SubElement(case, "failure", message=bad[0].message, type=bad[0].check)
                fail.text = body
            rest = [f for f in by_service.get(name, []) if f.severity < fail_on]
            if rest:
                ET.SubElement(case, "system-out").text = "\n".join(
                    f"[{f.severity.label}] {f.check}: {f.message}" for f in rest
                )
        suite.set("tests", str(len(names)))
        suite.set("failures", str(failures))
        suite.set("errors", "0")
    ET.indent(suites)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
    )


def _label(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def prometheus(r: AuditResult, generated_at_unix: float) -> str:
    """A node_exporter textfile: counts by context, check and severity, plus context health."""
    lines = [
        "# HELP kinspect_audit_findings Findings of the last kinspect audit.",
        "# TYPE kinspect_audit_findings gauge",
    ]
    counts = Counter((f.context, f.check, f.severity.label) for f in r.findings)
    for c in r.contexts:
        for check in CHECKS:
            for sev in Severity:
                n = counts.get((c.context, check.id, sev.label), 0)
                if n or (c.ok and sev == check.severity):
                    lines.append(
                        f'kinspect_audit_findings{{context="{_label(c.context)}",'
                        f'check="{check.id}",severity="{sev.label}"}} {n}'
                    )
    lines += [
        "# HELP kinspect_audit_context_up 1 if the context could be read and audited.",
        "# TYPE kinspect_audit_context_up gauge",
    ]
    lines += [
        f'kinspect_audit_context_up{{context="{_label(c.context)}"}} {int(c.ok)}'
        for c in r.contexts
    ]
    lines += [
        "# HELP kinspect_audit_services Services audited per context.",
        "# TYPE kinspect_audit_services gauge",
    ]
    lines += [
        f'kinspect_audit_services{{context="{_label(c.context)}"}} {len(c.services)}'
        for c in r.contexts
    ]
    lines += [
        "# HELP kinspect_audit_ignored_findings Findings set aside by ignore rules.",
        "# TYPE kinspect_audit_ignored_findings gauge",
        f"kinspect_audit_ignored_findings {len(r.ignored)}",
        "# HELP kinspect_audit_last_run_timestamp_seconds When the audit ran.",
        "# TYPE kinspect_audit_last_run_timestamp_seconds gauge",
        f"kinspect_audit_last_run_timestamp_seconds {generated_at_unix:.0f}",
    ]
    return "\n".join(lines) + "\n"
