"""AdminNetworkPolicy and BaselineAdminNetworkPolicy verdicts, one side of a connection at a time.

Pure: an `AdminIndex` built from a `Snapshot` tells, for the source's egress or the destination's
ingress, what the cluster-scoped tiers decide: the AdminNetworkPolicy tier (before
NetworkPolicies) and the BaselineAdminNetworkPolicy tier (after them). `policy.PolicyIndex`
puts the three tiers together.

The semantics are policy.networking.k8s.io/v1alpha1's, as documented on the API types of
sigs.k8s.io/network-policy-api v0.1.7 (apis/v1alpha1: adminnetworkpolicy_types.go,
baselineadminnetworkpolicy_types.go, shared_types.go) and in NPEP-2 / the site's
"API overview" (https://network-policy-api.sigs.k8s.io/api-overview/):

- `spec.priority` 0..1000: "Policies with lower priority values have higher precedence"; "All
  AdminNetworkPolicy rules have higher precedence than NetworkPolicy or
  BaselineAdminNetworkPolicy rules". "If two (or more) policies with the same priority could
  both match a connection, then the implementation can apply any of the matching policies":
  when they match with different actions the verdict is "unknown", saying so;
- `spec.subject`: every pod of the `namespaces` selected, or the `pods` {namespaceSelector,
  podSelector} (both); "host-networked pods are not included in subject selection";
- rules in order, "a rule that appears at the top ... would take the highest precedence": the
  first rule whose peers and ports match decides. Allow: "allows the selected traffic (even if
  it would otherwise have been denied by NetworkPolicy)"; Deny: "denies the selected traffic";
  Pass: "skip any remaining ANP rules, and then pass execution to any NetworkPolicies that
  select the pod. If the pod is not selected by any NetworkPolicies then execution is passed
  to any BaselineAdminNetworkPolicies that select the pod";
- the BaselineAdminNetworkPolicy (a singleton named `default`) applies "if they are not matched
  by any AdminNetworkPolicy or NetworkPolicy rules": only when no NetworkPolicy isolates the pod
  for that direction (the caller's business); its rules Allow or Deny, first match wins, and no
  match leaves the traffic allowed;
- peers: `namespaces` (every pod of them), `pods` (namespace AND pod labels), host-networked
  pods never included; egress only: `nodes` (the node's addresses, "node.Status.Addresses"),
  `networks` (CIDRs, which "cluster-internal traffic will be checked against ... as well", so
  pod addresses match), `domainNames` (experimental; kinspect resolves no names: a rule that
  depends on one is "unknown" for an address, and matches no pod). There is no ingress peer for
  addresses, so a client from outside the cluster matches no ingress rule;
- a peer with none of the fields known (a newer CRD): "fail closed": for an Allow rule it
  matches nothing, a Deny or Pass rule becomes "Deny all";
- ports: `portNumber` {protocol, port}, `portRange` {protocol, start, end}, `namedPort`
  (experimental) looked up in the destination pod's container ports; no `ports`: every port.

A verdict is what the policies say, enforcement is the network plugin's. Policies that could
not be read make every verdict their tier could decide "unknown", never "allowed".
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from itertools import groupby
from typing import Literal

from kinspect.model.labels import LabelSelector
from kinspect.model.policy import (
    AdminAction,
    AdminNetworkPolicy,
    AdminPeer,
    AdminPort,
    AdminRule,
    AdminState,
    AdminSubject,
    AdminTier,
)
from kinspect.model.snapshot import Snapshot
from kinspect.model.values import Pod, Protocol, Value
from kinspect.policy.peer import Direction, Peer, Tri, in_cidr

# What a tier decides for one side: an action of its rules, "none" (no rule of it matches: the
# next tier decides) or "unknown" (with a reason).
Outcome = Literal["Allow", "Deny", "Pass", "none", "unknown"]

# Why a tier's policies are missing, by state ("AdminNetworkPolicies " + this).
UNREAD = {
    "forbidden": "could not be read",
    "not-read": "were not read (a snapshot from before kinspect read them)",
}


class AdminRef(Value, frozen=True):
    """Rule `index` (from 0) of the `direction` rules of an (Baseline)AdminNetworkPolicy."""

    tier: AdminTier
    policy: str
    direction: Direction
    index: int
    action: AdminAction | None
    name: str = ""
    priority: int | None = None

    def __str__(self) -> str:
        """`AdminNetworkPolicy allow-mon ingress[0] 'allow-from-mon' (priority 10)`."""
        out = f"{self.tier} {self.policy} {self.direction}[{self.index}]"
        if self.name:
            out += f" '{self.name}'"
        if self.priority is not None:
            out += f" (priority {self.priority})"
        return out


class Decision(Value, frozen=True):
    """What one tier decides for one side, and the rule deciding it."""

    outcome: Outcome
    rule: AdminRef | None = None
    reason: str | None = None


NONE = Decision("none")


def _port_matches(ap: AdminPort, port: int, protocol: Protocol, dst: Pod | None) -> bool:
    if ap.name is not None:
        # namedPort carries no protocol: the container port of that name, on this port number
        # and protocol. With no pod (an address) a name matches nothing.
        return dst is not None and any(
            cp.name == ap.name and cp.port == port and cp.protocol == protocol for cp in dst.ports
        )
    if ap.port is None or ap.protocol != protocol:
        return False  # an entry of a kind this kinspect does not know matches nothing
    if ap.end_port is not None:
        return ap.port <= port <= ap.end_port
    return ap.port == port


def ports_match(
    ports: Sequence[AdminPort] | None, port: int, protocol: Protocol, dst: Pod | None
) -> bool:
    """Whether a rule's `ports` admit `port`/`protocol` (None: every port)."""
    return ports is None or any(_port_matches(ap, port, protocol, dst) for ap in ports)


