"""--evidence: the object, field, value and kubectl command behind each hop and finding."""

from __future__ import annotations

import datetime
import json
import shlex
from pathlib import Path
from typing import Any

import msgspec
from rich.console import Console

from kinspect.audit import checks as audit
from kinspect.audit import evidence
from kinspect.audit.finding import Finding, Severity
from kinspect.audit.report import ContextResult, combine
from kinspect.model.errors import ExitCode
from kinspect.model.snapshot import Snapshot
from kinspect.path import chain, trace
from kinspect.path.evidence import Evidence, Evidencer, command, literal
from kinspect.path.trace import Target
from kinspect.render import data, report, tree
from kinspect.render import evidence as render_evidence
from kinspect.render.audit import json as audit_json
from kinspect.render.audit.common import RenderContext

from ..schema import validate
from .builders import cport, ep, group, node, pod, snap, sport, svc
from .runner import invoke

CTX = "test"


def _json(doc: dict[str, Any]) -> Any:
    """A document as its JSON text reads back."""
    return json.loads(data.to_json(doc))


def _cmd(*words: str) -> str:
    return " ".join(shlex.quote(w) for w in ("kubectl", f"--context={CTX}", *words))


def _world() -> chain.Index:
    a = pod("a", "10.244.0.5", cport("app", 9090, "http"))
    s = svc("web", sport(80, "http", name="web", node_port=30080), type="NodePort")
    g = group("web", [("web", 9090, "TCP")], ep("10.244.0.5", "a"), name="web-x7k2p")
    return chain.Index.of(snap(nodes=(node(0),), services=(s,), groups=(g,), pods=(a,)))


def test_trace_cluster_ip_route_and_backend_evidence() -> None:
    idx = _world()
    r = trace.trace(idx, Target("10.96.0.10", 80))
    (rt,) = r.routes
    ev = Evidencer.over(idx)
    port = 'spec.ports[?(@.name=="web")]'
    at = 'endpoints[?(@.addresses[0]=="10.244.0.5")]'
    app = 'spec.containers[?(@.name=="app")].ports[?(@.name=="http")].containerPort'
    svc_ = ("--namespace=ns", "get", "service/web")
    assert ev.route(rt) == [
        Evidence(
            "Service", "ns", "web", "spec.clusterIPs[0]", "10.96.0.10",
            _cmd(*svc_, "-o=jsonpath={.spec.clusterIPs[0]}"),
        ),
        Evidence("Service", "ns", "web", f"{port}.port", "80",
                 _cmd(*svc_, f"-o=jsonpath={{.{port}.port}}")),
        Evidence("Service", "ns", "web", f"{port}.targetPort", "http",
                 _cmd(*svc_, f"-o=jsonpath={{.{port}.targetPort}}")),
    ]  # fmt: skip
    (b,) = rt.backends
    sl = ("--namespace=ns", "get", "endpointslice/web-x7k2p")
    assert ev.route_backend(rt, b) == [
        Evidence("EndpointSlice", "ns", "web-x7k2p", f"{at}.conditions.ready", "true",
                 _cmd(*sl, f"-o=jsonpath={{.{at}.conditions.ready}}")),
        Evidence("EndpointSlice", "ns", "web-x7k2p", f"{at}.targetRef.name", "a",
                 _cmd(*sl, f"-o=jsonpath={{.{at}.targetRef.name}}")),
        Evidence("EndpointSlice", "ns", "web-x7k2p", f"{at}.nodeName", "n0",
                 _cmd(*sl, f"-o=jsonpath={{.{at}.nodeName}}")),
        Evidence("Pod", "ns", "a", app, "9090",
                 _cmd("--namespace=ns", "get", "pod/a", f"-o=jsonpath={{.{app}}}")),
    ]  # fmt: skip


def test_trace_node_port_names_the_node_address() -> None:
    idx = _world()
    r = trace.trace(idx, Target("192.0.2.10", 30080))
    (rt,) = r.routes
    ev = Evidencer.over(idx).route(rt)
    assert [(e.kind, e.name, e.path, e.value) for e in ev] == [
        ("Service", "web", 'spec.ports[?(@.name=="web")].nodePort', "30080"),
        ("Node", "n0", 'status.addresses[?(@.address=="192.0.2.10")].type', "InternalIP"),
        ("Service", "web", 'spec.ports[?(@.name=="web")].targetPort', "http"),
    ]
    assert ev[1].command == _cmd(
        "get", "node/n0", '-o=jsonpath={.status.addresses[?(@.address=="192.0.2.10")].type}'
    )


