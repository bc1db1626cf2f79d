"""`trace --from --evidence`: the NetworkPolicies and rules behind each side of a verdict. Pure.

A side isolated by policies names each one's `spec.policyTypes` entry for the direction (what
makes it isolate), and each rule that allowed the traffic (`spec.ingress[i]`, printed whole by
the command: kinspect does not keep its text, so its value is "set"). Admin tiers and plugin
policies are named in the verdict's words already and get no evidence here.
"""

from __future__ import annotations

from typing import Literal

from kinspect.path.evidence import Evidence, Evidencer, literal
from kinspect.policy.netpol import Side


def side(ev: Evidencer, direction: Literal["egress", "ingress"], s: Side) -> list[Evidence]:
    """What shows one side's verdict: the isolating policies' types, the allowing rules."""
    kind = "Ingress" if direction == "ingress" else "Egress"
    out = []
    for name in s.isolating:
        ns, _, policy = name.partition("/")
        path = f"spec.policyTypes[?(@=={literal(kind)})]"
        out.append(ev.piece("NetworkPolicy", ns, policy, path, kind))
    for r in s.allowed_by:
        path = f"spec.{r.direction}[{r.index}]"
        out.append(ev.piece("NetworkPolicy", r.namespace, r.policy, path, None))
    return out
