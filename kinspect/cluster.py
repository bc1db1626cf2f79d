"""The only module that imports `kubernetes`: config loading, paged raw LISTs, error mapping.

Lists are plain GETs through the client's `ApiClient` (kubeconfig, TLS, tokens, exec plugins),
read as raw bytes and decoded by msgspec straight into the lean structs of `kinspect.raw`: the
client's generated API classes and model classes are never used (on 100k pods the models cost
minutes and gigabytes; importing `CoreV1Api` alone costs 0.6 s). Only LISTs (HTTP GET) are ever
sent. Every client exception is translated here into a `KinspectError`; an `ApiException`
string carries HTTP headers and bodies and must never reach a user.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

import kubernetes.client as k8s
import kubernetes.config as k8s_config
import msgspec
import urllib3
import yaml
from kubernetes.client.rest import ApiException
from kubernetes.config.config_exception import ConfigException

from kinspect import __version__, convert, model, raw
from kinspect.errors import (
    ConfigError,
    ForbiddenError,
    KinspectError,
    NotFoundError,
    UnreachableError,
)

# 500 is kubectl's page size; larger pages cut round trips on big clusters, while keeping
# each response (and the server's memory for it) bounded.
PAGE_SIZE = 1000
# Pods of all namespaces are read namespace by namespace, several at once, when the namespaces
# still to read average at least this many pages of pods each. One paged LIST is one stream
# that the API server encodes on one core, and on a cluster whose pods have not changed since
# etcd's last compaction every page after the first is served from etcd instead of the watch
# cache (no cache snapshot is old enough: kubernetes/kubernetes#132132, KEP-4988), at about
# twice the server's CPU. Each namespace's first page comes from the cache, and parallel
# streams use every core. With fewer pods per namespace, the per-namespace requests
# (a few ms each) would cost more than they save. docs/performance.md has the measurements.
SPLIT_PAGES_PER_NAMESPACE = 2
SPLIT_WORKERS = 4

L = TypeVar(
    "L",
    raw.NodeList,
    raw.PodList,
    raw.ServiceList,
    raw.EndpointSliceList,
    raw.EndpointsList,
    raw.NamespaceList,
)


# What a broken kubeconfig can raise while being parsed or loaded.
_CONFIG_ERRORS = (ConfigException, OSError, ValueError, TypeError, KeyError, yaml.YAMLError)


@dataclass(frozen=True)
class Scope:
    """What to read: one namespace (or all), optionally one service or a label selector."""

    namespace: str | None  # None: all namespaces
    service: str | None = None
    selector: str | None = None  # label selector on services


@dataclass
class Connection:
    context: str
    server: str
    api: k8s.ApiClient
    default_namespace: str
    timeout: float
    page_size: int = PAGE_SIZE  # 0: no paging (one response per LIST)


def contexts(kubeconfig: str | None) -> tuple[dict[str, str], str | None]:
    """The contexts of a kubeconfig (name → default namespace) and the current one."""
    paths = (kubeconfig or os.path.expanduser(k8s_config.KUBE_CONFIG_DEFAULT_LOCATION)).split(":")
    if not any(os.path.isfile(p) for p in paths if p):
        raise _config_error(kubeconfig, FileNotFoundError())
    try:
        ctxs, current = k8s_config.list_kube_config_contexts(config_file=kubeconfig)
    except _CONFIG_ERRORS as e:
        raise _config_error(kubeconfig, e) from None
    names = {c["name"]: (c.get("context") or {}).get("namespace") or "default" for c in ctxs or ()}
    return names, (current or {}).get("name")


def _config_error(kubeconfig: str | None, e: BaseException) -> ConfigError:
    where = kubeconfig or "~/.kube/config"
    if isinstance(e, FileNotFoundError):
        return ConfigError(
            f"no kubeconfig found at {where}",
            "pass --kubeconfig FILE, set KUBECONFIG, or run inside a pod",
        )
    # Never echo the exception: parsers quote the offending text, which may hold a token.
    return ConfigError(
        f"cannot use kubeconfig {where}: {type(e).__name__}",
        "check the file with `kubectl config view` or pass another --kubeconfig",
    )


def connect(
    kubeconfig: str | None,
    context: str | None,
    timeout: float,
    in_cluster: bool = False,
    page_size: int = PAGE_SIZE,
) -> Connection:
    """Load credentials for `context` (or the current one, or in-cluster config)."""
    cfg = k8s.Configuration()
    if in_cluster:
        try:
            k8s_config.load_incluster_config(client_configuration=cfg)
        except ConfigException:
            raise ConfigError(
                "no in-cluster service account found",
                "run inside a pod, or pass --kubeconfig/--context",
            ) from None
        name, ns = "in-cluster", _incluster_namespace()
    else:
        names, current = contexts(kubeconfig)
        chosen = context or current
        if not chosen:
            raise ConfigError("the kubeconfig has no current context", "pass --context NAME")
        name = chosen
        if name not in names:
            shown = ", ".join(list(names)[:8]) or "none"
            raise ConfigError(
                f"context {name!r} not found in the kubeconfig",
                f"use one of: {shown}",
            )
        try:
            k8s_config.load_kube_config(
                config_file=kubeconfig,
                context=name,
                client_configuration=cfg,
                persist_config=False,
            )
        except _CONFIG_ERRORS as e:
            raise _config_error(kubeconfig, e) from None
        ns = names[name]
    # Fail fast on a dead server instead of urllib3's three silent retries.
    cfg.retries = False
    # Up to 5 LISTs and 4 namespaces' pods at once, each with its next page in flight: the
    # default pool (5 per core) would drop and reopen connections, with a logged warning.
    cfg.connection_pool_maxsize = 32
    api = k8s.ApiClient(cfg)
    # Named in the API server's audit log, which the e2e suite reads to prove we only read.
    api.user_agent = f"kinspect/{__version__}"
    return Connection(name, cfg.host, api, ns, timeout, page_size)


def _incluster_namespace() -> str:
    try:
        with open("/var/run/secrets/kubernetes.io/serviceaccount/namespace") as f:
            return f.read().strip() or "default"
    except OSError:
        return "default"


@contextmanager
def _translate(conn: Connection, verb: str, resource: str, scope: str) -> Iterator[None]:
    """Map client and transport exceptions to one-line KinspectErrors (no headers, no bodies)."""
    try:
        yield
    except ApiException as e:
        # Status 0: no HTTP response. The client's REST layer wraps urllib3's SSLError so.
        if not e.status and str(e.reason).startswith("SSLError"):
            raise _tls_error(conn) from None
        raise _api_error(conn, e.status, _status_message(e.body), verb, resource, scope) from None
    except urllib3.exceptions.SSLError:
        raise _tls_error(conn) from None
    except (urllib3.exceptions.HTTPError, OSError) as e:
        what = "timed out" if "timed out" in str(e).lower() else "is unreachable"
        raise UnreachableError(
            f"the API server {conn.server} of context {conn.context} {what}",
            "check that the cluster is running and reachable, or raise --request-timeout",
        ) from None


def _tls_error(conn: Connection) -> UnreachableError:
    return UnreachableError(
        f"TLS handshake with {conn.server} failed (context {conn.context})",
        "check the cluster's CA in the kubeconfig",
    )


def _status_message(body: Any) -> str:
    try:
        return msgspec.json.decode(body or b"{}", type=raw.Status).message
    except (msgspec.DecodeError, TypeError):
        return ""


def _api_error(
    conn: Connection, status: int, msg: str, verb: str, resource: str, scope: str
) -> KinspectError:
    if status == 401:
        return ForbiddenError(
            f"the API server rejected the credentials of context {conn.context} (401)",
            "refresh the token or client certificate in the kubeconfig",
            status=401,
        )
    if status == 403:
        return ForbiddenError(
            f"context {conn.context} may not {verb} {resource} {scope} (403 Forbidden)",
            "ask for get/list on it (see deploy/rbac.yaml), or narrow the scope with -n NAMESPACE",
        )
    if status == 404:
        return NotFoundError(f"{resource} {scope} not found on {conn.server}", msg)
    return KinspectError(f"{verb} {resource} {scope} failed with HTTP {status}: {msg}"[:300])


def fetch_page(
    conn: Connection, path: str, resource: str, scope: str, token: str | None, **query: str
) -> bytes:
    """One page of a LIST at `path`, raw.

    A plain GET through the client's transport and authentication (bearer tokens, exec
    plugins, client certificates) rather than the generated API classes: importing
    `CoreV1Api` alone takes 0.6 s, and each of its calls validates its arguments first.
    """
    params = [(k, v) for k, v in query.items() if v]
    if conn.page_size:
        params.append(("limit", str(conn.page_size)))
    if token:
        params.append(("continue", token))
    with _translate(conn, "list", resource, scope):
        method, url, headers, _, _ = conn.api.param_serialize(
            "GET",
            path,
            query_params=params,
            header_params={"Accept": "application/json"},
            auth_settings=["BearerToken"],
        )
        resp = conn.api.call_api(method, url, header_params=headers, _request_timeout=conn.timeout)
        data: bytes = resp.read()
    if not 200 <= resp.status <= 299:
        raise _api_error(conn, resp.status, _status_message(data), "list", resource, scope)
    return data


def _list(
    conn: Connection,
    path: str,
    kind: type[L],
    resource: str,
    scope: str,
    start: str | None = None,
    **query: str,
) -> Iterator[L]:
    """Yield each decoded page of a paged LIST (limit/continue), from the `start` token if given.

    The next page is requested before this one is decoded: the API server's work on page N+1
    overlaps our decoding of page N. The continue token is read from the head of the body (the
    API server writes `metadata` before `items`), and from the decoded page when it is not there.
    """

    def fetch(token: str | None) -> bytes:
        return fetch_page(conn, path, resource, scope, token, **query)

    decoder = msgspec.json.Decoder(kind)
    with ThreadPoolExecutor(max_workers=1) as ahead:
        pending: Future[bytes] | None = ahead.submit(fetch, start)
        while pending is not None:
            body = pending.result()
            token = head_continue(body)
            pending = ahead.submit(fetch, token) if token else None
            page = decoder.decode(body)
            del body
            if pending is None and page.metadata.continue_:
                pending = ahead.submit(fetch, page.metadata.continue_)
            yield page


_CONTINUE = b'"continue":"'


def head_continue(body: bytes) -> str | None:
    """The continue token when it is in the list's leading metadata, else None."""
    head = body[:4096]
    items = head.find(b'"items"')
    i = head.find(_CONTINUE, 0, items if items >= 0 else len(head))
    if i < 0:
        return None
    end = head.find(b'"', i + len(_CONTINUE))
    return head[i + len(_CONTINUE) : end].decode() if end > 0 else None


