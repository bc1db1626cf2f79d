"""e2e fixtures: a real API server (the test bed, or KINSPECT_E2E_CONTEXT), a namespace per test.

The test bed is started (and built, on a cold machine) by testbed/cluster.sh; its kubeconfig is
the last line that script prints. Only the control plane's loopback ports are ever dialed:
node, pod, cluster and external IPs in the test bed are data.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The kinspect of the interpreter running the tests (its venv, or wherever it is installed).
KINSPECT = [sys.executable, "-m", "kinspect"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test under tests/e2e as e2e, so that a new file is marked without a word.

    `pytest -m "not e2e"` (`make unit`) is then the quick loop that never starts a cluster.
    """
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.e2e)


@dataclass(frozen=True)
class Cluster:
    kubeconfig: str | None  # None: the user's default kubeconfig
    context: str
    kubectl: str
    # The test bed's component logs (its API server's audit log among them); None through
    # KINSPECT_E2E_CONTEXT, where a cluster's own files are out of reach.
    logs: str | None

    def audit_log(self, what: str) -> str:
        """The API server's audit log, or skip the rest of the test saying what needed it.

        Call it after the part of a test the API can check: only the assertions that need the
        log are skipped, on a cluster that does not expose one.
        """
        path = os.path.join(self.logs, "audit.log") if self.logs else None
        if path is None or not os.path.exists(path):
            pytest.skip(
                f"{what} is seen only in the API server's audit log, which only the test bed "
                f"exposes ({path or 'none through KINSPECT_E2E_CONTEXT'}); the rest passed"
            )
        return path

    def kubectl_args(self) -> list[str]:
        args = [self.kubectl, "--context", self.context]
        if self.kubeconfig:
            args += ["--kubeconfig", self.kubeconfig]
        return args

    def kubeconfig_view(self) -> dict[str, Any]:
        """This context's cluster, user and context, credentials included (for new kubeconfigs)."""
        out = subprocess.run(
            [*self.kubectl_args(), "config", "view", "--raw", "--minify", "-o", "json"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        view: dict[str, Any] = json.loads(out)
        return view

    def kinspect_args(self) -> list[str]:
        args = ["--context", self.context]
        if self.kubeconfig:
            args += ["--kubeconfig", self.kubeconfig]
        return args


def _current_context(kubectl: str, kubeconfig: str) -> str:
    out = subprocess.run(
        [kubectl, "--kubeconfig", kubeconfig, "config", "current-context"],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


@pytest.fixture(scope="session")
def cluster(pytestconfig: pytest.Config) -> Cluster:
    ctx = os.environ.get("KINSPECT_E2E_CONTEXT")
    cache = os.path.realpath(
        os.environ.get("KINSPECT_CACHE", os.path.expanduser("~/.cache/kinspect"))
    )
    if ctx:
        kubectl = shutil.which("kubectl")
        assert kubectl, "KINSPECT_E2E_CONTEXT is set but kubectl is not on PATH"
        kubeconfig = os.environ.get("KUBECONFIG")
        # No test may lean on the test bed's own files in this mode (`make e2e-context` points
        # a copy of its kubeconfig at it): the kubeconfig must live elsewhere.
        for path in (kubeconfig or os.path.expanduser("~/.kube/config")).split(os.pathsep):
            real = os.path.realpath(path)
            assert not real.startswith(cache + os.sep), (
                f"KINSPECT_E2E_CONTEXT with a kubeconfig under {cache} ({path}): copy it out, "
                "as `make e2e-context` does"
            )
            # ...nor name files there (a certificate by path): a copy must embed them.
            if os.path.exists(path):
                with open(path) as f:
                    assert cache not in f.read(), (
                        f"kubeconfig {path} names files under {cache}: flatten it "
                        "(kubectl config view --raw --flatten), as `make e2e-context` does"
                    )
        return _with_gateway_crds(Cluster(kubeconfig, ctx, kubectl, None))
    reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
    capture = pytestconfig.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        # Past pytest's output capture, so the wait is announced while it happens.
        with capture.global_and_fixture_disabled():
            reporter.write_line(
                "\ne2e: starting the test bed (testbed/cluster.sh up; on a cold machine it "
                "first builds the Go binaries, about 10 min). The quick loop without it: make unit"
            )
    up = subprocess.run(
        [str(ROOT / "testbed" / "cluster.sh"), "up"], capture_output=True, text=True, check=False
    )
    assert up.returncode == 0, f"test bed failed to start:\n{up.stderr[-4000:]}"
    kubeconfig = up.stdout.strip().splitlines()[-1]
    kubectl = os.path.join(cache, "bin", "current", "kubectl")
    logs = str(Path(kubeconfig).parent / "logs")
    return _with_gateway_crds(
        Cluster(kubeconfig, _current_context(kubectl, kubeconfig), kubectl, logs)
    )


def _with_gateway_crds(c: Cluster) -> Cluster:
    """Install the Gateway API CRDs (testbed/crds.sh, idempotent) before any test runs.

    Every test then sees one world: examples/apply.sh adds the demo's Gateway and routes only
    where the CRDs exist, so a suite that installed them halfway through (on a fresh test bed)
    would give the tests before and after it different demos.
    """
    crds = subprocess.run(
        [str(ROOT / "testbed" / "crds.sh")],
        env={**os.environ, "KUBECTL": " ".join(c.kubectl_args())},
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert crds.returncode == 0, f"testbed/crds.sh failed:\n{crds.stderr[-3000:]}"
    return c


@dataclass
class Namespace:
    name: str
    cluster: Cluster

    def kubectl(self, *args: str, input: str | None = None, check: bool = True) -> str:
        proc = subprocess.run(
            [*self.cluster.kubectl_args(), "-n", self.name, *args],
            input=input,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc.stdout

    def apply(self, manifest: str) -> None:
        self.kubectl("apply", "-f", "-", input=manifest)

    def apply_demo(self) -> None:
        """examples/apply.sh into this namespace: the demo, its entry points and its policy.

        --any-nodeport: web's fixed 30080 (kind's port mapping) may be taken by `make demo`.
        """
        subprocess.run(
            [str(ROOT / "examples" / "apply.sh"), self.name, "--any-nodeport"],
            env={**os.environ, "KUBECTL": " ".join(self.cluster.kubectl_args())},
            check=True,
            capture_output=True,
            timeout=120,
        )
        # Every pod placed (web-pending refused), Ready and in its slices: tests compare
        # kinspect's read with kubectl's, and web-noname or web-b still starting made them
        # differ (counting ready endpoints per service let web-noname stand in for web-b).
        self.wait_settled(seconds=120)

    def get(self, *args: str) -> Any:
        return json.loads(self.kubectl("get", *args, "-o", "json"))

    def kinspect(self, *args: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [*KINSPECT, *args, *self.cluster.kinspect_args()],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
            env={**os.environ, "COLUMNS": "120", "NO_COLOR": "1"},
        )
        assert proc.returncode == expect, (
            f"kinspect {' '.join(args)} exited {proc.returncode}, expected {expect}\n"
            f"stdout: {proc.stdout[-3000:]}\nstderr: {proc.stderr[-3000:]}"
        )
        return proc

    def kinspect_json(self, *args: str, expect: int = 0) -> Any:
        return json.loads(self.kinspect(*args, "-o", "json", expect=expect).stdout)

    def restricted_kubeconfig(
        self, tmp_dir: str, rules: list[dict[str, Any]], cluster_wide: str = ""
    ) -> str:
        """A kubeconfig for a new ServiceAccount bound to `rules` in this namespace only.

        `cluster_wide`: the name of a ClusterRole and ClusterRoleBinding to grant `rules` in
        every namespace instead; the caller deletes them (they outlive the namespace).
        """
        sa = cluster_wide or f"reader-{uuid.uuid4().hex[:6]}"
        role, binding = (
            ("ClusterRole", "ClusterRoleBinding") if cluster_wide else ("Role", "RoleBinding")
        )
        self.apply(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "List",
                    "items": [
                        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": sa}},
                        {
                            "apiVersion": "rbac.authorization.k8s.io/v1",
                            "kind": role,
                            "metadata": {"name": sa},
                            "rules": rules,
                        },
                        {
                            "apiVersion": "rbac.authorization.k8s.io/v1",
                            "kind": binding,
                            "metadata": {"name": sa},
                            "roleRef": {
                                "apiGroup": "rbac.authorization.k8s.io",
                                "kind": role,
                                "name": sa,
                            },
                            "subjects": [
                                {"kind": "ServiceAccount", "name": sa, "namespace": self.name}
                            ],
                        },
                    ],
                }
            )
        )
        token = self.kubectl("create", "token", sa).strip()
        view = self.cluster.kubeconfig_view()
        cluster = view["clusters"][0]["cluster"]
        kc = {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "restricted",
            "clusters": [{"name": "c", "cluster": cluster}],
            "users": [{"name": sa, "user": {"token": token}}],
            "contexts": [
                {
                    "name": "restricted",
                    "context": {"cluster": "c", "user": sa, "namespace": self.name},
                }
            ],
        }
        path = os.path.join(tmp_dir, f"{sa}.kubeconfig")
        with open(path, "w") as f:
            json.dump(kc, f)
        return path

    def settled(self, pods: int | None = None) -> bool:
        """Whether nothing in this namespace is still moving: a read now equals a read later.

        Every pod not terminating, and either Running with an IP and Ready, or refused by the
        scheduler (Unschedulable: it stays Pending, as the demo's web-pending does); `pods` of
        them, if given; and every running pod a Service selects listed ready in that Service's
        EndpointSlices. kwok and the endpointslice controller update pods and slices for a
        while after they are made: a test that compares two reads waits for this first.
        """
        items = self.get("pods")["items"]
        if pods is not None and len(items) != pods:
            return False
        running: dict[str, set[str]] = {}
        for p in items:
            status = p.get("status", {})
            conditions = {c.get("type"): c for c in status.get("conditions", [])}
            if p["metadata"].get("deletionTimestamp"):
                return False
            scheduled = conditions.get("PodScheduled", {})
            if scheduled.get("status") == "False" and scheduled.get("reason") == "Unschedulable":
                continue
            ready = conditions.get("Ready", {}).get("status") == "True"
            if status.get("phase") != "Running" or not status.get("podIP") or not ready:
                return False
            running[p["metadata"]["name"]] = {a["ip"] for a in status.get("podIPs", [])}
        listed: dict[str, set[str]] = {}
        for s in self.get("endpointslices")["items"]:
            service = s["metadata"].get("labels", {}).get("kubernetes.io/service-name", "")
            for e in s.get("endpoints") or []:
                if e.get("conditions", {}).get("ready"):
                    listed.setdefault(service, set()).update(e.get("addresses", []))
        for svc in self.get("services")["items"]:
            selector = svc["spec"].get("selector")
            if not selector:
                continue
            ready_here = listed.get(svc["metadata"]["name"], set())
            # A dual-stack pod is listed only in the slices of the service's own families
            # (a SingleStack IPv4 service has no IPv6 slice).
            families = set(svc["spec"].get("ipFamilies") or ["IPv4"])
            for p in items:
                labels = p["metadata"].get("labels", {})
                selected = all(labels.get(k) == v for k, v in selector.items())
                ips = {
                    ip
                    for ip in running.get(p["metadata"]["name"], set())
                    if _family(ip) in families
                }
                if selected and not ips <= ready_here:
                    return False
        return True

    def wait_settled(self, pods: int | None = None, seconds: float = 90) -> None:
        """Wait until `settled(pods)`, or fail at the deadline."""
        what = f"{pods if pods is not None else 'all'} pods settled (Running, IP, Ready, in slices)"
        self.wait_until(what, lambda: self.settled(pods), seconds=seconds)

    def wait_until(self, what: str, check: Callable[[], bool], seconds: float = 60) -> None:
        """Poll `check` until true, or fail at the deadline naming what was awaited."""
        deadline = time.monotonic() + seconds
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out after {seconds}s waiting for {what} in namespace {self.name}; "
                    f"component logs: {self.cluster.logs or 'the cluster own'}"
                )
            time.sleep(0.3)


@contextmanager
def new_namespace(cluster: Cluster) -> Iterator[Namespace]:
    """A fresh namespace, deleted afterwards."""
    name = f"e2e-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        [*cluster.kubectl_args(), "create", "namespace", name], check=True, capture_output=True
    )
    # The namespace's default ServiceAccount is created by a controller; pods need it.
    n = Namespace(name, cluster)
    n.wait_until(
        "the default service account",
        lambda: bool(
            n.kubectl("get", "serviceaccount", "default", "--ignore-not-found", check=False)
        ),
    )
    try:
        yield n
    finally:
        subprocess.run(
            [*cluster.kubectl_args(), "delete", "namespace", name, "--wait=false"],
            check=False,
            capture_output=True,
        )


@pytest.fixture
def ns(cluster: Cluster) -> Iterator[Namespace]:
    with new_namespace(cluster) as n:
        yield n


def _family(ip: str) -> str:
    """IPv4 or IPv6 (a Service's ipFamilies), for an address the API server validated."""
    return "IPv6" if ":" in ip else "IPv4"
