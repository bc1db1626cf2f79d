"""Paged LISTs against the real API server: every page read, none twice, whatever the size.

`KINSPECT_CHUNK_SIZE=1` pages every LIST one item at a time; with many pods per namespace
next to the namespace count, kinspect then reads the pods of all namespaces namespace by
namespace (lists.SPLIT_PAGES_PER_NAMESPACE). `0` reads each kind in one response.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

from kinspect.wire import connection as kconnection
from kinspect.wire import lists as klists

from .conftest import KINSPECT, Cluster, Namespace, new_namespace

PODS = 40  # at least; on a cluster of many namespaces, more (_enough)


def _pods(n: int) -> str:
    return "\n---\n".join(
        "apiVersion: v1\nkind: Pod\n"
        f"metadata: {{name: {_name(i)}, labels: {{app: paged}}}}\n"
        "spec: {containers: [{name: app, image: registry.k8s.io/pause:3.10}]}"
        for i in range(n)
    )


def test_small_pages_read_every_pod_once(ns: Namespace) -> None:
    ns.apply(_pods(7))
    # 7 pods: 4 pages, 3 continue tokens
    conn = kconnection.connect(ns.cluster.kubeconfig, ns.cluster.context, 30, page_size=2)
    got = [p.name for p in klists.read_pods(conn, ns.name)]
    assert got == [_name(i) for i in range(7)]


def _snapshot(
    cluster: Cluster, tmp_path: Path, chunk: int, kubeconfig: str | None = None
) -> dict[str, Any]:
    out = tmp_path / f"snap-{chunk}-{uuid.uuid4().hex[:6]}.json"
    args = ["--kubeconfig", kubeconfig] if kubeconfig else cluster.kinspect_args()
    proc = subprocess.run(
        [*KINSPECT, "snapshot", "save", str(out), "-A", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, "KINSPECT_CHUNK_SIZE": str(chunk), "NO_COLOR": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    snap: dict[str, Any] = json.loads(out.read_text())["snapshot"]
    snap.pop("context")
    return snap


def _name(i: int) -> str:
    return f"p-{i:03}"  # zero-padded: the API server's key order is the names' order


def _enough(cluster: Cluster) -> int:
    """Pods enough in one namespace that kinspect reads pods namespace by namespace.

    It does when the pods after the first one-item page are at least twice the namespaces
    after it (lists.SPLIT_PAGES_PER_NAMESPACE at page size 1): on a cluster that has lived,
    namespaces are many. Three times, for those made meanwhile.
    """
    out = subprocess.run(
        [*cluster.kubectl_args(), "get", "namespaces", "-o", "name"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    n = max(PODS, 3 * len(out.split()))
    assert n < 1000, f"{n} pods: too many namespaces on this cluster for this test"
    return n


def _same_pods(paged: dict[str, Any], whole: dict[str, Any], ns: str, pods: int) -> None:
    """Same pods of `ns`, each once, all in the API server's key order (namespace/name).

    Only `ns` is compared in full: other tests' namespaces may be deleted in between.
    """
    keys = [f"{p['namespace']}/{p['name']}" for p in paged["pods"]]
    assert keys == sorted(keys), "pods out of the API server's key order"
    assert len(keys) == len(set(keys)), "a pod read twice"
    mine = [p for p in whole["pods"] if p["namespace"] == ns]
    assert [p["name"] for p in mine] == [_name(i) for i in range(pods)]
    assert [p for p in paged["pods"] if p["namespace"] == ns] == mine


def _namespaced_pod_lists(cluster: Cluster, ns: str) -> int | None:
    """How many LISTs of pods in `ns` kinspect sent, by the API server's audit log (if any)."""
    if cluster.logs is None or not os.path.exists(os.path.join(cluster.logs, "audit.log")):
        return None
    return len(_pod_lists(cluster, ns))


def _with_pods(ns: Namespace, pods: int = PODS) -> None:
    """`pods` pods, settled: kwok still updates a pod for a while after it exists, and a test
    that compares two reads (a paged one and a whole one) must not see it change between them
    (p-31 once differed between the two reads: kwok was still updating it)."""
    ns.apply(_pods(pods))
    ns.wait_settled(pods)


def test_page_sizes_and_per_namespace_reads_give_the_same_snapshot(
    cluster: Cluster, ns: Namespace, tmp_path: Path
) -> None:
    pods = _enough(cluster)
    _with_pods(ns, pods)
    whole = _snapshot(cluster, tmp_path, 0)
    before = _namespaced_pod_lists(cluster, ns.name)
    paged = _snapshot(cluster, tmp_path, 1)
    # The result is the one LIST's, pod for pod and in the same order...
    _same_pods(paged, whole, ns.name, pods)
    # ...and the one-item pages made kinspect read this namespace's pods on their own.
    cluster.audit_log("reading a namespace's pods on their own")
    after = _namespaced_pod_lists(cluster, ns.name)
    assert before is not None
    assert after is not None
    assert after > before


