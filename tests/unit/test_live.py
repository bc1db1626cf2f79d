"""kinspect.live.state: each watch event → the exact ChainEvents; the indexes; a relist's diff.

The state after any sequence of events must equal what `chain.build` makes of the same objects
read at once (the random walk at the end checks that over many events).
"""

from __future__ import annotations

import random

import msgspec

from kinspect.live import state as live
from kinspect.live.state import ChainEvent, State
from kinspect.model.change import Change, EventType
from kinspect.model.snapshot import Snapshot
from kinspect.model.values import LoadBalancerIngress, Node, NodeAddress, Pod, Service, Value
from kinspect.path import chain

from .builders import cport, ep, group, node, pod, snap, sport, svc

WEB = ("ns", "web")


def _web() -> Snapshot:
    a = pod("a", "10.244.0.5", cport("app", 8080))
    b = pod("b", "10.244.1.6", cport("app", 8080), node_name="n1")
    s = svc("web", sport(80, 8080))
    g = group("web", [(None, 8080, "TCP")], ep("10.244.0.5", "a"), ep("10.244.1.6", "b", "n1"))
    return snap(nodes=(node(0), node(1)), services=(s,), groups=(g,), pods=(a, b))


def _pod(p: Pod, kind: EventType = "MODIFIED") -> Change:
    return Change("pods", kind, (p.namespace, p.name), () if kind == "DELETED" else (p,))


def _slice(g: object, kind: EventType = "MODIFIED", name: str = "web-8080") -> Change:
    values: tuple[Value, ...] = () if kind == "DELETED" else (g,)  # type: ignore[assignment]
    return Change("endpoint_groups", kind, ("ns", name), values)


def _svc(s: Service, kind: EventType = "MODIFIED") -> Change:
    return Change("services", kind, (s.namespace, s.name), () if kind == "DELETED" else (s,))


def _same_as_build(state: State) -> None:
    """The live chains are exactly what a fresh read of the same objects builds."""
    assert state.current() == chain.build(state.as_snapshot())


def test_first_read_builds_the_same_chains_as_map() -> None:
    s = _web()
    state = State.of(s)
    assert state.current() == chain.build(s)


def test_a_readiness_flip_in_the_slice_is_backend_not_ready_then_ready() -> None:
    state = State.of(_web())
    g = group(
        "web",
        [(None, 8080, "TCP")],
        ep("10.244.0.5", "a", ready=False),
        ep("10.244.1.6", "b", "n1"),
    )
    events = state.step(_slice(g))
    (ev,) = events
    assert (ev.event, ev.namespace, ev.service, ev.port) == (
        "backend-not-ready",
        "ns",
        "web",
        sport(80, 8080),
    )
    assert ev.backend is not None
    assert ev.backend.address == "10.244.0.5"
    assert not ev.backend.ready
    back = state.step(_slice(_web().endpoint_groups[0]))
    assert [e.event for e in back] == ["backend-ready"]
    _same_as_build(state)


def test_scale_up_and_down_add_then_remove_backends() -> None:
    state = State.of(_web())
    c = pod("c", "10.244.2.7", cport("app", 8080), node_name="n1")
    # The pod appears first (not in the slice yet: no backend event), then in the slice.
    assert state.step(_pod(c, "ADDED")) == []
    assert state.chains[WEB].ports[0].not_backends[-1].reason == "not in slice yet"
    g3 = group(
        "web",
        [(None, 8080, "TCP")],
        ep("10.244.0.5", "a"),
        ep("10.244.1.6", "b", "n1"),
        ep("10.244.2.7", "c", "n1"),
    )
    (added,) = state.step(_slice(g3))
    assert added.event == "backend-added"
    assert added.backend is not None
    assert added.backend.pod is not None
    assert str(added.backend.pod) == "ns/c"
    assert added.backend.container == "app"
    (removed,) = state.step(_slice(_web().endpoint_groups[0]))
    assert removed.event == "backend-removed"
    assert removed.backend == added.backend
    assert state.step(_pod(c, "DELETED")) == []
    _same_as_build(state)


def test_a_pod_relabelled_out_of_the_selector_leaves_the_service() -> None:
    state = State.of(_web())
    a = _web().pods[0]
    moved = msgspec.structs.replace(a, labels={"app": "other"})
    assert state.apply(_pod(moved)) == {WEB}
    state.rebuild({WEB})
    assert [r.name for r in state.chains[WEB].selected] == ["b"]
    # Its endpoint is still in the slice (until the controller writes it): the service is
    # still touched through the slice's index, even though the selector no longer matches.
    assert state.apply(_pod(msgspec.structs.replace(moved, ready=False))) == {WEB}
    _same_as_build(state)


