"""One "fires" and one "stays quiet" case per audit check, on built objects."""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest

from kinspect.audit import checks as audit
from kinspect.audit import finding as audit_finding
from kinspect.audit.finding import Severity
from kinspect.model.edge import (
    BackendRef,
    Gateway,
    GrantFrom,
    GrantTo,
    Ingress,
    IngressClass,
    IngressPath,
    IngressRule,
    Listener,
    ParentRef,
    ReferenceGrant,
    Route,
    RouteRule,
)
from kinspect.model.labels import LabelSelector
from kinspect.model.policy import (
    IPBlock,
    NetworkPolicy,
    PluginPolicy,
    PolicyPeer,
    PolicyPort,
    PolicyRule,
)
from kinspect.model.snapshot import Snapshot
from kinspect.model.values import Namespace, Node, Pod, ProbePort, ServiceConsumer
from kinspect.path import chain

from .builders import cport, ep, group, ingress, ipath, node, pod, snap, sport, svc

NODES = (node(0), node(1))


def _run(s: Snapshot) -> list[audit_finding.Finding]:
    idx = chain.Index.of(s)
    return audit.run(s, chain.build(s, idx), idx)


def _web(
    *pods: Pod, target: int | str = "http", eps: tuple[str, ...] | None = None, **kw: object
) -> Snapshot:
    """Service web (port 80 → target) over `pods`; endpoints for the ready ones unless `eps`."""
    node_port = 30080 if kw.get("type") in ("NodePort", "LoadBalancer") else None
    s = svc("web", sport(80, target, name="http", node_port=node_port), **kw)  # type: ignore[arg-type]
    ready = (
        [p for p in pods if p.ready and p.pod_ips]
        if eps is None
        else [p for p in pods if p.name in eps]
    )
    by_port: dict[int, list[Pod]] = {}
    for p in ready:
        num = (
            target
            if isinstance(target, int)
            else next((cp.port for cp in p.ports if cp.name == target), 0)
        )
        by_port.setdefault(num, []).append(p)
    groups = tuple(
        group(
            "web",
            [("http", num, "TCP")],
            *(ep(p.pod_ips[0], p.name, p.node_name, ready=p.ready) for p in ps),
            name=f"web-{num}",
        )
        for num, ps in by_port.items()
    )
    return snap(nodes=NODES, services=(s,), groups=groups, pods=pods)


def _p(name: str, *ports: object, **kw: object) -> Pod:
    # crc32, not hash(): the same IP for a name in every run, whatever PYTHONHASHSEED says.
    ip = f"10.244.0.{zlib.crc32(name.encode()) % 200 + 2}"
    return pod(name, ip, *(ports or (cport("app", 8080, "http"),)), **kw)  # type: ignore[arg-type]


HEALTHY = _web(_p("a"), _p("b", node_name="n1"))


def _with(s: Snapshot, **kw: object) -> Snapshot:
    return msgspec.structs.replace(s, **kw)


HOOK = ServiceConsumer(
    "ValidatingWebhookConfiguration", "policy", "ns", "web", 80, "check.example.com", "/v", "Fail"
)
API = ServiceConsumer("APIService", "v1beta1.metrics.example.com", "ns", "web", 80)
DOWN = _web(_p("a", ready=False), eps=("a",))
NGINX = IngressClass("nginx", "k8s.io/ingress-nginx")


def _ing(*paths: IngressPath, name: str = "shop", **kw: Any) -> Ingress:
    return ingress(name, IngressRule("shop.example.com", paths), **kw)


def _entry(
    base: Snapshot, *ings: Ingress, classes: tuple[IngressClass, ...] = (NGINX,)
) -> Snapshot:
    return _with(base, ingresses=ings, ingress_classes=classes, ingress_class_state="read")


GW = Gateway("ns", "gw", "cls", (Listener("http", 80, "HTTP", "*.example.com"),))


def _route(
    *refs: BackendRef, name: str = "r", hostnames: tuple[str, ...] = ("a.example.com",)
) -> Route:
    return Route(
        "HTTPRoute", "ns", name, (ParentRef("ns", "gw"),), hostnames,
        (RouteRule(backend_refs=refs or (BackendRef("ns", "web", port=80),)),),
    )  # fmt: skip


def _gw(base: Snapshot, *routes: Route, **kw: Any) -> Snapshot:
    return _with(base, gateways=(GW,), routes=routes, **kw)


GRANT = ReferenceGrant(
    "other",
    "g",
    (GrantFrom("gateway.networking.k8s.io", "HTTPRoute", "ns"),),
    (GrantTo("", "Service"),),
)
CROSS = BackendRef("other", "web", port=80)

