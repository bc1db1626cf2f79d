"""The test bed's own scripts on a cluster in the states a long-lived one reaches.

- testbed/crds.sh on a cluster that holds only some of the Gateway API CRDs (installed by hand,
  or from an older bundle): it installs the missing ones and keeps the others.
- `testbed/cluster.sh up` on a running cluster whose scheduler binds no new pod (as after a long
  e2e session): it restarts the scheduler, and new pods are bound again.

Both remove or stop what other tests need, so this file starts a test-bed cluster of its own
(`KINSPECT_CLUSTER=kinspect-bed testbed/cluster.sh up`) and removes it at the end.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("KINSPECT_E2E_CONTEXT")),
    reason="removes CRDs and stops a scheduler: needs a test-bed cluster of its own, "
    "which KINSPECT_E2E_CONTEXT does not give",
)

NAME = "kinspect-bed"
KUBECTL = os.path.join(
    os.environ.get("KINSPECT_CACHE", os.path.expanduser("~/.cache/kinspect")),
    "bin",
    "current",
    "kubectl",
)
GROUP = "gateway.networking.k8s.io"
CORE = ["gatewayclasses", "gateways", "httproutes", "grpcroutes", "referencegrants"]
LATER = ["tlsroutes", "tcproutes", "udproutes"]  # not in bundles before v1.5's standard channel


@pytest.fixture(scope="module")
def own() -> Iterator[str]:
    env = {**os.environ, "KINSPECT_CLUSTER": NAME}
    script = str(ROOT / "testbed" / "cluster.sh")
    up = subprocess.run([script, "up"], env=env, capture_output=True, text=True, check=False)
    assert up.returncode == 0, f"the test bed of this file failed to start:\n{up.stderr[-4000:]}"
    try:
        yield up.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run([script, "down"], env=env, capture_output=True, check=False)


def _kubectl(kubeconfig: str, *args: str) -> str:
    proc = subprocess.run(
        [KUBECTL, "--kubeconfig", kubeconfig, *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, f"kubectl {' '.join(args)}: {proc.stderr}"
    return proc.stdout


def _crds_sh(kubeconfig: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROOT / "testbed" / "crds.sh"), *args],
        env={**os.environ, "KUBECTL": f"{KUBECTL} --kubeconfig {kubeconfig}"},
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def _gateway_crds(kubeconfig: str) -> dict[str, str]:
    """Each Gateway API CRD present: its bundle-version annotation ('' when it has none)."""
    crds = json.loads(_kubectl(kubeconfig, "get", "crd", "-o", "json"))["items"]
    return {
        c["metadata"]["name"].removesuffix(f".{GROUP}"): c["metadata"]
        .get("annotations", {})
        .get(f"{GROUP}/bundle-version", "")
        for c in crds
        if c["metadata"]["name"].endswith(f".{GROUP}")
    }


def test_crds_sh_installs_the_missing_crds_of_a_partial_bundle(own: str) -> None:
    versions = (ROOT / "testbed" / "versions.env").read_text()
    version = versions.split("GATEWAY_API_VERSION=", 1)[1].split()[0]
    where = _crds_sh(own, "--print-dir")
    assert where.returncode == 0, where.stderr
    standard = Path(where.stdout.strip()) / "config" / "crd" / "standard"
    # The five core kinds at this very version, as someone installed them by hand; one of them
    # relabelled as from another bundle. The route kinds of later bundles are missing.
    for c in CORE:
        _kubectl(own, "apply", "--server-side", "-f", str(standard / f"{GROUP}_{c}.yaml"))
    _kubectl(
        own, "annotate", "--overwrite", f"crd/grpcroutes.{GROUP}", f"{GROUP}/bundle-version=v0.0.1"
    )
    assert _gateway_crds(own) == {**dict.fromkeys(CORE, version), "grpcroutes": "v0.0.1"}

    first = _crds_sh(own)
    assert first.returncode == 0, first.stderr
    said = [line for line in first.stderr.splitlines() if line.startswith("crds.sh: ")]
    assert said == [
        f"crds.sh: keeping grpcroutes.{GROUP} at bundle version 'v0.0.1' (not {version}): "
        "it was there already",
        *(f"crds.sh: installing {c}.{GROUP} (missing)" for c in LATER),
    ]
    assert _gateway_crds(own) == {**dict.fromkeys(CORE + LATER, version), "grpcroutes": "v0.0.1"}
    established = _kubectl(
        own,
        "get",
        "crd",
        *(f"{c}.{GROUP}" for c in CORE + LATER),
        "-o",
        "jsonpath={range .items[*]}{.status.conditions[?(@.type=='Established')].status} {end}",
    )
    assert established.split() == ["True"] * 8

    again = _crds_sh(own)
    assert again.returncode == 0, again.stderr
    assert "installing" not in again.stderr


def _scheduler_pid(kubeconfig: str) -> int:
    return int((Path(kubeconfig).parent / "pids" / "kube-scheduler.pid").read_text().strip())


def _bound(kubeconfig: str, pod: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _kubectl(kubeconfig, "get", "-n", "default", pod, "-o", "jsonpath={.spec.nodeName}"):
            return True
        time.sleep(0.3)
    return False


def _new_pod(kubeconfig: str) -> str:
    manifest = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"generateName": "after-", "namespace": "default"},
        "spec": {"containers": [{"name": "main", "image": "registry.invalid/x:1"}]},
    }
    return subprocess.run(
        [KUBECTL, "--kubeconfig", kubeconfig, "create", "-o", "name", "-f", "-"],
        input=json.dumps(manifest),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_up_restarts_a_scheduler_that_binds_no_new_pod(own: str) -> None:
    old = _scheduler_pid(own)
    # A stalled scheduler, as seen after a long e2e session: alive, binding nothing.
    os.kill(old, signal.SIGSTOP)
    try:
        stalled = _new_pod(own)
        assert not _bound(own, stalled, 3), "a stopped scheduler bound a pod"
        up = subprocess.run(
            [str(ROOT / "testbed" / "cluster.sh"), "up"],
            env={**os.environ, "KINSPECT_CLUSTER": NAME, "KINSPECT_SCHEDULE_TIMEOUT": "5"},
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        assert up.returncode == 0, up.stderr
        assert "the scheduler bound no new pod in 5s: restarting it" in up.stderr, up.stderr
        assert "the restarted scheduler binds pods again" in up.stderr, up.stderr
        new = _scheduler_pid(own)
        assert new != old
        cmdline = Path(f"/proc/{new}/cmdline").read_bytes().split(b"\0")
        assert cmdline[0].endswith(b"kube-scheduler"), cmdline
        # The pod made while it stalled, and one made now, are bound.
        assert _bound(own, stalled, 30), f"{stalled} still unscheduled"
        assert _bound(own, _new_pod(own), 30), "a new pod unscheduled after the restart"
        # A second `up` finds it healthy and leaves it alone.
        again = subprocess.run(
            [str(ROOT / "testbed" / "cluster.sh"), "up"],
            env={**os.environ, "KINSPECT_CLUSTER": NAME},
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        assert again.returncode == 0, again.stderr
        assert "restarting" not in again.stderr
        assert _scheduler_pid(own) == new
    finally:
        # Should `up` have failed to kill it: never leave a stopped scheduler behind (and never
        # kill whatever process has since reused its pid).
        try:
            if b"kube-scheduler" in Path(f"/proc/{old}/cmdline").read_bytes():
                os.kill(old, signal.SIGKILL)
        except (FileNotFoundError, ProcessLookupError):
            pass
