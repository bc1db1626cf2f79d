"""Fill a test bed with N nodes, services and pods for the benchmark (issue 5).

Objects are created through the API with a pool of concurrent POSTs (the API server's and
controllers' client rate limits are lifted by the bench cluster's kwokctl flags). Pods are pinned
to nodes by nodeName, so the scheduler is not the bottleneck; kwok gives them IPs from their
node's podCIDR and marks them Ready; the controller-manager writes the EndpointSlices.

Shape: NAMESPACES namespaces; services mixed by type (ClusterIP, NodePort, LoadBalancer,
headless) with named and numeric targetPorts, 1 in 20 selecting nothing; pod k carries the
label of service k % SERVICES. Node i: InternalIP 198.18.(i/256).(i%256) (the never-routed
benchmarking range), podCIDR 10.(64+i/256).(i%256).0/24.

The entry points and policies kinspect also reads (issue 17: 1,000 Ingresses, 1,000 HTTPRoutes and
2,000 NetworkPolicies at 10k services), in the same proportions at every scale: Ingress `ing-i`
and HTTPRoute `route-i` in front of service 10*i, NetworkPolicy `np-i` selecting service 5*i's
pods (shapes mixed: a named port from pods of the namespace, a namespaceSelector AND
podSelector, an ipBlock with an except, an egress rule), and per namespace one IngressClass
user, one Gateway and a default-deny-ingress policy on pods labelled `tier=locked` (none are).
`--extras delete` removes them again, so a run can measure the same cluster without them.
"""

from __future__ import annotations

import argparse
import json
import subprocess
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


# kind → (group/version, plural) of the extras, created through the generic object API.
EXTRAS: dict[str, tuple[str, str, str]] = {
    "NetworkPolicy": ("networking.k8s.io", "v1", "networkpolicies"),
    "Ingress": ("networking.k8s.io", "v1", "ingresses"),
    "Gateway": ("gateway.networking.k8s.io", "v1", "gateways"),
    "HTTPRoute": ("gateway.networking.k8s.io", "v1", "httproutes"),
}


def _post(api: k8s.ApiClient, kind: str, ns: str, body: dict[str, Any]) -> None:
    core = k8s.CoreV1Api(api)
    custom = k8s.CustomObjectsApi(api)
    if kind in EXTRAS:
        group, version, plural = EXTRAS[kind]

        def create() -> object:
            return custom.create_namespaced_custom_object(group, version, ns, plural, body)
    elif kind in ("IngressClass", "GatewayClass"):
        group, plural = (
            ("networking.k8s.io", "ingressclasses")
            if kind == "IngressClass"
            else ("gateway.networking.k8s.io", "gatewayclasses")
        )

        def create() -> object:
            return custom.create_cluster_custom_object(group, "v1", plural, body)
    else:
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


def ingress(i: int) -> tuple[str, dict[str, Any]]:
    j = 10 * i
    ns = f"bench-{j % NAMESPACES}"
    backend = {"service": {"name": f"svc-{j}", "port": {"name": "http"}}}
    return ns, {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": f"ing-{i}", "namespace": ns},
        "spec": {
            "ingressClassName": "bench",
            "rules": [
                {
                    "host": f"svc-{j}.bench.example",
                    "http": {
                        "paths": [
                            {"path": "/", "pathType": "Prefix", "backend": backend},
                            {"path": "/api", "pathType": "Exact", "backend": backend},
                        ]
                    },
                }
            ],
        },
    }


def gateway(n: int) -> tuple[str, dict[str, Any]]:
    ns = f"bench-{n}"
    listener = {"name": "http", "protocol": "HTTP", "port": 80, "hostname": "*.bench.example"}
    return ns, {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "gw", "namespace": ns},
        "spec": {"gatewayClassName": "bench", "listeners": [listener]},
    }


