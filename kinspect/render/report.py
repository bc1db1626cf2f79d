"""The machine-readable documents (JSON/YAML): kinspect/v1 ChainReport, TraceReport, IPInventory.

This is a contract (docs/json.md, kinspect/schemas/*.json): within apiVersion
kinspect/v1 fields are only ever added, never renamed or removed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from kinspect.edge.controller import Controller, FirstHop
from kinspect.edge.entry import Entrypoint, EntryResult, IngressHit
from kinspect.edge.gateway import Attachment
from kinspect.edge.gateway_match import GatewayHit, GatewayResult
from kinspect.live.state import ChainEvent
from kinspect.model.edge import GatewayCondition
from kinspect.model.policy import PluginPolicy
from kinspect.model.snapshot import Snapshot
from kinspect.model.values import Node, PodRef, ServicePort, Value
from kinspect.path import reasons
from kinspect.path.chain import NotBackend, PortChain, ServiceChain
from kinspect.path.firewall import EntryCheck, Firewall
from kinspect.path.inventory import Inventory
from kinspect.path.trace import TraceResult
from kinspect.policy.netpol import Isolation

API_VERSION = "kinspect/v1"

Json = dict[str, Any]


def _pod(ref: PodRef | None) -> Json | None:
    return None if ref is None else {"namespace": ref.namespace, "name": ref.name}


def node(n: Node) -> Json:
    """Document a node."""
    return {
        "name": n.name,
        "ready": n.ready,
        "addresses": [{"type": a.type, "address": a.address} for a in n.addresses],
        "podCIDRs": list(n.pod_cidrs),
    }


def not_backend(nb: NotBackend) -> Json:
    """Document a pod that gets no traffic on a port, and why."""
    return {
        "pod": nb.pod,
        "reason": reasons.not_backend(nb),
        "node": nb.node,
        "readyCondition": (
            {"reason": nb.ready_reason, "message": nb.ready_message}
            if nb.ready_reason or nb.ready_message
            else None
        ),
        "readinessProbes": [
            {
                "container": r.container,
                "action": r.action,
                "port": r.port,
                "containerPort": r.container_port,
            }
            for r in nb.readiness
        ],
        "scheduledCondition": (
            {"reason": nb.scheduled_reason, "message": nb.scheduled_message}
            if nb.scheduled_reason or nb.scheduled_message
            else None
        ),
    }


def service_port(p: ServicePort) -> Json:
    """Document a service port."""
    return {
        "name": p.name,
        "protocol": p.protocol,
        "port": p.port,
        "targetPort": p.target_port,
        "nodePort": p.node_port,
        "appProtocol": p.app_protocol,
    }


def port(pc: PortChain) -> Json:
    """Document one service port's chain."""
    p = pc.port
    return {
        "name": p.name,
        "protocol": p.protocol,
        "port": p.port,
        "targetPort": p.target_port,
        "nodePort": p.node_port,
        "appProtocol": p.app_protocol,
        # Frontends, backends and their pods and container ports are msgspec Structs that
        # encode to the documented camelCase objects themselves: on big clusters this avoids
        # building millions of dicts (a NodePort lists every node). Pods that get no traffic
        # are few, and their reason is worded here.
        "frontends": pc.frontends,
        "backends": pc.backends,
        "notBackends": [not_backend(nb) for nb in pc.not_backends],
        # Issue 22: per node, the endpoints kube-proxy there uses (topology hints in force).
        "topology": pc.topology,
    }


def service(c: ServiceChain) -> Json:
    """Document one service's chains."""
    s = c.service
    return {
        "namespace": s.namespace,
        "name": s.name,
        "type": s.type,
        "clusterIPs": list(s.cluster_ips),
        "headless": s.headless,
        "externalIPs": list(s.external_ips),
        "loadBalancerIngress": [
            {"ip": i.ip, "hostname": i.hostname, "ipMode": i.ip_mode}
            for i in s.load_balancer_ingress
        ],
        "externalName": s.external_name,
        "externalTrafficPolicy": s.external_traffic_policy,
        "selector": dict(s.selector) if s.selector is not None else None,
        "selectedPods": c.selected,
        "ports": [port(pc) for pc in c.ports],
        "internalTrafficPolicy": s.internal_traffic_policy,
        "publishNotReadyAddresses": s.publish_not_ready_addresses,
        "healthCheckNodePort": s.health_check_node_port,
        "healthChecks": c.health_checks,
        "consumers": c.consumers,
        "trafficDistribution": s.traffic_distribution,
        "topologyMode": s.topology_mode,
        "sessionAffinity": "ClientIP" if s.affinity_seconds is not None else None,
        "sessionAffinityTimeoutSeconds": s.affinity_seconds,
        "loadBalancerSourceRanges": list(s.load_balancer_source_ranges),
        "loadBalancerSourceRangesAnnotation": s.source_ranges_annotation,
        "ipFamilyPolicy": s.ip_family_policy,
        "ipFamilies": list(s.ip_families),
    }


