"""Evidence (`--evidence`): the object and field that show a hop or finding, and how to check it.

Pure: an `Index` in, `Evidence` out. Each piece names the object (kind, namespace, name), a
kubectl JSONPath to the field, the value kinspect read there, and the read-only `kubectl get`
command that prints that value, so a user can check the claim and paste it into a ticket.

Paths select list items by filter expressions (`ports[?(@.name=="http")]`), not by index:
the domain values keep no source indexes (no memory per object at 100k pods), and a filter
stays right across snapshot versions. Only lists whose order the values keep (a Service's
clusterIPs, externalIPs and ports) are indexed. Everything in a command that came from a
cluster is untrusted: filter values are written with Go escapes for every character outside a
small safe set (kubectl's JSONPath unquotes them), and every word is `shlex.quote`d; the
command is always `kubectl get`, and never of a Secret.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field

from kinspect.model.values import ContainerPort, EndpointGroup, Pod, PodRef, Service, ServicePort
from kinspect.path.chain import Backend, Frontend, Index, NotBackend
from kinspect.path.trace import Direct, Route

# kubectl's resource word for each kind evidence names (a closed set: never a Secret).
_RESOURCE = {
    "Service": "service",
    "EndpointSlice": "endpointslice",
    "Endpoints": "endpoints",
    "Pod": "pod",
    "Node": "node",
    "Ingress": "ingress",
    "NetworkPolicy": "networkpolicy",
    "Gateway": "gateway.gateway.networking.k8s.io",
    "HTTPRoute": "httproute.gateway.networking.k8s.io",
    "GRPCRoute": "grpcroute.gateway.networking.k8s.io",
}
_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-:/ ")


@dataclass(frozen=True, slots=True)
class Evidence:
    """One field of one object that shows a claim, and the kubectl command that prints it.

    `value` is what the command prints ("" when it prints nothing: the field is absent);
    None when kinspect did not keep the value, only that the field is set.
    """

    kind: str
    namespace: str | None  # None for cluster-scoped objects (Node)
    name: str
    path: str  # kubectl JSONPath, without the braces and the leading dot
    value: str | None
    command: str


def literal(text: str) -> str:
    r"""`text` as a double-quoted JSONPath filter string, every unsafe character escaped.

    kubectl's JSONPath scanner ends a string at a quote not preceded by a backslash and
    refuses a newline, so quotes, backslashes, braces and control characters are written as
    `\xHH` / `\uHHHH` / `\UHHHHHHHH` escapes, which it unquotes (strconv.UnquoteChar).
    """
    out = []
    for ch in text:
        if ch in _SAFE:
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


def command(context: str, kind: str, namespace: str | None, name: str, path: str) -> str:
    """The read-only `kubectl get` that prints `path` of one object, safe to paste in a shell.

    `KIND/NAME` as one word, so a name can never be read as a flag; `--context` when the
    snapshot names one.
    """
    words = ["kubectl"]
    if context:
        words.append(f"--context={context}")
    if namespace is not None:
        words.append(f"--namespace={namespace}")
    words += ["get", f"{_RESOURCE[kind]}/{name}", f"-o=jsonpath={{.{path}}}"]
    return " ".join(shlex.quote(w) for w in words)


def _text(value: object) -> str:
    """A value as kubectl's JSONPath prints it: booleans in lower case, maps as compact JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return str(value)


