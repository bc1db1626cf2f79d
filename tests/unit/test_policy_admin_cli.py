"""AdminNetworkPolicy tiers in `trace --from`, `policy` and `map`: in-process on snapshot files."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import msgspec

from kinspect.model.errors import ExitCode
from kinspect.model.snapshot import Snapshot
from kinspect.model.values import Namespace
from kinspect.wire import convert_policy, raw
from tests.schema import validate
from tests.unit.runner import invoke
from tests.unit.test_trace_from import _save, _world

ALLOW_SHOP = {
    "metadata": {"name": "allow-shop"},
    "spec": {
        "priority": 10,
        "subject": {"namespaces": {"matchLabels": {"kubernetes.io/metadata.name": "ns"}}},
        "ingress": [
            {
                "name": "shop-may",
                "action": "Allow",
                "from": [{"pods": {"namespaceSelector": {}, "podSelector": {
                    "matchLabels": {"app": "db"}}}}],
            },
            {
                "name": "pass-the-rest",
                "action": "Pass",
                "from": [{"namespaces": {}}],
                "ports": [{"portRange": {"start": 8000, "end": 8999}}],
            },
        ],
    },
}  # fmt: skip
BASELINE = {
    "metadata": {"name": "default"},
    "spec": {
        "subject": {"namespaces": {}},
        "ingress": [{"name": "deny-all", "action": "Deny", "from": [{"namespaces": {}}]}],
    },
}


def _admin_world(state: str = "read") -> Snapshot:
    s = _world()
    return msgspec.structs.replace(
        s,
        namespaces=(Namespace("ns", {"kubernetes.io/metadata.name": "ns"}),),
        admin_network_policies=(
            convert_policy.admin_network_policy(
                msgspec.convert(ALLOW_SHOP, raw.AdminNetworkPolicy)
            ),
        ),
        admin_network_policy_state=state,
        baseline_admin_network_policies=(
            convert_policy.baseline_admin_network_policy(
                msgspec.convert(BASELINE, raw.AdminNetworkPolicy)
            ),
        ),
        baseline_admin_network_policy_state="read",
        plugin_policy_state="absent",
    )


def test_trace_from_names_the_deciding_admin_rule(tmp_path: Path) -> None:
    path = _save(tmp_path, _admin_world())
    # ns/db-0 is refused by the NetworkPolicy web-from-shop, but the ANP Allows it first.
    r = invoke("trace", "10.96.0.10:80", "--from", "ns/db-0", "--snapshot", path)
    assert r.code == ExitCode.OK, r.stderr
    assert "allowed  ns/web-a:8080/TCP" in r.stdout
    assert (
        "ingress: allowed by AdminNetworkPolicy allow-shop ingress[0] 'shop-may' (priority 10)"
        in r.stdout
    )
    # ns/shop-0 is passed to the NetworkPolicy, which allows it.
    r = invoke("trace", "10.96.0.10:80", "--from", "ns/shop-0", "--snapshot", path)
    assert (
        "ingress: passed by AdminNetworkPolicy allow-shop ingress[1] 'pass-the-rest' "
        "(priority 10), then allowed by ns/web-from-shop ingress[0]"
    ) in r.stdout
    doc = json.loads(
        invoke(
            "trace", "10.96.0.10:80", "--from", "ns/shop-0", "-o", "json", "--snapshot", path
        ).stdout
    )
    validate(doc, "trace-report.json")
    [hop] = doc["policy"]["hops"]
    assert hop["ingress"]["passedBy"] == {
        "kind": "AdminNetworkPolicy",
        "policy": "allow-shop",
        "priority": 10,
        "direction": "ingress",
        "rule": 1,
        "name": "pass-the-rest",
        "action": "Pass",
    }
    assert hop["ingress"]["decidedBy"] is None
    assert hop["egress"] == {
        "verdict": "allowed",
        "isolatedBy": [],
        "allowedBy": [],
        "onlyFrom": [],
        "reason": None,
        "decidedBy": None,
        "passedBy": None,
        "pluginPolicies": [],
    }


def test_trace_with_unreadable_admin_policies_is_unknown(tmp_path: Path) -> None:
    path = _save(tmp_path, _admin_world("forbidden"))
    r = invoke("trace", "10.96.0.10:80", "--from", "ns/shop-0", "--snapshot", path)
    assert "unknown  ns/web-a:8080/TCP" in r.stdout
    assert "ingress: unknown: AdminNetworkPolicies could not be read" in r.stdout
    assert "allowed by" not in r.stdout


def test_old_snapshot_files_without_the_fields_load_and_say_unknown(tmp_path: Path) -> None:
    path = tmp_path / "old.json.gz"
    snap = json.loads(msgspec.json.encode(_world()))
    for key in [k for k in snap if "admin" in k.lower()]:
        del snap[key]
    doc = {"apiVersion": "kinspect/v1", "kind": "Snapshot", "snapshot": snap}
    path.write_bytes(gzip.compress(json.dumps(doc).encode()))
    r = invoke("trace", "10.96.0.10:80", "--from", "ns/shop-0", "--snapshot", str(path))
    assert r.code == ExitCode.OK, r.stderr
    assert (
        "unknown: AdminNetworkPolicies were not read (a snapshot from before kinspect read them)"
        in r.stdout
    )


def test_policy_lists_admin_rules_in_order_and_the_baseline(tmp_path: Path) -> None:
    path = _save(tmp_path, _admin_world())
    r = invoke("policy", "ns/web-a", "--snapshot", path)
    assert r.code == ExitCode.OK, r.stderr
    lines = r.stdout.splitlines()
    assert (
        "  AdminNetworkPolicy rules decide first; then isolated for ingress: only what these "
        "rules admit may reach it"
    ) in lines
    assert "  first, AdminNetworkPolicy rules in the order they apply:" in lines
    assert (
        "  Allow by AdminNetworkPolicy allow-shop ingress[0] 'shop-may' (priority 10): from "
        "pods app=db in every namespace on every port"
    ) in lines
    assert (
        "  Pass by AdminNetworkPolicy allow-shop ingress[1] 'pass-the-rest' (priority 10): from "
        "every pod in every namespace on 8000-8999/TCP"
    ) in lines
    # web-a is isolated by a NetworkPolicy: the baseline never decides, it is not listed.
    assert "baseline" not in r.stdout
    r = invoke("policy", "ns/shop-0", "--snapshot", path)
    assert "the BaselineAdminNetworkPolicy rules decide" in r.stdout
    assert (
        "  Deny by BaselineAdminNetworkPolicy default ingress[0] 'deny-all': from every pod in "
        "every namespace on every port"
    ) in r.stdout.splitlines()
    doc = json.loads(invoke("policy", "ns/shop-0", "--snapshot", path, "-o", "json").stdout)
    validate(doc, "policy-access.json")
    (a,) = doc["pods"]
    assert (a["adminPolicyState"], a["baselinePolicyState"]) == ("read", "read")
    assert [r["name"] for r in a["adminRules"]] == ["shop-may", "pass-the-rest"]
    assert [(r["kind"], r["action"]) for r in a["baselineRules"]] == [
        ("BaselineAdminNetworkPolicy", "Deny")
    ]


def test_map_marks_pods_an_admin_deny_rule_applies_to(tmp_path: Path) -> None:
    path = _save(tmp_path, _admin_world())
    doc = json.loads(invoke("map", "--snapshot", path, "-n", "ns", "-o", "json").stdout)
    validate(doc, "chain-report.json")
    assert doc["networkPolicies"] == {
        "state": "read",
        "adminState": "read",
        "ingressIsolated": [
            {
                "pod": {"namespace": "ns", "name": "web-a"},
                # The baseline is never consulted for a pod a NetworkPolicy isolates.
                "policies": ["ns/web-from-shop"],
                "admitsAll": False,
            }
        ],
        "pluginPolicyState": "absent",
        "pluginPolicies": [],
        "pluginUnknown": [],
    }
    open_world = tmp_path / "open"
    open_world.mkdir()
    no_np = msgspec.structs.replace(_admin_world(), network_policies=())
    doc = json.loads(
        invoke("map", "--snapshot", _save(open_world, no_np), "-n", "ns", "-o", "json").stdout
    )
    assert doc["networkPolicies"]["ingressIsolated"] == [
        {
            "pod": {"namespace": "ns", "name": "web-a"},
            "policies": ["BaselineAdminNetworkPolicy default"],
            "admitsAll": False,
        }
    ]
    forbidden = tmp_path / "f"
    forbidden.mkdir()
    bad = _save(forbidden, _admin_world("forbidden"))
    r = invoke("map", "--snapshot", bad, "-n", "ns", "-o", "wide")
    row = next(line for line in r.stdout.splitlines() if "web-a" in line)
    assert "isolated" not in row
    assert row.rstrip().endswith("unknown")


def test_policy_with_unreadable_admin_policies_is_unknown(tmp_path: Path) -> None:
    r = invoke("policy", "ns/shop-0", "--snapshot", _save(tmp_path, _admin_world("forbidden")))
    assert r.code == ExitCode.OK, r.stderr
    assert "  unknown: AdminNetworkPolicies could not be read" in r.stdout.splitlines()
    assert "every source may reach it" not in r.stdout


def test_trace_from_a_namespace_takes_the_admin_tiers(tmp_path: Path) -> None:
    path = _save(tmp_path, _admin_world())
    doc = json.loads(
        invoke("trace", "10.96.0.10:80", "--from", "ns", "-o", "json", "--snapshot", path).stdout
    )
    validate(doc, "trace-report.json")
    by = {h["source"]: h for h in doc["policy"]["hops"]}
    # db-0: the ANP's Allow; shop-0: passed, then the NetworkPolicy's allow; web-a: passed, and
    # the NetworkPolicy (which isolates web-a) refuses it: the baseline is never consulted.
    assert by["ns/db-0"]["ingress"]["decidedBy"]["name"] == "shop-may"
    assert by["ns/shop-0"]["ingress"]["passedBy"]["name"] == "pass-the-rest"
    assert by["ns/shop-0"]["verdict"] == "allowed"
    assert (by["ns/web-a"]["verdict"], by["ns/web-a"]["ingress"]["decidedBy"]) == ("denied", None)
