"""Session affinity and loadBalancerSourceRanges (issue 22): the pure rules and every output."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec

from kinspect.model.errors import ExitCode
from kinspect.model.snapshot import Snapshot
from kinspect.model.values import LoadBalancerIngress, Service
from kinspect.path import firewall
from kinspect.path.firewall import Firewall, SourceCheck
from kinspect.wire import convert, raw, snapshotfile
from tests.schema import validate
from tests.unit.builders import cport, ep, group, node, pod, snap, sport, svc
from tests.unit.runner import invoke

LB = "203.0.113.10"
OUTSIDE_NODEPORTS = (
    "kube-proxy applies loadBalancerSourceRanges only to the load balancer's IPs, not to "
    "nodePorts: every source is let through here"
)


def _web(
    ranges: tuple[str, ...] = (),
    annotation: str | None = None,
    lb: tuple[LoadBalancerIngress, ...] = (LoadBalancerIngress(ip=LB),),
    affinity: int | None = None,
) -> Service:
    s = svc(
        "web",
        sport(80, 8080, node_port=30080),
        type="LoadBalancer",
        external_ips=("198.51.100.50",),
    )
    return msgspec.structs.replace(
        s,
        load_balancer_ingress=lb,
        load_balancer_source_ranges=ranges,
        source_ranges_annotation=annotation,
        session_affinity="ClientIP" if affinity else None,
        session_affinity_timeout=affinity,
    )


def test_no_ranges_no_firewall() -> None:
    assert firewall.ranges(_web()) is None
    assert firewall.firewall(_web(), "LoadBalancer", LB) is None


def test_ranges_are_trimmed_split_by_family_and_invalid_ones_ignored() -> None:
    s = _web((" 192.0.2.0/24 ", "10.0.0.1/8", "2001:db8::/32", "bogus", "", "10.0.0.0/8"))
    r = firewall.ranges(s)
    assert r is not None
    assert [str(n) for n in r.valid] == ["192.0.2.0/24", "10.0.0.0/8", "2001:db8::/32"]
    assert r.invalid == ("bogus",)
    assert firewall.firewall(s, "LoadBalancer", LB) == Firewall(
        "filtered",
        "kube-proxy drops every source outside loadBalancerSourceRanges (192.0.2.0/24, 10.0.0.0/8)",
        ("192.0.2.0/24", "10.0.0.0/8"),
        ("bogus",),
    )
    # Leading zeros are decimal, as kube-proxy's ParseCIDRSloppy reads them.
    sloppy = firewall.ranges(_web(("010.001.0.0/16", "1.2.3.4/33", "::1/129")))
    assert sloppy is not None
    assert ([str(n) for n in sloppy.valid], sloppy.invalid) == (
        ["10.1.0.0/16"],
        ("1.2.3.4/33", "::1/129"),
    )
    v6 = _web(("2001:db8::/32",), lb=(LoadBalancerIngress(ip="2001:db8:1::10"),))
    assert firewall.firewall(v6, "LoadBalancer", "2001:db8:1::10") == Firewall(
        "filtered",
        "kube-proxy drops every source outside loadBalancerSourceRanges (2001:db8::/32)",
        ("2001:db8::/32",),
    )


def test_a_family_without_ranges_or_with_a_zero_prefix_is_not_filtered() -> None:
    v6_only = _web(("2001:db8::/32",))
    assert firewall.firewall(v6_only, "LoadBalancer", LB) == Firewall(
        "open", "loadBalancerSourceRanges set no valid IPv4 range: kube-proxy does not filter IPv4"
    )
    zero = _web(("192.0.2.0/24", "0.0.0.0/0"))
    assert firewall.firewall(zero, "LoadBalancer", LB) == Firewall(
        "open", "a /0 range in loadBalancerSourceRanges allows every IPv4 source"
    )
    all_bad = _web(("bogus",))
    assert firewall.firewall(all_bad, "LoadBalancer", LB) == Firewall(
        "open",
        "loadBalancerSourceRanges set no valid IPv4 range: kube-proxy does not filter IPv4",
        invalid=("bogus",),
    )


def test_nodeport_clusterip_and_externalips_are_never_filtered() -> None:
    s = _web(("192.0.2.0/24",))
    assert firewall.firewall(s, "NodePort", "192.0.2.10") == Firewall("open", OUTSIDE_NODEPORTS)
    assert firewall.firewall(s, "ClusterIP", "10.96.0.10") == Firewall(
        "open",
        "kube-proxy applies loadBalancerSourceRanges only to the load balancer's IPs, not to "
        "the ClusterIP: every source is let through here",
    )
    ext = firewall.firewall(s, "ExternalIP", "198.51.100.50")
    assert ext is not None
    assert (ext.filter, ext.ranges) == ("open", ())


def test_the_annotation_alone_and_ip_mode_proxy_are_unknown() -> None:
    only = firewall.firewall(_web(annotation="192.0.2.0/24"), "LoadBalancer", LB)
    assert only is not None
    assert only.filter == "unknown"
    assert only.reason.startswith(
        "only the legacy annotation service.beta.kubernetes.io/load-balancer-source-ranges is "
        "set: kube-proxy does not read it"
    )
    assert firewall.check(only, LB, "198.51.100.7").verdict == "unknown"
    # The annotation never filters a nodePort either.
    np = firewall.firewall(_web(annotation="192.0.2.0/24"), "NodePort", "192.0.2.10")
    assert np == Firewall("open", OUTSIDE_NODEPORTS)
    proxy = _web(("192.0.2.0/24",), lb=(LoadBalancerIngress(ip=LB, ip_mode="Proxy"),))
    fw = firewall.firewall(proxy, "LoadBalancer", LB)
    assert fw == Firewall(
        "unknown",
        "ipMode Proxy: kube-proxy programs no rule for this address; whether the load balancer "
        "applies loadBalancerSourceRanges is unknown to kinspect",
    )


def test_source_checks() -> None:
    fw = firewall.firewall(_web(("192.0.2.0/24", "10.0.0.0/8")), "LoadBalancer", LB)
    assert fw is not None
    assert firewall.check(fw, LB, "10.1.2.3") == SourceCheck(
        "allowed", "10.1.2.3 is inside loadBalancerSourceRanges 10.0.0.0/8", "10.0.0.0/8"
    )
    assert firewall.check(fw, LB, "198.51.100.7") == SourceCheck(
        "dropped", "198.51.100.7 is outside loadBalancerSourceRanges (192.0.2.0/24, 10.0.0.0/8)"
    )
    assert firewall.check(fw, LB, None) == SourceCheck(
        "unknown",
        "depends on the client's address: allowed only from 192.0.2.0/24, 10.0.0.0/8",
    )
    # An IPv6 source matches only IPv6 ranges: none here.
    assert firewall.check(fw, LB, "2001:db8::1") == SourceCheck(
        "dropped",
        "2001:db8::1 is outside loadBalancerSourceRanges (192.0.2.0/24, 10.0.0.0/8) "
        "(an IPv6 source)",
    )
    # allowFromNode: a range holding a node's IP lets the VIP itself in.
    assert firewall.check(fw, LB, LB, ["192.0.2.10"]).verdict == "allowed"
    assert firewall.check(fw, LB, LB, ["172.16.0.1"]).verdict == "dropped"
    assert firewall.check(fw, LB, "not-an-ip").verdict == "unknown"
    open_ = Firewall("open", OUTSIDE_NODEPORTS)
    assert firewall.check(open_, "192.0.2.10", "198.51.100.7") == SourceCheck(
        "allowed", OUTSIDE_NODEPORTS
    )


def test_source_ip_takes_the_address_family() -> None:
    assert firewall.source_ip(["10.244.0.5", "fd00::5"], "2001:db8::10") == "fd00::5"
    assert firewall.source_ip(["10.244.0.5", "fd00::5"], LB) == "10.244.0.5"
    assert firewall.source_ip(["fd00::5"], LB) == "fd00::5"
    assert firewall.source_ip([], LB) is None


def test_ip_mode_is_read_and_old_files_without_it_load(tmp_path: Path) -> None:
    body = b"""{"metadata": {"name": "w", "namespace": "n"}, "spec": {"type": "LoadBalancer"},
      "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.10", "ipMode": "Proxy"},
                                              {"ip": "203.0.113.11"}]}}}"""
    s = convert.service(msgspec.json.decode(body, type=raw.Service))
    assert [i.ip_mode for i in s.load_balancer_ingress] == ["Proxy", None]
    doc = json.loads(snapshotfile.dumps(_world(), compress=False))
    for v in doc["snapshot"]["services"]:
        for i in v["loadBalancerIngress"]:
            del i["ipMode"]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(doc))
    assert snapshotfile.load(str(path)) == _world()


def _world() -> Snapshot:
    web = _web(("192.0.2.0/24", "10.244.0.0/16", "bogus"), "1.2.3.0/24", affinity=60)
    return snap(
        nodes=(node(0),),
        services=(web,),
        groups=(group("web", [(None, 8080, "TCP")], ep("10.244.0.5", "web-a")),),
        pods=(pod("web-a", "10.244.0.5", cport("app", 8080)), pod("client", "10.244.0.6")),
    )


def _save(tmp_path: Path) -> str:
    path = str(tmp_path / "snap.json.gz")
    snapshotfile.save(path, _world())
    return path


def test_map_table_tree_and_explain(tmp_path: Path) -> None:
    path = _save(tmp_path)
    table = invoke("map", "-A", "--snapshot", path).stdout
    assert "affinity ClientIP 60s" in table
    assert "sourceRanges 192.0.2.0/24,10.244.0.0/16,bogus" in table
    tree = invoke("map", "-A", "--snapshot", path, "-o", "tree").stdout.splitlines()
    assert tree[1:5] == [
        "├── sessionAffinity ClientIP: one client IP keeps one backend for 60s",
        "├── loadBalancerSourceRanges 192.0.2.0/24, 10.244.0.0/16: kube-proxy drops other "
        "sources to the load balancer's IPs (not to the nodePort, ClusterIP or externalIPs)",
        "├── loadBalancerSourceRanges not a CIDR, ignored: 'bogus'",
        "├── annotation service.beta.kubernetes.io/load-balancer-source-ranges '1.2.3.0/24': "
        "not read: the cloud load balancer takes spec.loadBalancerSourceRanges first",
    ]
    explained = " ".join(invoke("explain", "-A", "--snapshot", path).stdout.split())
    assert "sessionAffinity ClientIP: one client IP keeps one backend for 60s" in explained
    assert "loadBalancerSourceRanges 192.0.2.0/24, 10.244.0.0/16: kube-proxy drops" in explained


def test_trace_from_outside_and_inside_the_ranges(tmp_path: Path) -> None:
    path = _save(tmp_path)
    out = invoke("trace", f"{LB}:80", "--from", "198.51.100.7", "--snapshot", path)
    assert out.code == ExitCode.OK, out.stderr
    assert (
        "  dropped  LoadBalancer 203.0.113.10:80 of service ns/web: 198.51.100.7 is outside "
        "loadBalancerSourceRanges (192.0.2.0/24, 10.244.0.0/16)"
    ) in out.stdout
    assert "sessionAffinity ClientIP: one client IP keeps one backend for 60s" in out.stdout
    inside = invoke("trace", f"{LB}:80", "--from", "ns/client", "--snapshot", path)
    assert (
        "  allowed  LoadBalancer 203.0.113.10:80 of service ns/web: 10.244.0.6 is inside "
        "loadBalancerSourceRanges 10.244.0.0/16"
    ) in inside.stdout
    nodeport = invoke("trace", "192.0.2.10:30080", "--from", "198.51.100.7", "--snapshot", path)
    assert (
        f"  allowed  NodePort 192.0.2.10:30080 of service ns/web: {OUTSIDE_NODEPORTS}"
        in nodeport.stdout
    )
    r = invoke("trace", f"{LB}:80", "--from", "outside", "-o", "json", "--snapshot", path)
    doc = json.loads(r.stdout)
    validate(doc, "trace-report.json")
    assert doc["sourceRanges"] == [
        {
            "service": "ns/web",
            "entry": {"kind": "LoadBalancer", "address": LB, "port": 80},
            "source": "outside (a client beyond the cluster)",
            "sourceIP": None,
            "verdict": "unknown",
            "reason": "depends on the client's address: allowed only from 192.0.2.0/24, "
            "10.244.0.0/16",
            "range": None,
        }
    ]
    [route] = doc["routes"]
    assert (route["sessionAffinity"], route["sessionAffinityTimeoutSeconds"]) == ("ClientIP", 60)
    assert route["sourceRanges"] == {
        "filter": "filtered",
        "reason": "kube-proxy drops every source outside loadBalancerSourceRanges "
        "(192.0.2.0/24, 10.244.0.0/16)",
        "ranges": ["192.0.2.0/24", "10.244.0.0/16"],
        "invalid": ["bogus"],
    }
    plain = json.loads(invoke("trace", f"{LB}:80", "-o", "json", "--snapshot", path).stdout)
    validate(plain, "trace-report.json")
    assert "sourceRanges" not in plain


def test_no_ranges_says_nothing(tmp_path: Path) -> None:
    w = snap(
        nodes=(node(0),),
        services=(_web(),),
        groups=(group("web", [(None, 8080, "TCP")], ep("10.244.0.5", "web-a")),),
        pods=(pod("web-a", "10.244.0.5", cport("app", 8080)),),
    )
    path = str(tmp_path / "s.json.gz")
    snapshotfile.save(path, w)
    r = invoke("trace", f"{LB}:80", "--from", "198.51.100.7", "-o", "json", "--snapshot", path)
    doc = json.loads(r.stdout)
    assert "sourceRanges" not in doc
    assert doc["routes"][0]["sourceRanges"] is None
    assert doc["routes"][0]["sessionAffinity"] is None
    text = invoke("map", "-A", "--snapshot", path, "-o", "tree").stdout
    assert "sessionAffinity" not in text
    assert "loadBalancerSourceRanges" not in text


def test_tree_words_for_no_valid_range_and_a_zero_range(tmp_path: Path) -> None:
    def lines(ranges: tuple[str, ...]) -> list[str]:
        w = snap(nodes=(node(0),), services=(_web(ranges),))
        path = str(tmp_path / "w.json.gz")
        snapshotfile.save(path, w)
        out = invoke("map", "-A", "--snapshot", path, "-o", "tree").stdout.splitlines()
        return [x for x in out if "loadBalancerSourceRanges" in x]

    assert lines(("bogus",)) == [
        "├── loadBalancerSourceRanges: no valid range, kube-proxy filters nothing",
        "├── loadBalancerSourceRanges not a CIDR, ignored: 'bogus'",
    ]
    assert lines(("0.0.0.0/0",)) == [
        "├── loadBalancerSourceRanges 0.0.0.0/0: kube-proxy drops other sources to the load "
        "balancer's IPs (not to the nodePort, ClusterIP or externalIPs) (a /0 range lets every "
        "source of its family in)"
    ]


def test_from_a_namespace_judges_each_pod(tmp_path: Path) -> None:
    w = msgspec.structs.replace(
        _world(),
        pods=(
            pod("web-a", "10.244.0.5", cport("app", 8080)),
            pod("client", "10.244.0.6"),
            pod("far", "172.16.0.9"),
            pod("new", None),
        ),
    )
    path = str(tmp_path / "n.json.gz")
    snapshotfile.save(path, w)
    r = invoke("trace", f"{LB}:80", "--from", "ns", "-o", "json", "--snapshot", path)
    doc = json.loads(r.stdout)
    validate(doc, "trace-report.json")
    got = [(c["source"], c["sourceIP"], c["verdict"]) for c in doc["sourceRanges"]]
    assert got == [
        ("ns/client", "10.244.0.6", "allowed"),
        ("ns/far", "172.16.0.9", "dropped"),
        ("ns/new", None, "unknown"),
        ("ns/web-a", "10.244.0.5", "allowed"),
    ]
    assert doc["sourceRanges"][2]["reason"] == "ns/new has no IP address"
    text = invoke("trace", f"{LB}:80", "--from", "ns", "--snapshot", path).stdout
    assert (
        "  dropped  LoadBalancer 203.0.113.10:80 of service ns/web from ns/far: 172.16.0.9 is "
        "outside loadBalancerSourceRanges (192.0.2.0/24, 10.244.0.0/16)"
    ) in text


def test_affinity_from_a_snapshot_file_without_a_timeout_or_with_none() -> None:
    # Review: snapshot files are not defaulted by the API server: ClientIP without a timeout is
    # the default 10800 s everywhere, and a literal "None" is no affinity.
    bare = msgspec.structs.replace(
        _web(), session_affinity="ClientIP", session_affinity_timeout=None
    )
    assert bare.affinity_seconds == 10800
    none = msgspec.structs.replace(_web(), session_affinity="None", session_affinity_timeout=None)
    assert none.affinity_seconds is None


def test_a_hostname_load_balancer_is_not_filtered_by_kube_proxy() -> None:
    # Review: kube-proxy's LoadBalancerVIPs() skips ingress entries without an IP (an AWS ELB's
    # hostname): it programs no rule there; only the cloud load balancer may filter.
    s = _web(("192.0.2.0/24",), lb=(LoadBalancerIngress(hostname="a.elb.amazonaws.com"),))
    fw = firewall.firewall(s, "LoadBalancer", "a.elb.amazonaws.com")
    assert fw is not None
    assert fw.filter == "unknown"
    assert firewall.check(fw, "a.elb.amazonaws.com", "10.244.0.9").verdict == "unknown"


def test_ranges_kube_proxy_cannot_parse_are_ignored() -> None:
    # Review: Go's ParseCIDRSloppy refuses a netmask or hostmask prefix and a zone; Python's
    # ip_network takes them. kube-proxy ignores such a range.
    for bad in ("10.0.0.0/255.0.0.0", "10.0.0.0/0.0.0.255", "fe80::%eth0/64", "10.0.0.0/+8"):
        r = firewall.ranges(_web((bad,)))
        assert r is not None
        assert (r.valid, r.invalid) == ((), (bad,)), bad
