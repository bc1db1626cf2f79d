"""What AdminNetworkPolicies cost a policy verdict: `kinspect policy --matrix`'s inner loop.

Pure, no cluster: a synthetic snapshot (NAMESPACES x PODS pods, NetworkPolicies isolating every
pod), the matrix of one namespace (PODS^2 checks) timed with 0 AdminNetworkPolicies and with
ANPS of them (subjects by namespace, rules that match nothing, one Pass), plus a baseline.
Prints figures; asserts nothing.  .venv/bin/python bench/admin_policy.py [PODS] [ANPS]
"""

from __future__ import annotations

import sys
import time

import msgspec

from kinspect.model.snapshot import Snapshot
from kinspect.model.values import ContainerPort, Namespace, Pod
from kinspect.policy.access import matrix
from kinspect.policy.netpol import PolicyIndex
from kinspect.wire import convert_policy, raw

NAMESPACES = 20


def world(pods_per_ns: int, anps: int) -> Snapshot:
    pods = tuple(
        Pod(f"ns{n}", f"p{i}", {"app": f"a{i % 5}"}, phase="Running", ready=True,
            pod_ips=(f"10.{n}.{i // 250}.{i % 250 + 1}",),
            ports=(ContainerPort("c", 8080, "TCP", "http"),))
        for n in range(NAMESPACES) for i in range(pods_per_ns)
    )  # fmt: skip
    sel = {"matchLabels": {"kubernetes.io/metadata.name": "ns0"}}
    admin = tuple(
        convert_policy.admin_network_policy(
            msgspec.convert(
                {"metadata": {"name": f"anp{k}"}, "spec": {
                    "priority": k, "subject": {"namespaces": sel},
                    "ingress": [{"action": "Deny", "from": [{"namespaces": {
                        "matchLabels": {"kubernetes.io/metadata.name": "nowhere"}}}]}]
                    + ([{"action": "Pass", "from": [{"namespaces": {}}],
                         "ports": [{"portNumber": {"protocol": "TCP", "port": 8080}}]}]
                       if k == anps - 1 else []),
                }},
                raw.AdminNetworkPolicy,
            )
        )
        for k in range(anps)
    )  # fmt: skip
    nps = tuple(
        convert_policy.network_policy(
            msgspec.convert(
                {"metadata": {"name": "same-app", "namespace": f"ns{n}"},
                 "spec": {"podSelector": {}, "ingress": [{"from": [{"podSelector": {}}]}]}},
                raw.NetworkPolicy,
            )
        )
        for n in range(NAMESPACES)
    )  # fmt: skip
    banp = convert_policy.baseline_admin_network_policy(
        msgspec.convert(
            {"metadata": {"name": "default"}, "spec": {"subject": {"namespaces": {}},
             "ingress": [{"action": "Deny", "from": [{"namespaces": {}}]}]}},
            raw.AdminNetworkPolicy,
        )
    )  # fmt: skip
    return Snapshot(
        "bench",
        pods=pods,
        namespaces=tuple(
            Namespace(f"ns{n}", {"kubernetes.io/metadata.name": f"ns{n}"})
            for n in range(NAMESPACES)
        ),
        network_policies=nps,
        network_policy_state="read",
        admin_network_policies=admin,
        admin_network_policy_state="read" if anps else "absent",
        baseline_admin_network_policies=(banp,) if anps else (),
        baseline_admin_network_policy_state="read" if anps else "absent",
    )


def run(pods_per_ns: int, anps: int) -> float:
    snap = world(pods_per_ns, anps)
    ns0 = [p for p in snap.pods if p.namespace == "ns0"]
    t = time.perf_counter()
    cells = matrix(PolicyIndex(snap), ns0)
    took = time.perf_counter() - t
    assert len(cells) == len(ns0) ** 2
    return took


def main() -> None:
    pods = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    anps = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    base = min(run(pods, 0) for _ in range(3))
    with_anps = min(run(pods, anps) for _ in range(3))
    checks = pods * pods
    print(f"matrix of {pods} pods ({checks} checks), {NAMESPACES * pods} pods in the snapshot")
    print(
        f"  no AdminNetworkPolicy:        {base * 1e3:8.1f} ms  {base / checks * 1e6:6.1f} us/check"
    )
    print(
        f"  {anps} AdminNetworkPolicies + BANP: {with_anps * 1e3:8.1f} ms  "
        f"{with_anps / checks * 1e6:6.1f} us/check"
    )


if __name__ == "__main__":
    main()
