"""Issue 22, item 5: `trace ADDRESS:PORT/PROTOCOL`, and a port number declared for two protocols.

CoreDNS declares `dns 53/UDP` and `dns-tcp 53/TCP`, and its Service has port 53 twice: a trace
without a protocol follows both, `/UDP` or `/TCP` only that one, and `--from` judges each
protocol on its own (NetworkPolicy ports carry a protocol).
"""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from kinspect.edge import entry
from kinspect.model.errors import ExitCode, UsageError
from kinspect.model.labels import LabelSelector
from kinspect.model.policy import NetworkPolicy, PolicyPort, PolicyRule
from kinspect.model.snapshot import Snapshot
from kinspect.path import chain, trace
from kinspect.path.trace import Target
from kinspect.wire import snapshotfile
from tests.schema import validate

from .builders import cport, ep, group, node, pod, snap, sport, svc
from .runner import invoke, one_line_error


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10.96.0.10:53/UDP", Target("10.96.0.10", 53, "UDP")),
        ("10.96.0.10:53/udp", Target("10.96.0.10", 53, "UDP")),
        ("10.96.0.10:53/Tcp", Target("10.96.0.10", 53, "TCP")),
        ("[fd00::1]:53/sctp", Target("fd00::1", 53, "SCTP")),
        ("dns.example.com:53/UDP", Target("dns.example.com", 53, "UDP")),
        ("10.96.0.10:53", Target("10.96.0.10", 53, None)),
    ],
)
def test_parse_port_with_protocol(text: str, expected: Target) -> None:
    assert trace.parse_target(text) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("10.96.0.10:53/ICMP", "bad protocol 'ICMP'"),
        ("10.96.0.10:53/", "bad protocol ''"),
        ("10.96.0.10:53/UDP/TCP", "bad protocol"),
        ("10.96.0.10/UDP", "a protocol needs a port"),
        ("[fd00::1]/UDP", "a protocol needs a port"),
        ("10.96.0.10:53/ＵＤＰ", "bad protocol"),  # fullwidth letters are not UDP
        ("10.96.0.10:53/\u017fctp", "bad protocol"),  # long s: upper() is "S"; ASCII only
    ],
)
def test_parse_rejects_a_bad_protocol(text: str, words: str) -> None:
    with pytest.raises(UsageError) as e:
        trace.parse_target(text)
    assert words in e.value.message
    assert "53/UDP" in (e.value.hint or "")


COREDNS_PORTS = (
    cport("coredns", 53, "dns", "UDP"),
    cport("coredns", 53, "dns-tcp", "TCP"),
    cport("coredns", 9153, "metrics", "TCP"),
)


def _dns() -> Snapshot:
    dns = svc(
        "dns",
        sport(53, "dns", "dns", "UDP"),
        sport(53, "dns-tcp", "dns-tcp", "TCP"),
        selector={"app": "dns"},
    )
    g = group(
        "dns",
        [("dns", 53, "UDP"), ("dns-tcp", 53, "TCP")],
        ep("10.244.0.53", "coredns"),
    )
    return snap(
        nodes=(node(0),),
        services=(dns,),
        groups=(g,),
        pods=(
            pod("coredns", "10.244.0.53", *COREDNS_PORTS, labels={"app": "dns"}),
            pod("client", "10.244.0.6", labels={"app": "client"}),
        ),
    )


def test_pod_ip_with_port_shows_every_protocol_declared_on_it() -> None:
    idx = chain.Index.of(_dns())
    r = trace.trace(idx, Target("10.244.0.53", 53))
    got = [(d.via, d.protocol, d.container_port and d.container_port.name) for d in r.direct]
    assert got == [("PodIP", "UDP", "dns"), ("PodIP", "TCP", "dns-tcp")]
    assert r.found


@pytest.mark.parametrize(("protocol", "name"), [("UDP", "dns"), ("TCP", "dns-tcp")])
def test_pod_ip_with_one_protocol_shows_only_it(protocol: str, name: str) -> None:
    idx = chain.Index.of(_dns())
    r = trace.trace(idx, trace.parse_target(f"10.244.0.53:53/{protocol}"))
    got = [(d.protocol, d.container_port and d.container_port.name) for d in r.direct]
    assert got == [(protocol, name)]


