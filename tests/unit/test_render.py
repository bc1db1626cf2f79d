from __future__ import annotations

import io
import json

import jsonschema
import msgspec
import pytest
import yaml
from rich.console import Console

from kinspect.model.snapshot import Snapshot
from kinspect.path import chain, trace
from kinspect.path.trace import Target
from kinspect.render import data, report, table, tree

from ..schema import validate
from .builders import cport, ep, group, node, pod, snap, sport, svc


def _demo() -> tuple[Snapshot, list[chain.ServiceChain]]:
    nodes = (node(0, external=True), node(1))
    a = pod("a", "10.244.0.5", cport("app", 8080, "http"))
    c = pod("c", "10.244.1.7", cport("app", 8080, "metrics"), node_name="n1")
    s = svc(
        "web",
        sport(80, "http", name="http", node_port=30080),
        type="LoadBalancer",
        etp="Local",
        lb=("203.0.113.10",),
    )
    ext = svc(
        "ext",
        sport(443),
        type="ExternalName",
        cluster_ips=(),
        external_name="x.example",
        selectorless=True,
    )
    g = group("web", [("http", 8080, "TCP")], ep("10.244.0.5", "a"))
    sn = snap(nodes=nodes, services=(s, ext), groups=(g,), pods=(a, c))
    return sn, chain.build(sn)


def _text(renderable: object, width: int = 120) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def test_chain_report_matches_the_schema_and_carries_the_chain() -> None:
    sn, chains = _demo()
    doc = json.loads(data.to_json(report.chain_report(sn, chains)))
    validate(doc, "chain-report.json")
    (web_port,) = doc["services"][1]["ports"]
    assert web_port["backends"][0]["containerPort"] == {
        "container": "app",
        "port": 8080,
        "protocol": "TCP",
        "name": "http",
        "hostPort": None,
        "sidecar": False,
    }
    assert web_port["notBackends"] == [
        {
            "pod": {"namespace": "ns", "name": "c"},
            "reason": "no container port named 'http'/TCP",
            "node": "n1",
            "readyCondition": None,
            "readinessProbes": [],
            "scheduledCondition": None,
        }
    ]


def test_schema_rejects_a_renamed_field() -> None:
    sn, chains = _demo()
    doc = json.loads(data.to_json(report.chain_report(sn, chains)))
    doc["services"][0]["clusterIps"] = doc["services"][0].pop("clusterIPs")
    with pytest.raises(jsonschema.ValidationError):
        validate(doc, "chain-report.json")


def test_trace_report_matches_the_schema() -> None:
    sn, _ = _demo()
    r = trace.trace(chain.Index.of(sn), Target("192.0.2.11", 30080))
    doc = json.loads(data.to_json(report.trace_report("test", r)))
    validate(doc, "trace-report.json")
    assert doc["routes"][0]["entry"]["answers"] is False


def test_table_shows_rows_and_reasons_within_120_columns() -> None:
    _, chains = _demo()
    out = _text(table.map_table(chains))
    assert max(len(line.rstrip()) for line in out.splitlines()) <= 120
    assert "10.244.0.5:8080" in out
    assert "node:30080 1/2" in out
    assert "CNAME x.example" in out
    assert "NO ENDPOINT" in out


def test_tree_says_which_nodes_drop_traffic() -> None:
    _, chains = _demo()
    out = _text(tree.map_tree(chains))
    assert "NodePort 192.0.2.11:30080 (node n1) — drops traffic" in out
    assert "container app:8080 (http)/TCP" in out


def test_yaml_round_trips() -> None:
    sn, chains = _demo()
    doc = report.chain_report(sn, chains)
    assert yaml.safe_load(data.to_yaml(doc)) == json.loads(data.to_json(doc))


@pytest.mark.parametrize("stream", ["services", "nodes", "absent"])
def test_streamed_json_is_byte_for_byte_the_whole_document(stream: str) -> None:
    sn, chains = _demo()
    doc = report.chain_report(sn, chains)
    out = io.BytesIO()
    data.write_json(doc, out, stream=stream)
    assert out.getvalue() == data.json_bytes(doc)
    empty = {**doc, "services": []}
    out = io.BytesIO()
    data.write_json(empty, out, stream="services")
    assert out.getvalue() == data.json_bytes(empty)
    for d in (doc, empty):
        out = io.BytesIO()
        data.write_json(d, out, stream=stream, pretty=False)
        assert out.getvalue() == msgspec.json.encode(d) + b"\n"


