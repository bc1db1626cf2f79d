"""What every check is and receives: `Check`, `AuditInput`, and the helpers several domains use.

Each check is a small function `(check, input)` yielding `Finding`s built by `check.finding`;
the registry (`checks.CHECKS`) writes its id and usual severity once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from kinspect.audit.finding import Finding, PortKey, Severity
from kinspect.model.snapshot import Snapshot
from kinspect.path.chain import Backend, Index, NotBackend, PortChain, ServiceChain
from kinspect.policy.netpol import PolicyIndex


@dataclass
class AuditInput:
    snapshot: Snapshot
    index: Index
    chains: list[ServiceChain]

    @cached_property
    def proxied(self) -> list[ServiceChain]:
        """Services whose traffic goes to endpoints (everything but ExternalName), listed once."""
        return [c for c in self.chains if c.service.type != "ExternalName"]

    @cached_property
    def policies(self) -> PolicyIndex | None:
        """The NetworkPolicies, indexed once; None when unread (unknown: checks stay quiet)."""
        s = self.snapshot
        if s.network_policy_state != "read" or not s.network_policies:
            return None
        return PolicyIndex(s, self.index.by_labels)


@dataclass(frozen=True)
class Check:
    id: str  # stable kebab-case: never renamed (ignore files and baselines refer to it)
    severity: Severity  # the usual severity; a check may lower it for a milder case
    run: Callable[[Check, AuditInput], Iterable[Finding]] = field(compare=False)
    popeye: tuple[str, ...] = ()  # Popeye codes this check covers
    # Set: the text, Markdown and HTML reports fold this check's findings into one line,
    # "N <rollup>: the services"; JSON and the other formats keep every finding.
    rollup: str = ""

    @property
    def doc(self) -> str:
        """What it catches and why it matters: the check function's docstring."""
        return (self.run.__doc__ or "").strip()

    def finding(
        self,
        chain: ServiceChain,
        message: str,
        port_chain: PortChain | None = None,
        pods: Sequence[str] = (),
        severity: Severity | None = None,
        not_backends: Sequence[NotBackend] = (),
    ) -> Finding:
        """A finding of this check on a service (and one of its ports)."""
        return Finding(
            self.id,
            self.severity if severity is None else severity,
            chain.service.namespace,
            chain.service.name,
            message,
            PortKey.of(port_chain.port) if port_chain else None,
            tuple(pods),
            not_backends=tuple(not_backends),
        )

    def finding_at(
        self,
        namespace: str,
        service: str,
        message: str,
        port: PortKey | None = None,
        pods: Sequence[str] = (),
    ) -> Finding:
        """A finding of this check on a place named by hand (a node's pods, a port's owner)."""
        return Finding(self.id, self.severity, namespace, service, message, port, tuple(pods))


def proxied(a: AuditInput) -> list[ServiceChain]:
    """Services whose traffic goes to endpoints (everything but ExternalName)."""
    return a.proxied


def backend_pods(pc: PortChain, keep: Callable[[Backend], bool]) -> list[str]:
    """The pods ("namespace/name") behind the backends of `pc` that `keep` selects."""
    return sorted({str(b.pod) for b in pc.backends if b.pod and keep(b)})
