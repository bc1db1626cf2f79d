"""One watch event as a domain value: which object changed, and what it now is.

The wire decodes WATCH events into `Change`s (`wire.watch.watch`); the live state
(`live.state`) applies them. Kept here, below both, so neither imports the other for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from kinspect.model.values import Value

# The Snapshot fields kept up to date by watching their kind.
Field = Literal["services", "pods", "endpoint_groups", "nodes"]
WATCHED: tuple[Field, ...] = ("services", "pods", "endpoint_groups", "nodes")
EventType = Literal["ADDED", "MODIFIED", "DELETED"]
# An object's namespace ("" when cluster-scoped) and name, as the API server keys it.
Key = tuple[str, str]


@dataclass(frozen=True)
class Change:
    """One watch event, converted: which object, and what it now is (nothing when deleted).

    `values`: what the object converts to, as the LIST's converter says (a Service, a Pod, a
    Node; an EndpointSlice's one group; a legacy Endpoints' group per subset), or nothing when
    the object is deleted or converts to nothing (a slice without a service).
    """

    field: Field
    type: EventType
    key: Key
    values: tuple[Value, ...] = ()
    resource_version: str = ""