class AdminIndex:
    """The AdminNetworkPolicies (by priority) and the BaselineAdminNetworkPolicy of a snapshot."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.state: AdminState = snapshot.admin_network_policy_state
        self.baseline_state: AdminState = snapshot.baseline_admin_network_policy_state
        self.policies = sorted(
            snapshot.admin_network_policies, key=lambda p: (p.priority or 0, p.name)
        )
        # The CRD admits only `default` (an XValidation rule); anything else is not applied.
        self.baseline = next(
            (b for b in snapshot.baseline_admin_network_policies if b.name == "default"), None
        )
        self._ns_labels: dict[str, Mapping[str, str]] = {
            n.name: n.labels for n in snapshot.namespaces
        }
        self._nodes = snapshot.nodes
        self._ns_cache: dict[tuple[int, str], Tri] = {}
        self._levels_cache: dict[
            tuple[str, str, str], list[tuple[int | None, list[tuple[AdminNetworkPolicy, Tri]]]]
        ] = {}

    @property
    def inert(self) -> bool:
        """True when neither tier can change any verdict (read, or absent, and empty)."""
        return (
            self.state in ("read", "absent")
            and self.baseline_state in ("read", "absent")
            and not self.policies
            and self.baseline is None
        )

    # --- selection ------------------------------------------------------------------------

    def _namespace(self, sel: LabelSelector, namespace: str) -> Tri:
        # Cached by selector and namespace: a matrix asks the same few pairs thousands of
        # times (selectors live as long as the index, so their id is a stable key).
        key = (id(sel), namespace)
        found = self._ns_cache.get(key, _MISSING)
        if found is not _MISSING:
            return found  # type: ignore[return-value]
        if sel.empty:
            m: Tri = True
        else:
            labels = self._ns_labels.get(namespace)
            m = None if labels is None else sel.matches(labels)  # None: labels not read
        self._ns_cache[key] = m
        return m

    def _pod_in(self, namespaces: LabelSelector, pods: LabelSelector | None, pod: Pod) -> Tri:
        if pod.host_network:
            return False  # "host-networked pods are not included"
        ns = self._namespace(namespaces, pod.namespace)
        if ns is False or (pods is not None and not pods.matches(pod.labels)):
            return False
        return ns

    def subject(self, subject: AdminSubject, pod: Pod) -> Tri:
        """Whether the policy applies to `pod`."""
        if subject.namespaces is not None:
            return self._pod_in(subject.namespaces, None, pod)
        if subject.pods is not None:
            return self._pod_in(subject.pods.namespace_selector, subject.pods.pod_selector, pod)
        return None  # a subject of a kind this kinspect does not know

    def applying(self, pod: Pod) -> Iterator[AdminNetworkPolicy]:
        """The policies that (may) apply to `pod`: AdminNetworkPolicies by priority, then BANP."""
        for p in (*self.policies, *((self.baseline,) if self.baseline else ())):
            if self.subject(p.subject, pod) is not False:
                yield p

    def _peer(self, peer: AdminPeer, other: Peer) -> tuple[Tri, str]:
        """Whether one from/to entry matches the other end, and why not when it cannot tell."""
        if peer.namespaces is not None or peer.pods is not None:
            if other.pod is None:
                return False, ""  # these select pods, never addresses
            if peer.namespaces is not None:
                m = self._pod_in(peer.namespaces, None, other.pod)
            else:
                assert peer.pods is not None
                m = self._pod_in(peer.pods.namespace_selector, peer.pods.pod_selector, other.pod)
            return m, "namespace labels that were not read"
        ips = other.ips()
        if peer.networks:
            return any(in_cidr(ip, c) for ip in ips for c in peer.networks), ""
        if peer.nodes is not None:
            if other.pod is not None and not other.pod.host_network:
                return False, ""  # a pod's own address is no node's
            if not self._nodes:
                return None, "nodes that were not read"
            nodes = [n for n in self._nodes if peer.nodes.matches(n.labels)]
            return any(ip == a.address for n in nodes for a in n.addresses for ip in ips), ""
        if peer.domain_names:
            if other.pod is not None:
                return False, ""
            return None, f"domain names ({', '.join(peer.domain_names)}) kinspect does not resolve"
        return False, ""

    def _rule(
        self, rule: AdminRule, other: Peer, port: int, proto: Protocol, dst: Pod | None
    ) -> tuple[Tri, AdminAction | None, str]:
        """(matches?, the action it takes, why it cannot be told)."""
        if rule.action != "Allow" and any(not p.known for p in rule.peers):
            return True, "Deny", ""  # fail closed: a Deny or Pass rule becomes "Deny all"
        if not ports_match(rule.ports, port, proto, dst):
            return False, rule.action, ""
        result: Tri = False
        why = ""
        for peer in rule.peers:
            if not peer.known:
                continue  # fail closed: in an Allow rule it matches nothing
            m, w = self._peer(peer, other)
            if m:
                return True, rule.action, ""
            if m is None:
                result, why = None, w
        return result, rule.action, why

    def _first(
        self,
        p: AdminNetworkPolicy,
        direction: Direction,
        pod: Pod,
        other: Peer,
        port: int,
        proto: Protocol,
        dst: Pod | None,
        sub: Tri | Literal["ask"] = "ask",
    ) -> Decision:
        """The first rule of `p` that matches, for the side of `pod` (the subject).

        `sub`: whether `p` applies to `pod` (None: cannot be told), when the caller knows.
        """
        rules = p.ingress if direction == "ingress" else p.egress
        if not rules:
            return NONE  # "ANPs with no ingress rules do not affect ingress traffic"
        if sub == "ask":
            sub = self.subject(p.subject, pod)
        if sub is False:
            return NONE
        for i, rule in enumerate(rules):
            m, action, why = self._rule(rule, other, port, proto, dst)
            if m is False:
                continue
            ref = AdminRef(p.tier, p.name, direction, i, action, rule.name, p.priority)
            if m is None:
                return Decision("unknown", ref, f"{ref} depends on {why}")
            if sub is None:
                return Decision(
                    "unknown", ref, f"whether {p} applies to {pod.ref} depends on {_SUBJECT_WHY}"
                )
            if action is None or (p.tier == "BaselineAdminNetworkPolicy" and action == "Pass"):
                return Decision("unknown", ref, f"{ref} has an action kinspect does not know")
            return Decision(action, ref)
        return NONE

    def _levels(
        self, direction: Direction, pod: Pod
    ) -> list[tuple[int | None, list[tuple[AdminNetworkPolicy, Tri]]]]:
        """By priority, the policies with `direction` rules that (may) apply to `pod`.

        Each with whether it applies (None: cannot be told); cached per pod, as a matrix asks
        about each pod once per other pod.
        """
        key = (direction, pod.namespace, pod.name)
        levels = self._levels_cache.get(key)
        if levels is None:
            levels = []
            for priority, group in groupby(self.policies, key=lambda p: p.priority):
                members: list[tuple[AdminNetworkPolicy, Tri]] = []
                for p in group:
                    if not (p.ingress if direction == "ingress" else p.egress):
                        continue
                    sub = self.subject(p.subject, pod)
                    if sub is not False:
                        members.append((p, sub))
                if members:
                    levels.append((priority, members))
            self._levels_cache[key] = levels
        return levels

    # --- the two tiers --------------------------------------------------------------------

    def admin(
        self,
        direction: Direction,
        pod: Pod,
        other: Peer,
        port: int,
        proto: Protocol = "TCP",
        dst: Pod | None = None,
    ) -> Decision:
        """The AdminNetworkPolicy tier for `pod`'s `direction` side (`other`: the far end).

        Allow or Deny decide the side; Pass and "none" hand it to NetworkPolicies.
        """
        if self.state in UNREAD:
            return Decision("unknown", reason=f"AdminNetworkPolicies {UNREAD[self.state]}")
        for priority, members in self._levels(direction, pod):
            found = [
                d
                for p, sub in members
                if (d := self._first(p, direction, pod, other, port, proto, dst, sub)) is not NONE
            ]
            if not found:
                continue
            for d in found:
                if d.outcome == "unknown":
                    return d
            actions = sorted({d.outcome for d in found})
            if len(actions) > 1:
                names = ", ".join(str(d.rule) for d in found)
                return Decision(
                    "unknown",
                    found[0].rule,
                    f"{names} have the same priority {priority} and match with different "
                    f"actions ({', '.join(actions)}): the API leaves the choice to the "
                    "implementation",
                )
            return found[0]
        return NONE

    def baseline_decision(
        self,
        direction: Direction,
        pod: Pod,
        other: Peer,
        port: int,
        proto: Protocol = "TCP",
        dst: Pod | None = None,
    ) -> Decision:
        """The BaselineAdminNetworkPolicy tier (for a side no NetworkPolicy isolates)."""
        if self.baseline_state in UNREAD:
            return Decision(
                "unknown", reason=f"the BaselineAdminNetworkPolicy {UNREAD[self.baseline_state]}"
            )
        if self.baseline is None:
            return NONE
        return self._first(self.baseline, direction, pod, other, port, proto, dst)


_MISSING = object()
_SUBJECT_WHY = "namespace labels that were not read, or a subject kinspect does not know"