# Every reason a selected pod gets no traffic, worded as `map` has always printed it.
REASONS = {
    "d": "pending: not scheduled",
    "e": "pending: containers not started",
    "f": "terminating",
    "g": "finished (phase Failed)",
    "h": "not ready",
    "i": "not in any EndpointSlice yet",
    "j": "no pod IP yet",
    "k": "no container port named 'http'/TCP",
    "t": "terminating",  # listed in the slice as terminating
    "u": "not ready",  # listed in the slice as not ready
}


def _reasons() -> tuple[Snapshot, list[chain.ServiceChain]]:
    http = cport("app", 8080, "http")
    pods = (
        pod("a", "10.244.0.5", http),
        pod("d", None, http, node_name=None, ready=False, phase="Pending"),
        pod("e", None, http, ready=False, phase="Pending"),
        msgspec.structs.replace(pod("f", "10.244.0.7", http), deleting=True),
        pod("g", "10.244.0.8", http, phase="Failed", ready=False),
        pod("h", "10.244.0.9", http, ready=False),
        pod("i", "10.244.0.10", http),
        pod("j", None, http, ready=False),
        pod("k", "10.244.0.11", cport("app", 8080, "web")),
        pod("t", "10.244.0.12", http, ready=False),
        pod("u", "10.244.0.13", http, ready=False),
    )
    g = group(
        "web",
        [("http", 8080, "TCP")],
        ep("10.244.0.5", "a"),
        ep("10.244.0.12", "t", ready=False, terminating=True),
        ep("10.244.0.13", "u", ready=False),
    )
    sn = snap(
        nodes=(node(0),),
        services=(svc("web", sport(80, "http", name="http")),),
        groups=(g,),
        pods=pods,
    )
    return sn, chain.build(sn)


def test_an_unscheduled_pod_quotes_the_scheduler() -> None:
    # Issue 23, item 3: the PodScheduled condition says why, in the cluster's own words.
    http = cport("app", 8080, "http")
    why = "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."
    p = msgspec.structs.replace(
        pod("d", None, http, node_name=None, ready=False, phase="Pending"),
        unscheduled_reason="Unschedulable",
        unscheduled_message=why,
    )
    sn = snap(nodes=(node(0),), services=(svc("web", sport(80, "http", name="http")),), pods=(p,))
    chains = chain.build(sn)
    doc = json.loads(data.to_json(report.chain_report(sn, chains)))
    (nb,) = doc["services"][0]["ports"][0]["notBackends"]
    assert nb["reason"] == f"pending: not scheduled (Unschedulable: {why})"
    assert nb["scheduledCondition"] == {"reason": "Unschedulable", "message": why}
    validate(doc, "chain-report.json")
    console = Console(width=250, record=True, color_system=None)
    console.print(table.map_table(chains))
    assert f"NO ENDPOINT: pending: not scheduled (Unschedulable: {why})" in console.export_text()


def test_every_not_backend_reason_keeps_its_wording() -> None:
    from kinspect.render import explain

    sn, chains = _reasons()
    doc = json.loads(data.to_json(report.chain_report(sn, chains)))
    (port,) = doc["services"][0]["ports"]
    assert {nb["pod"]["name"]: nb["reason"] for nb in port["notBackends"]} == REASONS
    assert list(port["notBackends"][0]) == [
        "pod",
        "reason",
        "node",
        "readyCondition",
        "readinessProbes",
        "scheduledCondition",
    ]
    console = Console(width=250, record=True, color_system=None)
    for renderable in (table.map_table(chains), tree.map_tree(chains), explain.explain(chains)):
        console.print(renderable)
    shown = console.export_text()
    for name, reason in REASONS.items():
        assert f"pod ns/{name}: no traffic — {reason}" in shown, name
        if name not in ("t", "u"):  # listed in the slice: table and tree show their state
            assert f"NO ENDPOINT: {reason}" in shown, name
            assert f"pod ns/{name} gets no endpoint: {reason}" in shown, name


def _lines(renderable: object) -> list[str]:
    return [line.strip(" │├└─") for line in _text(renderable).splitlines()]