def test_pod_ip_with_a_protocol_nothing_declares_is_undeclared() -> None:
    idx = chain.Index.of(_dns())
    r = trace.trace(idx, trace.parse_target("10.244.0.53:53/SCTP"))
    assert [(d.protocol, d.container_port) for d in r.direct] == [("SCTP", None)]
    # Without a protocol, a port no container declares is TCP, as Kubernetes defaults ports.
    r = trace.trace(idx, trace.parse_target("10.244.0.53:8053"))
    assert [(d.protocol, d.container_port) for d in r.direct] == [("TCP", None)]


def test_cluster_ip_follows_each_protocol_or_the_one_asked() -> None:
    idx = chain.Index.of(_dns())
    both = trace.trace(idx, trace.parse_target("10.96.0.10:53"))
    assert [(rt.port.protocol, [b.protocol for b in rt.backends]) for rt in both.routes] == [
        ("UDP", ["UDP"]),
        ("TCP", ["TCP"]),
    ]
    tcp = trace.trace(idx, trace.parse_target("10.96.0.10:53/TCP"))
    assert [(rt.port.protocol, rt.port.name) for rt in tcp.routes] == [("TCP", "dns-tcp")]
    [b] = tcp.routes[0].backends
    assert (b.protocol, b.container_port and b.container_port.name) == ("TCP", "dns-tcp")


def test_cluster_ip_with_a_protocol_it_lacks_is_not_found_with_a_hint() -> None:
    idx = chain.Index.of(_dns())
    r = trace.trace(idx, trace.parse_target("10.96.0.10:53/SCTP"))
    assert r.routes == []
    assert not r.found
    assert [h.message for h in r.hints] == [
        "port 53 of service ns/dns is UDP, TCP: not SCTP (try :53/UDP)"
    ]


def test_host_port_is_matched_with_its_protocol() -> None:
    agent = pod(
        "agent",
        "10.244.0.7",
        cport("agent", 5353, "mdns", "UDP", host_port=5353),
        labels={"app": "agent"},
    )
    idx = chain.Index.of(snap(nodes=(node(0),), pods=(agent,)))
    udp = trace.trace(idx, trace.parse_target("192.0.2.10:5353/UDP"))
    assert [(d.via, d.protocol) for d in udp.direct] == [("HostPort", "UDP")]
    assert trace.trace(idx, trace.parse_target("192.0.2.10:5353/TCP")).direct == []


# --- through the CLI: text, JSON and --from ---------------------------------------------

DNS_UDP_ONLY = NetworkPolicy(
    "ns",
    "dns-udp-only",
    LabelSelector({"app": "dns"}),
    ("Ingress",),
    ingress=(PolicyRule(ports=(PolicyPort("UDP", 53),)),),
)


def _save(tmp_path: Path) -> str:
    s = msgspec.structs.replace(
        _dns(), network_policies=(DNS_UDP_ONLY,), network_policy_state="read"
    )
    path = str(tmp_path / "dns.json.gz")
    snapshotfile.save(path, s)
    return path


def test_text_shows_both_container_ports(tmp_path: Path) -> None:
    path = _save(tmp_path)
    r = invoke("trace", "10.244.0.53:53", "--snapshot", path)
    assert r.code == ExitCode.OK, r.stderr
    assert "container coredns:53/UDP" in r.stdout
    assert "container coredns:53/TCP" in r.stdout
    one = invoke("trace", "10.244.0.53:53/udp", "--snapshot", path)
    assert one.stdout.splitlines()[0] == "10.244.0.53:53/UDP"
    assert "container coredns:53/UDP" in one.stdout
    assert "53/TCP" not in one.stdout