def entrypoint(e: Entrypoint) -> Json:
    """One host and path of an Ingress or a route, and the service port it lands on."""
    return {
        "kind": e.kind,
        "namespace": e.namespace,
        "name": e.name,
        "via": e.via,
        "host": e.host,
        "path": e.path,
        "addresses": list(e.addresses),
        "service": f"{e.service.namespace}/{e.service.name}" if e.service else None,
        "port": e.port.port.port if e.port else None,
        "weight": e.weight,
        "share": e.share,
        "readyEndpoints": e.ready,
        "endpoints": e.total,
        "problem": e.problem,
        "unknown": e.unknown,
        "controller": controller(e.controller) if e.controller is not None else None,
    }


def isolation_json(iso: Isolation) -> Json:
    """The ChainReport's `networkPolicies`: backends isolated for ingress, and by what."""
    return {
        "state": iso.state,
        "adminState": iso.admin_state,
        "ingressIsolated": [
            {
                "pod": dict(zip(("namespace", "name"), k.split("/", 1), strict=True)),
                "policies": list(v),
                "admitsAll": k in iso.admits_all,
            }
            for k, v in sorted(iso.by_pod.items())
        ],
        # Issue 23: the network plugin's policies, detected, not evaluated.
        "pluginPolicyState": iso.plugin_state,
        "pluginPolicies": [plugin_policy_json(p) for p in iso.plugin_policies],
        "pluginUnknown": [
            {
                "pod": dict(zip(("namespace", "name"), k.split("/", 1), strict=True)),
                "reason": v,
            }
            for k, v in sorted(iso.plugin_unknown.items())
        ],
    }


def plugin_policy_json(p: PluginPolicy) -> Json:
    """One network plugin policy object (docs/json.md): `namespace` null when cluster-wide."""
    return {"group": p.group, "kind": p.kind, "namespace": p.namespace or None, "name": p.name}


def chain_report(
    snapshot: Snapshot,
    chains: list[ServiceChain],
    isolation: Isolation | None = None,
    entries: list[Entrypoint] | None = None,
) -> Json:
    """Build the kinspect/v1 ChainReport.

    Additive members: `networkPolicies` when `isolation` is given, `entrypoints` (Ingress paths
    and Gateway routes) when `entries` is.
    """
    doc = _chain_report(snapshot, chains)
    if isolation is not None:
        doc["networkPolicies"] = isolation_json(isolation)
    if entries is not None:
        doc["entrypoints"] = [entrypoint(e) for e in entries]
    return doc


def _chain_report(snapshot: Snapshot, chains: list[ServiceChain]) -> Json:
    return {
        "apiVersion": API_VERSION,
        "kind": "ChainReport",
        "context": snapshot.context,
        "endpointSource": snapshot.endpoint_source,
        "warnings": list(snapshot.warnings),
        "nodes": [node(n) for n in snapshot.nodes],
        "services": [service(c) for c in chains],
    }


def chain_event(context: str, time: str, ev: ChainEvent) -> Json:
    """Build one kinspect/v1 ChainEvent (`map --watch -o json`, one per line)."""
    return {
        "apiVersion": API_VERSION,
        "kind": "ChainEvent",
        "context": context,
        "time": time,
        "event": ev.event,
        "namespace": ev.namespace,
        "service": ev.service,
        "port": service_port(ev.port) if ev.port is not None else None,
        "backend": ev.backend,
        "frontends": ev.frontends,
        "chain": service(ev.chain) if ev.chain is not None else None,
        "topology": ev.topology,
    }


def synced_event(context: str, time: str, services: int, warnings: Sequence[str]) -> Json:
    """The ChainEvent that ends the first read's service-added events: the stream is live."""
    return {
        "apiVersion": API_VERSION,
        "kind": "ChainEvent",
        "context": context,
        "time": time,
        "event": "synced",
        "namespace": None,
        "service": None,
        "port": None,
        "backend": None,
        "frontends": None,
        "chain": None,
        "services": services,
        "warnings": list(warnings),
    }


def trace_report(context: str, r: TraceResult) -> Json:
    """Build the kinspect/v1 TraceReport."""
    return {"apiVersion": API_VERSION, "kind": "TraceReport", "context": context, **_trace(r)}


