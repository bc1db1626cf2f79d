"""The CLI's error contract, in-process through `cli.run`: one line on stderr, a hint, a
documented exit code, no secrets. Two tests run the real entry point in a subprocess."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from kinspect.commands import map as map_cmd
from kinspect.model.errors import ExitCode

from .runner import invoke, one_line_error

SECRET = "sUp3r-s3cret-t0ken"


def _kubeconfig(tmp_path: Path, server: str) -> str:
    p = tmp_path / "kubeconfig"
    p.write_text(f"""apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "{server}"}}}}]
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
    one_line_error(invoke("map"), ExitCode.CONFIG, "no kubeconfig found", "--kubeconfig")


def test_kubeconfig_from_the_environment(tmp_path: Path) -> None:
    r = invoke("map", env={"KUBECONFIG": str(tmp_path / "nope")})
    one_line_error(r, ExitCode.CONFIG, "no kubeconfig found", "nope")


def test_no_in_cluster_service_account() -> None:
    r = invoke("ips", env={"KUBERNETES_SERVICE_HOST": "10.96.0.1"})
    one_line_error(r, ExitCode.CONFIG, "no in-cluster service account")


def test_unknown_context_lists_the_known_ones(tmp_path: Path) -> None:
    kc = _kubeconfig(tmp_path, "https://127.0.0.1:1")
    one_line_error(
        invoke("map", "--kubeconfig", kc, "--context", "nope"),
        ExitCode.CONFIG,
        "context 'nope' not found",
        "ctx",
    )


def test_broken_kubeconfig_does_not_echo_its_content(tmp_path: Path) -> None:
    p = tmp_path / "kc"
    p.write_text(f"users: [{{token: {SECRET}\n")
    r = invoke("map", "--kubeconfig", str(p))
    one_line_error(r, ExitCode.CONFIG, "cannot use kubeconfig")
    assert SECRET not in r.stderr + r.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("map",),
        ("ips",),
        ("trace", "10.96.0.1:443"),
        ("explain",),
        ("snapshot", "save", "x.json"),
        ("audit",),
    ],
)
def test_unreachable_api_server_fails_fast_without_secrets(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    # A closed loopback port: the connection is refused at once.
    kc = _kubeconfig(tmp_path, f"https://127.0.0.1:{_free_loopback_port()}")
    r = invoke(*args, "--kubeconfig", kc, "--request-timeout", "5")
    one_line_error(r, ExitCode.UNREACHABLE, "is unreachable", "context ctx")
    assert SECRET not in r.stderr + r.stdout


@pytest.mark.parametrize("address", ["10.0.0.1:99999", "not an address", "[fd00::1"])
def test_bad_address_is_a_usage_error(address: str) -> None:
    one_line_error(invoke("trace", address), ExitCode.USAGE, "bad ")


def test_unknown_output_format_is_a_usage_error() -> None:
    one_line_error(invoke("map", "-o", "xml"), ExitCode.USAGE, "xml")


def test_no_command_is_a_usage_error() -> None:
    one_line_error(invoke("--debug"), ExitCode.USAGE, "kinspect --help")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("map", "-n", "a", "-A"), "-n and -A both given"),
        (("ips", "-n", "a", "-A", "--snapshot", "x"), "-n and -A both given"),
        (("map", "-l", "app=x", "--snapshot", "x"), "-l cannot filter a snapshot"),
        (("map", "--request-timeout", "0"), "--request-timeout must be positive"),
        (("audit", "--ignore", "no-such-check", "--snapshot", "x"), "no-such-check"),
    ],
)
def test_conflicting_or_bad_flags_are_usage_errors(args: tuple[str, ...], needle: str) -> None:
    one_line_error(invoke(*args), ExitCode.USAGE, needle)


