"""The audit's registry and entry point: the literal tuple `CHECKS` of every check, and `run`.

Audit checks: what breaks (or weakens) the chain, as findings a platform team acts on. Each check
is a function in the module of its domain (`chain`, `ports`, `exposure`, `consumers`, `edge`,
`policy`), listed here in the literal tuple `CHECKS` (no registration by import side effects),
where its id and usual severity are written once; the tuple's order is the reports' order.
Check ids are stable kebab-case and never renamed. Severities follow Kubernetes semantics:
`error` = traffic is or will be dropped, `warning` = fragile or likely wrong, `info` = a style or
cost note. Popeye's codes are cited where a check covers one, without its false positives (it
compares against one arbitrary pod, and it calls an undeclared numeric port an error although
traffic reaches whatever listens there).
"""

from __future__ import annotations

from dataclasses import replace

from kinspect.audit.chain import (
    endpoint_pod_missing,
    endpoint_pod_terminating,
    no_ready_endpoints,
    selected_pod_not_endpoint,
    selector_matches_no_pods,
    selectorless_without_endpoints,
    single_ready_endpoint,
    slices_endpoints_disagree,
)
from kinspect.audit.check import AuditInput, Check
from kinspect.audit.consumers import apiservice_unavailable, webhook_service_unavailable
from kinspect.audit.edge import (
    gateway_backend_missing,
    gateway_backend_unavailable,
    gateway_listener_unused,
    gateway_ref_not_permitted,
    gateway_route_not_attached,
    ingress_backend_missing,
    ingress_backend_unavailable,
    ingress_class_missing,
    ingress_path_conflict,
)
from kinspect.audit.exposure import (
    host_port_collision,
    lb_cluster_traffic_policy,
    load_balancer_pending,
    local_policy_drops_nodes,
    node_port_collision,
    service_type_cost,
)
from kinspect.audit.finding import Finding, PortKey, Severity
from kinspect.audit.policy import (
    egress_blocks_dns,
    external_traffic_denied,
    policy_named_port_undeclared,
    policy_rule_never_matches,
    policy_selects_no_pod,
    service_port_unreachable,
)
from kinspect.audit.ports import (
    named_port_unresolvable,
    numeric_target_port,
    pod_declares_no_ports,
    probe_numeric_port,
    protocol_mismatch,
    target_port_undeclared,
    unnamed_container_port,
)
from kinspect.audit.topology import topology_hints_incomplete, topology_zone_without_endpoint
from kinspect.model.snapshot import Snapshot
from kinspect.path.chain import Index, ServiceChain

CHECKS: tuple[Check, ...] = (
    Check("selector-matches-no-pods", Severity.ERROR, selector_matches_no_pods, ("1100",)),
    Check("no-ready-endpoints", Severity.ERROR, no_ready_endpoints, ("1105", "1110")),
    Check(
        "single-ready-endpoint",
        Severity.INFO,
        single_ready_endpoint,
        ("1109",),
        rollup="service(s) run a single ready replica (no redundancy during a restart or rollout)",
    ),
    Check("selected-pod-not-endpoint", Severity.WARNING, selected_pod_not_endpoint, ("204",)),
    Check("named-port-unresolvable", Severity.ERROR, named_port_unresolvable, ("1106",)),
    Check("target-port-undeclared", Severity.WARNING, target_port_undeclared, ("1106",)),
    Check("protocol-mismatch", Severity.ERROR, protocol_mismatch, ("1106",)),
    Check("local-policy-drops-nodes", Severity.WARNING, local_policy_drops_nodes, ("1108",)),
    Check("node-port-collision", Severity.ERROR, node_port_collision),
    Check("host-port-collision", Severity.ERROR, host_port_collision),
    Check("load-balancer-pending", Severity.WARNING, load_balancer_pending),
    Check("endpoint-pod-missing", Severity.ERROR, endpoint_pod_missing),
    Check("endpoint-pod-terminating", Severity.INFO, endpoint_pod_terminating),
    Check("slices-endpoints-disagree", Severity.WARNING, slices_endpoints_disagree),
    Check(
        "selectorless-without-endpoints",
        Severity.WARNING,
        selectorless_without_endpoints,
        ("1110",),
    ),
    Check("numeric-target-port", Severity.INFO, numeric_target_port, ("1102",)),
    Check("service-type-cost", Severity.INFO, service_type_cost, ("1103", "1104")),
    Check("lb-cluster-traffic-policy", Severity.INFO, lb_cluster_traffic_policy, ("1107",)),
    Check("pod-declares-no-ports", Severity.INFO, pod_declares_no_ports, ("1101",)),
    Check("unnamed-container-port", Severity.INFO, unnamed_container_port, ("108",)),
    Check("probe-numeric-port", Severity.INFO, probe_numeric_port, ("105",)),
    Check("webhook-service-unavailable", Severity.ERROR, webhook_service_unavailable),
    Check("apiservice-unavailable", Severity.ERROR, apiservice_unavailable),
    Check("ingress-backend-missing", Severity.ERROR, ingress_backend_missing),
    Check("ingress-backend-unavailable", Severity.ERROR, ingress_backend_unavailable),
    Check("ingress-path-conflict", Severity.WARNING, ingress_path_conflict),
    Check("ingress-class-missing", Severity.WARNING, ingress_class_missing),
    Check("gateway-route-not-attached", Severity.WARNING, gateway_route_not_attached),
    Check("gateway-ref-not-permitted", Severity.ERROR, gateway_ref_not_permitted),
    Check("gateway-backend-missing", Severity.ERROR, gateway_backend_missing),
    Check("gateway-backend-unavailable", Severity.ERROR, gateway_backend_unavailable),
    Check("gateway-listener-unused", Severity.INFO, gateway_listener_unused),
    Check("service-port-unreachable", Severity.ERROR, service_port_unreachable),
    Check("external-traffic-denied", Severity.WARNING, external_traffic_denied),
    Check("policy-selects-no-pod", Severity.WARNING, policy_selects_no_pod),
    Check("policy-named-port-undeclared", Severity.WARNING, policy_named_port_undeclared),
    Check("egress-blocks-dns", Severity.WARNING, egress_blocks_dns),
    Check("policy-rule-never-matches", Severity.WARNING, policy_rule_never_matches),
    Check("topology-zone-without-endpoint", Severity.WARNING, topology_zone_without_endpoint),
    Check("topology-hints-incomplete", Severity.WARNING, topology_hints_incomplete),
)


def run(
    snapshot: Snapshot,
    chains: list[ServiceChain],
    index: Index,
    ignore: frozenset[str] = frozenset(),
) -> list[Finding]:
    """Run every check not in `ignore`; findings sorted by severity (worst first), then place."""
    a = AuditInput(snapshot, index, chains)
    out = [
        replace(f, context=snapshot.context)
        for check in CHECKS
        if check.id not in ignore
        for f in check.run(check, a)
    ]
    out.sort(key=lambda f: (-f.severity, f.context, f.namespace, f.service, f.check, _text(f.port)))
    return out


def _text(p: PortKey | None) -> str:
    """The port as reports print it ("http 80/TCP", "80/TCP"), only to order findings.

    Reports have always listed a place's findings in the order of this text, so an unnamed
    port sorts as a string (443 before 80); numbers would reorder existing reports.
    """
    return "" if p is None else f"{p.name + ' ' if p.name else ''}{p.port}/{p.protocol}"
