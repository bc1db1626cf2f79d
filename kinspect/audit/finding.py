"""What a finding is: its severity, the service port it is about, and its identity across runs.

The values every report format, the ignore rules and the baselines read; no check logic.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from kinspect.model.values import ServicePort
from kinspect.path.chain import NotBackend
from kinspect.path.evidence import Evidence


class Severity(IntEnum):
    INFO = 0
    WARNING = 1
    ERROR = 2

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class PortKey:
    """The port a finding is about: a service port's name (if any), number and protocol."""

    name: str | None
    port: int
    protocol: str

    @classmethod
    def of(cls, sp: ServicePort) -> PortKey:
        return cls(sp.name or None, sp.port, sp.protocol)


@dataclass(frozen=True, slots=True)
class Identity:
    """A finding's identity across runs (baselines): not its message, which may carry counts."""

    context: str
    check: str
    namespace: str
    service: str
    port: PortKey | None


@dataclass(frozen=True, slots=True)
class Finding:
    check: str
    severity: Severity
    namespace: str
    service: str  # "" for findings about a node or pod rather than a service
    message: str
    port: PortKey | None = None
    pods: tuple[str, ...] = ()  # "namespace/name", each with its reason where there is one
    context: str = ""
    # Selected pods that get no traffic, listed after `pods`; render words their reasons.
    not_backends: tuple[NotBackend, ...] = ()
    # `audit --evidence`: the fields the finding rests on (audit/evidence.py); empty without it.
    evidence: tuple[Evidence, ...] = ()

    @property
    def identity(self) -> Identity:
        return Identity(self.context, self.check, self.namespace, self.service, self.port)
