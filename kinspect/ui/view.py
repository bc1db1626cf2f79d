"""What `kinspect ui` shows, as plain values: no Textual here, so it is tested on plain data.

A `View` is built once per snapshot (the first read, every refresh, every live post; a live
post's from the state's chains, reusing what did not change: `View.after`):
the namespaces with their counts, each namespace's services with their state, each service's
chain tree (the words of `render.tree`), the search index over services, pods and addresses,
and the trace and audit of a selection (`path/trace.py` and `audit/checks.py` on the same
snapshot).
"""

from __future__ import annotations

import datetime
import ipaddress
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from rich.console import Group, RenderableType
from rich.text import Text
from rich.tree import Tree

from kinspect.audit import checks as audit
from kinspect.audit import finding as audit_finding
from kinspect.audit import report as auditreport
from kinspect.edge import entry
from kinspect.model.errors import KinspectError
from kinspect.model.snapshot import Snapshot
from kinspect.model.values import Pod, PodRef
from kinspect.path import chain, trace
from kinspect.path.chain import ServiceChain
from kinspect.render import tree
from kinspect.render.audit import AuditFormat, RenderContext
from kinspect.render.audit import render as render_audit
from kinspect.render.safe import plain

ServiceKey = tuple[str, str]  # (namespace, name)

# A service's state in the list, from the same per-backend states `map` shows in STATE:
# ready (every port has a ready backend and none is unready or left out), degraded (some
# traffic is served, something is not ready or gets no endpoint), none (no ready backend on
# any port), dns (ExternalName: a CNAME, no backends; map says "DNS only").
State = Literal["ready", "degraded", "none", "dns"]
STATE_STYLE: dict[State, str] = {
    "ready": "green",
    "degraded": "yellow",
    "none": "bold red",
    "dns": "dim",
}

HitKind = Literal["service", "pod", "ClusterIP", "PodIP", "NodeIP", "LoadBalancer", "ExternalIP"]
SEARCH_LIMIT = 50


@dataclass(frozen=True, slots=True)
class Health:
    state: State
    ready: int  # ready backend addresses
    total: int  # backend addresses, and selected pods that get no endpoint


def health(c: ServiceChain) -> Health:
    """The state of a service from its chain (see `State`)."""
    if c.service.type == "ExternalName":
        return Health("dns", 0, 0)
    ready: set[str] = set()
    every: set[str] = set()
    trouble = False
    ports_served = 0
    for pc in c.ports:
        served = False
        listed = {b.pod for b in pc.backends}
        for b in pc.backends:
            every.add(b.address)
            if b.ready:
                ready.add(b.address)
                served = True
            else:
                trouble = True
        for nb in pc.not_backends:
            if nb.pod not in listed:
                every.add(str(nb.pod))
                trouble = True
        ports_served += served
    if not ports_served:
        return Health("none", 0, len(every))
    ok = ports_served == len(c.ports) and not trouble
    return Health("ready" if ok else "degraded", len(ready), len(every))


@dataclass(frozen=True, slots=True)
class ServiceRow:
    key: ServiceKey
    chain: ServiceChain
    health: Health

    @property
    def name(self) -> str:
        return self.key[1]

    def ports(self) -> str:
        return ",".join(
            f"{p.port}/{p.protocol}" if p.protocol != "TCP" else str(p.port)
            for p in self.chain.service.ports
        )

    def address(self) -> str | None:
        """What `t` traces for the service: its first ClusterIP and port."""
        s = self.chain.service
        if not s.cluster_ips:
            return None
        ip = s.cluster_ips[0]
        host = f"[{ip}]" if ":" in ip else ip
        return f"{host}:{s.ports[0].port}" if s.ports else ip


