"""One problem, one finding (issue 23, item 4): a CoreDNS-shaped service of three ports whose
second pod the scheduler refuses gives one selected-pod-not-endpoint finding, listing the ports.
"""

from __future__ import annotations

from .conftest import Namespace

POD = """
apiVersion: v1
kind: Pod
metadata: {{name: {name}, labels: {{k8s-app: kube-dns}}}}
spec:
  {extra}
  containers:
    - name: coredns
      image: registry.k8s.io/coredns/coredns:v1.12.0
      ports:
        - {{name: dns, containerPort: 53, protocol: UDP}}
        - {{name: dns-tcp, containerPort: 53, protocol: TCP}}
        - {{name: metrics, containerPort: 9153, protocol: TCP}}
"""
SERVICE = """
apiVersion: v1
kind: Service
metadata: {name: kube-dns}
spec:
  selector: {k8s-app: kube-dns}
  ports:
    - {name: dns, port: 53, protocol: UDP, targetPort: 53}
    - {name: dns-tcp, port: 53, protocol: TCP, targetPort: 53}
    - {name: metrics, port: 9153, protocol: TCP, targetPort: 9153}
"""


def test_an_idle_pod_is_one_finding_listing_its_ports(ns: Namespace) -> None:
    ns.apply(
        SERVICE
        + "---"
        + POD.format(name="coredns-a", extra="")
        + "---"
        + POD.format(name="coredns-b", extra="nodeSelector: {no-such-label: x}")
    )
    ns.wait_settled(pods=2)
    assert not ns.get("pod", "coredns-b")["spec"].get("nodeName")
    doc = ns.kinspect_json("audit", "-n", ns.name)
    got = [f for f in doc["findings"] if f["check"] == "selected-pod-not-endpoint"]
    assert [(f["service"], f["port"], f["message"]) for f in got] == [
        (
            "kube-dns",
            None,
            "1 selected pod receives no traffic on dns 53/UDP, dns-tcp 53/TCP, metrics 9153/TCP",
        )
    ]
    # Issue 23, item 3: why, in the scheduler's own words, as the API shows them.
    (cond,) = [
        c for c in ns.get("pod", "coredns-b")["status"]["conditions"] if c["type"] == "PodScheduled"
    ]
    said = f"{cond['reason']}: {cond['message']}"
    assert "didn't match Pod's node affinity/selector" in said
    assert got[0]["pods"] == [f"{ns.name}/coredns-b (pending: not scheduled ({said}))"]
    text = ns.kinspect("map", "kube-dns", "-n", ns.name).stdout
    assert f"pending: not scheduled ({said})" in " ".join(text.split())
