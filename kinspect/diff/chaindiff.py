"""What changed in the traffic chain between two snapshots, or in the findings of two audits.

Pure. Both snapshots are built into chains (`chain.build`, and `entry.entrypoints` for the
Ingress and Gateway entry points), then matched through dicts, never nested scans, so two
100k-pod snapshots cost two chain builds and one linear pass:

- services by namespace/name, with the fields that steer traffic (type, selector, traffic
  policies, externalName, publishNotReadyAddresses) as `service-changed`;
- ports by name (the API makes names unique within a service; the one unnamed port a service
  may have matches the other side's unnamed port): a new number, protocol, targetPort,
  nodePort or appProtocol under the same name is `port-changed`;
- frontends (ClusterIP, NodePort per node address, LoadBalancer ingress, externalIPs, and the
  Ingress paths and Gateway routes landing on the port) by what they say;
- backends by pod and address family (an endpoint without a targetRef: by address), with
  their state (ready, not-ready, terminating, serving while terminating) and address;
- the container port a named targetPort resolves to, as the set of endpoint ports of the
  service port's backends: a Deployment rollout replaces every pod, so comparing pod by pod
  would never see it (a StatefulSet's, which keeps the names, shows here too);
- pods the selector matches that get no endpoint, by pod, with why (a stuck rollout's new pod);
- on how many nodes a NodePort (or an internalTrafficPolicy Local ClusterIP) answers.

A service that appears or disappears is one change, not one per port, frontend and backend; so
is a port. Audit reports are compared by `Finding.identity`, as `--baseline` does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from kinspect.audit.report import BaselineFinding
from kinspect.edge import entry
from kinspect.model.snapshot import Snapshot
from kinspect.model.values import PodRef, Service, ServicePort, host_port
from kinspect.path import chain, reasons
from kinspect.path.chain import Backend, Frontend, NodeAnswer, NotBackend, PortChain, ServiceChain

ChangeKind = Literal[
    "service-added",
    "service-removed",
    "service-changed",
    "port-added",
    "port-removed",
    "port-changed",
    "target-port-changed",
    "frontend-added",
    "frontend-removed",
    "backend-added",
    "backend-removed",
    "backend-state",
    "backend-address",
    "pod-no-endpoint",
    "answers-changed",
    "finding-new",
    "finding-resolved",
]
CHANGE_KINDS: tuple[ChangeKind, ...] = get_args(ChangeKind)

BackendState = Literal["ready", "not-ready", "terminating", "serving-terminating"]
SourceKind = Literal["snapshot", "live", "audit"]


@dataclass(frozen=True, slots=True)
class Change:
    """One difference. `before`/`after` are None on the side where the thing is absent."""

    kind: ChangeKind
    namespace: str
    service: str  # "" for a finding about pods of a node
    port: str | None = None  # "http 80/TCP", "80/TCP": the service port it is on
    subject: str = ""  # the frontend, the backend's pod (or address), the check id
    before: str | None = None
    after: str | None = None
    pod: PodRef | None = None  # backends with a targetRef
    context: str | None = None  # findings
    severity: str | None = None  # findings: info, warning, error


@dataclass(frozen=True, slots=True)
class Side:
    """One input of the diff: a snapshot file, the live cluster, or an audit report."""

    source: SourceKind
    path: str | None  # None for live
    context: str  # the snapshot's context, or the audit report's contexts, comma-separated


@dataclass(frozen=True, slots=True)
class ChainDiff:
    old: Side
    new: Side
    namespace: str | None  # -n: only this namespace was compared
    changes: tuple[Change, ...]

    @property
    def different(self) -> bool:
        return bool(self.changes)

    def summary(self) -> dict[ChangeKind, int]:
        """How many changes of each kind, every kind present (0 when none)."""
        counts = Counter(c.kind for c in self.changes)
        return {k: counts.get(k, 0) for k in CHANGE_KINDS}


def port_text(p: ServicePort) -> str:
    """`name 80/TCP`, `80/TCP`."""
    return f"{p.name + ' ' if p.name else ''}{p.port}/{p.protocol}"


def _port_detail(p: ServicePort) -> str:
    """Everything a port-changed compares: `80/TCP → http, nodePort 30080, appProtocol h2c`."""
    out = f"{p.port}/{p.protocol}"
    if p.target_port is not None:
        out += f" → {p.target_port}"
    if p.node_port:
        out += f", nodePort {p.node_port}"
    if p.app_protocol:
        out += f", appProtocol {p.app_protocol}"
    return out


def _frontend_text(f: Frontend) -> str:
    where = f" ({f.node})" if f.node else ""
    return f"{f.kind} {host_port(f.address, f.port)}{where}"


def _entry_text(e: entry.Entrypoint) -> str:
    """`Ingress shop/web host shop.example.com path /api (Prefix)`."""
    return f"{e.kind} {e.namespace}/{e.name} host {e.host} path {e.path}"


def backend_state(b: Backend) -> BackendState:
    """The endpoint conditions as one word: what kube-proxy makes of them."""
    if b.ready:
        return "ready"
    if b.terminating:
        return "serving-terminating" if b.serving else "terminating"
    return "not-ready"


def _backend_key(b: Backend) -> tuple[PodRef | None, str]:
    # A dual-stack pod is a backend twice, once per family; an endpoint without a targetRef is
    # known only by its address.
    if b.pod is not None:
        return b.pod, "6" if ":" in b.address else "4"
    return None, b.address


def _backend_where(b: Backend) -> str:
    return host_port(b.address, b.port)


def _container_port(b: Backend) -> str:
    return f"{b.port} ({b.container})" if b.container else str(b.port)


_Entries = dict[tuple[str, str, int], list[str]]


def _entries(idx: chain.Index) -> _Entries:
    out: _Entries = {}
    for key, eps in entry.entries_by_port(entry.entrypoints(idx)).items():
        out[key] = [_entry_text(e) for e in eps]
    return out


def _frontends(pc: PortChain, svc_key: tuple[str, str], entries: _Entries) -> dict[str, None]:
    texts = [_frontend_text(f) for f in pc.frontends]
    texts += entries.get((*svc_key, pc.port.port), [])
    return dict.fromkeys(texts)


def _port_key(p: ServicePort) -> str:
    return p.name or ""


@dataclass(frozen=True, slots=True)
class _Built:
    chains: dict[tuple[str, str], ServiceChain]
    entries: _Entries


def _build(snap: Snapshot) -> _Built:
    idx = chain.Index.of(snap)
    chains = {(c.service.namespace, c.service.name): c for c in chain.build(snap, idx)}
    return _Built(chains, _entries(idx))


def diff_snapshots(old: Snapshot, new: Snapshot) -> list[Change]:
    """Every change of the traffic chain from `old` to `new`, by namespace and service."""
    a, b = _build(old), _build(new)
    out: list[Change] = []
    for key in sorted(a.chains.keys() | b.chains.keys()):
        ns, name = key
        before, after = a.chains.get(key), b.chains.get(key)
        if before is None and after is not None:
            s = after.service
            out.append(Change("service-added", ns, name, after=f"{s.type}, {len(s.ports)} port(s)"))
        elif after is None and before is not None:
            s = before.service
            out.append(
                Change("service-removed", ns, name, before=f"{s.type}, {len(s.ports)} port(s)")
            )
        elif before is not None and after is not None:
            out += _diff_service(before, after, a.entries, b.entries)
    return out


def _service_fields(s: Service) -> dict[str, str]:
    """What a service-changed compares, in words: the fields that steer traffic, not ports."""
    out: dict[str, str] = {"type": s.type}
    if s.selector is not None:
        out["selector"] = ",".join(f"{k}={v}" for k, v in sorted(s.selector.items())) or "{}"
    if s.external_name:
        out["externalName"] = s.external_name
    if s.external_traffic_policy:
        out["externalTrafficPolicy"] = s.external_traffic_policy
    if s.internal_traffic_policy:
        out["internalTrafficPolicy"] = s.internal_traffic_policy
    if s.publish_not_ready_addresses:
        out["publishNotReadyAddresses"] = "true"
    if s.traffic_distribution:
        out["trafficDistribution"] = s.traffic_distribution
    if s.affinity_seconds is not None:
        out["sessionAffinity"] = f"ClientIP {s.affinity_seconds}s"
    if s.load_balancer_source_ranges:
        out["loadBalancerSourceRanges"] = ",".join(s.load_balancer_source_ranges)
    return out


def _service_changed(before: Service, after: Service) -> Change | None:
    """The steering fields that differ, each side as `type NodePort, selector app=web`."""
    a, b = _service_fields(before), _service_fields(after)
    keys = [k for k in dict.fromkeys([*a, *b]) if a.get(k) != b.get(k)]
    if not keys:
        return None

    def side(f: dict[str, str]) -> str:
        return ", ".join(f"{k} {f.get(k, '(none)')}" for k in keys)

    return Change("service-changed", after.namespace, after.name, before=side(a), after=side(b))


def _diff_service(
    before: ServiceChain, after: ServiceChain, old_entries: _Entries, new_entries: _Entries
) -> list[Change]:
    ns, name = after.service.namespace, after.service.name
    old_ports = {_port_key(pc.port): pc for pc in before.ports}
    new_ports = {_port_key(pc.port): pc for pc in after.ports}
    out: list[Change] = []
    if changed := _service_changed(before.service, after.service):
        out.append(changed)
    # The new side's order (as the service lists them), then ports that are gone.
    for k in [*new_ports, *(k for k in old_ports if k not in new_ports)]:
        o, n = old_ports.get(k), new_ports.get(k)
        if o is None and n is not None:
            out.append(
                Change("port-added", ns, name, port_text(n.port), after=_port_detail(n.port))
            )
        elif n is None and o is not None:
            out.append(
                Change("port-removed", ns, name, port_text(o.port), before=_port_detail(o.port))
            )
        elif o is not None and n is not None:
            out += _diff_port(ns, name, o, n, old_entries, new_entries)
    return out


def _diff_port(
    ns: str,
    name: str,
    o: PortChain,
    n: PortChain,
    old_entries: _Entries,
    new_entries: _Entries,
) -> list[Change]:
    port = port_text(n.port)
    out: list[Change] = []
    if o.port != n.port:
        out.append(
            Change(
                "port-changed",
                ns,
                name,
                port,
                before=_port_detail(o.port),
                after=_port_detail(n.port),
            )
        )
    target = n.port.target_port
    if isinstance(target, str) and target == o.port.target_port:
        was = sorted({_container_port(b) for b in o.backends})
        now = sorted({_container_port(b) for b in n.backends})
        if was and now and was != now:
            out.append(
                Change(
                    "target-port-changed",
                    ns,
                    name,
                    port,
                    subject=target,
                    before=", ".join(was),
                    after=", ".join(now),
                )
            )
    f_old = _frontends(o, (ns, name), old_entries)
    f_new = _frontends(n, (ns, name), new_entries)
    out += [Change("frontend-removed", ns, name, port, f) for f in sorted(f_old.keys() - f_new)]
    out += [Change("frontend-added", ns, name, port, f) for f in sorted(f_new.keys() - f_old)]
    out += _diff_backends(ns, name, port, o.backends, n.backends)
    out += _diff_idle(ns, name, port, o, n)
    out += _diff_answers(ns, name, port, o, n)
    return out


def _diff_idle(ns: str, name: str, port: str, o: PortChain, n: PortChain) -> list[Change]:
    """Selected pods that get no endpoint: appeared, gone, or idle for another reason.

    A pod the slice lists (not ready, terminating) is a backend: backend-state says it.
    """

    def idle(pc: PortChain) -> dict[PodRef, NotBackend]:
        listed = {b.pod for b in pc.backends}
        return {nb.pod: nb for nb in pc.not_backends if nb.pod not in listed}

    def key(nb: NotBackend | None) -> tuple[str, str | None] | None:
        # The reason, not its words: the scheduler rewrites its message on every attempt
        # ("0/3 nodes are available: ..."), which is no change of the pod's state.
        return (nb.reason, nb.scheduled_reason or nb.named_port) if nb else None

    def words(nb: NotBackend | None) -> str | None:
        return reasons.not_backend(nb) if nb else None

    a, b = idle(o), idle(n)
    return [
        Change("pod-no-endpoint", ns, name, port, str(p), words(a.get(p)), words(b.get(p)), p)
        for p in sorted(a.keys() | b.keys())
        if key(a.get(p)) != key(b.get(p))
    ]


def _answering(answers: Iterable[tuple[str | None, bool | None]]) -> str | None:
    """`3/3 nodes`, `1/3 nodes (n0)`: on how many nodes it answers, naming them when not all."""
    nodes: dict[str, bool] = {}
    for node, ok in answers:
        if node is not None and ok is not None:
            nodes[node] = nodes.get(node, False) or ok
    if not nodes:
        return None
    yes = sorted(n for n, ok in nodes.items() if ok)
    text = f"{len(yes)}/{len(nodes)} nodes"
    if 0 < len(yes) < len(nodes):
        named = ", ".join(yes[:5]) + (", ..." if len(yes) > 5 else "")
        text += f" ({named})"
    return text


def _from_nodes(answers: Iterable[NodeAnswer]) -> str | None:
    return _answering((a.node, a.answers) for a in answers)


def _diff_answers(ns: str, name: str, port: str, o: PortChain, n: PortChain) -> list[Change]:
    """A NodePort whose answering nodes changed (3/3 → 1/3), and likewise a Local ClusterIP."""
    out = []
    np = n.port.node_port
    if np is not None and np == o.port.node_port:
        was = _answering((f.node, f.answers) for f in o.frontends if f.kind == "NodePort")
        now = _answering((f.node, f.answers) for f in n.frontends if f.kind == "NodePort")
        if was and now and was != now:
            out.append(Change("answers-changed", ns, name, port, f"NodePort {np}", was, now))
    old_ips = {f.address: f for f in o.frontends if f.kind == "ClusterIP"}
    for f in n.frontends:
        g = old_ips.get(f.address)
        if f.kind != "ClusterIP" or g is None or g.port != f.port:
            continue
        was, now = _from_nodes(g.from_nodes), _from_nodes(f.from_nodes)
        if was and now and was != now:
            subject = f"{_frontend_text(f)} from nodes"
            out.append(Change("answers-changed", ns, name, port, subject, was, now))
    return out


def _subject(b: Backend) -> str:
    return str(b.pod) if b.pod is not None else b.address


def _diff_backends(
    ns: str, name: str, port: str, old: Sequence[Backend], new: Sequence[Backend]
) -> list[Change]:
    a = _by_key(old)
    b = _by_key(new)
    out: list[Change] = []
    for key in sorted(a.keys() | b.keys(), key=lambda k: (k[0] or PodRef("", ""), k[1])):
        o, n = a.get(key), b.get(key)
        if o is None and n is not None:
            out.append(
                Change(
                    "backend-added",
                    ns,
                    name,
                    port,
                    _subject(n),
                    after=f"{_backend_where(n)} {backend_state(n)}",
                    pod=n.pod,
                )
            )
        elif n is None and o is not None:
            out.append(
                Change(
                    "backend-removed",
                    ns,
                    name,
                    port,
                    _subject(o),
                    before=f"{_backend_where(o)} {backend_state(o)}",
                    pod=o.pod,
                )
            )
        elif o is not None and n is not None:
            if o.address != n.address:
                out.append(
                    Change(
                        "backend-address",
                        ns,
                        name,
                        port,
                        _subject(n),
                        before=o.address,
                        after=n.address,
                        pod=n.pod,
                    )
                )
            if backend_state(o) != backend_state(n):
                out.append(
                    Change(
                        "backend-state",
                        ns,
                        name,
                        port,
                        _subject(n),
                        before=backend_state(o),
                        after=backend_state(n),
                        pod=n.pod,
                    )
                )
    return out


def _by_key(backends: Iterable[Backend]) -> dict[tuple[PodRef | None, str], Backend]:
    out: dict[tuple[PodRef | None, str], Backend] = {}
    for b in backends:
        out.setdefault(_backend_key(b), b)  # a pod in two slices (a migration): the first
    return out


def diff_findings(
    old: Sequence[BaselineFinding], new: Sequence[BaselineFinding], namespace: str | None = None
) -> list[Change]:
    """Findings new in `new` and resolved since `old`, matched by identity (as --baseline)."""

    def keep(f: BaselineFinding) -> bool:
        return namespace is None or f.identity.namespace == namespace

    a = {f.identity: f for f in old if keep(f)}
    b = {f.identity: f for f in new if keep(f)}
    out: list[Change] = []
    for kind, gone, there in (
        ("finding-resolved", a, b),
        ("finding-new", b, a),
    ):
        for ident, f in gone.items():
            if ident in there:
                continue
            p = ident.port
            out.append(
                Change(
                    "finding-resolved" if kind == "finding-resolved" else "finding-new",
                    ident.namespace,
                    ident.service,
                    f"{p.name + ' ' if p.name else ''}{p.port}/{p.protocol}" if p else None,
                    ident.check,
                    before=f.message if kind == "finding-resolved" else None,
                    after=f.message if kind == "finding-new" else None,
                    context=ident.context,
                    severity=f.severity.label,
                )
            )
    out.sort(key=lambda c: (c.context or "", c.namespace, c.service, c.port or "", c.subject))
    return out
