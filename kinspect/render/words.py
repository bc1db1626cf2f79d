"""Wording shared by the text formats (table, tree, explain): one phrase, one place."""

from __future__ import annotations

from kinspect.model.values import Service, ServiceConsumer, ServicePort
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


def dual_stack_words(s: Service) -> str:
    """`RequireDualStack (IPv4, IPv6)`, `SingleStack (IPv6)`; "" for the usual IPv4 single stack.

    Shown only where it tells something: a service in more than one family, or in IPv6 only.
    """
    if not s.ip_families or tuple(s.ip_families) == ("IPv4",):
        return ""
    return f"{s.ip_family_policy or 'ipFamilyPolicy unset'} ({', '.join(s.ip_families)})"
