"""A `kinspect ... --watch -o json` process read line by line with deadlines, and a mirror.

`Stream` starts kinspect as at a terminal (SIGINT at its default, so Ctrl-C is a real
KeyboardInterrupt), reads its stdout on a thread into a queue, and lets a test wait for an
event with a deadline (never a sleep). `Mirror` rebuilds, from the ChainEvents alone, every
service port's backends and their readiness: what a consumer of the stream knows. `backends_of`
gives the same projection of a fresh `kinspect map -o json`, so a test can check that the
stream lost nothing.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any

from .conftest import KINSPECT

# (namespace, service) → (port, protocol) → (address, port, pod name) → (ready, container):
# the container comes from the pod (its declared port), so a pod missed would show.
State = tuple[bool, str | None]
Backends = dict[tuple[str, str], dict[tuple[int, str], dict[tuple[str, int, str | None], State]]]


def _sigint_default() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _backend_key(b: dict[str, Any]) -> tuple[str, int, str | None]:
    return (b["address"], b["port"], (b.get("pod") or {}).get("name"))


def _state(b: dict[str, Any]) -> State:
    return (b["ready"], b.get("container"))


def _chain_backends(chain: dict[str, Any]) -> dict[tuple[int, str], dict[Any, State]]:
    return {
        (p["port"], p["protocol"]): {_backend_key(b): _state(b) for b in p["backends"]}
        for p in chain["ports"]
    }


def backends_of(report: dict[str, Any]) -> Backends:
    """A ChainReport (`map -o json`) as the mirror keeps it."""
    return {(s["namespace"], s["name"]): _chain_backends(s) for s in report["services"]}


class Mirror:
    """What a consumer of the ChainEvents knows: each service port's backends and readiness."""

    def __init__(self) -> None:
        self.services: Backends = {}

    def apply(self, ev: dict[str, Any]) -> None:
        kind = ev["event"]
        if kind == "synced":
            return
        key = (ev["namespace"], ev["service"])
        if kind in ("service-added", "service-changed"):
            self.services[key] = _chain_backends(ev["chain"])
        elif kind == "service-removed":
            self.services.pop(key, None)
        elif kind.startswith("backend-"):
            port = self.services[key].setdefault((ev["port"]["port"], ev["port"]["protocol"]), {})
            b = ev["backend"]
            if kind == "backend-removed":
                port.pop(_backend_key(b), None)
            else:
                port[_backend_key(b)] = _state(b)


class Stream:
    """One `kinspect <args> --watch -o json` process."""

    def __init__(
        self, args: list[str], env: dict[str, str] | None = None, json_lines: bool = True
    ) -> None:
        """Start kinspect; `json_lines=False`: each line of text arrives as {"line": text}."""
        self.json_lines = json_lines
        self.proc = subprocess.Popen(
            [*KINSPECT, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "NO_COLOR": "1", **(env or {})},
            preexec_fn=_sigint_default,  # noqa: PLW1509 (resets one signal, then exec)
        )
        self.lines: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self.mirror = Mirror()
        self.stderr = ""
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(json.loads(line) if self.json_lines else {"line": line})
        self.lines.put(None)

    def next(self, deadline: float, what: str) -> dict[str, Any]:
        left = deadline - time.monotonic()
        try:
            doc = self.lines.get(timeout=max(left, 0.01))
        except queue.Empty:
            raise AssertionError(self._failure(f"timed out waiting for {what}")) from None
        if doc is None:
            raise AssertionError(self._failure(f"kinspect ended before {what}"))
        self.seen.append(doc)
        if doc.get("kind") == "ChainEvent":
            self.mirror.apply(doc)
        return doc

    def until(
        self, what: str, check: Callable[[dict[str, Any]], bool], seconds: float = 60
    ) -> dict[str, Any]:
        """Read lines until one satisfies `check`; fail at the deadline naming `what`."""
        deadline = time.monotonic() + seconds
        while True:
            doc = self.next(deadline, what)
            if check(doc):
                return doc

    def until_mirror(self, what: str, check: Callable[[Mirror], bool], seconds: float = 60) -> None:
        """Read lines until the mirror satisfies `check`: checked first, after each line, and at
        least once a second (what it compares with may change without a line)."""
        deadline = time.monotonic() + seconds
        while not check(self.mirror):
            if time.monotonic() > deadline:
                raise AssertionError(self._failure(f"timed out waiting for {what}"))
            try:
                self.next(min(deadline, time.monotonic() + 1.0), what)
            except AssertionError:
                if self.proc.poll() is not None:
                    raise

    def synced(self, seconds: float = 60) -> dict[str, Any]:
        return self.until("the first read (synced)", lambda d: d["event"] == "synced", seconds)

    def interrupt(self) -> tuple[int, str]:
        """Ctrl-C: the exit status and stderr (kinspect must end within 10 s)."""
        self.proc.send_signal(signal.SIGINT)
        try:
            _, self.stderr = self.proc.communicate(timeout=10)
        finally:
            self.kill()
        return self.proc.returncode, self.stderr

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()

    def _failure(self, what: str) -> str:
        if self.proc.poll() is not None and self.proc.stderr is not None:
            self.stderr = self.proc.stderr.read()
        tail = "\n".join(json.dumps(d)[:300] for d in self.seen[-8:])
        return f"{what}; last lines:\n{tail}\nstderr: {self.stderr[-2000:]}"
