"""Gateway API attachment: which routes attach to which listeners, and their backends. Pure.

Route attachment, hostname intersection and cross-namespace references are computed as
gateway.networking.k8s.io/v1 defines them (which listener and route answer a request, and match
precedence, are in `gateway_match`); a controller's own status conditions
are shown beside kinspect's computation (labelled "computed") and both when they disagree.

Sources (sigs.k8s.io/gateway-api v1.6.3, the version the test bed installs):
- Listener hostnames: apis/v1/gateway_types.go Listener.Hostname: "*.example.com" is a suffix
  match of one or more labels (test.example.com and foo.test.example.com, not example.com);
  the most specific listener wins (exact, then longer wildcard, then none).
- Attachment: apis/v1/shared_types.go ParentReference (sectionName, port: every given field
  must match a listener), gateway_types.go AllowedRoutes (namespaces.from Same by default,
  All, Selector with a full label selector; kinds, else inferred from the protocol) and
  RouteConditionReason (NotAllowedByListeners, NoMatchingListenerHostname, NoMatchingParent).
- Route hostnames and their intersection with the listener's: apis/v1/httproute_types.go
  HTTPRouteSpec.Hostnames; precedence across routes by characters of a matching non-wildcard
  hostname, then of a matching hostname.
- backendRefs: weight defaults to 1, 0 sends nothing; a reference to another namespace needs a
  ReferenceGrant in that namespace whose from names the route (group, kind, namespace) and whose
  to names Service (name empty: every Service) (apis/v1beta1/referencegrant_types.go).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from kinspect.model.edge import (
    BackendRef,
    Gateway,
    GatewayCondition,
    Listener,
    ParentRef,
    Route,
    RouteRule,
)
from kinspect.model.labels import describe, matches
from kinspect.model.values import Service
from kinspect.path.chain import Index, PortChain, service_chain

GROUP = "gateway.networking.k8s.io"
# Route kinds a listener admits when allowedRoutes.kinds is empty: inferred from its protocol.
# GRPCRoute attaches to HTTP and HTTPS listeners (GEP-1016) where the implementation supports it.
INFERRED_KINDS: dict[str, tuple[str, ...]] = {
    "HTTP": (f"{GROUP}/HTTPRoute", f"{GROUP}/GRPCRoute"),
    "HTTPS": (f"{GROUP}/HTTPRoute", f"{GROUP}/GRPCRoute"),
    "TLS": (f"{GROUP}/TLSRoute",),
    "TCP": (f"{GROUP}/TCPRoute",),
    "UDP": (f"{GROUP}/UDPRoute",),
}
HTTP_KINDS = ("HTTPRoute", "GRPCRoute")

Reason = Literal["NoMatchingParent", "NotAllowedByListeners", "NoMatchingListenerHostname"]


# --- hostnames ------------------------------------------------------------------------------


def host_matches(pattern: str | None, host: str | None) -> bool:
    """A listener or route hostname against a request's Host: "*." is a suffix of ≥1 label."""
    if pattern is None:
        return True
    if host is None:
        return False
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and len(host) > len(pattern) - 1
    return pattern == host


def _intersects(a: str, b: str) -> bool:
    # Two hostnames (either may be a wildcard) have a host in common.
    if a.startswith("*.") and b.startswith("*."):
        return a.endswith(b[1:]) or b.endswith(a[1:])
    if a.startswith("*."):
        return host_matches(a, b)
    if b.startswith("*."):
        return host_matches(b, a)
    return a == b


def route_hostnames(listener: Listener, route: Route) -> tuple[str, ...] | None:
    """The route hostnames that apply on a listener; () means every host, None no intersection.

    Route hostnames that do not intersect the listener's are ignored (HTTPRouteSpec.Hostnames).
    """
    if not route.hostnames or listener.hostname is None:
        return route.hostnames
    kept = tuple(h for h in route.hostnames if _intersects(listener.hostname, h))
    return kept or None


