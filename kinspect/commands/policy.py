"""`kinspect policy`: who may reach a pod or a service port by NetworkPolicy, or a pod matrix."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rich.console import RenderableType

from kinspect.commands.session import Session, Target, Where, emit, read, warnings
from kinspect.model.errors import ExitCode, UsageError
from kinspect.policy import access
from kinspect.policy import netpol as policy
from kinspect.render import report


@dataclass(frozen=True)
class PolicyOptions:
    """`kinspect policy`: a pod or service port (`target`), or `--matrix` with `--port`."""

    target: str | None = None
    matrix: bool = False
    port: int | None = None


POLICY_HINT = "kinspect policy NAMESPACE/POD, NAMESPACE/SERVICE[:PORT], or --matrix -n NAMESPACE"


def policy_(s: Session, t: Target, w: Where, fmt: str, o: PolicyOptions) -> ExitCode:
    """Who may reach a pod or a service port by NetworkPolicy, or a namespace's pod matrix."""
    if o.matrix == (o.target is not None):
        raise UsageError("give either a target or --matrix", POLICY_HINT)
    if o.port is not None and not (o.matrix and 1 <= o.port <= 65535):
        raise UsageError("--port takes a port from 1 to 65535, with --matrix", POLICY_HINT)
    from kinspect.render import policy as policy_render

    if o.matrix:
        snap, ns = read(s, t, w)
        pods = [
            p
            for p in snap.pods
            if p.namespace == ns and p.pod_ips and p.phase not in ("Succeeded", "Failed")
        ]
        cells = access.matrix(policy.PolicyIndex(snap), pods, o.port)
        body = policy_render.matrix_json(ns, cells, o.port)
        kind = "PolicyMatrix"
        text: Callable[[], RenderableType] = lambda: policy_render.matrix_text(  # noqa: E731
            ns, cells, o.port
        )
    else:
        q = access.parse_query(o.target or "")
        snap, _ = read(s, t, Where(q.namespace, False, w.snapshot))
        found = access.who_may_reach(snap, policy.PolicyIndex(snap), q)
        body = {"target": o.target, **policy_render.access_json(found)}
        kind = "PolicyAccess"
        text = lambda: policy_render.access_text(found)  # noqa: E731
    warnings(s, snap)
    doc: dict[str, object] = {"apiVersion": report.API_VERSION, "kind": kind}
    doc |= {"context": snap.context, "warnings": list(snap.warnings), **body}
    emit(s, fmt, doc, text)
    return ExitCode.OK
