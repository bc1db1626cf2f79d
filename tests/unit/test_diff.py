"""`kinspect diff`: each change kind fires exactly, the formats whole (golden), the CLI's exits.

After an intended change of output, regenerate the golden files and review the diff:

    KINSPECT_REGEN_GOLDEN=1 .venv/bin/pytest tests/unit/test_diff.py
"""

from __future__ import annotations

import gzip
import io
import json
import os
from pathlib import Path

import msgspec
import pytest
import yaml
from rich.console import Console

from kinspect.audit.finding import Identity, PortKey, Severity
from kinspect.audit.report import BaselineFinding
from kinspect.diff import chaindiff
from kinspect.diff.chaindiff import CHANGE_KINDS, ChainDiff, Change, Side
from kinspect.model.edge import IngressRule
from kinspect.model.errors import ExitCode
from kinspect.model.snapshot import Snapshot
from kinspect.model.values import (
    Endpoint,
    EndpointGroup,
    Pod,
    PodRef,
    Service,
    ServicePort,
    ServiceType,
)
from kinspect.render import data
from kinspect.render import diff as render_diff
from kinspect.wire import snapshotfile

from ..schema import validate
from .builders import cport, ep, group, ingress, ipath, node, pod, snap, sport, svc
from .runner import invoke, one_line_error

GOLDEN = Path(__file__).parent / "golden"
REGEN = os.environ.get("KINSPECT_REGEN_GOLDEN") == "1"
NS = "shop"


def _pod(name: str, ip: str, port: int = 8080, app: str = "web", ready: bool = True) -> Pod:
    return pod(name, ip, cport("app", port, "http"), ns=NS, labels={"app": app}, ready=ready)


def _ep(ip: str, name: str | None, ready: bool = True, terminating: bool = False) -> Endpoint:
    return ep(ip, name, "n0", ready, terminating, ns=NS)


def _web(
    ports: tuple[ServicePort, ...] = (sport(80, "http", name="http", node_port=30080),),
    type: ServiceType = "NodePort",
    lb: tuple[str, ...] = (),
    external_ips: tuple[str, ...] = (),
) -> Service:
    return svc(
        "web",
        *ports,
        ns=NS,
        type=type,
        cluster_ips=("10.96.0.10",),
        selector={"app": "web"},
        lb=lb,
        external_ips=external_ips,
    )


def _api() -> Service:
    return svc("api", sport(8080), ns=NS, cluster_ips=("10.96.0.20",), selector={"app": "api"})


def _web_group(*eps: Endpoint, port: int = 8080) -> EndpointGroup:
    return group("web", [("http", port, "TCP")], *eps, ns=NS)


def _base(
    services: tuple[Service, ...] | None = None,
    pods: tuple[Pod, ...] | None = None,
    groups: tuple[EndpointGroup, ...] | None = None,
) -> Snapshot:
    default_pods = (
        _pod("web-a", "10.244.0.5"),
        _pod("web-b", "10.244.0.6"),
        _pod("api-0", "10.244.0.9", app="api"),
    )
    default_groups = (
        _web_group(_ep("10.244.0.5", "web-a"), _ep("10.244.0.6", "web-b")),
        group("api", [(None, 8080, "TCP")], _ep("10.244.0.9", "api-0"), ns=NS),
    )
    return snap(
        nodes=(node(0),),
        services=services if services is not None else (_web(), _api()),
        pods=pods if pods is not None else default_pods,
        groups=groups if groups is not None else default_groups,
    )


def _changes(new: Snapshot, old: Snapshot | None = None) -> list[Change]:
    return chaindiff.diff_snapshots(old or _base(), new)


def test_identical_snapshots_have_no_differences() -> None:
    assert _changes(_base()) == []


def test_service_added_and_removed() -> None:
    cart = svc("cart", sport(80), ns=NS, cluster_ips=("10.96.0.30",), selector={"app": "c"})
    assert _changes(_base(services=(_web(), _api(), cart))) == [
        Change("service-added", NS, "cart", after="ClusterIP, 1 port(s)")
    ]
    assert _changes(_base(services=(_web(),))) == [
        Change("service-removed", NS, "api", before="ClusterIP, 1 port(s)")
    ]