def listener_rank(ln: Listener) -> tuple[int, int]:
    """How specific a listener's hostname is: exact over wildcard over none, longer first."""
    if ln.hostname is None:
        return (0, 0)
    return (1 if ln.hostname.startswith("*.") else 2, len(ln.hostname))


# --- attachment -----------------------------------------------------------------------------


def listener_kinds(ln: Listener) -> tuple[str, ...]:
    """The route kinds ("group/Kind") a listener admits."""
    return ln.allowed_kinds or INFERRED_KINDS.get(ln.protocol, ())


def _ns_allowed(
    ln: Listener, gw: Gateway, route: Route, ns_labels: dict[str, dict[str, str]]
) -> bool:
    match ln.allowed_from:
        case "All":
            return True
        case "Same":
            return route.namespace == gw.namespace
        case "Selector":
            return matches(ln.allowed_selector, ns_labels.get(route.namespace, {}))
        case "None":
            return False


@dataclass(frozen=True, slots=True)
class Attachment:
    """One parentRef of one route: the listeners it attaches to, or the reason it does not."""

    route: Route
    ref: ParentRef
    gateway: Gateway | None
    listeners: tuple[Listener, ...] = ()
    reason: Reason | None = None
    why: str = ""
    # "unknown, because ...": the parent Gateway was not read (-n, RBAC, the read cap), so
    # whether the route attaches is not known; never a reason (issue 22).
    unknown: str | None = None

    @property
    def attached(self) -> bool:
        return self.reason is None and self.unknown is None


def _ref_text(ref: ParentRef) -> str:
    out = f"{ref.namespace}/{ref.name}"
    if ref.section_name:
        out += f" sectionName {ref.section_name}"
    if ref.port is not None:
        out += f" port {ref.port}"
    return out


def attach(
    route: Route,
    ref: ParentRef,
    gateways: dict[tuple[str, str], Gateway],
    ns_labels: dict[str, dict[str, str]],
) -> Attachment:
    """Whether a route attaches through one parentRef, as the spec's reasons say."""
    if ref.group != GROUP or ref.kind != "Gateway":
        return Attachment(
            route, ref, None, reason="NoMatchingParent",
            why=f"parent {ref.group}/{ref.kind} {ref.name} is not a Gateway (not followed)",
        )  # fmt: skip
    gw = gateways.get((ref.namespace, ref.name))
    if gw is None:
        return Attachment(
            route, ref, None, reason="NoMatchingParent",
            why=f"Gateway {ref.namespace}/{ref.name} not found",
        )  # fmt: skip
    cands = [
        ln
        for ln in gw.listeners
        if (ref.section_name is None or ln.name == ref.section_name)
        and (ref.port is None or ln.port == ref.port)
    ]
    if not cands:
        return Attachment(
            route, ref, gw, reason="NoMatchingParent",
            why=f"Gateway {_ref_text(ref)}: no listener with that sectionName/port",
        )  # fmt: skip
    kind = f"{GROUP}/{route.kind}"
    by_kind = [ln for ln in cands if kind in listener_kinds(ln)]
    if not by_kind:
        admits = "; ".join(
            f"{ln.name} admits {', '.join(k.split('/')[-1] for k in listener_kinds(ln)) or 'none'}"
            for ln in cands
        )
        return Attachment(
            route, ref, gw, reason="NotAllowedByListeners",
            why=f"no listener admits {route.kind} (allowedRoutes.kinds: {admits})",
        )  # fmt: skip
    by_ns = [ln for ln in by_kind if _ns_allowed(ln, gw, route, ns_labels)]
    if not by_ns:
        admits = "; ".join(f"{ln.name} admits {_from_text(ln, gw)}" for ln in by_kind)
        return Attachment(
            route, ref, gw, reason="NotAllowedByListeners",
            why=f"namespace {route.namespace} not allowed (allowedRoutes.namespaces: {admits})",
        )  # fmt: skip
    by_host = [ln for ln in by_ns if route_hostnames(ln, route) is not None]
    if not by_host:
        listeners = ", ".join(ln.hostname or "*" for ln in by_ns)
        return Attachment(
            route, ref, gw, reason="NoMatchingListenerHostname",
            why=f"route hostnames {', '.join(route.hostnames)} do not intersect listener "
            f"hostnames {listeners}",
        )  # fmt: skip
    return Attachment(route, ref, gw, tuple(by_host))


