"""Issue 11 on a real API server: plain endpoints, health checks, traffic policies, hints.

Each assertion compares what kinspect prints with what the API server allocated or says.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

import pytest

from ..schema import validate
from .conftest import Cluster, Namespace, new_namespace

HOST_PORT = random.randint(19000, 19999)  # data only: never dialed, unlikely to collide

MANIFEST = f"""
apiVersion: v1
kind: Pod
metadata: {{name: a, labels: {{app: a}}}}
spec:
  nodeName: kwok-node-0
  containers: [{{name: app, image: x, ports: [{{name: http, containerPort: 8080}}]}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: slow, labels: {{app: slow}}}}
spec:
  nodeName: kwok-node-1
  containers:
    - name: app
      image: x
      ports: [{{name: http, containerPort: 8080}}]
      readinessProbe: {{httpGet: {{path: /ready, port: http}}}}
---
apiVersion: v1
kind: Pod
metadata: {{name: agent, labels: {{app: agent}}}}
spec:
  nodeName: kwok-node-2
  hostNetwork: true
  containers:
    - {{name: agent, image: x, ports: [{{containerPort: {HOST_PORT}, hostPort: {HOST_PORT}}}]}}
---
apiVersion: v1
kind: Service
metadata: {{name: lb}}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  selector: {{app: a}}
  ports: [{{name: web, port: 5000, targetPort: http, appProtocol: https}}]
---
apiVersion: v1
kind: Service
metadata: {{name: itp}}
spec:
  internalTrafficPolicy: Local
  selector: {{app: a}}
  ports: [{{port: 80, targetPort: 8080}}]
---
apiVersion: v1
kind: Service
metadata: {{name: slowsvc}}
spec:
  selector: {{app: slow}}
  ports: [{{port: 80, targetPort: http}}]
---
apiVersion: v1
kind: Service
metadata: {{name: pnr}}
spec:
  publishNotReadyAddresses: true
  selector: {{app: slow}}
  ports: [{{port: 80, targetPort: http}}]
