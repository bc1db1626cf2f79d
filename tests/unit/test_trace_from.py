"""`trace --from`: the policy verdict at every hop, in-process on snapshot files."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec

from kinspect import snapshotfile
from kinspect.errors import ExitCode
from kinspect.labels import LabelSelector
from kinspect.model import NetworkPolicy, PolicyPeer, PolicyPort, PolicyRule, Snapshot
from kinspect.reach import SNAT_NOTE
from tests.schema import validate
from tests.unit.builders import cport, ep, group, node, pod, snap, sport, svc
from tests.unit.runner import invoke, one_line_error

WEB_FROM_SHOP = NetworkPolicy(
    "ns",
    "web-from-shop",
    LabelSelector({"app": "web"}),
    ("Ingress",),
    ingress=(
        PolicyRule(
            peers=(PolicyPeer(pod_selector=LabelSelector({"app": "shop"})),),
            ports=(PolicyPort(port="http"),),
        ),
    ),
)


def _world(state: str = "read") -> Snapshot:
    s = snap(
        nodes=(node(0),),
        services=(svc("web", sport(80, "http", node_port=30080), type="NodePort"),),
        groups=(group("web", [(None, 8080, "TCP")], ep("10.244.0.5", "web-a")),),
        pods=(
            pod("web-a", "10.244.0.5", cport("app", 8080, "http")),
            pod("shop-0", "10.244.0.6", labels={"app": "shop"}),
            pod("db-0", "10.244.0.7", labels={"app": "db"}),
        ),
    )
    return msgspec.structs.replace(s, network_policies=(WEB_FROM_SHOP,), network_policy_state=state)


def _save(tmp_path: Path, s: Snapshot) -> str:
    path = str(tmp_path / "snap.json.gz")
    snapshotfile.save(path, s)
    return path


def test_one_allowed_and_one_blocked_path(tmp_path: Path) -> None:
    path = _save(tmp_path, _world())
    ok = invoke("trace", "10.96.0.10:80", "--from", "ns/shop-0", "--snapshot", path)
    assert ok.code == ExitCode.OK, ok.stderr
    assert "allowed  ns/web-a:8080/TCP" in ok.stdout
    assert "ingress: allowed by ns/web-from-shop ingress[0]" in ok.stdout
    no = invoke("trace", "10.96.0.10:80", "--from", "ns/db-0", "--snapshot", path)
    assert "denied   ns/web-a:8080/TCP" in no.stdout
    assert "ingress: isolated by ns/web-from-shop, no rule matches" in no.stdout


def test_by_ip_outside_and_snat_note(tmp_path: Path) -> None:
    path = _save(tmp_path, _world())
    by_ip = invoke("trace", "10.96.0.10:80", "--from", "10.244.0.6", "--snapshot", path)
    assert "policy from ns/shop-0" in by_ip.stdout  # a pod IP is that pod
    out = invoke("trace", "192.0.2.10:30080", "--from", "outside", "--snapshot", path)
    assert "denied   ns/web-a:8080/TCP" in out.stdout
    assert SNAT_NOTE.split(":")[0] in out.stdout


def test_json_is_additive_and_valid(tmp_path: Path) -> None:
    path = _save(tmp_path, _world())
    r = invoke("trace", "10.96.0.10:80", "--from", "ns/db-0", "-o", "json", "--snapshot", path)
    doc = json.loads(r.stdout)
    validate(doc, "trace-report.json")
    [hop] = doc["policy"]["hops"]
    assert (hop["verdict"], hop["ingress"]["isolatedBy"]) == ("denied", ["ns/web-from-shop"])
    plain = json.loads(invoke("trace", "10.96.0.10:80", "-o", "json", "--snapshot", path).stdout)
    assert "policy" not in plain


def test_unreadable_policies_are_unknown(tmp_path: Path) -> None:
    path = _save(tmp_path, _world(state="forbidden"))
    r = invoke("trace", "10.96.0.10:80", "--from", "ns/shop-0", "--snapshot", path)
    assert "unknown  ns/web-a:8080/TCP" in r.stdout
    assert "NetworkPolicies could not be read" in r.stdout
    assert "allowed " not in r.stdout


def test_bad_from_is_one_line_usage_error(tmp_path: Path) -> None:
    path = _save(tmp_path, _world())
    for bad in ("not a pod!", "ns/", "/x"):
        r = invoke("trace", "10.96.0.10:80", "--from", bad, "--snapshot", path)
        one_line_error(r, ExitCode.USAGE, "--from")
    r = invoke("trace", "10.96.0.10:80", "--from", "ns/missing", "--snapshot", path)
    one_line_error(r, ExitCode.NOT_FOUND, "ns/missing")
