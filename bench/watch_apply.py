"""--watch's per-event cost: a pod readiness flip applied to a big live state, in-process.

No cluster: a synthetic snapshot shaped like bench/populate.py's (pods/10 services of 10 pods
each, one EndpointSlice per service, pods/100 nodes, a tenth of the services NodePorts) is
built in memory. Printed for each scale:

- the first sync's pure part: `live.State.of` beside what `map` does with the same snapshot
  (`chain.Index.of` + `chain.build`), the I/O (the LISTs) being the same in both;
- per event, p50/p99/max of `State.step` (apply + rebuild the touched chains + diff), over
  --flips readiness flips, each two events as the API server sends them: the pod's status
  (Ready False/True), then its service's EndpointSlice (the endpoint's ready condition);
- RSS after the sync and after the events (steady memory: it must not grow with events).

Figures only: nothing here asserts a time.

    .venv/bin/python bench/watch_apply.py --pods 10000 100000 --flips 2000
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import resource
import sys
import time

import msgspec

from kinspect.live import state as live
from kinspect.model.change import Change
from kinspect.model.snapshot import Snapshot
from kinspect.model.values import (
    ContainerPort,
    Endpoint,
    EndpointGroup,
    EndpointPort,
    Node,
    NodeAddress,
    Pod,
    PodRef,
    Service,
    ServicePort,
)
from kinspect.path import chain

PER_SERVICE = 10


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def synthetic(pods: int) -> Snapshot:
    """pods pods in pods/1000 namespaces, pods/10 services, one slice each, pods/100 nodes."""
    nodes = tuple(
        Node(f"node-{i}", (NodeAddress("InternalIP", f"192.0.{i // 250}.{i % 250 + 1}"),))
        for i in range(max(1, pods // 100))
    )
    out_pods, services, groups = [], [], []
    for s in range(pods // PER_SERVICE):
        ns = f"ns-{s % max(1, pods // 1000)}"
        name = f"svc-{s}"
        node_port = 30000 + s % 2000 if s % 10 == 0 else None
        services.append(
            Service(
                ns,
                name,
                "NodePort" if node_port else "ClusterIP",
                cluster_ips=(f"10.96.{s // 250}.{s % 250 + 1}",),
                selector={"app": name},
                ports=(ServicePort(80, "TCP", None, 8080, node_port),),
            )
        )
        endpoints = []
        for p in range(PER_SERVICE):
            i = s * PER_SERVICE + p
            ip = f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
            node = nodes[i % len(nodes)].name
            out_pods.append(
                Pod(
                    ns,
                    f"{name}-{p}",
                    {"app": name, "tier": "web"},
                    node,
                    phase="Running",
                    ready=True,
                    pod_ips=(ip,),
                    containers=("app",),
                    ports=(ContainerPort("app", 8080),),
                )
            )
            endpoints.append(Endpoint(ip, True, True, False, node, PodRef(ns, f"{name}-{p}")))
        groups.append(
            EndpointGroup(
                ns, name, f"{name}-abcde", "IPv4", (EndpointPort(8080),), tuple(endpoints)
            )
        )
    return Snapshot(
        "bench",
        nodes,
        tuple(services),
        tuple(groups),
        tuple(sorted(out_pods, key=lambda p: (p.namespace, p.name))),
    )


def _pct(xs: list[float], q: float) -> float:
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def measure(pods: int, flips: int, seed: int) -> dict[str, float]:
    snap = synthetic(pods)
    gc.collect()
    base = _rss_mib()
    t0 = time.perf_counter()
    idx = chain.Index.of(snap)
    built = chain.build(snap, idx)
    map_s = time.perf_counter() - t0
    del idx, built
    gc.collect()
    t0 = time.perf_counter()
    state = live.State.of(snap)
    sync_s = time.perf_counter() - t0
    gc.collect()
    gc.freeze()  # as `--watch` does after its first read (commands.watch.Watching.run)
    rng = random.Random(seed)
    # From here on only the state holds the objects, as in `--watch` (the bench keeps refs).
    refs = sorted(state.idx.pods)
    del snap
    gc.collect()
    synced_rss = _rss_mib()
    times: list[float] = []
    nodeport: list[float] = []  # the events of NodePort services (a frontend per node)
    events = 0
    for _ in range(flips):
        ref = rng.choice(refs)
        now = state.idx.pods[ref]
        flipped = msgspec.structs.replace(now, ready=not now.ready)
        service = str(now.labels["app"])
        key = (ref.namespace, f"{service}-abcde")
        (g,) = state.slices[key]
        assert isinstance(g, EndpointGroup)
        g = msgspec.structs.replace(
            g,
            endpoints=tuple(
                msgspec.structs.replace(e, ready=flipped.ready, serving=flipped.ready)
                if e.pod == ref
                else e
                for e in g.endpoints
            ),
        )
        for change in (
            Change("pods", "MODIFIED", (ref.namespace, ref.name), (flipped,)),
            Change("endpoint_groups", "MODIFIED", key, (g,)),
        ):
            t0 = time.perf_counter()
            events += len(state.step(change))
            took = time.perf_counter() - t0
            times.append(took)
            if state.services[(ref.namespace, service)].type == "NodePort":
                nodeport.append(took)
    gc.collect()
    gc.unfreeze()
    times.sort()
    nodeport.sort()
    return {
        "pods": pods,
        "services": len(state.services),
        "map_build_s": map_s,
        "state_of_s": sync_s,
        "sync_ratio": sync_s / map_s if map_s else 0.0,
        "events": len(times),
        "chain_events": events,
        "p50_ms": _pct(times, 0.50) * 1000,
        "p99_ms": _pct(times, 0.99) * 1000,
        "max_ms": times[-1] * 1000,
        "nodeport_p99_ms": _pct(nodeport, 0.99) * 1000 if nodeport else 0.0,
        "nodes": len(state.nodes),
        "rss_snapshot_mib": base,
        "rss_synced_mib": synced_rss,
        "rss_after_mib": _rss_mib(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pods", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--flips", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()
    rows = [measure(n, args.flips, args.seed) for n in args.pods]
    print("\n--watch, applying events (in-process, synthetic snapshot):\n")
    print(
        "| pods | services | map build | State.of | ratio | events | p50 | p99 | max "
        "| p99 NodePort | RSS snapshot → synced → after |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        print(
            f"| {r['pods']} | {r['services']} | {r['map_build_s']:.2f} s | "
            f"{r['state_of_s']:.2f} s | {r['sync_ratio']:.2f}× | {r['events']} | "
            f"{r['p50_ms']:.3f} ms | {r['p99_ms']:.3f} ms | {r['max_ms']:.3f} ms | "
            f"{r['nodeport_p99_ms']:.3f} ms ({r['nodes']:.0f} nodes) | "
            f"{r['rss_snapshot_mib']:.0f} → {r['rss_synced_mib']:.0f} → "
            f"{r['rss_after_mib']:.0f} MiB |"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
