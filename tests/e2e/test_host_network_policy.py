"""A policy over hostNetwork pods (issue 23, item 1), in kube-prometheus's node-exporter shape.

A DaemonSet of hostNetwork pods behind a headless Service, and a NetworkPolicy that admits its
port only from Prometheus pods (none here). NetworkPolicy on hostNetwork pods is left to the
network plugin, so `trace --from` says unknown; the audit must not call the port unreachable.
"""

from __future__ import annotations

from .conftest import Namespace

PORT = 19100  # node-exporter's 9100, moved off the demo's hostPort 9100: no clash between tests
MANIFEST = f"""
apiVersion: apps/v1
kind: DaemonSet
metadata: {{name: node-exporter, labels: {{app.kubernetes.io/name: node-exporter}}}}
spec:
  selector: {{matchLabels: {{app.kubernetes.io/name: node-exporter}}}}
  template:
    metadata: {{labels: {{app.kubernetes.io/name: node-exporter}}}}
    spec:
      hostNetwork: true
      hostPID: true
      containers:
        - name: kube-rbac-proxy
          image: quay.io/brancz/kube-rbac-proxy:v0.18.1
          ports: [{{name: https, containerPort: {PORT}, hostPort: {PORT}}}]
---
apiVersion: v1
kind: Service
metadata: {{name: node-exporter}}
spec:
  clusterIP: None
  selector: {{app.kubernetes.io/name: node-exporter}}
  ports: [{{name: https, port: {PORT}, targetPort: https}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: client, labels: {{app: client}}}}
spec: {{containers: [{{name: app, image: registry.k8s.io/pause:3.10}}]}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: node-exporter}}
spec:
  podSelector: {{matchLabels: {{app.kubernetes.io/name: node-exporter}}}}
  policyTypes: [Egress, Ingress]
  egress: [{{}}]
  ingress:
    - from: [{{podSelector: {{matchLabels: {{app.kubernetes.io/name: prometheus}}}}}}]
      ports: [{{port: {PORT}, protocol: TCP}}]
"""


def test_the_audit_agrees_with_the_unknown_verdict(ns: Namespace) -> None:
    ns.apply(MANIFEST)
    nodes = len(ns.kubectl("get", "nodes", "-o", "name").split())
    ns.wait_settled(pods=nodes + 1)
    exporters = [
        p
        for p in ns.get("pods")["items"]
        if p["metadata"]["name"].startswith("node-exporter-") and p["status"].get("podIP")
    ]
    assert exporters
    assert all(p["spec"]["hostNetwork"] for p in exporters)
    ip = exporters[0]["status"]["podIP"]  # the node's IP
    doc = ns.kinspect_json("trace", f"{ip}:{PORT}", "--from", f"{ns.name}/client", "-n", ns.name)
    verdicts = {h["verdict"] for h in doc["policy"]["hops"]}
    assert verdicts == {"unknown"}, doc["policy"]
    audit = ns.kinspect_json("audit", "-n", ns.name)
    checks = {(f["check"], f["service"]) for f in audit["findings"]}
    assert ("service-port-unreachable", "node-exporter") not in checks
    assert not [f for f in audit["findings"] if f["severity"] == "error"], audit["findings"]
