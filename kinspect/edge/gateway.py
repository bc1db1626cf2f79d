"""Gateway API entry points: which listener and route answer a request, and why. Pure.

Route attachment, hostname intersection, match precedence and cross-namespace references are
computed as gateway.networking.k8s.io/v1 defines them; a controller's own status conditions
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
- Rule precedence: HTTPRouteRule.Matches: Exact path, longest PathPrefix, method, most header
  matches, most query matches; then the oldest route, then "{namespace}/{name}", then the first
  rule in list order. PathPrefix is element-wise ("/abc" matches /abc/def, not /abcd), a
  trailing slash ignored (HTTPPathMatch). RegularExpression matching and its precedence are
  implementation-specific: kinspect uses Python's re.fullmatch and ranks it below Exact, by
  pattern length beside PathPrefix, and says so.
- GRPCRoute: a method match is the request path /service/method (apis/v1/grpcroute_types.go).
- backendRefs: weight defaults to 1, 0 sends nothing; a reference to another namespace needs a
  ReferenceGrant in that namespace whose from names the route (group, kind, namespace) and whose
  to names Service (name empty: every Service) (apis/v1beta1/referencegrant_types.go).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from kinspect.model.edge import (
    BackendRef,
    Gateway,
    GatewayCondition,
    Listener,
    ParentRef,
    Route,
    RouteMatch,
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


def _listener_rank(ln: Listener) -> tuple[int, int]:
    # Exact over wildcard over none; a longer wildcard over a shorter one.
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

    @property
    def attached(self) -> bool:
        return self.reason is None


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
            out.items.append(attach(r, ref, gws, ns_labels))
    return out


# --- conditions: the controller's and kinspect's ---------------------------------------------


@dataclass(frozen=True, slots=True)
class Conditions:
    """A route's conditions on one parent: what a controller wrote, and what kinspect computes."""

    written: tuple[GatewayCondition, ...]
    computed: tuple[GatewayCondition, ...]

    def disagreements(self) -> list[str]:
        """The condition types where a controller's status differs from the computed one."""
        w = {c.type: c.status for c in self.written}
        return [c.type for c in self.computed if c.type in w and w[c.type] != c.status]


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
        if not grant_permits(idx, route, ref):
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
        pc = next(pc for pc in service_chain(idx, svc).ports if pc.port == sp)
        out.append(RefHop(ref, share, svc, pc))
    return out


# --- matching a request ----------------------------------------------------------------------


def _elements(path: str) -> list[str]:
    return [e for e in path.split("/") if e]


def _regex(pattern: str, text: str) -> bool:
    try:
        return re.fullmatch(pattern, text) is not None
    except re.error:
        return False


def path_matches(m: RouteMatch, path: str) -> bool:
    """Exact, element-wise PathPrefix, or RegularExpression (implementation-specific)."""
    match m.path_type:
        case "Exact":
            return m.path == path
        case "PathPrefix":
            want = _elements(m.path)
            return _elements(path)[: len(want)] == want
        case "RegularExpression":
            return _regex(m.path, path)


def _value_ok(type_: str, want: str, got: str | None) -> bool:
    if got is None:
        return False
    return _regex(want, got) if type_ == "RegularExpression" else want == got


@dataclass(frozen=True, slots=True)
class HTTPRequest:
    """What a route matches on besides the host: path, method, headers, query parameters."""

    path: str
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()  # names lowercased
    query: tuple[tuple[str, str], ...] = ()


def match_fails(route: Route, m: RouteMatch, req: HTTPRequest) -> str | None:
    """Why a match does not hold for the request; None: it holds."""
    if route.kind == "GRPCRoute":
        parts = req.path.strip("/").split("/")
        svc, meth = (parts[0], parts[1]) if len(parts) == 2 else ("", "")
        for want, got in ((m.grpc_service, svc), (m.grpc_method, meth)):
            if want is not None and not _value_ok(m.grpc_type, want, got):
                return f"gRPC method /{m.grpc_service or '*'}/{m.grpc_method or '*'}"
    elif not path_matches(m, req.path):
        return f"path {m.path} {m.path_type}"
    if m.method is not None and m.method != req.method:
        return f"method {m.method} (traced as {req.method})"
    hdrs = dict(req.headers)
    for h in m.headers:
        if not _value_ok(h.type, h.value, hdrs.get(h.name.lower())):
            return f"header {h.name}: {h.value} ({h.type})"
    q = dict(req.query)
    for p in m.query_params:
        if not _value_ok(p.type, p.value, q.get(p.name)):
            return f"query {p.name}={p.value} ({p.type})"
    return None


