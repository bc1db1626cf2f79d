"""`kinspect explain`: the four addresses and four ports, on a real service when there is one.

The example is Markdown built from cluster text: every piece of it goes through
`render.safe.markdown` (no HTML, no Markdown syntax, control characters shown escaped).
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.markdown import Markdown

from kinspect.edge.entry import Entrypoint
from kinspect.model.values import host_port
from kinspect.path import reasons
from kinspect.path.chain import PortChain, ServiceChain
from kinspect.render import words
from kinspect.render.safe import markdown as md
from kinspect.render.words import dual_stack_words, topology_lines

_TEXT = """\
# Four addresses

* **Node IP** — the node's own address (`status.addresses`: InternalIP, ExternalIP), reported
  by the kubelet or a cloud controller. nodePorts and hostPorts open here.
* **ClusterIP** — a virtual IP **allocated by kube-apiserver** from the service CIDR
  (`--service-cluster-ip-range`). kube-proxy (or a replacement such as Cilium) only programs
  the forwarding rules; no interface owns it. Headless services have none.
* **Pod IP** — given by the **CNI plugin's IPAM**, usually out of the node's podCIDR. All
  containers of a pod share one network namespace, so a "container IP" *is* the Pod IP. With
  `hostNetwork: true` the pod shares the node's network namespace instead of getting its own,
  so its Pod IP is the Node IP.
* **External addresses** — `status.loadBalancer.ingress` written by a load-balancer
  controller, and `spec.externalIPs` set by hand (nobody allocates those).

# Four ports

* **nodePort** — opened on **every** node (30000–32767 by default). Under
  `externalTrafficPolicy: Local` only nodes with a local ready endpoint answer; the others drop,
  and a LoadBalancer service gets a **healthCheckNodePort** where kube-proxy answers the load
  balancer's probes (200 with a local endpoint, 503 without).
* **port** — the service's port on its ClusterIP (and on LB ingress / externalIPs).
* **targetPort** — where traffic lands on the pod IP. A *named* targetPort is resolved **per
  pod** against that pod's container port names and protocol: two pods can land on different
  numbers, and a pod without the name gets no endpoint at all.
* **containerPort** — informational. Traffic reaches whatever listens on the targetPort,
  declared or not.

    in-cluster client → ClusterIP:port ───────────────────────┐
    external client → LB ingress | externalIP | NodeIP:nodePort ┴→ PodIP:targetPort
                                                                  → container:containerPort

kube-proxy DNATs each packet **straight to an endpoint**: traffic entering through a nodePort,
a load balancer or an externalIP never passes through the ClusterIP (it is not on the wire); the
ClusterIP is a second way in, for clients inside the cluster. Under
`internalTrafficPolicy: Local` ClusterIP traffic goes only to endpoints on the client's node.
Where the EndpointSlices carry **topology hints** (`trafficDistribution: PreferSameZone` or
`PreferSameNode`), kube-proxy on each node uses only the endpoints hinted for its node or zone.
In a dual-stack cluster a service has a ClusterIP per family (`ipFamilies`), a pod an IP per
family, and kube-proxy one proxier per family: IPv6 frontends lead to IPv6 endpoints only, and
a nodePort opens only on the node addresses of the service's own families.
"""


def _example(pc: PortChain, c: ServiceChain) -> str:
    s, p = c.service, pc.port
    lines = [
        f"# In this cluster: service {md(s.namespace)}/{md(s.name)} ({s.type}), "
        f"port {p.port}/{p.protocol}",
        "",
    ]
    if dual_stack_words(s):
        lines.append(
            f"* dual-stack: {md(dual_stack_words(s))}; each family's ClusterIP and node "
            "addresses lead only to the endpoints (EndpointSlices) of the same family"
        )
    for f in pc.frontends:
        if f.kind == "NodePort":
            state = "answers" if f.answers else "drops (no local ready endpoint)"
            lines.append(
                f"* nodePort **{f.port}** on node {md(f.node or '-')} address {md(f.address)}"
                f" — {state}"
            )
        elif f.kind == "ClusterIP":
            lines.append(
                f"* ClusterIP {md(f.address)} port **{f.port}** (allocated by kube-apiserver)"
            )
        else:
            lines.append(f"* {f.kind} {md(f.address)} port **{f.port}**")
        if f.from_nodes:
            ok = md(", ".join(n.node for n in f.from_nodes if n.answers) or "none")
            lines.append(
                f"  * internalTrafficPolicy Local: answered only from nodes with a local ready "
                f"endpoint ({ok})"
            )
    if pc.topology:
        lines.append(
            "* topology hints are in force: for cluster-policy traffic kube-proxy on each node "
            "uses only the endpoints hinted for it (same node first, then same zone, else every "
            "endpoint; docs/kube-proxy.md):"
        )
        lines.extend(f"  * {md(line)}" for line in topology_lines(pc.topology))
    for hc in c.health_checks[:1]:
        # One check per node address: each node named once.
        ok = md(
            ", ".join(dict.fromkeys(h.node for h in c.health_checks if h.status == 200))
            or "no node"
        )
        lines.append(
            f"* healthCheckNodePort **{hc.port}**: kube-proxy answers the load balancer 200 on "
            f"{ok}, 503 on the other nodes"
        )
    if s.affinity_seconds is not None:
        lines.append(
            f"* {words.affinity(s.affinity_seconds)} (kube-proxy remembers each "
            "client's endpoint per service port, whichever frontend it came through)"
        )
    lines.extend(f"* {md(line)}" for line in words.source_ranges(s))
    serving = [b for b in pc.backends if b.ready]
    lines.append(f"* targetPort **{md(str(p.target_port))}** resolves per pod to:")
    for b in serving:
        cp = b.container_port
        where = (
            f"container {md(cp.container)} containerPort {cp.port}"
            if cp
            else "no declared containerPort (still delivered to whatever listens)"
        )
        why = (
            " — hostNetwork: the pod shares the node's network namespace, so its Pod IP is "
            "the node's IP"
            if b.host_network
            else ""
        )
        pod = md(f"{b.address}")
        lines.append(f"  * Pod IP {pod} port **{b.port}** ({md(str(b.pod))}) → {where}{why}")
    if not serving:
        lines.append("  * no ready endpoint")
    listed = {nb.pod for nb in pc.not_backends}
    unready = [b for b in pc.backends if not b.ready and b.pod not in listed]
    if pc.not_backends or unready:
        lines.append("* pods that get **no traffic** on this port:")
    for b in unready:
        state = "terminating" if b.terminating else "not ready"
        lines.append(f"  * {md(str(b.pod or b.address))}: no traffic — {state}")
    for nb in pc.not_backends:
        lines.append(f"  * pod {md(str(nb.pod))}: no traffic — {md(reasons.not_backend(nb))}")
    return "\n".join(lines)


def pick_example(chains: list[ServiceChain]) -> tuple[PortChain, ServiceChain] | None:
    """The most illustrative port: NodePort/LoadBalancer with backends first."""
    best: tuple[int, PortChain, ServiceChain] | None = None
    for c in chains:
        for pc in c.ports:
            score = (2 if pc.port.node_port else 0) + (1 if pc.backends else 0)
            if c.service.namespace == "kube-system" or c.service.name == "kubernetes":
                score -= 3
            if best is None or score > best[0]:
                best = (score, pc, c)
    return (best[1], best[2]) if best else None


_ENTRY_TEXT = """\
# The hop in front of the Service

