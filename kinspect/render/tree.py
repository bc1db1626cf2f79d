"""Trees: `map -o tree` (service → port → frontends/backends) and `trace` hop by hop."""

from __future__ import annotations

from collections.abc import Mapping

from rich.console import Group, RenderableType
from rich.text import Text
from rich.tree import Tree

from kinspect.edge.controller import FirstHop
from kinspect.edge.entry import Entrypoint, EntryResult, IngressHit, PortKey, short
from kinspect.edge.gateway import written_conditions
from kinspect.edge.gateway_match import GatewayHit
from kinspect.model.values import Service, host_port
from kinspect.path import reasons
from kinspect.path.chain import Backend, Frontend, PortChain, ServiceChain, usable
from kinspect.path.evidence import Evidencer
from kinspect.path.firewall import EntryCheck
from kinspect.path.topology import NodeTopology, RouteTopology
from kinspect.path.trace import Direct, Route, TraceResult
from kinspect.policy.netpol import Isolation
from kinspect.render import evidence, words
from kinspect.render.safe import plain
from kinspect.render.words import (
    consumer_long,
    dual_stack_words,
    hints_label,
    port_label,
    port_text,
    topology_line,
    topology_lines,
)


def _backend_label(b: Backend) -> Text:
    state = "ready" if b.ready else ("terminating" if b.terminating else "NOT READY")
    style = "green" if b.ready else "red"
    t = Text(plain(host_port(b.address, b.port)), style="bold")
    t.append(f"  {state}", style=style)
    if b.pod:
        if b.pod_unknown is not None:
            t.append(f"  pod {plain(str(b.pod))} (not read: {plain(b.pod_unknown)})")
        else:
            t.append(f"  pod {plain(str(b.pod))}" + (" (missing!)" if not b.pod_found else ""))
    if b.node:
        t.append(f"  on {plain(b.node)}", style="dim")
    if b.host_network:
        t.append("  hostNetwork: address is the node IP", style="cyan")
    return t


def _container_label(b: Backend) -> Text:
    cp = b.container_port
    if cp is None:
        return Text(
            f"no container declares {b.port}/{b.protocol}: traffic reaches whatever listens there",
            style="yellow",
        )
    name = f" ({plain(cp.name)})" if cp.name else ""
    kind = "sidecar " if cp.sidecar else ""
    return Text(f"{kind}container {plain(cp.container)}:{cp.port}{name}/{cp.protocol}")


def _policy_mark(b: Backend, iso: Isolation | None) -> Text | None:
    """What ingress NetworkPolicies do at a backend pod (issue 23), or None: nothing to say."""
    if iso is None or b.pod is None:
        return None
    pod = str(b.pod)
    match iso.ingress_mark(pod):
        case "plugin-unknown":
            return Text(plain(f"ingress: {iso.plugin_unknown[pod]}"), style="yellow")
        case "admits-all":
            names = ", ".join(iso.admits_all[pod])
            return Text(
                plain(f"ingress: policy {names} admits every source on every port"), style="dim"
            )
        case "isolated":
            names = ", ".join(iso.by_pod[pod])
            return Text(
                plain(f"ingress: isolated by {names}: only what its rules admit"), style="magenta"
            )
        case None:
            return None