CASES: dict[str, tuple[Callable[[], Snapshot], Callable[[], Snapshot]]] = {
    "selector-matches-no-pods": (lambda: _web(_p("a", labels={"app": "other"})), lambda: HEALTHY),
    "no-ready-endpoints": (
        lambda: _web(_p("a", ready=False), eps=("a",)),
        lambda: HEALTHY,
    ),
    "single-ready-endpoint": (lambda: _web(_p("a")), lambda: HEALTHY),
    "selected-pod-not-endpoint": (
        lambda: _web(
            _p("a"),
            _p("b"),
            pod(
                "c", None, cport("app", 8080, "http"), node_name=None, phase="Pending", ready=False
            ),
        ),
        lambda: HEALTHY,
    ),
    "named-port-unresolvable": (
        lambda: _web(_p("a"), _p("b"), _p("c", cport("app", 8080, "web"))),
        lambda: HEALTHY,
    ),
    "target-port-undeclared": (
        lambda: _web(_p("a"), _p("b"), target=9999),
        lambda: _web(_p("a"), _p("b"), target=8080),
    ),
    "protocol-mismatch": (
        lambda: _web(
            _p("a", cport("app", 8080, "http", "UDP")),
            _p("b", cport("app", 8080, "http", "UDP")),
            target=8080,
            eps=("a", "b"),
        ),
        lambda: _web(_p("a"), _p("b"), target=8080),
    ),
    "local-policy-drops-nodes": (
        lambda: _web(_p("a"), _p("b"), type="NodePort", etp="Local"),
        lambda: _web(_p("a"), _p("b", node_name="n1"), type="NodePort", etp="Local"),
    ),
    "node-port-collision": (
        lambda: _with(
            _web(_p("a"), _p("b", node_name="n1")),
            services=(
                svc("web", sport(80, "http", name="http", node_port=30080), type="NodePort"),
            ),
            pods=(
                _p("a"),
                _p("b", node_name="n1"),
                pod(
                    "agent",
                    "192.0.2.10",
                    cport("agent", 30080),
                    host_network=True,
                    labels={"x": "y"},
                ),
            ),
        ),
        lambda: _with(
            HEALTHY,
            services=(
                svc("web", sport(80, "http", name="http", node_port=30080), type="NodePort"),
            ),
        ),
    ),
    "host-port-collision": (
        lambda: _with(
            HEALTHY,
            pods=(
                *HEALTHY.pods,
                pod("h1", "10.244.0.90", cport("x", 80, host_port=8080), labels={}),
                pod("h2", "10.244.0.91", cport("y", 80, host_port=8080), labels={}),
            ),
        ),
        lambda: _with(
            HEALTHY,
            pods=(
                *HEALTHY.pods,
                pod("h1", "10.244.0.90", cport("x", 80, host_port=8080), labels={}),
                pod("h2", "10.244.1.91", cport("y", 80, host_port=8080), labels={}, node_name="n1"),
            ),
        ),
    ),
    "load-balancer-pending": (
        lambda: _web(_p("a"), _p("b"), type="LoadBalancer"),
        lambda: _web(_p("a"), _p("b"), type="LoadBalancer", lb=("203.0.113.1",)),
    ),
    "endpoint-pod-missing": (lambda: _with(HEALTHY, pods=HEALTHY.pods[:1]), lambda: HEALTHY),
    "endpoint-pod-terminating": (
        lambda: _with(
            HEALTHY,
            endpoint_groups=(
                group(
                    "web",
                    [("http", 8080, "TCP")],
                    *HEALTHY.endpoint_groups[0].endpoints,
                    ep("10.244.0.99", "a", ready=False, terminating=True),
                ),
            ),
        ),
        lambda: HEALTHY,
    ),
    "slices-endpoints-disagree": (
        lambda: _with(
            HEALTHY,
            legacy_endpoint_groups=(
                group("web", [("http", 8080, "TCP")], ep("10.244.0.250", "a")),
            ),
        ),
        lambda: _with(HEALTHY, legacy_endpoint_groups=HEALTHY.endpoint_groups),
    ),
    "selectorless-without-endpoints": (
        lambda: snap(services=(svc("ext", sport(5432), selectorless=True),)),
        lambda: snap(
            services=(svc("ext", sport(5432), selectorless=True),),
            groups=(group("ext", [(None, 5432, "TCP")], ep("192.0.2.200")),),
        ),
    ),
    "numeric-target-port": (lambda: _web(_p("a"), _p("b"), target=8080), lambda: HEALTHY),
    "service-type-cost": (lambda: _web(_p("a"), _p("b"), type="NodePort"), lambda: HEALTHY),
    "lb-cluster-traffic-policy": (
        lambda: _web(_p("a"), _p("b"), type="LoadBalancer", lb=("203.0.113.1",)),
        lambda: _web(
            _p("a"), _p("b", node_name="n1"), type="LoadBalancer", lb=("203.0.113.1",), etp="Local"
        ),
    ),
    # Only where no port's own finding names the pod: here a pending one, which is no backend.
    "pod-declares-no-ports": (
        lambda: _web(
            _p("a"),
            _p("b"),
            pod("c", None, node_name=None, phase="Pending", ready=False),
            target=8080,
        ),
        lambda: HEALTHY,
    ),
    "unnamed-container-port": (
        lambda: _web(_p("a", cport("app", 8080)), _p("b", cport("app", 8080)), target=8080),
        lambda: _web(_p("a"), _p("b"), target=8080),
    ),
    "probe-numeric-port": (
        lambda: _web(
            Pod(
                "ns",
                "a",
                {"app": "web"},
                "n0",
                pod_ips=("10.244.0.7",),
                ready=True,
                phase="Running",
                ports=(cport("app", 8080, "http"),),
                probes=(ProbePort("app", "readiness", 8080),),
            )
        ),
        lambda: _web(
            Pod(
                "ns",
                "a",
                {"app": "web"},
                "n0",
                pod_ips=("10.244.0.7",),
                ready=True,
                phase="Running",
                ports=(cport("app", 8080, "http"),),
                probes=(ProbePort("app", "readiness", "http"),),
            )
        ),
    ),
    "webhook-service-unavailable": (
        lambda: _with(DOWN, validating_webhooks=(HOOK,)),
        lambda: _with(HEALTHY, validating_webhooks=(HOOK,), api_services=(API,)),
    ),
    "apiservice-unavailable": (
        lambda: _with(DOWN, api_services=(API,)),
        lambda: _with(HEALTHY, validating_webhooks=(HOOK,), api_services=(API,)),
    ),
    "ingress-backend-missing": (
        lambda: _entry(HEALTHY, _ing(ipath("/", "gone"), ipath("/x", "web", 81))),
        lambda: _entry(HEALTHY, _ing(ipath("/", "web", 80))),
    ),
    "ingress-backend-unavailable": (
        lambda: _entry(DOWN, _ing(ipath("/", "web", 80))),
        lambda: _entry(HEALTHY, _ing(ipath("/", "web", 80))),
    ),
    "ingress-path-conflict": (
        lambda: _entry(
            HEALTHY, _ing(ipath("/api", "web", 80)), _ing(ipath("/api/", "web", 80), name="b")
        ),
        lambda: _entry(
            HEALTHY,
            _ing(ipath("/api", "web", 80)),
            _ing(ipath("/api", "web", 80, "Exact"), name="b"),
            _ing(ipath("/api", "web", 80), name="c", class_name="other"),
        ),
    ),
    "ingress-class-missing": (
        lambda: _entry(HEALTHY, _ing(ipath("/", "web", 80), class_name="haproxy")),
        lambda: _entry(
            HEALTHY,
            _ing(ipath("/", "web", 80)),
            _ing(ipath("/", "web", 80), name="d", class_name=None),
            classes=(IngressClass("nginx", "x", default=True),),
        ),
    ),
    "gateway-route-not-attached": (
        lambda: _gw(HEALTHY, _route(hostnames=("a.example.org",))),
        lambda: _gw(HEALTHY, _route()),
    ),
    "gateway-ref-not-permitted": (
        lambda: _gw(HEALTHY, _route(CROSS)),
        lambda: _gw(HEALTHY, _route(CROSS), reference_grants=(GRANT,)),
    ),
    "gateway-backend-missing": (
        lambda: _gw(
            HEALTHY, _route(BackendRef("ns", "gone", port=80), BackendRef("ns", "web", port=81))
        ),
        lambda: _gw(HEALTHY, _route()),
    ),
    "gateway-backend-unavailable": (
        lambda: _gw(DOWN, _route()),
        lambda: _gw(HEALTHY, _route()),
    ),
    "gateway-listener-unused": (
        lambda: _gw(HEALTHY, _route(hostnames=("a.example.org",))),
        lambda: _gw(HEALTHY, _route()),
    ),
}


