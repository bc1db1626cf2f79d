"""loadBalancerSourceRanges as kube-proxy applies them, per frontend and per source. Pure.

kube-proxy (kubernetes v1.37.2, docs/kube-proxy.md "## loadBalancerSourceRanges") reads only
spec.loadBalancerSourceRanges: each range trimmed of whitespace, split by IP family, a range
that is not a CIDR ignored, and a zero-length prefix (0.0.0.0/0, ::/0) meaning "allow any" for
its family (pkg/proxy/serviceport.go newBaseServiceInfo, pkg/proxy/util/utils.go
MapCIDRsByIPFamily). It filters only the load balancer's ingress IPs in VIP mode
(LoadBalancerVIPs()), and only with ranges of their family; nodePorts, the ClusterIP and
externalIPs are never filtered (pkg/proxy/iptables/proxier.go syncProxyRules: "nodeports are not
subject to loadBalancerSourceRanges"). A range containing the node's IP also lets the LB IPs in
as source (`allowFromNode`: a node's request to its own VIP loops back from the VIP).

The legacy annotation service.beta.kubernetes.io/load-balancer-source-ranges is read by cloud
providers' load balancers (k8s.io/cloud-provider service/helpers GetLoadBalancerSourceRanges:
the spec first, else the annotation), never by kube-proxy: what a cloud load balancer does is
unknown here, and said so.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from kinspect.model.values import Service

ANNOTATION = "service.beta.kubernetes.io/load-balancer-source-ranges"

Net = ipaddress.IPv4Network | ipaddress.IPv6Network
# filtered: kube-proxy drops every source outside `ranges`; open: kube-proxy lets every source
# through at this frontend; unknown: what filters it is not kube-proxy (a cloud load balancer).
Filter = Literal["filtered", "open", "unknown"]
Verdict = Literal["allowed", "dropped", "unknown"]


@dataclass(frozen=True, slots=True)
class Ranges:
    """A service's loadBalancerSourceRanges as kube-proxy parses them."""

    written: tuple[str, ...]  # spec, as written
    valid: tuple[Net, ...]  # each valid range once, in the written order
    invalid: tuple[str, ...]  # not a CIDR: kube-proxy logs "Invalid CIDR ignored"
    annotation: str | None  # the legacy annotation, as written

    def any_zero(self) -> bool:
        """Whether a /0 range opens a family to every source."""
        return any(n.prefixlen == 0 for n in self.valid)

    def of_family(self, version: int) -> tuple[Net, ...]:
        """The ranges of one family; () when one of them is /0 (kube-proxy: allow any)."""
        mine = tuple(n for n in self.valid if n.version == version)
        return () if any(n.prefixlen == 0 for n in mine) else mine


def ranges(s: Service) -> Ranges | None:
    """The service's ranges; None when it sets neither the spec nor the annotation."""
    if not s.load_balancer_source_ranges and s.source_ranges_annotation is None:
        return None
    valid: list[Net] = []
    invalid: list[str] = []
    for text in s.load_balancer_source_ranges:
        net = _network(text.strip())
        if net is None:
            if text.strip():  # kube-proxy ignores an empty string without a word
                invalid.append(text)
        elif net not in valid:
            valid.append(net)
    return Ranges(
        s.load_balancer_source_ranges, tuple(valid), tuple(invalid), s.source_ranges_annotation
    )


def _network(text: str) -> Net | None:
    """A CIDR with its host bits allowed (as kube-proxy's ParseCIDRSloppy); None if not one."""
    if "/" not in text or len(text) > 64:
        return None
    addr, _, prefix = text.partition("/")
    # Go's ParseCIDRSloppy takes a prefix length in digits only, and no IPv6 zone: a netmask,
    # a hostmask or "%eth0" (which Python's ip_network accepts) makes kube-proxy ignore it.
    if not (prefix.isascii() and prefix.isdigit()) or "%" in addr:
        return None
    octets = addr.split(".")
    if len(octets) == 4 and all(o.isascii() and o.isdigit() and len(o) <= 3 for o in octets):
        # "010.0.0.0/8": ParseCIDRSloppy reads leading zeros as decimal (Go's old parser); the
        # API still keeps such values written before its validation tightened.
        addr = ".".join(str(int(o)) for o in octets)
    try:
        return ipaddress.ip_network(f"{addr}/{prefix}", strict=False)
    except ValueError:
        return None


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Firewall:
    """What loadBalancerSourceRanges do at one frontend of a service.

    `ranges`: the ones kube-proxy applies here (the address's family, as CIDR text).
    """

    filter: Filter
    reason: str
    ranges: tuple[str, ...] = ()
    invalid: tuple[str, ...] = ()

    def ranges_words(self) -> str:
        """The ranges applied here, comma-separated."""
        return ", ".join(self.ranges)


def _words(nets: Iterable[Net]) -> str:
    return ", ".join(str(n) for n in nets)


