"""Paged LISTs of one kind in a `Scope`, decoded and converted; all pods, by namespace when big.

Pages are fetched one ahead of decoding; a list small enough is read again in one response
(`Connection.unpaged_max`); a 410 on a continue page reads that list again whole; a page that
does not decode as expected is decoded item by item, skipping (with a warning) the items that
do not fit (docs/reliability.md).
"""

from __future__ import annotations

import functools
import re
import typing
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

import msgspec

from kinspect.model import values as model
from kinspect.model.errors import KinspectError, ServerError, UsageError
from kinspect.path.plan import PodQuery, is_namespace_name
from kinspect.wire import kinds, raw
from kinspect.wire.connection import Connection
from kinspect.wire.transport import Body, Expired, fetch_page, threads
from kinspect.wire.untrusted import TOO_DEEP, one_line

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

W = TypeVar("W")
V = TypeVar("V", bound=model.Value)


@dataclass(frozen=True)
class Scope:
    """What to read: one namespace (or all), optionally one service or a label selector."""

    namespace: str | None  # None: all namespaces
    service: str | None = None
    selector: str | None = None  # label selector on services


@functools.cache
def item_type(list_type: type[Any]) -> Any:
    """The item type of a list struct (raw.PodList → raw.Pod), from its `items` annotation."""
    items = typing.get_type_hints(list_type)["items"]  # list[X] | None
    listed = next(a for a in typing.get_args(items) if a is not type(None))
    return typing.get_args(listed)[0]


class _LoosePage(msgspec.Struct):
    items: list[msgspec.Raw] | None = None
    metadata: raw.ListMeta = msgspec.field(default_factory=raw.ListMeta)


class _IdentMeta(msgspec.Struct):
    name: Any = None
    namespace: Any = None


class _Ident(msgspec.Struct):
    metadata: Any = None


def _ident(item: msgspec.Raw, index: int) -> str:
    """How a warning names an item: namespace/name when it has them, else its index."""
    try:
        meta = msgspec.convert(msgspec.json.decode(item, type=_Ident).metadata, _IdentMeta)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return f"item {index}"
    parts = [p for p in (meta.namespace, meta.name) if isinstance(p, str) and p]
    return (
        one_line("/".join(parts), 120)
        if isinstance(meta.name, str) and parts
        else (f"item {index}")
    )


def decode_page(conn: Connection, decoder: msgspec.json.Decoder[Any], body: Body, what: str) -> Any:
    """A page decoded by `decoder`; items that do not fit are skipped with a warning each.

    The fast path decodes the whole page at once. Only when that fails are the items decoded
    one by one (docs/architecture.md, "What the decoder tolerates").
    """
    try:
        page = decoder.decode(body)
    except msgspec.ValidationError:
        page = _decode_items(conn, decoder.type, body, what)
    except msgspec.DecodeError:
        raise _malformed(conn, what, "not JSON, or cut short") from None
    except RecursionError:  # the items cannot be told apart either: the page is refused
        raise _malformed(conn, what, TOO_DEEP) from None
    if page.items is None and page.metadata.continue_:
        conn.warn(
            f"the API server sent a page of {what} with no items but more to come; "
            "that page's objects are missing"
        )
    return page


def _decode_items(conn: Connection, list_type: Any, body: Body, what: str) -> Any:
    try:
        loose = msgspec.json.decode(body, type=_LoosePage)
    except msgspec.ValidationError as e:
        raise _malformed(conn, what, f"not a list: {one_line(str(e), 120)}") from None
    except RecursionError:
        raise _malformed(conn, what, TOO_DEEP) from None
    item_decoder = msgspec.json.Decoder(item_type(list_type))
    items = []
    for i, item in enumerate(loose.items or ()):
        try:
            items.append(item_decoder.decode(item))
        except RecursionError:
            raise _malformed(conn, what, TOO_DEEP) from None
        except msgspec.ValidationError as e:
            conn.warn(
                f"skipped {_ident(item, i)} in {what}: the API server sent it "
                f"malformed ({one_line(str(e), 120)})"
            )
    return list_type(items=items, metadata=loose.metadata)


def _malformed(conn: Connection, what: str, why: str) -> ServerError:
    return ServerError(
        f"the API server {conn.server} sent a malformed response for {what} ({why})",
        "the API server or a proxy in front of it failed, not kinspect: retry, or check them",
    )