def map_tree(
    chains: list[ServiceChain],
    entries: Mapping[PortKey, list[Entrypoint]] | None = None,
    ev: Evidencer | None = None,
    isolation: Isolation | None = None,
) -> RenderableType:
    """Render chains as trees: (entry points,) service, port, frontends, backends, containers.

    `ev` (--evidence): under each port, frontend, backend and idle pod, what shows it. With
    `isolation`, each backend says what ingress NetworkPolicies do at its pod.
    """
    trees = []
    for c in chains:
        s = c.service
        head = Text(plain(f"{s.namespace}/{s.name}"), style="bold")
        head.append(f"  {'Headless' if s.headless else s.type}", style="cyan")
        if s.external_traffic_policy == "Local":
            head.append("  externalTrafficPolicy: Local", style="dim")
        if s.internal_traffic_policy == "Local":
            head.append("  internalTrafficPolicy: Local", style="dim")
        if dual_stack_words(s):
            head.append(f"  {plain(dual_stack_words(s))}", style="dim")
        if s.publish_not_ready_addresses:
            head.append("  publishNotReadyAddresses: not-ready pods are endpoints", style="dim")
        if hints_label(s):
            head.append(f"  {plain(hints_label(s))}", style="dim")
        tree = Tree(head)
        if s.affinity_seconds is not None:
            tree.add(Text(words.affinity(s.affinity_seconds)))
        for line in words.source_ranges(s):
            tree.add(Text(plain(line)))
        if c.consumers:
            used = tree.add(Text("called by the API server for"))
            for u in c.consumers:
                used.add(Text(plain(consumer_long(u))))
        if c.health_checks:
            hc = c.health_checks[0].port
            ok = sorted({h.node for h in c.health_checks if h.status == 200})
            tree.add(
                Text(
                    f"healthCheckNodePort {hc}: kube-proxy answers the load balancer 200 on "
                    f"{plain(', '.join(ok)) or 'no node'}, 503 elsewhere"
                )
            )
        if s.type == "ExternalName":
            name = plain(s.external_name or "")
            tree.add(Text(f"DNS CNAME → {name} (no ClusterIP, no endpoints)"))
        for pc in c.ports:
            pt = tree.add(Text(f"port {plain(port_label(pc))}", style="bold magenta"))
            if ev is not None and s.type != "ExternalName":
                evidence.add(pt, [ev.target_port(s, pc.port)])
            if pc.port.app_protocol:
                pt.add(Text(f"appProtocol {plain(pc.port.app_protocol)}"))
            ins = (entries or {}).get((s.namespace, s.name, pc.port.port), ())
            for line in dict.fromkeys(
                f"{short(e)} ({e.via}){words.through_controller(e)}" for e in ins
            ):
                pt.add(Text(f"entered by {plain(line)}", style="cyan"))
            if s.type != "ExternalName":
                fronts = pt.add(Text("frontends"))
                for f in pc.frontends:
                    label = f"{f.kind} {plain(host_port(f.address, f.port))}"
                    if f.node:
                        label += f" (node {plain(f.node)})"
                    if f.answers is False:
                        label += " — drops traffic (no local ready endpoint)"
                    ft = fronts.add(Text(label))
                    _from_nodes(ft, f)
                    if ev is not None:
                        evidence.add(ft, ev.frontend(s, pc.port, f))
                if not pc.frontends:
                    fronts.add(Text("none (headless: clients use the pod IPs from DNS)"))
                _topology(pt, pc.topology)
            if s.type == "ExternalName":
                continue
            backs = pt.add(Text("backends"))
            for b in pc.backends:
                bt = backs.add(_backend_label(b))
                bt.add(_container_label(b))
                if (mark := _policy_mark(b, isolation)) is not None:
                    bt.add(mark)
                if ev is not None:
                    evidence.add(bt, ev.backend(s, b))
            if not pc.backends:
                backs.add(Text("none", style="red"))
            listed = {b.pod for b in pc.backends}
            for nb in pc.not_backends:
                if nb.pod not in listed:
                    nt = pt.add(
                        Text(
                            plain(f"pod {nb.pod} gets no endpoint: {reasons.not_backend(nb)}"),
                            style="red",
                        )
                    )
                    if ev is not None:
                        evidence.add(nt, ev.not_backend(s, pc.port, nb))
        trees.append(tree)
    return Group(*trees)


_VIA = {
    "PodIP": "pod IP",
    "HostPort": "hostPort",
    "HostNetwork": "hostNetwork",
    "Endpoint": "endpoint",
}