CORE, DISCOVERY = "/api/v1", "/apis/discovery.k8s.io/v1"


def _scoped(group: str, plural: str, namespace: str | None) -> tuple[str, str]:
    """The LIST path of `plural` in one namespace or all, and how messages name that scope."""
    if namespace is None:
        return f"{group}/{plural}", "in all namespaces"
    return f"{group}/namespaces/{quote(namespace, safe='')}/{plural}", f"in namespace {namespace}"


def read_nodes(conn: Connection) -> list[model.Node]:
    """All nodes (cluster-scoped)."""
    pages = _list(conn, f"{CORE}/nodes", raw.NodeList, "nodes", "(cluster-wide)")
    return [convert.node(n) for page in pages for n in page.items or ()]


def read_pods(conn: Connection, namespace: str | None) -> list[model.Pod]:
    """Pods of one namespace, or of all, in the API server's key order (namespace/name)."""
    if namespace is not None:
        return read_pod_query(conn, model.PodQuery(namespace))
    path, where = _scoped(CORE, "pods", None)
    first = msgspec.json.decode(fetch_page(conn, path, "pods", where, None), type=raw.PodList)
    pods = [convert.pod(p) for p in first.items or ()]
    token = first.metadata.continue_
    if not token:
        return pods
    remaining = first.metadata.remainingItemCount
    split = _split_namespaces(conn, pods[-1].namespace, remaining) if pods else None
    if split is None:
        pages = _list(conn, path, raw.PodList, "pods", where, start=token)
        return pods + [convert.pod(p) for page in pages for p in page.items or ()]
    # The first page holds every pod of the namespaces before the last one it reached; that
    # one and all after it are read whole, each on its own.
    pods = [p for p in pods if p.namespace != pods[-1].namespace]
    with ThreadPoolExecutor(max_workers=SPLIT_WORKERS) as pool:
        parts = pool.map(lambda ns: read_pod_query(conn, model.PodQuery(ns)), split)
        return pods + [p for part in parts for p in part]


