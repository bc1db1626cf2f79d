"""The live state behind `--watch`: the objects, their indexes, the chains kept up to date. Pure.

It holds the objects of the watched kinds, the indexes from an object to its services, and the
chains, rebuilt and diffed per event for the services that event touches.

`State.of(snapshot)` builds it from the first read (one LIST per kind); `State.apply(change)`
stores one watch event and returns the keys of the services whose chain it may change;
`State.rebuild(keys)` rebuilds those chains with `chain.service_chain` and returns what changed
as `ChainEvent`s. Per event the work is proportional to the services touched, never to the
cluster:

- a Service: itself;
- a pod: the services of its namespace whose selector matches its old or new labels (an
  inverse index: each service is filed under one pair of its selector), and the services whose
  endpoint groups name it (a slice may name a pod its service does not select);
- an EndpointSlice (or legacy Endpoints): the service it belongs to (the
  kubernetes.io/service-name label, or the Endpoints' own name), before and after;
- a node: only when its InternalIP/ExternalIP addresses change, every service whose chain
  depends on the node list: NodePorts (NodePort and LoadBalancer types), internalTrafficPolicy
  Local (per-node answers) and health-check node ports; when the nodes or their zone labels
  change, every service with topology hints in force (its per-node endpoints).

Watched kinds are the four that make a `ServiceChain` (`WATCHED`). APIServices and webhooks
(a chain's consumers) are kept as first read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import msgspec

from kinspect.model.change import Change, Field, Key
from kinspect.model.snapshot import Snapshot
from kinspect.model.values import (
    EndpointGroup,
    EndpointSource,
    Node,
    Pod,
    PodRef,
    Service,
    ServicePort,
    Value,
)
from kinspect.path.chain import Backend, Frontend, Index, ServiceChain, service_chain
from kinspect.path.topology import NodeTopology, in_force, zone_of
from kinspect.path.trace import TraceResult

ChainEventKind = Literal[
    "service-added",
    "service-changed",
    "service-removed",
    "frontends-changed",
    "backend-added",
    "backend-removed",
    "backend-ready",
    "backend-not-ready",
    "backend-changed",
]


@dataclass(frozen=True)
class ChainEvent:
    """What changed in one service's chain.

    service-added/-changed carry the whole new chain (a changed Service spec may change every
    port); the others name the port and carry the backend or the port's new frontends.
    """

    event: ChainEventKind
    namespace: str
    service: str
    port: ServicePort | None = None
    backend: Backend | None = None
    frontends: tuple[Frontend, ...] | None = None
    chain: ServiceChain | None = None
    # frontends-changed: the port's per-node topology (issue 22), which changes with it.
    topology: tuple[NodeTopology, ...] | None = None


def key_of(field_: Field, value: Value, endpoint_source: EndpointSource) -> Key:
    """The key of the object a value was converted from (what a watch event names)."""
    if isinstance(value, Node):
        return ("", value.name)
    if isinstance(value, (Pod, Service)):
        return (value.namespace, value.name)
    if isinstance(value, EndpointGroup):
        # A legacy Endpoints is named after its service and converts to a group per subset.
        name = value.service if endpoint_source == "Endpoints" else value.name
        return (value.namespace, name)
    raise TypeError(f"no key for {type(value).__name__} in {field_}")


def _resource_version(rv: str) -> int | None:
    # Resource versions of one resource type compare as increasing integers: a promise since
    # Kubernetes 1.35 (KEP-5504, kubernetes/enhancements#5504), and what etcd revisions always
    # were. Anything that is not a decimal integer is not compared.
    return int(rv) if rv.isascii() and rv.isdigit() else None


@dataclass
class LiveIndex(Index):
    """`chain.Index` kept up to date object by object instead of built once.

    `select` answers a service selector from dicts of pods by namespace and label pair. Only
    what `chain.service_chain` reads is kept: `snapshot` lacks the watched kinds and
    `pods_by_ip`/`by_labels` are empty, so trace and policy take `chain.Index.of(
    State.as_snapshot())` instead.
    """

    pairs: dict[tuple[str, str, str], dict[PodRef, Pod]] = field(default_factory=dict)

    def select(self, namespace: str, selector: Mapping[str, str]) -> list[Pod]:
        """Pods of `namespace` whose labels contain every pair of `selector` (a Service's)."""
        if not selector:
            return []
        buckets = [self.pairs.get((namespace, k, v)) for k, v in selector.items()]
        best = min((b or {} for b in buckets), key=len)
        items = selector.items()
        return [p for p in best.values() if all(p.labels.get(k) == v for k, v in items)]

    def add_pod(self, p: Pod) -> None:
        self.pods[p.ref] = p
        for k, v in p.labels.items():
            self.pairs.setdefault((p.namespace, k, v), {})[p.ref] = p

    def remove_pod(self, p: Pod) -> None:
        self.pods.pop(p.ref, None)
        for k, v in p.labels.items():
            bucket = self.pairs.get((p.namespace, k, v))
            if bucket is not None:
                bucket.pop(p.ref, None)
                if not bucket:
                    del self.pairs[(p.namespace, k, v)]


def _node_ips(nodes: Mapping[str, Node]) -> list[tuple[str, str]]:
    # In name order, as a LIST returns nodes (etcd key order): the chain's frontends follow it.
    return [(n.name, a.address) for name in sorted(nodes) for n in (nodes[name],) for a in n.ips()]


def _depends_on_nodes(s: Service) -> bool:
    """Whether a service's chain changes with the nodes' addresses (see the module docstring)."""
    node_ports = s.type in ("NodePort", "LoadBalancer") and any(p.node_port for p in s.ports)
    return node_ports or s.internal_traffic_policy == "Local" or bool(s.health_check_node_port)


class State:
    """The objects of the watched kinds, their indexes and every service's current chain."""

    def __init__(self, snapshot: Snapshot, skip: Mapping[str, str] | None = None) -> None:
        """Index `snapshot` and build every chain.

        `skip`: namespace → the resourceVersion its pods were listed at, when pods were listed
        namespace by namespace and are watched from the oldest of those lists: a pod event of
        such a namespace at or before its own list's version is one already seen, and skipped.
        """
        # The first read without the watched kinds: those are held once, below, and replaced
        # object by object (keeping the first read's tuples too would hold every object twice).
        self.snapshot = msgspec.structs.replace(
            snapshot, services=(), pods=(), endpoint_groups=(), nodes=()
        )
        self.source = snapshot.endpoint_source
        self.skip = {ns: v for ns, rv in (skip or {}).items() if (v := _resource_version(rv))}
        idx = LiveIndex(self.snapshot)
        self.idx = idx
        self.services: dict[Key, Service] = {}
        self.nodes: dict[str, Node] = {}
        # Endpoint groups by the object (EndpointSlice, or legacy Endpoints) they came from.
        # Pods, services and nodes are kept once, in the dicts above and the index.
        self.slices: dict[Key, tuple[Value, ...]] = {}
        # (namespace, label, value) → services filed under that pair of their selector.
        self._by_pair: dict[tuple[str, str, str], set[Key]] = {}
        # (namespace, service) → its endpoint groups, by the object they came from.
        self._groups: dict[Key, dict[Key, tuple[EndpointGroup, ...]]] = {}
        # pod → the services whose endpoint groups name it, with how many times.
        self._named_by: dict[PodRef, dict[Key, int]] = {}
        # The first read is filed in bulk: no event, nothing to say which services it touches.
        for s in snapshot.services:
            self._service((s.namespace, s.name), (), (s,))
        for p in snapshot.pods:
            idx.add_pod(p)
        for n in snapshot.nodes:
            self.nodes[n.name] = n
        by_object: dict[Key, list[Value]] = {}
        for g in snapshot.endpoint_groups:
            by_object.setdefault(key_of("endpoint_groups", g, self.source), []).append(g)
        for k, gs in by_object.items():
            self.slices[k] = tuple(gs)
            self._endpoint_groups(k, (), self.slices[k])
        idx.node_ips = _node_ips(self.nodes)
        idx.node_list = [self.nodes[n] for n in sorted(self.nodes)]
        for c in snapshot.consumers:
            idx.consumers.setdefault((c.namespace, c.service), []).append(c)
        self.chains: dict[Key, ServiceChain] = {
            k: service_chain(idx, s) for k, s in sorted(self.services.items())
        }

    def stored(self, field_: Field, key: Key) -> tuple[Value, ...]:
        """What the state holds for one object (nothing when it holds none)."""
        found: Value | None
        match field_:
            case "services":
                found = self.services.get(key)
            case "pods":
                found = self.idx.pods.get(PodRef(*key))
            case "nodes":
                found = self.nodes.get(key[1])
            case "endpoint_groups":
                return self.slices.get(key, ())
        return () if found is None else (found,)

    def keys(self, field_: Field) -> list[Key]:
        """The keys of every object of one kind the state holds."""
        match field_:
            case "services":
                return list(self.services)
            case "pods":
                return [(r.namespace, r.name) for r in self.idx.pods]
            case "nodes":
                return [("", n) for n in self.nodes]
            case "endpoint_groups":
                return list(self.slices)

    @classmethod
    def of(cls, snapshot: Snapshot, skip: Mapping[str, str] | None = None) -> State:
        """The live state of a first read."""
        return cls(snapshot, skip)

    # --- events --------------------------------------------------------------------------

    def apply(self, change: Change) -> set[Key]:
        """Store one event; the keys of the services whose chain it may change."""
        if change.field == "pods" and change.key[0] in self.skip:
            version = _resource_version(change.resource_version)
            if version is not None and version <= self.skip[change.key[0]]:
                return set()  # already in the namespace's own list
        old = self.stored(change.field, change.key)
        if old == change.values:
            return set()  # nothing kinspect reads changed (a status heartbeat, say)
        return self._store(change, old)

    def relist(self, field_: Field, objects: Mapping[Key, tuple[Value, ...]]) -> list[Change]:
        """The events that turn the stored objects of one kind into `objects` (a new LIST).

        After a watch expired (410 Gone) nothing is lost: what was deleted, added or changed
        meanwhile comes out as a DELETED, ADDED or MODIFIED change, to `apply` in turn.
        """
        if field_ == "pods":
            self.skip = {}  # the new list is one consistent read
        out = [Change(field_, "DELETED", k) for k in self.keys(field_) if k not in objects]
        for k, values in objects.items():
            before = self.stored(field_, k)
            if not before:
                out.append(Change(field_, "ADDED", k, values))
            elif before != values:
                out.append(Change(field_, "MODIFIED", k, values))
        return out

    def _store(self, change: Change, old: tuple[Value, ...]) -> set[Key]:
        new = () if change.type == "DELETED" else change.values
        match change.field:
            case "services":
                return self._service(change.key, old, new)
            case "pods":
                return self._pod(old, new)
            case "endpoint_groups":
                if new:
                    self.slices[change.key] = new
                else:
                    self.slices.pop(change.key, None)
                return self._endpoint_groups(change.key, old, new)
            case "nodes":
                return self._node(change.key, new)

    def _service(self, key: Key, old: tuple[Value, ...], new: tuple[Value, ...]) -> set[Key]:
        for s in old:
            if isinstance(s, Service) and (pair := _filing(s)) is not None:
                filed = self._by_pair.get(pair)
                if filed is not None:
                    filed.discard(key)
                    if not filed:
                        del self._by_pair[pair]
        self.services.pop(key, None)
        for s in new:
            if isinstance(s, Service):
                self.services[key] = s
                if (pair := _filing(s)) is not None:
                    self._by_pair.setdefault(pair, set()).add(key)
        return {key}

    def _pod(self, old: tuple[Value, ...], new: tuple[Value, ...]) -> set[Key]:
        affected: set[Key] = set()
        for p in old:
            if isinstance(p, Pod):
                self.idx.remove_pod(p)
                affected |= self._selecting(p)
        for p in new:
            if isinstance(p, Pod):
                self.idx.add_pod(p)
                affected |= self._selecting(p)
        return affected

    def _selecting(self, p: Pod) -> set[Key]:
        """The services that select `p` by its labels, or whose endpoints name it."""
        out = set(self._named_by.get(p.ref, ()))
        ns = p.namespace
        for k, v in p.labels.items():
            for key in self._by_pair.get((ns, k, v), ()):
                selector = self.services[key].selector or {}
                if all(p.labels.get(sk) == sv for sk, sv in selector.items()):
                    out.add(key)
        return out

    def _endpoint_groups(
        self, key: Key, old: tuple[Value, ...], new: tuple[Value, ...]
    ) -> set[Key]:
        affected: set[Key] = set()
        for groups, sign in ((old, -1), (new, 1)):
            by_service: dict[Key, list[EndpointGroup]] = {}
            for g in groups:
                if isinstance(g, EndpointGroup):
                    by_service.setdefault((g.namespace, g.service), []).append(g)
            for svc, gs in by_service.items():
                affected.add(svc)
                kept = self._groups.setdefault(svc, {})
                if sign > 0:
                    kept[key] = tuple(gs)
                else:
                    kept.pop(key, None)
                for g in gs:
                    for e in g.endpoints:
                        if e.pod is not None:
                            self._count(e.pod, svc, sign)
        for svc in affected:
            kept = self._groups.get(svc, {})
            flat = [g for gs in kept.values() for g in gs]
            if flat:
                self.idx.groups[svc] = flat
            else:
                self.idx.groups.pop(svc, None)
                self._groups.pop(svc, None)
        return affected

    def _count(self, pod: PodRef, svc: Key, sign: int) -> None:
        named = self._named_by.setdefault(pod, {})
        n = named.get(svc, 0) + sign
        if n > 0:
            named[svc] = n
        else:
            named.pop(svc, None)
            if not named:
                del self._named_by[pod]

    def _node(self, key: Key, new: tuple[Value, ...]) -> set[Key]:
        self.nodes.pop(key[1], None)
        for n in new:
            if isinstance(n, Node):
                self.nodes[key[1]] = n
        ips = _node_ips(self.nodes)
        before = [(n.name, zone_of(n)) for n in self.idx.node_list]
        self.idx.node_list = [self.nodes[n] for n in sorted(self.nodes)]
        out: set[Key] = set()
        if before != [(n.name, zone_of(n)) for n in self.idx.node_list]:
            # Topology hints: which endpoints a node uses follows its zone (and the node set).
            out = {
                k for k, c in self.chains.items() if any(in_force(pc.backends) for pc in c.ports)
            }
        if ips == self.idx.node_ips:
            return out
        self.idx.node_ips = ips
        return out | {k for k, s in self.services.items() if _depends_on_nodes(s)}

    # --- chains --------------------------------------------------------------------------

    def rebuild(self, keys: Iterable[Key]) -> list[ChainEvent]:
        """Rebuild the chains of `keys` and say what changed, service by service in name order."""
        out: list[ChainEvent] = []
        for key in sorted(keys):
            svc = self.services.get(key)
            new = service_chain(self.idx, svc) if svc is not None else None
            old = self.chains.get(key)
            if new is None:
                self.chains.pop(key, None)
            else:
                self.chains[key] = new
            out.extend(diff(old, new))
        return out

    def step(self, change: Change) -> list[ChainEvent]:
        """Apply one event and rebuild what it touches."""
        return self.rebuild(self.apply(change))

    def current(self) -> list[ServiceChain]:
        """Every chain, by namespace and name (as `chain.build` orders them)."""
        return [self.chains[k] for k in sorted(self.chains)]

    def as_snapshot(self) -> Snapshot:
        """The watched kinds as they are now, the rest as first read (for trace)."""
        return msgspec.structs.replace(
            self.snapshot,
            services=tuple(self.services[k] for k in sorted(self.services)),
            pods=tuple(self.idx.pods[r] for r in sorted(self.idx.pods)),
            endpoint_groups=tuple(
                g
                for k in sorted(self.slices)
                for g in self.slices[k]
                if isinstance(g, EndpointGroup)
            ),
            nodes=tuple(self.nodes[n] for n in sorted(self.nodes)),
        )


def _filing(s: Service) -> tuple[str, str, str] | None:
    """The one selector pair a service is filed under (None: it selects no pod)."""
    if not s.selector or s.type == "ExternalName":
        return None
    k = min(s.selector)
    return (s.namespace, k, s.selector[k])


def _same_but_addresses(a: Service, b: Service) -> bool:
    """Whether two versions of a service differ at most in load balancer and external IPs.

    Then only frontends changed (a load balancer's address assigned, say), not the ports.
    """
    if a == b:
        return True
    moved = msgspec.structs.replace(
        a, load_balancer_ingress=b.load_balancer_ingress, external_ips=b.external_ips
    )
    return moved == b


def _backend_key(b: Backend) -> tuple[str, int, str, PodRef | None]:
    return (b.address, b.port, b.protocol, b.pod)


def diff(old: ServiceChain | None, new: ServiceChain | None) -> list[ChainEvent]:
    """The events that turn one service's chain `old` into `new` (None: no such service)."""
    if old == new:
        return []
    if new is None:
        if old is None:
            return []
        return [ChainEvent("service-removed", old.service.namespace, old.service.name)]
    ns, name = new.service.namespace, new.service.name
    if old is None:
        return [ChainEvent("service-added", ns, name, chain=new)]
    if not _same_but_addresses(old.service, new.service) or len(old.ports) != len(new.ports):
        return [ChainEvent("service-changed", ns, name, chain=new)]
    out: list[ChainEvent] = []
    for before, after in zip(old.ports, new.ports, strict=True):
        sp = after.port
        if before.frontends != after.frontends or before.topology != after.topology:
            out.append(
                ChainEvent(
                    "frontends-changed",
                    ns,
                    name,
                    sp,
                    frontends=after.frontends,
                    topology=after.topology,
                )
            )
        was = {_backend_key(b): b for b in before.backends}
        now = {_backend_key(b): b for b in after.backends}
        for k, b in was.items():
            if k not in now:
                out.append(ChainEvent("backend-removed", ns, name, sp, b))
        for k, b in now.items():
            prev = was.get(k)
            if prev is None:
                out.append(ChainEvent("backend-added", ns, name, sp, b))
            elif prev != b:
                if prev.ready != b.ready:
                    kind: ChainEventKind = "backend-ready" if b.ready else "backend-not-ready"
                else:
                    kind = "backend-changed"
                out.append(ChainEvent(kind, ns, name, sp, b))
    return out


def addresses(values: Iterable[Value]) -> set[str]:
    """The IPs the objects of an event carry: a pod's, a node's, a service's, an endpoint's."""
    out: set[str] = set()
    for v in values:
        if isinstance(v, Pod):
            out.update(v.pod_ips)
            if v.host_ip:
                out.add(v.host_ip)
        elif isinstance(v, Node):
            out.update(a.address for a in v.addresses)
        elif isinstance(v, Service):
            out.update(v.cluster_ips)
            out.update(v.external_ips)
            out.update(i.address for i in v.load_balancer_ingress if i.address)
        elif isinstance(v, EndpointGroup):
            out.update(e.address for e in v.endpoints)
    return out


def involved(r: TraceResult) -> set[Key]:
    """The services a trace names (matched, routed through, backed, open on a node)."""
    names = {m.service for m in r.matches if m.service}
    names |= {h.service for h in r.routes} | {h.service for h in r.health_checks}
    names |= {h.service for h in r.backs}
    names |= {h.service for h in r.direct if h.service}
    names |= {h.service for h in r.open_ports if h.service}
    return {(ns, name) for ns, _, name in (n.partition("/") for n in names)}
