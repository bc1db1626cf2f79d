"""`audit --evidence`: the object and field each finding rests on, and the kubectl that shows it.

A pass over the findings after the checks ran (the checks stay as they are): by check id,
the fields that show the finding (`path.evidence` builds each piece); a finding whose check
has no narrower evidence gets its Service. Bounded: at most `MAX_PODS` pods per finding are
shown (a selector can match thousands).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from kinspect.audit.edge import where
from kinspect.audit.finding import Finding, PortKey
from kinspect.edge.entry import entry_paths
from kinspect.model.values import PodRef, Service
from kinspect.path.chain import PortChain, ServiceChain
from kinspect.path.evidence import Evidence, Evidencer, literal

# Pods shown per finding: the first few make the case; the finding lists them all.
MAX_PODS = 5


def attach(
    findings: Sequence[Finding], chains: Iterable[ServiceChain], ev: Evidencer
) -> list[Finding]:
    """The findings, each with its evidence."""
    by_name = {(c.service.namespace, c.service.name): c for c in chains}
    missing = any(f.check == "ingress-backend-missing" for f in findings)
    ingress = _ingress_evidence(ev) if missing else {}
    out = []
    for f in findings:
        c = by_name.get((f.namespace, f.service))
        if f.check == "ingress-backend-missing":
            found = ingress.get((f.namespace, f.message), [])
        elif c is not None:
            found = _evidence(f, c, ev)
        else:
            found = _place(f, ev)
        out.append(replace(f, evidence=tuple(found)))
    return out


def _port(c: ServiceChain, key: PortKey | None) -> PortChain | None:
    return next((pc for pc in c.ports if PortKey.of(pc.port) == key), None) if key else None


def _refs(pods: Sequence[str]) -> list[PodRef]:
    """The first `MAX_PODS` pods of a finding ("namespace/name", maybe with words after)."""
    out = []
    for p in pods[:MAX_PODS]:
        ns, _, rest = p.partition("/")
        out.append(PodRef(ns, rest.split(" ", 1)[0]))
    return out


def _evidence(f: Finding, c: ServiceChain, ev: Evidencer) -> list[Evidence]:
    svc, pc = c.service, _port(c, f.port)
    check = f.check
    if check == "selector-matches-no-pods":
        return ev.selector(svc)
    if check == "no-ready-endpoints" and pc is not None:
        out = [e for b in pc.backends[:MAX_PODS] for e in ev.endpoint(svc, b)[:1]]
        # Selected pods with no endpoint at all (a not-ready endpoint shows itself above).
        listed = {b.pod for b in pc.backends}
        idle = [nb for nb in pc.not_backends if nb.pod not in listed][:MAX_PODS]
        out += [e for nb in idle for e in ev.not_backend(svc, pc.port, nb)]
        return out or [ev.service(svc)]
    if check == "selected-pod-not-endpoint":
        out = []
        for nb in f.not_backends[:MAX_PODS]:
            port = next((p for p in c.ports if nb in p.not_backends), None)
            if port is not None:
                out += ev.not_backend(svc, port.port, nb)
        return out or [ev.service(svc)]
    if (
        check == "named-port-unresolvable"
        and pc is not None
        and isinstance(pc.port.target_port, str)
    ):
        name = pc.port.target_port
        return [
            ev.target_port(svc, pc.port),
            *(ev.named_port_missing(r, name) for r in _refs(f.pods)),
        ]
    if check == "target-port-undeclared" and pc is not None:
        pods = [ev.index.pods.get(r) for r in _refs(f.pods)]
        return [
            ev.target_port(svc, pc.port),
            *(ev.declared_ports(p) for p in pods if p is not None),
        ]
    if check == "service-port-unreachable" and pc is not None:
        ready = [b for b in pc.backends if b.ready][:MAX_PODS]
        return [ev.target_port(svc, pc.port), *(e for b in ready for e in ev.endpoint(svc, b)[:1])]
    if check in _SPEC:
        path, value = _SPEC[check](svc)
        return [ev.piece("Service", svc.namespace, svc.name, path, value)]
    return [ev.service(svc)]


def _place(f: Finding, ev: Evidencer) -> list[Evidence]:
    """A finding about an Ingress, Gateway or route ("kind/name"): that object, by name."""
    kind, _, name = f.service.partition("/")
    found = _PLACES.get(kind)
    if found is None or not name or not f.namespace:
        return []
    return [ev.piece(found, f.namespace, name, "metadata.name", name)]


# The places audit findings name that are not Services, by the word before the slash.
_PLACES = {
    "ingress": "Ingress",
    "gateway": "Gateway",
    "httproute": "HTTPRoute",
    "grpcroute": "GRPCRoute",
}
# Checks about a Service's own spec field: (path, the value as the Service holds it).
_SPEC: dict[str, Callable[[Service], tuple[str, object]]] = {
    "service-type-cost": lambda s: ("spec.type", s.type),
    "external-traffic-denied": lambda s: ("spec.type", s.type),
    "local-policy-drops-nodes": lambda s: (
        "spec.externalTrafficPolicy",
        s.external_traffic_policy or "",
    ),
    "lb-cluster-traffic-policy": lambda s: (
        "spec.externalTrafficPolicy",
        s.external_traffic_policy or "",
    ),
}


def _ingress_evidence(ev: Evidencer) -> dict[tuple[str, str], list[Evidence]]:
    """ingress-backend-missing, by namespace and message: the backend its path names."""
    out: dict[tuple[str, str], list[Evidence]] = {}
    for e in entry_paths(ev.index):
        ing, b = e.ingress, e.hop.backend
        if not e.hop.problem or b.service is None:
            continue
        if e.path is None:
            path = "spec.defaultBackend.service.name"
        else:
            i = next(
                (i for i, r in enumerate(ing.rules) if e.path in r.paths and r.host == e.host), 0
            )
            at = f"spec.rules[{i}].http.paths[?(@.path=={literal(e.path.path)})]"
            path = f"{at}.backend.service.name"
        piece = ev.piece("Ingress", ing.namespace, ing.name, path, b.service)
        message = f"Ingress {ing.name} {where(e)}: {e.hop.problem}"
        out.setdefault((ing.namespace, message), []).append(piece)
    return out