def _route(root: Tree, rt: Route, ev: Evidencer | None = None) -> None:
    p, e = rt.port, rt.entry
    head = (
        f"{e.kind} {plain(host_port(e.address, e.port))} → service {plain(rt.service)} "
        f"port {p.port}/{p.protocol}"
    )
    hop = root.add(Text(head, style="bold magenta"))
    if ev is not None:
        evidence.add(hop, ev.route(rt))
    if rt.firewall is not None:
        fw = rt.firewall
        style = {"filtered": "yellow", "open": "dim", "unknown": "yellow"}[fw.filter]
        hop.add(Text(plain(fw.reason), style=style))
        if fw.invalid:
            bad = ", ".join(repr(t) for t in fw.invalid)
            hop.add(Text(plain(f"not a CIDR, ignored by kube-proxy: {bad}"), style="yellow"))
    if rt.affinity_seconds is not None:
        hop.add(Text(words.affinity(rt.affinity_seconds)))
    if e.answers is False:
        # Nothing is DNATed on this node (issue 23): say why, and where the endpoints are.
        # Usable: ready, else serving while terminating (kube-proxy's fallback).
        ready = usable(rt.backends)
        if not ready:
            hop.add(Text("no usable endpoint anywhere: traffic is rejected", style="red"))
            return
        hop.add(
            Text(
                f"node {plain(e.node or '')} drops it: externalTrafficPolicy Local and no local "
                "usable endpoint",
                style="red",
            )
        )
        nodes = ", ".join(dict.fromkeys(plain(b.node or "an unknown node") for b in ready))
        where = ", ".join(host_port(plain(b.address), b.port) for b in ready)
        hop.add(
            Text(
                f"not forwarded: the service's usable endpoints run on {nodes} only ({where})",
                style="dim",
            )
        )
        return
    if e.kind == "ClusterIP":
        _from_nodes(hop, e)
        hop = hop.add(
            Text(f"kube-proxy DNAT to an endpoint, targetPort {plain(str(p.target_port))}")
        )
    else:
        # kube-proxy DNATs a NodePort/LB/externalIP packet straight to an endpoint: the
        # ClusterIP is never on the wire. It is another way in, not a hop.
        hop = hop.add(
            Text(
                "kube-proxy DNAT straight to an endpoint (no ClusterIP hop), "
                f"targetPort {plain(str(p.target_port))}"
            )
        )
    # One node decides (the entry's, or --from's): its left-out endpoints are named, not followed.
    left: dict[tuple[str, int], str] = {}
    if rt.topology is not None:
        _route_topology(hop, rt.topology)
        if rt.topology.basis != "every-node":
            left = {(o.address, o.port): o.reason for o in rt.topology.nodes[0].left_out}
    for b in rt.backends:
        why = left.get((b.address, b.port))
        if why is not None and rt.topology is not None:
            label = _backend_label(b)
            label.append(
                f"  left out by kube-proxy on {plain(rt.topology.nodes[0].node)}: {plain(why)}",
                style="yellow",
            )
            hop.add(label)
            continue
        bt = hop.add(_backend_label(b))
        bt.add(_container_label(b))
        if ev is not None:
            evidence.add(bt, ev.route_backend(rt, b))
    if not rt.backends:
        hop.add(Text("no endpoints: traffic is rejected", style="red"))


_TOPOLOGY = "topology hints in force: kube-proxy on each node uses, for cluster-policy traffic"


def _topology(pt: Tree, nodes: tuple[NodeTopology, ...]) -> None:
    """Per node, the endpoints kube-proxy there uses under topology hints (map -o tree)."""
    if not nodes:
        return
    top = pt.add(Text(_TOPOLOGY, style="cyan"))
    for line in topology_lines(nodes):
        top.add(Text(plain(line)))


def _route_topology(hop: Tree, rt: RouteTopology) -> None:
    """trace: who decides the endpoints under topology hints, and what that node uses."""
    if rt.basis == "every-node":
        top = hop.add(
            Text(
                "topology hints in force: the endpoints depend on the client's node (trace "
                "--from a pod to follow one); kube-proxy on each node uses",
                style="cyan",
            )
        )
        for line in topology_lines(rt.nodes):
            top.add(Text(plain(line)))
        return
    whose = "the node it enters" if rt.basis == "entry" else "the client's node"
    hop.add(Text(f"topology hints, decided on {whose}: {plain(topology_line(rt.nodes[0]))}",
                 style="cyan"))  # fmt: skip


def _from_nodes(hop: Tree, f: Frontend) -> None:
    if not f.from_nodes:
        return
    drop = [n.node for n in f.from_nodes if not n.answers]
    ok = [n.node for n in f.from_nodes if n.answers]
    line = Text("internalTrafficPolicy Local: answered only from nodes with a local ready endpoint")
    line.append(f" ({plain(', '.join(ok)) or 'none'})", style="green")
    if drop:
        line.append(f"; no answer from pods on {plain(', '.join(drop))}", style="red")
    hop.add(line)


