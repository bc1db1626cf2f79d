"""The demo workload (examples/demo.yaml) on a real API server: every chain case, end to end.

Each assertion compares what kinspect prints with what the API server says (kubectl).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from ..schema import validate
from .conftest import Cluster, Namespace, new_namespace

# Ready endpoints each demo service must have before kinspect is run.
EXPECTED_READY = {
    "web": 2,
    "shop": 1,
    "undeclared": 1,
    "db": 1,
    "lb": 1,
    "ext-ips": 1,
    "node-agent": 1,
    "legacy-db": 1,
    "dns": 1,
}
LB_INGRESS = "203.0.113.10"


def _ready_endpoints(ns: Namespace) -> dict[str, int]:
    counts: dict[str, int] = {}
    for s in ns.get("endpointslices")["items"]:
        svc = s["metadata"].get("labels", {}).get("kubernetes.io/service-name")
        ready = {
            a
            for e in s.get("endpoints") or []
            if e["conditions"].get("ready", True)
            for a in e["addresses"]
        }
        counts[svc] = counts.get(svc, 0) + len(ready)
    return counts


@pytest.fixture(scope="module")
def demo(cluster: Cluster) -> Iterator[Namespace]:
    with new_namespace(cluster) as ns:
        ns.apply_demo()
        ns.wait_until(
            "demo endpoints to be ready",
            lambda: all(_ready_endpoints(ns).get(k, 0) >= v for k, v in EXPECTED_READY.items()),
            seconds=120,
        )
        yield ns


@pytest.fixture(scope="module")
def report(demo: Namespace) -> dict[str, Any]:
    doc: dict[str, Any] = demo.kinspect_json("map", "-n", demo.name)
    return doc


def _svc(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in report["services"] if s["name"] == name)


def _pod_ip(ns: Namespace, pod: str) -> str:
    ip: str = ns.get("pod", pod)["status"]["podIP"]
    return ip


def test_named_target_port_differs_per_pod_and_missing_name_gets_no_endpoint(
    demo: Namespace, report: dict[str, Any]
) -> None:
    web = _svc(report, "web")
    api = demo.get("service", "web")
    assert web["clusterIPs"] == api["spec"]["clusterIPs"]
    (port,) = web["ports"]
    got = sorted(
        (b["pod"]["name"], b["address"], b["port"], b["containerPort"]["port"])
        for b in port["backends"]
    )
    assert got == [
        ("web-a", _pod_ip(demo, "web-a"), 8080, 8080),
        ("web-b", _pod_ip(demo, "web-b"), 9090, 9090),
    ]
    reasons = {nb["pod"]["name"]: nb["reason"] for nb in port["notBackends"]}
    # Why not scheduled, in the scheduler's own words (issue 23): its PodScheduled condition.
    (cond,) = [
        c
        for c in demo.get("pod", "web-pending")["status"]["conditions"]
        if c["type"] == "PodScheduled"
    ]
    assert reasons == {
        "web-noname": "no container port named 'http'/TCP",
        "web-pending": f"pending: not scheduled ({cond['reason']}: {cond['message']})",
    }
    node_port = api["spec"]["ports"][0]["nodePort"]
    nodeports = [f for f in port["frontends"] if f["kind"] == "NodePort"]
    nodes = demo.get("nodes")["items"]
    # kube-proxy opens a nodePort only on node addresses of the service's families (the demo's
    # services are SingleStack IPv4 on the dual-stack test bed; docs/kube-proxy.md).
    families = api["spec"].get("ipFamilies") or ["IPv4"]
    want = sorted(
        (n["metadata"]["name"], a["address"])
        for n in nodes
        for a in n["status"]["addresses"]
        if a["type"] in ("InternalIP", "ExternalIP")
        and ("IPv6" if ":" in a["address"] else "IPv4") in families
    )
    assert sorted((f["node"], f["address"]) for f in nodeports) == want
    assert {f["port"] for f in nodeports} == {node_port}
    assert all(f["answers"] for f in nodeports)


def test_second_port_lives_in_a_sidecar(report: dict[str, Any]) -> None:
    http, metrics = _svc(report, "shop")["ports"]
    assert http["backends"][0]["container"] == "app"
    assert metrics["backends"][0]["container"] == "metrics-proxy"
    assert metrics["backends"][0]["containerPort"] == {
        "container": "metrics-proxy",
        "port": 15090,
        "protocol": "TCP",
        "name": "metrics",
        "hostPort": None,
        "sidecar": True,
    }


def test_numeric_target_port_nobody_declares(report: dict[str, Any]) -> None:
    (port,) = _svc(report, "undeclared")["ports"]
    (b,) = port["backends"]
    assert (b["port"], b["ready"], b["containerPort"], b["container"]) == (9999, True, None, None)


def test_headless_and_external_name(report: dict[str, Any]) -> None:
    db = _svc(report, "db")
    assert db["headless"]
    assert db["clusterIPs"] == []
    assert db["ports"][0]["frontends"] == []
    assert len(db["ports"][0]["backends"]) == 1
    ext = _svc(report, "ext-db")
    assert ext["externalName"] == "db.example.com"
    assert ext["ports"][0]["backends"] == []
    assert ext["ports"][0]["frontends"] == []


def test_load_balancer_local_policy_answers_only_on_the_pods_node(
    demo: Namespace, report: dict[str, Any]
) -> None:
    lb = _svc(report, "lb")
    (port,) = lb["ports"]
    assert lb["externalTrafficPolicy"] == "Local"
    assert {
        "kind": "LoadBalancer",
        "address": LB_INGRESS,
        "port": 443,
        "node": None,
        "answers": None,
        "fromNodes": [],
    } in port["frontends"]
    answers = {f["node"]: f["answers"] for f in port["frontends"] if f["kind"] == "NodePort"}
    lb_node = demo.get("pod", "lb-0")["spec"]["nodeName"]
    nodes = [n["metadata"]["name"] for n in demo.get("nodes")["items"]]
    assert len(nodes) >= 3
    assert answers == {n: n == lb_node for n in nodes}
    # kube-proxy's health check answers 200 on the same nodes, 503 on the others.
    assert lb["healthCheckNodePort"] == demo.get("service", "lb")["spec"]["healthCheckNodePort"]
    assert {h["node"]: h["status"] for h in lb["healthChecks"]} == {
        n: 200 if n == lb_node else 503 for n in nodes
    }
    # A node that drops it: the trace says so and draws no DNAT to an endpoint (issue 23).
    off = next(f for f in port["frontends"] if f["kind"] == "NodePort" and not f["answers"])
    text = demo.kinspect("trace", f"{off['address']}:{off['port']}").stdout
    flat = " ".join(text.replace("│", " ").split())
    assert f"node {off['node']} drops it: externalTrafficPolicy Local" in flat
    assert f"not forwarded: the service's usable endpoints run on {lb_node} only" in flat
    assert "DNAT" not in text


def test_external_ips(report: dict[str, Any]) -> None:
    (port,) = _svc(report, "ext-ips")["ports"]
    assert {
        "kind": "ExternalIP",
        "address": "198.51.100.50",
        "port": 8080,
        "node": None,
        "answers": None,
        "fromNodes": [],
    } in port["frontends"]


def test_host_network_backend_is_the_node_ip(demo: Namespace, report: dict[str, Any]) -> None:
    (port,) = _svc(report, "node-agent")["ports"]
    (b,) = port["backends"]
    node_name = demo.get("pod", "node-agent")["spec"]["nodeName"]
    node = demo.get("node", node_name)
    internal = next(a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP")
    assert (b["address"], b["hostNetwork"], b["node"]) == (internal, True, node_name)
    assert b["containerPort"] == {
        "container": "agent",
        "port": 9100,
        "protocol": "TCP",
        "name": "metrics",
        "hostPort": 9100,
        "sidecar": False,
    }


def test_selectorless_service_with_manual_slice(report: dict[str, Any]) -> None:
    svc = _svc(report, "legacy-db")
    assert svc["selector"] is None
    (b,) = svc["ports"][0]["backends"]
    assert (b["address"], b["port"], b["pod"]) == ("192.0.2.200", 5432, None)


def test_udp_and_tcp_on_one_port_number(report: dict[str, Any]) -> None:
    ports = _svc(report, "dns")["ports"]
    assert [
        (p["protocol"], p["backends"][0]["protocol"], p["backends"][0]["containerPort"]["name"])
        for p in ports
    ] == [("UDP", "UDP", "dns"), ("TCP", "TCP", "dns-tcp")]


def test_table_output_has_a_row_per_backend(demo: Namespace) -> None:
    # Off a terminal there is no width (COLUMNS=120 is set and not used): like kubectl, a row
    # is one whole line, whatever its length.
    out = demo.kinspect("map", "-n", demo.name).stdout
    assert re.search(r"web-pending +- +NO ENDPOINT: pending: not scheduled", out)
    web_a, web_b = _pod_ip(demo, "web-a"), _pod_ip(demo, "web-b")
    assert re.search(rf"{re.escape(web_a)}:8080 .*web-a", out)
    assert re.search(rf"{re.escape(web_b)}:9090 .*web-b", out)
    noname = next(line for line in out.splitlines() if "web-noname" in line)
    assert "NO ENDPOINT" in noname


def test_grep_of_map_all_namespaces_gives_whole_rows(demo: Namespace) -> None:
    # Issue 23, item 6: `kinspect map -A | grep POD`: each row says namespace, service, type,
    # port and pod, as kubectl's rows do (the grouped look is for terminals).
    out = demo.kinspect("map", "-A").stdout.splitlines()
    assert out[0].split()[:4] == ["NAMESPACE", "SERVICE", "TYPE", "PORT"]
    rows = [line.split() for line in out if " web-a " in line and line.startswith(demo.name)]
    web_a = _pod_ip(demo, "web-a")
    assert rows
    for row in rows:
        assert row[:2] == [demo.name, "web"]
        assert f"{web_a}:8080" in row


def test_trace_cluster_ip_follows_to_containers(demo: Namespace) -> None:
    ip = demo.get("service", "web")["spec"]["clusterIP"]
    doc = demo.kinspect_json("trace", f"{ip}:80")
    assert [m["kind"] for m in doc["matches"]] == ["ClusterIP"]
    (route,) = doc["routes"]
    assert sorted(b["port"] for b in route["backends"]) == [8080, 9090]


def test_trace_unknown_address_exits_not_found(demo: Namespace) -> None:
    doc = demo.kinspect_json("trace", "203.0.113.250", expect=6)
    assert doc["found"] is False
    assert doc["matches"] == []


def test_unknown_service_is_a_one_line_error(demo: Namespace) -> None:
    proc = demo.kinspect("map", "nope", "-n", demo.name, expect=6)
    assert proc.stderr.count("\n") == 1
    assert "service 'nope' not found" in proc.stderr


def test_json_documents_match_the_published_schemas(
    demo: Namespace, report: dict[str, Any]
) -> None:
    validate(report, "chain-report.json")
    node_ip = demo.get("node", demo.get("pod", "web-a")["spec"]["nodeName"])["status"]["addresses"][
        0
    ]
    port = demo.get("service", "web")["spec"]["ports"][0]["nodePort"]
    doc = demo.kinspect_json("trace", f"{node_ip['address']}:{port}")
    validate(doc, "trace-report.json")
    assert {b["pod"]["name"] for r in doc["routes"] for b in r["backends"]} == {"web-a", "web-b"}


def test_ips_lists_every_kind_of_address_with_its_allocator(demo: Namespace) -> None:
    doc = demo.kinspect_json("ips", "-n", demo.name)
    pods = {p["name"]: p for p in doc["pods"]}
    # Every address the pod has, in order (both families on the dual-stack test bed).
    shop = demo.get("pod", "shop-0")["status"]["podIPs"]
    assert pods["shop-0"]["podIPs"] == [a["ip"] for a in shop]
    assert pods["shop-0"]["podIPs"][0] == _pod_ip(demo, "shop-0")
    assert sorted(pods["shop-0"]["containers"]) == ["app", "metrics-proxy"]
    agent = pods["node-agent"]
    node = demo.get("node", agent["node"])
    assert agent["hostNetwork"] is True
    assert agent["podIPs"][0] in {a["address"] for a in node["status"]["addresses"]}
    assert "web-pending" not in pods  # no IP yet
    web_ip = demo.get("service", "web")["spec"]["clusterIP"]
    assert {"service": f"{demo.name}/web", "type": "NodePort", "clusterIPs": [web_ip]} in doc[
        "clusterIPs"
    ]
    assert {"service": f"{demo.name}/lb", "address": LB_INGRESS} in doc["loadBalancerIngress"]
    assert "kube-apiserver" in doc["allocators"]["clusterIP"]
    assert "CNI" in doc["allocators"]["podIP"]
    text = demo.kinspect("ips", "-n", demo.name).stdout
    assert "Pod IPs" in text
    assert "(hostNetwork = node IP)" in text


def test_explain_uses_a_real_service(demo: Namespace) -> None:
    out = demo.kinspect("explain", "-n", demo.name).stdout
    assert "allocated by kube-apiserver" in out
    assert "CNI plugin's IPAM" in out
    assert f"service {demo.name}/" in out
    assert _pod_ip(demo, "lb-0") in out or _pod_ip(demo, "web-a") in out


def test_trace_reads_only_the_pods_it_needs_and_answers_as_if_it_read_all(
    demo: Namespace, tmp_path: Any
) -> None:
    """On a live cluster trace reads pods by server-side selectors (status.podIP, spec.nodeName,
    the entered services' selectors, targetRef names); from a snapshot it has every pod. Both
    must give the same report for every kind of address the demo has."""
    snap = tmp_path / "demo.json"
    demo.kinspect("snapshot", "save", str(snap), "-n", demo.name)
    web = demo.get("service", "web")
    agent = demo.get("pod", "node-agent")
    node_ip = agent["status"]["podIP"]  # hostNetwork: the node's IP
    targets = {
        "pod IP with port": f"{_pod_ip(demo, 'web-a')}:8080",
        "pod IP alone": _pod_ip(demo, "shop-0"),
        "ClusterIP with port": f"{web['spec']['clusterIP']}:80",
        "node IP and nodePort": f"{node_ip}:{web['spec']['ports'][0]['nodePort']}",
        "node IP, hostPort and hostNetwork": f"{node_ip}:9100",
        "node IP alone": node_ip,
        "endpoint without a pod": "192.0.2.200",
        "externalIP": "198.51.100.50:8080",
        "load-balancer ingress": f"{LB_INGRESS}:443",
        "ExternalName": "db.example.com",
        "unknown IP": "203.0.113.251:80",
    }
    for what, target in targets.items():
        expect = 6 if what == "unknown IP" else 0
        live = demo.kinspect_json("trace", target, "-n", demo.name, expect=expect)
        offline = demo.kinspect_json(
            "trace", target, "-n", demo.name, "--snapshot", str(snap), expect=expect
        )
        assert live == offline, what
        assert live["found"] is (expect == 0), what
    hostnet = demo.kinspect_json("trace", f"{node_ip}:9100", "-n", demo.name)
    # Its hostPort and hostNetwork reach the same container port: one hop, both reasons.
    assert [(d["vias"], d["pod"]["name"]) for d in hostnet["direct"]] == [
        (["HostPort", "HostNetwork"], "node-agent")
    ]
