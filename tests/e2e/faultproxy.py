"""A loopback proxy in front of the real API server that injects faults: a test tool.

It is not a fake API server: every response comes from the real one (over TLS, with the test
bed kubeconfig's credentials) unless a fault rule alters it, and most rules alter a real body.
Clients talk plain HTTP to 127.0.0.1:PORT with no credentials (`FaultProxy.kubeconfig`), so
kinspect and kubectl can be compared through the same faults.

    with FaultProxy.start(cluster.kubeconfig_view(), tmp_path) as proxy:
        proxy.add(Rule("/pods", "status", status=429, retry_after="1", times=2))
        ... kinspect --kubeconfig proxy.kubeconfig(tmp_path) ...
        assert proxy.count("/pods") == 3

Rules (first match wins, each applies `times` times, -1 for ever):
    status     answer `status` (with `Retry-After`) without asking the server; 410 is Expired
    reset      reset the connection before any response
    reset_body send the headers and half the real body, then reset
    truncate   a complete HTTP response whose JSON body is cut in half
    trickle    the real body, `chunk` bytes every `interval` seconds
    hook       call `hook()` (say, kill the API server), then reset the connection
    delay      the real response, `interval` seconds late
    rewrite    the real body passed through `rewrite(dict) -> object`, re-encoded (bytes: as is)
    body       answer `status` with `body` and `headers` as given, without asking the server
               (a gzip bomb: `gzip_bomb`)
A request the API server does not answer (refused, reset: it is down) is reset in turn.
A client's Accept-Encoding reaches the server, and its Content-Encoding comes back
(`encodings`) with every response made of the real body: with gzip, `truncate`, `reset_body`
and `trickle` cut or slow the compressed body; `rewrite` inflates it and answers plain JSON.
"""

from __future__ import annotations

import base64
import gzip
import http.client
import json
import os
import socket
import ssl
import struct
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REASONS = {
    410: ("Expired", "The provided continue parameter is too old to display a consistent list"),
    429: ("TooManyRequests", "Too many requests, please try again later."),
    500: ("InternalError", "Internal error occurred: injected by the fault proxy"),
    503: ("ServiceUnavailable", "The server is currently unable to handle the request"),
}


@dataclass
class Rule:
    """A fault for requests whose path and query contain every string of `match`."""

    match: str | tuple[str, ...]
    action: str
    times: int = 1
    status: int = 503
    retry_after: str | None = None
    chunk: int = 100
    interval: float = 0.1
    rewrite: Callable[[Any], Any] | None = None
    hook: Callable[[], None] | None = None
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    used: int = 0
    sent: int = 0  # bytes of the body written so far (trickle): a test waits on it, not a sleep

    def matches(self, target: str) -> bool:
        needles = (self.match,) if isinstance(self.match, str) else self.match
        return all(n in target for n in needles) and (self.times < 0 or self.used < self.times)


