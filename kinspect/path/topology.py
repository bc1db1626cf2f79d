"""Topology hints as kube-proxy applies them: which endpoints kube-proxy on one node uses. Pure.

The rules are kube-proxy's, kubernetes v1.37.2 pkg/proxy/topology.go (docs/kube-proxy.md,
"Topology hints"):

- `topologyModeFromHints`: only ready endpoints count. PreferSameNode when every ready endpoint
  has a node hint and at least one names this node; otherwise PreferSameZone when every ready
  endpoint has a zone hint and at least one names the node's `topology.kubernetes.io/zone`;
  otherwise no topology (every endpoint). The PreferSameTrafficDistribution gate that guards
  node hints is GA and locked on since v1.35 (pkg/features/kube_features.go), so it is not
  modelled as off.
- `availableForTopology`: under a mode, an endpoint is used when its hints name the node (or
  the zone); `CategorizeEndpoints` keeps the ready ones among those, and when none is left
  (no ready endpoint anywhere) falls back to the serving and terminating endpoints.
- Hints apply only to cluster-policy traffic (`UsesClusterEndpoints`, pkg/proxy/serviceport.go):
  ClusterIP traffic under internalTrafficPolicy Cluster, and NodePort, load-balancer and
  externalIP traffic under externalTrafficPolicy Cluster. Local policies use the node's own
  endpoints and ignore hints.

kube-proxy reads the hints whoever wrote them (the endpointslice controller for
trafficDistribution or the topology-mode annotation, a hand-made slice, another controller), so
this module decides from the hints alone; the Service's fields are labels.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal, Protocol

import msgspec

from kinspect.model.values import Node, PodRef, Service, Value

ZONE_LABEL = "topology.kubernetes.io/zone"

TopologyMode = Literal["PreferSameNode", "PreferSameZone"]


class Hinted(Protocol):
    """What the rules read of an endpoint (`path.chain.Backend` is one)."""

    @property
    def address(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def pod(self) -> PodRef | None: ...
    @property
    def ready(self) -> bool: ...
    @property
    def serving(self) -> bool: ...
    @property
    def terminating(self) -> bool: ...
    @property
    def for_zones(self) -> tuple[str, ...]: ...
    @property
    def for_nodes(self) -> tuple[str, ...]: ...


class LeftOut(Value, frozen=True):
    """A ready endpoint kube-proxy on the node does not use, and why ("hinted for zone z1")."""

    address: str
    port: int
    pod: PodRef | None
    reason: str


class NodeTopology(Value, frozen=True):
    """Which endpoints kube-proxy on one node uses for a service port's cluster-policy traffic.

    `mode` None: no topology, every usable endpoint. `fallback`: why a mode was not taken, in
    the order kube-proxy tries them. `unknown`: "unknown, because …" when the node's zone was
    needed and not read; `endpoints` then lists every usable endpoint as the widest answer.
    """

    node: str
    zone: str | None
    mode: TopologyMode | None
    endpoints: tuple[str, ...]  # ADDRESS:PORT, as kube-proxy names endpoints
    left_out: tuple[LeftOut, ...] = ()
    fallback: tuple[str, ...] = ()
    unknown: str | None = None


def endpoint_name(b: Hinted) -> str:
    """ADDRESS:PORT (IPv6 bracketed), the name kube-proxy gives an endpoint."""
    host = f"[{b.address}]" if ":" in b.address else b.address
    return f"{host}:{b.port}"


def in_force(backends: Iterable[Hinted]) -> bool:
    """Whether some ready endpoint carries a hint: only then can a node's choice differ."""
    return any(b.ready and (b.for_zones or b.for_nodes) for b in backends)


def cluster_policy(svc: Service, kind: str) -> bool:
    """Whether traffic entering by a frontend of `kind` uses cluster endpoints (and hints)."""
    if kind == "ClusterIP":
        return svc.internal_traffic_policy != "Local"
    return svc.external_traffic_policy != "Local"


def uses_hints(svc: Service) -> bool:
    """kube-proxy's `UsesClusterEndpoints`: internal policy Cluster, or externally reached."""
    if svc.headless:
        return False  # kube-proxy proxies no headless service (clients use the pod IPs)
    external = svc.type in ("NodePort", "LoadBalancer") or bool(svc.external_ips)
    return svc.internal_traffic_policy != "Local" or external


def zone_of(node: Node) -> str | None:
    """The node's zone label; None (as kube-proxy's "") when absent or empty."""
    return node.labels.get(ZONE_LABEL) or None


def _named(b: Hinted) -> str:
    return f"{endpoint_name(b)} ({b.pod})" if b.pod else endpoint_name(b)


def _hinted(what: str, names: Sequence[str]) -> str:
    return f"hinted for {what}{'s' if len(names) > 1 else ''} {', '.join(names)}"


