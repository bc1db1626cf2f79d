"""`Snapshot`: everything read from one cluster (or one namespace of it) at one time.

Read with -n, a snapshot also holds what an answer in that namespace depends on in others
(issue 22): the Service a route's backendRef names in another namespace, that Service's
EndpointSlices and pods, the ReferenceGrants there, a parent Gateway there, the labels and
NetworkPolicies of other namespaces whose pods it holds. `needs_outside` says what those are;
the reader reads them narrowly and records each read (`OutsideRead`), and `unknown` tells an
answer whether it may rely on what it sees or must say "unknown, because ...".
"""

from __future__ import annotations

from typing import Literal

import msgspec

from kinspect.model.edge import Gateway, GatewayClass, Ingress, IngressClass, ReferenceGrant, Route
from kinspect.model.policy import (
    AdminNetworkPolicy,
    AdminState,
    NetworkPolicy,
    PluginKindRead,
    PluginPolicy,
    PluginState,
    PolicyState,
)
from kinspect.model.values import (
    EndpointGroup,
    EndpointSource,
    Namespace,
    Node,
    Pod,
    ReadState,
    Service,
    ServiceConsumer,
    Value,
)

GATEWAY_GROUP = "gateway.networking.k8s.io"

# What is read outside the -n namespace, as the API's plural names it.
OutsideKind = Literal[
    "services", "endpointslices", "pods", "referencegrants", "gateways", "networkpolicies",
    "namespaces", "pluginpolicies",
]  # fmt: skip


class OutsideRead(Value, frozen=True):
    """One narrow read outside the snapshot's namespace, made because an answer needs it.

    `name` None: every object of the kind in `namespace` (for "namespaces": the namespace
    `namespace` itself, for its labels). `error`: why it could not be read (None: it was).
    """

    kind: OutsideKind
    namespace: str
    name: str | None = None
    error: str | None = None

    @property
    def key(self) -> tuple[str, str, str | None]:
        return (self.kind, self.namespace, self.name)


