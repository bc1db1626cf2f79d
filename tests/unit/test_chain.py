from __future__ import annotations

import msgspec

from kinspect.model.values import PodRef
from kinspect.path import chain
from kinspect.path.chain import Backend, Frontend, NotBackend

from .builders import cport, ep, group, node, pod, snap, sport, svc


def _only(chains: list[chain.ServiceChain]) -> chain.ServiceChain:
    assert len(chains) == 1
    return chains[0]


def test_named_target_port_resolves_per_pod_and_missing_name_gets_no_endpoint() -> None:
    a = pod("a", "10.244.0.5", cport("app", 8080, "http"))
    b = pod("b", "10.244.1.6", cport("app", 9090, "http"), node_name="n1")
    c = pod("c", "10.244.2.7", cport("app", 8080, "metrics"), node_name="n2")
    s = svc("web", sport(80, "http", name="web"))
    # The endpointslice controller writes one slice per distinct resolved port number.
    g1 = group("web", [("web", 8080, "TCP")], ep("10.244.0.5", "a"), name="web-a")
    g2 = group("web", [("web", 9090, "TCP")], ep("10.244.1.6", "b", node="n1"), name="web-b")
    sc = _only(chain.build(snap(services=(s,), groups=(g1, g2), pods=(a, b, c))))
    (pc,) = sc.ports
    assert [(bk.address, bk.port, bk.container) for bk in pc.backends] == [
        ("10.244.0.5", 8080, "app"),
        ("10.244.1.6", 9090, "app"),
    ]
    assert pc.backends[1].container_port == cport("app", 9090, "http")
    assert pc.not_backends == (
        NotBackend(PodRef("ns", "c"), "no named port", "n2", named_port="http", protocol="TCP"),
    )
    assert sc.selected == (PodRef("ns", "a"), PodRef("ns", "b"), PodRef("ns", "c"))


def test_named_port_must_match_protocol_too() -> None:
    p = pod("a", "10.244.0.5", cport("dns", 53, "dns", protocol="UDP"))
    s = svc("dns", sport(53, "dns", name="dns-tcp", protocol="TCP"))
    (pc,) = _only(chain.build(snap(services=(s,), pods=(p,)))).ports
    assert pc.not_backends == (
        NotBackend(PodRef("ns", "a"), "no named port", "n0", named_port="dns", protocol="TCP"),
    )


def test_numeric_target_port_nobody_declares_is_still_a_backend_without_container() -> None:
    p = pod("a", "10.244.0.5", cport("app", 8080, "http"))
    s = svc("web", sport(80, 9000))
    g = group("web", [(None, 9000, "TCP")], ep("10.244.0.5", "a"))
    (pc,) = _only(chain.build(snap(services=(s,), groups=(g,), pods=(p,)))).ports
    assert pc.backends == (
        Backend("10.244.0.5", 9000, "TCP", True, True, False, "n0", PodRef("ns", "a"), True),
    )
    assert pc.not_backends == ()


def test_second_port_lands_in_a_restartable_init_container() -> None:
    p = pod(
        "a",
        "10.244.0.5",
        cport("app", 8080, "http"),
        cport("proxy", 15090, "metrics", sidecar=True),
    )
    s = svc("web", sport(80, "http", name="http"), sport(9090, "metrics", name="metrics"))
    g = group("web", [("http", 8080, "TCP"), ("metrics", 15090, "TCP")], ep("10.244.0.5", "a"))
    sc = _only(chain.build(snap(services=(s,), groups=(g,), pods=(p,))))
    assert [pc.backends[0].container_port for pc in sc.ports] == [
        cport("app", 8080, "http"),
        cport("proxy", 15090, "metrics", sidecar=True),
    ]


def test_udp_and_tcp_on_one_port_number_are_separate_chains() -> None:
    p = pod("a", "10.244.0.5", cport("dns", 53, "dns", "UDP"), cport("dns", 53, "dns-tcp", "TCP"))
    s = svc("dns", sport(53, "dns", "dns", "UDP"), sport(53, "dns-tcp", "dns-tcp", "TCP"))
    g = group("dns", [("dns", 53, "UDP"), ("dns-tcp", 53, "TCP")], ep("10.244.0.5", "a"))
    sc = _only(chain.build(snap(services=(s,), groups=(g,), pods=(p,))))
    assert [
        (pc.port.protocol, pc.backends[0].protocol, pc.backends[0].container_port.name)  # type: ignore[union-attr]
        for pc in sc.ports
    ] == [("UDP", "UDP", "dns"), ("TCP", "TCP", "dns-tcp")]


