"""Odd but legal data (issue 24, D5a, D5b, D12): what the API server or a kubeconfig accepts,
kinspect answers with the rest of the picture intact.

- D5a: an EndpointSlice targetRef whose namespace holds '/' (the API server does not validate
  targetRef) must never become part of a request path;
- D5b: an endpoint whose pod does not exist is the service's endpoint, pod missing, in trace as
  in map;
- D12: a context name holding a lone surrogate (a kubeconfig's "\\ud800") still saves.

Every address in the objects here is data (TEST-NET or pod ranges), never dialed.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from .conftest import KINSPECT, Cluster, Namespace


def test_snapshot_save_with_a_lone_surrogate_in_the_context_name(
    cluster: Cluster, ns: Namespace, tmp_path: Path
) -> None:
    view = cluster.kubeconfig_view()
    c, u = view["clusters"][0], view["users"][0]
    name = "bed-\ud800-x"  # JSON "\\ud800": YAML (the kubeconfig's reader) keeps it lone
    kc = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": name,
        "clusters": [c],
        "users": [u],
        "contexts": [{"name": name, "context": {"cluster": c["name"], "user": u["name"]}}],
    }
    kubeconfig = tmp_path / "odd.kubeconfig"
    kubeconfig.write_text(json.dumps(kc))  # ensure_ascii: the surrogate as an escape
    ns.apply("apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n")
    path = str(tmp_path / "snap.json.gz")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*KINSPECT, *args],
            capture_output=True,
            text=True,
            errors="replace",
            check=False,
            timeout=120,
        )

    saved = run("snapshot", "save", path, "-n", ns.name, "--kubeconfig", str(kubeconfig))
    assert saved.returncode == 0, saved.stderr
    # The file is kinspect's own again: the context is named, its lone surrogate as U+FFFD.
    doc = run("map", "--snapshot", path, "-n", ns.name, "-o", "json")
    assert doc.returncode == 0, doc.stderr
    report = json.loads(doc.stdout)
    assert report["context"] == "bed-\ufffd-x"
    assert [s["name"] for s in report["services"]] == ["web"]


ODD_NS = "odd/ns"  # a targetRef namespace the API server takes, and no namespace can have
ODD_IP, GONE_IP = "10.244.77.7", "10.244.77.8"  # data, never dialed


def _ready_endpoint(ns: Namespace, service: str) -> bool:
    slices = ns.get("endpointslices", "-l", f"kubernetes.io/service-name={service}")["items"]
    return any(
        (e.get("conditions") or {}).get("ready")
        for s in slices
        if s["metadata"]["name"] != f"{service}-odd"
        for e in s.get("endpoints") or []
    )


def _odd_slice(ns: Namespace, service: str, *endpoints: tuple[str, str, str]) -> None:
    """A hand-made slice of `service` (not the controller's: it keeps it), endpoints on 8080."""
    slice_ = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": f"{service}-odd", "labels": {"kubernetes.io/service-name": service}},
        "addressType": "IPv4",
        "endpoints": [
            {
                "addresses": [ip],
                "conditions": {"ready": True},
                "targetRef": {"kind": "Pod", "namespace": namespace, "name": name},
            }
            for ip, namespace, name in endpoints
        ],
        "ports": [{"port": 8080, "protocol": "TCP"}],
    }
    ns.apply(json.dumps(slice_))
    stored = ns.get("endpointslice", f"{service}-odd")["endpoints"]
    assert [e["targetRef"]["namespace"] for e in stored] == [e[1] for e in endpoints]


def _trace(ns: Namespace, *args: str) -> tuple[dict[str, Any], str]:
    proc = ns.kinspect("trace", *args, "-n", ns.name, "-o", "json")
    doc: dict[str, Any] = json.loads(proc.stdout)
    return doc, proc.stderr


