"""Topology hints (trafficDistribution) written by the real endpointslice controller.

examples/topology.yaml: `zoned` (PreferSameZone) and `nearby` (PreferSameNode) over one pod on
kwok-node-0 (zone-0) and one on kwok-node-1 (zone-1), none in zone-2. The test reads the hints
the controller wrote through the API, applies kube-proxy's rules to them on its own (below, a
few lines from kubernetes v1.37.2 pkg/proxy/topology.go), and compares with kinspect's map,
trace --from and audit.
"""

from __future__ import annotations

from typing import Any

from kinspect.model.errors import ExitCode

from .conftest import ROOT, Namespace
from .watchstream import Stream

NODES = ("kwok-node-0", "kwok-node-1", "kwok-node-2")
ZONE = "topology.kubernetes.io/zone"


def _ready_endpoints(ns: Namespace, service: str) -> list[dict[str, Any]]:
    slices = ns.get("endpointslices", "-l", f"kubernetes.io/service-name={service}")["items"]
    return [
        e for s in slices for e in s.get("endpoints") or [] if e.get("conditions", {}).get("ready")
    ]


def _hinted(ns: Namespace, service: str, node_hints: bool) -> bool:
    """The controller has hinted both ready endpoints (zone, and node for PreferSameNode)."""
    eps = _ready_endpoints(ns, service)
    return len(eps) == 2 and all(
        (e.get("hints") or {}).get("forZones") and (
            not node_hints or (e.get("hints") or {}).get("forNodes")
        )
        for e in eps
    )  # fmt: skip


def _expected(ns: Namespace, service: str, node: str, zone: str | None) -> set[str]:
    """kube-proxy's rules on the hints the API shows: node hints, then zone hints, then all."""
    eps = _ready_endpoints(ns, service)
    port = ns.get("endpointslices", "-l", f"kubernetes.io/service-name={service}")["items"][0][
        "ports"
    ][0]["port"]

    def hints(e: dict[str, Any], kind: str) -> set[str]:
        return {h["name"] for h in (e.get("hints") or {}).get(kind) or []}

    def names(chosen: list[dict[str, Any]]) -> set[str]:
        return {f"{e['addresses'][0]}:{port}" for e in chosen}

    if all(hints(e, "forNodes") for e in eps) and any(node in hints(e, "forNodes") for e in eps):
        return names([e for e in eps if node in hints(e, "forNodes")])
    if all(hints(e, "forZones") for e in eps) and any(zone in hints(e, "forZones") for e in eps):
        return names([e for e in eps if zone in hints(e, "forZones")])
    return names(eps)


def test_map_trace_and_audit_follow_the_controllers_hints(ns: Namespace) -> None:
    ns.apply((ROOT / "examples" / "topology.yaml").read_text())
    ns.wait_settled(pods=4)
    ns.wait_until("the controller's zone hints on zoned", lambda: _hinted(ns, "zoned", False))
    ns.wait_until("the controller's node hints on nearby", lambda: _hinted(ns, "nearby", True))
    zones = {
        n["metadata"]["name"]: n["metadata"]["labels"].get(ZONE) for n in ns.get("nodes")["items"]
    }
    pods = {p["metadata"]["name"]: p for p in ns.get("pods")["items"]}

    # How the controller writes hints (staging endpointslice trafficdist.go): each ready
    # endpoint for its own zone (and, PreferSameNode, its own node); none for zone-2, which has
    # no endpoint, so nothing is hinted for it.
    for service, node_hints in (("zoned", False), ("nearby", True)):
        for e in _ready_endpoints(ns, service):
            assert e["hints"]["forZones"] == [{"name": e["zone"]}]
            assert e["hints"].get("forNodes") == ([{"name": e["nodeName"]}] if node_hints else None)
        assert "zone-2" not in {e["zone"] for e in _ready_endpoints(ns, service)}

    # map: per node, the endpoints kube-proxy there uses, as the rules give them from the API.
    doc = ns.kinspect_json("map", "-n", ns.name)
    by_name = {s["name"]: s for s in doc["services"]}
    assert by_name["zoned"]["trafficDistribution"] == "PreferSameZone"
    assert by_name["nearby"]["trafficDistribution"] == "PreferSameNode"
    for service in ("zoned", "nearby"):
        (port,) = by_name[service]["ports"]
        got = {t["node"]: (t["zone"], set(t["endpoints"])) for t in port["topology"]}
        assert got == {n: (zones[n], _expected(ns, service, n, zones[n])) for n in NODES}, service
    zoned = {t["node"]: t for t in by_name["zoned"]["ports"][0]["topology"]}
    ip0 = pods["zoned-0"]["status"]["podIP"]
    ip1 = pods["zoned-1"]["status"]["podIP"]
    assert (zoned["kwok-node-0"]["mode"], zoned["kwok-node-0"]["endpoints"]) == (
        "PreferSameZone",
        [f"{ip0}:8080"],
    )
    # zone-2 has no endpoint: kwok-node-2 falls back to every endpoint, and says why.
    assert zoned["kwok-node-2"]["mode"] is None
    assert zoned["kwok-node-2"]["fallback"] == ["no endpoint is hinted for zone zone-2"]
    assert set(zoned["kwok-node-2"]["endpoints"]) == {f"{ip0}:8080", f"{ip1}:8080"}
    nearby = {t["node"]: t for t in by_name["nearby"]["ports"][0]["topology"]}
    assert nearby["kwok-node-1"]["mode"] == "PreferSameNode"
    assert nearby["kwok-node-2"]["fallback"] == [
        "no endpoint is hinted for node kwok-node-2",
        "no endpoint is hinted for zone zone-2",
    ]

    # trace --from a pod: only the endpoints its node's kube-proxy uses, from two nodes.
    cluster_ip = by_name["zoned"]["clusterIPs"][0]
    for client in ("client-0", "client-2"):
        node = pods[client]["spec"]["nodeName"]
        want = _expected(ns, "zoned", node, zones[node])
        tr = ns.kinspect_json("trace", f"{cluster_ip}:80", "--from", f"{ns.name}/{client}")
        (route,) = tr["routes"]
        assert route["topology"]["basis"] == "client"
        (view,) = route["topology"]["nodes"]
        assert (view["node"], set(view["endpoints"])) == (node, want)
        hopped = {f"{h['pod']['name']}" for h in tr["policy"]["hops"]}
        assert hopped == {
            b["pod"]["name"] for b in route["backends"] if f"{b['address']}:8080" in want
        }
        text = ns.kinspect("trace", f"{cluster_ip}:80", "--from", f"{ns.name}/{client}").stdout
        if client == "client-0":
            assert "left out by kube-proxy on kwok-node-0: hinted for zone zone-1" in text
        else:
            assert "every endpoint (no endpoint is hinted for zone zone-2)" in text
    # Without --from the answer depends on the client's node: every node's is given.
    tr = ns.kinspect_json("trace", f"{cluster_ip}:80")
    assert tr["routes"][0]["topology"]["basis"] == "every-node"
    assert [t["node"] for t in tr["routes"][0]["topology"]["nodes"]] == list(NODES)

    # audit: zone-2's node gets no same-zone endpoint; no endpoint lacks a hint.
    report = ns.kinspect_json("audit", "-n", ns.name)
    found = sorted(
        (f["check"], f["service"], f["message"])
        for f in report["findings"]
        if f["check"].startswith("topology-")
    )
    message = (
        "no endpoint is hinted for zone zone-2: kube-proxy on its node(s) kwok-node-2 uses every "
        "endpoint, in every zone"
    )
    assert found == [
        ("topology-zone-without-endpoint", "nearby", message),
        ("topology-zone-without-endpoint", "zoned", message),
    ]