def test_nodeport_under_local_policy_answers_only_where_a_ready_endpoint_runs() -> None:
    nodes = (node(0, external=True), node(1), node(2))
    p0 = pod("a", "10.244.0.5", cport("app", 8080), node_name="n0")
    p2 = pod("b", "10.244.2.5", cport("app", 8080), node_name="n2", ready=False)
    s = svc(
        "web",
        sport(80, 8080, node_port=30080),
        type="LoadBalancer",
        etp="Local",
        lb=("203.0.113.10",),
        external_ips=("198.51.100.99",),
    )
    g = group(
        "web",
        [(None, 8080, "TCP")],
        ep("10.244.0.5", "a", "n0"),
        ep("10.244.2.5", "b", "n2", ready=False),
    )
    (pc,) = _only(chain.build(snap(nodes=nodes, services=(s,), groups=(g,), pods=(p0, p2)))).ports
    assert pc.frontends == (
        Frontend("ClusterIP", "10.96.0.10", 80),
        Frontend("NodePort", "192.0.2.10", 30080, "n0", True),
        Frontend("NodePort", "198.51.100.10", 30080, "n0", True),
        Frontend("NodePort", "192.0.2.11", 30080, "n1", False),
        Frontend("NodePort", "192.0.2.12", 30080, "n2", False),
        Frontend("LoadBalancer", "203.0.113.10", 80),
        Frontend("ExternalIP", "198.51.100.99", 80),
    )
    assert pc.not_backends == (NotBackend(PodRef("ns", "b"), "not ready", "n2"),)


def test_nodeport_under_cluster_policy_answers_on_every_node() -> None:
    nodes = (node(0), node(1))
    p0 = pod("a", "10.244.0.5", cport("app", 8080))
    s = svc("web", sport(80, 8080, node_port=30080), type="NodePort")
    g = group("web", [(None, 8080, "TCP")], ep("10.244.0.5", "a"))
    (pc,) = _only(chain.build(snap(nodes=nodes, services=(s,), groups=(g,), pods=(p0,)))).ports
    assert [f.answers for f in pc.frontends if f.kind == "NodePort"] == [True, True]


def test_headless_has_no_cluster_ip_hop_but_keeps_backends() -> None:
    p = pod("a", "10.244.0.5", cport("app", 8080))
    s = svc("db", sport(5432, 8080), cluster_ips=())
    g = group("db", [(None, 8080, "TCP")], ep("10.244.0.5", "a"))
    sc = _only(chain.build(snap(services=(s,), groups=(g,), pods=(p,))))
    assert sc.service.headless
    assert sc.ports[0].frontends == ()
    assert [b.address for b in sc.ports[0].backends] == ["10.244.0.5"]


def test_external_name_has_no_frontends_and_no_backends() -> None:
    s = svc(
        "ext",
        sport(443),
        type="ExternalName",
        cluster_ips=(),
        external_name="db.example.com",
        selectorless=True,
    )
    (pc,) = _only(chain.build(snap(services=(s,)))).ports
    assert (pc.frontends, pc.backends, pc.not_backends) == ((), (), ())


def test_host_network_backend_is_the_node_ip() -> None:
    p = pod(
        "agent",
        "192.0.2.11",
        cport("agent", 9100, "metrics", host_port=9100),
        node_name="n1",
        host_network=True,
    )
    s = svc("agent", sport(9100, "metrics", name="metrics"))
    g = group("agent", [("metrics", 9100, "TCP")], ep("192.0.2.11", "agent", node="n1"))
    (pc,) = _only(chain.build(snap(services=(s,), groups=(g,), pods=(p,)))).ports
    assert (pc.backends[0].address, pc.backends[0].host_network) == ("192.0.2.11", True)


def test_selectorless_service_with_manual_endpoints_shows_plain_addresses() -> None:
    s = svc("legacy-db", sport(5432), selectorless=True)
    g = group("legacy-db", [(None, 5432, "TCP")], ep("192.0.2.200", None, node=None))
    sc = _only(chain.build(snap(services=(s,), groups=(g,))))
    assert sc.ports[0].backends == (
        Backend("192.0.2.200", 5432, "TCP", True, True, False, None, None, False),
    )
    assert sc.selected == ()