def route(i: int) -> tuple[str, dict[str, Any]]:
    j = 10 * i
    ns = f"bench-{j % NAMESPACES}"
    return ns, {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": f"route-{i}", "namespace": ns},
        "spec": {
            "parentRefs": [{"name": "gw"}],
            "hostnames": [f"r-{j}.bench.example"],
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                    "backendRefs": [{"name": f"svc-{j}", "port": 80}],
                }
            ],
        },
    }


def network_policy(i: int) -> tuple[str, dict[str, Any]]:
    j = 5 * i
    ns = f"bench-{j % NAMESPACES}"
    peers: list[dict[str, Any]]
    shape = i % 4
    if shape == 0:
        peers = [{"podSelector": {"matchLabels": {"app": f"svc-{j + 1}"}}}]
    elif shape == 1:
        peers = [
            {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "bench-1"}},
                "podSelector": {"matchExpressions": [{"key": "app", "operator": "Exists"}]},
            }
        ]
    else:
        peers = [{"ipBlock": {"cidr": "10.64.0.0/10", "except": ["10.64.0.0/24"]}}]
    spec: dict[str, Any] = {
        "podSelector": {"matchLabels": {"app": f"svc-{j}"}},
        "ingress": [{"from": peers, "ports": [{"port": "http"}, {"port": 9090}]}],
    }
    if shape == 3:
        spec["egress"] = [
            {"to": [{"namespaceSelector": {}}], "ports": [{"port": 53, "protocol": "UDP"}]}
        ]
    return ns, {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": f"np-{i}", "namespace": ns},
        "spec": spec,
    }


def locked(n: int) -> tuple[str, dict[str, Any]]:
    ns = f"bench-{n}"
    return ns, {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "default-deny-locked", "namespace": ns},
        "spec": {"podSelector": {"matchLabels": {"tier": "locked"}}, "policyTypes": ["Ingress"]},
    }


def extras(services: int) -> list[tuple[str, dict[str, Any]]]:
    """Every entry point and policy of a cluster with SERVICES services (see the docstring)."""
    classes: list[tuple[str, dict[str, Any]]] = [
        (
            "",
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "IngressClass",
                "metadata": {"name": "bench"},
                "spec": {"controller": "example.com/bench"},
            },
        ),
        (
            "",
            {
                "apiVersion": "gateway.networking.k8s.io/v1",
                "kind": "GatewayClass",
                "metadata": {"name": "bench"},
                "spec": {"controllerName": "example.com/bench"},
            },
        ),
    ]
    return [
        *classes,
        *(gateway(n) for n in range(NAMESPACES)),
        *(locked(n) for n in range(NAMESPACES)),
        *(ingress(i) for i in range(services // 10)),
        *(route(i) for i in range(services // 10)),
        *(network_policy(i) for i in range(services // 5)),
    ]


def delete_extras(kubectl: str, kubeconfig: str) -> None:
    """Remove every extra (the classes too): the cluster as it was before issue 17's kinds."""
    for what in ("networkpolicies", "ingresses", "httproutes", "gateways"):
        subprocess.run(
            [kubectl, "--kubeconfig", kubeconfig, "delete", what, "--all", "-A", "--wait=false"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    subprocess.run(
        [
            kubectl,
            "--kubeconfig",
            kubeconfig,
            "delete",
            "ingressclass,gatewayclass",
            "bench",
            "--ignore-not-found",
            "--wait=false",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )


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
    ap.add_argument(
        "--extras",
        choices=("create", "delete", "only"),
        default="create",
        help="the Ingresses, HTTPRoutes and NetworkPolicies: create them too (default), delete "
        "them (and nothing else), or create only them",
    )
    ap.add_argument("--kubectl", default="kubectl", help="for --extras delete")
    a = ap.parse_args()
    if a.extras == "delete":
        delete_extras(a.kubectl, a.kubeconfig)
        print("populate: extras deleted", file=sys.stderr)
        return
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

    if a.extras == "only":
        run("entry points and policies", extras(a.services))
        return
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
    run("entry points and policies", extras(a.services))
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
