"""docs/exit-codes.md names every exit code and every error class, with the code each maps to."""

from __future__ import annotations

import re
from pathlib import Path

from kinspect.model import errors
from kinspect.model.errors import ExitCode, ForbiddenError, KinspectError

DOC = (Path(__file__).resolve().parents[2] / "docs" / "exit-codes.md").read_text()


def _classes() -> list[type[KinspectError]]:
    out: list[type[KinspectError]] = [KinspectError]
    todo = [KinspectError]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub.__module__ == errors.__name__:
                out.append(sub)
                todo.append(sub)
    return out


def test_every_exit_code_is_documented() -> None:
    rows = dict(re.findall(r"^\| (\d+) \| (\w+) \|", DOC, re.M))
    assert rows == {str(c.value): c.name for c in ExitCode}


def test_every_error_class_is_documented_with_its_code() -> None:
    rows = dict(re.findall(r"^\| `(\w+)` \| (\d+) ", DOC, re.M))
    assert rows == {cls.__name__: str(int(cls.exit_code)) for cls in _classes()}


def test_forbidden_error_carries_its_http_status() -> None:
    refused = ForbiddenError("context c may not list nodes (cluster-wide) (403 Forbidden)")
    rejected = ForbiddenError("the API server rejected the credentials", "refresh", status=401)
    assert refused.status == 403
    assert rejected.status == 401
    assert rejected.hint == "refresh"
    assert rejected.exit_code == refused.exit_code == ExitCode.FORBIDDEN