def test_gateway_findings_say_why() -> None:
    got = sorted(
        (f.check, f.message)
        for f in _run(
            _gw(
                DOWN,
                _route(hostnames=("a.example.org",), name="lost"),
                _route(
                    BackendRef("ns", "web", port=80, weight=3),
                    BackendRef("ns", "gone", port=80),
                    CROSS,
                ),
            )
        )
        if f.check.startswith("gateway")
    )
    assert got == [
        ("gateway-backend-missing", "HTTPRoute r rule 1: service ns/gone not found"),
        (
            "gateway-backend-unavailable",
            "HTTPRoute r rule 1: service web port 80 has no ready endpoint (60% of the rule's "
            "requests); these requests fail",
        ),
        (
            "gateway-ref-not-permitted",
            "HTTPRoute r rule 1: service other/web is in another namespace and no ReferenceGrant "
            "in other permits HTTPRoute from ns",
        ),
        (
            "gateway-route-not-attached",
            "HTTPRoute lost is not attached to ns/gw: NoMatchingListenerHostname: route hostnames "
            "a.example.org do not intersect listener hostnames *.example.com",
        ),
    ]
    quiet = _with(
        _gw(HEALTHY, _route(CROSS)),
        warnings=(
            "referencegrants is forbidden; cross-namespace backendRefs are shown as not permitted",
        ),
    )
    assert "gateway-ref-not-permitted" not in {f.check for f in _run(quiet)}


# --- NetworkPolicy checks --------------------------------------------------------------------

_SHOP = _p("shop", labels={"app": "shop"})


def _pol(
    name: str = "web-in",
    select: dict[str, str] | None = None,
    ingress: tuple[PolicyRule, ...] = (),
    egress: tuple[PolicyRule, ...] = (),
    types: tuple[str, ...] = ("Ingress",),
    ns: str = "ns",
) -> NetworkPolicy:
    return NetworkPolicy(
        ns,
        name,
        LabelSelector({"app": "web"} if select is None else select),
        types,  # type: ignore[arg-type]
        ingress=ingress,
        egress=egress,
    )


def _from(*peers: PolicyPeer, port: int | str | None = None, proto: str = "TCP") -> PolicyRule:
    ports = (PolicyPort(proto, port),) if port is not None else ()  # type: ignore[arg-type]
    return PolicyRule(peers=peers, ports=ports)


def _app(app: str) -> PolicyPeer:
    return PolicyPeer(pod_selector=LabelSelector({"app": app}))