def _missing(backends: list[dict[str, Any]], ip: str) -> dict[str, Any]:
    (b,) = [b for b in backends if b["address"] == ip]
    assert b["podFound"] is False
    return b


def test_a_target_ref_namespace_with_a_slash_never_reaches_a_request_path(ns: Namespace) -> None:
    """D5a: the trace answers (the endpoint's pod missing), with one warning naming the ref."""
    ns.apply(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: a, labels: {app: web}}\n"
        "spec: {containers: [{name: app, image: registry.k8s.io/pause:3.10, "
        "ports: [{containerPort: 8080}]}]}\n---\n"
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"
        "spec: {selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}\n---\n"
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: odd}\n"
        "spec: {rules: [{host: odd.example.com, http: {paths: [{path: /, pathType: Prefix, "
        "backend: {service: {name: web, port: {number: 80}}}}]}}]}\n"
    )
    ns.wait_until("pod a to be a ready endpoint of web", lambda: _ready_endpoint(ns, "web"))
    _odd_slice(ns, "web", (ODD_IP, ODD_NS, "ghost"))
    cluster_ip = ns.get("service", "web")["spec"]["clusterIP"]

    doc, err = _trace(ns, f"{ODD_IP}:8080")
    assert doc["found"] is True
    assert [m["kind"] for m in doc["matches"]] == ["EndpointAddress"]
    (hop,) = doc["direct"]
    assert (hop["via"], hop["service"]) == ("Endpoint", f"{ns.name}/web")
    assert hop["endpoint"]["pod"] == {"namespace": ODD_NS, "name": "ghost"}
    assert f"endpoint slice {ns.name}/web-odd of service {ns.name}/web names a pod" in err, err
    assert "its namespace 'odd/ns' is not a namespace name" in err, err

    doc, err = _trace(ns, ODD_IP)
    assert [m["kind"] for m in doc["matches"]] == ["EndpointAddress"]

    doc, err = _trace(ns, f"{cluster_ip}:80")
    (route,) = doc["routes"]
    _missing(route["backends"], ODD_IP)
    (a,) = [b for b in route["backends"] if b["address"] != ODD_IP]
    assert (a["pod"]["name"], a["podFound"]) == ("a", True)

    doc, err = _trace(ns, "http://odd.example.com/")
    backends = doc["match"]["servicePort"]["backends"]
    _missing(backends, ODD_IP)
    assert "a" in {b["pod"]["name"] for b in backends}


def test_an_endpoint_whose_pod_is_gone_is_the_services_in_trace_as_in_map(ns: Namespace) -> None:
    """D5b: map lists it as a backend (pod missing); trace of its address says the same."""
    ns.apply(
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"
        "spec: {ports: [{port: 80, targetPort: 8080}]}\n"
    )
    _odd_slice(ns, "web", (GONE_IP, ns.name, "gone"))
    chain = ns.kinspect_json("map", "-n", ns.name)
    (port,) = chain["services"][0]["ports"]
    gone = _missing(port["backends"], GONE_IP)
    assert gone["pod"] == {"namespace": ns.name, "name": "gone"}

    doc, _ = _trace(ns, f"{GONE_IP}:8080")
    assert doc["found"] is True
    (m,) = doc["matches"]
    assert (m["kind"], m["service"]) == ("EndpointAddress", f"{ns.name}/web")
    assert m["detail"] == f"endpoint of {ns.name}/web (pod {ns.name}/gone missing)"
    (hop,) = doc["direct"]
    assert hop["endpoint"]["pod"] == {"namespace": ns.name, "name": "gone"}
    text = ns.kinspect("trace", f"{GONE_IP}:8080", "-n", ns.name).stdout
    assert "nothing in this cluster owns" not in text
    assert f"endpoint of service {ns.name}/web port 80/TCP (pod {ns.name}/gone missing)" in text

    doc, _ = _trace(ns, GONE_IP)
    assert [m["kind"] for m in doc["matches"]] == ["EndpointAddress"]