def test_pending_and_unscheduled_pods_are_listed_with_reasons() -> None:
    running = pod("a", "10.244.0.5", cport("app", 8080))
    unscheduled = pod("b", None, cport("app", 8080), node_name=None, ready=False, phase="Pending")
    starting = pod("c", None, cport("app", 8080), ready=False, phase="Pending")
    s = svc("web", sport(80, 8080))
    g = group("web", [(None, 8080, "TCP")], ep("10.244.0.5", "a"))
    (pc,) = _only(
        chain.build(snap(services=(s,), groups=(g,), pods=(running, unscheduled, starting)))
    ).ports
    assert [(nb.pod.name, nb.reason) for nb in pc.not_backends] == [
        ("b", "unscheduled"),
        ("c", "containers not started"),
    ]


def test_terminating_endpoint_and_missing_pod() -> None:
    s = svc("web", sport(80, 8080))
    g = group("web", [(None, 8080, "TCP")], ep("10.244.0.9", "gone", ready=False, terminating=True))
    (pc,) = _only(chain.build(snap(services=(s,), groups=(g,)))).ports
    b = pc.backends[0]
    assert (b.ready, b.serving, b.terminating, b.pod_found) == (False, True, True, False)


def test_selector_matches_only_its_namespace_and_all_labels() -> None:
    mine = pod("a", "10.244.0.5", labels={"app": "web", "tier": "fe"})
    other_ns = pod("b", "10.244.0.6", ns="other", labels={"app": "web", "tier": "fe"})
    partial = pod("c", "10.244.0.7", labels={"app": "web"})
    s = svc("web", sport(80), selector={"app": "web", "tier": "fe"})
    sc = _only(chain.build(snap(services=(s,), pods=(mine, other_ns, partial))))
    assert sc.selected == (PodRef("ns", "a"),)


def test_dual_stack_cluster_ips_each_get_a_frontend() -> None:
    s = svc("web", sport(80), cluster_ips=("10.96.0.10", "fd00:10:96::a"))
    (pc,) = _only(chain.build(snap(services=(s,)))).ports
    assert [f.address for f in pc.frontends] == ["10.96.0.10", "fd00:10:96::a"]


def test_not_ready_pod_says_its_readiness_probe_and_ready_condition() -> None:
    from kinspect.model.values import ProbePort
    from kinspect.path import reasons

    p = msgspec.structs.replace(
        pod("a", "10.244.0.5", cport("app", 8080, "http")),
        ready=False,
        probes=(ProbePort("app", "readiness", "http", "httpGet"),),
        ready_reason="ContainersNotReady",
        ready_message="containers with unready status: [app]",
    )
    s = svc("web", sport(80, "http"))
    g = group("web", [(None, 8080, "TCP")], ep("10.244.0.5", "a", ready=False))
    (c,) = chain.build(snap(services=(s,), groups=(g,), pods=(p,)))
    (nb,) = c.ports[0].not_backends
    assert nb.reason == "not ready"
    (r,) = nb.readiness
    assert (r.action, r.port, r.container_port) == ("httpGet", "http", cport("app", 8080, "http"))
    assert reasons.not_backend(nb) == (
        "not ready (readiness probe httpGet :http (container app = app:8080); "
        "Ready condition ContainersNotReady: containers with unready status: [app])"
    )


def test_internal_traffic_policy_local_answers_only_from_nodes_with_a_local_endpoint() -> None:
    s = msgspec.structs.replace(svc("web", sport(80, 8080)), internal_traffic_policy="Local")
    g = group("web", [(None, 8080, "TCP")], ep("10.244.1.5", "a", node="n1"))
    a = pod("a", "10.244.1.5", cport("app", 8080), node_name="n1")
    sn = snap(nodes=(node(0), node(1)), services=(s,), groups=(g,), pods=(a,))
    (c,) = chain.build(sn)
    (f,) = c.ports[0].frontends
    assert [(n.node, n.answers) for n in f.from_nodes] == [("n0", False), ("n1", True)]
    # Cluster (the default): nothing per node.
    (c,) = chain.build(msgspec.structs.replace(sn, services=(svc("web", sport(80, 8080)),)))
    assert c.ports[0].frontends[0].from_nodes == ()
