"""A URL trace's read plan: which pods `trace http://host/path` needs. Pure.

The request is resolved on a snapshot without pods (the rule and route chosen depend on hosts,
paths and attachment, never on pods); then only the answering services' pods are read, as
`path.plan` reads a service's: selectors first, then any endpoint targetRef still missing.
"""

from __future__ import annotations

from collections.abc import Collection

from kinspect.edge import entry
from kinspect.model.snapshot import Snapshot
from kinspect.path.chain import Index
from kinspect.path.plan import PodQuery, pods_needed, service_pods
from kinspect.path.trace import Target, identify


def entry_pods_needed(
    snap: Snapshot,
    req: entry.Request,
    done: Collection[PodQuery],
    controllers: bool = False,
    namespace: str | None = None,
) -> list[PodQuery]:
    """The pod reads, beyond `done`, of a URL trace (`trace http://host/path`).

    The pods of the services that answer it (`entry.answer_services`: the Ingress rules and
    routes chosen, resolved without pods): their selectors, then any endpoint targetRef still
    missing. With `controllers` (`--from`), also the pods of the
    Services at the answering entry's address (`entry.controller_services`). And the pods the
    first hop needs (`path.plan.pods_needed` of each published address at the port, for an
    address kinspect knows: a node's pods for its hostPorts, the entered services' pods).
    """
    idx = Index.of(snap)
    res = entry.resolve(idx, req)
    services = entry.answer_services(res)
    if controllers:
        services += entry.controller_services(idx, res)
    want = [q for svc in services for q in service_pods(idx, svc, done)]
    if res.first_hop is not None:
        for r in res.first_hop.receivers:
            if not identify(idx, r.address):
                continue  # an address nothing holds: no pod read can tell more
            more = pods_needed(snap, Target(r.address, r.port, "TCP"), namespace, done)
            want += more or []
    return list(dict.fromkeys(q for q in want if q not in done))
