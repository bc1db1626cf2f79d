from __future__ import annotations

import msgspec
import pytest

from kinspect import chain, plan, trace
from kinspect.errors import UsageError
from kinspect.model import PodRef, Snapshot
from kinspect.plan import PodQuery
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


# --- which pods a trace reads (kinspect trace on a live cluster) ---------------------------


def _without_pods(idx: chain.Index) -> tuple[Snapshot, Snapshot]:
    full = idx.snapshot
    return full, msgspec.structs.replace(full, pods=())


def _with(full: Snapshot, *names: str) -> Snapshot:
    return msgspec.structs.replace(full, pods=tuple(p for p in full.pods if p.name in names))


def test_first_read_is_the_pods_whose_ip_is_the_address() -> None:
    assert plan.first_pod_queries(Target("10.244.0.5", 80), None) == [
        PodQuery(None, field_selector="status.podIP=10.244.0.5")
    ]
    assert plan.first_pod_queries(Target("fd00::5"), "ns") == [
        PodQuery("ns", field_selector="status.podIP=fd00::5")
    ]
    assert plan.first_pod_queries(Target("db.example.com", 5432), None) == []


def test_pod_ip_with_port_needs_no_more_pods() -> None:
    full, _ = _without_pods(_world())
    t = Target("10.244.0.5", 8080)
    done = plan.first_pod_queries(t, None)
    assert plan.pods_needed(_with(full, "a"), t, None, done) == []


def test_cluster_ip_with_port_reads_the_selector_then_missing_targetrefs() -> None:
    full, empty = _without_pods(_world())
    t = Target("10.96.0.10", 80)
    done = plan.first_pod_queries(t, None)
    by_selector = PodQuery("ns", label_selector="app=web")
    assert plan.pods_needed(empty, t, None, done) == [by_selector]
    # The selector found nothing: the slice's targetRef pod is then read by name.
    assert plan.pods_needed(empty, t, None, [*done, by_selector]) == [
        PodQuery("ns", field_selector="metadata.name=a")
    ]
    assert plan.pods_needed(_with(full, "a"), t, None, [*done, by_selector]) == []


def test_cluster_ip_without_port_needs_no_pods() -> None:
    _, empty = _without_pods(_world())
    t = Target("10.96.0.10")
    assert plan.pods_needed(empty, t, None, plan.first_pod_queries(t, None)) == []


def test_node_ip_reads_the_nodes_pods_and_the_nodeport_service() -> None:
    _, empty = _without_pods(_world())
    t = Target("192.0.2.11", 30080)
    done = plan.first_pod_queries(t, "ns")
    assert plan.pods_needed(empty, t, "ns", done) == [
        PodQuery("ns", field_selector="spec.nodeName=n1"),
        PodQuery("ns", label_selector="app=web"),
    ]


def test_unknown_ip_needs_every_pod_but_unknown_name_needs_none() -> None:
    _, empty = _without_pods(_world())
    ip, name = Target("203.0.113.9"), Target("nothing.example.com")
    assert plan.pods_needed(empty, ip, None, plan.first_pod_queries(ip, None)) is None
    assert plan.pods_needed(empty, name, None, plan.first_pod_queries(name, None)) == []


def test_endpoint_address_names_its_pod_when_the_ip_query_missed_it() -> None:
    # A secondary (dual-stack) pod IP: status.podIP does not match it, the slice does.
    full, empty = _without_pods(_world())
    g = group("web6", [(None, 8080, "TCP")], ep("fd00::5", "a"))
    s = msgspec.structs.replace(empty, endpoint_groups=(*empty.endpoint_groups, g))
    t = Target("fd00::5")
    done = plan.first_pod_queries(t, None)
    by_name = PodQuery("ns", field_selector="metadata.name=a")
    assert plan.pods_needed(s, t, None, done) == [by_name]
    # Read, and it does not carry the address after all (or is gone): only every pod can tell.
    s2 = msgspec.structs.replace(s, pods=full.pods)
    assert plan.pods_needed(s2, t, None, [*done, by_name]) is None


def test_a_targetref_name_is_escaped_in_the_field_selector() -> None:
    # The API server does not validate targetRef.name: `=`, `,` and `\` must not end the
    # value (apimachinery's fields.EscapeValue), or the LIST is a 400.
    _, empty = _without_pods(_world())
    g = group("web6", [(None, 8080, "TCP")], ep("fd00::5", "a=b,c\\d"))
    s = msgspec.structs.replace(empty, endpoint_groups=(*empty.endpoint_groups, g))
    t = Target("fd00::5")
    assert plan.pods_needed(s, t, None, plan.first_pod_queries(t, None)) == [
        PodQuery("ns", field_selector="metadata.name=a\\=b\\,c\\\\d")
    ]


def test_field_selector_escape() -> None:
    assert plan.escape_field_value("plain-name") == "plain-name"
    assert plan.escape_field_value("\\,=") == "\\\\\\,\\="


def test_a_selector_outside_the_label_grammar_is_not_sent() -> None:
    # Label selectors have no escapes: a selector (from a hand-edited snapshot) whose key or
    # value the API server would never accept falls back to reading the endpoints' pods by name.
    _, empty = _without_pods(_world())
    odd = msgspec.structs.replace(empty.services[0], selector={"app": "web,x=y"})
    s = msgspec.structs.replace(empty, services=(odd, *empty.services[1:]))
    t = Target("10.96.0.10", 80)
    assert plan.pods_needed(s, t, None, plan.first_pod_queries(t, None)) == [
        PodQuery("ns", field_selector="metadata.name=a")
    ]