def _policed(s: Snapshot, *policies: NetworkPolicy, state: str = "read") -> Snapshot:
    return _with(
        s,
        pods=(*s.pods, _SHOP),
        network_policies=policies,
        network_policy_state=state,
        namespaces=(Namespace("ns", {"kubernetes.io/metadata.name": "ns"}),),
    )


def _dns_world(*policies: NetworkPolicy) -> Snapshot:
    """HEALTHY plus kube-system/kube-dns over one CoreDNS pod on 53/UDP."""
    dns_pod = pod(
        "coredns-0",
        "10.244.9.9",
        cport("coredns", 53, "dns", "UDP"),
        ns="kube-system",
        labels={"k8s-app": "kube-dns"},
    )
    dns = svc(
        "kube-dns",
        sport(53, "dns", name="dns", protocol="UDP"),
        ns="kube-system",
        cluster_ips=("10.96.0.53",),
        selector={"k8s-app": "kube-dns"},
    )
    g = group(
        "kube-dns",
        [("dns", 53, "UDP")],
        ep("10.244.9.9", "coredns-0", ns="kube-system"),
        ns="kube-system",
    )
    s = _policed(HEALTHY, *policies)
    return _with(
        s,
        services=(*s.services, dns),
        endpoint_groups=(*s.endpoint_groups, g),
        pods=(*s.pods, dns_pod),
        namespaces=(
            *s.namespaces,
            Namespace("kube-system", {"kubernetes.io/metadata.name": "kube-system"}),
        ),
    )


_KUBE_SYSTEM = PolicyPeer(
    namespace_selector=LabelSelector({"kubernetes.io/metadata.name": "kube-system"})
)
_EGRESS_WEB_ONLY = _pol("egress", egress=(_from(_app("web")),), types=("Egress",))
_EGRESS_DNS = _pol("egress", egress=(_from(_KUBE_SYSTEM, port=53, proto="UDP"),), types=("Egress",))


POLICY_CASES: dict[str, tuple[Callable[[], Snapshot], Callable[[], Snapshot]]] = {
    "service-port-unreachable": (
        lambda: _policed(HEALTHY, _pol(ingress=(_from(_app("nobody")),))),
        lambda: _policed(HEALTHY, _pol(ingress=(_from(_app("shop")),))),
    ),
    "external-traffic-denied": (
        lambda: _policed(_web(_p("a"), type="NodePort"), _pol(ingress=(_from(_app("shop")),))),
        lambda: _policed(
            _web(_p("a"), type="NodePort"),
            _pol(ingress=(_from(PolicyPeer(ip_block=IPBlock("0.0.0.0/0"))),)),
        ),
    ),
    "policy-selects-no-pod": (
        lambda: _policed(HEALTHY, _pol(select={"app": "wbe"})),
        lambda: _policed(HEALTHY, _pol()),
    ),
    "policy-named-port-undeclared": (
        lambda: _policed(HEALTHY, _pol(ingress=(_from(_app("shop"), port="htpp"),))),
        lambda: _policed(HEALTHY, _pol(ingress=(_from(_app("shop"), port="http"),))),
    ),
    "egress-blocks-dns": (
        lambda: _dns_world(_EGRESS_WEB_ONLY),
        lambda: _dns_world(_EGRESS_WEB_ONLY, _EGRESS_DNS),
    ),
    "policy-rule-never-matches": (
        lambda: _policed(
            HEALTHY,
            _pol(
                ingress=(_from(PolicyPeer(ip_block=IPBlock("10.0.0.0/16", ("10.0.0.0/8",)))),),
            ),
        ),
        lambda: _policed(
            HEALTHY,
            _pol(ingress=(_from(PolicyPeer(ip_block=IPBlock("10.0.0.0/8", ("10.1.0.0/16",)))),)),
        ),
    ),
}
CASES.update(POLICY_CASES)

ZONE = "topology.kubernetes.io/zone"
ZONED = tuple(msgspec.structs.replace(node(i), labels={ZONE: f"z{i}"}) for i in range(3))


def _hinted(*zones: str | None, nodes: tuple[Node, ...] = ZONED) -> Snapshot:
    """web over one pod per zone given (on node n<i>), each hinted for its zone (None: none)."""
    pods = tuple(_p(f"p{i}", node_name=f"n{i}") for i in range(len(zones)))
    eps = tuple(
        msgspec.structs.replace(ep(p.pod_ips[0], p.name, p.node_name), for_zones=(z,) if z else ())
        for p, z in zip(pods, zones, strict=True)
    )
    s = svc("web", sport(80, "http", name="http"))
    return snap(
        nodes=nodes, services=(s,), groups=(group("web", [("http", 8080, "TCP")], *eps),),
        pods=pods,
    )  # fmt: skip


TOPOLOGY_CASES: dict[str, tuple[Callable[[], Snapshot], Callable[[], Snapshot]]] = {
    "topology-zone-without-endpoint": (
        lambda: _hinted("z0", "z1"),
        lambda: _hinted("z0", "z1", "z2"),
    ),
    "topology-hints-incomplete": (
        lambda: _hinted("z0", None),
        lambda: _hinted("z0", "z1"),
    ),
}
CASES.update(TOPOLOGY_CASES)


