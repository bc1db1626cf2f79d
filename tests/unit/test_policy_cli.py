"""NetworkPolicy in `map`, `audit` and `policy`: in-process on snapshot files."""

from __future__ import annotations

import json
from pathlib import Path

from kinspect.errors import ExitCode
from tests.schema import validate
from tests.unit.runner import invoke
from tests.unit.test_trace_from import _save, _world


def test_map_marks_isolated_backends_and_wide_names_the_policies(tmp_path: Path) -> None:
    path = _save(tmp_path, _world())
    r = invoke("map", "--snapshot", path, "-n", "ns")
    assert r.code == ExitCode.OK, r.stderr
    row = next(line for line in r.stdout.splitlines() if "web-a" in line)
    assert row.rstrip().endswith("ready, isolated")
    wide = invoke("map", "--snapshot", path, "-n", "ns", "-o", "wide")
    row = next(line for line in wide.stdout.splitlines() if "web-a" in line)
    assert "POLICIES" in wide.stdout
    assert row.rstrip().endswith("ns/web-from-shop")


def test_map_json_lists_isolated_backends_in_the_schema(tmp_path: Path) -> None:
    path = _save(tmp_path, _world())
    doc = json.loads(invoke("map", "--snapshot", path, "-n", "ns", "-o", "json").stdout)
    validate(doc, "chain-report.json")
    assert doc["networkPolicies"] == {
        "state": "read",
        "ingressIsolated": [
            {"pod": {"namespace": "ns", "name": "web-a"}, "policies": ["ns/web-from-shop"]}
        ],
    }


def test_map_with_unreadable_policies_marks_nothing_and_says_unknown(tmp_path: Path) -> None:
    path = _save(tmp_path, _world("forbidden"))
    r = invoke("map", "--snapshot", path, "-n", "ns", "-o", "wide")
    row = next(line for line in r.stdout.splitlines() if "web-a" in line)
    assert "isolated" not in row
    assert row.rstrip().endswith("unknown")
    doc = json.loads(invoke("map", "--snapshot", path, "-n", "ns", "-o", "json").stdout)
    validate(doc, "chain-report.json")
    assert doc["networkPolicies"] == {"state": "forbidden", "ingressIsolated": []}
