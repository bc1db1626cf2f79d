from __future__ import annotations

import pytest

from kinspect import chain, trace
from kinspect.errors import UsageError
from kinspect.model import PodRef
from kinspect.trace import Target

from .builders import cport, ep, group, node, pod, snap, sport, svc


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10.96.0.10", Target("10.96.0.10")),
        ("10.96.0.10:443", Target("10.96.0.10", 443)),
        ("[fd00::1]:80", Target("fd00::1", 80)),
        ("fd00::1", Target("fd00::1")),
        ("LB.Example.com:443", Target("lb.example.com", 443)),
    ],
)
def test_parse_target(text: str, expected: Target) -> None:
    assert trace.parse_target(text) == expected


@pytest.mark.parametrize(
    "text", ["10.96.0.10:0", "10.96.0.10:http", "[fd00::1", "999.1.1.1", "a_b:80", ""]
)
def test_parse_target_rejects(text: str) -> None:
    with pytest.raises(UsageError):
        trace.parse_target(text)


def _world() -> chain.Index:
    nodes = (node(0), node(1))
    a = pod("a", "10.244.0.5", cport("app", 8080, "http"))
    agent = pod(
        "agent",
        "192.0.2.11",
        cport("agent", 9100, host_port=9100),
        node_name="n1",
        host_network=True,
        labels={"app": "agent"},
    )
    s = svc("web", sport(80, "http", node_port=30080), type="NodePort")
    g = group("web", [(None, 8080, "TCP")], ep("10.244.0.5", "a"))
    sn = snap(nodes=nodes, services=(s,), groups=(g,), pods=(a, agent))
    return chain.Index.of(sn)


def test_cluster_ip_with_port_follows_to_container() -> None:
    idx = _world()
    r = trace.trace(idx, Target("10.96.0.10", 80))
    assert [m.kind for m in r.matches] == ["ClusterIP"]
    (route,) = r.routes
    assert route.service == "ns/web"
    assert route.entry.kind == "ClusterIP"
    assert [(b.address, b.port, b.container) for b in route.backends] == [
        ("10.244.0.5", 8080, "app")
    ]
    assert r.found


def test_node_ip_is_node_and_host_network_pod_and_nodeport_routes() -> None:
    idx = _world()
    r = trace.trace(idx, Target("192.0.2.11", 30080))
    assert [m.kind for m in r.matches] == ["NodeIP", "PodIP"]
    assert [(rt.entry.kind, rt.entry.node) for rt in r.routes] == [("NodePort", "n1")]
    assert r.direct == []


def test_host_port_on_node_ip() -> None:
    idx = _world()
    r = trace.trace(idx, Target("192.0.2.11", 9100))
    assert [(d.via, d.pod) for d in r.direct] == [
        ("HostPort", PodRef("ns", "agent")),
        ("HostNetwork", PodRef("ns", "agent")),
    ]


def test_pod_ip_undeclared_port_still_reaches_the_pod() -> None:
    idx = _world()
    r = trace.trace(idx, Target("10.244.0.5", 9999))
    assert [(d.via, d.container_port) for d in r.direct] == [("PodIP", None)]
    assert r.found


def test_unknown_address_and_known_address_wrong_port_are_not_found() -> None:
    idx = _world()
    assert not trace.trace(idx, Target("203.0.113.1")).found
    r = trace.trace(idx, Target("10.96.0.10", 81))
    assert r.matches
    assert not r.found
