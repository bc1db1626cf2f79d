"""How a scope narrows each kind's LIST, as the registry says, seen in the audit log."""

from __future__ import annotations

import json
import os
from urllib.parse import parse_qsl, urlsplit

import pytest

from .conftest import Cluster, Namespace


def _lists(audit_log: str, namespace: str) -> dict[str, dict[str, str]]:
    """Resource → query (without paging) of each LIST kinspect sent about `namespace`."""
    out: dict[str, dict[str, str]] = {}
    with open(audit_log) as f:
        for line in f:
            e = json.loads(line)
            if not str(e.get("userAgent", "")).startswith("kinspect/") or e.get("verb") != "list":
                continue
            uri = urlsplit(e["requestURI"])
            query = {k: v for k, v in parse_qsl(uri.query) if k not in ("limit", "continue")}
            if f"/namespaces/{namespace}/" in uri.path or any(
                namespace in v for v in query.values()
            ):
                out[uri.path.rsplit("/", 1)[-1]] = query
    return out


def test_a_service_and_namespace_scope_narrow_every_list(cluster: Cluster, ns: Namespace) -> None:
    audit_log = os.path.join(cluster.logs, "audit.log")
    if not os.path.exists(audit_log):
        pytest.skip(f"no API server audit log at {audit_log}: only the test bed writes one")
    ns.apply(
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"
        "spec: {selector: {app: web}, ports: [{port: 80}]}\n"
    )
    ns.kinspect("map", "web", "-n", ns.name)
    lists = _lists(audit_log, ns.name)
    assert lists["services"] == {"fieldSelector": "metadata.name=web"}
    assert lists["endpointslices"] == {"labelSelector": "kubernetes.io/service-name=web"}
    assert lists["pods"] == {}
    # Namespaces are cluster-scoped: a namespaced read lists only its own namespace object.
    assert lists["namespaces"] == {"fieldSelector": f"metadata.name={ns.name}"}
