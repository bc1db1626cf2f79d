"""Dual-stack services (issue 22 item 4): frontends per family, DNAT within a family, brackets."""

from __future__ import annotations

import json
import os
import tempfile

from msgspec.structs import replace
from rich.console import Console

from kinspect.edge.entry import parse_request
from kinspect.model.labels import LabelSelector
from kinspect.model.policy import IPBlock, NetworkPolicy, PolicyPeer, PolicyRule
from kinspect.model.snapshot import Snapshot
from kinspect.model.values import Node, NodeAddress, Service, host_port, ip_family
from kinspect.path import chain
from kinspect.path.trace import Target, parse_target, trace
from kinspect.render.table import map_table
from kinspect.render.tree import map_tree, trace_tree
from kinspect.wire import snapshotfile

from .builders import cport, ep, group, pod, snap, sport, svc
from .runner import invoke


def _node(i: int) -> Node:
    return Node(
        f"n{i}",
        (
            NodeAddress("InternalIP", f"192.0.2.{10 + i}"),
            NodeAddress("InternalIP", f"2001:db8::{10 + i}"),
        ),
        (f"10.244.{i}.0/24", f"fd00:10:244:{i}::/64"),
    )


def _dual(
    name: str = "web",
    ips: tuple[str, ...] = ("10.96.0.10", "fd00:10:96::a"),
    families: tuple[str, ...] = ("IPv4", "IPv6"),
    policy: str = "RequireDualStack",
) -> Service:
    s = svc(name, sport(80, 8080, node_port=30080), type="NodePort", cluster_ips=ips)
    return replace(s, ip_family_policy=policy, ip_families=families)


def _snap(*services: Service, v6_ready: bool = True) -> Snapshot:
    web = pod("a", "10.244.0.5", cport("web", 8080))
    web = replace(web, pod_ips=("10.244.0.5", "fd00:10:244::5"))
    groups = []
    for s in services:
        four = ep("10.244.0.5", "a")
        groups.append(group(s.name, [(None, 8080, "TCP")], four, name=f"{s.name}-v4"))
        six = ep("fd00:10:244::5", "a", ready=v6_ready)
        g6 = group(s.name, [(None, 8080, "TCP")], six, name=f"{s.name}-v6")
        groups.append(replace(g6, address_type="IPv6"))
    return snap(nodes=(_node(0), _node(1)), services=services, groups=tuple(groups), pods=(web,))


def _text(renderable: object) -> str:
    c = Console(width=200, record=True, color_system=None)
    c.print(renderable)
    return c.export_text()


def test_host_port_brackets_ipv6_only() -> None:
    assert host_port("10.0.0.1", 80) == "10.0.0.1:80"
    assert host_port("fd00::1", 80) == "[fd00::1]:80"
    assert host_port("db.example.com", 5432) == "db.example.com:5432"
    assert (ip_family("fd00::1"), ip_family("10.0.0.1"), ip_family("x")) == ("IPv6", "IPv4", None)


def test_families_from_spec_else_from_cluster_ips() -> None:
    assert _dual().families == ("IPv4", "IPv6")
    assert svc("old", cluster_ips=("fd00:10:96::a",)).families == ("IPv6",)
    assert svc("headless", cluster_ips=()).families == ()


def test_parse_target_ipv6_forms() -> None:
    assert parse_target("[fd00:10:96::a]:80") == Target("fd00:10:96::a", 80)
    assert parse_target("[FD00:10:96::A]:53/udp") == Target("fd00:10:96::a", 53, "UDP")
    assert parse_target("fd00:10:96:0::a") == Target("fd00:10:96::a")


def test_dual_stack_nodeport_opens_on_both_families_and_dnats_within_one() -> None:
    s = _snap(_dual())
    [c] = chain.build(s)
    fronts = [(f.kind, f.address, f.node, f.answers) for f in c.ports[0].frontends]
    assert fronts == [
        ("ClusterIP", "10.96.0.10", None, None),
        ("ClusterIP", "fd00:10:96::a", None, None),
        ("NodePort", "192.0.2.10", "n0", True),
        ("NodePort", "2001:db8::10", "n0", True),
        ("NodePort", "192.0.2.11", "n1", True),
        ("NodePort", "2001:db8::11", "n1", True),
    ]
    # Both families' slices lead to the same pod.
    assert [(b.address, b.pod and b.pod.name) for b in c.ports[0].backends] == [
        ("10.244.0.5", "a"),
        ("fd00:10:244::5", "a"),
    ]
    idx = chain.Index.of(s)
    for target, backend in [
        (Target("fd00:10:96::a", 80), "fd00:10:244::5"),
        (Target("10.96.0.10", 80), "10.244.0.5"),
        (Target("2001:db8::11", 30080), "fd00:10:244::5"),
        (Target("192.0.2.11", 30080), "10.244.0.5"),
    ]:
        [route] = trace(idx, target).routes
        assert [b.address for b in route.backends] == [backend], target


