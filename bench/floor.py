"""(a) The floor: the four paged LISTs kinspect needs, fetched raw, bytes read and dropped.

Same page size and the same 4-way concurrency as kinspect, through the same client transport,
so the ratio (b)/(a) is kinspect's own cost: decoding, joining and rendering.
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ThreadPoolExecutor

import kubernetes.client as k8s
import kubernetes.config as k8s_config

from kinspect.cluster import PAGE_SIZE


def fetch(call: object) -> int:
    total, token = 0, None
    while True:
        resp = call(limit=PAGE_SIZE, _continue=token, _preload_content=False)  # type: ignore[operator]
        body = resp.data
        total += len(body)
        # Only the continue token is needed: read it from the head of the body without
        # decoding the page (the API server writes metadata before items).
        head = body[:512]
        i = head.find(b'"continue":"')
        token = head[i + 12 : head.index(b'"', i + 12)].decode() if i >= 0 else None
        if not token:
            return total


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kubeconfig", required=True)
    a = ap.parse_args()
    cfg = k8s.Configuration()
    k8s_config.load_kube_config(config_file=a.kubeconfig, client_configuration=cfg)
    api = k8s.ApiClient(cfg)
    core, disc = k8s.CoreV1Api(api), k8s.DiscoveryV1Api(api)
    calls = [
        core.list_node,
        core.list_service_for_all_namespaces,
        disc.list_endpoint_slice_for_all_namespaces,
        core.list_pod_for_all_namespaces,
    ]
    with ThreadPoolExecutor(4) as pool:
        sizes = list(pool.map(fetch, calls))
    json.dump({"bytes": sum(sizes)}, sys.stdout)


if __name__ == "__main__":
    main()
