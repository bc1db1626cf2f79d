"""Issue 23 item 2 on a real API server: an Ingress's first hop, through its controller.

The shape of ingress-nginx's baremetal manifest (deploy/static/provider/baremetal/deploy.yaml):
a Deployment ingress-nginx-controller whose pods declare containerPorts http 80 and https 443,
a Service of type NodePort (http 80 → http, https 443 → https; the API allocates the nodePorts),
an IngressClass for controller k8s.io/ingress-nginx, and an Ingress whose status holds a node's
InternalIP (written here, as no controller runs). Every address is data: nothing is dialled.
The IngressClass is cluster-scoped: named after the namespace, deleted in a `finally`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ..schema import validate
from .conftest import Cluster, Namespace, new_namespace

CTL = "app.kubernetes.io/name: ingress-nginx, app.kubernetes.io/component: controller"


def _manifest(klass: str) -> str:
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: ingress-nginx-controller}}
spec:
  replicas: 1
  selector: {{matchLabels: {{{CTL}}}}}
  template:
    metadata: {{labels: {{{CTL}}}}}
    spec:
      containers:
        - name: controller
          image: registry.k8s.io/ingress-nginx/controller:v1.12.1
          ports:
            - {{name: http, containerPort: 80, protocol: TCP}}
            - {{name: https, containerPort: 443, protocol: TCP}}
---
apiVersion: v1
kind: Service
metadata: {{name: ingress-nginx-controller}}
spec:
  type: NodePort
  selector: {{{CTL}}}
  ports:
    - {{name: http, port: 80, protocol: TCP, targetPort: http, appProtocol: http}}
    - {{name: https, port: 443, protocol: TCP, targetPort: https, appProtocol: https}}
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {{name: {klass}}}
spec: {{controller: k8s.io/ingress-nginx}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: productpage}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: productpage}}}}
  template:
    metadata: {{labels: {{app: productpage}}}}
    spec:
      containers:
        - {{name: productpage, image: x, ports: [{{name: http, containerPort: 9080}}]}}
---
apiVersion: v1
kind: Service
metadata: {{name: productpage}}
spec:
  selector: {{app: productpage}}
  ports: [{{name: http, port: 9080, targetPort: 9080}}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: bookinfo}}
spec:
  ingressClassName: {klass}
  rules:
    - host: bookinfo.example.com
      http:
        paths:
          - path: /productpage
            pathType: Prefix
            backend: {{service: {{name: productpage, port: {{number: 9080}}}}}}
"""


@pytest.fixture(scope="module")
def bed(cluster: Cluster) -> Iterator[tuple[Namespace, str]]:
    with new_namespace(cluster) as ns:
        klass = f"nginx-{ns.name}"
        try:
            ns.apply(_manifest(klass))
            node = ns.get("nodes", "kwok-node-0")
            addrs = node["status"]["addresses"]
            ip = next(a["address"] for a in addrs if a["type"] == "InternalIP")
            ns.kubectl(
                "patch", "ingress", "bookinfo", "--subresource=status", "--type=merge",
                "-p", f'{{"status":{{"loadBalancer":{{"ingress":[{{"ip":"{ip}"}}]}}}}}}',
            )  # fmt: skip
            ns.wait_settled(pods=2, seconds=120)
            yield ns, klass
        finally:
            ns.kubectl("delete", "ingressclass", klass, "--ignore-not-found", check=False)


def _status_ip(ns: Namespace) -> str:
    ip: str = ns.get("ingress", "bookinfo")["status"]["loadBalancer"]["ingress"][0]["ip"]
    return ip


def _node_port(ns: Namespace, name: str) -> int:
    svc = ns.get("service", "ingress-nginx-controller")
    port: int = next(p["nodePort"] for p in svc["spec"]["ports"] if p["name"] == name)
    return port


def _pod(ns: Namespace, app: str) -> dict[str, Any]:
    label = f"app.kubernetes.io/name={app}" if "nginx" in app else f"app={app}"
    [p] = ns.get("pods", "-l", label)["items"]
    return p  # type: ignore[no-any-return]


