"""The errors every layer raises."""

from __future__ import annotations

from kinspect.errors import ExitCode, ForbiddenError


def test_forbidden_error_carries_its_http_status() -> None:
    refused = ForbiddenError("context c may not list nodes (cluster-wide) (403 Forbidden)")
    rejected = ForbiddenError("the API server rejected the credentials", "refresh", status=401)
    assert refused.status == 403
    assert rejected.status == 401
    assert rejected.hint == "refresh"
    assert rejected.exit_code == refused.exit_code == ExitCode.FORBIDDEN
