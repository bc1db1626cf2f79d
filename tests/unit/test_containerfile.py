"""The Containerfile's shape: pinned base, multi-stage, non-root, and only the tools the
CronJob's script runs (deploy/cronjob.yaml)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CONTAINERFILE = (ROOT / "Containerfile").read_text()
# Words the script may use that are shell syntax or builtins of any POSIX sh.
SH_BUILTINS = {"set", "cd", "[", "]", "test", "true", "false", "export", ":"}


def _cronjob() -> dict[str, Any]:
    for doc in yaml.safe_load_all((ROOT / "deploy" / "cronjob.yaml").read_text()):
        if doc and doc.get("kind") == "CronJob":
            job: dict[str, Any] = doc
            return job
    raise AssertionError("no CronJob in deploy/cronjob.yaml")


def _container() -> dict[str, Any]:
    spec = _cronjob()["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    c: dict[str, Any] = spec["containers"][0]
    return c


def cronjob_script() -> str:
    """The script the CronJob runs with /bin/sh -c."""
    c = _container()
    assert c["command"] == ["/bin/sh", "-c"]
    script: str = c["args"][0]
    return script


def _commands(script: str) -> set[str]:
    """The programs a simple sh script runs: the first word of each command."""
    out = set()
    for raw in script.splitlines():
        line = raw.split("#", 1)[0]
        for part in re.split(r"&&|\|\||;|\|", line):
            words = [w for w in shlex.split(part) if not re.fullmatch(r"\w+=.*", w)]
            if words:
                out.add(words[0])
    return out - SH_BUILTINS


def test_every_base_is_pinned_by_digest_and_built_in_stages() -> None:
    froms = re.findall(r"^FROM (\S+)", CONTAINERFILE, re.M)
    assert len(froms) >= 2, "multi-stage: build, then runtime"
    for image in froms:
        assert re.fullmatch(r"[\w./-]+:[\w.-]+@sha256:[0-9a-f]{64}", image), image
    assert "Renovate pins in" in CONTAINERFILE  # the digest's source is named


def test_the_image_runs_as_the_cronjobs_non_root_user() -> None:
    pod = _cronjob()["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    uid = pod["securityContext"]["runAsUser"]
    assert re.search(rf"^USER {uid}:{uid}$", CONTAINERFILE, re.M)
    assert _container()["securityContext"]["readOnlyRootFilesystem"] is True
    assert "PYTHONDONTWRITEBYTECODE=1" in CONTAINERFILE


def test_the_runtime_keeps_only_the_tools_the_script_runs() -> None:
    runtime = CONTAINERFILE.split("\nFROM ")[-1]
    assert not re.search(r"apt-get install|curl|wget", runtime)
    kept = set(re.findall(r"! -name '?([\w*]+)'?", runtime))
    needed = _commands(cronjob_script())
    assert needed == {"kinspect", "mv"}  # kinspect comes from the venv, mv from the base
    assert needed - {"kinspect"} <= kept
    assert {"sh", "dash"} <= kept
