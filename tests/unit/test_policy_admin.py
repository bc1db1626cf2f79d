"""AdminNetworkPolicy and BaselineAdminNetworkPolicy truth tables (kinspect.policy.admin).

Policies are written as the API server returns them (wire JSON, converted by
kinspect.wire.convert_policy), evaluated by `PolicyIndex.check`, the one entry point every
command uses. The first tables are the rules of the API (apis/v1alpha1 of
sigs.k8s.io/network-policy-api v0.1.7) one by one; the last ones transcribe cases of that
module's conformance suite (conformance/tests/*.go with conformance/base/*.yaml): its houses,
its policies verbatim, its expected connectivity.
"""

from __future__ import annotations

import copy
from typing import Any

import msgspec
import pytest

from kinspect.model.snapshot import Snapshot
from kinspect.model.values import ContainerPort, Namespace, Node, NodeAddress, Pod
from kinspect.policy.netpol import PolicyIndex, PolicyVerdict
from kinspect.policy.peer import Peer
from kinspect.render.policy import side_words
from kinspect.wire import convert_policy, raw

NSS = ("web", "mon", "other")


def _pod(ns: str, name: str, app: str, ip: str, host_network: bool = False) -> Pod:
    ports = (
        ContainerPort("main", 8080, "TCP", "http"),
        ContainerPort("main", 9090, "TCP", "metrics"),
        ContainerPort("main", 53, "UDP", "dns"),
    )
    return Pod(
        ns, name, {"app": app}, phase="Running", ready=True, pod_ips=(ip,), ports=ports,
        host_network=host_network,
    )  # fmt: skip


PODS = {
    "web/a": _pod("web", "a", "web", "10.1.0.1"),
    "web/b": _pod("web", "b", "db", "10.1.0.2"),
    "mon/m": _pod("mon", "m", "prom", "10.1.1.1"),
    "other/o": _pod("other", "o", "web", "10.1.2.1"),
    "other/h": _pod("other", "h", "agent", "192.168.0.10", host_network=True),
}
NODE = Node("node-1", (NodeAddress("InternalIP", "192.168.0.10"),), labels={"role": "worker"})


def _ns(name: str) -> dict[str, Any]:
    return {"matchLabels": {"kubernetes.io/metadata.name": name}}


def anp(name: str, priority: int, **spec: Any) -> raw.AdminNetworkPolicy:
    spec.setdefault("subject", {"namespaces": _ns("web")})
    body = {"metadata": {"name": name}, "spec": {"priority": priority, **spec}}
    return msgspec.convert(body, raw.AdminNetworkPolicy)


def banp(**spec: Any) -> raw.AdminNetworkPolicy:
    spec.setdefault("subject", {"namespaces": _ns("web")})
    return msgspec.convert({"metadata": {"name": "default"}, "spec": spec}, raw.AdminNetworkPolicy)


def np(name: str, ns: str, **spec: Any) -> raw.NetworkPolicy:
    body = {"metadata": {"name": name, "namespace": ns}, "spec": {"podSelector": {}, **spec}}
    return msgspec.convert(body, raw.NetworkPolicy)


def world(
    anps: tuple[raw.AdminNetworkPolicy, ...] = (),
    baseline: raw.AdminNetworkPolicy | None = None,
    nps: tuple[raw.NetworkPolicy, ...] = (),
    state: str = "read",
    baseline_state: str = "read",
    namespaces: bool = True,
    nodes: bool = True,
) -> PolicyIndex:
    snap = Snapshot(
        "t",
        nodes=(NODE,) if nodes else (),
        pods=tuple(PODS.values()),
        namespaces=tuple(Namespace(n, {"kubernetes.io/metadata.name": n, "team": n}) for n in NSS)
        if namespaces
        else (),
        network_policies=tuple(convert_policy.network_policy(p) for p in nps),
        network_policy_state="read",
        admin_network_policies=tuple(convert_policy.admin_network_policy(p) for p in anps),
        admin_network_policy_state=state,  # type: ignore[arg-type]
        baseline_admin_network_policies=(
            (convert_policy.baseline_admin_network_policy(baseline),) if baseline else ()
        ),
        baseline_admin_network_policy_state=baseline_state,  # type: ignore[arg-type]
        plugin_policy_state="absent",
    )
    return PolicyIndex(snap)


