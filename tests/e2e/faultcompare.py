"""kinspect and kubectl side by side through the same faults (docs/reliability.md's table).

    python -m tests.e2e.faultcompare KUBECONFIG NAMESPACE

NAMESPACE must hold at least 5 pods (pages of 2 items: every LIST has continue pages). Both
tools go through tests/e2e/faultproxy.py in front of the real API server; each line of the
table is one fault, with each tool's exit code, seconds, and the first line of its stderr.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.e2e.faultproxy import FaultProxy, Rule

KUBECTL = os.path.expanduser("~/.cache/kinspect/bin/current/kubectl")


def _first(change: str) -> Any:
    def rewrite(body: Any) -> Any:
        pod = body["items"][0]
        if change == "port":
            pod["spec"]["containers"][0].setdefault("ports", [{}])[0]["containerPort"] = "80"
        else:
            del pod["metadata"]
        return body

    return rewrite


def cases(pods: str) -> list[tuple[str, list[Rule], str]]:
    cont = (pods, "continue=")
    return [
        ("429, Retry-After: 1 (once)", [Rule(pods, "status", status=429, retry_after="1")], "5"),
        ("503, Retry-After: 1 on a continue page", [Rule(cont, "status", retry_after="1")], "5"),
        ("500 without Retry-After (once)", [Rule(pods, "status", status=500)], "5"),
        ("500 for ever", [Rule(pods, "status", status=500, times=-1)], "5"),
        ("410 Expired on a continue page", [Rule(cont, "status", status=410)], "5"),
        ("reset before the response (twice)", [Rule(pods, "reset", times=2)], "5"),
        ("reset in the middle of the body", [Rule(pods, "reset_body")], "5"),
        ("JSON body cut in half", [Rule(pods, "truncate")], "5"),
        ("body trickling at 1 KB/s, timeout 2 s", [Rule(pods, "trickle", times=-1)], "2"),
        ('a pod\'s containerPort "80"', [Rule(pods, "rewrite", rewrite=_first("port"))], "5"),
        ("a pod without metadata", [Rule(pods, "rewrite", rewrite=_first("meta"))], "5"),
        (
            "items is an object",
            [Rule(pods, "rewrite", rewrite=lambda b: {**b, "items": {"a": 1}})],
            "5",
        ),
        (
            "items: null on a page with a continue token",
            [Rule(pods, "rewrite", rewrite=lambda b: {**b, "items": None})],
            "5",
        ),
    ]


def run(cmd: list[str], env: dict[str, str]) -> str:
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=180, check=False)
    took = time.monotonic() - t0
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    shown = (lines[0] if lines else "")[:110].replace("|", "\\|")
    more = f" (+{len(lines) - 1} lines)" if len(lines) > 1 else ""
    return f"exit {p.returncode}, {took:.1f}s: {shown}{more}"


def main() -> None:
    kubeconfig, ns = sys.argv[1], sys.argv[2]
    args = ["config", "view", "--raw", "--minify", "-o", "json"]
    view = json.loads(subprocess.check_output([KUBECTL, "--kubeconfig", kubeconfig, *args]))
    env = {**os.environ, "KINSPECT_CHUNK_SIZE": "2", "NO_COLOR": "1"}
    print("| fault | kinspect `map -n NS` | kubectl `get pods -n NS --chunk-size=2 -o json` |")
    print("|---|---|---|")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for name, rules, timeout in cases(f"/namespaces/{ns}/pods?"):
            row = [name]
            for tool in ("kinspect", "kubectl"):
                with FaultProxy.start(view, tmp) as proxy:
                    for r in rules:
                        proxy.add(Rule(**{**r.__dict__, "used": 0}))
                    kc = proxy.kubeconfig(tmp)
                    if tool == "kinspect":
                        cmd = [sys.executable, "-m", "kinspect", "map", "-n", ns]
                        cmd += ["--kubeconfig", kc, "--request-timeout", timeout]
                    else:
                        cmd = [KUBECTL, "get", "pods", "-n", ns, "--chunk-size=2", "-o", "json"]
                        cmd += ["--kubeconfig", kc, f"--request-timeout={timeout}s"]
                    row.append(run(cmd, env))
            print("| " + " | ".join(row) + " |", flush=True)


if __name__ == "__main__":
    main()
