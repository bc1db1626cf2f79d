"""The only module that imports `kubernetes`: config loading, paged raw LISTs, error mapping.

What is read is declared in `kinspect.wire.kinds` (one entry per resource kind); `snapshot` walks
that registry, reading every kind concurrently into one `Snapshot`, and applies what the
entries say: optional kinds become warnings when refused, EndpointSlices fall back to legacy
Endpoints, pods are read by their own readers (namespace by namespace on big clusters, or only
the pods a trace touches).

Lists are plain GETs through the client's `ApiClient` (kubeconfig, TLS, tokens, exec plugins),
read as raw bytes and decoded by msgspec straight into the lean structs of `kinspect.wire.raw`: the
client's generated API classes and model classes are never used (on 100k pods the models cost
minutes and gigabytes; importing `CoreV1Api` alone costs 0.6 s). Only LISTs (HTTP GET) are ever
sent. Every client exception is translated here into a `KinspectError`; an `ApiException`
string carries HTTP headers and bodies and must never reach a user.

Reliability (docs/reliability.md): each GET is retried on 429/5xx and on a connection reset
before the response began, as `kinspect.wire.retry` says, all readers of a connection backing off
together; `--request-timeout` bounds each request whole, body included; a 410 on a continue
page reads that list again whole; a page that does not decode as expected is decoded item by
item, skipping (with a warning) the items that do not fit. This module never prints: the
caller passes `log` (retries, shown with -v) and `warn` (one line each) to `connect`.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import time
import typing
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote

import kubernetes.client as k8s
import kubernetes.config as k8s_config
import msgspec
import urllib3
import yaml
from kubernetes.client.rest import ApiException
from kubernetes.config.config_exception import ConfigException

from kinspect import __version__
from kinspect.model import snapshot as model_snapshot
from kinspect.model import values as model
from kinspect.model.change import Change, EventType, Field, Key
from kinspect.model.errors import (
    ConfigError,
    ForbiddenError,
    KinspectError,
    NotFoundError,
    ServerError,
    UnreachableError,
)
from kinspect.path.plan import PodQuery
from kinspect.wire import kinds, raw, retry

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
# A LIST that turns out (from its first page's remainingItemCount) to hold at most this many
# items is read again in one response, without a limit, instead of page by page: a LIST with
# no limit and no resourceVersion is a consistent read served from the API server's watch
# cache (ConsistentListFromCache), while the continue pages of a paged LIST come from etcd on
# a cluster whose objects have not changed since the last compaction (above), at about twice
# the server's CPU. The bound keeps each response, and what a server without streaming list
# encoding (before 1.33) builds in memory for it, to about 100 MB of pods; bigger lists stay
# paged (pods per namespace first). docs/performance.md has the measurements and the rule.
UNPAGED_MAX = 25_000

W = TypeVar("W")
V = TypeVar("V", bound=model.Value)


# What a broken kubeconfig can raise while being parsed or loaded.
_CONFIG_ERRORS = (ConfigException, OSError, ValueError, TypeError, KeyError, yaml.YAMLError)


@dataclass(frozen=True)
class Scope:
    """What to read: one namespace (or all), optionally one service or a label selector."""

    namespace: str | None  # None: all namespaces
    service: str | None = None
    selector: str | None = None  # label selector on services


def _quiet(_: str) -> None:
    pass


@dataclass
class Connection:
    context: str
    server: str
    api: k8s.ApiClient
    default_namespace: str
    timeout: float  # seconds for each request, from sending it to its body's last byte
    page_size: int = PAGE_SIZE  # 0: no paging (one response per LIST)
    log: Callable[[str], None] = _quiet  # retries and restarts, for -v
    warn: Callable[[str], None] = _quiet  # one line each: data skipped or read again
    # Shared by every reader of this connection: one told to back off holds them all.
    gate: retry.Gate = field(default_factory=retry.Gate)
    # The server has answered once: a refused connection now means it is restarting.
    answered: bool = False
    # Lists of at most this many items are read whole (UNPAGED_MAX); 0: always by pages.
    unpaged_max: int = UNPAGED_MAX
    # When set (--watch), the resourceVersion of every LIST read, by (resource, namespace or
    # None): a watch starts from it.
    list_versions: dict[tuple[str, str | None], str] | None = None
    # Ask for gzip-compressed LIST responses (the API server compresses those over 128 KiB),
    # as kubectl does. It pays even on loopback: at 100k pods `map` reads 29 MB instead of
    # 443 MB, and TLS and socket reads of the plain body cost more than inflating it
    # (docs/performance.md, "gzip"). KINSPECT_GZIP=0 turns it off.
    gzip: bool = True


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


class _ClientLog(logging.Handler):
    """Keeps the kubernetes client's root-logger messages off stderr.

    It also keeps the exec credential plugin's failure (which the client logs and swallows)
    for `connect` to report.
    """

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.exec_failure: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage() if record.name == "root" else ""
        if msg.startswith("exec:") and self.exec_failure is None:
            self.exec_failure = msg


def _plugin_error(context: str, failure: str) -> ConfigError:
    """The exec plugin's failure, as its exit code and the first line of its stderr."""
    head, _, stderr = failure.partition(". ")
    if head.startswith("exec: process returned "):
        code = head.removeprefix("exec: process returned ")
        line = one_line(stderr.strip().splitlines()[0]) if stderr.strip() else ""
        what = f"exited {code}" + (f": {line}" if line else "")
    else:
        # Its output did not parse: never echo it, it may hold the token.
        what = "gave no usable credentials"
    return ConfigError(
        f"the credential plugin of context {context} {what}",
        "run the users[].exec command of the kubeconfig by hand, or log in again",
    )


