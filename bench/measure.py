"""Run the benchmark commands alternately and print wall time, peak RSS and ratios to the floor.

Each command runs under /usr/bin/time -v with stdout to /dev/null; one warm-up round, then
--runs measured rounds, commands alternating within each round so drift hits all alike.
Prints a Markdown table and writes the raw figures as JSON (--json).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, int, int]:
    """(wall seconds, peak RSS bytes, exit code) of one run."""
    with tempfile.NamedTemporaryFile("r") as out:
        proc = subprocess.run(
            ["/usr/bin/time", "-v", "-o", out.name, *cmd],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            check=False,
        )
        text = out.read()
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", text)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    if not wall or not rss:
        sys.exit(f"measure: no timing for {cmd[0]}: {proc.stderr.decode()[-500:]}")
    parts = [float(x) for x in wall.group(1).split(":")]
    secs = sum(p * 60**i for i, p in enumerate(reversed(parts)))
    return secs, int(rss.group(1)) * 1024, proc.returncode


def kubectl_get(kubectl: str, kubeconfig: str, *args: str) -> str:
    """`kubectl get ARGS -o jsonpath=…`'s output, stripped."""
    cmd = [kubectl, "--kubeconfig", kubeconfig, "get", *args]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()


def pod_ip(kubeconfig: str, kubectl: str) -> str:
    """The IP of a pod of svc-1."""
    return kubectl_get(
        kubectl,
        kubeconfig,
        "pods",
        "-A",
        "-l",
        "app=svc-1",
        "-o",
        "jsonpath={.items[0].status.podIP}",
    )


def node_port(kubeconfig: str, kubectl: str) -> str:
    """bench-node-1's InternalIP and svc-1's nodePort (populate makes svc-1 a NodePort)."""
    port = kubectl_get(
        kubectl,
        kubeconfig,
        "service",
        "-n",
        "bench-1",
        "svc-1",
        "-o",
        "jsonpath={.spec.ports[0].nodePort}",
    )
    return f"198.18.0.1:{port}"


_FROM_ETCD = re.compile(
    r'^apiserver_storage_list_fetched_objects_total\{group="",index="",resource="pods",'
    r'storage="etcd"\} (\S+)$',
    re.M,
)


def pods_from_etcd(kubectl: str, kubeconfig: str) -> int:
    """How many pods the API server has read from etcd (not its watch cache) for LISTs so far.

    A paged LIST's later pages come from etcd when the watch cache holds no snapshot old enough
    (docs/performance.md, "Reading pods namespace by namespace"): the same command then costs
    the server about twice as much, so every run says how many pods it made the server read
    from etcd.
    """
    cmd = [kubectl, "--kubeconfig", kubeconfig, "get", "--raw", "/metrics"]
    text = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    m = _FROM_ETCD.search(text)
    return int(float(m.group(1))) if m else 0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kubeconfig", required=True)
    ap.add_argument("--kubectl", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--label", default="")
    ap.add_argument("--json", help="write raw figures here")
    ap.add_argument("--skip", default="", help="comma-separated commands to skip")
    a = ap.parse_args()
    py = sys.executable
    kinspect = str(Path(py).parent / "kinspect")
    kc = a.kubeconfig
    ip = pod_ip(kc, a.kubectl)
    np = node_port(kc, a.kubectl)
    commands: dict[str, list[str]] = {
        "a floor (raw paged fetch)": [py, str(ROOT / "bench" / "floor.py"), "--kubeconfig", kc],
        "a2 floor, pods per namespace": [
            py,
            str(ROOT / "bench" / "floor.py"),
            "--kubeconfig",
            kc,
            "--per-namespace",
        ],
        "b kinspect map -A -o json": [kinspect, "map", "-A", "-o", "json", "--kubeconfig", kc],
        # The same without gzip (lists asked for plain): what compression gives on loopback.
        "b2 kinspect map … KINSPECT_GZIP=0": [
            "env",
            "KINSPECT_GZIP=0",
            kinspect,
            "map",
            "-A",
            "-o",
            "json",
            "--kubeconfig",
            kc,
        ],
        "c kubectl get … -A -o json": [
            a.kubectl,
            "--kubeconfig",
            kc,
            "get",
            "nodes,services,endpointslices,pods",
            "-A",
            "-o",
            "json",
        ],
        "d official client (models)": [py, str(ROOT / "bench" / "official.py"), "--kubeconfig", kc],
        "e1 kinspect trace <pod IP>": [kinspect, "trace", ip, "--kubeconfig", kc],
        "e2 kinspect audit -A -o json": [kinspect, "audit", "-A", "-o", "json", "--kubeconfig", kc],
        "e3 kinspect trace <NodeIP:nodePort>": [kinspect, "trace", np, "--kubeconfig", kc],
        # Ingress ing-1 sends svc-10.bench.example to svc-10 (bench/populate.py), whose pods exist.
        "e4 kinspect trace <URL>": [
            kinspect,
            "trace",
            "http://svc-10.bench.example/",
            "--kubeconfig",
            kc,
        ],
    }
    skip = {s.strip() for s in a.skip.split(",") if s.strip()}
    commands = {k: v for k, v in commands.items() if k.split()[0] not in skip}
    env = {**os.environ, "NO_COLOR": "1"}
    results: dict[str, list[tuple[float, int]]] = {k: [] for k in commands}
    etcd: dict[str, list[int]] = {k: [] for k in commands}
    # Read once per command: the count after one command is the count before the next.
    count = pods_from_etcd(a.kubectl, kc)
    for rnd in range(a.runs + 1):
        for name, cmd in commands.items():
            secs, rss, rc = timed(cmd, env)
            before, count = count, pods_from_etcd(a.kubectl, kc)
            from_etcd = count - before
            ok = rc == 0 or (name.startswith("e1") and rc == 6)
            if not ok:
                sys.exit(f"measure: {name} exited {rc}")
            tag = "warm-up" if rnd == 0 else f"run {rnd}"
            print(
                f"measure {a.label}: {tag:8} {name:36} {secs:7.2f} s {rss / 2**20:8.0f} MiB"
                f" {from_etcd:8} pods from etcd",
                file=sys.stderr,
                flush=True,
            )
            if rnd:
                results[name].append((secs, rss))
                etcd[name].append(from_etcd)
    floor_t = statistics.median(t for t, _ in results[next(iter(results))])
    floor_m = statistics.median(m for _, m in results[next(iter(results))])
    rows = []
    print(f"\n### {a.label}\n")
    print(
        "| command | wall (median) | runs | peak RSS (median) | time ÷ floor | RSS ÷ floor"
        " | pods read from etcd, per run |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, rs in results.items():
        t = statistics.median(x for x, _ in rs)
        m = statistics.median(x for _, x in rs)
        runs = ", ".join(f"{x:.2f}" for x, _ in rs)
        print(
            f"| {name} | {t:.2f} s | {runs} | {m / 2**20:.0f} MiB | {t / floor_t:.2f}× | "
            f"{m / floor_m:.2f}× | {', '.join(f'{x:,}' for x in etcd[name])} |"
        )
        rows.append(
            {
                "command": name,
                "wall_s": [x for x, _ in rs],
                "rss_bytes": [x for _, x in rs],
                "pods_from_etcd": etcd[name],
            }
        )
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        doc: dict[str, Any] = {"label": a.label, "time": time.time(), "results": rows}
        Path(a.json).write_text(json.dumps(doc, indent=2))


if __name__ == "__main__":
    main()