def check(
    idx: PolicyIndex, src: str, dst: str, port: int = 8080, proto: str = "TCP"
) -> PolicyVerdict:
    s = (
        Peer.of_pod(PODS[src])
        if src in PODS
        else (Peer.outside() if src == "outside" else Peer.of_ip(src))
    )
    d = Peer.of_pod(PODS[dst]) if dst in PODS else Peer.of_ip(dst)
    return idx.check(s, d, port, proto)  # type: ignore[arg-type]


def rule(
    action: str, name: str = "", ports: list[Any] | None = None, **peer: Any
) -> dict[str, Any]:
    key = "to" if peer.pop("egress", False) else "from"
    out: dict[str, Any] = {"action": action, "name": name, key: [peer]}
    if ports is not None:
        out["ports"] = ports
    return out


FROM_MON: Any = {"namespaces": _ns("mon")}
DENY_ALL_NP = np("deny-all", "web", policyTypes=["Ingress"])
ALLOW_MON_NP = np("allow-mon", "web", ingress=[{"from": [{"namespaceSelector": _ns("mon")}]}])


# --- the tiers ------------------------------------------------------------------------------


def test_allow_short_circuits_networkpolicy_isolation() -> None:
    idx = world(
        (anp("allow-mon", 10, ingress=[rule("Allow", "allow-from-mon", **FROM_MON)]),),
        nps=(DENY_ALL_NP,),
    )
    v = check(idx, "mon/m", "web/a")
    assert v.verdict == "allowed"
    assert v.ingress.decided_by is not None
    assert v.ingress.isolating == ()
    assert side_words("ingress", v.ingress) == (
        "ingress: allowed by AdminNetworkPolicy allow-mon ingress[0] 'allow-from-mon' (priority 10)"
    )
    # Sources the ANP does not match fall to the NetworkPolicy, which isolates and denies.
    assert check(idx, "other/o", "web/a").verdict == "denied"


def test_deny_beats_a_networkpolicy_allow() -> None:
    idx = world(
        (anp("deny-mon", 5, ingress=[rule("Deny", "no-mon", **FROM_MON)]),), nps=(ALLOW_MON_NP,)
    )
    v = check(idx, "mon/m", "web/a")
    assert (v.verdict, v.ingress.allowed_by) == ("denied", ())
    assert (
        side_words("ingress", v.ingress)
        == "ingress: denied by AdminNetworkPolicy deny-mon ingress[0] 'no-mon' (priority 5)"
    )


def test_priority_lower_number_first() -> None:
    allow = anp("a-allow", 20, ingress=[rule("Allow", **FROM_MON)])
    deny = anp("b-deny", 10, ingress=[rule("Deny", **FROM_MON)])
    assert check(world((allow, deny)), "mon/m", "web/a").verdict == "denied"
    allow = anp("a-allow", 1, ingress=[rule("Allow", **FROM_MON)])
    assert check(world((allow, deny)), "mon/m", "web/a").verdict == "allowed"


def test_rules_in_order_first_match_wins() -> None:
    p = anp(
        "p", 1, ingress=[rule("Deny", "first", **FROM_MON), rule("Allow", "second", **FROM_MON)]
    )
    v = check(world((p,)), "mon/m", "web/a")
    assert v.verdict == "denied"
    assert v.ingress.decided_by is not None
    assert (v.ingress.decided_by.index, v.ingress.decided_by.name) == (0, "first")


def test_pass_falls_to_networkpolicies() -> None:
    p = anp("pass-mon", 3, ingress=[rule("Pass", "to-np", **FROM_MON)])
    deny_after = anp("z-deny", 50, ingress=[rule("Deny", **FROM_MON)])
    # Pass skips the remaining ANPs (the Deny at priority 50) and the NetworkPolicy allows.
    v = check(world((p, deny_after), nps=(ALLOW_MON_NP,)), "mon/m", "web/a")
    assert v.verdict == "allowed"
    assert [str(r) for r in v.ingress.allowed_by] == ["web/allow-mon ingress[0]"]
    assert side_words("ingress", v.ingress) == (
        "ingress: passed by AdminNetworkPolicy pass-mon ingress[0] 'to-np' (priority 3), then "
        "allowed by web/allow-mon ingress[0]"
    )
    # ... and when the NetworkPolicy isolates without a matching rule, denied.
    assert check(world((p, deny_after), nps=(DENY_ALL_NP,)), "mon/m", "web/a").verdict == "denied"


