"""Entry points in front of services: which Ingress rule answers a URL, and why. Pure.

A request (host, path) is matched the way the networking.k8s.io/v1 API defines it, then the
backend service port continues into the chain (`chain.service_chain`) unchanged.

Sources for the semantics (facts, not code):
- Ingress path types, element-wise Prefix, "longest match wins, Exact beats Prefix":
  https://kubernetes.io/docs/concepts/services-networking/ingress/#path-types and
  #multiple-matches; the examples table there (Prefix /aaa/bbb matches /aaa/bbb/ccc, not
  /aaa/bbbxyz; a trailing slash is ignored; Exact /foo does not match /foo/).
- Hosts: a wildcard `*.foo.com` matches exactly one DNS label (bar.foo.com, not baz.bar.foo.com
  nor foo.com); a rule without host matches every host (#hostname-wildcards, IngressRule.host
  in the API reference).
- Precise host over wildcard over no host: the API leaves precedence between rules to the
  controller; this is what nginx's server_name selection does (nginx.org/en/docs/http/
  server_names.html: exact name, then wildcard), the Gateway API's rule for listeners (GEP-1911
  / ListenerHostname), and what ingress-nginx and Traefik do. A trace says "host precise",
  "host wildcard" or "any host" so the choice is visible.
- defaultBackend handles requests that match no rule (#default-backend).
- The class: `edge/ingressclass.py`.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field
from typing import Literal

from kinspect.edge import controller, gateway_match
from kinspect.edge.ingressclass import ClassOf, class_of, served_by
from kinspect.model.edge import Ingress, IngressBackend, IngressPath
from kinspect.model.errors import UsageError
from kinspect.model.values import Service, ServicePort
from kinspect.path.chain import Backend, Index, PortChain, service_chain
from kinspect.path.trace import echo, parse_target

URL_HINT = (
    "e.g. trace http://shop.example.com/api, or trace 203.0.113.20:443 --host shop.example.com"
)


@dataclass(frozen=True, slots=True)
class Request:
    """An HTTP request as far as routing goes: Host header, path, and the address dialled."""

    host: str | None  # the Host header, lowercased; None: no host (an IP without --host)
    path: str
    port: int
    address: str | None = None  # an IP the request is sent to (an Ingress's status address)
    scheme: Literal["http", "https"] = "http"
    query: tuple[tuple[str, str], ...] = ()  # the URL's query parameters (Gateway API matches)

    @property
    def url(self) -> str:
        where = self.host or self.address or ""
        if ":" in where:
            where = f"[{where}]"  # an IPv6 literal, as URLs write it (RFC 3986 section 3.2.2)
        default = 443 if self.scheme == "https" else 80
        port = "" if self.port == default else f":{self.port}"
        return f"{self.scheme}://{where}{port}{self.path}"


def is_url(text: str) -> bool:
    """A URL rather than ADDRESS[:PORT]."""
    return "://" in text


# What urllib.parse.urlsplit's ValueErrors mean, in words that do not quote the URL (the error
# line quotes it once, cut). Its messages as of Python 3.11-3.13 (Lib/urllib/parse.py).
_URLSPLIT_REASONS = (
    ("Invalid IPv6 URL", "a '[' without its ']' (or a ']' without its '[')"),
    ("does not appear to be an IPv4 or IPv6 address", "what is in brackets is not an IPv6 address"),
    ("IPv4 address cannot be in brackets", "only an IPv6 address goes in brackets"),
    (
        "NFKC normalization",
        "the host holds a character that NFKC normalisation turns into '/', '?', '#', '@' or "
        "':' (such as ℀, which becomes a/c)",
    ),
)


def _split(text: str, hint: str) -> urllib.parse.SplitResult:
    """`urlsplit`, its ValueError a usage error naming the problem."""
    try:
        return urllib.parse.urlsplit(text)
    except ValueError as e:
        why = next((w for m, w in _URLSPLIT_REASONS if m in str(e)), "not a URL")
        raise UsageError(f"bad URL {echo(text)}: {why}", hint) from None


def parse_request(text: str, host: str | None = None, path: str | None = None) -> Request:
    """A URL (`http://host[:port]/path`), or ADDRESS:PORT with --host/--path."""
    hint = URL_HINT
    scheme: Literal["http", "https"] = "http"
    if is_url(text):
        parts = _split(text.strip(), hint)
        if parts.scheme.lower() not in ("http", "https"):
            raise UsageError(f"bad URL {echo(text)}: the scheme must be http or https", hint)
        scheme = "https" if parts.scheme.lower() == "https" else "http"
        if parts.username or parts.password:
            raise UsageError(f"bad URL {echo(text)}: no user or password, please", hint)
        target = parse_target(parts.netloc)
        url_path = parts.path or "/"
        path = path or url_path
        query = tuple(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
    else:
        target = parse_target(text)
        if target.protocol not in (None, "TCP"):
            raise UsageError(
                f"bad address {echo(text)}: --host and --path follow HTTP over TCP, "
                f"not {target.protocol}",
                "drop --host/--path to trace the port itself, e.g. trace 10.96.0.10:53/UDP",
            )
        path = path or "/"
        query = ()
        if target.port == 443:
            scheme = "https"
    if not path.startswith("/"):
        raise UsageError(f"bad path {echo(path)}: it must start with /", hint)
    port = target.port or (443 if scheme == "https" else 80)
    address: str | None = None
    if target.address.replace(".", "").isdigit() or ":" in target.address:
        address = target.address  # an IP: the Host header comes from --host only
    else:
        host = host or target.address
    return Request(host.lower().rstrip(".") if host else None, path, port, address, scheme, query)


# --- matching rules ------------------------------------------------------------------------

HostMatch = Literal["precise", "wildcard", "any"]
_HOST_RANK: dict[HostMatch, int] = {"precise": 2, "wildcard": 1, "any": 0}


def host_match(rule_host: str | None, host: str | None) -> HostMatch | None:
    """How an Ingress rule's host matches the request's Host; None: it does not."""
    if rule_host is None:
        return "any"
    if host is None:
        return None
    rule_host = rule_host.lower()
    if rule_host.startswith("*."):
        # One label exactly: "*.foo.com" matches bar.foo.com, not baz.bar.foo.com nor foo.com.
        first, _, rest = host.partition(".")
        return "wildcard" if first and rest == rule_host[2:] else None
    return "precise" if rule_host == host else None


def _elements(path: str) -> list[str]:
    return [e for e in path.split("/") if e]


def path_match(p: IngressPath, path: str) -> bool:
    """Whether an Ingress path matches a request path.

    Exact: the whole path, case-sensitively. Prefix: element by element on "/", so /api
    matches /api and /api/x but not /apix, and a trailing slash is ignored. kinspect matches
    ImplementationSpecific as Prefix and says so: the controller decides.
    """
    if p.path_type == "Exact":
        return p.path == path
    want = _elements(p.path)
    return _elements(path)[: len(want)] == want


# --- resolving a request -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BackendHop:
    """An Ingress backend resolved against the cluster: the service port, or why not."""

    backend: IngressBackend
    service: Service | None = None
    port: PortChain | None = None
    problem: str | None = None  # "service demo/x not found", "service demo/x has no port 81"


@dataclass(frozen=True, slots=True)
class IngressHit:
    """The Ingress rule (or defaultBackend) that answers the request, and why."""

    ingress: Ingress
    klass: ClassOf
    host: HostMatch | None  # None: no rule's host matched (defaultBackend)
    rule_host: str | None
    path: IngressPath | None  # None: the defaultBackend
    why: str
    hop: BackendHop
    tls_secret: str | None = None  # by name: the Secret is never read
    tls: bool = False


@dataclass
class EntryResult:
    request: Request
    hit: IngressHit | None = None
    # Other rules that matched as well as the chosen one (same host and path elsewhere).
    also: list[IngressHit] = field(default_factory=list)
    why_not: str | None = None  # when nothing answers: no host matches, no path matches ...
    considered: int = 0  # Ingresses the request could reach
    # The Gateway API's answer (listener, route, rule), beside the Ingress's.
    gateway: gateway_match.GatewayResult = field(default_factory=gateway_match.GatewayResult)
    # What receives the published (or dialled) address and port: the hop into the controller.
    first_hop: controller.FirstHop | None = None
    # The Ingresses were reached through their controller's Service at the dialled address,
    # not through their status (`controller.ingresses_behind`).
    behind: str | None = None

    @property
    def answered(self) -> bool:
        """An Ingress rule or a Gateway route answers with a service port."""
        return (self.hit is not None and self.hit.hop.port is not None) or self.gateway.found

    @property
    def found(self) -> bool:
        """Answered, and the address:port is received (or not one kinspect read: unknown)."""
        return self.answered and (self.first_hop is None or self.first_hop.received is not False)


Services = dict[tuple[str, str], Service]


def services_of(idx: Index) -> Services:
    """Services by (namespace, name): built once per command, never scanned per path."""
    return {(s.namespace, s.name): s for s in idx.snapshot.services}


def resolve_backend(idx: Index, svcs: Services, namespace: str, b: IngressBackend) -> BackendHop:
    """The Service port an Ingress backend names (by number or by name), with its chain."""
    if b.service is None:
        return BackendHop(b, problem=f"resource backend {b.resource}: not a service")
    svc = svcs.get((namespace, b.service))
    if svc is None:
        return BackendHop(b, problem=f"service {namespace}/{b.service} not found")
    sp = _service_port(svc, b)
    if sp is None:
        ports = ", ".join(_port_text(p) for p in svc.ports) or "none"
        return BackendHop(
            b,
            svc,
            problem=f"service {namespace}/{b.service} has no port {b.port_text} (ports: {ports})",
        )
    c = service_chain(idx, svc)
    pc = next(pc for pc in c.ports if pc.port == sp)
    return BackendHop(b, svc, pc)


def _port_text(p: ServicePort) -> str:
    return f"{p.port} ({p.name})" if p.name else str(p.port)


def _service_port(svc: Service, b: IngressBackend) -> ServicePort | None:
    # Ingress traffic is HTTP over TCP: only TCP service ports can carry it.
    tcp = [p for p in svc.ports if p.protocol == "TCP"]
    if b.port_number is not None:
        return next((p for p in tcp if p.port == b.port_number), None)
    return next((p for p in tcp if p.name == b.port_name), None)


def _tls(ing: Ingress, host: str | None) -> tuple[bool, str | None]:
    for t in ing.tls:
        if not t.hosts or any(host_match(h, host) in ("precise", "wildcard") for h in t.hosts):
            return True, t.secret_name
    return False, None


def reachable_ingresses(idx: Index, req: Request) -> list[Ingress]:
    """The Ingresses a request can reach: all for a host name, those at the address for an IP."""
    ings = sorted(idx.snapshot.ingresses, key=lambda i: (i.namespace, i.name))
    if req.address is None:
        return ings
    return [i for i in ings if any(a.address == req.address for a in i.addresses)]


def _path_key(p: IngressPath) -> tuple[int, int]:
    # Longest path first; at equal length Exact before Prefix (and ImplementationSpecific).
    return (len("/".join(_elements(p.path))), 1 if p.path_type == "Exact" else 0)


def resolve(idx: Index, req: Request, client_node: str | None = None) -> EntryResult:
    """Which Ingress rule and which Gateway route answer the request, and their service ports.

    Then the first hop (`controller.first_hop`): what receives the address and port.
    `client_node`: as `path.trace.trace`'s.
    """
    res = _resolve_ingress(idx, req)
    # The Gateway API: HTTP semantics of a plain trace (method GET, no headers but Host).
    http = gateway_match.HTTPRequest(req.path, query=req.query)
    res.gateway = gateway_match.resolve_gateway(
        idx, services_of(idx), req.host, req.port, req.address, http
    )
    res.first_hop = _first_hop(idx, res, client_node)
    return res


def _first_hop(idx: Index, res: EntryResult, client_node: str | None) -> controller.FirstHop | None:
    """What receives the answering entry's published addresses (or the dialled one)."""
    addrs: list[str] = []
    for hit in (res.hit, *res.also):
        if hit is not None:
            addrs.extend(a.address for a in hit.ingress.addresses if a.address)
    for g in (res.gateway.hit, *res.gateway.also):
        if g is not None:
            addrs.extend(g.gateway.addresses)
    req = res.request
    if not addrs and req.address is None:
        return None
    published = tuple(dict.fromkeys(addrs))
    return controller.first_hop(idx, req.port, published, req.address, client_node)


