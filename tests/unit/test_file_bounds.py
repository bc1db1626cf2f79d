"""The files kinspect reads, from pipes and FIFOs, bounded in size and nesting (issue 24).

Snapshots, `diff` inputs, ignore files and baselines are the user's files, but often made by
someone else: read from a pipe, a FIFO or `<(...)` as well as from a regular file (D10), never
past their size cap, and refused with one line (exit 2) when nested deeper than their decoder
goes (D7).
"""

from __future__ import annotations

import errno
import gzip
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from kinspect.model.errors import ExitCode
from kinspect.wire import snapshotfile

from .builders import ep, group, pod, snap, sport, svc
from .runner import invoke, one_line_error


def _snapshot_bytes(compress: bool, replicas: int = 1) -> bytes:
    pods = tuple(pod(f"p{i}", f"10.244.0.{i + 5}") for i in range(replicas))
    s = snap(
        services=(svc("web", sport(80, 8080)),),
        groups=(group("web", [(None, 8080, "TCP")], *(ep(p.pod_ips[0], p.name) for p in pods)),),
        pods=pods,
    )
    return snapshotfile.dumps(s, compress)


@contextmanager
def _fifo(tmp: Path, name: str, data: bytes) -> Iterator[str]:
    """A FIFO that a thread fills with `data` once a reader opens it (10 s deadline)."""
    path = tmp / name
    os.mkfifo(path)
    failed: list[BaseException] = []

    def write() -> None:
        deadline = time.monotonic() + 10
        while True:  # O_NONBLOCK: ENXIO until the reader opens it; never blocks for ever
            try:
                fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
                break
            except OSError as e:
                if e.errno != errno.ENXIO or time.monotonic() > deadline:
                    failed.append(e)
                    return
                time.sleep(0.01)
        os.set_blocking(fd, True)
        try:
            os.write(fd, data)
        except BrokenPipeError:
            pass  # the reader stopped at its cap
        finally:
            os.close(fd)

    t = threading.Thread(target=write, daemon=True)
    t.start()
    yield str(path)
    t.join(10)
    assert not t.is_alive()
    assert not failed, failed


def _pipe(data: bytes) -> str:
    """`<(...)`: a /dev/fd path to a pipe already holding `data` (less than a pipe's buffer)."""
    r, w = os.pipe()
    assert len(data) < 65536
    os.write(w, data)
    os.close(w)
    return f"/dev/fd/{r}"


@pytest.mark.parametrize("compress", [False, True])
def test_a_snapshot_from_a_pipe_maps_as_from_a_file(tmp_path: Path, compress: bool) -> None:
    # issue 24 D10: "cannot read snapshot /dev/fd/63: None" (a pipe cannot seek).
    data = _snapshot_bytes(compress)
    regular = tmp_path / "s.json"
    regular.write_bytes(data)
    want = invoke("map", "--snapshot", str(regular))
    assert want.code == ExitCode.OK, want.stderr
    path = _pipe(data)
    try:
        got = invoke("map", "--snapshot", path)
    finally:
        os.close(int(path.rsplit("/", 1)[1]))
    assert (got.code, got.stdout, got.stderr) == (ExitCode.OK, want.stdout, want.stderr)


def test_diff_of_two_fifos(tmp_path: Path) -> None:
    old, new = _snapshot_bytes(True, 1), _snapshot_bytes(False, 2)
    (tmp_path / "old.json.gz").write_bytes(old)
    (tmp_path / "new.json").write_bytes(new)
    want = invoke("diff", str(tmp_path / "old.json.gz"), str(tmp_path / "new.json"))
    assert want.code == ExitCode.DIFFERENT, want.stderr
    with _fifo(tmp_path, "old", old) as a, _fifo(tmp_path, "new", new) as b:
        got = invoke("diff", a, b)
    assert got.code == ExitCode.DIFFERENT, got.stderr
    assert got.stdout == want.stdout.replace(str(tmp_path / "old.json.gz"), a).replace(
        str(tmp_path / "new.json"), b
    )


def test_a_fifo_past_the_cap_stops_there(tmp_path: Path) -> None:
    big = gzip.compress(b" " * (8 * 2**20))
    with _fifo(tmp_path, "big", big) as path:
        r = invoke("audit", "--snapshot", path, env={"KINSPECT_MAX_SNAPSHOT_BYTES": "1000000"})
    one_line_error(r, ExitCode.USAGE, "larger than 1000000 bytes")


# --- nesting depth (D7): exit 2, one line, for every file; never RecursionError -------------

DEEP = 100_000


def _deep_json(depth: int = DEEP) -> bytes:
    return (
        b'{"apiVersion": "kinspect/v1", "kind": "Snapshot", "x": '
        + b"[" * depth
        + b"]" * depth
        + b"}"
    )