def test_trace_tree_draws_nodeport_traffic_dnat_straight_to_the_endpoint() -> None:
    sn, _ = _demo()
    r = trace.trace(chain.Index.of(sn), Target("192.0.2.10", 30080))
    lines = _lines(tree.trace_tree(r))
    hop = lines.index("NodePort 192.0.2.10:30080 → service ns/web port 80/TCP")
    # The next hop is the DNAT to the endpoint, not the ClusterIP.
    assert lines[hop + 1].startswith("kube-proxy DNAT straight to an endpoint (no ClusterIP hop)")
    assert lines[hop + 2].startswith("10.244.0.5:8080  ready")
    assert not any(line.startswith("ClusterIP ") for line in lines)
    assert (
        "(the same service port is also reachable in-cluster at ClusterIP 10.96.0.10:80, "
        "service ns/web)" in lines
    )


def test_a_node_that_drops_local_traffic_draws_no_dnat() -> None:
    # Issue 23, item 5: "drops it", then the DNAT to an endpoint drawn anyway.
    sn, _ = _demo()
    r = trace.trace(chain.Index.of(sn), Target("192.0.2.11", 30080))
    lines = _lines(tree.trace_tree(r))
    hop = lines.index("NodePort 192.0.2.11:30080 → service ns/web port 80/TCP")
    assert lines[hop + 1 : hop + 3] == [
        "node n1 drops it: externalTrafficPolicy Local and no local usable endpoint",
        "not forwarded: the service's usable endpoints run on n0 only (10.244.0.5:8080)",
    ]
    assert not any("DNAT" in line for line in lines)


def test_a_dropping_node_counts_serving_terminating_endpoints_as_usable() -> None:
    # Review: one endpoint, not ready but serving while terminating, on n1: kube-proxy falls
    # back to it (CategorizeEndpoints), so n0 drops (Local), it does not reject.
    s = snap(
        nodes=(node(0), node(1)),
        services=(svc("web", sport(80, node_port=30080), type="NodePort", etp="Local"),),
        groups=(
            group(
                "web",
                [(None, 80, "TCP")],
                ep("10.244.1.5", "p1", node="n1", ready=False, terminating=True),
            ),
        ),
        pods=(pod("p1", "10.244.1.5", cport("c", 80), node_name="n1"),),
    )
    lines = _lines(tree.trace_tree(trace.trace(chain.Index.of(s), Target("192.0.2.10", 30080))))
    hop = lines.index("NodePort 192.0.2.10:30080 → service ns/web port 80/TCP")
    assert lines[hop + 1 : hop + 3] == [
        "node n0 drops it: externalTrafficPolicy Local and no local usable endpoint",
        "not forwarded: the service's usable endpoints run on n1 only (10.244.1.5:80)",
    ]


def test_trace_documents_with_every_new_part_match_the_schema() -> None:
    sn, _ = _demo()
    kube = svc("kubernetes", sport(443, 6443), ns="default", selectorless=True)
    kg = group("kubernetes", [(None, 6443, "TCP")], ep("192.0.2.2", node=None), ns="default")
    agent = pod("agent", "192.0.2.10", cport("agent", 9100, host_port=9100), host_network=True)
    lb = msgspec.structs.replace(sn.services[0], health_check_node_port=32000)
    sn = msgspec.structs.replace(
        sn,
        services=(lb, *sn.services[1:], kube),
        endpoint_groups=(*sn.endpoint_groups, kg),
        pods=(*sn.pods, agent),
    )
    idx = chain.Index.of(sn)
    shown = {}
    for target in (
        Target("192.0.2.2", 6443),  # an endpoint with no pod
        Target("192.0.2.11", 32000),  # a health check node port
        Target("192.0.2.10", 9100),  # hostPort + hostNetwork
        Target("192.0.2.10"),  # a node without port
        Target("10.244.1.7"),  # a pod without port
        Target("10.96.0.10", 8080),  # a targetPort sent to the ClusterIP
    ):
        r = trace.trace(idx, target)
        validate(json.loads(data.to_json(report.trace_report("test", r))), "trace-report.json")
        shown[target] = _text(tree.trace_tree(r))
    assert (
        "endpoint of service default/kubernetes port 443/TCP (no pod)"
        in shown[Target("192.0.2.2", 6443)]
    )
    assert (
        "kube-proxy on n1 answers the load balancer's health check with 503"
        in shown[Target("192.0.2.11", 32000)]
    )
    assert "hostPort + hostNetwork → pod ns/agent on n0" in shown[Target("192.0.2.10", 9100)]
    node_ports = shown[Target("192.0.2.10")]
    assert "nodePort 30080/TCP → service ns/web" in node_ports
    assert "healthCheckNodePort 32000/TCP: kube-proxy answers 200 for service ns/web" in node_ports
    assert "hostPort 9100/TCP → pod ns/agent container agent:9100" in node_ports
    assert (
        "service ns/web port http 80/TCP: no traffic — no container port named 'http'/TCP"
        in shown[Target("10.244.1.7")]
    )
    assert (
        "hint: did you mean :80? service ns/web maps 80 → http" in shown[Target("10.96.0.10", 8080)]
    )