def _from_text(ln: Listener, gw: Gateway) -> str:
    match ln.allowed_from:
        case "Same":
            return f"Same (namespace {gw.namespace})"
        case "Selector":
            return f"Selector {describe(ln.allowed_selector)}"
        case "All" | "None":
            return ln.allowed_from


@dataclass
class Attachments:
    """Every route's parentRefs resolved once per command."""

    items: list[Attachment] = field(default_factory=list)

    def on(self, gw: Gateway, ln: Listener) -> list[Attachment]:
        return [a for a in self.items if a.gateway is gw and ln in a.listeners]


def attachments(idx: Index) -> Attachments:
    """Every parentRef of every route, attached or not (with the reason)."""
    snap = idx.snapshot
    gws = {(g.namespace, g.name): g for g in snap.gateways}
    ns_labels = {n.name: dict(n.labels) for n in snap.namespaces}
    out = Attachments()
    for r in sorted(snap.routes, key=lambda r: (r.kind, r.namespace, r.name)):
        for ref in r.parent_refs:
            a = attach(r, ref, gws, ns_labels)
            why = snap.unknown("gateways", ref.namespace, ref.name)
            gone = a.gateway is None and a.reason == "NoMatchingParent"
            if gone and (ref.group, ref.kind) == (GROUP, "Gateway") and why is not None:
                a = Attachment(r, ref, None, unknown=f"{why}: Gateway {_ref_text(ref)}")
            out.items.append(a)
    return out


def unknown_parents(idx: Index) -> list[str]:
    """Each route parentRef whose Gateway was not read, in words (map says them)."""
    return [
        f"{a.route.kind} {a.route.namespace}/{a.route.name}: its parent is {a.unknown}"
        for a in attachments(idx).items
        if a.unknown is not None
    ]


# --- conditions: the controller's and kinspect's ---------------------------------------------


@dataclass(frozen=True, slots=True)
class Conditions:
    """A route's conditions on one parent: what a controller wrote, and what kinspect computes."""

    written: tuple[GatewayCondition, ...]
    computed: tuple[GatewayCondition, ...]

    def disagreements(self) -> list[str]:
        """The condition types where a controller's status differs from the computed one."""
        w = {c.type: c.status for c in self.written}
        return [
            c.type
            for c in self.computed
            if c.type in w and w[c.type] != c.status and c.status != "Unknown"
        ]


def _same_parent(a: ParentRef, b: ParentRef) -> bool:
    return (a.namespace, a.name, a.section_name, a.port) == (
        b.namespace,
        b.name,
        b.section_name,
        b.port,
    )


def written_conditions(a: Attachment) -> tuple[GatewayCondition, ...]:
    """The conditions a controller wrote for this route on this parent (status.parents)."""
    return next((p.conditions for p in a.route.parents if _same_parent(p.parent, a.ref)), ())


def route_conditions(a: Attachment, refs: list[RefHop]) -> Conditions:
    """Accepted and ResolvedRefs, as the controller wrote them and as kinspect computes them."""
    written = written_conditions(a)
    accepted = GatewayCondition(
        "Accepted", "True" if a.attached else "False", a.reason or "Accepted", a.why
    )
    bad = [h for h in refs if h.reason is not None]
    unknown = [h for h in refs if h.unknown is not None]
    if unknown and not bad:
        # What decides it was not read: neither True nor False (the condition's Unknown).
        resolved = GatewayCondition("ResolvedRefs", "Unknown", "NotRead", unknown[0].unknown or "")
    else:
        resolved = GatewayCondition(
            "ResolvedRefs",
            "False" if bad else "True",
            bad[0].reason or "" if bad else "ResolvedRefs",
            bad[0].problem or "" if bad else "",
        )
    return Conditions(written, (accepted, resolved))


# --- backendRefs -----------------------------------------------------------------------------

