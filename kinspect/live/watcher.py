"""Keeps `--watch` going: one WATCH per kind, each on its own thread, into one bounded queue.

Each watcher thread starts from the resourceVersion of its kind's first LIST
(`connection.Connection.list_versions`) and puts every event on the queue in the order the API
server sent it; the consumer (`commands`) applies them to a `live.State`. The queue is
bounded: when the consumer falls behind, the watchers block (and the API server's send buffer
fills), nothing is dropped and memory stays bounded.

What goes wrong, and what each thread does (docs/reliability.md, "--watch"):
- the server ends the watch (after --watch-timeout seconds) or it stays silent past that plus
  `watch.WATCH_MARGIN`: watch again from the last resourceVersion seen (bookmarks advance it);
- 410 Gone (the version is older than the server keeps): LIST the kind again, say so once on
  stderr, and queue the whole list (`Relisted`): the consumer diffs it against what it holds,
  so nothing that happened meanwhile is lost;
- the connection refused or lost, a 5xx or 429: the status line says "reconnecting (attempt
  n)" and the thread watches again after `retry.backoff(n)` (capped exponential, with jitter),
  or the Retry-After the server asked for;
- watching refused (403; list allowed, watch not): one warning, then that kind is LISTed again
  every `POLL_SECONDS` instead.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from kinspect.model import values as model
from kinspect.model.change import Change, Field, Key
from kinspect.model.errors import ForbiddenError, KinspectError, NotFoundError
from kinspect.model.snapshot import Snapshot
from kinspect.wire import connection, kinds, lists, retry, watch

# Events between the watchers and the consumer. A slow consumer blocks the watchers here; an
# event is a few hundred bytes, so this bounds the queue to a few MB.
QUEUE_SIZE = 10_000
# A kind that may be listed but not watched is listed again this often.
POLL_SECONDS = 10.0
# The server ends each watch after this many seconds (--watch-timeout's default); kinspect
# then watches again from the last version seen.
WATCH_TIMEOUT = 300

HealthState = Literal["watching", "reconnecting", "polling"]


@dataclass(frozen=True)
class Health:
    """How one kind's watch is doing, for the status line."""

    kind: str  # the resource (pods, services ...)
    state: HealthState
    attempt: int = 0  # reconnecting: the attempt about to be made
    reason: str = ""


@dataclass(frozen=True)
class Relisted:
    """A whole new LIST of one kind (after 410 Gone, or polling), to diff against the state."""

    field: Field
    objects: dict[Key, tuple[model.Value, ...]]
    kind: str = ""  # the resource listed (pods, endpointslices ...), for the status line
    polled: bool = False  # a poll of a kind that may not be watched, not a 410's relist


@dataclass(frozen=True)
class Crashed:
    """A watcher thread failed unexpectedly (a bug): the consumer raises it (exit 1)."""

    error: BaseException


Item = Change | Relisted | Health | Crashed


class Feed(Protocol):
    """What the consumer needs of a `Watcher`: start it, and take what it queues."""

    queue: queue.Queue[Item]

    def start(self) -> None: ...


@dataclass(frozen=True)
class Watched:
    """One kind to watch: what it fills in the state, and the version its first LIST had."""

    kind: kinds.Kind[Any, Any]
    field: Field
    version: str


def watched(conn: connection.Connection, snap: Snapshot, scope: lists.Scope) -> list[Watched]:
    """The kinds `--watch` follows, each from its first LIST's resourceVersion.

    Services, pods, nodes and EndpointSlices, or the legacy Endpoints when those were read
    instead. A kind that was not read (optional and refused: nodes, for a namespace-scoped
    reader) is not watched.
    """
    versions = conn.list_versions or {}
    endpoints = (
        kinds.ENDPOINT_SLICES if snap.endpoint_source == "EndpointSlice" else kinds.ENDPOINTS
    )
    out = []
    for kind, field_ in (
        (kinds.SERVICES, "services"),
        (kinds.PODS, "pods"),
        (endpoints, "endpoint_groups"),
        (kinds.NODES, "nodes"),
    ):
        version = versions.get((kind.plural, scope.namespace if kind.namespaced else None))
        if version is not None:
            out.append(Watched(kind, field_, version))  # type: ignore[arg-type]
    return out


