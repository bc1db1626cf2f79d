"""Audit checks: what breaks (or weakens) the chain, as findings a platform team acts on.

Pure. Each check is a small function `(check, input)` yielding `Finding`s built by
`check.finding`, listed in the literal tuple `CHECKS` (no registration by import side effects),
where its id and usual severity are written once. Check ids are stable kebab-case and never
renamed. Severities follow Kubernetes semantics: `error` = traffic is or will be dropped,
`warning` = fragile or likely wrong, `info` = a style or cost note. Popeye's codes are cited
where a check covers one, without its false positives (it compares against one arbitrary pod,
and it calls an undeclared numeric port an error although traffic reaches whatever listens
there).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from enum import IntEnum
from functools import cached_property

from kinspect.edge.entry import EntryPath, class_of, entry_paths
from kinspect.edge.gateway import RefHop, attachments, resolve_refs
from kinspect.model.edge import Ingress, Route
from kinspect.model.policy import NetworkPolicy
from kinspect.model.snapshot import Snapshot
from kinspect.model.values import EndpointGroup, Pod, ProbePort, ServiceConsumer, ServicePort
from kinspect.path.chain import (
    Backend,
    Index,
    NotBackend,
    PortChain,
    ServiceChain,
    declared_port,
    named_port,
)
from kinspect.policy.netpol import PolicyIndex, Reach, dead_peer
from kinspect.policy.peer import Peer


class Severity(IntEnum):
    INFO = 0
    WARNING = 1
    ERROR = 2

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class PortKey:
    """The port a finding is about: a service port's name (if any), number and protocol."""

    name: str | None
    port: int
    protocol: str

    @classmethod
    def of(cls, sp: ServicePort) -> PortKey:
        return cls(sp.name or None, sp.port, sp.protocol)


@dataclass(frozen=True, slots=True)
class Identity:
    """A finding's identity across runs (baselines): not its message, which may carry counts."""

    context: str
    check: str
    namespace: str
    service: str
    port: PortKey | None


@dataclass(frozen=True, slots=True)
class Finding:
    check: str
    severity: Severity
    namespace: str
    service: str  # "" for findings about a node or pod rather than a service
    message: str
    port: PortKey | None = None
    pods: tuple[str, ...] = ()  # "namespace/name", each with its reason where there is one
    context: str = ""
    # Selected pods that get no traffic, listed after `pods`; render words their reasons.
    not_backends: tuple[NotBackend, ...] = ()

    @property
    def identity(self) -> Identity:
        return Identity(self.context, self.check, self.namespace, self.service, self.port)


@dataclass
class AuditInput:
    snapshot: Snapshot
    index: Index
    chains: list[ServiceChain]

    @cached_property
    def proxied(self) -> list[ServiceChain]:
        """Services whose traffic goes to endpoints (everything but ExternalName), listed once."""
        return [c for c in self.chains if c.service.type != "ExternalName"]

    @cached_property
    def policies(self) -> PolicyIndex | None:
        """The NetworkPolicies, indexed once; None when unread (unknown: checks stay quiet)."""
        s = self.snapshot
        if s.network_policy_state != "read" or not s.network_policies:
            return None
        return PolicyIndex(s, self.index.by_labels)


@dataclass(frozen=True)
class Check:
    id: str  # stable kebab-case: never renamed (ignore files and baselines refer to it)
    severity: Severity  # the usual severity; a check may lower it for a milder case
    run: Callable[[Check, AuditInput], Iterable[Finding]] = field(compare=False)
    popeye: tuple[str, ...] = ()  # Popeye codes this check covers
    # Set: the text, Markdown and HTML reports fold this check's findings into one line,
    # "N <rollup>: the services"; JSON and the other formats keep every finding.
    rollup: str = ""

    @property
    def doc(self) -> str:
        """What it catches and why it matters: the check function's docstring."""
        return (self.run.__doc__ or "").strip()

    def finding(
        self,
        chain: ServiceChain,
        message: str,
        port_chain: PortChain | None = None,
        pods: Sequence[str] = (),
        severity: Severity | None = None,
        not_backends: Sequence[NotBackend] = (),
    ) -> Finding:
        """A finding of this check on a service (and one of its ports)."""
        return Finding(
            self.id,
            self.severity if severity is None else severity,
            chain.service.namespace,
            chain.service.name,
            message,
            PortKey.of(port_chain.port) if port_chain else None,
            tuple(pods),
            not_backends=tuple(not_backends),
        )

    def finding_at(
        self,
        namespace: str,
        service: str,
        message: str,
        port: PortKey | None = None,
        pods: Sequence[str] = (),
    ) -> Finding:
        """A finding of this check on a place named by hand (a node's pods, a port's owner)."""
        return Finding(self.id, self.severity, namespace, service, message, port, tuple(pods))


def _proxied(a: AuditInput) -> list[ServiceChain]:
    """Services whose traffic goes to endpoints (everything but ExternalName)."""
    return a.proxied


def selector_matches_no_pods(check: Check, a: AuditInput) -> Iterator[Finding]:
    """The selector matches no pod: no endpoint at all, every connection fails (scaled to 0?)."""
    for c in _proxied(a):
        if c.service.selector and not c.selected:
            sel = ",".join(f"{k}={v}" for k, v in sorted(c.service.selector.items()))
            yield check.finding(
                c,
                f"selector {sel} matches no pod: no endpoint, traffic to this service is "
                "rejected (a workload scaled to zero, or a label typo)",
            )


