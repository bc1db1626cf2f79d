"""`kinspect diff` on the test bed: snapshots before and after a scale, a port change and a
rollout that moves a named targetPort; a snapshot against live; two audit reports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..schema import validate
from .conftest import Namespace

DIFFERENT = 10

MANIFEST = """\
apiVersion: v1
kind: List
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: web}
  spec:
    replicas: 2
    selector: {matchLabels: {app: web}}
    template:
      metadata: {labels: {app: web}}
      spec:
        containers:
        - {name: app, image: fake, ports: [{name: http, containerPort: 8080}]}
- apiVersion: v1
  kind: Service
  metadata: {name: web}
  spec:
    selector: {app: web}
    ports: [{name: http, port: 80, targetPort: http}]
- apiVersion: v1
  kind: Service
  metadata: {name: plain}
  spec:
    selector: {app: nobody}
    ports: [{name: tcp, port: 80, targetPort: 9000}]
"""


def _web_endpoints(ns: Namespace) -> list[tuple[str, int, bool]]:
    """(pod, port, ready) of every endpoint of web's slices."""
    out = []
    for s in ns.get("endpointslices", "-l", "kubernetes.io/service-name=web")["items"]:
        for p in s.get("ports") or []:
            for e in s.get("endpoints") or []:
                ready = e.get("conditions", {}).get("ready", True)
                out.append((e["targetRef"]["name"], p["port"], bool(ready)))
    return sorted(out)


def _settled(ns: Namespace, replicas: int, port: int) -> bool:
    eps = _web_endpoints(ns)
    pods = [p for p in ns.get("pods", "-l", "app=web")["items"]]
    return (
        len(eps) == replicas
        and all(p == port and ready for _, p, ready in eps)
        and len(pods) == replicas  # the old ReplicaSet's pods are gone, not just terminating
    )


def _changes(doc: dict[str, Any]) -> list[tuple[str, str, str | None, str, Any, Any]]:
    return [
        (c["kind"], c["service"], c["port"], c["subject"], c["before"], c["after"])
        for c in doc["changes"]
    ]


def _diff(ns: Namespace, old: str, new: str, *more: str, expect: int) -> dict[str, Any]:
    doc: dict[str, Any] = ns.kinspect_json("diff", old, new, *more, expect=expect)
    validate(doc, "chain-diff.json")
    return doc


def _pod_ips(ns: Namespace) -> dict[str, str]:
    return {p["metadata"]["name"]: p["status"]["podIP"] for p in ns.get("pods")["items"]}