@pytest.mark.parametrize("compress", [False, True])
def test_a_deeply_nested_snapshot_is_one_line(tmp_path: Path, compress: bool) -> None:
    p = tmp_path / "deep.json"
    p.write_bytes(gzip.compress(_deep_json()) if compress else _deep_json())
    for args in (("map", "--snapshot", str(p)), ("audit", "--snapshot", str(p))):
        one_line_error(invoke(*args), ExitCode.USAGE, f"{p} is nested too deeply")


def test_a_deeply_nested_diff_input_is_one_line(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_bytes(_snapshot_bytes(False))
    deep = tmp_path / "deep.json"
    deep.write_bytes(_deep_json())
    one_line_error(invoke("diff", str(good), str(deep)), ExitCode.USAGE, f"{deep} is nested")
    report = b'{"apiVersion": "kinspect/v1", "kind": "AuditReport", "findings": [], "x": '
    deep.write_bytes(report + b"[" * DEEP + b"]" * DEEP + b"}")
    one_line_error(invoke("diff", str(deep), str(deep)), ExitCode.USAGE, f"{deep} is nested")


def test_a_deeply_nested_baseline_is_one_line(tmp_path: Path) -> None:
    snapshot = tmp_path / "s.json"
    snapshot.write_bytes(_snapshot_bytes(False))
    deep = tmp_path / "base.json"
    deep.write_bytes(
        b'{"kind": "AuditReport", "findings": [], "x": ' + b"[" * DEEP + b"]" * DEEP + b"}"
    )
    r = invoke("audit", "--snapshot", str(snapshot), "--baseline", str(deep))
    one_line_error(r, ExitCode.USAGE, f"{deep} is nested too deeply", "kinspect audit -o json")


@pytest.mark.parametrize(
    ("depth", "flow"), [(40, True), (1000, True), (20_000, True), (40, False), (1000, False)]
)
def test_a_deeply_nested_ignore_file_is_one_line(tmp_path: Path, depth: int, flow: bool) -> None:
    snapshot = tmp_path / "s.json"
    snapshot.write_bytes(_snapshot_bytes(False))
    rules = tmp_path / "ignore.yaml"
    if flow:
        rules.write_text("- check: '*'\n  reason: " + "[" * depth + "]" * depth + "\n")
    else:
        rules.write_text("".join("  " * i + "-\n" for i in range(depth)) + "  " * depth + "x\n")
    r = invoke("audit", "--snapshot", str(snapshot), "--ignore-file", str(rules))
    one_line_error(r, ExitCode.USAGE, f"ignore file {rules} is nested deeper than 32 levels")


def test_an_ignore_file_past_its_cap_is_one_line(tmp_path: Path) -> None:
    snapshot = tmp_path / "s.json"
    snapshot.write_bytes(_snapshot_bytes(False))
    rules = tmp_path / "ignore.yaml"
    rules.write_text("- check: '*'\n  reason: " + "x" * (4 * 2**20) + "\n")
    r = invoke("audit", "--snapshot", str(snapshot), "--ignore-file", str(rules))
    one_line_error(r, ExitCode.USAGE, f"ignore file {rules} is larger than 4194304 bytes")


def test_a_baseline_past_the_cap_is_one_line(tmp_path: Path) -> None:
    snapshot = tmp_path / "s.json"
    snapshot.write_bytes(_snapshot_bytes(False))
    base = tmp_path / "base.json"
    cap = snapshot.stat().st_size + 10
    base.write_bytes(b'{"kind": "AuditReport", "findings": []}' + b" " * cap)
    r = invoke(
        "audit",
        "--snapshot",
        str(snapshot),
        "--baseline",
        str(base),
        env={"KINSPECT_MAX_SNAPSHOT_BYTES": str(cap)},
    )
    one_line_error(r, ExitCode.USAGE, f"baseline {base} is larger than {cap} bytes")


def test_a_baseline_under_a_cap_larger_than_memory_is_read(tmp_path: Path) -> None:
    """The cap bounds the read; it is never a buffer reserved up front (MemoryError, exit 1)."""
    snapshot = tmp_path / "s.json"
    snapshot.write_bytes(_snapshot_bytes(False))
    base = tmp_path / "base.json"
    base.write_bytes(b'{"kind": "AuditReport", "findings": []}')
    r = invoke(
        "audit",
        "--snapshot",
        str(snapshot),
        "--baseline",
        str(base),
        env={"KINSPECT_MAX_SNAPSHOT_BYTES": str(10**17)},
    )
    assert r.code == ExitCode.OK, r.stderr
