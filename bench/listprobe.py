"""How fast can every pod be read, and from where? (issue 17: "measure each and choose")

Each strategy reads every pod of the cluster raw (bytes only, nothing decoded but the continue
token), through kinspect's own transport (`transport.fetch_page`), and prints its wall time, the
bytes read, and how many pods the API server read from etcd rather than its watch cache for it
(`apiserver_storage_list_fetched_objects_total`, as bench/measure.py reads it). Strategies:

- paged: one paged LIST over all namespaces (limit=PAGE_SIZE, continue tokens);
- paged-ns: the same per namespace, 4 at a time (kinspect's split until this round);
- unpaged: one LIST without a limit (a consistent read served from the watch cache);
- unpaged-ns: one LIST without a limit per namespace, 4 at a time;
- rv0: one LIST with resourceVersion=0 (any cached state; the limit is ignored);
- rv0-ns: the same per namespace, 4 at a time.

Usage: bench/listprobe.py --kubeconfig KC [--rounds 3] [--only paged,unpaged-ns]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import msgspec

from kinspect.wire import connection, kinds, lists, raw, transport

PODS = f"{kinds.CORE}/pods"


def _paged(conn: connection.Connection, path: str) -> int:
    total, token = 0, None
    while True:
        body = transport.fetch_page(conn, path, "pods", path, token)
        total += len(body)
        token = lists.head_continue(body)
        if not token:
            return total


def _unpaged(conn: connection.Connection, path: str, **query: str) -> int:
    return len(transport.fetch_page(conn, path, "pods", path, None, paged=False, **query))


def _namespaces(conn: connection.Connection) -> list[str]:
    body = transport.fetch_page(conn, f"{kinds.CORE}/namespaces", "namespaces", "", None)
    return [n.metadata.name for n in msgspec.json.decode(body, type=raw.NamespaceList).items or ()]


def _per_ns(conn: connection.Connection, read: Callable[[str], int]) -> int:
    with ThreadPoolExecutor(lists.SPLIT_WORKERS) as pool:
        return sum(pool.map(read, [f"{kinds.CORE}/namespaces/{n}/pods" for n in _namespaces(conn)]))


STRATEGIES: dict[str, Callable[[connection.Connection], int]] = {
    "paged": lambda c: _paged(c, PODS),
    "paged-ns": lambda c: _per_ns(c, lambda p: _paged(c, p)),
    "unpaged": lambda c: _unpaged(c, PODS),
    "unpaged-ns": lambda c: _per_ns(c, lambda p: _unpaged(c, p)),
    "rv0": lambda c: _unpaged(c, PODS, resourceVersion="0"),
    "rv0-ns": lambda c: _per_ns(c, lambda p: _unpaged(c, p, resourceVersion="0")),
}


def from_etcd(kubectl: str, kubeconfig: str) -> int:
    text = subprocess.run(
        [kubectl, "--kubeconfig", kubeconfig, "get", "--raw", "/metrics"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for line in text.splitlines():
        if line.startswith("apiserver_storage_list_fetched_objects_total{") and (
            'resource="pods"' in line and 'storage="etcd"' in line
        ):
            return int(float(line.rsplit(" ", 1)[1]))
    return 0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kubeconfig", required=True)
    ap.add_argument("--kubectl", default="kubectl")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", default=",".join(STRATEGIES))
    a = ap.parse_args()
    conn = connection.connect(a.kubeconfig, None, 300)
    chosen = [s.strip() for s in a.only.split(",") if s.strip()]
    times: dict[str, list[float]] = {s: [] for s in chosen}
    etcd: dict[str, list[int]] = {s: [] for s in chosen}
    size: dict[str, int] = {}
    for _ in range(a.rounds):
        for name in chosen:
            before = from_etcd(a.kubectl, a.kubeconfig)
            t = time.monotonic()
            size[name] = STRATEGIES[name](conn)
            times[name].append(time.monotonic() - t)
            etcd[name].append(from_etcd(a.kubectl, a.kubeconfig) - before)
    print("| strategy | wall (median) | runs | MB read | pods from etcd, per run |")
    print("|---|---|---|---|---|")
    for name in chosen:
        runs = ", ".join(f"{x:.2f}" for x in times[name])
        print(
            f"| {name} | {statistics.median(times[name]):.2f} s | {runs} | "
            f"{size[name] / 1e6:.0f} | {', '.join(f'{x:,}' for x in etcd[name])} |"
        )


if __name__ == "__main__":
    main()
