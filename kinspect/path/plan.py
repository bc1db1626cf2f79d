"""Trace's read planning: which pods a trace needs, as server-side-selected LISTs. Pure.

A trace touches few pods: those carrying the address, the pods of the nodes it names
(hostNetwork pods share the node's IP; hostPorts open on it), and the pods of the services it
enters (their selectors, then any endpoint targetRef still missing). Reading those with
server-side selectors costs a fraction of listing every pod on a big cluster. The reader
(`kinspect.commands`) calls `first_pod_queries`, then `pods_needed` in rounds until it returns
[] (or None: only every pod can answer). A URL's reads are planned above, in `edge.plan`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection, Mapping
from typing import TypeGuard

import msgspec

from kinspect.model.snapshot import Snapshot
from kinspect.model.values import PodRef, Service
from kinspect.path.chain import Index
from kinspect.path.trace import Target, echo, entry_services, identify


class PodQuery(msgspec.Struct, frozen=True):
    """One LIST of pods: a namespace (None: all) and server-side field/label selectors."""

    namespace: str | None = None
    field_selector: str | None = None
    label_selector: str | None = None


def escape_field_value(value: str) -> str:
    r"""`value` as a field selector value, as apimachinery's `fields.EscapeValue` writes it.

    `\` first, then `,` and `=` (k8s.io/apimachinery pkg/fields/selector.go, `valueEscaper`):
    the API server does not validate an EndpointSlice's targetRef.name, so a `=` in one would
    otherwise end the value and turn the LIST into an HTTP 400.
    """
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


# Namespaces are DNS-1123 labels and pod names DNS-1123 subdomains, as the API server validates
# them (k8s.io/apimachinery pkg/util/validation: IsDNS1123Label, IsDNS1123Subdomain).
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(
    r"(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
)


# Service names are DNS-1035 labels (k8s.io/apimachinery pkg/util/validation: IsDNS1035Label).
_DNS_1035 = re.compile(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?")


def is_service_name(name: str) -> bool:
    """Whether a Service could have this name (a backendRef's is cluster text)."""
    return _DNS_1035.fullmatch(name) is not None


def is_namespace_name(name: str) -> bool:
    """Whether `name` can be a namespace's: only such a name may become part of a request path."""
    return _DNS_LABEL.fullmatch(name) is not None


def impossible_pod(ref: PodRef) -> str | None:
    """Why no pod can be `ref` (a targetRef the API server took without validating it), or None.

    Such a ref is never read: its namespace would become part of a LIST's path (`odd/ns` turns
    it into an HTTP 404, `..` into every namespace's pods), and no pod answers it anyway.
    """
    if not is_namespace_name(ref.namespace):
        return f"its namespace {echo(ref.namespace, 60)} is not a namespace name"
    if _DNS_SUBDOMAIN.fullmatch(ref.name) is None:
        return f"its name {echo(ref.name, 60)} is not a pod name"
    return None


def _by_name(ref: PodRef) -> PodQuery:
    return PodQuery(ref.namespace, field_selector=f"metadata.name={escape_field_value(ref.name)}")


# Label keys ([prefix/]name) and values as the API server validates them. Label selectors have
# no escapes, so only selectors inside this grammar are sent (a service read from a cluster
# always is; a hand-edited snapshot need not be).
_LABEL_NAME = r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)"
_LABEL_KEY = re.compile(rf"([a-z0-9]([-a-z0-9.]{{0,251}}[a-z0-9])?/)?{_LABEL_NAME}")
_LABEL_VALUE = re.compile(rf"{_LABEL_NAME}?")


def _label_selector(selector: Mapping[str, str]) -> str | None:
    """`selector` as an equality-based label selector, or None when it cannot be written."""
    if not all(_LABEL_KEY.fullmatch(k) and _LABEL_VALUE.fullmatch(v) for k, v in selector.items()):
        return None
    return ",".join(f"{k}={v}" for k, v in sorted(selector.items()))


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
        if e.address == addr and _readable_missing(e.pod, idx)
    ]
    matches = identify(idx, addr)
    if not matches:
        if not first_pod_queries(target, namespace):
            return []  # a DNS name that nothing carries: pods cannot carry it either
        fresh = [q for q in dict.fromkeys(want) if q not in done]
        return fresh or None
    want += [
        PodQuery(namespace, field_selector=f"spec.nodeName={escape_field_value(m.node)}")
        for m in matches
        if m.kind == "NodeIP" and m.node
    ]
    if target.port is not None:
        for svc in entry_services(idx, matches, target.port):
            want += service_pods(idx, svc, done)
    return list(dict.fromkeys(q for q in want if q not in done))


def service_pods(idx: Index, svc: Service, done: Collection[PodQuery]) -> list[PodQuery]:
    """The reads that give a service's pods: its selector, then its endpoints' missing pods."""
    want: list[PodQuery] = []
    by_selector = None
    labels = _label_selector(svc.selector) if svc.selector else None
    if labels is not None:
        by_selector = PodQuery(svc.namespace, label_selector=labels)
        want.append(by_selector)
    if by_selector is None or by_selector in done:
        # Once the selector's pods are read, fetch by name only the endpoints' pods still
        # missing (selectorless services, hand-written slices).
        want += [
            _by_name(e.pod)
            for g in idx.groups.get((svc.namespace, svc.name), ())
            for e in g.endpoints
            if _readable_missing(e.pod, idx)
        ]
    return want


def _readable_missing(ref: PodRef | None, idx: Index) -> TypeGuard[PodRef]:
    """An endpoint's pod not read yet that a pod could be (see `impossible_pod`)."""
    return ref is not None and ref not in idx.pods and impossible_pod(ref) is None
