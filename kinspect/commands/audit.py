"""`kinspect audit`: the checks run on each target (contexts, snapshot files), then one report.

Several targets are read at once; their findings are combined with the ignore rules and the
baseline before the report is written in its format.
"""

from __future__ import annotations

import datetime
import functools
import io
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from kinspect.audit import checks as audit
from kinspect.audit import evidence as audit_evidence
from kinspect.audit import finding as audit_finding
from kinspect.audit import report as auditreport
from kinspect.commands.session import (
    Session,
    Target,
    Where,
    connect,
    max_snapshot_bytes,
    namespace_of,
    svg,
)
from kinspect.edge import entry
from kinspect.model.errors import ExitCode, KinspectError, UsageError
from kinspect.model.snapshot import Snapshot
from kinspect.path import chain
from kinspect.path.evidence import Evidencer
from kinspect.render import safe
from kinspect.render.audit import AuditFormat, Chart, RenderContext
from kinspect.render.audit import render as render_audit
from kinspect.wire import auditfiles, cluster, connection, files, lists, snapshotfile, transport


class Level(StrEnum):
    """audit --fail-on."""

    info = "info"
    warning = "warning"
    error = "error"
    never = "never"


# --output-file's extension picks the format when -o is absent.
EXTENSIONS = {
    ".json": AuditFormat.json,
    ".md": AuditFormat.markdown,
    ".html": AuditFormat.html,
    ".xml": AuditFormat.junit,
    ".prom": AuditFormat.prometheus,
}


@dataclass(frozen=True)
class AuditOptions:
    fmt: AuditFormat | None = None  # None: text, or from the output file's extension
    output_file: str | None = None
    fail_on: audit_finding.Severity | None = None
    ignore: frozenset[str] = frozenset()
    ignore_file: str | None = None
    baseline: str | None = None
    contexts: tuple[str, ...] = ()
    all_contexts: bool = False
    snapshots: tuple[str, ...] = ()
    evidence: bool = False  # --evidence: each finding's fields and kubectl commands


# The HTML report draws at most this many services' chains (one Graphviz run each).
MAX_CHARTS = 50


@dataclass
class _Audited:
    result: auditreport.ContextResult
    charts: dict[tuple[str, str, str], Chart] = field(default_factory=dict)


def _audit_one(
    load: Callable[[], Snapshot],
    name: str,
    ignore: frozenset[str],
    draw: AuditFormat,
    evidence: bool = False,
) -> _Audited:
    try:
        snap = load()
    except KinspectError as e:
        return _Audited(auditreport.ContextResult(name, error=e.message))
    idx = chain.Index.of(snap)
    chains = chain.build(snap, idx)
    findings = audit.run(snap, chains, idx, ignore)
    ns = snap.read_namespace
    if ns is not None:
        # Objects of other namespaces were read only for answers in this one (issue 22).
        findings = [f for f in findings if f.namespace in (ns, "")]
    if evidence:
        findings = audit_evidence.attach(findings, chains, Evidencer.over(idx))
    done = _Audited(
        auditreport.ContextResult(
            snap.context,
            None,
            snap.warnings,
            tuple(f"{x.namespace}/{x.name}" for x in snap.services if ns in (None, x.namespace)),
            tuple(findings),
        )
    )
    if draw in (AuditFormat.html, AuditFormat.markdown):
        eps = entry.entrypoints(idx)
        done.charts = _charts(snap.context, chains, findings, eps, svg=draw is AuditFormat.html)
    return done


def _charts(
    context: str,
    chains: list[chain.ServiceChain],
    findings: list[audit_finding.Finding],
    eps: list[entry.Entrypoint],
    svg: bool,
) -> dict[tuple[str, str, str], Chart]:
    """The chain of each service with an error, as Mermaid and (with Graphviz) SVG.

    Each starts where traffic starts: the hosts and paths landing on it, from their controller.
    """
    from kinspect.render import dot, mermaid

    by_name = {(c.service.namespace, c.service.name): c for c in chains}
    broken = dict.fromkeys(
        (f.namespace, f.service) for f in findings if f.severity is audit_finding.Severity.ERROR
    )
    draw_svg = svg and shutil.which("dot") is not None
    out = {}
    for key in list(broken)[:MAX_CHARTS]:
        c = by_name.get(key)
        if c is None:
            continue
        mine = [
            e for e in eps if e.service is not None and (e.service.namespace, e.service.name) == key
        ]
        picture = _svg(dot.render([c], mine)) if draw_svg else None
        out[(context, *key)] = Chart(mermaid.render([c], mine), picture)
    return out