def test_hostile_names_are_quoted_and_escaped() -> None:
    name = "x'; rm -rf / #$(id)`\n"
    cmd = command("ctx --kubeconfig=/tmp/k", "Pod", "ns;reboot", name, "status.phase")
    words = shlex.split(cmd)
    assert words == [
        "kubectl",
        "--context=ctx --kubeconfig=/tmp/k",
        "--namespace=ns;reboot",
        "get",
        f"pod/{name}",
        "-o=jsonpath={.status.phase}",
    ]
    # A filter value can close neither the string nor the expression, nor span a line.
    assert literal('a"b\\c)}]\n{é') == '"a\\x22b\\x5cc\\x29\\x7d\\x5d\\x0a\\x7b\\u00e9"'


def test_hostile_container_name_in_a_filter() -> None:
    a = pod("a", "10.244.0.5", cport('app")].x', 9090))
    idx = chain.Index.of(snap(pods=(a,)))
    e = Evidencer.over(idx).container_port(a.ref, a.ports[0])
    assert e.path == (
        'spec.containers[?(@.name=="app\\x22\\x29\\x5d.x")].ports[?(@.containerPort==9090)]'
        ".protocol"
    )
    assert e.value == "TCP"
    assert shlex.split(e.command)[-1] == f"-o=jsonpath={{.{e.path}}}"


def _audit(s: Snapshot, *checks: str) -> list[Finding]:
    idx = chain.Index.of(s)
    chains = chain.build(s, idx)
    found = [f for f in audit.run(s, chains, idx) if f.check in checks]
    return evidence.attach(found, chains, Evidencer.over(idx))


def test_audit_named_port_unresolvable_names_the_target_port_and_the_pod() -> None:
    good = pod("good", "10.244.0.5", cport("app", 8080, "http"))
    bad = pod("bad", "10.244.0.6", cport("app", 8080, "metrics"))
    s = svc("web", sport(80, "http", name="web"))
    g = group("web", [("web", 8080, "TCP")], ep("10.244.0.5", "good"), name="web-1")
    (f,) = _audit(snap(services=(s,), groups=(g,), pods=(good, bad)), "named-port-unresolvable")
    tp = 'spec.ports[?(@.name=="web")].targetPort'
    missing = 'spec.containers[*].ports[?(@.name=="http")].containerPort'
    assert f.evidence == (
        Evidence("Service", "ns", "web", tp, "http",
                 _cmd("--namespace=ns", "get", "service/web", f"-o=jsonpath={{.{tp}}}")),
        Evidence("Pod", "ns", "bad", missing, "",
                 _cmd("--namespace=ns", "get", "pod/bad", f"-o=jsonpath={{.{missing}}}")),
    )  # fmt: skip


def test_audit_selected_pod_not_endpoint_names_the_condition_of_a_hostile_pod() -> None:
    name = "p'$(reboot)"
    ok = pod("ok", "10.244.0.5", cport("app", 8080, "http"))
    idle = pod(name, "10.244.0.6", cport("app", 8080, "http"), ready=False)
    s = svc("web", sport(80, "http", name="web"))
    g = group("web", [("web", 8080, "TCP")], ep("10.244.0.5", "ok"), name="web-1")
    (f,) = _audit(snap(services=(s,), groups=(g,), pods=(ok, idle)), "selected-pod-not-endpoint")
    path = 'status.conditions[?(@.type=="Ready")].status'
    (e,) = f.evidence
    assert e == Evidence(
        "Pod", "ns", name, path, "False",
        _cmd("--namespace=ns", "get", f"pod/{name}", f"-o=jsonpath={{.{path}}}"),
    )  # fmt: skip
    # The name is one shell word, inside single quotes: nothing of it runs.
    assert "'pod/p'\"'\"'$(reboot)'" in e.command
    assert shlex.split(e.command)[4] == f"pod/{name}"


def test_audit_finding_without_narrower_evidence_names_its_service() -> None:
    s = svc("web", sport(80, 8080, name="web"), type="LoadBalancer", lb=("203.0.113.5",))
    a = pod("a", "10.244.0.5", cport("app", 8080, "http"))
    g = group("web", [("web", 8080, "TCP")], ep("10.244.0.5", "a"), name="web-1")
    (f,) = _audit(snap(services=(s,), groups=(g,), pods=(a,)), "numeric-target-port")
    assert [(e.kind, e.name, e.path, e.value) for e in f.evidence] == [
        ("Service", "web", "metadata.name", "web")
    ]


