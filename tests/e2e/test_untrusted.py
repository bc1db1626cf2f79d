"""Cluster text is data: an EndpointSlice whose targetRef.name holds markup, HTML, selector
syntax and terminal control sequences (the API server does not validate it) is shown escaped by
every text output, kept exact by JSON, and sent escaped in trace's field selector."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

from .conftest import Namespace

NASTY = (
    "x[/]y[bold]z<script>alert(1)</script><img src=x onerror=alert(2)>|`a`=b,c\\"
    "\x1b]0;pwned\x07\x1b[2J\rFORGED"
)
ADDRESS = "10.244.99.7"  # data, never dialed


def _create(ns: Namespace) -> str:
    ns.apply(
        "apiVersion: v1\nkind: Service\nmetadata: {name: odd}\n"
        "spec: {ports: [{port: 80, targetPort: 8080}]}\n"
    )
    slice_ = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": "odd-1", "labels": {"kubernetes.io/service-name": "odd"}},
        "addressType": "IPv4",
        "endpoints": [
            {
                "addresses": [ADDRESS],
                "conditions": {"ready": True},
                "targetRef": {"kind": "Pod", "name": NASTY, "namespace": ns.name},
            }
        ],
        "ports": [{"port": 8080, "protocol": "TCP"}],
    }
    ns.apply(json.dumps(slice_))
    stored = ns.get("endpointslice", "odd-1")["endpoints"][0]["targetRef"]["name"]
    assert stored == NASTY  # the API server kept it as is
    svc = ns.get("service", "odd")
    return str(svc["spec"]["clusterIP"])


def _no_raw_control(text: str) -> None:
    bad = [hex(ord(c)) for c in text if (ord(c) < 32 and c != "\n") or 0x7F <= ord(c) <= 0x9F]
    assert not bad, bad


def test_untrusted_names_are_escaped_everywhere(ns: Namespace, tmp_path: Path) -> None:
    cluster_ip = _create(ns)
    cases: list[tuple[str, ...]] = [
        ("map", "-n", ns.name),
        ("map", "-A"),
        ("map", "-n", ns.name, "-o", "tree"),
        ("map", "-n", ns.name, "-o", "wide"),
        ("explain", "-n", ns.name),
        ("audit", "-n", ns.name),
    ]
    for args in cases:
        p = ns.kinspect(*args)
        _no_raw_control(p.stdout + p.stderr)
        joined = "".join(p.stdout.split())  # table cells fold long names
        assert "x[/]y[bold]z" in joined, (args, p.stdout)
        assert "\\x1b]0;pwned\\x07" in joined, (args, p.stdout)

    # No pod can have the name (it is no DNS subdomain), so trace never asks for it (in a field
    # selector, a `=` in it was an HTTP 400, and exit 1), and says so once. The address is the
    # service's endpoint, its pod missing, as map shows it (issue 24, D5b).
    p = ns.kinspect("trace", ADDRESS, "-n", ns.name)
    _no_raw_control(p.stdout + p.stderr)
    assert "is not a pod name" in p.stderr
    assert f"endpointof{ns.name}/odd(pod{ns.name}/x[/]y[bold]z" in "".join(p.stdout.split())
    p = ns.kinspect("trace", f"{cluster_ip}:80", "-n", ns.name)
    _no_raw_control(p.stdout + p.stderr)
    assert "\\x1b[2J" in "".join(p.stdout.split())

    # JSON keeps the exact name.
    doc = ns.kinspect_json("map", "-n", ns.name)
    pods = [b["pod"] for s in doc["services"] for p in s["ports"] for b in p["backends"]]
    assert {"namespace": ns.name, "name": NASTY} in pods

    md = ns.kinspect("audit", "-n", ns.name, "-o", "markdown").stdout
    assert "<script>" not in md
    assert "<img" not in md
    assert "&lt;script&gt;" in md
    _no_raw_control(md)

    junit = ns.kinspect("audit", "-n", ns.name, "-o", "junit").stdout
    ET.fromstring(junit.encode())  # well-formed XML 1.0

    html = ns.kinspect("audit", "-n", ns.name, "-o", "html").stdout
    assert "<script>" not in html
    assert "&lt;script&gt;" in html

    prom = ns.kinspect("audit", "-n", ns.name, "-o", "prometheus").stdout
    assert "kinspect_audit_context_up" in prom

    # snapshot save names its path as it is (it was read as markup: snapx.json).
    path = tmp_path / "snap[bold]x.json"
    p = ns.kinspect("snapshot", "save", str(path), "-n", ns.name)
    assert f"to {path}" in p.stderr
    assert path.exists()
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    p = ns.kinspect("map", "-n", ns.name, "--snapshot", str(path))
    assert "\\x1b]0;pwned\\x07" in "".join(p.stdout.split())