def _split_namespaces(conn: Connection, last: str, remaining: int | None) -> list[str] | None:
    """The namespaces from `last` on, in key order, when reading each on its own pays.

    None: keep to the one paged LIST (namespaces not readable, or too few pods in each).
    """
    try:
        pages = _list(conn, f"{CORE}/namespaces", raw.NamespaceList, "namespaces", "(cluster-wide)")
        names = [ns.metadata.name for page in pages for ns in page.items or ()]
    except KinspectError:
        return None
    # etcd keys are /pods/<namespace>/<name>: "a-b/" sorts before "a/".
    after = sorted((n for n in names if n + "/" >= last + "/"), key=lambda n: n + "/")
    per_namespace = SPLIT_PAGES_PER_NAMESPACE * conn.page_size * len(after)
    if remaining is None or remaining < per_namespace:
        return None
    return after


def read_pod_query(conn: Connection, query: model.PodQuery) -> list[model.Pod]:
    """The pods one query selects (selectors are applied by the API server)."""
    path, where = _scoped(CORE, "pods", query.namespace)
    pages = _list(
        conn,
        path,
        raw.PodList,
        "pods",
        where,
        fieldSelector=query.field_selector or "",
        labelSelector=query.label_selector or "",
    )
    return [convert.pod(p) for page in pages for p in page.items or ()]