def _trace(ns: Namespace, *args: str, expect: int = 0) -> dict[str, Any]:
    doc: dict[str, Any] = ns.kinspect_json("trace", *args, "-n", ns.name, expect=expect)
    validate(doc, "entry-trace-report.json")
    return doc


def test_url_through_the_nodeport_enters_the_controller_then_the_rule(
    bed: tuple[Namespace, str],
) -> None:
    ns, _ = bed
    ip, http = _status_ip(ns), _node_port(ns, "http")
    ctl, page = _pod(ns, "ingress-nginx"), _pod(ns, "productpage")
    url = f"http://{ip}:{http}/productpage"
    doc = _trace(ns, url, "--host", "bookinfo.example.com")
    assert doc["found"] is True
    fh = doc["firstHop"]
    assert fh["received"] is True
    assert fh["controller"]["services"] == [
        {"namespace": ns.name, "name": "ingress-nginx-controller"}
    ]
    [rc] = fh["receivers"]
    [route] = rc["trace"]["routes"]
    assert route["entry"]["kind"] == "NodePort"
    assert (route["entry"]["address"], route["entry"]["port"]) == (ip, http)
    [b] = route["backends"]
    assert (b["address"], b["port"], b["pod"]["name"]) == (
        ctl["status"]["podIP"],
        80,
        ctl["metadata"]["name"],
    )
    m = doc["match"]
    assert (m["ingress"]["name"], m["host"], m["path"]) == (
        "bookinfo",
        "bookinfo.example.com",
        "/productpage",
    )
    [pb] = m["servicePort"]["backends"]
    assert (pb["address"], pb["port"]) == (page["status"]["podIP"], 9080)
    # The text: the controller hop, then the rule, then productpage's endpoint.
    out = ns.kinspect("trace", url, "--host", "bookinfo.example.com", "-n", ns.name).stdout
    print(out)
    hop = out.index(f"NodePort {ip}:{http} → service {ns.name}/ingress-nginx-controller")
    rule = out.index(f"Ingress {ns.name}/bookinfo")
    assert hop < rule < out.index(f"{page['status']['podIP']}:9080")


def _api_receives(ns: Namespace, ip: str, port: int) -> bool:
    """Whether the API shows something receiving ip:port: a Service holding the address on that
    port (load balancer, externalIP), or a pod on the node with that hostPort, or a hostNetwork
    pod declaring it. In every namespace: other tests run beside this one."""
    for svc in ns.get("services", "-A")["items"]:
        held = {*svc["spec"].get("externalIPs", [])} | {
            i.get("ip") for i in svc.get("status", {}).get("loadBalancer", {}).get("ingress", [])
        }
        if ip in held and any(p["port"] == port for p in svc["spec"].get("ports", [])):
            return True
    node = next(
        n["metadata"]["name"]
        for n in ns.get("nodes")["items"]
        if any(a["address"] == ip for a in n["status"]["addresses"])
    )
    for p in ns.get("pods", "-A", "--field-selector", f"spec.nodeName={node}")["items"]:
        for c in p["spec"]["containers"]:
            for cp in c.get("ports", []):
                if cp.get("hostPort") == port or (
                    p["spec"].get("hostNetwork") and cp["containerPort"] == port
                ):
                    return True
    return False


def test_url_on_the_host_name_checks_what_receives_port_80_on_the_node(
    bed: tuple[Namespace, str],
) -> None:
    ns, _ = bed
    ip, http = _status_ip(ns), _node_port(ns, "http")
    url = "http://bookinfo.example.com/productpage"
    # Every namespace read (-A, the default of trace): what the API shows decides.
    want = _api_receives(ns, ip, 80)
    doc = ns.kinspect_json("trace", url, expect=0 if want else 6)
    validate(doc, "entry-trace-report.json")
    assert doc["match"]["ingress"]["name"] == "bookinfo"
    assert doc["firstHop"]["received"] is want
    [rc] = doc["firstHop"]["receivers"]
    assert (rc["address"], rc["port"], rc["known"], rc["received"]) == (ip, 80, True, want)
    plain = ns.kinspect_json("trace", f"{ip}:80", expect=0 if want else 6)
    assert plain["found"] is want
    if not want:
        out = ns.kinspect("trace", url, expect=6).stdout
        print(out)
        assert "nothing receives port 80 on this address" in out
    # With -n only this namespace is read: nothing read receives it, the rest is unknown.
    doc = _trace(ns, url)
    assert doc["firstHop"]["received"] is None
    assert doc["firstHop"]["unread"].startswith(f"unknown, because only namespace {ns.name}")
    out = ns.kinspect("trace", url, "-n", ns.name).stdout
    print(out)
    assert "nothing read receives port 80 on this address; unknown, because only" in out
    assert f"80→nodePort {http}" in out