def connect(
    kubeconfig: str | None,
    context: str | None,
    timeout: float,
    in_cluster: bool = False,
    page_size: int = PAGE_SIZE,
    log: Callable[[str], None] = _quiet,
    warn: Callable[[str], None] = _quiet,
    unpaged_max: int = UNPAGED_MAX,
    gzip: bool = True,
) -> Connection:
    """Load credentials for `context` (or the current one, or in-cluster config).

    `gzip`: ask for compressed lists.
    """
    client_log = _ClientLog()
    root = logging.getLogger()
    # Before the client logs: logging.error() on a root without handlers would add one that
    # prints "ERROR:root:..." to stderr for the rest of the run.
    for h in [h for h in root.handlers if isinstance(h, _ClientLog)]:
        root.removeHandler(h)
    root.addHandler(client_log)
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
        if client_log.exec_failure is not None:
            raise _plugin_error(name, client_log.exec_failure)
        ns = names[name]
    # urllib3's own retries are silent and blind to Retry-After: fetch_page retries instead.
    cfg.retries = False
    # Up to 6 LISTs (one per kind) and 4 namespaces' pods at once, each with its next page in
    # flight: the default pool (5 per core) would drop and reopen connections, with a logged
    # warning.
    cfg.connection_pool_maxsize = 32
    api = k8s.ApiClient(cfg)
    # Named in the API server's audit log, which the e2e suite reads to prove we only read.
    api.user_agent = f"kinspect/{__version__}"
    conn = Connection(name, cfg.host, api, ns, timeout, page_size, log, warn)
    conn.unpaged_max = unpaged_max
    conn.gzip = gzip
    return conn


def _incluster_namespace() -> str:
    try:
        with open("/var/run/secrets/kubernetes.io/serviceaccount/namespace") as f:
            return f.read().strip() or "default"
    except OSError:
        return "default"


@contextmanager
def _translate(conn: Connection, what: str) -> Iterator[None]:
    """Map transport exceptions to one-line KinspectErrors (no headers, no bodies)."""
    try:
        yield
    except ApiException as e:
        # Status 0: no HTTP response. The client's REST layer wraps urllib3's SSLError so.
        if not e.status and str(e.reason).startswith("SSLError"):
            raise _tls_error(conn) from None
        raise _api_error(conn, e.status, _status_message(e.body), "list", what, "") from None
    except urllib3.exceptions.SSLError:
        raise _tls_error(conn) from None
    except urllib3.exceptions.NewConnectionError:  # a subclass of urllib3's TimeoutError
        raise _unreachable(conn) from None
    except (urllib3.exceptions.TimeoutError, TimeoutError):
        raise _timeout(conn, what) from None
    except _BodyLost:
        raise UnreachableError(
            f"the connection to the API server {conn.server} of context {conn.context} "
            f"was lost while reading {what}",
            "retry; if it keeps happening, check the API server and any proxy in front of it",
        ) from None
    except (urllib3.exceptions.HTTPError, OSError):
        raise _unreachable(conn) from None


