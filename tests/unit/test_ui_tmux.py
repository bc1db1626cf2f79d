"""The real `kinspect ui` binary in a real terminal: tmux, send-keys, capture-pane.

The Pilot tests (test_ui.py) drive the app in-process; this one runs `python -m kinspect ui`
as a user does, in a pty of tmux's own, and reads the screen tmux keeps. tmux runs on a socket
of this test's own (-L), so it never touches a tmux server someone else started.

tmux is installed by `make tmux` (part of `make unit`). Missing, the test fails in CI (the
CI variable is set) and is skipped elsewhere, saying why.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from kinspect.wire import snapshotfile

from .test_ui import MARKUP_POD, MARKUP_SVC, _shop


def _tmux_binary() -> str:
    path = shutil.which("tmux")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("tmux is not installed; CI must run this test (make tmux installs it)")
        pytest.skip("tmux is not installed (outside CI only: `make tmux` installs it)")
    return path


class Terminal:
    """One tmux session of 160x50 on a private socket."""

    def __init__(self, tmux: str) -> None:
        self.base = [tmux, "-L", f"kinspect-test-{uuid.uuid4().hex[:8]}"]

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        # The server (started by new-session) passes its environment to the pane: without
        # COLUMNS and LINES, which the terminal size would otherwise be read from.
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        return subprocess.run(
            [*self.base, *args], capture_output=True, text=True, check=check, timeout=30, env=env
        )

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "ui").stdout

    def keys(self, *keys: str, literal: bool = False) -> None:
        self.run("send-keys", "-t", "ui", *(["-l"] if literal else []), *keys)

    def wait_for(self, *needles: str, seconds: float = 20) -> str:
        deadline = time.monotonic() + seconds
        while True:
            shown = self.screen()
            if all(n in shown for n in needles):
                return shown
            if time.monotonic() > deadline:
                raise AssertionError(f"never on screen: {needles}\nscreen:\n{shown}")
            time.sleep(0.1)

    def wait_gone(self, needle: str, seconds: float = 20) -> None:
        deadline = time.monotonic() + seconds
        while needle in (shown := self.screen()):
            if time.monotonic() > deadline:
                raise AssertionError(f"still on screen: {needle}\nscreen:\n{shown}")
            time.sleep(0.1)

    def alive(self) -> bool:
        return self.run("has-session", "-t", "ui", check=False).returncode == 0


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    t = Terminal(_tmux_binary())
    try:
        yield t
    finally:
        t.run("kill-server", check=False)  # this test's own server only (its socket)


def test_the_binary_in_tmux_searches_traces_and_quits(tmp_path: Path, terminal: Terminal) -> None:
    path = tmp_path / "shop.json.gz"
    snapshotfile.save(str(path), _shop())
    code = tmp_path / "exit-code"
    cmd = f"{sys.executable} -m kinspect ui --snapshot {path}; echo $? > {code}"
    terminal.run("new-session", "-d", "-s", "ui", "-x", "160", "-y", "50", cmd)
    first = terminal.wait_for("namespaces", "services", "shop/api  ClusterIP", LIVE)
    assert "degraded" in first
    assert "10.244.1.50:9000  NOT READY  pod shop/api-b" in first
    # / and an IP: the pod whose name looks like markup, in its namespace, as written.
    terminal.keys("/")
    terminal.wait_for("service, pod or IP")
    terminal.keys("10.244.2.9", literal=True)
    terminal.wait_for(f"10.244.2.9  pod IP of odd/{MARKUP_POD}")
    terminal.keys("Enter")
    terminal.wait_for(f"odd/{MARKUP_SVC}  ClusterIP", "t: trace 10.244.2.9")
    terminal.keys("t")
    terminal.wait_for("kinspect trace 10.244.2.9", f"PodIP: pod IP of odd/{MARKUP_POD} on n0")
    terminal.keys("Escape")
    terminal.wait_gone("kinspect trace 10.244.2.9")
    terminal.keys("q")
    deadline = time.monotonic() + 20
    while terminal.alive():
        assert time.monotonic() < deadline, "kinspect ui did not end on q"
        time.sleep(0.1)
    assert code.read_text().strip() == "0"


LIVE = "not live (r re-reads the file)"


def test_ctrl_c_in_the_binary_exits_130_with_one_line(tmp_path: Path, terminal: Terminal) -> None:
    path = tmp_path / "shop.json.gz"
    snapshotfile.save(str(path), _shop())
    code = tmp_path / "exit-code"
    # The pane stays after kinspect ends, to show what it printed once the screen was restored.
    cmd = f"{sys.executable} -m kinspect ui --snapshot {path}; echo $? > {code}; sleep 30"
    terminal.run("new-session", "-d", "-s", "ui", "-x", "160", "-y", "50", cmd)
    terminal.wait_for("namespaces", LIVE)
    terminal.keys("C-c")
    shown = terminal.wait_for("kinspect: error: interrupted")
    assert "namespaces" not in shown  # the terminal is restored
    assert "Traceback" not in shown
    deadline = time.monotonic() + 20
    while not code.exists() or not code.read_text().strip():
        assert time.monotonic() < deadline, "no exit code written"
        time.sleep(0.1)
    assert code.read_text().strip() == "130"
