"""Writing output files: atomically, so a reader (a scheduler, a dashboard) never sees half."""

from __future__ import annotations

import os
import tempfile

from kinspect.errors import UsageError


def write_atomic(path: str, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, then rename it over `path`."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".kinspect-")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError as e:
        raise UsageError(f"cannot write {path}: {e.strerror}", "check the path") from None
