"""The network plugin's own policies (Cilium, Calico, Antrea): detected, not evaluated.

Pure: a `PluginIndex` built from a `Snapshot` tells, for one pod, why a verdict at that pod
cannot be known because the plugin's policies may also apply there, or None when none can.
`policy.PolicyIndex` then makes that side "unknown", naming the objects; kinspect never
evaluates them (their selectors, tiers, orders and actions are the plugin's: a
CiliumNetworkPolicy adds allows, a Calico GlobalNetworkPolicy or an Antrea
ClusterNetworkPolicy may Allow or Deny before any NetworkPolicy is consulted).

"May apply" is conservative, and says so: a namespaced plugin policy may select every pod of
its namespace, a cluster-wide one every pod of the cluster (host-networked pods included:
Cilium's host policies, Calico's host endpoints). A kind that could not be read, or discovery
that failed, may hide such a policy anywhere; so may a snapshot file from before kinspect
looked ("not-read"), as with AdminNetworkPolicies; and a namespace outside -n whose namespaced
plugin policies were not read.
"""

from __future__ import annotations

from collections import defaultdict

from kinspect.model.policy import PluginKindRead, PluginPolicy, PluginState
from kinspect.model.snapshot import Snapshot
from kinspect.model.values import Pod, Value

NOT_EVALUATED = "plugin policies are not evaluated"
# Objects named in one reason; the rest are counted.
NAMED = 5


class PluginUnknown(Value, frozen=True):
    """Why a side at a pod is unknown: the plugin policies that may apply, or what was not read."""

    reason: str
    policies: tuple[PluginPolicy, ...] = ()


class PluginIndex:
    """The plugin policies of a snapshot, by namespace (cluster-wide ones under "")."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.state: PluginState = snapshot.plugin_policy_state
        self.kinds: tuple[PluginKindRead, ...] = snapshot.plugin_policy_kinds
        self.policies = snapshot.plugin_policies
        self._read_namespace = snapshot.read_namespace
        self._outside = snapshot.unknown  # read with -n: other namespaces read narrowly
        self._by_ns: dict[str, list[PluginPolicy]] = defaultdict(list)
        for p in self.policies:
            self._by_ns[p.namespace].append(p)
        self._unread = tuple(k for k in self.kinds if k.error is not None)
        self._namespaced = tuple(k for k in self.kinds if k.namespaced and k.error is None)
        self._cache: dict[str, PluginUnknown | None] = {}

    @property
    def inert(self) -> bool:
        """True when no plugin policy can make any verdict unknown (all read, none exists)."""
        return (
            self.state in ("read", "absent")
            and not self._unread
            and not self.policies
            # Read with -n: other namespaces' namespaced plugin policies were not read.
            and not (self._read_namespace is not None and self._namespaced)
        )

    def unknown(self, pod: Pod) -> PluginUnknown | None:
        """Why verdicts at `pod` (its ingress, its egress) are unknown, or None."""
        if self.inert:
            return None
        ns = pod.namespace
        if ns not in self._cache:
            self._cache[ns] = self._unknown(ns)
        return self._cache[ns]

    def _unknown(self, ns: str) -> PluginUnknown | None:
        if self.state == "not-read":
            return PluginUnknown(
                "network plugin policies (Cilium, Calico, Antrea) were not looked for (a "
                "snapshot from before kinspect read them)"
            )
        if self.state == "forbidden" and not self.kinds:
            return PluginUnknown(
                "the API groups could not be read, so network plugin policies (Cilium, Calico, "
                "Antrea) were not looked for"
            )
        if self._unread:
            words = ", ".join(k.words for k in self._unread)
            return PluginUnknown(f"{words} could not be read")
        if self._namespaced and (why := self._outside("pluginpolicies", ns)) is not None:
            words = ", ".join(k.words for k in self._namespaced)
            return PluginUnknown(f"{why}: the {words} of namespace {ns}")
        found = (*self._by_ns.get(ns, ()), *self._by_ns.get("", ()))
        if not found:
            return None
        names = ", ".join(str(p) for p in found[:NAMED])
        if len(found) > NAMED:
            names += f" and {len(found) - NAMED} more"
        return PluginUnknown(f"{names} may also apply ({NOT_EVALUATED})", tuple(found))
