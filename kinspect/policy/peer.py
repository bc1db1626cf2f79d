"""The two ends of a connection that policies judge, and address arithmetic on them.

Pure and shared by `policy` (NetworkPolicy) and `adminpolicy` (AdminNetworkPolicy): a `Peer` is
a pod, an address that is no pod, or any client outside the cluster.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Literal

from kinspect.model.values import IPFamily, Pod, Value, ip_family

PeerKind = Literal["pod", "ip", "outside"]
Direction = Literal["ingress", "egress"]
# Three-valued matching: True, False, or None when it cannot be told (unread namespace labels,
# hostNetwork pods, names that are not resolved).
Tri = bool | None


class Peer(Value, frozen=True):
    """One end of a connection: a pod, an address that is no pod, or any outside client."""

    kind: PeerKind
    pod: Pod | None = None
    ip: str | None = None
    # A dual-stack pod speaks from its address of the other end's family: an IPv6 connection
    # carries its IPv6 address, which is all ipBlock rules see. None: every address it has.
    family: IPFamily | None = None

    @classmethod
    def of_pod(cls, pod: Pod) -> Peer:
        return cls("pod", pod=pod, ip=pod.pod_ips[0] if pod.pod_ips else None)

    @classmethod
    def of_ip(cls, ip: str) -> Peer:
        return cls("ip", ip=ip)

    @classmethod
    def outside(cls) -> Peer:
        return cls("outside")

    def towards(self, address: str) -> Peer:
        """The peer in a connection with `address`: a pod narrowed to that address's family."""
        family = ip_family(address)
        if self.pod is None or family is None:
            return self
        mine = next((ip for ip in self.pod.pod_ips if ip_family(ip) == family), self.ip)
        return Peer(self.kind, self.pod, mine, family)

    def ips(self) -> tuple[str, ...]:
        """The addresses this end is known by (none for an outside client)."""
        if self.pod is not None:
            if self.family is not None:
                return tuple(ip for ip in self.pod.pod_ips if ip_family(ip) == self.family)
            return self.pod.pod_ips
        return (self.ip,) if self.ip is not None else ()

    def __str__(self) -> str:
        if self.pod is not None:
            return str(self.pod.ref)
        return self.ip or "outside"


@lru_cache(maxsize=4096)
def network(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """The CIDR, host bits allowed; None when it is not one."""
    try:
        return ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return None


@lru_cache(maxsize=65536)
def address(ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address; None when it is not one."""
    try:
        return ipaddress.ip_address(ip)
    except ValueError:
        return None


def in_cidr(ip: str, cidr: str) -> bool:
    """True when `ip` is an address inside `cidr` (of the same family)."""
    addr, net = address(ip), network(cidr)
    return addr is not None and net is not None and addr.version == net.version and addr in net