def test_debug_shows_the_traceback_and_keeps_the_exit_code() -> None:
    r = invoke("--debug", "map")
    assert r.code == ExitCode.CONFIG
    assert "Traceback" in r.stderr
    assert r.stderr.rstrip().splitlines()[-1].startswith("kinspect: error: no kubeconfig")


def test_kinspect_debug_variable_also_shows_tracebacks() -> None:
    r = invoke("map", env={"KINSPECT_DEBUG": "1"})
    assert r.code == ExitCode.CONFIG
    assert "Traceback" in r.stderr


def test_a_bug_is_exit_1_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_: object) -> ExitCode:
        raise ZeroDivisionError

    monkeypatch.setattr(map_cmd, "map_", boom)
    one_line_error(invoke("map"), ExitCode.ERROR, "unexpected ZeroDivisionError", "--debug")


def test_ctrl_c_is_130_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*_: object) -> ExitCode:
        raise KeyboardInterrupt

    monkeypatch.setattr(map_cmd, "ips", interrupted)
    one_line_error(invoke("ips"), ExitCode.INTERRUPTED, "interrupted")


def test_a_closed_pipe_is_not_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def closed(*_: object) -> ExitCode:
        raise BrokenPipeError

    monkeypatch.setattr(map_cmd, "explain", closed)
    r = invoke("explain")
    assert r.code == ExitCode.OK
    assert r.stderr == ""


def test_version() -> None:
    r = invoke("--version")
    assert r.code == ExitCode.OK
    assert r.stdout.startswith("kinspect ")


def test_bad_chunk_size_is_one_line_naming_the_variable() -> None:
    r = invoke("map", "--kubeconfig", "x", env={"KINSPECT_CHUNK_SIZE": "-5"})
    one_line_error(r, ExitCode.USAGE, "KINSPECT_CHUNK_SIZE", "'-5'", "0 for no paging")


# --- the real entry point --------------------------------------------------------------------


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kinspect", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"},
    )


def test_the_process_exits_with_the_documented_code() -> None:
    proc = _run("map")
    assert proc.returncode == ExitCode.CONFIG
    assert proc.stderr.startswith("kinspect: error: no kubeconfig found")


def test_the_process_prints_its_version() -> None:
    proc = _run("--version")
    assert proc.returncode == 0
    assert proc.stdout.startswith("kinspect ")


def test_a_failing_exec_credential_plugin_is_named_with_its_code_and_one_line(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    plugin = tmp_path / "plugin.sh"
    plugin.write_text("#!/bin/sh\necho 'token expired: run login' >&2\necho second >&2\nexit 3\n")
    plugin.chmod(0o755)
    kc = tmp_path / "kubeconfig"
    kc.write_text(f"""apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "https://127.0.0.1:{_free_loopback_port()}"}}}}]
users: [{{name: u, user: {{exec: {{apiVersion: client.authentication.k8s.io/v1,
  command: "{plugin}", interactiveMode: Never}}}}}}]
contexts: [{{name: ctx, context: {{cluster: c, user: u}}}}]
current-context: ctx
""")
    r = invoke("map", "--kubeconfig", str(kc))
    one_line_error(r, ExitCode.CONFIG, "credential plugin of context ctx exited 3: token expired")
    assert "second" not in r.stderr
    assert "403" not in r.stderr
    leaked = capfd.readouterr()
    assert "ERROR:root" not in leaked.err + leaked.out


def test_an_in_cluster_token_file_that_is_not_text_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kubernetes.config import incluster_config

    token, ca = tmp_path / "token", tmp_path / "ca.crt"
    token.write_bytes(b"\xff\xfe not UTF-8 " + SECRET.encode())
    ca.write_text("not read before the token\n")
    monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(token))
    monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", str(ca))
    # The client's loader reads the process's environment, kinspect's Session its own.
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    r = invoke(
        "ips", env={"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    )
    one_line_error(r, ExitCode.CONFIG, "in-cluster service account", "not UTF-8 text")
    assert SECRET not in r.stderr + r.stdout
