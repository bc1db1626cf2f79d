"""Output that people pipe: `map -A | grep POD` finds its row, `ips` says what it leaves out.

kinspect runs here with stdout a pipe (not a terminal), as in `kinspect map -A | grep ...`.
"""

from __future__ import annotations

import json
from typing import Any

from .conftest import Namespace

# 56 characters: longer than any column rich would have left it at 80 or 120 columns.
LONG = "checkout-frontend-payments-gateway-7d9f8b6c5d-abcdefghij"


def _pod(name: str, labels: dict[str, str], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "image": "registry.k8s.io/pause:3.10",
                    "ports": [{"name": "http", "containerPort": 8080}],
                }
            ],
            **spec,
        },
    }


def _service(name: str, app: str, headless: bool = False) -> dict[str, Any]:
    spec: dict[str, Any] = {"selector": {"app": app}, "ports": [{"port": 80, "targetPort": "http"}]}
    if headless:
        spec["clusterIP"] = "None"
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}


def _apply(ns: Namespace, *items: dict[str, Any]) -> None:
    ns.apply(json.dumps({"apiVersion": "v1", "kind": "List", "items": list(items)}))


def _ready_endpoint(ns: Namespace, service: str) -> bool:
    slices = ns.get("endpointslices", "-l", f"kubernetes.io/service-name={service}")["items"]
    return any(
        (e.get("conditions") or {}).get("ready") for s in slices for e in s.get("endpoints") or []
    )


def _ip(ns: Namespace, pod: str) -> str:
    ip: str = ns.get("pod", pod).get("status", {}).get("podIP", "")
    return ip


def test_map_keeps_a_long_pod_name_whole_on_its_row(ns: Namespace) -> None:
    assert len(LONG) >= 45
    _apply(ns, _pod(LONG, {"app": "web"}), _service("web", "web"))
    # Until the EndpointSlice lists it (the controller lags behind the pod's IP on a busy
    # API server), the pod's row says "not in any EndpointSlice yet" without its address.
    ns.wait_until(f"{LONG} to be a ready endpoint of web", lambda: _ready_endpoint(ns, "web"))
    for fmt in ("table", "wide"):
        out = ns.kinspect("map", "-A", "-o", fmt).stdout
        # Only this namespace's: a pod of that name elsewhere (another run's) is not ours.
        rows = [line for line in out.splitlines() if LONG in line and ns.name in line]
        assert len(rows) == 1, out
        # Off a terminal every row is whole (issue 23): NAMESPACE, SERVICE, TYPE, PORT ...
        assert rows[0].split()[:3] == [ns.name, "web", "ClusterIP"]
        assert f"{_ip(ns, LONG)}:8080" in rows[0]


def test_ips_lists_headless_services_init_containers_and_pods_without_ip(ns: Namespace) -> None:
    init = {"initContainers": [{"name": "migrate", "image": "registry.k8s.io/pause:3.10"}]}
    _apply(
        ns,
        _pod("db-0", {"app": "db"}, **init),
        _service("db", "db", headless=True),
        # Pinned to a node that does not exist: it stays Pending, with no IP.
        _pod("stuck", {"app": "stuck"}, nodeName="no-such-node"),
    )
    ns.wait_until("db-0 to get an IP", lambda: bool(_ip(ns, "db-0")))
    doc = ns.kinspect_json("ips", "-n", ns.name)
    assert {"service": f"{ns.name}/db", "type": "ClusterIP"} in doc["headlessServices"]
    (db,) = [p for p in doc["pods"] if p["name"] == "db-0"]
    assert db["initContainers"] == ["migrate"]
    assert "stuck" not in {p["name"] for p in doc["pods"]}
    assert doc["podsWithoutIP"] == 1
    text = ns.kinspect("ips", "-n", ns.name).stdout
    assert f"{ns.name}/db ClusterIP None (headless)" in " ".join(text.split())
    assert "└ migrate (init)" in text
    assert "1 pod has no IP yet (pending)" in text
