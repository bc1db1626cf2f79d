"""Ingress matching (edge.entry) on plain data: each rule of the networking.k8s.io/v1 API."""

from __future__ import annotations

import msgspec
import pytest

from kinspect.edge import entry, ingressclass
from kinspect.model.edge import IngressBackend, IngressClass, IngressRule, IngressTLS, PathType
from kinspect.model.errors import ExitCode, UsageError
from kinspect.model.snapshot import Snapshot
from kinspect.path import chain

from ..schema import validate
from .builders import cport, ep, group, ibackend, ingress, ipath, pod, snap, sport, svc
from .runner import invoke, one_line_error


def _cluster(*ings: object, classes: tuple[IngressClass, ...] = ()) -> Snapshot:
    web = svc("web", sport(80, "http", "http"), selector={"app": "web"})
    api = svc("api", sport(8080, 8080, "api"), selector={"app": "api"}, cluster_ips=("10.96.0.11",))
    s = snap(
        services=(web, api),
        groups=(
            group("web", [("http", 8080, "TCP")], ep("10.244.0.5", "web-0")),
            group("api", [("api", 8080, "TCP")], ep("10.244.0.6", "api-0", ready=False)),
        ),
        pods=(
            pod("web-0", "10.244.0.5", cport("app", 8080, "http"), labels={"app": "web"}),
            pod("api-0", "10.244.0.6", cport("app", 8080), labels={"app": "api"}, ready=False),
        ),
    )
    return msgspec.structs.replace(s, ingresses=ings, ingress_classes=classes)


NGINX = IngressClass("nginx", "k8s.io/ingress-nginx")


def _resolve(s: Snapshot, url: str, **kw: str) -> entry.EntryResult:
    return entry.resolve(chain.Index.of(s), entry.parse_request(url, **kw))


@pytest.mark.parametrize(
    ("rule", "host", "want"),
    [
        ("foo.bar.com", "foo.bar.com", "precise"),
        ("foo.bar.com", "bar.com", None),
        ("*.bar.com", "foo.bar.com", "wildcard"),
        ("*.bar.com", "baz.foo.bar.com", None),  # a wildcard covers a single label
        ("*.bar.com", "bar.com", None),
        (None, "anything.example", "any"),
        (None, None, "any"),
        ("foo.bar.com", None, None),
    ],
)
def test_host_matching_wildcards_cover_one_label(
    rule: str | None, host: str | None, want: str | None
) -> None:
    assert entry.host_match(rule, host) == want


# The table of https://kubernetes.io/docs/concepts/services-networking/ingress/#examples
@pytest.mark.parametrize(
    ("kind", "path", "request_path", "matches"),
    [
        ("Prefix", "/", "/anything", True),
        ("Exact", "/foo", "/foo", True),
        ("Exact", "/foo", "/bar", False),
        ("Exact", "/foo", "/foo/", False),
        ("Exact", "/foo/", "/foo", False),
        ("Prefix", "/foo", "/foo", True),
        ("Prefix", "/foo", "/foo/", True),
        ("Prefix", "/foo/", "/foo", True),
        ("Prefix", "/foo/", "/foo/", True),
        ("Prefix", "/aaa/bbb", "/aaa/bbbxyz", False),
        ("Prefix", "/aaa/bbb", "/aaa/bbb/ccc", True),
        ("Prefix", "/api", "/apix", False),
        ("Prefix", "/api", "/api/x", True),
        ("ImplementationSpecific", "/api", "/api/x", True),
    ],
)
def test_path_matching_is_element_wise(
    kind: PathType, path: str, request_path: str, matches: bool
) -> None:
    assert entry.path_match(ipath(path, "web", kind=kind), request_path) is matches


def test_longest_path_wins_and_exact_beats_prefix_at_equal_length() -> None:
    ing = ingress(
        "shop",
        IngressRule(
            "shop.example.com",
            (
                ipath("/", "web", "http"),
                ipath("/api", "api", 8080),
                ipath("/api/v1", "web", 80, "Prefix"),
                ipath("/api/v1", "api", 8080, "Exact"),
            ),
        ),
    )
    s = _cluster(ing, classes=(NGINX,))
    r = _resolve(s, "http://shop.example.com/api/orders")
    assert r.hit
    assert r.hit.path
    assert r.hit.path.path == "/api"
    r = _resolve(s, "http://shop.example.com/api/v1")
    assert r.hit
    assert r.hit.path
    assert (r.hit.path.path, r.hit.path.path_type) == ("/api/v1", "Exact")
    r = _resolve(s, "http://shop.example.com/api/v1/x")
    assert r.hit
    assert r.hit.path
    assert (r.hit.path.path, r.hit.path.path_type) == ("/api/v1", "Prefix")
    r = _resolve(s, "http://shop.example.com/apix")
    assert r.hit
    assert r.hit.path
    assert r.hit.path.path == "/"