def _trace(r: TraceResult) -> Json:
    """A TraceReport's body: also a URL trace's first hop (`firstHop.receivers[].trace`)."""
    return {
        "address": r.target.address,
        "port": r.target.port,
        "protocol": r.target.protocol,
        "found": r.found,
        "matches": [
            {
                "kind": m.kind,
                "detail": m.detail,
                "node": m.node,
                "service": m.service,
                "pod": _pod(m.pod),
            }
            for m in r.matches
        ],
        "routes": [
            {
                "service": rt.service,
                "serviceType": rt.service_type,
                "port": service_port(rt.port),
                "entry": rt.entry,
                "clusterIPs": list(rt.cluster_ips),
                "backends": rt.backends,
                "sessionAffinity": "ClientIP" if rt.affinity_seconds is not None else None,
                "sessionAffinityTimeoutSeconds": rt.affinity_seconds,
                "sourceRanges": _firewall(rt.firewall),
                # Issue 22: topology hints in force: the endpoints the deciding node uses.
                "topology": rt.topology,
            }
            for rt in r.routes
        ],
        "direct": [
            {
                "via": d.via,
                "pod": _pod(d.pod),
                "node": d.node,
                "port": d.port,
                "containerPort": d.container_port,
                "container": d.container_port.container if d.container_port else None,
                "vias": list(d.vias),
                "service": d.service,
                "servicePort": service_port(d.service_port) if d.service_port else None,
                "endpoint": d.endpoint,
                "protocol": d.protocol,
            }
            for d in r.direct
        ],
        "healthChecks": [{"service": h.service, **_struct(h.check)} for h in r.health_checks],
        "hints": [{"port": h.port, "message": h.message} for h in r.hints],
        "backs": [
            {
                "service": b.service,
                "port": service_port(b.port),
                "backend": b.backend is not None and b.backend.ready,
                "endpoint": b.backend,
                "reason": reasons.not_backend(b.not_backend) if b.not_backend else None,
                "notBackend": not_backend(b.not_backend) if b.not_backend else None,
            }
            for b in r.backs
        ],
        "openPorts": [
            {
                "kind": o.kind,
                "port": o.port,
                "protocol": o.protocol,
                "service": o.service,
                "servicePort": service_port(o.service_port) if o.service_port else None,
                "answers": o.answers,
                "pod": _pod(o.pod),
                "container": o.container_port.container if o.container_port else None,
            }
            for o in r.open_ports
        ],
    }


def _firewall(fw: Firewall | None) -> Json | None:
    if fw is None:
        return None
    return {
        "filter": fw.filter,
        "reason": fw.reason,
        "ranges": list(fw.ranges),
        "invalid": list(fw.invalid),
    }


def source_checks(checks: list[EntryCheck]) -> list[Json]:
    """Trace --from's `sourceRanges`: each route's loadBalancerSourceRanges verdict, per source."""
    return [
        {
            "service": c.service,
            "entry": {"kind": c.kind, "address": c.address, "port": c.port},
            "source": c.source,
            "sourceIP": c.source_ip,
            "verdict": c.check.verdict,
            "reason": c.check.reason,
            "range": c.check.range,
        }
        for c in checks
    ]


def _entry_hit(h: IngressHit) -> Json:
    ing, b = h.ingress, h.hop
    return {
        "ingress": {"namespace": ing.namespace, "name": ing.name},
        "class": {"name": h.klass.name, "source": h.klass.source, "defined": h.klass.defined},
        "host": h.rule_host,
        "hostMatch": h.host,
        "path": h.path.path if h.path else None,
        "pathType": h.path.path_type if h.path else None,
        "defaultBackend": h.path is None,
        "why": h.why,
        "tls": h.tls,
        "tlsSecretName": h.tls_secret,
        "backend": {
            "service": b.backend.service,
            "port": b.backend.port_number
            if b.backend.port_number is not None
            else b.backend.port_name,
            "resource": b.backend.resource,
            "problem": b.problem,
        },
        "servicePort": port(b.port) if b.port else None,
    }


def entry_report(context: str, r: EntryResult) -> Json:
    """Build the kinspect/v1 EntryTraceReport (trace URL)."""
    q = r.request
    return {
        "apiVersion": API_VERSION,
        "kind": "EntryTraceReport",
        "context": context,
        "url": q.url,
        "host": q.host,
        "path": q.path,
        "port": q.port,
        "address": q.address,
        "found": r.found,
        "match": _entry_hit(r.hit) if r.hit else None,
        "alsoMatched": [_entry_hit(h) for h in r.also],
        "whyNot": r.why_not,
        "gateway": gateway_result(r.gateway),
        "firstHop": first_hop(r.first_hop) if r.first_hop is not None else None,
        "behind": r.behind,
    }


def controller(c: Controller) -> Json:
    """The controller's Services of an entry point (`edge.controller.controller_of`)."""
    return {
        "services": [{"namespace": s.namespace, "name": s.name} for s in c.services],
        "rule": c.rule or None,
        "unknown": c.unknown,
    }


