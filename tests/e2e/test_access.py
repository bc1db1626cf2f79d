"""Credentials and RBAC: refused reads are named, optional ones degrade with a warning."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from .conftest import KINSPECT, Namespace

READ = ["get", "list", "watch"]
SERVICE = (
    "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"
    "spec: {selector: {app: web}, ports: [{name: http, port: 80, targetPort: 8080}]}\n"
    "---\napiVersion: v1\nkind: Pod\nmetadata: {name: web-0, labels: {app: web}}\n"
    "spec: {containers: [{name: app, image: registry.k8s.io/pause:3.10,"
    " ports: [{containerPort: 8080}]}]}\n"
)


def _kinspect(kubeconfig: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*KINSPECT, *args, "--kubeconfig", kubeconfig],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1"},
    )


def _endpoints_ready(ns: Namespace) -> bool:
    eps = ns.get("endpointslices", "-l", "kubernetes.io/service-name=web")["items"]
    return any(e.get("endpoints") for e in eps)


def test_namespace_rbac_without_slices_falls_back_to_endpoints(
    ns: Namespace, tmp_path: Path
) -> None:
    ns.apply(SERVICE)
    ns.wait_until("web's endpoints", lambda: _endpoints_ready(ns))
    kc = ns.restricted_kubeconfig(
        str(tmp_path),
        [
            {"apiGroups": [""], "resources": ["services", "pods", "endpoints"], "verbs": READ},
        ],
    )
    proc = _kinspect(kc, "map", "-o", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["endpointSource"] == "Endpoints"
    (web,) = doc["services"]
    (b,) = web["ports"][0]["backends"]
    assert (b["pod"]["name"], b["port"], b["container"]) == ("web-0", 8080, "app")
    # Nodes are cluster-scoped: a namespace Role cannot read them, and kinspect says so.
    assert any("may not list nodes" in w for w in doc["warnings"])
    assert any("may not list endpointslices" in w for w in doc["warnings"])
    assert "warning:" in proc.stderr


def test_forbidden_pods_is_one_line_naming_verb_and_resource(ns: Namespace, tmp_path: Path) -> None:
    kc = ns.restricted_kubeconfig(
        str(tmp_path),
        [
            {"apiGroups": [""], "resources": ["services"], "verbs": READ},
        ],
    )
    proc = _kinspect(kc, "map")
    assert proc.returncode == 5, proc.stderr
    assert proc.stderr.count("\n") == 1
    assert f"may not list pods in namespace {ns.name} (403 Forbidden)" in proc.stderr


def test_all_namespaces_with_namespace_rbac_is_refused_clearly(
    ns: Namespace, tmp_path: Path
) -> None:
    kc = ns.restricted_kubeconfig(
        str(tmp_path),
        [
            {"apiGroups": [""], "resources": ["services", "pods", "endpoints"], "verbs": READ},
        ],
    )
    proc = _kinspect(kc, "map", "-A")
    assert proc.returncode == 5, proc.stderr
    assert "in all namespaces (403 Forbidden)" in proc.stderr
    assert "-n NAMESPACE" in proc.stderr


def test_bad_token_is_401(ns: Namespace, tmp_path: Path) -> None:
    kc = ns.restricted_kubeconfig(str(tmp_path), [])
    text = Path(kc).read_text()
    doc = json.loads(text)
    doc["users"][0]["user"]["token"] = "not-a-valid-token"
    Path(kc).write_text(json.dumps(doc))
    proc = _kinspect(kc, "map")
    assert proc.returncode == 5, proc.stderr
    assert "rejected the credentials" in proc.stderr
    assert "not-a-valid-token" not in proc.stderr
    # audit narrows a refused (403) cluster-wide read to the context's namespace, but a
    # rejected credential (401) reads nothing anywhere: it is the command's failure.
    proc = _kinspect(kc, "audit", "-A")
    assert proc.returncode == 5, proc.stderr
    assert "rejected the credentials" in proc.stderr
    assert "only" not in proc.stderr


def test_untrusted_server_certificate_is_one_line_unreachable(
    ns: Namespace, tmp_path: Path
) -> None:
    kc = ns.restricted_kubeconfig(str(tmp_path), [])
    doc = json.loads(Path(kc).read_text())
    cluster = doc["clusters"][0]["cluster"]
    cluster.pop("insecure-skip-tls-verify", None)
    cluster.pop("certificate-authority-data", None)
    # A CA that did not sign the API server's certificate: the test bed's client certificate.
    view = ns.cluster.kubeconfig_view()
    user = view["users"][0]["user"]
    if "client-certificate" in user:
        cluster["certificate-authority"] = user["client-certificate"]
    else:
        cluster["certificate-authority-data"] = user["client-certificate-data"]
    Path(kc).write_text(json.dumps(doc))
    proc = _kinspect(kc, "map")
    assert proc.returncode == 4, proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert "TLS handshake" in proc.stderr
    assert "CA" in proc.stderr