def no_ready_endpoints(check: Check, a: AuditInput) -> Iterator[Finding]:
    """A port has no ready endpoint: connections are rejected or time out."""
    for c in _proxied(a):
        if c.service.selector and not c.selected:
            continue  # selector-matches-no-pods says it better
        if c.service.selector is None and not c.endpoint_groups:
            continue  # selectorless-without-endpoints
        for pc in c.ports:
            if not any(b.ready for b in pc.backends):
                n = len(pc.backends)
                yield check.finding(
                    c,
                    f"no ready endpoint ({n} not ready): traffic to this port is rejected",
                    pc,
                )


# Selector keys that name one pod by design (a per-pod service of a StatefulSet): such a
# service can never have a second endpoint, so a single one is not a finding.
SINGLE_POD_SELECTOR_KEYS = frozenset({"statefulset.kubernetes.io/pod-name"})


def single_ready_endpoint(check: Check, a: AuditInput) -> Iterator[Finding]:
    """One ready replica behind the service: a restart or rollout is a short outage."""
    for c in _proxied(a):
        if c.service.selector is None or SINGLE_POD_SELECTOR_KEYS & c.service.selector.keys():
            continue  # hand-made endpoints, or one pod by design
        ready = {b.pod or b.address for pc in c.ports for b in pc.backends if b.ready}
        if len(ready) == 1:
            (who,) = ready
            yield check.finding(
                c, "one ready replica: no redundancy during a restart or rollout", pods=[str(who)]
            )


def selected_pod_not_endpoint(check: Check, a: AuditInput) -> Iterator[Finding]:
    """Pods the selector matches that get no traffic (not ready, pending, finished)."""
    for c in _proxied(a):
        for pc in c.ports:
            # A pod without the named port: named-port-unresolvable says it. A terminating pod
            # gets no new traffic by design: endpoint-pod-terminating says it, as info.
            idle = [
                nb for nb in pc.not_backends if nb.reason not in ("no named port", "terminating")
            ]
            if idle:
                yield check.finding(
                    c,
                    f"{len(idle)} selected pod(s) receive no traffic on this port",
                    pc,
                    not_backends=idle,
                )


def named_port_unresolvable(check: Check, a: AuditInput) -> Iterator[Finding]:
    """A named targetPort missing in some (warning) or all (error) selected pods."""
    for c in _proxied(a):
        for pc in c.ports:
            tp = pc.port.target_port
            if not isinstance(tp, str) or not c.selected:
                continue
            missing = _missing_named(a, c, pc)
            if not missing:
                continue
            mixed = len(missing) < len(c.selected)
            what = (
                f"named targetPort {tp!r}/{pc.port.protocol} missing in {len(missing)} of "
                f"{len(c.selected)} selected pods (a mixed rollout?): they get no endpoint"
                if mixed
                else f"no selected pod declares a container port named {tp!r}/{pc.port.protocol}"
            )
            # A mixed rollout is milder: some pods still serve.
            yield check.finding(c, what, pc, missing, Severity.WARNING if mixed else None)


def _missing_named(a: AuditInput, c: ServiceChain, pc: PortChain) -> list[str]:
    """The selected pods ("namespace/name") in which a named targetPort does not resolve."""
    tp = pc.port.target_port
    if not isinstance(tp, str):
        return []
    return [str(r) for r in c.selected if named_port(a.index.pods[r], tp, pc.port.protocol) is None]


def _undeclared(a: AuditInput, pc: PortChain) -> list[str]:
    """The backend pods where a numeric targetPort lands on a port no container declares."""
    if isinstance(pc.port.target_port, str):
        return []
    return _backend_pods(
        pc,
        lambda b: b.pod_found and b.container_port is None and not _declares_other_protocol(a, b),
    )


def _probed(pod: Pod | None, port: int) -> bool:
    """A probe (httpGet, tcpSocket or gRPC) checks this port number: something listens there."""
    return pod is not None and any(pr.port == port for pr in pod.probes)


def target_port_undeclared(check: Check, a: AuditInput) -> Iterator[Finding]:
    """A numeric targetPort no container declares: may work, often a typo."""
    for c in _proxied(a):
        for pc in c.ports:
            pods = _undeclared(a, pc)
            if not pods:
                continue
            tp = pc.port.target_port
            if all(
                _probed(a.index.pods.get(b.pod), b.port)
                for b in pc.backends
                if b.pod and str(b.pod) in pods
            ):
                # A probe on the port is evidence that something listens: only a style note.
                yield check.finding(
                    c,
                    f"targetPort {tp} is declared by no container, but a probe checks it: "
                    "declare it (with a name) so that the service can refer to it by name",
                    pc,
                    pods,
                    Severity.INFO,
                )
                continue
            yield check.finding(
                c,
                f"targetPort {tp} is declared by no container: traffic "
                "still reaches whatever listens there, but check it is the right port",
                pc,
                pods,
            )


def _backend_pods(pc: PortChain, keep: Callable[[Backend], bool]) -> list[str]:
    """The pods ("namespace/name") behind the backends of `pc` that `keep` selects."""
    return sorted({str(b.pod) for b in pc.backends if b.pod and keep(b)})


def _declares_other_protocol(a: AuditInput, b: Backend) -> bool:
    """The backend's pod declares its port number only for another protocol."""
    pod = a.index.pods.get(b.pod) if b.pod else None
    return pod is not None and any(
        cp.port == b.port and cp.protocol != b.protocol for cp in pod.ports
    )