def _unreachable(conn: Connection) -> UnreachableError:
    return UnreachableError(
        f"the API server {conn.server} of context {conn.context} is unreachable",
        "check that the cluster is running and reachable, or raise --request-timeout",
    )


def _timeout(conn: Connection, what: str) -> UnreachableError:
    return UnreachableError(
        f"reading {what} from the API server {conn.server} of context {conn.context} "
        f"timed out after {conn.timeout:g}s",
        "raise --request-timeout, or narrow the scope with -n NAMESPACE",
    )


class _BodyLost(Exception):
    """The connection broke after the response began: not retried (the request was served)."""


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


MESSAGE_CHARS = 200  # of a server's message, in an error line


def one_line(text: str, limit: int = MESSAGE_CHARS) -> str:
    """Server or plugin text made one line: control characters dropped, cut with an ellipsis."""
    flat = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _api_error(
    conn: Connection, status: int, msg: str, verb: str, resource: str, scope: str
) -> KinspectError:
    what = f"{resource} {scope}".strip()
    if status == 401:
        return ForbiddenError(
            f"the API server rejected the credentials of context {conn.context} (401)",
            "refresh the token or client certificate in the kubeconfig",
            status=401,
        )
    if status == 403:
        return ForbiddenError(
            f"context {conn.context} may not {verb} {what} (403 Forbidden)",
            "ask for get/list on it (see deploy/rbac.yaml), or narrow the scope with -n NAMESPACE",
        )
    if status == 404:
        return NotFoundError(f"{what} not found on {conn.server}", one_line(msg))
    detail = f": {one_line(msg)}" if msg.strip() else ""
    return ServerError(
        f"the API server {conn.server} failed to {verb} {what}: HTTP {status}{detail}",
        "the API server failed, not kinspect: retry later, or check the API server's health "
        "(kubectl get --raw /readyz)",
    )


class _Expired(Exception):
    """410 Gone on a continue page: the snapshot the token pointed at is compacted away."""


class _Retry(Exception):
    """A failure worth another attempt: a connection reset before the response began."""


def fetch_page(
    conn: Connection,
    path: str,
    resource: str,
    scope: str,
    token: str | None,
    *,
    paged: bool = True,
    **query: str,
) -> Body:
    """One page of a LIST at `path`, raw, retried as `kinspect.wire.retry` says.

    A plain GET through the client's connection pool and authentication (bearer tokens, exec
    plugins, client certificates) rather than the generated API classes: importing
    `CoreV1Api` alone takes 0.6 s, and each of its calls validates its arguments first.
    `paged=False`: no limit (the whole list in one response).
    """
    what = f"{resource} {scope}".strip()
    # `limit` in `query` (a probe for a list's size) replaces the page size.
    limit = query.pop("limit", "") or (str(conn.page_size) if conn.page_size else "")
    params = [(k, v) for k, v in query.items() if v]
    if paged and limit:
        params.append(("limit", limit))
    if token:
        params.append(("continue", token))
    url, headers = _get_request(conn, path, params, what)
    if conn.gzip:
        headers["Accept-Encoding"] = "gzip"  # urllib3 decompresses as it reads
    window_end = time.monotonic() + retry.retry_window(conn.timeout)
    attempt = 0
    while True:
        attempt += 1
        conn.gate.wait()
        status: int | None = None
        retry_after: float | None = None
        try:
            with _translate(conn, what):
                status, data, retry_after = _get(conn, url, headers)
        except _Retry as e:
            reason = str(e)
        else:
            if 200 <= status <= 299:
                return data
            if status == 410 and token:
                raise _Expired
            if status not in retry.RETRY_STATUSES:
                raise _api_error(conn, status, _status_message(data), "list", resource, scope)
            reason = f"HTTP {status}"
        wait = retry.backoff(attempt) if retry_after is None else retry_after
        if status == 429 or retry_after is not None:
            conn.gate.close_for(wait)
        if attempt >= retry.MAX_ATTEMPTS or time.monotonic() + wait > window_end:
            if status is None:
                raise UnreachableError(
                    f"the API server {conn.server} of context {conn.context} did not answer "
                    f"for {what} after {attempt} attempts ({reason})",
                    "check that the cluster is running, and retry",
                )
            raise _api_error(conn, status, _status_message(data), "list", resource, scope)
        conn.log(f"retrying list {what} in {wait:.1f}s after {reason} (attempt {attempt + 1})")
        time.sleep(wait)