def pod_versions(conn: connection.Connection, scope: lists.Scope) -> dict[str, str]:
    """Namespace → the version its pods were listed at, when listed one by one (a big cluster).

    Pods are then watched from the all-namespaces list's version (the oldest), and
    `live.State` skips the events of each such namespace up to its own list's version.
    """
    if scope.namespace is not None:
        return {}
    return {ns: v for (r, ns), v in (conn.list_versions or {}).items() if r == "pods" and ns}


@dataclass
class Watcher:
    """The watcher threads of one run, and the queue they fill."""

    conn: connection.Connection
    scope: lists.Scope
    kinds: Sequence[Watched]
    timeout_seconds: int = WATCH_TIMEOUT
    warn: Callable[[str], None] = lambda _: None
    poll_seconds: float = POLL_SECONDS
    queue: queue.Queue[Item] = field(default_factory=lambda: queue.Queue(QUEUE_SIZE))
    stopped: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        """One daemon thread per kind: Ctrl-C (in the main thread) never waits for them."""
        for w in self.kinds:
            name = f"watch-{w.kind.plural}"
            threading.Thread(target=self._guarded, args=(w,), name=name, daemon=True).start()

    def stop(self) -> None:
        self.stopped.set()

    def _put(self, item: Item) -> None:
        self.queue.put(item)  # blocks while the consumer is behind: backpressure, no loss

    def _guarded(self, w: Watched) -> None:
        try:
            self._run(w)
        except Exception as e:  # a bug: never a thread that stops quietly, a status still green
            self._put(Crashed(e))

    def _run(self, w: Watched) -> None:
        plural = w.kind.plural
        version, attempt, healthy = w.version, 0, False
        while not self.stopped.is_set():
            try:
                if not version:
                    objects, version = watch.list_objects(self.conn, w.kind, self.scope)
                    self._put(Relisted(w.field, objects, plural))
                for ev in watch.watch(
                    self.conn, w.kind, w.field, self.scope, version, self.timeout_seconds
                ):
                    if not healthy:
                        healthy, attempt = True, 0
                        self._put(Health(plural, "watching"))
                    if isinstance(ev, watch.Bookmark):
                        version = ev.resource_version or version
                        continue
                    self._put(ev)
                    version = ev.resource_version or version
            except watch.WatchExpired:
                self.warn(f"watch of {plural} expired (410 Gone): listed again")
                version = ""
            except (ForbiddenError, NotFoundError) as e:
                self.warn(f"{e.message}; listing {plural} every {self.poll_seconds:g}s instead")
                self._poll(w)
                return
            except (watch.WatchBroken, KinspectError) as e:
                attempt += 1
                healthy = False
                reason = e.reason if isinstance(e, watch.WatchBroken) else e.message
                self._put(Health(plural, "reconnecting", attempt, reason))
                after = e.retry_after if isinstance(e, watch.WatchBroken) else None
                self.stopped.wait(after if after is not None else retry.backoff(attempt))

    def _poll(self, w: Watched) -> None:
        """List the kind again and again: for a kind that may be listed but not watched."""
        self._put(Health(w.kind.plural, "polling"))
        attempt = 0
        while not self.stopped.wait(self.poll_seconds):
            try:
                objects, _ = watch.list_objects(self.conn, w.kind, self.scope)
            except KinspectError as e:
                attempt += 1
                self._put(Health(w.kind.plural, "reconnecting", attempt, e.message))
                continue
            if attempt:
                attempt = 0
                self._put(Health(w.kind.plural, "polling"))
            self._put(Relisted(w.field, objects, w.kind.plural, polled=True))
