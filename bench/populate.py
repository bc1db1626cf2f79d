"""Fill a test bed with N nodes, services and pods for the benchmark (issue 5).

Objects are created through the API with a pool of concurrent POSTs (the API server's and
controllers' client rate limits are lifted by the bench cluster's kwokctl flags). Pods are pinned
to nodes by nodeName, so the scheduler is not the bottleneck; kwok gives them IPs from their
node's podCIDR and marks them Ready; the controller-manager writes the EndpointSlices.

Shape: NAMESPACES namespaces; services mixed by type (ClusterIP, NodePort, LoadBalancer,
headless) with named and numeric targetPorts, 1 in 20 selecting nothing; pod k carries the
label of service k % SERVICES. Node i: InternalIP 198.18.(i/256).(i%256) (the never-routed
benchmarking range), podCIDR 10.(64+i/256).(i%256).0/24.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import kubernetes.client as k8s
import kubernetes.config as k8s_config
import urllib3

NAMESPACES = 10


def _api(kubeconfig: str) -> k8s.ApiClient:
    cfg = k8s.Configuration()
    k8s_config.load_kube_config(config_file=kubeconfig, client_configuration=cfg)
    cfg.connection_pool_maxsize = 64
    return k8s.ApiClient(cfg)


def _post(api: k8s.ApiClient, kind: str, ns: str, body: dict[str, Any]) -> None:
    core = k8s.CoreV1Api(api)
    create = {
        "Namespace": lambda: core.create_namespace(body, _preload_content=False),
        "Node": lambda: core.create_node(body, _preload_content=False),
        "Service": lambda: core.create_namespaced_service(ns, body, _preload_content=False),
        "Pod": lambda: core.create_namespaced_pod(ns, body, _preload_content=False),
    }[kind]
    for attempt in range(5):
        try:
            create()
            return
        except k8s.ApiException as e:
            if e.status == 409:  # already exists: populate is re-runnable
                return
            if e.status in (429, 500, 503) and attempt < 4:
                time.sleep(0.5 * (attempt + 1))
                continue
            raise
        except urllib3.exceptions.HTTPError:
            if attempt == 4:
                raise
            time.sleep(0.5)


def node(i: int) -> dict[str, Any]:
    cidr = f"10.{64 + i // 256}.{i % 256}.0/24"
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": f"bench-node-{i}",
            "annotations": {"kwok.x-k8s.io/node": "fake"},
            "labels": {"type": "kwok", "kubernetes.io/hostname": f"bench-node-{i}"},
        },
        "spec": {"podCIDR": cidr, "podCIDRs": [cidr]},
        "status": {
            "addresses": [{"type": "InternalIP", "address": f"198.18.{i // 256}.{i % 256}"}],
            "allocatable": {"cpu": "64", "memory": "512Gi", "pods": "110"},
            "capacity": {"cpu": "64", "memory": "512Gi", "pods": "110"},
        },
    }


def service(j: int) -> tuple[str, dict[str, Any]]:
    # Namespace by j % NAMESPACES: stable when a later, larger scale adds objects.
    ns = f"bench-{j % NAMESPACES}"
    kind = j % 20
    spec: dict[str, Any] = {"selector": {"app": f"svc-{j}"}}
    named = j % 3 != 0
    port: dict[str, Any] = {"name": "http", "port": 80, "targetPort": "http" if named else 8080}
    if kind == 0:
        spec["selector"] = {"app": "selects-nothing"}
    elif kind == 1:
        # nodePorts are scarce (2,768 in the default range): 1 NodePort service in 20 (two
        # nodePorts each) and 1 LoadBalancer in 40 (two plus a healthCheckNodePort, being
        # externalTrafficPolicy Local) use 1,750 for 10k services.
        spec["type"] = "NodePort"
    elif kind == 4 and j % 40 == 4:
        spec["type"] = "LoadBalancer"
        spec["externalTrafficPolicy"] = "Local"
    elif kind == 5:
        spec["clusterIP"] = "None"
    spec["ports"] = [port, {"name": "metrics", "port": 9090, "targetPort": 9090}]
    return ns, {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": f"svc-{j}", "namespace": ns},
        "spec": spec,
    }


def pod(k: int, services: int, nodes: int) -> tuple[str, dict[str, Any]]:
    j = k % services
    ns = f"bench-{j % NAMESPACES}"
    return ns, {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"pod-{k}", "namespace": ns, "labels": {"app": f"svc-{j}"}},
        "spec": {
            "nodeName": f"bench-node-{k % nodes}",
            "containers": [
                {
                    "name": "app",
                    "image": "registry.k8s.io/pause:3.10",
                    "ports": [
                        {"name": "http", "containerPort": 8080},
                        {"name": "metrics", "containerPort": 9090},
                    ],
                }
            ],
        },
    }


def _without_ip(api: k8s.ApiClient) -> int:
    """How many pods have no IP yet (at most 1000: one page, selected by the API server)."""
    resp = k8s.CoreV1Api(api).list_pod_for_all_namespaces(
        field_selector="status.podIP=", limit=1000, _preload_content=False
    )
    return len(json.loads(resp.data).get("items") or [])


def _endpoints(api: k8s.ApiClient) -> int:
    """Endpoints across all slices (paged raw LISTs)."""
    call = k8s.DiscoveryV1Api(api).list_endpoint_slice_for_all_namespaces
    total, token = 0, None
    while True:
        doc = json.loads(call(limit=5000, _continue=token, _preload_content=False).data)
        total += sum(len(s.get("endpoints") or []) for s in doc.get("items") or [])
        token = doc["metadata"].get("continue")
        if not token:
            return total


def _existing(api: k8s.ApiClient, kind: str) -> set[str]:
    """Names of the pods or services already there: a re-run creates only what is missing."""
    core = k8s.CoreV1Api(api)
    call = (
        core.list_pod_for_all_namespaces if kind == "Pod" else core.list_service_for_all_namespaces
    )
    names: set[str] = set()
    token = None
    while True:
        doc = json.loads(call(limit=5000, _continue=token, _preload_content=False).data)
        names.update(i["metadata"]["name"] for i in doc.get("items") or [])
        token = doc["metadata"].get("continue")
        if not token:
            return names


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kubeconfig", required=True)
    ap.add_argument("--nodes", type=int, default=1000)
    ap.add_argument("--services", type=int, default=10000)
    ap.add_argument("--pods", type=int, default=100000)
    ap.add_argument("--workers", type=int, default=32)
    ap.add_argument("--timeout", type=float, default=3600)
    a = ap.parse_args()
    api = _api(a.kubeconfig)
    t0 = time.monotonic()

    def run(what: str, items: list[tuple[str, dict[str, Any]]]) -> None:
        t = time.monotonic()
        with ThreadPoolExecutor(a.workers) as pool:
            list(pool.map(lambda nb: _post(api, nb[1]["kind"], nb[0], nb[1]), items))
        dt = time.monotonic() - t
        print(
            f"populate: {len(items)} {what} in {dt:.0f}s ({len(items) / max(dt, 1e-3):.0f}/s)",
            file=sys.stderr,
        )

    run(
        "namespaces",
        [
            ("", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"bench-{i}"}})
            for i in range(NAMESPACES)
        ],
    )
    run("nodes", [("", node(i)) for i in range(a.nodes)])
    have = _existing(api, "Service")
    run("services", [service(j) for j in range(a.services) if f"svc-{j}" not in have])
    have = _existing(api, "Pod")
    run(
        "pods",
        [pod(k, a.services, a.nodes) for k in range(a.pods) if f"pod-{k}" not in have],
    )
    # Wait (with a deadline) until kwok has given every pod an IP and the endpointslice
    # controller has written most endpoints (services selecting nothing have none).
    deadline = time.monotonic() + a.timeout
    # Services with j % 20 == 0 select nothing: about 95% of pods become endpoints.
    want_eps = a.pods * 19 // 20 * 98 // 100
    # Polls stay cheap for the control plane that is still settling: pods without an IP are
    # selected by the API server (one page); the slices are counted once the pods are done.
    while (left := _without_ip(api)) > 0:
        print(f"populate: {left}{'+' if left >= 1000 else ''} pods without an IP", file=sys.stderr)
        if time.monotonic() > deadline:
            sys.exit("populate: timed out waiting for pod IPs")
        time.sleep(10)
    while (eps := _endpoints(api)) < want_eps:
        print(f"populate: {eps}/{want_eps} endpoints", file=sys.stderr)
        if time.monotonic() > deadline:
            sys.exit("populate: timed out waiting for endpoints")
        time.sleep(10)
    print(f"populate: done in {time.monotonic() - t0:.0f}s", file=sys.stderr)


if __name__ == "__main__":
    main()