"""
NOT_READY = {
    "type": "Ready",
    "status": "False",
    "reason": "ContainersNotReady",
    "message": "containers with unready status: [app]",
}


def _slice_ready(ns: Namespace, service: str) -> dict[str, bool]:
    out = {}
    for s in ns.get("endpointslices", "-l", f"kubernetes.io/service-name={service}")["items"]:
        for e in s.get("endpoints") or []:
            out[e["targetRef"]["name"]] = e["conditions"].get("ready", True)
    return out


@pytest.fixture(scope="module")
def bed(cluster: Cluster) -> Iterator[Namespace]:
    with new_namespace(cluster) as ns:
        ns.apply(MANIFEST)
        ns.wait_until("a ready", lambda: _slice_ready(ns, "lb") == {"a": True})
        ns.wait_until("slow ready", lambda: _slice_ready(ns, "slowsvc") == {"slow": True})
        # kwok made it Ready; the Ready condition is now what a failing probe would leave.
        ns.kubectl(
            "patch",
            "pod",
            "slow",
            "--subresource=status",
            "--type=strategic",
            "-p",
            json.dumps({"status": {"conditions": [NOT_READY]}}),
        )
        ns.wait_until("slow not ready", lambda: _slice_ready(ns, "slowsvc") == {"slow": False})
        yield ns


def _svc(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in doc["services"] if s["name"] == name)


def _node_ips(ns: Namespace) -> dict[str, list[str]]:
    return {
        n["metadata"]["name"]: [
            a["address"]
            for a in n["status"]["addresses"]
            if a["type"] in ("InternalIP", "ExternalIP")
        ]
        for n in ns.get("nodes")["items"]
    }


def _trace(ns: Namespace, target: str, expect: int = 0) -> dict[str, Any]:
    doc: dict[str, Any] = ns.kinspect_json("trace", target, expect=expect)
    validate(doc, "trace-report.json")
    return doc


def test_the_api_servers_own_endpoint_is_found(bed: Namespace) -> None:
    (s,) = bed.get(
        "endpointslices", "-n", "default", "-l", "kubernetes.io/service-name=kubernetes"
    )["items"]
    addr, port = s["endpoints"][0]["addresses"][0], s["ports"][0]["port"]
    doc = _trace(bed, f"{addr}:{port}")
    assert doc["found"]
    assert [(d["via"], d["service"], d["endpoint"]["ready"]) for d in doc["direct"]] == [
        ("Endpoint", "default/kubernetes", True)
    ]
    text = bed.kinspect("trace", f"{addr}:{port}").stdout
    assert "nothing receives" not in text
    assert "endpoint of service default/kubernetes port 443/TCP (no pod)" in text


def test_health_check_node_port_is_answered_200_only_where_the_endpoint_runs(
    bed: Namespace,
) -> None:
    api = bed.get("service", "lb")["spec"]
    hc = api["healthCheckNodePort"]  # allocated by the API server
    doc = bed.kinspect_json("map", "lb", "-n", bed.name)
    validate(doc, "chain-report.json")
    lb = _svc(doc, "lb")
    assert lb["healthCheckNodePort"] == hc
    ips = _node_ips(bed)
    # kube-proxy runs a health check server per family, for that family's services only: the
    # node addresses of the service's families (docs/kube-proxy.md, Dual-stack).
    families = api.get("ipFamilies") or ["IPv4"]
    assert sorted((h["address"], h["status"]) for h in lb["healthChecks"]) == sorted(
        (ip, 200 if node == "kwok-node-0" else 503)
        for node, list_ in ips.items()
        for ip in list_
        if ("IPv6" if ":" in ip else "IPv4") in families
    )
    assert lb["ports"][0]["appProtocol"] == "https"
    other = ips["kwok-node-1"][0]
    doc = _trace(bed, f"{other}:{hc}")
    assert doc["found"]
    assert [(h["service"], h["status"]) for h in doc["healthChecks"]] == [(f"{bed.name}/lb", 503)]


def test_nodeport_traffic_is_dnated_straight_to_the_endpoint(bed: Namespace) -> None:
    node_port = bed.get("service", "lb")["spec"]["ports"][0]["nodePort"]
    node_ip = _node_ips(bed)["kwok-node-0"][0]
    out = bed.kinspect("trace", f"{node_ip}:{node_port}").stdout
    lines = [line.strip(" │├└─") for line in out.splitlines()]
    assert any(line.startswith("kube-proxy DNAT straight to an endpoint") for line in lines)
    assert not any(line.startswith("ClusterIP ") for line in lines), out
    cluster_ip = bed.get("service", "lb")["spec"]["clusterIP"]
    assert f"also reachable in-cluster at ClusterIP {cluster_ip}:5000" in " ".join(out.split())


def test_internal_traffic_policy_local_answers_from_the_endpoints_node_only(
    bed: Namespace,
) -> None:
    doc = bed.kinspect_json("map", "itp", "-n", bed.name)
    (f,) = _svc(doc, "itp")["ports"][0]["frontends"]
    assert f["kind"] == "ClusterIP"
    assert {n["node"]: n["answers"] for n in f["fromNodes"]} == {
        node: node == "kwok-node-0" for node in _node_ips(bed)
    }


def test_not_ready_pod_says_its_probe_and_condition_and_publish_not_ready(bed: Namespace) -> None:
    doc = bed.kinspect_json("map", "-n", bed.name)
    (nb,) = _svc(doc, "slowsvc")["ports"][0]["notBackends"]
    assert nb["readyCondition"] == {
        "reason": "ContainersNotReady",
        "message": "containers with unready status: [app]",
    }
    (probe,) = nb["readinessProbes"]
    assert (probe["action"], probe["port"], probe["containerPort"]["port"]) == (
        "httpGet",
        "http",
        8080,
    )
    assert nb["reason"].startswith("not ready (readiness probe httpGet :http")
    # publishNotReadyAddresses: the endpointslice controller lists the not-ready pod as ready.
    pnr = _svc(doc, "pnr")
    assert pnr["publishNotReadyAddresses"] is True
    assert [b["ready"] for b in pnr["ports"][0]["backends"]] == [True]
    wide = bed.kinspect("map", "-n", bed.name, "-o", "wide").stdout
    assert "publishNotReady" in wide
    assert "(https)" in wide


def test_pod_and_node_without_port_and_hints(bed: Namespace) -> None:
    a_ip = bed.get("pod", "a")["status"]["podIP"]
    doc = _trace(bed, a_ip)
    assert sorted((b["service"], b["backend"]) for b in doc["backs"]) == [
        (f"{bed.name}/itp", True),
        (f"{bed.name}/lb", True),
    ]
    node_ip = _node_ips(bed)["kwok-node-2"][0]
    api = bed.get("service", "lb")["spec"]
    doc = _trace(bed, node_ip)
    opened = {(o["kind"], o["port"], o["service"]) for o in doc["openPorts"]}
    assert ("NodePort", api["ports"][0]["nodePort"], f"{bed.name}/lb") in opened
    assert ("HealthCheckNodePort", api["healthCheckNodePort"], f"{bed.name}/lb") in opened
    assert ("HostPort", HOST_PORT, None) in opened
    # The same container through its hostPort and hostNetwork: one hop, both reasons.
    doc = _trace(bed, f"{node_ip}:{HOST_PORT}")
    assert [(d["pod"]["name"], d["vias"]) for d in doc["direct"]] == [
        ("agent", ["HostPort", "HostNetwork"])
    ]
    # The targetPort sent to the ClusterIP: not found, with the port meant.
    doc = _trace(bed, f"{api['clusterIP']}:8080", expect=6)
    assert [h["port"] for h in doc["hints"]] == [5000]


def test_explain_draws_the_load_balancer_example_as_kube_proxy_forwards_it(bed: Namespace) -> None:
    out = " ".join(bed.kinspect("explain", "-n", bed.name).stdout.split())
    assert f"In this cluster: service {bed.name}/lb (LoadBalancer)" in out
    hc = bed.get("service", "lb")["spec"]["healthCheckNodePort"]
    assert (
        f"healthCheckNodePort {hc}: kube-proxy answers the load balancer 200 on kwok-node-0" in out
    )
    assert "never passes through the ClusterIP" in out