def test_topology_zone_without_endpoint_names_the_zone_and_its_nodes() -> None:
    (f,) = [f for f in _run(_hinted("z0", "z1")) if f.check == "topology-zone-without-endpoint"]
    assert f.message == (
        "no endpoint is hinted for zone z2: kube-proxy on its node(s) n2 uses every endpoint, "
        "in every zone"
    )
    assert f.severity == Severity.WARNING


def test_topology_checks_stay_quiet_when_nodes_were_not_read() -> None:
    # Nodes forbidden: no zone is known, so no zone is said to lack an endpoint.
    fired = {f.check for f in _run(_hinted("z0", "z1", nodes=()))}
    assert "topology-zone-without-endpoint" not in fired


def test_topology_zone_without_endpoint_quiet_where_node_hints_serve_its_nodes() -> None:
    # Hand-made hints: p1 runs in z1 but is hinted for zone z0 and for node n2 (in z2). No
    # endpoint is hinted for z1 or z2, yet n2 takes PreferSameNode: only n1 falls back.
    base = _hinted("z0", "z1")
    g = base.endpoint_groups[0]
    e0, e1 = g.endpoints
    g = msgspec.structs.replace(
        g,
        endpoints=(
            msgspec.structs.replace(e0, for_nodes=("n0",)),
            msgspec.structs.replace(e1, for_zones=("z0",), for_nodes=("n2",)),
        ),
    )
    (f,) = [
        f
        for f in _run(_with(base, endpoint_groups=(g,)))
        if f.check == "topology-zone-without-endpoint"
    ]
    assert f.message.startswith("no endpoint is hinted for zone z1: kube-proxy on its node(s) n1 ")


def test_topology_hints_incomplete_names_the_endpoints_without() -> None:
    (f,) = [f for f in _run(_hinted("z0", None)) if f.check == "topology-hints-incomplete"]
    ip = _p("p1").pod_ips[0]
    assert f.message == (
        f"1 of 2 ready endpoints have no zone hint ({ip}:8080): kube-proxy turns topology off "
        "for the whole service port"
    )
    assert f.pods == ("ns/p1",)


@pytest.mark.parametrize("check", sorted(POLICY_CASES))
def test_policy_checks_stay_quiet_when_policies_are_unreadable(check: str) -> None:
    s = _with(POLICY_CASES[check][0](), network_policy_state="forbidden")
    assert check not in {f.check for f in _run(s)}


def test_rules_of_a_direction_the_policy_types_leave_out_never_match() -> None:
    s = _policed(HEALTHY, _pol(ingress=(_from(_app("shop")),), types=("Egress",)))
    (f,) = [f for f in _run(s) if f.check == "policy-rule-never-matches"]
    assert f.message == (
        "NetworkPolicy web-in ingress[0] never matches: policyTypes ['Egress'] leaves out "
        "Ingress: ignored"
    )
    assert f.service == "networkpolicy/web-in"


def test_unreachable_port_names_the_policy_and_is_an_error() -> None:
    (f,) = [
        f
        for f in _run(POLICY_CASES["service-port-unreachable"][0]())
        if f.check == "service-port-unreachable"
    ]
    assert f.severity == Severity.ERROR
    assert "isolated by ns/web-in" in f.message
    assert f.port == audit_finding.PortKey("http", 80, "TCP")


def test_one_idle_pod_of_a_service_is_one_finding_listing_its_ports() -> None:
    # Issue 23, item 4: one not-ready CoreDNS pod gave one finding per port (three).
    ports = (cport("coredns", 53, "dns", "UDP"), cport("coredns", 53, "dns-tcp"),
             cport("coredns", 9153, "metrics"))  # fmt: skip
    up = pod("coredns-a", "10.244.0.5", *ports, labels={"app": "web"})
    down = pod("coredns-b", "10.244.0.6", *ports, labels={"app": "web"}, ready=False)
    dns = svc(
        "dns",
        sport(53, "dns", name="dns", protocol="UDP"),
        sport(53, "dns-tcp", name="dns-tcp"),
        sport(9153, "metrics", name="metrics"),
        selector={"app": "web"},
    )
    g = group(
        "dns",
        [("dns", 53, "UDP"), ("dns-tcp", 53, "TCP"), ("metrics", 9153, "TCP")],
        ep("10.244.0.5", "coredns-a"),
        ep("10.244.0.6", "coredns-b", ready=False),
    )
    s = snap(nodes=NODES, services=(dns,), groups=(g,), pods=(up, down))
    (f,) = [f for f in _run(s) if f.check == "selected-pod-not-endpoint"]
    assert f.port is None
    assert f.message == (
        "1 selected pod receives no traffic on dns 53/UDP, dns-tcp 53/TCP, metrics 9153/TCP"
    )
    assert [str(nb.pod) for nb in f.not_backends] == ["ns/coredns-b"]
    # Pods idle on different ports: each says where.
    half = msgspec.structs.replace(up, ports=ports[2:], name="coredns-c", pod_ips=("10.244.0.7",))
    s = snap(nodes=NODES, services=(dns,), groups=(g,), pods=(up, down, half))
    (f,) = [f for f in _run(s) if f.check == "selected-pod-not-endpoint"]
    assert f.message == (
        "2 selected pods receive no traffic: ns/coredns-b on dns 53/UDP, dns-tcp 53/TCP, "
        "metrics 9153/TCP; ns/coredns-c on metrics 9153/TCP"
    )