def _resolve_ingress(idx: Index, req: Request) -> EntryResult:
    res = EntryResult(req)
    svcs = services_of(idx)
    ings = reachable_ingresses(idx, req)
    if not ings and req.address is not None:
        # The dialled address may be the controller's frontend (a nodePort, another node).
        rs = controller.receivers(idx, (req.address,), req.port)
        ings = controller.ingresses_behind(idx, rs)
        if ings:
            svcs_in = sorted({r.service for x in rs for r in x.result.routes})
            res.behind = (
                f"{req.address}:{req.port} enters {', '.join(svcs_in)}, the controller of "
                f"{len(ings)} Ingress{'es' if len(ings) > 1 else ''}"
            )
    res.considered = len(ings)
    if not ings:
        res.why_not = (
            f"no Ingress has the address {req.address} (status.loadBalancer.ingress)"
            if req.address
            else "the cluster has no Ingress"
        )
        return res
    classes = idx.snapshot.ingress_classes
    # Every (ingress, rule) whose host matches, by host rank.
    by_rank: dict[int, list[tuple[Ingress, str | None, HostMatch]]] = {}
    for ing in ings:
        for r in ing.rules:
            m = host_match(r.host, req.host)
            if m is not None:
                by_rank.setdefault(_HOST_RANK[m], []).append((ing, r.host, m))
    if by_rank:
        best = by_rank[max(by_rank)]
        hits: list[tuple[tuple[int, int], IngressHit]] = []
        for ing, rule_host, m in best:
            klass = class_of(ing, classes)
            for r in ing.rules:
                if r.host != rule_host:
                    continue
                for p in r.paths:
                    if path_match(p, req.path):
                        hits.append(
                            (_path_key(p), _hit(idx, svcs, req, ing, klass, m, rule_host, p))
                        )
        if hits:
            top = max(k for k, _ in hits)
            winners = [h for k, h in hits if k == top]
            res.hit, res.also = winners[0], winners[1:]
            return res
        hosts = sorted({h or "*" for _, h, _ in best})
        no_path = f"no path of host {', '.join(hosts)} matches {req.path}"
        owners = list(dict.fromkeys(ing for ing, _, _ in best))
    else:
        no_path = f"no Ingress rule matches host {req.host or '(none)'}"
        owners = ings
    # No rule matched: the defaultBackend of the Ingresses that claimed the host (or of any).
    for ing in owners:
        if ing.default_backend is not None:
            res.hit = IngressHit(
                ing,
                class_of(ing, classes),
                None,
                None,
                None,
                f"{no_path}: defaultBackend of Ingress {ing.namespace}/{ing.name}",
                resolve_backend(idx, svcs, ing.namespace, ing.default_backend),
                *_flip(_tls(ing, req.host)),
            )
            return res
    res.why_not = no_path
    return res


