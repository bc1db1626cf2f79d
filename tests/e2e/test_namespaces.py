"""Namespaces are read with their labels and saved in snapshots (NetworkPolicy will need them)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from .conftest import KINSPECT, Namespace

pytestmark = pytest.mark.e2e

READ = ["get", "list", "watch"]


def _saved(path: Path) -> dict[str, Any]:
    snap: dict[str, Any] = json.loads(path.read_text())["snapshot"]
    return snap


def test_snapshot_save_writes_namespaces_with_their_labels(ns: Namespace, tmp_path: Path) -> None:
    ns.kubectl("label", "namespace", ns.name, "team=payments", "tier=back")
    labels = ns.get("namespace", ns.name)["metadata"]["labels"]
    assert labels["team"] == "payments"
    mine = {"name": ns.name, "labels": labels}

    one = tmp_path / "one.json"
    ns.kinspect("snapshot", "save", str(one), "-n", ns.name)
    # Reading one namespace reads that namespace object only.
    assert _saved(one)["namespaces"] == [mine]

    every = tmp_path / "every.json"
    ns.kinspect("snapshot", "save", str(every), "-A")
    namespaces = _saved(every)["namespaces"]
    assert mine in namespaces
    assert "default" in [n["name"] for n in namespaces]


def test_namespace_reader_saves_no_namespaces_and_no_warning_about_them(
    ns: Namespace, tmp_path: Path
) -> None:
    kc = ns.restricted_kubeconfig(
        str(tmp_path),
        [
            {"apiGroups": [""], "resources": ["services", "pods", "endpoints"], "verbs": READ},
            {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": READ},
        ],
    )
    out = tmp_path / "snap.json"
    args = ["snapshot", "save", str(out), "-n", ns.name, "--kubeconfig", kc]
    proc = subprocess.run(
        [*KINSPECT, *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    snap = _saved(out)
    assert snap["namespaces"] == []
    # Nodes are cluster-scoped (and Ingresses and NetworkPolicies, not granted here, say what
    # is not shown); namespaces are refused quietly.
    assert any("may not list nodes" in w for w in snap["warnings"])
    assert not any("namespaces" in w for w in snap["warnings"])
    assert "namespaces" not in proc.stderr
