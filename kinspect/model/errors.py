"""Exit codes (public API) and the errors kinspect reports to a user as one line plus a hint.

Nothing here imports anything but the standard library: every layer may raise these.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit status. Documented in docs/exit-codes.md; values never change."""

    OK = 0
    ERROR = 1  # an unexpected failure (a bug): rerun with --debug and report it
    USAGE = 2  # bad flags or arguments (typer/click use 2 as well)
    CONFIG = 3  # kubeconfig missing or invalid, unknown context
    UNREACHABLE = 4  # the API server did not answer in time or refused the connection
    FORBIDDEN = 5  # 401 or 403: credentials rejected, or a get/list refused by RBAC
    NOT_FOUND = 6  # the service, namespace or address asked about does not exist
    FINDINGS = 7  # audit: a finding at or above --fail-on
    PARTIAL = 8  # audit: some contexts could not be audited (the others are in the report)
    SERVER_ERROR = 9  # the API server failed: 5xx after retries, an unexpected status, a bad body
    # diff: the two sides differ. diff(1) and kubectl diff say so with 1, but kinspect's 1 means
    # a bug and nothing else, so scripts test for 10 here where they would test diff(1) for 1.
    DIFFERENT = 10
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, as shells report it)


class KinspectError(Exception):
    """An error with a one-line message, a hint saying what to try, and an exit code."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(KinspectError):
    """Bad command-line input (address syntax, conflicting flags)."""

    exit_code = ExitCode.USAGE


class ConfigError(KinspectError):
    """No usable kubeconfig, or the context asked for does not exist."""

    exit_code = ExitCode.CONFIG


class UnreachableError(KinspectError):
    """The API server could not be reached or timed out."""

    exit_code = ExitCode.UNREACHABLE


class ForbiddenError(KinspectError):
    """The API server refused our credentials (401) or a verb on a resource (403)."""

    exit_code = ExitCode.FORBIDDEN

    def __init__(self, message: str, hint: str = "", *, status: int = 403) -> None:
        super().__init__(message, hint)
        self.status = status  # the HTTP status: 401 (credentials) or 403 (RBAC)


class NotFoundError(KinspectError):
    """What the user named is not in the cluster."""

    exit_code = ExitCode.NOT_FOUND


class ServerError(KinspectError):
    """The API server failed: HTTP 5xx after retries, an unexpected status, a malformed body."""

    exit_code = ExitCode.SERVER_ERROR
