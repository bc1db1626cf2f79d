"""kinspect's NetworkPolicy verdicts agree with cyclonus's on seeded random worlds."""

from __future__ import annotations

from pathlib import Path

import pytest

from kinspect.policy import netpol as policy
from tests.netpol import diff

# CI's share: 30 policy sets x 20 traffic cases (make netpol-diff runs many thousands).
WORLDS, QUERIES = 30, 20


def test_kinspect_agrees_with_cyclonus_but_for_known_differences(cyclonus: Path) -> None:
    res = diff.run(seed=20261128, worlds=WORLDS, queries=QUERIES, binary=cyclonus)
    assert res.queries == WORLDS * QUERIES
    # Both verdicts occur often: the cases are not trivially all allowed or all denied.
    assert res.queries * 0.1 < res.allowed < res.queries * 0.9
    assert [d for d in res.unexplained] == []


def test_a_wrong_evaluator_is_caught(cyclonus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The harness can fail: an evaluator that ignores the protocol of a port disagrees."""
    real = policy.port_matches

    def ignores_protocol(pp, port, protocol, dst):  # type: ignore[no-untyped-def]
        return real(pp.__class__(protocol, pp.port, pp.end_port), port, protocol, dst)

    monkeypatch.setattr(policy, "port_matches", ignores_protocol)
    res = diff.run(seed=20261128, worlds=WORLDS, queries=QUERIES, binary=cyclonus)
    assert res.unexplained


def test_the_known_difference_is_recognised_and_only_it(cyclonus: Path) -> None:
    """A NotIn on a key the namespace lacks: kinspect allows (the API), cyclonus denies."""
    from tests.netpol import gen

    w = gen.World(
        {"x": {"kubernetes.io/metadata.name": "x"}},
        [
            {
                "namespace": "x",
                "name": "a",
                "labels": {"pod": "a"},
                "ip": "10.0.0.1",
                "ports": [(80, "TCP", "http")],
            },
            {"namespace": "x", "name": "b", "labels": {"pod": "b"}, "ip": "10.0.0.2", "ports": []},
        ],
        [
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": {"name": "p", "namespace": "x"},
                "spec": {
                    "podSelector": {"matchLabels": {"pod": "a"}},
                    "policyTypes": ["Ingress"],
                    "ingress": [
                        {
                            "from": [
                                {
                                    "podSelector": {
                                        "matchExpressions": [
                                            {"key": "team", "operator": "NotIn", "values": ["z"]}
                                        ]
                                    }
                                }
                            ]
                        }
                    ],
                },
            }
        ],
    )
    q = gen.Query(w.pods[1], w.pods[0], 80, "TCP")
    assert diff.kinspect_verdicts(w, [q]) == [True]
    assert diff.cyclonus_verdicts(cyclonus, w, [q]) == [False]
    assert diff.known_difference(w, q, False) == diff.NOTIN_ABSENT_KEY
    assert diff.known_difference(w, q, True) is None
