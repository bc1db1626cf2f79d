"""`kinspect snapshot save` and `kinspect diff`: the snapshot file written, and two compared.

A diff's sides are snapshot files, live, or audit reports, told apart by the document's kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import assert_never

from kinspect.audit import report as auditreport
from kinspect.commands.session import (
    Session,
    Target,
    Where,
    connect,
    emit,
    max_snapshot_bytes,
    namespace_of,
    read,
    warnings,
)
from kinspect.diff import chaindiff
from kinspect.model.errors import ExitCode, UsageError
from kinspect.model.snapshot import Snapshot
from kinspect.render import report
from kinspect.render.safe import plain
from kinspect.wire import auditfiles, cluster, lists, snapshotfile


class DiffFormat(StrEnum):
    text = "text"
    json = "json"
    yaml = "yaml"
    markdown = "markdown"


def snapshot_save(s: Session, t: Target, w: Where, path: str) -> ExitCode:
    """Write nodes, services, endpoint slices, endpoints and pods (never secrets) to PATH."""
    conn = connect(s, t)
    ns = namespace_of(w, True, conn.default_namespace)
    with s.spinner(f"reading {conn.context} ({conn.server})…"):
        snap = cluster.snapshot(conn, lists.Scope(ns), with_legacy_endpoints=True)
    warnings(s, snap)
    snapshotfile.save(path, snap)
    s.err.print(
        plain(
            f"saved {len(snap.services)} services, {len(snap.pods)} pods, "
            f"{len(snap.nodes)} nodes of {snap.context} to {path}"
        ),
        soft_wrap=True,  # one line, as long as the path is
    )
    return ExitCode.OK


LIVE = "live"
DIFF_HINT = (
    "each side is a file of kinspect snapshot save, a report of kinspect audit -o json, or live"
)
MIXED_HINT = (
    "compare two snapshots (or a snapshot and live), or two audit reports; "
    "kinspect audit --snapshot FILE -o json writes a snapshot's report"
)


@dataclass(frozen=True)
class _DiffInput:
    """One side of a diff as read: a snapshot (a file's, or live) or an audit report's findings."""

    side: chaindiff.Side
    snapshot: Snapshot | None = None
    findings: list[auditreport.BaselineFinding] | None = None


def _diff_file(path: str, max_bytes: int) -> _DiffInput:
    """A snapshot file or an AuditReport, told apart by the document's kind (gzip or not)."""
    data = snapshotfile.read_bytes(path, max_bytes, "file")
    api, kind = snapshotfile.document_kind(data, path)
    if kind == "Snapshot":
        snap = snapshotfile.decode(data, path)
        return _DiffInput(chaindiff.Side("snapshot", path, snap.context), snapshot=snap)
    if kind == "AuditReport" and api == report.API_VERSION:
        findings = auditfiles.decode_report(data, path, DIFF_HINT)
        contexts = ", ".join(auditfiles.report_contexts(data))
        return _DiffInput(chaindiff.Side("audit", path, contexts), findings=findings)
    what = f"a {kind} of {api}" if kind else "not a kinspect document"
    raise UsageError(f"{path} is {what}, not a snapshot or an audit report", DIFF_HINT)


def diff(s: Session, t: Target, w: Where, fmt: DiffFormat, old: str, new: str) -> ExitCode:
    """What changed in the traffic chain (or in the audit's findings) from OLD to NEW.

    OK when nothing did, DIFFERENT (10) when something did: 1 is kinspect's bug code.
    Snapshot against snapshot or live, audit report against audit report. An audit report
    against a snapshot is refused: the report carries its run's choices (ignore rules,
    --ignore, contexts), which the snapshot's audit would not share, so set-aside findings
    would show as new.
    """
    if old == LIVE and new == LIVE:
        raise UsageError("both sides are live", "save one first: kinspect snapshot save FILE")
    max_bytes = max_snapshot_bytes(s)
    # Both files are read before the cluster: a bad file never waits for a connection.
    given = [None if p == LIVE else _diff_file(p, max_bytes) for p in (old, new)]
    audits = sum(1 for x in given if x is not None and x.findings is not None)
    if audits == 1:
        other = "live" if LIVE in (old, new) else "a snapshot"
        raise UsageError(f"cannot compare an audit report with {other}", MIXED_HINT)
    ns = namespace_of(w, True, "default")
    if audits == 2:
        a, b = (x for x in given if x is not None)
        changes = chaindiff.diff_findings(a.findings or [], b.findings or [], ns)
        sides = (a.side, b.side)
    else:
        snaps: list[Snapshot] = []
        side_list: list[chaindiff.Side] = []
        for x in given:
            if x is None or x.snapshot is None:  # live
                snap, _ = read(s, t, Where(w.namespace, w.all_namespaces), default_all=True)
                snaps.append(snap)
                side_list.append(chaindiff.Side("live", None, snap.context))
            else:
                snaps.append(x.snapshot.narrow(ns))
                side_list.append(x.side)
        for side, snap in zip(side_list, snaps, strict=True):
            for warning in snap.warnings:
                s.warn(f"{side.path or LIVE}: {warning}")
        changes = chaindiff.diff_snapshots(snaps[0], snaps[1])
        sides = (side_list[0], side_list[1])
    result = chaindiff.ChainDiff(sides[0], sides[1], ns, tuple(changes))
    from kinspect.render import diff as render_diff

    match fmt:
        case DiffFormat.text | DiffFormat.json | DiffFormat.yaml:
            doc = render_diff.document(result)
            emit(s, fmt.value, doc, lambda: render_diff.text(result))
        case DiffFormat.markdown:
            s.stdout.write(render_diff.markdown(result))
        case _:
            assert_never(fmt)
    return ExitCode.DIFFERENT if result.different else ExitCode.OK
