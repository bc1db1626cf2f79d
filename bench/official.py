"""(d) The official client, the ordinary way: list the four kinds into model objects."""

from __future__ import annotations

import argparse

import kubernetes.client as k8s
import kubernetes.config as k8s_config


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kubeconfig", required=True)
    a = ap.parse_args()
    k8s_config.load_kube_config(config_file=a.kubeconfig)
    core, disc = k8s.CoreV1Api(), k8s.DiscoveryV1Api()
    n = len(core.list_node().items)
    n += len(core.list_service_for_all_namespaces().items)
    n += len(disc.list_endpoint_slice_for_all_namespaces().items)
    n += len(core.list_pod_for_all_namespaces().items)
    print(n)


if __name__ == "__main__":
    main()
