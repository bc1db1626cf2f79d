"""`trace --from`: the NetworkPolicy verdict at every hop of a trace, from one source.

Pure: joins a `trace.TraceResult` (routes through service frontends to backends, direct hops)
with `policy.PolicyIndex`. A route's hop is the backend pod at its target port: kube-proxy
DNATs the service address to the endpoint before NetworkPolicy sees the packet, so the
policies are evaluated against the pod and its port, never the service's
(https://kubernetes.io/docs/concepts/services-networking/network-policies/: policies apply to
pod IPs and ports; "ports ... on the destination pod").
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from kinspect.errors import UsageError
from kinspect.model import Pod, PodRef, Protocol, Service
from kinspect.peer import Peer
from kinspect.policy import PolicyIndex, PolicyVerdict
from kinspect.trace import TraceResult

# A namespace or pod name (DNS-1123 subdomain; pods' are validated as such on create).
_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?")

# The frontends that bring a client from outside the cluster.
_OUTSIDE_ENTRIES = ("NodePort", "LoadBalancer", "ExternalIP")


@dataclass(frozen=True, slots=True)
class HopVerdict:
    """The policy verdict for one hop: `source` to `pod` on `port`/`protocol`."""

    via: str  # "service ns/name port 80 via ClusterIP 10.96.0.10:80", "pod IP"
    pod: PodRef
    port: int
    protocol: Protocol
    verdict: PolicyVerdict
    notes: tuple[str, ...] = ()


def hop_verdicts(
    result: TraceResult,
    index: PolicyIndex,
    source: Peer,
    pods: Mapping[PodRef, Pod],
    services: Mapping[str, Service],
) -> list[HopVerdict]:
    """A verdict per backend of every route, and per direct hop to a pod.

    `services` by `namespace/name`, for their externalTrafficPolicy.
    """
    out: list[HopVerdict] = []
    for r in result.routes:
        entry = f"{r.entry.kind} {r.entry.address}:{r.entry.port}"
        notes: tuple[str, ...] = ()
        svc = services.get(r.service)
        etp = svc.external_traffic_policy if svc is not None else None
        # With externalTrafficPolicy Cluster (the default) kube-proxy SNATs external traffic to
        # a node address (https://kubernetes.io/docs/tasks/access-application-cluster/
        # create-external-load-balancer/#preserving-the-client-source-ip).
        if r.entry.kind in _OUTSIDE_ENTRIES and etp in (None, "Cluster"):
            notes = (SNAT_NOTE,)
        for b in r.backends:
            if b.pod is None or b.pod not in pods:
                continue
            v = index.check(source, Peer.of_pod(pods[b.pod]), b.port, b.protocol)
            out.append(HopVerdict(f"{r.service} via {entry}", b.pod, b.port, b.protocol, v, notes))
    for d in result.direct:
        if d.pod is None or d.pod not in pods:
            continue
        protocol: Protocol = d.container_port.protocol if d.container_port else "TCP"
        v = index.check(source, Peer.of_pod(pods[d.pod]), d.port, protocol)
        out.append(
            HopVerdict(f"{d.via} {result.target.address}:{d.port}", d.pod, d.port, protocol, v)
        )
    return out


SNAT_NOTE = (
    "externalTrafficPolicy Cluster: the client may be SNATed to a node address, which is "
    "what ipBlock rules then see"
)


@dataclass(frozen=True, slots=True)
class Source:
    """What `--from` names: a pod (namespace/name), an address, or any outside client."""

    kind: Literal["pod", "ip", "outside"]
    pod: PodRef | None = None
    ip: str | None = None


FROM_HINT = "--from NAMESPACE/POD, --from IP or --from outside"


def parse_source(text: str) -> Source:
    """`--from`'s value; a UsageError (one line, exit 2) when it is none of the forms."""
    value = text.strip()
    if value == "outside":
        return Source("outside")
    try:
        return Source("ip", ip=str(ipaddress.ip_address(value)))
    except ValueError:
        pass
    ns, sep, name = value.partition("/")
    if sep and _NAME.fullmatch(ns) and _NAME.fullmatch(name):
        return Source("pod", pod=PodRef(ns, name))
    if not sep and _NAME.fullmatch(value):
        raise UsageError(
            f"--from {value!r}: a whole namespace as a source is not supported yet", FROM_HINT
        )
    raise UsageError(f"bad --from {value!r}: not a pod, an IP address or 'outside'", FROM_HINT)