def _direct(root: Tree, d: Direct, ev: Evidencer | None = None) -> None:
    label = " + ".join(_VIA[v] for v in d.vias or (d.via,))
    if d.via == "Endpoint" and d.endpoint is not None:
        b = d.endpoint
        sp = d.service_port
        port = f" port {sp.port}/{sp.protocol}" if sp else ""
        pod = (
            "no pod"
            if b.pod is None
            else f"pod {b.pod} {'not read' if b.pod_unknown is not None else 'missing'}"
        )
        hop = root.add(
            Text(
                f"endpoint of service {plain(str(d.service))}{port} ({plain(pod)})",
                style="bold magenta",
            )
        )
        hop.add(_backend_label(b))
        if ev is not None:
            evidence.add(hop, ev.direct(d))
        how = (
            "listed in the service's endpoints by hand (a selectorless service)"
            if b.pod is None
            else "listed in the service's endpoints, its pod not read"
            if b.pod_unknown is not None
            else "listed in the service's endpoints, its pod missing"
        )
        hop.add(
            Text(
                f"{how}: traffic to the service reaches whatever listens on "
                f"{plain(host_port(b.address, b.port))}",
                style="dim",
            )
        )
        return
    hop = root.add(Text(f"{label} → pod {plain(f'{d.pod} on {d.node}')}", style="bold magenta"))
    if ev is not None:
        evidence.add(hop, ev.direct(d))
    if d.container_port:
        cp = d.container_port
        hop.add(
            Text(
                f"container {plain(cp.container)}:{cp.port}/{cp.protocol}"
                + (f" (hostPort {cp.host_port})" if cp.host_port else "")
            )
        )
    else:
        hop.add(
            Text(
                f"no container declares {d.port}/{d.protocol}: traffic reaches whatever "
                "listens there (containerPort is informational)",
                style="yellow",
            )
        )


def _without_port(root: Tree, r: TraceResult) -> None:
    if r.backs:
        backs = root.add(Text("backs"))
        for b in r.backs:
            where = f"service {plain(b.service)} port {plain(port_text(b.port))}"
            if b.backend is not None and b.backend.ready:
                at = plain(host_port(b.backend.address, b.backend.port))
                backs.add(Text(f"{where}: endpoint {at}"))
            elif b.not_backend is not None:
                why = reasons.not_backend(b.not_backend)
                backs.add(Text(f"{where}: no traffic — {plain(why)}", style="red"))
            elif b.backend is not None:
                backs.add(Text(f"{where}: endpoint listed but not ready", style="red"))
    if r.open_ports:
        ports = root.add(Text("open on this node"))
        for o in r.open_ports:
            if o.kind == "NodePort":
                state = "" if o.answers else " — drops traffic (no usable endpoint)"
                ports.add(
                    Text(f"nodePort {o.port}/{o.protocol} → service {plain(str(o.service))}{state}")
                )
            elif o.kind == "HealthCheckNodePort":
                code = "200" if o.answers else "503"
                ports.add(
                    Text(
                        f"healthCheckNodePort {o.port}/TCP: kube-proxy answers {code} "
                        f"for service {plain(str(o.service))}"
                    )
                )
            else:
                cp = o.container_port
                cont = f" container {plain(cp.container)}:{cp.port}" if cp else ""
                ports.add(
                    Text(f"{_VIA[o.kind]} {o.port}/{o.protocol} → pod {plain(str(o.pod))}{cont}")
                )


