"""How fast `kinspect ui` opens and answers keys. Prints figures; asserts nothing.

Goals (issue 15): it opens in under 2 s on the demo, and a key press is repainted within
100 ms on a 10k-pod snapshot.

- open, real binary: `python -m kinspect ui --snapshot FILE` started in tmux (160x50) until
  its first screen (the status line) is in the pane: interpreter start, imports, the snapshot
  read, chains, Textual's start and first paint, as a user waits for them.
- open, in-process: from building the app to its first paint under Textual's Pilot.
- post_snapshot, live: a watch's batch that changed N services (one endpoint's readiness
  each) applied to the `live.State`, then posted as `kinspect ui` posts it (`ui/follow.py`:
  the state's snapshot and chains, the touched services): the poster's time (the view rebuilt
  for what changed, the search index updated), and until the app has swapped it in and
  repainted (wall and CPU time); beside it the same post rebuilding the whole view (no chains
  given), as every post did before the view learnt to reuse what did not change. Goal: a post
  under 50 ms.
- key to repaint: from a key event handed to the app as the terminal driver does (Pilot's
  `press` without its idle waits) until its effect is in the app's state (every message it
  caused handled) and the screen repainted (`pause(0)`), for moving the service cursor,
  switching namespace, typing in the search and jumping to a hit, on a synthetic snapshot of
  --pods pods; wall time, and the CPU time of the process (on a busy machine wall time also
  counts other processes' turns).

    bench/ui.py --demo demo.json.gz [--pods 10000] [--runs 30]

--demo: a snapshot of the demo (`kinspect snapshot save demo.json.gz -n demo` after
`make demo`); without it, the open figures are measured on the synthetic snapshot only.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import msgspec
from textual import events

from kinspect.live import state as live
from kinspect.model.change import Change
from kinspect.model.snapshot import Snapshot
from kinspect.model.values import (
    ContainerPort,
    Endpoint,
    EndpointGroup,
    EndpointPort,
    Namespace,
    Node,
    NodeAddress,
    Pod,
    PodRef,
    Service,
    ServicePort,
)
from kinspect.ui.app import KinspectApp, Search
from kinspect.ui.view import Loaded
from kinspect.wire import snapshotfile

SIZE = (160, 50)


def synthetic(pods: int, per_service: int = 10, namespaces: int = 20) -> Snapshot:
    """`pods` pods, one service per `per_service` of them, spread over `namespaces`; one pod
    in seven not ready, so the list has every state."""
    services = pods // per_service
    nodes = tuple(
        Node(f"node-{i}", (NodeAddress("InternalIP", f"192.0.{i // 250}.{i % 250 + 1}"),))
        for i in range(max(1, pods // 100))
    )
    svcs: list[Service] = []
    groups: list[EndpointGroup] = []
    all_pods: list[Pod] = []
    for j in range(services):
        ns = f"ns-{j % namespaces}"
        name = f"svc-{j}"
        sel = {"app": name}
        svcs.append(
            Service(
                ns,
                name,
                cluster_ips=(f"10.96.{j // 250}.{j % 250 + 1}",),
                selector=sel,
                ports=(ServicePort(80, "TCP", "http", 8080),),
            )
        )
        eps = []
        for k in range(per_service):
            n = j * per_service + k
            ip = f"10.{64 + n // 65536}.{n // 256 % 256}.{n % 256}"
            node = nodes[n % len(nodes)].name
            ready = n % 7 != 0
            pod = Pod(
                ns,
                f"{name}-{k}",
                sel,
                node,
                phase="Running",
                ready=ready,
                pod_ips=(ip,),
                containers=("app",),
                ports=(ContainerPort("app", 8080, "TCP", "http"),),
            )
            all_pods.append(pod)
            eps.append(Endpoint(ip, ready, ready, False, node, PodRef(ns, pod.name)))
        groups.append(
            EndpointGroup(
                ns,
                name,
                f"{name}-x",
                ports=(EndpointPort(8080, "TCP", "http"),),
                endpoints=tuple(eps),
            )
        )
    spaces = tuple(Namespace(f"ns-{i}") for i in range(namespaces))
    return Snapshot(
        "synthetic", nodes, tuple(svcs), tuple(groups), tuple(all_pods), namespaces=spaces
    )


def _loaded(snap: Snapshot, source: str) -> Loaded:
    return Loaded(snap, source, datetime.datetime.now(datetime.UTC))


def open_in_process(snap: Snapshot, runs: int) -> list[float]:
    """Seconds from building the app (its View: chains, states) to its first paint."""

    async def once() -> float:
        t0 = time.perf_counter()
        app = KinspectApp(_loaded(snap, "bench"))
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            return time.perf_counter() - t0

    return [asyncio.run(once()) for _ in range(runs)]


def open_binary(path: str, runs: int) -> list[float] | None:
    """Seconds from starting `python -m kinspect ui` in tmux to its first screen."""
    tmux = shutil.which("tmux")
    if tmux is None:
        return None
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    out = []
    for _ in range(runs):
        base = [tmux, "-L", f"kinspect-bench-{uuid.uuid4().hex[:8]}"]
        cmd = f"{sys.executable} -m kinspect ui --snapshot {path}"
        subprocess.run(
            [*base, "new-session", "-d", "-s", "b", "-x", "160", "-y", "50", "sleep 60"],
            env=env,
            check=True,
        )
        try:
            t0 = time.perf_counter()
            subprocess.run([*base, "respawn-pane", "-k", "-t", "b", cmd], env=env, check=True)
            while True:
                shown = subprocess.run(
                    [*base, "capture-pane", "-p", "-t", "b"],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
                if "not live (r re-reads" in shown:
                    out.append(time.perf_counter() - t0)
                    break
                if time.perf_counter() - t0 > 60:
                    raise SystemExit(f"bench/ui.py: no first screen in 60 s:\n{shown}")
                time.sleep(0.005)
        finally:
            subprocess.run([*base, "kill-server"], check=False)
    return out


KEYS = (
    "service cursor (down)",
    "switch namespace (down in the list)",
    "search, one more character",
    "search, jump to the hit (enter)",
)


def keys(snap: Snapshot, runs: int) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Seconds from a key press to its repaint, per kind of key: wall time, and the CPU time
    of this process (on a busy machine the wall time also counts other processes' turns)."""
    figures: dict[str, list[float]] = {k: [] for k in KEYS}
    cpu: dict[str, list[float]] = {k: [] for k in KEYS}

    async def go() -> None:
        app = KinspectApp(_loaded(snap, "bench"))
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()

            async def timed(name: str, key: str, done: Callable[[], bool]) -> None:
                # The key event as the terminal driver hands it to the app (what Pilot's
                # press does, without the idle waits press adds after each key: at least
                # two sleeps of Textual's idle granularity, longer on a busy machine).
                char = {"full_stop": "."}.get(key, key if len(key) == 1 else None)
                event = events.Key(key, char)
                event.set_sender(app)
                driver = app._driver
                assert driver is not None
                c0 = time.process_time()
                t0 = time.perf_counter()
                driver.send_message(event)
                # Until the key's effect is in the app's state (every message it caused
                # handled), then the screen repainted at once (pause(0) ends with that).
                while not done():
                    await asyncio.sleep(0)
                await pilot.pause(0)
                figures[name].append(time.perf_counter() - t0)
                cpu[name].append(time.process_time() - c0)
                await pilot.pause()  # idle again before the next key (not measured)

            for _ in range(runs):
                before = app.service
                await timed("service cursor (down)", "down", lambda b=before: app.service != b)
            await pilot.press("shift+tab")
            for i in range(runs):
                ns = app.namespace
                await timed(
                    "switch namespace (down in the list)",
                    "up" if i % 2 else "down",
                    lambda ns=ns: (
                        app.namespace != ns
                        and app.service is not None
                        and app.service[0] == app.namespace
                    ),
                )
            for i in range(runs):
                await pilot.press("tab", "slash")
                await pilot.pause()
                search = app.screen
                assert isinstance(search, Search)
                typed = ""
                for ch in f"10.64.{i % 40}.":
                    typed += ch
                    key = "full_stop" if ch == "." else ch
                    await timed(
                        "search, one more character",
                        key,
                        lambda s=search, t=typed: s.searched == t,
                    )
                target = app.target
                await timed(
                    "search, jump to the hit (enter)",
                    "enter",
                    lambda s=search, t=target: app.screen is not s and app.target != t,
                )

    asyncio.run(go())
    return figures, cpu


