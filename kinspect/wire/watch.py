"""WATCH streams (--watch): one kind's events from a resourceVersion, converted as they come.

A watch that expired (410) is made up for by `list_objects`, one LIST of the kind as
`read_kind` sends it; the caller (`kinspect.live.watcher`) decides when to watch again.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import msgspec
import urllib3

from kinspect.model import values as model
from kinspect.model.change import Change, EventType, Field, Key
from kinspect.wire import kinds, raw, retry
from kinspect.wire.connection import Connection
from kinspect.wire.lists import Scope, item_type, list_pages, selectors, where_listed
from kinspect.wire.transport import (
    ERROR_BODY_BYTES,
    Expired,
    Inflater,
    UnaskedEncoding,
    api_error,
    get_request,
    read_head,
    send,
)
from kinspect.wire.untrusted import TOO_DEEP, one_line, status_message

# A watch's socket waits this much longer than the timeoutSeconds asked of the server: a watch
# that stays silent past it is taken as a dead connection and started again.
WATCH_MARGIN = 10.0
WATCH_READ = 1 << 16
# The longest line of a watch, inflated: one event, which holds one object. The API server
# refuses a request body over 3 MiB and etcd stores at most 1.5 MiB per object, so an
# object's JSON is a few MB at most; past this the stream is taken as broken (and watched
# again), never read on: a gzip bomb or an endless line costs at most this much memory.
MAX_EVENT_BYTES = 16 << 20


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
    path, where = where_listed(kind, scope.namespace)
    query = selectors(kind, scope)
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
        read(list_pages(conn, path, kind.list_type, kind.plural, where, query=query))
    except Expired:
        out.clear()
        read(list_pages(conn, path, kind.list_type, kind.plural, where, paged=False, query=query))
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
    path, where = where_listed(kind, scope.namespace)
    what = f"{kind.plural} {where}"
    params = [(k, v) for k, v in selectors(kind, scope).items() if v]
    params += [
        ("watch", "1"),
        ("resourceVersion", resource_version),
        ("allowWatchBookmarks", "true"),
        ("timeoutSeconds", str(timeout_seconds)),
    ]
    url, headers = get_request(conn, path, params, what)
    conn.gate.wait()
    silent = timeout_seconds + WATCH_MARGIN
    try:
        resp = send(conn, url, headers, silent)
    except (urllib3.exceptions.HTTPError, OSError) as e:
        raise WatchBroken(_transport_reason(e)) from None
    try:
        if resp.status != 200:
            body = _error_body(resp)
            if resp.status == 410:
                raise WatchExpired
            if resp.status in (401, 403, 404):
                raise api_error(
                    conn, resp.status, status_message(body), "watch", kind.plural, where
                )
            after = retry.parse_retry_after(resp.headers.get("Retry-After"))
            if after is not None:
                after = min(after, retry.MAX_RETRY_AFTER)
            raise WatchBroken(f"HTTP {resp.status}", after)
        # Accepted: nothing changed since the version asked for, as far as the caller knows.
        yield Bookmark(resource_version)
        item_decoder = msgspec.json.Decoder(item_type(kind.list_type))
        deadline = time.monotonic() + silent
        try:
            inflater = Inflater(resp.headers.get("Content-Encoding"), WATCH_READ)
        except UnaskedEncoding as e:
            raise WatchBroken(f"an encoding not asked for ({one_line(e.encoding, 40)})") from None
        line = bytearray()  # the event being read, up to MAX_EVENT_BYTES
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
            for piece in _inflated(inflater, chunk):
                start = 0
                while (end := piece.find(b"\n", start)) >= 0:
                    line += piece[start:end]
                    start = end + 1
                    _check_event(line, what)
                    event, line = line, bytearray()
                    if event.strip():
                        yield _event(conn, kind, field, item_decoder, event, what)
                line += piece[start:]
                _check_event(line, what)
    finally:
        resp.close()


def _inflated(inflater: Inflater, chunk: bytes) -> Iterator[bytes]:
    try:
        yield from inflater.feed(chunk)
    except zlib.error:
        raise WatchBroken("a compressed body that does not inflate") from None


def _check_event(line: bytearray, what: str) -> None:
    """An event past MAX_EVENT_BYTES breaks the watch: it is never read on."""
    if len(line) > MAX_EVENT_BYTES:
        raise WatchBroken(f"an event larger than {MAX_EVENT_BYTES} bytes in the watch of {what}")


def _error_body(resp: Any) -> bytes:
    """The head of a refused watch's body (its Status), never more."""
    try:
        return read_head(resp, ERROR_BODY_BYTES)
    except (UnaskedEncoding, zlib.error, urllib3.exceptions.HTTPError, OSError):
        return b""


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
    line: bytes | bytearray,
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
    except RecursionError:
        raise WatchBroken(f"an event in the watch of {what} {TOO_DEEP}") from None
    key, version = _key(kind, meta), meta.resourceVersion
    if ev.type == "DELETED":
        return Change(field, "DELETED", key, (), version)
    if ev.type not in ("ADDED", "MODIFIED"):
        return Bookmark(version)  # BOOKMARK, or a type this version does not know
    change: EventType = "ADDED" if ev.type == "ADDED" else "MODIFIED"
    try:
        values = _converted(kind, item_decoder.decode(ev.object))
    except RecursionError:  # as above, should this decode run nearer the recursion limit
        raise WatchBroken(f"an event in the watch of {what} {TOO_DEEP}") from None
    except (msgspec.DecodeError, msgspec.ValidationError) as e:
        conn.warn(
            f"skipped {one_line(meta.namespace + '/' + meta.name, 120)} in the watch of {what}: "
            f"the API server sent it malformed ({one_line(str(e), 120)})"
        )
        return Bookmark(version)
    return Change(field, change, key, values, version)