def test_pass_then_not_isolated_falls_to_the_baseline() -> None:
    p = anp("pass-mon", 3, ingress=[rule("Pass", **FROM_MON)])
    b = banp(
        ingress=[
            rule("Allow", "ok-from-web", namespaces=_ns("web")),
            rule("Deny", "deny-all", namespaces={}),
        ]
    )
    v = check(world((p,), b), "mon/m", "web/a")
    assert v.verdict == "denied"
    assert side_words("ingress", v.ingress) == (
        "ingress: passed by AdminNetworkPolicy pass-mon ingress[0] (priority 3), then denied by "
        "BaselineAdminNetworkPolicy default ingress[1] 'deny-all'"
    )
    assert check(world((p,), b), "web/b", "web/a").verdict == "allowed"
    # A NetworkPolicy isolating the pod: the baseline is never consulted.
    assert check(world((p,), b, nps=(ALLOW_MON_NP,)), "mon/m", "web/a").verdict == "allowed"


def test_baseline_allow_deny_and_no_match() -> None:
    b = banp(
        ingress=[rule("Allow", "mon", **FROM_MON), rule("Deny", "other", namespaces=_ns("other"))]
    )
    idx = world(baseline=b)
    assert check(idx, "mon/m", "web/a").verdict == "allowed"
    assert check(idx, "mon/m", "web/a").ingress.decided_by is not None
    assert check(idx, "other/o", "web/a").verdict == "denied"
    v = check(idx, "web/b", "web/a")  # no rule matches: allowed, nothing decided it
    assert (v.verdict, v.ingress.decided_by) == ("allowed", None)
    # Pods outside the subject are not touched.
    assert check(idx, "other/o", "mon/m").verdict == "allowed"


def test_no_match_anywhere_is_allowed() -> None:
    p = anp("p", 1, ingress=[rule("Deny", namespaces=_ns("other"))])
    v = check(world((p,), banp(ingress=[rule("Deny", namespaces=_ns("other"))])), "mon/m", "web/a")
    assert v.verdict == "allowed"
    assert side_words("ingress", v.ingress) == "ingress: not isolated"


def test_same_priority_with_different_actions_is_unknown() -> None:
    a = anp("a", 7, ingress=[rule("Allow", **FROM_MON)])
    d = anp("d", 7, ingress=[rule("Deny", **FROM_MON)])
    v = check(world((a, d)), "mon/m", "web/a")
    assert v.verdict == "unknown"
    assert v.ingress.reason is not None
    assert "same priority 7" in v.ingress.reason
    assert "implementation" in v.ingress.reason
    # The same action at the same priority is no conflict.
    d2 = anp("d2", 7, ingress=[rule("Allow", **FROM_MON)])
    assert check(world((a, d2)), "mon/m", "web/a").verdict == "allowed"
    # Only one of them matching: no conflict either.
    d3 = anp("d3", 7, ingress=[rule("Deny", namespaces=_ns("other"))])
    assert check(world((a, d3)), "mon/m", "web/a").verdict == "allowed"


# --- ports ----------------------------------------------------------------------------------


def test_port_number_named_port_and_range() -> None:
    by_number = anp(
        "n",
        1,
        ingress=[
            rule("Deny", ports=[{"portNumber": {"protocol": "TCP", "port": 8080}}], **FROM_MON)
        ],
    )
    idx = world((by_number,))
    assert check(idx, "mon/m", "web/a", 8080).verdict == "denied"
    assert check(idx, "mon/m", "web/a", 9090).verdict == "allowed"
    assert check(idx, "mon/m", "web/a", 8080, "UDP").verdict == "allowed"
    named = anp("n", 1, ingress=[rule("Deny", ports=[{"namedPort": "metrics"}], **FROM_MON)])
    idx = world((named,))
    assert check(idx, "mon/m", "web/a", 9090).verdict == "denied"
    assert check(idx, "mon/m", "web/a", 8080).verdict == "allowed"
    ranged = anp(
        "n",
        1,
        ingress=[rule("Deny", ports=[{"portRange": {"start": 8000, "end": 9000}}], **FROM_MON)],
    )
    idx = world((ranged,))
    assert [check(idx, "mon/m", "web/a", p).verdict for p in (7999, 8000, 8080, 9000, 9001)] == [
        "allowed", "denied", "denied", "denied", "allowed"
    ]  # fmt: skip
    assert check(idx, "mon/m", "web/a", 8080, "UDP").verdict == "allowed"  # protocol TCP by default


