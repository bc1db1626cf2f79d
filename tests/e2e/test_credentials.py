"""Odd kubeconfigs against the real API server: TLS off, a password in the server URL, token
files as `kubectl create token` writes them, and an exec plugin that is not installed.

Each kubeconfig here points at the test bed's own loopback port (the only one ever dialed).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from .conftest import KINSPECT, Namespace

READ = [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list", "watch"]}]
PASSWORD = "pAsSw0rd-in-the-url"


def _kinspect(kubeconfig: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*KINSPECT, *args, "--kubeconfig", kubeconfig],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
    )


def _write(tmp_path: Path, name: str, doc: dict[str, Any]) -> str:
    path = tmp_path / f"{name}.kubeconfig"
    path.write_text(json.dumps(doc))
    return str(path)


def _admin(ns: Namespace, tmp_path: Path, name: str, **cluster: Any) -> str:
    """The test bed's admin context as context `name`, its cluster entry changed by `cluster`."""
    view = ns.cluster.kubeconfig_view()
    entry = {**view["clusters"][0]["cluster"], **cluster}
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": name,
        "clusters": [{"name": "c", "cluster": {k: v for k, v in entry.items() if v is not None}}],
        "users": [{"name": "admin", "user": view["users"][0]["user"]}],
        "contexts": [
            {"name": name, "context": {"cluster": "c", "user": "admin", "namespace": ns.name}}
        ],
    }
    return _write(tmp_path, name, doc)


def _with_user(kubeconfig: str, user: dict[str, Any]) -> str:
    """`kubeconfig` (a restricted one) with its user entry replaced by `user`."""
    doc = json.loads(Path(kubeconfig).read_text())
    doc["users"][0]["user"] = user
    Path(kubeconfig).write_text(json.dumps(doc))
    return kubeconfig


def test_insecure_skip_tls_verify_is_said_once_naming_the_context(
    ns: Namespace, tmp_path: Path
) -> None:
    """D14: urllib3 warned twice per request (42 lines for one map); one kinspect line now."""
    kc = _admin(
        ns,
        tmp_path,
        "no-tls-check",
        **{
            "insecure-skip-tls-verify": True,
            "certificate-authority": None,
            "certificate-authority-data": None,
        },
    )
    proc = _kinspect(kc, "map")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("warning: ")
    assert "no-tls-check" in lines[0]
    assert "insecure-skip-tls-verify" in lines[0]
    assert "InsecureRequestWarning" not in proc.stderr


def test_a_password_in_the_server_url_is_masked_in_errors_and_reports(
    ns: Namespace, tmp_path: Path
) -> None:
    """D15: https://admin:PW@host was printed in errors and written into the audit report."""
    host = ns.cluster.kubeconfig_view()["clusters"][0]["cluster"]["server"]
    scheme, rest = host.split("://", 1)
    server = f"{scheme}://admin:{PASSWORD}@{rest}"
    # It works (the credentials are the admin's certificate; urllib3 ignores the userinfo).
    good = _admin(ns, tmp_path, "pw-ok", server=server)
    proc = _kinspect(good, "-v", "map")
    assert proc.returncode == 0, proc.stderr
    assert PASSWORD not in proc.stdout + proc.stderr
    # A CA that did not sign the API server's certificate: the TLS error names the server.
    view = ns.cluster.kubeconfig_view()
    user = view["users"][0]["user"]
    wrong_ca = (
        {"certificate-authority": user["client-certificate"]}
        if "client-certificate" in user
        else {"certificate-authority-data": user["client-certificate-data"]}
    )
    bad = _admin(ns, tmp_path, "pw-bad", server=server, **wrong_ca)
    proc = _kinspect(bad, "map")
    assert proc.returncode == 4, proc.stderr
    assert PASSWORD not in proc.stderr
    assert f"{scheme}://admin:***@{rest}" in proc.stderr
    # The audit of both: a partial report, the failure written in it with the server masked.
    both = json.loads(Path(good).read_text())
    other = json.loads(Path(bad).read_text())
    both["clusters"].append({**other["clusters"][0], "name": "c-bad"})
    both["contexts"].append({**other["contexts"][0]})
    both["contexts"][1]["context"] = {**both["contexts"][1]["context"], "cluster": "c-bad"}
    kc = _write(tmp_path, "both", both)
    report = tmp_path / "report.json"
    proc = _kinspect(
        kc, "audit", "--context", "pw-ok", "--context", "pw-bad", "--output-file", str(report)
    )
    assert proc.returncode == 8, proc.stderr
    text = report.read_text()
    assert PASSWORD not in text + proc.stdout + proc.stderr
    assert "admin:***@" in text


def test_a_token_file_written_by_kubectl_create_token_works(ns: Namespace, tmp_path: Path) -> None:
    """D16: the newline `kubectl create token NAME > FILE` leaves was sent in the header (exit 1,
    and --debug printed the token); it is trimmed, as client-go trims token files."""
    kc = ns.restricted_kubeconfig(str(tmp_path), READ)
    token = json.loads(Path(kc).read_text())["users"][0]["user"]["token"]
    token_file = tmp_path / "token"
    token_file.write_text(token + "\n")
    _with_user(kc, {"tokenFile": str(token_file)})
    proc = _kinspect(kc, "--debug", "map")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert token not in proc.stdout + proc.stderr


def test_a_token_that_cannot_go_into_a_header_is_a_config_error_never_shown(
    ns: Namespace, tmp_path: Path
) -> None:
    """D16: a non-Latin-1 token (exit 1) or one with a line break inside (exit 1, printed whole
    by --debug) is exit 3 naming the user, never the token, even with --debug."""
    kc = ns.restricted_kubeconfig(str(tmp_path), READ)
    token = json.loads(Path(kc).read_text())["users"][0]["user"]["token"]
    user = json.loads(Path(kc).read_text())["users"][0]["name"]
    for bad in (token[:20] + "\u2603" + token[20:], token[:20] + "\n" + token[20:]):
        token_file = tmp_path / "token"
        token_file.write_text(bad)
        for inline in (False, True):
            _with_user(kc, {"token": bad} if inline else {"tokenFile": str(token_file)})
            proc = _kinspect(kc, "--debug", "map")
            assert proc.returncode == 3, proc.stderr[-3000:]
            last = proc.stderr.splitlines()[-1]
            named = f"token of user {user}" if inline else f"token file {token_file} of user {user}"
            assert last.startswith(f"kinspect: error: the {named} (context restricted)"), last
            assert "cannot be sent in an HTTP header" in last
            for part in (token[:20], token[20:]):
                assert part not in proc.stdout + proc.stderr
            plain = _kinspect(kc, "map")
            assert plain.returncode == 3
            assert plain.stderr.count("\n") == 1, plain.stderr


def test_an_exec_plugin_that_is_not_installed_is_named_not_sent_anonymously(
    ns: Namespace, tmp_path: Path
) -> None:
    """D18: the request went out without credentials and came back as RBAC (403)."""
    kc = ns.restricted_kubeconfig(str(tmp_path), READ)
    command = "kinspect-test-no-such-credential-plugin"
    exec_ = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "command": command,
        "interactiveMode": "Never",
    }
    _with_user(kc, {"exec": exec_})
    proc = _kinspect(kc, "map")
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert command in proc.stderr
    assert "context restricted" in proc.stderr
    assert "no such file or directory" in proc.stderr
    assert "403" not in proc.stderr
