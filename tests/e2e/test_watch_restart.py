"""map --watch across an API server restart: the stream resumes and nothing is lost.

The shared test bed is never restarted: this file starts a test-bed cluster of its own
(`KINSPECT_CLUSTER=kinspect-watch testbed/cluster.sh up`) and removes it at the end. During a
watch its kube-apiserver is killed (SIGKILL) and started again from its own command line (as
tests/e2e/test_restart.py does); right after, the Deployment is scaled. The stream must say it
reconnects, then deliver the new backends, and agree with a fresh `map -o json` at the end.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kinspect.model.errors import ExitCode

from .conftest import ROOT, Cluster, new_namespace
from .test_restart import KUBECTL, ApiServer
from .test_watch import _app, _equal_to_a_fresh_map, _ready_backends
from .watchstream import Stream

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("KINSPECT_E2E_CONTEXT")),
    reason="kills and restarts a kube-apiserver: needs a test-bed cluster of its own, "
    "which KINSPECT_E2E_CONTEXT does not give",
)

NAME = "kinspect-watch"


@pytest.fixture(scope="module")
def own() -> Iterator[tuple[Cluster, list[subprocess.Popen[bytes]]]]:
    env = {**os.environ, "KINSPECT_CLUSTER": NAME}
    script = str(ROOT / "testbed" / "cluster.sh")
    up = subprocess.run([script, "up"], env=env, capture_output=True, text=True, check=False)
    assert up.returncode == 0, f"the watch test bed failed to start:\n{up.stderr[-4000:]}"
    kubeconfig = up.stdout.strip().splitlines()[-1]
    context = subprocess.run(
        [KUBECTL, "--kubeconfig", kubeconfig, "config", "current-context"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    logs = str(Path(kubeconfig).parent / "logs")
    started: list[subprocess.Popen[bytes]] = []
    try:
        yield Cluster(kubeconfig, context, KUBECTL, logs), started
    finally:
        subprocess.run([script, "down"], env=env, capture_output=True, check=False)
        for p in started:  # the API servers this module started, should kwokctl miss one
            if p.poll() is None:
                p.kill()
                p.wait()


def _ready(c: Cluster) -> bool:
    ok = subprocess.run(
        [*c.kubectl_args(), "get", "--raw", "/readyz"], capture_output=True, check=False
    )
    return ok.returncode == 0


def test_the_stream_resumes_after_the_api_server_restarts_and_loses_nothing(
    own: tuple[Cluster, list[subprocess.Popen[bytes]]],
) -> None:
    c, started = own
    where = Path(c.kubeconfig or "").parent
    api = ApiServer(
        where / "pids" / "kube-apiserver.pid", where / "logs" / "kube-apiserver.log", started
    )
    with new_namespace(c) as ns:
        _app(ns, 1)
        stream = Stream(
            [
                "map",
                "-n",
                ns.name,
                "--watch",
                "-o",
                "json",
                "--watch-timeout",
                "60",
                *c.kinspect_args(),
            ]
        )
        try:
            stream.synced()
            assert len(_ready_backends(stream.mirror, ns.name)) == 1
            api.kill_and_restart_after(2.0)
            ns.wait_until("the API server back", lambda: _ready(c), seconds=120)
            # A change right after the restart: the watch must pick it up, whether it resumes
            # from its resourceVersion or has to list again (410).
            ns.kubectl("scale", "deployment", "web", "--replicas=3")
            stream.until_mirror(
                "3 ready backends after the restart",
                lambda m: len(_ready_backends(m, ns.name)) == 3,
                seconds=120,
            )
            _equal_to_a_fresh_map(stream, ns)
        finally:
            api.finish()
            code, err = stream.interrupt()
        assert code == ExitCode.INTERRUPTED, err
        assert err.endswith("kinspect: error: interrupted\n"), err
        assert ": reconnecting (attempt 1): " in err, err
        assert "watching again" in err, err
        # The stream is the one document kind it promised, each line whole.
        assert {d["kind"] for d in stream.seen} == {"ChainEvent"}
