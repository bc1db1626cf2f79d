"""One GET to the API server, retried and read whole within its deadline; the border's errors.

A GET goes through the client's `ApiClient` pool (kubeconfig, TLS, tokens, exec plugins) and its
body is read as raw bytes, gzip inflated here as it comes (`Inflater`), up to a cap
(`Connection.max_body`) checked a piece at a time: the client's generated API and model
classes are never used (on 100k pods the models cost minutes and gigabytes; importing
`CoreV1Api` alone costs 0.6 s). Only GETs are ever sent. Each is retried on 429/5xx and on a
connection reset before the response began, as `kinspect.wire.retry` says, all readers of a
connection backing off together; `--request-timeout` bounds each request whole, body included
(docs/reliability.md). Every client exception is translated here into a `KinspectError`: an
`ApiException` string carries HTTP headers and bodies and must never reach a user.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import urllib3
from kubernetes.client.rest import ApiException

from kinspect.model.errors import (
    ForbiddenError,
    KinspectError,
    NotFoundError,
    ServerError,
    UnreachableError,
)
from kinspect.wire import retry
from kinspect.wire.connection import Connection
from kinspect.wire.untrusted import one_line, status_message


@contextmanager
def _translate(conn: Connection, what: str) -> Iterator[None]:
    """Map transport exceptions to one-line KinspectErrors (no headers, no bodies)."""
    try:
        yield
    except ApiException as e:
        # Status 0: no HTTP response. The client's REST layer wraps urllib3's SSLError so.
        if not e.status and str(e.reason).startswith("SSLError"):
            raise _tls_error(conn) from None
        raise api_error(conn, e.status, status_message(e.body), "list", what, "") from None
    except urllib3.exceptions.SSLError:
        raise _tls_error(conn) from None
    except urllib3.exceptions.NewConnectionError:  # a subclass of urllib3's TimeoutError
        raise _unreachable(conn) from None
    except (urllib3.exceptions.TimeoutError, TimeoutError):
        raise _timeout(conn, what) from None
    except _TooLarge:
        raise ServerError(
            f"the API server {conn.server} sent a response larger than {conn.max_body} bytes "
            f"for {what}",
            "narrow the scope with -n NAMESPACE, or set KINSPECT_MAX_RESPONSE_BYTES to read a "
            "bigger one",
        ) from None
    except UnaskedEncoding as e:
        raise ServerError(
            f"the API server {conn.server} sent {what} in an encoding kinspect did not ask for "
            f"({one_line(e.encoding, 40)})",
            "check any proxy in front of the API server, or set KINSPECT_GZIP=0",
        ) from None
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


class _TooLarge(Exception):
    """The body, inflated, grew past `Connection.max_body`: never retried, never read on."""


def _tls_error(conn: Connection) -> UnreachableError:
    return UnreachableError(
        f"TLS handshake with {conn.server} failed (context {conn.context})",
        "check the cluster's CA in the kubeconfig",
    )


def api_error(
    conn: Connection, status: int, msg: str, verb: str, resource: str, scope: str
) -> KinspectError:
    """The one-line error for an HTTP `status` answered to `verb` on `resource` in `scope`."""
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


class Expired(Exception):
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
    url, headers = get_request(conn, path, params, what)
    if conn.gzip:
        headers["Accept-Encoding"] = "gzip"  # inflated as it is read (Inflater)
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
                raise Expired
            if status not in retry.RETRY_STATUSES:
                raise api_error(conn, status, status_message(data), "list", resource, scope)
            reason = f"HTTP {status}"
        now = time.monotonic()
        if status is not None and retry.beyond_window(retry_after, window_end, now):
            # Checked before the gate closes: a wait that cannot help holds no other reader.
            raise _too_late(conn, status, retry_after or 0.0, window_end - now, what)
        wait = retry.backoff(attempt) if retry_after is None else retry_after
        if attempt >= retry.MAX_ATTEMPTS or now + wait > window_end:
            if status is None:
                raise UnreachableError(
                    f"the API server {conn.server} of context {conn.context} did not answer "
                    f"for {what} after {attempt} attempts ({reason})",
                    "check that the cluster is running, and retry",
                )
            raise api_error(conn, status, status_message(data), "list", resource, scope)
        if status == 429 or retry_after is not None:
            conn.gate.close_for(wait)
        conn.log(f"retrying list {what} in {wait:.1f}s after {reason} (attempt {attempt + 1})")
        time.sleep(wait)


def _too_late(
    conn: Connection, status: int, retry_after: float, left: float, what: str
) -> ServerError:
    """A Retry-After past what is left of the retry window: failed at once, both named."""
    return ServerError(
        f"the API server {conn.server} answered HTTP {status} to list {what} with "
        f"Retry-After {retry_after:g}s, beyond the {max(left, 0.0):.0f}s left of the retry "
        f"window (--request-timeout {conn.timeout:g}s)",
        "the API server asked for less load: retry later, or raise --request-timeout above "
        f"{retry_after:g} to wait for it",
    )


def get_request(
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


def send(conn: Connection, url: str, headers: dict[str, str], read: float) -> Any:
    """Send a GET through the client's pool, no retries, the body left to the caller to read.

    `read`: the socket's timeout for each read until the caller sets its own.
    """
    return conn.api.rest_client.pool_manager.request(
        "GET",
        url,
        headers=headers,
        preload_content=False,
        # The raw bytes: `Inflater` inflates them, a bounded piece at a time.
        decode_content=False,
        retries=False,
        timeout=urllib3.Timeout(connect=conn.timeout, read=read),
    )


READ_CHUNK = 1 << 20
# A response body as read: one growing bytearray (see _get); constants and tests pass bytes.
Body = bytes | bytearray


class UnaskedEncoding(Exception):
    """A Content-Encoding other than gzip: kinspect asks for gzip or nothing."""

    def __init__(self, encoding: str) -> None:
        super().__init__(encoding)
        self.encoding = encoding


class Inflater:
    """A body's raw bytes as they arrive, gzip inflated at most `size` bytes at a time.

    urllib3 is asked for the raw bytes (`send`) and the body is inflated here, so that how much
    one read may inflate to is bounded by this class whatever urllib3's version (before 2.6 one
    read inflated without a bound): a 4 MB gzip bomb costs one piece past the caller's cap,
    never its 4 GiB. Several gzip members follow each other (RFC 1952), as urllib3 reads them;
    what follows the first member and is not gzip is dropped, as urllib3 drops it. `feed`
    raises zlib.error on a body that does not inflate.
    """

    def __init__(self, encoding: str | None, size: int) -> None:
        name = (encoding or "").strip().lower()
        if name not in ("", "identity", "gzip", "x-gzip"):
            raise UnaskedEncoding(name)
        self.size = size
        self._z = zlib.decompressobj(16 + zlib.MAX_WBITS) if name.endswith("gzip") else None
        self._members = 0
        self._trailer = False  # not gzip after a member: dropped to the end

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The inflated pieces of `data`, each at most `size` bytes."""
        z = self._z
        if z is None:
            if data:
                yield data  # plain: the read already bounds it
            return
        while not self._trailer:
            if z.eof:  # a member ended: another may follow
                if not data:
                    return
                z = self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
            try:
                out = z.decompress(data, self.size)
            except zlib.error:
                if not self._members:
                    raise
                self._trailer = True
                return
            if z.eof:
                self._members += 1
                data = z.unused_data
            else:
                data = z.unconsumed_tail
            if out:
                yield out
            # A full piece may leave output held inside zlib: ask again, even with no input.
            if not data and len(out) < self.size and not z.eof:
                return


