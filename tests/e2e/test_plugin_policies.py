"""The network plugin's policies on the test bed (issue 23 item 8): detected, not evaluated.

The CRDs (cilium.io/v2 from github.com/cilium/cilium, crd.projectcalico.org/v1 from
github.com/projectcalico/calico, a crd.antrea.io/v1beta1 stand-in: testbed/plugin-crds.sh) are
installed into the shared test bed by this file's fixture only; no controller runs, the
objects are data. Only namespaced objects are created, in this test's namespace (gone with
it): a cluster-wide one would make every other test's verdicts unknown. kwok enforces
nothing: these tests check what kinspect reads and concludes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ..schema import validate
from .conftest import KINSPECT, ROOT, Cluster, Namespace, new_namespace
from .test_admin_policy import READ, WORLD, _ready
from .test_readonly import _kinspect_events

PLUGIN_OBJECTS = """
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: allow-web}
spec:
  endpointSelector: {matchLabels: {app: web}}
  ingress: [{fromEndpoints: [{matchLabels: {app: db}}]}]
---
apiVersion: crd.projectcalico.org/v1
kind: NetworkPolicy
metadata: {name: calico-web}
spec: {selector: app == 'web', types: [Ingress]}
---
apiVersion: crd.antrea.io/v1beta1
kind: NetworkPolicy
metadata: {name: antrea-web}
spec: {priority: 5, appliedTo: [{podSelector: {matchLabels: {app: web}}}]}
"""
NAMED = (
    "CiliumNetworkPolicy {ns}/allow-web, Calico NetworkPolicy {ns}/calico-web, "
    "Antrea NetworkPolicy {ns}/antrea-web may also apply (plugin policies are not evaluated)"
)
CLUSTER_WIDE = (
    ("cilium.io", "ciliumclusterwidenetworkpolicies"),
    ("crd.projectcalico.org", "globalnetworkpolicies"),
    ("crd.antrea.io", "clusternetworkpolicies"),
)


@pytest.fixture(scope="module")
def plugin_crds(cluster: Cluster) -> Cluster:
    start = time.monotonic()
    crds = subprocess.run(
        [str(ROOT / "testbed" / "plugin-crds.sh")],
        env={**os.environ, "KUBECTL": " ".join(cluster.kubectl_args())},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert crds.returncode == 0, f"testbed/plugin-crds.sh failed:\n{crds.stderr[-3000:]}"
    print(f"testbed/plugin-crds.sh took {time.monotonic() - start:.1f} s", file=sys.stderr)
    return cluster


def _no_cluster_wide_plugin_policies(ns: Namespace) -> None:
    """The premise of "stays as before": nobody left a cluster-wide plugin policy in the bed."""
    for group, plural in CLUSTER_WIDE:
        left = ns.kubectl("get", f"{plural}.{group}", "-o", "name")
        assert not left.strip(), f"a cluster-wide plugin policy is in the test bed: {left}"


@pytest.fixture
def world(plugin_crds: Cluster, ns: Namespace) -> Namespace:
    ns.apply(WORLD)
    ns.wait_until("web's endpoints and pod IPs", lambda: _ready(ns))
    return ns


def test_trace_from_is_unknown_naming_the_plugin_policies(
    world: Namespace, cluster: Cluster
) -> None:
    ns = world
    _no_cluster_wide_plugin_policies(ns)
    ns.apply(PLUGIN_OBJECTS)
    ip = ns.get("service", "web")["spec"]["clusterIP"]
    proc = ns.kinspect("trace", f"{ip}:80", "--from", f"{ns.name}/shop-0", "-A")
    print(proc.stdout)  # the sample (pytest -s)
    text = proc.stdout
    assert f"unknown  {ns.name}/web-0:8080/TCP" in text
    assert f"ingress: unknown: {NAMED.format(ns=ns.name)}" in text
    assert f"egress: unknown: {NAMED.format(ns=ns.name)}" in text  # shop-0's own egress
    assert "allowed " not in text
    doc = ns.kinspect_json("trace", f"{ip}:80", "--from", f"{ns.name}/shop-0", "-A")
    validate(doc, "trace-report.json")
    (hop,) = doc["policy"]["hops"]
    # What the API lists, kind by kind, is what the verdict names.
    listed = sorted(
        (group, item["kind"], item["metadata"]["name"])
        for group, plural in (
            ("cilium.io", "ciliumnetworkpolicies"),
            ("crd.projectcalico.org", "networkpolicies"),
            ("crd.antrea.io", "networkpolicies"),
        )
        for item in ns.get(f"{plural}.{group}")["items"]
    )
    named = sorted((p["group"], p["kind"], p["name"]) for p in hop["ingress"]["pluginPolicies"])
    assert named == listed
    assert {p["namespace"] for p in hop["ingress"]["pluginPolicies"]} == {ns.name}
    assert hop["ingress"]["isolatedBy"] == [f"{ns.name}/web-from-shop"]
    # From outside the cluster: no egress side of its own, web-0's ingress is unknown.
    out = ns.kinspect_json("trace", f"{ip}:80", "--from", "outside", "-A")
    (hop,) = out["policy"]["hops"]
    assert (hop["egress"]["verdict"], hop["ingress"]["verdict"]) == ("allowed", "unknown")
    # kinspect policy and map say the same.
    doc = ns.kinspect_json("policy", f"{ns.name}/web-0")
    validate(doc, "policy-access.json")
    (a,) = doc["pods"]
    assert a["summary"] == f"unknown: {NAMED.format(ns=ns.name)}"
    doc = ns.kinspect_json("map", "-n", ns.name)
    validate(doc, "chain-report.json")
    np = doc["networkPolicies"]
    assert np["pluginPolicyState"] == "read"
    assert sorted((p["group"], p["kind"], p["name"]) for p in np["pluginPolicies"]) == listed
    assert [u["pod"]["name"] for u in np["pluginUnknown"]] == ["web-0"]
    # Every request kinspect sent about this namespace was a read, the plugin kinds' too.
    events = _kinspect_events(cluster.audit_log("which verbs kinspect sent"), ns.name)
    verbs = {str(e["verb"]) for e in events}
    resources = {str(e.get("objectRef", {}).get("resource")) for e in events}  # type: ignore[attr-defined]
    assert verbs <= {"get", "list", "watch"}, verbs
    assert {"ciliumnetworkpolicies", "networkpolicies"} <= resources


def test_a_namespace_without_plugin_policies_keeps_its_verdicts(
    plugin_crds: Cluster, world: Namespace
) -> None:
    ns = world
    _no_cluster_wide_plugin_policies(ns)
    # Another namespace holds a CiliumNetworkPolicy: it never applies here.
    with new_namespace(plugin_crds) as other:
        other.apply(PLUGIN_OBJECTS)
        ip = ns.get("service", "web")["spec"]["clusterIP"]
        text = ns.kinspect("trace", f"{ip}:80", "--from", f"{ns.name}/shop-0", "-A").stdout
        assert f"allowed  {ns.name}/web-0:8080/TCP" in text
        assert f"ingress: allowed by {ns.name}/web-from-shop ingress[0]" in text
        text = ns.kinspect("trace", f"{ip}:80", "--from", f"{ns.name}/db-0", "-A").stdout
        assert f"denied   {ns.name}/web-0:8080/TCP" in text
        doc = ns.kinspect_json("map", "-n", ns.name)
        assert doc["networkPolicies"]["pluginUnknown"] == []
        assert doc["networkPolicies"]["pluginPolicyState"] == "read"


def test_cluster_wide_plugin_kinds_refused_under_n_are_unknown(
    world: Namespace, tmp_path: Path
) -> None:
    ns = world
    ip = ns.get("service", "web")["spec"]["clusterIP"]
    # A namespace-scoped reader: this namespace's policies of every kind, never the
    # cluster-scoped ones (and discovery, which every authenticated user may read).
    kc = ns.restricted_kubeconfig(
        str(tmp_path),
        [
            {"apiGroups": [""], "resources": ["services", "pods"], "verbs": READ},
            {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": READ},
            {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": READ},
            {"apiGroups": ["cilium.io"], "resources": ["ciliumnetworkpolicies"], "verbs": READ},
            {
                "apiGroups": ["crd.projectcalico.org", "crd.antrea.io"],
                "resources": ["networkpolicies"],
                "verbs": READ,
            },
        ],
    )
    proc = subprocess.run(
        [*KINSPECT, "trace", f"{ip}:80", "-n", ns.name, "--from", f"{ns.name}/shop-0",
         "--kubeconfig", kc],
        capture_output=True, text=True, check=False, timeout=60,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
    )  # fmt: skip
    print(proc.stdout, proc.stderr)
    assert proc.returncode == 0, proc.stderr
    assert (
        "policy verdicts where CiliumClusterwideNetworkPolicies may apply are unknown"
        in proc.stderr
    )
    assert f"unknown  {ns.name}/web-0:8080/TCP" in proc.stdout
    # (Where the AdminNetworkPolicy CRDs are installed too, their refusal is named first.)
    refused = (
        "CiliumClusterwideNetworkPolicies, Calico GlobalNetworkPolicies, Antrea "
        "ClusterNetworkPolicies could not be read"
    )
    sides = [line.strip() for line in proc.stdout.splitlines() if "gress: " in line]
    assert len(sides) == 2, proc.stdout
    for side in sides:
        assert side.startswith(("ingress: unknown: ", "egress: unknown: ")), side
        assert side.endswith(refused), side
    assert "allowed " not in proc.stdout