def test_scale_port_change_and_rollout(ns: Namespace, tmp_path: Path) -> None:
    ns.apply(MANIFEST)
    ns.wait_until("2 ready endpoints on 8080", lambda: _settled(ns, 2, 8080))
    before, scaled, rolled = (str(tmp_path / f) for f in ("a.json", "b.json.gz", "c.json"))
    ns.kinspect("snapshot", "save", before, "-n", ns.name)
    first = set(_pod_ips(ns))
    assert _diff(ns, before, before, expect=0)["different"] is False
    assert ns.kinspect("diff", before, "live", "-n", ns.name).stdout == "no differences\n"

    # Scale web to 3, move plain's port from 80 to 81.
    ns.kubectl("scale", "deployment/web", "--replicas=3")
    ns.kubectl(
        "patch", "service", "plain", "--type=json",
        "-p", '[{"op": "replace", "path": "/spec/ports/0/port", "value": 81}]',
    )  # fmt: skip
    ns.wait_until("3 ready endpoints on 8080", lambda: _settled(ns, 3, 8080))
    ns.kinspect("snapshot", "save", scaled, "-n", ns.name)
    ips = _pod_ips(ns)
    [new_pod] = set(ips) - first
    cluster_ip = ns.get("service", "plain")["spec"]["clusterIP"]
    doc = _diff(ns, before, scaled, expect=DIFFERENT)
    assert _changes(doc) == [
        ("port-changed", "plain", "tcp 81/TCP", "", "80/TCP → 9000", "81/TCP → 9000"),
        ("frontend-removed", "plain", "tcp 81/TCP", f"ClusterIP {cluster_ip}:80", None, None),
        ("frontend-added", "plain", "tcp 81/TCP", f"ClusterIP {cluster_ip}:81", None, None),
        ("backend-added", "web", "http 80/TCP", f"{ns.name}/{new_pod}", None,
         f"{ips[new_pod]}:8080 ready"),
    ]  # fmt: skip
    assert doc["old"] == {"source": "snapshot", "path": before, "context": doc["new"]["context"]}

    # A rollout: the pod template's `http` moves to 9090; every pod is replaced.
    ns.kubectl(
        "patch", "deployment", "web", "--type=json",
        "-p", '[{"op": "replace", "path": "/spec/template/spec/containers/0/ports/0/containerPort",'
              ' "value": 9090}]',
    )  # fmt: skip
    ns.wait_until("3 ready endpoints on 9090", lambda: _settled(ns, 3, 9090), seconds=120)
    ns.kinspect("snapshot", "save", rolled, "-n", ns.name)
    now = _pod_ips(ns)
    doc = _diff(ns, scaled, rolled, expect=DIFFERENT)
    port = "http 80/TCP"
    assert _changes(doc) == [
        ("target-port-changed", "web", port, "http", "8080 (app)", "9090 (app)"),
        *sorted(
            [("backend-removed", "web", port, f"{ns.name}/{p}", f"{ip}:8080 ready", None)
             for p, ip in ips.items()]
            + [("backend-added", "web", port, f"{ns.name}/{p}", None, f"{ip}:9090 ready")
               for p, ip in now.items()],
            key=lambda c: c[3],
        ),
    ]  # fmt: skip
    assert not set(now) & set(ips)

    # Against the cluster: nothing since the last snapshot; everything since the first.
    assert _diff(ns, rolled, "live", "-n", ns.name, expect=0)["different"] is False
    live = _diff(ns, before, "live", "-n", ns.name, expect=DIFFERENT)
    assert live["new"]["source"] == "live"
    assert live["namespace"] == ns.name
    kinds = live["summary"]
    assert (kinds["port-changed"], kinds["target-port-changed"]) == (1, 1)
    assert (kinds["backend-removed"], kinds["backend-added"]) == (2, 3)
    text = ns.kinspect("diff", before, "live", "-n", ns.name, expect=DIFFERENT).stdout
    assert "  port http 80/TCP\n    ~ targetPort http resolves to 8080 (app) → 9090 (app)\n" in text


def test_two_audit_reports(ns: Namespace, tmp_path: Path) -> None:
    ns.apply(MANIFEST)
    ns.wait_until("2 ready endpoints on 8080", lambda: _settled(ns, 2, 8080))
    before, after = tmp_path / "before.json", tmp_path / "after.json"
    before.write_text(ns.kinspect("audit", "-n", ns.name, "-o", "json").stdout)
    # The fix: plain selects web's pods (on their port 8080, by number: a new finding).
    ns.kubectl(
        "patch", "service", "plain", "--type=json",
        "-p", '[{"op": "replace", "path": "/spec/selector", "value": {"app": "web"}},'
              ' {"op": "replace", "path": "/spec/ports/0/targetPort", "value": 8080}]',
    )  # fmt: skip

    def plain_ready() -> bool:
        slices = ns.get("endpointslices", "-l", "kubernetes.io/service-name=plain")["items"]
        return sum(len(s.get("endpoints") or []) for s in slices) == 2

    ns.wait_until("plain's 2 endpoints", plain_ready)
    after.write_text(ns.kinspect("audit", "-n", ns.name, "-o", "json").stdout)

    def ids(path: Path) -> set[tuple[str, str, str | None]]:
        doc = json.loads(path.read_text())
        return {(f["check"], f["service"], f["port"]) for f in doc["findings"]}

    old, new = ids(before), ids(after)
    assert ("selector-matches-no-pods", "plain", None) in old - new
    # A numeric targetPort on a named container port: the fix brings a finding of its own.
    assert ("numeric-target-port", "plain", "tcp 80/TCP") in new - old
    doc = _diff(ns, str(before), str(after), expect=DIFFERENT)
    got = {(c["kind"], c["subject"], c["service"], c["port"]) for c in doc["changes"]}
    assert got == {("finding-resolved", *i) for i in old - new} | {
        ("finding-new", *i) for i in new - old
    }
    assert doc["old"]["source"] == doc["new"]["source"] == "audit"
    assert _diff(ns, str(after), str(after), expect=0)["changes"] == []
    # An audit report against a snapshot or live: refused, one line, exit 2.
    refused = ns.kinspect("diff", str(before), "live", expect=2)
    assert refused.stderr.startswith("kinspect: error: cannot compare an audit report with live")