def test_a_pod_of_another_namespace_or_selector_touches_nothing() -> None:
    state = State.of(_web())
    assert state.apply(_pod(pod("x", "10.244.0.9", ns="other"), "ADDED")) == set()
    assert state.apply(_pod(pod("y", "10.244.0.8", labels={"app": "db"}), "ADDED")) == set()


def test_an_event_that_changes_nothing_read_touches_nothing() -> None:
    state = State.of(_web())
    assert state.apply(_pod(_web().pods[0])) == set()


def test_service_deleted_and_recreated() -> None:
    state = State.of(_web())
    s = _web().services[0]
    assert state.step(_svc(s, "DELETED")) == [ChainEvent("service-removed", "ns", "web")]
    (ev,) = state.step(_svc(msgspec.structs.replace(s, cluster_ips=("10.96.0.77",)), "ADDED"))
    assert ev.event == "service-added"
    assert ev.chain is not None
    assert ev.chain.ports[0].frontends[0].address == "10.96.0.77"
    assert [b.address for b in ev.chain.ports[0].backends] == ["10.244.0.5", "10.244.1.6"]
    _same_as_build(state)


def test_a_changed_spec_is_service_changed_with_the_whole_chain() -> None:
    state = State.of(_web())
    s = _web().services[0]
    (ev,) = state.step(_svc(msgspec.structs.replace(s, ports=(sport(80, 8080), sport(81, 8080)))))
    assert ev.event == "service-changed"
    assert ev.chain is not None
    assert len(ev.chain.ports) == 2


def test_a_load_balancer_address_assigned_is_frontends_changed() -> None:
    base = _web()
    lb = svc(
        "lb", sport(80, 8080, node_port=30081), type="LoadBalancer", cluster_ips=("10.96.0.12",)
    )
    state = State.of(msgspec.structs.replace(base, services=(*base.services, lb)))
    assigned = msgspec.structs.replace(
        lb, load_balancer_ingress=(LoadBalancerIngress(ip="203.0.113.7"),)
    )
    (ev,) = state.step(_svc(assigned))
    assert (ev.event, ev.service, ev.port) == (
        "frontends-changed",
        "lb",
        sport(80, 8080, node_port=30081),
    )
    assert ev.frontends is not None
    assert [f.address for f in ev.frontends if f.kind == "LoadBalancer"] == ["203.0.113.7"]
    assert state.chains[("ns", "lb")].service == assigned
    _same_as_build(state)


def test_a_node_address_change_changes_nodeport_frontends_only() -> None:
    base = _web()
    np = svc("np", sport(80, 8080, node_port=30080), type="NodePort", cluster_ips=("10.96.0.11",))
    state = State.of(msgspec.structs.replace(base, services=(*base.services, np)))
    moved = Node("n1", (NodeAddress("InternalIP", "192.0.2.99"),))
    events = state.step(Change("nodes", "MODIFIED", ("", "n1"), (moved,)))
    assert [(e.event, e.service) for e in events] == [("frontends-changed", "np")]
    assert events[0].frontends is not None
    assert [f.address for f in events[0].frontends if f.kind == "NodePort"] == [
        "192.0.2.10",
        "192.0.2.99",
    ]
    # A node whose addresses did not change (its status heartbeat) touches nothing.
    assert (
        state.apply(
            Change("nodes", "MODIFIED", ("", "n1"), (msgspec.structs.replace(moved, ready=False),))
        )
        == set()
    )
    _same_as_build(state)


ZONE = "topology.kubernetes.io/zone"


def test_a_zone_label_change_is_frontends_changed_with_the_new_topology() -> None:
    nodes = tuple(msgspec.structs.replace(node(i), labels={ZONE: f"z{i}"}) for i in range(2))
    g = group(
        "web",
        [(None, 8080, "TCP")],
        msgspec.structs.replace(ep("10.244.0.5", "a"), for_zones=("z0",)),
        msgspec.structs.replace(ep("10.244.1.6", "b", "n1"), for_zones=("z1",)),
    )
    state = State.of(msgspec.structs.replace(_web(), nodes=nodes, endpoint_groups=(g,)))
    assert [t.endpoints for t in state.chains[WEB].ports[0].topology] == [
        ("10.244.0.5:8080",),
        ("10.244.1.6:8080",),
    ]
    moved = msgspec.structs.replace(nodes[1], labels={ZONE: "z0"})
    events = state.step(Change("nodes", "MODIFIED", ("", "n1"), (moved,)))
    assert [(e.event, e.service) for e in events] == [("frontends-changed", "web")]
    assert events[0].topology is not None
    assert [(t.node, t.zone, t.endpoints) for t in events[0].topology] == [
        ("n0", "z0", ("10.244.0.5:8080",)),
        ("n1", "z0", ("10.244.0.5:8080",)),
    ]
    _same_as_build(state)


