"""`kinspect audit` on the test bed: planted faults are found, healthy services stay quiet,
several contexts make one report, and the read-only RBAC of deploy/ is enough."""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from ..schema import validate
from .conftest import KINSPECT, ROOT, Cluster, Namespace, new_namespace

# (service, check) pairs the planted faults must produce (examples/faults.yaml).
EXPECTED = {
    ("ghost", "selector-matches-no-pods"),
    ("stuck", "no-ready-endpoints"),
    ("stuck", "selected-pod-not-endpoint"),
    ("lonely", "single-ready-endpoint"),
    ("mixed", "named-port-unresolvable"),
    ("undeclared", "target-port-undeclared"),
    ("mdns", "protocol-mismatch"),
    ("local", "local-policy-drops-nodes"),
    ("local", "node-port-collision"),
    ("", "host-port-collision"),
    ("pending-lb", "load-balancer-pending"),
    ("stale", "endpoint-pod-missing"),
    ("split", "slices-endpoints-disagree"),
    ("orphan", "selectorless-without-endpoints"),
}


def _free_node_port(cluster: Cluster) -> int:
    used = subprocess.run(
        [
            *cluster.kubectl_args(),
            "get",
            "services",
            "-A",
            "-o",
            "jsonpath={.items[*].spec.ports[*].nodePort}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return random.choice(sorted(set(range(31000, 32000)) - {int(p) for p in used}))


def _ready_pods(ns: Namespace) -> int:
    pods = ns.get("pods")["items"]
    return sum(
        any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in p["status"].get("conditions", [])
        )
        for p in pods
    )


def _slices_settled(ns: Namespace) -> bool:
    ready: dict[str, int] = {}
    for s in ns.get("endpointslices")["items"]:
        name = s["metadata"]["labels"].get("kubernetes.io/service-name")
        eps = s.get("endpoints") or []
        ready[name] = ready.get(name, 0) + sum(
            1 for e in eps if (e.get("conditions") or {}).get("ready")
        )
    # Every service with endpoints has some; healthy's two pods are both in (the check that
    # nothing is wrong with it must not race the endpointslice controller under load).
    with_some = {"healthy", "lonely", "mixed", "undeclared", "mdns", "local", "split"}
    return all(ready.get(n, 0) > 0 for n in with_some) and ready.get("healthy", 0) >= 2


@pytest.fixture(scope="module")
def faults(cluster: Cluster) -> Iterator[Namespace]:
    with new_namespace(cluster) as ns:
        manifest = (ROOT / "examples" / "faults.yaml").read_text()
        manifest = manifest.replace("NODEPORT", str(_free_node_port(cluster)))
        ns.apply(manifest.replace("NAMESPACE", ns.name))
        ns.wait_until("the fault pods to be ready", lambda: _ready_pods(ns) >= 15, seconds=90)
        ns.wait_until("endpoint slices", lambda: _slices_settled(ns), seconds=90)
        yield ns


@pytest.fixture(scope="module")
def report(faults: Namespace) -> dict[str, Any]:
    doc: dict[str, Any] = faults.kinspect_json("audit", "-n", faults.name)
    return doc


def test_every_planted_fault_is_found(report: dict[str, Any]) -> None:
    validate(report, "audit-report.json")
    found = {(f["service"], f["check"]) for f in report["findings"]}
    assert found >= EXPECTED, f"missing: {sorted(EXPECTED - found)}"


def test_findings_name_ports_and_pods(report: dict[str, Any], faults: Namespace) -> None:
    by = {(f["service"], f["check"]): f for f in report["findings"]}
    mixed = by[("mixed", "named-port-unresolvable")]
    assert (mixed["severity"], mixed["port"]) == ("warning", "http 80/TCP")
    assert mixed["pods"] == [f"{faults.name}/mixed-new"]
    assert by[("stale", "endpoint-pod-missing")]["pods"] == [
        f"{faults.name}/also-gone",
        f"{faults.name}/long-gone",
    ]
    assert by[("", "host-port-collision")]["pods"] == [
        f"{faults.name}/hostport-a",
        f"{faults.name}/hostport-b",
    ]
    assert by[("local", "node-port-collision")]["pods"] == [f"{faults.name}/squatter"]
    assert "kwok-node-1, kwok-node-2" in by[("local", "local-policy-drops-nodes")]["message"]


def test_healthy_service_has_nothing_above_info(report: dict[str, Any]) -> None:
    assert [
        f for f in report["findings"] if f["service"] == "healthy" and f["severity"] != "info"
    ] == []


def test_fail_on_error_exits_7(faults: Namespace) -> None:
    faults.kinspect("audit", "-n", faults.name, "--fail-on", "error", expect=7)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _two_contexts(cluster: Cluster, tmp: Path) -> str:
    """The test bed twice under different names, plus a context whose server is down."""
    view = cluster.kubeconfig_view()
    c, u = view["clusters"][0], view["users"][0]
    dead = {
        "name": "dead",
        "cluster": {**c["cluster"], "server": f"https://127.0.0.1:{_closed_port()}"},
    }
    kc = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "bed-a",
        "clusters": [c, dead],
        "users": [u],
        "contexts": [
            {"name": n, "context": {"cluster": cl, "user": u["name"]}}
            for n, cl in (("bed-a", c["name"]), ("bed-b", c["name"]), ("down", "dead"))
        ],
    }
    path = tmp / "two.kubeconfig"
    path.write_text(json.dumps(kc))
    return str(path)


