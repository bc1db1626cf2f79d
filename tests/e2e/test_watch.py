"""map --watch and trace --watch on the test bed: each change seen in the stream, in order.

Every test watches its own namespace, changes it with kubectl (a Deployment scaled, a pod's
Ready condition patched, a Service deleted and created again) and reads the JSON Lines stream
with deadlines. At the end, what the stream said (its `Mirror`) must equal a fresh `map -o
json`: nothing lost. Ctrl-C ends every run with 130 and the one-line "interrupted".
"""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import time
from pathlib import Path
from typing import Any

from kinspect.model.errors import ExitCode
from kinspect.wire import watch

from .conftest import KINSPECT, Cluster, Namespace
from .faultproxy import FaultProxy, Rule, gzip_bomb
from .watchstream import Mirror, Stream, backends_of

APP = """
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
        - name: app
          image: registry.k8s.io/pause:3.10
          ports: [{{containerPort: 8080, name: http}}]
---
apiVersion: v1
kind: Service
metadata: {{name: web}}
spec:
  selector: {{app: web}}
  ports: [{{port: 80, targetPort: http}}]
"""


def _ready_backends(m: Mirror, ns: str) -> list[tuple[str, int, str | None]]:
    ports = m.services.get((ns, "web"), {})
    return sorted(k for port in ports.values() for k, (ready, _) in port.items() if ready)


def _all_backends(m: Mirror, ns: str) -> int:
    return sum(len(p) for p in m.services.get((ns, "web"), {}).values())


def _app(ns: Namespace, replicas: int) -> None:
    ns.apply(APP.format(replicas=replicas))
    ns.wait_until(f"{replicas} ready endpoints of web", lambda: _slice_ready(ns) == replicas)


def _slice_ready(ns: Namespace) -> int:
    slices = ns.get("endpointslices", "-l", "kubernetes.io/service-name=web")["items"]
    return sum(
        1
        for s in slices
        for e in s.get("endpoints") or []
        if (e.get("conditions") or {}).get("ready", True)
    )


def _watch(ns: Namespace, *extra: str, kubeconfig: list[str] | None = None) -> Stream:
    where = kubeconfig if kubeconfig is not None else ns.cluster.kinspect_args()
    return Stream(["map", "-n", ns.name, "--watch", "-o", "json", *extra, *where])


def _stop(stream: Stream) -> str:
    code, err = stream.interrupt()
    assert code == ExitCode.INTERRUPTED, err
    assert err.endswith("kinspect: error: interrupted\n"), err
    assert "Traceback" not in err
    return err


def _equal_to_a_fresh_map(stream: Stream, ns: Namespace) -> None:
    """Read the stream until its mirror equals a fresh `map -o json` (nothing lost).

    The fresh map reads the API server directly (never through a test's fault proxy).
    """

    def same(m: Mirror) -> bool:
        return m.services == backends_of(ns.kinspect_json("map", "-n", ns.name))

    stream.until_mirror("the stream to agree with a fresh map", same, seconds=60)


def test_scaling_a_deployment_adds_then_removes_backends_in_order(ns: Namespace) -> None:
    _app(ns, 1)
    stream = _watch(ns, "--watch-timeout", "5")
    try:
        synced = stream.synced()
        assert synced["services"] == 1
        assert synced["context"] == ns.cluster.context
        (first,) = _ready_backends(stream.mirror, ns.name)
        ns.kubectl("scale", "deployment", "web", "--replicas=3")
        stream.until_mirror(
            "3 ready backends", lambda m: len(_ready_backends(m, ns.name)) == 3, seconds=90
        )
        ns.kubectl("scale", "deployment", "web", "--replicas=1")
        stream.until_mirror("1 backend left", lambda m: _all_backends(m, ns.name) == 1, seconds=90)
        _equal_to_a_fresh_map(stream, ns)
    finally:
        _stop(stream)
    events = [d for d in stream.seen if d["namespace"] == ns.name and d["service"] == "web"]
    kinds = [d["event"] for d in events]
    added = [i for i, k in enumerate(kinds) if k == "backend-added"]
    removed = [i for i, k in enumerate(kinds) if k == "backend-removed"]
    assert len(added) == 2, kinds
    assert len(removed) == 2, kinds
    assert max(added) < min(removed), kinds  # in order: up, then down
    pods = {i: events[i]["backend"]["pod"]["name"] for i in added + removed}
    up = {pods[i] for i in added}
    down = {pods[i] for i in removed}
    assert first[2] not in up
    # Two of the three pods went, but not necessarily the two new ones: the ReplicaSet deletes
    # first the pods that share a node with more of its pods, and ranks pods of about the same
    # age alike (LogarithmicScaleDown), so the first pod may go and a new one stay.
    assert len(down) == 2
    assert down <= up | {first[2]}
    (left,) = (up | {first[2]}) - down
    (last,) = _ready_backends(stream.mirror, ns.name)
    assert last[2] == left


