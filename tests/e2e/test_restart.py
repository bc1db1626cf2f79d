"""The API server killed in the middle of a paged LIST, and started again.

The shared test bed is never restarted: this file starts a second test-bed cluster of its own
(`KINSPECT_CLUSTER=kinspect-restart testbed/cluster.sh up`) and removes it at the end. The fault
proxy kills that cluster's kube-apiserver (SIGKILL) when the first continue page is asked for,
and resets the request, as a dying server would; requests are reset while it is down; a timer
starts the same kube-apiserver command again. kinspect then either finishes the list once the
server is back within the retry window, or fails with exit 4 naming the resource.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kinspect.model.errors import ExitCode

from .conftest import KINSPECT, ROOT
from .faultproxy import FaultProxy, Rule

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("KINSPECT_E2E_CONTEXT")),
    reason="kills and restarts a kube-apiserver: needs a test-bed cluster of its own, "
    "which KINSPECT_E2E_CONTEXT does not give",
)

NAME = "kinspect-restart"
PODS = 6
KUBECTL = os.path.join(
    os.environ.get("KINSPECT_CACHE", os.path.expanduser("~/.cache/kinspect")),
    "bin",
    "current",
    "kubectl",
)


@dataclass
class ApiServer:
    """The second cluster's kube-apiserver, killed and started again from its own command line."""

    pidfile: Path
    log: Path
    started: list[subprocess.Popen[bytes]]  # every one, for the module's teardown
    pending: list[Callable[[], None]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def kill(self) -> tuple[list[str], str, dict[str, str]]:
        pid = int(self.pidfile.read_text().strip())
        proc = Path(f"/proc/{pid}")
        cmd = [a.decode() for a in (proc / "cmdline").read_bytes().split(b"\0") if a]
        cwd = os.readlink(proc / "cwd")
        env = dict(
            e.decode().split("=", 1) for e in (proc / "environ").read_bytes().split(b"\0") if e
        )
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while proc.exists() and "zombie" not in _state(proc):
            assert time.monotonic() < deadline, "kube-apiserver did not die"
            time.sleep(0.05)
        return cmd, cwd, env

    def start(self, cmd: list[str], cwd: str, env: dict[str, str]) -> None:
        with open(self.log, "ab") as out:
            p = subprocess.Popen(
                cmd, cwd=cwd, env=env, stdout=out, stderr=out, start_new_session=True
            )
        self.started.append(p)
        # cluster.sh down (kwokctl) stops the component by this file
        self.pidfile.write_text(str(p.pid))

    def kill_and_restart_after(self, seconds: float) -> None:
        cmd, cwd, env = self.kill()
        done = threading.Event()

        def restart() -> None:
            with self.lock:
                if not done.is_set():
                    done.set()
                    self.start(cmd, cwd, env)

        self.pending.append(restart)
        threading.Timer(seconds, restart).start()

    def finish(self) -> None:
        """Start now what a timer has yet to start: the cluster is never left without one."""
        for restart in self.pending:
            restart()


def _state(proc: Path) -> str:
    try:
        return (proc / "status").read_text()
    except OSError:
        return "zombie"


@pytest.fixture(scope="module")
def second() -> Iterator[tuple[str, Path, list[subprocess.Popen[bytes]]]]:
    env = {**os.environ, "KINSPECT_CLUSTER": NAME}
    script = str(ROOT / "testbed" / "cluster.sh")
    up = subprocess.run([script, "up"], env=env, capture_output=True, text=True, check=False)
    assert up.returncode == 0, f"second test bed failed to start:\n{up.stderr[-4000:]}"
    kubeconfig = up.stdout.strip().splitlines()[-1]
    started: list[subprocess.Popen[bytes]] = []
    try:
        yield kubeconfig, Path(kubeconfig).parent, started
    finally:
        subprocess.run([script, "down"], env=env, capture_output=True, check=False)
        for p in started:  # the API servers this module started, should kwokctl miss one
            if p.poll() is None:
                p.kill()
                p.wait()


def _kubectl(kubeconfig: str, *args: str, input: str | None = None) -> str:
    return subprocess.run(
        [KUBECTL, "--kubeconfig", kubeconfig, *args],
        input=input,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout


def _ready(kubeconfig: str) -> bool:
    ok = subprocess.run(
        [KUBECTL, "--kubeconfig", kubeconfig, "get", "--raw", "/readyz"],
        capture_output=True,
        check=False,
    )
    return ok.returncode == 0


@pytest.fixture
def setup(
    second: tuple[str, Path, list[subprocess.Popen[bytes]]], tmp_path: Path
) -> Iterator[tuple[FaultProxy, ApiServer, str]]:
    kubeconfig, where, started = second
    deadline = time.monotonic() + 90
    while not _ready(kubeconfig):  # after the previous test's restart
        assert time.monotonic() < deadline, "the second API server did not come back"
        time.sleep(0.5)
    ns = f"restart-{os.urandom(3).hex()}"
    _kubectl(kubeconfig, "create", "namespace", ns)
    has_account = ["-n", ns, "get", "serviceaccount", "default"]
    while subprocess.run(
        [KUBECTL, "--kubeconfig", kubeconfig, *has_account], capture_output=True, check=False
    ).returncode:
        assert time.monotonic() < deadline, "no default service account"
        time.sleep(0.3)
    pods = "\n---\n".join(
        f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p-{i}, labels: {{app: web}}}}\n"
        "spec: {containers: [{name: app, image: registry.k8s.io/pause:3.10}]}"
        for i in range(PODS)
    )
    _kubectl(kubeconfig, "-n", ns, "apply", "-f", "-", input=pods)
    view = json.loads(_kubectl(kubeconfig, "config", "view", "--raw", "--minify", "-o", "json"))
    pids, logs = where / "pids", where / "logs"
    api = ApiServer(pids / "kube-apiserver.pid", logs / "kube-apiserver.log", started)
    try:
        with FaultProxy.start(view, tmp_path) as proxy:
            yield proxy, api, ns
    finally:
        api.finish()


