"""`kinspect explain`: the four addresses and four ports, on a real service when there is one."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.markdown import Markdown
from rich.text import Text

from kinspect.chain import PortChain, ServiceChain
from kinspect.render import reasons
from kinspect.render.safe import plain

_TEXT = """\
# Four addresses

* **Node IP** — the node's own address (`status.addresses`: InternalIP, ExternalIP), reported
  by the kubelet or a cloud controller. nodePorts and hostPorts open here.
* **ClusterIP** — a virtual IP **allocated by kube-apiserver** from the service CIDR
  (`--service-cluster-ip-range`). kube-proxy (or a replacement such as Cilium) only programs
  the forwarding rules; no interface owns it. Headless services have none.
* **Pod IP** — given by the **CNI plugin's IPAM**, usually out of the node's podCIDR. All
  containers of a pod share one network namespace, so a "container IP" *is* the Pod IP. With
  `hostNetwork: true` the Pod IP is the Node IP.
* **External addresses** — `status.loadBalancer.ingress` written by a load-balancer
  controller, and `spec.externalIPs` set by hand (nobody allocates those).

# Four ports

* **nodePort** — opened on **every** node (30000–32767 by default). Under
  `externalTrafficPolicy: Local` only nodes with a local ready endpoint answer; the others drop.
* **port** — the service's port on its ClusterIP (and on LB ingress / externalIPs).
* **targetPort** — where traffic lands on the pod IP. A *named* targetPort is resolved **per
  pod** against that pod's container port names and protocol: two pods can land on different
  numbers, and a pod without the name gets no endpoint at all.
* **containerPort** — informational. Traffic reaches whatever listens on the targetPort,
  declared or not.

    client → LB ingress | externalIP | NodeIP:nodePort → ClusterIP:port → PodIP:targetPort
           → container:containerPort
"""


def _example(pc: PortChain, c: ServiceChain) -> Text:
    """The example, as plain `Text`: cluster names never go through Markdown (or markup)."""
    s, p = c.service, pc.port
    out = Text()
    out.append(
        plain(f"In this cluster: service {s.namespace}/{s.name} ({s.type}), ")
        + f"port {p.port}/{p.protocol}\n\n",
        style="bold",
    )
    for f in pc.frontends:
        if f.kind == "NodePort":
            state = "answers" if f.answers else "drops (no local ready endpoint)"
            where = plain(f"on node {f.node} address {f.address}")
            out.append(f"• nodePort {f.port} {where} — {state}\n")
        elif f.kind == "ClusterIP":
            out.append(
                f"• ClusterIP {plain(f.address)} port {f.port} (allocated by kube-apiserver)\n"
            )
        else:
            out.append(f"• {f.kind} {plain(f.address)} port {f.port}\n")
    out.append(f"• targetPort {plain(str(p.target_port))} resolves per pod to:\n")
    for b in pc.backends:
        cp = b.container_port
        where = (
            f"container {plain(cp.container)} containerPort {cp.port}"
            if cp
            else "no declared containerPort (still delivered to whatever listens)"
        )
        pod = plain(f"{b.address} port {b.port} ({b.pod})")
        out.append(f"    • Pod IP {pod} → {where}\n")
    for nb in pc.not_backends:
        out.append(plain(f"    • pod {nb.pod}: no traffic — {reasons.not_backend(nb)}") + "\n")
    out.rstrip()
    return out


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


def explain(chains: list[ServiceChain]) -> RenderableType:
    """Render the explanation, with an example from `chains` when there is one."""
    parts: list[RenderableType] = [Markdown(_TEXT)]
    ex = pick_example(chains)
    if ex:
        parts += [Text(""), _example(*ex)]
    return Group(*parts)
