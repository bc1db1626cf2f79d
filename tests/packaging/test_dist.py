"""What `make dist` built holds together (run by `make dist-check`, after the build)."""

from __future__ import annotations

import hashlib
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "dist"
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]

pytestmark = pytest.mark.dist


def test_the_krew_manifest_names_the_archive_by_its_sha256() -> None:
    archive = DIST / f"kubectl-kinspect-{VERSION}.tar.gz"
    manifest = yaml.safe_load((DIST / "kinspect.yaml").read_text())
    (platform,) = manifest["spec"]["platforms"]
    assert platform["sha256"] == hashlib.sha256(archive.read_bytes()).hexdigest()
    with tarfile.open(archive) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert set(members) == {"kubectl-kinspect", "LICENSE"}
    assert members["kubectl-kinspect"].mode & 0o111


def test_the_wheel_ships_both_scripts_the_schemas_and_the_license() -> None:
    with zipfile.ZipFile(DIST / f"kinspect-{VERSION}-py3-none-any.whl") as whl:
        names = set(whl.namelist())
        entry_points = whl.read(f"kinspect-{VERSION}.dist-info/entry_points.txt").decode()
        metadata = whl.read(f"kinspect-{VERSION}.dist-info/METADATA").decode()
    assert "kinspect = kinspect.cli:main" in entry_points
    assert "kubectl-kinspect = kinspect.cli:main" in entry_points
    assert "License-Expression: Apache-2.0" in metadata
    assert {f"kinspect/schemas/{s}.json" for s in ("chain-report", "ip-inventory")} <= names
    assert f"kinspect-{VERSION}.dist-info/licenses/LICENSE" in names


def test_the_sdist_carries_what_the_wheel_is_built_from() -> None:
    with tarfile.open(DIST / f"kinspect-{VERSION}.tar.gz") as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    assert {"pyproject.toml", "LICENSE", "README.md", "kinspect/cli.py"} <= names