# --- subjects and peers ---------------------------------------------------------------------


def test_subject_by_namespaces_and_by_pods() -> None:
    deny = [rule("Deny", **FROM_MON)]
    by_ns = world((anp("p", 1, subject={"namespaces": _ns("web")}, ingress=deny),))
    assert check(by_ns, "mon/m", "web/a").verdict == "denied"
    assert check(by_ns, "mon/m", "web/b").verdict == "denied"
    assert check(by_ns, "mon/m", "other/o").verdict == "allowed"
    by_pods = world(
        (
            anp(
                "p",
                1,
                subject={
                    "pods": {
                        "namespaceSelector": {},
                        "podSelector": {"matchLabels": {"app": "web"}},
                    }
                },
                ingress=deny,
            ),
        )
    )
    assert check(by_pods, "mon/m", "web/a").verdict == "denied"
    assert check(by_pods, "mon/m", "web/b").verdict == "allowed"
    assert check(by_pods, "mon/m", "other/o").verdict == "denied"


def test_pods_peer_is_namespace_and_pod_labels() -> None:
    peer: Any = {
        "pods": {"namespaceSelector": _ns("mon"), "podSelector": {"matchLabels": {"app": "prom"}}}
    }
    idx = world((anp("p", 1, ingress=[rule("Deny", **peer)]),))
    assert check(idx, "mon/m", "web/a").verdict == "denied"
    assert check(idx, "other/o", "web/a").verdict == "allowed"


def test_outside_clients_and_addresses_match_no_ingress_peer() -> None:
    idx = world((anp("p", 1, ingress=[rule("Deny", namespaces={})]),))
    assert check(idx, "mon/m", "web/a").verdict == "denied"
    assert check(idx, "outside", "web/a").verdict == "allowed"
    assert check(idx, "203.0.113.9", "web/a").verdict == "allowed"


def test_host_network_pods_are_neither_subjects_nor_peers() -> None:
    everyone: Any = {"namespaces": {}}
    idx = world((anp("p", 1, subject={"namespaces": {}}, ingress=[rule("Deny", **everyone)]),))
    assert check(idx, "mon/m", "other/h").verdict == "allowed"  # not a subject
    assert check(idx, "other/h", "web/a").verdict == "allowed"  # not a peer
    assert check(idx, "mon/m", "web/a").verdict == "denied"


def test_egress_to_networks_nodes_and_pods() -> None:
    egress = [
        rule("Allow", "dns", egress=True, networks=["10.1.1.0/24"]),
        rule("Deny", "nodes", egress=True, nodes={"matchLabels": {"role": "worker"}}),
        rule("Deny", "outside", egress=True, networks=["0.0.0.0/0"]),
    ]
    idx = world((anp("egress", 1, egress=egress),))
    # networks match pod addresses too ("cluster-internal traffic will be checked").
    v = check(idx, "web/a", "mon/m")
    assert v.verdict == "allowed"
    assert v.egress.decided_by is not None
    assert v.egress.decided_by.name == "dns"
    assert check(idx, "web/a", "other/o").verdict == "denied"  # 0.0.0.0/0
    v = check(idx, "web/a", "192.168.0.10")  # the node's address
    assert v.verdict == "denied"
    assert v.egress.decided_by is not None
    assert v.egress.decided_by.name == "nodes"
    v = check(idx, "web/a", "other/h")  # a hostNetwork pod has the node's address
    assert v.egress.decided_by is not None
    assert v.egress.decided_by.name == "nodes"
    assert check(idx, "mon/m", "web/a").verdict == "allowed"  # mon is no subject
    # Nodes not read: a nodes peer cannot be told for an address.
    v = check(world((anp("egress", 1, egress=egress[1:2]),), nodes=False), "web/a", "192.168.0.10")
    assert v.verdict == "unknown"
    assert "nodes that were not read" in (v.egress.reason or "")


