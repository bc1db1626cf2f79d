"""Gateway API semantics (edge.gateway) on plain data: the rules of gateway.networking.k8s.io.

The cases are transcribed from the API's own documentation (sigs.k8s.io/gateway-api v1.6.3,
apis/v1/{gateway,httproute,shared}_types.go, apis/v1beta1/referencegrant_types.go): the
examples there are the expected values here.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest
from rich.console import Console

from kinspect.edge import entry, gateway, gateway_match
from kinspect.model.edge import (
    BackendRef,
    Gateway,
    GatewayCondition,
    GrantFrom,
    GrantTo,
    Listener,
    ParentRef,
    ReferenceGrant,
    Route,
    RouteKind,
    RouteMatch,
    RouteParentStatus,
    RouteRule,
    ValueMatch,
)
from kinspect.model.errors import ExitCode
from kinspect.model.labels import LabelSelector, Requirement
from kinspect.model.snapshot import Snapshot
from kinspect.model.values import Namespace
from kinspect.path import chain
from kinspect.render import report, tree
from kinspect.wire import snapshotfile

from ..schema import validate
from .builders import cport, ep, group, pod, snap, sport, svc
from .runner import invoke

G = gateway.GROUP


def listener(
    name: str = "http",
    port: int = 80,
    hostname: str | None = None,
    protocol: str = "HTTP",
    **kw: object,
) -> Listener:
    return Listener(name, port, protocol, hostname, **kw)  # type: ignore[arg-type]


def gw(
    *listeners: Listener, name: str = "gw", ns: str = "ns", addr: str = "203.0.113.30"
) -> Gateway:
    return Gateway(ns, name, "cls", listeners or (listener(),), (addr,))


def ref(name: str, port: int | None = 80, ns: str = "ns", weight: int = 1, **kw: str) -> BackendRef:
    return BackendRef(ns, name, port=port, weight=weight, **kw)


def rule(
    *matches: RouteMatch, refs: tuple[BackendRef, ...] = (), name: str | None = None
) -> RouteRule:
    return RouteRule(matches, refs or (ref("web"),), name)


def route(
    name: str,
    *rules: RouteRule,
    ns: str = "ns",
    hostnames: tuple[str, ...] = (),
    parents: tuple[ParentRef, ...] = (),
    kind: RouteKind = "HTTPRoute",
    created: str = "2026-01-01T00:00:00Z",
    status: tuple[RouteParentStatus, ...] = (),
) -> Route:
    return Route(
        kind, ns, name, parents or (ParentRef("ns", "gw"),), hostnames, rules or (rule(),),
        created, status,
    )  # fmt: skip


def prefix(p: str, **kw: object) -> RouteMatch:
    return RouteMatch("PathPrefix", p, **kw)  # type: ignore[arg-type]


def exact(p: str, **kw: object) -> RouteMatch:
    return RouteMatch("Exact", p, **kw)  # type: ignore[arg-type]


def _cluster(
    gateways: tuple[Gateway, ...],
    routes: tuple[Route, ...],
    grants: tuple[ReferenceGrant, ...] = (),
    namespaces: tuple[Namespace, ...] = (),
) -> Snapshot:
    web = svc("web", sport(80, "http", "http"), selector={"app": "web"})
    api = svc("api", sport(8080, 8080, "api"), selector={"app": "api"}, cluster_ips=("10.96.0.11",))
    other = svc("db", sport(5432), ns="data", selector={"app": "db"}, cluster_ips=("10.96.0.12",))
    s = snap(
        services=(web, api, other),
        groups=(
            group("web", [("http", 8080, "TCP")], ep("10.244.0.5", "web-0")),
            group("api", [("api", 8080, "TCP")], ep("10.244.0.6", "api-0", ready=False)),
            group("db", [(None, 5432, "TCP")], ep("10.244.0.7", "db-0", ns="data"), ns="data"),
        ),
        pods=(
            pod("web-0", "10.244.0.5", cport("app", 8080, "http"), labels={"app": "web"}),
            pod("api-0", "10.244.0.6", cport("app", 8080), labels={"app": "api"}, ready=False),
        ),
    )
    return msgspec.structs.replace(
        s, gateways=gateways, routes=routes, reference_grants=grants, namespaces=namespaces
    )


def _trace(s: Snapshot, url: str, **kw: str) -> entry.EntryResult:
    return entry.resolve(chain.Index.of(s), entry.parse_request(url, **kw))


def _winner(s: Snapshot, url: str) -> tuple[str, int]:
    h = _trace(s, url).gateway.hit
    assert h is not None
    return (h.route.name, h.rule_index)


# --- hostnames (gateway_types.go Listener.Hostname, httproute_types.go Hostnames) -----------


@pytest.mark.parametrize(
    ("pattern", "host", "want"),
    [
        ("*.example.com", "test.example.com", True),
        ("*.example.com", "foo.test.example.com", True),  # a suffix: one label or more
        ("*.example.com", "example.com", False),
        ("*.example.com", "test.example.net", False),
        ("test.example.com", "test.example.com", True),
        ("test.example.com", "x.test.example.com", False),
        (None, "anything", True),
        (None, None, True),
        ("a.example.com", None, False),
    ],
)
def test_hostname_wildcards_are_suffix_matches(
    pattern: str | None, host: str | None, want: bool
) -> None:
    assert gateway.host_matches(pattern, host) is want


@pytest.mark.parametrize(
    ("listener_host", "route_hosts", "want"),
    [
        # "A Listener with test.example.com ... matches HTTPRoutes that have either not
        # specified any hostnames, or have specified at least one of test.example.com or
        # *.example.com."
        ("test.example.com", (), ()),
        ("test.example.com", ("*.example.com",), ("*.example.com",)),
        ("test.example.com", ("test.example.com",), ("test.example.com",)),
        ("test.example.com", ("other.example.com",), None),
        # "A Listener with *.example.com ... *.example.com, test.example.com, and
        # foo.test.example.com would all match. ... example.com and test.example.net would not."
        ("*.example.com", ("*.example.com",), ("*.example.com",)),
        ("*.example.com", ("foo.test.example.com",), ("foo.test.example.com",)),
        ("*.example.com", ("example.com",), None),
        ("*.example.com", ("test.example.net",), None),
        # Route hostnames that do not match the listener's are ignored.
        ("*.example.com", ("test.example.com", "test.example.net"), ("test.example.com",)),
        (None, ("a.example.com",), ("a.example.com",)),
    ],
)
def test_route_hostnames_intersect_the_listener(
    listener_host: str | None, route_hosts: tuple[str, ...], want: tuple[str, ...] | None
) -> None:
    r = route("r", hostnames=route_hosts)
    assert gateway.route_hostnames(listener(hostname=listener_host), r) == want


def test_the_most_specific_listener_answers() -> None:
    # "foo.example.com" over "*.example.com" over "" (gateway_types.go, Listener.Hostname).
    g = gw(
        listener("any", hostname=None),
        listener("wild", hostname="*.example.com"),
        listener("deeper", hostname="*.foo.example.com"),
        listener("exact", hostname="foo.example.com"),
    )
    rs = tuple(
        route(n, parents=(ParentRef("ns", "gw", section_name=n),))
        for n in ("any", "wild", "deeper", "exact")
    )
    s = _cluster((g,), rs)
    assert _trace(s, "http://foo.example.com/").gateway.hit.listener.name == "exact"  # type: ignore[union-attr]
    assert _trace(s, "http://a.foo.example.com/").gateway.hit.listener.name == "deeper"  # type: ignore[union-attr]
    assert _trace(s, "http://bar.example.com/").gateway.hit.listener.name == "wild"  # type: ignore[union-attr]
    assert _trace(s, "http://example.org/").gateway.hit.listener.name == "any"  # type: ignore[union-attr]


# --- attachment (shared_types.go ParentReference, gateway_types.go AllowedRoutes) ----------


def _attach(r: Route, *gws: Gateway, namespaces: tuple[Namespace, ...] = ()) -> gateway.Attachment:
    idx = chain.Index.of(_cluster(gws, (r,), namespaces=namespaces))
    (a,) = gateway.attachments(idx).items
    return a


def names(a: gateway.Attachment) -> list[str]:
    return [ln.name for ln in a.listeners]


def test_section_name_and_port_select_listeners() -> None:
    g = gw(listener("a", 80), listener("b", 8080), listener("c", 8080, hostname="c.example.com"))
    assert names(_attach(route("r"), g)) == ["a", "b", "c"]
    assert names(_attach(route("r", parents=(ParentRef("ns", "gw", section_name="b"),)), g)) == [
        "b"
    ]
    assert names(_attach(route("r", parents=(ParentRef("ns", "gw", port=8080),)), g)) == ["b", "c"]
    a = _attach(route("r", parents=(ParentRef("ns", "gw", section_name="a", port=8080),)), g)
    assert (a.reason, a.listeners) == ("NoMatchingParent", ())


def test_a_missing_gateway_or_another_parent_kind_is_no_matching_parent() -> None:
    a = _attach(route("r", parents=(ParentRef("ns", "nope"),)), gw())
    assert (a.reason, a.why) == ("NoMatchingParent", "Gateway ns/nope not found")
    a = _attach(route("r", parents=(ParentRef("ns", "mesh", group="", kind="Service"),)), gw())
    assert a.reason == "NoMatchingParent"
    assert "not a Gateway" in a.why


@pytest.mark.parametrize(
    ("allowed_from", "selector", "route_ns", "want"),
    [
        ("Same", None, "ns", None),
        ("Same", None, "other", "NotAllowedByListeners"),
        ("All", None, "other", None),
        ("None", None, "ns", "NotAllowedByListeners"),
        # A full label selector: matchExpressions too.
        (
            "Selector",
            LabelSelector(match_expressions=(Requirement("tenant", "Exists"),)),
            "t1",
            None,
        ),
        (
            "Selector",
            LabelSelector(match_expressions=(Requirement("tenant", "Exists"),)),
            "other",
            "NotAllowedByListeners",
        ),
        ("Selector", LabelSelector(match_labels={"tenant": "t2"}), "t1", "NotAllowedByListeners"),
        ("Selector", LabelSelector(), "other", None),  # empty: every namespace
    ],
)
def test_allowed_routes_namespaces(
    allowed_from: str, selector: LabelSelector | None, route_ns: str, want: str | None
) -> None:
    g = gw(listener(allowed_from=allowed_from, allowed_selector=selector))
    nss = (Namespace("t1", {"tenant": "t1"}), Namespace("other", {}))
    a = _attach(route("r", ns=route_ns), g, namespaces=nss)
    assert a.reason == want


def test_allowed_kinds_explicit_and_inferred_from_the_protocol() -> None:
    assert _attach(route("r", kind="GRPCRoute"), gw(listener())).attached  # HTTP: both
    tls = gw(listener(protocol="TLS", port=443))
    a = _attach(route("r"), tls)
    assert a.reason == "NotAllowedByListeners"
    assert "admits TLSRoute" in a.why
    assert _attach(route("r", kind="TLSRoute"), tls).attached
    only_http = gw(listener(allowed_kinds=(f"{G}/HTTPRoute",)))
    assert _attach(route("r", kind="GRPCRoute"), only_http).reason == "NotAllowedByListeners"


def test_no_intersecting_hostname_is_not_accepted() -> None:
    a = _attach(route("r", hostnames=("a.example.org",)), gw(listener(hostname="*.example.com")))
    assert a.reason == "NoMatchingListenerHostname"
    assert (
        a.why == "route hostnames a.example.org do not intersect listener hostnames *.example.com"
    )


# --- matches and their precedence (httproute_types.go HTTPRouteRule.Matches) ----------------


@pytest.mark.parametrize(
    ("match", "path", "want"),
    [
        (prefix("/abc"), "/abc", True),
        (prefix("/abc"), "/abc/", True),
        (prefix("/abc"), "/abc/def", True),
        (prefix("/abc"), "/abcd", False),  # element-wise
        (prefix("/abc/"), "/abc", True),  # a trailing slash is ignored
        (prefix("/"), "/anything", True),
        (exact("/abc"), "/abc", True),
        (exact("/abc"), "/abc/", False),
        (RouteMatch("RegularExpression", "/v[0-9]+/.*"), "/v2/x", True),
        (RouteMatch("RegularExpression", "/v[0-9]+/.*"), "/vx/x", False),
        (RouteMatch("RegularExpression", "(["), "/", False),  # invalid: matches nothing
    ],
)
def test_path_match_types(match: RouteMatch, path: str, want: bool) -> None:
    assert gateway_match.path_matches(match, path) is want


def test_a_backtracking_pattern_is_matched_in_linear_time() -> None:
    # issue 24 D4: Python's re took minutes on `/(a+)+$` against /aaa...a! (exponential
    # backtracking); a subprocess with a deadline, so the old engine fails the test, not hangs it.
    code = (
        "from kinspect.edge.gateway_match import path_matches\n"
        "from kinspect.model.edge import RouteMatch\n"
        "m = RouteMatch('RegularExpression', '/(a+)+$')\n"
        "print(path_matches(m, '/' + 'a' * 64 + '!'), path_matches(m, '/' + 'a' * 100000))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=20, check=False
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "False True\n", "")


@pytest.mark.parametrize(
    "pattern",
    [
        "/(a)\\1",  # a backreference: Python's re, not RE2
        "/(?=a)a",  # a lookahead
        "/a{1000}{1000}",  # past RE2's program size
        "/\udc80",  # a lone surrogate (the API server's JSON can carry one)
    ],
)
def test_a_pattern_that_is_not_re2_matches_nothing_and_the_trace_names_it(pattern: str) -> None:
    m = RouteMatch("RegularExpression", pattern)
    assert gateway_match.path_matches(m, "/aa") is False
    s = _cluster((gw(),), (route("bad", rule(m), rule(exact("/other"))),))
    res = _trace(s, "http://h/aa").gateway
    assert res.hit is None
    (note,) = res.invalid
    assert note.startswith(f"HTTPRoute ns/bad rule 1: path '{pattern}' is not valid RE2 ("), note
    assert note.endswith("): it matches no request"), note
    assert res.why_not is not None
    assert "not valid RE2" in res.why_not


def test_patterns_re2_refuses_are_named_three_times_then_counted(tmp_path: Path) -> None:
    # Routes are cluster text: a thousand refused patterns are a few lines, each said once.
    bad = [rule(RouteMatch("RegularExpression", f"/(?=a){i}")) for i in range(1000)]
    routes = tuple(route(f"bad{i:02}", *bad[i * 10 : i * 10 + 10]) for i in range(100))
    path = str(tmp_path / "s.json")
    snapshotfile.save(path, _cluster((gw(),), routes + routes))
    r = invoke("trace", "http://h/aa", "--snapshot", path)
    warned = [line for line in r.stderr.splitlines() if line.startswith("warning:")]
    assert len(warned) == 4, r.stderr
    assert warned[0].startswith("warning: HTTPRoute ns/bad00 rule 1: path '/(?=a)0' is not valid")
    assert warned[3] == "warning: 997 more route patterns are not valid RE2: they match no request"


def test_precedence_exact_then_longest_prefix_then_method_headers_query() -> None:
    r = route(
        "r",
        rule(prefix("/"), name="root"),
        rule(prefix("/api"), name="api"),
        rule(exact("/api/x"), name="exact"),
        rule(prefix("/api", query_params=(ValueMatch("debug", "1"),)), name="query"),
        rule(prefix("/api", method="GET"), name="method"),
    )
    s = _cluster((gw(),), (r,))
    assert _winner(s, "http://h/api/x") == ("r", 2)  # Exact beats every prefix
    assert _winner(s, "http://h/api/y") == ("r", 4)  # a method match beats a query match
    assert _winner(s, "http://h/other") == ("r", 0)
    q = route(
        "q",
        rule(prefix("/api"), name="api"),
        rule(prefix("/api", query_params=(ValueMatch("debug", "1"),))),
    )
    s = _cluster((gw(),), (q,))
    assert _winner(s, "http://h/api/y?debug=1") == ("q", 1)  # more query matches
    assert _winner(s, "http://h/api/y?debug=2") == ("q", 0)


def test_header_matches_need_the_header_a_plain_trace_does_not_send() -> None:
    r = route("r", rule(prefix("/", headers=(ValueMatch("x-canary", "1"),))))
    res = _trace(_cluster((gw(),), (r,)), "http://h/")
    assert res.gateway.hit is None
    assert "header x-canary: 1 (Exact)" in (res.gateway.why_not or "")
    m = prefix("/", headers=(ValueMatch("X-Canary", "1"),))
    req = gateway_match.HTTPRequest("/", headers=(("x-canary", "1"),))
    assert gateway_match.match_fails(r, m, req) is None  # header names are case-insensitive


def test_ties_across_routes_oldest_then_alphabetical_then_first_rule() -> None:
    old = route("zz", rule(prefix("/a")), created="2025-01-01T00:00:00Z")
    new = route("aa", rule(prefix("/a")), created="2026-01-01T00:00:00Z")
    assert _winner(_cluster((gw(),), (new, old)), "http://h/a") == ("zz", 0)
    b = route("b", rule(prefix("/a")))
    a = route("a", rule(prefix("/a")), rule(prefix("/a")))
    assert _winner(_cluster((gw(),), (b, a)), "http://h/a") == ("a", 0)


def test_host_precedence_across_routes_before_paths() -> None:
    # Characters in a matching non-wildcard hostname first: the precise route wins even with a
    # shorter path.
    wild = route("wild", rule(exact("/a/b")), hostnames=("*.example.com",))
    precise = route("precise", rule(prefix("/")), hostnames=("foo.example.com",))
    assert _winner(_cluster((gw(),), (wild, precise)), "http://foo.example.com/a/b") == (
        "precise",
        0,
    )
    assert _winner(_cluster((gw(),), (wild, precise)), "http://bar.example.com/a/b") == ("wild", 0)


def test_grpc_route_matches_the_method_path() -> None:
    r = route(
        "g",
        RouteRule((RouteMatch(grpc_service="shop.Orders", grpc_method="Get"),), (ref("web"),)),
        kind="GRPCRoute",
    )
    s = _cluster((gw(),), (r,))
    assert _winner(s, "http://h/shop.Orders/Get") == ("g", 0)
    assert _trace(s, "http://h/shop.Orders/List").gateway.hit is None


def test_a_listener_on_another_port_or_address_does_not_answer() -> None:
    s = _cluster((gw(),), (route("r"),))
    res = _trace(s, "http://h:8080/")
    assert res.gateway.hit is None
    assert res.gateway.why_not == "Gateway ns/gw: no HTTP/HTTPS listener on port 8080 for host h"
    assert _trace(s, "203.0.113.30:80", host="h").gateway.hit is not None
    assert _trace(s, "203.0.113.99:80", host="h").gateway.considered == 0


# --- backendRefs (shared_types.go BackendRef, referencegrant_types.go) ----------------------


def test_weights_give_shares_and_zero_sends_nothing() -> None:
    r = route(
        "r", rule(refs=(ref("web", weight=90), ref("api", 8080, weight=10), ref("web", weight=0)))
    )
    h = _trace(_cluster((gw(),), (r,)), "http://h/").gateway.hit
    assert h is not None
    assert [f.share for f in h.refs] == [0.9, 0.1, 0.0]
    assert [f.ready for f in h.refs] == [1, 0, 1]


def test_missing_service_port_and_kind() -> None:
    r = route(
        "r",
        rule(
            refs=(
                ref("gone"),
                ref("web", 81),
                ref("web", None),
                ref("b", group="example.com", kind="Bucket"),
            )
        ),
    )
    h = _trace(_cluster((gw(),), (r,)), "http://h/").gateway.hit
    assert h is not None
    assert [(f.reason, f.problem) for f in h.refs] == [
        ("BackendNotFound", "service ns/gone not found"),
        ("BackendNotFound", "service ns/web has no port 81 (ports: 80)"),
        (
            "BackendNotFound",
            "service ns/web has no port given (required for a Service) (ports: 80)",
        ),
        ("InvalidKind", "backendRef example.com/Bucket ns/b: not a Service (not followed)"),
    ]
    assert not _trace(_cluster((gw(),), (r,)), "http://h/").found


@pytest.mark.parametrize(
    ("grant", "allowed"),
    [
        (None, False),
        (
            ReferenceGrant(
                "data", "g", (GrantFrom(G, "HTTPRoute", "ns"),), (GrantTo("", "Service"),)
            ),
            True,
        ),
        (
            ReferenceGrant(
                "data", "g", (GrantFrom(G, "HTTPRoute", "ns"),), (GrantTo("", "Service", "db"),)
            ),
            True,
        ),
        (
            ReferenceGrant(
                "data", "g", (GrantFrom(G, "HTTPRoute", "ns"),), (GrantTo("", "Service", "x"),)
            ),
            False,
        ),
        (
            ReferenceGrant(
                "data", "g", (GrantFrom(G, "GRPCRoute", "ns"),), (GrantTo("", "Service"),)
            ),
            False,
        ),
        (
            ReferenceGrant(
                "data", "g", (GrantFrom(G, "HTTPRoute", "elsewhere"),), (GrantTo("", "Service"),)
            ),
            False,
        ),
        # A grant lives in the namespace of the target, not of the route.
        (
            ReferenceGrant(
                "ns", "g", (GrantFrom(G, "HTTPRoute", "ns"),), (GrantTo("", "Service"),)
            ),
            False,
        ),
    ],
)
def test_cross_namespace_refs_need_a_reference_grant_in_the_target_namespace(
    grant: ReferenceGrant | None, allowed: bool
) -> None:
    r = route("r", rule(refs=(ref("db", 5432, ns="data"),)))
    s = _cluster((gw(),), (r,), grants=(grant,) if grant else ())
    h = _trace(s, "http://h/").gateway.hit
    assert h is not None
    assert (h.refs[0].reason is None) is allowed
    if not allowed:
        assert h.refs[0].reason == "RefNotPermitted"


# --- conditions: the controller's, the computed ones, both when they disagree ---------------


def test_conditions_written_computed_and_disagreeing() -> None:
    said = RouteParentStatus(
        ParentRef("ns", "gw"), "ctl", (GatewayCondition("Accepted", "True", "Accepted"),)
    )
    ok = route("r", status=(said,))
    h = _trace(_cluster((gw(),), (ok,)), "http://h/").gateway.hit
    assert h is not None
    assert h.conditions.disagreements() == []
    assert [c.type for c in h.conditions.written] == ["Accepted"]
    # A controller says ResolvedRefs True where the ref is not permitted: both are shown.
    wrong = RouteParentStatus(
        ParentRef("ns", "gw"), "ctl", (GatewayCondition("ResolvedRefs", "True", "ResolvedRefs"),)
    )
    bad = route("r", rule(refs=(ref("db", 5432, ns="data"),)), status=(wrong,))
    res = _trace(_cluster((gw(),), (bad,)), "http://h/")
    assert res.gateway.hit is not None
    assert res.gateway.hit.conditions.disagreements() == ["ResolvedRefs"]
    text = _render(res)
    assert "ResolvedRefs: True ResolvedRefs (controller); computed: False RefNotPermitted" in text
    assert "Accepted: True Accepted (computed: no controller status)" in text


def test_unattached_routes_for_the_host_are_shown_with_the_reason() -> None:
    said = RouteParentStatus(
        ParentRef("ns", "gw"), "ctl", (GatewayCondition("Accepted", "True", "Accepted"),)
    )
    lost = route("lost", hostnames=("h.example.org",), status=(said,))
    g = gw(listener(hostname="*.example.com"))
    res = _trace(_cluster((g,), (lost,)), "http://h.example.org/")
    assert res.gateway.hit is None
    assert [a.route.name for a in res.gateway.unattached] == ["lost"]
    text = _render(res)
    assert "HTTPRoute ns/lost not attached to ns/gw: computed NoMatchingListenerHostname" in text
    assert "the controller's status says Accepted True" in text


def _render(res: entry.EntryResult) -> str:
    import io

    from rich.console import Console

    c = Console(width=400, record=True, file=io.StringIO())
    c.print(tree.entry_tree(res))
    return c.export_text()


def test_the_whole_chain_and_the_report_schema() -> None:
    r = route(
        "r",
        rule(prefix("/api"), refs=(ref("web", weight=3), ref("gone"))),
        hostnames=("shop.example.com",),
    )
    res = _trace(_cluster((gw(),), (r,)), "http://shop.example.com/api/x?a=b")
    assert res.found
    text = _render(res)
    for piece in (
        "Gateway ns/gw  class cls  address 203.0.113.30",
        "listener http HTTP:80 host *",
        "HTTPRoute ns/r",
        "rule 1: path /api PathPrefix",
        "backendRef weight 3 (75%)",
        "service ns/web port http 80/TCP",
        "10.244.0.5:8080  ready  pod ns/web-0",
        "container app:8080 (http)/TCP",
        "backendRef weight 1 (25%): service ns/gone not found: 500 for this share",
    ):
        assert piece in text, piece
    doc = msgspec.json.decode(msgspec.json.encode(report.entry_report("ctx", res)))
    validate(doc, "entry-trace-report.json")
    g = doc["gateway"]
    assert g["match"]["route"] == {"kind": "HTTPRoute", "namespace": "ns", "name": "r"}
    assert [b["share"] for b in g["match"]["backendRefs"]] == [0.75, 0.25]
    assert g["match"]["backendRefs"][0]["servicePort"]["port"] == 80


def test_cluster_text_is_escaped_in_the_tree() -> None:
    r = route("r\x1b[31m", hostnames=("h",))
    text = _render(_trace(_cluster((gw(),), (r,)), "http://h/"))
    assert "\x1b" not in text
    assert "r\\x1b[31m" in text


def test_no_gateway_api_leaves_the_ingress_trace_alone() -> None:
    res = _trace(_cluster((), ()), "http://h/")
    assert res.gateway.considered == 0
    assert res.gateway.hit is None
    assert "Gateway" not in _render(res)


def test_trace_url_through_a_gateway_from_a_snapshot_file(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    r = route("r", rule(prefix("/api"), refs=(ref("web"),)), hostnames=("shop.example.com",))
    snapshotfile.save(str(path), _cluster((gw(),), (r,)))
    out = invoke("trace", "http://shop.example.com/api", "--snapshot", str(path), "-o", "json")
    assert out.code == ExitCode.OK, out.stderr
    doc = json.loads(out.stdout)
    validate(doc, "entry-trace-report.json")
    assert doc["found"] is True
    assert doc["match"] is None
    assert doc["gateway"]["match"]["listener"]["name"] == "http"
    out = invoke("trace", "http://shop.example.com/nope", "--snapshot", str(path))
    assert out.code == ExitCode.NOT_FOUND
    assert "no Gateway answers: Gateway ns/gw listener http: no attached route matches /nope" in (
        out.stdout
    )


def test_map_names_the_routes_entering_each_port_and_lists_every_entrypoint(
    tmp_path: Path,
) -> None:
    from kinspect.model.edge import IngressRule

    from .builders import ingress, ipath

    path = tmp_path / "s.json"
    r = route(
        "store",
        rule(prefix("/api"), refs=(ref("web", weight=9), ref("api", 8080, weight=1))),
        hostnames=("store.example.net",),
        parents=(
            ParentRef("ns", "gw", section_name="http"),
            ParentRef("ns", "gw", section_name="b"),
        ),
    )
    g = gw(listener("http"), listener("b", 8080))
    ing = ingress("shop", IngressRule("shop.example.com", (ipath("/x", "web", 80),)))
    s = msgspec.structs.replace(_cluster((g,), (r,)), ingresses=(ing,))
    snapshotfile.save(str(path), s)
    out = invoke("map", "--snapshot", str(path), "-A")
    assert out.code == ExitCode.OK, out.stderr
    # Once per host and path, though the route attaches to two listeners.
    assert out.stdout.count("← httproute store store.example.net path /api PathPrefix 90%") == 1
    assert "← ingress shop shop.example.com/x" in out.stdout
    assert "← httproute store store.example.net path /api PathPrefix 10%" in out.stdout
    out = invoke("map", "--snapshot", str(path), "-A", "--entrypoints")
    lines = [ln.split() for ln in out.stdout.splitlines()]
    assert lines[0] == [
        "HOST", "PATH", "ENTRY", "VIA", "CONTROLLER", "SERVICE", "WEIGHT", "READY"
    ]  # fmt: skip
    assert [
        "store.example.net", "path", "/api", "PathPrefix", "HTTPRoute", "ns/store", "Gateway",
        "ns/gw", "listener", "http", "(HTTP:80)", "unknown", "ns/api:8080", "1", "(10%)", "0/1",
    ] in lines  # fmt: skip
    assert lines[1][:5] == ["shop.example.com", "/x", "(Prefix)", "Ingress", "ns/shop"]
    doc = json.loads(invoke("map", "--snapshot", str(path), "-A", "-o", "json").stdout)
    validate(doc, "chain-report.json")
    assert {(e["kind"], e["service"], e["weight"]) for e in doc["entrypoints"]} == {
        ("Ingress", "ns/web", None),
        ("HTTPRoute", "ns/web", 9),
        ("HTTPRoute", "ns/api", 1),
    }


def test_ips_lists_gateway_and_ingress_addresses(tmp_path: Path) -> None:
    from kinspect.model.edge import IngressRule
    from kinspect.model.values import LoadBalancerIngress

    from .builders import ingress, ipath

    path = tmp_path / "s.json"
    ing = msgspec.structs.replace(
        ingress("shop", IngressRule("h", (ipath("/", "web", 80),))),
        addresses=(LoadBalancerIngress(ip="203.0.113.20"),),
    )
    s = msgspec.structs.replace(_cluster((gw(),), (route("r"),)), ingresses=(ing,))
    snapshotfile.save(str(path), s)
    out = invoke("ips", "--snapshot", str(path))
    assert out.code == ExitCode.OK, out.stderr
    assert "Ingress and Gateway addresses" in out.stdout
    rows = [ln.split() for ln in out.stdout.splitlines()]
    assert ["Ingress", "ns/shop", "203.0.113.20"] in rows
    assert ["Gateway", "ns/gw", "203.0.113.30"] in rows
    doc = json.loads(invoke("ips", "--snapshot", str(path), "-o", "json").stdout)
    validate(doc, "ip-inventory.json")
    assert doc["entryAddresses"] == [
        {"kind": "Ingress", "name": "ns/shop", "address": "203.0.113.20"},
        {"kind": "Gateway", "name": "ns/gw", "address": "203.0.113.30"},
    ]


def test_explain_teaches_the_hop_in_front_of_the_service_only_when_there_is_one(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.json"
    r = route("store", rule(prefix("/api"), refs=(ref("web"),)), hostnames=("store.example.net",))
    snapshotfile.save(str(path), _cluster((gw(),), (r,)))
    out = invoke("explain", "--snapshot", str(path))
    assert out.code == ExitCode.OK, out.stderr
    assert "The hop in front of the Service" in out.stdout
    assert "HTTPRoute ns/store, via Gateway ns/gw listener http (HTTP:80)" in out.stdout
    assert "→ endpoint 10.244.0.5:8080, container app" in out.stdout
    snapshotfile.save(str(path), _cluster((), ()))
    out = invoke("explain", "--snapshot", str(path))
    assert "The hop in front of the Service" not in out.stdout


def test_gateway_status_and_a_missing_gateway_class() -> None:
    from kinspect.model.edge import GatewayClass

    g = msgspec.structs.replace(
        gw(), conditions=(GatewayCondition("Programmed", "Unknown", "Pending"),)
    )
    s = msgspec.structs.replace(
        _cluster((g,), (route("r"),)), gateway_classes=(GatewayClass("other", "x"),)
    )
    res = _trace(s, "http://h/")
    assert res.gateway.hit is not None
    assert res.gateway.hit.class_defined is False
    text = _render(res)
    assert "no GatewayClass cls: no controller serves it (computed)" in text
    assert "Programmed: Unknown Pending (status)" in text
    # GatewayClasses unreadable (none read): unknown, not missing.
    res = _trace(_cluster((gw(),), (route("r"),)), "http://h/")
    assert res.gateway.hit is not None
    assert res.gateway.hit.class_defined is True
    assert "no controller status on the Gateway (Programmed unknown)" in _render(res)


def test_a_miss_is_said_only_when_neither_api_answers() -> None:
    from kinspect.model.edge import IngressRule

    from .builders import ingress, ipath

    ing = ingress("shop", IngressRule("shop.example.com", (ipath("/", "web", 80),)))
    r = route("r", hostnames=("store.example.net",))
    s = msgspec.structs.replace(_cluster((gw(),), (r,)), ingresses=(ing,))
    by_ingress = _render(_trace(s, "http://shop.example.com/"))
    assert "Ingress ns/shop" in by_ingress
    assert "no Gateway answers" not in by_ingress
    by_gateway = _render(_trace(s, "http://store.example.net/"))
    assert "HTTPRoute ns/r" in by_gateway
    assert "no Ingress answers" not in by_gateway
    neither = _render(_trace(s, "http://nope.example.org/"))
    assert "no Ingress answers: no Ingress rule matches host nope.example.org" in neither
    assert "no Gateway answers: Gateway ns/gw listener http: no attached route matches /" in neither


def test_a_redirecting_rule_is_a_redirect_not_a_500() -> None:
    # HTTPRoute rules need no backendRefs when a RequestRedirect filter answers (GEP-726);
    # without a filter and without backendRefs the Gateway answers 500.
    redirect = route("r", RouteRule((prefix("/old"),), (), None, ("RequestRedirect",)))
    empty = route("r", RouteRule((prefix("/old"),), (), None))
    lands = {
        e.problem
        for s in (redirect, empty)
        for e in entry.entrypoints(chain.Index.of(_cluster((gw(),), (s,))))
        if e.kind == "HTTPRoute"
    }
    assert lands == {"redirects (RequestRedirect)", "no backendRefs (500)"}
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(tree.entry_tree(_trace(_cluster((gw(),), (redirect,)), "http://h/old/x")))
    text = console.export_text()
    assert "RequestRedirect filter: the Gateway answers with a redirect" in text
    assert "answers 500" not in text