def match_text(route: Route, m: RouteMatch) -> str:
    """A match in words, implementation-specific parts said so."""
    if route.kind == "GRPCRoute":
        parts = [f"gRPC /{m.grpc_service or '*'}/{m.grpc_method or '*'} {m.grpc_type}"]
    elif m.path_type == "RegularExpression":
        parts = [f"path {m.path} RegularExpression (implementation-specific)"]
    else:
        parts = [f"path {m.path} {m.path_type}"]
    if m.method:
        parts.append(f"method {m.method}")
    parts += [f"header {h.name}={h.value}" for h in m.headers]
    parts += [f"query {p.name}={p.value}" for p in m.query_params]
    return ", ".join(parts)


def _match_key(m: RouteMatch) -> tuple[int, int, int, int, int]:
    # HTTPRouteRule.matches precedence; RegularExpression ranks beside PathPrefix by length.
    exact = 1 if m.path_type == "Exact" else 0
    length = len(m.path) if m.path_type != "Exact" else 0
    return (exact, length, 1 if m.method else 0, len(m.headers), len(m.query_params))


def _host_key(hostnames: tuple[str, ...], host: str | None) -> tuple[int, int]:
    # Characters of a matching non-wildcard hostname, then of a matching hostname.
    hits = [h for h in hostnames if host_matches(h, host)]
    exact = max((len(h) for h in hits if not h.startswith("*.")), default=0)
    return (exact, max((len(h) for h in hits), default=0))


@dataclass(frozen=True, slots=True)
class GatewayHit:
    """The listener, route, rule and match that answer the request, and why."""

    gateway: Gateway
    listener: Listener
    attachment: Attachment
    rule_index: int
    match: RouteMatch | None  # None: a rule without matches (every request)
    why: str
    refs: tuple[RefHop, ...]
    conditions: Conditions
    class_defined: bool = True  # a GatewayClass of the Gateway's class name exists

    @property
    def route(self) -> Route:
        return self.attachment.route


@dataclass
class GatewayResult:
    hit: GatewayHit | None = None
    also: list[GatewayHit] = field(default_factory=list)  # other Gateways answering the same URL
    why_not: str | None = None
    considered: int = 0
    # Routes with a parentRef to a considered listener that did not attach, with the reason.
    unattached: list[Attachment] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return self.hit is not None and any(r.port is not None for r in self.hit.refs)


def reachable_gateways(idx: Index, address: str | None) -> list[Gateway]:
    """The Gateways a request can reach: all for a host name, those at the address for an IP."""
    gws = sorted(idx.snapshot.gateways, key=lambda g: (g.namespace, g.name))
    return gws if address is None else [g for g in gws if address in g.addresses]


def _best_listener(gw: Gateway, host: str | None, port: int) -> Listener | None:
    cands = [
        ln
        for ln in gw.listeners
        if ln.port == port and ln.protocol in ("HTTP", "HTTPS") and host_matches(ln.hostname, host)
    ]
    return max(cands, key=_listener_rank, default=None)