def test_without_namespace_list_rights_pods_are_read_in_one_paged_list(
    cluster: Cluster, ns: Namespace, tmp_path: Path
) -> None:
    pods = _enough(cluster)
    _with_pods(ns, pods)
    # A reader of every namespace's objects that may not list namespaces themselves.
    name = f"no-ns-{uuid.uuid4().hex[:6]}"
    rules = [
        {"apiGroups": [""], "resources": ["pods", "services", "endpoints", "nodes"]},
        {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"]},
    ]
    for rule in rules:
        rule["verbs"] = ["list"]
    try:
        kubeconfig = ns.restricted_kubeconfig(str(tmp_path), rules, cluster_wide=name)
        whole = _snapshot(cluster, tmp_path, 0)
        before = _namespaced_pod_lists(cluster, ns.name)
        paged = _snapshot(cluster, tmp_path, 1, kubeconfig)
        _same_pods(paged, whole, ns.name, pods)
        cluster.audit_log("pods read in one paged LIST, not namespace by namespace")
        assert _namespaced_pod_lists(cluster, ns.name) == before
    finally:
        cluster_scoped = [f"clusterrole/{name}", f"clusterrolebinding/{name}"]
        ns.kubectl("delete", *cluster_scoped, "--wait=false", check=False)


def _pod_lists(cluster: Cluster, ns: str) -> list[str]:
    """The query strings of kinspect's LISTs of pods in `ns`, by the API server's audit log."""
    assert cluster.logs is not None
    with open(os.path.join(cluster.logs, "audit.log")) as f:
        events = [json.loads(line) for line in f]
    path = f"/api/v1/namespaces/{ns}/pods"
    return [
        e["requestURI"][len(path) :]
        for e in events
        if str(e.get("userAgent", "")).startswith("kinspect/")
        and e.get("verb") == "list"
        and e.get("requestURI", "").partition("?")[0] == path
        and e.get("stage") == "ResponseComplete"
    ]


def test_a_list_small_enough_is_read_again_whole_not_by_its_continue_pages(
    cluster: Cluster, ns: Namespace, tmp_path: Path
) -> None:
    """Pages of 2 but lists of up to 1,000 items read whole: one page, then one LIST unpaged.

    The continue pages of a LIST come from etcd on a quiet cluster; one without a limit is
    served from the watch cache (connection.UNPAGED_MAX).
    """
    ns.apply(_pods(7))
    ns.wait_settled(7)
    env = {**os.environ, "KINSPECT_CHUNK_SIZE": "2", "KINSPECT_UNPAGED_MAX": "1000"}
    proc = subprocess.run(
        [*KINSPECT, "map", "-n", ns.name, "-o", "json", *cluster.kinspect_args()],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**env, "NO_COLOR": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    cluster.audit_log("kinspect's pod LISTs")
    lists = _pod_lists(cluster, ns.name)
    assert [q for q in lists if "continue=" in q] == [], lists
    assert sum(1 for q in lists if "limit=2" in q) == 1, lists
    assert sum(1 for q in lists if "limit=" not in q) == 1, lists
    # Chosen page sizes alone keep every list paged: 7 pods in 4 pages.
    proc = subprocess.run(
        [*KINSPECT, "map", "-n", ns.name, "-o", "json", *cluster.kinspect_args()],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, "KINSPECT_CHUNK_SIZE": "2", "NO_COLOR": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    cluster.audit_log("kinspect's paged pod LISTs")
    assert sum(1 for q in _pod_lists(cluster, ns.name) if "continue=" in q) == 3


def test_namespaces_read_on_their_own_are_probed_then_read_whole(
    cluster: Cluster, ns: Namespace, tmp_path: Path
) -> None:
    """Pods of all namespaces, too many to read whole (over 45), are read namespace by
    namespace; each namespace is asked for one pod first (its size), then read whole."""
    _with_pods(ns)  # 40 pods here: under 45, read whole
    with new_namespace(cluster) as other:
        # The rest of what makes per-namespace reads pay, on a cluster of many namespaces.
        more = max(10, _enough(cluster) - PODS)
        other.apply(_pods(more))
        other.wait_settled(more)
        env = {**os.environ, "KINSPECT_CHUNK_SIZE": "1", "KINSPECT_UNPAGED_MAX": "45"}
        out = tmp_path / "snap.json"
        proc = subprocess.run(
            [*KINSPECT, "snapshot", "save", str(out), "-A", *cluster.kinspect_args()],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
            env={**env, "NO_COLOR": "1"},
        )
        assert proc.returncode == 0, proc.stderr
        pods = json.loads(out.read_text())["snapshot"]["pods"]
        assert sorted(p["name"] for p in pods if p["namespace"] == ns.name) == [
            _name(i) for i in range(PODS)
        ]
        cluster.audit_log("kinspect's pod LISTs per namespace")
        lists = _pod_lists(cluster, ns.name)
        assert lists == ["?limit=1", ""], lists