NOT_READY = {"type": "Ready", "status": "False", "reason": "ContainersNotReady"}


def _set_ready(ns: Namespace, pod: str, ready: bool) -> None:
    condition = {**NOT_READY, "status": "True" if ready else "False"}
    if ready:
        condition.pop("reason")
    ns.kubectl(
        "patch",
        "pod",
        pod,
        "--subresource=status",
        "--type=strategic",
        "-p",
        json.dumps({"status": {"conditions": [condition]}}),
    )


def test_a_pods_readiness_flips_its_backend(ns: Namespace) -> None:
    _app(ns, 2)
    stream = _watch(ns)
    try:
        stream.synced()
        pod = ns.get("pods", "-l", "app=web")["items"][0]["metadata"]["name"]

        def flip(kind: str) -> Any:
            return lambda d: (
                d["event"] == kind and d["service"] == "web" and d["backend"]["pod"]["name"] == pod
            )

        _set_ready(ns, pod, False)
        down = stream.until(f"{pod} not ready", flip("backend-not-ready"))
        assert down["backend"]["ready"] is False
        assert down["port"]["port"] == 80
        _set_ready(ns, pod, True)
        up = stream.until(f"{pod} ready again", flip("backend-ready"))
        assert up["backend"]["ready"] is True
        _equal_to_a_fresh_map(stream, ns)
    finally:
        _stop(stream)


def test_a_service_deleted_and_created_again(ns: Namespace) -> None:
    _app(ns, 1)
    stream = _watch(ns)
    try:
        stream.synced()
        old_ip = ns.get("service", "web")["spec"]["clusterIP"]
        ns.kubectl("delete", "service", "web")
        stream.until(
            "web removed", lambda d: d["event"] == "service-removed" and d["service"] == "web"
        )
        assert (ns.name, "web") not in stream.mirror.services
        ns.apply(APP.format(replicas=1))
        added = stream.until(
            "web added", lambda d: d["event"] == "service-added" and d["service"] == "web"
        )
        new_ip = ns.get("service", "web")["spec"]["clusterIP"]
        assert added["chain"]["clusterIPs"] == [new_ip]
        assert new_ip != old_ip or added["chain"]["clusterIPs"]
        # Its endpoints come back as the endpointslice controller writes its new slice.
        stream.until_mirror("web's backend back", lambda m: len(_ready_backends(m, ns.name)) == 1)
        _equal_to_a_fresh_map(stream, ns)
    finally:
        _stop(stream)


def test_trace_watch_prints_the_trace_again_when_its_backends_change(ns: Namespace) -> None:
    _app(ns, 1)
    ip = ns.get("service", "web")["spec"]["clusterIP"]
    stream = Stream(
        ["trace", f"{ip}:80", "-n", ns.name, "--watch", "-o", "json", *ns.cluster.kinspect_args()]
    )
    try:
        first = stream.until("the first trace", lambda d: d["kind"] == "TraceReport")
        (route,) = first["routes"]
        assert len(route["backends"]) == 1
        ns.kubectl("scale", "deployment", "web", "--replicas=2")
        stream.until(
            "a trace with 2 ready backends",
            lambda d: sum(b["ready"] for b in d["routes"][0]["backends"]) == 2,
            seconds=90,
        )
    finally:
        _stop(stream)