def test_domain_names_are_unknown_for_addresses_and_match_no_pod() -> None:
    p = anp("p", 1, egress=[rule("Allow", egress=True, domainNames=["*.example.com"])])
    assert check(world((p,)), "web/a", "203.0.113.9").verdict == "unknown"
    assert check(world((p,)), "web/a", "mon/m").verdict == "allowed"  # no match: not decided
    assert check(world((p,)), "web/a", "mon/m").egress.decided_by is None


def test_unknown_peer_type_fails_closed() -> None:
    # A peer with none of the fields kinspect knows (a newer CRD's peer type).
    unknown_peer: dict[str, Any] = {"action": "Pass", "from": [{}]}
    v = check(world((anp("p", 1, ingress=[unknown_peer]),)), "mon/m", "web/a")
    assert v.verdict == "denied"  # a Pass (or Deny) rule becomes "Deny all"
    allow = {"action": "Allow", "from": [{}]}
    v = check(world((anp("p", 1, ingress=[allow]),), nps=(DENY_ALL_NP,)), "mon/m", "web/a")
    assert v.verdict == "denied"
    assert v.ingress.decided_by is None  # matches nothing


def test_namespace_labels_not_read_make_a_namespace_peer_unknown() -> None:
    idx = world(
        (anp("p", 1, subject={"namespaces": {}}, ingress=[rule("Deny", **FROM_MON)]),),
        namespaces=False,
    )
    v = check(idx, "mon/m", "web/a")
    assert v.verdict == "unknown"
    assert "namespace labels that were not read" in (v.ingress.reason or "")


# --- unreadable -----------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["forbidden", "not-read"])
def test_unreadable_admin_policies_make_every_pod_verdict_unknown(state: str) -> None:
    idx = world(state=state)
    v = check(idx, "mon/m", "web/a")
    assert v.verdict == "unknown"
    assert (v.ingress.reason or "").startswith("AdminNetworkPolicies ")
    assert "AdminNetworkPolicies" in side_words("egress", v.egress)
    # Even a NetworkPolicy deny: an unreadable ANP could Allow it.
    assert check(world(nps=(DENY_ALL_NP,), state=state), "mon/m", "web/a").verdict == "unknown"


def test_unreadable_baseline_is_unknown_only_where_no_networkpolicy_isolates() -> None:
    idx = world(baseline_state="forbidden", nps=(ALLOW_MON_NP,))
    v = check(idx, "mon/m", "web/a")
    assert v.ingress.verdict == "allowed"  # web/a is isolated: the NetworkPolicy decides
    assert v.egress.verdict == "unknown"  # mon/m's egress is not: the baseline could decide
    assert v.egress.reason == "the BaselineAdminNetworkPolicy could not be read"
    assert v.verdict == "unknown"


def test_absent_crds_change_nothing() -> None:
    snap = Snapshot(
        "t",
        pods=tuple(PODS.values()),
        network_policy_state="read",
        admin_network_policy_state="absent",
        baseline_admin_network_policy_state="absent",
        plugin_policy_state="absent",
    )
    v = PolicyIndex(snap).check(Peer.of_pod(PODS["mon/m"]), Peer.of_pod(PODS["web/a"]), 8080)
    assert v.verdict == "allowed"
    assert v.ingress.decided_by is None


# --- conformance suite (sigs.k8s.io/network-policy-api v0.1.7 conformance/) -----------------
#
# Houses: namespaces network-policy-conformance-<house> labelled conformance-house=<house>,
# each with pods labelled the same; servers listen on 80/TCP and 8080/TCP.

HOUSES = ("gryffindor", "slytherin", "hufflepuff", "ravenclaw")


