"""`kinspect diff` of two large snapshots, in-process, on synthetic data: prints the figures.

    .venv/bin/python bench/diff.py [PODS]          (default 100000)

Builds a snapshot of PODS pods (PODS/50 services of 50 pods each, in 10 namespaces, on PODS/1000
nodes, NodePort every 4th service) and a copy with a few changes (one service scaled up, one
removed, one port moved, ten backends not ready, a rollout of one service), writes both as
snapshot files, and times: the pure diff (two chain builds and the matching), then the whole
command (`cli.run diff a.json b.json -o json`, file decoding included).
"""

from __future__ import annotations

import io
import sys
import tempfile
import time
from pathlib import Path

import msgspec

from kinspect import cli
from kinspect.diff import chaindiff
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
from kinspect.wire import snapshotfile

PER_SERVICE = 50


def _ip(k: int) -> str:
    return f"10.{64 + k // 65536}.{k // 256 % 256}.{k % 256}"


def build(pods: int, rollout: int | None = None) -> Snapshot:
    """The synthetic snapshot; `rollout`: the service whose pods are new, `http` on 9090."""
    nodes = tuple(
        Node(f"n{i}", (NodeAddress("InternalIP", f"198.18.{i // 256}.{i % 256}"),))
        for i in range(max(1, pods // 1000))
    )
    services, groups, pod_list = [], [], []
    for j in range(pods // PER_SERVICE):
        ns = f"ns{j % 10}"
        port = 9090 if j == rollout else 8080
        gen = "r2" if j == rollout else "r1"
        node_port = 30000 + j % 2700 if j % 4 == 0 else None
        services.append(
            Service(
                ns,
                f"svc{j}",
                "NodePort" if node_port else "ClusterIP",
                (f"10.96.{j // 256}.{j % 256}",),
                selector={"app": f"svc{j}"},
                ports=(ServicePort(80, "TCP", "http", "http", node_port),),
            )
        )
        eps = []
        for i in range(PER_SERVICE):
            k = j * PER_SERVICE + i
            name = f"svc{j}-{gen}-{i}"
            node = nodes[k % len(nodes)].name
            pod_list.append(
                Pod(
                    ns,
                    name,
                    {"app": f"svc{j}"},
                    node,
                    phase="Running",
                    ready=True,
                    pod_ips=(_ip(k),),
                    containers=("app",),
                    ports=(ContainerPort("app", port, "TCP", "http"),),
                )
            )
            eps.append(Endpoint(_ip(k), True, True, False, node, PodRef(ns, name)))
        groups.append(
            EndpointGroup(
                ns,
                f"svc{j}",
                f"svc{j}-abc",
                "IPv4",
                (EndpointPort(port, "TCP", "http"),),
                tuple(eps),
            )
        )
    return Snapshot("bench", nodes, tuple(services), tuple(groups), tuple(pod_list))


def changed(s: Snapshot) -> Snapshot:
    """A few changes: svc1 loses 10 ready backends, svc2 is gone, svc3's port is 81."""
    groups = list(s.endpoint_groups)
    g = groups[1]
    eps = tuple(
        msgspec.structs.replace(e, ready=False, serving=False) if i < 10 else e
        for i, e in enumerate(g.endpoints)
    )
    groups[1] = msgspec.structs.replace(g, endpoints=eps)
    services = list(s.services)
    services[3] = msgspec.structs.replace(
        services[3], ports=(msgspec.structs.replace(services[3].ports[0], port=81),)
    )
    del services[2]
    return msgspec.structs.replace(s, services=tuple(services), endpoint_groups=tuple(groups))


def main() -> None:
    pods = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    t = time.perf_counter()
    old = build(pods)
    new = changed(build(pods, rollout=5))
    print(f"built two snapshots of {len(old.pods)} pods in {time.perf_counter() - t:.1f}s")

    t = time.perf_counter()
    changes = chaindiff.diff_snapshots(old, new)
    pure = time.perf_counter() - t
    print(f"pure diff (two chain builds + matching): {pure:.2f}s, {len(changes)} changes")

    with tempfile.TemporaryDirectory() as tmp:
        a, b = str(Path(tmp) / "a.json"), str(Path(tmp) / "b.json")
        snapshotfile.save(a, old)
        snapshotfile.save(b, new)
        size = Path(a).stat().st_size / 1e6
        out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
        err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
        t = time.perf_counter()
        code = cli.run(["diff", a, b, "-o", "json"], stdout=out, stderr=err, environ={})
        whole = time.perf_counter() - t
    print(f"kinspect diff a.json b.json -o json ({size:.0f} MB each): {whole:.2f}s, exit {code}")


if __name__ == "__main__":
    main()
