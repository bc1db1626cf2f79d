"""Gateway API matching: which listener and route answer a request, and why. Pure.

Over the attachment that `gateway` computes: the most specific listener for the request's host
and port, then the route rule whose match wins, as gateway.networking.k8s.io/v1 defines it; and
every attached route's matches (`gateway_paths`) for map and the audit.

Sources (sigs.k8s.io/gateway-api v1.6.3, the version the test bed installs):
- Rule precedence: HTTPRouteRule.Matches: Exact path, longest PathPrefix, method, most header
  matches, most query matches; then the oldest route, then "{namespace}/{name}", then the first
  rule in list order. PathPrefix is element-wise ("/abc" matches /abc/def, not /abcd), a
  trailing slash ignored (HTTPPathMatch). RegularExpression matching and its precedence are
  implementation-specific: kinspect matches the whole value with RE2 (the syntax Envoy and most
  implementations use; linear time, so a pattern written into the cluster cannot hang a trace),
  ranks it below Exact, by pattern length beside PathPrefix, and says so. A pattern RE2
  refuses matches nothing, and the trace names it (`GatewayResult.invalid`).
- GRPCRoute: a method match is the request path /service/method (apis/v1/grpcroute_types.go).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kinspect.edge.gateway import (
    HTTP_KINDS,
    Attachment,
    Attachments,
    Conditions,
    RefHop,
    attachments,
    host_matches,
    listener_rank,
    resolve_refs,
    route_conditions,
    route_hostnames,
)
from kinspect.model.edge import (
    Gateway,
    Listener,
    Route,
    RouteMatch,
)
from kinspect.model.values import Service
from kinspect.path.chain import Index

if TYPE_CHECKING:
    import re2

# --- matching a request ----------------------------------------------------------------------


def _elements(path: str) -> list[str]:
    return [e for e in path.split("/") if e]


@functools.cache
def _options() -> re2.Options:
    import re2  # here, not at the top: only a trace through a RegularExpression pays for it

    o = re2.Options()
    o.log_errors = False  # RE2 would print the refused pattern (cluster text) on stderr itself
    return o


@functools.lru_cache(maxsize=1024)
def compiled(pattern: str) -> re2._Regexp | str:
    """The pattern compiled by RE2 (bounded by its default 8 MiB program), or why not."""
    import re2

    try:
        return re2.compile(pattern, _options())
    except re2.error as e:
        why = e.args[0] if e.args else b""
        text = why.decode("utf-8", "replace") if isinstance(why, bytes) else str(why)
        return text[:80] or "refused"
    except UnicodeEncodeError:
        return "not UTF-8"


def _regex(pattern: str, text: str) -> bool:
    c = compiled(pattern)
    if isinstance(c, str):
        return False  # not RE2: matches nothing, as an implementation would reject the route
    try:
        return c.fullmatch(text) is not None
    except UnicodeEncodeError:  # a request path no client could send
        return False


def _shown(pattern: str) -> str:
    # As written (renderers and warnings escape control characters), cut at 100 characters.
    return f"'{pattern}'" if len(pattern) <= 100 else f"'{pattern[:99]}…'"


def invalid_patterns(route: Route, m: RouteMatch) -> Iterator[str]:
    """Each RegularExpression of a match that RE2 refuses, in words."""
    values: list[tuple[str, str]] = []
    if route.kind == "GRPCRoute":
        if m.grpc_type == "RegularExpression":
            values += [
                (f"gRPC {k}", v)
                for k, v in (("service", m.grpc_service), ("method", m.grpc_method))
                if v is not None
            ]
    elif m.path_type == "RegularExpression":
        values.append(("path", m.path))
    values += [(f"header {h.name}", h.value) for h in m.headers if h.type == "RegularExpression"]
    values += [
        (f"query {p.name}", p.value) for p in m.query_params if p.type == "RegularExpression"
    ]
    for what, pattern in values:
        c = compiled(pattern)
        if isinstance(c, str):
            yield f"{what} {_shown(pattern)} is not valid RE2 ({c}): it matches no request"


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
        bad = (
            " (not valid RE2)"
            if m.path_type == "RegularExpression" and isinstance(compiled(m.path), str)
            else ""
        )
        return f"path {m.path} {m.path_type}{bad}"
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
    # Patterns of the considered routes that RE2 refuses (they match nothing), in words.
    invalid: list[str] = field(default_factory=list)

    @property
    def found(self) -> bool:
        # A backendRef kinspect could not read (unknown) is not a missing one: the route answers.
        return self.hit is not None and any(
            r.port is not None or r.unknown is not None for r in self.hit.refs
        )


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
    return max(cands, key=listener_rank, default=None)


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
    atts = atts or attachments(idx)
    # Routes whose parent Gateway was not read (issue 22): it may answer, so say it is unknown.
    res.unattached += [
        a
        for a in atts.items
        if a.unknown is not None
        and (not a.route.hostnames or any(host_matches(h, host) for h in a.route.hostnames))
    ]
    if not gws:
        return res
    hits: list[GatewayHit] = []
    reasons: list[str] = []
    said: set[str] = set()
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
                    for note in invalid_patterns(r, m) if m is not None else ():
                        text = f"{r.kind} {r} rule {i + 1}: {note}"
                        if text not in said:  # a set: routes are cluster data, many of them
                            said.add(text)
                            res.invalid.append(text)
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
