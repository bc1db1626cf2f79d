"""Issue 13 on a real API server: `trace URL` through the demo's Ingresses, and their checks.

The demo (examples/apply.sh → examples/entry.yaml) has Ingress `shop` (class kinspect-demo,
status address 203.0.113.20: data, never dialed) and the broken Ingress `legacy`. Every pod and
port kinspect names is compared with what the API server says.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..schema import validate
from .conftest import KINSPECT, Cluster, Namespace, new_namespace

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo(cluster: Cluster) -> Iterator[Namespace]:
    with new_namespace(cluster) as ns:
        ns.apply_demo()
        ns.wait_until(
            "shop's endpoint and the Ingress address",
            lambda: bool(
                ns.get("ingress", "shop")["status"].get("loadBalancer", {}).get("ingress")
                and any(
                    e.get("conditions", {}).get("ready")
                    for s in ns.get("endpointslices", "-l", "kubernetes.io/service-name=shop")[
                        "items"
                    ]
                    for e in s.get("endpoints") or []
                )
            ),
            seconds=120,
        )
        yield ns


def _trace(ns: Namespace, *args: str, expect: int = 0) -> dict[str, Any]:
    doc: dict[str, Any] = ns.kinspect_json("trace", *args, "-n", ns.name, expect=expect)
    validate(doc, "entry-trace-report.json")
    return doc


def test_url_reaches_the_pod_and_container_the_api_server_has(demo: Namespace) -> None:
    doc = _trace(demo, "http://shop.example.com/api/orders")
    m = doc["match"]
    assert (m["ingress"]["name"], m["host"], m["path"], m["pathType"]) == (
        "shop",
        "shop.example.com",
        "/api",
        "Prefix",
    )
    assert (m["tls"], m["tlsSecretName"]) == (True, "shop-tls")
    (b,) = m["servicePort"]["backends"]
    shop = demo.get("pod", "shop-0")
    assert b["address"] == shop["status"]["podIP"]
    assert (b["pod"]["name"], b["ready"]) == ("shop-0", True)
    declared = {
        (c["name"], p["containerPort"])
        for c in shop["spec"]["containers"] + shop["spec"].get("initContainers", [])
        for p in c.get("ports", [])
    }
    assert (b["container"], b["containerPort"]["port"]) == ("app", 8000)
    assert ("app", 8000) in declared
    text = demo.kinspect("trace", "http://shop.example.com/api/orders", "-n", demo.name).stdout
    assert "Ingress " + demo.name + "/shop" in text
    assert "container app:8000 (http)/TCP" in text


def test_exact_beats_prefix_through_the_ingress_address(demo: Namespace) -> None:
    doc = _trace(demo, "203.0.113.20:443", "--host", "shop.example.com", "--path", "/api/health")
    m = doc["match"]
    assert (m["path"], m["pathType"], m["servicePort"]["port"]) == ("/api/health", "Exact", 9090)
    (b,) = m["servicePort"]["backends"]
    assert (b["container"], b["port"]) == ("metrics-proxy", 15090)


def test_prefix_is_element_wise_and_wildcards_cover_one_label(demo: Namespace) -> None:
    m = _trace(demo, "http://shop.example.com/apix")["match"]
    assert (m["path"], m["backend"]["service"]) == ("/", "web")
    m = _trace(demo, "http://a.example.com/x")["match"]
    assert (m["host"], m["hostMatch"]) == ("*.example.com", "wildcard")
    # Two labels under the wildcard: no rule, the defaultBackend (web) answers.
    m = _trace(demo, "http://a.b.example.com/x")["match"]
    assert m["defaultBackend"] is True
    assert m["backend"]["service"] == "web"


def test_broken_paths_say_why_and_exit_not_found(demo: Namespace) -> None:
    doc = _trace(demo, "http://legacy.example.com/db", expect=6)
    assert (
        doc["match"]["backend"]["problem"]
        == f"service {demo.name}/db has no port 80 (ports: 5432 (pg))"
    )
    assert doc["match"]["class"] == {
        "name": "no-such-class",
        "source": "annotation",
        "defined": False,
    }
    doc = _trace(demo, "203.0.113.99:80", "--host", "shop.example.com", expect=6)
    assert doc["whyNot"] == "no Ingress has the address 203.0.113.99 (status.loadBalancer.ingress)"


def test_audit_reports_the_broken_ingress(demo: Namespace) -> None:
    doc = demo.kinspect_json("audit", "-n", demo.name)
    got = sorted(
        (f["check"], f["message"]) for f in doc["findings"] if f["check"].startswith("ingress-")
    )
    assert got == [
        (
            "ingress-backend-missing",
            f"Ingress legacy legacy.example.com/ (Prefix): service {demo.name}/gone not found",
        ),
        (
            "ingress-backend-missing",
            f"Ingress legacy legacy.example.com/db (Prefix): service {demo.name}/db has no "
            "port 80 (ports: 5432 (pg))",
        ),
        (
            "ingress-class-missing",
            "Ingress legacy has kubernetes.io/ingress.class no-such-class, which no IngressClass "
            "defines (only a controller that reads the legacy annotation serves it)",
        ),
    ]


def test_forbidden_ingresses_are_one_warning_and_the_rest_is_shown(
    demo: Namespace, tmp_path: Path
) -> None:
    read = ["get", "list", "watch"]
    kc = demo.restricted_kubeconfig(
        str(tmp_path),
        [
            {"apiGroups": [""], "resources": ["services", "pods", "endpoints"], "verbs": read},
            {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": read},
        ],
    )
    proc = subprocess.run(
        [*KINSPECT, "trace", "http://shop.example.com/api", "-n", demo.name, "--kubeconfig", kc],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert proc.returncode == 6, proc.stderr
    assert "may not list ingresses" in proc.stderr
    assert "Ingress entry points are not shown" in proc.stderr
    assert "no Ingress answers" in proc.stdout
    proc = subprocess.run(
        [*KINSPECT, "map", "-n", demo.name, "--kubeconfig", kc],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "shop" in proc.stdout