def test_from_gives_a_verdict_per_protocol(tmp_path: Path) -> None:
    path = _save(tmp_path)
    r = invoke("trace", "10.244.0.53:53", "--from", "ns/client", "--snapshot", path)
    assert r.code == ExitCode.OK, r.stderr
    assert "allowed  ns/coredns:53/UDP" in r.stdout
    assert "denied   ns/coredns:53/TCP" in r.stdout
    svc_ = invoke("trace", "10.96.0.10:53", "--from", "ns/client", "--snapshot", path)
    assert "allowed  ns/coredns:53/UDP" in svc_.stdout
    assert "denied   ns/coredns:53/TCP" in svc_.stdout
    tcp = invoke("trace", "10.96.0.10:53/TCP", "--from", "ns/client", "--snapshot", path)
    assert "denied   ns/coredns:53/TCP" in tcp.stdout
    assert "/UDP" not in tcp.stdout


def test_json_names_the_protocol_asked_and_each_direct_hops(tmp_path: Path) -> None:
    path = _save(tmp_path)
    args = ("--from", "ns/client", "-o", "json", "--snapshot", path)
    doc = json.loads(invoke("trace", "10.244.0.53:53", *args).stdout)
    validate(doc, "trace-report.json")
    assert doc["protocol"] is None
    assert [(d["protocol"], d["container"]) for d in doc["direct"]] == [
        ("UDP", "coredns"),
        ("TCP", "coredns"),
    ]
    assert [(h["protocol"], h["verdict"]) for h in doc["policy"]["hops"]] == [
        ("UDP", "allowed"),
        ("TCP", "denied"),
    ]
    one = json.loads(invoke("trace", "10.244.0.53:53/UDP", *args).stdout)
    validate(one, "trace-report.json")
    assert one["protocol"] == "UDP"
    assert [d["protocol"] for d in one["direct"]] == ["UDP"]


def test_bad_protocol_is_a_one_line_usage_error(tmp_path: Path) -> None:
    path = _save(tmp_path)
    r = invoke("trace", "10.244.0.53:53/icmp", "--snapshot", path)
    one_line_error(r, ExitCode.USAGE, "bad protocol 'icmp'", "try:")


def test_from_judges_an_undeclared_port_in_the_protocol_asked(tmp_path: Path) -> None:
    # A pod dns-udp-only selects that declares no port: 53/UDP is judged as UDP (allowed),
    # 53 alone as TCP, Kubernetes' default (denied).
    bare = pod("resolver", "10.244.0.54", labels={"app": "dns"})
    s = _dns()
    s = msgspec.structs.replace(
        s, pods=(*s.pods, bare), network_policies=(DNS_UDP_ONLY,), network_policy_state="read"
    )
    path = str(tmp_path / "bare.json.gz")
    snapshotfile.save(path, s)
    args = ("--from", "ns/client", "-o", "json", "--snapshot", path)
    for target, protocol, verdict in (
        ("10.244.0.54:53/UDP", "UDP", "allowed"),
        ("10.244.0.54:53", "TCP", "denied"),
    ):
        doc = json.loads(invoke("trace", target, *args).stdout)
        validate(doc, "trace-report.json")
        assert [(d["protocol"], d["containerPort"]) for d in doc["direct"]] == [(protocol, None)]
        assert [(h["protocol"], h["verdict"]) for h in doc["policy"]["hops"]] == [
            (protocol, verdict)
        ]


def test_host_or_path_with_a_protocol_other_than_tcp_is_a_usage_error() -> None:
    # --host/--path follow an HTTP route, which Ingress and HTTPRoute serve over TCP.
    assert entry.parse_request("203.0.113.20:80/TCP", "shop.example.com").port == 80
    with pytest.raises(UsageError) as e:
        entry.parse_request("203.0.113.20:80/UDP", "shop.example.com")
    assert "HTTP over TCP" in e.value.message


def test_the_protocol_hint_never_names_the_protocol_asked_as_another() -> None:
    # With no route for 53/UDP (here: removed by hand), the hint said "is UDP, TCP: not UDP".
    s = _dns()
    idx = chain.Index.of(s)
    r = trace.trace(idx, trace.parse_target("10.96.0.10:53/UDP"))
    r.routes = []
    chains = {f"{c.service.namespace}/{c.service.name}": c for c in chain.build(s, idx)}
    assert [h.message for h in trace._hints(idx, r, chains)] == [
        "port 53 of service ns/dns is TCP: not UDP (try :53/TCP)"
    ]