def _get_request(
    conn: Connection, path: str, params: list[tuple[str, str]], what: str
) -> tuple[str, dict[str, str]]:
    """The URL and headers (credentials included) of a GET of `path`, for LISTs and WATCHes."""
    with _translate(conn, what):
        _, url, headers, _, _ = conn.api.param_serialize(
            "GET",
            path,
            query_params=params,
            header_params={"Accept": "application/json"},
            auth_settings=["BearerToken"],
        )
    return url, headers


def _send(conn: Connection, url: str, headers: dict[str, str], read: float) -> Any:
    """Send a GET through the client's pool, no retries, the body left to the caller to read.

    `read`: the socket's timeout for each read until the caller sets its own.
    """
    return conn.api.rest_client.pool_manager.request(
        "GET",
        url,
        headers=headers,
        preload_content=False,
        retries=False,
        timeout=urllib3.Timeout(connect=conn.timeout, read=read),
    )


READ_CHUNK = 1 << 20
# A response body as read: one growing bytearray (see _get); constants and tests pass bytes.
Body = bytes | bytearray


def _get(conn: Connection, url: str, headers: dict[str, str]) -> tuple[int, Body, float | None]:
    """One GET: its status, whole body and Retry-After, all within `conn.timeout` seconds.

    The socket's timeout is set to what is left before each read, so a body trickling in
    ends at the deadline, not one timeout per read.
    """
    deadline = time.monotonic() + conn.timeout
    try:
        resp = _send(conn, url, headers, conn.timeout)
    except (urllib3.exceptions.ProtocolError, ConnectionResetError) as e:
        raise _Retry("connection reset") from e
    except urllib3.exceptions.NewConnectionError as e:
        if not conn.answered:
            raise  # a server that never answered is not restarting: fail at once
        raise _Retry("connection refused") from e
    conn.answered = True
    # One growing buffer, not a list of chunks joined at the end: the join would hold the
    # body twice (an unpaged list of 10,000 pods is tens of MB), and msgspec decodes a
    # bytearray as it does bytes.
    body = bytearray()
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            sock = getattr(resp.connection, "sock", None)
            if sock is not None:
                sock.settimeout(left)
            chunk = resp.read1(READ_CHUNK)
            if not chunk:
                break
            body += chunk
    except (urllib3.exceptions.ProtocolError, urllib3.exceptions.DecodeError, ConnectionError):
        # DecodeError: a gzip body cut short or corrupted on the way
        resp.close()
        raise _BodyLost from None
    except BaseException:
        resp.close()
        raise
    resp.release_conn()
    return resp.status, body, retry.parse_retry_after(resp.headers.get("Retry-After"))


@contextmanager
def threads(workers: int) -> Iterator[ThreadPoolExecutor]:
    """A thread pool that is waited for on success only.

    On an error or Ctrl-C its running reads are abandoned (the process is about to exit):
    waiting for them would hold Ctrl-C up to a request timeout.
    """
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        yield pool
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


@functools.cache
def _item_type(list_type: type[Any]) -> Any:
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
    except (msgspec.DecodeError, msgspec.ValidationError):
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
    item_decoder = msgspec.json.Decoder(_item_type(list_type))
    items = []
    for i, item in enumerate(loose.items or ()):
        try:
            items.append(item_decoder.decode(item))
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