def test_relist_after_410_gives_the_missed_events() -> None:
    state = State.of(_web())
    a, _ = _web().pods
    c = pod("c", "10.244.2.7", cport("app", 8080))
    changes = state.relist(
        "pods",
        {
            ("ns", "a"): (msgspec.structs.replace(a, ready=False),),
            ("ns", "c"): (c,),
        },
    )
    assert [(ch.type, ch.key) for ch in changes] == [
        ("DELETED", ("ns", "b")),
        ("MODIFIED", ("ns", "a")),
        ("ADDED", ("ns", "c")),
    ]
    for ch in changes:
        state.step(ch)
    _same_as_build(state)
    assert state.relist("pods", {k: state.stored("pods", k) for k in state.keys("pods")}) == []


def test_pod_events_already_in_a_namespace_list_are_skipped() -> None:
    state = State.of(_web(), skip={"ns": "120"})
    a = msgspec.structs.replace(_web().pods[0], ready=False)
    old = Change("pods", "MODIFIED", ("ns", "a"), (a,), "110")
    assert state.apply(old) == set()
    new = Change("pods", "MODIFIED", ("ns", "a"), (a,), "121")
    assert state.apply(new) == {WEB}


def test_legacy_endpoints_are_keyed_by_their_service() -> None:
    s = msgspec.structs.replace(_web(), endpoint_source="Endpoints")
    g0 = msgspec.structs.replace(s.endpoint_groups[0], name="web[0]")
    state = State.of(msgspec.structs.replace(s, endpoint_groups=(g0,)))
    assert set(state.slices) == {WEB}
    events = state.step(Change("endpoint_groups", "DELETED", WEB))
    assert [e.event for e in events] == ["backend-removed", "backend-removed"]


def test_addresses_and_involved() -> None:
    s = _web()
    assert live.addresses(s.pods) == {"10.244.0.5", "10.244.1.6"}
    assert "10.96.0.10" in live.addresses(s.services)


def test_random_events_keep_the_chains_equal_to_a_fresh_build() -> None:
    rng = random.Random(15)
    # Zone labels and topology hints from their own generator: the walk above is unchanged.
    zones = random.Random(22)
    nodes = tuple(node(i) for i in range(3))
    services = [
        svc(f"s{i}", sport(80, 8080), selector={"app": f"a{i % 3}"}, cluster_ips=(f"10.96.0.{i}",))
        for i in range(4)
    ] + [svc("np", sport(80, 8080, node_port=30001), type="NodePort", selector={"app": "a0"})]
    state = State.of(snap(nodes=nodes, services=tuple(services)))
    pods: dict[str, Pod] = {}
    for step in range(600):
        roll = rng.random()
        name = f"p{rng.randrange(12)}"
        if roll < 0.4:
            p = pod(
                name,
                f"10.244.0.{rng.randrange(1, 200)}",
                cport("app", 8080),
                node_name=f"n{rng.randrange(3)}",
                labels={"app": f"a{rng.randrange(4)}"},
                ready=rng.random() < 0.7,
            )
            pods[name] = p
            state.step(_pod(p, "MODIFIED"))
        elif roll < 0.5 and name in pods:
            state.step(_pod(pods.pop(name), "DELETED"))
        elif roll < 0.85:
            s = rng.choice(services)
            picked = [
                p for p in pods.values() if p.labels.get("app") == (s.selector or {}).get("app")
            ]
            g = group(
                s.name,
                [(None, 8080, "TCP")],
                *(
                    msgspec.structs.replace(
                        ep(p.pod_ips[0], p.name, p.node_name, ready=p.ready),
                        for_zones=(f"z{zones.randrange(3)}",) if zones.random() < 0.8 else (),
                    )
                    for p in picked
                    if p.pod_ips
                ),
                name=f"{s.name}-x",
            )
            state.step(_slice(g, "MODIFIED", name=g.name))
        elif roll < 0.95:
            i = rng.randrange(3)
            n = Node(
                f"n{i}",
                (NodeAddress("InternalIP", f"192.0.2.{rng.randrange(1, 250)}"),),
                labels={ZONE: f"z{zones.randrange(3)}"},
            )
            state.step(Change("nodes", "MODIFIED", ("", n.name), (n,)))
        else:
            s = rng.choice(services)
            present = (s.namespace, s.name) in state.services
            state.step(_svc(s, "DELETED" if present else "ADDED"))
        if step % 50 == 0:
            _same_as_build(state)
    _same_as_build(state)
