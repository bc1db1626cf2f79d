"""NetworkPolicy and AdminNetworkPolicy objects as domain values (what `policy` evaluates).

networking.k8s.io/v1 NetworkPolicy (policyTypes defaulted as the API server does) and
policy.networking.k8s.io/v1alpha1 AdminNetworkPolicy / BaselineAdminNetworkPolicy.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from kinspect.model.labels import LabelSelector
from kinspect.model.values import NamespacedPods, Protocol, ReadState, Value

PolicyType = Literal["Ingress", "Egress"]
PolicyState = ReadState
# AdminNetworkPolicies and the BaselineAdminNetworkPolicy are CRDs: "absent" (not served, the
# CRD is not installed: none exist) reads like "read" with none; "forbidden" (refused, or the
# read failed) and "not-read" (a snapshot file from before kinspect read them) make every
# verdict they could decide "unknown".
AdminState = Literal["read", "absent", "forbidden", "not-read"]
AdminAction = Literal["Allow", "Deny", "Pass"]
AdminTier = Literal["AdminNetworkPolicy", "BaselineAdminNetworkPolicy"]


class AdminPeer(Value, frozen=True):
    """One `from`/`to` entry of an (Baseline)AdminNetworkPolicy rule; exactly one field is set.

    `namespaces` and `pods` exist in both directions; `nodes`, `networks` (CIDRs) and
    `domain_names` only in egress rules. None of them set: a peer type this kinspect does not
    know (a newer CRD), which the API says to "fail closed" on.
    """

    namespaces: LabelSelector | None = None
    pods: NamespacedPods | None = None
    nodes: LabelSelector | None = None
    networks: tuple[str, ...] = ()
    domain_names: tuple[str, ...] = ()

    @property
    def known(self) -> bool:
        return bool(
            self.namespaces is not None
            or self.pods is not None
            or self.nodes is not None
            or self.networks
            or self.domain_names
        )


class AdminPort(Value, frozen=True):
    """One `ports` entry: a number (`port`), a range (`port`..`end_port`) or a name (`name`).

    None of them: an entry of a kind this kinspect does not know (it matches nothing).
    """

    protocol: Protocol = "TCP"
    port: int | None = None
    end_port: int | None = None
    name: str | None = None


class AdminRule(Value, frozen=True):
    """One ingress or egress rule: action, peers (at least one), ports (None: every port).

    `action` None: an action this kinspect does not know; a rule that matches with it is
    "unknown".
    """

    action: AdminAction | None
    name: str = ""
    peers: tuple[AdminPeer, ...] = ()
    ports: tuple[AdminPort, ...] | None = None


class AdminSubject(Value, frozen=True):
    """The pods a policy applies to: every pod of `namespaces`, or `pods` (exactly one set)."""

    namespaces: LabelSelector | None = None
    pods: NamespacedPods | None = None


class AdminNetworkPolicy(Value, frozen=True):
    """A policy.networking.k8s.io/v1alpha1 AdminNetworkPolicy or BaselineAdminNetworkPolicy.

    `priority` is None for the baseline (a singleton named `default`, evaluated after
    NetworkPolicies, whose rules only Allow or Deny).
    """

    tier: AdminTier
    name: str
    subject: AdminSubject
    priority: int | None = None
    ingress: tuple[AdminRule, ...] = ()
    egress: tuple[AdminRule, ...] = ()

    def __str__(self) -> str:
        return f"{self.tier} {self.name}"


class IPBlock(Value, frozen=True):
    """A NetworkPolicy peer's ipBlock: a CIDR less the CIDRs in `except_cidrs`."""

    cidr: str
    except_cidrs: tuple[str, ...] = ()


class PolicyPeer(Value, frozen=True):
    """One `from`/`to` entry: selectors (both set means AND) or an ipBlock.

    None is "not given", which differs from an empty selector (all pods / all namespaces).
    """

    pod_selector: LabelSelector | None = None
    namespace_selector: LabelSelector | None = None
    ip_block: IPBlock | None = None


class PolicyPort(Value, frozen=True):
    """One `ports` entry: a number (with `end_port`, a range), a name, or None (every port)."""

    protocol: Protocol = "TCP"
    port: int | str | None = None
    end_port: int | None = None


class PolicyRule(Value, frozen=True):
    """One ingress or egress rule: its peers (none: every peer) and ports (none: every port)."""

    peers: tuple[PolicyPeer, ...] = ()
    ports: tuple[PolicyPort, ...] = ()


class NetworkPolicy(Value, frozen=True):
    """A networking.k8s.io/v1 NetworkPolicy, policyTypes defaulted as the API server does."""

    namespace: str
    name: str
    pod_selector: LabelSelector = msgspec.field(default_factory=LabelSelector)
    policy_types: tuple[PolicyType, ...] = ("Ingress",)
    ingress: tuple[PolicyRule, ...] = ()
    egress: tuple[PolicyRule, ...] = ()

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


# --- gateway.networking.k8s.io (issue 13) ----------------------------------------------------


# The network plugin's own policy kinds (issue 23): detected through discovery, listed by name
# only, not evaluated. "absent" (none of their API groups is served) reads like "read" with
# none; "forbidden" (discovery refused or failed, or a kind's LIST did) and "not-read" (a
# snapshot file from before kinspect looked for them) make every verdict "unknown".
PluginState = Literal["read", "absent", "forbidden", "not-read"]

# How a group's policies are named in words: its own kinds carry the plugin's name already
# (CiliumNetworkPolicy); Calico's and Antrea's are called NetworkPolicy too, so the plugin's
# name goes before them ("Calico NetworkPolicy").
_PLUGIN_PREFIX = {"crd.projectcalico.org": "Calico ", "projectcalico.org": "Calico ",
                  "crd.antrea.io": "Antrea "}  # fmt: skip


def plugin_kind_words(group: str, kind: str) -> str:
    """`CiliumNetworkPolicy`, `Calico GlobalNetworkPolicy`, `Antrea NetworkPolicy`."""
    return _PLUGIN_PREFIX.get(group, "") + kind


class PluginPolicy(Value, frozen=True):
    """One policy object of the network plugin (Cilium, Calico, Antrea), by name only.

    `namespace` "" for a cluster-wide kind (CiliumClusterwideNetworkPolicy, Calico
    GlobalNetworkPolicy, Antrea ClusterNetworkPolicy).
    """

    group: str  # cilium.io, crd.projectcalico.org, projectcalico.org, crd.antrea.io
    kind: str  # the API's kind: CiliumNetworkPolicy, NetworkPolicy, GlobalNetworkPolicy ...
    namespace: str
    name: str

    def __str__(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{plugin_kind_words(self.group, self.kind)} {where}"


class PluginKindRead(Value, frozen=True):
    """One plugin policy kind that the cluster serves, and whether its LIST succeeded.

    `error`: why it could not be read (refused under -n, failed); None: every object of it in
    the read's scope is in `Snapshot.plugin_policies`.
    """

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    error: str | None = None

    @property
    def words(self) -> str:
        """`CiliumClusterwideNetworkPolicies`, `Calico NetworkPolicies`."""
        kind = self.kind[:-1] + "ies" if self.kind.endswith("y") else self.kind + "s"
        return plugin_kind_words(self.group, kind)