class Snapshot(Value, frozen=True):
    """Everything read from one cluster (or one namespace of it) at one time."""

    context: str
    nodes: tuple[Node, ...] = ()
    services: tuple[Service, ...] = ()
    endpoint_groups: tuple[EndpointGroup, ...] = ()
    pods: tuple[Pod, ...] = ()
    endpoint_source: EndpointSource = "EndpointSlice"
    # core/v1 Endpoints read beside the slices (audit only), to find the two disagreeing.
    legacy_endpoint_groups: tuple[EndpointGroup, ...] = ()
    warnings: tuple[str, ...] = ()  # what could not be read (e.g. nodes forbidden)
    # Last and defaulted: snapshot files written before it load, positional constructors work.
    namespaces: tuple[Namespace, ...] = ()
    # Cluster-scoped objects that call services (optional kinds: quietly empty when refused).
    api_services: tuple[ServiceConsumer, ...] = ()
    validating_webhooks: tuple[ServiceConsumer, ...] = ()
    mutating_webhooks: tuple[ServiceConsumer, ...] = ()
    # networking.k8s.io/v1 (optional kinds, issue 13).
    ingresses: tuple[Ingress, ...] = ()
    ingress_classes: tuple[IngressClass, ...] = ()
    network_policies: tuple[NetworkPolicy, ...] = ()
    network_policy_state: PolicyState = "not-read"
    # Whether IngressClasses were read: refused (cluster-scoped, so every namespace-scoped
    # reader) makes an Ingress's class unknown, not missing.
    ingress_class_state: ReadState = "not-read"
    # gateway.networking.k8s.io (optional kinds, issue 13): quietly empty when not served.
    gateway_classes: tuple[GatewayClass, ...] = ()
    gateways: tuple[Gateway, ...] = ()
    routes: tuple[Route, ...] = ()  # HTTPRoutes, then GRPC, TLS, TCP and UDP routes
    reference_grants: tuple[ReferenceGrant, ...] = ()
    # policy.networking.k8s.io (optional CRDs, issue 14): cluster-scoped, never narrowed.
    admin_network_policies: tuple[AdminNetworkPolicy, ...] = ()
    admin_network_policy_state: AdminState = "not-read"
    baseline_admin_network_policies: tuple[AdminNetworkPolicy, ...] = ()
    baseline_admin_network_policy_state: AdminState = "not-read"
    # Issue 22: the namespace read with -n (None: every namespace; snapshot files written
    # before it load as such), and the narrow reads made outside it (`needs_outside`).
    read_namespace: str | None = None
    outside: tuple[OutsideRead, ...] = ()
    # Issue 23: the network plugin's policy kinds (Cilium, Calico, Antrea) the cluster serves,
    # found through discovery, and their objects by name (not evaluated: verdicts where they
    # may apply are "unknown"). "not-read": a snapshot file from before kinspect looked.
    plugin_policy_state: PluginState = "not-read"
    plugin_policy_kinds: tuple[PluginKindRead, ...] = ()
    plugin_policies: tuple[PluginPolicy, ...] = ()

    @property
    def consumers(self) -> tuple[ServiceConsumer, ...]:
        """Every APIService and webhook that calls a service."""
        return self.api_services + self.validating_webhooks + self.mutating_webhooks

    def unknown(self, kind: OutsideKind, namespace: str, name: str | None = None) -> str | None:
        """Why the objects of `kind` in `namespace` (named `name`) are not known, or None.

        None: they were read (every namespace, the -n one, or a narrow read outside it), so
        what the snapshot lacks does not exist. Otherwise "unknown, because ...": an answer
        must not call them missing.
        """
        if self.read_namespace is None or namespace == self.read_namespace:
            return None
        # Several reads may cover it (a pod by selector, then by name): any that failed may
        # have held it.
        found = [
            o
            for o in self.outside
            if o.kind == kind and o.namespace == namespace and o.name in (None, name)
        ]
        for o in found:
            if o.error is not None:
                return f"unknown, because {o.error}"
        if found:
            return None
        return f"unknown, because namespace {namespace} was not read (-n {self.read_namespace})"

    def needs_outside(self) -> list[OutsideRead]:
        """The narrow reads outside the -n namespace that answers here depend on, not made yet.

        Gateway API references into other namespaces (a parentRef's Gateway; a backendRef's
        Service, its EndpointSlices and the ReferenceGrants there) and, for every other
        namespace whose pods or services the snapshot holds, its labels (namespaceSelectors)
        and NetworkPolicies (the verdict at those pods). Pods are the reader's business.
        """
        ns = self.read_namespace
        if ns is None:
            return []
        want: dict[tuple[str, str, str | None], OutsideRead] = {}

        def need(kind: OutsideKind, namespace: str, name: str | None = None) -> None:
            if namespace != ns:
                o = OutsideRead(kind, namespace, name)
                want.setdefault(o.key, o)

        for r in self.routes:
            for p in r.parent_refs:
                if p.group == GATEWAY_GROUP and p.kind == "Gateway":
                    need("gateways", p.namespace, p.name)
            for rule in r.rules:
                for b in rule.backend_refs:
                    if b.group == "" and b.kind == "Service" and b.namespace != r.namespace:
                        need("referencegrants", b.namespace)
                        need("services", b.namespace, b.name)
                        need("endpointslices", b.namespace, b.name)
        held = {p.namespace for p in self.pods} | {s.namespace for s in self.services}
        for other in sorted(held):
            need("namespaces", other)
            need("networkpolicies", other)
            if any(k.namespaced and k.error is None for k in self.plugin_policy_kinds):
                # The namespaced kinds of the network plugin served (issue 23): one read
                # of them all (`wire.cluster`), recorded as one.
                need("pluginpolicies", other)
        done = {o.key for o in self.outside}
        return [o for k, o in want.items() if k not in done]

    def narrow(self, namespace: str | None, service: str | None = None) -> Snapshot:
        """The snapshot as if read with -n NAMESPACE (None: all) and a service name (None: all).

        Nodes are cluster-scoped and kept; a service's endpoint groups follow it. With a
        namespace, what answers there depend on in other namespaces is kept too (as a live
        read with -n reads it narrowly), and recorded in `outside`.
        """
        if namespace is None and service is None:
            return self
        narrowed = self._narrowed(namespace, service)
        # What was read outside is taken again from this snapshot, as `whole`: the records of
        # reads whose objects the narrowing dropped must not say they were read (issue 22).
        return narrowed if narrowed.read_namespace is None else narrowed.kept_outside(self)

    def kept_outside(self, whole: Snapshot) -> Snapshot:
        """A narrowed snapshot with what its `needs_outside` asks for taken from `whole`.

        Rounds, as a live read makes them: a backend Service brings its namespace's labels.
        """
        snap = self
        for _ in range(OUTSIDE_ROUNDS):
            needs = snap.needs_outside()
            if not needs:
                break
            fields: dict[str, tuple[Value, ...]] = {}
            records: list[OutsideRead] = []
            for o in needs:
                why = whole.unknown(o.kind, o.namespace, o.name)
                if why is not None:
                    error = why.removeprefix("unknown, because ")
                    records.append(msgspec.structs.replace(o, error=error))
                    continue
                records.append(o)
                field, values = _taken(whole, o)
                fields[field] = (*fields.get(field, getattr(snap, field)), *values)
            snap = msgspec.structs.replace(snap, **fields, outside=(*snap.outside, *records))
            snap = snap._with_backend_pods(whole)
        return snap._pod_reads(whole)

    def _pod_reads(self, whole: Snapshot) -> Snapshot:
        """`outside` with a "pods" record for each namespace of an outside service.

        Its pods were taken from `whole` (`_with_backend_pods`): read there, or not (its error).
        """
        have = {o.key for o in self.outside}
        more: dict[tuple[str, str, str | None], OutsideRead] = {}
        for svc in self.services:
            ns = svc.namespace
            if ns != self.read_namespace and ("pods", ns, None) not in have:
                why = whole.unknown("pods", ns)
                error = None if why is None else why.removeprefix("unknown, because ")
                more.setdefault(("pods", ns, None), OutsideRead("pods", ns, error=error))
        return msgspec.structs.replace(self, outside=(*self.outside, *more.values()))

    def _with_backend_pods(self, whole: Snapshot) -> Snapshot:
        """The pods of `whole` that the outside services select or their endpoints name."""
        ns = self.read_namespace
        outside = [s for s in self.services if s.namespace != ns]
        if not outside:
            return self
        named = {
            e.pod for g in self.endpoint_groups if g.namespace != ns for e in g.endpoints if e.pod
        }
        have = {p.ref for p in self.pods}

        def wanted(p: Pod) -> bool:
            if p.ref in named:
                return True
            return any(
                s.namespace == p.namespace
                and s.selector
                and all(p.labels.get(k) == v for k, v in s.selector.items())
                for s in outside
            )

        more = tuple(p for p in whole.pods if p.ref not in have and wanted(p))
        return msgspec.structs.replace(self, pods=(*self.pods, *more)) if more else self

    def _narrowed(self, namespace: str | None, service: str | None) -> Snapshot:

        def keep(ns: str, name: str | None = None) -> bool:
            return (namespace is None or ns == namespace) and (
                service is None or name is None or name == service
            )

        warnings = self.warnings
        if namespace is not None and self.read_namespace not in (None, namespace):
            warnings = (
                *warnings,
                f"the snapshot file was read with -n {self.read_namespace}: namespace "
                f"{namespace} was not read, so what it lacks there may exist",
            )
        return msgspec.structs.replace(
            self,
            warnings=warnings,
            # A read that failed claims nothing and stays; one that was made is made again
            # from the whole snapshot (`kept_outside`), so it never outlives its objects.
            outside=tuple(o for o in self.outside if o.error is not None),
            services=tuple(s for s in self.services if keep(s.namespace, s.name)),
            endpoint_groups=tuple(g for g in self.endpoint_groups if keep(g.namespace, g.service)),
            legacy_endpoint_groups=tuple(
                g for g in self.legacy_endpoint_groups if keep(g.namespace, g.service)
            ),
            pods=tuple(p for p in self.pods if keep(p.namespace)),
            namespaces=tuple(n for n in self.namespaces if keep(n.name)),
            network_policies=tuple(p for p in self.network_policies if keep(p.namespace)),
            # Cluster-wide plugin policies ("" namespace) may select pods of any namespace.
            plugin_policies=tuple(
                p for p in self.plugin_policies if not p.namespace or keep(p.namespace)
            ),
            ingresses=tuple(i for i in self.ingresses if keep(i.namespace)),
            gateways=tuple(g for g in self.gateways if keep(g.namespace)),
            routes=tuple(r for r in self.routes if keep(r.namespace)),
            reference_grants=tuple(g for g in self.reference_grants if keep(g.namespace)),
            read_namespace=namespace if namespace is not None else self.read_namespace,
        )


