"""Why a selected pod gets no traffic, in words: one sentence per `chain.NotBackendReason`.

`map`'s table, tree and JSON, `explain`, the audit's findings and `diff` all print these, so
the wording lives once, here (beside the chain, so that `diff`, below render, words them too),
and the closed set stays in `chain`.
"""

from __future__ import annotations

from typing import assert_never

from kinspect.path.chain import NotBackend, Readiness


def probe(r: Readiness) -> str:
    """`httpGet :http (container app port 8080)`: a readiness probe and the port it checks."""
    if r.port is None:
        return f"{r.action or 'probe'} in container {r.container}"
    named = ""
    if r.container_port is not None:
        named = f" = {r.container_port.container}:{r.container_port.port}"
    elif isinstance(r.port, str):
        named = ", a name no container port declares"
    return f"{r.action or 'probe'} :{r.port} (container {r.container}{named})"


def why_not_ready(nb: NotBackend) -> str:
    """`: readiness probe …; Ready condition: …` — empty when nothing more is known."""
    parts = []
    if nb.readiness:
        parts.append("readiness probe " + ", ".join(probe(r) for r in nb.readiness))
    cond = ": ".join(x for x in (nb.ready_reason, nb.ready_message) if x)
    if cond:
        parts.append(f"Ready condition {cond}")
    return f" ({'; '.join(parts)})" if parts else ""


def not_backend(nb: NotBackend) -> str:
    """The reason `nb` gets no traffic, as `notBackends[].reason` documents it (docs/json.md)."""
    match nb.reason:
        case "terminating":
            return "terminating"
        case "not ready":
            return "not ready" + why_not_ready(nb)
        case "finished":
            return f"finished (phase {nb.phase})"
        case "unscheduled":
            said = ": ".join(x for x in (nb.scheduled_reason, nb.scheduled_message) if x)
            return f"pending: not scheduled ({said})" if said else "pending: not scheduled"
        case "containers not started":
            return "pending: containers not started"
        case "no pod IP":
            return "no pod IP yet"
        case "no named port":
            return f"no container port named {nb.named_port!r}/{nb.protocol}"
        case "not in slice yet":
            return "not in any EndpointSlice yet"
        case _:
            assert_never(nb.reason)