def protocol_mismatch(check: Check, a: AuditInput) -> Iterator[Finding]:
    """The service port's protocol differs from the container port it lands on."""
    for c in _proxied(a):
        for pc in c.ports:
            pods = _backend_pods(
                pc,
                lambda b: b.container_port is None and _declares_other_protocol(a, b),
            )
            if pods:
                yield check.finding(
                    c,
                    f"service port is {pc.port.protocol} but the container declares port "
                    f"{pc.backends[0].port} only for another protocol",
                    pc,
                    pods,
                )


def local_policy_drops_nodes(check: Check, a: AuditInput) -> Iterator[Finding]:
    """ExternalTrafficPolicy Local: nodes without a local ready endpoint drop nodePort traffic."""
    for c in _proxied(a):
        if c.service.external_traffic_policy != "Local":
            continue
        for pc in c.ports:
            drops = sorted(
                {
                    f.node
                    for f in pc.frontends
                    if f.kind == "NodePort" and f.answers is False and f.node
                }
            )
            answers = {f.node for f in pc.frontends if f.kind == "NodePort" and f.answers}
            if drops and answers:
                yield check.finding(
                    c,
                    f"externalTrafficPolicy Local: nodePort {pc.port.node_port} is dropped "
                    f"on {len(drops)} node(s) without a local ready endpoint: " + ", ".join(drops),
                    pc,
                )


def node_port_collision(check: Check, a: AuditInput) -> Iterator[Finding]:
    """A nodePort also claimed by another service or a hostPort/hostNetwork pod."""
    owners: defaultdict[tuple[int, str], list[str]] = defaultdict(list)
    for c in _proxied(a):
        for pc in c.ports:
            if pc.port.node_port and c.service.type in ("NodePort", "LoadBalancer"):
                owners[(pc.port.node_port, pc.port.protocol)].append(
                    f"{c.service.namespace}/{c.service.name}"
                )
    host: defaultdict[tuple[int, str], list[str]] = defaultdict(list)
    for p in a.snapshot.pods:
        for cp in p.ports:
            hp = cp.host_port or (cp.port if p.host_network else None)
            if hp:
                host[(hp, cp.protocol)].append(f"{p.namespace}/{p.name}")
    for (port, proto), svcs in sorted(owners.items()):
        clash = sorted(set(svcs)) if len(set(svcs)) > 1 else []
        pods = sorted(set(host.get((port, proto), [])))
        if clash or pods:
            ns, _, name = svcs[0].partition("/")
            yield check.finding_at(
                ns,
                name,
                f"nodePort {port}/{proto} is also claimed by " + ", ".join([*clash[1:], *pods]),
                PortKey(None, port, proto),
                pods,
            )


def host_port_collision(check: Check, a: AuditInput) -> Iterator[Finding]:
    """Two pods on one node claim the same hostPort: only one can bind it."""
    on_node: defaultdict[tuple[str, int, str], set[str]] = defaultdict(set)
    for p in a.snapshot.pods:
        if not p.node_name or p.phase in ("Succeeded", "Failed"):
            continue
        for cp in p.ports:
            hp = cp.host_port or (cp.port if p.host_network else None)
            if hp:
                on_node[(p.node_name, hp, cp.protocol)].add(f"{p.namespace}/{p.name}")
    for (node, port, proto), pods in sorted(on_node.items()):
        if len(pods) > 1:
            ns = sorted(pods)[0].partition("/")[0]
            yield check.finding_at(
                ns,
                "",
                f"hostPort {port}/{proto} claimed by {len(pods)} pods on node {node}: "
                "only one can bind it",
                PortKey(None, port, proto),
                sorted(pods),
            )


def load_balancer_pending(check: Check, a: AuditInput) -> Iterator[Finding]:
    """A LoadBalancer service without an ingress address yet."""
    for c in a.chains:
        if c.service.type == "LoadBalancer" and not c.service.load_balancer_ingress:
            yield check.finding(
                c,
                "LoadBalancer has no ingress address yet: no load-balancer controller, or "
                "it failed (see the service's events)",
            )


def endpoint_pod_missing(check: Check, a: AuditInput) -> Iterator[Finding]:
    """Endpoints naming pods that do not exist: stale endpoints."""
    for c in _proxied(a):
        for pc in c.ports:
            gone = _backend_pods(pc, lambda b: not b.pod_found)
            if gone:
                yield check.finding(
                    c,
                    "endpoints point at pods that no longer exist (stale endpoints)",
                    pc,
                    gone,
                )


def endpoint_pod_terminating(check: Check, a: AuditInput) -> Iterator[Finding]:
    """Endpoints of terminating pods: normal in a rollout, a problem if it lasts."""
    for c in _proxied(a):
        for pc in c.ports:
            pods = sorted(
                {
                    str(b.pod)
                    for b in pc.backends
                    if b.pod
                    and (b.terminating or (b.pod in a.index.pods and a.index.pods[b.pod].deleting))
                }
            )
            if pods:
                yield check.finding(
                    c,
                    "endpoints point at terminating pods (normal during a rollout; "
                    "persistent means stuck finalizers or a long grace period)",
                    pc,
                    pods,
                )


