"""Issue 22, item 5: one port number, two protocols, read from the real API server.

A CoreDNS-like pod declares `dns 53/UDP` and `dns-tcp 53/TCP` and its Service has port 53 in
both protocols, as kube-dns does; a NetworkPolicy admits only UDP 53 (kwok enforces nothing:
the verdicts are what the policies say). `trace POD_IP:53` follows both container ports,
`/UDP` or `/TCP` only that one, and `--from` judges each protocol on its own.
"""

from __future__ import annotations

from typing import Any

from .conftest import Namespace

WORLD = """
apiVersion: v1
kind: Service
metadata: {name: dns}
spec:
  selector: {app: dns}
  ports:
    - {name: dns, port: 53, protocol: UDP, targetPort: dns}
    - {name: dns-tcp, port: 53, protocol: TCP, targetPort: dns-tcp}
---
apiVersion: v1
kind: Pod
metadata: {name: coredns-0, labels: {app: dns}}
spec:
  containers:
    - name: coredns
      image: registry.k8s.io/coredns/coredns:v1.12.0
      ports:
        - {name: dns, containerPort: 53, protocol: UDP}
        - {name: dns-tcp, containerPort: 53, protocol: TCP}
        - {name: metrics, containerPort: 9153, protocol: TCP}
---
apiVersion: v1
kind: Pod
metadata: {name: client, labels: {app: client}}
spec: {containers: [{name: app, image: registry.k8s.io/pause:3.10}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: dns-udp-only}
spec:
  podSelector: {matchLabels: {app: dns}}
  ingress: [{ports: [{port: 53, protocol: UDP}]}]
"""


def _world(ns: Namespace) -> tuple[str, str]:
    """Apply the world and wait for both slices' ports and the pod IPs; (pod IP, ClusterIP)."""
    ns.apply(WORLD)

    def ready() -> bool:
        eps = ns.get("endpointslices", "-l", "kubernetes.io/service-name=dns")["items"]
        ports = {(p["name"], p["protocol"]) for e in eps if e.get("endpoints") for p in e["ports"]}
        ips = all(p.get("status", {}).get("podIP") for p in ns.get("pods")["items"])
        return ips and ports == {("dns", "UDP"), ("dns-tcp", "TCP")}

    ns.wait_until("dns's endpoints in both protocols and the pod IPs", ready)
    pod_ip = ns.get("pod", "coredns-0")["status"]["podIP"]
    return pod_ip, ns.get("service", "dns")["spec"]["clusterIP"]


def _direct(doc: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    return [
        (d["protocol"], d["via"], d["containerPort"] and d["containerPort"]["name"])
        for d in doc["direct"]
    ]


def _verdicts(doc: dict[str, Any]) -> list[tuple[str, int, str, str]]:
    return [
        (h["pod"]["name"], h["port"], h["protocol"], h["verdict"]) for h in doc["policy"]["hops"]
    ]


def test_pod_ip_port_53_shows_both_protocols(ns: Namespace) -> None:
    pod_ip, _ = _world(ns)
    doc = ns.kinspect_json("trace", f"{pod_ip}:53", "-n", ns.name)
    assert doc["found"]
    assert doc["protocol"] is None
    assert _direct(doc) == [("UDP", "PodIP", "dns"), ("TCP", "PodIP", "dns-tcp")]
    text = ns.kinspect("trace", f"{pod_ip}:53", "-n", ns.name).stdout
    assert text.count(f"pod IP → pod {ns.name}/coredns-0") == 2
    assert "container coredns:53/UDP" in text
    assert "container coredns:53/TCP" in text


def test_pod_ip_port_53_udp_shows_only_udp(ns: Namespace) -> None:
    pod_ip, _ = _world(ns)
    doc = ns.kinspect_json("trace", f"{pod_ip}:53/UDP", "-n", ns.name)
    assert doc["protocol"] == "UDP"
    assert _direct(doc) == [("UDP", "PodIP", "dns")]
    text = ns.kinspect("trace", f"{pod_ip}:53/udp", "-n", ns.name).stdout
    assert text.splitlines()[0] == f"{pod_ip}:53/UDP"
    assert "53/TCP" not in text


def test_cluster_ip_follows_each_protocol_or_the_one_asked(ns: Namespace) -> None:
    _, cluster_ip = _world(ns)
    both = ns.kinspect_json("trace", f"{cluster_ip}:53", "-n", ns.name)
    assert [(r["port"]["protocol"], r["port"]["name"]) for r in both["routes"]] == [
        ("UDP", "dns"),
        ("TCP", "dns-tcp"),
    ]
    tcp = ns.kinspect_json("trace", f"{cluster_ip}:53/TCP", "-n", ns.name)
    [route] = tcp["routes"]
    assert (route["port"]["protocol"], route["entry"]["kind"]) == ("TCP", "ClusterIP")
    [b] = route["backends"]
    assert (b["protocol"], b["port"], b["containerPort"]["name"]) == ("TCP", 53, "dns-tcp")
    # A protocol the service lacks: nothing receives it (exit 6), and the hint names the others.
    sctp = ns.kinspect_json("trace", f"{cluster_ip}:53/SCTP", "-n", ns.name, expect=6)
    assert sctp["routes"] == []
    assert [h["message"] for h in sctp["hints"]] == [
        f"port 53 of service {ns.name}/dns is UDP, TCP: not SCTP (try :53/UDP)"
    ]


def test_from_a_pod_gives_a_verdict_per_protocol(ns: Namespace) -> None:
    pod_ip, cluster_ip = _world(ns)
    src = ("--from", f"{ns.name}/client", "-n", ns.name)
    direct = ns.kinspect_json("trace", f"{pod_ip}:53", *src)
    assert _verdicts(direct) == [
        ("coredns-0", 53, "UDP", "allowed"),
        ("coredns-0", 53, "TCP", "denied"),  # dns-udp-only admits UDP 53 alone
    ]
    routed = ns.kinspect_json("trace", f"{cluster_ip}:53", *src)
    assert _verdicts(routed) == _verdicts(direct)
    tcp = ns.kinspect_json("trace", f"{cluster_ip}:53/TCP", *src)
    assert _verdicts(tcp) == [("coredns-0", 53, "TCP", "denied")]
    text = ns.kinspect("trace", f"{pod_ip}:53", *src).stdout
    assert f"allowed  {ns.name}/coredns-0:53/UDP" in text
    assert f"denied   {ns.name}/coredns-0:53/TCP" in text


def test_a_bad_protocol_is_a_usage_error(ns: Namespace) -> None:
    proc = ns.kinspect("trace", "10.96.0.10:53/ICMP", "-n", ns.name, expect=2)
    assert proc.stderr.startswith("kinspect: error: bad protocol 'ICMP'")
    assert proc.stderr.count("\n") == 1