def list_pages(
    conn: Connection,
    path: str,
    kind: type[kinds.Page[W]],
    resource: str,
    scope: str,
    start: str | None = None,
    *,
    paged: bool = True,
    query: dict[str, str] | None = None,
    probe: bool = False,
) -> Iterator[kinds.Page[W]]:
    """Yield each decoded page of a paged LIST (limit/continue), from the `start` token if given.

    The next page is requested before this one is decoded: the API server's work on page N+1
    overlaps our decoding of page N. The continue token is read from the head of the body (the
    API server writes `metadata` before `items`), and from the decoded page when it is not there.
    Raises Expired when a continue token has expired (410).

    `probe`: ask for one item first, for the list's size only; a list small enough is then read
    whole, any other by pages from its start (a list known to be big: pods split by namespace).
    """

    def fetch(token: str | None) -> Body:
        return fetch_page(conn, path, resource, scope, token, paged=paged, **(query or {}))

    def fetch_one(_: str | None) -> Body:
        return fetch_page(conn, path, resource, scope, None, paged=True, **(query or {}), limit="1")

    def fetch_whole() -> Body:
        return fetch_page(conn, path, resource, scope, None, paged=False, **(query or {}))

    decoder = msgspec.json.Decoder(kind)
    what = f"{resource} {scope}".strip()
    # Only a list read from its start may be read again whole (UNPAGED_MAX).
    first = start is None and paged
    probe = probe and first and conn.unpaged_max > 0
    with threads(1) as ahead:
        pending: Future[Body] | None = ahead.submit(fetch_one if probe else fetch, start)
        while pending is not None:
            body = pending.result()
            token = head_continue(body)
            if first and token and _small(conn, body):
                del body
                first = False
                pending = ahead.submit(fetch_whole)
                continue
            if probe and token:
                del body  # too big to read whole: by pages, from the start
                first = probe = False
                pending = ahead.submit(fetch, None)
                continue
            first = probe = False
            pending = ahead.submit(fetch, token) if token else None
            page = decode_page(conn, decoder, body, what)
            del body
            if pending is None and page.metadata.continue_:
                pending = ahead.submit(fetch, page.metadata.continue_)
            yield page


_CONTINUE = b'"continue":"'


_REMAINING = re.compile(rb'"remainingItemCount":(\d+)')


def _small(conn: Connection, body: Body) -> bool:
    """Whether the list whose first page is `body` is small enough to read again whole.

    The count is in the list's leading metadata, absent when selectors narrow the list (then
    it stays paged: selected lists are small, and read by their pages).
    """
    m = _REMAINING.search(_head(body))
    return m is not None and int(m.group(1)) + conn.page_size <= conn.unpaged_max


def _head(body: Body) -> Body:
    """The list's leading metadata: what comes before `items` in its first 4 KiB.

    The API server writes `metadata` (resourceVersion, continue, remainingItemCount) first.
    """
    head = body[:4096]
    items = head.find(b'"items"')
    return head if items < 0 else head[:items]


def head_continue(body: Body) -> str | None:
    """The continue token when it is in the list's leading metadata, else None."""
    head = _head(body)
    i = head.find(_CONTINUE)
    if i < 0:
        return None
    end = head.find(b'"', i + len(_CONTINUE))
    return head[i + len(_CONTINUE) : end].decode() if end > 0 else None


def where_listed(kind: kinds.Kind[Any, Any], namespace: str | None) -> tuple[str, str]:
    """The LIST path of `kind` in one namespace or all, and how messages name that scope."""
    if not kind.namespaced:
        return f"{kind.group}/{kind.plural}", "(cluster-wide)"
    if namespace is None:
        return f"{kind.group}/{kind.plural}", "in all namespaces"
    if not is_namespace_name(namespace):
        # Never part of a path: "a/b" is another resource (404), ".." every namespace's list.
        # Cluster data (an endpoint's targetRef) is filtered before this (path.plan); what
        # arrives here came from -n, --from or the kubeconfig.
        raise UsageError(
            f"{one_line(repr(namespace))} is not a namespace name",
            "a namespace name is lowercase letters, digits and '-', at most 63 (kubectl get ns)",
        )
    ns = quote(namespace, safe="")
    return f"{kind.group}/namespaces/{ns}/{kind.plural}", f"in namespace {namespace}"


def selectors(kind: kinds.Kind[Any, Any], scope: Scope) -> dict[str, str]:
    """The server-side selectors by which `scope` narrows a LIST of `kind`."""
    terms: dict[str, list[str]] = {}
    if kind.by_service and scope.service:
        terms.setdefault(kind.by_service.param, []).append(f"{kind.by_service.key}={scope.service}")
    if kind.by_selector and scope.selector:
        terms.setdefault("labelSelector", []).append(scope.selector)
    if kind.by_namespace and scope.namespace is not None:
        match = kind.by_namespace
        terms.setdefault(match.param, []).append(f"{match.key}={scope.namespace}")
    return {param: ",".join(t) for param, t in terms.items()}


def _values(kind: kinds.Kind[W, V], pages: Iterable[kinds.Page[W]]) -> list[V]:
    """The domain values of every item of `pages`, by the kind's converter."""
    out: list[V] = []
    for page in pages:
        for item in page.items or ():
            value = kind.convert(item)
            if value is None:
                continue
            if isinstance(value, model.Value):
                out.append(value)
            else:
                out.extend(value)
    return out