def _addresses(
    groups: Iterable[EndpointGroup],
) -> dict[tuple[str, str], set[tuple[str, int, bool]]]:
    """(address, port, ready) per service: what both APIs mean, so that only that is compared.

    A slice without ports carries no traffic: the EndpointSlice controller writes pods lacking a
    named targetPort into such a slice, where the Endpoints controller leaves them out. A
    terminating endpoint that is not ready is left out too: the Endpoints controller drops
    terminating pods by design, where a slice keeps them (ready false, serving, terminating), so
    both give the same ready set in every graceful rollout.
    """
    out: defaultdict[tuple[str, str], set[tuple[str, int, bool]]] = defaultdict(set)
    for g in groups:
        for e in g.endpoints:
            if e.terminating and not e.ready:
                continue
            for p in g.ports:
                out[(g.namespace, g.service)].add((e.address, p.port, e.ready))
    return out


def slices_endpoints_disagree(check: Check, a: AuditInput) -> Iterator[Finding]:
    """EndpointSlices and legacy Endpoints list different addresses."""
    if not a.snapshot.legacy_endpoint_groups or a.snapshot.endpoint_source != "EndpointSlice":
        return
    slices = _addresses(a.snapshot.endpoint_groups)
    legacy = _addresses(a.snapshot.legacy_endpoint_groups)
    legacy_names = {(g.namespace, g.service) for g in a.snapshot.legacy_endpoint_groups}
    for c in _proxied(a):
        key = (c.service.namespace, c.service.name)
        if key not in legacy_names:
            continue  # no Endpoints object (or an empty one): nothing to compare
        s, e = slices.get(key, set()), legacy.get(key, set())
        if s != e:
            only_s = sorted(f"{addr}:{port}" for addr, port, _ in s - e)
            only_e = sorted(f"{addr}:{port}" for addr, port, _ in e - s)
            yield check.finding(
                c,
                f"EndpointSlices and Endpoints differ (only in slices: {only_s or '-'}; "
                f"only in Endpoints: {only_e or '-'}): consumers of the two APIs route "
                "differently",
            )


def selectorless_without_endpoints(check: Check, a: AuditInput) -> Iterator[Finding]:
    """No selector and no endpoints: the service routes nowhere."""
    for c in _proxied(a):
        if c.service.selector is None and not any(pc.backends for pc in c.ports):
            yield check.finding(
                c,
                "no selector and no endpoints: create an EndpointSlice for it, or add a selector",
            )


def numeric_target_port(check: Check, a: AuditInput) -> Iterator[Finding]:
    """A numeric targetPort: a named one survives a container port change."""
    for c in _proxied(a):
        if c.service.selector is None:
            continue
        for pc in c.ports:
            # Where the port is undeclared or unnamed, target-port-undeclared or
            # unnamed-container-port says so: there is no name to use yet.
            unnamed = any(
                b.pod_found and (b.container_port is None or b.container_port.name is None)
                for b in pc.backends
            )
            if isinstance(pc.port.target_port, int) and c.selected and not unnamed:
                yield check.finding(
                    c,
                    f"targetPort {pc.port.target_port} is a number: a named port follows the "
                    "container if its number changes",
                    pc,
                )


def service_type_cost(check: Check, a: AuditInput) -> Iterator[Finding]:
    """LoadBalancer (cost) and NodePort (opened on every node) services."""
    for c in a.chains:
        t = c.service.type
        if t == "LoadBalancer":
            yield check.finding(
                c,
                "type LoadBalancer: each one may bill a cloud "
                "load balancer; an Ingress or Gateway can share one",
            )
        elif t == "NodePort":
            yield check.finding(c, "type NodePort: opens the port on every node")


def lb_cluster_traffic_policy(check: Check, a: AuditInput) -> Iterator[Finding]:
    """LoadBalancer with externalTrafficPolicy Cluster: extra hop, client IP lost."""
    for c in a.chains:
        if c.service.type == "LoadBalancer" and c.service.external_traffic_policy != "Local":
            yield check.finding(
                c,
                "externalTrafficPolicy Cluster: an extra hop between nodes, and the client's "
                "source IP is replaced by a node's",
            )


def pod_declares_no_ports(check: Check, a: AuditInput) -> Iterator[Finding]:
    """Selected pods declare no container ports."""
    for c in _proxied(a):
        # Pods that a port's own finding already names are left to it: one finding per problem.
        covered = {p for pc in c.ports for p in (*_undeclared(a, pc), *_missing_named(a, c, pc))}
        pods = [str(r) for r in c.selected if not a.index.pods[r].ports and str(r) not in covered]
        if pods:
            yield check.finding(
                c,
                "selected pods declare no container ports (informational: traffic still "
                "reaches what listens, but named targetPorts cannot resolve)",
                None,
                pods,
            )


def unnamed_container_port(check: Check, a: AuditInput) -> Iterator[Finding]:
    """A container port that receives service traffic has no name."""
    for c in _proxied(a):
        for pc in c.ports:
            pods = sorted(
                {
                    str(b.pod)
                    for b in pc.backends
                    if b.pod and b.container_port is not None and b.container_port.name is None
                }
            )
            if pods:
                yield check.finding(
                    c,
                    f"container port {pc.backends[0].port} has no name: a name lets services "
                    "and probes refer to it",
                    pc,
                    pods,
                )


def _probe_on_named_port(pod: Pod, probe: ProbePort) -> bool:
    # GRPCAction.port takes a number only: there is nothing to advise.
    if not isinstance(probe.port, int) or probe.action == "grpc":
        return False
    cp = declared_port(pod, probe.port, "TCP")
    return cp is not None and cp.name is not None


