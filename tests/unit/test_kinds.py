"""The registry of what is read: each Snapshot field filled once, the right kinds optional."""

from __future__ import annotations

import msgspec

from kinspect.model.snapshot import Snapshot
from kinspect.wire import kinds

# Snapshot fields that no kind fills: they say where and how the rest was read.
NOT_A_KIND = {
    "context",
    "endpoint_source",
    "warnings",
    "network_policy_state",
    "ingress_class_state",
    "admin_network_policy_state",
    "read_namespace",  # how the snapshot was read (issue 22), not a kind
    "outside",
    "baseline_admin_network_policy_state",
    # The network plugin's policies: read where discovery shows their groups served
    # (cluster.plugin_policies, kinds.PLUGIN_POLICY_KINDS), not by the registry's walk.
    "plugin_policy_state",
    "plugin_policy_kinds",
    "plugin_policies",
}


def test_every_kind_field_of_the_snapshot_is_filled_by_exactly_one_entry() -> None:
    # The five Gateway API route kinds share `routes` (their values are appended).
    fields = [k.field for k in kinds.KINDS if k.field != "routes"]
    assert sorted([*fields, "routes"]) == sorted(set(Snapshot.__struct_fields__) - NOT_A_KIND)
    assert len(fields) == len(set(fields))
    routes = {k.plural for k in kinds.KINDS if k.field == "routes"}
    assert routes == {"httproutes", "grpcroutes", "tlsroutes", "tcproutes", "udproutes"}


def test_optional_entries_and_their_warnings() -> None:
    optional = {k.plural: k.consequence for k in kinds.KINDS if k.optional}
    assert optional == {
        "nodes": "NodePort frontends are unknown",
        "endpoints": "EndpointSlices and Endpoints not compared",
        # Quiet: a verdict that needs a namespace's labels says "unknown" and why instead.
        "namespaces": None,
        # Cluster-scoped consumers of services: quiet, namespace-scoped readers can't list them.
        "apiservices": None,
        "validatingwebhookconfigurations": None,
        "mutatingwebhookconfigurations": None,
        # Entry points (issue 13): absent or forbidden says what is not shown.
        "ingresses": "Ingress entry points are not shown",
        # Cluster-scoped: quiet (every namespace-scoped reader would be told); its state says.
        "ingressclasses": None,
        # Refused: every policy verdict is "unknown", never "allowed" (issue 14).
        "networkpolicies": "NetworkPolicy verdicts are unknown",
        # Gateway API (issue 13): not installed is quiet (quiet_when_absent), refused warns
        # for the three whose absence would mislead.
        "gatewayclasses": None,
        "gateways": "Gateway API entry points are not shown",
        "httproutes": "HTTPRoutes are not shown",
        "grpcroutes": None,
        "tlsroutes": None,
        "tcproutes": None,
        "udproutes": None,
        "referencegrants": "cross-namespace backendRefs are shown as not permitted",
        # AdminNetworkPolicy CRDs (issue 14): not installed is quiet, refused warns.
        "adminnetworkpolicies": (
            "policy verdicts that AdminNetworkPolicies could decide are unknown"
        ),
        "baselineadminnetworkpolicies": (
            "policy verdicts that the BaselineAdminNetworkPolicy could decide are unknown"
        ),
    }
    quiet = {k.plural for k in kinds.KINDS if k.quiet_when_absent}
    assert quiet == {k.plural for k in kinds.GATEWAY_KINDS} | {
        "adminnetworkpolicies",
        "baselineadminnetworkpolicies",
    }
    states = {k.plural: k.state_field for k in kinds.KINDS if k.state_field}
    assert states == {
        "networkpolicies": "network_policy_state",
        "ingressclasses": "ingress_class_state",
        "adminnetworkpolicies": "admin_network_policy_state",
        "baselineadminnetworkpolicies": "baseline_admin_network_policy_state",
    }


def test_endpoint_slices_fall_back_to_legacy_endpoints_read_before_them() -> None:
    fallbacks = {k.plural: k.fallback for k in kinds.KINDS if k.fallback}
    assert fallbacks == {"endpointslices": kinds.ENDPOINTS}
    assert kinds.ENDPOINT_SLICES.consequence == "read core/v1 Endpoints instead"
    # The walk reuses Endpoints read beside the slices: they must be resolved first.
    assert kinds.KINDS.index(kinds.ENDPOINTS) < kinds.KINDS.index(kinds.ENDPOINT_SLICES)


def test_namespaces_are_submitted_before_pods_whose_split_reuses_them() -> None:
    assert kinds.KINDS.index(kinds.NAMESPACES) < kinds.KINDS.index(kinds.PODS)


def test_every_entry_decodes_an_empty_list_of_its_kind() -> None:
    for kind in kinds.KINDS:
        page = msgspec.json.decode(b'{"metadata": {}, "items": null}', type=kind.list_type)
        assert page.items is None, kind.plural
        assert kind.group in (
            kinds.CORE,
            kinds.DISCOVERY,
            kinds.APIREGISTRATION,
            kinds.ADMISSIONREGISTRATION,
            kinds.NETWORKING,
            kinds.GATEWAY,
            kinds.GATEWAY_BETA,
            kinds.POLICY_ALPHA,
        )
