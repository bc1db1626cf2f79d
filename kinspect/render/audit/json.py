"""The JSON report: the kinspect/v1 AuditReport document (docs/json.md) and its text.

A contract: within kinspect/v1 fields are only ever added. Also the next run's baseline, read
back by kinspect.wire.auditfiles.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from kinspect.audit.checks import CHECKS
from kinspect.audit.finding import Finding, Severity
from kinspect.audit.report import AuditResult, BaselineFinding
from kinspect.render import data, evidence
from kinspect.render.audit.common import RenderContext, pods, port_text
from kinspect.render.report import API_VERSION


def _finding(f: Finding, new: bool | None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "context": f.context,
        "check": f.check,
        "severity": f.severity.label,
        "namespace": f.namespace,
        "service": f.service,
        "port": port_text(f.port),
        "message": f.message,
        "pods": pods(f),
    }
    if new is not None:
        doc["new"] = new
    return doc


def _evidence(doc: dict[str, Any], f: Finding, ctx: RenderContext) -> dict[str, Any]:
    """With --evidence, the finding's `evidence` (an empty list when nothing narrower shows it)."""
    if ctx.evidence:
        doc["evidence"] = evidence.as_json(f.evidence)
    return doc


def _resolved(b: BaselineFinding) -> dict[str, str]:
    """A finding of the baseline, echoed as 0.1.0 did: its fields as strings, "" for null."""
    i = b.identity
    doc = {
        "context": i.context,
        "check": i.check,
        "severity": b.severity.label,
        "namespace": i.namespace,
        "service": i.service,
        "port": port_text(i.port) or "",
        "message": b.message,
    }
    if b.new is not None:
        doc["new"] = str(b.new)
    return doc


def document(result: AuditResult, ctx: RenderContext) -> dict[str, Any]:
    """Build the kinspect/v1 AuditReport (docs/json.md)."""
    counts = Counter(f.severity.label for f in result.findings)
    return {
        "apiVersion": API_VERSION,
        "kind": "AuditReport",
        "generatedAt": ctx.stamp,
        "summary": {s.label: counts.get(s.label, 0) for s in Severity},
        "contexts": [
            {
                "name": c.context,
                "status": "ok" if c.ok else "failed",
                "error": c.error,
                "warnings": list(c.warnings),
                "services": len(c.services),
            }
            for c in result.contexts
        ],
        "checks": [
            {"id": c.id, "severity": c.severity.label, "doc": c.doc, "popeye": list(c.popeye)}
            for c in CHECKS
        ],
        "findings": [_evidence(_finding(f, result.is_new(f)), f, ctx) for f in result.findings],
        "ignored": [{**_finding(f, None), "reason": why} for f, why in result.ignored],
        "resolved": [_resolved(b) for b in result.baseline.resolved] if result.baseline else None,
    }


def render(result: AuditResult, ctx: RenderContext) -> str:
    """The AuditReport as indented JSON text."""
    return data.to_json(document(result, ctx))