def _list(
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
    Raises _Expired when a continue token has expired (410).

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


def _where(kind: kinds.Kind[Any, Any], namespace: str | None) -> tuple[str, str]:
    """The LIST path of `kind` in one namespace or all, and how messages name that scope."""
    if not kind.namespaced:
        return f"{kind.group}/{kind.plural}", "(cluster-wide)"
    if namespace is None:
        return f"{kind.group}/{kind.plural}", "in all namespaces"
    ns = quote(namespace, safe="")
    return f"{kind.group}/namespaces/{ns}/{kind.plural}", f"in namespace {namespace}"


def _selectors(kind: kinds.Kind[Any, Any], scope: Scope) -> dict[str, str]:
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
    conn: Connection, kind: kinds.Kind[W, V], scope: Scope, probe: bool = False, **query: str
) -> list[V]:
    """Every `kind` in scope, narrowed as its registry entry says; `query` adds selectors.

    `probe`: the list is likely big; its size is asked first (`_list`).
    """
    path, where = _where(kind, scope.namespace)
    query = _selectors(kind, scope) | query
    listed = (kind.plural, scope.namespace if kind.namespaced else None)
    try:
        pages = _list(conn, path, kind.list_type, kind.plural, where, query=query, probe=probe)
        return _values(kind, _recorded(conn, listed, pages))
    except _Expired:
        _expired(conn, kind.plural, where)
        pages = _list(conn, path, kind.list_type, kind.plural, where, paged=False, query=query)
        return _values(kind, _recorded(conn, listed, pages))


def _recorded(
    conn: Connection, listed: tuple[str, str | None], pages: Iterable[kinds.Page[W]]
) -> Iterator[kinds.Page[W]]:
    """`pages`, the list's resourceVersion (on its first page) kept when the caller asked."""
    first = True
    for page in pages:
        if first and conn.list_versions is not None and page.metadata.resourceVersion:
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
    path, where = _where(pods_kind, None)
    body = fetch_page(conn, path, pods_kind.plural, where, None)
    if head_continue(body) and _small(conn, body):
        del body
        whole = _list(conn, path, pods_kind.list_type, pods_kind.plural, where, paged=False)
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
        pages = _list(conn, path, pods_kind.list_type, pods_kind.plural, where, start=token)
        try:
            return pods + _values(pods_kind, pages)
        except _Expired:
            _expired(conn, pods_kind.plural, where)
            whole = _list(conn, path, pods_kind.list_type, pods_kind.plural, where, paged=False)
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


def snapshot(
    conn: Connection,
    scope: Scope,
    *,
    with_legacy_endpoints: bool = False,
    narrow_when_forbidden: bool = False,
    pod_queries: Sequence[PodQuery] | None = None,
) -> model_snapshot.Snapshot:
    """Read every kind of the registry (`kinspect.wire.kinds.KINDS`) concurrently into one Snapshot.

    Optional kinds that are refused or not served leave their field empty, with a warning
    when their entry names a consequence: nodes (namespace-scoped RBAC often forbids them;
    without them NodePort frontends are unknown), namespaces (quietly). EndpointSlices fall
    back to legacy Endpoints when discovery.k8s.io/v1 is not served or not readable, and
    `endpoint_source` says so. `with_legacy_endpoints` also reads Endpoints beside the slices
    (the audit compares them). `narrow_when_forbidden`: when a cluster-wide read is refused
    (403), read the context's own namespace instead and say so. `pod_queries`: read only the
    pods these select instead of every pod in scope.
    """
    return snapshot_scoped(
        conn,
        scope,
        with_legacy_endpoints=with_legacy_endpoints,
        narrow_when_forbidden=narrow_when_forbidden,
        pod_queries=pod_queries,
    )[0]