@dataclass(frozen=True, slots=True)
class Evidencer:
    """Builds the evidence of hops and findings over one snapshot.

    `context`: the snapshot's kubeconfig context, named in every command.
    """

    index: Index
    context: str
    services: dict[str, Service]
    # Per service, the first group listing each (address, port, protocol): built on first use,
    # so a service of 1000 endpoints costs one pass, not one per endpoint.
    _groups: dict[tuple[str, str], dict[tuple[str, int, str], EndpointGroup]] = field(
        default_factory=dict
    )

    def _slices(self, svc: Service) -> dict[tuple[str, int, str], EndpointGroup]:
        key = (svc.namespace, svc.name)
        found = self._groups.get(key)
        if found is None:
            found = {}
            for g in self.index.groups.get(key, ()):
                for p in g.ports:
                    for e in g.endpoints:
                        found.setdefault((e.address, p.port, p.protocol), g)
            self._groups[key] = found
        return found

    @classmethod
    def over(cls, index: Index) -> Evidencer:
        """Evidence over an index, its commands naming the snapshot's context."""
        services = {f"{s.namespace}/{s.name}": s for s in index.snapshot.services}
        return cls(index, index.snapshot.context, services)

    def piece(
        self, kind: str, namespace: str | None, name: str, path: str, value: object
    ) -> Evidence:
        """One piece of evidence: `value` None when only the field's presence is known."""
        shown = None if value is None else _text(value)
        return Evidence(
            kind, namespace, name, path, shown, command(self.context, kind, namespace, name, path)
        )

    # -- Services --------------------------------------------------------------------------

    def service_port_path(self, svc: Service, sp: ServicePort) -> str:
        """`spec.ports[?(@.name=="http")]`, or by position for an unnamed (single) port."""
        if sp.name:
            return f"spec.ports[?(@.name=={literal(sp.name)})]"
        i = svc.ports.index(sp) if sp in svc.ports else 0
        return f"spec.ports[{i}]"

    def service(self, svc: Service) -> Evidence:
        """The Service itself: what a finding rests on when nothing narrower shows it."""
        return self.piece("Service", svc.namespace, svc.name, "metadata.name", svc.name)

    def target_port(self, svc: Service, sp: ServicePort) -> Evidence:
        path = f"{self.service_port_path(svc, sp)}.targetPort"
        tp = sp.port if sp.target_port is None else sp.target_port
        return self.piece("Service", svc.namespace, svc.name, path, tp)

    def selector(self, svc: Service) -> list[Evidence]:
        """spec.selector (kubectl prints it as compact JSON, keys sorted)."""
        sel = dict(svc.selector or {})
        return [self.piece("Service", svc.namespace, svc.name, "spec.selector", sel)]

    def frontend(self, svc: Service, sp: ServicePort, f: Frontend) -> list[Evidence]:
        """Where a frontend's address and port are written."""
        ns, name, port = svc.namespace, svc.name, self.service_port_path(svc, sp)
        if f.kind == "ClusterIP":
            i = svc.cluster_ips.index(f.address) if f.address in svc.cluster_ips else 0
            return [
                self.piece("Service", ns, name, f"spec.clusterIPs[{i}]", f.address),
                self.piece("Service", ns, name, f"{port}.port", sp.port),
            ]
        if f.kind == "ExternalIP":
            i = svc.external_ips.index(f.address) if f.address in svc.external_ips else 0
            return [
                self.piece("Service", ns, name, f"spec.externalIPs[{i}]", f.address),
                self.piece("Service", ns, name, f"{port}.port", sp.port),
            ]
        if f.kind == "LoadBalancer":
            lb = next((i for i in svc.load_balancer_ingress if i.address == f.address), None)
            field = "hostname" if lb is not None and lb.ip is None else "ip"
            path = f"status.loadBalancer.ingress[?(@.{field}=={literal(f.address)})].{field}"
            return [
                self.piece("Service", ns, name, path, f.address),
                self.piece("Service", ns, name, f"{port}.port", sp.port),
            ]
        out = [self.piece("Service", ns, name, f"{port}.nodePort", f.port)]
        node = self.index.nodes.get(f.node or "")
        kind = (
            next((a.type for a in node.addresses if a.address == f.address), None) if node else None
        )
        if node is not None and kind is not None:
            path = f"status.addresses[?(@.address=={literal(f.address)})].type"
            out.append(self.piece("Node", None, node.name, path, kind))
        return out

    # -- Endpoints -------------------------------------------------------------------------

    def endpoint(self, svc: Service, b: Backend) -> list[Evidence]:
        """The endpoint's readiness, pod and node in the EndpointSlice (or Endpoints) listing it."""
        g = self._slices(svc).get((b.address, b.port, b.protocol))
        if g is None:
            return []
        if self.index.snapshot.endpoint_source == "Endpoints":
            # Legacy Endpoints: the group is subset i of the object named after the service.
            sub = g.name.rpartition("[")[2].rstrip("]")
            where = "addresses" if b.ready else "notReadyAddresses"
            path = f"subsets[{sub}].{where}[?(@.ip=={literal(b.address)})].ip"
            return [self.piece("Endpoints", g.namespace, g.service, path, b.address)]
        at = f"endpoints[?(@.addresses[0]=={literal(b.address)})]"
        out = [self.piece("EndpointSlice", g.namespace, g.name, f"{at}.conditions.ready", b.ready)]
        if b.pod is not None:
            out.append(
                self.piece("EndpointSlice", g.namespace, g.name, f"{at}.targetRef.name", b.pod.name)
            )
        if b.node:
            out.append(self.piece("EndpointSlice", g.namespace, g.name, f"{at}.nodeName", b.node))
        return out

    # -- Pods ------------------------------------------------------------------------------

    def container_port(self, pod: PodRef, cp: ContainerPort) -> Evidence:
        """The container port a hop lands on, in the pod's spec."""
        containers = "initContainers" if cp.sidecar else "containers"
        at = f"spec.{containers}[?(@.name=={literal(cp.container)})]"
        value: object
        if cp.name:
            path, value = f"{at}.ports[?(@.name=={literal(cp.name)})].containerPort", cp.port
        else:
            path, value = f"{at}.ports[?(@.containerPort=={cp.port})].protocol", cp.protocol
        return self.piece("Pod", pod.namespace, pod.name, path, value)

    def declared_ports(self, pod: Pod) -> Evidence:
        """Every containerPort the pod's containers declare (sidecars apart), in order."""
        ports = " ".join(str(cp.port) for cp in pod.ports if not cp.sidecar)
        return self.piece(
            "Pod", pod.namespace, pod.name, "spec.containers[*].ports[*].containerPort", ports
        )

    def named_port_missing(self, pod: PodRef, name: str) -> Evidence:
        """No container of the pod declares a port of this name: the command prints nothing."""
        path = f"spec.containers[*].ports[?(@.name=={literal(name)})].containerPort"
        return self.piece("Pod", pod.namespace, pod.name, path, "")

    def condition(self, pod: PodRef, type_: str, status: str) -> Evidence:
        path = f"status.conditions[?(@.type=={literal(type_)})].status"
        return self.piece("Pod", pod.namespace, pod.name, path, status)

    def backend(self, svc: Service, b: Backend) -> list[Evidence]:
        """An endpoint and the container port it lands on."""
        out = self.endpoint(svc, b)
        if b.pod is None or not b.pod_found:
            return out
        if b.container_port is not None:
            out.append(self.container_port(b.pod, b.container_port))
        elif (pod := self.index.pods.get(b.pod)) is not None:
            out.append(self.declared_ports(pod))  # no container declares the port
        return out

    def not_backend(self, svc: Service, sp: ServicePort, nb: NotBackend) -> list[Evidence]:
        """What shows why a selected pod gets no endpoint on a port."""
        ref = nb.pod
        pod = self.index.pods.get(ref)
        if nb.reason == "no named port" and nb.named_port:
            return [self.target_port(svc, sp), self.named_port_missing(ref, nb.named_port)]
        if nb.reason == "unscheduled":
            return [self.condition(ref, "PodScheduled", "False")]
        if nb.reason == "finished":
            return [self.piece("Pod", ref.namespace, ref.name, "status.phase", nb.phase or "")]
        if nb.reason == "terminating":
            return [self.piece("Pod", ref.namespace, ref.name, "metadata.deletionTimestamp", None)]
        if nb.reason == "no pod IP":
            return [self.piece("Pod", ref.namespace, ref.name, "status.podIP", "")]
        ready = "True" if pod is not None and pod.ready else "False"
        out = [self.condition(ref, "Ready", ready)]
        if nb.reason == "not ready" and nb.ready_reason:
            path = 'status.conditions[?(@.type=="Ready")].reason'
            out.append(self.piece("Pod", ref.namespace, ref.name, path, nb.ready_reason))
        return out

    # -- trace hops ------------------------------------------------------------------------

    def route(self, rt: Route) -> list[Evidence]:
        """A route's frontend and the targetPort it is forwarded to."""
        svc = self.services.get(rt.service)
        if svc is None:
            return []
        return [*self.frontend(svc, rt.port, rt.entry), self.target_port(svc, rt.port)]

    def route_backend(self, rt: Route, b: Backend) -> list[Evidence]:
        svc = self.services.get(rt.service)
        return [] if svc is None else self.backend(svc, b)

    def direct(self, d: Direct) -> list[Evidence]:
        """A pod's container port (or hostPort), or a service's podless endpoint."""
        if d.via == "Endpoint" and d.endpoint is not None:
            svc = self.services.get(d.service or "")
            return [] if svc is None else self.endpoint(svc, d.endpoint)
        if d.pod is None:
            return []
        pod = self.index.pods.get(d.pod)
        cp = d.container_port
        if cp is None:
            return [self.declared_ports(pod)] if pod is not None else []
        out = [self.container_port(d.pod, cp)]
        if cp.host_port and "HostPort" in (d.vias or (d.via,)):
            containers = "initContainers" if cp.sidecar else "containers"
            at = f"spec.{containers}[?(@.name=={literal(cp.container)})]"
            path = f"{at}.ports[?(@.containerPort=={cp.port})].hostPort"
            out.append(self.piece("Pod", d.pod.namespace, d.pod.name, path, cp.host_port))
        return out
