"""Compressed LIST responses (asked for unless KINSPECT_GZIP=0), through the fault proxy.

The API server gzips a response over 128 KiB when asked to. Two Services carrying a 100 KB
annotation make their namespace's service list that big; the proxy passes Accept-Encoding
and Content-Encoding through, records what the server answered, and can cut the compressed
body short.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kinspect.model.errors import ExitCode
from kinspect.wire import connection

from .conftest import KINSPECT, Cluster, Namespace
from .faultproxy import FaultProxy, Rule, gzip_bomb

# 100 KB of text that gzip shrinks but does not erase (a line per number). kubectl apply keeps
# a copy in its last-applied annotation: under the API's 256 KiB for a Service's annotations.
NOTE = "".join(f"line {i:06d} of a long note\n" for i in range(4000))


@pytest.fixture
def big(ns: Namespace) -> Namespace:
    ns.apply(
        "apiVersion: v1\nkind: Pod\n"
        "metadata: {name: p-0, labels: {app: web}}\n"
        "spec: {containers: [{name: app, image: registry.k8s.io/pause:3.10,"
        " ports: [{containerPort: 8080, name: http}]}]}\n"
        + "".join(
            "---\n"
            + json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {"name": name, "annotations": {"example.com/note": NOTE}},
                    "spec": {
                        "selector": {"app": "web"},
                        "ports": [{"port": 80, "targetPort": 8080}],
                    },
                }
            )
            + "\n"
            for name in ("web", "web-2")
        )
    )
    # The plain and the gzipped map are compared: p-0 must not change between them.
    ns.wait_settled(1)
    return ns


@pytest.fixture
def proxy(cluster: Cluster, tmp_path: Path) -> Iterator[FaultProxy]:
    with FaultProxy.start(cluster.kubeconfig_view(), tmp_path) as p:
        yield p


def _run(proxy: FaultProxy, tmp: Path, gzip: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*KINSPECT, *args, "--kubeconfig", proxy.kubeconfig(tmp), "--request-timeout", "10"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, "KINSPECT_GZIP": gzip, "NO_COLOR": "1", "COLUMNS": "200"},
    )


def _services(proxy: FaultProxy, ns: str) -> list[str]:
    """The Content-Encoding of each LIST of the namespace's services."""
    return [e for path, e in proxy.encodings.items() if f"/namespaces/{ns}/services" in path]


def _chains(stdout: str) -> Any:
    doc = json.loads(stdout)
    return doc["services"]


def test_a_gzipped_list_reads_the_same_as_a_plain_one(
    big: Namespace, proxy: FaultProxy, tmp_path: Path
) -> None:
    plain = _run(proxy, tmp_path, "0", "map", "-n", big.name, "-o", "json")
    assert plain.returncode == 0, plain.stderr
    assert _services(proxy, big.name) == [""]
    proxy.encodings.clear()
    packed = _run(proxy, tmp_path, "1", "map", "-n", big.name, "-o", "json")
    assert packed.returncode == 0, packed.stderr
    assert _services(proxy, big.name) == ["gzip"]  # the server did compress it
    assert _chains(packed.stdout) == _chains(plain.stdout)
    assert "p-0" in packed.stdout


def test_gzip_is_asked_for_by_default(big: Namespace, proxy: FaultProxy, tmp_path: Path) -> None:
    proc = _run(proxy, tmp_path, "", "map", "-n", big.name)
    assert proc.returncode == 0, proc.stderr
    assert _services(proxy, big.name) == ["gzip"]


def test_a_gzipped_body_cut_short_is_one_line_naming_the_resource(
    big: Namespace, proxy: FaultProxy, tmp_path: Path
) -> None:
    proxy.add(Rule(f"/namespaces/{big.name}/services", "truncate"))
    proc = _run(proxy, tmp_path, "1", "map", "-n", big.name)
    assert proc.returncode == ExitCode.SERVER_ERROR, proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith("kinspect: error: "), proc.stderr
    assert f"services in namespace {big.name}" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_a_rewritten_gzipped_list_is_answered_plain_and_read(
    big: Namespace, proxy: FaultProxy, tmp_path: Path
) -> None:
    def rename(doc: Any) -> Any:
        doc["items"][0]["metadata"]["name"] = "renamed-by-proxy"
        return doc

    proxy.add(Rule(f"/namespaces/{big.name}/services", "rewrite", rewrite=rename))
    proc = _run(proxy, tmp_path, "1", "map", "-n", big.name, "-o", "json")
    assert proc.returncode == 0, proc.stderr
    assert _services(proxy, big.name) == ["gzip"]  # the server's answer, inflated by the proxy
    names = {s["name"] for s in _chains(proc.stdout)}
    assert "renamed-by-proxy" in names, names