def test_single_stack_ipv4_nodeport_is_not_open_on_ipv6_node_ips() -> None:
    v4 = _dual("v4", ("10.96.0.11",), ("IPv4",), "SingleStack")
    [c] = chain.build(_snap(v4))
    assert [f.address for f in c.ports[0].frontends if f.kind == "NodePort"] == [
        "192.0.2.10",
        "192.0.2.11",
    ]
    assert trace(chain.Index.of(_snap(v4)), Target("2001:db8::10", 30080)).routes == []


def test_nodeport_answers_per_family() -> None:
    # No ready IPv6 endpoint: the IPv6 node addresses drop, the IPv4 ones answer.
    [c] = chain.build(_snap(_dual(), v6_ready=False))
    answers = {f.address: f.answers for f in c.ports[0].frontends if f.kind == "NodePort"}
    assert answers == {
        "192.0.2.10": True,
        "2001:db8::10": False,
        "192.0.2.11": True,
        "2001:db8::11": False,
    }


def test_renderers_bracket_ipv6_addresses() -> None:
    s = _snap(_dual())
    chains = chain.build(s)
    tree = _text(map_tree(chains))
    assert "ClusterIP [fd00:10:96::a]:80" in tree
    assert "NodePort [2001:db8::10]:30080 (node n0)" in tree
    assert "[fd00:10:244::5]:8080" in tree
    assert "RequireDualStack (IPv4, IPv6)" in tree
    table = _text(map_table(chains))
    assert "[fd00:10:244::5]:8080" in table
    t = _text(trace_tree(trace(chain.Index.of(s), parse_target("[fd00:10:96::a]:80"))))
    assert t.splitlines()[0].strip() == "[fd00:10:96::a]:80"
    assert "ClusterIP [fd00:10:96::a]:80 → service ns/web" in t
    assert "10.244.0.5" not in t.split("reachable")[0]


# A policy admitting only IPv6 sources from fd00:10:244::/48 except fd00:10:244:2::/64.
V6_ONLY = NetworkPolicy(
    "ns",
    "web-from-v6",
    LabelSelector({"app": "web"}),
    ("Ingress",),
    ingress=(
        PolicyRule(
            peers=(PolicyPeer(ip_block=IPBlock("fd00:10:244::/48", ("fd00:10:244:2::/64",))),),
        ),
    ),
)
# And one admitting only the IPv4 pod network.
V4_ONLY = replace(
    V6_ONLY,
    name="web-from-v4",
    ingress=(PolicyRule(peers=(PolicyPeer(ip_block=IPBlock("10.244.0.0/16")),)),),
)


def _policy_world(policy: NetworkPolicy) -> Snapshot:
    s = _snap(_dual())
    client = pod("client", "10.244.1.7", labels={"app": "client"}, node_name="n1")
    client = replace(client, pod_ips=("10.244.1.7", "fd00:10:244:1::7"))
    return replace(
        s, pods=(*s.pods, client), network_policies=(policy,), network_policy_state="read"
    )


def _verdicts(s: Snapshot, target: str, source: str) -> list[tuple[str, str]]:
    path_ = _save(s)
    r = invoke("trace", target, "--from", source, "-o", "json", "--snapshot", path_)
    assert r.code == 0, r.stderr
    doc = json.loads(r.stdout)
    return [(h["via"], h["verdict"]) for h in doc["policy"]["hops"]]


def _save(s: Snapshot) -> str:
    path_ = os.path.join(tempfile.mkdtemp(), "snap.json.gz")
    snapshotfile.save(path_, s)
    return path_


