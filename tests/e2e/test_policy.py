"""NetworkPolicy verdicts from real NetworkPolicy objects read from the API server.

kwok enforces nothing: these tests check what kinspect reads and concludes (by policy), and
that policies it may not read make verdicts "unknown", never "allowed".
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from .conftest import KINSPECT, Namespace

READ = ["get", "list", "watch"]
WORLD = """
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{name: http, port: 80, targetPort: http}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-0, labels: {app: web}}
spec: {containers: [{name: app, image: registry.k8s.io/pause:3.10,
       ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: shop-0, labels: {app: shop}}
spec: {containers: [{name: app, image: registry.k8s.io/pause:3.10}]}
---
apiVersion: v1
kind: Pod
metadata: {name: db-0, labels: {app: db}}
spec: {containers: [{name: app, image: registry.k8s.io/pause:3.10}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
    - from: [{podSelector: {matchLabels: {app: shop}}}]
      ports: [{port: http}]
---
# No policyTypes and egress rules: the API server defaults them to [Ingress, Egress], so db-0
# is isolated for ingress too, and may only reach port 5432 anywhere.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-egress}
spec:
  podSelector: {matchLabels: {app: db}}
  egress: [{ports: [{port: 5432}]}]
"""


def _ready(ns: Namespace) -> bool:
    eps = ns.get("endpointslices", "-l", "kubernetes.io/service-name=web")["items"]
    pods = ns.get("pods")["items"]
    ips = all(p.get("status", {}).get("podIP") for p in pods)
    return ips and any(e.get("endpoints") for e in eps)


def _hops(doc: dict[str, Any]) -> list[tuple[str, str, int, str]]:
    return [
        (h["pod"]["name"], h["verdict"], h["port"], h["ingress"]["verdict"])
        for h in doc["policy"]["hops"]
    ]


def test_trace_from_reads_real_policies(ns: Namespace) -> None:
    ns.apply(WORLD)
    ns.wait_until("web's endpoints and pod IPs", lambda: _ready(ns))
    ip = ns.get("service", "web")["spec"]["clusterIP"]
    # The API server stored the defaulted policyTypes: kinspect reads them back.
    assert ns.get("networkpolicy", "db-egress")["spec"]["policyTypes"] == ["Ingress", "Egress"]
    ok = ns.kinspect_json("trace", f"{ip}:80", "--from", f"{ns.name}/shop-0", "-A")
    assert _hops(ok) == [("web-0", "allowed", 8080, "allowed")]
    (hop,) = ok["policy"]["hops"]
    assert hop["ingress"]["allowedBy"] == [
        {"namespace": ns.name, "policy": "web-from-shop", "direction": "ingress", "rule": 0}
    ]
    no = ns.kinspect_json("trace", f"{ip}:80", "--from", f"{ns.name}/db-0", "-A")
    (hop,) = no["policy"]["hops"]
    assert (hop["verdict"], hop["egress"]["verdict"], hop["ingress"]["verdict"]) == (
        "denied",
        "denied",  # db-egress admits only port 5432
        "denied",  # web-from-shop admits only shop
    )
    assert hop["egress"]["isolatedBy"] == [f"{ns.name}/db-egress"]
    # By pod IP, a pod is that pod; text says "by policy".
    shop_ip = ns.get("pod", "shop-0")["status"]["podIP"]
    text = ns.kinspect("trace", f"{ip}:80", "--from", shop_ip, "-A").stdout
    assert f"policy from {ns.name}/shop-0 (by policy" in text
    assert f"allowed  {ns.name}/web-0:8080/TCP" in text


def test_policies_that_cannot_be_read_are_unknown(ns: Namespace, tmp_path: Path) -> None:
    ns.apply(WORLD)
    ns.wait_until("web's endpoints and pod IPs", lambda: _ready(ns))
    ip = ns.get("service", "web")["spec"]["clusterIP"]
    kc = ns.restricted_kubeconfig(
        str(tmp_path),
        [
            {"apiGroups": [""], "resources": ["services", "pods"], "verbs": READ},
            {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": READ},
        ],
    )
    proc = subprocess.run(
        [
            *KINSPECT,
            "trace",
            f"{ip}:80",
            "-n",
            ns.name,
            "--from",
            f"{ns.name}/shop-0",
            "--kubeconfig",
            kc,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "networkpolicies" in proc.stderr
    assert "NetworkPolicy verdicts are unknown" in proc.stderr
    assert f"unknown  {ns.name}/web-0:8080/TCP" in proc.stdout
    assert "allowed " not in proc.stdout


def test_trace_from_a_namespace_and_from_nodes(ns: Namespace) -> None:
    ns.apply(WORLD)
    ns.wait_until("web's endpoints and pod IPs", lambda: _ready(ns))
    ip = ns.get("service", "web")["spec"]["clusterIP"]
    doc = ns.kinspect_json("trace", f"{ip}:80", "--from", ns.name, "-A")
    assert doc["policy"]["fromKind"] == "namespace"
    verdicts = {h["source"]: h["verdict"] for h in doc["policy"]["hops"]}
    assert verdicts == {
        f"{ns.name}/db-0": "denied",
        f"{ns.name}/shop-0": "allowed",
        f"{ns.name}/web-0": "denied",
    }
    # Node-originated: web-0's own node cannot be blocked; another node is seen by its address.
    home = ns.get("pod", "web-0")["spec"]["nodeName"]
    nodes = [n["metadata"]["name"] for n in ns.get("nodes")["items"]]
    other = next(n for n in nodes if n != home)
    own = ns.kinspect_json("trace", f"{ip}:80", "--from", f"node/{home}", "-A")
    [hop] = own["policy"]["hops"]
    assert (own["policy"]["fromKind"], hop["verdict"]) == ("node", "allowed")
    far = ns.kinspect_json("trace", f"{ip}:80", "--from", f"node/{other}", "-A")
    [hop] = far["policy"]["hops"]
    assert hop["verdict"] == "denied"
    assert any("implementation-defined" in n for n in hop["notes"])


CONTROLLER = """
apiVersion: v1
kind: Service
metadata: {name: ctrl}
spec:
  selector: {app: ctrl}
  externalIPs: [203.0.113.77]
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: ctrl-0, labels: {app: ctrl}}
spec: {containers: [{name: proxy, image: registry.k8s.io/pause:3.10,
       ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop}
spec:
  rules:
    - host: shop.example.com
      http:
        paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]
"""


def test_trace_url_from_goes_through_the_controller_pods(ns: Namespace) -> None:
    ns.apply(WORLD + "---" + CONTROLLER)
    status = '{"status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.77"}]}}}'
    ns.kubectl("patch", "ingress", "shop", "--subresource=status", "--type=merge", "-p", status)

    def ready() -> bool:
        eps = ns.get("endpointslices", "-l", "kubernetes.io/service-name=ctrl")["items"]
        return _ready(ns) and any(e.get("endpoints") for e in eps)

    ns.wait_until("web's and ctrl's endpoints", ready)
    url = "http://shop.example.com/"
    doc = ns.kinspect_json("trace", url, "--from", f"{ns.name}/db-0", "-n", ns.name)
    hops = [(h["pod"]["name"], h["source"], h["verdict"]) for h in doc["policy"]["hops"]]
    # db-0 may not open port 8080 (db-egress admits 5432 only); ctrl-0 is no shop pod.
    assert hops == [("ctrl-0", None, "denied"), ("web-0", f"{ns.name}/ctrl-0", "denied")]
    text = ns.kinspect("trace", url, "--from", "outside", "-n", ns.name).stdout
    assert (
        f"allowed  {ns.name}/ctrl-0:8080/TCP  via the controller's service {ns.name}/ctrl" in text
    )
    assert f"denied   {ns.name}/web-0:8080/TCP  via Ingress {ns.name}/shop to {ns.name}/web" in text


OPEN = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-open}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{}]
"""


def test_a_policy_that_admits_all_is_not_called_isolation(ns: Namespace) -> None:
    # Issue 23, item 5: argocd-server's shape, `ingress: [{}]`: selected, nothing denied.
    ns.apply(WORLD.split("---\napiVersion: networking.k8s.io/v1", maxsplit=1)[0] + "---" + OPEN)
    ns.wait_until("web's endpoints and pod IPs", lambda: _ready(ns))
    row = next(
        line for line in ns.kinspect("map", "-n", ns.name).stdout.splitlines() if "web-0" in line
    )
    assert row.rstrip().endswith("ready, policy admits all")
    tree = " ".join(
        ns.kinspect("map", "-n", ns.name, "-o", "tree").stdout.replace("│", " ").split()
    )
    assert f"ingress: policy {ns.name}/web-open admits every source on every port" in tree
    doc = ns.kinspect_json("map", "-n", ns.name)
    assert [
        (i["pod"]["name"], i["admitsAll"]) for i in doc["networkPolicies"]["ingressIsolated"]
    ] == [("web-0", True)]