def _house_world(
    anps: tuple[dict[str, Any], ...] = (),
    baseline: dict[str, Any] | None = None,
    nps: tuple[dict[str, Any], ...] = (),
) -> PolicyIndex:
    def ns(h: str) -> str:
        return f"network-policy-conformance-{h}"

    pods = tuple(
        Pod(ns(h), f"{h}-{i}", {"conformance-house": h}, phase="Running", ready=True,
            pod_ips=(f"10.2.{n}.{i + 1}",), ports=(ContainerPort("c", 80, "TCP", "web"),))
        for n, h in enumerate(HOUSES) for i in range(2)
    )  # fmt: skip
    snap = Snapshot(
        "t",
        pods=pods,
        namespaces=tuple(
            Namespace(ns(h), {"kubernetes.io/metadata.name": ns(h), "conformance-house": h})
            for h in HOUSES
        ),
        network_policies=tuple(
            convert_policy.network_policy(msgspec.convert(p, raw.NetworkPolicy)) for p in nps
        ),
        network_policy_state="read",
        admin_network_policies=tuple(
            convert_policy.admin_network_policy(msgspec.convert(p, raw.AdminNetworkPolicy))
            for p in anps
        ),
        admin_network_policy_state="read",
        baseline_admin_network_policies=(
            (
                convert_policy.baseline_admin_network_policy(
                    msgspec.convert(baseline, raw.AdminNetworkPolicy)
                ),
            )
            if baseline
            else ()
        ),
        baseline_admin_network_policy_state="read",
        plugin_policy_state="absent",
    )
    idx = PolicyIndex(snap)
    idx.pods_by_house = {h: [p for p in pods if p.labels["conformance-house"] == h] for h in HOUSES}  # type: ignore[attr-defined]
    return idx


def _poke(idx: PolicyIndex, client: str, server: str, port: int) -> bool:
    houses = idx.pods_by_house  # type: ignore[attr-defined]
    c, s = houses[client][0], houses[server][0]
    v = idx.check(Peer.of_pod(c), Peer.of_pod(s), port)
    assert v.verdict != "unknown", v
    return v.verdict == "allowed"


def _house_ns(h: str) -> dict[str, Any]:
    return {"matchLabels": {"kubernetes.io/metadata.name": f"network-policy-conformance-{h}"}}


def _house_rule(name: str, action: str, house: str, port: int | None = None) -> dict[str, Any]:
    r: dict[str, Any] = {"name": name, "action": action, "from": [{"namespaces": _house_ns(house)}]}
    if port is not None:
        r["ports"] = [{"portNumber": {"protocol": "TCP", "port": port}}]
    return r


# conformance/base/admin_network_policy/standard-ingress-tcp-rules.yaml, verbatim.
INGRESS_TCP = {
    "metadata": {"name": "ingress-tcp"},
    "spec": {
        "priority": 3,
        "subject": {"namespaces": _house_ns("gryffindor")},
        "ingress": [
            _house_rule("allow-from-ravenclaw-everything", "Allow", "ravenclaw"),
            _house_rule("deny-from-ravenclaw-everything", "Deny", "ravenclaw"),
            _house_rule("pass-from-ravenclaw-everything", "Pass", "ravenclaw"),
            _house_rule("deny-from-slytherin-at-port-80", "Deny", "slytherin", 80),
            _house_rule("pass-from-slytherin-at-port-80", "Pass", "slytherin", 80),
            _house_rule("allow-from-hufflepuff-at-port-80", "Allow", "hufflepuff", 80),
            _house_rule("deny-from-hufflepuff-everything-else", "Deny", "hufflepuff"),
        ],
    },
}


def _swapped(policy: dict[str, Any], i: int, j: int) -> dict[str, Any]:
    p = copy.deepcopy(policy)
    rules = p["spec"]["ingress"]
    rules[i], rules[j] = rules[j], rules[i]
    return p


# conformance/tests/admin-network-policy-standard-ingress-tcp-rules.go: each t.Run as
# (the rules swapped before it, client house, port, the connectivity it expects).
INGRESS_TCP_CASES = [
    ("allow-ingress, rule ordering", None, "ravenclaw", 80, True),
    ("allow-ingress, rule ordering", None, "ravenclaw", 8080, True),
    ("allow-ingress at the specified port", None, "hufflepuff", 80, True),
    ("allow-ingress at the specified port", None, "hufflepuff", 8080, False),
    ("deny-ingress, rule ordering", (0, 1), "ravenclaw", 80, False),
    ("deny-ingress, rule ordering", (0, 1), "ravenclaw", 8080, False),
    ("deny-ingress at the specified port", None, "slytherin", 80, False),
    ("deny-ingress at the specified port", None, "slytherin", 8080, True),
    ("pass-ingress, rule ordering", (0, 2), "ravenclaw", 80, True),
    ("pass-ingress, rule ordering", (0, 2), "ravenclaw", 8080, True),
    ("pass-ingress at the specified port", (3, 4), "slytherin", 80, True),
    ("pass-ingress at the specified port", (3, 4), "slytherin", 8080, True),
]


