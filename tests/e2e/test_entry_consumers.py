"""APIServices and admission webhooks that call a service without endpoints, on a real API server.

Both objects are cluster-scoped and outlive the test's namespace: they are deleted in a
`finally`. The webhook cannot touch anyone else's requests (failurePolicy Ignore, rules on a
made-up resource, a namespaceSelector matching only this test's namespace), and the APIService
serves a made-up group/version.
"""

from __future__ import annotations

import json
import uuid

from ..schema import validate
from .conftest import Cluster, Namespace

GROUP = "e2e.kinspect.example"


def _remove_leftovers(ns: Namespace) -> None:
    """Delete what a killed run of this test left: APIServices of GROUP and kinspect-e2e-…
    webhooks whose service's namespace is gone. An APIService without endpoints fails the
    API's discovery, and while it stays the namespace controller cannot finish deleting any
    namespace: on a long-lived cluster they would pile up, Terminating."""
    for kind in ("apiservice", "validatingwebhookconfiguration"):
        for item in json.loads(ns.kubectl("get", kind, "-o", "json"))["items"]:
            name = item["metadata"]["name"]
            if kind == "apiservice":
                mine = item["spec"].get("group") == GROUP
                services = [item["spec"].get("service") or {}]
            else:
                mine = name.startswith("kinspect-e2e-")
                services = [w["clientConfig"].get("service") or {} for w in item["webhooks"]]
            spaces = {s.get("namespace", "") for s in services}
            gone = not any(
                ns.kubectl("get", "namespace", n, "-o", "name", "--ignore-not-found")
                for n in spaces
                if n
            )
            if mine and gone:
                ns.kubectl("delete", kind, name, "--ignore-not-found", check=False)


def test_webhook_and_apiservice_show_as_consumers_and_audit_as_errors(
    cluster: Cluster, ns: Namespace
) -> None:
    _remove_leftovers(ns)
    ns.apply(
        "apiVersion: v1\nkind: Service\nmetadata: {name: hooked}\n"
        "spec: {selector: {app: nobody}, ports: [{name: https, port: 443, targetPort: 8443}]}\n"
    )
    ns.kubectl("label", "namespace", ns.name, f"kinspect-e2e={ns.name}")
    hook_name = f"kinspect-e2e-{uuid.uuid4().hex[:8]}"
    version = f"v1alpha{uuid.uuid4().int % 1000}"
    api_name = f"{version}.{GROUP}"
    webhook = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": hook_name},
        "webhooks": [
            {
                "name": f"check.{GROUP}",
                "clientConfig": {
                    "service": {"namespace": ns.name, "name": "hooked", "path": "/validate"}
                },
                "rules": [
                    {
                        "apiGroups": [GROUP],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE"],
                        "resources": ["widgets"],
                    }
                ],
                "namespaceSelector": {"matchLabels": {"kinspect-e2e": ns.name}},
                "failurePolicy": "Ignore",
                "sideEffects": "None",
                "admissionReviewVersions": ["v1"],
            }
        ],
    }
    api_service = {
        "apiVersion": "apiregistration.k8s.io/v1",
        "kind": "APIService",
        "metadata": {"name": api_name},
        "spec": {
            "group": GROUP,
            "version": version,
            "service": {"namespace": ns.name, "name": "hooked", "port": 443},
            "insecureSkipTLSVerify": True,
            "groupPriorityMinimum": 1000,
            "versionPriority": 15,
        },
    }
    try:
        ns.apply(json.dumps({"apiVersion": "v1", "kind": "List", "items": [webhook, api_service]}))
        doc = ns.kinspect_json("map", "-n", ns.name)
        validate(doc, "chain-report.json")
        (svc,) = doc["services"]
        got = sorted(
            (c["kind"], c["name"], c["port"], c["failurePolicy"]) for c in svc["consumers"]
        )
        assert got == [
            ("APIService", api_name, 443, None),
            ("ValidatingWebhookConfiguration", hook_name, 443, "Ignore"),
        ]
        assert f"webhook check.{GROUP}" in ns.kinspect("map", "-n", ns.name).stdout
        tree = ns.kinspect("map", "-n", ns.name, "-o", "tree").stdout
        # Folded at 120 columns: compare without whitespace and tree guides.
        flat = "".join(tree.replace("│", "").split())
        assert (
            f"(webhook check.{GROUP})calls port 443/validate,failurePolicy Ignore".replace(" ", "")
            in flat
        )

        # The aggregator marks the APIService Available=False (MissingEndpoints: the service
        # has no endpoints, so nothing is dialed); kinspect quotes it (issue 23, item 3).
        def condition() -> dict[str, str] | None:
            got = json.loads(ns.kubectl("get", "apiservice", api_name, "-o", "json"))
            conds = got.get("status", {}).get("conditions") or []
            return next((c for c in conds if c["type"] == "Available"), None)

        ns.wait_until(
            "the APIService's Available condition",
            lambda: (condition() or {}).get("status") == "False",
        )
        cond = condition()
        assert cond is not None
        said = f"{cond['reason']}: {cond['message']}"
        assert cond["reason"] in ("MissingEndpoints", "ServiceNotFound", "FailedDiscoveryCheck")
        doc = ns.kinspect_json("map", "-n", ns.name)
        (api,) = [c for c in doc["services"][0]["consumers"] if c["kind"] == "APIService"]
        assert api["unavailable"] == said
        audit = ns.kinspect_json("audit", "-n", ns.name)
        found = {f["check"]: f for f in audit["findings"] if f["service"] == "hooked"}
        assert found["webhook-service-unavailable"]["severity"] == "error"
        assert "failurePolicy Ignore" in found["webhook-service-unavailable"]["message"]
        assert found["apiservice-unavailable"]["severity"] == "error"
        assert f"{GROUP}/{version}" in found["apiservice-unavailable"]["message"]
        assert f"(Available=False: {said})" in found["apiservice-unavailable"]["message"]
    finally:
        for kind, name in (
            ("validatingwebhookconfiguration", hook_name),
            ("apiservice", api_name),
        ):
            ns.kubectl("delete", kind, name, "--ignore-not-found", check=False)
