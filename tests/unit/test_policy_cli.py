"""NetworkPolicy in `map`, `audit` and `policy`: in-process on snapshot files."""

from __future__ import annotations

import json
from pathlib import Path

from kinspect.model.errors import ExitCode
from tests.schema import validate
from tests.unit.runner import invoke, one_line_error
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


def test_a_policy_that_admits_everything_is_not_called_isolation(tmp_path: Path) -> None:
    # Issue 23, item 5: argocd-server's policy admits all (`ingress: [{}]`), yet map said
    # "isolated"; and -o tree showed no policy marks at all.
    import msgspec

    from kinspect.model.labels import LabelSelector
    from kinspect.model.policy import NetworkPolicy, PolicyRule

    from .test_trace_from import WEB_FROM_SHOP

    open_all = NetworkPolicy("ns", "open", LabelSelector({"app": "web"}), ("Ingress",),
                             ingress=(PolicyRule(),))  # fmt: skip
    world = msgspec.structs.replace(_world(), network_policies=(open_all,))
    path = _save(tmp_path, world)
    row = next(
        line
        for line in invoke("map", "--snapshot", path, "-n", "ns").stdout.splitlines()
        if "web-a" in line
    )
    assert row.rstrip().endswith("ready, policy admits all")
    doc = json.loads(invoke("map", "--snapshot", path, "-n", "ns", "-o", "json").stdout)
    validate(doc, "chain-report.json")
    assert doc["networkPolicies"]["ingressIsolated"] == [
        {"pod": {"namespace": "ns", "name": "web-a"}, "policies": ["ns/open"], "admitsAll": True}
    ]
    tree = invoke("map", "--snapshot", path, "-n", "ns", "-o", "tree").stdout
    assert "ingress: policy ns/open admits every source on every port" in tree
    # Both: the open rule admits all, whatever the other policy restricts (rules add up).
    both = msgspec.structs.replace(world, network_policies=(open_all, WEB_FROM_SHOP))
    path = _save(tmp_path, both)
    tree = invoke("map", "--snapshot", path, "-n", "ns", "-o", "tree").stdout
    assert "ingress: policy ns/open admits every source on every port" in tree
    # Restricting only: isolated, named in the tree too.
    path = _save(tmp_path, _world())
    tree = invoke("map", "--snapshot", path, "-n", "ns", "-o", "tree").stdout
    assert "ingress: isolated by ns/web-from-shop: only what its rules admit" in tree


def test_map_json_lists_isolated_backends_in_the_schema(tmp_path: Path) -> None:
    path = _save(tmp_path, _world())
    doc = json.loads(invoke("map", "--snapshot", path, "-n", "ns", "-o", "json").stdout)
    validate(doc, "chain-report.json")
    assert doc["networkPolicies"] == {
        "state": "read",
        "adminState": "absent",
        "ingressIsolated": [
            {
                "pod": {"namespace": "ns", "name": "web-a"},
                "policies": ["ns/web-from-shop"],
                "admitsAll": False,
            }
        ],
        "pluginPolicyState": "absent",
        "pluginPolicies": [],
        "pluginUnknown": [],
    }


def test_map_with_unreadable_policies_marks_nothing_and_says_unknown(tmp_path: Path) -> None:
    path = _save(tmp_path, _world("forbidden"))
    r = invoke("map", "--snapshot", path, "-n", "ns", "-o", "wide")
    row = next(line for line in r.stdout.splitlines() if "web-a" in line)
    assert "isolated" not in row
    assert row.rstrip().endswith("unknown")
    doc = json.loads(invoke("map", "--snapshot", path, "-n", "ns", "-o", "json").stdout)
    validate(doc, "chain-report.json")
    assert doc["networkPolicies"] == {
        "state": "forbidden",
        "adminState": "absent",
        "ingressIsolated": [],
        "pluginPolicyState": "absent",
        "pluginPolicies": [],
        "pluginUnknown": [],
    }


def test_policy_on_a_service_port_lists_who_may_reach_each_backend(tmp_path: Path) -> None:
    path = _save(tmp_path, _world())
    r = invoke("policy", "ns/web:80", "--snapshot", path)
    assert r.code == ExitCode.OK, r.stderr
    assert "ns/web-a:8080/TCP  (backend of service ns/web port 80)" in r.stdout
    assert (
        "allowed by ns/web-from-shop ingress[0]: from pods app=shop in namespace ns on http/TCP"
        in r.stdout
    )
    doc = json.loads(invoke("policy", "ns/web", "--snapshot", path, "-o", "json").stdout)
    validate(doc, "policy-access.json")
    (a,) = doc["pods"]
    assert a["ingressPolicies"] == ["ns/web-from-shop"]
    assert a["admittedBy"] == [
        {
            "policy": "ns/web-from-shop",
            "rule": 0,
            "from": ["pods app=shop in namespace ns"],
            "ports": ["http/TCP"],
        }
    ]