GiB = 1 << 30
MiB = 1 << 20
# issue 24, D6: 4.3 MB on the wire, 4 GiB inflated; a pod list that is valid JSON to the end
# (4 GiB of whitespace between its brackets), so only a cap can stop it.
BOMB = 4 * GiB


@pytest.fixture(scope="module")
def bomb() -> bytes:
    head = b'{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":['
    return gzip_bomb(head, BOMB, b"]}")


def _run_measured(
    proxy: FaultProxy,
    tmp: Path,
    env: dict[str, str],
    *args: str,
    seconds: float = 120,
    timeout: str = "60",
) -> tuple[int, str, int]:
    """Run kinspect through the proxy: its exit code, stderr and peak RSS in bytes.

    The RSS is the child's own (`os.wait4`), not the largest of every child of the test run.
    """
    err_path = tmp / "stderr"
    with open(err_path, "w") as err:
        proc = subprocess.Popen(
            [*KINSPECT, *args, "--kubeconfig", proxy.kubeconfig(tmp), "--request-timeout", timeout],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env={**os.environ, "NO_COLOR": "1", **env},
        )
    deadline = time.monotonic() + seconds
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            proc.kill()
            os.wait4(proc.pid, 0)
            raise AssertionError(f"kinspect did not end within {seconds:g}s")
        time.sleep(0.05)
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    return code, err_path.read_text(), usage.ru_maxrss * 1024  # KiB on Linux


@pytest.mark.parametrize(
    ("cap", "most"),
    [(None, connection.MAX_RESPONSE_BYTES + 512 * MiB), (16 * MiB, 256 * MiB)],
    ids=["default-cap", "cap-from-env"],
)
def test_a_gzip_bomb_is_exit_9_at_the_cap_without_inflating_it_whole(
    ns: Namespace, proxy: FaultProxy, tmp_path: Path, bomb: bytes, cap: int | None, most: int
) -> None:
    proxy.add(
        Rule(
            f"/namespaces/{ns.name}/pods",
            "body",
            times=-1,
            status=200,
            body=bomb,
            headers={"Content-Encoding": "gzip"},
        )
    )
    env = {} if cap is None else {"KINSPECT_MAX_RESPONSE_BYTES": str(cap)}
    code, err, rss = _run_measured(proxy, tmp_path, env, "map", "-n", ns.name)
    limit = connection.MAX_RESPONSE_BYTES if cap is None else cap
    assert code == ExitCode.SERVER_ERROR, err
    assert err.count("\n") == 1, err
    assert err.startswith("kinspect: error: "), err
    assert f"response larger than {limit} bytes" in err, err
    assert f"pods in namespace {ns.name}" in err, err
    assert "KINSPECT_MAX_RESPONSE_BYTES" in err, err
    # The body is checked as it inflates: the peak is the cap and the process, never the bomb.
    assert rss < most < BOMB, f"peak RSS {rss / MiB:.0f} MiB"


def test_an_error_answer_that_is_a_gzip_bomb_is_read_only_for_its_message(
    ns: Namespace, proxy: FaultProxy, tmp_path: Path, bomb: bytes
) -> None:
    # A 503 is retried; of its body only the Status message is wanted (64 KiB at most), never
    # the response cap on every attempt.
    proxy.add(
        Rule(
            f"/namespaces/{ns.name}/pods",
            "body",
            times=-1,
            status=503,
            body=bomb,
            headers={"Content-Encoding": "gzip"},
        )
    )
    code, err, rss = _run_measured(proxy, tmp_path, {}, "map", "-n", ns.name, timeout="5")
    assert code == ExitCode.SERVER_ERROR, err
    assert err.count("\n") == 1, err
    assert "HTTP 503" in err, err
    assert proxy.count(f"/namespaces/{ns.name}/pods") > 1  # retried
    assert rss < 256 * MiB, f"peak RSS {rss / MiB:.0f} MiB"


def test_a_body_in_an_encoding_not_asked_for_is_exit_9(
    ns: Namespace, proxy: FaultProxy, tmp_path: Path
) -> None:
    # kinspect asks for gzip or nothing; a proxy answering brotli is not read as JSON.
    proxy.add(
        Rule(
            f"/namespaces/{ns.name}/pods",
            "body",
            times=-1,
            status=200,
            body=b"\x1b\x03\x00\xf8\xa5\x80",
            headers={"Content-Encoding": "br"},
        )
    )
    proc = _run(proxy, tmp_path, "1", "map", "-n", ns.name)
    assert proc.returncode == ExitCode.SERVER_ERROR, proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert "in an encoding kinspect did not ask for (br)" in proc.stderr, proc.stderr
    assert f"pods in namespace {ns.name}" in proc.stderr, proc.stderr
