"""Service chain checks: does a service reach ready pods through its selector and endpoints.

Selectors matching nothing, readiness and redundancy, stale or terminating endpoints, and
EndpointSlices that disagree with the legacy Endpoints.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator

from kinspect.audit.check import AuditInput, Check, backend_pods, proxied
from kinspect.audit.finding import Finding
from kinspect.model.values import EndpointGroup, PodRef, host_port
from kinspect.path.chain import NotBackend


def selector_matches_no_pods(check: Check, a: AuditInput) -> Iterator[Finding]:
    """The selector matches no pod: no endpoint at all, every connection fails (scaled to 0?)."""
    for c in proxied(a):
        if c.service.selector and not c.selected:
            sel = ",".join(f"{k}={v}" for k, v in sorted(c.service.selector.items()))
            yield check.finding(
                c,
                f"selector {sel} matches no pod: no endpoint, traffic to this service is "
                "rejected (a workload scaled to zero, or a label typo)",
            )


def no_ready_endpoints(check: Check, a: AuditInput) -> Iterator[Finding]:
    """A port has no ready endpoint: connections are rejected or time out."""
    for c in proxied(a):
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
    for c in proxied(a):
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
    for c in proxied(a):
        # One finding per service, each idle pod once with the ports it gets nothing on: one
        # not-ready pod is one problem, however many ports the service has (issue 23).
        first: dict[PodRef, NotBackend] = {}
        ports: dict[PodRef, list[str]] = {}
        for pc in c.ports:
            # A pod without the named port: named-port-unresolvable says it. A terminating pod
            # gets no new traffic by design: endpoint-pod-terminating says it, as info.
            for nb in pc.not_backends:
                if nb.reason in ("no named port", "terminating"):
                    continue
                first.setdefault(nb.pod, nb)
                sp = pc.port
                name = f"{sp.name} " if sp.name else ""
                ports.setdefault(nb.pod, []).append(f"{name}{sp.port}/{sp.protocol}")
        if not first:
            continue
        n = len(first)
        what = "1 selected pod receives" if n == 1 else f"{n} selected pods receive"
        sets = {tuple(v) for v in ports.values()}
        if len(sets) == 1:
            where = " on " + ", ".join(next(iter(sets)))
        else:  # the pods differ: say which gets nothing where
            where = ": " + "; ".join(f"{p} on {', '.join(ports[p])}" for p in first)
        yield check.finding(c, f"{what} no traffic{where}", not_backends=list(first.values()))


def endpoint_pod_missing(check: Check, a: AuditInput) -> Iterator[Finding]:
    """Endpoints naming pods that do not exist: stale endpoints."""
    for c in proxied(a):
        for pc in c.ports:
            # A pod that was not read (outside -n, refused) is not known to be gone.
            gone = backend_pods(pc, lambda b: not b.pod_found and b.pod_unknown is None)
            if gone:
                yield check.finding(
                    c,
                    "endpoints point at pods that no longer exist (stale endpoints)",
                    pc,
                    gone,
                )


def endpoint_pod_terminating(check: Check, a: AuditInput) -> Iterator[Finding]:
    """Endpoints of terminating pods: normal in a rollout, a problem if it lasts."""
    for c in proxied(a):
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
    for c in proxied(a):
        key = (c.service.namespace, c.service.name)
        if key not in legacy_names:
            continue  # no Endpoints object (or an empty one): nothing to compare
        s, e = slices.get(key, set()), legacy.get(key, set())
        if s != e:
            only_s = sorted(host_port(addr, port) for addr, port, _ in s - e)
            only_e = sorted(host_port(addr, port) for addr, port, _ in e - s)
            yield check.finding(
                c,
                f"EndpointSlices and Endpoints differ (only in slices: {only_s or '-'}; "
                f"only in Endpoints: {only_e or '-'}): consumers of the two APIs route "
                "differently",
            )


def selectorless_without_endpoints(check: Check, a: AuditInput) -> Iterator[Finding]:
    """No selector and no endpoints: the service routes nowhere."""
    for c in proxied(a):
        if c.service.selector is None and not any(pc.backends for pc in c.ports):
            yield check.finding(
                c,
                "no selector and no endpoints: create an EndpointSlice for it, or add a selector",
            )