def read_pod_queries(conn: Connection, queries: Sequence[model.PodQuery]) -> list[model.Pod]:
    """The pods of several queries, read concurrently, each pod once."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        found = list(pool.map(lambda q: read_pod_query(conn, q), queries))
    unique = {p.ref: p for pods in found for p in pods}
    return list(unique.values())


def read_services(conn: Connection, scope: Scope) -> list[model.Service]:
    """Services in scope, optionally one by name or by label selector."""
    path, where = _scoped(CORE, "services", scope.namespace)
    pages = _list(
        conn,
        path,
        raw.ServiceList,
        "services",
        where,
        fieldSelector=f"metadata.name={scope.service}" if scope.service else "",
        labelSelector=scope.selector or "",
    )
    return [convert.service(s) for page in pages for s in page.items or ()]


def read_endpoint_slices(conn: Connection, scope: Scope) -> list[model.EndpointGroup]:
    """discovery.k8s.io/v1 EndpointSlices in scope, as endpoint groups."""
    path, where = _scoped(DISCOVERY, "endpointslices", scope.namespace)
    selector = f"kubernetes.io/service-name={scope.service}" if scope.service else ""
    kind, resource = raw.EndpointSliceList, "endpointslices"
    pages = _list(conn, path, kind, resource, where, labelSelector=selector)
    out = []
    for page in pages:
        for s in page.items or ():
            g = convert.endpoint_slice(s)
            if g is not None:
                out.append(g)
    return out


def read_endpoints(conn: Connection, scope: Scope) -> list[model.EndpointGroup]:
    """Legacy core/v1 Endpoints in scope, as endpoint groups."""
    path, where = _scoped(CORE, "endpoints", scope.namespace)
    selector = f"metadata.name={scope.service}" if scope.service else ""
    pages = _list(conn, path, raw.EndpointsList, "endpoints", where, fieldSelector=selector)
    return [g for page in pages for e in page.items or () for g in convert.endpoints(e)]


def snapshot(
    conn: Connection,
    scope: Scope,
    *,
    with_legacy_endpoints: bool = False,
    narrow_when_forbidden: bool = False,
    pod_queries: Sequence[model.PodQuery] | None = None,
) -> model.Snapshot:
    """Read nodes, services, endpoint slices and pods concurrently into one Snapshot.

    Nodes are optional (namespace-scoped RBAC often forbids them): without them NodePort
    frontends are unknown and a warning says so. EndpointSlices fall back to legacy Endpoints
    when discovery.k8s.io/v1 is not served or not readable. `with_legacy_endpoints` also reads
    Endpoints beside the slices (the audit compares them). `narrow_when_forbidden`: when a
    cluster-wide read is refused, read the context's own namespace instead and say so.
    `pod_queries`: read only the pods these select instead of every pod in scope.
    """
    try:
        return _snapshot(conn, scope, with_legacy_endpoints, pod_queries)
    except ForbiddenError as e:
        if not (narrow_when_forbidden and scope.namespace is None and e.status == 403):
            raise
        narrowed = Scope(conn.default_namespace, scope.service, scope.selector)
        snap = _snapshot(conn, narrowed, with_legacy_endpoints, pod_queries)
        note = f"{e.message}; read namespace {conn.default_namespace} only"
        return msgspec.structs.replace(snap, warnings=(note, *snap.warnings))


def _snapshot(
    conn: Connection,
    scope: Scope,
    with_legacy: bool,
    pod_queries: Sequence[model.PodQuery] | None,
) -> model.Snapshot:
    warnings: list[str] = []
    with ThreadPoolExecutor(max_workers=5) as pool:
        f_nodes = pool.submit(read_nodes, conn)
        f_services = pool.submit(read_services, conn, scope)
        f_slices = pool.submit(read_endpoint_slices, conn, scope)
        f_pods = (
            pool.submit(read_pods, conn, scope.namespace)
            if pod_queries is None
            else pool.submit(read_pod_queries, conn, pod_queries)
        )
        f_legacy = pool.submit(read_endpoints, conn, scope) if with_legacy else None
        services = f_services.result()
        pods = f_pods.result()
        source: model.EndpointSource = "EndpointSlice"
        legacy: list[model.EndpointGroup] = []
        if f_legacy is not None:
            try:
                legacy = f_legacy.result()
            except (ForbiddenError, NotFoundError) as e:
                warnings.append(f"{e.message}; EndpointSlices and Endpoints not compared")
        try:
            groups = f_slices.result()
        except (ForbiddenError, NotFoundError) as e:
            warnings.append(f"{e.message}; read core/v1 Endpoints instead")
            groups, source = legacy or read_endpoints(conn, scope), "Endpoints"
        try:
            nodes = f_nodes.result()
        except ForbiddenError as e:
            warnings.append(f"{e.message}; NodePort frontends are unknown")
            nodes = []
    return model.Snapshot(
        context=conn.context,
        nodes=tuple(nodes),
        services=tuple(services),
        endpoint_groups=tuple(groups),
        pods=tuple(pods),
        endpoint_source=source,
        warnings=tuple(warnings),
        legacy_endpoint_groups=tuple(legacy) if source == "EndpointSlice" else (),
    )