def test_map_tree_hangs_evidence_under_each_hop() -> None:
    idx = _world()
    chains = chain.build(idx.snapshot, idx)
    console = Console(width=400, record=True, color_system=None)
    console.print(tree.map_tree(chains, None, Evidencer.over(idx)))
    text = console.export_text()
    assert "Service ns/web spec.clusterIPs[0]=10.96.0.10" in text
    assert 'Node n0 status.addresses[?(@.address=="192.0.2.10")].type=InternalIP' in text
    assert (
        "$ kubectl --context=test --namespace=ns get endpointslice/web-x7k2p "
        "'-o=jsonpath={.endpoints[?(@.addresses[0]==\"10.244.0.5\")].conditions.ready}'"
    ) in text
    console = Console(width=400, record=True, color_system=None)
    console.print(tree.map_tree(chains))
    assert "evidence" not in console.export_text()


def test_json_documents_carry_evidence_and_validate() -> None:
    idx = _world()
    r = trace.trace(idx, Target("10.96.0.10", 80))
    doc = _json(render_evidence.trace_json(report.trace_report("test", r), r, Evidencer.over(idx)))
    validate(doc, "trace-report.json")
    (route,) = doc["routes"]
    assert route["evidence"][0]["path"] == "spec.clusterIPs[0]"
    assert route["backends"][0]["evidence"][0]["value"] == "true"
    plain_doc = _json(report.trace_report("test", r))
    validate(plain_doc, "trace-report.json")
    assert "evidence" not in plain_doc["routes"][0]
    s = idx.snapshot
    chains = chain.build(s, idx)
    findings = evidence.attach(audit.run(s, chains, idx), chains, Evidencer.over(idx))
    ctx_result = ContextResult("test", None, (), ("ns/web",), tuple(findings))
    result = combine([ctx_result], [], None)
    when = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    with_ev = audit_json.document(result, RenderContext(when, Severity.WARNING, evidence=True))
    validate(with_ev, "audit-report.json")
    assert all("evidence" in f for f in with_ev["findings"])
    without = audit_json.document(result, RenderContext(when, Severity.WARNING))
    assert all("evidence" not in f for f in without["findings"])


def test_trace_from_evidence_names_the_denying_policy(tmp_path: Path) -> None:
    from tests.unit.test_trace_from import _save
    from tests.unit.test_trace_from import _world as policy_world

    path = _save(tmp_path, policy_world())
    args = ("trace", "10.96.0.10:80", "--from", "ns/db-0", "--snapshot", path, "--evidence")
    r = invoke(*args, "-o", "json")
    assert r.code == ExitCode.OK, r.stderr
    doc = json.loads(r.stdout)
    validate(doc, "trace-report.json")
    [hop] = doc["policy"]["hops"]
    types = 'spec.policyTypes[?(@=="Ingress")]'
    assert hop["evidence"] == [
        {
            "kind": "NetworkPolicy",
            "namespace": "ns",
            "name": "web-from-shop",
            "path": types,
            "value": "Ingress",
            "command": _cmd(
                "--namespace=ns", "get", "networkpolicy/web-from-shop", f"-o=jsonpath={{.{types}}}"
            ),
        }
    ]
    ok = invoke(*args[:3], "ns/shop-0", *args[4:])
    assert "NetworkPolicy ns/web-from-shop spec.ingress[0]=(set)" in ok.stdout
    assert "$ kubectl --context=test --namespace=ns get networkpolicy/web-from-shop" in ok.stdout


def test_evidence_is_refused_where_it_has_no_hops(tmp_path: Path) -> None:
    from tests.unit.test_trace_from import _save
    from tests.unit.test_trace_from import _world as policy_world

    path = _save(tmp_path, policy_world())
    for args in (
        ("map", "-o", "table", "--evidence"),
        ("trace", "http://shop.example.com/", "--evidence"),
    ):
        r = invoke(*args, "--snapshot", path)
        assert r.code == ExitCode.USAGE, (args, r.stdout)
    r = invoke("map", "web", "-n", "ns", "-o", "tree", "--evidence", "--snapshot", path)
    assert r.code == ExitCode.OK, r.stderr
    assert "EndpointSlice ns/web-8080 " in r.stdout


