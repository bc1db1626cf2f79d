"""Port checks: does a service port land on the container port meant, named as it should be.

targetPorts (named, numeric, undeclared), protocols, container ports without a name, and
probes that use a port's number where it has a name.
"""

from __future__ import annotations

from collections.abc import Iterator

from kinspect.audit.check import AuditInput, Check, backend_pods, proxied
from kinspect.audit.finding import Finding, Severity
from kinspect.model.values import Pod, ProbePort
from kinspect.path.chain import Backend, PortChain, ServiceChain, declared_port, named_port


def named_port_unresolvable(check: Check, a: AuditInput) -> Iterator[Finding]:
    """A named targetPort missing in some (warning) or all (error) selected pods."""
    for c in proxied(a):
        for pc in c.ports:
            tp = pc.port.target_port
            if not isinstance(tp, str) or not c.selected:
                continue
            missing = _missing_named(a, c, pc)
            if not missing:
                continue
            mixed = len(missing) < len(c.selected)
            what = (
                f"named targetPort {tp!r}/{pc.port.protocol} missing in {len(missing)} of "
                f"{len(c.selected)} selected pods (a mixed rollout?): they get no endpoint"
                if mixed
                else f"no selected pod declares a container port named {tp!r}/{pc.port.protocol}"
            )
            # A mixed rollout is milder: some pods still serve.
            yield check.finding(c, what, pc, missing, Severity.WARNING if mixed else None)


def _missing_named(a: AuditInput, c: ServiceChain, pc: PortChain) -> list[str]:
    """The selected pods ("namespace/name") in which a named targetPort does not resolve."""
    tp = pc.port.target_port
    if not isinstance(tp, str):
        return []
    return [str(r) for r in c.selected if named_port(a.index.pods[r], tp, pc.port.protocol) is None]


def _undeclared(a: AuditInput, pc: PortChain) -> list[str]:
    """The backend pods where a numeric targetPort lands on a port no container declares."""
    if isinstance(pc.port.target_port, str):
        return []
    return backend_pods(
        pc,
        lambda b: b.pod_found and b.container_port is None and not _declares_other_protocol(a, b),
    )


def _probed(pod: Pod | None, port: int) -> bool:
    """A probe (httpGet, tcpSocket or gRPC) checks this port number: something listens there."""
    return pod is not None and any(pr.port == port for pr in pod.probes)


def target_port_undeclared(check: Check, a: AuditInput) -> Iterator[Finding]:
    """A numeric targetPort no container declares: may work, often a typo."""
    for c in proxied(a):
        for pc in c.ports:
            pods = _undeclared(a, pc)
            if not pods:
                continue
            tp = pc.port.target_port
            if all(
                _probed(a.index.pods.get(b.pod), b.port)
                for b in pc.backends
                if b.pod and str(b.pod) in pods
            ):
                # A probe on the port is evidence that something listens: only a style note.
                yield check.finding(
                    c,
                    f"targetPort {tp} is declared by no container, but a probe checks it: "
                    "declare it (with a name) so that the service can refer to it by name",
                    pc,
                    pods,
                    Severity.INFO,
                )
                continue
            yield check.finding(
                c,
                f"targetPort {tp} is declared by no container: traffic "
                "still reaches whatever listens there, but check it is the right port",
                pc,
                pods,
            )


def _declares_other_protocol(a: AuditInput, b: Backend) -> bool:
    """The backend's pod declares its port number only for another protocol."""
    pod = a.index.pods.get(b.pod) if b.pod else None
    return pod is not None and any(
        cp.port == b.port and cp.protocol != b.protocol for cp in pod.ports
    )


def protocol_mismatch(check: Check, a: AuditInput) -> Iterator[Finding]:
    """The service port's protocol differs from the container port it lands on."""
    for c in proxied(a):
        for pc in c.ports:
            pods = backend_pods(
                pc,
                lambda b: b.container_port is None and _declares_other_protocol(a, b),
            )
            if pods:
                yield check.finding(
                    c,
                    f"service port is {pc.port.protocol} but the container declares port "
                    f"{pc.backends[0].port} only for another protocol",
                    pc,
                    pods,
                )


def numeric_target_port(check: Check, a: AuditInput) -> Iterator[Finding]:
    """A numeric targetPort: a named one survives a container port change."""
    for c in proxied(a):
        if c.service.selector is None:
            continue
        for pc in c.ports:
            # Where the port is undeclared or unnamed, target-port-undeclared or
            # unnamed-container-port says so: there is no name to use yet.
            unnamed = any(
                b.pod_found and (b.container_port is None or b.container_port.name is None)
                for b in pc.backends
            )
            if isinstance(pc.port.target_port, int) and c.selected and not unnamed:
                yield check.finding(
                    c,
                    f"targetPort {pc.port.target_port} is a number: a named port follows the "
                    "container if its number changes",
                    pc,
                )


def pod_declares_no_ports(check: Check, a: AuditInput) -> Iterator[Finding]:
    """Selected pods declare no container ports."""
    for c in proxied(a):
        # Pods that a port's own finding already names are left to it: one finding per problem.
        covered = {p for pc in c.ports for p in (*_undeclared(a, pc), *_missing_named(a, c, pc))}
        pods = [str(r) for r in c.selected if not a.index.pods[r].ports and str(r) not in covered]
        if pods:
            yield check.finding(
                c,
                "selected pods declare no container ports (informational: traffic still "
                "reaches what listens, but named targetPorts cannot resolve)",
                None,
                pods,
            )


def unnamed_container_port(check: Check, a: AuditInput) -> Iterator[Finding]:
    """A container port that receives service traffic has no name."""
    for c in proxied(a):
        for pc in c.ports:
            pods = sorted(
                {
                    str(b.pod)
                    for b in pc.backends
                    if b.pod and b.container_port is not None and b.container_port.name is None
                }
            )
            if pods:
                yield check.finding(
                    c,
                    f"container port {pc.backends[0].port} has no name: a name lets services "
                    "and probes refer to it",
                    pc,
                    pods,
                )


def _probe_on_named_port(pod: Pod, probe: ProbePort) -> bool:
    # GRPCAction.port takes a number only: there is nothing to advise.
    if not isinstance(probe.port, int) or probe.action == "grpc":
        return False
    cp = declared_port(pod, probe.port, "TCP")
    return cp is not None and cp.name is not None


def probe_numeric_port(check: Check, a: AuditInput) -> Iterator[Finding]:
    """A probe uses a port number where the port has a name."""
    for c in proxied(a):
        pods = sorted(
            f"{r} ({pr.container} {pr.probe} probe: {pr.port})"
            for r in c.selected
            for pr in a.index.pods[r].probes
            if _probe_on_named_port(a.index.pods[r], pr)
        )
        if pods:
            yield check.finding(
                c,
                "probes use a port number where the container names that port",
                None,
                pods,
            )