def trace_tree(r: TraceResult, ev: Evidencer | None = None) -> RenderableType:
    """Render a trace hop by hop; `ev` (--evidence): what shows each hop, and its command."""
    addr = r.target.address
    target = host_port(addr, r.target.port) if r.target.port else addr
    if r.target.port and r.target.protocol:
        target += f"/{r.target.protocol}"
    root = Tree(Text(plain(target), style="bold"))
    if not r.matches:
        root.add(Text("nothing in this cluster owns or carries this address", style="red"))
        return root
    what = root.add(Text("is"))
    for m in r.matches:
        what.add(Text(f"{m.kind}: {plain(m.detail)}"))
    if r.target.port is None:
        _without_port(root, r)
        return root
    for rt in r.routes:
        _route(root, rt, ev)
    siblings = {
        (rt.service, rt.port.port, ip)
        for rt in r.routes
        if rt.entry.kind != "ClusterIP"
        for ip in rt.cluster_ips
    }
    for svc, port, ip in sorted(siblings):
        root.add(
            Text(
                f"(the same service port is also reachable in-cluster at ClusterIP "
                f"{plain(host_port(ip, port))}, service {plain(svc)})",
                style="dim",
            )
        )
    for h in r.health_checks:
        hc = h.check
        text = (
            f"healthCheckNodePort {hc.port} of service {plain(h.service)}: kube-proxy on "
            f"{plain(hc.node)} "
            f"answers the load balancer's health check with {hc.status}"
        )
        hop = root.add(Text(text, style="bold magenta"))
        hop.add(
            Text(
                f"{hc.local_endpoints} local ready endpoint(s): the load balancer sends traffic "
                + ("to this node" if hc.status == 200 else "to other nodes only")
            )
        )
    for d in r.direct:
        _direct(root, d, ev)
    if not r.routes and not r.direct and not r.health_checks:
        asked = f"{r.target.port}/{r.target.protocol}" if r.target.protocol else r.target.port
        root.add(Text(f"nothing receives port {asked} on this address", style="red"))
    for hint in r.hints:
        root.add(Text(f"hint: {plain(hint.message)}", style="yellow"))
    return root


_VERDICT_STYLE = {"allowed": "green", "dropped": "red", "unknown": "yellow"}


def source_checks_text(label: str, checks: list[EntryCheck]) -> RenderableType:
    """Trace --from's loadBalancerSourceRanges verdicts: one line per entry and source."""
    head = f"loadBalancerSourceRanges from {label} (kube-proxy, before NetworkPolicy):"
    lines = [Text(plain(head), style="bold")]
    for c in checks:
        line = Text("  ")
        line.append(f"{c.check.verdict:<8}", style=_VERDICT_STYLE[c.check.verdict])
        who = f" from {c.source}" if c.source != label else ""
        line.append(
            plain(f" {c.kind} {c.address}:{c.port} of service {c.service}{who}: {c.check.reason}")
        )
        lines.append(line)
    return Group(*lines)


def _ingress_label(h: IngressHit) -> Text:
    ing = h.ingress
    t = Text(f"Ingress {plain(ing.namespace)}/{plain(ing.name)}", style="bold magenta")
    t.append(f"  {plain(h.klass.text)}")
    if h.klass.source != "none" and not h.klass.defined:
        t.append("  no IngressClass of that name", style="red")
    addrs = ", ".join(plain(a.address) for a in ing.addresses)
    t.append(f"  address {addrs}" if addrs else "  no address in status", style="dim")
    return t


def _service_hops(parent: Tree, svc: Service, pc: PortChain) -> None:
    """A service port behind an entry point: ClusterIP, then each endpoint and its container."""
    head = f"service {plain(svc.namespace)}/{plain(svc.name)} port {plain(port_text(pc.port))}"
    sh = parent.add(Text(head, style="bold magenta"))
    for ip in svc.cluster_ips:
        sh.add(Text(f"ClusterIP {plain(host_port(ip, pc.port.port))}", style="dim"))
    dnat = sh.add(Text(f"to an endpoint, targetPort {plain(str(pc.port.target_port))}"))
    for be in pc.backends:
        dnat.add(_backend_label(be)).add(_container_label(be))
    if not pc.backends:
        dnat.add(Text("no endpoints: this URL fails (503 from most controllers)", style="red"))
    elif not any(be.ready for be in pc.backends):
        dnat.add(Text("no ready endpoint: this URL fails (503 from most controllers)", style="red"))