def first_hop(fh: FirstHop) -> Json:
    """What receives a URL's address and port: the hop into the controller's pods."""
    return {
        "port": fh.port,
        "received": fh.received,
        "unread": fh.unread,
        "controller": controller(fh.controller),
        "receivers": [
            {
                "address": rc.address,
                "port": rc.port,
                "known": rc.known,
                "received": rc.received,
                "trace": _trace(rc.result),
            }
            for rc in fh.receivers
        ],
    }


def _conditions(cs: tuple[GatewayCondition, ...]) -> list[Json]:
    return [
        {"type": c.type, "status": c.status, "reason": c.reason, "message": c.message} for c in cs
    ]


def attachment(a: Attachment) -> Json:
    """One parentRef of a route and whether it attaches (the reason when not)."""
    r, ref = a.route, a.ref
    return {
        "route": {"kind": r.kind, "namespace": r.namespace, "name": r.name},
        "parentRef": {
            "namespace": ref.namespace,
            "name": ref.name,
            "sectionName": ref.section_name,
            "port": ref.port,
        },
        "attached": a.attached,
        "listeners": [ln.name for ln in a.listeners],
        "reason": a.reason,
        "why": a.why or None,
        "unknown": a.unknown,
    }


def _gateway_hit(h: GatewayHit) -> Json:
    g, ln, r = h.gateway, h.listener, h.route
    rule = r.rules[h.rule_index]
    return {
        "gateway": {"namespace": g.namespace, "name": g.name, "class": g.class_name},
        "gatewayConditions": _conditions(g.conditions + ln.conditions),
        "classDefined": h.class_defined,
        "addresses": list(g.addresses),
        "listener": {
            "name": ln.name,
            "port": ln.port,
            "protocol": ln.protocol,
            "hostname": ln.hostname,
        },
        "route": {"kind": r.kind, "namespace": r.namespace, "name": r.name},
        "rule": h.rule_index,
        "ruleName": rule.name,
        "why": h.why,
        "conditions": {
            "written": _conditions(h.conditions.written),
            "computed": _conditions(h.conditions.computed),
            "disagree": h.conditions.disagreements(),
        },
        "backendRefs": [
            {
                "kind": f.ref.kind,
                "namespace": f.ref.namespace,
                "name": f.ref.name,
                "port": f.ref.port,
                "weight": f.ref.weight,
                "share": f.share,
                "problem": f.problem,
                "reason": f.reason,
                "unknown": f.unknown,
                "readyEndpoints": f.ready,
                "servicePort": port(f.port) if f.port else None,
            }
            for f in h.refs
        ],
    }


def gateway_result(g: GatewayResult) -> Json:
    """The Gateway API half of an EntryTraceReport."""
    return {
        "considered": g.considered,
        "found": g.found,
        "match": _gateway_hit(g.hit) if g.hit else None,
        "alsoMatched": [_gateway_hit(h) for h in g.also],
        "whyNot": g.why_not,
        "unattached": [attachment(a) for a in g.unattached],
    }


def _struct(v: Value) -> Json:
    """A domain value as the camelCase dict it encodes to (to merge keys into it)."""
    out: Json = msgspec.to_builtins(v)
    return out


def inventory_report(inv: Inventory) -> Json:
    """Build the kinspect/v1 IPInventory."""
    return {
        "apiVersion": API_VERSION,
        "kind": "IPInventory",
        "context": inv.context,
        "allocators": dict(inv.allocators),
        "nodes": [node(n) for n in inv.nodes],
        "clusterIPs": [
            {
                "service": f"{s.namespace}/{s.name}",
                "type": s.type,
                "clusterIPs": list(s.cluster_ips),
            }
            for s in inv.cluster_ip_services
        ],
        "headlessServices": [
            {"service": f"{s.namespace}/{s.name}", "type": s.type} for s in inv.headless_services
        ],
        "loadBalancerIngress": [{"service": svc, "address": addr} for svc, addr in inv.lb_ingress],
        "externalIPs": [{"service": svc, "address": addr} for svc, addr in inv.external_ips],
        "pods": [
            {
                "namespace": p.namespace,
                "name": p.name,
                "node": p.node_name,
                "podIPs": list(p.pod_ips),
                "hostNetwork": p.host_network,
                "containers": list(p.containers),
                "initContainers": list(p.init_containers),
            }
            for p in inv.pods
        ],
        "podsWithoutIP": inv.pods_without_ip,
        "entryAddresses": [
            {"kind": kind, "name": name, "address": addr}
            for kind, name, addr in inv.entry_addresses
        ],
    }
