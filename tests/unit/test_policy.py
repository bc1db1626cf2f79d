# ruff: noqa: E501  (the table keeps the upstream test names verbatim, one case per row)
"""NetworkPolicy truth tables: kinspect.policy.netpol against the networking.k8s.io/v1 semantics.

The first table transcribes the cases of the upstream e2e suite
(kubernetes/kubernetes test/e2e/network/netpol/network_policy.go), on its model: namespaces
x, y, z with pods a, b, c each, every pod serving 80 and 81 over TCP, UDP and SCTP with
container ports named serve-<port>-<protocol>. Each case is its policies (as the API server
returns them: policyTypes and protocols defaulted) and the expected verdict for every pair of
the 9x9 matrix, stated as the suite's Reachability does: a default and the exceptions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
import pytest

from kinspect.model.snapshot import Snapshot
from kinspect.model.values import ContainerPort, Namespace, Pod, Protocol
from kinspect.policy.netpol import PolicyIndex, in_block
from kinspect.policy.peer import Peer
from kinspect.wire import convert_policy, raw

NSS = ("x", "y", "z")
PODS = ("a", "b", "c")
IPS = {f"{ns}/{p}": f"10.1.{i}.{j + 1}" for i, ns in enumerate(NSS) for j, p in enumerate(PODS)}


def _pod(ns: str, name: str, host_network: bool = False) -> Pod:
    ports = tuple(
        ContainerPort(f"cont-{port}-{proto.lower()}", port, proto, f"serve-{port}-{proto.lower()}")
        for port in (80, 81)
        for proto in ("TCP", "UDP", "SCTP")
    )
    return Pod(
        ns, name, {"pod": name}, phase="Running", ready=True, pod_ips=(IPS[f"{ns}/{name}"],),
        ports=ports, host_network=host_network,
    )  # fmt: skip


def world(*policies: dict[str, Any], state: str = "read", ns_labels: bool = True) -> Snapshot:
    nps = []
    for i, p in enumerate(policies):
        spec = dict(p)
        ns = spec.pop("ns", "x")
        body = {"metadata": {"name": spec.pop("name", f"p{i}"), "namespace": ns}, "spec": spec}
        nps.append(convert_policy.network_policy(msgspec.convert(body, raw.NetworkPolicy)))
    namespaces = (
        tuple(Namespace(ns, {"ns": ns, "kubernetes.io/metadata.name": ns}) for ns in NSS)
        if ns_labels
        else ()
    )
    return Snapshot(
        "t",
        pods=tuple(_pod(ns, p) for ns in NSS for p in PODS),
        namespaces=namespaces,
        network_policies=tuple(nps),
        network_policy_state=state,  # type: ignore[arg-type]
        admin_network_policy_state="absent",
        baseline_admin_network_policy_state="absent",
        plugin_policy_state="absent",
    )


def verdict(snap: Snapshot, src: str, dst: str, port: int = 80, proto: Protocol = "TCP") -> str:
    idx = PolicyIndex(snap)
    pods = {str(p.ref): p for p in snap.pods}
    s = Peer.of_pod(pods[src]) if src in pods else Peer.of_ip(src)
    d = Peer.of_pod(pods[dst]) if dst in pods else Peer.of_ip(dst)
    return idx.check(s, d, port, proto).verdict


ALL = [f"{ns}/{p}" for ns in NSS for p in PODS]
Rule = Callable[[str, str], bool]


def to(dst: str, allowed_from: Callable[[str], bool]) -> Rule:
    """Traffic into `dst` allowed only from sources `allowed_from` accepts; all else allowed."""
    return lambda s, d: allowed_from(s) if d == dst else True


def into_ns(ns: str, allowed_from: Callable[[str], bool]) -> Rule:
    return lambda s, d: allowed_from(s) if d.startswith(ns + "/") else True


def allow(s: str, d: str) -> bool:
    return True


def ing(**spec: Any) -> dict[str, Any]:
    spec.setdefault("policyTypes", ["Ingress"])
    return spec


def sel(**labels: str) -> dict[str, Any]:
    return {"matchLabels": labels}


def exprs(key: str, op: str, *values: str) -> dict[str, Any]:
    e: dict[str, Any] = {"key": key, "operator": op}
    if values:
        e["values"] = list(values)
    return {"matchExpressions": [e]}


# (upstream test name, policies, port, protocol, expected(src, dst) over the 9x9 matrix)
UPSTREAM: list[tuple[str, list[dict[str, Any]], int, Protocol, Rule]] = [
    ("should support a 'default-deny-ingress' policy",
     [ing(podSelector={})], 80, "TCP", into_ns("x", lambda s: False)),
    ("should support a 'default-deny-all' policy",
     [{"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}], 80, "TCP",
     lambda s, d: not (s.startswith("x/") or d.startswith("x/"))),
    ("should enforce policy to allow traffic from pods within server namespace based on PodSelector",
     [ing(podSelector=sel(pod="a"), ingress=[{"from": [{"podSelector": sel(pod="b")}]}])], 80, "TCP",
     to("x/a", lambda s: s == "x/b")),
    ("should enforce policy to allow ingress traffic for a target",
     [ing(podSelector={}), ing(podSelector=sel(pod="a"), ingress=[{}])], 80, "TCP",
     lambda s, d: d == "x/a" or not d.startswith("x/")),
    ("should enforce policy to allow ingress traffic from pods in all namespaces",
     [ing(podSelector=sel(pod="a"), ingress=[{"from": [{"namespaceSelector": {}}]}])], 80, "TCP", allow),
    ("should enforce policy to allow traffic only from a different namespace, based on NamespaceSelector",
     [ing(podSelector=sel(pod="a"), ingress=[{"from": [{"namespaceSelector": sel(ns="y")}]}])], 80, "TCP",
     to("x/a", lambda s: s.startswith("y/"))),
    ("should enforce policy based on PodSelector with MatchExpressions",
     [ing(podSelector=sel(pod="a"), ingress=[{"from": [{"podSelector": exprs("pod", "In", "b")}]}])],
     80, "TCP", to("x/a", lambda s: s == "x/b")),
    ("should enforce policy based on NamespaceSelector with MatchExpressions",
     [ing(podSelector=sel(pod="a"), ingress=[{"from": [{"namespaceSelector": exprs("ns", "In", "y")}]}])],
     80, "TCP", to("x/a", lambda s: s.startswith("y/"))),
    ("should enforce policy based on NamespaceSelector with MatchExpressions using default ns label",
     [ing(podSelector=sel(pod="a"), ingress=[{"from": [{"namespaceSelector": exprs(
         "kubernetes.io/metadata.name", "In", "y")}]}])],
     80, "TCP", to("x/a", lambda s: s.startswith("y/"))),
    ("should enforce policy based on PodSelector or NamespaceSelector",
     [ing(podSelector=sel(pod="a"), ingress=[{"from": [
         {"namespaceSelector": exprs("ns", "NotIn", "x")}, {"podSelector": sel(pod="b")}]}])],
     80, "TCP", to("x/a", lambda s: not s.startswith("x/") or s == "x/b")),
    ("should enforce policy based on PodSelector and NamespaceSelector",
     [ing(podSelector=sel(pod="a"), ingress=[{"from": [
         {"namespaceSelector": exprs("ns", "NotIn", "x"), "podSelector": sel(pod="b")}]}])],
     80, "TCP", to("x/a", lambda s: s in ("y/b", "z/b"))),
    ("should enforce policy based on Multiple PodSelectors and NamespaceSelectors",
     [ing(podSelector=sel(pod="a"), ingress=[{"from": [
         {"namespaceSelector": exprs("ns", "NotIn", "x"), "podSelector": exprs("pod", "In", "b", "c")}]}])],
     80, "TCP", to("x/a", lambda s: s in ("y/b", "y/c", "z/b", "z/c"))),
    ("should enforce policy based on any PodSelectors",
     [ing(podSelector=sel(pod="a"), ingress=[{"from": [
         {"podSelector": sel(pod="b")}, {"podSelector": sel(pod="c")}]}])],
     80, "TCP", to("x/a", lambda s: s in ("x/b", "x/c"))),
    ("should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector",
     [ing(podSelector=sel(pod="a"), ingress=[{"from": [
         {"namespaceSelector": sel(ns="y"), "podSelector": sel(pod="a")}]}])],
     80, "TCP", to("x/a", lambda s: s == "y/a")),
    ("should enforce policy based on Ports (81 allowed)",
     [ing(podSelector=sel(pod="a"), ingress=[{"from": [{"namespaceSelector": sel(ns="y")}],
                                              "ports": [{"port": 81}]}])],
     81, "TCP", to("x/a", lambda s: s.startswith("y/"))),
    ("should enforce policy based on Ports (80 denied)",
     [ing(podSelector=sel(pod="a"), ingress=[{"from": [{"namespaceSelector": sel(ns="y")}],
                                              "ports": [{"port": 81}]}])],
     80, "TCP", to("x/a", lambda s: False)),
    ("should enforce multiple, stacked policies with overlapping podSelectors",
     [ing(podSelector=sel(pod="a"), ingress=[{"from": [{"namespaceSelector": sel(ns="y")}], "ports": [{"port": 81}]}]),
      ing(podSelector=sel(pod="a"), ingress=[{"from": [{"namespaceSelector": sel(ns="y")}], "ports": [{"port": 80}]}])],
     80, "TCP", to("x/a", lambda s: s.startswith("y/"))),
    ("should support allow-all policy",
     [ing(podSelector={}, ingress=[{}])], 80, "TCP", allow),
    ("should allow ingress access on one named port (serve-81-tcp, 81)",
     [ing(podSelector={}, ingress=[{"ports": [{"port": "serve-81-tcp"}]}])], 81, "TCP", allow),
    ("should allow ingress access on one named port (80 denied)",
     [ing(podSelector={}, ingress=[{"ports": [{"port": "serve-81-tcp"}]}])], 80, "TCP",
     into_ns("x", lambda s: False)),
    ("should allow ingress access from namespace on one named port",
     [ing(podSelector={}, ingress=[{"from": [{"namespaceSelector": sel(ns="y")}], "ports": [{"port": "serve-80-tcp"}]}])],
     80, "TCP", into_ns("x", lambda s: s.startswith("y/"))),
    ("should allow egress access on one named port",
     [{"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"ports": [{"port": "serve-80-tcp"}]}]}],
     80, "TCP", allow),
    ("should allow egress access on one named port (81 denied)",
     [{"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"ports": [{"port": "serve-80-tcp"}]}]}],
     81, "TCP", lambda s, d: not s.startswith("x/")),
    ("should deny ingress from pods on other namespaces",
     [ing(podSelector={}, ingress=[{"from": [{"podSelector": {}}]}])], 80, "TCP",
     into_ns("x", lambda s: s.startswith("x/"))),
    ("should deny egress from pods based on PodSelector",
     [{"podSelector": sel(pod="a"), "policyTypes": ["Egress"]}], 80, "TCP", lambda s, d: s != "x/a"),
    ("should deny egress from all pods in a namespace",
     [{"podSelector": {}, "policyTypes": ["Egress"]}], 80, "TCP", lambda s, d: not s.startswith("x/")),
    ("should work with Ingress, Egress specified together",
     [{"podSelector": sel(pod="a"), "policyTypes": ["Ingress", "Egress"],
       "ingress": [{"from": [{"podSelector": sel(pod="b")}]}],
       "egress": [{"ports": [{"port": 80}]}]}], 80, "TCP",
     lambda s, d: (s == "x/b") if d == "x/a" else True),
    ("should support denying of egress traffic on the client side (even if the server explicitly allows this traffic)",
     [{"ns": "x", "podSelector": sel(pod="a"), "policyTypes": ["Egress"],
       "egress": [{"to": [{"namespaceSelector": sel(ns="y")}]}]},
      {"ns": "y", "podSelector": sel(pod="a"), "policyTypes": ["Ingress"],
       "ingress": [{"from": [{"namespaceSelector": sel(ns="x"), "podSelector": sel(pod="a")}]}]}],
     80, "TCP",
     lambda s, d: (d.startswith("y/") and (d != "y/a" or s == "x/a")) if s == "x/a"
     else (d != "y/a")),
    ("should enforce ingress policy allowing any port traffic to a server on a specific protocol",
     [ing(podSelector=sel(pod="a"), ingress=[{"ports": [{"protocol": "TCP"}]}])], 81, "TCP", allow),
    ("should enforce ingress policy allowing any port traffic to a server on a specific protocol (UDP denied)",
     [ing(podSelector=sel(pod="a"), ingress=[{"ports": [{"protocol": "TCP"}]}])], 81, "UDP",
     to("x/a", lambda s: False)),
    ("should enforce multiple ingress policies with ingress allow-all policy taking precedence",
     [ing(podSelector={}, ingress=[{"ports": [{"port": 80}]}]), ing(podSelector={}, ingress=[{}])],
     81, "TCP", allow),
    ("should enforce multiple egress policies with egress allow-all policy taking precedence",
     [{"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"ports": [{"port": 80}]}]},
      {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{}]}], 81, "TCP", allow),
    ("should allow egress access to server in CIDR block",
     [{"podSelector": sel(pod="a"), "policyTypes": ["Egress"],
       "egress": [{"to": [{"ipBlock": {"cidr": IPS["y/b"] + "/32"}}]}]}], 80, "TCP",
     lambda s, d: d == "y/b" if s == "x/a" else True),
    ("should enforce except clause while egress access to server in CIDR block",
     [{"podSelector": sel(pod="a"), "policyTypes": ["Egress"],
       "egress": [{"to": [{"ipBlock": {"cidr": "10.1.0.0/16", "except": [IPS["y/b"] + "/32"]}}]}]}],
     80, "TCP", lambda s, d: d != "y/b" if s == "x/a" else True),
    ("should ensure an IP overlapping both IPBlock.CIDR and IPBlock.Except is allowed",
     [{"podSelector": sel(pod="a"), "policyTypes": ["Egress"],
       "egress": [{"to": [{"ipBlock": {"cidr": "10.1.0.0/16", "except": [IPS["y/b"] + "/32"]}}]}]},
      {"podSelector": sel(pod="a"), "policyTypes": ["Egress"],
       "egress": [{"to": [{"ipBlock": {"cidr": IPS["y/b"] + "/32"}}]}]}],
     80, "TCP", allow),
    ("should enforce policies to check ingress and egress policies can be controlled independently based on PodSelector",
     [{"podSelector": sel(pod="a"), "policyTypes": ["Egress"], "egress": [{}]},
      {"podSelector": sel(pod="b"), "policyTypes": ["Egress"], "egress": [{"to": [{"podSelector": sel(pod="a")}]}]}],
     80, "TCP", lambda s, d: d == "x/a" if s == "x/b" else True),
    ("should not mistakenly treat 'protocol: SCTP' as 'protocol: TCP'",
     [ing(podSelector=sel(pod="a"), ingress=[{"ports": [{"protocol": "SCTP", "port": 80}]}])],
     80, "TCP", to("x/a", lambda s: False)),
    ("should properly isolate pods that are selected by a policy allowing SCTP",
     [ing(podSelector=sel(pod="a"), ingress=[{"ports": [{"protocol": "SCTP", "port": 80}]}])],
     80, "SCTP", allow),
    ("should not allow access by TCP when a policy specifies only UDP",
     [ing(podSelector=sel(pod="a"), ingress=[{"ports": [{"protocol": "UDP", "port": 81}]}])],
     81, "TCP", to("x/a", lambda s: False)),
    ("should enforce policy to allow traffic based on NamespaceSelector with MatchLabels using default ns label",
     [ing(podSelector=sel(pod="a"), ingress=[{"from": [
         {"namespaceSelector": sel(**{"kubernetes.io/metadata.name": "y"})}]}])],
     80, "TCP", to("x/a", lambda s: s.startswith("y/"))),
    ("should support ports with endPort (NetworkPolicyEndPort: 80-81 admits 81)",
     [ing(podSelector=sel(pod="a"), ingress=[{"ports": [{"port": 80, "endPort": 81}]}])],
     81, "TCP", allow),
    ("should support ports with endPort (NetworkPolicyEndPort: 81-82 refuses 80)",
     [ing(podSelector=sel(pod="a"), ingress=[{"ports": [{"port": 81, "endPort": 82}]}])],
     80, "TCP", to("x/a", lambda s: False)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "policies", "port", "proto", "expected"), UPSTREAM, ids=[c[0] for c in UPSTREAM]
)
def test_upstream_e2e_cases(
    name: str, policies: list[dict[str, Any]], port: int, proto: Protocol, expected: Rule
) -> None:
    snap = world(*policies)
    got = {(s, d): verdict(snap, s, d, port, proto) for s in ALL for d in ALL}
    want = {(s, d): "allowed" if expected(s, d) else "denied" for s in ALL for d in ALL}
    wrong = {k: (got[k], want[k]) for k in got if got[k] != want[k]}
    assert wrong == {}


# --- each rule of the spec, one table row at a time ------------------------------------------


def test_policy_types_default_as_the_api_server_does() -> None:
    # No policyTypes: Ingress always, plus Egress when there are egress rules.
    snap = world({"podSelector": sel(pod="a"), "egress": [{"ports": [{"port": 81}]}]})
    [p] = snap.network_policies
    assert p.policy_types == ("Ingress", "Egress")
    assert verdict(snap, "x/b", "x/a") == "denied"  # ingress isolated too, with no ingress rule
    assert verdict(snap, "x/a", "y/b", 80) == "denied"
    assert verdict(snap, "x/a", "y/b", 81) == "allowed"
    [q] = world({"podSelector": {}}).network_policies
    assert q.policy_types == ("Ingress",)
    [r] = world({"podSelector": {}, "egress": []}).network_policies
    assert r.policy_types == ("Ingress",)  # an empty egress list is no egress rule


def test_egress_only_policy_leaves_ingress_open() -> None:
    snap = world({"podSelector": sel(pod="a"), "policyTypes": ["Egress"]})
    assert verdict(snap, "x/b", "x/a") == "allowed"
    assert verdict(snap, "x/a", "x/b") == "denied"


def test_from_empty_list_and_absent_both_mean_every_source() -> None:
    rules: list[dict[str, Any]] = [{"from": []}, {}]
    for rule in rules:
        snap = world(ing(podSelector=sel(pod="a"), ingress=[rule]))
        assert verdict(snap, "z/c", "x/a") == "allowed"
        assert verdict(snap, "192.0.2.9", "x/a") == "allowed"


def test_ports_empty_list_means_every_port_and_protocol_defaults_to_tcp() -> None:
    snap = world(ing(podSelector=sel(pod="a"), ingress=[{"ports": []}]))
    assert verdict(snap, "x/b", "x/a", 9999, "UDP") == "allowed"
    snap = world(ing(podSelector=sel(pod="a"), ingress=[{"ports": [{"port": 80}]}]))
    assert snap.network_policies[0].ingress[0].ports[0].protocol == "TCP"
    assert verdict(snap, "x/b", "x/a", 80, "UDP") == "denied"


def test_a_named_port_the_destination_does_not_declare_matches_nothing() -> None:
    snap = world(ing(podSelector=sel(pod="a"), ingress=[{"ports": [{"port": "metrics"}]}]))
    assert verdict(snap, "x/b", "x/a", 80) == "denied"
    # The name resolves with the rule's protocol: serve-80-tcp is not a UDP port.
    snap = world(
        ing(
            podSelector=sel(pod="a"),
            ingress=[{"ports": [{"port": "serve-80-tcp", "protocol": "UDP"}]}],
        )
    )
    assert verdict(snap, "x/b", "x/a", 80, "UDP") == "denied"


def test_egress_named_port_to_an_address_matches_nothing() -> None:
    snap = world(
        {
            "podSelector": sel(pod="a"),
            "policyTypes": ["Egress"],
            "egress": [{"ports": [{"port": "serve-80-tcp"}]}],
        }
    )
    assert verdict(snap, "x/a", "192.0.2.9", 80) == "denied"
    assert verdict(snap, "x/a", "y/b", 80) == "allowed"


def test_ip_block_and_except_for_outside_addresses() -> None:
    snap = world(
        ing(
            podSelector=sel(pod="a"),
            ingress=[
                {"from": [{"ipBlock": {"cidr": "192.0.2.0/24", "except": ["192.0.2.128/25"]}}]}
            ],
        )
    )
    assert verdict(snap, "192.0.2.9", "x/a") == "allowed"
    assert verdict(snap, "192.0.2.200", "x/a") == "denied"
    assert verdict(snap, "198.51.100.1", "x/a") == "denied"
    assert verdict(snap, "x/b", "x/a") == "denied"  # x/b's IP is not in the block


def test_in_block_never_matches_across_address_families() -> None:
    from kinspect.model.policy import IPBlock

    assert not in_block("2001:db8::1", IPBlock("0.0.0.0/0"))
    assert in_block("2001:db8::1", IPBlock("::/0"))
    assert not in_block("not-an-ip", IPBlock("0.0.0.0/0"))


def test_an_outside_client_is_allowed_only_from_the_blocks() -> None:
    snap = world(
        ing(podSelector=sel(pod="a"), ingress=[{"from": [{"ipBlock": {"cidr": "203.0.113.0/24"}}]}])
    )
    idx = PolicyIndex(snap)
    a = next(p for p in snap.pods if p.name == "a" and p.namespace == "x")
    v = idx.check(Peer.outside(), Peer.of_pod(a), 80)
    assert (v.verdict, v.ingress.only_from) == ("allowed", ("203.0.113.0/24",))
    snap = world(ing(podSelector=sel(pod="a"), ingress=[{"from": [{"podSelector": {}}]}]))
    assert PolicyIndex(snap).check(Peer.outside(), Peer.of_pod(a), 80).verdict == "denied"
    snap = world(
        ing(podSelector=sel(pod="a"), ingress=[{"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}])
    )
    v = PolicyIndex(snap).check(Peer.outside(), Peer.of_pod(a), 80)
    assert (v.verdict, v.ingress.only_from) == ("allowed", ())


def test_unreadable_policies_are_unknown_never_allowed() -> None:
    for state in ("forbidden", "not-read"):
        snap = world(state=state)
        assert verdict(snap, "x/a", "x/b") == "unknown"
        assert verdict(snap, "192.0.2.9", "x/b") == "unknown"


def test_namespace_labels_not_read_make_namespace_selectors_unknown() -> None:
    snap = world(
        ing(podSelector=sel(pod="a"), ingress=[{"from": [{"namespaceSelector": sel(ns="y")}]}]),
        ns_labels=False,
    )
    assert verdict(snap, "y/b", "x/a") == "unknown"
    # An empty namespaceSelector needs no labels, and a pod selector alone neither.
    snap = world(
        ing(podSelector=sel(pod="a"), ingress=[{"from": [{"namespaceSelector": {}}]}]),
        ns_labels=False,
    )
    assert verdict(snap, "y/b", "x/a") == "allowed"
    # Another rule that allows decides, whatever the unknown one would say.
    snap = world(
        ing(
            podSelector=sel(pod="a"),
            ingress=[
                {"from": [{"namespaceSelector": sel(ns="y")}]},
                {"from": [{"podSelector": {}}]},
            ],
        ),
        ns_labels=False,
    )
    assert verdict(snap, "x/b", "x/a") == "allowed"


def test_host_network_pods_are_implementation_defined() -> None:
    base = world(ing(podSelector={}, ingress=[{"from": [{"podSelector": sel(pod="b")}]}]))
    pods = tuple(p if str(p.ref) != "x/b" else _pod("x", "b", host_network=True) for p in base.pods)
    snap = msgspec.structs.replace(base, pods=pods)
    assert verdict(snap, "x/b", "x/a") == "unknown"  # a selector matching a hostNetwork pod
    assert verdict(snap, "x/c", "x/b") == "unknown"  # policies selecting a hostNetwork pod
    assert verdict(snap, "y/a", "y/b") == "allowed"  # nothing isolates: no doubt


def test_both_sides_are_named_in_the_verdict() -> None:
    snap = world(
        {"name": "deny-egress", "podSelector": sel(pod="a"), "policyTypes": ["Egress"]},
        {
            "name": "web",
            "ns": "y",
            "podSelector": sel(pod="b"),
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"namespaceSelector": sel(ns="x")}], "ports": [{"port": 80}]}],
        },
    )
    pods = {str(p.ref): p for p in snap.pods}
    v = PolicyIndex(snap).check(Peer.of_pod(pods["x/a"]), Peer.of_pod(pods["y/b"]), 80)
    assert v.verdict == "denied"
    assert v.egress.isolating == ("x/deny-egress",)
    assert v.egress.verdict == "denied"
    assert [str(r) for r in v.ingress.allowed_by] == ["y/web ingress[0]"]
