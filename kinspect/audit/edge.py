"""Entry point checks (issue 13): Ingress paths and Gateway API routes in front of the services.

Backends missing or without a ready endpoint, conflicting paths, missing classes, routes not
attached or not permitted, and listeners no route uses.
"""

from __future__ import annotations

from collections.abc import Iterator

from kinspect.audit.check import AuditInput, Check
from kinspect.audit.finding import Finding, PortKey
from kinspect.edge.entry import EntryPath, entry_paths
from kinspect.edge.gateway import RefHop, attachments, resolve_refs
from kinspect.edge.ingressclass import class_of
from kinspect.model.edge import Ingress, Route

# --- entry points (issue 13): Ingress paths in front of the service ports ------------------


def _ingress_place(ing: Ingress) -> str:
    return f"ingress/{ing.name}"


def where(e: EntryPath) -> str:
    """An Ingress path as findings name it (`audit/evidence.py` matches findings by it)."""
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
                f"Ingress {e.ingress.name} {where(e)}: {e.hop.problem}",
            )


def ingress_backend_unavailable(check: Check, a: AuditInput) -> Iterator[Finding]:
    """An Ingress path whose service port has no ready endpoint: this URL fails (503)."""
    for e in entry_paths(a.index):
        if e.hop.port is not None and e.ready == 0 and e.hop.service is not None:
            svc = e.hop.service
            yield check.finding_at(
                e.ingress.namespace,
                _ingress_place(e.ingress),
                f"Ingress {e.ingress.name} {where(e)}: service {svc.name} port "
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
        if att.attached or att.unknown is not None:  # a parent not read is not a problem
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
