"""Dual-stack services on a dual-stack cluster (issue 22 item 4), compared with what the API says.

The test bed is dual-stack (testbed/kwokctl.yaml: two service CIDRs; testbed/nodes.yaml: an
IPv4 and an IPv6 podCIDR and InternalIP per node; kwok fills status.podIPs from both). Through
KINSPECT_E2E_CONTEXT a single-stack cluster skips this file, saying why; the test bed never does.
Nothing here dials an address: they are data.
"""

from __future__ import annotations

import ipaddress
import os
from typing import Any

import pytest

from .conftest import Namespace

WORLD = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: registry.invalid/web:1,
                    ports: [{name: http, containerPort: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: dual}
spec:
  type: NodePort
  ipFamilyPolicy: RequireDualStack
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: prefer}
spec:
  ipFamilyPolicy: PreferDualStack
  ipFamilies: [IPv6, IPv4]
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: six}
spec:
  type: NodePort
  ipFamilyPolicy: SingleStack
  ipFamilies: [IPv6]
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: four}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Pod
metadata: {name: client, labels: {app: client}}
spec: {containers: [{name: app, image: registry.invalid/client:1}]}
"""

# Only IPv6 sources from the test bed's IPv6 pod network, less node 2's podCIDR.
POLICY = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-v6}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
    - from: [{ipBlock: {cidr: "fd00:10:244::/48", except: ["fd00:10:244:2::/64"]}}]
      ports: [{port: http}]
"""


def _family(ip: str) -> str:
    return "IPv6" if ipaddress.ip_address(ip).version == 6 else "IPv4"


def _dual_stack_or_skip(ns: Namespace) -> None:
    """Skip (through KINSPECT_E2E_CONTEXT only) when the cluster makes no dual-stack Service."""
    ns.apply(WORLD.split("---")[1])  # the RequireDualStack service alone
    ips = ns.get("service", "dual")["spec"].get("clusterIPs", [])
    if len({_family(ip) for ip in ips}) == 2:
        return
    reason = f"the cluster gave a RequireDualStack Service only {ips}: it is not dual-stack"
    if os.environ.get("KINSPECT_E2E_CONTEXT"):
        pytest.skip(reason)
    raise AssertionError(f"{reason}; the test bed must be (testbed/kwokctl.yaml)")


def _world(ns: Namespace) -> None:
    _dual_stack_or_skip(ns)
    ns.apply(WORLD)
    ns.wait_settled(pods=3)


def _slice_addresses(ns: Namespace, service: str) -> set[tuple[str, str]]:
    """(address, pod name) of every endpoint in the service's EndpointSlices, both families."""
    out = set()
    for s in ns.get("endpointslices", "-l", f"kubernetes.io/service-name={service}")["items"]:
        for e in s.get("endpoints") or []:
            for a in e["addresses"]:
                out.add((a, e["targetRef"]["name"]))
    return out


def _node_ips(ns: Namespace) -> list[tuple[str, str]]:
    nodes = ns.get("nodes")["items"]
    return [
        (n["metadata"]["name"], a["address"])
        for n in nodes
        for a in n["status"]["addresses"]
        if a["type"] in ("InternalIP", "ExternalIP")
    ]


def _services(doc: Any) -> dict[str, Any]:
    return {s["name"]: s for s in doc["services"]}