def test_precise_host_before_wildcard_before_any_host() -> None:
    s = _cluster(
        ingress("any", IngressRule(None, (ipath("/", "api", 8080),))),
        ingress("wild", IngressRule("*.example.com", (ipath("/", "api", 8080),))),
        ingress("exact", IngressRule("shop.example.com", (ipath("/", "web", 80),))),
        classes=(NGINX,),
    )
    assert (h := _resolve(s, "http://shop.example.com/").hit)
    assert h.ingress.name == "exact"
    assert (h := _resolve(s, "http://x.example.com/").hit)
    assert h.ingress.name == "wild"
    assert (h := _resolve(s, "http://a.b.example.com/").hit)
    assert h.ingress.name == "any"


def test_default_backend_when_no_rule_or_no_path_matches_and_why_not_otherwise() -> None:
    only = IngressRule("shop.example.com", (ipath("/api", "api", 8080, "Exact"),))
    s = _cluster(ingress("shop", only, default=ibackend("web", "http")), classes=(NGINX,))
    h = _resolve(s, "http://shop.example.com/other").hit
    assert h
    assert h.path is None
    assert h.hop.service
    assert h.hop.service.name == "web"
    assert "no path of host shop.example.com matches /other" in h.why
    r = _resolve(_cluster(ingress("shop", only), classes=(NGINX,)), "http://other.com/")
    assert r.hit is None
    assert r.why_not == "no Ingress rule matches host other.com"
    r = _resolve(_cluster(ingress("shop", only)), "http://shop.example.com/x")
    assert r.why_not == "no path of host shop.example.com matches /x"


def test_backend_port_by_name_and_number_resolves_to_the_service_port_and_its_pods() -> None:
    s = _cluster(
        ingress(
            "shop",
            IngressRule(
                "a.example.com",
                (ipath("/n", "web", "http"), ipath("/x", "web", 81), ipath("/g", "gone")),
            ),
        ),
        classes=(NGINX,),
    )
    h = _resolve(s, "http://a.example.com/n").hit
    assert h
    assert h.hop.port
    assert h.hop.port.port.port == 80
    (b,) = h.hop.port.backends
    assert (b.pod and b.pod.name, b.container_port and b.container_port.port) == ("web-0", 8080)
    h = _resolve(s, "http://a.example.com/x").hit
    assert h
    assert h.hop.problem == "service ns/web has no port 81 (ports: 80 (http))"
    h = _resolve(s, "http://a.example.com/g").hit
    assert h
    assert h.hop.problem == "service ns/gone not found"


def test_resource_backend_is_shown_as_such() -> None:
    b = IngressBackend(resource="StorageBucket static (k8s.example.com)")
    s = _cluster(ingress("shop", default=b))
    h = _resolve(s, "http://x/").hit
    assert h
    assert h.hop.problem == "resource backend StorageBucket static (k8s.example.com): not a service"


def test_class_from_name_annotation_or_default() -> None:
    classes = (NGINX, IngressClass("traefik", "traefik.io/ingress-controller", default=True))
    assert ingressclass.class_of(ingress("a"), classes).text == "class nginx"
    legacy = ingress("b", class_name=None, annotation="nginx")
    assert ingressclass.class_of(legacy, classes).source == "annotation"
    dflt = ingressclass.class_of(ingress("c", class_name=None), classes)
    assert (dflt.name, dflt.source) == ("traefik", "default")
    none = ingressclass.class_of(ingress("d", class_name=None), (NGINX,))
    assert none.source == "none"
    assert not none.defined
    assert not ingressclass.class_of(ingress("e", class_name="haproxy"), classes).defined


def test_an_ip_reaches_only_the_ingresses_with_that_status_address_and_tls_by_name() -> None:
    rule = IngressRule("shop.example.com", (ipath("/", "web", 80),))
    tls = (IngressTLS(("shop.example.com",), "shop-tls"),)
    s = _cluster(
        ingress("a", rule, address="203.0.113.20", tls=tls),
        ingress("b", rule, address="203.0.113.21"),
        classes=(NGINX,),
    )
    r = _resolve(s, "203.0.113.20:443", host="shop.example.com", path="/")
    assert r.hit
    assert r.hit.ingress.name == "a"
    assert not r.also
    assert (r.hit.tls, r.hit.tls_secret, r.request.scheme) == (True, "shop-tls", "https")
    r = _resolve(s, "203.0.113.9:80", host="shop.example.com")
    assert r.why_not == "no Ingress has the address 203.0.113.9 (status.loadBalancer.ingress)"
    r = _resolve(s, "http://shop.example.com/")
    assert r.hit
    assert [h.ingress.name for h in r.also] == ["b"]


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("ftp://x/", "the scheme must be http or https"),
        ("http://u:p@x/", "no user or password"),
        ("http://x:99999/", "bad port"),
    ],
)
def test_bad_urls_are_usage_errors(url: str, needle: str) -> None:
    with pytest.raises(UsageError, match=needle):
        entry.parse_request(url)