def test_service_changed_names_the_fields_that_differ() -> None:
    shop = msgspec.structs.replace(
        _web(type="ClusterIP", ports=(sport(80, "http", name="http"),)),
        selector={"app": "shop"},
        external_traffic_policy="Local",
    )
    web = msgspec.structs.replace(_web(), external_traffic_policy="Local")
    changes = _changes(_base(services=(shop, _api())), _base(services=(web, _api())))
    assert changes[0] == Change(
        "service-changed",
        NS,
        "web",
        before="type NodePort, selector app=web",
        after="type ClusterIP, selector app=shop",
    )
    # Its consequences follow: the port lost its nodePort, the node frontend went, and the
    # pods no longer selected are still listed by the slice until the controller acts.
    assert [c.kind for c in changes[1:]] == ["port-changed", "frontend-removed"]


def test_a_stuck_rollout_shows_the_new_pod_that_gets_no_endpoint() -> None:
    # Issue 23, item 7: a newly selected pod that never gets an endpoint (a stuck rollout).
    stuck = _pod("web-c", "10.244.0.7", ready=False)
    pods = (*_base().pods, stuck)
    port = "http 80/TCP"
    assert _changes(_base(pods=pods)) == [
        Change("pod-no-endpoint", NS, "web", port, "shop/web-c", None, "not ready",
               PodRef(NS, "web-c")),
    ]  # fmt: skip
    # Gone again (it became ready and a backend, or was deleted): said once the other way.
    assert _changes(_base(), _base(pods=pods)) == [
        Change("pod-no-endpoint", NS, "web", port, "shop/web-c", "not ready", None,
               PodRef(NS, "web-c")),
    ]  # fmt: skip


def test_a_scheduler_message_that_changes_is_no_change() -> None:
    # Review: the scheduler rewrites its message on each attempt; the pod is as stuck as it was.
    def stuck(message: str) -> Snapshot:
        p = msgspec.structs.replace(
            pod("web-c", None, cport("app", 8080, "http"), ns=NS, labels={"app": "web"},
                node_name=None, phase="Pending", ready=False),
            unscheduled_reason="Unschedulable",
            unscheduled_message=message,
        )  # fmt: skip
        return _base(pods=(*_base().pods, p))

    assert _changes(stuck("0/3 nodes are available: 1 Insufficient cpu."),
                    stuck("0/3 nodes are available: 2 Insufficient cpu.")) == []  # fmt: skip


def test_nodes_whose_answer_flips() -> None:
    # Issue 23, item 7: externalTrafficPolicy Local on three nodes, endpoints on 3 → on 1.
    web = msgspec.structs.replace(_web(), external_traffic_policy="Local")
    pods = tuple(
        msgspec.structs.replace(_pod(f"web-{i}", f"10.244.{i}.5"), node_name=f"n{i}")
        for i in range(3)
    )
    eps = [ep(f"10.244.{i}.5", f"web-{i}", f"n{i}", ns=NS) for i in range(3)]

    def world(ready: int) -> Snapshot:
        return snap(nodes=(node(0), node(1), node(2)), services=(web,), pods=pods,
                    groups=(_web_group(*eps[:ready]),))  # fmt: skip

    got = [c for c in chaindiff.diff_snapshots(world(3), world(1)) if c.kind == "answers-changed"]
    assert got == [
        Change("answers-changed", NS, "web", "http 80/TCP", "NodePort 30080",
               "3/3 nodes", "1/3 nodes (n0)"),
    ]  # fmt: skip


def test_port_added_and_removed() -> None:
    two = (
        sport(80, "http", name="http", node_port=30080),
        sport(9090, 9090, name="metrics"),
    )
    with_metrics = _base(services=(_web(ports=two), _api()))
    assert _changes(with_metrics) == [
        Change("port-added", NS, "web", "metrics 9090/TCP", after="9090/TCP → 9090")
    ]
    assert _changes(_base(), with_metrics) == [
        Change("port-removed", NS, "web", "metrics 9090/TCP", before="9090/TCP → 9090")
    ]


def test_port_changed_under_the_same_name_with_its_frontends() -> None:
    moved = (sport(81, "http", name="http", node_port=30080),)
    assert _changes(_base(services=(_web(ports=moved), _api()))) == [
        Change(
            "port-changed",
            NS,
            "web",
            "http 81/TCP",
            before="80/TCP → http, nodePort 30080",
            after="81/TCP → http, nodePort 30080",
        ),
        Change("frontend-removed", NS, "web", "http 81/TCP", "ClusterIP 10.96.0.10:80"),
        Change("frontend-added", NS, "web", "http 81/TCP", "ClusterIP 10.96.0.10:81"),
    ]