def _run(proxy: FaultProxy, tmp: Path, ns: str, timeout: str) -> subprocess.CompletedProcess[str]:
    save = ["snapshot", "save", str(tmp / "snap.json"), "-n", ns]
    return subprocess.run(
        [
            *KINSPECT,
            "-v",
            *save,
            "--kubeconfig",
            proxy.kubeconfig(tmp),
            "--request-timeout",
            timeout,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
        env={**os.environ, "KINSPECT_CHUNK_SIZE": "2", "NO_COLOR": "1", "COLUMNS": "200"},
    )


def test_a_list_survives_the_api_server_restarting_within_the_window(
    setup: tuple[FaultProxy, ApiServer, str], tmp_path: Path
) -> None:
    proxy, api, ns = setup
    proxy.add(
        Rule(
            (f"/namespaces/{ns}/pods?", "continue="),
            "hook",
            hook=lambda: api.kill_and_restart_after(1.0),
        )
    )
    proc = _run(proxy, tmp_path, ns, "30")
    assert proc.returncode == 0, proc.stderr
    assert "retrying list pods" in proc.stderr, proc.stderr
    snap = json.loads((tmp_path / "snap.json").read_text())["snapshot"]
    assert [p["name"] for p in snap["pods"]] == [f"p-{i}" for i in range(PODS)]
    assert len(api.pending) == 1


def test_a_server_not_back_in_time_is_exit_4_naming_the_resource(
    setup: tuple[FaultProxy, ApiServer, str], tmp_path: Path
) -> None:
    proxy, api, ns = setup

    def kill() -> None:
        proxy.wait_alone()  # the pods page alone fails: the other reads are answered first
        api.kill_and_restart_after(15.0)

    proxy.add(Rule((f"/namespaces/{ns}/pods?", "continue="), "hook", hook=kill))
    t0 = time.monotonic()
    proc = _run(proxy, tmp_path, ns, "5")
    assert time.monotonic() - t0 < 14
    assert proc.returncode == ExitCode.UNREACHABLE, proc.stderr
    last = proc.stderr.splitlines()[-1]
    assert last.startswith("kinspect: error: "), proc.stderr
    assert f"pods in namespace {ns}" in last
    assert not (tmp_path / "snap.json").exists()