def probe_numeric_port(check: Check, a: AuditInput) -> Iterator[Finding]:
    """A probe uses a port number where the port has a name."""
    for c in _proxied(a):
        pods = sorted(
            f"{r} ({pr.container} {pr.probe} probe: {pr.port})"
            for r in c.selected
            for pr in a.index.pods[r].probes
            if _probe_on_named_port(a.index.pods[r], pr)
        )
        if pods:
            yield check.finding(
                c,
                "probes use a port number where the container names that port",
                None,
                pods,
            )


def _consumer_outages(
    check: Check, a: AuditInput, kinds: tuple[str, ...], effect: Callable[[ServiceConsumer], str]
) -> Iterator[Finding]:
    """One finding per service port that consumers of these kinds call and that cannot answer."""
    chains = {(c.service.namespace, c.service.name): c for c in a.chains}
    # Namespaces this audit read: a service missing elsewhere may just be out of scope (-n).
    covered = {ns for ns, _ in chains} | {n.name for n in a.snapshot.namespaces}
    calls: dict[tuple[str, str, int], list[ServiceConsumer]] = {}
    for u in a.snapshot.consumers:
        if u.kind in kinds:
            calls.setdefault((u.namespace, u.service, u.port), []).append(u)
    for (ns, name, port), users in sorted(calls.items()):
        who = "; ".join(f"{u.label}: {effect(u)}" for u in users)
        c = chains.get((ns, name))
        if c is None:
            if ns in covered:
                yield check.finding_at(ns, name, f"service {ns}/{name} does not exist. {who}")
            continue
        pc = next((pc for pc in c.ports if pc.port.port == port), None)
        if pc is None:
            yield check.finding(c, f"the service has no port {port}. {who}")
        elif not any(b.ready for b in pc.backends):
            yield check.finding(c, f"no ready endpoint on port {port}. {who}", pc)


def _webhook_effect(u: ServiceConsumer) -> str:
    verb = "mutating" if u.kind == "MutatingWebhookConfiguration" else "validating"
    if u.failure_policy == "Ignore":
        return f"failurePolicy Ignore: matching writes pass without this {verb} webhook"
    return (
        "failurePolicy Fail: every write its rules match is rejected, cluster-wide, until the "
        "service answers"
    )


def webhook_service_unavailable(check: Check, a: AuditInput) -> Iterator[Finding]:
    """An admission webhook whose service is missing or has no ready endpoint: writes fail."""
    yield from _consumer_outages(
        check,
        a,
        ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"),
        _webhook_effect,
    )


def _api_service_effect(u: ServiceConsumer) -> str:
    # An APIService is named <version>.<group>.
    version, _, group = u.name.partition(".")
    return (
        f"every request to {group}/{version} fails (503), API discovery reports it "
        "unavailable, and namespace deletion waits for it"
    )


def apiservice_unavailable(check: Check, a: AuditInput) -> Iterator[Finding]:
    """An APIService whose service is missing or has no ready endpoint: its API is down."""
    yield from _consumer_outages(check, a, ("APIService",), _api_service_effect)


# --- entry points (issue 13): Ingress paths in front of the service ports ------------------


def _ingress_place(ing: Ingress) -> str:
    return f"ingress/{ing.name}"


def _where(e: EntryPath) -> str:
    if e.path is None:
        return "defaultBackend"
    return f"{e.host or '*'}{e.path.path} ({e.path.path_type})"


def ingress_backend_missing(check: Check, a: AuditInput) -> Iterator[Finding]:
    """An Ingress path to a missing service or service port: that URL fails (503 or 404)."""
    for e in entry_paths(a.index):
        if e.hop.problem and e.hop.backend.service is not None:
            yield check.finding_at(
                e.ingress.namespace,
                _ingress_place(e.ingress),
                f"Ingress {e.ingress.name} {_where(e)}: {e.hop.problem}",
            )


def ingress_backend_unavailable(check: Check, a: AuditInput) -> Iterator[Finding]:
    """An Ingress path whose service port has no ready endpoint: this URL fails (503)."""
    for e in entry_paths(a.index):
        if e.hop.port is not None and e.ready == 0 and e.hop.service is not None:
            svc = e.hop.service
            yield check.finding_at(
                e.ingress.namespace,
                _ingress_place(e.ingress),
                f"Ingress {e.ingress.name} {_where(e)}: service {svc.name} port "
                f"{e.hop.port.port.port} has no ready endpoint; this URL fails",
                PortKey.of(e.hop.port.port),
            )


def ingress_path_conflict(check: Check, a: AuditInput) -> Iterator[Finding]:
    """Two Ingresses of one class claim the same host and path: the controller picks one."""
    owners: dict[tuple[str | None, str | None, str, str], list[EntryPath]] = {}
    for e in entry_paths(a.index):
        if e.path is not None:
            key = (e.klass.name, e.host, e.path.path.rstrip("/") or "/", e.path.path_type)
            owners.setdefault(key, []).append(e)
    for (_, host, path, kind), es in owners.items():
        names = sorted({f"{e.ingress.namespace}/{e.ingress.name}" for e in es})
        if len(names) < 2:
            continue
        first = es[0].ingress
        yield check.finding_at(
            first.namespace,
            _ingress_place(first),
            f"host {host or '*'} path {path} ({kind}) is claimed by {len(names)} Ingresses: "
            + ", ".join(names),
        )


