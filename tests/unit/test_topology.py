"""kube-proxy's topology rules (path/topology.py), against upstream's own expectations."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from kinspect.live.state import State
from kinspect.model.change import Change
from kinspect.model.errors import ExitCode
from kinspect.model.snapshot import Snapshot
from kinspect.model.values import Node, PodRef
from kinspect.path import chain, topology
from kinspect.path.chain import Backend
from kinspect.path.topology import LeftOut, NodeTopology, for_node, in_force, per_node, zone_of
from kinspect.render import report
from kinspect.render import watch as render_watch
from kinspect.render.words import topology_lines
from kinspect.wire import snapshotfile

from ..schema import validate
from .builders import cport, ep, group, node, pod, snap, sport, svc
from .runner import invoke


def be(
    addr: str,
    zones: tuple[str, ...] = (),
    nodes: tuple[str, ...] = (),
    ready: bool = True,
    serving: bool | None = None,
    terminating: bool = False,
) -> Backend:
    return Backend(
        addr,
        80,
        "TCP",
        ready,
        ready if serving is None else serving,
        terminating,
        for_zones=zones,
        for_nodes=nodes,
    )


# Transcribed as facts from kubernetes v1.37.2 pkg/proxy/topology_test.go,
# TestCategorizeEndpoints: every case whose service uses Cluster endpoints, with the cluster
# endpoints it expects (the Local-endpoint cases are not topology's: Local ignores hints).
# The case named "PreferSameNode falls back to same-zone when feature gate disabled" is left
# out: the gate is GA and locked on since v1.35, so no v1.37 kube-proxy runs without it.
# (upstream name, node, zone label, endpoints, expected cluster endpoints)
_A, _B, _C, _D = "zone-a", "zone-b", "zone-c", "zone-d"
UPSTREAM: list[tuple[str, str, str | None, list[Backend], set[str]]] = [
    (
        "should use topology since all endpoints have hints, node has a zone label and and "
        "there are endpoints for the node's zone",
        "",
        _A,
        [
            be("10.1.2.3", (_A,)),
            be("10.1.2.4", (_B,)),
            be("10.1.2.5", (_C,)),
            be("10.1.2.6", (_A,)),
        ],
        {"10.1.2.3:80", "10.1.2.6:80"},
    ),
    (
        "externalTrafficPolicy: Local, topology ignored for Local endpoints (cluster side)",
        "",
        _A,
        [
            be("10.1.2.3", (_A,)),
            be("10.1.2.4", (_B,)),
            be("10.1.2.5", (_C,)),
            be("10.1.2.6", (_A,)),
        ],
        {"10.1.2.3:80", "10.1.2.6:80"},
    ),
    ("empty node labels", "", None, [be("10.1.2.3", (_A,))], {"10.1.2.3:80"}),
    ("empty zone label", "", None, [be("10.1.2.3", (_A,))], {"10.1.2.3:80"}),
    (
        "node in different zone, no endpoint filtering",
        "",
        _B,
        [be("10.1.2.3", (_A,))],
        {"10.1.2.3:80"},
    ),
    (
        "unready endpoint",
        "",
        _A,
        [
            be("10.1.2.3", (_A,)),
            be("10.1.2.4", (_B,)),
            be("10.1.2.5", (_C,)),
            be("10.1.2.6", (_A,), ready=False),
        ],
        {"10.1.2.3:80"},
    ),
    (
        "only unready endpoints in same zone (should not filter)",
        "",
        _A,
        [
            be("10.1.2.3", (_A,), ready=False),
            be("10.1.2.4", (_B,)),
            be("10.1.2.5", (_C,)),
            be("10.1.2.6", (_A,), ready=False),
        ],
        {"10.1.2.4:80", "10.1.2.5:80"},
    ),
    (
        "missing hints, no filtering applied",
        "",
        _A,
        [be("10.1.2.3", (_A,)), be("10.1.2.4", (_B,)), be("10.1.2.5"), be("10.1.2.6", (_A,))],
        {"10.1.2.3:80", "10.1.2.4:80", "10.1.2.5:80", "10.1.2.6:80"},
    ),
    (
        "multiple hints per endpoint, filtering includes any endpoint with zone included",
        "",
        _C,
        [
            be("10.1.2.3", (_A, _B, _C)),
            be("10.1.2.4", (_B, _C)),
            be("10.1.2.5", (_B, _D)),
            be("10.1.2.6", (_C,)),
        ],
        {"10.1.2.3:80", "10.1.2.4:80", "10.1.2.6:80"},
    ),
    (
        "PreferSameNode available",
        "node-1",
        _A,
        [
            be("10.1.2.3", (_A,), ("node-1",)),
            be("10.1.2.4", (_B,), ("node-2",)),
            be("10.1.2.5", (_C,), ("node-3",)),
            be("10.1.2.6", (_A,), ("node-4",)),
        ],
        {"10.1.2.3:80"},
    ),
    (
        "PreferSameNode ignored if some endpoints unhinted",
        "node-1",
        _A,
        [
            be("10.1.2.3", (_A,), ("node-1",)),
            be("10.1.2.4"),
            be("10.1.2.5", (_C,), ("node-3",)),
            be("10.1.2.6", (_A,), ("node-4",)),
        ],
        {"10.1.2.3:80", "10.1.2.4:80", "10.1.2.5:80", "10.1.2.6:80"},
    ),
    (
        "PreferSameNode falls back to PreferSameZone if no endpoint for node",
        "node-0",
        _A,
        [
            be("10.1.2.3", (_A,), ("node-1",)),
            be("10.1.2.4", (_B,), ("node-2",)),
            be("10.1.2.5", (_C,), ("node-3",)),
            be("10.1.2.6", (_A,), ("node-4",)),
        ],
        {"10.1.2.3:80", "10.1.2.6:80"},
    ),
    (
        "conflicting topology and localness require merging allEndpoints (cluster side)",
        "",
        _A,
        [
            be("10.0.0.0", (_A,)),
            be("10.0.0.1", (_B,)),
            be("10.0.0.2", (_A,)),
            be("10.0.0.3", (_B,)),
        ],
        {"10.0.0.0:80", "10.0.0.2:80"},
    ),
    (
        "Cluster traffic policy, endpoints not Ready",
        "",
        None,
        [be("10.0.0.0", ready=False), be("10.0.0.1", ready=False)],
        set(),
    ),
    (
        "Cluster traffic policy, some endpoints are Ready",
        "",
        None,
        [be("10.0.0.0", ready=False), be("10.0.0.1")],
        {"10.0.0.1:80"},
    ),
    (
        "Cluster traffic policy, all endpoints are terminating",
        "",
        None,
        [
            be("10.0.0.0", ready=False, serving=True, terminating=True),
            be("10.0.0.1", ready=False, serving=True, terminating=True),
        ],
        {"10.0.0.0:80", "10.0.0.1:80"},
    ),
    (
        "iTP: Cluster, eTP: Local, with terminating endpoints (cluster side)",
        "",
        None,
        [
            be("10.0.0.0"),
            be("10.0.0.1", ready=False, serving=False),
            be("10.0.0.2", ready=False, serving=True, terminating=True),
            be("10.0.0.3", ready=False, serving=True, terminating=True),
        ],
        {"10.0.0.0:80"},
    ),
    ("empty endpoints when no service endpoints exist", "", None, [], set()),
    (
        "single endpoint not ready, not serving, not terminating",
        "",
        _A,
        [be("10.0.0.0", ready=False, serving=False)],
        set(),
    ),
]


@pytest.mark.parametrize(("name", "node", "zone", "endpoints", "want"), UPSTREAM)
def test_upstream_categorize_endpoints(
    name: str, node: str, zone: str | None, endpoints: list[Backend], want: set[str]
) -> None:
    assert set(for_node(endpoints, node, zone).endpoints) == want, name


def test_same_zone_names_the_left_out_and_the_mode() -> None:
    eps = [be("10.0.0.1", ("z0",)), be("10.0.0.2", ("z1",)), be("10.0.0.3", ("z1", "z2"))]
    assert for_node(eps, "n0", "z0") == NodeTopology(
        "n0",
        "z0",
        "PreferSameZone",
        ("10.0.0.1:80",),
        (
            LeftOut("10.0.0.2", 80, None, "hinted for zone z1"),
            LeftOut("10.0.0.3", 80, None, "hinted for zones z1, z2"),
        ),
    )


def test_an_empty_zone_hint_serves_nodes_without_a_zone_label() -> None:
    # Review: kube-proxy compares the label's value, "" when absent; a hint for zone "" (a valid
    # label value) then matches an unlabelled node, as ZoneHints().Has("") does.
    eps = [be("10.0.0.1", ("",)), be("10.0.0.2", ("z1",))]
    got = for_node(eps, "n0", None)
    assert (got.mode, got.endpoints) == ("PreferSameZone", ("10.0.0.1:80",))


def test_same_node_falls_back_to_zone_then_to_all() -> None:
    pod = PodRef("ns", "a")
    eps = [
        Backend("10.0.0.1", 80, "TCP", True, True, False, pod=pod, for_zones=("z0",),
                for_nodes=("n0",)),
        be("10.0.0.2", ("z1",), ("n1",)),
    ]  # fmt: skip
    assert for_node(eps, "n0", "z0").mode == "PreferSameNode"
    assert for_node(eps, "n0", "z0").left_out == (
        LeftOut("10.0.0.2", 80, None, "hinted for node n1"),
    )
    same_zone = for_node(eps, "n9", "z1")
    assert (same_zone.mode, same_zone.endpoints) == ("PreferSameZone", ("10.0.0.2:80",))
    assert same_zone.fallback == ("no endpoint is hinted for node n9",)
    every = for_node(eps, "n2", "z2")
    assert (every.mode, every.endpoints, every.left_out) == (
        None,
        ("10.0.0.1:80", "10.0.0.2:80"),
        (),
    )
    assert every.fallback == (
        "no endpoint is hinted for node n2",
        "no endpoint is hinted for zone z2",
    )
    unlabelled = for_node(eps, "n2", None)
    assert unlabelled.fallback[-1] == "node n2 has no topology.kubernetes.io/zone label"


def test_a_missing_hint_turns_topology_off_and_says_which() -> None:
    eps = [
        Backend("10.0.0.1", 80, "TCP", True, True, False, pod=PodRef("ns", "a")),
        be("10.0.0.2", ("z0",), ("n0",)),
    ]
    got = for_node(eps, "n0", "z0")
    assert got.mode is None
    assert got.fallback == (
        "endpoint 10.0.0.1:80 (ns/a) has no node hint: same-node hints are off for the whole "
        "service port",
        "endpoint 10.0.0.1:80 (ns/a) has no zone hint: topology is off for the whole service port",
    )


def test_zone_unknown_matters_only_when_the_node_mode_is_not_taken() -> None:
    eps = [be("10.0.0.1", ("z0",), ("n0",)), be("10.0.0.2", ("z1",), ("n1",))]
    why = "unknown, because nodes were not read"
    assert for_node(eps, "n0", None, why).mode == "PreferSameNode"
    got = for_node(eps, "n5", None, why)
    assert (got.mode, got.unknown) == (None, why)


def test_per_node_only_where_hints_are_in_force_and_apply() -> None:
    nodes = [Node("n0", labels={"topology.kubernetes.io/zone": "z0"}), Node("n1")]
    eps = [be("10.0.0.1", ("z0",)), be("10.0.0.2", ("z0",))]
    s = svc("web")
    got = per_node(s, eps, nodes)
    assert [(t.node, t.zone, t.mode) for t in got] == [
        ("n0", "z0", "PreferSameZone"),
        ("n1", None, None),
    ]
    assert zone_of(nodes[1]) is None
    assert per_node(s, [be("10.0.0.1")], nodes) == ()
    assert not in_force([be("10.0.0.1", ("z0",), ready=False)])
    assert per_node(msgspec.structs.replace(s, cluster_ips=()), eps, nodes) == ()  # headless
    local = msgspec.structs.replace(s, internal_traffic_policy="Local")
    assert per_node(local, eps, nodes) == ()
    # externalTrafficPolicy Local: a NodePort service's ClusterIP still uses cluster endpoints.
    assert per_node(msgspec.structs.replace(s, type="NodePort", external_traffic_policy="Local"),
                    eps, nodes) != ()  # fmt: skip


# --- through the CLI, on a snapshot file -----------------------------------------------------

ZONE = "topology.kubernetes.io/zone"


def _zoned() -> Snapshot:
    """web (PreferSameZone, NodePort) over a on n0 (z0) and b on n1 (z1); n2 (z2) has none.

    c0 and c2 are clients on n0 and n2. The hints are what the endpointslice controller writes.
    """
    nodes = tuple(msgspec.structs.replace(node(i), labels={ZONE: f"z{i}"}) for i in range(3))
    a = pod("a", "10.244.0.5", cport("app", 8080, "http"))
    b = pod("b", "10.244.1.5", cport("app", 8080, "http"), node_name="n1")
    c0 = pod("c0", "10.244.0.9", labels={"app": "client"})
    c2 = pod("c2", "10.244.2.9", node_name="n2", labels={"app": "client"})
    web = msgspec.structs.replace(
        svc("web", sport(80, "http", name="http", node_port=30080), type="NodePort"),
        traffic_distribution="PreferSameZone",
    )
    g = group(
        "web",
        [("http", 8080, "TCP")],
        msgspec.structs.replace(ep("10.244.0.5", "a"), for_zones=("z0",)),
        msgspec.structs.replace(ep("10.244.1.5", "b", "n1"), for_zones=("z1",)),
    )
    return snap(nodes=nodes, services=(web,), groups=(g,), pods=(a, b, c0, c2))


def _save(tmp_path: Path) -> str:
    path = str(tmp_path / "zoned.json")
    snapshotfile.save(path, _zoned())
    return path


def test_map_json_has_per_node_endpoints_and_hints(tmp_path: Path) -> None:
    doc = json.loads(invoke("map", "-A", "--snapshot", _save(tmp_path), "-o", "json").stdout)
    validate(doc, "chain-report.json")
    (port,) = doc["services"][0]["ports"]
    assert [b["forZones"] for b in port["backends"]] == [["z0"], ["z1"]]
    assert port["topology"] == [
        {
            "node": "n0",
            "zone": "z0",
            "mode": "PreferSameZone",
            "endpoints": ["10.244.0.5:8080"],
            "leftOut": [
                {
                    "address": "10.244.1.5",
                    "port": 8080,
                    "pod": {"namespace": "ns", "name": "b"},
                    "reason": "hinted for zone z1",
                }
            ],
            "fallback": [],
            "unknown": None,
        },
        {
            "node": "n1",
            "zone": "z1",
            "mode": "PreferSameZone",
            "endpoints": ["10.244.1.5:8080"],
            "leftOut": [
                {
                    "address": "10.244.0.5",
                    "port": 8080,
                    "pod": {"namespace": "ns", "name": "a"},
                    "reason": "hinted for zone z0",
                }
            ],
            "fallback": [],
            "unknown": None,
        },
        {
            "node": "n2",
            "zone": "z2",
            "mode": None,
            "endpoints": ["10.244.0.5:8080", "10.244.1.5:8080"],
            "leftOut": [],
            "fallback": ["no endpoint is hinted for zone z2"],
            "unknown": None,
        },
    ]


def test_map_text_shows_the_distribution_per_node(tmp_path: Path) -> None:
    path = _save(tmp_path)
    table = invoke("map", "-n", "ns", "--snapshot", path).stdout
    assert "PreferSameZone" in table
    assert "hints 2/3" in table
    assert "ready, for z0" in table
    wide = invoke("map", "-n", "ns", "--snapshot", path, "-o", "wide").stdout
    assert "n2 (z2): every endpoint (no endpoint is hinted for zone z2) → 10.244.0.5:8080, " in (
        wide
    )
    tree = invoke("map", "-n", "ns", "--snapshot", path, "-o", "tree").stdout
    assert "trafficDistribution PreferSameZone" in tree
    assert "n0 (z0): same-zone hints → 10.244.0.5:8080" in tree
    explain = invoke("explain", "-n", "ns", "--snapshot", path).stdout
    assert "n1 (z1): same-zone hints → 10.244.1.5:8080" in explain


def test_trace_from_a_pod_follows_its_nodes_endpoints(tmp_path: Path) -> None:
    path = _save(tmp_path)
    r = invoke("trace", "10.96.0.10:80", "--from", "ns/c0", "--snapshot", path, "-o", "json")
    doc = json.loads(r.stdout)
    validate(doc, "trace-report.json")
    (route,) = doc["routes"]
    assert route["topology"]["basis"] == "client"
    assert [(t["node"], t["endpoints"]) for t in route["topology"]["nodes"]] == [
        ("n0", ["10.244.0.5:8080"])
    ]
    # Only the endpoint kube-proxy on n0 uses gets a policy verdict.
    assert [h["pod"]["name"] for h in doc["policy"]["hops"]] == ["a"]
    text = invoke("trace", "10.96.0.10:80", "--from", "ns/c0", "--snapshot", path).stdout
    assert "left out by kube-proxy on n0: hinted for zone z1" in text
    far = invoke("trace", "10.96.0.10:80", "--from", "ns/c2", "--snapshot", path, "-o", "json")
    (route,) = json.loads(far.stdout)["routes"]
    (view,) = route["topology"]["nodes"]
    assert (view["node"], view["endpoints"]) == ("n2", ["10.244.0.5:8080", "10.244.1.5:8080"])
    assert view["fallback"] == ["no endpoint is hinted for zone z2"]


def test_trace_without_a_client_node_gives_every_nodes_answer(tmp_path: Path) -> None:
    path = _save(tmp_path)
    doc = json.loads(invoke("trace", "10.96.0.10:80", "--snapshot", path, "-o", "json").stdout)
    (route,) = doc["routes"]
    assert route["topology"]["basis"] == "every-node"
    assert [t["node"] for t in route["topology"]["nodes"]] == ["n0", "n1", "n2"]
    text = invoke("trace", "10.96.0.10:80", "--snapshot", path).stdout
    assert "the endpoints depend on the client's node" in text


def test_a_nodeport_is_decided_on_the_node_it_enters(tmp_path: Path) -> None:
    path = _save(tmp_path)
    for address, node_name, want in (
        ("192.0.2.11", "n1", ["10.244.1.5:8080"]),
        ("192.0.2.12", "n2", ["10.244.0.5:8080", "10.244.1.5:8080"]),
    ):
        r = invoke(
            "trace", f"{address}:30080", "--from", "outside", "--snapshot", path, "-o", "json"
        )
        (route,) = json.loads(r.stdout)["routes"]
        assert route["topology"]["basis"] == "entry"
        assert [(t["node"], t["endpoints"]) for t in route["topology"]["nodes"]] == [
            (node_name, want)
        ]


def test_trace_from_a_node_not_read_is_unknown_unless_node_hints_decide(tmp_path: Path) -> None:
    s = msgspec.structs.replace(_zoned(), nodes=())
    path = str(tmp_path / "nodeless.json")
    snapshotfile.save(path, s)
    r = invoke("trace", "10.96.0.10:80", "--from", "node/n0", "--snapshot", path, "-o", "json")
    # --from node/NAME needs the node: without nodes it is not found (exit 6), as before.
    assert r.code == ExitCode.NOT_FOUND
    got = topology.route(
        s.services[0],
        "ClusterIP",
        None,
        "n0",
        chain.service_chain(chain.Index.of(s), s.services[0]).ports[0].backends,
        [],
    )
    assert got is not None
    (view,) = got.nodes
    assert view.unknown == "unknown, because node n0 was not read (its zone label decides)"


def test_a_zone_change_under_watch_is_a_valid_event_with_the_new_topology() -> None:
    state = State.of(_zoned())
    moved = msgspec.structs.replace(_zoned().nodes[2], labels={ZONE: "z1"})
    (ev,) = state.step(Change("nodes", "MODIFIED", ("", "n2"), (moved,)))
    doc = json.loads(msgspec.json.encode(report.chain_event("ctx", "2026-12-08T00:00:00Z", ev)))
    validate(doc, "chain-event.json")
    assert [(t["node"], t["mode"], t["endpoints"]) for t in doc["topology"]] == [
        ("n0", "PreferSameZone", ["10.244.0.5:8080"]),
        ("n1", "PreferSameZone", ["10.244.1.5:8080"]),
        ("n2", "PreferSameZone", ["10.244.1.5:8080"]),
    ]
    assert render_watch.event_line("T", ev).plain.endswith(" hints 3/3")
    assert state.current() == chain.build(state.as_snapshot())


def test_text_groups_a_zones_nodes_that_get_the_same_answer() -> None:
    eps = [be("10.0.0.1", ("z0",)), be("10.0.0.2", ("z1",))]
    nodes = [
        Node(f"n{i}", labels={ZONE: z}) for i, z in enumerate(["z0", "z0", "z2", "z2", "z0"])
    ] + [Node(f"m{i}") for i in range(7)]
    lines = topology_lines(per_node(svc("web"), eps, nodes))
    assert lines == [
        "n0, n1, n4 (z0): same-zone hints → 10.0.0.1:80",
        "n2, n3 (z2): every endpoint (no endpoint is hinted for zone z2) → 10.0.0.1:80, "
        "10.0.0.2:80",
        "m0, m1, m2, m3, m4 and 2 more (no zone label): every endpoint (their node has no "
        "topology.kubernetes.io/zone label) → 10.0.0.1:80, 10.0.0.2:80",
    ]


def test_per_node_answers_once_per_zone_and_names_every_node() -> None:
    # Review (scale): without node hints a node's answer depends only on its zone; computed
    # once per zone, it must equal kube-proxy's answer node by node, unlabelled nodes included.
    from kinspect.model.values import NodeAddress

    from .builders import sport, svc

    nodes = [
        Node(
            f"n{i}",
            (NodeAddress("InternalIP", f"192.0.2.{i + 1}"),),
            labels={ZONE: f"z{i % 3}"} if i % 7 else {},
        )
        for i in range(30)
    ]
    eps = [be(f"10.0.0.{i + 1}", (f"z{i % 3}",)) for i in range(9)]
    got = per_node(svc("web", sport(80)), eps, nodes)
    assert got == tuple(for_node(eps, n.name, zone_of(n)) for n in nodes)
