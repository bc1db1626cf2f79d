"""kinspect never changes a cluster: the API server's audit log shows only get/list/watch."""

from __future__ import annotations

import json
import uuid

from .conftest import Cluster, Namespace


def _kinspect_events(audit_log: str, marker: str) -> list[dict[str, object]]:
    events = []
    with open(audit_log) as f:
        for line in f:
            e = json.loads(line)
            if str(e.get("userAgent", "")).startswith("kinspect/") and marker in json.dumps(e):
                events.append(e)
    return events


def test_every_request_kinspect_makes_is_a_read(cluster: Cluster, ns: Namespace) -> None:
    ns.apply(
        "apiVersion: v1\nkind: Service\nmetadata: {name: probe}\n"
        "spec: {selector: {app: probe}, ports: [{port: 80}]}\n"
    )
    ns.kinspect("map", "-n", ns.name)
    ns.kinspect("map", "probe", "-n", ns.name, "-o", "json")
    ns.kinspect("ips", "-n", ns.name)
    ns.kinspect("explain", "-n", ns.name)
    ns.kinspect("trace", f"203.0.113.{uuid.uuid4().int % 200 + 1}", "-n", ns.name, expect=6)
    # Each command above succeeded; what it sent is seen only in the audit log.
    events = _kinspect_events(cluster.audit_log("which verbs kinspect sent"), ns.name)
    verbs = {str(e["verb"]) for e in events}
    resources = {str(e.get("objectRef", {}).get("resource")) for e in events}  # type: ignore[attr-defined]
    assert events, "no request from kinspect found in the audit log"
    assert verbs <= {"get", "list", "watch"}, f"kinspect sent {verbs - {'get', 'list', 'watch'}}"
    assert {"services", "pods", "endpointslices"} <= resources
