"""When to retry a GET, how long to wait, and the gate that makes parallel reads wait together.

Pure arithmetic plus one small lock-guarded object; no I/O. `kinspect.wire.transport` sends the
requests and asks this module what to do after each failure. The policy follows client-go's:
429 and 5xx on a GET (and a connection reset before the response began) are retried; a
`Retry-After: N` header is honoured; without one the wait grows exponentially, capped, with
jitter, so parallel readers do not retry in lockstep; and it all ends at a total deadline.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

# The statuses a GET is retried on: too many requests (API Priority and Fairness), and the
# server or a proxy in front of it failing for a moment.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# client-go's default for Retry-After driven retries is 10; the same bounds our loop.
MAX_ATTEMPTS = 10
# Exponential backoff without Retry-After: 0.5 s, 1 s, 2 s, 4 s, then 8 s each.
BASE_DELAY = 0.5
MAX_DELAY = 8.0
# A watch told to come back later (it has no retry window: it runs until Ctrl-C) waits at most
# this long: a server asking for minutes is asked again sooner, and the status line says so.
MAX_RETRY_AFTER = 30.0
# All retries of one request end within its --request-timeout of the first attempt, and not
# before this: an API server restarting takes a few seconds, a Retry-After is often 1.
MIN_RETRY_WINDOW = 5.0


def retry_window(request_timeout: float) -> float:
    """Seconds from a request's first attempt within which it may be retried."""
    return max(request_timeout, MIN_RETRY_WINDOW)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header in its seconds form; None when absent or not that form.

    The HTTP-date form is not used by the API server (it sends whole seconds) and is ignored.
    Not capped: a LIST compares it with what is left of its retry window (`beyond_window`), a
    watch caps it at MAX_RETRY_AFTER.
    """
    if value is None:
        return None
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 6:
        return None
    return float(text)


def beyond_window(retry_after: float | None, window_end: float, now: float) -> bool:
    """Whether the server asked to wait past the retry window (`window_end`, monotonic).

    Then waiting cannot help: the read fails at once, naming both, and holds no other reader.
    """
    return retry_after is not None and now + retry_after > window_end


def backoff(attempt: int, rand: Callable[[], float] = random.random) -> float:
    """The wait before retry number `attempt` (1 for the first retry), with jitter.

    Between half and all of BASE_DELAY * 2^(attempt-1), capped at MAX_DELAY.
    """
    ceiling = min(MAX_DELAY, BASE_DELAY * 2 ** min(max(attempt - 1, 0), 16))
    return float(ceiling * (0.5 + 0.5 * rand()))


def remaining(deadline: float, now: float) -> float:
    """Seconds left until `deadline` (a time.monotonic() value), never negative."""
    return max(0.0, deadline - now)


@dataclass
class Gate:
    """A time before which no request of one connection is sent.

    When one read is told to back off (429, Retry-After), every parallel read waits with it
    instead of adding to the load of a server that asked for less.
    """

    _until: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def close_for(self, seconds: float, now: float | None = None) -> None:
        """Hold every request until `seconds` from now (or later, if already held longer)."""
        t = (time.monotonic() if now is None else now) + seconds
        with self._lock:
            self._until = max(self._until, t)

    def wait_time(self, now: float | None = None) -> float:
        """How long a request about to be sent must still wait."""
        with self._lock:
            until = self._until
        return remaining(until, time.monotonic() if now is None else now)

    def wait(self) -> None:
        """Sleep until the gate is open (it may be closed again while sleeping)."""
        while (left := self.wait_time()) > 0:
            time.sleep(min(left, 0.25))
