"""The CLI's error contract: one line on stderr, a hint, a documented exit code, no secrets."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from kinspect.errors import ExitCode

SECRET = "sUp3r-s3cret-t0ken"


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kinspect", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", **(env or {})},
    )


def _one_line_error(proc: subprocess.CompletedProcess[str], code: int, *needles: str) -> None:
    assert proc.returncode == code, proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith("kinspect: error: ")
    assert "Traceback" not in proc.stderr
    for n in needles:
        assert n in proc.stderr


def _kubeconfig(tmp_path: Path, server: str) -> str:
    p = tmp_path / "kubeconfig"
    p.write_text(f"""apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "{server}", insecure-skip-tls-verify: true}}}}]
users: [{{name: u, user: {{token: {SECRET}}}}}]
contexts: [{{name: ctx, context: {{cluster: c, user: u, namespace: shop}}}}]
current-context: ctx
""")
    return str(p)


def _free_loopback_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_missing_kubeconfig() -> None:
    _one_line_error(_run("map"), ExitCode.CONFIG, "no kubeconfig found", "--kubeconfig")


def test_unknown_context_lists_the_known_ones(tmp_path: Path) -> None:
    kc = _kubeconfig(tmp_path, "https://127.0.0.1:1")
    _one_line_error(
        _run("map", "--kubeconfig", kc, "--context", "nope"),
        ExitCode.CONFIG,
        "context 'nope' not found",
        "ctx",
    )


def test_broken_kubeconfig_does_not_echo_its_content(tmp_path: Path) -> None:
    p = tmp_path / "kc"
    p.write_text(f"users: [{{token: {SECRET}\n")
    proc = _run("map", "--kubeconfig", str(p))
    _one_line_error(proc, ExitCode.CONFIG, "cannot use kubeconfig")
    assert SECRET not in proc.stderr + proc.stdout


def test_unreachable_api_server_fails_fast_without_secrets(tmp_path: Path) -> None:
    # A closed loopback port: the connection is refused at once.
    kc = _kubeconfig(tmp_path, f"https://127.0.0.1:{_free_loopback_port()}")
    proc = _run("map", "--kubeconfig", kc, "--request-timeout", "5")
    _one_line_error(proc, ExitCode.UNREACHABLE, "is unreachable", "context ctx")
    assert SECRET not in proc.stderr + proc.stdout


@pytest.mark.parametrize("address", ["10.0.0.1:99999", "not an address", "[fd00::1"])
def test_bad_address_is_a_usage_error(address: str) -> None:
    _one_line_error(_run("trace", address), ExitCode.USAGE, "bad ")


def test_unknown_output_format_is_a_usage_error() -> None:
    _one_line_error(_run("map", "-o", "xml"), ExitCode.USAGE, "xml")


def test_debug_shows_the_traceback() -> None:
    proc = _run("--debug", "map")
    assert proc.returncode != 0
    assert "Traceback" in proc.stderr


def test_version() -> None:
    proc = _run("--version")
    assert proc.returncode == 0
    assert proc.stdout.startswith("kinspect ")


def test_bad_chunk_size_is_one_line_naming_the_variable() -> None:
    proc = _run("map", env={"KINSPECT_CHUNK_SIZE": "-5"})
    _one_line_error(proc, ExitCode.USAGE, "KINSPECT_CHUNK_SIZE", "'-5'", "0 for no paging")