def test_from_a_dual_stack_pod_speaks_the_destination_family() -> None:
    # The client's IPv6 address is in the IPv6 block: allowed to the IPv6 ClusterIP only.
    six = _policy_world(V6_ONLY)
    assert _verdicts(six, "[fd00:10:96::a]:80", "ns/client") == [
        ("ns/web via ClusterIP [fd00:10:96::a]:80", "allowed")
    ]
    assert _verdicts(six, "10.96.0.10:80", "ns/client") == [
        ("ns/web via ClusterIP 10.96.0.10:80", "denied")
    ]
    # And the IPv4 block admits it over IPv4 only (it used to match any of the pod's IPs).
    four = _policy_world(V4_ONLY)
    assert _verdicts(four, "10.96.0.10:80", "ns/client") == [
        ("ns/web via ClusterIP 10.96.0.10:80", "allowed")
    ]
    assert _verdicts(four, "[fd00:10:96::a]:80", "ns/client") == [
        ("ns/web via ClusterIP [fd00:10:96::a]:80", "denied")
    ]


def test_from_an_ipv6_address_ipblock_and_except() -> None:
    s = _policy_world(V6_ONLY)
    # A pod's IPv6 address is that pod.
    r = invoke("trace", "[fd00:10:96::a]:80", "--from", "fd00:10:244:1::7", "--snapshot", _save(s))
    assert "policy from ns/client" in r.stdout
    assert _verdicts(s, "[fd00:10:96::a]:80", "fd00:10:244:5::1") == [
        ("ns/web via ClusterIP [fd00:10:96::a]:80", "allowed")
    ]
    assert _verdicts(s, "[fd00:10:96::a]:80", "fd00:10:244:2::1") == [
        ("ns/web via ClusterIP [fd00:10:96::a]:80", "denied")  # in the except
    ]
    # An IPv4 address to an IPv6 ClusterIP: denied by the IPv6 block, and said to need a translator.
    r = invoke("trace", "[fd00:10:96::a]:80", "--from", "192.0.2.99", "--snapshot", _save(s))
    assert "denied" in r.stdout
    assert "192.0.2.99 is not IPv6" in r.stdout


def test_url_with_an_ipv6_literal_keeps_its_brackets() -> None:
    r = parse_request("http://[FD00:10:96::A]/x")
    assert (r.address, r.port, r.url) == ("fd00:10:96::a", 80, "http://[fd00:10:96::a]/x")
    assert parse_request("https://[fd00::1]:8443/").url == "https://[fd00::1]:8443/"


def test_external_and_lb_ips_of_a_family_the_service_lacks_are_no_frontends() -> None:
    s = replace(
        _dual("v4", ("10.96.0.11",), ("IPv4",), "SingleStack"),
        type="LoadBalancer",
        external_ips=("203.0.113.5", "2001:db8:ff::5"),
    )
    s = replace(
        s,
        load_balancer_ingress=(
            *svc("x", lb=("203.0.113.9", "2001:db8:ff::9")).load_balancer_ingress,
        ),
    )
    [c] = chain.build(_snap(s))
    assert [(f.kind, f.address) for f in c.ports[0].frontends if f.kind != "NodePort"] == [
        ("ClusterIP", "10.96.0.11"),
        ("LoadBalancer", "203.0.113.9"),
        ("ExternalIP", "203.0.113.5"),
    ]


def test_health_check_node_port_only_on_the_service_families() -> None:
    s = replace(
        _dual("v4", ("10.96.0.11",), ("IPv4",), "SingleStack"),
        type="LoadBalancer",
        external_traffic_policy="Local",
        health_check_node_port=32000,
    )
    [c] = chain.build(_snap(s))
    assert [(h.address, h.status) for h in c.health_checks] == [
        ("192.0.2.10", 200),
        ("192.0.2.11", 503),
    ]


def test_nodeport_on_the_other_family_says_why_nothing_receives_it() -> None:
    v4 = _dual("v4", ("10.96.0.11",), ("IPv4",), "SingleStack")
    r = trace(chain.Index.of(_snap(v4)), Target("2001:db8::10", 30080))
    assert r.routes == []
    assert [h.message for h in r.hints] == [
        "service ns/v4 has nodePort 30080 but is IPv4 only (SingleStack): kube-proxy opens it "
        "on the node's IPv4 addresses, not on this IPv6 one"
    ]