def entry_tree(r: EntryResult) -> RenderableType:
    """Render a URL trace: the Ingress rule and Gateway route that answer it, then the chain."""
    root = Tree(Text(plain(r.request.url), style="bold"))
    if r.request.address:
        sent = plain(host_port(r.request.address, r.request.port))
        root.add(Text(f"sent to {sent}", style="dim"))
    if r.behind:
        root.add(Text(plain(r.behind), style="dim"))
    if r.first_hop is not None:
        _first_hop(root, r.first_hop)
    g = r.gateway
    h = r.hit
    # A miss is said only when the other API did not answer either: a URL answered by a
    # Gateway needs no "no Ingress rule matches" beside it, and the other way round.
    if h is None:
        if g.hit is None and (r.considered or not g.considered):
            root.add(Text(f"no Ingress answers: {plain(r.why_not or '')}", style="red"))
    else:
        _ingress_hop(root, r, h)
    if g.hit is not None:
        _gateway_hop(root, g.hit)
        for other in g.also:
            root.add(Text(f"also answered by Gateway {plain(str(other.gateway))}", style="yellow"))
    elif g.considered and h is None:
        root.add(Text(f"no Gateway answers: {plain(g.why_not or '')}", style="red"))
    if h is not None and g.hit is not None:
        root.add(
            Text(
                "both an Ingress and a Gateway answer this URL: DNS decides which receives it "
                "(trace ADDRESS:PORT --host H picks one)",
                style="yellow",
            )
        )
    for a in g.unattached:
        if a.unknown is not None:
            root.add(
                Text(
                    f"{a.route.kind} {plain(str(a.route))} attached to "
                    f"{plain(a.ref.namespace)}/{plain(a.ref.name)}: {plain(a.unknown)}",
                    style="yellow",
                )
            )
            continue
        t = Text(
            f"{a.route.kind} {plain(str(a.route))} not attached to "
            f"{plain(a.ref.namespace)}/{plain(a.ref.name)}: computed {a.reason}: {plain(a.why)}",
            style="yellow",
        )
        said = next((c for c in written_conditions(a) if c.type == "Accepted"), None)
        if said is not None and said.status == "True":
            t.append(f"; the controller's status says Accepted {plain(said.status)}", style="red")
        root.add(t)
    return root


def _first_hop(root: Tree, fh: FirstHop) -> None:
    """What receives the address:port (the hop into the controller's pods), before the rule."""
    c = fh.controller
    if c.services:
        names = ", ".join(plain(f"{s.namespace}/{s.name}") for s in c.services)
        t = Text(f"controller: service {names}", style="bold")
        t.append(f"  ({plain(c.rule)})", style="dim")
    else:
        t = Text(plain(c.unknown or "controller unknown"), style="yellow")
    hop = root.add(t)
    for rc in fh.receivers:
        at = hop.add(Text(f"{plain(rc.address)}:{rc.port}", style="bold"))
        if not rc.known:
            at.add(
                Text(
                    "unknown, because no node, service or pod read holds this address "
                    "(an external load balancer?)",
                    style="yellow",
                )
            )
            continue
        for rt in rc.result.routes:
            _route(at, rt)
        for d in rc.result.direct:
            _direct(at, d)
        if not rc.received and fh.unread:
            at.add(
                Text(
                    f"nothing read receives port {rc.port} on this address; {plain(fh.unread)}",
                    style="yellow",
                )
            )
        elif not rc.received:
            at.add(
                Text(
                    f"nothing receives port {rc.port} on this address: no load balancer, "
                    "externalIP, nodePort, hostPort or hostNetwork pod",
                    style="red",
                )
            )
        for hint in rc.result.hints:
            at.add(Text(f"hint: {plain(hint.message)}", style="yellow"))
    if fh.received is not True:
        for s in c.services:
            ports = [f"{p.port}→nodePort {p.node_port}" for p in s.ports if p.node_port is not None]
            if ports:
                hop.add(
                    Text(
                        plain(
                            f"hint: the controller's service {s.namespace}/{s.name} receives "
                            f"on the nodes' nodePorts ({', '.join(ports)})"
                        ),
                        style="yellow",
                    )
                )


