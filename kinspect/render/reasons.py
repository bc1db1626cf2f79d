"""Why a selected pod gets no traffic, in words: one sentence per `chain.NotBackendReason`.

`map`'s table, tree and JSON, `explain` and the audit's findings all print these, so the
wording lives once, here, and the closed set stays in `chain`.
"""

from __future__ import annotations

from typing import assert_never

from kinspect.chain import NotBackend


def not_backend(nb: NotBackend) -> str:
    """The reason `nb` gets no traffic, as `notBackends[].reason` documents it (docs/json.md)."""
    match nb.reason:
        case "terminating":
            return "terminating"
        case "not ready":
            return "not ready"
        case "finished":
            return f"finished (phase {nb.phase})"
        case "unscheduled":
            return "pending: not scheduled"
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