def test_unreachable_stays_quiet_where_the_verdict_is_unknown() -> None:
    # Issue 23, item 1: node-exporter's backends are hostNetwork pods. NetworkPolicy on them is
    # left to the network plugin, so trace --from and `kinspect policy` say unknown: the audit
    # must not call the port unreachable (an error) on the same facts.
    hn = _web(_p("a", host_network=True), _p("b", node_name="n1", host_network=True))
    s = _policed(hn, _pol(ingress=(_from(_app("nobody")),)))
    assert "service-port-unreachable" not in {f.check for f in _run(s)}
    assert "external-traffic-denied" not in {
        f.check
        for f in _run(_with(s, services=(msgspec.structs.replace(s.services[0], type="NodePort"),)))
    }
    # The same policy over ordinary pods fires: the check itself still works.
    assert "service-port-unreachable" in {
        f.check for f in _run(_policed(HEALTHY, _pol(ingress=(_from(_app("nobody")),))))
    }


def test_unreachable_stays_quiet_when_a_peer_namespace_was_not_read() -> None:
    # Review: under -n, a namespaceSelector peer's namespaces and pods were not read: whether
    # anyone it selects exists is unknown, so no error.
    peer = PolicyPeer(namespace_selector=LabelSelector({"team": "x"}))
    s = _with(_policed(HEALTHY, _pol(ingress=(_from(peer),))), read_namespace="ns")
    assert "service-port-unreachable" not in {f.check for f in _run(s)}
    # Every namespace read: no namespace has team=x, so nobody may reach it: the error fires.
    s = _with(s, read_namespace=None)
    assert "service-port-unreachable" in {f.check for f in _run(s)}


def test_dns_blocked_names_the_dns_service_and_the_pods() -> None:
    (f,) = [f for f in _run(_dns_world(_EGRESS_WEB_ONLY)) if f.check == "egress-blocks-dns"]
    assert "kube-system/kube-dns on 53/UDP" in f.message
    assert f.pods == ("ns/a", "ns/b")


def test_ingress_findings_say_which_path_breaks_and_classes_unreadable_are_not_missing() -> None:
    s = _entry(HEALTHY, _ing(ipath("/", "gone"), ipath("/x", "web", 81)))
    assert sorted(f.message for f in _run(s) if f.check == "ingress-backend-missing") == [
        "Ingress shop shop.example.com/ (Prefix): service ns/gone not found",
        "Ingress shop shop.example.com/x (Prefix): service ns/web has no port 81 "
        "(ports: 80 (http))",
    ]
    (f,) = [
        f
        for f in _run(_entry(DOWN, _ing(ipath("/", "web", 80))))
        if f.severity > 1 and f.check.startswith("ingress")
    ]
    assert f.message == (
        "Ingress shop shop.example.com/ (Prefix): service web port 80 has no ready endpoint; "
        "this URL fails"
    )
    unknown = _with(
        _entry(HEALTHY, _ing(ipath("/", "web", 80), class_name="haproxy"), classes=()),
        ingress_class_state="forbidden",
    )
    assert "ingress-class-missing" not in {f.check for f in _run(unknown)}
    none = _entry(HEALTHY, _ing(ipath("/", "web", 80), class_name=None), classes=(NGINX,))
    assert [f.message for f in _run(none) if f.check == "ingress-class-missing"] == [
        "Ingress shop has no ingressClassName, no class annotation, and no default IngressClass"
    ]


FAILED_DISCOVERY = (
    "FailedDiscoveryCheck: failing or missing response from https://10.96.0.10:80/apis/"
    "metrics.example.com/v1beta1: Get ...: context deadline exceeded"
)


def test_an_apiservice_unavailable_by_its_own_condition_is_reported() -> None:
    # Issue 23, item 3: the service has a ready endpoint, yet the aggregator's discovery check
    # fails: the APIService's Available condition says so, and so must the audit.
    down = msgspec.structs.replace(API, unavailable=FAILED_DISCOVERY)
    (f,) = [f for f in _run(_with(HEALTHY, api_services=(down,))) if f.severity > 1]
    assert (f.check, f.severity, f.service, f.port) == (
        "apiservice-unavailable",
        Severity.ERROR,
        "web",
        audit_finding.PortKey("http", 80, "TCP"),
    )
    assert f.message == (
        "APIService v1beta1.metrics.example.com is Available=False although port 80 has a ready "
        f"endpoint ({FAILED_DISCOVERY}): every request to metrics.example.com/v1beta1 fails "
        "(503), API discovery reports it unavailable, and namespace deletion waits for it"
    )
    # With no ready endpoint the finding is the one it was, with the API server's words added.
    (f,) = [
        f for f in _run(_with(DOWN, api_services=(down,))) if f.check == "apiservice-unavailable"
    ]
    assert f.message.endswith(
        f"namespace deletion waits for it (Available=False: {FAILED_DISCOVERY})"
    )