def test_node_port_changed_moves_the_node_frontends() -> None:
    moved = (sport(80, "http", name="http", node_port=30081),)
    assert [(c.kind, c.subject) for c in _changes(_base(services=(_web(ports=moved), _api())))] == [
        ("port-changed", ""),
        ("frontend-removed", "NodePort 192.0.2.10:30080 (n0)"),
        ("frontend-added", "NodePort 192.0.2.10:30081 (n0)"),
    ]


def test_a_rollout_that_moves_the_named_target_port() -> None:
    """A Deployment's rollout: new pods whose `http` is 9090; every backend is a new pod."""
    pods = (
        _pod("web-c", "10.244.0.7", 9090),
        _pod("web-d", "10.244.0.8", 9090),
        _pod("api-0", "10.244.0.9", app="api"),
    )
    groups = (
        _web_group(_ep("10.244.0.7", "web-c"), _ep("10.244.0.8", "web-d"), port=9090),
        group("api", [(None, 8080, "TCP")], _ep("10.244.0.9", "api-0"), ns=NS),
    )
    port = "http 80/TCP"
    assert _changes(_base(pods=pods, groups=groups)) == [
        Change("target-port-changed", NS, "web", port, "http", "8080 (app)", "9090 (app)"),
        Change("backend-removed", NS, "web", port, "shop/web-a", "10.244.0.5:8080 ready", None,
               PodRef(NS, "web-a")),
        Change("backend-removed", NS, "web", port, "shop/web-b", "10.244.0.6:8080 ready", None,
               PodRef(NS, "web-b")),
        Change("backend-added", NS, "web", port, "shop/web-c", None, "10.244.0.7:9090 ready",
               PodRef(NS, "web-c")),
        Change("backend-added", NS, "web", port, "shop/web-d", None, "10.244.0.8:9090 ready",
               PodRef(NS, "web-d")),
    ]  # fmt: skip


def test_the_same_pods_resolving_the_name_elsewhere_is_one_change() -> None:
    """A StatefulSet keeps its pod names: only the resolution changed."""
    pods = (
        _pod("web-a", "10.244.0.5", 9090),
        _pod("web-b", "10.244.0.6", 9090),
        _pod("api-0", "10.244.0.9", app="api"),
    )
    groups = (
        _web_group(_ep("10.244.0.5", "web-a"), _ep("10.244.0.6", "web-b"), port=9090),
        _base().endpoint_groups[1],
    )
    assert _changes(_base(pods=pods, groups=groups)) == [
        Change("target-port-changed", NS, "web", "http 80/TCP", "http", "8080 (app)", "9090 (app)")
    ]


def test_frontends_added_and_removed() -> None:
    lb = _base(services=(_web(type="LoadBalancer", lb=("203.0.113.7",)), _api()))
    assert _changes(lb) == [
        Change("service-changed", NS, "web", before="type NodePort", after="type LoadBalancer"),
        Change("frontend-added", NS, "web", "http 80/TCP", "LoadBalancer 203.0.113.7:80"),
    ]
    external = _base(services=(_web(external_ips=("198.51.100.1",)), _api()))
    assert _changes(_base(), external) == [
        Change("frontend-removed", NS, "web", "http 80/TCP", "ExternalIP 198.51.100.1:80")
    ]


def test_an_ingress_path_is_a_frontend() -> None:
    ing = ingress("web", ns=NS, default=None, class_name=None)
    ing = msgspec.structs.replace(ing, rules=(_rule(),))
    with_ingress = msgspec.structs.replace(_base(), ingresses=(ing,))
    [c] = _changes(with_ingress)
    assert c.kind == "frontend-added"
    assert c.port == "http 80/TCP"
    assert c.subject == "Ingress shop/web host shop.example.com path /api (Prefix)"


def _rule() -> IngressRule:
    return IngressRule("shop.example.com", (ipath("/api", "web", 80),))


def test_backend_added_and_removed() -> None:
    three = (*_base().pods, _pod("web-c", "10.244.0.7"))
    groups = (
        _web_group(
            _ep("10.244.0.5", "web-a"), _ep("10.244.0.6", "web-b"), _ep("10.244.0.7", "web-c")
        ),
        _base().endpoint_groups[1],
    )
    scaled = _base(pods=three, groups=groups)
    added = Change(
        "backend-added",
        NS,
        "web",
        "http 80/TCP",
        "shop/web-c",
        after="10.244.0.7:8080 ready",
        pod=PodRef(NS, "web-c"),
    )
    assert _changes(scaled) == [added]
    removed = Change(
        "backend-removed",
        NS,
        "web",
        "http 80/TCP",
        "shop/web-c",
        before="10.244.0.7:8080 ready",
        pod=PodRef(NS, "web-c"),
    )
    assert _changes(_base(), scaled) == [removed]