def test_a_dropped_watch_and_a_410_lose_nothing(
    ns: Namespace, cluster: Cluster, tmp_path: Path
) -> None:
    _app(ns, 1)
    with FaultProxy.start(cluster.kubeconfig_view(), tmp_path) as proxy:
        kc = ["--kubeconfig", proxy.kubeconfig(tmp_path)]
        # The slices' watch: its connection reset half-way through its body (twice), then 410
        # Gone, as when its resourceVersion is older than the server keeps; the pods' too.
        slices = (f"/namespaces/{ns.name}/endpointslices?", "watch=1")
        proxy.add(Rule(slices, "reset_body", 2))
        proxy.add(Rule(slices, "status", status=410))
        proxy.add(Rule((f"/namespaces/{ns.name}/pods?", "watch=1"), "status", status=410))
        # Each watch lasts 2 s: the proxy answers a watch only once the server ended it.
        stream = _watch(ns, "--watch-timeout", "2", kubeconfig=kc)
        try:
            stream.synced()
            ns.kubectl("scale", "deployment", "web", "--replicas=3")
            stream.until_mirror(
                "3 ready backends", lambda m: len(_ready_backends(m, ns.name)) == 3, seconds=90
            )
            _equal_to_a_fresh_map(stream, ns)
        finally:
            err = _stop(stream)
        assert "watch of pods expired (410 Gone): listed again" in err
        assert "watch of endpointslices expired (410 Gone): listed again" in err
        assert "watch of endpointslices: reconnecting (attempt 1): connection lost" in err
        assert proxy.count(*slices) >= 4


def test_off_a_terminal_without_json_the_table_then_one_line_per_change(ns: Namespace) -> None:
    _app(ns, 1)
    args = ["map", "-n", ns.name, "--watch", *ns.cluster.kinspect_args()]
    stream = Stream(args, json_lines=False)
    try:
        header = stream.until("the table", lambda d: True)["line"]
        # Off a terminal every row is whole (issue 23): the service's TYPE beside it.
        assert header.split()[:3] == ["SERVICE", "TYPE", "PORT"], header
        ns.kubectl("scale", "deployment", "web", "--replicas=2")
        added = stream.until("a backend-added line", lambda d: " backend-added " in d["line"])
        assert f" backend-added {ns.name}/web 80/TCP " in added["line"]
    finally:
        _stop(stream)


def test_a_kind_that_may_be_listed_but_not_watched_is_polled(ns: Namespace, tmp_path: Path) -> None:
    _app(ns, 1)
    everything = ["get", "list", "watch"]
    kc = ns.restricted_kubeconfig(
        str(tmp_path),
        [
            {"apiGroups": [""], "resources": ["services"], "verbs": everything},
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
            {
                "apiGroups": ["discovery.k8s.io"],
                "resources": ["endpointslices"],
                "verbs": everything,
            },
        ],
    )
    stream = _watch(ns, kubeconfig=["--kubeconfig", kc])
    try:
        stream.synced()
        ns.kubectl("scale", "deployment", "web", "--replicas=2")
        # The new pod's container comes from the pods, listed every 10 s: the mirror agrees with
        # a fresh map (which names it) only once they were listed again.
        _equal_to_a_fresh_map(stream, ns)
    finally:
        err = _stop(stream)
    assert (
        f"context restricted may not watch pods in namespace {ns.name} (403 Forbidden); "
        "listing pods every 10s instead"
    ) in err, err