def test_policy_on_a_pod_without_policies_and_with_unreadable_ones(tmp_path: Path) -> None:
    r = invoke("policy", "ns/shop-0", "--snapshot", _save(tmp_path, _world()))
    assert "not isolated for ingress: every source may reach it" in r.stdout
    bad = tmp_path / "bad"
    bad.mkdir()
    r = invoke("policy", "ns/web-a", "--snapshot", _save(bad, _world("forbidden")))
    assert "unknown: NetworkPolicies could not be read" in r.stdout
    assert "allowed by" not in r.stdout


def test_policy_matrix_text_and_json(tmp_path: Path) -> None:
    path = _save(tmp_path, _world())
    doc = json.loads(
        invoke("policy", "--matrix", "-n", "ns", "--snapshot", path, "-o", "json").stdout
    )
    validate(doc, "policy-matrix.json")
    cells = {(c["from"], c["to"]): c["verdict"] for c in doc["cells"]}
    assert cells[("shop-0", "web-a")] == "allowed"
    assert cells[("db-0", "web-a")] == "denied"
    assert cells[("db-0", "shop-0")] == "none"  # shop-0 declares no port
    r = invoke("policy", "--matrix", "-n", "ns", "--port", "8080", "--snapshot", path)
    assert r.code == ExitCode.OK, r.stderr
    rows = {line.split()[0]: line.split()[1:] for line in r.stdout.splitlines()[2:5]}
    assert rows["shop-0"] == ["✓", "✓", "✓"]
    assert rows["db-0"] == ["✗", "✓", "✓"]  # columns: web-a, shop-0, db-0


def test_policy_usage_errors(tmp_path: Path) -> None:
    path = _save(tmp_path, _world())
    one_line_error(invoke("policy", "--snapshot", path), ExitCode.USAGE, "give either")
    one_line_error(invoke("policy", "ns", "--snapshot", path), ExitCode.USAGE, "bad target")
    one_line_error(
        invoke("policy", "--matrix", "--port", "0", "--snapshot", path), ExitCode.USAGE, "--port"
    )
    one_line_error(invoke("policy", "ns/nope", "--snapshot", path), ExitCode.NOT_FOUND, "no pod")


def test_no_policy_mark_where_a_plugin_policy_may_apply() -> None:
    # Review of issue 23: the table said "policy admits all" (JSON admitsAll true) where a
    # CiliumNetworkPolicy may apply, which the tree and -o wide already called unknown.
    import msgspec
    from rich.console import Console

    from kinspect.model.policy import NetworkPolicy, PluginKindRead, PluginPolicy, PolicyRule
    from kinspect.path.chain import Index, service_chain
    from kinspect.policy.netpol import backend_isolation
    from kinspect.render.report import isolation_json
    from kinspect.render.table import map_table

    from .builders import cport, ep, group, node, pod, snap, sport, svc

    s = snap(
        nodes=(node(0),),
        services=(svc("web", sport(80)),),
        groups=(group("web", [(None, 80, "TCP")], ep("10.244.0.5", "p1")),),
        pods=(pod("p1", "10.244.0.5", cport("c", 80)),),
    )
    s = msgspec.structs.replace(
        s,
        network_policy_state="read",
        network_policies=(NetworkPolicy("ns", "open", ingress=(PolicyRule(),)),),
        plugin_policy_state="read",
        plugin_policy_kinds=(
            PluginKindRead("cilium.io", "v2", "CiliumNetworkPolicy", "ciliumnetworkpolicies", True),
        ),
        plugin_policies=(PluginPolicy("cilium.io", "CiliumNetworkPolicy", "ns", "deny-all"),),
    )
    idx = Index.of(s)
    chains = [service_chain(idx, sv) for sv in s.services]
    iso = backend_isolation(s, s.pods)
    console = Console(width=300, record=True, color_system=None)
    console.print(map_table(chains, isolation=iso))
    row = next(line for line in console.export_text().splitlines() if "p1" in line)
    assert row.rstrip().endswith("ready, policy unknown")
    doc = isolation_json(iso)
    assert [(i["pod"]["name"], i["admitsAll"]) for i in doc["ingressIsolated"]] == [("p1", False)]
