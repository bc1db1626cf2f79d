"""What every audit format shares: the render context, a finding's port and pods in words.

And the grouping by severity and place that the text, Markdown and HTML reports follow.

Format modules import this module and nothing of each other (an import-linter contract).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from kinspect.audit.checks import CHECKS
from kinspect.audit.finding import Finding, PortKey, Severity
from kinspect.audit.report import AuditResult
from kinspect.path import reasons


@dataclass(frozen=True, slots=True)
class Chart:
    """A service's chain as pictures: Mermaid text, and Graphviz's SVG when dot was there."""

    mermaid: str
    svg: str | None = None


# (context, namespace, service) of a finding.
ServiceKey = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class RenderContext:
    """What a report needs beside the result: when the audit ran, and what fails (JUnit).

    `charts`: the chain of each service with an error, drawn beside it by the HTML (SVG) and
    Markdown (Mermaid) reports; empty when nobody drew them.
    """

    generated_at: datetime.datetime
    threshold: Severity  # JUnit: findings at least this severe are failures
    charts: Mapping[ServiceKey, Chart] = field(default_factory=dict)
    # --evidence: each finding's JSON carries `evidence` (its pieces, maybe none).
    evidence: bool = False

    @property
    def stamp(self) -> str:
        """The time of the run as reports print it: ISO 8601 to the second."""
        return self.generated_at.isoformat(timespec="seconds")


def port_text(p: PortKey | None) -> str | None:
    """A finding's port as reports print it: "http 80/TCP", or "80/TCP" when it has no name."""
    return None if p is None else f"{p.name + ' ' if p.name else ''}{p.port}/{p.protocol}"


def pods(f: Finding) -> list[str]:
    """The pods a finding names, each with its reason where there is one."""
    return [*f.pods, *(f"{nb.pod} ({reasons.not_backend(nb)})" for nb in f.not_backends)]


def where(f: Finding) -> str:
    """The service and port a finding is about ("(no service)" for a node's pods)."""
    return " ".join(x for x in (f.service or "(no service)", port_text(f.port) or "") if x)


# Checks whose findings read better as one line (Check.rollup): see rollups.
_ROLLED_UP = {c.id: c.rollup for c in CHECKS if c.rollup}


def grouped(r: AuditResult) -> dict[Severity, dict[str, list[Finding]]]:
    """Findings by severity, then by place: the namespace, after the context when several."""
    out: dict[Severity, dict[str, list[Finding]]] = {}
    for f in r.findings:
        if f.check in _ROLLED_UP:
            continue  # one line for all of them: see rollups
        place = f"{f.context} · {f.namespace}" if len(r.contexts) > 1 else f.namespace
        out.setdefault(f.severity, defaultdict(list))[place].append(f)
    return out


def rollups(r: AuditResult) -> list[str]:
    """One line per rolled-up check (`Check.rollup`), in place of its findings.

    A single replica is a choice as often as an oversight: 33 findings on healthy installs read
    as noise, one line naming the services reads as a list to review. JSON keeps each finding.
    """
    lines = []
    for check, what in sorted(_ROLLED_UP.items()):
        found = [f for f in r.findings if f.check == check]
        if not found:
            continue
        names = sorted(
            f"{f.context} · {f.namespace}/{f.service}"
            if len(r.contexts) > 1
            else f"{f.namespace}/{f.service}"
            for f in found
        )
        lines.append(f"{len(names)} {what} [{check}]: " + ", ".join(names))
    return lines