def test_at_a_terminal_the_table_is_redrawn_with_the_changed_rows_highlighted(
    ns: Namespace,
) -> None:
    _app(ns, 1)
    args = [*KINSPECT, "map", "-n", ns.name, "--watch", *ns.cluster.kinspect_args()]
    pid, fd = pty.fork()
    if pid == 0:  # the child: kinspect at a terminal 160 columns wide, and nothing else
        try:
            os.environ.update(COLUMNS="160", LINES="40", TERM="xterm")
            os.environ.pop("NO_COLOR", None)
            # A test run started in the background inherits SIGINT ignored, and Python keeps
            # it so across exec: Ctrl-C must reach kinspect as it does at a terminal.
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.execv(args[0], args)
        finally:
            os._exit(127)
    out = b""

    def read_until(what: str, check: Any, seconds: float = 60) -> None:
        nonlocal out
        deadline = time.monotonic() + seconds
        while not check(out):
            assert time.monotonic() < deadline, f"timed out waiting for {what}: {out[-2000:]!r}"
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    out += os.read(fd, 65536)
                except OSError:
                    break

    try:
        read_until("the status line", lambda o: b"healthy" in o)
        start = len(out)
        ns.kubectl("scale", "deployment", "web", "--replicas=2")
        # Reverse video (the highlight) on a row of the service, and the count of events moves.
        read_until("a highlighted row", lambda o: b"\x1b[7m" in o[start:])
        read_until("events counted", lambda o: b" 0 events" not in o[o.rfind(b"watching") :])
    finally:
        os.kill(pid, signal.SIGINT)
        read_until("the end", lambda o: b"interrupted" in o, seconds=30)
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == ExitCode.INTERRUPTED
    # Drawn in place: the cursor moves up over the previous frame instead of scrolling.
    assert b"\x1b[1A" in out[start:]
    assert out.rstrip().endswith(b"kinspect: error: interrupted")


def test_a_watch_silent_past_its_timeout_is_started_again(
    ns: Namespace, cluster: Cluster, tmp_path: Path
) -> None:
    _app(ns, 1)
    with FaultProxy.start(cluster.kubeconfig_view(), tmp_path) as proxy:
        kc = ["--kubeconfig", proxy.kubeconfig(tmp_path)]
        services = (f"/namespaces/{ns.name}/services?", "watch=1")
        # The services' first watch answers nothing for 14 s: past --watch-timeout (1 s) plus
        # kinspect's margin (10 s), so kinspect gives up on it and watches again.
        proxy.add(Rule(services, "delay", interval=14.0))
        stream = _watch(ns, "--watch-timeout", "1", kubeconfig=kc)
        try:
            stream.synced()
            ns.kubectl("delete", "service", "web")
            stream.until(
                "web removed",
                lambda d: d["event"] == "service-removed" and d["service"] == "web",
                seconds=60,
            )
        finally:
            err = _stop(stream)
        assert "watch of services: reconnecting (attempt 1): silent too long" in err, err
        assert proxy.count(*services) >= 2


def _peak_rss(pid: int) -> int:
    """A running process's peak RSS in bytes (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmHWM for {pid}")


def test_a_gzip_bomb_on_a_watch_breaks_it_at_the_event_cap_and_it_is_watched_again(
    ns: Namespace, cluster: Cluster, tmp_path: Path
) -> None:
    # issue 24, D6: the services' first watch answers 4 MB of gzip (unasked) that inflate to one
    # 4 GiB line. kinspect stops at the event cap, says so, and watches again.
    _app(ns, 1)
    head = b'{"type":"ADDED","object":{"kind":"Service","apiVersion":"v1","metadata":{"name":"x"'
    bomb = gzip_bomb(head, 4 << 30, b"}}\n")
    with FaultProxy.start(cluster.kubeconfig_view(), tmp_path) as proxy:
        kc = ["--kubeconfig", proxy.kubeconfig(tmp_path)]
        services = (f"/namespaces/{ns.name}/services?", "watch=1")
        proxy.add(
            Rule(services, "body", status=200, body=bomb, headers={"Content-Encoding": "gzip"})
        )
        stream = _watch(ns, "--watch-timeout", "2", kubeconfig=kc)
        try:
            stream.synced()
            ns.kubectl("delete", "service", "web")
            stream.until(
                "web removed",
                lambda d: d["event"] == "service-removed" and d["service"] == "web",
                seconds=60,
            )
            peak = _peak_rss(stream.proc.pid)
        finally:
            err = _stop(stream)
        cap = watch.MAX_EVENT_BYTES
        assert f"watch of services: reconnecting (attempt 1): an event larger than {cap}" in err
        assert proxy.count(*services) >= 2
        assert peak < 256 << 20, f"peak RSS {peak >> 20} MiB"
