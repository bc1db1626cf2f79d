"""The Prometheus report: a node_exporter textfile of finding counts and context health."""

from __future__ import annotations

from collections import Counter

from kinspect.audit.checks import CHECKS
from kinspect.audit.finding import Severity
from kinspect.audit.report import AuditResult
from kinspect.render.audit.common import RenderContext
from kinspect.render.safe import utf8


def _label(v: str) -> str:
    # The exposition format is UTF-8: a lone surrogate (from a kubeconfig) cannot be written.
    v = utf8(v)
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render(result: AuditResult, ctx: RenderContext) -> str:
    """A node_exporter textfile: counts by context, check and severity, plus context health."""
    lines = [
        "# HELP kinspect_audit_findings Findings of the last kinspect audit.",
        "# TYPE kinspect_audit_findings gauge",
    ]
    counts = Counter((f.context, f.check, f.severity.label) for f in result.findings)
    for c in result.contexts:
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
        for c in result.contexts
    ]
    lines += [
        "# HELP kinspect_audit_services Services audited per context.",
        "# TYPE kinspect_audit_services gauge",
    ]
    lines += [
        f'kinspect_audit_services{{context="{_label(c.context)}"}} {len(c.services)}'
        for c in result.contexts
    ]
    lines += [
        "# HELP kinspect_audit_ignored_findings Findings set aside by ignore rules.",
        "# TYPE kinspect_audit_ignored_findings gauge",
        f"kinspect_audit_ignored_findings {len(result.ignored)}",
        "# HELP kinspect_audit_last_run_timestamp_seconds When the audit ran.",
        "# TYPE kinspect_audit_last_run_timestamp_seconds gauge",
        f"kinspect_audit_last_run_timestamp_seconds {ctx.generated_at.timestamp():.0f}",
    ]
    return "\n".join(lines) + "\n"