@pytest.mark.parametrize(
    ("ready", "terminating", "state"),
    [(False, False, "not-ready"), (False, True, "serving-terminating")],
)
def test_backend_state(ready: bool, terminating: bool, state: str) -> None:
    groups = (
        _web_group(_ep("10.244.0.5", "web-a"), _ep("10.244.0.6", "web-b", ready, terminating)),
        _base().endpoint_groups[1],
    )
    assert _changes(_base(groups=groups)) == [
        Change(
            "backend-state", NS, "web", "http 80/TCP", "shop/web-b", "ready", state,
            PodRef(NS, "web-b"),
        )
    ]  # fmt: skip


def test_backend_terminating_without_serving() -> None:
    gone = msgspec.structs.replace(_ep("10.244.0.6", "web-b", False, True), serving=False)
    groups = (_web_group(_ep("10.244.0.5", "web-a"), gone), _base().endpoint_groups[1])
    [c] = _changes(_base(groups=groups))
    assert (c.kind, c.before, c.after) == ("backend-state", "ready", "terminating")


def test_backend_address_of_a_pod_recreated_under_its_name() -> None:
    pods = (_pod("web-a", "10.244.0.5"), _pod("web-b", "10.244.0.66"), _base().pods[2])
    groups = (
        _web_group(_ep("10.244.0.5", "web-a"), _ep("10.244.0.66", "web-b")),
        _base().endpoint_groups[1],
    )
    assert _changes(_base(pods=pods, groups=groups)) == [
        Change(
            "backend-address", NS, "web", "http 80/TCP", "shop/web-b", "10.244.0.6",
            "10.244.0.66", PodRef(NS, "web-b"),
        )
    ]  # fmt: skip


def test_endpoints_without_a_pod_are_matched_by_address() -> None:
    db = svc("db", sport(5432), ns=NS, cluster_ips=("10.96.0.40",), selectorless=True)

    def with_db(address: str) -> Snapshot:
        s = _base(services=(_web(), _api(), db))
        g = group("db", [(None, 5432, "TCP")], _ep(address, None), ns=NS)
        return msgspec.structs.replace(s, endpoint_groups=(*s.endpoint_groups, g))

    got = [(c.kind, c.subject) for c in _changes(with_db("192.0.2.99"), with_db("192.0.2.98"))]
    assert got == [("backend-removed", "192.0.2.98"), ("backend-added", "192.0.2.99")]


def _finding(check: str, service: str, message: str, sev: Severity) -> BaselineFinding:
    return BaselineFinding(
        Identity("prod", check, NS, service, PortKey("http", 80, "TCP")), sev, message
    )


def test_findings_new_and_resolved_by_identity() -> None:
    stuck = _finding("no-ready-endpoints", "web", "no ready endpoint", Severity.ERROR)
    lonely = _finding("single-ready-endpoint", "api", "1 ready endpoint", Severity.WARNING)
    lonely_now = _finding("single-ready-endpoint", "api", "1 ready endpoint (of 2)", Severity.INFO)
    ghost = _finding("selector-matches-no-pods", "ghost", "no pod", Severity.ERROR)
    changes = chaindiff.diff_findings([stuck, lonely], [lonely_now, ghost])
    assert changes == [
        Change("finding-new", NS, "ghost", "http 80/TCP", "selector-matches-no-pods", None,
               "no pod", context="prod", severity="error"),
        Change("finding-resolved", NS, "web", "http 80/TCP", "no-ready-endpoints",
               "no ready endpoint", None, context="prod", severity="error"),
    ]  # fmt: skip
    assert chaindiff.diff_findings([stuck], [stuck]) == []
    assert chaindiff.diff_findings([stuck], [ghost], namespace="other") == []


def test_every_change_kind_has_a_mark_and_words() -> None:
    for kind in CHANGE_KINDS:
        c = Change(kind, NS, "web", "http 80/TCP", "x", "a", "b")
        assert render_diff.mark(kind) in "+-~"
        assert render_diff.words(c)