def test_from_judges_the_hop_into_the_controller_pods(bed: tuple[Namespace, str]) -> None:
    ns, _ = bed
    ip, http = _status_ip(ns), _node_port(ns, "http")
    ctl, page = _pod(ns, "ingress-nginx"), _pod(ns, "productpage")
    doc = _trace(
        ns, f"http://{ip}:{http}/productpage", "--host", "bookinfo.example.com",
        "--from", "outside",
    )  # fmt: skip
    hops = doc["policy"]["hops"]
    first = [h for h in hops if "controller's service" in h["via"]]
    assert [(h["pod"]["name"], h["port"]) for h in first] == [(ctl["metadata"]["name"], 80)]
    assert first[0]["verdict"] == "allowed"  # no NetworkPolicy in the namespace
    second = [h for h in hops if "(from the controller)" in h["via"]]
    assert [(h["pod"]["name"], h["port"]) for h in second] == [(page["metadata"]["name"], 9080)]
    text = ns.kinspect(
        "trace", f"http://{ip}:{http}/productpage", "--host", "bookinfo.example.com",
        "--from", "outside", "-n", ns.name,
    ).stdout  # fmt: skip
    print(text)
    assert f"allowed  {ns.name}/{ctl['metadata']['name']}:80/TCP  via the controller's" in text


def test_map_entrypoints_shows_the_controller(bed: tuple[Namespace, str]) -> None:
    ns, _ = bed
    doc = ns.kinspect_json("map", "--entrypoints", "-n", ns.name)
    [e] = [e for e in doc["entrypoints"] if e["name"] == "bookinfo"]
    assert e["controller"]["services"] == [
        {"namespace": ns.name, "name": "ingress-nginx-controller"}
    ]
    table = ns.kinspect("map", "--entrypoints", "-n", ns.name).stdout
    print(table)
    assert f"{ns.name}/ingress-nginx-controller" in table.splitlines()[1]


def test_another_nodes_nodeport_reaches_the_rules_of_that_controller(
    bed: tuple[Namespace, str],
) -> None:
    ns, _ = bed
    http = _node_port(ns, "http")
    node = ns.get("nodes", "kwok-node-1")
    other = next(a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP")
    assert other != _status_ip(ns)  # not in the Ingress's status: reached through the controller
    doc = _trace(ns, f"{other}:{http}", "--host", "bookinfo.example.com", "--path", "/productpage")
    assert doc["found"] is True
    assert doc["behind"] == (
        f"{other}:{http} enters {ns.name}/ingress-nginx-controller, the controller of 1 Ingress"
    )
    assert doc["match"]["ingress"]["name"] == "bookinfo"
    # Without --host the trace stops at the controller's pods, and says what --host would add.
    plain = ns.kinspect_json("trace", f"{other}:{http}", "-n", ns.name)
    assert [h["message"] for h in plain["hints"] if "--host" in h["message"]] == [
        f"{ns.name}/ingress-nginx-controller is the ingress controller of 1 Ingress (hosts "
        "bookinfo.example.com): add --host HOST to follow a request through its rules"
    ]


def test_the_picture_starts_at_the_host_and_path_through_the_controller(
    bed: tuple[Namespace, str],
) -> None:
    ns, _ = bed
    out = ns.kinspect("map", "-n", ns.name, "-o", "mermaid").stdout
    assert f'{{{{"controller {ns.name}/ingress-nginx-controller"}}}}' in out
    assert f"Ingress {ns.name}/bookinfo: bookinfo.example.com /productpage #40;Prefix#41;" in out
