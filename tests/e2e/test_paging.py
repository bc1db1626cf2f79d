"""Paged LISTs against the real API server: every page is read, none twice."""

from __future__ import annotations

import json

import pytest

from kinspect import cluster

from .conftest import Namespace


def test_small_pages_read_every_pod_once(ns: Namespace, monkeypatch: pytest.MonkeyPatch) -> None:
    pods = [
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": f"p{i}", "labels": {"app": "p"}},
            "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10"}]},
        }
        for i in range(7)
    ]
    ns.apply(json.dumps({"apiVersion": "v1", "kind": "List", "items": pods}))
    monkeypatch.setattr(cluster, "PAGE_SIZE", 2)  # 7 pods: 4 pages, 3 continue tokens
    conn = cluster.connect(ns.cluster.kubeconfig, ns.cluster.context, 30)
    got = [p.name for p in cluster.read_pods(conn, ns.name)]
    assert sorted(got) == [f"p{i}" for i in range(7)]