def snapshot_scoped(
    conn: Connection,
    scope: Scope,
    *,
    with_legacy_endpoints: bool = False,
    narrow_when_forbidden: bool = False,
    pod_queries: Sequence[PodQuery] | None = None,
) -> tuple[model_snapshot.Snapshot, Scope]:
    """`snapshot`, and the scope it was read in (the context's namespace when narrowed).

    A watch after the first read (`kinspect ui`) must follow the scope that was read, and the
    resourceVersions kept (`Connection.list_versions`) are those of that scope's LISTs only.
    """
    try:
        return _snapshot(conn, scope, with_legacy_endpoints, pod_queries), scope
    except ForbiddenError as e:
        if not (narrow_when_forbidden and scope.namespace is None and e.status == 403):
            raise
        narrowed = Scope(conn.default_namespace, scope.service, scope.selector)
        if conn.list_versions is not None:
            conn.list_versions.clear()  # the refused read's versions name the other scope
        snap = _snapshot(conn, narrowed, with_legacy_endpoints, pod_queries)
        note = f"{e.message}; read namespace {conn.default_namespace} only"
        return msgspec.structs.replace(snap, warnings=(note, *snap.warnings)), narrowed


def _snapshot(
    conn: Connection,
    scope: Scope,
    with_legacy: bool,
    pod_queries: Sequence[PodQuery] | None,
) -> model_snapshot.Snapshot:
    read = [k for k in kinds.KINDS if with_legacy or k is not kinds.ENDPOINTS]
    futures: dict[kinds.Kind[Any, Any], Future[Sequence[model.Value]]] = {}
    fields: dict[str, tuple[model.Value, ...]] = {}
    warnings: list[str] = []
    states: dict[str, str] = {}
    source: model.EndpointSource = "EndpointSlice"
    with threads(len(read)) as pool:
        for kind in read:
            futures[kind] = _submit(pool, conn, kind, scope, pod_queries, futures)
        # In registry order: when several reads fail, the first one's error is reported.
        for kind, future in futures.items():
            try:
                fields[kind.field] = (*fields.get(kind.field, ()), *future.result())
                if kind.state_field is not None:
                    states[kind.state_field] = "read"
            except KinspectError as e:
                absent = kind.quiet_when_absent and (
                    isinstance(e, NotFoundError)
                    # RBAC answers 403 before the resource is looked up: a namespace-scoped
                    # reader is refused a CRD that is not even installed. Discovery, which
                    # every authenticated user may read, tells the two apart.
                    or (
                        isinstance(e, ForbiddenError)
                        and kind.state_field is not None
                        and served(conn, kind) is False
                    )
                )
                if kind.state_field is not None:
                    # Not served (a CRD not installed): none of it exists.
                    states[kind.state_field] = "absent" if absent else "forbidden"
                refused = isinstance(e, (ForbiddenError, NotFoundError))
                # An optional kind that fails in any way leaves its field empty; a fallback
                # replaces a kind that is refused or not served.
                if not (kind.optional or (kind.fallback and refused)):
                    raise
                if absent:
                    pass  # the API is not installed: nothing of it exists, nothing is hidden
                elif kind.consequence is not None:
                    warnings.append(f"{e.message}; {kind.consequence}")
                elif not refused:
                    warnings.append(f"{e.message}; {kind.plural} not used")
                if kind.fallback is not None:
                    # The fallback's values fill this field, and only this one: taken from
                    # its own read when it was read beside (and got something), else read now.
                    done = fields.pop(kind.fallback.field, ())
                    fields[kind.field] = done or tuple(read_kind(conn, kind.fallback, scope))
                    source = "Endpoints"  # the one fallback there is: EndpointSlices → Endpoints
    snap = model_snapshot.Snapshot(conn.context, endpoint_source=source, warnings=tuple(warnings))
    return msgspec.structs.replace(snap, **fields, **states)


def served(conn: Connection, kind: kinds.Kind[Any, Any]) -> bool | None:
    """Whether the API server serves `kind` (its group/version's discovery document lists it).

    None when discovery cannot tell (refused, failed): the caller keeps what it knew.
    """
    try:
        body = fetch_page(conn, kind.group, kind.group, "(discovery)", None, paged=False)
        doc = msgspec.json.decode(body, type=raw.APIResourceList)
    except NotFoundError:
        return False  # the group/version is not served at all
    except (KinspectError, msgspec.ValidationError, msgspec.DecodeError):
        return None
    return any(r.name == kind.plural for r in doc.resources or ())


