"""`trace --from`: the policy verdict at every hop, in-process on snapshot files."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec

from kinspect.model.edge import IngressRule
from kinspect.model.errors import ExitCode
from kinspect.model.labels import LabelSelector
from kinspect.model.policy import NetworkPolicy, PolicyPeer, PolicyPort, PolicyRule
from kinspect.model.snapshot import Snapshot
from kinspect.model.values import Namespace
from kinspect.policy.reach import NODE_NOTE, OWN_NODE, SNAT_NOTE
from kinspect.wire import snapshotfile
from tests.schema import validate
from tests.unit.builders import (
    cport,
    ep,
    group,
    ingress,
    ipath,
    node,
    pod,
    snap,
    sport,
    svc,
)
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
    for bad in ("not a pod!", "ns/", "/x", "node/"):
        r = invoke("trace", "10.96.0.10:80", "--from", bad, "--snapshot", path)
        one_line_error(r, ExitCode.USAGE, "--from")
    r = invoke("trace", "10.96.0.10:80", "--from", "ns/missing", "--snapshot", path)
    one_line_error(r, ExitCode.NOT_FOUND, "ns/missing")


def test_from_a_namespace_groups_its_pods_by_verdict(tmp_path: Path) -> None:
    path = _save(tmp_path, _world())
    r = invoke("trace", "10.96.0.10:80", "--from", "ns", "--snapshot", path)
    assert r.code == ExitCode.OK, r.stderr
    out = r.stdout
    assert "policy from namespace ns (3 pod(s))" in out
    allowed = out.index("allowed  ns/web-a:8080/TCP")
    denied = out.index("denied   ns/web-a:8080/TCP")
    assert "from 1 pod(s): ns/shop-0" in out[allowed:]
    assert "from 2 pod(s): ns/db-0, ns/web-a" in out[denied:]
    doc = json.loads(
        invoke("trace", "10.96.0.10:80", "--from", "ns", "-o", "json", "--snapshot", path).stdout
    )
    validate(doc, "trace-report.json")
    assert doc["policy"]["fromKind"] == "namespace"
    verdicts = {h["source"]: h["verdict"] for h in doc["policy"]["hops"]}
    assert verdicts == {"ns/db-0": "denied", "ns/shop-0": "allowed", "ns/web-a": "denied"}


def test_from_a_namespace_without_pods_is_not_found(tmp_path: Path) -> None:
    path = _save(tmp_path, _world())
    r = invoke("trace", "10.96.0.10:80", "--from", "empty", "--snapshot", path)
    one_line_error(r, ExitCode.NOT_FOUND, "no pod in namespace 'empty'")


def _two_nodes() -> Snapshot:
    s = _world()
    return msgspec.structs.replace(
        s,
        nodes=(node(0), node(1)),
        pods=(
            *s.pods,
            pod("agent", "192.0.2.11", labels={"app": "agent"}, node_name="n1", host_network=True),
        ),
    )


def test_from_a_node_own_node_is_always_allowed_others_by_address(tmp_path: Path) -> None:
    path = _save(tmp_path, _two_nodes())
    # web-a runs on n0: its own node cannot be blocked, whatever web-from-shop says.
    own = invoke("trace", "10.96.0.10:80", "--from", "node/n0", "--snapshot", path)
    assert own.code == ExitCode.OK, own.stderr
    assert "policy from node n0 (192.0.2.10)" in own.stdout
    assert "allowed  ns/web-a:8080/TCP" in own.stdout
    assert OWN_NODE.split(":")[0] in own.stdout
    # From n1 (by its address, too) the policies see 192.0.2.11, which no rule admits.
    for source in ("node/n1", "192.0.2.11"):
        other = invoke("trace", "10.96.0.10:80", "--from", source, "--snapshot", path)
        assert "policy from node n1 (192.0.2.11)" in other.stdout
        assert "denied   ns/web-a:8080/TCP" in other.stdout
        assert NODE_NOTE.split(";")[0] in other.stdout


def test_from_a_host_network_pod_is_node_traffic(tmp_path: Path) -> None:
    path = _save(tmp_path, _two_nodes())
    r = invoke("trace", "10.96.0.10:80", "--from", "ns/agent", "-o", "json", "--snapshot", path)
    doc = json.loads(r.stdout)
    validate(doc, "trace-report.json")
    assert doc["policy"]["fromKind"] == "node"
    assert doc["policy"]["from"] == "ns/agent (hostNetwork, on node n1)"
    [hop] = doc["policy"]["hops"]
    assert hop["verdict"] == "denied"
    assert NODE_NOTE in hop["notes"]


def test_unknown_node_is_not_found(tmp_path: Path) -> None:
    path = _save(tmp_path, _two_nodes())
    r = invoke("trace", "10.96.0.10:80", "--from", "node/nope", "--snapshot", path)
    one_line_error(r, ExitCode.NOT_FOUND, "node/nope")


def _with_ingress(controller_host_network: bool = False) -> Snapshot:
    """web behind Ingress `shop`, whose controller is ingress-nginx's LoadBalancer service."""
    base = _world()
    controller_ip = "192.0.2.10" if controller_host_network else "10.244.0.9"
    controller = pod(
        "nginx-0",
        controller_ip,
        cport("nginx", 80, "web"),
        ns="ingress-nginx",
        labels={"app": "nginx"},
        host_network=controller_host_network,
    )
    lb = svc(
        "nginx",
        sport(80),
        ns="ingress-nginx",
        type="LoadBalancer",
        cluster_ips=("10.96.0.20",),
        selector={"app": "nginx"},
        lb=("203.0.113.7",),
    )
    lb_group = group(
        "nginx",
        [(None, 80, "TCP")],
        ep(controller_ip, "nginx-0", ns="ingress-nginx"),
        ns="ingress-nginx",
    )
    rule = IngressRule("shop.example.com", (ipath("/", "web", 80),))
    allow_controller = NetworkPolicy(
        "ns",
        "web-from-ingress",
        LabelSelector({"app": "web"}),
        ("Ingress",),
        ingress=(
            PolicyRule(
                peers=(
                    PolicyPeer(
                        namespace_selector=LabelSelector(
                            {"kubernetes.io/metadata.name": "ingress-nginx"}
                        )
                    ),
                ),
            ),
        ),
    )
    return msgspec.structs.replace(
        base,
        services=(*base.services, lb),
        endpoint_groups=(*base.endpoint_groups, lb_group),
        pods=(*base.pods, controller),
        ingresses=(ingress("shop", rule, address="203.0.113.7"),),
        namespaces=(
            Namespace("ns", {"kubernetes.io/metadata.name": "ns"}),
            Namespace("ingress-nginx", {"kubernetes.io/metadata.name": "ingress-nginx"}),
        ),
        network_policies=(WEB_FROM_SHOP, allow_controller),
    )


