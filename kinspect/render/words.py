"""Wording shared by the text formats (table, tree, explain): one phrase, one place."""

from __future__ import annotations

from kinspect.model.values import Service, ServiceConsumer, ServicePort
from kinspect.path import firewall
from kinspect.path.chain import PortChain


def consumer_short(c: ServiceConsumer) -> str:
    """`apiservice v1beta1.metrics.k8s.io`, `webhook validate.nginx.ingress.kubernetes.io`."""
    if c.kind == "APIService":
        return f"apiservice {c.name}"
    return f"webhook {c.webhook or c.name}"


def consumer_long(c: ServiceConsumer) -> str:
    """The consumer, the service port it calls and, for a webhook, its failurePolicy."""
    path = c.path or ""
    policy = f", failurePolicy {c.failure_policy}" if c.failure_policy else ""
    return f"{c.label} calls port {c.port}{path}{policy}"


def port_text(p: ServicePort) -> str:
    """`name 80/TCP`."""
    return f"{p.name + ' ' if p.name else ''}{p.port}/{p.protocol}"


def port_label(pc: PortChain) -> str:
    """`name port→targetPort`, with the protocol only when it is not TCP."""
    p = pc.port
    name = f"{p.name} " if p.name else ""
    proto = "" if p.protocol == "TCP" else f"/{p.protocol}"
    target = f"→{p.target_port}" if p.target_port is not None else ""
    return f"{name}{p.port}{proto}{target}"


def affinity(seconds: int) -> str:
    """SessionAffinity ClientIP's meaning, with its timeout."""
    return f"sessionAffinity ClientIP: one client IP keeps one backend for {seconds}s"


def source_ranges(s: Service) -> list[str]:
    """The service's loadBalancerSourceRanges (and legacy annotation), one line each.

    Which addresses kube-proxy filters, which it does not (docs/kube-proxy.md).
    """
    r = firewall.ranges(s)
    if r is None:
        return []
    out: list[str] = []
    if r.written and not r.valid:
        out.append("loadBalancerSourceRanges: no valid range, kube-proxy filters nothing")
    elif r.written:
        valid = ", ".join(str(n) for n in r.valid)
        zero = " (a /0 range lets every source of its family in)" if r.any_zero() else ""
        out.append(
            f"loadBalancerSourceRanges {valid}: kube-proxy drops other sources to the load "
            f"balancer's IPs (not to the nodePort, ClusterIP or externalIPs){zero}"
        )
    if r.invalid:
        out.append(
            "loadBalancerSourceRanges not a CIDR, ignored: " + ", ".join(repr(t) for t in r.invalid)
        )
    if r.annotation is not None:
        why = (
            "not read: the cloud load balancer takes spec.loadBalancerSourceRanges first"
            if r.written
            else "read by the cloud load balancer, not kube-proxy: kube-proxy does not filter"
        )
        out.append(f"annotation {firewall.ANNOTATION} {r.annotation!r}: {why}")
    return out
