"""`kinspect audit` end to end on snapshot files: formats, exit codes, ignore rules, baseline.

Snapshots make the audit run with no cluster, so these exercise the CLI (in-process, through
`cli.run`) on built data.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from xml.etree import ElementTree as ET

import msgspec
import pytest

from kinspect.model.errors import ExitCode
from kinspect.model.snapshot import Snapshot
from kinspect.model.values import Namespace
from kinspect.wire import snapshotfile

from ..schema import validate
from .builders import cport, ep, group, node, pod, snap, sport, svc
from .runner import Result, invoke


def _broken() -> Snapshot:
    """web: 2 ready pods (healthy); lonely: one endpoint; ghost: selects nothing."""
    a = pod("a", "10.244.0.5", cport("app", 8080, "http"))
    b = pod("b", "10.244.1.5", cport("app", 8080, "http"), node_name="n1")
    lone = pod("l", "10.244.0.9", cport("app", 8080, "http"), labels={"app": "lonely"})
    return snap(
        nodes=(node(0), node(1)),
        services=(
            svc("web", sport(80, "http", name="http")),
            svc("lonely", sport(80, "http", name="http"), selector={"app": "lonely"}),
            svc("ghost", sport(80, "http", name="http"), selector={"app": "nobody"}),
        ),
        groups=(
            group(
                "web", [("http", 8080, "TCP")], ep("10.244.0.5", "a"), ep("10.244.1.5", "b", "n1")
            ),
            group("lonely", [("http", 8080, "TCP")], ep("10.244.0.9", "l")),
        ),
        pods=(a, b, lone),
    )


def _save(tmp: Path, s: Snapshot, name: str = "snap.json.gz") -> str:
    path = str(tmp / name)
    snapshotfile.save(path, s)
    return path


def _audit(*args: str, expect: int = 0) -> Result:
    r = invoke("audit", *args)
    assert r.code == expect, r.stderr
    return r


def test_snapshot_round_trips_through_gzip(tmp_path: Path) -> None:
    s = msgspec.structs.replace(_broken(), namespaces=(Namespace("default", {"team": "a"}),))
    assert snapshotfile.load(_save(tmp_path, s)) == s


def test_snapshot_file_written_before_namespaces_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "old.json"
    doc = {"apiVersion": "kinspect/v1", "kind": "Snapshot", "snapshot": {"context": "old"}}
    path.write_text(json.dumps(doc))
    assert snapshotfile.load(str(path)) == Snapshot("old")


def test_json_report_validates_and_names_service_port_and_pods(tmp_path: Path) -> None:
    doc = json.loads(_audit("--snapshot", _save(tmp_path, _broken()), "-o", "json").stdout)
    validate(doc, "audit-report.json")
    by = {(f["service"], f["check"]): f for f in doc["findings"]}
    # Once per service, not per port; JSON keeps the finding that text rolls up.
    assert by[("lonely", "single-ready-endpoint")]["port"] is None
    assert by[("lonely", "single-ready-endpoint")]["pods"] == ["ns/l"]
    assert by[("ghost", "selector-matches-no-pods")]["severity"] == "error"
    assert not [f for f in doc["findings"] if f["service"] == "web" and f["severity"] != "info"]


@pytest.mark.parametrize(
    ("level", "code"),
    # error: the service whose selector matches nothing is an outage (issue 11).
    [
        ("error", ExitCode.FINDINGS),
        ("warning", ExitCode.FINDINGS),
        ("info", ExitCode.FINDINGS),
        ("never", 0),
    ],
)
def test_fail_on(tmp_path: Path, level: str, code: int) -> None:
    _audit("--snapshot", _save(tmp_path, _broken()), "--fail-on", level, expect=code)


def test_ignore_ids_and_ignore_file_with_reasons(tmp_path: Path) -> None:
    path = _save(tmp_path, _broken())
    doc = json.loads(
        _audit(
            "--snapshot",
            path,
            "-o",
            "json",
            "--ignore",
            "single-ready-endpoint,selector-matches-no-pods",
        ).stdout
    )
    assert {f["check"] for f in doc["findings"]}.isdisjoint(
        {"single-ready-endpoint", "selector-matches-no-pods"}
    )
    rules = tmp_path / "ignore.yaml"
    rules.write_text(
        "- check: selector-matches-no-pods\n  service: ghost\n"
        "  reason: scaled to zero on purpose until Q3\n"
    )
    doc = json.loads(_audit("--snapshot", path, "-o", "json", "--ignore-file", str(rules)).stdout)
    assert [(i["service"], i["reason"]) for i in doc["ignored"]] == [
        ("ghost", "scaled to zero on purpose until Q3")
    ]
    assert "selector-matches-no-pods" not in {f["check"] for f in doc["findings"]}
    rules.write_text("- check: selector-matches-no-pods\n")
    proc = _audit("--snapshot", path, "--ignore-file", str(rules), expect=ExitCode.USAGE)
    assert "needs a reason" in proc.stderr


def test_an_ignore_entry_with_a_misspelt_key_is_a_usage_error_naming_it(tmp_path: Path) -> None:
    # issue 24 D11: `namepsace` was dropped, leaving a rule for every namespace and service:
    # the CI gate `--fail-on warning` passed with every finding ignored.
    path = _save(tmp_path, _broken())
    rules = tmp_path / "ignore.yaml"
    rules.write_text("- check: '*'\n  namepsace: playground\n  reason: the playground is noisy\n")
    proc = _audit(
        "--snapshot",
        path,
        "--ignore-file",
        str(rules),
        "--fail-on",
        "warning",
        expect=ExitCode.USAGE,
    )
    assert proc.stderr == (
        f"kinspect: error: ignore file {rules}, entry 1: unknown key 'namepsace' "
        "(did you mean namespace?) (try: each entry: {check: ID, reason: WHY, namespace?: NS, "
        "service?: NAME, context?: CTX})\n"
    )


def test_unknown_ignore_id_is_a_usage_error(tmp_path: Path) -> None:
    _audit(
        "--snapshot", _save(tmp_path, _broken()), "--ignore", "no-such-check", expect=ExitCode.USAGE
    )


def test_baseline_reports_new_and_resolved(tmp_path: Path) -> None:
    before = _broken()
    base = tmp_path / "base.json"
    base.write_text(_audit("--snapshot", _save(tmp_path, before, "a.json"), "-o", "json").stdout)
    # ghost gets a pod (its finding resolves); a new broken service appears.
    after = msgspec.structs.replace(
        before,
        services=(
            *before.services,
            svc("new", sport(80, "http", name="http"), selector={"app": "none"}),
        ),
        pods=(
            *before.pods,
            pod("g", "10.244.0.44", cport("app", 8080, "http"), labels={"app": "nobody"}),
        ),
    )
    doc = json.loads(
        _audit(
            "--snapshot", _save(tmp_path, after, "b.json"), "-o", "json", "--baseline", str(base)
        ).stdout
    )
    new = {(f["service"], f["check"]) for f in doc["findings"] if f["new"]}
    assert ("new", "selector-matches-no-pods") in new
    assert ("lonely", "single-ready-endpoint") not in new
    assert ("ghost", "selector-matches-no-pods") in {
        (r["service"], r["check"]) for r in doc["resolved"]
    }


def test_two_snapshots_make_one_report_in_every_format(tmp_path: Path) -> None:
    a = _save(tmp_path, _broken(), "one.json")
    b = _save(tmp_path, msgspec.structs.replace(_broken(), context="other"), "two.json.gz")
    both = ("--snapshot", a, "--snapshot", b)
    doc = json.loads(_audit(*both, "-o", "json").stdout)
    assert [c["name"] for c in doc["contexts"]] == ["test", "other"]
    assert {f["context"] for f in doc["findings"]} == {"test", "other"}
    text = _audit(*both).stdout
    assert "context test:" in text
    assert "ERROR" in text
    assert "2 service(s) run a single ready replica" in text
    md = _audit(*both, "-o", "markdown").stdout
    assert md.startswith("# kinspect audit")
    assert "| test · ns | ghost | `selector-matches-no-pods` |" in md
    assert "\\[single-ready-endpoint\\]: other · ns/lonely, test · ns/lonely" in md
    page = tmp_path / "r.html"
    _audit(*both, "--output-file", str(page))  # format from the extension
    html = page.read_text()
    assert html.startswith("<!doctype html>")
    assert not re.search(r"(src|href)=['\"]?https?:", html)
    assert "single-ready-endpoint" in html
    junit = ET.fromstring(_audit(*both, "-o", "junit").stdout)
    suites = junit.findall("testsuite")
    assert [s.get("name") for s in suites] == ["test", "other"]
    cases = {c.get("name"): c for c in suites[0].findall("testcase")}
    assert set(cases) == {"web", "lonely", "ghost"}
    # JUnit fails at warning by default: one replica (info) is no failure, an outage is.
    assert cases["ghost"].find("failure") is not None
    assert cases["lonely"].find("failure") is None
    assert cases["web"].find("failure") is None
    prom = _audit(*both, "-o", "prometheus").stdout
    sample = re.compile(r'^[a-z_]+(\{([a-z]+="[^"]*",?)+\})? [0-9.]+$')
    for line in prom.splitlines():
        assert line.startswith("#") or sample.match(line), line
    assert (
        'kinspect_audit_findings{context="other",check="single-ready-endpoint",severity="info"} 1'
    ) in prom


def test_bad_snapshot_file_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text("{}")
    proc = _audit("--snapshot", str(bad), expect=ExitCode.USAGE)
    assert "not a kinspect snapshot" in proc.stderr


def test_map_trace_ips_work_from_a_snapshot(tmp_path: Path) -> None:
    path = _save(tmp_path, _broken())
    out = invoke("map", "-A", "--snapshot", path, "-o", "json").stdout
    assert {s["name"] for s in json.loads(out)["services"]} == {"web", "lonely", "ghost"}
    out = invoke("trace", "10.244.0.9:8080", "--snapshot", path).stdout
    assert "pod ns/l" in out
