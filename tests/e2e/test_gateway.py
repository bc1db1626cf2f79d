"""Issue 13 on a real API server: `trace URL` through Gateway API listeners and routes.

The Gateway API CRDs (sigs.k8s.io/gateway-api, the version in testbed/versions.env) are
installed by testbed/crds.sh; the demo (examples/apply.sh → examples/gateway.yaml) then has
Gateway `shop-gw` (status address 203.0.113.30: data, never dialed), HTTPRoutes `store`,
`broken`, `elsewhere` and GRPCRoute `orders`. A second namespace labelled as a tenant holds a
route for the Selector listener and a service reached across namespaces with a ReferenceGrant.
Every pod and port kinspect names is compared with what the API server says. No controller
runs here: the status apply.sh writes is what a controller would.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..schema import validate
from .conftest import KINSPECT, Cluster, Namespace, new_namespace

ROOT = Path(__file__).resolve().parents[2]


def _env(cluster: Cluster) -> dict[str, str]:
    return {**os.environ, "KUBECTL": " ".join(cluster.kubectl_args())}


@pytest.fixture(scope="module")
def demo(cluster: Cluster) -> Iterator[Namespace]:
    crds = subprocess.run(
        [str(ROOT / "testbed" / "crds.sh")],
        env=_env(cluster),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert crds.returncode == 0, crds.stderr[-3000:]
    with new_namespace(cluster) as ns:
        ns.apply_demo()
        ns.wait_until(
            "shop's and web's endpoints and the Gateway address",
            lambda: bool(
                ns.get("gateway", "shop-gw")["status"].get("addresses")
                and all(
                    any(
                        e.get("conditions", {}).get("ready")
                        for s in ns.get(
                            "endpointslices", "-l", f"kubernetes.io/service-name={svc}"
                        )["items"]
                        for e in s.get("endpoints") or []
                    )
                    for svc in ("shop", "web")
                )
            ),
            seconds=120,
        )
        yield ns


def _trace(ns: Namespace, *args: str, expect: int = 0) -> dict[str, Any]:
    doc: dict[str, Any] = ns.kinspect_json("trace", *args, "-n", ns.name, expect=expect)
    validate(doc, "entry-trace-report.json")
    return doc


def _declared(pod: dict[str, Any]) -> set[tuple[str, int]]:
    return {
        (c["name"], p["containerPort"])
        for c in pod["spec"]["containers"]
        for p in c.get("ports", [])
    }


def test_url_through_an_httproute_reaches_the_pods_the_api_server_has(demo: Namespace) -> None:
    doc = _trace(demo, "http://store.example.net/api/orders")
    assert doc["found"] is True
    g = doc["gateway"]["match"]
    assert (g["gateway"]["name"], g["listener"]["name"], g["route"]["name"], g["ruleName"]) == (
        "shop-gw",
        "http",
        "store",
        "api",
    )
    assert g["addresses"] == ["203.0.113.30"]
    refs = {(b["name"], b["weight"]): b for b in g["backendRefs"]}
    assert set(refs) == {("shop", 90), ("web", 10)}
    (b,) = refs[("shop", 90)]["servicePort"]["backends"]
    shop = demo.get("pod", "shop-0")
    assert b["address"] == shop["status"]["podIP"]
    assert (b["pod"]["name"], b["ready"], b["container"], b["containerPort"]["port"]) == (
        "shop-0",
        True,
        "app",
        8000,
    )
    assert ("app", 8000) in _declared(shop)
    # The controller status apply.sh wrote is shown, and agrees with the computation.
    assert [c["type"] for c in g["conditions"]["written"]] == ["Accepted"]
    assert g["conditions"]["disagree"] == []
    web_pods = {
        b["pod"]["name"] for b in refs[("web", 10)]["servicePort"]["backends"] if b["ready"]
    }
    api_ready = {
        e["targetRef"]["name"]
        for s in demo.get("endpointslices", "-l", "kubernetes.io/service-name=web")["items"]
        # A pod whose named port does not resolve sits in a slice without that port.
        if any(p.get("name") == "http" for p in s.get("ports") or [])
        for e in s.get("endpoints") or []
        if e.get("conditions", {}).get("ready")
    }
    assert web_pods == api_ready


def test_precedence_exact_regex_header_query_and_grpc(demo: Namespace) -> None:
    def rule(url: str, *args: str) -> tuple[str, str | None]:
        g = _trace(demo, url, *args)["gateway"]["match"]
        return (g["route"]["name"], g["ruleName"])

    assert rule("http://store.example.net/api/health") == ("store", "health")  # Exact
    assert rule("http://store.example.net/v2/items") == ("store", "versions")  # RegularExpression
    assert rule("http://store.example.net/?debug=1") == ("store", "canary")  # query match
    assert rule("http://store.example.net/other") == ("store", "rest")  # no matches: every request
    g = _trace(demo, "http://grpc.example.net/shop.Orders/Get")["gateway"]["match"]
    assert (g["route"]["kind"], g["route"]["name"]) == ("GRPCRoute", "orders")
    # The https listener is exact (store.example.net) and admits only HTTPRoutes.
    g = _trace(demo, "https://store.example.net/api/x")["gateway"]["match"]
    assert (g["listener"]["name"], g["listener"]["hostname"]) == ("https", "store.example.net")


def test_broken_routes_and_unattached_routes_say_why(demo: Namespace) -> None:
    doc = _trace(
        demo, "203.0.113.30:80", "--host", "broken.example.net", "--path", "/gone", expect=6
    )
    (b,) = doc["gateway"]["match"]["backendRefs"]
    assert (b["reason"], b["problem"]) == ("BackendNotFound", f"service {demo.name}/gone not found")
    doc = _trace(
        demo, "203.0.113.30:80", "--host", "broken.example.net", "--path", "/api", expect=6
    )
    (b,) = doc["gateway"]["match"]["backendRefs"]
    assert b["reason"] == "RefNotPermitted"
    # At the Gateway's address (by host name alone, the Ingress's defaultBackend answers too).
    doc = _trace(demo, "203.0.113.30:80", "--host", "shop.example.org", expect=6)
    (u,) = doc["gateway"]["unattached"]
    assert (u["route"]["name"], u["reason"]) == ("elsewhere", "NoMatchingListenerHostname")
    text = demo.kinspect(
        "trace", "203.0.113.30:80", "--host", "shop.example.org", "-n", demo.name, expect=6
    ).stdout
    assert "the controller's status says Accepted True" in text


def test_selector_listener_and_reference_grant_across_namespaces(
    cluster: Cluster, demo: Namespace
) -> None:
    with new_namespace(cluster) as tenant:
        tenant.kubectl("label", "namespace", tenant.name, "kinspect.dev/tenant=yes")
        tenant.apply(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "List",
                    "items": [
                        {
                            "apiVersion": "gateway.networking.k8s.io/v1",
                            "kind": "HTTPRoute",
                            "metadata": {"name": "tenant"},
                            "spec": {
                                "parentRefs": [
                                    {"name": "shop-gw", "namespace": demo.name, "sectionName": s}
                                    for s in ("tenants", "https")
                                ],
                                "rules": [
                                    {
                                        "backendRefs": [
                                            {"name": "shop", "namespace": demo.name, "port": 80}
                                        ]
                                    }
                                ],
                            },
                        }
                    ],
                }
            )
        )
        doc = tenant.kinspect_json("audit", "-A")
        mine = [f for f in doc["findings"] if f["namespace"] == tenant.name]
        got = sorted((f["check"], f["message"].split(":")[1].strip()) for f in mine)
        # The https listener admits routes of its own namespace only; the Selector one admits
        # the tenant, whose cross-namespace ref has no ReferenceGrant yet.
        assert ("gateway-route-not-attached", "NotAllowedByListeners") in got
        assert any(c == "gateway-ref-not-permitted" for c, _ in got)
        demo.apply(
            json.dumps(
                {
                    "apiVersion": "gateway.networking.k8s.io/v1beta1",
                    "kind": "ReferenceGrant",
                    "metadata": {"name": f"from-{tenant.name}"},
                    "spec": {
                        "from": [
                            {
                                "group": "gateway.networking.k8s.io",
                                "kind": "HTTPRoute",
                                "namespace": tenant.name,
                            }
                        ],
                        "to": [{"group": "", "kind": "Service", "name": "shop"}],
                    },
                }
            )
        )
        # Every namespace (the route is in the tenant's): other copies of the demo share the
        # address, but only this Gateway has the tenant's route attached.
        g = demo.kinspect_json(
            "trace", "203.0.113.30:8080", "--host", "anything.example", "--path", "/x"
        )
        validate(g, "entry-trace-report.json")
        m = g["gateway"]["match"]
        assert (m["route"]["namespace"], m["listener"]["name"]) == (tenant.name, "tenants")
        (b,) = m["backendRefs"]
        assert b["reason"] is None
        assert b["servicePort"]["backends"][0]["pod"]["name"] == "shop-0"
        doc = tenant.kinspect_json("audit", "-A")
        assert not [
            f
            for f in doc["findings"]
            if f["namespace"] == tenant.name and f["check"] == "gateway-ref-not-permitted"
        ]
        demo.kubectl("delete", "referencegrant", f"from-{tenant.name}")


def test_demo_audit_has_the_gateway_findings(demo: Namespace) -> None:
    doc = demo.kinspect_json("audit", "-n", demo.name, expect=0)
    got = {(f["check"], f["service"]) for f in doc["findings"] if f["check"].startswith("gateway")}
    assert got == {
        ("gateway-backend-missing", "httproute/broken"),
        ("gateway-ref-not-permitted", "httproute/broken"),
        ("gateway-route-not-attached", "httproute/elsewhere"),
        ("gateway-listener-unused", "gateway/shop-gw"),
    }


def test_map_ips_and_explain_show_the_entry_points(demo: Namespace) -> None:
    text = demo.kinspect("map", "-n", demo.name).stdout
    assert "← httproute store store.example.net path /api PathPrefix 90%" in text
    assert "← grpcroute orders grpc.example.net gRPC /shop.Orders/Get Exact" in text
    assert "← ingress shop shop.example.com/api" in text
    doc = demo.kinspect_json("map", "-n", demo.name)
    validate(doc, "chain-report.json")
    store = [
        e for e in doc["entrypoints"] if e["name"] == "store" and "/api PathPrefix" in e["path"]
    ]
    assert {(e["service"], e["weight"]) for e in store} == {
        (f"{demo.name}/shop", 90),
        (f"{demo.name}/web", 10),
    }
    rows = [
        ln.split()
        for ln in demo.kinspect("map", "-n", demo.name, "--entrypoints").stdout.splitlines()
    ]
    assert rows[0] == ["HOST", "PATH", "ENTRY", "VIA", "CONTROLLER", "SERVICE", "WEIGHT", "READY"]
    # No Service or node holds the demo's status addresses (issue 23): its controller is unknown.
    shop = [e for e in doc["entrypoints"] if e["kind"] == "Ingress" and e["name"] == "shop"]
    assert shop
    for e in shop:
        assert e["controller"]["unknown"] == (
            "controller unknown: no Service or node holds 203.0.113.20"
        )
    assert any(r[:2] == ["broken.example.net", "path"] and "not" in r for r in rows)
    # The legacy Ingress's class (an annotation) is defined by no IngressClass: marked (issue 23).
    legacy = [" ".join(r) for r in rows if r[:1] == ["legacy.example.com"]]
    assert legacy
    for row in legacy:
        assert (
            "class no-such-class (kubernetes.io/ingress.class annotation; no IngressClass "
            "defines it: only a controller that reads the annotation serves it)"
        ) in row
    ips = demo.kinspect_json("ips", "-n", demo.name)
    validate(ips, "ip-inventory.json")
    assert {"kind": "Gateway", "name": f"{demo.name}/shop-gw", "address": "203.0.113.30"} in ips[
        "entryAddresses"
    ]
    assert {"kind": "Ingress", "name": f"{demo.name}/shop", "address": "203.0.113.20"} in ips[
        "entryAddresses"
    ]
    assert "The hop in front of the Service" in demo.kinspect("explain", "-n", demo.name).stdout


# --- issue 24 D4: RegularExpression matches, on RE2 ------------------------------------------

_REGEX_ROUTES = """
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: re-gw}
spec:
  gatewayClassName: kinspect-re2
  listeners: [{name: http, port: 80, protocol: HTTP, hostname: re.example.net}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: hostile}
