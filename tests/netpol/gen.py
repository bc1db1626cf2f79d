"""A seeded generator of random but valid NetworkPolicy worlds: namespaces, pods, policies.

Policies are produced as the API server returns them (JSON dicts, policyTypes and protocols
filled in as its defaulting does), so the same dicts feed kinspect (through raw/convert) and
cyclonus (which reads files without defaulting). Every value passes the API's validation:
endPort only with a numeric port and >= it, except CIDRs inside their CIDR, an ipBlock never
beside selectors, label keys and values and port names of valid syntax.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

NAMESPACES = ("x", "y", "z")
POD_NAMES = ("a", "b", "c")
# (port, protocol, name): what a pod may declare. Names are unique per pod by construction.
CONTAINER_PORTS = (
    (80, "TCP", "http"),
    (81, "TCP", "web"),
    (53, "UDP", "dns"),
    (8080, "SCTP", "alt"),
    (81, "UDP", "web-udp"),
)
TRAFFIC_PORTS = (
    (80, "TCP"),
    (81, "TCP"),
    (81, "UDP"),
    (53, "UDP"),
    (8080, "SCTP"),
    (82, "TCP"),
    (53, "TCP"),
)
PORT_NAMES = ("http", "web", "dns", "alt", "web-udp", "nope")
CIDRS = (
    ("10.0.0.0/16", ("10.0.1.0/24", "10.0.2.4/32")),
    ("10.0.1.0/24", ("10.0.1.2/32",)),
    ("0.0.0.0/0", ("10.0.0.0/16",)),
    ("192.0.2.0/24", ("192.0.2.128/25",)),
    ("10.0.2.2/32", ()),
)
EXTERNAL_IPS = ("192.0.2.7", "192.0.2.200", "198.51.100.9")


@dataclass
class World:
    namespaces: dict[str, dict[str, str]]
    pods: list[dict[str, Any]]  # {namespace, name, labels, ip, ports: [(port, proto, name)]}
    policies: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Query:
    src: dict[str, Any] | str  # a pod dict, or an external IP
    dst: dict[str, Any] | str
    port: int
    protocol: str


def _labels(r: random.Random, key_pool: tuple[str, ...], values: tuple[str, ...]) -> dict[str, str]:
    return {k: r.choice(values) for k in key_pool if r.random() < 0.5}


def world(r: random.Random) -> World:
    nss: dict[str, dict[str, str]] = {}
    for ns in NAMESPACES:
        labels = {"kubernetes.io/metadata.name": ns, "ns": ns}
        labels.update(_labels(r, ("env", "team"), ("a", "b")))
        nss[ns] = labels
    pods = []
    for ni, ns in enumerate(NAMESPACES):
        for pi, name in enumerate(POD_NAMES[: r.randint(1, 3)]):
            labels = {"pod": name}
            labels.update(_labels(r, ("role", "tier"), ("fe", "be")))
            ports = [p for p in CONTAINER_PORTS if r.random() < 0.5]
            pods.append(
                {
                    "namespace": ns,
                    "name": name,
                    "labels": labels,
                    "ip": f"10.0.{ni}.{pi + 1}",
                    "ports": ports,
                }
            )
    w = World(nss, pods)
    w.policies = [policy(r, i) for i in range(r.randint(1, 4))]
    return w


def selector(r: random.Random, keys: tuple[str, ...], values: tuple[str, ...]) -> dict[str, Any]:
    roll = r.random()
    if roll < 0.3:
        return {}
    sel: dict[str, Any] = {}
    if r.random() < 0.6:
        sel["matchLabels"] = {r.choice(keys): r.choice(values)}
    if r.random() < 0.5 or not sel:
        op = r.choice(("In", "NotIn", "Exists", "DoesNotExist"))
        req: dict[str, Any] = {"key": r.choice(keys), "operator": op}
        if op in ("In", "NotIn"):
            req["values"] = sorted(set(r.choices(values, k=r.randint(1, 2))))
        sel["matchExpressions"] = [req]
    return sel


def _pod_selector(r: random.Random) -> dict[str, Any]:
    return selector(r, ("pod", "role", "tier"), ("a", "b", "c", "fe", "be"))


def _ns_selector(r: random.Random) -> dict[str, Any]:
    return selector(
        r, ("ns", "env", "team", "kubernetes.io/metadata.name"), ("x", "y", "z", "a", "b")
    )


def peer(r: random.Random) -> dict[str, Any]:
    roll = r.random()
    if roll < 0.3:
        return {"podSelector": _pod_selector(r)}
    if roll < 0.55:
        return {"namespaceSelector": _ns_selector(r)}
    if roll < 0.8:
        return {"podSelector": _pod_selector(r), "namespaceSelector": _ns_selector(r)}
    cidr, excepts = r.choice(CIDRS)
    block: dict[str, Any] = {"cidr": cidr}
    chosen = [e for e in excepts if r.random() < 0.5]
    if chosen:
        block["except"] = chosen
    return {"ipBlock": block}


def port(r: random.Random) -> dict[str, Any]:
    out: dict[str, Any] = {"protocol": r.choice(("TCP", "TCP", "UDP", "SCTP"))}
    roll = r.random()
    if roll < 0.2:
        return out  # every port of the protocol
    if roll < 0.55:
        out["port"] = r.choice((80, 81, 53, 8080, 82))
    elif roll < 0.75:
        start = r.choice((53, 80, 81))
        out["port"] = start
        out["endPort"] = start + r.choice((0, 1, 2, 8000))
    else:
        out["port"] = r.choice(PORT_NAMES)
    return out


def rule(r: random.Random, direction: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    key = "from" if direction == "ingress" else "to"
    n = r.choice((0, 1, 1, 2))
    if n or r.random() < 0.3:
        out[key] = [peer(r) for _ in range(n)]
    m = r.choice((0, 0, 1, 2))
    if m or r.random() < 0.3:
        out["ports"] = [port(r) for _ in range(m)]
    return out


def policy(r: random.Random, i: int) -> dict[str, Any]:
    spec: dict[str, Any] = {"podSelector": _pod_selector(r)}
    ingress = [rule(r, "ingress") for _ in range(r.choice((0, 1, 1, 2)))]
    egress = [rule(r, "egress") for _ in range(r.choice((0, 0, 1, 2)))]
    if ingress or r.random() < 0.3:
        spec["ingress"] = ingress
    if egress or r.random() < 0.2:
        spec["egress"] = egress
    types = r.choice((None, ["Ingress"], ["Egress"], ["Ingress", "Egress"]))
    # What the API server stores: policyTypes defaulted (Ingress, plus Egress with egress rules).
    spec["policyTypes"] = types or (["Ingress", "Egress"] if egress else ["Ingress"])
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": f"p{i}", "namespace": r.choice(NAMESPACES)},
        "spec": spec,
    }


def queries(r: random.Random, w: World, n: int) -> list[Query]:
    out = []
    for _ in range(n):
        src: dict[str, Any] | str = r.choice(w.pods) if r.random() < 0.8 else r.choice(EXTERNAL_IPS)
        dst: dict[str, Any] | str = (
            r.choice(w.pods) if r.random() < 0.9 or isinstance(src, str) else r.choice(EXTERNAL_IPS)
        )
        p, proto = r.choice(TRAFFIC_PORTS)
        out.append(Query(src, dst, p, proto))
    return out