POSTS = (1, 10, 100)


def posts(snap: Snapshot, runs: int) -> dict[str, list[float]]:
    """Seconds per live post (see the docstring), by how many services it touched."""
    state = live.State.of(snap)
    out: dict[str, list[float]] = {}
    groups = sorted(state.slices)

    def flip(n: int, run: int) -> frozenset[tuple[str, str]]:
        touched: set[tuple[str, str]] = set()
        for key in groups[:n]:
            (g,) = state.slices[key]
            assert isinstance(g, EndpointGroup)
            e = g.endpoints[run % len(g.endpoints)]
            flipped = msgspec.structs.replace(e, ready=not e.ready, serving=not e.ready)
            eps = tuple(flipped if x is e else x for x in g.endpoints)
            new = msgspec.structs.replace(g, endpoints=eps)
            evs = state.step(Change("endpoint_groups", "MODIFIED", key, (new,)))
            touched |= {(ev.namespace, ev.service) for ev in evs}
        return frozenset(touched)

    async def go() -> None:
        first = _loaded(state.as_snapshot(), "bench")
        app = KinspectApp(first)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            for whole in (False, True):
                for n in POSTS:
                    name = f"{n} touched services" + (", whole view rebuilt" if whole else "")
                    poster, shown = out.setdefault(name, []), out.setdefault(name + " (shown)", [])
                    cpu = out.setdefault(name + " (shown, CPU time)", [])
                    for run in range(runs):
                        touched = flip(n, run)
                        done = app.shown
                        c0 = time.process_time()
                        t0 = time.perf_counter()
                        chains = None if whole else state.current()
                        app.post_snapshot(
                            state.as_snapshot(), touched, "live: bench", chains=chains
                        )
                        poster.append(time.perf_counter() - t0)
                        while app.shown == done:
                            await asyncio.sleep(0)
                        await pilot.pause(0)
                        shown.append(time.perf_counter() - t0)
                        cpu.append(time.process_time() - c0)
                        await pilot.pause()

    asyncio.run(go())
    return out