This cluster has entry points: most outside traffic arrives as a URL at an **Ingress** or a
**Gateway** (Gateway API), not at a ClusterIP. Their controller (a proxy such as ingress-nginx,
Envoy Gateway, a cloud load balancer) receives the request on its own address, picks a rule by
**host** and **path** (a Gateway: a **listener** by port and hostname, then an attached
**route**'s matches on path, headers, query and method, each backendRef by **weight**), and
sends it to the rule's **service port**: usually straight to an endpoint of it (the proxy
watches EndpointSlices), sometimes through its ClusterIP. From there the chain above applies.
A route that is not attached (wrong namespace, hostname or sectionName), a backendRef into
another namespace without a ReferenceGrant, or a service without ready endpoints makes the
URL fail although every pod is healthy: `kinspect trace URL` shows which.
"""


def pick_entry(entries: list[Entrypoint]) -> Entrypoint | None:
    """The most illustrative entry point: a Gateway route to ready backends, then an Ingress."""
    scored = [
        ((1 if e.kind != "Ingress" else 0) + (2 if e.ready else 0), i, e)
        for i, e in enumerate(entries)
        if e.port is not None and e.service is not None
    ]
    return max(scored, key=lambda t: (t[0], -t[1]))[2] if scored else None


def _entry_example(e: Entrypoint) -> str:
    assert e.port is not None
    assert e.service is not None
    b = next((b for b in e.port.backends if b.ready), None)
    weight = f" (weight {e.weight}, {e.share:.0%} of the rule)" if e.share is not None else ""
    lines = [
        "## In this cluster",
        "",
        # Escaped text, not a code span: inside backticks Markdown shows an escape as written.
        f"* {md(e.kind)} **{md(e.namespace)}/{md(e.name)}**, via {md(e.via)}: host "
        f"{md(e.host)}, {md(e.path)}",
        f"* → service **{md(e.service.namespace)}/{md(e.service.name)}** port "
        f"{e.port.port.port}{weight}, {e.ready} ready endpoint(s)",
    ]
    if b is not None:
        cp = f", container {md(b.container)}" if b.container else ""
        lines.append(f"* → endpoint {md(host_port(b.address, b.port))}{cp}")
    return "\n".join(lines) + "\n"


def explain(chains: list[ServiceChain], entries: list[Entrypoint] | None = None) -> RenderableType:
    """Render the explanation, with an example from `chains` when there is one.

    With `entries` (the cluster's Ingress paths and routes), the hop in front of the Service too.
    """
    parts: list[RenderableType] = [Markdown(_TEXT)]
    ex = pick_example(chains)
    if ex:
        parts.append(Markdown(_example(*ex)))
    e = pick_entry(entries or [])
    if e is not None:
        parts += [Markdown(_ENTRY_TEXT), Markdown(_entry_example(e))]
    return Group(*parts)