def test_consumers_of_a_missing_service_or_port_are_errors_that_say_what_breaks() -> None:
    ignore = msgspec.structs.replace(HOOK, webhook="soft", failure_policy="Ignore")
    gone = msgspec.structs.replace(API, service="metrics")
    other_ns = msgspec.structs.replace(HOOK, namespace="elsewhere")  # not read: out of scope
    wrong_port = msgspec.structs.replace(HOOK, port=443)
    s = _with(HEALTHY, validating_webhooks=(ignore, other_ns, wrong_port), api_services=(gone,))
    got = {(f.check, f.service, f.severity): f.message for f in _run(s) if f.severity > 1}
    assert got == {
        ("apiservice-unavailable", "metrics", Severity.ERROR): (
            "service ns/metrics does not exist. APIService v1beta1.metrics.example.com: every "
            "request to metrics.example.com/v1beta1 fails (503), API discovery reports it "
            "unavailable, and namespace deletion waits for it"
        ),
        ("webhook-service-unavailable", "web", Severity.ERROR): (
            "the service has no port 443. ValidatingWebhookConfiguration policy (webhook "
            "check.example.com): failurePolicy Fail: every write its rules match is rejected, "
            "cluster-wide, until the service answers"
        ),
    }
    (f,) = [
        f
        for f in _run(_with(DOWN, validating_webhooks=(ignore,)))
        if f.check == "webhook-service-unavailable"
    ]
    assert f.severity == Severity.ERROR
    assert "failurePolicy Ignore: matching writes pass without this validating webhook" in (
        f.message
    )


def test_every_check_has_cases_a_doc_and_a_unique_id() -> None:
    ids = [c.id for c in audit.CHECKS]
    assert len(ids) == len(set(ids))
    assert set(CASES) == set(ids)
    for c in audit.CHECKS:
        assert c.doc, c.id
        assert "\n" not in c.doc, c.id
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", c.id)


@pytest.mark.parametrize("check", sorted(CASES))
def test_check_fires(check: str) -> None:
    fired = [f for f in _run(CASES[check][0]()) if f.check == check]
    assert fired, f"{check} did not fire"
    assert all(f.context == "test" and f.namespace == "ns" for f in fired)


@pytest.mark.parametrize("check", sorted(CASES))
def test_check_stays_quiet(check: str) -> None:
    assert check not in {f.check for f in _run(CASES[check][1]())}


def test_healthy_service_has_nothing_above_info() -> None:
    assert [f for f in _run(HEALTHY) if f.severity > Severity.INFO] == []


def test_mixed_rollout_is_a_warning_listing_only_the_pods_missing_the_name() -> None:
    (f,) = [
        f
        for f in _run(CASES["named-port-unresolvable"][0]())
        if f.check == "named-port-unresolvable"
    ]
    assert f.severity == Severity.WARNING
    assert f.pods == ("ns/c",)
    assert f.port == audit_finding.PortKey("http", 80, "TCP")


def test_named_port_missing_everywhere_is_an_error() -> None:
    s = _web(_p("a", cport("app", 8080, "web")), _p("b", cport("app", 8080, "web")))
    (f,) = [f for f in _run(s) if f.check == "named-port-unresolvable"]
    assert f.severity == Severity.ERROR


def test_local_policy_names_the_dropping_node() -> None:
    (f,) = [
        f
        for f in _run(CASES["local-policy-drops-nodes"][0]())
        if f.check == "local-policy-drops-nodes"
    ]
    assert f.message.endswith(": n1")


def test_portless_slice_of_a_pod_missing_the_named_port_is_not_a_disagreement() -> None:
    # What the EndpointSlice controller really writes (seen on the test bed): the pod lacking
    # the named port sits in a slice with no ports; the Endpoints controller leaves it out.
    s = CASES["named-port-unresolvable"][0]()
    portless = group("web", [], ep("10.244.0.77", "c"), name="web-noport")
    s = _with(
        s, endpoint_groups=(*s.endpoint_groups, portless), legacy_endpoint_groups=s.endpoint_groups
    )
    assert "slices-endpoints-disagree" not in {f.check for f in _run(s)}


def test_ignore_drops_a_check() -> None:
    s = CASES["single-ready-endpoint"][0]()
    idx = chain.Index.of(s)
    found = audit.run(s, chain.build(s, idx), idx, ignore=frozenset({"single-ready-endpoint"}))
    assert "single-ready-endpoint" not in {f.check for f in found}


def test_each_check_id_is_written_once_in_the_source() -> None:
    source = Path(audit.__file__).read_text()
    for c in audit.CHECKS:
        assert source.count(f'"{c.id}"') == 1, c.id


def test_docs_list_every_check() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "audit.md").read_text()
    for c in audit.CHECKS:
        assert f"| `{c.id}` | {c.severity.label} |" in text, c.id


def _checks(s: Snapshot) -> dict[str, Severity]:
    return {f.check: f.severity for f in _run(s)}


def test_a_service_scaled_to_zero_is_an_error() -> None:
    # A Deployment scaled to zero: the selector matches nothing, every connection fails.
    assert _checks(_web()) == {"selector-matches-no-pods": Severity.ERROR}


def test_single_ready_endpoint_once_per_service_not_per_port() -> None:
    s = _web(_p("a"))
    two_ports = svc("web", sport(80, "http", name="http"), sport(443, "http", name="https"))
    s = _with(s, services=(two_ports,))
    (f,) = [f for f in _run(s) if f.check == "single-ready-endpoint"]
    assert (f.severity, f.port, f.pods) == (Severity.INFO, None, ("ns/a",))


def test_single_ready_endpoint_quiet_on_a_per_pod_statefulset_service() -> None:
    sel = {"statefulset.kubernetes.io/pod-name": "db-0"}
    p = _p("db-0", labels=sel)
    s = _with(_web(p), services=(svc("web", sport(80, "http", name="http"), selector=sel),))
    assert "single-ready-endpoint" not in _checks(s)