def mode_of(
    backends: Sequence[Hinted], node: str, zone: str | None, zone_unknown: str | None = None
) -> tuple[TopologyMode | None, tuple[str, ...], str | None]:
    """kube-proxy's `topologyModeFromHints`: the mode, why others were not taken, unknown.

    `zone_unknown`: "unknown, because …" when the node's zone was not read; it matters only
    when the node mode is not taken.
    """
    ready = [b for b in backends if b.ready]
    if not ready:
        return None, (), None
    why: list[str] = []
    without_node = [b for b in ready if not b.for_nodes]
    if not without_node:
        if any(node in b.for_nodes for b in ready):
            return "PreferSameNode", (), None
        why.append(f"no endpoint is hinted for node {node}")
    elif len(without_node) < len(ready):
        why.append(
            f"endpoint {_named(without_node[0])} has no node hint: same-node hints are off "
            "for the whole service port"
        )
    without_zone = [b for b in ready if not b.for_zones]
    if without_zone:
        if len(without_zone) < len(ready):
            why.append(
                f"endpoint {_named(without_zone[0])} has no zone hint: topology is off for the "
                "whole service port"
            )
        return None, tuple(why), None
    if zone_unknown is not None:
        return None, tuple(why), zone_unknown
    # kube-proxy compares the label's value, "" when absent: an endpoint hinted for zone ""
    # (valid: an empty label value) serves unlabelled nodes.
    if any((zone or "") in b.for_zones for b in ready):
        return "PreferSameZone", tuple(why), None
    if zone is None:
        why.append(f"node {node} has no {ZONE_LABEL} label")
    else:
        why.append(f"no endpoint is hinted for zone {zone}")
    return None, tuple(why), None


def for_node(
    backends: Sequence[Hinted], node: str, zone: str | None, zone_unknown: str | None = None
) -> NodeTopology:
    """kube-proxy's `CategorizeEndpoints` for cluster-policy traffic on `node` in `zone`."""
    mode, why, unknown = mode_of(backends, node, zone, zone_unknown)
    used: list[Hinted] = []
    left: list[LeftOut] = []
    for b in backends:
        if not b.ready:
            continue
        if mode == "PreferSameNode" and node not in b.for_nodes:
            left.append(LeftOut(b.address, b.port, b.pod, _hinted("node", b.for_nodes)))
        elif mode == "PreferSameZone" and (zone or "") not in b.for_zones:
            left.append(LeftOut(b.address, b.port, b.pod, _hinted("zone", b.for_zones)))
        else:
            used.append(b)
    if not used:
        # No ready endpoint anywhere (a mode needs one hinted here): serving and terminating.
        used = [b for b in backends if b.serving and b.terminating]
    return NodeTopology(
        node, zone, mode, tuple(endpoint_name(b) for b in used), tuple(left), why, unknown
    )


def per_node(
    svc: Service, backends: Sequence[Hinted], nodes: Iterable[Node]
) -> tuple[NodeTopology, ...]:
    """Per node, what kube-proxy there uses, where hints are in force and apply; else ()."""
    if not uses_hints(svc) or not in_force(backends):
        return ()
    # Without node hints a node's answer depends only on its zone (a node without one is named
    # in its answer): one answer per zone, not per node (2,000 nodes, 600 endpoints: review).
    by_zone: dict[str, NodeTopology] | None = (
        None if any(b.for_nodes for b in backends if b.ready) else {}
    )
    out = []
    for n in nodes:
        zone = zone_of(n)
        if by_zone is None or zone is None:
            out.append(for_node(backends, n.name, zone))
            continue
        hit = by_zone.get(zone)
        if hit is None:
            hit = by_zone[zone] = for_node(backends, n.name, zone)
        out.append(hit if hit.node == n.name else msgspec.structs.replace(hit, node=n.name))
    return tuple(out)


# Whose kube-proxy decides a route's endpoints: the node a NodePort packet enters, the client's
# node (--from a pod or a node: kube-proxy there DNATs ClusterIP, load-balancer and externalIP
# traffic before it leaves), or, unknown, every node's answer.
Basis = Literal["entry", "client", "every-node"]


class RouteTopology(Value, frozen=True):
    """Which endpoints a route's traffic reaches, by the node whose kube-proxy handles it."""

    basis: Basis
    nodes: tuple[NodeTopology, ...]

    def used(self) -> frozenset[str] | None:
        """The endpoints (ADDRESS:PORT) used when one node decides; None for every node's."""
        return frozenset(self.nodes[0].endpoints) if self.basis != "every-node" else None


def route(
    svc: Service,
    kind: str,
    entry_node: str | None,
    client_node: str | None,
    backends: Sequence[Hinted],
    nodes: Sequence[Node],
) -> RouteTopology | None:
    """The topology of traffic entering `svc` by a frontend of `kind`.

    None where hints do not apply (a Local policy) or are not in force.
    """
    if not cluster_policy(svc, kind) or not in_force(backends):
        return None
    # A NodePort packet is DNATed on the node whose address it is sent to (kube-proxy matches
    # node ports on local addresses only); other entries on the client's node.
    basis: Basis = "entry" if kind == "NodePort" else "client"
    node = entry_node if kind == "NodePort" else client_node
    if node is None:
        return RouteTopology(
            "every-node", tuple(for_node(backends, n.name, zone_of(n)) for n in nodes)
        )
    found = next((n for n in nodes if n.name == node), None)
    if found is None:
        why = f"unknown, because node {node} was not read (its zone label decides)"
        return RouteTopology(basis, (for_node(backends, node, None, why),))
    return RouteTopology(basis, (for_node(backends, node, zone_of(found)),))