def _flip(t: tuple[bool, str | None]) -> tuple[str | None, bool]:
    return t[1], t[0]


def _hit(
    idx: Index,
    svcs: Services,
    req: Request,
    ing: Ingress,
    klass: ClassOf,
    m: HostMatch,
    rule_host: str | None,
    p: IngressPath,
) -> IngressHit:
    host_why = {
        "precise": f"host {rule_host} (precise)",
        "wildcard": f"host {rule_host} (wildcard: one label)",
        "any": "rule without host (every host)",
    }[m]
    how = {
        "Exact": f"path {p.path} Exact",
        "Prefix": f"path {p.path} Prefix (element-wise)",
        "ImplementationSpecific": (
            f"path {p.path} ImplementationSpecific (matched as Prefix: the controller decides)"
        ),
    }[p.path_type]
    why = f"{host_why}; {how}; longest match, Exact before Prefix"
    tls, secret = _tls(ing, req.host)
    return IngressHit(
        ing, klass, m, rule_host, p, why, resolve_backend(idx, svcs, ing.namespace, p.backend),
        secret, tls,
    )  # fmt: skip


# --- every path of the cluster (map --entrypoints, the audit) ------------------------------


@dataclass(frozen=True, slots=True)
class EntryPath:
    """One host and path of one Ingress (or its defaultBackend) and where it lands."""

    ingress: Ingress
    klass: ClassOf
    host: str | None
    path: IngressPath | None  # None: defaultBackend
    hop: BackendHop

    @property
    def ready(self) -> int:
        return sum(1 for b in self.hop.port.backends if b.ready) if self.hop.port else 0