def test_explain_separates_pods_without_traffic_and_says_why_a_pod_ip_is_the_node_ip() -> None:
    from kinspect.render import explain

    agent = pod("agent", "192.0.2.10", cport("agent", 9100), host_network=True)
    slow = pod("slow", "10.244.0.6", cport("agent", 9100), ready=False)
    s = svc("agent", sport(9100, node_port=30100), type="NodePort")
    g = group(
        "agent",
        [(None, 9100, "TCP")],
        ep("192.0.2.10", "agent"),
        ep("10.244.0.6", "slow", ready=False),
    )
    chains = chain.build(snap(nodes=(node(0),), services=(s,), groups=(g,), pods=(agent, slow)))
    out = " ".join(_text(explain.explain(chains)).split())
    resolves = out.index("resolves per pod to:")
    no_traffic = out.index("pods that get no traffic on this port:")
    assert resolves < out.index("Pod IP 192.0.2.10 port 9100 (ns/agent)") < no_traffic
    assert out.index("pod ns/slow: no traffic — not ready") > no_traffic
    assert "10.244.0.6" not in out[resolves:no_traffic]
    assert (
        "hostNetwork: the pod shares the node's network namespace, so its Pod IP is the "
        "node's IP" in out
    )
    assert "never passes through the ClusterIP" in out


def test_explain_names_each_node_once_and_leaks_no_markdown_escape() -> None:
    # Issue 23, item 5: "200 on kwok-node-0, kwok-node-0" (a node once per address), and a
    # wildcard host shown as `host \*` at a terminal.
    from kinspect.edge import entry
    from kinspect.model.edge import IngressRule
    from kinspect.render import explain

    from .builders import ingress, ipath

    sn, _ = _demo()
    web = msgspec.structs.replace(
        sn.services[0],
        type="LoadBalancer",
        external_traffic_policy="Local",
        health_check_node_port=32000,
    )
    nodes = (node(0, external=True), node(1, external=True))
    sn = msgspec.structs.replace(
        sn,
        nodes=nodes,
        services=(web,),
        ingresses=(ingress("shop", IngressRule("*", (ipath("/", "web", 80),))),),
    )
    idx = chain.Index.of(sn)
    chains = chain.build(sn, idx)
    out = " ".join(_text(explain.explain(chains, entry.entrypoints(idx))).split())
    assert "answers the load balancer 200 on n0, 503 on the other nodes" in out
    assert "\\" not in out
    assert "host *," in out


def test_map_table_shows_health_checks_local_policy_app_protocol_and_publish_not_ready() -> None:
    sn, _ = _demo()
    web = sn.services[0]
    web = msgspec.structs.replace(
        web,
        health_check_node_port=32000,
        internal_traffic_policy="Local",
        publish_not_ready_addresses=True,
        ports=(msgspec.structs.replace(web.ports[0], app_protocol="https"),),
    )
    chains = chain.build(msgspec.structs.replace(sn, services=(web,)))
    # Wide enough that no cell is cut with an ellipsis (as off a terminal).
    plain = _text(table.map_table(chains), width=400)
    assert "hc:32000 1/2" in plain
    assert "10.96.0.10 local 1/2" in plain
    assert "(https)" not in plain
    wide = _text(table.map_table(chains, wide=True), width=400)
    assert "(https)" in wide
    assert "publishNotReady" in wide
    assert "publishNotReady" not in plain
    doc = json.loads(data.to_json(report.chain_report(sn, chains)))
    validate(doc, "chain-report.json")
    (s,) = doc["services"]
    assert (s["healthCheckNodePort"], s["internalTrafficPolicy"]) == (32000, "Local")
    assert s["publishNotReadyAddresses"] is True
    assert s["ports"][0]["appProtocol"] == "https"
    assert [(h["node"], h["status"]) for h in s["healthChecks"]] == [
        ("n0", 200),
        ("n0", 200),  # its ExternalIP too
        ("n1", 503),
    ]
    assert s["ports"][0]["frontends"][0]["fromNodes"] == [
        {"node": "n0", "answers": True},
        {"node": "n1", "answers": False},
    ]