def test_single_ready_endpoint_quiet_on_hand_made_endpoints() -> None:
    # default/kubernetes on one control plane: the endpoints are not a replica count.
    s = snap(
        services=(svc("ext", sport(5432), selectorless=True),),
        groups=(group("ext", [(None, 5432, "TCP")], ep("192.0.2.200")),),
    )
    assert "single-ready-endpoint" not in _checks(s)


def test_a_terminating_pod_kept_by_the_slice_is_no_disagreement() -> None:
    # What a graceful rollout looks like on the wire: the slice keeps the terminating pod
    # (ready false, serving, terminating), the Endpoints controller drops it.
    old = ep("10.244.0.99", "old", ready=False, terminating=True)
    slices = (group("web", [("http", 8080, "TCP")], *HEALTHY.endpoint_groups[0].endpoints, old),)
    s = _with(HEALTHY, endpoint_groups=slices, legacy_endpoint_groups=HEALTHY.endpoint_groups)
    assert "slices-endpoints-disagree" not in _checks(s)


def test_a_not_ready_address_missing_from_endpoints_is_still_a_disagreement() -> None:
    lost = ep("10.244.0.98", "x", ready=False)
    slices = (group("web", [("http", 8080, "TCP")], *HEALTHY.endpoint_groups[0].endpoints, lost),)
    s = _with(HEALTHY, endpoint_groups=slices, legacy_endpoint_groups=HEALTHY.endpoint_groups)
    assert "slices-endpoints-disagree" in _checks(s)


def _probed_pod(name: str, action: str, port: int, *ports: object) -> Pod:
    return msgspec.structs.replace(
        _p(name, *ports) if ports else pod(name, f"10.244.0.{len(name) + 50}"),
        probes=(ProbePort("app", "readiness", port, action),),  # type: ignore[arg-type]
    )


def test_probe_numeric_port_quiet_on_grpc_which_takes_only_a_number() -> None:
    s = _web(_probed_pod("a", "grpc", 8080, cport("app", 8080, "http")))
    assert "probe-numeric-port" not in _checks(s)
    s = _web(_probed_pod("a", "tcpSocket", 8080, cport("app", 8080, "http")))
    assert "probe-numeric-port" in _checks(s)


def test_one_undeclared_port_is_one_finding_not_four() -> None:
    # The case: no declared port, a numeric targetPort, one replica. Before: four
    # findings (target-port-undeclared, pod-declares-no-ports, numeric-target-port, single-...).
    bare = _web(pod("a", "10.244.0.7"), target=9999)
    assert _checks(bare) == {
        "target-port-undeclared": Severity.WARNING,
        "single-ready-endpoint": Severity.INFO,
    }


@pytest.mark.parametrize("action", ["httpGet", "tcpSocket", "grpc"])
def test_a_probe_on_an_undeclared_port_is_evidence_that_something_listens(action: str) -> None:
    s = _web(_probed_pod("a", action, 9999), _probed_pod("bb", action, 9999), target=9999)
    assert _checks(s) == {"target-port-undeclared": Severity.INFO}
    # A probe on another port proves nothing about this one.
    s = _web(_probed_pod("a", action, 9998), _probed_pod("bb", action, 9998), target=9999)
    assert _checks(s) == {"target-port-undeclared": Severity.WARNING}


def test_numeric_target_port_quiet_where_the_port_is_undeclared() -> None:
    assert "numeric-target-port" not in _checks(_web(_p("a"), _p("b"), target=9999))


def test_numeric_target_port_quiet_where_the_container_port_has_no_name() -> None:
    # unnamed-container-port says it: name the port first.
    s = _web(_p("a", cport("app", 8080)), _p("b", cport("app", 8080)), target=8080)
    assert "numeric-target-port" not in _checks(s)
    assert "unnamed-container-port" in _checks(s)


def test_a_terminating_pod_is_no_idle_pod_only_a_terminating_endpoint() -> None:
    old = msgspec.structs.replace(_p("old", ready=False), deleting=True)
    s = _web(_p("a"), _p("b", node_name="n1"), old)
    s = _with(
        s,
        endpoint_groups=(
            group(
                "web",
                [("http", 8080, "TCP")],
                *s.endpoint_groups[0].endpoints,
                ep(old.pod_ips[0], "old", ready=False, terminating=True),
            ),
        ),
    )
    assert _checks(s) == {"endpoint-pod-terminating": Severity.INFO}


_CNP = PluginPolicy("cilium.io", "CiliumNetworkPolicy", "ns", "allow-web")


@pytest.mark.parametrize(
    "check", ["service-port-unreachable", "external-traffic-denied", "egress-blocks-dns"]
)
def test_policy_checks_stay_quiet_where_plugin_policies_may_apply(check: str) -> None:
    # Issue 23 item 8: a CiliumNetworkPolicy in the namespace may allow what NetworkPolicies
    # deny: the verdict is unknown, and the check says nothing.
    fires = POLICY_CASES[check][0]()
    assert check in {f.check for f in _run(fires)}
    s = _with(fires, plugin_policy_state="read", plugin_policies=(_CNP,))
    assert check not in {f.check for f in _run(s)}
