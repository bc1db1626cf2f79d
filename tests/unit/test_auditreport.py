"""Report assembly: ignore rules set findings aside, a baseline marks new and resolved ones."""

from __future__ import annotations

from kinspect.audit.finding import Finding, Identity, PortKey, Severity
from kinspect.audit.report import BaselineFinding, ContextResult, IgnoreRule, combine

HTTP = PortKey("http", 80, "TCP")


def _f(service: str, port: PortKey | None = HTTP, context: str = "c") -> Finding:
    return Finding("single-ready-endpoint", Severity.WARNING, "ns", service, "m", port, (), context)


def _old(service: str, port: PortKey | None = HTTP, context: str = "c") -> BaselineFinding:
    return BaselineFinding(
        Identity(context, "single-ready-endpoint", "ns", service, port), Severity.WARNING, "old"
    )


def test_first_matching_rule_sets_a_finding_aside_with_its_reason() -> None:
    r = combine(
        [ContextResult("c", findings=(_f("a"), _f("b")))],
        [
            IgnoreRule("*", "why", service="b"),
            IgnoreRule("single-ready-endpoint", "later", service="b"),
        ],
    )
    assert r.findings == (_f("a"),)
    assert r.ignored == ((_f("b"), "why"),)


def test_identity_includes_the_port_name_not_the_message() -> None:
    now = [ContextResult("c", findings=(_f("a"), _f("b", PortKey("web", 80, "TCP"))))]
    r = combine(now, baseline=[_old("a"), _old("b")])
    assert [r.is_new(f) for f in r.findings] == [False, True]
    assert r.baseline is not None
    assert r.baseline.resolved == (_old("b"),)


def test_resolved_only_in_contexts_audited_this_time() -> None:
    now = [ContextResult("c"), ContextResult("down", error="unreachable")]
    r = combine(now, baseline=[_old("a"), _old("a", context="down"), _old("a", context="gone")])
    assert r.baseline is not None
    assert r.baseline.resolved == (_old("a"),)


def test_without_a_baseline_nothing_is_new_or_old() -> None:
    r = combine([ContextResult("c", findings=(_f("a"),))])
    assert r.baseline is None
    assert r.is_new(r.findings[0]) is None