def _svg(source: str) -> str | None:
    try:
        return svg(source)
    except UsageError:
        return None  # a report without the picture beats no report


def _load_narrowed(path: str, namespace: str | None, max_bytes: int) -> Snapshot:
    return snapshotfile.load(path, max_bytes).narrow(namespace)


def _read_for_audit(s: Session, t: Target, w: Where) -> Snapshot:
    conn = connect(s, t)
    ns = namespace_of(w, True, conn.default_namespace)
    return cluster.snapshot(
        conn, lists.Scope(ns), with_legacy_endpoints=True, narrow_when_forbidden=True
    )


def audit_(s: Session, t: Target, w: Where, o: AuditOptions) -> ExitCode:
    """Find what breaks the chain: findings by severity, for people and for schedulers."""
    ext = os.path.splitext(o.output_file or "")[1]
    fmt = o.fmt or EXTENSIONS.get(ext, AuditFormat.text)
    unknown = o.ignore - {c.id for c in audit.CHECKS}
    if unknown:
        raise UsageError(
            f"unknown check id(s) in --ignore: {', '.join(sorted(unknown))}",
            "see the ids in docs/audit.md",
        )
    rules = auditfiles.read_ignore_file(o.ignore_file) if o.ignore_file else []
    base = auditfiles.read_baseline(o.baseline, max_snapshot_bytes(s)) if o.baseline else None
    loaders: list[tuple[str, Callable[[], Snapshot]]] = []
    max_bytes = max_snapshot_bytes(s) if o.snapshots else snapshotfile.MAX_BYTES
    for path in o.snapshots:
        ns = namespace_of(w, True, "default")
        loaders.append((path, functools.partial(_load_narrowed, path, ns, max_bytes)))
    if not o.snapshots or o.contexts or o.all_contexts:
        kc = t.kubeconfig or s.environ.get("KUBECONFIG") or None
        names = list(o.contexts)
        if o.all_contexts:
            names = list(connection.contexts(kc)[0])
        targets: list[str | None] = [*names] or [None]
        for name in targets:
            one = Target(t.kubeconfig, name, t.request_timeout)
            read_one = functools.partial(_read_for_audit, s, one, w)
            loaders.append((name or "(current context)", read_one))
    if len(loaders) == 1:
        # One target: its failure is the command's failure, with its own exit code.
        label, load = loaders[0]
        with s.spinner(f"auditing {label}…"):
            snap = load()
        audited = [_audit_one(lambda: snap, label, o.ignore, fmt, o.evidence)]
    else:
        with (
            s.spinner(f"auditing {len(loaders)} targets…"),
            transport.threads(min(4, len(loaders))) as pool,  # Ctrl-C never waits for it
        ):
            audited = list(
                pool.map(lambda nl: _audit_one(nl[1], nl[0], o.ignore, fmt, o.evidence), loaders)
            )
    results = [a.result for a in audited]
    charts = {k: v for a in audited for k, v in a.charts.items()}
    for r in results:
        for warning in r.warnings:
            s.warn(f"{r.context}: {warning}")
        if not r.ok:
            s.warn(f"{r.context}: {r.error}", "failed:", "red")
    result = auditreport.combine(results, rules, base)
    # Without --fail-on, JUnit still marks findings at warning and above as failures.
    now = datetime.datetime.now(datetime.UTC)
    ctx = RenderContext(
        now, o.fail_on or audit_finding.Severity.WARNING, charts, evidence=o.evidence
    )
    out = render_audit(fmt, result, ctx)
    text: str | None = None
    if isinstance(out, str):
        text = out
    elif o.output_file:
        console = safe.console(io.StringIO(), width=120, record=True)
        console.print(out)
        text = console.export_text()
    else:
        s.console().print(out)
    if text is not None:
        if o.output_file:
            files.write_atomic(o.output_file, text.encode())
        else:
            s.stdout.write(text)
    worst = result.worst()
    if o.fail_on is not None and worst is not None and worst >= o.fail_on:
        return ExitCode.FINDINGS
    if any(not r.ok for r in results):
        return ExitCode.PARTIAL
    return ExitCode.OK