def test_map_shows_both_families_as_the_api_has_them(ns: Namespace) -> None:
    _world(ns)
    doc = _services(ns.kinspect_json("map", "-n", ns.name))
    pods = {p["metadata"]["name"]: p for p in ns.get("pods", "-l", "app=web")["items"]}
    pod_ips = {(a["ip"], name) for name, p in pods.items() for a in p["status"]["podIPs"]}
    assert {_family(ip) for ip, _ in pod_ips} == {"IPv4", "IPv6"}
    assert len(pod_ips) == 4  # two pods, two addresses each
    for name in ("dual", "prefer", "six", "four"):
        spec = ns.get("service", name)["spec"]
        s = doc[name]
        assert (s["ipFamilyPolicy"], s["ipFamilies"], s["clusterIPs"]) == (
            spec["ipFamilyPolicy"],
            spec["ipFamilies"],
            spec["clusterIPs"],
        ), name
        (port,) = s["ports"]
        fronts = [(f["kind"], f["address"]) for f in port["frontends"]]
        # Every ClusterIP is a frontend; nodePorts only on the node IPs of the service's families.
        assert [a for k, a in fronts if k == "ClusterIP"] == spec["clusterIPs"], name
        if spec["type"] == "NodePort":
            want = [a for _, a in _node_ips(ns) if _family(a) in spec["ipFamilies"]]
            assert [a for k, a in fronts if k == "NodePort"] == want, name
        # Each family's EndpointSlice leads to the same pods: backends are the slices' endpoints.
        backends = {(b["address"], b["pod"]["name"]) for b in port["backends"]}
        assert backends == _slice_addresses(ns, name), name
        assert backends == {(ip, p) for ip, p in pod_ips if _family(ip) in spec["ipFamilies"]}
    assert doc["dual"]["ipFamilies"] == ["IPv4", "IPv6"]
    assert doc["prefer"]["ipFamilies"] == ["IPv6", "IPv4"]  # as asked, IPv6 first
    assert doc["six"]["ipFamilies"] == ["IPv6"]
    # The text forms: brackets around IPv6 with a port, the families in the tree's header.
    v6 = ns.get("service", "dual")["spec"]["clusterIPs"][1]
    tree = ns.kinspect("map", "-n", ns.name, "-o", "tree", "dual").stdout
    assert "RequireDualStack (IPv4, IPv6)" in tree
    assert f"ClusterIP [{v6}]:80" in tree


def test_trace_ipv6_cluster_ip_and_pod_ip(ns: Namespace) -> None:
    _world(ns)
    v4, v6 = ns.get("service", "dual")["spec"]["clusterIPs"]
    pods = ns.get("pods", "-l", "app=web")["items"]
    six = {a["ip"]: p["metadata"]["name"] for p in pods for a in p["status"]["podIPs"][1:]}
    four = {p["status"]["podIPs"][0]["ip"]: p["metadata"]["name"] for p in pods}
    for target in (f"[{v6}]:80", f"[{v6}]:80/TCP"):
        doc = ns.kinspect_json("trace", target, "-n", ns.name)
        (route,) = doc["routes"]
        assert (route["entry"]["kind"], route["entry"]["address"]) == ("ClusterIP", v6)
        # An IPv6 frontend is DNATed to the IPv6 endpoints only.
        assert {b["address"]: b["pod"]["name"] for b in route["backends"]} == six
    (route,) = ns.kinspect_json("trace", f"{v4}:80", "-n", ns.name)["routes"]
    assert {b["address"]: b["pod"]["name"] for b in route["backends"]} == four
    # Bare IPv6 without a port: what it is.
    bare = ns.kinspect_json("trace", v6, "-n", ns.name)
    assert [(m["kind"], m["service"]) for m in bare["matches"]] == [
        ("ClusterIP", f"{ns.name}/dual")
    ]
    # The wrong protocol: nothing receives it, and the hint says so.
    udp = ns.kinspect("trace", f"[{v6}]:80/UDP", "-n", ns.name, expect=6).stdout
    assert "not UDP" in udp
    # A pod's IPv6 address (its second, which status.podIP does not carry) is that pod.
    ip, name = next(iter(six.items()))
    pod = ns.kinspect_json("trace", ip, "-n", ns.name)
    assert [(m["kind"], m["pod"]["name"]) for m in pod["matches"]] == [("PodIP", name)]
    text = ns.kinspect("trace", f"[{v6}]:80", "-n", ns.name).stdout
    assert text.splitlines()[0] == f"[{v6}]:80"
    assert f"[{ip}]:8080" in text