# Of a refused request (an error status), only the Status message is wanted: at most this
# much of its body is read, inflated.
ERROR_BODY_BYTES = 64 << 10


def read_head(resp: Any, limit: int) -> bytes:
    """At most `limit` bytes of a body, inflated: an error's Status, never a bomb whole.

    Raises UnaskedEncoding and zlib.error as `Inflater` does.
    """
    inflater = Inflater(resp.headers.get("Content-Encoding"), limit)
    out = bytearray()
    while len(out) < limit and (chunk := resp.read1(limit)):
        for piece in inflater.feed(chunk):
            out += piece[: limit - len(out)]
            if len(out) >= limit:
                break
    return bytes(out)


def _get(conn: Connection, url: str, headers: dict[str, str]) -> tuple[int, Body, float | None]:
    """One GET: its status, whole body and Retry-After, all within `conn.timeout` seconds.

    The socket's timeout is set to what is left before each read, so a body trickling in
    ends at the deadline, not one timeout per read.
    """
    deadline = time.monotonic() + conn.timeout
    try:
        resp = send(conn, url, headers, conn.timeout)
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
    # Of an error (a 503, a 429), only the Status message is wanted: a bomb in one costs this
    # much per attempt, not the response cap.
    cap = conn.max_body if 200 <= resp.status < 300 else ERROR_BODY_BYTES
    try:
        inflater = Inflater(resp.headers.get("Content-Encoding"), READ_CHUNK)
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
            # Checked a piece at a time as it inflates: past the cap nothing more is read.
            for piece in inflater.feed(chunk):
                if len(body) + len(piece) > cap:
                    if cap == ERROR_BODY_BYTES:
                        body += piece[: cap - len(body)]
                        resp.close()  # the rest is not wanted: not reused either
                        return resp.status, body, _retry_after(resp)
                    raise _TooLarge
                body += piece
    except (urllib3.exceptions.ProtocolError, ConnectionError, zlib.error):
        # zlib.error: a gzip body corrupted on the way (one cut short inflates to a body cut
        # short, which does not decode: exit 9)
        resp.close()
        raise _BodyLost from None
    except BaseException:
        resp.close()
        raise
    resp.release_conn()
    return resp.status, body, _retry_after(resp)


def _retry_after(resp: Any) -> float | None:
    return retry.parse_retry_after(resp.headers.get("Retry-After"))


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
