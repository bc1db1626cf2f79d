"""A busy or failing API server, through a fault proxy in front of the real one (faultproxy.py).

Each case asserts what docs/reliability.md promises: retried and done, or one line naming the
resource with its documented exit code. Pages are small (KINSPECT_CHUNK_SIZE=2) so that
every LIST of the test's pods has continue pages.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kinspect.model.errors import ExitCode

from .conftest import KINSPECT, Cluster, Namespace
from .faultproxy import FaultProxy, Rule

PODS = 5


def _pods(n: int) -> str:
    return "\n---\n".join(
        "apiVersion: v1\nkind: Pod\n"
        f"metadata: {{name: p-{i}, labels: {{app: web}}}}\n"
        "spec: {containers: [{name: app, image: registry.k8s.io/pause:3.10,"
        " ports: [{containerPort: 8080, name: http}]}]}"
        for i in range(n)
    ) + (
        "\n---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\n"
        "spec: {selector: {app: web}, ports: [{port: 80, targetPort: http}]}\n"
    )


@pytest.fixture
def proxy(cluster: Cluster, tmp_path: Path) -> Iterator[FaultProxy]:
    with FaultProxy.start(cluster.kubeconfig_view(), tmp_path) as p:
        yield p


@pytest.fixture
def web(ns: Namespace) -> Namespace:
    ns.apply(_pods(PODS))
    return ns


def _run(
    proxy: FaultProxy,
    tmp: Path,
    *args: str,
    timeout: str = "5",
    deadline: float = 120,
) -> tuple[subprocess.CompletedProcess[str], float]:
    t0 = time.monotonic()
    proc = subprocess.run(
        [*KINSPECT, *args, "--kubeconfig", proxy.kubeconfig(tmp), "--request-timeout", timeout],
        capture_output=True,
        text=True,
        check=False,
        timeout=deadline,
        env={**os.environ, "KINSPECT_CHUNK_SIZE": "2", "NO_COLOR": "1", "COLUMNS": "200"},
    )
    return proc, time.monotonic() - t0


def _ok_with_every_pod(proc: subprocess.CompletedProcess[str], ns: str) -> None:
    assert proc.returncode == 0, proc.stderr
    for i in range(PODS):
        assert f"p-{i}" in proc.stdout, proc.stdout


def _one_line(proc: subprocess.CompletedProcess[str], code: int, *needles: str) -> None:
    assert proc.returncode == code, proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith("kinspect: error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    for n in needles:
        assert n in proc.stderr, proc.stderr
    assert proc.stdout == ""


def _pods_path(ns: Namespace) -> str:
    return f"/namespaces/{ns.name}/pods?"


def test_429_and_503_with_retry_after_are_retried_and_shown_with_v(
    web: Namespace, proxy: FaultProxy, tmp_path: Path
) -> None:
    proxy.add(Rule(_pods_path(web), "status", status=429, retry_after="1", times=1))
    proxy.add(Rule((_pods_path(web), "continue="), "status", status=503, retry_after="1"))
    proc, took = _run(proxy, tmp_path, "-v", "map", "-n", web.name)
    _ok_with_every_pod(proc, web.name)
    assert "after HTTP 429" in proc.stderr, proc.stderr
    assert "after HTTP 503" in proc.stderr, proc.stderr
    assert took >= 2  # Retry-After honoured twice
    # 3 pages of 2 pods, plus one retry each for the first and a continue page
    assert proxy.count(_pods_path(web)) == 5


def test_a_429_holds_every_parallel_read_of_the_connection(
    web: Namespace, proxy: FaultProxy, tmp_path: Path
) -> None:
    # Services, pods, slices, nodes and namespaces are read at once. The first page of pods
    # comes 0.5 s late: its next pages are asked for while the gate is closed by the 429.
    services = f"/namespaces/{web.name}/services"
    proxy.add(Rule(services, "status", status=429, retry_after="2"))
    proxy.add(Rule(_pods_path(web), "delay", interval=0.5))
    proc, _ = _run(proxy, tmp_path, "map", "-n", web.name)
    _ok_with_every_pod(proc, web.name)
    refused = next(t for r, t in zip(proxy.requests, proxy.times, strict=True) if services in r)
    after = [(round(t - refused, 3), r) for r, t in zip(proxy.requests, proxy.times, strict=True)]
    held = [h for h, _ in after if h > 0]
    assert held, after
    # nothing was sent while the gate was closed (a little slack for requests already sent)
    assert not [h for h in held if 0.1 < h < 1.9], after
    assert max(held) >= 1.9


def test_a_retry_after_beyond_the_retry_window_fails_at_once_naming_both(
    web: Namespace, proxy: FaultProxy, tmp_path: Path
) -> None:
    # Retry-After: 3600 against --request-timeout 5 (issue 24, D8): waiting cannot help, so
    # the read fails at once, not after holding every reader for 30 s. The deadline is the
    # test's: a run that waits is killed there and fails.
    proxy.add(Rule(_pods_path(web), "status", status=429, retry_after="3600", times=-1))
    proc, _ = _run(proxy, tmp_path, "map", "-n", web.name, deadline=15)
    _one_line(
        proc,
        ExitCode.SERVER_ERROR,
        f"pods in namespace {web.name}",
        "HTTP 429",
        "Retry-After 3600s",
        "retry window",
    )
    assert proxy.count(_pods_path(web)) == 1  # not retried: the server said when, too late


def test_a_retry_after_beyond_the_window_does_not_hold_the_other_reads(
    web: Namespace, proxy: FaultProxy, tmp_path: Path
) -> None:
    # Nodes are optional: their 429 with Retry-After: 3600 is a warning. The other reads run
    # meanwhile (the pods' first page comes 0.5 s late, so their next pages are asked for after
    # the 429) and must not wait for the server's hour, nor the 30 s it used to be capped at.
    proxy.add(Rule("/api/v1/nodes?", "status", status=429, retry_after="3600", times=-1))
    proxy.add(Rule(_pods_path(web), "delay", interval=0.5))
    proc, _ = _run(proxy, tmp_path, "map", "-n", web.name, deadline=15)
    _ok_with_every_pod(proc, web.name)
    assert "nodes" in proc.stderr, proc.stderr
    assert "Retry-After 3600s" in proc.stderr, proc.stderr
    assert proxy.count("/api/v1/nodes?") == 1
    assert proxy.count(_pods_path(web)) == 3  # 3 pages of 2 pods, none refused


def test_retries_are_quiet_without_v(web: Namespace, proxy: FaultProxy, tmp_path: Path) -> None:
    proxy.add(Rule(_pods_path(web), "status", status=502, times=1))
    proc, _ = _run(proxy, tmp_path, "map", "-n", web.name)
    _ok_with_every_pod(proc, web.name)
    assert proc.stderr == ""


def test_a_reset_before_the_response_is_retried(
    web: Namespace, proxy: FaultProxy, tmp_path: Path
) -> None:
    proxy.add(Rule(_pods_path(web), "reset", times=2))
    proc, _ = _run(proxy, tmp_path, "-v", "map", "-n", web.name)
    _ok_with_every_pod(proc, web.name)
    assert proc.stderr.count("after connection reset") == 2, proc.stderr


def test_a_5xx_that_lasts_is_a_server_error_naming_the_resource(
    web: Namespace, proxy: FaultProxy, tmp_path: Path
) -> None:
    proxy.add(Rule(f"/namespaces/{web.name}/services", "status", status=500, times=-1))
    proc, took = _run(proxy, tmp_path, "map", "-n", web.name)
    _one_line(
        proc, ExitCode.SERVER_ERROR, f"services in namespace {web.name}", "HTTP 500", "API server"
    )
    assert took < 15
    assert proxy.count(f"/namespaces/{web.name}/services") > 1  # retried first


def test_410_on_a_continue_page_reads_the_list_again_whole(
    web: Namespace, proxy: FaultProxy, tmp_path: Path
) -> None:
    proxy.add(Rule((_pods_path(web), "continue="), "status", status=410))
    proc, _ = _run(proxy, tmp_path, "map", "-n", web.name)
    _ok_with_every_pod(proc, web.name)
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert "expired" in lines[0], proc.stderr
    assert "pods" in lines[0], proc.stderr
    pods = [r for r in proxy.requests if f"/namespaces/{web.name}/pods" in r]
    # page 1, the expired page 2, then the whole list without a limit
    assert len(pods) == 3, pods
    assert "continue=" in pods[1]
    assert pods[2] == f"/api/v1/namespaces/{web.name}/pods"


def test_a_reset_in_the_middle_of_a_body_is_exit_4_naming_the_resource(
    web: Namespace, proxy: FaultProxy, tmp_path: Path
) -> None:
    proxy.add(Rule(_pods_path(web), "reset_body"))
    proc, _ = _run(proxy, tmp_path, "map", "-n", web.name)
    _one_line(proc, ExitCode.UNREACHABLE, f"pods in namespace {web.name}", "lost")


def test_a_truncated_body_is_a_server_error_naming_the_resource(
    web: Namespace, proxy: FaultProxy, tmp_path: Path
) -> None:
    proxy.add(Rule(_pods_path(web), "truncate"))
    proc, _ = _run(proxy, tmp_path, "map", "-n", web.name)
    _one_line(proc, ExitCode.SERVER_ERROR, f"pods in namespace {web.name}", "malformed")


def test_a_trickling_body_stops_at_the_request_timeout(
    web: Namespace, proxy: FaultProxy, tmp_path: Path
) -> None:
    # 500 B/s: a page of 2 pods (several KB) would take over 10 s whole
    proxy.add(Rule(_pods_path(web), "trickle", chunk=50, interval=0.1))
    proc, _ = _run(proxy, tmp_path, "map", "-n", web.name, timeout="2")
    ended = time.monotonic()
    _one_line(proc, ExitCode.UNREACHABLE, f"pods in namespace {web.name}", "timed out after 2s")
    # Counted from the request, not from kinspect's start: on a loaded machine its start-up
    # alone took seconds, and the deadline is per request (2 s, and some slack to exit).
    asked = next(
        t for r, t in zip(proxy.requests, proxy.times, strict=True) if _pods_path(web) in r
    )
    assert ended - asked < 4.5


def _first_pod(change: Any) -> Any:
    def rewrite(body: Any) -> Any:
        change(body["items"][0])
        return body

    return rewrite


def _string_port(pod: Any) -> None:
    pod["spec"]["containers"][0]["ports"][0]["containerPort"] = "80"


def _no_metadata(pod: Any) -> None:
    del pod["metadata"]


@pytest.mark.parametrize(
    ("change", "named"),
    [(_string_port, "p-0"), (_no_metadata, "item 0")],
    ids=["port-as-string", "pod-without-metadata"],
)
def test_an_odd_object_is_skipped_with_a_warning_naming_it(
    web: Namespace, proxy: FaultProxy, tmp_path: Path, change: Any, named: str
) -> None:
    proxy.add(Rule(_pods_path(web), "rewrite", rewrite=_first_pod(change)))
    proc, _ = _run(proxy, tmp_path, "map", "-n", web.name, "-o", "wide")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert "skipped" in lines[0], proc.stderr
    assert named in lines[0], proc.stderr
    assert f"pods in namespace {web.name}" in lines[0]
    for i in range(1, PODS):
        assert f"p-{i}" in proc.stdout


def test_items_as_an_object_is_a_server_error(
    web: Namespace, proxy: FaultProxy, tmp_path: Path
) -> None:
    proxy.add(Rule(_pods_path(web), "rewrite", rewrite=lambda b: {**b, "items": {"a": 1}}))
    proc, _ = _run(proxy, tmp_path, "map", "-n", web.name)
    _one_line(proc, ExitCode.SERVER_ERROR, f"pods in namespace {web.name}", "malformed")


def test_items_null_on_a_page_with_more_to_come_is_a_warning(
    web: Namespace, proxy: FaultProxy, tmp_path: Path
) -> None:
    proxy.add(Rule(_pods_path(web), "rewrite", rewrite=lambda b: {**b, "items": None}))
    proc, _ = _run(proxy, tmp_path, "map", "-n", web.name, "-o", "wide")
    assert proc.returncode == 0, proc.stderr
    assert "no items but more to come" in proc.stderr, proc.stderr
    assert "p-4" in proc.stdout  # the later pages are read


def test_a_bad_namespaces_page_does_not_fail_the_command(
    web: Namespace, proxy: FaultProxy, tmp_path: Path
) -> None:
    proxy.add(Rule("/api/v1/namespaces?", "truncate", times=-1))
    proc, _ = _run(proxy, tmp_path, "map", "-n", web.name)
    _ok_with_every_pod(proc, web.name)
    assert "namespaces" in proc.stderr, proc.stderr
    assert "malformed" in proc.stderr, proc.stderr


def _sigint_default() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_exits_130_at_once_with_one_line(
    web: Namespace, proxy: FaultProxy, tmp_path: Path
) -> None:
    trickle = proxy.add(Rule(_pods_path(web), "trickle", chunk=10, interval=1.0, times=-1))
    proc = subprocess.Popen(
        [*KINSPECT, "map", "-n", web.name, "--kubeconfig", proxy.kubeconfig(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "KINSPECT_CHUNK_SIZE": "2", "NO_COLOR": "1"},
        # As at a terminal: a runner started in the background (`cmd &` without job control)
        # ignores SIGINT, its children inherit that, and Python then keeps it ignored.
        preexec_fn=_sigint_default,  # noqa: PLW1509 (resets one signal, then exec)
    )
    deadline = time.monotonic() + 30
    while trickle.sent == 0:  # the trickle is under way: kinspect is reading a body
        assert time.monotonic() < deadline, "kinspect never got a byte of the pods"
        time.sleep(0.05)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:  # a hang fails here, and leaves no process or pipe behind
            proc.kill()
            proc.communicate()
    assert time.monotonic() - t0 < 2
    assert proc.returncode == ExitCode.INTERRUPTED, err
    assert err == "kinspect: error: interrupted\n"
    assert out == ""


def test_a_body_nested_too_deeply_is_exit_9(
    web: Namespace, proxy: FaultProxy, tmp_path: Path
) -> None:
    # issue 24 D7: a real page of pods with 100,000 levels of [] in its first item was exit 1,
    # RecursionError. json.dumps cannot write it: the bytes are spliced in.
    def deep(page: Any) -> bytes:
        body = json.dumps(page).encode()
        cut = body.index(b'"items": [{') + len(b'"items": [{')
        return body[:cut] + b'"x": ' + b"[" * 100_000 + b"]" * 100_000 + b", " + body[cut:]

    proxy.add(Rule(_pods_path(web), "rewrite", rewrite=deep))
    proc, _ = _run(proxy, tmp_path, "map", "-n", web.name)
    _one_line(proc, 9, "malformed response for pods", "nested too deeply")