def test_cli_bad_url_is_one_line_with_usage_exit_code() -> None:
    r = invoke("trace", "ftp://x/", "--snapshot", "nope.json")
    one_line_error(r, ExitCode.USAGE, "the scheme must be http or https")


def test_cli_trace_url_on_a_snapshot_file(tmp_path: object) -> None:
    from pathlib import Path

    from kinspect.wire import snapshotfile

    rule = IngressRule("shop.example.com", (ipath("/", "web", "http"),))
    path = Path(str(tmp_path)) / "s.json"
    snapshotfile.save(str(path), _cluster(ingress("shop", rule), classes=(NGINX,)))
    r = invoke("trace", "http://shop.example.com/x", "--snapshot", str(path))
    assert r.code == ExitCode.OK, r.stderr
    assert "Ingress ns/shop" in r.stdout
    assert "container app:8080 (http)/TCP" in r.stdout
    r = invoke("trace", "http://shop.example.com/x", "--snapshot", str(path), "-o", "json")
    import json

    doc = json.loads(r.stdout)
    validate(doc, "entry-trace-report.json")
    assert doc["match"]["servicePort"]["backends"][0]["containerPort"]["port"] == 8080
    r = invoke("trace", "http://nope.example/", "--snapshot", str(path))
    assert r.code == ExitCode.NOT_FOUND
    assert "no Ingress rule matches host nope.example" in r.stdout


def test_a_url_trace_reads_the_backends_pods_and_never_sends_a_selector_outside_the_grammar() -> (
    None
):
    from kinspect.edge import plan as edge_plan
    from kinspect.path import plan

    s = _cluster(ingress("shop", IngressRule("shop.example.com", (ipath("/", "web", 80),))))
    empty = msgspec.structs.replace(s, pods=())
    req = entry.parse_request("http://shop.example.com/")
    assert edge_plan.entry_pods_needed(empty, req, []) == [
        plan.PodQuery("ns", label_selector="app=web")
    ]
    # Only the answering rule's service: another Ingress's host sends nothing to api.
    other = ingress("other", IngressRule("api.example.com", (ipath("/", "api", 8080),)))
    both = msgspec.structs.replace(empty, ingresses=(*empty.ingresses, other))
    assert edge_plan.entry_pods_needed(both, req, []) == [
        plan.PodQuery("ns", label_selector="app=web")
    ]
    api_req = entry.parse_request("http://api.example.com/")
    assert edge_plan.entry_pods_needed(both, api_req, []) == [
        plan.PodQuery("ns", label_selector="app=api")
    ]
    # A selector a hand-edited snapshot made unsendable (label selectors have no escapes): the
    # endpoints' pods are read by name instead, as for trace ADDRESS:PORT.
    odd = msgspec.structs.replace(empty.services[0], selector={"app": "web,x=y"})
    odd_snap = msgspec.structs.replace(empty, services=(odd, *empty.services[1:]))
    assert edge_plan.entry_pods_needed(odd_snap, req, []) == [
        plan.PodQuery("ns", field_selector="metadata.name=web-0")
    ]


def test_entrypoints_mark_an_ingress_whose_class_no_ingress_class_defines() -> None:
    # Issue 23, item 5: map --entrypoints said "class haproxy" as if something served it.
    rules = IngressRule("shop.example.com", (ipath("/", "web", 80),))
    ings = (
        ingress("a", rules),
        ingress("b", rules, class_name="haproxy"),
        ingress("c", rules, class_name=None, annotation="traefik"),
    )
    s = msgspec.structs.replace(_cluster(*ings, classes=(NGINX,)), ingress_class_state="read")
    via = {e.name: e.via for e in entry.entrypoints(chain.Index.of(s))}
    assert via == {
        "a": "class nginx",
        "b": "class haproxy (no such IngressClass: no controller serves it)",
        "c": "class traefik (kubernetes.io/ingress.class annotation; no IngressClass defines it: "
        "only a controller that reads the annotation serves it)",
    }
    # IngressClasses not read (refused): unknown, never "missing".
    s = msgspec.structs.replace(s, ingress_classes=(), ingress_class_state="forbidden")
    via = {e.name: e.via for e in entry.entrypoints(chain.Index.of(s))}
    assert via["a"] == "class nginx (IngressClasses were not read: unknown whether it exists)"
    # No class named, classes unread: a default IngressClass may exist (review).
    s = msgspec.structs.replace(s, ingresses=(ingress("d", rules, class_name=None),))
    via = {e.name: e.via for e in entry.entrypoints(chain.Index.of(s))}
    assert via["d"] == "class unknown (IngressClasses were not read: a default class may exist)"
