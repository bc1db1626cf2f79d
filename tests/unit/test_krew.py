"""The krew manifest (plugins/kinspect.yaml) and the k9s plugins hold the shape their tools read."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _manifest() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((ROOT / "plugins" / "kinspect.yaml").read_text())
    return doc


def test_manifest_shape() -> None:
    m = _manifest()
    assert m["apiVersion"] == "krew.googlecontainertools.github.com/v1alpha2"
    assert m["kind"] == "Plugin"
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]*", m["metadata"]["name"])
    spec = m["spec"]
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert spec["version"] == f"v{version}"
    assert spec["homepage"].startswith("https://")
    assert 0 < len(spec["shortDescription"]) <= 80
    assert spec["description"].strip()
    assert "python3.11" in spec["caveats"]
    assert spec["platforms"]
    for p in spec["platforms"]:
        assert set(p) == {"selector", "uri", "sha256", "files", "bin"}
        assert p["selector"]["matchLabels"].keys() <= {"os", "arch"}
        assert p["uri"].startswith("https://")
        assert p["uri"].endswith(f"/kubectl-kinspect-{version}.tar.gz")
        assert re.fullmatch(r"[0-9a-f]{64}", p["sha256"])
        assert p["bin"] == "kubectl-kinspect"
        assert {f["from"] for f in p["files"]} == {"kubectl-kinspect", "LICENSE"}
        assert all(f["to"] == "." for f in p["files"])


def test_k9s_plugins_run_real_kinspect_commands() -> None:
    from typer.main import get_command

    from kinspect.cli import app

    doc = yaml.safe_load((ROOT / "plugins" / "k9s-plugins.yaml").read_text())
    commands = get_command(app).commands  # type: ignore[attr-defined]
    for name, p in doc["plugins"].items():
        assert p["command"] == "kinspect", name
        assert set(p) >= {"shortCut", "description", "scopes", "command", "args"}
        sub = commands[p["args"][0]]
        flags = {o for param in sub.params for o in param.opts}
        assert {a for a in p["args"] if a.startswith("-")} <= flags, name
