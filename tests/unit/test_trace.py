from __future__ import annotations

import msgspec
import pytest

from kinspect.model.errors import UsageError
from kinspect.model.snapshot import Snapshot
from kinspect.model.values import PodRef, Service
from kinspect.path import chain, plan, trace
from kinspect.path.plan import PodQuery
from kinspect.path.trace import Target

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
    # One container port reached two ways is one hop, with both reasons.
    assert [(d.via, d.vias, d.pod) for d in r.direct] == [
        ("HostPort", ("HostPort", "HostNetwork"), PodRef("ns", "agent")),
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


# --- issue 11: endpoints, health checks, hints, no-port traces ------------------------------


def test_plain_endpoint_of_a_selectorless_service_is_found() -> None:
    # default/kubernetes: a selectorless service whose hand-made endpoint is the API server.
    s = svc("kubernetes", sport(443, 6443, name="https"), ns="default", selectorless=True)
    g = group("kubernetes", [("https", 6443, "TCP")], ep("192.0.2.2", node=None), ns="default")
    idx = chain.Index.of(snap(services=(s,), groups=(g,)))
    r = trace.trace(idx, Target("192.0.2.2", 6443))
    assert [m.kind for m in r.matches] == ["EndpointAddress"]
    (d,) = r.direct
    assert (d.via, d.service, d.port, d.pod) == ("Endpoint", "default/kubernetes", 6443, None)
    assert d.endpoint is not None
    assert d.endpoint.ready
    assert d.service_port is not None
    assert d.service_port.port == 443
    assert r.found
    # Another port of the same address is still not received; the service port gets a hint.
    assert not trace.trace(idx, Target("192.0.2.2", 6444)).found
    r = trace.trace(idx, Target("192.0.2.2", 443))
    assert not r.found
    assert [h.message for h in r.hints] == [
        "did you mean :6443? service default/kubernetes maps 443 → 6443 on this endpoint"
    ]


def _lb_local() -> chain.Index:
    a = pod("a", "10.244.0.5", cport("app", 8080))
    s = Service(
        namespace="ns",
        name="lb",
        type="LoadBalancer",
        cluster_ips=("10.96.0.20",),
        external_traffic_policy="Local",
        health_check_node_port=32000,
        selector={"app": "web"},
        ports=(sport(80, 8080, node_port=30081),),
    )
    g = group("lb", [(None, 8080, "TCP")], ep("10.244.0.5", "a", node="n0"))
    return chain.Index.of(snap(nodes=(node(0), node(1)), services=(s,), groups=(g,), pods=(a,)))


def test_health_check_node_port_answers_200_where_a_local_endpoint_runs() -> None:
    idx = _lb_local()
    (c,) = chain.build(idx.snapshot)
    assert [(h.node, h.port, h.status, h.local_endpoints) for h in c.health_checks] == [
        ("n0", 32000, 200, 1),
        ("n1", 32000, 503, 0),
    ]
    r = trace.trace(idx, Target("192.0.2.11", 32000))
    assert [(h.service, h.check.status) for h in r.health_checks] == [("ns/lb", 503)]
    assert r.routes == []
    assert r.found


def test_node_ip_without_port_lists_node_ports_health_checks_and_host_ports() -> None:
    idx = _lb_local()
    agent = pod("agent", "192.0.2.10", cport("agent", 9100, host_port=9100), host_network=True)
    sn = msgspec.structs.replace(idx.snapshot, pods=(*idx.snapshot.pods, agent))
    r = trace.trace(chain.Index.of(sn), Target("192.0.2.10"))
    assert [(o.kind, o.port, o.service, o.answers) for o in r.open_ports] == [
        ("HostPort", 9100, None, None),
        ("NodePort", 30081, "ns/lb", True),
        ("HealthCheckNodePort", 32000, "ns/lb", True),
    ]


def test_pod_ip_without_port_says_what_it_backs_and_what_not() -> None:
    a = pod("a", "10.244.0.5", cport("app", 8080, "http"))
    web = svc("web", sport(80, "http"))
    metrics = svc("metrics", sport(9090, "metrics"), cluster_ips=("10.96.0.11",))
    other = svc("other", sport(1, 1), selector={"app": "nope"}, cluster_ips=("10.96.0.12",))
    g = group("web", [(None, 8080, "TCP")], ep("10.244.0.5", "a"))
    idx = chain.Index.of(snap(services=(web, metrics, other), groups=(g,), pods=(a,)))
    r = trace.trace(idx, Target("10.244.0.5"))
    got = [
        (b.service, b.port.port, b.backend is not None, b.not_backend and b.not_backend.reason)
        for b in r.backs
    ]
    assert got == [("ns/web", 80, True, None), ("ns/metrics", 9090, False, "no named port")]


def test_hint_for_a_target_port_sent_to_the_cluster_ip() -> None:
    a = pod("a", "10.244.0.5", cport("app", 8080))
    s = svc("web", sport(5000, 8080))
    g = group("web", [(None, 8080, "TCP")], ep("10.244.0.5", "a"))
    idx = chain.Index.of(snap(services=(s,), groups=(g,), pods=(a,)))
    r = trace.trace(idx, Target("10.96.0.10", 8080))
    assert not r.found
    assert [h.port for h in r.hints] == [5000]
    assert "did you mean :5000? service ns/web maps 5000 → 8080" in r.hints[0].message
    # The right port needs no hint.
    assert trace.trace(idx, Target("10.96.0.10", 5000)).hints == []


def test_hint_for_a_service_port_sent_to_the_pod_ip() -> None:
    a = pod("a", "10.244.0.5", cport("app", 8080))
    s = svc("web", sport(5000, 8080))
    g = group("web", [(None, 8080, "TCP")], ep("10.244.0.5", "a"))
    idx = chain.Index.of(snap(services=(s,), groups=(g,), pods=(a,)))
    r = trace.trace(idx, Target("10.244.0.5", 5000))
    assert [h.port for h in r.hints] == [8080]
    assert "service ns/web maps 5000 → 8080" in r.hints[0].message
    assert trace.trace(idx, Target("10.244.0.5", 8080)).hints == []


def _planned(full: Snapshot, t: Target) -> Snapshot:
    """What read_for_trace would read: rounds of the plan's queries, applied to `full`."""

    def hits(q: PodQuery, p: object) -> bool:
        from kinspect.model.values import Pod

        assert isinstance(p, Pod)
        key, _, value = (q.field_selector or "").partition("=")
        field = {
            "status.podIP": p.pod_ips[0] if p.pod_ips else "",
            "spec.nodeName": p.node_name,
            "metadata.name": p.name,
        }
        if q.label_selector:
            pairs = dict(kv.split("=") for kv in q.label_selector.split(","))
            return all(p.labels.get(k) == v for k, v in pairs.items())
        return field.get(key) == value and (q.namespace in (None, p.namespace))

    done = plan.first_pod_queries(t, None)
    s = msgspec.structs.replace(
        full, pods=tuple(p for p in full.pods if any(hits(q, p) for q in done))
    )
    while (need := plan.pods_needed(s, t, None, done)) != []:
        assert need is not None
        done = [*done, *need]
        s = msgspec.structs.replace(
            s, pods=tuple(p for p in full.pods if any(hits(q, p) for q in done))
        )
    return s


@pytest.mark.parametrize("target", ["192.0.2.11", "10.244.0.5", "10.96.0.10:8080", "10.244.0.5:80"])
def test_planned_reads_give_the_same_no_port_answers_and_hints_as_every_pod(target: str) -> None:
    full = _world().snapshot
    t = trace.parse_target(target)
    whole = trace.trace(chain.Index.of(full), t)
    planned = trace.trace(chain.Index.of(_planned(full, t)), t)
    assert (planned.backs, planned.open_ports, planned.hints) == (
        whole.backs,
        whole.open_ports,
        whole.hints,
    )
    assert whole.backs or whole.open_ports or whole.hints, (
        "a case that shows nothing proves nothing"
    )


def test_node_ip_without_port_reads_only_the_nodes_pods() -> None:
    _, empty = _without_pods(_world())
    t = Target("192.0.2.11")
    assert plan.pods_needed(empty, t, None, plan.first_pod_queries(t, None)) == [
        PodQuery(None, field_selector="spec.nodeName=n1")
    ]


@pytest.mark.parametrize(
    ("namespace", "name"),
    [
        ("odd/ns", "ghost"),  # the namespace would be part of the path: a 404
        ("..", "a"),  # ... or every namespace's pods
        ("ns", "a=b,c\\d"),  # no pod can have this name: nothing to read
        ("ns", "A"),
        ("x" * 64, "a"),
    ],
)
def test_a_targetref_no_pod_can_match_is_never_read(namespace: str, name: str) -> None:
    # The API server does not validate an EndpointSlice's targetRef (issue 24, D5a).
    _, empty = _without_pods(_world())
    g = group("web6", [(None, 8080, "TCP")], ep("fd00::5", name, ns=namespace))
    s = msgspec.structs.replace(empty, endpoint_groups=(*empty.endpoint_groups, g))
    assert plan.impossible_pod(PodRef(namespace, name)) is not None
    for t in (Target("fd00::5"), Target("fd00::5", 8080)):
        assert plan.pods_needed(s, t, None, plan.first_pod_queries(t, None)) == []
    svc6 = svc("web6", sport(80, 8080), selectorless=True)
    assert plan.service_pods(chain.Index.of(s), svc6, []) == []


def test_a_targetref_a_pod_can_match_is_read_by_name() -> None:
    _, empty = _without_pods(_world())
    g = group("web6", [(None, 8080, "TCP")], ep("fd00::5", "a.b-0", ns="other"))
    s = msgspec.structs.replace(empty, endpoint_groups=(*empty.endpoint_groups, g))
    t = Target("fd00::5")
    assert plan.impossible_pod(PodRef("other", "a.b-0")) is None
    assert plan.pods_needed(s, t, None, plan.first_pod_queries(t, None)) == [
        PodQuery("other", field_selector="metadata.name=a.b-0")
    ]


def test_an_endpoint_whose_pod_is_missing_is_the_services_endpoint() -> None:
    # map lists it as a backend "(pod missing)"; trace said nothing owned it (issue 24, D5b).
    idx = _world()
    gone = group("gone", [(None, 8080, "TCP")], ep("10.244.9.9", "gone"))
    sn = msgspec.structs.replace(
        idx.snapshot,
        services=(*idx.snapshot.services, svc("gone", sport(80, 8080), selectorless=True)),
        endpoint_groups=(*idx.snapshot.endpoint_groups, gone),
    )
    r = trace.trace(chain.Index.of(sn), Target("10.244.9.9", 8080))
    assert [(m.kind, m.service, m.detail) for m in r.matches] == [
        ("EndpointAddress", "ns/gone", "endpoint of ns/gone (pod ns/gone missing)")
    ]
    assert r.found
    (hop,) = r.direct
    assert (hop.via, hop.service, hop.pod) == ("Endpoint", "ns/gone", None)
    assert hop.endpoint is not None
    assert (hop.endpoint.pod, hop.endpoint.pod_found) == (PodRef("ns", "gone"), False)
    without_port = trace.trace(chain.Index.of(sn), Target("10.244.9.9"))
    assert [m.kind for m in without_port.matches] == ["EndpointAddress"]
    # The service port instead of the endpoint's: the usual hint.
    (hint,) = trace.trace(chain.Index.of(sn), Target("10.244.9.9", 80)).hints
    assert hint.port == 8080


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