def resolve_gateway(
    idx: Index,
    svcs: dict[tuple[str, str], Service],
    host: str | None,
    port: int,
    address: str | None,
    req: HTTPRequest,
    atts: Attachments | None = None,
) -> GatewayResult:
    """Which Gateway listener, route and rule answer a request, and its backends."""
    res = GatewayResult()
    gws = reachable_gateways(idx, address)
    res.considered = len(gws)
    if not gws:
        return res
    atts = atts or attachments(idx)
    hits: list[GatewayHit] = []
    reasons: list[str] = []
    for gw in gws:
        # Routes meant for this Gateway and this host that did not attach: say why.
        res.unattached += [
            a
            for a in atts.items
            if a.gateway is gw
            and not a.attached
            and a not in res.unattached
            and (not a.route.hostnames or any(host_matches(h, host) for h in a.route.hostnames))
        ]
        ln = _best_listener(gw, host, port)
        if ln is None:
            reasons.append(
                f"Gateway {gw}: no HTTP/HTTPS listener on port {port} for host {host or '(none)'}"
            )
            continue
        ranked: list[tuple[tuple[object, ...], GatewayHit]] = []
        fails: list[str] = []
        for a in atts.on(gw, ln):
            r = a.route
            if r.kind not in HTTP_KINDS:
                continue
            names = route_hostnames(ln, r) or ()
            if names and not any(host_matches(h, host) for h in names):
                continue
            hk = _host_key(names, host)
            for i, rule in enumerate(r.rules):
                ms: tuple[RouteMatch | None, ...] = rule.matches or (None,)
                for j, m in enumerate(ms):
                    fail = match_fails(r, m, req) if m is not None else None
                    if fail is not None:
                        fails.append(f"{r.kind} {r}: {fail}")
                        continue
                    mk = _match_key(m) if m is not None else (0, 1, 0, 0, 0)
                    # Larger first: negate the tie-breakers that prefer smaller values.
                    key = (hk, mk, _neg(r.created), _neg(f"{r.namespace}/{r.name}"), -i, -j)
                    ranked.append((key, _hit(idx, svcs, gw, ln, a, i, m, host, req)))
        if ranked:
            best = max(ranked, key=lambda t: t[0])
            hits.append(best[1])
        else:
            tail = f" ({'; '.join(dict.fromkeys(fails))})" if fails else ""
            reasons.append(
                f"Gateway {gw} listener {ln.name}: no attached route matches {req.path}{tail}"
            )
    if hits:
        res.hit, res.also = hits[0], hits[1:]
    else:
        res.why_not = "; ".join(reasons)
    return res


def _neg(text: str) -> tuple[int, ...]:
    # Sorts a string descending inside a max(): the smaller text gets the larger key.
    return (*(-ord(c) for c in text), 0)


def _hit(
    idx: Index,
    svcs: dict[tuple[str, str], Service],
    gw: Gateway,
    ln: Listener,
    a: Attachment,
    i: int,
    m: RouteMatch | None,
    host: str | None,
    req: HTTPRequest,
) -> GatewayHit:
    r = a.route
    rule = r.rules[i]
    lh = f"listener {ln.name} {ln.protocol}:{ln.port} host {ln.hostname or '*'}"
    names = route_hostnames(ln, r) or ()
    rh = f"route hostnames {', '.join(names)}" if names else "route without hostnames (every host)"
    how = match_text(r, m) if m is not None else "rule without matches (every request)"
    name = f" ({rule.name})" if rule.name else ""
    why = f"{lh}; {rh}; rule {i + 1}{name}: {how}"
    refs = tuple(resolve_refs(idx, svcs, r, rule))
    # GatewayClasses are cluster-scoped: unreadable (none read) is unknown, not missing.
    classes = idx.snapshot.gateway_classes
    defined = not classes or any(c.name == gw.class_name for c in classes)
    return GatewayHit(gw, ln, a, i, m, why, refs, route_conditions(a, list(refs)), defined)


# --- every route of the cluster (map --entrypoints, the audit) -------------------------------


@dataclass(frozen=True, slots=True)
class GatewayPath:
    """One match of one rule of one attached route on one listener, and where it lands."""

    gateway: Gateway
    listener: Listener
    route: Route
    hostnames: tuple[str, ...]  # () every host the listener takes
    rule_index: int
    match: RouteMatch | None
    refs: tuple[RefHop, ...]


def gateway_paths(idx: Index, atts: Attachments | None = None) -> Iterator[GatewayPath]:
    """Every match of every attached route on each listener it attaches to."""
    atts = atts or attachments(idx)
    svcs = {(s.namespace, s.name): s for s in idx.snapshot.services}
    cache: dict[tuple[int, int], tuple[RefHop, ...]] = {}
    for a in atts.items:
        if a.gateway is None:
            continue
        for ln in a.listeners:
            names = route_hostnames(ln, a.route) or ((ln.hostname,) if ln.hostname else ())
            for i, rule in enumerate(a.route.rules):
                key = (id(a.route), i)
                if key not in cache:
                    cache[key] = tuple(resolve_refs(idx, svcs, a.route, rule))
                for m in rule.matches or (None,):
                    yield GatewayPath(a.gateway, ln, a.route, names, i, m, cache[key])