# --- golden: one representative diff in every format ---------------------------------------


def _after() -> Snapshot:
    """A rollout of web (http → 9090, one new pod not ready yet), api gone, cart new, web
    reachable on an external IP; a pod name that tries markup and a terminal escape."""
    odd = "web-\x1b[31m[bold]e|*x*"
    pods = (
        _pod("web-c", "10.244.0.7", 9090),
        _pod("web-d", "10.244.0.8", 9090, ready=False),
        _pod(odd, "10.244.0.10", 9090),
        _pod("cart-0", "10.244.0.11", app="cart"),
    )
    cart = svc("cart", sport(80, 8080), ns=NS, cluster_ips=("10.96.0.30",), selector={"app": "c"})
    groups = (
        _web_group(
            _ep("10.244.0.7", "web-c"),
            _ep("10.244.0.8", "web-d", ready=False),
            _ep("10.244.0.10", odd),
            port=9090,
        ),
        group("cart", [(None, 8080, "TCP")], _ep("10.244.0.11", "cart-0"), ns=NS),
    )
    return _base(services=(_web(external_ips=("198.51.100.1",)), cart), pods=pods, groups=groups)


def _golden_diff() -> ChainDiff:
    changes = chaindiff.diff_snapshots(_base(), _after())
    old = Side("snapshot", "before.json", "test")
    new = Side("live", None, "test")
    return ChainDiff(old, new, NS, tuple(changes))


def _text(d: ChainDiff) -> str:
    console = Console(record=True, width=120, file=io.StringIO())
    console.print(render_diff.text(d))
    return console.export_text()


def _compare(name: str, out: str) -> None:
    path = GOLDEN / name
    if REGEN:
        path.write_bytes(out.encode())
    assert out.encode() == path.read_bytes(), f"{path.name} differs (see the module docstring)"


def test_golden_text() -> None:
    _compare("diff.txt", _text(_golden_diff()))


def test_golden_markdown() -> None:
    _compare("diff.md", render_diff.markdown(_golden_diff()))


def test_golden_json_matches_the_schema() -> None:
    doc = render_diff.document(_golden_diff())
    validate(json.loads(data.to_json(doc)), "chain-diff.json")
    _compare("diff.json", data.to_json(doc))


def test_findings_document_matches_the_schema() -> None:
    f = _finding("no-ready-endpoints", "web", "no ready endpoint", Severity.ERROR)
    changes = chaindiff.diff_findings([f], [])
    side = Side("audit", "a.json", "prod")
    doc = render_diff.document(ChainDiff(side, side, None, tuple(changes)))
    validate(json.loads(data.to_json(doc)), "chain-diff.json")
    assert doc["summary"]["finding-resolved"] == 1
    assert sum(doc["summary"].values()) == 1


def test_untrusted_names_are_escaped_in_text_and_markdown() -> None:
    d = _golden_diff()
    text = _text(d)
    assert "\x1b" not in text
    assert "web-\\x1b[31m[bold]e|*x*" in text  # shown, escaped, never styled
    md = render_diff.markdown(d)
    assert "web-\\x1b\\[31m\\[bold\\]e\\|\\*x\\*" in md


# --- the CLI --------------------------------------------------------------------------------


def _save(tmp: Path, name: str, s: Snapshot) -> str:
    path = tmp / name
    snapshotfile.save(str(path), s)
    return str(path)


def test_cli_identical_is_exit_0_and_one_line(tmp_path: Path) -> None:
    a = _save(tmp_path, "a.json", _base())
    b = _save(tmp_path, "b.json.gz", _base())  # gzip is read as well
    r = invoke("diff", a, b)
    assert (r.code, r.stdout, r.stderr) == (ExitCode.OK, "no differences\n", "")


def test_cli_differences_exit_10_in_every_format(tmp_path: Path) -> None:
    a = _save(tmp_path, "a.json", _base())
    b = _save(tmp_path, "b.json", _after())
    text = invoke("diff", a, b)
    assert text.code == ExitCode.DIFFERENT
    assert int(text.code) == 10
    assert "  port http 80/TCP\n    ~ targetPort http resolves to 8080 (app) → 9090 (app)\n" in (
        text.stdout
    )
    assert "shop/api\n  - service removed (ClusterIP, 1 port(s))\n" in text.stdout
    js = invoke("diff", a, b, "-o", "json")
    assert js.code == ExitCode.DIFFERENT
    doc = json.loads(js.stdout)
    validate(doc, "chain-diff.json")
    assert doc["different"] is True
    assert doc["old"] == {"source": "snapshot", "path": a, "context": "test"}
    assert doc["summary"]["service-added"] == doc["summary"]["service-removed"] == 1
    yml = invoke("diff", a, b, "-o", "yaml")
    assert yml.code == ExitCode.DIFFERENT
    assert yaml.safe_load(yml.stdout) == doc
    md = invoke("diff", a, b, "-o", "markdown")
    assert md.code == ExitCode.DIFFERENT
    assert md.stdout.startswith("# kinspect diff\n")


