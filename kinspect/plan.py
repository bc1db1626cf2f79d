"""Trace's read planning: which pods a trace needs, as server-side-selected LISTs. Pure.

A trace touches few pods: those carrying the address, the pods of the nodes it names
(hostNetwork pods share the node's IP; hostPorts open on it), and the pods of the services it
enters (their selectors, then any endpoint targetRef still missing). Reading those with
server-side selectors costs a fraction of listing every pod on a big cluster. The reader
(`kinspect.commands`) calls `first_pod_queries`, then `pods_needed` in rounds until it returns
[] (or None: only every pod can answer).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection

import msgspec

from kinspect import entry
from kinspect.chain import Index
from kinspect.model import PodRef, Snapshot
from kinspect.trace import Target, entry_services, identify


class PodQuery(msgspec.Struct, frozen=True):
    """One LIST of pods: a namespace (None: all) and server-side field/label selectors."""

    namespace: str | None = None
    field_selector: str | None = None
    label_selector: str | None = None


def _by_name(ref: PodRef) -> PodQuery:
    return PodQuery(ref.namespace, field_selector=f"metadata.name={ref.name}")


def first_pod_queries(target: Target, namespace: str | None) -> list[PodQuery]:
    """The pods a trace reads before it knows anything: those whose pod IP is the address."""
    try:
        ipaddress.ip_address(target.address)
    except ValueError:
        return []  # a DNS name is no pod's IP
    return [PodQuery(namespace, field_selector=f"status.podIP={target.address}")]


def pods_needed(
    snap: Snapshot, target: Target, namespace: str | None, done: Collection[PodQuery]
) -> list[PodQuery] | None:
    """The pod reads, beyond `done`, that `trace` needs for the same answer as on every pod.

    Returns [] when nothing is missing, and None when only every pod in `namespace` can
    answer: an IP that matches nothing may still be a pod's secondary IP, which no field
    selector reaches.
    """
    idx = Index.of(snap)
    addr = target.address
    # Endpoints that carry the address and name their pod: that pod holds it, maybe as a
    # secondary (dual-stack) IP, which the status.podIP query of first_pod_queries misses.
    want = [
        _by_name(e.pod)
        for g in snap.endpoint_groups
        for e in g.endpoints
        if e.address == addr and e.pod is not None and e.pod not in idx.pods
    ]
    matches = identify(idx, addr)
    if not matches:
        if not first_pod_queries(target, namespace):
            return []  # a DNS name that nothing carries: pods cannot carry it either
        fresh = [q for q in dict.fromkeys(want) if q not in done]
        return fresh or None
    want += [
        PodQuery(namespace, field_selector=f"spec.nodeName={m.node}")
        for m in matches
        if m.kind == "NodeIP" and m.node
    ]
    if target.port is not None:
        for svc in entry_services(idx, matches, target.port):
            by_selector = None
            if svc.selector:
                labels = ",".join(f"{k}={v}" for k, v in sorted(svc.selector.items()))
                by_selector = PodQuery(svc.namespace, label_selector=labels)
                want.append(by_selector)
            if by_selector is None or by_selector in done:
                # Once the selector's pods are read, fetch by name only the endpoints' pods
                # still missing (selectorless services, hand-written slices).
                want += [
                    _by_name(e.pod)
                    for g in idx.groups.get((svc.namespace, svc.name), ())
                    for e in g.endpoints
                    if e.pod is not None and e.pod not in idx.pods
                ]
    return list(dict.fromkeys(q for q in want if q not in done))


def entry_pods_needed(
    snap: Snapshot, req: entry.Request, done: Collection[PodQuery]
) -> list[PodQuery]:
    """The pod reads, beyond `done`, of a URL trace (`trace http://host/path`).

    The pods of the services its Ingresses can send the request to: their selectors, then any
    endpoint targetRef still missing.
    """
    idx = Index.of(snap)
    want: list[PodQuery] = []
    for svc in entry.entry_services(idx, req):
        by_selector = None
        if svc.selector:
            labels = ",".join(f"{k}={v}" for k, v in sorted(svc.selector.items()))
            by_selector = PodQuery(svc.namespace, label_selector=labels)
            want.append(by_selector)
        if by_selector is None or by_selector in done:
            want += [
                _by_name(e.pod)
                for g in idx.groups.get((svc.namespace, svc.name), ())
                for e in g.endpoints
                if e.pod is not None and e.pod not in idx.pods
            ]
    return list(dict.fromkeys(q for q in want if q not in done))