def _run(kubeconfig: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            *KINSPECT,
            "audit",
            *args,
            "--kubeconfig",
            kubeconfig,
            "--request-timeout",
            "5",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, "NO_COLOR": "1"},
    )


def test_two_contexts_one_report_in_every_format(faults: Namespace, tmp_path: Path) -> None:
    kc = _two_contexts(faults.cluster, tmp_path)
    ctx = ("--context", "bed-a", "--context", "bed-b", "-n", faults.name)
    outputs = {}
    for fmt, ext in (
        ("json", "json"),
        ("text", "txt"),
        ("markdown", "md"),
        ("html", "html"),
        ("junit", "xml"),
        ("prometheus", "prom"),
    ):
        out = tmp_path / f"report.{ext}"
        proc = _run(kc, *ctx, "-o", fmt, "--output-file", str(out))
        assert proc.returncode == 0, proc.stderr
        outputs[fmt] = out.read_text()
    doc = json.loads(outputs["json"])
    assert [c["name"] for c in doc["contexts"]] == ["bed-a", "bed-b"]
    per_ctx = {
        c: {(f["service"], f["check"]) for f in doc["findings"] if f["context"] == c}
        for c in ("bed-a", "bed-b")
    }
    assert per_ctx["bed-a"] >= EXPECTED
    assert per_ctx["bed-a"] == per_ctx["bed-b"]
    assert "context bed-a:" in outputs["text"]
    assert "context bed-b:" in outputs["text"]
    assert "| bed-b | ok |" in outputs["markdown"]
    assert outputs["html"].count("<table>") >= 2
    assert "bed-a" in outputs["html"]
    suites = ET.fromstring(outputs["junit"]).findall("testsuite")
    assert [s.get("name") for s in suites] == ["bed-a", "bed-b"]
    assert 'kinspect_audit_context_up{context="bed-b"} 1' in outputs["prometheus"]


def test_a_failed_context_is_reported_and_the_others_complete(
    faults: Namespace, tmp_path: Path
) -> None:
    kc = _two_contexts(faults.cluster, tmp_path)
    proc = _run(kc, "--context", "bed-a", "--context", "down", "-n", faults.name, "-o", "json")
    assert proc.returncode == 8, proc.stderr
    doc = json.loads(proc.stdout)
    status = {c["name"]: c["status"] for c in doc["contexts"]}
    assert status == {"bed-a": "ok", "down": "failed"}
    assert "unreachable" in doc["contexts"][1]["error"]
    assert any(f["context"] == "bed-a" for f in doc["findings"])