# A backend Service brings its pods' namespace: its labels and policies are a second round.
OUTSIDE_ROUNDS = 3


def _taken(whole: Snapshot, o: OutsideRead) -> tuple[str, tuple[Value, ...]]:
    """The Snapshot field one outside read fills, and its values taken from `whole`."""

    def at(ns: str, name: str | None = None) -> bool:
        return ns == o.namespace and (o.name is None or name == o.name)

    match o.kind:
        case "services":
            return "services", tuple(s for s in whole.services if at(s.namespace, s.name))
        case "endpointslices":
            groups = whole.endpoint_groups
            return "endpoint_groups", tuple(g for g in groups if at(g.namespace, g.service))
        case "pods":
            return "pods", tuple(p for p in whole.pods if at(p.namespace, p.name))
        case "referencegrants":
            grants = whole.reference_grants
            return "reference_grants", tuple(g for g in grants if at(g.namespace, g.name))
        case "gateways":
            return "gateways", tuple(g for g in whole.gateways if at(g.namespace, g.name))
        case "networkpolicies":
            policies = whole.network_policies
            return "network_policies", tuple(p for p in policies if at(p.namespace))
        case "namespaces":
            return "namespaces", tuple(n for n in whole.namespaces if n.name == o.namespace)
        case "pluginpolicies":
            found = whole.plugin_policies
            return "plugin_policies", tuple(p for p in found if p.namespace == o.namespace)
