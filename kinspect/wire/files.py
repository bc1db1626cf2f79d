"""Writing output files (`audit --output-file`, `snapshot save`) without surprising anyone.

A regular file (or a new one) is written to a temporary file beside it, then renamed over it,
so a reader (a scheduler, a dashboard) never sees half a report. What sits at the path is
respected:

- a symlink is followed: its target is rewritten and the link stays;
- a FIFO or a device (`/dev/stdout`, a named pipe to a collector) is written directly, since
  there is nothing to rename over;
- anything else (a directory, a socket) is refused with one line;
- an existing file keeps its mode; a new one gets the umask's (0644 by default), or 0600 when
  `private` (snapshots);
- a failed write leaves no temporary file behind.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile

from kinspect.model.errors import UsageError

_HINT = "check the path, or write to another one"


def _refuse(path: str, what: str) -> UsageError:
    return UsageError(f"cannot write {path}: it is {what}", _HINT)


def _umask() -> int:
    # There is no way to read the umask without setting it.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomic(path: str, data: bytes, private: bool = False) -> None:
    """Write `data` to `path` as the module docstring says; every failure is a `UsageError`."""
    real = os.path.realpath(path)
    try:
        st: os.stat_result | None = os.stat(real)
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise UsageError(f"cannot write {path}: {e.strerror}", _HINT) from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        if stat.S_ISFIFO(st.st_mode) or stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            _write_in_place(path, real, data)
            return
        kinds = {stat.S_ISDIR: "a directory", stat.S_ISSOCK: "a socket"}
        raise _refuse(path, next((w for f, w in kinds.items() if f(st.st_mode)), "not a file"))
    new_mode = 0o600 if private else 0o666 & ~_umask()
    mode = stat.S_IMODE(st.st_mode) if st is not None else new_mode
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(real), prefix=".kinspect-")
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), mode)
            f.write(data)
        os.replace(tmp, real)
        tmp = None
    except OSError as e:
        raise UsageError(f"cannot write {path}: {e.strerror}", _HINT) from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):  # already gone: nothing left behind
                os.unlink(tmp)


def _write_in_place(path: str, real: str, data: bytes) -> None:
    """A FIFO or a device: opened for writing as it is (never created, never replaced)."""
    try:
        fd = os.open(real, os.O_WRONLY | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    except OSError as e:
        raise UsageError(f"cannot write {path}: {e.strerror}", _HINT) from None