@pytest.mark.parametrize(("case", "swap", "client", "port", "expected"), INGRESS_TCP_CASES)
def test_conformance_ingress_tcp(
    case: str, swap: tuple[int, int] | None, client: str, port: int, expected: bool
) -> None:
    policy = _swapped(INGRESS_TCP, *swap) if swap else INGRESS_TCP
    assert _poke(_house_world((policy,)), client, "gryffindor", port) is expected, case


# conformance/base/api_integration/standard-anp-np-banp.yaml (with conformance-house labels).
def _by_house(h: str) -> dict[str, Any]:
    return {"matchLabels": {"conformance-house": h}}


def _integration(action: str, with_np: bool = True) -> PolicyIndex:
    pass_example = {
        "metadata": {"name": "pass-example"},
        "spec": {
            "priority": 10,
            "subject": {"namespaces": _by_house("gryffindor")},
            "ingress": [{"name": "deny-all-ingress-from-slytherin", "action": action,
                         "from": [{"namespaces": _by_house("slytherin")}]}],
            "egress": [{"name": "deny-all-egress-to-slytherin", "action": action,
                        "to": [{"namespaces": _by_house("slytherin")}]}],
        },
    }  # fmt: skip
    allow_np = {
        "metadata": {"name": "allow-gress-from-to-slytherin-to-gryffindor",
                     "namespace": "network-policy-conformance-gryffindor"},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"],
                 "ingress": [{"from": [{"namespaceSelector": _by_house("slytherin")}]}],
                 "egress": [{"to": [{"namespaceSelector": _by_house("slytherin")}]}]},
    }  # fmt: skip
    baseline = {
        "metadata": {"name": "default"},
        "spec": {
            "subject": {"namespaces": _by_house("gryffindor")},
            "ingress": [{"name": "deny-all-ingress-from-slytherin", "action": "Deny",
                         "from": [{"namespaces": _by_house("slytherin")}]}],
            "egress": [{"name": "deny-all-egress-to-slytherin", "action": "Deny",
                        "to": [{"namespaces": _by_house("slytherin")}]}],
        },
    }  # fmt: skip
    return _house_world((pass_example,), baseline, (allow_np,) if with_np else ())


# conformance/tests/admin-network-policy-standard-integration.go, in its order: Deny; the ANP
# rules updated to Pass (the NetworkPolicy's Allow decides); the NetworkPolicy deleted (the
# baseline's Deny decides). Ingress: slytherin to gryffindor; egress: gryffindor to slytherin.
@pytest.mark.parametrize(
    ("action", "with_np", "expected"),
    [("Deny", True, False), ("Pass", True, True), ("Pass", False, False)],
)
def test_conformance_anp_np_banp_integration(action: str, with_np: bool, expected: bool) -> None:
    idx = _integration(action, with_np)
    for port in (80, 8080):
        assert _poke(idx, "slytherin", "gryffindor", port) is expected
        assert _poke(idx, "gryffindor", "slytherin", port) is expected


# conformance/tests/admin-network-policy-standard-priority.go with
# conformance/base/admin_network_policy/standard-priority-field.yaml: a Deny at 50, a Pass at
# 60 (then updated to 40), a baseline that Allows.
@pytest.mark.parametrize(("pass_priority", "expected"), [(60, False), (40, True)])
def test_conformance_priority_field(pass_priority: int, expected: bool) -> None:
    def pods_peer(h: str) -> dict[str, Any]:
        return {"pods": {"namespaceSelector": _by_house(h), "podSelector": _by_house(h)}}

    def policy(name: str, prio: int | None, action: str) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "subject": pods_peer("gryffindor"),
            "ingress": [{"action": action, "from": [pods_peer("slytherin")]}],
            "egress": [{"action": action, "to": [pods_peer("slytherin")]}],
        }
        if prio is not None:
            spec["priority"] = prio
        return {"metadata": {"name": name}, "spec": spec}

    idx = _house_world(
        (policy("priority-50-example", 50, "Deny"),
         policy("old-priority-60-new-priority-40-example", pass_priority, "Pass")),
        policy("default", None, "Allow"),
    )  # fmt: skip
    for port in (80, 8080):
        assert _poke(idx, "slytherin", "gryffindor", port) is expected
        assert _poke(idx, "gryffindor", "slytherin", port) is expected
