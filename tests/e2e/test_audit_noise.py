"""`audit` on the demo, with a single replica, a scaled-to-zero Deployment and a rollout in flight.

Issue 11's done-when: every finding in the namespace is one a reviewer would act on (or the one
roll-up line of single replicas), none is noise. The rollout keeps an old pod Terminating with a
finalizer: the EndpointSlice then lists it ready false, serving, terminating, while the legacy
Endpoints drop it; that must not read as a disagreement.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import Cluster, Namespace, new_namespace
from .test_demo import EXPECTED_READY, _ready_endpoints

HOLD = "e2e.kinspect.io/hold"


def _deployment(name: str, replicas: int) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "image": "registry.k8s.io/e2e-test-images/agnhost:2.53",
                            "ports": [{"name": "http", "containerPort": 8080}],
                        }
                    ]
                },
            },
        },
    }


def _service(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {
            "selector": {"app": name},
            "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
        },
    }


def _pods(ns: Namespace, app: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = ns.get("pods", "-l", f"app={app}")["items"]
    return items


def _ready(p: dict[str, Any]) -> bool:
    return any(
        c["type"] == "Ready" and c["status"] == "True"
        for c in p.get("status", {}).get("conditions", [])
    )


@pytest.fixture(scope="module")
def noisy_demo(cluster: Cluster) -> Iterator[Namespace]:
    with new_namespace(cluster) as ns:
        ns.apply_demo()
        items = [
            _deployment("solo", 1),
            _service("solo"),
            _deployment("idle", 0),  # scaled to zero: an outage of its service
            _service("idle"),
            _deployment("api", 2),
            _service("api"),
        ]
        ns.apply(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
        ns.wait_until(
            "demo endpoints and two ready api pods",
            lambda: (
                all(_ready_endpoints(ns).get(k, 0) >= v for k, v in EXPECTED_READY.items())
                and _ready_endpoints(ns).get("api", 0) == 2
                and _ready_endpoints(ns).get("solo", 0) == 1
            ),
            seconds=120,
        )
        # A rollout in flight: the old pod is held Terminating by a finalizer while its
        # replacement comes up.
        old = _pods(ns, "api")[0]["metadata"]["name"]
        ns.kubectl(
            "patch",
            "pod",
            old,
            "--type=merge",
            "-p",
            json.dumps({"metadata": {"finalizers": [HOLD]}}),
        )
        try:
            ns.kubectl("delete", "pod", old, "--wait=false")
            ns.wait_until(
                "the old api pod terminating, two new ones ready, slices and Endpoints settled",
                lambda: _rollout_settled(ns, old),
                seconds=120,
            )
            yield ns
        finally:
            ns.kubectl(
                "patch",
                "pod",
                old,
                "--type=json",
                "-p",
                '[{"op": "remove", "path": "/metadata/finalizers"}]',
                check=False,
            )


def _rollout_settled(ns: Namespace, old: str) -> bool:
    pods = _pods(ns, "api")
    terminating = [p for p in pods if p["metadata"].get("deletionTimestamp")]
    fresh = [p for p in pods if not p["metadata"].get("deletionTimestamp") and _ready(p)]
    if [p["metadata"]["name"] for p in terminating] != [old] or len(fresh) != 2:
        return False
    slice_eps = [
        e
        for s in ns.get("endpointslices", "-l", "kubernetes.io/service-name=api")["items"]
        for e in s.get("endpoints") or []
    ]
    held = [e for e in slice_eps if (e.get("targetRef") or {}).get("name") == old]
    ready = [e for e in slice_eps if e["conditions"].get("ready")]
    legacy = ns.get("endpoints", "api").get("subsets") or []
    legacy_ready = [a for s in legacy for a in s.get("addresses") or []]
    return (
        len(held) == 1
        and held[0]["conditions"].get("terminating") is True
        and len(ready) == 2
        and len(legacy_ready) == 2
    )


# What a reviewer wants to hear about in that namespace, and nothing else: the demo's deliberate
# faults, the outage of the scaled-to-zero service, the pod held terminating (info), and the
# single replicas (info, one line in text). Before issue 11 this namespace also gave
# slices-endpoints-disagree and selected-pod-not-endpoint for the rollout, numeric-target-port
# beside unnamed-container-port and target-port-undeclared, a warning per single-replica port,
# and only a warning for the outage.
EXPECTED = [
    ("selector-matches-no-pods", "idle", "error"),
    ("local-policy-drops-nodes", "lb", "warning"),
    ("named-port-unresolvable", "web", "warning"),  # web-noname: a mixed rollout
    ("selected-pod-not-endpoint", "web", "warning"),  # web-pending: not scheduled
    ("target-port-undeclared", "undeclared", "warning"),
    ("endpoint-pod-terminating", "api", "info"),
    ("service-type-cost", "lb", "info"),
    ("service-type-cost", "web", "info"),
    ("unnamed-container-port", "ext-ips", "info"),
    # The entry points' deliberate faults (examples/entry.yaml, examples/gateway.yaml; issue 13).
    *[("ingress-backend-missing", "ingress/legacy", "error")] * 2,  # / and /db
    ("ingress-class-missing", "ingress/legacy", "warning"),
    *[("gateway-backend-missing", "httproute/broken", "error")] * 2,  # /gone and /db
    ("gateway-ref-not-permitted", "httproute/broken", "error"),
    ("gateway-route-not-attached", "httproute/elsewhere", "warning"),
    *[("gateway-listener-unused", "gateway/shop-gw", "info")] * 2,  # tenants and idle
    # The demo's web-from-shop policy (issue 14) admits only shop's pods: web's NodePort is
    # open, yet no outside client may pass.
    ("external-traffic-denied", "web", "warning"),
    *(
        ("single-ready-endpoint", s, "info")
        for s in ("db", "dns", "ext-ips", "lb", "node-agent", "shop", "solo", "undeclared")
    ),
]


def test_audit_of_the_demo_has_no_noise(noisy_demo: Namespace) -> None:
    doc = noisy_demo.kinspect_json("audit", "-n", noisy_demo.name)
    got = sorted((f["check"], f["service"], f["severity"]) for f in doc["findings"])
    extra, missing = Counter(got) - Counter(EXPECTED), Counter(EXPECTED) - Counter(got)
    assert got == sorted(EXPECTED), (sorted(extra.elements()), sorted(missing.elements()))


def test_text_rolls_single_replicas_into_one_line(noisy_demo: Namespace) -> None:
    text = noisy_demo.kinspect("audit", "-n", noisy_demo.name).stdout
    assert "single-ready-endpoint" not in text.split("\n8 service(s)")[0]
    assert "8 service(s) run a single ready replica" in text


def test_the_outage_fails_fail_on_error(noisy_demo: Namespace) -> None:
    noisy_demo.kinspect("audit", "-n", noisy_demo.name, "--fail-on", "error", expect=7)