def test_nodeport_on_ipv6_node_addresses_follows_the_families(ns: Namespace) -> None:
    _world(ns)
    nodes = _node_ips(ns)
    node6 = next(a for _, a in nodes if _family(a) == "IPv6")
    np = {n: ns.get("service", n)["spec"]["ports"][0]["nodePort"] for n in ("dual", "six", "four")}
    six = {a["ip"] for p in ns.get("pods", "-l", "app=web")["items"] for a in p["status"]["podIPs"]}
    six = {ip for ip in six if _family(ip) == "IPv6"}
    for name in ("dual", "six"):
        (route,) = ns.kinspect_json("trace", f"[{node6}]:{np[name]}", "-A")["routes"]
        assert route["entry"]["kind"] == "NodePort"
        assert {b["address"] for b in route["backends"]} == six
    # A SingleStack IPv4 service opens no nodePort on the node's IPv6 address (kube-proxy's
    # IPv6 proxier ignores a service without an IPv6 ClusterIP).
    four = ns.kinspect_json("trace", f"[{node6}]:{np['four']}", "-A", expect=6)
    assert four["routes"] == []
    assert [h["message"] for h in four["hints"]] == [
        f"service {ns.name}/four has nodePort {np['four']} but is IPv4 only (SingleStack): "
        "kube-proxy opens it on the node's IPv4 addresses, not on this IPv6 one"
    ]


def _hops(doc: Any) -> list[tuple[str, str]]:
    return sorted((h["pod"]["name"], h["verdict"]) for h in doc["policy"]["hops"])


def test_from_verdicts_with_an_ipv6_ip_block(ns: Namespace) -> None:
    _world(ns)
    ns.apply(POLICY)
    v4, v6 = ns.get("service", "dual")["spec"]["clusterIPs"]
    webs = sorted(p["metadata"]["name"] for p in ns.get("pods", "-l", "app=web")["items"])
    client = ns.get("pod", "client")
    client_v6 = client["status"]["podIPs"][1]["ip"]
    assert _family(client_v6) == "IPv6"
    # The client pod speaks IPv6 to the IPv6 ClusterIP: its IPv6 address is in the block,
    # unless its node's IPv6 podCIDR is the excepted one.
    excepted = client["spec"]["nodeName"] == "kwok-node-2"
    want = "denied" if excepted else "allowed"
    by_pod = ns.kinspect_json("trace", f"[{v6}]:80", "--from", f"{ns.name}/client", "-A")
    assert _hops(by_pod) == [(w, want) for w in webs]
    # By its IPv6 address: that pod (found although status.podIP holds its IPv4).
    by_ip = ns.kinspect("trace", f"[{v6}]:80", "--from", client_v6, "-n", ns.name).stdout
    assert f"policy from {ns.name}/client (by policy" in by_ip
    # Over IPv4 the same pod is outside the IPv6 block.
    over_v4 = ns.kinspect_json("trace", f"{v4}:80", "--from", f"{ns.name}/client", "-A")
    assert _hops(over_v4) == [(w, "denied") for w in webs]
    # Addresses: inside the block, inside its except.
    inside = ns.kinspect_json("trace", f"[{v6}]:80", "--from", "fd00:10:244:7::1", "-A")
    assert _hops(inside) == [(w, "allowed") for w in webs]
    excepted_ip = ns.kinspect_json("trace", f"[{v6}]:80", "--from", "fd00:10:244:2::99", "-A")
    assert _hops(excepted_ip) == [(w, "denied") for w in webs]


def test_ips_lists_both_families(ns: Namespace) -> None:
    _world(ns)
    doc = ns.kinspect_json("ips", "-n", ns.name)
    cluster = {c["service"]: c["clusterIPs"] for c in doc["clusterIPs"]}
    assert cluster[f"{ns.name}/dual"] == ns.get("service", "dual")["spec"]["clusterIPs"]
    pods = {p["name"]: p["podIPs"] for p in doc["pods"]}
    for p in ns.get("pods")["items"]:
        assert pods[p["metadata"]["name"]] == [a["ip"] for a in p["status"]["podIPs"]]
        assert {_family(a["ip"]) for a in p["status"]["podIPs"]} == {"IPv4", "IPv6"}
    for n in doc["nodes"]:
        families = {_family(a["address"]) for a in n["addresses"] if a["type"] == "InternalIP"}
        assert families == {"IPv4", "IPv6"}
        assert {_family(c.split("/")[0]) for c in n["podCIDRs"]} == {"IPv4", "IPv6"}
    text = ns.kinspect("ips", "-n", ns.name).stdout
    v6 = ns.get("service", "dual")["spec"]["clusterIPs"][1]
    assert v6 in text
