"""The differential test: kinspect's NetworkPolicy verdicts against cyclonus's, case by case.

cyclonus v0.5.6 (github.com/mattfenwick/cyclonus, an independent implementation; built by
testbed/cyclonus.sh) answers `analyze --mode query-traffic` for a policy directory and a list
of traffic items. Both get the same seeded random worlds (tests/netpol/gen.py).

Usage: python -m tests.netpol.diff [--worlds N] [--queries Q] [--seed S]
(make netpol-diff runs many thousands; tests/netpol/test_diff.py a few hundred in CI).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from kinspect.model.snapshot import Snapshot
from kinspect.model.values import ContainerPort, Namespace, Pod
from kinspect.policy.netpol import PolicyIndex
from kinspect.policy.peer import Peer
from kinspect.wire import convert_policy, raw
from tests.netpol import gen

REPO = Path(__file__).resolve().parents[2]
_ALLOWED = re.compile(r"IS ALLOWED\? \|\s+(TRUE|FALSE)")


def cyclonus_binary() -> Path:
    """Build (once, cached by version) and return cyclonus."""
    out = subprocess.run(
        [str(REPO / "testbed" / "cyclonus.sh")], check=True, capture_output=True, text=True
    )
    return Path(out.stdout.strip().splitlines()[-1])


def snapshot(w: gen.World) -> Snapshot:
    pods = tuple(
        Pod(
            namespace=p["namespace"],
            name=p["name"],
            labels=p["labels"],
            phase="Running",
            ready=True,
            pod_ips=(p["ip"],),
            containers=("c",),
            ports=tuple(ContainerPort("c", port, proto, name) for port, proto, name in p["ports"]),
        )
        for p in w.pods
    )
    policies = tuple(
        convert_policy.network_policy(msgspec.convert(p, raw.NetworkPolicy)) for p in w.policies
    )
    return Snapshot(
        "diff",
        pods=pods,
        namespaces=tuple(Namespace(n, labels) for n, labels in w.namespaces.items()),
        network_policies=policies,
        network_policy_state="read",
        # NetworkPolicies alone, as cyclonus sees them: no AdminNetworkPolicy CRDs.
        admin_network_policy_state="absent",
        baseline_admin_network_policy_state="absent",
        plugin_policy_state="absent",
    )


def _peer(idx: dict[tuple[str, str], Pod], end: dict[str, Any] | str) -> Peer:
    if isinstance(end, str):
        return Peer.of_ip(end)
    return Peer.of_pod(idx[(end["namespace"], end["name"])])


def kinspect_verdicts(w: gen.World, qs: list[gen.Query]) -> list[bool | None]:
    snap = snapshot(w)
    index = PolicyIndex(snap)
    pods = {(p.namespace, p.name): p for p in snap.pods}
    out: list[bool | None] = []
    for q in qs:
        v = index.check(_peer(pods, q.src), _peer(pods, q.dst), q.port, q.protocol)  # type: ignore[arg-type]
        out.append(None if v.verdict == "unknown" else v.verdict == "allowed")
    return out


def _traffic_peer(w: gen.World, end: dict[str, Any] | str) -> dict[str, Any]:
    if isinstance(end, str):
        return {"IP": end}
    return {
        "Internal": {
            "PodLabels": end["labels"],
            "NamespaceLabels": w.namespaces[end["namespace"]],
            "Namespace": end["namespace"],
        },
        "IP": end["ip"],
    }


def _port_name(end: dict[str, Any] | str, port: int, protocol: str) -> str:
    # The destination pod's container port with this number and protocol, as a CNI resolves
    # a named port; none for an address that is no pod.
    if isinstance(end, str):
        return ""
    return next((n for p, pr, n in end["ports"] if p == port and pr == protocol), "")


def cyclonus_verdicts(binary: Path, w: gen.World, qs: list[gen.Query]) -> list[bool]:
    with tempfile.TemporaryDirectory() as tmp:
        pdir = Path(tmp, "policies")
        pdir.mkdir()
        for i, p in enumerate(w.policies):
            Path(pdir, f"p{i}.yaml").write_text(json.dumps(p))  # JSON is YAML
        traffic = [
            {
                "Source": _traffic_peer(w, q.src),
                "Destination": _traffic_peer(w, q.dst),
                "Protocol": q.protocol,
                "ResolvedPort": q.port,
                "ResolvedPortName": _port_name(q.dst, q.port, q.protocol),
            }
            for q in qs
        ]
        tpath = Path(tmp, "traffic.json")
        tpath.write_text(json.dumps(traffic))
        res = subprocess.run(
            [
                str(binary),
                "analyze",
                "--mode",
                "query-traffic",
                "--policy-path",
                str(pdir),
                "--traffic-path",
                str(tpath),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
    found = [m == "TRUE" for m in _ALLOWED.findall(res.stdout)]
    if len(found) != len(qs):
        raise RuntimeError(
            f"cyclonus answered {len(found)} of {len(qs)} items:\n{res.stdout[-2000:]}"
        )
    return found


@dataclass
class Disagreement:
    seed: int
    world: int
    query: int
    kinspect: bool | None
    cyclonus: bool
    known: str | None  # the known difference it is, with its citation


# cyclonus v0.5.6 pkg/kube/labelselector.go, IsMatchExpressionMatchForLabels: NotIn on a key
# the object lacks is "not a match". The API says the opposite: apimachinery
# pkg/labels/selector.go, Requirement.Matches ("case selection.NotIn, selection.NotEquals: if
# !ls.Has(r.key) { return true }"), and the labels page
# (https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#set-based-requirement:
# "environment notin (frontend) ... and all resources without a label with the key
# environment"). metav1.LabelSelectorAsSelector builds those requirements for NetworkPolicy
# selectors, so kinspect is right.
NOTIN_ABSENT_KEY = (
    "cyclonus v0.5.6 reads NotIn as needing the key; the API's NotIn matches objects without "
    "it (apimachinery pkg/labels/selector.go Requirement.Matches; kubernetes.io labels page, "
    "set-based requirements)"
)


def _notin_needs_key(w: gen.World) -> gen.World:
    """The world as cyclonus reads it: every NotIn expression also needs its key."""

    def fix(sel: Any) -> Any:
        if isinstance(sel, dict):
            out = {k: fix(v) for k, v in sel.items()}
            exprs = out.get("matchExpressions")
            if isinstance(exprs, list):
                extra = [
                    {"key": e["key"], "operator": "Exists"}
                    for e in exprs
                    if e["operator"] == "NotIn"
                ]
                out["matchExpressions"] = exprs + extra
            return out
        if isinstance(sel, list):
            return [fix(v) for v in sel]
        return sel

    return gen.World(w.namespaces, w.pods, [fix(p) for p in w.policies])


def known_difference(w: gen.World, q: gen.Query, theirs: bool) -> str | None:
    """Whether a disagreement is a known one (kinspect right per the API docs): why, or None.

    A case is the known difference only when reading the policies cyclonus's way makes
    kinspect give cyclonus's answer.
    """
    if kinspect_verdicts(_notin_needs_key(w), [q]) == [theirs]:
        return NOTIN_ABSENT_KEY
    return None


@dataclass
class Result:
    worlds: int
    queries: int
    disagreements: list[Disagreement]
    allowed: int = 0  # cases cyclonus allowed (the rest it denied): the mix is not trivial

    @property
    def unexplained(self) -> list[Disagreement]:
        return [d for d in self.disagreements if d.known is None]


def run(seed: int, worlds: int, queries: int, binary: Path | None = None) -> Result:
    binary = binary or cyclonus_binary()
    r = random.Random(seed)
    dis: list[Disagreement] = []
    total = allowed = 0
    for wi in range(worlds):
        w = gen.world(r)
        qs = gen.queries(r, w, queries)
        ours = kinspect_verdicts(w, qs)
        theirs = cyclonus_verdicts(binary, w, qs)
        total += len(qs)
        allowed += sum(theirs)
        for qi, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            if a != b:
                dis.append(Disagreement(seed, wi, qi, a, b, known_difference(w, qs[qi], b)))
    return Result(worlds, total, dis, allowed)


def replay(seed: int, world: int, queries: int) -> tuple[gen.World, list[gen.Query]]:
    """The world and queries of one case, to look at a disagreement."""
    r = random.Random(seed)
    for wi in range(world + 1):
        w = gen.world(r)
        qs = gen.queries(r, w, queries)
        if wi == world:
            return w, qs
    raise AssertionError


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--worlds", type=int, default=500)
    ap.add_argument("--queries", type=int, default=20)
    ap.add_argument("--seed", type=int, default=int(os.environ.get("NETPOL_SEED", "1")))
    a = ap.parse_args(argv)
    res = run(a.seed, a.worlds, a.queries)
    for d in res.disagreements:
        print(
            f"{'known' if d.known else 'UNEXPLAINED'}: "
            f"seed {d.seed} world {d.world} query {d.query}: "
            f"kinspect {d.kinspect} cyclonus {d.cyclonus}" + (f" ({d.known})" if d.known else "")
        )
    print(
        f"netpol-diff: seed {a.seed}: {res.worlds} policy sets, {res.queries} traffic cases, "
        f"({res.allowed} allowed by cyclonus, {res.queries - res.allowed} denied), "
        f"{len(res.disagreements)} disagreements ({len(res.unexplained)} unexplained, "
        f"the rest the known NotIn difference)"
    )
    return 1 if res.unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