RefReason = Literal["BackendNotFound", "RefNotPermitted", "InvalidKind"]


@dataclass(frozen=True, slots=True)
class RefHop:
    """A backendRef resolved: the service port and its chain, or why not; its share of traffic."""

    ref: BackendRef
    share: float  # weight / total weight of the rule (0 with weight 0)
    service: Service | None = None
    port: PortChain | None = None
    problem: str | None = None
    reason: RefReason | None = None
    # "unknown, because ...": what decides this ref was not read (-n, RBAC); never a problem.
    unknown: str | None = None

    @property
    def ready(self) -> int:
        return sum(1 for b in self.port.backends if b.ready) if self.port else 0


def grant_permits(idx: Index, route: Route, ref: BackendRef) -> bool:
    """A backendRef into another namespace is allowed only by a ReferenceGrant there."""
    if ref.namespace == route.namespace:
        return True
    for g in idx.snapshot.reference_grants:
        if g.namespace != ref.namespace:
            continue
        if not any(
            f.group == GROUP and f.kind == route.kind and f.namespace == route.namespace
            for f in g.from_
        ):
            continue
        if any(
            t.group == ref.group and t.kind == ref.kind and t.name in (None, "", ref.name)
            for t in g.to
        ):
            return True
    return False


def resolve_refs(
    idx: Index, svcs: dict[tuple[str, str], Service], route: Route, rule: RouteRule
) -> list[RefHop]:
    """Every backendRef of a rule, resolved to a service port (or why not), with its share."""
    total = sum(max(r.weight, 0) for r in rule.backend_refs)
    out: list[RefHop] = []
    for ref in rule.backend_refs:
        share = ref.weight / total if total > 0 else 0.0
        where = f"{ref.namespace}/{ref.name}"
        if ref.group != "" or ref.kind != "Service":
            out.append(
                RefHop(
                    ref,
                    share,
                    problem=f"backendRef {ref.group or 'core'}/{ref.kind} {where}: "
                    "not a Service (not followed)",
                    reason="InvalidKind",
                )
            )
            continue
        permitted = grant_permits(idx, route, ref)
        why = idx.snapshot.unknown("referencegrants", ref.namespace)
        if not permitted and why is not None:
            out.append(
                RefHop(
                    ref,
                    share,
                    unknown=f"{why}: whether a ReferenceGrant in {ref.namespace} permits "
                    f"{route.kind} from {route.namespace}",
                )
            )
            continue
        if not permitted:
            out.append(
                RefHop(
                    ref,
                    share,
                    problem=f"service {where} is in another namespace and no ReferenceGrant in "
                    f"{ref.namespace} permits {route.kind} from {route.namespace}",
                    reason="RefNotPermitted",
                )
            )
            continue
        svc = svcs.get((ref.namespace, ref.name))
        why = idx.snapshot.unknown("services", ref.namespace, ref.name)
        if svc is None and why is not None:
            out.append(RefHop(ref, share, unknown=f"{why}: service {where}"))
            continue
        if svc is None:
            out.append(
                RefHop(ref, share, problem=f"service {where} not found", reason="BackendNotFound")
            )
            continue
        sp = next((p for p in svc.ports if p.port == ref.port and p.protocol == "TCP"), None)
        if sp is None:
            ports = ", ".join(str(p.port) for p in svc.ports) or "none"
            want = (
                "no port given (required for a Service)"
                if ref.port is None
                else f"no port {ref.port}"
            )
            out.append(
                RefHop(
                    ref,
                    share,
                    svc,
                    problem=f"service {where} has {want} (ports: {ports})",
                    reason="BackendNotFound",
                )
            )
            continue
        why = idx.snapshot.unknown("endpointslices", ref.namespace, ref.name)
        if why is not None:  # the service was read, its endpoints were not: none is not zero
            out.append(RefHop(ref, share, svc, unknown=f"{why}: the endpoints of {where}"))
            continue
        pc = next(pc for pc in service_chain(idx, svc).ports if pc.port == sp)
        out.append(RefHop(ref, share, svc, pc))
    return out