def entry_paths(idx: Index) -> list[EntryPath]:
    """Every host and path of every Ingress, resolved to its service port."""
    out: list[EntryPath] = []
    classes = idx.snapshot.ingress_classes
    svcs = services_of(idx)
    cache: dict[tuple[str, IngressBackend], BackendHop] = {}

    def hop(ns: str, b: IngressBackend) -> BackendHop:
        key = (ns, b)
        if key not in cache:
            cache[key] = resolve_backend(idx, svcs, ns, b)
        return cache[key]

    for ing in sorted(idx.snapshot.ingresses, key=lambda i: (i.namespace, i.name)):
        klass = class_of(ing, classes)
        for r in ing.rules:
            for p in r.paths:
                out.append(EntryPath(ing, klass, r.host, p, hop(ing.namespace, p.backend)))
        if ing.default_backend is not None:
            out.append(EntryPath(ing, klass, None, None, hop(ing.namespace, ing.default_backend)))
    return out


def controller_services(idx: Index, result: EntryResult) -> list[Service]:
    """The Services at the answering Ingress's or Gateway's published address.

    A controller publishes where it listens in the Ingress's `status.loadBalancer.ingress` and
    the Gateway's `status.addresses`. When one of those is an address of a Service of the
    cluster (its load balancer, an externalIP or its ClusterIP), that Service's backends are the
    controller's data-path pods: the source of the hop to the route's backends.
    """
    addrs: set[str] = set()
    for hit in (result.hit, *result.also):
        if hit is not None:
            addrs.update(a.address for a in hit.ingress.addresses if a.address)
    if result.gateway.hit is not None:
        addrs.update(result.gateway.hit.gateway.addresses)
    if not addrs:
        return []
    out: list[Service] = []
    for svc in idx.snapshot.services:
        own = {*svc.cluster_ips, *svc.external_ips, *(i.address for i in svc.load_balancer_ingress)}
        if own & addrs:
            out.append(svc)
    return out