@dataclass(frozen=True, slots=True)
class NamespaceRow:
    name: str
    services: int
    pods: int
    troubled: int  # services degraded or with no ready backend


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result: what it is, and where the view jumps."""

    kind: HitKind
    text: str  # as listed (cluster text: the app shows it as `Text`)
    namespace: str | None = None
    service: ServiceKey | None = None
    pod: PodRef | None = None
    address: str | None = None  # what `t` traces after the jump


@dataclass(frozen=True, slots=True)
class Loaded:
    """One read of the source: the snapshot, where it came from, when, what could not be read."""

    snapshot: Snapshot
    source: str  # "context kind-x (https://…)" or "snapshot file x.json.gz"
    read_at: datetime.datetime
    notes: tuple[str, ...] = ()
    namespace: str | None = None  # where to start (the context's namespace, -n)


@dataclass
class View:
    """One snapshot as the app shows it.

    Built whole from a snapshot (`View(snapshot, notes)`: every chain), or after a watch's
    batch from the chains the live state already rebuilt (`View.after`): the rows and search
    entries of services and pods that did not change are the old view's, reused.
    """

    snapshot: Snapshot
    notes: tuple[str, ...] = ()  # what could not be read
    rows: dict[str, list[ServiceRow]] = field(init=False)
    by_key: dict[ServiceKey, ServiceRow] = field(init=False)
    namespaces: list[NamespaceRow] = field(init=False)
    # `after`'s view before this one, until the search index reuses its entries (then None).
    _before: View | None = field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        index = chain.Index.of(self.snapshot)
        self.__dict__["index"] = index  # the cached property, already built
        self._fill(chain.build(self.snapshot, index), None, frozenset())

    @classmethod
    def after(
        cls,
        before: View,
        snapshot: Snapshot,
        chains: list[ServiceChain],
        touched: frozenset[ServiceKey],
        notes: tuple[str, ...] = (),
    ) -> View:
        """The view of `snapshot`, reusing what did not change since `before`.

        `chains`: every chain, as `live.State.current()` gives them, differing from `before`'s
        at most in `touched` (the rest is reused, not recomputed). The index for trace and
        the audit is built when first asked for.
        """
        self = cls.__new__(cls)
        self.snapshot, self.notes, self._before = snapshot, notes, None
        self._fill(chains, before, touched)
        # The search entries of what did not change come from `before`, when it built them.
        self._before = before if "_haystack" in before.__dict__ else None
        return self

    def _fill(
        self, chains: list[ServiceChain], before: View | None, touched: frozenset[ServiceKey]
    ) -> None:
        old = before.by_key if before is not None else {}
        self.rows = defaultdict(list)
        self.by_key = {}
        for c in chains:
            key = (c.service.namespace, c.service.name)
            kept = old.get(key)
            if kept is not None and kept.chain is c and key not in touched:
                row = kept
            else:
                row = ServiceRow(key, c, health(c))
            self.rows[key[0]].append(row)
            self.by_key[key] = row
        for rows in self.rows.values():
            rows.sort(key=lambda r: r.name)
        pods: dict[str, int] = defaultdict(int)
        for p in self.snapshot.pods:
            pods[p.namespace] += 1
        names = {n.name for n in self.snapshot.namespaces} | set(self.rows) | set(pods)
        self.namespaces = [
            NamespaceRow(
                n,
                len(self.rows.get(n, ())),
                pods.get(n, 0),
                sum(r.health.state in ("degraded", "none") for r in self.rows.get(n, ())),
            )
            for n in sorted(names)
        ]

    @cached_property
    def index(self) -> chain.Index:
        return chain.Index.of(self.snapshot)

    @property
    def chains(self) -> list[ServiceChain]:
        return [r.chain for rows in self.rows.values() for r in rows]

    def services(self, namespace: str | None) -> list[ServiceRow]:
        return self.rows.get(namespace, []) if namespace is not None else []

    @cached_property
    def _entries(self) -> dict[entry.PortKey, list[entry.Entrypoint]]:
        if not self.snapshot.ingresses and not self.snapshot.routes:
            return {}  # no entry point: no index to build (one per post, when live)
        return entry.entries_by_port(entry.entrypoints(self.index))

    def chain_tree(self, key: ServiceKey) -> Tree:
        """The service's chain as `map -o tree` draws it (service, ports, hops, containers)."""
        drawn = tree.map_tree([self.by_key[key].chain], self._entries)
        first = drawn.renderables[0] if isinstance(drawn, Group) else drawn
        if not isinstance(first, Tree):
            raise TypeError(f"map_tree drew a {type(first).__name__}, not a Tree")
        return first

    # --- search ------------------------------------------------------------------------

    @cached_property
    def _pod_services(self) -> dict[PodRef, ServiceKey]:
        """The first service (by name) each pod backs or is selected by."""
        out: dict[PodRef, ServiceKey] = {}
        for key in sorted(self.by_key):
            for pc in self.by_key[key].chain.ports:
                for b in pc.backends:
                    if b.pod is not None:
                        out.setdefault(b.pod, key)
                for nb in pc.not_backends:
                    out.setdefault(nb.pod, key)
        return out

    @cached_property
    def _service_hits(self) -> dict[ServiceKey, list[tuple[str, Hit]]]:
        before = self._before._service_hits if self._before is not None else {}
        old = self._before.by_key if self._before is not None else {}
        out: dict[ServiceKey, list[tuple[str, Hit]]] = {}
        for key, row in sorted(self.by_key.items()):
            kept = before.get(key)
            if kept is not None and old.get(key) is row:
                out[key] = kept
                continue
            name = f"{key[0]}/{key[1]}"
            s = row.chain.service
            hits = [(name, Hit("service", f"service {name}", key[0], key, None, row.address()))]
            addresses: list[tuple[HitKind, str, str]] = [
                *(("ClusterIP", ip, "ClusterIP") for ip in s.cluster_ips),
                *(("LoadBalancer", lb.address, "load balancer") for lb in s.load_balancer_ingress),
                *(("ExternalIP", ip, "externalIP") for ip in s.external_ips),
            ]
            for kind, a, what in addresses:
                hits.append((a, Hit(kind, f"{a}  {what} of {name}", key[0], key, None, a)))
            out[key] = [(k.lower(), h) for k, h in hits]
        return out

    @cached_property
    def _pod_hits(self) -> dict[PodRef, tuple[Pod, ServiceKey | None, list[tuple[str, Hit]]]]:
        """Each pod's search entries, with the pod and service they were made of."""
        before = self._before._pod_hits if self._before is not None else {}
        out: dict[PodRef, tuple[Pod, ServiceKey | None, list[tuple[str, Hit]]]] = {}
        for p in self.snapshot.pods:
            ref = p.ref
            svc = self._pod_services.get(ref)
            kept = before.get(ref)
            if kept is not None and kept[0] is p and kept[1] == svc:
                out[ref] = kept
                continue
            first = p.pod_ips[0] if p.pod_ips else None
            hits = [(str(ref), Hit("pod", f"pod {ref}", p.namespace, svc, ref, first))]
            for ip in p.pod_ips:
                what = "hostNetwork pod" if p.host_network else "pod IP of"
                hits.append((ip, Hit("PodIP", f"{ip}  {what} {ref}", p.namespace, svc, ref, ip)))
            out[ref] = (p, svc, [(k.lower(), h) for k, h in hits])
        return out

    @cached_property
    def _haystack(self) -> list[tuple[str, Hit]]:
        out = [h for hits in self._service_hits.values() for h in hits]
        out.extend(h for _, _, hits in self._pod_hits.values() for h in hits)
        for n in self.snapshot.nodes:
            for na in n.addresses:
                text = f"{na.address}  {na.type} of node {n.name}"
                out.append((na.address.lower(), Hit("NodeIP", text, None, None, None, na.address)))
        self._before = None  # its entries are reused or rebuilt: the old view may go
        return out

    def warm(self) -> None:
        """Build now (off the app's thread) what a key would otherwise wait for.

        The search index (the first key of `/`), and the entry points every chain tree shows
        (with the index they need: tens of ms at 10k pods, not on the app's thread).
        """
        _ = self._haystack
        _ = self._entries

    def search(self, query: str, limit: int = SEARCH_LIMIT) -> list[Hit]:
        """Services, pods and addresses whose name or address contains `query`.

        Exact matches first (10.244.0.5 before 10.244.0.50), then those that start with it,
        then the rest, each in index order (services, pods, nodes).
        """
        q = query.strip().lower()
        if not q:
            return []
        exact: list[Hit] = []
        start: list[Hit] = []
        inside: list[Hit] = []
        for key, hit in self._haystack:
            if q not in key:
                continue
            if key == q or key.endswith("/" + q):
                exact.append(hit)
            elif key.startswith(q):
                start.append(hit)
            elif len(inside) < limit:
                inside.append(hit)
        return (exact + start + inside)[:limit]

    # --- trace and audit ---------------------------------------------------------------

    def trace(self, address: str) -> RenderableType:
        """`kinspect trace ADDRESS[:PORT]` on this snapshot, as its tree."""
        try:
            target = trace.parse_target(address)
        except KinspectError as e:
            return Text(plain(f"cannot trace {address}: {e.message}"), style="red")
        return tree.trace_tree(trace.trace(self.index, target))

    @cached_property
    def findings(self) -> list[audit_finding.Finding]:
        """Every audit finding of the snapshot (run once, on the first `a`)."""
        return audit.run(self.snapshot, self.chains, self.index)

    def audit(self, namespace: str, service: str | None) -> RenderableType:
        """The audit's text report, narrowed to one namespace, or one service of it."""
        found = tuple(
            f
            for f in self.findings
            if f.namespace == namespace and (service is None or f.service == service)
        )
        audited = tuple(
            f"{k[0]}/{k[1]}"
            for k in self.by_key
            if k[0] == namespace and (service is None or k[1] == service)
        )
        result = auditreport.combine(
            [auditreport.ContextResult(self.snapshot.context, None, (), audited, found)]
        )
        ctx = RenderContext(datetime.datetime.now(datetime.UTC), audit_finding.Severity.WARNING)
        return render_audit(AuditFormat.text, result, ctx)

    def changed(self, old: View | None) -> frozenset[ServiceKey]:
        """Services whose chain differs from `old`'s (added ones included)."""
        if old is None:
            return frozenset()
        before = old.by_key
        return frozenset(
            k for k, r in self.by_key.items() if k not in before or before[k].chain != r.chain
        )


def address_in(label: str) -> str | None:
    """The first IP:PORT in a chain-tree line (`10.244.0.5:8080  ready  pod ...`), to trace.

    An IPv6 address is written `[fd00::5]:8080` by the tree (`fd00::5:8080` before issue 22,
    still read): the last colon splits off the port.
    """
    for word in label.replace("(", " ").replace(")", " ").split():
        host, sep, port = word.rpartition(":")
        if not sep or not (port.isascii() and port.isdigit()):
            continue
        try:
            ip = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            continue
        return f"[{ip}]:{port}" if ip.version == 6 else f"{ip}:{port}"
    return None