def _gateway_hop(root: Tree, h: GatewayHit) -> None:
    gw, ln, route = h.gateway, h.listener, h.route
    t = Text(f"Gateway {plain(str(gw))}", style="bold magenta")
    t.append(f"  class {plain(gw.class_name)}")
    addrs = ", ".join(plain(a) for a in gw.addresses)
    t.append(f"  address {addrs}" if addrs else "  no address in status", style="dim")
    hop = root.add(t)
    if not h.class_defined:
        hop.add(
            Text(
                f"no GatewayClass {plain(gw.class_name)}: no controller serves it (computed)",
                style="red",
            )
        )
    # The Gateway's and the listener's own status (Accepted, Programmed ...), as written: the
    # CRD itself defaults them to Unknown/Pending until a controller takes the Gateway.
    for c in (*gw.conditions, *h.listener.conditions):
        style = "dim" if c.status == "True" else "yellow"
        hop.add(Text(f"{plain(c.type)}: {plain(c.status)} {plain(c.reason)} (status)", style=style))
    if not gw.conditions:
        hop.add(Text("no controller status on the Gateway (Programmed unknown)", style="dim"))
    lt = Text(
        f"listener {plain(ln.name)} {plain(ln.protocol)}:{ln.port} host {plain(ln.hostname or '*')}"
    )
    if ln.attached_routes is not None:
        lt.append(f"  attachedRoutes {ln.attached_routes}", style="dim")
    if ln.certificate_refs:
        certs = ", ".join(plain(c) for c in ln.certificate_refs)
        lt.append(f"  TLS: secret {certs} (by name; kinspect never reads Secrets)", style="dim")
    lh = hop.add(lt)
    rh = lh.add(Text(f"{route.kind} {plain(str(route))}", style="bold"))
    rh.add(Text(f"matched: {plain(h.why)}"))
    _conditions(rh, h)
    if not h.refs and h.route.rules[h.rule_index].redirects:
        rh.add(Text("RequestRedirect filter: the Gateway answers with a redirect (not followed)"))
    elif not h.refs:
        rh.add(Text("no backendRefs: this rule answers 500 (HTTPRoute spec)", style="red"))
    for f in h.refs:
        share = f"weight {f.ref.weight} ({f.share:.0%})"
        if f.unknown is not None:
            where = f"{plain(f.ref.namespace)}/{plain(f.ref.name)}"
            rh.add(Text(f"backendRef {share} to {where}: {plain(f.unknown)}", style="yellow"))
            continue
        if f.port is None or f.service is None:
            rh.add(
                Text(
                    f"backendRef {share}: {plain(f.problem or '')}: 500 for this share", style="red"
                )
            )
            continue
        bh = rh.add(Text(f"backendRef {share}", style="cyan"))
        _service_hops(bh, f.service, f.port)


def _conditions(parent: Tree, h: GatewayHit) -> None:
    c = h.conditions
    written = {w.type: w for w in c.written}
    disagree = set(c.disagreements())
    for comp in c.computed:
        w = written.get(comp.type)
        if w is None:
            parent.add(
                Text(
                    plain(f"{comp.type}: {comp.status} {comp.reason}")
                    + " (computed: no controller status)",
                    style="dim" if comp.status == "True" else "red",
                )
            )
            continue
        line = Text(f"{plain(comp.type)}: {plain(w.status)} {plain(w.reason)} (controller)")
        if comp.type in disagree:
            line.append(plain(f"; computed: {comp.status} {comp.reason}"), style="red")
        parent.add(line)
    for w in c.written:
        if w.type not in {comp.type for comp in c.computed}:
            parent.add(Text(f"{plain(w.type)}: {plain(w.status)} {plain(w.reason)} (controller)"))


def _ingress_hop(root: Tree, r: EntryResult, h: IngressHit) -> None:
    hop = root.add(_ingress_label(h))
    hop.add(Text(f"matched: {plain(h.why)}"))
    if h.tls:
        secret = (
            f"secret {plain(h.tls_secret)}"
            if h.tls_secret
            else "the controller's default certificate"
        )
        hop.add(Text(f"TLS: {secret} (by name; kinspect never reads Secrets)", style="dim"))
    for other in r.also:
        o = other.ingress
        hop.add(
            Text(
                plain(f"also claimed by Ingress {o.namespace}/{o.name}: {other.why}"),
                style="yellow",
            )
        )
    b, pc = h.hop, h.hop.port
    if pc is None or b.service is None:
        hop.add(Text(f"backend: {plain(b.problem or '')}", style="red"))
        return
    _service_hops(hop, b.service, pc)
