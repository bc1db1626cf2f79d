"""Issue 23 item 9 on a real API server: every --evidence command prints what kinspect claims.

The demo in a fresh namespace; `trace --evidence`, `map SERVICE -o json --evidence` is not a
thing (the tree is text), so the tree's text is checked for its lines, and `audit --evidence`.
Each printed kubectl command is run as it is (the test bed's kubectl and kubeconfig in front)
and must print the value kinspect gives: that is the proof the evidence is true.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from ..schema import validate
from .conftest import Cluster, Namespace, new_namespace

# Two more faults beside the demo's: a selector that matches nothing, and a service whose only
# pod (web-pending) is never scheduled.
EXTRA = """
apiVersion: v1
kind: Service
metadata: {name: nobody}
spec:
  selector: {app: nobody, tier: none}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: pending-only}
spec:
  selector: {app: web, track: d}
  ports: [{name: http, port: 80, targetPort: http}]
"""


@pytest.fixture(scope="module")
def demo(cluster: Cluster) -> Iterator[Namespace]:
    with new_namespace(cluster) as ns:
        ns.apply_demo()
        ns.apply(EXTRA)
        yield ns


def _run(ns: Namespace, e: dict[str, Any]) -> str:
    """Run an evidence command as printed, against the test bed: what it prints."""
    words = shlex.split(e["command"])
    assert words[:2] == ["kubectl", f"--context={ns.cluster.context}"], e["command"]
    # kubectl --context=C [--namespace=N] get KIND/NAME -o=jsonpath=...: nothing else.
    at = 3 if e["namespace"] is not None else 2
    assert words[at] == "get", e["command"]
    assert len(words) == at + 3, e["command"]
    assert words[at + 2].startswith("-o=jsonpath={."), e["command"]
    assert not any(w.startswith(("secret/", "secrets/")) for w in words)
    proc = subprocess.run(
        [*ns.cluster.kubectl_args(), *words[1:]],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0, f"{e['command']}: {proc.stderr.strip()}"
    return proc.stdout


def _check(ns: Namespace, items: list[dict[str, Any]]) -> int:
    for e in items:
        assert e["namespace"] in (ns.name, None), e
        out = _run(ns, e)
        if e["value"] is None:
            assert out, e  # set: its value not kept, the command prints it
        else:
            assert out == e["value"], e
    return len(items)


def test_trace_evidence_commands_print_the_values(demo: Namespace) -> None:
    svc = demo.get("service", "web")
    ip = svc["spec"]["clusterIP"]
    doc = demo.kinspect_json("trace", f"{ip}:80", "-n", demo.name, "--evidence")
    validate(doc, "trace-report.json")
    (route,) = doc["routes"]
    paths = [e["path"] for e in route["evidence"]]
    assert paths == [
        "spec.clusterIPs[0]",
        'spec.ports[?(@.name=="http")].port',
        'spec.ports[?(@.name=="http")].targetPort',
    ]
    n = _check(demo, route["evidence"])
    pods = set()
    for b in route["backends"]:
        kinds = [(e["kind"], e["path"].rsplit(".", 1)[-1]) for e in b["evidence"]]
        assert kinds[:3] == [
            ("EndpointSlice", "ready"),
            ("EndpointSlice", "name"),
            ("EndpointSlice", "nodeName"),
        ]
        assert kinds[3] == ("Pod", "containerPort")
        n += _check(demo, b["evidence"])
        pods.add(b["evidence"][3]["name"])
    assert pods == {"web-a", "web-b"}
    assert n >= 11
    text = demo.kinspect("trace", f"{ip}:80", "-n", demo.name, "--evidence").stdout
    assert "evidence:" in text
    assert (
        f"$ kubectl --context={demo.cluster.context} --namespace={demo.name} get pod/web-b "
        '\'-o=jsonpath={.spec.containers[?(@.name=="app")].ports[?(@.name=="http")]'
        ".containerPort}'" in text
    )


def test_trace_from_evidence_names_the_policy_and_rule(demo: Namespace) -> None:
    ip = demo.get("service", "web")["spec"]["clusterIP"]
    doc = demo.kinspect_json(
        "trace", f"{ip}:80", "-n", demo.name, "--evidence", "--from", f"{demo.name}/shop-0"
    )
    validate(doc, "trace-report.json")
    hops = doc["policy"]["hops"]
    assert {h["verdict"] for h in hops} == {"allowed"}
    for h in hops:
        assert [(e["kind"], e["name"], e["path"], e["value"]) for e in h["evidence"]] == [
            ("NetworkPolicy", "web-from-shop", 'spec.policyTypes[?(@=="Ingress")]', "Ingress"),
            ("NetworkPolicy", "web-from-shop", "spec.ingress[0]", None),
        ]
        _check(demo, h["evidence"])


def test_trace_node_port_and_pod_ip_evidence(demo: Namespace) -> None:
    svc = demo.get("service", "web")
    node_port = svc["spec"]["ports"][0]["nodePort"]
    web_b = demo.get("pod", "web-b")
    node = demo.get("node", web_b["spec"]["nodeName"])
    internal = next(a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP")
    doc = demo.kinspect_json("trace", f"{internal}:{node_port}", "-n", demo.name, "--evidence")
    validate(doc, "trace-report.json")
    (route,) = doc["routes"]
    assert [(e["kind"], e["value"]) for e in route["evidence"]] == [
        ("Service", str(node_port)),
        ("Node", "InternalIP"),
        ("Service", "http"),
    ]
    assert route["evidence"][1]["namespace"] is None
    _check(demo, route["evidence"])
    ip = web_b["status"]["podIP"]
    doc = demo.kinspect_json("trace", f"{ip}:9090", "-n", demo.name, "--evidence")
    validate(doc, "trace-report.json")
    (hop,) = doc["direct"]
    assert [(e["kind"], e["name"], e["value"]) for e in hop["evidence"]] == [
        ("Pod", "web-b", "9090")
    ]
    _check(demo, hop["evidence"])


def test_map_tree_evidence_lines(demo: Namespace) -> None:
    text = demo.kinspect("map", "web", "-n", demo.name, "-o", "tree", "--evidence").stdout
    assert "spec.clusterIPs[0]=" in text
    assert 'conditions[?(@.type=="PodScheduled")].status=False' in text  # web-pending


def test_audit_evidence_commands_print_the_values(demo: Namespace) -> None:
    doc = demo.kinspect_json("audit", "-n", demo.name, "--evidence")
    validate(doc, "audit-report.json")
    checked: dict[str, int] = {}
    for f in doc["findings"]:
        assert "evidence" in f
        checked[f["check"]] = checked.get(f["check"], 0) + _check(demo, f["evidence"])
    # The demo's own faults, each shown by fields the API serves.
    wanted = {
        "named-port-unresolvable": 2,  # the targetPort, web-noname's missing port
        "selected-pod-not-endpoint": 1,  # web-pending's PodScheduled condition
        "target-port-undeclared": 2,  # the targetPort, the pod's declared ports
        "ingress-backend-missing": 1,  # the Ingress path's backend service name
        "selector-matches-no-pods": 1,  # nobody's spec.selector, as kubectl prints a map
        "no-ready-endpoints": 1,  # pending-only: web-pending's PodScheduled condition
    }
    for check, least in wanted.items():
        assert checked.get(check, 0) >= least, (check, checked)
