"""Pure helpers of the cluster module."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest

from kinspect import cluster
from kinspect.errors import ForbiddenError
from kinspect.model import Namespace


def test_head_continue_reads_the_token_before_items() -> None:
    body = (
        b'{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"9",'
        b'"continue":"eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ","remainingItemCount":5},"items":[]}'
    )
    assert cluster.head_continue(body) == "eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ"
    last = b'{"kind":"PodList","metadata":{"resourceVersion":"9"},"items":[{"continue":"x"}]}'
    assert cluster.head_continue(last) is None


def test_api_errors_keep_401_apart_from_403() -> None:
    conn = cluster.Connection("c", "https://127.0.0.1:6443", None, "default", 5)
    rejected = cluster._api_error(conn, 401, "", "list", "pods", "in all namespaces")
    refused = cluster._api_error(conn, 403, "", "list", "pods", "in all namespaces")
    assert isinstance(rejected, ForbiddenError)
    assert isinstance(refused, ForbiddenError)
    assert (rejected.status, refused.status) == (401, 403)
    assert refused.message == "context c may not list pods in all namespaces (403 Forbidden)"


# The walk of `cluster.snapshot` over the registry, against a fake transport: an API server
# that answers each LIST path from a table.

FORBIDDEN = (403, b'{"kind": "Status", "message": "forbidden", "reason": "Forbidden"}')
ABSENT = (404, b'{"kind": "Status", "message": "the server could not find the resource"}')


def _items(*items: dict[str, Any]) -> tuple[int, bytes]:
    return 200, json.dumps({"metadata": {}, "items": list(items)}).encode()


class _Response:
    def __init__(self, status: int, body: bytes) -> None:
        self.status = status
        self.body = body

    def read(self) -> bytes:
        return self.body


class _Api:
    """Answers GETs by path (404 for any other); records every URL it was sent."""

    def __init__(self, routes: dict[str, tuple[int, bytes]]) -> None:
        self.routes = routes
        self.urls: list[str] = []

    def param_serialize(
        self, method: str, path: str, query_params: list[tuple[str, str]], **_: Any
    ) -> tuple[str, str, dict[str, str], None, None]:
        return method, f"{path}?{urlencode(query_params)}", {}, None, None

    def call_api(self, method: str, url: str, **_: Any) -> _Response:
        self.urls.append(url)
        return _Response(*self.routes.get(url.partition("?")[0], ABSENT))

    def queries(self, path: str) -> list[dict[str, str]]:
        """The query of each request sent to `path`, without the page size."""
        out = []
        for url in self.urls:
            p, _, q = url.partition("?")
            if p == path:
                out.append({k: v for k, v in parse_qsl(q) if k != "limit"})
        return out


def _conn(api: _Api) -> cluster.Connection:
    return cluster.Connection("c", "https://127.0.0.1:6443", api, "home", 5)


NODE = {
    "metadata": {"name": "n0"},
    "status": {"addresses": [{"type": "InternalIP", "address": "192.0.2.10"}]},
}
SERVICE = {
    "metadata": {"name": "web", "namespace": "shop"},
    "spec": {"clusterIP": "10.96.0.10", "ports": [{"port": 80, "targetPort": 8080}]},
}
POD = {"metadata": {"name": "web-0", "namespace": "shop"}, "status": {"podIP": "10.244.0.5"}}
SLICE = {
    "metadata": {
        "name": "web-x",
        "namespace": "shop",
        "labels": {"kubernetes.io/service-name": "web"},
    },
    "endpoints": [{"addresses": ["10.244.0.5"]}],
    "ports": [{"port": 8080}],
}
ENDPOINTS = {
    "metadata": {"name": "web", "namespace": "shop"},
    "subsets": [{"addresses": [{"ip": "10.244.0.5"}], "ports": [{"port": 8080}]}],
}
NAMESPACE = {"metadata": {"name": "shop", "labels": {"team": "payments"}}}

CLUSTER_WIDE = {
    "/api/v1/nodes": _items(NODE),
    "/api/v1/services": _items(SERVICE),
    "/api/v1/pods": _items(POD),
    "/apis/discovery.k8s.io/v1/endpointslices": _items(SLICE),
    "/api/v1/endpoints": _items(ENDPOINTS),
    "/api/v1/namespaces": _items(NAMESPACE),
}


def _in_namespace(ns: str, *plurals: str) -> dict[str, tuple[int, bytes]]:
    bodies: dict[str, dict[str, Any]] = {
        "services": SERVICE,
        "pods": POD,
        "endpoints": ENDPOINTS,
        "endpointslices": SLICE,
    }
    return {
        f"{'/apis/discovery.k8s.io/v1' if p == 'endpointslices' else '/api/v1'}"
        f"/namespaces/{ns}/{p}": _items(bodies[p])
        for p in plurals
    }


def test_snapshot_fills_every_field_from_its_kind() -> None:
    api = _Api(CLUSTER_WIDE)
    snap = cluster.snapshot(_conn(api), cluster.Scope(None), with_legacy_endpoints=True)
    assert [n.name for n in snap.nodes] == ["n0"]
    assert [s.name for s in snap.services] == ["web"]
    assert [p.name for p in snap.pods] == ["web-0"]
    assert [g.name for g in snap.endpoint_groups] == ["web-x"]
    assert [g.name for g in snap.legacy_endpoint_groups] == ["web[0]"]
    assert snap.namespaces == (Namespace("shop", {"team": "payments"}),)
    assert (snap.endpoint_source, snap.warnings, snap.context) == ("EndpointSlice", (), "c")


def test_namespace_reader_gets_the_same_warnings_and_none_for_namespaces() -> None:
    routes = {
        **_in_namespace("shop", "services", "pods", "endpoints"),
        "/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices": FORBIDDEN,
        "/api/v1/nodes": FORBIDDEN,
        "/api/v1/namespaces": FORBIDDEN,
    }
    snap = cluster.snapshot(_conn(_Api(routes)), cluster.Scope("shop"))
    assert snap.warnings == (
        "context c may not list endpointslices in namespace shop (403 Forbidden); "
        "read core/v1 Endpoints instead",
        "context c may not list nodes (cluster-wide) (403 Forbidden); "
        "NodePort frontends are unknown",
    )
    assert snap.endpoint_source == "Endpoints"
    assert [g.name for g in snap.endpoint_groups] == ["web[0]"]
    assert (snap.nodes, snap.namespaces, snap.legacy_endpoint_groups) == ((), (), ())


def test_endpoints_read_beside_absent_slices_are_reused_not_read_again() -> None:
    routes = {**CLUSTER_WIDE, "/apis/discovery.k8s.io/v1/endpointslices": ABSENT}
    api = _Api(routes)
    snap = cluster.snapshot(_conn(api), cluster.Scope(None), with_legacy_endpoints=True)
    assert snap.warnings == (
        "endpointslices in all namespaces not found on https://127.0.0.1:6443; "
        "read core/v1 Endpoints instead",
    )
    assert [g.name for g in snap.endpoint_groups] == ["web[0]"]
    assert (snap.endpoint_source, snap.legacy_endpoint_groups) == ("Endpoints", ())
    assert len(api.queries("/api/v1/endpoints")) == 1


def test_refused_legacy_endpoints_are_a_warning_and_refused_fallback_an_error() -> None:
    both = {**CLUSTER_WIDE, "/api/v1/endpoints": FORBIDDEN}
    snap = cluster.snapshot(_conn(_Api(both)), cluster.Scope(None), with_legacy_endpoints=True)
    assert snap.warnings == (
        "context c may not list endpoints in all namespaces (403 Forbidden); "
        "EndpointSlices and Endpoints not compared",
    )
    neither = {**both, "/apis/discovery.k8s.io/v1/endpointslices": FORBIDDEN}
    with pytest.raises(ForbiddenError, match="may not list endpoints in all namespaces"):
        cluster.snapshot(_conn(_Api(neither)), cluster.Scope(None))


def test_required_kinds_fail_the_read_first_in_registry_order() -> None:
    routes = {**CLUSTER_WIDE, "/api/v1/services": FORBIDDEN, "/api/v1/pods": FORBIDDEN}
    with pytest.raises(ForbiddenError, match="may not list services in all namespaces"):
        cluster.snapshot(_conn(_Api(routes)), cluster.Scope(None))


def test_scope_narrows_each_kind_as_its_entry_says() -> None:
    routes = {
        **_in_namespace("shop", "services", "pods", "endpoints", "endpointslices"),
        "/api/v1/nodes": _items(NODE),
        "/api/v1/namespaces": _items(NAMESPACE),
    }
    api = _Api(routes)
    scope = cluster.Scope("shop", service="web", selector="tier=front")
    cluster.snapshot(_conn(api), scope, with_legacy_endpoints=True)
    assert api.queries("/api/v1/namespaces/shop/services") == [
        {"fieldSelector": "metadata.name=web", "labelSelector": "tier=front"}
    ]
    assert api.queries("/api/v1/namespaces/shop/endpoints") == [
        {"fieldSelector": "metadata.name=web"}
    ]
    assert api.queries("/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices") == [
        {"labelSelector": "kubernetes.io/service-name=web"}
    ]
    assert api.queries("/api/v1/namespaces/shop/pods") == [{}]
    assert api.queries("/api/v1/nodes") == [{}]
    assert api.queries("/api/v1/namespaces") == [{"fieldSelector": "metadata.name=shop"}]


def test_refused_cluster_wide_read_is_narrowed_on_403_but_not_on_401() -> None:
    routes = {
        **CLUSTER_WIDE,
        "/api/v1/services": FORBIDDEN,
        **_in_namespace("home", "services", "pods", "endpointslices"),
    }
    snap = cluster.snapshot(_conn(_Api(routes)), cluster.Scope(None), narrow_when_forbidden=True)
    assert snap.warnings == (
        "context c may not list services in all namespaces (403 Forbidden); "
        "read namespace home only",
    )
    assert [s.name for s in snap.services] == ["web"]
    rejected = {**routes, "/api/v1/services": (401, b"{}")}
    with pytest.raises(ForbiddenError, match="rejected the credentials"):
        cluster.snapshot(_conn(_Api(rejected)), cluster.Scope(None), narrow_when_forbidden=True)


def test_pods_of_all_namespaces_are_split_by_the_snapshots_own_namespace_read() -> None:
    def pod(ns: str, name: str) -> dict[str, Any]:
        return {"metadata": {"name": name, "namespace": ns}}

    first = {"metadata": {"continue": "t", "remainingItemCount": 10}, "items": [pod("a", "a0")]}
    routes = {
        **CLUSTER_WIDE,
        "/api/v1/pods": (200, json.dumps(first).encode()),
        "/api/v1/namespaces": _items({"metadata": {"name": "a"}}, {"metadata": {"name": "b"}}),
        "/api/v1/namespaces/a/pods": _items(pod("a", "a0"), pod("a", "a1")),
        "/api/v1/namespaces/b/pods": _items(pod("b", "b0")),
    }
    api = _Api(routes)
    conn = cluster.Connection("c", "https://127.0.0.1:6443", api, "home", 5, page_size=1)
    snap = cluster.snapshot(conn, cluster.Scope(None))
    assert [p.name for p in snap.pods] == ["a0", "a1", "b0"]
    assert [n.name for n in snap.namespaces] == ["a", "b"]
    assert len(api.queries("/api/v1/namespaces")) == 1