def test_audit_text_markdown_and_json_with_evidence(tmp_path: Path) -> None:
    from tests.unit.test_trace_from import _save

    bad = pod("bad", "10.244.0.6", cport("app", 8080, "metrics"))
    good = pod("good", "10.244.0.5", cport("app", 8080, "http"))
    s = svc("web", sport(80, "http", name="web"))
    g = group("web", [("web", 8080, "TCP")], ep("10.244.0.5", "good"), name="web-1")
    path = _save(tmp_path, snap(services=(s,), groups=(g,), pods=(good, bad)))
    base = ("audit", "--snapshot", path, "--ignore", "single-ready-endpoint,numeric-target-port")
    text = invoke(*base, "--evidence").stdout
    assert (
        "      evidence:\n"
        '        Service ns/web spec.ports[?(@.name=="web")].targetPort=http\n'
        "          $ kubectl --context=test --namespace=ns get service/web "
        "'-o=jsonpath={.spec.ports[?(@.name==\"web\")].targetPort}'\n"
    ) in text
    md = invoke(*base, "--evidence", "-o", "markdown").stdout
    assert "## Evidence" in md
    assert (
        '  - evidence: Pod ns/bad spec.containers\\[\\*\\].ports\\[?(@.name=="http")\\]'
        '.containerPort="": ` kubectl --context=test --namespace=ns get pod/bad '
        "'-o=jsonpath={.spec.containers[*].ports[?(@.name==\"http\")].containerPort}' `"
    ) in md
    doc = json.loads(invoke(*base, "--evidence", "-o", "json").stdout)
    validate(doc, "audit-report.json")
    assert [len(f["evidence"]) for f in doc["findings"]] == [2]
    assert "evidence" not in invoke(*base, "-o", "markdown").stdout.lower()


def test_legacy_endpoints_name_the_subset_and_the_address_list() -> None:
    a = pod("a", "10.244.0.5", cport("app", 8080, "http"))
    b = pod("b", "10.244.0.6", cport("app", 8080, "http"), ready=False)
    s = svc("web", sport(80, "http", name="web"))
    g = group(
        "web", [("web", 8080, "TCP")], ep("10.244.0.5", "a"), ep("10.244.0.6", "b", ready=False),
        name="web[0]",
    )  # fmt: skip
    sn = msgspec.structs.replace(
        snap(services=(s,), groups=(g,), pods=(a, b)), endpoint_source="Endpoints"
    )
    idx = chain.Index.of(sn)
    (c,) = chain.build(sn, idx)
    ev = Evidencer.over(idx)
    got = [
        (e.kind, e.name, e.path, e.value) for b_ in c.ports[0].backends for e in ev.endpoint(s, b_)
    ]
    assert got == [
        ("Endpoints", "web", 'subsets[0].addresses[?(@.ip=="10.244.0.5")].ip', "10.244.0.5"),
        (
            "Endpoints",
            "web",
            'subsets[0].notReadyAddresses[?(@.ip=="10.244.0.6")].ip',
            "10.244.0.6",
        ),
    ]


def test_audit_selector_and_no_ready_endpoint_evidence() -> None:
    nobody = svc("nobody", sport(80, 8080), selector={"app": "nobody", "tier": "x"})
    idle = pod("idle", "10.244.0.6", cport("app", 8080, "http"), ready=False, labels={"app": "w"})
    web = svc("web", sport(80, "http", name="web"), selector={"app": "w"})
    g = group("web", [("web", 8080, "TCP")], ep("10.244.0.6", "idle", ready=False), name="web-1")
    s = snap(services=(nobody, web), groups=(g,), pods=(idle,))
    found = {f.check: f for f in _audit(s, "selector-matches-no-pods", "no-ready-endpoints")}
    sel = found["selector-matches-no-pods"].evidence
    assert [(e.name, e.path, e.value) for e in sel] == [
        ("nobody", "spec.selector", '{"app":"nobody","tier":"x"}')
    ]
    ready = found["no-ready-endpoints"].evidence
    assert [(e.kind, e.path, e.value) for e in ready] == [
        ("EndpointSlice", 'endpoints[?(@.addresses[0]=="10.244.0.6")].conditions.ready', "false")
    ]


def test_a_backend_on_an_undeclared_port_shows_the_declared_ones() -> None:
    a = pod("a", "10.244.0.5", cport("app", 8080, "http"), cport("app", 9100, "metrics"))
    s = svc("web", sport(80, 9999, name="web"))
    g = group("web", [("web", 9999, "TCP")], ep("10.244.0.5", "a"), name="web-1")
    idx = chain.Index.of(snap(services=(s,), groups=(g,), pods=(a,)))
    (c,) = chain.build(idx.snapshot, idx)
    (b,) = c.ports[0].backends
    last = Evidencer.over(idx).backend(s, b)[-1]
    assert (last.kind, last.path, last.value) == (
        "Pod",
        "spec.containers[*].ports[*].containerPort",
        "8080 9100",
    )
