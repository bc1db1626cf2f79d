"""Writing reports and snapshots (issue 12, "Writing reports and snapshots safely")."""

from __future__ import annotations

import os
import socket
import stat
import threading
from pathlib import Path

import pytest

from kinspect.model.errors import UsageError
from kinspect.wire import files


def _leftovers(d: Path) -> list[str]:
    return [p.name for p in d.iterdir() if p.name.startswith(".kinspect-")]


def test_a_new_file_follows_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        files.write_atomic(str(tmp_path / "r.prom"), b"x")
        files.write_atomic(str(tmp_path / "s.json"), b"x", private=True)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "r.prom").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "s.json").stat().st_mode) == 0o600


def test_an_existing_file_keeps_its_mode(tmp_path: Path) -> None:
    p = tmp_path / "r.prom"
    p.write_bytes(b"old")
    p.chmod(0o640)
    files.write_atomic(str(p), b"new")
    assert p.read_bytes() == b"new"
    assert stat.S_IMODE(p.stat().st_mode) == 0o640
    p.chmod(0o644)
    files.write_atomic(str(p), b"newer", private=True)
    assert stat.S_IMODE(p.stat().st_mode) == 0o644


def test_a_symlink_is_followed_to_its_target(tmp_path: Path) -> None:
    target = tmp_path / "real.md"
    target.write_bytes(b"old")
    link = tmp_path / "link.md"
    link.symlink_to(target)
    files.write_atomic(str(link), b"new")
    assert link.is_symlink()
    assert target.read_bytes() == b"new"
    assert _leftovers(tmp_path) == []


def test_a_fifo_is_written_directly(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    files.write_atomic(str(fifo), b"report")
    reader.join(10)
    assert got == [b"report"]
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert _leftovers(tmp_path) == []


def _device(tmp_path: Path, name: str, minor: int) -> Path:
    """A private copy of a memory device (1, minor): a regression replaces it, not /dev's."""
    p = tmp_path / name
    try:
        os.mknod(p, stat.S_IFCHR | 0o666, os.makedev(1, minor))
    except PermissionError:
        pytest.skip("creating a device node needs root")
    return p


def test_a_device_is_written_directly(tmp_path: Path) -> None:
    null = _device(tmp_path, "null", 3)
    files.write_atomic(str(null), b"report")
    assert stat.S_ISCHR(null.stat().st_mode)
    assert _leftovers(tmp_path) == []


def test_a_full_device_is_one_line(tmp_path: Path) -> None:
    full = _device(tmp_path, "full", 7)
    with pytest.raises(UsageError, match=r"cannot write .*full: No space left"):
        files.write_atomic(str(full), b"report")
    assert stat.S_ISCHR(full.stat().st_mode)
    assert _leftovers(tmp_path) == []


def test_a_directory_or_socket_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="is a directory"):
        files.write_atomic(str(tmp_path), b"x")
    sock_path = tmp_path / "s.sock"
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(sock_path))
        with pytest.raises(UsageError, match="is a socket"):
            files.write_atomic(str(sock_path), b"x")
        assert stat.S_ISSOCK(sock_path.stat().st_mode)
    assert _leftovers(tmp_path) == []


def test_a_failed_write_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(UsageError, match="No space left"):
        files.write_atomic(str(tmp_path / "r.md"), b"x")
    assert _leftovers(tmp_path) == []
    assert not (tmp_path / "r.md").exists()


def test_a_missing_directory_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"cannot write .*: No such file or directory"):
        files.write_atomic(str(tmp_path / "no" / "r.md"), b"x")


def test_a_new_snapshot_is_private(tmp_path: Path) -> None:
    from kinspect.wire import snapshotfile
    from tests.unit.builders import snap

    old = os.umask(0o022)
    try:
        snapshotfile.save(str(tmp_path / "s.json.gz"), snap())
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "s.json.gz").stat().st_mode) == 0o600