def ingress_class_missing(check: Check, a: AuditInput) -> Iterator[Finding]:
    """An Ingress whose class no IngressClass defines: no controller may serve it."""
    if a.snapshot.ingress_class_state != "read":
        return  # IngressClasses could not be read: unknown, not missing
    for ing in a.snapshot.ingresses:
        c = class_of(ing, a.snapshot.ingress_classes)
        if c.source == "none":
            msg = "has no ingressClassName, no class annotation, and no default IngressClass"
        elif not c.defined and c.source == "ingressClassName":
            msg = f"names IngressClass {c.name}, which does not exist"
        elif not c.defined:
            # The legacy annotation names a controller's class, which may exist without an
            # IngressClass object (controllers predating networking.k8s.io/v1 read it alone).
            msg = (
                f"has kubernetes.io/ingress.class {c.name}, which no IngressClass defines "
                "(only a controller that reads the legacy annotation serves it)"
            )
        else:
            continue
        yield check.finding_at(ing.namespace, _ingress_place(ing), f"Ingress {ing.name} {msg}")


# --- NetworkPolicy (issue 14): quiet when policies could not be read -----------------------


def _policy_place(p: NetworkPolicy) -> str:
    return f"networkpolicy/{p.name}"


def _ready_pods(a: AuditInput, pc: PortChain) -> list[tuple[Backend, Pod]]:
    out = []
    for b in pc.backends:
        pod = a.index.pods.get(b.pod) if b.pod is not None else None
        if pod is not None and b.ready:
            out.append((b, pod))
    return out


def service_port_unreachable(check: Check, a: AuditInput) -> Iterator[Finding]:
    """A service port no pod and no outside client may reach by policy: it carries nothing."""
    idx = a.policies
    if idx is None:
        return
    reach = Reach(idx)
    for c in _proxied(a):
        for pc in c.ports:
            backends = _ready_pods(a, pc)
            if not backends:
                continue
            if any(reach.anyone(pod, b.port, b.protocol) is not False for b, pod in backends):
                continue
            names = sorted({p for _, pod in backends for p in map(str, idx.selecting(pod))})
            yield check.finding(
                c,
                f"no pod and no outside client may reach port {pc.port.port} by policy: its "
                f"backends are isolated by {', '.join(names)} and no rule admits port "
                f"{backends[0][0].port}/{backends[0][0].protocol} from anyone that exists",
                pc,
                pods=[str(pod.ref) for _, pod in backends],
            )


def external_traffic_denied(check: Check, a: AuditInput) -> Iterator[Finding]:
    """A NodePort/LoadBalancer whose backends admit no outside client by policy: all dropped."""
    idx = a.policies
    if idx is None:
        return
    for c in _proxied(a):
        if c.service.type not in ("NodePort", "LoadBalancer"):
            continue
        for pc in c.ports:
            backends = _ready_pods(a, pc)
            if not backends or any(
                idx.ingress(pod, Peer.outside(), b.port, b.protocol).verdict != "denied"
                for b, pod in backends
            ):
                continue
            names = sorted({p for _, pod in backends for p in map(str, idx.selecting(pod))})
            yield check.finding(
                c,
                f"{c.service.type} port {pc.port.port}: no ingress rule of {', '.join(names)} "
                "admits clients outside the cluster (no ipBlock, no rule open to all), so "
                "external traffic is dropped by policy",
                pc,
                pods=[str(pod.ref) for _, pod in backends],
            )


def policy_selects_no_pod(check: Check, a: AuditInput) -> Iterator[Finding]:
    """A NetworkPolicy selecting no pod does nothing (often a label typo: pods left open)."""
    idx = a.policies
    if idx is None:
        return
    for p in idx.policies:
        if idx.selects_nothing(p):
            yield check.finding_at(
                p.namespace,
                _policy_place(p),
                f"NetworkPolicy {p.name} selects no pod (podSelector {p.pod_selector})",
            )


def policy_named_port_undeclared(check: Check, a: AuditInput) -> Iterator[Finding]:
    """A policy's named port no selected pod declares matches nothing: that traffic drops."""
    idx = a.policies
    if idx is None:
        return
    selected: dict[str, list[Pod]] = {}
    for pod in a.snapshot.pods:
        for p in idx.selecting(pod):
            selected.setdefault(str(p), []).append(pod)
    for p in idx.policies:
        pods = selected.get(str(p), [])
        if not pods:
            continue  # policy-selects-no-pod says it
        for i, rule in enumerate(p.ingress):
            for pp in rule.ports:
                if not isinstance(pp.port, str):
                    continue
                if any(named_port(pod, pp.port, pp.protocol) for pod in pods):
                    continue
                yield check.finding_at(
                    p.namespace,
                    _policy_place(p),
                    f"NetworkPolicy {p.name} ingress[{i}] allows port {pp.port}/{pp.protocol}, "
                    f"which none of the {len(pods)} pod(s) it selects declares: it matches nothing",
                    pods=[str(pod.ref) for pod in pods[:10]],
                )


# The cluster DNS service, found as kubeadm, kops, EKS, GKE, k3s and CoreDNS's own chart name
# it: in kube-system, named kube-dns (CoreDNS keeps the name for compatibility) or coredns, or
# selecting k8s-app=kube-dns / k8s-app=coredns.
DNS_NAMES = ("kube-dns", "coredns")


def dns_service(a: AuditInput) -> ServiceChain | None:
    """The cluster DNS service's chain, or None when the snapshot holds none."""
    for c in a.chains:
        s = c.service
        if s.namespace != "kube-system":
            continue
        if s.name in DNS_NAMES or (s.selector or {}).get("k8s-app") in DNS_NAMES:
            return c
    return None


