"""A closed stdout (`kinspect map -A -o json | head -c 100`) ends quietly, exit 0, every format.

The reader of a pipe that goes away makes the next write fail with EPIPE (Python ignores
SIGPIPE). kinspect then has nothing left to say to anyone: like `cat` and kubectl it stops,
without a message and without calling it a bug. The pipes here are real ones whose read end is
closed before kinspect writes, so the error is the genuine `BrokenPipeError` (errno EPIPE) that
click's own handler would turn into exit 1.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kinspect import cli
from kinspect.model.errors import ExitCode
from kinspect.wire import snapshotfile

from .builders import snap
from .runner import _stream, _text
from .test_commands import _save


@pytest.fixture
def closed_stdout() -> Iterator[int]:
    """The write end of a pipe whose reader has already gone."""
    r, w = os.pipe()
    os.close(r)
    yield w
    os.close(w)


def _commands(new: str, old: str) -> list[list[str]]:
    cmds = [["map", "-A", "--snapshot", new, "-o", f] for f in ("table", "wide", "tree")]
    cmds += [["map", "-A", "--snapshot", new, "-o", f] for f in ("json", "yaml", "dot", "mermaid")]
    cmds += [["ips", "--snapshot", new, "-o", f] for f in ("text", "json", "yaml")]
    cmds += [["trace", "10.244.0.5:8080", "--snapshot", new, "-o", f] for f in ("text", "json")]
    cmds += [["explain", "--snapshot", new], ["policy", "ns/web", "--snapshot", new]]
    cmds += [
        ["audit", "--snapshot", new, "-o", f]
        for f in ("text", "json", "markdown", "html", "junit", "prometheus")
    ]
    # Two equal snapshots: exit 0 is also diff's answer.
    cmds += [["diff", old, old, "-o", f] for f in ("text", "json", "yaml", "markdown")]
    cmds += [["--help"], ["map", "--help"], ["--version"]]
    return cmds


def _old(tmp_path: Path) -> str:
    path = str(tmp_path / "old.json.gz")
    snapshotfile.save(path, snap())
    return path


def test_every_command_and_format_ends_quietly_on_a_closed_stdout(
    tmp_path: Path, closed_stdout: int
) -> None:
    for argv in _commands(_save(tmp_path), _old(tmp_path)):
        # Unbuffered: every write reaches the pipe, as a big output's would.
        raw = open(closed_stdout, "wb", buffering=0, closefd=False)  # noqa: SIM115
        out, err = io.TextIOWrapper(raw, encoding="utf-8", write_through=True), _stream()
        code = cli.run(argv, stdout=out, stderr=err, environ={})
        assert (code, _text(err)) == (ExitCode.OK, ""), argv


def test_the_process_exits_0_without_a_word_on_a_closed_stdout(
    tmp_path: Path, closed_stdout: int
) -> None:
    argv = [sys.executable, "-m", "kinspect", "--debug", "map", "-A", "--snapshot", _save(tmp_path)]
    for fmt in ("json", "yaml", "table"):
        proc = subprocess.run(
            [*argv, "-o", fmt],
            stdout=closed_stdout,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
            env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"},
        )
        assert (proc.returncode, proc.stderr) == (0, ""), fmt


def test_an_error_on_a_closed_stderr_keeps_its_exit_code(
    tmp_path: Path, closed_stdout: int
) -> None:
    """`kinspect map --snapshot missing 2>&1 | true`: the line cannot be said, the code stays."""
    for debug in ([], ["--debug"]):
        proc = subprocess.run(
            [sys.executable, "-m", "kinspect", *debug, "map", "--snapshot", str(tmp_path / "no")],
            stdout=closed_stdout,
            stderr=closed_stdout,
            timeout=60,
            check=False,
            env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"},
        )
        assert proc.returncode == ExitCode.USAGE, debug