def _submit(
    pool: ThreadPoolExecutor,
    conn: Connection,
    kind: kinds.Kind[Any, Any],
    scope: Scope,
    pod_queries: Sequence[PodQuery] | None,
    submitted: dict[kinds.Kind[Any, Any], Future[Sequence[model.Value]]],
) -> Future[Sequence[model.Value]]:
    """Start reading one kind. Pods have their own readers (by query, or split by namespace)."""
    if kind is not kinds.PODS:
        return pool.submit(read_kind, conn, kind, scope)
    if pod_queries is not None:
        return pool.submit(read_pod_queries, conn, pod_queries)
    listing = submitted.get(kinds.NAMESPACES)  # submitted first, see kinds.KINDS
    if scope.namespace is not None or listing is None:
        return pool.submit(read_pods, conn, scope.namespace)

    # Every namespace is being read for the snapshot: read_pods' split needs no LIST of its own.
    def names() -> list[str]:
        return [n.name for n in listing.result() if isinstance(n, model.Namespace)]

    return pool.submit(read_pods, conn, None, names)


# --- watch (--watch) -----------------------------------------------------------------------

# A watch's socket waits this much longer than the timeoutSeconds asked of the server: a watch
# that stays silent past it is taken as a dead connection and started again.
WATCH_MARGIN = 10.0
WATCH_READ = 1 << 16


class WatchExpired(Exception):
    """410 Gone: the resourceVersion watched from is older than the server keeps."""


class WatchBroken(Exception):
    """The watch ended abnormally (connection refused or lost, silent too long, a 5xx): retry.

    `retry_after`: the seconds the server asked for (429, 503 with Retry-After), if any.
    """

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


@dataclass(frozen=True)
class Bookmark:
    """A BOOKMARK event: nothing changed up to this resourceVersion."""

    resource_version: str


def _converted(kind: kinds.Kind[Any, Any], item: Any) -> tuple[model.Value, ...]:
    value = kind.convert(item)
    if value is None:
        return ()
    if isinstance(value, model.Value):
        return (value,)
    return tuple(value)


def _key(kind: kinds.Kind[Any, Any], meta: Any) -> Key:
    return (meta.namespace if kind.namespaced else "", meta.name)


def list_objects(
    conn: Connection, kind: kinds.Kind[Any, Any], scope: Scope
) -> tuple[dict[Key, tuple[model.Value, ...]], str]:
    """Every object of `kind` in scope, converted, by key; and the list's resourceVersion.

    What a watch that expired (410) reads again: one LIST of the kind, as `read_kind` sends it.
    """
    path, where = _where(kind, scope.namespace)
    query = _selectors(kind, scope)
    out: dict[Key, tuple[model.Value, ...]] = {}
    version = ""

    def read(pages: Iterable[kinds.Page[Any]]) -> None:
        nonlocal version
        for n, page in enumerate(pages):
            if n == 0:
                version = page.metadata.resourceVersion or ""
            for item in page.items or ():
                values = _converted(kind, item)
                if values:
                    out[_key(kind, item.metadata)] = values

    try:
        read(_list(conn, path, kind.list_type, kind.plural, where, query=query))
    except _Expired:
        out.clear()
        read(_list(conn, path, kind.list_type, kind.plural, where, paged=False, query=query))
    return out, version


_EVENT = msgspec.json.Decoder(raw.WatchEvent)
_OBJECT = msgspec.json.Decoder(raw.WatchObject)


