"""`--watch` against a real cluster: the first sync beside `map`, and the cost of each event.

Issue 17's watch targets, measured on a benchmark cluster (bench/populate.py's shape):

1. **First sync.** `kinspect map -A --watch -o json` as a subprocess, timed until its `synced`
   line, beside `kinspect map -A -o json` timed to its end, alternating, --runs times each
   after a warm-up. Both read the same LISTs; the watch also keeps their versions.
2. **Per event.** In this process: the first read and `live.State` as `--watch` builds them
   (`cluster.snapshot` with versions kept, `watcher.Watcher` threads watching from them),
   while a second process flips the readiness of pods through the API (`status.conditions`
   Ready False/True, --flips patches). Each event the watchers deliver (the pod's own, then the
   EndpointSlice the controller rewrites) is applied with `State.step` (apply, rebuild the
   touched chains, diff them), timed one by one: p50, p99 and max, and this process's RSS
   after the sync and at the end.

Figures only, nothing asserted.

    .venv/bin/python bench/watch_cluster.py --kubeconfig KC --flips 10000 [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _until_synced(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            if b'"event":"synced"' in line or b'"event": "synced"' in line:
                return time.monotonic() - t0
        sys.exit(f"watch_cluster: {cmd[1]} ended before its synced line")
    finally:
        proc.kill()
        proc.wait()


def _whole(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.monotonic()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=True)
    return time.monotonic() - t0


def first_sync(kubeconfig: str, runs: int) -> dict[str, list[float]]:
    kinspect = str(Path(sys.executable).parent / "kinspect")
    env = {**os.environ, "NO_COLOR": "1"}
    base = [kinspect, "map", "-A", "-o", "json", "--kubeconfig", kubeconfig]
    out: dict[str, list[float]] = {"map": [], "watch sync": []}
    for rnd in range(runs + 1):
        m = _whole(base, env)
        w = _until_synced([*base, "--watch"], env)
        print(
            f"watch_cluster: {'warm-up' if rnd == 0 else f'run {rnd}':8} map {m:6.2f} s   "
            f"--watch until synced {w:6.2f} s",
            file=sys.stderr,
            flush=True,
        )
        if rnd:
            out["map"].append(m)
            out["watch sync"].append(w)
    return out


def flipper(kubeconfig: str, flips: int, seed: int) -> None:
    """Flip the Ready condition of random pods (status patches), `flips` times, 8 at a time."""
    from concurrent.futures import ThreadPoolExecutor

    import kubernetes.client as k8s
    import kubernetes.config as k8s_config

    cfg = k8s.Configuration()
    k8s_config.load_kube_config(config_file=kubeconfig, client_configuration=cfg)
    cfg.connection_pool_maxsize = 16
    core = k8s.CoreV1Api(k8s.ApiClient(cfg))
    pods = [
        (p.metadata.namespace, p.metadata.name)
        for p in core.list_pod_for_all_namespaces(limit=5000).items
    ]
    rng = random.Random(seed)
    chosen = [rng.choice(pods) for _ in range(flips // 2)]

    def flip(pod: tuple[str, str], ready: str) -> None:
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        body = {
            "status": {
                "conditions": [{"type": "Ready", "status": ready, "lastTransitionTime": now}]
            }
        }
        core.patch_namespaced_pod_status(pod[1], pod[0], body)

    t0 = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda p: flip(p, "False"), chosen))
        list(pool.map(lambda p: flip(p, "True"), chosen))
    print(f"flipper: {2 * len(chosen)} flips in {time.monotonic() - t0:.0f} s", file=sys.stderr)


def per_event(kubeconfig: str, flips: int, seed: int, settle: float) -> dict[str, float]:
    from kinspect.live import state as live
    from kinspect.live import watcher
    from kinspect.model.change import Change
    from kinspect.wire import cluster, connection, lists

    conn = connection.connect(kubeconfig, None, 300)
    conn.list_versions = {}
    scope = lists.Scope(None)
    t0 = time.monotonic()
    snap = cluster.snapshot(conn, scope)
    state = live.State.of(snap, watcher.pod_versions(conn, scope))
    sync = time.monotonic() - t0
    w = watcher.Watcher(conn, scope, watcher.watched(conn, snap, scope))
    del snap
    rss_sync = _rss_mib()
    w.start()
    flip = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--kubeconfig",
            kubeconfig,
            "--flipper",
            str(flips),
            "--seed",
            str(seed),
        ]
    )
    times: list[float] = []
    last = time.monotonic()
    while flip.poll() is None or time.monotonic() - last < settle:
        try:
            item = w.queue.get(timeout=1)
        except queue.Empty:
            continue
        last = time.monotonic()
        if isinstance(item, watcher.Crashed):
            raise item.error
        if not isinstance(item, Change):
            continue
        t = time.perf_counter()
        state.step(item)
        times.append(time.perf_counter() - t)
    w.stop()
    times.sort()

    def q(f: float) -> float:
        return times[min(len(times) - 1, int(f * len(times)))] * 1000 if times else 0.0

    return {
        "sync_s": sync,
        "events": len(times),
        "p50_ms": q(0.5),
        "p99_ms": q(0.99),
        "max_ms": times[-1] * 1000 if times else 0.0,
        "rss_after_sync_mib": rss_sync,
        "rss_end_mib": _rss_mib(),
        "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kubeconfig", required=True)
    ap.add_argument("--flips", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--settle", type=float, default=15, help="seconds without events to end")
    ap.add_argument("--flipper", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--json", help="also write the figures here")
    a = ap.parse_args()
    if a.flipper is not None:
        flipper(a.kubeconfig, a.flipper, a.seed)
        return
    sync = first_sync(a.kubeconfig, a.runs) if a.runs else {}
    ev = per_event(a.kubeconfig, a.flips, a.seed, a.settle)
    print("\n| watch figure | value |\n|---|---|")
    if sync:
        m, w = statistics.median(sync["map"]), statistics.median(sync["watch sync"])
        print(f"| `map -A -o json` (median of {a.runs}) | {m:.2f} s |")
        print(f"| `map -A --watch -o json` until synced (median) | {w:.2f} s ({w / m:.2f}× map) |")
    print(f"| first read + live state, in process | {ev['sync_s']:.2f} s |")
    print(f"| events applied (from {a.flips} readiness flips) | {ev['events']:,} |")
    print(
        f"| per event (apply + rebuild + diff) p50 / p99 / max | {ev['p50_ms']:.2f} / "
        f"{ev['p99_ms']:.2f} / {ev['max_ms']:.1f} ms |"
    )
    print(
        f"| RSS after sync → after the events (peak) | {ev['rss_after_sync_mib']:.0f} → "
        f"{ev['rss_end_mib']:.0f} MiB ({ev['maxrss_mib']:.0f}) |"
    )
    if a.json:
        Path(a.json).write_text(json.dumps({"sync": sync, "events": ev}, indent=2))


if __name__ == "__main__":
    main()