def egress_blocks_dns(check: Check, a: AuditInput) -> Iterator[Finding]:
    """Egress isolation that blocks queries to the cluster DNS: names stop resolving."""
    idx = a.policies
    dns = dns_service(a)
    if idx is None or dns is None:
        return
    targets = [(b, pod) for pc in dns.ports for b, pod in _ready_pods(a, pc)]
    udp = [(b, pod) for b, pod in targets if b.protocol == "UDP"] or targets
    if not udp:
        return
    blocked: dict[str, list[str]] = {}
    policies: dict[str, set[str]] = {}
    for pod in a.snapshot.pods:
        isolating = idx.selecting(pod, "egress")
        if not isolating or pod.host_network:
            continue
        src = Peer.of_pod(pod)
        if any(
            # Denied by the NetworkPolicies only: this finding names them.
            (v := idx.egress(src, Peer.of_pod(d), b.port, b.protocol)).verdict != "denied"
            or v.decided_by is not None
            for b, d in udp
        ):
            continue
        blocked.setdefault(pod.namespace, []).append(str(pod.ref))
        policies.setdefault(pod.namespace, set()).update(str(p) for p in isolating)
    for ns, pods in sorted(blocked.items()):
        yield check.finding_at(
            ns,
            "",
            f"{len(pods)} pod(s) isolated for egress by {', '.join(sorted(policies[ns]))} may "
            f"not query DNS ({dns.service.namespace}/{dns.service.name} on "
            f"{udp[0][0].port}/{udp[0][0].protocol}): names stop resolving",
            pods=pods[:10],
        )


def policy_rule_never_matches(check: Check, a: AuditInput) -> Iterator[Finding]:
    """A policy rule that can never match (ignored direction, dead peers): a silent no-op."""
    if a.snapshot.network_policy_state != "read":
        return
    for p in a.snapshot.network_policies:
        for direction, ptype, rules in (
            ("ingress", "Ingress", p.ingress),
            ("egress", "Egress", p.egress),
        ):
            for i, rule in enumerate(rules):
                if ptype not in p.policy_types:
                    why = f"policyTypes {list(p.policy_types)} leaves out {ptype}: ignored"
                else:
                    dead = [dead_peer(peer) for peer in rule.peers]
                    if not rule.peers or not all(dead):
                        continue
                    why = "; ".join(d for d in dead if d)
                yield check.finding_at(
                    p.namespace,
                    _policy_place(p),
                    f"NetworkPolicy {p.name} {direction}[{i}] never matches: {why}",
                )


# --- Gateway API routes (issue 13) -----------------------------------------------------------


def _route_place(r: Route) -> str:
    return f"{r.kind.lower()}/{r.name}"


def _route_refs(a: AuditInput) -> Iterator[tuple[Route, int, RefHop]]:
    # Every backendRef of every route with at least one attached parent, resolved once.
    svcs = {(s.namespace, s.name): s for s in a.snapshot.services}
    seen: set[int] = set()
    for att in attachments(a.index).items:
        r = att.route
        if not att.attached or id(r) in seen:
            continue
        seen.add(id(r))
        for i, rule in enumerate(r.rules):
            for hop in resolve_refs(a.index, svcs, r, rule):
                yield r, i, hop


def gateway_route_not_attached(check: Check, a: AuditInput) -> Iterator[Finding]:
    """A route parentRef that attaches to no listener: its paths are not served there."""
    for att in attachments(a.index).items:
        if att.attached:
            continue
        r, ref = att.route, att.ref
        yield check.finding_at(
            r.namespace,
            _route_place(r),
            f"{r.kind} {r.name} is not attached to {ref.namespace}/{ref.name}"
            f"{' sectionName ' + ref.section_name if ref.section_name else ''}: "
            f"{att.reason}: {att.why}",
        )


def gateway_ref_not_permitted(check: Check, a: AuditInput) -> Iterator[Finding]:
    """A backendRef into another namespace that no ReferenceGrant there permits: it gets 500s."""
    if any("cross-namespace backendRefs" in w for w in a.snapshot.warnings):
        return  # ReferenceGrants could not be read: unknown, not missing
    for r, i, hop in _route_refs(a):
        if hop.reason == "RefNotPermitted":
            yield check.finding_at(
                r.namespace, _route_place(r), f"{r.kind} {r.name} rule {i + 1}: {hop.problem}"
            )


def gateway_backend_missing(check: Check, a: AuditInput) -> Iterator[Finding]:
    """A route backendRef to a missing service or port: its share of requests gets 500s."""
    for r, i, hop in _route_refs(a):
        if hop.reason in ("BackendNotFound", "InvalidKind"):
            yield check.finding_at(
                r.namespace, _route_place(r), f"{r.kind} {r.name} rule {i + 1}: {hop.problem}"
            )


def gateway_backend_unavailable(check: Check, a: AuditInput) -> Iterator[Finding]:
    """A route backendRef whose service port has no ready endpoint: its requests fail."""
    for r, i, hop in _route_refs(a):
        if hop.port is not None and hop.service is not None and hop.ready == 0:
            share = f" ({hop.share:.0%} of the rule's requests)" if hop.share < 1 else ""
            yield check.finding_at(
                r.namespace,
                _route_place(r),
                f"{r.kind} {r.name} rule {i + 1}: service {hop.service.name} port "
                f"{hop.port.port.port} has no ready endpoint{share}; these requests fail",
                PortKey.of(hop.port.port),
            )


