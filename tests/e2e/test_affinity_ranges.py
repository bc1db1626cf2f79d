"""Session affinity and loadBalancerSourceRanges (issue 22, items 2 and 3) on the test bed.

The load balancer's address is written by hand (`kubectl patch --subresource=status`): the test
bed has no load-balancer controller. Addresses are TEST-NET data; nothing dials them.
"""

from __future__ import annotations

import json
from typing import Any

from tests.e2e.conftest import Namespace

LB = "203.0.113.122"
LEGACY_LB = "203.0.113.123"
ANNOTATION = "service.beta.kubernetes.io/load-balancer-source-ranges"

WORLD = f"""
apiVersion: v1
kind: Service
metadata: {{name: web}}
spec:
  type: LoadBalancer
  selector: {{app: web}}
  sessionAffinity: ClientIP
  sessionAffinityConfig: {{clientIP: {{timeoutSeconds: 600}}}}
  loadBalancerSourceRanges: [192.0.2.0/24, " 10.244.0.0/16 "]
  ports: [{{name: http, port: 80, targetPort: 8080}}]
---
apiVersion: v1
kind: Service
metadata:
  name: legacy
  annotations: {{{ANNOTATION}: "192.0.2.0/24"}}
spec:
  type: LoadBalancer
  selector: {{app: web}}
  ports: [{{name: http, port: 80, targetPort: 8080}}]
---
apiVersion: v1
kind: Service
metadata: {{name: sticky}}
spec:
  selector: {{app: web}}
  sessionAffinity: ClientIP
  ports: [{{name: http, port: 80, targetPort: 8080}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: web-0, labels: {{app: web}}}}
spec: {{containers: [{{name: app, image: registry.k8s.io/pause:3.10,
       ports: [{{name: http, containerPort: 8080}}]}}]}}
---
apiVersion: v1
kind: Pod
metadata: {{name: client}}
spec: {{containers: [{{name: app, image: registry.k8s.io/pause:3.10}}]}}
"""


def _set_up(ns: Namespace) -> None:
    ns.apply(WORLD)
    for name, ip in (("web", LB), ("legacy", LEGACY_LB)):
        status = json.dumps({"status": {"loadBalancer": {"ingress": [{"ip": ip}]}}})
        ns.kubectl("patch", "service", name, "--subresource=status", "--type=merge", "-p", status)
    ns.wait_settled(pods=2)


def _node_port(ns: Namespace, name: str) -> int:
    port: int = ns.get("service", name)["spec"]["ports"][0]["nodePort"]
    return port


def _service(doc: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in doc["services"] if s["name"] == name)
    return found


def test_map_tree_and_explain_show_affinity_and_ranges(ns: Namespace) -> None:
    _set_up(ns)
    api = ns.get("service", "web")["spec"]
    doc = ns.kinspect_json("map", "-n", ns.name)
    web = _service(doc, "web")
    assert web["sessionAffinity"] == api["sessionAffinity"] == "ClientIP"
    assert web["sessionAffinityTimeoutSeconds"] == 600
    assert (
        web["sessionAffinityTimeoutSeconds"]
        == (api["sessionAffinityConfig"]["clientIP"]["timeoutSeconds"])
    )
    # As written: the API allows space padding, which kube-proxy trims.
    assert web["loadBalancerSourceRanges"] == api["loadBalancerSourceRanges"]
    assert api["loadBalancerSourceRanges"] == ["192.0.2.0/24", " 10.244.0.0/16 "]
    # The API server defaults ipMode to VIP (kinspect shows what it stored).
    [ing] = ns.get("service", "web")["status"]["loadBalancer"]["ingress"]
    assert web["loadBalancerIngress"] == [{"ip": LB, "hostname": None, "ipMode": ing["ipMode"]}]
    # The API server fills in the default timeout; kinspect shows what it stored.
    sticky_api = ns.get("service", "sticky")["spec"]
    sticky = _service(doc, "sticky")
    assert sticky["sessionAffinityTimeoutSeconds"] == 10800
    assert sticky_api["sessionAffinityConfig"]["clientIP"]["timeoutSeconds"] == 10800
    legacy = _service(doc, "legacy")
    assert legacy["loadBalancerSourceRanges"] == []
    assert legacy["loadBalancerSourceRangesAnnotation"] == "192.0.2.0/24"

    table = ns.kinspect("map", "-n", ns.name).stdout
    assert "affinity ClientIP 600s" in table
    assert "affinity ClientIP 10800s" in table
    assert "sourceRanges 192.0.2.0/24,10.244.0.0/16" in table
    assert "sourceRanges: annotation only (cloud LB)" in table

    tree = ns.kinspect("map", "-n", ns.name, "-o", "tree").stdout
    assert "sessionAffinity ClientIP: one client IP keeps one backend for 600s" in tree
    assert (
        "loadBalancerSourceRanges 192.0.2.0/24, 10.244.0.0/16: kube-proxy drops other sources "
        "to the load balancer's IPs (not to the nodePort, ClusterIP or externalIPs)"
    ) in tree
    assert (
        f"annotation {ANNOTATION} '192.0.2.0/24': read by the cloud load balancer, not "
        "kube-proxy: kube-proxy does not filter"
    ) in tree

    ns.kubectl("delete", "service", "legacy", "sticky")
    explained = " ".join(ns.kinspect("explain", "-n", ns.name).stdout.split())
    assert "In this cluster: service " + ns.name + "/web (LoadBalancer)" in explained
    assert "sessionAffinity ClientIP: one client IP keeps one backend for 600s" in explained
    assert "loadBalancerSourceRanges 192.0.2.0/24, 10.244.0.0/16: kube-proxy drops" in explained