def watch(
    conn: Connection,
    kind: kinds.Kind[Any, Any],
    field: Field,
    scope: Scope,
    resource_version: str,
    timeout_seconds: int,
) -> Iterator[Change | Bookmark]:
    """The events of one WATCH of `kind` from `resource_version`, converted, as they come.

    `GET <list path>?watch=1&resourceVersion=RV&allowWatchBookmarks=true&timeoutSeconds=N`, with
    the LIST's selectors, through the same client and credentials. Each line is one event,
    decoded by msgspec: its object by the kind's item type and converter. Ends when the server
    ends the watch (after timeoutSeconds). Raises WatchExpired on 410 (as a status or as an
    ERROR event), WatchBroken when the connection fails, is lost, or stays silent past
    timeoutSeconds + WATCH_MARGIN, ForbiddenError/NotFoundError when watching is refused.
    """
    path, where = _where(kind, scope.namespace)
    what = f"{kind.plural} {where}"
    params = [(k, v) for k, v in _selectors(kind, scope).items() if v]
    params += [
        ("watch", "1"),
        ("resourceVersion", resource_version),
        ("allowWatchBookmarks", "true"),
        ("timeoutSeconds", str(timeout_seconds)),
    ]
    url, headers = _get_request(conn, path, params, what)
    conn.gate.wait()
    silent = timeout_seconds + WATCH_MARGIN
    try:
        resp = _send(conn, url, headers, silent)
    except (urllib3.exceptions.HTTPError, OSError) as e:
        raise WatchBroken(_transport_reason(e)) from None
    try:
        if resp.status != 200:
            body = resp.read()
            if resp.status == 410:
                raise WatchExpired
            if resp.status in (401, 403, 404):
                raise _api_error(
                    conn, resp.status, _status_message(body), "watch", kind.plural, where
                )
            after = retry.parse_retry_after(resp.headers.get("Retry-After"))
            raise WatchBroken(f"HTTP {resp.status}", after)
        # Accepted: nothing changed since the version asked for, as far as the caller knows.
        yield Bookmark(resource_version)
        item_decoder = msgspec.json.Decoder(_item_type(kind.list_type))
        deadline = time.monotonic() + silent
        pending = b""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise WatchBroken(f"no end of the watch after {silent:g}s")
            sock = getattr(resp.connection, "sock", None)
            if sock is not None:
                sock.settimeout(left)
            try:
                chunk = resp.read1(WATCH_READ)
            except (urllib3.exceptions.HTTPError, OSError) as e:
                raise WatchBroken(_transport_reason(e)) from None
            if not chunk:
                return  # the server ended the watch (timeoutSeconds): the caller goes on
            lines = (pending + chunk).split(b"\n")
            pending = lines.pop()
            for line in lines:
                if line.strip():
                    yield _event(conn, kind, field, item_decoder, line, what)
    finally:
        resp.close()


def _transport_reason(e: BaseException) -> str:
    if isinstance(e, urllib3.exceptions.NewConnectionError):
        return "connection refused"
    if isinstance(e, (urllib3.exceptions.TimeoutError, TimeoutError)):
        return "silent too long"
    return "connection lost"


def _event(
    conn: Connection,
    kind: kinds.Kind[Any, Any],
    field: Field,
    item_decoder: msgspec.json.Decoder[Any],
    line: bytes,
    what: str,
) -> Change | Bookmark:
    try:
        ev = _EVENT.decode(line)
        if ev.type == "ERROR":
            status = msgspec.json.decode(ev.object, type=raw.Status)
            if status.code == 410:
                raise WatchExpired
            raise WatchBroken(f"HTTP {status.code}: {one_line(status.message)}")
        meta = _OBJECT.decode(ev.object).metadata
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise WatchBroken(f"a malformed event in the watch of {what}") from None
    key, version = _key(kind, meta), meta.resourceVersion
    if ev.type == "DELETED":
        return Change(field, "DELETED", key, (), version)
    if ev.type not in ("ADDED", "MODIFIED"):
        return Bookmark(version)  # BOOKMARK, or a type this version does not know
    change: EventType = "ADDED" if ev.type == "ADDED" else "MODIFIED"
    try:
        values = _converted(kind, item_decoder.decode(ev.object))
    except (msgspec.DecodeError, msgspec.ValidationError) as e:
        conn.warn(
            f"skipped {one_line(meta.namespace + '/' + meta.name, 120)} in the watch of {what}: "
            f"the API server sent it malformed ({one_line(str(e), 120)})"
        )
        return Bookmark(version)
    return Change(field, change, key, values, version)
