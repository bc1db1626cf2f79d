"""How a scope narrows each kind's LIST, as the registry says, seen in the audit log."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlsplit

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
    ns.apply(
        "apiVersion: v1\nkind: List\nitems:\n"
        "- {apiVersion: v1, kind: Service, metadata: {name: web},"
        " spec: {selector: {app: web}, ports: [{port: 80}]}}\n"
        "- {apiVersion: v1, kind: Service, metadata: {name: other},"
        " spec: {selector: {app: other}, ports: [{port: 80}]}}\n"
    )
    # What the API shows: the scope keeps the other service out of the answer.
    doc = ns.kinspect_json("map", "web", "-n", ns.name)
    assert [(s["namespace"], s["name"]) for s in doc["services"]] == [(ns.name, "web")]
    # How each LIST was narrowed is seen only in the audit log.
    lists = _lists(cluster.audit_log("how each LIST was narrowed"), ns.name)
    assert lists["services"] == {"fieldSelector": "metadata.name=web"}
    assert lists["endpointslices"] == {"labelSelector": "kubernetes.io/service-name=web"}
    assert lists["pods"] == {}
    # Namespaces are cluster-scoped: a namespaced read lists only its own namespace object.
    assert lists["namespaces"] == {"fieldSelector": f"metadata.name={ns.name}"}