def read_kind(
    conn: Connection,
    kind: kinds.Kind[W, V],
    scope: Scope,
    probe: bool = False,
    record: bool = True,
    **query: str,
) -> list[V]:
    """Every `kind` in scope, narrowed as its registry entry says; `query` adds selectors.

    `probe`: the list is likely big; its size is asked first (`list_pages`). `record=False`:
    its resourceVersion is not kept for --watch (a kind no watch follows, whose plural may be
    another group's: Calico's and Antrea's `networkpolicies`).
    """
    path, where = where_listed(kind, scope.namespace)
    query = selectors(kind, scope) | query
    listed = (kind.plural, scope.namespace if kind.namespaced else None) if record else None
    try:
        pages = list_pages(conn, path, kind.list_type, kind.plural, where, query=query, probe=probe)
        return _values(kind, _recorded(conn, listed, pages))
    except Expired:
        _expired(conn, kind.plural, where)
        pages = list_pages(conn, path, kind.list_type, kind.plural, where, paged=False, query=query)
        return _values(kind, _recorded(conn, listed, pages))


def _recorded(
    conn: Connection, listed: tuple[str, str | None] | None, pages: Iterable[kinds.Page[W]]
) -> Iterator[kinds.Page[W]]:
    """`pages`, the list's resourceVersion (on its first page) kept when the caller asked."""
    first = True
    for page in pages:
        if (
            first
            and listed is not None
            and conn.list_versions is not None
            and page.metadata.resourceVersion
        ):
            conn.list_versions[listed] = page.metadata.resourceVersion
        first = False
        yield page


def _expired(conn: Connection, resource: str, where: str) -> None:
    # client-go's pager does the same (FullListIfExpired): one LIST without a limit.
    conn.warn(
        f"the paged list of {resource} {where} expired on the API server (410); read it again whole"
    )


def read_pods(
    conn: Connection,
    namespace: str | None,
    namespaces: Callable[[], Iterable[str]] | None = None,
) -> list[model.Pod]:
    """Pods of one namespace, or of all, in the API server's key order (namespace/name).

    `namespaces`: the names of all namespaces, for reading pods namespace by namespace, when
    the caller reads them anyway; by default they are listed here, when needed.
    """
    if namespace is not None:
        return read_pod_query(conn, PodQuery(namespace))
    pods_kind = kinds.PODS
    path, where = where_listed(pods_kind, None)
    body = fetch_page(conn, path, pods_kind.plural, where, None)
    if head_continue(body) and _small(conn, body):
        del body
        whole = list_pages(conn, path, pods_kind.list_type, pods_kind.plural, where, paged=False)
        return _values(pods_kind, _recorded(conn, (pods_kind.plural, None), whole))
    decoder = msgspec.json.Decoder(pods_kind.list_type)
    first = decode_page(conn, decoder, body, f"{pods_kind.plural} {where}")
    del body
    pods = _values(pods_kind, _recorded(conn, (pods_kind.plural, None), [first]))
    token = first.metadata.continue_
    if not token:
        return pods
    remaining = first.metadata.remainingItemCount
    split = _split_namespaces(conn, pods[-1].namespace, remaining, namespaces) if pods else None
    if split is None:
        pages = list_pages(conn, path, pods_kind.list_type, pods_kind.plural, where, start=token)
        try:
            return pods + _values(pods_kind, pages)
        except Expired:
            _expired(conn, pods_kind.plural, where)
            whole = list_pages(
                conn, path, pods_kind.list_type, pods_kind.plural, where, paged=False
            )
            return _values(pods_kind, _recorded(conn, (pods_kind.plural, None), whole))
    # The first page holds every pod of the namespaces before the last one it reached; that
    # one and all after it are read whole, each on its own.
    pods = [p for p in pods if p.namespace != pods[-1].namespace]
    with threads(SPLIT_WORKERS) as pool:
        # Each namespace averages two pages or more: its size is asked first (one pod).
        parts = pool.map(lambda ns: read_kind(conn, kinds.PODS, Scope(ns), probe=True), split)
        return pods + [p for part in parts for p in part]


def _split_namespaces(
    conn: Connection,
    last: str,
    remaining: int | None,
    namespaces: Callable[[], Iterable[str]] | None,
) -> list[str] | None:
    """The namespaces from `last` on, in key order, when reading each on its own pays.

    None: keep to the one paged LIST (namespaces not readable, or too few pods in each).
    """
    try:
        if namespaces is None:
            names = [n.name for n in read_kind(conn, kinds.NAMESPACES, Scope(None))]
        else:
            names = list(namespaces())
    except KinspectError:
        return None
    # etcd keys are /pods/<namespace>/<name>: "a-b/" sorts before "a/".
    after = sorted((n for n in names if n + "/" >= last + "/"), key=lambda n: n + "/")
    per_namespace = SPLIT_PAGES_PER_NAMESPACE * conn.page_size * len(after)
    if remaining is None or remaining < per_namespace:
        return None
    return after


def read_pod_query(conn: Connection, query: PodQuery) -> list[model.Pod]:
    """The pods one query selects (selectors are applied by the API server)."""
    return read_kind(
        conn,
        kinds.PODS,
        Scope(query.namespace),
        fieldSelector=query.field_selector or "",
        labelSelector=query.label_selector or "",
    )


def read_pod_queries(conn: Connection, queries: Sequence[PodQuery]) -> list[model.Pod]:
    """The pods of several queries, read concurrently, each pod once."""
    with threads(8) as pool:
        found = list(pool.map(lambda q: read_pod_query(conn, q), queries))
    unique = {p.ref: p for pods in found for p in pods}
    return list(unique.values())