def test_cli_namespace_narrows_both_sides(tmp_path: Path) -> None:
    a = _save(tmp_path, "a.json", _base())
    b = _save(tmp_path, "b.json", _after())
    r = invoke("diff", a, b, "-n", "elsewhere", "-o", "json")
    assert r.code == ExitCode.OK
    assert json.loads(r.stdout)["namespace"] == "elsewhere"


def _audit_report(tmp: Path, name: str, *findings: dict[str, object]) -> str:
    doc = {
        "apiVersion": "kinspect/v1",
        "kind": "AuditReport",
        "contexts": [{"name": "prod"}],
        "findings": list(findings),
    }
    path = tmp / name
    path.write_text(json.dumps(doc))
    return str(path)


def _f(check: str, service: str) -> dict[str, object]:
    return {
        "context": "prod",
        "check": check,
        "severity": "error",
        "namespace": NS,
        "service": service,
        "port": "http 80/TCP",
        "message": f"{check} on {service}",
    }


def test_cli_two_audit_reports(tmp_path: Path) -> None:
    a = _audit_report(tmp_path, "a.json", _f("no-ready-endpoints", "web"))
    b = _audit_report(tmp_path, "b.json", _f("selector-matches-no-pods", "ghost"))
    r = invoke("diff", a, b, "-o", "json")
    assert r.code == ExitCode.DIFFERENT
    doc = json.loads(r.stdout)
    validate(doc, "chain-diff.json")
    got = [(c["kind"], c["service"], c["subject"]) for c in doc["changes"]]
    assert got == [
        ("finding-new", "ghost", "selector-matches-no-pods"),
        ("finding-resolved", "web", "no-ready-endpoints"),
    ]
    assert doc["old"]["context"] == "prod"
    same = invoke("diff", a, a)
    assert (same.code, same.stdout) == (ExitCode.OK, "no differences\n")


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"not json at all", "is not a kinspect JSON document"),
        (b'{"apiVersion": "kinspect/v1", "kind": "ChainReport"}', "a ChainReport of kinspect/v1"),
        (b'{"apiVersion": "kinspect/v1", "kind": "Snapshot", "snapshot": 3}', "not a kinspect"),
        (b'{"apiVersion": "kinspect/v1", "kind": "AuditReport"}', "not a kinspect audit report"),
        (b"[1, 2]", "is not a kinspect JSON document"),
        (b"{}", "is not a kinspect document, not a snapshot or an audit report"),
        (gzip.compress(b'{"kind": "Snapshot"')[:-4], "corrupt gzip"),
    ],
)  # fmt: skip
def test_cli_bad_files_are_one_line_usage_errors(
    tmp_path: Path, content: bytes, needle: str
) -> None:
    good = _save(tmp_path, "good.json", _base())
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    one_line_error(invoke("diff", good, str(bad)), ExitCode.USAGE, needle)


def test_cli_missing_file_and_mixed_pairs(tmp_path: Path) -> None:
    good = _save(tmp_path, "good.json", _base())
    report = _audit_report(tmp_path, "r.json")
    missing = str(tmp_path / "missing.json")
    one_line_error(invoke("diff", missing, good), ExitCode.USAGE, "No such file")
    # Files are read before the cluster: these never need a kubeconfig.
    one_line_error(invoke("diff", missing, "live"), ExitCode.USAGE, "No such file")
    one_line_error(invoke("diff", report, good), ExitCode.USAGE, "with a snapshot")
    one_line_error(invoke("diff", "live", report), ExitCode.USAGE, "with live")
    one_line_error(invoke("diff", "live", "live"), ExitCode.USAGE, "both sides are live")
    one_line_error(invoke("diff", good, good, "-n", "x", "-A"), ExitCode.USAGE, "-n and -A")
    one_line_error(invoke("diff", good, good, "-o", "html"), ExitCode.USAGE)
