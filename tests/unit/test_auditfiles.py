"""Ignore files and baselines: typed decoding, and one-line usage errors for bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from kinspect.audit.finding import Identity, PortKey, Severity
from kinspect.audit.report import BaselineFinding, IgnoreRule
from kinspect.model.errors import ExitCode, UsageError
from kinspect.wire.auditfiles import read_baseline, read_ignore_file

GOLDEN = Path(__file__).parent / "golden"


def _ignore(tmp_path: Path, text: str) -> list[IgnoreRule]:
    path = tmp_path / "ignore.yaml"
    path.write_text(text)
    return read_ignore_file(str(path))


def test_ignore_file_entries_become_rules(tmp_path: Path) -> None:
    rules = _ignore(
        tmp_path,
        "- check: '*'\n  reason: x\n  namespace: a\n  service: b\n  context: c\n"
        "- check: single-ready-endpoint\n  reason: one replica\n",
    )
    assert rules == [
        IgnoreRule("*", "x", "a", "b", "c"),
        IgnoreRule("single-ready-endpoint", "one replica"),
    ]


def test_an_empty_ignore_file_has_no_rules(tmp_path: Path) -> None:
    assert _ignore(tmp_path, "") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("check: x\n", "is not a list"),
        ("- check: [\n", ": ParserError"),
        ("- hello\n", "entry 1: needs a check and a reason"),
        ("- reason: x\n", "entry 1: needs a check and a reason"),
        ("- check: single-ready-endpoint\n", "entry 1: needs a reason"),
        ("- check: single-ready-endpoint\n  reason: ' '\n", "entry 1: needs a reason"),
        (
            "- check: '*'\n  reason: x\n- check: nope\n  reason: y\n",
            "entry 2: unknown check 'nope'",
        ),
        # issue 24 D11: a misspelt key would leave a rule for everything: refused, named.
        (
            "- check: '*'\n  reason: x\n  servcie: a\n",
            "entry 1: unknown key 'servcie' (did you mean service?)",
        ),
        ("- check: '*'\n  reason: x\n  1: a\n", "entry 1: unknown key 1"),
        # A number would never equal a namespace name: refused, not silently inert.
        (
            "- check: single-ready-endpoint\n  reason: x\n  namespace: 2024\n",
            "entry 1: Expected `str | null`, got `int` - at `$.namespace`",
        ),
    ],
)
def test_bad_ignore_files_are_usage_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(UsageError) as e:
        _ignore(tmp_path, text)
    assert message in e.value.message
    assert str(tmp_path / "ignore.yaml") in e.value.message
    assert e.value.hint.startswith("each entry: {check: ID, reason: WHY")
    assert e.value.exit_code == ExitCode.USAGE


def test_a_missing_ignore_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"cannot read ignore file .*: No such file or directory"):
        read_ignore_file(str(tmp_path / "nope.yaml"))


def test_a_baseline_written_by_0_1_0_loads_with_structured_ports() -> None:
    found = read_baseline(str(GOLDEN / "baseline-0.1.0.json"))
    assert found[0] == BaselineFinding(
        Identity("broken", "no-ready-endpoints", "default", "x", PortKey("http", 80, "TCP")),
        Severity.ERROR,
        "no ready endpoint (0 not ready): traffic to this port is rejected",
        False,
    )
    ports = {(b.identity.service, b.identity.port) for b in found}
    assert ("local", PortKey(None, 30080, "TCP")) in ports
    assert ("ghost", None) in ports


@pytest.mark.parametrize(
    ("port", "key"),
    [
        ('"dns-tcp 53/TCP"', PortKey("dns-tcp", 53, "TCP")),
        ('"53/UDP"', PortKey(None, 53, "UDP")),
        ("null", None),
        ('""', None),
    ],
)
def test_baseline_ports(tmp_path: Path, port: str, key: PortKey | None) -> None:
    path = tmp_path / "b.json"
    path.write_text(
        '{"kind": "AuditReport", "findings": [{"context": "c", "check": "x", "severity": "info",'
        f' "namespace": "n", "service": "s", "port": {port}, "message": "m", "pods": []}}]}}'
    )
    (b,) = read_baseline(str(path))
    assert b.identity.port == key
    assert b.new is None


@pytest.mark.parametrize(
    "text",
    [
        "{",
        "[]",
        '{"findings": []}',
        '{"kind": "ChainReport", "findings": []}',
        '{"kind": "AuditReport", "findings": [5]}',
        '{"kind": "AuditReport", "findings": [{"check": "c", "namespace": "a", "service": "b"}]}',
        '{"kind": "AuditReport", "findings": [{"context": "c", "check": "x", "severity": "info",'
        ' "namespace": "n", "service": "s", "port": "http 80", "message": "m"}]}',
    ],
)
def test_what_is_not_a_report(tmp_path: Path, text: str) -> None:
    path = tmp_path / "b.json"
    path.write_text(text)
    with pytest.raises(UsageError) as e:
        read_baseline(str(path))
    assert e.value.message == f"{path} is not a kinspect audit report"
    assert e.value.hint == "pass a report written by: kinspect audit -o json"


def test_a_missing_baseline_says_so(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as e:
        read_baseline(str(tmp_path / "old.json"))
    assert (
        e.value.message
        == f"cannot read baseline {tmp_path / 'old.json'}: No such file or directory"
    )