def gateway_listener_unused(check: Check, a: AuditInput) -> Iterator[Finding]:
    """A Gateway listener no route attaches to: its hostname answers every request with 404."""
    atts = attachments(a.index)
    for gw in a.snapshot.gateways:
        for ln in gw.listeners:
            if not atts.on(gw, ln):
                host = f"hostname {ln.hostname}" if ln.hostname else "every hostname"
                yield check.finding_at(
                    gw.namespace,
                    f"gateway/{gw.name}",
                    f"Gateway {gw.name} listener {ln.name} ({ln.protocol}:{ln.port}, {host}) "
                    "has no attached route",
                )


CHECKS: tuple[Check, ...] = (
    Check("selector-matches-no-pods", Severity.ERROR, selector_matches_no_pods, ("1100",)),
    Check("no-ready-endpoints", Severity.ERROR, no_ready_endpoints, ("1105", "1110")),
    Check(
        "single-ready-endpoint",
        Severity.INFO,
        single_ready_endpoint,
        ("1109",),
        rollup="service(s) run a single ready replica (no redundancy during a restart or rollout)",
    ),
    Check("selected-pod-not-endpoint", Severity.WARNING, selected_pod_not_endpoint, ("204",)),
    Check("named-port-unresolvable", Severity.ERROR, named_port_unresolvable, ("1106",)),
    Check("target-port-undeclared", Severity.WARNING, target_port_undeclared, ("1106",)),
    Check("protocol-mismatch", Severity.ERROR, protocol_mismatch, ("1106",)),
    Check("local-policy-drops-nodes", Severity.WARNING, local_policy_drops_nodes, ("1108",)),
    Check("node-port-collision", Severity.ERROR, node_port_collision),
    Check("host-port-collision", Severity.ERROR, host_port_collision),
    Check("load-balancer-pending", Severity.WARNING, load_balancer_pending),
    Check("endpoint-pod-missing", Severity.ERROR, endpoint_pod_missing),
    Check("endpoint-pod-terminating", Severity.INFO, endpoint_pod_terminating),
    Check("slices-endpoints-disagree", Severity.WARNING, slices_endpoints_disagree),
    Check(
        "selectorless-without-endpoints",
        Severity.WARNING,
        selectorless_without_endpoints,
        ("1110",),
    ),
    Check("numeric-target-port", Severity.INFO, numeric_target_port, ("1102",)),
    Check("service-type-cost", Severity.INFO, service_type_cost, ("1103", "1104")),
    Check("lb-cluster-traffic-policy", Severity.INFO, lb_cluster_traffic_policy, ("1107",)),
    Check("pod-declares-no-ports", Severity.INFO, pod_declares_no_ports, ("1101",)),
    Check("unnamed-container-port", Severity.INFO, unnamed_container_port, ("108",)),
    Check("probe-numeric-port", Severity.INFO, probe_numeric_port, ("105",)),
    Check("webhook-service-unavailable", Severity.ERROR, webhook_service_unavailable),
    Check("apiservice-unavailable", Severity.ERROR, apiservice_unavailable),
    Check("ingress-backend-missing", Severity.ERROR, ingress_backend_missing),
    Check("ingress-backend-unavailable", Severity.ERROR, ingress_backend_unavailable),
    Check("ingress-path-conflict", Severity.WARNING, ingress_path_conflict),
    Check("ingress-class-missing", Severity.WARNING, ingress_class_missing),
    Check("gateway-route-not-attached", Severity.WARNING, gateway_route_not_attached),
    Check("gateway-ref-not-permitted", Severity.ERROR, gateway_ref_not_permitted),
    Check("gateway-backend-missing", Severity.ERROR, gateway_backend_missing),
    Check("gateway-backend-unavailable", Severity.ERROR, gateway_backend_unavailable),
    Check("gateway-listener-unused", Severity.INFO, gateway_listener_unused),
    Check("service-port-unreachable", Severity.ERROR, service_port_unreachable),
    Check("external-traffic-denied", Severity.WARNING, external_traffic_denied),
    Check("policy-selects-no-pod", Severity.WARNING, policy_selects_no_pod),
    Check("policy-named-port-undeclared", Severity.WARNING, policy_named_port_undeclared),
    Check("egress-blocks-dns", Severity.WARNING, egress_blocks_dns),
    Check("policy-rule-never-matches", Severity.WARNING, policy_rule_never_matches),
)


def run(
    snapshot: Snapshot,
    chains: list[ServiceChain],
    index: Index,
    ignore: frozenset[str] = frozenset(),
) -> list[Finding]:
    """Run every check not in `ignore`; findings sorted by severity (worst first), then place."""
    a = AuditInput(snapshot, index, chains)
    out = [
        replace(f, context=snapshot.context)
        for check in CHECKS
        if check.id not in ignore
        for f in check.run(check, a)
    ]
    out.sort(key=lambda f: (-f.severity, f.context, f.namespace, f.service, f.check, _text(f.port)))
    return out


def _text(p: PortKey | None) -> str:
    """The port as reports print it ("http 80/TCP", "80/TCP"), only to order findings.

    Reports have always listed a place's findings in the order of this text, so an unnamed
    port sorts as a string (443 before 80); numbers would reorder existing reports.
    """
    return "" if p is None else f"{p.name + ' ' if p.name else ''}{p.port}/{p.protocol}"