def answer_services(res: EntryResult) -> list[Service]:
    """The services that answer a resolved request (trace reads only their pods).

    Which Ingress rule and which route answer depends on hosts, paths and attachment, never
    on pods: resolving the request on a snapshot without pods names the services whose
    chains the report shows (the chosen rule's, and the other rules that matched as well).
    Every service any reachable Ingress or route names would be all of them on a cluster
    whose Ingresses differ only by host (1,000 LISTs at the benchmark's scale).
    """
    out: dict[tuple[str, str], Service] = {}
    hops = [h.hop for h in (res.hit, *res.also) if h is not None]
    refs = [r for g in (res.gateway.hit, *res.gateway.also) if g is not None for r in g.refs]
    for svc in [*(h.service for h in hops), *(r.service for r in refs)]:
        if svc is not None:
            out[(svc.namespace, svc.name)] = svc
    return list(out.values())


# --- every entry point of the cluster, Ingress and Gateway API (map, map --entrypoints) -----


@dataclass(frozen=True, slots=True)
class Entrypoint:
    """One host and path of an Ingress or a route, and one service port it lands on."""

    kind: str  # "Ingress", or the route's kind (HTTPRoute, GRPCRoute ...)
    namespace: str
    name: str
    via: str  # "class nginx", "Gateway ns/gw listener http (HTTP:80)"
    host: str  # "*": every host
    path: str  # "/api (Prefix)", "defaultBackend", "path /api PathPrefix, header x=1"
    addresses: tuple[str, ...]  # where it is reached (status addresses)
    service: Service | None
    port: PortChain | None
    problem: str | None = None
    weight: int | None = None  # Gateway API backendRefs
    share: float | None = None
    unknown: str | None = None  # "unknown, because ...": a backendRef kinspect could not read
    # The controller's Service at the addresses (`controller.controller_of`); None: no address.
    controller: controller.Controller | None = None

    @property
    def ready(self) -> int:
        return sum(1 for b in self.port.backends if b.ready) if self.port else 0

    @property
    def total(self) -> int:
        return len(self.port.backends) if self.port else 0


