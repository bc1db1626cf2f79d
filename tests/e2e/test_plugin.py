"""`kubectl kinspect`: the installed `kubectl-kinspect` script, run by the real kubectl."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from .conftest import Namespace

SERVICE = (
    "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"
    "spec: {selector: {app: web}, ports: [{name: http, port: 80, targetPort: 8080}]}\n"
)


def test_kubectl_runs_kinspect_as_a_plugin_with_flags_passed_through(ns: Namespace) -> None:
    bindir = os.path.dirname(sys.executable)  # where pip put kubectl-kinspect
    assert os.access(os.path.join(bindir, "kubectl-kinspect"), os.X_OK)
    ns.apply(SERVICE)
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}
    listed = subprocess.run(
        [ns.cluster.kubectl, "plugin", "list"], capture_output=True, text=True, env=env, check=False
    )
    assert "kubectl-kinspect" in listed.stdout, listed.stdout + listed.stderr
    proc = subprocess.run(
        # kubectl refuses its own flags before a plugin's name: they follow it, and kinspect
        # takes kubectl's --context, --kubeconfig and -n.
        [
            ns.cluster.kubectl,
            "kinspect",
            "map",
            "-n",
            ns.name,
            "-o",
            "json",
            *ns.cluster.kinspect_args(),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["kind"] == "ChainReport"
    assert doc["context"] == ns.cluster.context
    assert [(s["namespace"], s["name"]) for s in doc["services"]] == [(ns.name, "web")]
    usage = subprocess.run(
        [ns.cluster.kubectl, "kinspect", "map", "--help"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert "Usage: kubectl kinspect map" in usage.stdout
