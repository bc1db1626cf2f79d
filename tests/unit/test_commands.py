"""Every command in-process on snapshot files: the output each format gives, and exit codes."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import msgspec
import yaml

from kinspect.model.errors import ExitCode
from kinspect.model.snapshot import Snapshot
from kinspect.wire import snapshotfile

from ..schema import validate
from .builders import cport, ep, group, node, pod, snap, sport, svc
from .runner import invoke, one_line_error


def _demo() -> Snapshot:
    """web (NodePort, two ready pods on two nodes), db (headless), ext (ExternalName)."""
    a = pod("a", "10.244.0.5", cport("app", 8080, "http"))
    b = pod("b", "10.244.1.5", cport("app", 8080, "http"), node_name="n1")
    d = pod("db-0", "10.244.0.7", cport("pg", 5432, "pg"), labels={"app": "db"})
    return snap(
        nodes=(node(0), node(1)),
        services=(
            svc("web", sport(80, "http", name="http", node_port=30080), type="NodePort"),
            svc("db", sport(5432, "pg", name="pg"), cluster_ips=(), selector={"app": "db"}),
            svc("ext", sport(443), type="ExternalName", cluster_ips=(), external_name="x.io"),
        ),
        groups=(
            group(
                "web", [("http", 8080, "TCP")], ep("10.244.0.5", "a"), ep("10.244.1.5", "b", "n1")
            ),
            group("db", [("pg", 5432, "TCP")], ep("10.244.0.7", "db-0")),
        ),
        pods=(a, b, d),
    )


def _save(tmp_path: Path, s: Snapshot | None = None) -> str:
    path = str(tmp_path / "snap.json.gz")
    snapshotfile.save(path, s or _demo())
    return path


def test_map_table_wide_and_tree(tmp_path: Path) -> None:
    path = _save(tmp_path)
    table = invoke("map", "-n", "ns", "--snapshot", path)
    assert table.code == ExitCode.OK
    assert table.stdout.splitlines()[0].split() == [
        "SERVICE",
        "TYPE",
        "PORT",
        "FRONTENDS",
        "BACKEND",
        "POD",
        "CONTAINER",
        "STATE",
    ]
    assert "node:30080 2/2" in table.stdout
    wide = invoke("map", "-n", "ns", "--snapshot", path, "-o", "wide")
    assert "192.0.2.11:30080" in wide.stdout
    tree = invoke("map", "-n", "ns", "--snapshot", path, "-o", "tree")
    assert tree.code == ExitCode.OK
    assert "10.244.1.5:8080" in tree.stdout


def test_map_json_and_yaml_are_the_same_document(tmp_path: Path) -> None:
    path = _save(tmp_path)
    as_json = json.loads(invoke("map", "-A", "--snapshot", path, "-o", "json").stdout)
    as_yaml = yaml.safe_load(invoke("map", "-A", "--snapshot", path, "-o", "yaml").stdout)
    assert as_json == as_yaml
    validate(as_json, "chain-report.json")
    assert [s["name"] for s in as_json["services"]] == ["db", "ext", "web"]
    db = as_json["services"][0]
    assert db["clusterIPs"] == []
    assert db["headless"] is True


def test_map_one_service_and_a_missing_one(tmp_path: Path) -> None:
    path = _save(tmp_path)
    doc = json.loads(invoke("map", "web", "--snapshot", path, "-n", "ns", "-o", "json").stdout)
    assert [s["name"] for s in doc["services"]] == ["web"]
    one_line_error(
        invoke("map", "nope", "--snapshot", path, "-n", "ns"),
        ExitCode.NOT_FOUND,
        "service 'nope' not found in namespace ns",
    )


def test_ips_in_every_format(tmp_path: Path) -> None:
    path = _save(tmp_path)
    text = invoke("ips", "--snapshot", path)
    assert text.code == ExitCode.OK
    assert "10.244.1.5" in text.stdout
    doc = json.loads(invoke("ips", "--snapshot", path, "-o", "json").stdout)
    validate(doc, "ip-inventory.json")
    assert [c["service"] for c in doc["clusterIPs"]] == ["ns/web"]
    assert yaml.safe_load(invoke("ips", "--snapshot", path, "-o", "yaml").stdout) == doc


def test_trace_found_and_not_found(tmp_path: Path) -> None:
    path = _save(tmp_path)
    found = invoke("trace", "192.0.2.11:30080", "--snapshot", path)
    assert found.code == ExitCode.OK
    assert "10.244.0.5:8080" in found.stdout
    doc = json.loads(invoke("trace", "10.244.0.5:8080", "--snapshot", path, "-o", "json").stdout)
    validate(doc, "trace-report.json")
    assert doc["found"] is True
    nothing = invoke("trace", "203.0.113.9:80", "--snapshot", path, "-o", "json")
    assert nothing.code == ExitCode.NOT_FOUND
    assert json.loads(nothing.stdout)["found"] is False


def test_explain(tmp_path: Path) -> None:
    r = invoke("explain", "--snapshot", _save(tmp_path))
    assert r.code == ExitCode.OK
    assert "targetPort" in r.stdout


def test_audit_on_a_snapshot(tmp_path: Path) -> None:
    r = invoke("audit", "--snapshot", _save(tmp_path), "-o", "json")
    assert r.code == ExitCode.OK
    assert json.loads(r.stdout)["kind"] == "AuditReport"
    out = tmp_path / "report.md"
    r = invoke("audit", "--snapshot", _save(tmp_path), "--output-file", str(out))
    assert r.code == ExitCode.OK
    assert out.read_text().startswith("# kinspect audit")


def test_old_snapshot_files_keep_headless_services_headless(tmp_path: Path) -> None:
    # Files written before clusterIP "None" was dropped in convert still carry the marker.
    doc = json.loads(snapshotfile.dumps(_demo(), compress=False))
    for s in doc["snapshot"]["services"]:
        if s["name"] == "db":
            s["clusterIps"] = ["None"]
    path = tmp_path / "old.json.gz"
    path.write_bytes(gzip.compress(json.dumps(doc).encode()))
    loaded = snapshotfile.load(str(path))
    db = next(s for s in loaded.services if s.name == "db")
    assert db.cluster_ips == ()
    assert db.headless
    out = json.loads(invoke("map", "db", "-n", "ns", "--snapshot", str(path), "-o", "json").stdout)
    assert out["services"][0]["clusterIPs"] == []


def test_snapshot_files_older_than_issue_22_load(tmp_path: Path) -> None:
    # Files written before the topology, affinity, source-range and family fields still load.
    doc = json.loads(snapshotfile.dumps(_demo(), compress=False))
    new = (
        "trafficDistribution", "topologyMode", "sessionAffinity", "sessionAffinityTimeout",
        "loadBalancerSourceRanges", "sourceRangesAnnotation", "ipFamilyPolicy", "ipFamilies",
    )  # fmt: skip
    for s in doc["snapshot"]["services"]:
        assert set(new) <= set(s)
        for k in new:
            del s[k]
    for g in doc["snapshot"]["endpointGroups"]:
        for e in g["endpoints"]:
            del e["forZones"], e["forNodes"]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(doc))
    loaded = snapshotfile.load(str(path))
    # Unset is not unread (review): the file says so, and every answer carries it.
    (note,) = loaded.warnings
    assert note.startswith(f"snapshot {path} was written before kinspect read topology hints")
    assert msgspec.structs.replace(loaded, warnings=()) == _demo()
    assert snapshotfile.load(_save(tmp_path)).warnings == ()
    r = invoke("map", "-A", "--snapshot", str(path), "-o", "json")
    assert r.code == ExitCode.OK
    assert json.loads(r.stdout)["services"][0]["ipFamilies"] == []


def test_a_service_name_no_service_can_have_is_a_usage_error(tmp_path: Path) -> None:
    # `map 'a,b'` went into the LIST's field selector: HTTP 400, exit 9 on a live cluster.
    path = _save(tmp_path)
    for bad in ("a,b", "Web", "web=x"):
        one_line_error(
            invoke("map", bad, "--snapshot", path, "-n", "ns"),
            ExitCode.USAGE,
            f"{bad!r} is not a service name",
        )


def test_a_missing_snapshot_file(tmp_path: Path) -> None:
    one_line_error(
        invoke("map", "--snapshot", str(tmp_path / "none.json")),
        ExitCode.USAGE,
        "cannot read snapshot",
        "No such file",
    )


LONG = "checkout-frontend-7d9f8b6c5d-abcdefghij-klmnopq-rstuvwx"  # 55 characters


def _long_names() -> Snapshot:
    p = pod(LONG, "10.244.0.5", cport("app", 8080, "http"))
    return snap(
        nodes=(node(0),),
        services=(svc("web", sport(80, "http", name="http")),),
        groups=(group("web", [("http", 8080, "TCP")], ep("10.244.0.5", LONG)),),
        pods=(p,),
    )


def test_off_a_terminal_no_cell_is_folded_or_truncated(tmp_path: Path) -> None:
    # `kinspect map -A | grep POD` must find the row: kubectl never wraps either. COLUMNS
    # counts only at a terminal.
    path = _save(tmp_path, _long_names())
    for fmt in ("table", "wide"):
        out = invoke("map", "-A", "--snapshot", path, "-o", fmt, env={"COLUMNS": "60"}).stdout
        (row,) = [line for line in out.splitlines() if LONG in line]
        assert row.split()[:4] == ["ns", "web", "ClusterIP", "http"]
        assert "10.244.0.5:8080" in row
    out = invoke("ips", "--snapshot", path, env={"COLUMNS": "40"}).stdout
    assert [line for line in out.splitlines() if f"ns/{LONG}" in line]


def _many_namespaces() -> Snapshot:
    """web (NodePort, affinity, two ports) in ns, db (headless) in data, ext in ns."""
    import msgspec

    a = pod("a", "10.244.0.5", cport("app", 8080, "http"), cport("app", 9090, "metrics"))
    b = pod("b", "10.244.1.5", cport("app", 8080, "http"), node_name="n1")
    d = pod("db-0", "10.244.0.7", cport("pg", 5432, "pg"), labels={"app": "db"}, ns="data")
    web = msgspec.structs.replace(
        svc(
            "web",
            sport(80, "http", name="http", node_port=30080),
            sport(9090, "metrics", name="metrics", node_port=30090),
            type="NodePort",
        ),
        session_affinity="ClientIP",
        session_affinity_timeout=600,
    )
    return snap(
        nodes=(node(0), node(1)),
        services=(
            web,
            svc(
                "db",
                sport(5432, "pg", name="pg"),
                ns="data",
                cluster_ips=(),
                selector={"app": "db"},
            ),
            svc("ext", sport(443), type="ExternalName", cluster_ips=(), external_name="x.io"),
        ),
        groups=(
            group(
                "web",
                [("http", 8080, "TCP"), ("metrics", 9090, "TCP")],
                ep("10.244.0.5", "a"),
                ep("10.244.1.5", "b", "n1"),
            ),
            group("db", [("pg", 5432, "TCP")], ep("10.244.0.7", "db-0", ns="data"), ns="data"),
        ),
        pods=(a, b, d),
    )


def test_off_a_terminal_every_row_is_whole(tmp_path: Path) -> None:
    # Issue 23, item 6: `kinspect map -A | grep POD` must give rows that stand alone: the
    # namespace, service, type, port and pod on each line, as kubectl prints them.
    path = _save(tmp_path, _many_namespaces())
    out = invoke("map", "-A", "--snapshot", path).stdout.splitlines()
    assert [line.split() for line in out] == [
        ["NAMESPACE", "SERVICE", "TYPE", "PORT", "FRONTENDS", "BACKEND", "POD", "CONTAINER",
         "STATE"],
        ["data", "db", "Headless", "pg", "5432→pg", "-", "10.244.0.7:5432", "db-0", "pg", "ready"],
        ["ns", "ext", "ExternalName", "443→443", "CNAME", "x.io", "-", "-", "-", "DNS", "only"],
        ["ns", "web", "NodePort,affinity", "ClientIP", "600s", "http", "80→http",
         "10.96.0.10,node:30080", "2/2", "10.244.0.5:8080", "a", "app", "ready"],
        ["ns", "web", "NodePort,affinity", "ClientIP", "600s", "http", "80→http",
         "10.96.0.10,node:30080", "2/2", "10.244.1.5:8080", "b", "app", "ready"],
        ["ns", "web", "NodePort,affinity", "ClientIP", "600s", "metrics", "9090→metrics",
         "10.96.0.10,node:30090", "2/2", "10.244.0.5:9090", "a", "app", "ready"],
        ["ns", "web", "NodePort,affinity", "ClientIP", "600s", "metrics", "9090→metrics",
         "10.96.0.10,node:30090", "2/2", "10.244.1.5:9090", "b", "(undeclared)", "ready"],
    ]  # fmt: skip
    # Read in one namespace: no NAMESPACE column; -o wide too gives whole rows.
    one = invoke("map", "-n", "ns", "--snapshot", path, "-o", "wide").stdout.splitlines()
    assert one[0].split()[:3] == ["SERVICE", "TYPE", "PORT"]
    assert all(line.split()[0] in ("ext", "web") for line in one[1:])
    # At a terminal the grouped look stays (the service named once).
    assert _on_terminal(200, wide=False)[0].split()[:2] == ["SERVICE", "PORT"]


def _on_terminal(columns: int, wide: bool) -> list[str]:
    import io
    import re

    from kinspect.commands.session import Session
    from kinspect.path import chain
    from kinspect.render import table

    out = io.StringIO()
    s = Session(out, io.StringIO(), {"COLUMNS": str(columns)}, stdout_tty=True)
    s.console("wide" if wide else "lines").print(
        table.map_table(chain.build(_long_names()), wide=wide)
    )
    return re.sub(r"\x1b\[[0-9;]*m", "", out.getvalue()).splitlines()


def test_on_a_terminal_cells_are_truncated_with_an_ellipsis_never_wrapped() -> None:
    lines = _on_terminal(60, wide=False)
    assert len(lines) == 2  # the header and the one row: nothing folded onto a second line
    assert all(len(line) <= 60 for line in lines)
    assert "…" in lines[1]
    assert LONG not in lines[1]


def test_on_a_terminal_wide_shows_everything_past_the_terminal_width() -> None:
    lines = _on_terminal(60, wide=True)
    assert len(lines) == 2
    assert LONG in lines[1]
    assert len(lines[1]) > 60


def _with_init_and_pending() -> Snapshot:
    import msgspec

    s = _demo()
    initialised = msgspec.structs.replace(s.pods[0], init_containers=("migrate",))
    pending = pod("c", None, cport("app", 8080, "http"), node_name=None, phase="Pending")
    return msgspec.structs.replace(s, pods=(initialised, *s.pods[1:], pending))


def test_ips_lists_headless_services_init_containers_and_counts_pods_without_ip(
    tmp_path: Path,
) -> None:
    path = _save(tmp_path, _with_init_and_pending())
    text = invoke("ips", "--snapshot", path).stdout
    (db,) = [line for line in text.splitlines() if line.split()[:1] == ["ns/db"]]
    assert db.split() == ["ns/db", "ClusterIP", "None", "(headless)"]
    assert "└ migrate (init)" in text
    assert "1 pod has no IP yet (pending)" in text
    doc = json.loads(invoke("ips", "--snapshot", path, "-o", "json").stdout)
    validate(doc, "ip-inventory.json")
    assert doc["headlessServices"] == [{"service": "ns/db", "type": "ClusterIP"}]
    assert doc["podsWithoutIP"] == 1
    by = {p["name"]: p for p in doc["pods"]}
    assert by["a"]["initContainers"] == ["migrate"]
    assert by["b"]["initContainers"] == []


def test_ips_says_nothing_of_pending_pods_when_there_are_none(tmp_path: Path) -> None:
    text = invoke("ips", "--snapshot", _save(tmp_path)).stdout
    assert "no IP yet" not in text


def test_a_lone_surrogate_in_the_context_name_saves_as_u_fffd(tmp_path: Path) -> None:
    # PyYAML reads a kubeconfig's "\ud800" as a lone surrogate, which UTF-8 cannot hold.
    odd = msgspec.structs.replace(snap(services=(svc("web", sport(80)),)), context="a\ud800b")
    path = _save(tmp_path, odd)
    loaded = snapshotfile.load(path)
    assert (loaded.context, [s.name for s in loaded.services]) == ("a\ufffdb", ["web"])