@dataclass
class FaultProxy:
    upstream: tuple[str, int]
    ssl_context: ssl.SSLContext
    token: str | None
    rules: list[Rule] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)  # path?query of each request received
    times: list[float] = field(default_factory=list)  # when each arrived (time.monotonic())
    # path?query → the Content-Encoding of the server's answer ("" for none)
    encodings: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0
    in_flight: int = 0  # requests being answered now

    def wait_alone(self, seconds: float = 30) -> None:
        """From a hook: wait until the request it holds is the only one being answered.

        A hook that kills the API server then fails only that request: on a loaded machine,
        reads sent at the same time were still in flight, and one of theirs was the error
        kinspect reported.
        """
        deadline = time.monotonic() + seconds
        while self.in_flight > 1 and time.monotonic() < deadline:
            time.sleep(0.05)

    @classmethod
    @contextmanager
    def start(cls, view: dict[str, Any], tmp: Path) -> Iterator[FaultProxy]:
        """A proxy to the API server of `view` (kubectl config view --raw --minify -o json)."""
        c = view["clusters"][0]["cluster"]
        u = view["users"][0]["user"]
        ctx = ssl.create_default_context()
        ca = _file(c, "certificate-authority", tmp)
        if ca:
            ctx.load_verify_locations(ca)
        if c.get("insecure-skip-tls-verify"):
            ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        cert, key = _file(u, "client-certificate", tmp), _file(u, "client-key", tmp)
        if cert and key:
            ctx.load_cert_chain(cert, key)
        url = urlsplit(c["server"])
        proxy = cls((url.hostname or "127.0.0.1", url.port or 443), ctx, u.get("token"))
        server = _Server(("127.0.0.1", 0), _handler(proxy))
        server.daemon_threads = True
        proxy.port = server.server_address[1]
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield proxy
        finally:
            server.shutdown()
            server.server_close()

    def add(self, rule: Rule) -> Rule:
        with self.lock:
            self.rules.append(rule)
        return rule

    def count(self, *needles: str) -> int:
        """How many requests received contained every one of `needles`."""
        with self.lock:
            return sum(1 for r in self.requests if all(n in r for n in needles))

    def kubeconfig(self, tmp: Path, namespace: str = "default") -> str:
        """A kubeconfig for plain HTTP to this proxy (the proxy holds the credentials)."""
        path = tmp / f"proxy-{self.port}.kubeconfig"
        path.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "current-context": "proxied",
                    "clusters": [
                        {"name": "p", "cluster": {"server": f"http://127.0.0.1:{self.port}"}}
                    ],
                    "users": [{"name": "u", "user": {}}],
                    "contexts": [
                        {
                            "name": "proxied",
                            "context": {"cluster": "p", "user": "u", "namespace": namespace},
                        }
                    ],
                }
            )
        )
        return str(path)

    def _take(self, target: str) -> Rule | None:
        with self.lock:
            self.requests.append(target)
            self.times.append(time.monotonic())
            for rule in self.rules:
                if rule.matches(target):
                    rule.used += 1
                    return rule
        return None

    def _forward(self, target: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPSConnection(*self.upstream, context=self.ssl_context, timeout=60)
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            conn.request("GET", target, headers=headers)
            resp = conn.getresponse()
            body = resp.read()
            return resp.status, {k: v for k, v in resp.getheaders()}, body
        finally:
            conn.close()


def gzip_bomb(head: bytes, spaces: int, tail: bytes) -> bytes:
    """A valid gzip body that inflates to `head`, `spaces` spaces (JSON whitespace), `tail`.

    Multi-member gzip (RFC 1952 2.2; what the client must inflate whole): one member of 1 MiB
    of spaces, repeated, is about 1 KB, so 4 GiB of spaces cost about 4 MB on the wire and
    nothing to build. Every member carries its own CRC: the body is valid to its last byte.
    """
    mib = 1 << 20
    block = gzip.compress(b" " * mib, compresslevel=9, mtime=0)
    whole, rest = divmod(spaces, mib)
    return b"".join(
        (
            gzip.compress(head, mtime=0),
            block * whole,
            gzip.compress(b" " * rest, mtime=0),
            gzip.compress(tail, mtime=0),
        )
    )


class _Server(ThreadingHTTPServer):
    # socketserver's default backlog is 5. kinspect opens several connections at once, and when
    # the accept thread is slow to run (a busy CI machine), a sixth SYN is dropped and the
    # kernel sends it again 1 s later: the request then reaches the proxy 1 s after kinspect
    # sent it, which reads as a request sent while a 429 held the connection.
    request_queue_size = 128


def _file(section: dict[str, Any], key: str, tmp: Path) -> str | None:
    """A kubeconfig credential as a file path (written out when given inline as -data)."""
    if section.get(key):
        return str(section[key])
    data = section.get(f"{key}-data")
    if not data:
        return None
    fd, path = tempfile.mkstemp(dir=tmp, prefix="proxy-")
    with os.fdopen(fd, "wb") as f:
        f.write(base64.b64decode(data))
    return path


def _handler(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def handle(self) -> None:
            with suppress(OSError):  # a client that reset or gave up: nothing to report
                super().handle()

        def do_GET(self) -> None:
            with proxy.lock:
                proxy.in_flight += 1
            try:
                self._get()
            finally:
                with proxy.lock:
                    proxy.in_flight -= 1

        def _get(self) -> None:
            rule = proxy._take(self.path)
            if rule is not None and rule.action == "hook" and rule.hook is not None:
                rule.hook()
                return self._reset()
            if rule is not None and rule.action == "reset":
                return self._reset()
            if rule is not None and rule.action == "status":
                reason, message = REASONS.get(rule.status, ("InternalError", "injected"))
                status_body = {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "metadata": {},
                    "status": "Failure",
                    "message": message,
                    "reason": reason,
                    "code": rule.status,
                }
                extra = {"Retry-After": rule.retry_after} if rule.retry_after else {}
                return self._send(rule.status, json.dumps(status_body).encode(), extra)
            if rule is not None and rule.action == "body":
                return self._send(rule.status, rule.body, rule.headers)
            if rule is not None and rule.action == "delay":
                time.sleep(rule.interval)
                rule = None
            keep = ("Accept", "User-Agent", "Accept-Encoding")
            headers = {k: v for k, v in self.headers.items() if k in keep}
            try:
                status, upstream_headers, body = proxy._forward(self.path, headers)
            except (OSError, http.client.HTTPException):
                return self._reset()
            ctype = {"Content-Type": upstream_headers.get("Content-Type", "application/json")}
            encoding = upstream_headers.get("Content-Encoding", "")
            with proxy.lock:
                proxy.encodings[self.path] = encoding
            if encoding:
                ctype["Content-Encoding"] = encoding
            if rule is None:
                return self._send(status, body, ctype)
            if rule.action == "rewrite" and rule.rewrite is not None:
                plain = gzip.decompress(body) if encoding == "gzip" else body
                new = rule.rewrite(json.loads(plain))
                body = new if isinstance(new, bytes) else json.dumps(new).encode()
                ctype.pop("Content-Encoding", None)
                return self._send(status, body, ctype)
            if rule.action == "truncate":
                return self._send(status, body[: len(body) // 2], ctype)
            if rule.action == "reset_body":
                self._head(status, len(body), ctype)
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                return self._reset()
            if rule.action == "trickle":
                self._head(status, len(body), ctype)
                try:
                    for i in range(0, len(body), rule.chunk):
                        self.wfile.write(body[i : i + rule.chunk])
                        self.wfile.flush()
                        with proxy.lock:
                            rule.sent += len(body[i : i + rule.chunk])
                        time.sleep(rule.interval)
                except OSError:
                    self.close_connection = True
                return None
            raise AssertionError(f"unknown fault action {rule.action!r}")

        def _head(self, status: int, length: int, extra: dict[str, str] | None = None) -> None:
            extra = {"Content-Type": "application/json", **(extra or {})}
            self.send_response(status)
            self.send_header("Content-Length", str(length))
            for k, v in extra.items():
                self.send_header(k, v)
            self.end_headers()

        def _send(self, status: int, body: bytes, extra: dict[str, str] | None = None) -> None:
            with suppress(OSError):  # the client gave up (a timeout, Ctrl-C)
                self._head(status, len(body), extra)
                self.wfile.write(body)

        def _reset(self) -> None:
            """Close with RST (SO_LINGER 0): the client sees a connection reset."""
            self.close_connection = True
            with suppress(OSError):
                self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()

        def finish(self) -> None:
            with suppress(OSError):
                super().finish()

    return Handler
