"""Issue 22 item 6: no false answer when -n narrows the read.

An HTTPRoute in namespace A sends to a Service in namespace B, and a ReferenceGrant in B
permits it. `-n A` reads A; what the answer depends on in B (its ReferenceGrants, the backend
Service, its EndpointSlices and pods) is read narrowly, by namespace and name. A reader who may
not read B gets "unknown, because …", never "not permitted" or "not found".
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..schema import validate
from .conftest import KINSPECT, Cluster, Namespace, new_namespace
from .test_scope import _lists

READ = ["get", "list", "watch"]
HOST = "scope.example.net"


def _front(a: str, b: str) -> str:
    """A's Gateway and HTTPRoute, whose one backendRef is B's service web."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "List",
            "items": [
                {
                    "apiVersion": "gateway.networking.k8s.io/v1",
                    "kind": "Gateway",
                    "metadata": {"name": "gw"},
                    "spec": {
                        "gatewayClassName": "kinspect-scope",
                        "listeners": [
                            {"name": "http", "port": 80, "protocol": "HTTP", "hostname": HOST}
                        ],
                    },
                },
                {
                    "apiVersion": "gateway.networking.k8s.io/v1",
                    "kind": "HTTPRoute",
                    "metadata": {"name": "front"},
                    "spec": {
                        "parentRefs": [{"name": "gw"}],
                        "rules": [{"backendRefs": [{"name": "web", "namespace": b, "port": 80}]}],
                    },
                },
            ],
        }
    )