spec:
  parentRefs: [{name: re-gw}]
  rules:
    - matches: [{path: {type: RegularExpression, value: "/(a+)+$"}}]
      backendRefs: [{name: web, port: 80}]
    - matches: [{path: {type: RegularExpression, value: "/(x)\\\\1"}}]
      backendRefs: [{name: web, port: 80}]
"""


def _trace_within(ns: Namespace, url: str, seconds: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*KINSPECT, "trace", url, "-n", ns.name, *ns.cluster.kinspect_args()],
        capture_output=True,
        text=True,
        check=False,
        timeout=seconds,  # Python's re took minutes: TimeoutExpired fails the test
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
    )


def test_a_backtracking_route_pattern_cannot_hang_a_trace(ns: Namespace) -> None:
    ns.apply(_REGEX_ROUTES)
    route = ns.get("httproute", "hostile")
    assert route["spec"]["rules"][1]["matches"][0]["path"]["value"] == "/(x)\\1"
    proc = _trace_within(ns, "http://re.example.net/" + "a" * 64 + "!", 60)
    assert proc.returncode == 6, proc.stderr  # no route matches: NOT_FOUND
    assert "no attached route matches" in proc.stdout + proc.stderr
    proc = _trace_within(ns, "http://re.example.net/" + "a" * 64, 60)
    assert proc.returncode == 0, proc.stderr
    assert "hostile" in proc.stdout


def test_a_route_pattern_re2_refuses_matches_nothing_and_is_named(ns: Namespace) -> None:
    # `/(x)\1` is a backreference: Python's re matched /xx with it; RE2 (Envoy's) refuses it.
    ns.apply(_REGEX_ROUTES)
    proc = _trace_within(ns, "http://re.example.net/xx", 60)
    assert proc.returncode == 6, proc.stdout + proc.stderr
    warning = (
        f"warning: HTTPRoute {ns.name}/hostile rule 2: path '/(x)\\1' is not valid RE2 "
        "(invalid escape sequence: \\1): it matches no request\n"
    )
    assert warning in proc.stderr, proc.stderr
