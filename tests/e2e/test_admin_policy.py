"""AdminNetworkPolicy and BaselineAdminNetworkPolicy verdicts from real objects (issue 14).

The CRDs (sigs.k8s.io/network-policy-api, testbed/anp-crds.sh) are installed into the shared
test bed by this file's fixture only. ANPs and the BANP are cluster-scoped and the test bed is
shared with other runs: every policy created here has a subject selecting this test's namespace
alone (kubernetes.io/metadata.name), its peers name only this namespace, and it is deleted at
the end (finally). The BANP is a singleton named `default`: created with the same narrow
subject, deleted afterwards. kwok enforces nothing: these tests check what kinspect reads and
concludes (by policy).
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
from .conftest import KINSPECT, ROOT, Cluster, Namespace

READ = ["get", "list", "watch"]
WORLD = """
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{name: http, port: 80, targetPort: http}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-0, labels: {app: web}}
spec: {containers: [{name: app, image: registry.k8s.io/pause:3.10,
       ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: shop-0, labels: {app: shop}}
spec: {containers: [{name: app, image: registry.k8s.io/pause:3.10,
       ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: db-0, labels: {app: db}}
spec: {containers: [{name: app, image: registry.k8s.io/pause:3.10}]}
---
# web-0 admits only shop-0, by NetworkPolicy.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
    - from: [{podSelector: {matchLabels: {app: shop}}}]
      ports: [{port: http}]
"""


@pytest.fixture(scope="module")
def anp_crds(cluster: Cluster) -> Cluster:
    crds = subprocess.run(
        [str(ROOT / "testbed" / "anp-crds.sh")],
        env={**os.environ, "KUBECTL": " ".join(cluster.kubectl_args())},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert crds.returncode == 0, f"testbed/anp-crds.sh failed:\n{crds.stderr[-3000:]}"
    return cluster


def _only(ns: Namespace) -> dict[str, Any]:
    return {"matchLabels": {"kubernetes.io/metadata.name": ns.name}}


def _policies(ns: Namespace) -> list[dict[str, Any]]:
    """An ANP that Allows db-0 to web (the NetworkPolicy refuses it) and Passes the rest of the
    namespace on the named port; a BANP that Denies the namespace to itself."""
    pods_of = {"namespaceSelector": _only(ns)}
    return [
        {
            "apiVersion": "policy.networking.k8s.io/v1alpha1",
            "kind": "AdminNetworkPolicy",
            "metadata": {"name": f"{ns.name}-allow-db"},
            "spec": {
                "priority": 10,
                "subject": {"pods": {**pods_of, "podSelector": {"matchLabels": {"app": "web"}}}},
                "ingress": [
                    {
                        "name": "db-may",
                        "action": "Allow",
                        "from": [
                            {"pods": {**pods_of, "podSelector": {"matchLabels": {"app": "db"}}}}
                        ],
                        "ports": [{"namedPort": "http"}],
                    },
                    {
                        "name": "pass-the-rest",
                        "action": "Pass",
                        "from": [{"namespaces": _only(ns)}],
                    },
                ],
            },
        },
        {
            "apiVersion": "policy.networking.k8s.io/v1alpha1",
            "kind": "BaselineAdminNetworkPolicy",
            "metadata": {"name": "default"},
            "spec": {
                "subject": {"namespaces": _only(ns)},
                "ingress": [
                    {"name": "deny-all", "action": "Deny", "from": [{"namespaces": _only(ns)}]}
                ],
            },
        },
    ]


@pytest.fixture
def policies(anp_crds: Cluster, ns: Namespace) -> Iterator[Namespace]:
    """This namespace's world, with the ANP and the BANP; both deleted afterwards."""
    ns.apply(WORLD)
    docs = _policies(ns)
    _remove_a_banp_left_by_a_killed_run(ns)
    try:
        for doc in docs:
            # create, not apply: a BANP `default` left by someone else must fail loudly here
            # rather than be taken over.
            ns.kubectl("create", "-f", "-", input=json.dumps(doc))
        ns.wait_until("web's endpoints and pod IPs", lambda: _ready(ns))
        yield ns
    finally:
        for doc in docs:
            kind, name = doc["kind"].lower(), doc["metadata"]["name"]
            owned = name != "default" or _banp_is_ours(ns)
            if owned:
                ns.kubectl("delete", kind, name, "--ignore-not-found", check=False)


def _remove_a_banp_left_by_a_killed_run(ns: Namespace) -> None:
    """Delete the BANP `default` if an earlier run of this file made it and was killed.

    That one's subject is a single e2e-… namespace that no longer exists: it selects nothing.
    Any other BANP `default` is someone else's, and `create` then fails loudly.
    """
    got = ns.kubectl(
        "get", "baselineadminnetworkpolicy", "default", "-o", "json", "--ignore-not-found",
        check=False,
    )  # fmt: skip
    if not got.strip():
        return
    subject = json.loads(got).get("spec", {}).get("subject", {})
    namespaces = subject.get("namespaces", {})
    labels = namespaces.get("matchLabels", {})
    one = namespaces.keys() == {"matchLabels"} and labels.keys() == {"kubernetes.io/metadata.name"}
    if subject.keys() != {"namespaces"} or not one:
        return
    left = labels["kubernetes.io/metadata.name"]
    gone = not ns.kubectl("get", "namespace", left, "-o", "name", "--ignore-not-found")
    if left.startswith("e2e-") and gone:
        ns.kubectl("delete", "baselineadminnetworkpolicy", "default", "--ignore-not-found")


def _banp_is_ours(ns: Namespace) -> bool:
    got = ns.kubectl(
        "get", "baselineadminnetworkpolicy", "default", "-o", "json", "--ignore-not-found",
        check=False,
    )  # fmt: skip
    if not got.strip():
        return False
    subject = json.loads(got)["spec"]["subject"]
    return bool(subject == {"namespaces": _only(ns)})


def _ready(ns: Namespace) -> bool:
    eps = ns.get("endpointslices", "-l", "kubernetes.io/service-name=web")["items"]
    pods = ns.get("pods")["items"]
    ips = all(p.get("status", {}).get("podIP") for p in pods)
    return ips and any(e.get("endpoints") for e in eps)


def test_trace_and_policy_read_real_admin_policies(policies: Namespace) -> None:
    ns = policies
    ip = ns.get("service", "web")["spec"]["clusterIP"]
    # db-0: the NetworkPolicy refuses it, the ANP's Allow comes first.
    doc = ns.kinspect_json("trace", f"{ip}:80", "--from", f"{ns.name}/db-0", "-A")
    validate(doc, "trace-report.json")
    (hop,) = doc["policy"]["hops"]
    assert (hop["verdict"], hop["ingress"]["isolatedBy"]) == ("allowed", [])
    assert hop["ingress"]["decidedBy"] == {
        "kind": "AdminNetworkPolicy",
        "policy": f"{ns.name}-allow-db",
        "priority": 10,
        "direction": "ingress",
        "rule": 0,
        "name": "db-may",
        "action": "Allow",
    }
    # shop-0: passed to the NetworkPolicy, which allows it.
    text = ns.kinspect("trace", f"{ip}:80", "--from", f"{ns.name}/shop-0", "-A").stdout
    assert f"allowed  {ns.name}/web-0:8080/TCP" in text
    assert (
        f"ingress: passed by AdminNetworkPolicy {ns.name}-allow-db ingress[1] 'pass-the-rest' "
        f"(priority 10), then allowed by {ns.name}/web-from-shop ingress[0]"
    ) in text
    # web-0 to shop-0 (no NetworkPolicy isolates shop-0): the baseline's Deny decides.
    shop_ip = ns.get("pod", "shop-0")["status"]["podIP"]
    text = ns.kinspect("trace", f"{shop_ip}:8080", "--from", f"{ns.name}/web-0", "-A").stdout
    assert f"denied   {ns.name}/shop-0:8080/TCP" in text
    assert "ingress: denied by BaselineAdminNetworkPolicy default ingress[0] 'deny-all'" in text
    # From outside the cluster: no ANP ingress peer matches an outside client.
    out = ns.kinspect_json("trace", f"{shop_ip}:8080", "--from", "outside", "-A")
    (hop,) = out["policy"]["hops"]
    assert (hop["verdict"], hop["ingress"]["decidedBy"]) == ("allowed", None)
    # kinspect policy: the ANP's rules first, in order; the NetworkPolicy's after.
    lines = ns.kinspect("policy", f"{ns.name}/web-0").stdout.splitlines()
    first = lines.index("  first, AdminNetworkPolicy rules in the order they apply:")
    assert lines[first + 1] == (
        f"  Allow by AdminNetworkPolicy {ns.name}-allow-db ingress[0] 'db-may' (priority 10): "
        f"from pods app=db in namespaces kubernetes.io/metadata.name={ns.name} on named port http"
    )
    assert lines[first + 2].startswith(f"  Pass by AdminNetworkPolicy {ns.name}-allow-db ")
    assert any(line.startswith(f"  allowed by {ns.name}/web-from-shop") for line in lines)
    doc = ns.kinspect_json("policy", f"{ns.name}/shop-0")
    validate(doc, "policy-access.json")
    (a,) = doc["pods"]
    assert (a["adminPolicyState"], a["baselinePolicyState"]) == ("read", "read")
    assert [(r["kind"], r["policy"], r["name"], r["action"]) for r in a["baselineRules"]] == [
        ("BaselineAdminNetworkPolicy", "default", "deny-all", "Deny")
    ]
    # map: web-0 is marked by its NetworkPolicy (the baseline never decides for it).
    doc = ns.kinspect_json("map", "-n", ns.name)
    validate(doc, "chain-report.json")
    assert doc["networkPolicies"]["adminState"] == "read"
    assert doc["networkPolicies"]["ingressIsolated"] == [
        {
            "pod": {"namespace": ns.name, "name": "web-0"},
            "policies": [f"{ns.name}/web-from-shop"],
            "admitsAll": False,
        }
    ]


def test_admin_policies_that_cannot_be_read_are_unknown(
    policies: Namespace, tmp_path: Path
) -> None:
    ns = policies
    ip = ns.get("service", "web")["spec"]["clusterIP"]
    # A namespace-scoped reader: it may read NetworkPolicies here, never the cluster-scoped ANPs.
    kc = ns.restricted_kubeconfig(
        str(tmp_path),
        [
            {"apiGroups": [""], "resources": ["services", "pods"], "verbs": READ},
            {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": READ},
            {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": READ},
        ],
    )
    proc = subprocess.run(
        [*KINSPECT, "trace", f"{ip}:80", "-n", ns.name, "--from", f"{ns.name}/shop-0",
         "--kubeconfig", kc],
        capture_output=True, text=True, check=False, timeout=60,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "adminnetworkpolicies" in proc.stderr
    assert "policy verdicts that AdminNetworkPolicies could decide are unknown" in proc.stderr
    assert f"unknown  {ns.name}/web-0:8080/TCP" in proc.stdout
    assert "ingress: unknown: AdminNetworkPolicies could not be read" in proc.stdout
    assert "allowed " not in proc.stdout