def _token_kubeconfig(cluster: Cluster, tmp: Path, namespace: str, sa: str) -> str:
    token = subprocess.run(
        [*cluster.kubectl_args(), "create", "token", sa, "-n", namespace],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    view = cluster.kubeconfig_view()
    kc = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "sa",
        "clusters": view["clusters"],
        "users": [{"name": sa, "user": {"token": token}}],
        "contexts": [
            {
                "name": "sa",
                "context": {
                    "cluster": view["clusters"][0]["name"],
                    "user": sa,
                    "namespace": namespace,
                },
            }
        ],
    }
    path = tmp / f"{sa}.kubeconfig"
    path.write_text(json.dumps(kc))
    return str(path)


def test_the_deploy_rbac_is_enough_for_a_cluster_wide_audit(
    faults: Namespace, tmp_path: Path
) -> None:
    subprocess.run(
        [*faults.cluster.kubectl_args(), "apply", "-f", str(ROOT / "deploy" / "rbac.yaml")],
        check=True,
        capture_output=True,
    )
    kc = _token_kubeconfig(faults.cluster, tmp_path, "kinspect", "kinspect")
    proc = _run(kc, "-A", "-o", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    # Nothing this RBAC kept from kinspect. (Other warnings, an odd object of another
    # namespace skipped, are the cluster's, not the RBAC's.)
    warnings = doc["contexts"][0]["warnings"]
    assert [w for w in warnings if "may not" in w or "read namespace" in w] == [], warnings
    # This namespace's findings. A node-wide finding (host-port-collision) is named after
    # the first namespace of its pods, which may be another namespace's on a shared cluster.
    mine = {
        (f["service"], f["check"])
        for f in doc["findings"]
        if f["namespace"] == faults.name
        or any(p.startswith(f"{faults.name}/") for p in f.get("pods") or [])
    }
    assert mine >= EXPECTED


def test_namespace_rbac_audits_what_it_can_and_says_what_it_could_not(
    faults: Namespace, tmp_path: Path
) -> None:
    read = ["get", "list", "watch"]
    kc = faults.restricted_kubeconfig(
        str(tmp_path),
        [
            {"apiGroups": [""], "resources": ["services", "pods", "endpoints"], "verbs": read},
            {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": read},
        ],
    )
    proc = _run(kc, "-A", "-o", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    warnings = doc["contexts"][0]["warnings"]
    assert any(f"read namespace {faults.name} only" in w for w in warnings), warnings
    assert any("may not list nodes" in w for w in warnings), warnings
    found = {(f["service"], f["check"]) for f in doc["findings"]}
    assert ("ghost", "selector-matches-no-pods") in found


def test_all_contexts_audits_every_context_of_the_kubeconfig(
    faults: Namespace, tmp_path: Path
) -> None:
    kc = _two_contexts(faults.cluster, tmp_path)
    proc = _run(kc, "--all-contexts", "-n", faults.name, "-o", "json")
    assert proc.returncode == 8, proc.stderr  # `down` fails, the others complete
    doc = json.loads(proc.stdout)
    assert {c["name"]: c["status"] for c in doc["contexts"]} == {
        "bed-a": "ok",
        "bed-b": "ok",
        "down": "failed",
    }


def _finding_keys(doc: dict[str, Any]) -> list[tuple[str, str, str]]:
    return sorted((f["service"], f["check"], f["port"] or "") for f in doc["findings"])


def test_snapshot_of_the_test_bed_gives_the_same_report_offline(
    faults: Namespace, tmp_path: Path
) -> None:
    snap = tmp_path / "bed.json.gz"
    faults.kinspect("snapshot", "save", str(snap), "-n", faults.name)
    live = faults.kinspect_json("audit", "-n", faults.name)
    offline = json.loads(
        subprocess.run(
            [
                *KINSPECT,
                "audit",
                "--snapshot",
                str(snap),
                "-o",
                "json",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert _finding_keys(offline) == _finding_keys(live)
    live_map = faults.kinspect_json("map", "-n", faults.name)
    offline_map = json.loads(
        subprocess.run(
            [
                *KINSPECT,
                "map",
                "-n",
                faults.name,
                "--snapshot",
                str(snap),
                "-o",
                "json",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert offline_map["services"] == live_map["services"]
