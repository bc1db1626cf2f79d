"""Credentials in odd kubeconfigs, without an API server: a password in the server URL, token
files that are missing, empty or unreadable, tokens that cannot go into a header, exec plugins
that cannot be run. What needs a server to show is in tests/e2e/test_credentials.py."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kinspect.model.errors import ExitCode
from kinspect.wire.connection import redacted

from .runner import invoke, one_line_error

TOKEN = "eyJhbGciOi.sUp3r-s3cret-t0ken.c2lnbmF0dXJl"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _kubeconfig(tmp_path: Path, user: dict[str, Any], server: str = "") -> str:
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "ctx",
        "clusters": [
            {
                "name": "c",
                "cluster": {"server": server or f"https://127.0.0.1:{_closed_port()}"},
            }
        ],
        "users": [{"name": "dev-user", "user": user}],
        "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "dev-user"}}],
    }
    path = tmp_path / "kubeconfig"
    path.write_text(json.dumps(doc))
    return str(path)


# --- D15: a password in the server URL -------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://admin:PW@10.0.0.1:6443", "https://admin:***@10.0.0.1:6443"),
        ("https://admin:p@ss:w@rd@h/x?y#z", "https://admin:***@h/x?y#z"),
        ("https://:PW@h", "https://:***@h"),
        ("https://admin@h", "https://admin@h"),  # no password: kubectl shows the user too
        ("https://h:6443/p@th", "https://h:6443/p@th"),  # an @ in the path is no userinfo
        ("admin:PW@h:6443", "admin:***@h:6443"),  # no scheme
        ("https://[fd00::1]:6443", "https://[fd00::1]:6443"),
        ("", ""),
    ],
)
def test_redacted_masks_the_password_as_kubectl_does(url: str, shown: str) -> None:
    assert redacted(url) == shown


_PART = st.text(alphabet=st.characters(exclude_characters="/?#"), max_size=20)


@given(user=_PART.filter(lambda u: ":" not in u and "@" not in u), password=_PART, host=_PART)
def test_redacted_never_shows_the_password(user: str, password: str, host: str) -> None:
    host = host.replace("@", "")
    url = f"https://{user}:{password}@{host}/api?x=1"
    assert redacted(url) == f"https://{user}:***@{host}/api?x=1"


def test_a_password_in_the_server_url_is_masked_in_errors(tmp_path: Path) -> None:
    server = f"https://admin:{TOKEN}@127.0.0.1:{_closed_port()}"
    kc = _kubeconfig(tmp_path, {"token": "t"}, server=server)
    r = invoke("map", "--kubeconfig", kc, "--request-timeout", "5")
    one_line_error(r, ExitCode.UNREACHABLE, "https://admin:***@127.0.0.1:", "context ctx")
    assert TOKEN not in r.stderr + r.stdout


# --- D16: tokens trimmed, and those that cannot be sent refused ------------------------------


@pytest.mark.parametrize(
    "bad",
    ["\u00e9", "\u2603", "\r\nX-Evil: 1", " ", "\x00"],
)
def test_a_token_that_cannot_be_a_header_is_a_config_error(tmp_path: Path, bad: str) -> None:
    kc = _kubeconfig(tmp_path, {"token": TOKEN[:10] + bad + TOKEN[10:]})
    r = invoke("map", "--kubeconfig", kc)
    one_line_error(r, ExitCode.CONFIG, "the token of user dev-user (context ctx)", "character 11")
    r = invoke("--debug", "map", "--kubeconfig", kc)
    assert r.code == ExitCode.CONFIG
    for part in (TOKEN[:10], TOKEN[10:]):
        assert part not in r.stderr + r.stdout


def test_an_empty_token_file_is_a_config_error(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(" \n")
    kc = _kubeconfig(tmp_path, {"tokenFile": str(token_file)})
    r = invoke("map", "--kubeconfig", kc)
    one_line_error(r, ExitCode.CONFIG, f"token file {token_file}", "user dev-user", "empty")


# --- D17: the token file named, not the kubeconfig -------------------------------------------


def test_a_missing_token_file_is_named_with_its_user(tmp_path: Path) -> None:
    kc = _kubeconfig(tmp_path, {"tokenFile": "tokens/dev"})
    r = invoke("map", "--kubeconfig", kc)
    # A relative tokenFile is relative to the kubeconfig's folder, as kubectl reads it.
    missing = tmp_path / "tokens" / "dev"
    one_line_error(
        r, ExitCode.CONFIG, f"token file {missing} of user dev-user (context ctx) does not exist"
    )
    assert "no kubeconfig" not in r.stderr


def test_an_unreadable_token_file_is_named_with_its_user(tmp_path: Path) -> None:
    kc = _kubeconfig(tmp_path, {"tokenFile": str(tmp_path)})  # a directory
    r = invoke("map", "--kubeconfig", kc)
    one_line_error(r, ExitCode.CONFIG, f"cannot read the token file {tmp_path} of user dev-user")


# --- D18: an exec plugin that cannot be run ---------------------------------------------------


def test_an_exec_plugin_that_is_not_executable_is_named(tmp_path: Path) -> None:
    plugin = tmp_path / "plugin.sh"
    plugin.write_text("#!/bin/sh\necho '{}'\n")
    plugin.chmod(0o644)
    exec_ = {"apiVersion": "client.authentication.k8s.io/v1", "command": str(plugin)}
    kc = _kubeconfig(tmp_path, {"exec": exec_})
    r = invoke("map", "--kubeconfig", kc, "--request-timeout", "5")
    one_line_error(
        r, ExitCode.CONFIG, f"credential plugin {plugin} of context ctx", "permission denied"
    )
