"""Odd but legal data (issue 24, D5a, D5b, D12): what the API server or a kubeconfig accepts,
kinspect answers with the rest of the picture intact.

- D5a: an EndpointSlice targetRef whose namespace holds '/' (the API server does not validate
  targetRef) must never become part of a request path;
- D5b: an endpoint whose pod does not exist is the service's endpoint, pod missing, in trace as
  in map;
- D12: a context name holding a lone surrogate (a kubeconfig's "\\ud800") still saves.

Every address in the objects here is data (TEST-NET or pod ranges), never dialed.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from .conftest import KINSPECT, Cluster, Namespace


def test_snapshot_save_with_a_lone_surrogate_in_the_context_name(
    cluster: Cluster, ns: Namespace, tmp_path: Path
) -> None:
    view = cluster.kubeconfig_view()
    c, u = view["clusters"][0], view["users"][0]
    name = "bed-\ud800-x"  # JSON "\\ud800": YAML (the kubeconfig's reader) keeps it lone
    kc = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": name,
        "clusters": [c],
        "users": [u],
        "contexts": [{"name": name, "context": {"cluster": c["name"], "user": u["name"]}}],
    }
    kubeconfig = tmp_path / "odd.kubeconfig"
    kubeconfig.write_text(json.dumps(kc))  # ensure_ascii: the surrogate as an escape
    ns.apply("apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n")
    path = str(tmp_path / "snap.json.gz")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*KINSPECT, *args],
            capture_output=True,
            text=True,
            errors="replace",
            check=False,
            timeout=120,
        )

    saved = run("snapshot", "save", path, "-n", ns.name, "--kubeconfig", str(kubeconfig))
    assert saved.returncode == 0, saved.stderr
    # The file is kinspect's own again: the context is named, its lone surrogate as U+FFFD.
    doc = run("map", "--snapshot", path, "-n", ns.name, "-o", "json")
    assert doc.returncode == 0, doc.stderr
    report = json.loads(doc.stdout)
    assert report["context"] == "bed-\ufffd-x"
    assert [s["name"] for s in report["services"]] == ["web"]