def test_url_from_evaluates_the_client_to_the_controller_and_the_controller_to_backends(
    tmp_path: Path,
) -> None:
    path = _save(tmp_path, _with_ingress())
    r = invoke("trace", "http://shop.example.com/", "--from", "outside", "--snapshot", path)
    assert r.code == ExitCode.OK, r.stderr
    out = r.stdout
    assert "policy from outside" in out
    assert (
        "allowed  ingress-nginx/nginx-0:80/TCP  via the controller's service ingress-nginx/nginx"
        in out
    )
    assert "allowed  ns/web-a:8080/TCP  via Ingress ns/shop to ns/web (from the controller)" in out
    assert "from 1 pod(s): ingress-nginx/nginx-0" in out
    assert "ingress: allowed by ns/web-from-ingress ingress[0]" in out
    r = invoke(
        "trace", "http://shop.example.com/", "--from", "ns/db-0", "-o", "json", "--snapshot", path
    )
    doc = json.loads(r.stdout)
    validate(doc, "entry-trace-report.json")
    hops = [(h["pod"]["name"], h["source"], h["verdict"]) for h in doc["policy"]["hops"]]
    assert hops == [("nginx-0", None, "allowed"), ("web-a", "ingress-nginx/nginx-0", "allowed")]


def test_url_from_without_a_known_controller_is_unknown_on_the_backend_hop(
    tmp_path: Path,
) -> None:
    s = _with_ingress()
    s = msgspec.structs.replace(
        s, ingresses=tuple(msgspec.structs.replace(i, addresses=()) for i in s.ingresses)
    )
    path = _save(tmp_path, s)
    r = invoke("trace", "http://shop.example.com/", "--from", "outside", "--snapshot", path)
    assert r.code == ExitCode.OK, r.stderr
    assert "unknown  ns/web-a:8080/TCP" in r.stdout
    assert "the controller's pods are unknown" in r.stdout
    assert "allowed " not in r.stdout


def test_url_from_a_host_network_controller_is_node_traffic(tmp_path: Path) -> None:
    path = _save(tmp_path, _with_ingress(controller_host_network=True))
    r = invoke("trace", "http://shop.example.com/", "--from", "outside", "--snapshot", path)
    # The controller runs on n0 with the node's address, as web-a: its own node, never blocked.
    assert (
        "allowed  ns/web-a:8080/TCP  via Ingress ns/shop to ns/web (from the controller)"
        in r.stdout
    )
    assert OWN_NODE.split(":")[0] in r.stdout
