"""Wire NetworkPolicies and (Baseline)AdminNetworkPolicies made policy values (`model.policy`)."""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from kinspect.model import labels
from kinspect.model import policy as model_policy
from kinspect.model import values as model
from kinspect.wire import raw
from kinspect.wire.convert import PROTOCOLS, label_selector


def _policy_peer(p: raw.NetworkPolicyPeer) -> model_policy.PolicyPeer:
    block = None
    if p.ipBlock is not None:
        block = model_policy.IPBlock(p.ipBlock.cidr, tuple(p.ipBlock.except_ or ()))
    return model_policy.PolicyPeer(
        pod_selector=label_selector(p.podSelector),
        namespace_selector=label_selector(p.namespaceSelector),
        ip_block=block,
    )


def _policy_ports(ports: list[raw.NetworkPolicyPort] | None) -> tuple[model_policy.PolicyPort, ...]:
    # The API server defaults protocol to TCP (NetworkPolicyPort.protocol).
    return tuple(
        model_policy.PolicyPort(
            protocol=PROTOCOLS.get(p.protocol, "TCP"), port=p.port, end_port=p.endPort
        )
        for p in ports or ()
    )


def network_policy(n: raw.NetworkPolicy) -> model_policy.NetworkPolicy:
    """Convert a wire NetworkPolicy, defaulting policyTypes as the API server does.

    NetworkPolicySpec.policyTypes: "If this field is not specified, it will default based on
    the existence of ingress or egress rules; policies that contain an egress section are
    assumed to affect egress, and all policies (whether or not they contain an ingress
    section) are assumed to affect ingress" (k8s.io/api networking/v1 types.go). The server
    stores the defaulted value, so this only matters for objects that bypassed it.
    """
    spec = n.spec
    types: list[model_policy.PolicyType] = [
        t for t in ("Ingress", "Egress") if t in (spec.policyTypes or ())
    ]
    if not spec.policyTypes:
        types = ["Ingress", "Egress"] if spec.egress else ["Ingress"]
    return model_policy.NetworkPolicy(
        namespace=n.metadata.namespace,
        name=n.metadata.name,
        # podSelector is required; an absent one is read as empty (every pod), as Go's zero value.
        pod_selector=label_selector(spec.podSelector) or labels.LabelSelector(),
        policy_types=tuple(types),
        ingress=tuple(
            model_policy.PolicyRule(
                peers=tuple(_policy_peer(p) for p in r.from_ or ()), ports=_policy_ports(r.ports)
            )
            for r in spec.ingress or ()
        ),
        egress=tuple(
            model_policy.PolicyRule(
                peers=tuple(_policy_peer(p) for p in r.to or ()), ports=_policy_ports(r.ports)
            )
            for r in spec.egress or ()
        ),
    )


# --- policy.networking.k8s.io/v1alpha1 (issue 14) --------------------------------------------

_ADMIN_ACTIONS: dict[str, model_policy.AdminAction] = {
    "Allow": "Allow",
    "Deny": "Deny",
    "Pass": "Pass",
}


def _namespaced_pods(p: raw.NamespacedPod | None) -> model.NamespacedPods | None:
    # Both selectors are required; an absent one is read as empty (everything), as Go's zero.
    if p is None:
        return None
    return model.NamespacedPods(
        namespace_selector=label_selector(p.namespaceSelector) or labels.LabelSelector(),
        pod_selector=label_selector(p.podSelector) or labels.LabelSelector(),
    )


def _admin_peer(p: raw.AdminNetworkPolicyPeer) -> model_policy.AdminPeer:
    return model_policy.AdminPeer(
        namespaces=label_selector(p.namespaces),
        pods=_namespaced_pods(p.pods),
        nodes=label_selector(p.nodes),
        networks=tuple(p.networks or ()),
        domain_names=tuple(p.domainNames or ()),
    )


def _admin_port(p: raw.AdminNetworkPolicyPort) -> model_policy.AdminPort:
    # protocol defaults to TCP (+kubebuilder:default=TCP on Port and PortRange).
    if p.portNumber is not None:
        return model_policy.AdminPort(
            PROTOCOLS.get(p.portNumber.protocol, "TCP"), p.portNumber.port
        )
    if p.portRange is not None:
        r = p.portRange
        return model_policy.AdminPort(PROTOCOLS.get(r.protocol, "TCP"), r.start, end_port=r.end)
    if p.namedPort is not None:
        return model_policy.AdminPort(name=p.namedPort)
    return model_policy.AdminPort()  # a kind of port entry this kinspect does not know


def _admin_rules(
    rules: list[raw.AdminNetworkPolicyRule] | None, direction: str
) -> tuple[model_policy.AdminRule, ...]:
    return tuple(
        model_policy.AdminRule(
            action=_ADMIN_ACTIONS.get(r.action),
            name=r.name or "",
            peers=tuple(map(_admin_peer, (r.from_ if direction == "ingress" else r.to) or ())),
            ports=None if r.ports is None else tuple(_admin_port(p) for p in r.ports),
        )
        for r in rules or ()
    )


def _admin_policy(
    n: raw.AdminNetworkPolicy, tier: model_policy.AdminTier
) -> model_policy.AdminNetworkPolicy:
    spec = n.spec
    return model_policy.AdminNetworkPolicy(
        tier=tier,
        name=n.metadata.name,
        subject=model_policy.AdminSubject(
            namespaces=label_selector(spec.subject.namespaces),
            pods=_namespaced_pods(spec.subject.pods),
        ),
        priority=spec.priority if tier == "AdminNetworkPolicy" else None,
        ingress=_admin_rules(spec.ingress, "ingress"),
        egress=_admin_rules(spec.egress, "egress"),
    )


def admin_network_policy(n: raw.AdminNetworkPolicy) -> model_policy.AdminNetworkPolicy:
    """Convert a wire AdminNetworkPolicy (priority is required; absent is read as 0)."""
    p = _admin_policy(n, "AdminNetworkPolicy")
    return p if p.priority is not None else msgspec.structs.replace(p, priority=0)


def baseline_admin_network_policy(n: raw.AdminNetworkPolicy) -> model_policy.AdminNetworkPolicy:
    """Convert a wire BaselineAdminNetworkPolicy."""
    return _admin_policy(n, "BaselineAdminNetworkPolicy")


def plugin_policy(
    group: str, kind: str
) -> Callable[[raw.NamedItem], model_policy.PluginPolicy | None]:
    """The converter of one network plugin policy kind: its objects by name only."""

    def convert(item: raw.NamedItem) -> model_policy.PluginPolicy | None:
        meta = item.metadata
        if not meta.name:
            return None  # an object without a name cannot be named in a verdict
        return model_policy.PluginPolicy(group, kind, meta.namespace, meta.name)

    return convert