def entrypoints(idx: Index) -> list[Entrypoint]:
    """Every host and path of every Ingress and attached route, with where it lands."""
    out: list[Entrypoint] = []
    read = idx.snapshot.ingress_class_state == "read"
    ctl = controller.Controllers(idx)

    def controller_at(addrs: tuple[str, ...]) -> controller.Controller | None:
        return ctl.of(addrs) if addrs else None

    for e in entry_paths(idx):
        ing = e.ingress
        path = f"{e.path.path} ({e.path.path_type})" if e.path else "defaultBackend"
        addrs = tuple(a.address for a in ing.addresses)
        out.append(
            Entrypoint(
                "Ingress", ing.namespace, ing.name, served_by(e.klass, read), e.host or "*", path,
                addrs, e.hop.service, e.hop.port, e.hop.problem,
                controller=controller_at(addrs),
            )
        )  # fmt: skip
    for gp in gateway_match.gateway_paths(idx):
        r, ln, gw = gp.route, gp.listener, gp.gateway
        via = f"Gateway {gw.namespace}/{gw.name} listener {ln.name} ({ln.protocol}:{ln.port})"
        path = gateway_match.match_text(r, gp.match) if gp.match is not None else "every request"
        for host in gp.hostnames or ("*",):
            for ref in gp.refs:
                out.append(
                    Entrypoint(
                        r.kind, r.namespace, r.name, via, host, path, gw.addresses,
                        ref.service, ref.port, ref.problem, ref.ref.weight, ref.share,
                        ref.unknown, controller_at(gw.addresses),
                    )
                )  # fmt: skip
            if not gp.refs:
                redirect = gp.route.rules[gp.rule_index].redirects
                out.append(
                    Entrypoint(
                        r.kind, r.namespace, r.name, via, host, path, gw.addresses, None,
                        None, "redirects (RequestRedirect)" if redirect else "no backendRefs (500)",
                        controller=controller_at(gw.addresses),
                    )
                )  # fmt: skip
    return out


PortKey = tuple[str, str, int]  # (namespace, service, port)


def entries_by_port(eps: list[Entrypoint]) -> dict[PortKey, list[Entrypoint]]:
    """The entry points that land on each service port."""
    out: dict[PortKey, list[Entrypoint]] = {}
    for e in eps:
        if e.service is not None and e.port is not None:
            out.setdefault((e.service.namespace, e.service.name, e.port.port.port), []).append(e)
    return out


def short(e: Entrypoint) -> str:
    """`ingress shop shop.example.com/api`, `httproute store store.example.net/api 90%`."""
    where = e.path.split(" ")[0] if e.kind == "Ingress" else e.path
    share = f" {e.share:.0%}" if e.share is not None and e.share < 1 else ""
    return f"{e.kind.lower()} {e.name} {e.host}{'' if where.startswith('/') else ' '}{where}{share}"


def answer_backends(result: EntryResult) -> list[tuple[str, Backend]]:
    """The backends of the answering Ingress rule and Gateway route, with how they are reached."""
    out: list[tuple[str, Backend]] = []
    hit = result.hit
    if hit is not None and hit.hop.port is not None and hit.hop.service is not None:
        svc = hit.hop.service
        via = f"Ingress {hit.ingress.namespace}/{hit.ingress.name} to {svc.namespace}/{svc.name}"
        out.extend((via, b) for b in hit.hop.port.backends)
    g = result.gateway.hit
    if g is not None:
        for ref in g.refs:
            if ref.port is None or ref.service is None:
                continue
            svc = ref.service
            via = f"{g.route.kind} {g.route.namespace}/{g.route.name} to {svc.namespace}/{svc.name}"
            out.extend((via, b) for b in ref.port.backends)
    return out
