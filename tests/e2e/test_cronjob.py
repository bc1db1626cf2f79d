"""deploy/cronjob.yaml's script, run twice against the cluster with the container's paths
(/reports, /tmp) mapped to temporary folders: the second run diffs against the first."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from ..unit.test_containerfile import cronjob_script
from .conftest import Cluster, new_namespace

BROKEN = (
    "apiVersion: v1\nkind: Service\nmetadata: {name: nobody-home}\n"
    "spec: {selector: {app: nobody}, ports: [{port: 80}]}\n"
)


def _run(script: str, env: dict[str, str]) -> None:
    proc = subprocess.run(
        ["/bin/sh", "-c", script], capture_output=True, text=True, env=env, check=False, timeout=300
    )
    assert proc.returncode == 0, f"stdout: {proc.stdout[-2000:]}\nstderr: {proc.stderr[-2000:]}"


def test_the_cronjobs_script_runs_twice_and_the_second_report_marks_new_findings(
    cluster: Cluster, tmp_path: Path
) -> None:
    reports, tmp = tmp_path / "reports", tmp_path / "tmp"
    reports.mkdir()
    tmp.mkdir()
    paths = {"/reports": str(reports), "/tmp": str(tmp)}
    script = re.sub(r"/reports\b|/tmp\b", lambda m: paths[m.group(0)], cronjob_script())
    # The pod's service account stands in as this context, made the current one.
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps(cluster.kubeconfig_view()))
    env = {
        "PATH": f"{os.path.dirname(sys.executable)}:/usr/bin:/bin",
        "KUBECONFIG": str(kubeconfig),
        "HOME": str(tmp),
    }
    _run(script, env)
    first = json.loads((reports / "latest.json").read_text())
    assert first["kind"] == "AuditReport"
    assert all("new" not in f for f in first["findings"])  # no baseline yet
    with new_namespace(cluster) as ns:
        ns.apply(BROKEN)
        _run(script, env)
        second = json.loads((reports / "latest.json").read_text())
        ours = [f for f in second["findings"] if f["namespace"] == ns.name]
    assert ours
    assert all(f["new"] is True for f in ours)
    assert all("new" in f for f in second["findings"])
    assert second["resolved"] is not None
    assert (reports / "latest.html").read_text().startswith("<!doctype html>")
    prom = (reports / "kinspect.prom").read_text()
    assert "kinspect_audit_findings{" in prom
    assert not (reports / "next.json").exists()
    assert os.listdir(tmp) == ["snapshot.json.gz"]