def test_a_nodeport_is_decided_on_the_node_it_enters(ns: Namespace) -> None:
    ns.apply((ROOT / "examples" / "topology.yaml").read_text())
    ns.apply(
        "apiVersion: v1\nkind: Service\nmetadata: {name: zoned-np}\n"
        "spec: {type: NodePort, selector: {app: zoned}, trafficDistribution: PreferSameZone,"
        " ports: [{name: http, port: 80, targetPort: http}]}\n"
    )
    ns.wait_settled(pods=4)
    ns.wait_until("the controller's zone hints on zoned-np", lambda: _hinted(ns, "zoned-np", False))
    node_port = ns.get("service", "zoned-np")["spec"]["ports"][0]["nodePort"]
    zones = {
        n["metadata"]["name"]: n["metadata"]["labels"].get(ZONE) for n in ns.get("nodes")["items"]
    }
    addresses = {
        n["metadata"]["name"]: next(
            a["address"] for a in n["status"]["addresses"] if a["type"] == "InternalIP"
        )
        for n in ns.get("nodes")["items"]
    }
    for node in ("kwok-node-0", "kwok-node-2"):
        tr = ns.kinspect_json("trace", f"{addresses[node]}:{node_port}", "--from", "outside")
        (route,) = tr["routes"]
        assert route["topology"]["basis"] == "entry"
        (view,) = route["topology"]["nodes"]
        assert (view["node"], set(view["endpoints"])) == (
            node,
            _expected(ns, "zoned-np", node, zones[node]),
        )


def test_map_watch_follows_a_zone_gaining_an_endpoint(ns: Namespace) -> None:
    """A backend starting in zone-2: the stream's topology for zoned equals a fresh map's."""
    ns.apply((ROOT / "examples" / "topology.yaml").read_text())
    ns.wait_settled(pods=4)
    ns.wait_until("the controller's zone hints on zoned", lambda: _hinted(ns, "zoned", False))
    stream = Stream(["map", "-n", ns.name, "--watch", "-o", "json", *ns.cluster.kinspect_args()])
    try:
        stream.synced()
        ns.apply(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: zoned-2, labels: {app: zoned}}\n"
            "spec: {nodeName: kwok-node-2, containers: [{name: app,"
            " image: registry.k8s.io/pause:3.10, ports: [{name: http, containerPort: 8080}]}]}\n"
        )

        def zone_2_served(d: dict[str, Any]) -> bool:
            if d.get("event") != "frontends-changed" or d.get("service") != "zoned":
                return False
            modes = {str(t["node"]): t["mode"] for t in d["topology"] or []}
            return bool(modes.get("kwok-node-2") == "PreferSameZone")

        ev = stream.until("zoned's kwok-node-2 on same-zone hints", zone_2_served, seconds=90)
    finally:
        code, err = stream.interrupt()
        assert code == ExitCode.INTERRUPTED, err
    ns.wait_until("zoned-2 hinted", lambda: len(_ready_endpoints(ns, "zoned")) == 3)
    fresh = ns.kinspect_json("map", "zoned", "-n", ns.name)
    assert ev["topology"] == fresh["services"][0]["ports"][0]["topology"]
    ip2 = ns.get("pod", "zoned-2")["status"]["podIP"]
    assert {t["node"]: t["endpoints"] for t in ev["topology"]}["kwok-node-2"] == [f"{ip2}:8080"]