LOCAL = """\
apiVersion: v1
kind: Service
metadata: {name: local}
spec:
  type: NodePort
  externalTrafficPolicy: Local
  selector: {app: local}
  ports: [{name: http, port: 80, targetPort: 8080}]
"""
PINNED = """\
---
apiVersion: v1
kind: Pod
metadata: {{name: {name}, labels: {{app: local}}}}
spec:
  {placement}
  containers: [{{name: app, image: fake, ports: [{{containerPort: 8080}}]}}]
"""


def test_a_stuck_pod_and_nodes_that_stop_answering(ns: Namespace, tmp_path: Path) -> None:
    """Issue 23, item 7: what a user cares about in a diff beyond the backends themselves."""
    nodes = sorted(
        n.removeprefix("node/") for n in ns.kubectl("get", "nodes", "-o", "name").split()
    )
    pinned = {f"local-{i}": n for i, n in enumerate(nodes)}
    ns.apply(LOCAL + "".join(PINNED.format(name=p, placement=f"nodeName: {n}")
                             for p, n in pinned.items()))  # fmt: skip
    ns.wait_settled(pods=len(pinned))
    before = str(tmp_path / "before.json")
    ns.kinspect("snapshot", "save", before, "-n", ns.name)

    # All pods but the first go; a new pod that no node accepts is selected.
    for p in list(pinned)[1:]:
        ns.kubectl("delete", "pod", p, "--wait=true", "--grace-period=0", "--force")
    ns.apply(PINNED.format(name="local-stuck", placement="nodeSelector: {no-such-label: x}"))
    ns.wait_settled(pods=2)

    def one_endpoint() -> bool:
        slices = ns.get("endpointslices", "-l", "kubernetes.io/service-name=local")["items"]
        return sum(len(s.get("endpoints") or []) for s in slices) == 1

    ns.wait_until("local's one endpoint", one_endpoint)
    doc = _diff(ns, before, "live", "-n", ns.name, expect=DIFFERENT)
    node_port = ns.get("service", "local")["spec"]["ports"][0]["nodePort"]
    first = nodes[0]
    total = len(nodes)
    answers = [c for c in _changes(doc) if c[0] == "answers-changed"]
    assert answers == [
        ("answers-changed", "local", "http 80/TCP", f"NodePort {node_port}",
         f"{total}/{total} nodes", f"1/{total} nodes ({first})"),
    ]  # fmt: skip
    (cond,) = [
        c
        for c in ns.get("pod", "local-stuck")["status"]["conditions"]
        if c["type"] == "PodScheduled"
    ]
    idle = [c for c in _changes(doc) if c[0] == "pod-no-endpoint"]
    assert idle == [
        ("pod-no-endpoint", "local", "http 80/TCP", f"{ns.name}/local-stuck", None,
         f"pending: not scheduled ({cond['reason']}: {cond['message']})"),
    ]  # fmt: skip
    text = ns.kinspect("diff", before, "live", "-n", ns.name, expect=DIFFERENT).stdout
    assert f"~ NodePort {node_port} answers on {total}/{total} nodes → 1/{total} nodes" in text
    assert f"~ pod {ns.name}/local-stuck selected, gets no endpoint: pending" in text
