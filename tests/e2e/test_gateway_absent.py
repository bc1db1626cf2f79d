"""Issue 13 on a cluster without the Gateway API: quiet, and the Ingress chain unchanged.

The shared test bed has the Gateway API CRDs once any test installs them (test_gateway.py), so
this file starts a second test-bed cluster of its own (`KINSPECT_CLUSTER=kinspect-nocrd
testbed/cluster.sh up`), where gateway.networking.k8s.io is not served, applies the demo (whose
apply.sh skips examples/gateway.yaml there) and removes the cluster at the end.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..schema import validate
from .conftest import KINSPECT, ROOT, Cluster, Namespace

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("KINSPECT_E2E_CONTEXT")),
    reason="needs a cluster without the Gateway API CRDs, a test-bed cluster of its own, "
    "which KINSPECT_E2E_CONTEXT does not give",
)

NAME = "kinspect-nocrd"
KUBECTL = os.path.join(
    os.environ.get("KINSPECT_CACHE", os.path.expanduser("~/.cache/kinspect")),
    "bin",
    "current",
    "kubectl",
)


@pytest.fixture(scope="module")
def nocrd() -> Iterator[str]:
    env = {**os.environ, "KINSPECT_CLUSTER": NAME}
    script = str(ROOT / "testbed" / "cluster.sh")
    up = subprocess.run([script, "up"], env=env, capture_output=True, text=True, check=False)
    assert up.returncode == 0, f"second test bed failed to start:\n{up.stderr[-4000:]}"
    kubeconfig = up.stdout.strip().splitlines()[-1]
    try:
        subprocess.run(
            [str(ROOT / "examples" / "apply.sh"), "demo"],
            env={**os.environ, "KUBECTL": f"{KUBECTL} --kubeconfig {kubeconfig}"},
            check=True,
            capture_output=True,
            timeout=180,
        )
        yield kubeconfig
    finally:
        subprocess.run([script, "down"], env=env, capture_output=True, check=False)


def _kinspect(kubeconfig: str, *args: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [*KINSPECT, *args, "--kubeconfig", kubeconfig],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, "COLUMNS": "120", "NO_COLOR": "1"},
    )
    assert proc.returncode == expect, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    return proc


def test_no_gateway_api_is_quiet_and_the_ingress_trace_is_unchanged(nocrd: str) -> None:
    api = subprocess.run(
        [KUBECTL, "--kubeconfig", nocrd, "get", "--raw", "/apis/gateway.networking.k8s.io/v1"],
        capture_output=True,
        check=False,
    )
    assert api.returncode != 0  # really not served here
    # The demo's endpoints may still be settling: the Ingress hop and the service port are
    # there from the start, which is what this test is about.
    proc = _kinspect(
        nocrd, "trace", "http://shop.example.com/api/orders", "-n", "demo", "-o", "json"
    )
    assert proc.stderr == ""  # no warning: an API that is not installed hides nothing
    doc = json.loads(proc.stdout)
    validate(doc, "entry-trace-report.json")
    assert doc["match"]["ingress"]["name"] == "shop"
    assert doc["match"]["servicePort"]["port"] == 80
    assert doc["gateway"] == {
        "considered": 0,
        "found": False,
        "match": None,
        "alsoMatched": [],
        "whyNot": None,
        "unattached": [],
    }
    text = _kinspect(nocrd, "trace", "http://shop.example.com/api/orders", "-n", "demo")
    assert "Gateway" not in text.stdout
    assert text.stderr == ""
    audit = json.loads(_kinspect(nocrd, "audit", "-A", "-o", "json", expect=0).stdout)
    assert not [f for f in audit["findings"] if f["check"].startswith("gateway")]
    assert _kinspect(nocrd, "map", "-n", "demo").stderr == ""


def test_admin_policies_refused_but_not_installed_are_absent(nocrd: str, tmp_path: Path) -> None:
    """RBAC answers 403 before the resource is looked up: a namespace-scoped reader is refused
    the AdminNetworkPolicy CRDs that this cluster does not have. Discovery tells kinspect they
    are not installed, so verdicts stay the NetworkPolicies' and nothing is warned (issue 14)."""
    api = subprocess.run(
        [KUBECTL, "--kubeconfig", nocrd, "get", "--raw", "/apis/policy.networking.k8s.io"],
        capture_output=True,
        check=False,
    )
    assert api.returncode != 0  # really not served here
    context = subprocess.run(
        [KUBECTL, "--kubeconfig", nocrd, "config", "current-context"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    demo = Namespace("demo", Cluster(nocrd, context, KUBECTL, None))
    read = ["get", "list", "watch"]
    kc = demo.restricted_kubeconfig(
        str(tmp_path),
        [
            {"apiGroups": [""], "resources": ["services", "pods"], "verbs": read},
            {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": read},
            {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": read},
        ],
    )
    proc = subprocess.run(
        [*KINSPECT, "map", "-n", "demo", "-o", "json", "--kubeconfig", kc],
        capture_output=True, text=True, check=False, timeout=120,
        env={**os.environ, "NO_COLOR": "1"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "adminnetworkpolicies" not in proc.stderr
    assert "AdminNetworkPolicies" not in proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["networkPolicies"]["state"] == "read"
    assert doc["networkPolicies"]["adminState"] == "absent"