def _back(a: str) -> str:
    """B's service web, its pod, and the ReferenceGrant that lets A's HTTPRoutes in."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "List",
            "items": [
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {"name": "web"},
                    "spec": {
                        "selector": {"app": "web"},
                        "ports": [{"name": "http", "port": 80, "targetPort": 8080}],
                    },
                },
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {"name": "web-0", "labels": {"app": "web"}},
                    "spec": {
                        "containers": [
                            {
                                "name": "app",
                                "image": "registry.k8s.io/pause:3.10",
                                "ports": [{"containerPort": 8080}],
                            }
                        ]
                    },
                },
                {
                    "apiVersion": "gateway.networking.k8s.io/v1beta1",
                    "kind": "ReferenceGrant",
                    "metadata": {"name": "from-a"},
                    "spec": {
                        "from": [
                            {
                                "group": "gateway.networking.k8s.io",
                                "kind": "HTTPRoute",
                                "namespace": a,
                            }
                        ],
                        "to": [{"group": "", "kind": "Service", "name": "web"}],
                    },
                },
            ],
        }
    )


@pytest.fixture
def pair(cluster: Cluster, ns: Namespace) -> Iterator[tuple[Namespace, Namespace]]:
    with new_namespace(cluster) as b:
        b.apply(_back(ns.name))
        ns.apply(_front(ns.name, b.name))
        b.wait_settled(pods=1)
        yield ns, b


def _ref(doc: dict[str, Any]) -> dict[str, Any]:
    validate(doc, "entry-trace-report.json")
    refs: list[dict[str, Any]] = doc["gateway"]["match"]["backendRefs"]
    (ref,) = refs
    return ref


def test_trace_url_in_a_follows_the_permitted_backend_in_b(
    cluster: Cluster, pair: tuple[Namespace, Namespace]
) -> None:
    a, b = pair
    doc = a.kinspect_json("trace", f"http://{HOST}/", "-n", a.name)
    assert doc["found"] is True
    ref = _ref(doc)
    assert (ref["namespace"], ref["reason"], ref["problem"], ref["unknown"]) == (
        b.name,
        None,
        None,
        None,
    )
    (backend,) = ref["servicePort"]["backends"]
    pod = b.get("pod", "web-0")
    assert (backend["pod"]["namespace"], backend["pod"]["name"]) == (b.name, "web-0")
    assert backend["address"] == pod["status"]["podIP"]
    assert (backend["ready"], backend["container"]) == (True, "app")
    text = a.kinspect("trace", f"http://{HOST}/", "-n", a.name).stdout
    assert "ReferenceGrant" not in text, text
    # B was read narrowly: by name and label, and only the kinds the answer needs.
    lists = _lists(cluster.audit_log("how B was read"), b.name)
    # Where the test bed serves the network plugin's policy kinds (testbed/plugin-crds.sh, issue
    # 23), B's namespaced ones are read too, whole (Calico's and Antrea's `networkpolicies` share
    # the key of the NetworkPolicies' LIST, with the same query).
    assert lists.pop("ciliumnetworkpolicies", {}) == {}
    assert lists == {
        "services": {"fieldSelector": "metadata.name=web"},
        "endpointslices": {"labelSelector": "kubernetes.io/service-name=web"},
        "referencegrants": {},
        "pods": {"labelSelector": "app=web"},
        "namespaces": {"fieldSelector": f"metadata.name={b.name}"},
        "networkpolicies": {},
    }, lists


def test_audit_and_map_in_a_report_no_problem_that_was_not_looked_at(
    pair: tuple[Namespace, Namespace],
) -> None:
    a, b = pair
    doc = a.kinspect_json("audit", "-n", a.name)
    gateway = sorted(f["check"] for f in doc["findings"] if f["check"].startswith("gateway-"))
    assert gateway == [], doc["findings"]
    # B's service was read only for A's route: it is not one of A's audited services.
    assert all(f["namespace"] == a.name for f in doc["findings"]), doc["findings"]
    m = a.kinspect_json("map", "-n", a.name)
    validate(m, "chain-report.json")
    (e,) = [e for e in m["entrypoints"] if e["name"] == "front"]
    assert (e["service"], e["problem"], e["readyEndpoints"]) == (f"{b.name}/web", None, 1)
    assert [s for s in m["services"] if s["namespace"] != a.name] == []


def _restricted(a: Namespace, tmp_path: Path) -> str:
    return a.restricted_kubeconfig(
        str(tmp_path),
        [
            {"apiGroups": [""], "resources": ["services", "pods"], "verbs": READ},
            {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": READ},
            {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": READ},
            {
                "apiGroups": ["gateway.networking.k8s.io"],
                "resources": ["gateways", "httproutes", "referencegrants"],
                "verbs": READ,
            },
        ],
    )


def _run(kubeconfig: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*KINSPECT, *args, "--kubeconfig", kubeconfig],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
    )


def test_a_reader_who_may_not_read_b_gets_unknown_not_a_false_problem(
    pair: tuple[Namespace, Namespace], tmp_path: Path
) -> None:
    a, b = pair
    kc = _restricted(a, tmp_path)
    proc = _run(kc, "trace", f"http://{HOST}/", "-n", a.name, "-o", "json")
    assert proc.returncode == 0, proc.stderr
    ref = _ref(json.loads(proc.stdout))
    assert (ref["reason"], ref["problem"], ref["servicePort"]) == (None, None, None)
    assert ref["unknown"].startswith("unknown, because context restricted may not list "), ref
    assert f"in namespace {b.name}" in ref["unknown"]
    text = _run(kc, "trace", f"http://{HOST}/", "-n", a.name)
    assert text.returncode == 0, text.stderr
    assert "no ReferenceGrant" not in text.stdout + text.stderr
    assert "unknown, because" in text.stdout
    audit = _run(kc, "audit", "-n", a.name, "-o", "json")
    assert audit.returncode == 0, audit.stderr
    checks = [f["check"] for f in json.loads(audit.stdout)["findings"]]
    assert "gateway-ref-not-permitted" not in checks
    assert "gateway-backend-missing" not in checks


_CONTROLLER = """
apiVersion: v1
kind: Service
metadata: {name: ctrl}
spec: {selector: {app: ctrl}, ports: [{name: http, port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Pod
metadata: {name: ctrl-0, labels: {app: ctrl}}
spec: {containers: [{name: proxy, image: registry.k8s.io/pause:3.10,
  ports: [{containerPort: 8080}]}]}
"""
_DENY = (
    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny}\n"
    "spec: {podSelector: {}, policyTypes: [Ingress]}\n"
)


def _with_controller(a: Namespace, b: Namespace) -> None:
    """A's Gateway published at the ClusterIP of A's controller service; B denies all ingress."""
    a.apply(_CONTROLLER)
    b.apply(_DENY)
    a.wait_settled(pods=1)
    ip = a.get("service", "ctrl")["spec"]["clusterIP"]  # data: never dialed
    patch = {"status": {"addresses": [{"type": "IPAddress", "value": ip}]}}
    a.kubectl(
        "patch", "gateway", "gw", "--subresource=status", "--type=merge", "-p", json.dumps(patch)
    )


def _backend_hop(doc: dict[str, Any]) -> dict[str, Any]:
    hops: list[dict[str, Any]] = doc["policy"]["hops"]
    (hop,) = [h for h in hops if h["pod"]["name"] == "web-0"]
    return hop


def test_from_a_controller_in_a_the_verdict_at_b_uses_b_policies(
    pair: tuple[Namespace, Namespace], tmp_path: Path
) -> None:
    a, b = pair
    _with_controller(a, b)
    src = f"{a.name}/ctrl-0"
    doc = a.kinspect_json("trace", f"http://{HOST}/", "-n", a.name, "--from", src)
    hop = _backend_hop(doc)
    assert hop["verdict"] == "denied", hop  # B's deny-all: read narrowly, not "allowed"
    # A reader who may read B's services, slices and pods but not its NetworkPolicies: unknown.
    kc = _restricted(a, tmp_path)
    user = json.loads(Path(kc).read_text())["users"][0]["name"]
    rules = [
        {"apiGroups": [""], "resources": ["services", "pods"], "verbs": READ},
        {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": READ},
        {
            "apiGroups": ["gateway.networking.k8s.io"],
            "resources": ["referencegrants"],
            "verbs": READ,
        },
    ]
    b.apply(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "List",
                "items": [
                    {
                        "apiVersion": "rbac.authorization.k8s.io/v1",
                        "kind": "Role",
                        "metadata": {"name": user},
                        "rules": rules,
                    },
                    {
                        "apiVersion": "rbac.authorization.k8s.io/v1",
                        "kind": "RoleBinding",
                        "metadata": {"name": user},
                        "roleRef": {
                            "apiGroup": "rbac.authorization.k8s.io",
                            "kind": "Role",
                            "name": user,
                        },
                        "subjects": [{"kind": "ServiceAccount", "name": user, "namespace": a.name}],
                    },
                ],
            }
        )
    )
    # The cluster-scoped admin tiers and namespace labels readable: B's NetworkPolicies decide.
    admin = f"{user}-{a.name}"
    a.apply(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "List",
                "items": [
                    {
                        "apiVersion": "rbac.authorization.k8s.io/v1",
                        "kind": "ClusterRole",
                        "metadata": {"name": admin},
                        "rules": [
                            {
                                "apiGroups": ["policy.networking.k8s.io"],
                                "resources": [
                                    "adminnetworkpolicies",
                                    "baselineadminnetworkpolicies",
                                ],
                                "verbs": READ,
                            },
                            {"apiGroups": [""], "resources": ["namespaces"], "verbs": READ},
                        ],
                    },
                    {
                        "apiVersion": "rbac.authorization.k8s.io/v1",
                        "kind": "ClusterRoleBinding",
                        "metadata": {"name": admin},
                        "roleRef": {
                            "apiGroup": "rbac.authorization.k8s.io",
                            "kind": "ClusterRole",
                            "name": admin,
                        },
                        "subjects": [{"kind": "ServiceAccount", "name": user, "namespace": a.name}],
                    },
                ],
            }
        )
    )
    try:
        proc = _run(kc, "trace", f"http://{HOST}/", "-n", a.name, "--from", src, "-o", "json")
    finally:
        a.kubectl("delete", "clusterrolebinding,clusterrole", admin, check=False)
    assert proc.returncode == 0, proc.stderr
    hop = _backend_hop(json.loads(proc.stdout))
    assert hop["verdict"] == "unknown", hop
    assert f"may not list networkpolicies in namespace {b.name}" in json.dumps(hop), hop