def test_trace_judges_the_source_against_the_ranges(ns: Namespace) -> None:
    _set_up(ns)
    client_ip = ns.get("pod", "client")["status"]["podIP"]

    out = ns.kinspect("trace", f"{LB}:80", "--from", "198.51.100.7", "-n", ns.name).stdout
    assert (
        f"  dropped  LoadBalancer {LB}:80 of service {ns.name}/web: 198.51.100.7 is outside "
        "loadBalancerSourceRanges (192.0.2.0/24, 10.244.0.0/16)"
    ) in out
    assert "sessionAffinity ClientIP: one client IP keeps one backend for 600s" in out

    inside = ns.kinspect("trace", f"{LB}:80", "--from", "192.0.2.200", "-n", ns.name).stdout
    assert (
        f"  allowed  LoadBalancer {LB}:80 of service {ns.name}/web: 192.0.2.200 is inside "
        "loadBalancerSourceRanges 192.0.2.0/24"
    ) in inside

    # A pod's source is its pod IP (kube-proxy checks it before any SNAT).
    doc = ns.kinspect_json("trace", f"{LB}:80", "--from", f"{ns.name}/client", "-n", ns.name)
    [check] = doc["sourceRanges"]
    assert check == {
        "service": f"{ns.name}/web",
        "entry": {"kind": "LoadBalancer", "address": LB, "port": 80},
        "source": f"{ns.name}/client",
        "sourceIP": client_ip,
        "verdict": "allowed",
        "reason": f"{client_ip} is inside loadBalancerSourceRanges 10.244.0.0/16",
        "range": "10.244.0.0/16",
    }
    [route] = doc["routes"]
    assert (route["sessionAffinity"], route["sessionAffinityTimeoutSeconds"]) == ("ClientIP", 600)
    assert route["sourceRanges"]["filter"] == "filtered"
    assert route["sourceRanges"]["ranges"] == ["192.0.2.0/24", "10.244.0.0/16"]

    # An IPv6 source matches only IPv6 ranges (none here).
    v6 = ns.kinspect_json("trace", f"{LB}:80", "--from", "2001:db8::7", "-n", ns.name)
    assert [(c["sourceIP"], c["verdict"]) for c in v6["sourceRanges"]] == [
        ("2001:db8::7", "dropped")
    ]

    outside = ns.kinspect_json("trace", f"{LB}:80", "--from", "outside", "-n", ns.name)
    assert [c["verdict"] for c in outside["sourceRanges"]] == ["unknown"]


def test_the_node_port_and_the_legacy_annotation_are_not_filtered(ns: Namespace) -> None:
    _set_up(ns)
    node_ip = "192.0.2.10"
    port = _node_port(ns, "web")
    doc = ns.kinspect_json("trace", f"{node_ip}:{port}", "--from", "198.51.100.7", "-n", ns.name)
    [check] = doc["sourceRanges"]
    assert (check["entry"]["kind"], check["verdict"]) == ("NodePort", "allowed")
    assert check["reason"] == (
        "kube-proxy applies loadBalancerSourceRanges only to the load balancer's IPs, not to "
        "nodePorts: every source is let through here"
    )
    assert doc["routes"][0]["sourceRanges"]["filter"] == "open"

    legacy = ns.kinspect_json("trace", f"{LEGACY_LB}:80", "--from", "198.51.100.7", "-n", ns.name)
    [check] = legacy["sourceRanges"]
    assert check["verdict"] == "unknown"
    assert check["reason"].startswith(
        f"only the legacy annotation {ANNOTATION} is set: kube-proxy does not read it"
    )


def test_ip_mode_proxy_is_not_kube_proxys_to_filter(ns: Namespace) -> None:
    _set_up(ns)
    status = json.dumps({"status": {"loadBalancer": {"ingress": [{"ip": LB, "ipMode": "Proxy"}]}}})
    ns.kubectl("patch", "service", "web", "--subresource=status", "--type=merge", "-p", status)
    [ing] = ns.get("service", "web")["status"]["loadBalancer"]["ingress"]
    assert ing["ipMode"] == "Proxy"
    doc = ns.kinspect_json("trace", f"{LB}:80", "--from", "198.51.100.7", "-n", ns.name)
    [check] = doc["sourceRanges"]
    assert check["verdict"] == "unknown"
    assert check["reason"] == (
        "ipMode Proxy: kube-proxy programs no rule for this address; whether the load balancer "
        "applies loadBalancerSourceRanges is unknown to kinspect"
    )