def _line(name: str, xs: list[float], goal: float) -> str:
    ms = sorted(x * 1000 for x in xs)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    return (
        f"| {name} | {statistics.median(ms):.0f} | {p95:.0f} | {ms[-1]:.0f} | {len(ms)} "
        f"| {goal * 1000:.0f} |"
    )


def main() -> None:
    load = os.getloadavg()[0]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--demo", help="a snapshot file of the demo")
    ap.add_argument("--pods", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    big = synthetic(args.pods)
    print(
        f"# kinspect ui: {args.pods} synthetic pods, {len(big.services)} services, "
        f"{len(big.namespaces)} namespaces; {os.cpu_count()} CPUs, load average {load:.1f}\n"
    )
    print("| figure | median ms | p95 ms | max ms | runs | goal ms |")
    print("|---|---|---|---|---|---|")
    opens = max(3, args.runs // 10)
    if args.demo:
        demo = snapshotfile.load(args.demo, snapshotfile.MAX_BYTES)
        print(_line("open, in-process, demo", open_in_process(demo, opens), 2.0))
        binary = open_binary(args.demo, opens)
        if binary is not None:
            print(_line("open, real binary in tmux, demo", binary, 2.0))
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "big.json.gz")
        snapshotfile.save(path, big)
        print(_line(f"open, in-process, {args.pods} pods", open_in_process(big, opens), 2.0))
        binary = open_binary(path, opens)
        if binary is not None:
            print(_line(f"open, real binary in tmux, {args.pods} pods", binary, 2.0))
    for name, xs in posts(big, args.runs).items():
        label = f"post_snapshot with {name} at {args.pods} pods"
        print(_line(label, xs, 0.05 if "(shown" not in name else 0.1))
    wall, cpu = keys(big, args.runs)
    for name in KEYS:
        print(_line(f"key to repaint: {name}", wall[name], 0.1))
        print(_line(f"(CPU time of that: {name})", cpu[name], 0.1))
    if not args.demo:
        print("\n(no --demo FILE: the demo's open figures were not measured)")


if __name__ == "__main__":
    main()
