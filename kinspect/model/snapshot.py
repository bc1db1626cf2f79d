"""`Snapshot`: everything read from one cluster (or one namespace of it) at one time."""

from __future__ import annotations

import msgspec

from kinspect.model.edge import Gateway, GatewayClass, Ingress, IngressClass, ReferenceGrant, Route
from kinspect.model.policy import AdminNetworkPolicy, AdminState, NetworkPolicy, PolicyState
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

    @property
    def consumers(self) -> tuple[ServiceConsumer, ...]:
        """Every APIService and webhook that calls a service."""
        return self.api_services + self.validating_webhooks + self.mutating_webhooks

    def narrow(self, namespace: str | None, service: str | None = None) -> Snapshot:
        """The snapshot as if read with -n NAMESPACE (None: all) and a service name (None: all).

        Nodes are cluster-scoped and kept; a service's endpoint groups follow it.
        """
        if namespace is None and service is None:
            return self

        def keep(ns: str, name: str | None = None) -> bool:
            return (namespace is None or ns == namespace) and (
                service is None or name is None or name == service
            )

        return msgspec.structs.replace(
            self,
            services=tuple(s for s in self.services if keep(s.namespace, s.name)),
            endpoint_groups=tuple(g for g in self.endpoint_groups if keep(g.namespace, g.service)),
            legacy_endpoint_groups=tuple(
                g for g in self.legacy_endpoint_groups if keep(g.namespace, g.service)
            ),
            pods=tuple(p for p in self.pods if keep(p.namespace)),
            namespaces=tuple(n for n in self.namespaces if keep(n.name)),
            network_policies=tuple(p for p in self.network_policies if keep(p.namespace)),
            ingresses=tuple(i for i in self.ingresses if keep(i.namespace)),
            gateways=tuple(g for g in self.gateways if keep(g.namespace)),
            routes=tuple(r for r in self.routes if keep(r.namespace)),
        )