def firewall(s: Service, kind: str, address: str) -> Firewall | None:
    """LoadBalancerSourceRanges at the frontend `kind` `address` of `s`; None: none are set."""
    r = ranges(s)
    if r is None:
        return None
    invalid = r.invalid
    if kind != "LoadBalancer":
        where = {
            "NodePort": "nodePorts",
            "ClusterIP": "the ClusterIP",
            "ExternalIP": "externalIPs",
        }.get(kind, kind)
        return Firewall(
            "open",
            f"kube-proxy applies loadBalancerSourceRanges only to the load balancer's IPs, "
            f"not to {where}: every source is let through here",
        )
    ing = next((i for i in s.load_balancer_ingress if i.ip == address), None)
    if ing is not None and ing.ip_mode == "Proxy":
        return Firewall(
            "unknown",
            "ipMode Proxy: kube-proxy programs no rule for this address; whether the load "
            "balancer applies loadBalancerSourceRanges is unknown to kinspect",
            invalid=invalid,
        )
    if not r.written:
        return Firewall(
            "unknown",
            f"only the legacy annotation {ANNOTATION} is set: kube-proxy does not read it "
            "(every source reaches this address through kube-proxy); whether the cloud load "
            "balancer applies it is unknown to kinspect",
        )
    ip = _address(address)
    if ip is None:
        # LoadBalancerVIPs() skips an ingress without an IP (a cloud LB's hostname): kube-proxy
        # programs no rule for it (pkg/proxy/serviceport.go newBaseServiceInfo).
        return Firewall(
            "unknown",
            "a hostname load balancer: kube-proxy programs no rule for it; whether the cloud "
            "load balancer applies loadBalancerSourceRanges is unknown to kinspect",
            invalid=invalid,
        )
    version = ip.version
    mine = r.of_family(version)
    if not mine:
        zero = any(n.version == version and n.prefixlen == 0 for n in r.valid)
        why = (
            f"a /0 range in loadBalancerSourceRanges allows every IPv{version} source"
            if zero
            else f"loadBalancerSourceRanges set no valid IPv{version} range: kube-proxy does not "
            f"filter IPv{version}"
        )
        return Firewall("open", why, invalid=invalid)
    return Firewall(
        "filtered",
        f"kube-proxy drops every source outside loadBalancerSourceRanges ({_words(mine)})",
        tuple(str(n) for n in mine),
        invalid,
    )


@dataclass(frozen=True, slots=True)
class SourceCheck:
    """One source at one frontend: allowed or dropped by the ranges, and why."""

    verdict: Verdict
    reason: str
    range: str | None = None  # the range that lets it in


def check(
    fw: Firewall, address: str, source: str | None, node_ips: Iterable[str] = ()
) -> SourceCheck:
    """The source address `source` (None: any outside client) at the frontend `address`.

    `node_ips`: the nodes' addresses, for kube-proxy's `allowFromNode` (a range holding a node's
    IP lets the LB IP itself in as a source).
    """
    if fw.filter == "open":
        return SourceCheck("allowed", fw.reason)
    if fw.filter == "unknown":
        return SourceCheck("unknown", fw.reason)
    allowed = [ipaddress.ip_network(r) for r in fw.ranges]
    if source is None:
        return SourceCheck(
            "unknown", f"depends on the client's address: allowed only from {fw.ranges_words()}"
        )
    ip = _address(source)
    if ip is None:
        return SourceCheck("unknown", f"{source} is not an IP address")
    hit = next((n for n in allowed if n.version == ip.version and ip in n), None)
    if hit is not None:
        return SourceCheck("allowed", f"{ip} is inside loadBalancerSourceRanges {hit}", str(hit))
    if ip == _address(address):
        nodes = [a for a in map(_address, node_ips) if a is not None]
        holder = next(
            (n for n in allowed for a in nodes if a.version == n.version and a in n), None
        )
        if holder is not None:
            return SourceCheck(
                "allowed",
                f"{ip} is the load balancer's IP and {holder} holds a node's IP: kube-proxy "
                "lets a node's own request to the VIP in (it loops back from the VIP)",
                str(holder),
            )
    family = "" if ip.version == _version(fw) else f" (an IPv{ip.version} source)"
    return SourceCheck(
        "dropped", f"{ip} is outside loadBalancerSourceRanges ({fw.ranges_words()}){family}"
    )


def _version(fw: Firewall) -> int:
    return ipaddress.ip_network(fw.ranges[0]).version if fw.ranges else 4


@dataclass(frozen=True, slots=True)
class EntryCheck:
    """trace --from: one source at one route's entry (`kind` `address`:`port` of `service`)."""

    service: str
    kind: str
    address: str
    port: int
    source: str  # as --from names it (a pod, an address, a node, outside)
    source_ip: str | None  # the address the packet leaves from; None: any outside client
    check: SourceCheck


def source_ip(ips: Iterable[str], address: str) -> str | None:
    """Of a source's addresses, the one of `address`'s family (a dual-stack pod), else the first."""
    ips = list(ips)
    want = _address(address)
    same = [
        i for i in ips if (a := _address(i)) is not None and want is not None
        and a.version == want.version
    ]  # fmt: skip
    pick = same or ips
    return pick[0] if pick else None
