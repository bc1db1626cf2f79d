"""Report assembly: per-context audit results merged, ignore rules applied, a baseline diffed.

Pure. The ignore rules and the previous report's findings arrive typed (wire.auditfiles reads
them from their files); findings are matched across runs by `Finding.identity` alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kinspect.audit.finding import Finding, Identity, Severity


@dataclass(frozen=True, slots=True)
class IgnoreRule:
    """An entry of an ignore file: which findings to set aside, and why (required)."""

    check: str  # a check id, or "*"
    reason: str
    namespace: str | None = None  # None: any
    service: str | None = None
    context: str | None = None

    def matches(self, f: Finding) -> bool:
        return (
            self.check in (f.check, "*")
            and self.namespace in (None, f.namespace)
            and self.service in (None, f.service)
            and self.context in (None, f.context)
        )


@dataclass(frozen=True, slots=True)
class ContextResult:
    """One context's audit: its findings, or why it could not be audited."""

    context: str
    error: str | None = None  # set when the context failed (unreachable, forbidden ...)
    warnings: tuple[str, ...] = ()
    services: tuple[str, ...] = ()  # "namespace/name" of every service audited
    findings: tuple[Finding, ...] = ()

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class BaselineFinding:
    """A finding of a previous report: its identity, and what `resolved` echoes of it."""

    identity: Identity
    severity: Severity
    message: str
    new: bool | None = None  # its own mark, when that report had a baseline too


@dataclass(frozen=True, slots=True)
class Baseline:
    """What changed since a previous report: the identities new now, and the findings gone."""

    new: frozenset[Identity]
    resolved: tuple[BaselineFinding, ...]


@dataclass(frozen=True, slots=True)
class AuditResult:
    contexts: tuple[ContextResult, ...]
    findings: tuple[Finding, ...]  # across contexts, ignored ones removed
    ignored: tuple[tuple[Finding, str], ...] = ()  # (finding, reason)
    baseline: Baseline | None = None

    def worst(self) -> Severity | None:
        return max((f.severity for f in self.findings), default=None)

    def is_new(self, f: Finding) -> bool | None:
        """Whether the baseline lacked `f`; None without a baseline."""
        return None if self.baseline is None else f.identity in self.baseline.new


def combine(
    results: Sequence[ContextResult],
    rules: Sequence[IgnoreRule] = (),
    baseline: Sequence[BaselineFinding] | None = None,
) -> AuditResult:
    """Merge per-context results, set ignored findings aside, and diff against a baseline.

    A baseline finding is resolved when no finding kept now has its identity (an ignored one
    counts as gone) and its context was audited successfully this time.
    """
    kept: list[Finding] = []
    ignored: list[tuple[Finding, str]] = []
    for r in results:
        for f in r.findings:
            rule = next((x for x in rules if x.matches(f)), None)
            if rule:
                ignored.append((f, rule.reason))
            else:
                kept.append(f)
    base = None
    if baseline is not None:
        old = {b.identity for b in baseline}
        now = {f.identity for f in kept}
        audited = {r.context for r in results if r.ok}
        resolved = tuple(
            b for b in baseline if b.identity not in now and b.identity.context in audited
        )
        base = Baseline(frozenset(now - old), resolved)
    return AuditResult(tuple(results), tuple(kept), tuple(ignored), base)
