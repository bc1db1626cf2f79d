"""NetworkPolicy verdicts: whether a source may reach a pod on a port, by policy.

Pure: a `PolicyIndex` built once from a `Snapshot` answers `check(source, destination, port,
protocol)` with a `PolicyVerdict` (allowed, denied or unknown, a closed set) that names the
rules allowing the traffic or the isolating policies that leave it unmatched.

The semantics are networking.k8s.io/v1's, as documented on the API types
(kubernetes/kubernetes: staging/src/k8s.io/api/networking/v1/types.go) and in
https://kubernetes.io/docs/concepts/services-networking/network-policies/ :

- a pod is isolated for ingress (egress) only when some policy of its namespace selects it
  and lists that policy type; policyTypes were defaulted when the policy was read
  (convert.network_policy: Ingress always, Egress when there are egress rules);
- an isolated pod admits the union of the rules of every policy selecting it; a connection
  needs both the source's egress and the destination's ingress to allow it;
- a rule with no peers matches every peer, with no ports every port; a peer's podSelector
  alone picks pods of the policy's namespace, namespaceSelector alone every pod of the
  matching namespaces, both together (one peer) pods matching both (AND); separate peers OR;
- ipBlock matches by address, less its except CIDRs;
- a port is a number, a range (endPort), or a name resolved against the destination pod's
  container ports (with the rule's protocol; a name the pod does not declare matches nothing),
  protocol defaulted to TCP.

Where the API leaves the outcome to the implementation it says "unknown" and why: traffic of
hostNetwork pods ("NetworkPolicy behaviour for hostNetwork pods is undefined", the page above).
A verdict is what the policies say; enforcement depends on the CNI plugin ("by policy").
Policies that could not be read make every verdict "unknown", never "allowed".

AdminNetworkPolicies (kinspect.policy.admin, whose docstring cites their semantics) wrap this
tier: each side first asks the AdminNetworkPolicy tier (Allow or Deny decide, and the
NetworkPolicies are not consulted; Pass or no match go on), then the NetworkPolicies when they
isolate the pod, else the BaselineAdminNetworkPolicy; no match anywhere leaves it allowed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

import msgspec

from kinspect.model.labels import LabelSelector, SelectorIndex
from kinspect.model.policy import (
    IPBlock,
    NetworkPolicy,
    PluginPolicy,
    PolicyPeer,
    PolicyPort,
    PolicyRule,
)
from kinspect.model.snapshot import Snapshot
from kinspect.model.values import Pod, Protocol, Value
from kinspect.policy.admin import AdminIndex, AdminRef, Decision
from kinspect.policy.peer import Direction, Peer, Tri
from kinspect.policy.peer import address as _address
from kinspect.policy.peer import network as _network
from kinspect.policy.plugin import PluginIndex

Verdict = Literal["allowed", "denied", "unknown"]


class RuleRef(Value, frozen=True):
    """Rule `index` (from 0) of the `direction` rules of policy namespace/name."""

    namespace: str
    policy: str
    direction: Direction
    index: int

    def __str__(self) -> str:
        return f"{self.namespace}/{self.policy} {self.direction}[{self.index}]"


class Side(Value, frozen=True):
    """The verdict of one side: the source's egress or the destination's ingress."""

    verdict: Verdict
    # The policies that select the pod for this direction (empty: not isolated, or not
    # consulted because an AdminNetworkPolicy rule decided).
    isolating: tuple[str, ...] = ()
    allowed_by: tuple[RuleRef, ...] = ()
    # For an outside client: allowed only from these CIDRs (an ipBlock rule).
    only_from: tuple[str, ...] = ()
    reason: str | None = None
    # The AdminNetworkPolicy (Allow, Deny) or BaselineAdminNetworkPolicy rule that decided.
    decided_by: AdminRef | None = None
    # The AdminNetworkPolicy Pass rule that handed the side to the NetworkPolicies.
    passed_by: AdminRef | None = None
    # The network plugin's policies that may also apply (the verdict is then "unknown").
    plugin_policies: tuple[PluginPolicy, ...] = ()


class PolicyVerdict(Value, frozen=True):
    """Both sides and their conjunction: denied if either denies, unknown if either cannot tell."""

    verdict: Verdict
    egress: Side
    ingress: Side


def combine(egress: Side, ingress: Side) -> PolicyVerdict:
    """The verdict of a connection from its two sides."""
    verdicts = (egress.verdict, ingress.verdict)
    verdict: Verdict = (
        "denied" if "denied" in verdicts else "unknown" if "unknown" in verdicts else "allowed"
    )
    return PolicyVerdict(verdict, egress=egress, ingress=ingress)


def in_block(ip: str, block: IPBlock) -> bool:
    """True when `ip` is in the block's CIDR and in none of its except CIDRs."""
    addr, net = _address(ip), _network(block.cidr)
    if addr is None or net is None or addr.version != net.version or addr not in net:
        return False
    for ex in block.except_cidrs:
        exn = _network(ex)
        if exn is not None and exn.version == addr.version and addr in exn:
            return False
    return True


def _covers_everything(block: IPBlock) -> bool:
    net = _network(block.cidr)
    return net is not None and net.prefixlen == 0 and not block.except_cidrs


def describe_block(block: IPBlock) -> str:
    """`10.0.0.0/8 except 10.1.0.0/16`."""
    if not block.except_cidrs:
        return block.cidr
    return f"{block.cidr} except {', '.join(block.except_cidrs)}"


def port_matches(pp: PolicyPort, port: int, protocol: Protocol, dst: Pod | None) -> bool:
    """Whether one `ports` entry admits `port`/`protocol` to the destination pod `dst`.

    A named port is looked up in the destination pod's container ports with the entry's
    protocol (NetworkPolicyPort.port: "a named port on a pod"); with no pod (an address) a
    name matches nothing.
    """
    if pp.protocol != protocol:
        return False
    if pp.port is None:
        return True
    if isinstance(pp.port, int):
        if pp.end_port is not None:
            return pp.port <= port <= pp.end_port
        return pp.port == port
    if dst is None:
        return False
    return any(
        cp.name == pp.port and cp.protocol == protocol and cp.port == port for cp in dst.ports
    )


def _ports_match(
    ports: Sequence[PolicyPort], port: int, protocol: Protocol, dst: Pod | None
) -> bool:
    return not ports or any(port_matches(pp, port, protocol, dst) for pp in ports)


class PolicyIndex:
    """The policies of a snapshot, indexed by namespace and by the pods they select."""

    def __init__(self, snapshot: Snapshot, pods: SelectorIndex[Pod] | None = None) -> None:
        self.state = snapshot.network_policy_state
        self.admin = AdminIndex(snapshot)
        self.plugin = PluginIndex(snapshot)
        self.policies = snapshot.network_policies
        # Read with -n: another namespace's policies are known only when read narrowly.
        self._outside = snapshot.unknown
        self.read_namespace = snapshot.read_namespace
        self._ns_labels: dict[str, Mapping[str, str]] = {
            n.name: n.labels for n in snapshot.namespaces
        }
        self._pods = pods if pods is not None else SelectorIndex(snapshot.pods)
        self._all_pods = snapshot.pods
        # (namespace, pod name) -> the policies selecting it, one SelectorIndex query per
        # policy: never pods x policies.
        self._selecting: dict[tuple[str, str], list[NetworkPolicy]] = defaultdict(list)
        self.selected_count: dict[str, int] = {}
        for p in self.policies:
            chosen = self._pods.select(p.namespace, p.pod_selector)
            self.selected_count[str(p)] = len(chosen)
            for pod in chosen:
                self._selecting[(pod.namespace, pod.name)].append(p)

    @property
    def selecting_all(self) -> Mapping[tuple[str, str], list[NetworkPolicy]]:
        """(namespace, pod name) -> every policy selecting that pod, of either type."""
        return self._selecting

    def selecting(self, pod: Pod, direction: Direction | None = None) -> list[NetworkPolicy]:
        """The policies that select `pod` (for `direction`'s policy type, when given)."""
        found = self._selecting.get((pod.namespace, pod.name), [])
        if direction is None:
            return list(found)
        ptype = "Ingress" if direction == "ingress" else "Egress"
        return [p for p in found if ptype in p.policy_types]

    def selects_nothing(self, policy: NetworkPolicy) -> bool:
        return self.selected_count.get(str(policy), 0) == 0

    def _unread(self) -> Side | None:
        if self.state == "read":
            return None
        why = {
            "forbidden": "NetworkPolicies could not be read",
            "not-read": "NetworkPolicies were not read (a snapshot from before kinspect read them)",
        }[self.state]
        return Side("unknown", reason=why)

    # --- peers ------------------------------------------------------------------------------

    def _namespace_matches(self, sel: LabelSelector, namespace: str) -> Tri:
        if sel.empty:
            return True
        labels = self._ns_labels.get(namespace)
        if labels is None:
            return None  # the namespace's labels were not read
        return sel.matches(labels)

    def _peer_matches(self, peer: PolicyPeer, policy_ns: str, other: Peer) -> Tri:
        """Whether one from/to entry of a policy in `policy_ns` matches the other end."""
        if peer.ip_block is not None:
            if other.kind == "outside":
                return None  # decided by the caller (only_from)
            return any(in_block(ip, peer.ip_block) for ip in other.ips())
        if peer.pod_selector is None and peer.namespace_selector is None:
            return False  # an empty peer is refused by validation; it matches nothing here
        if other.pod is None:
            return False  # selectors pick pods, never addresses outside the pod network
        pod = other.pod
        if peer.namespace_selector is None:
            ns_ok: Tri = pod.namespace == policy_ns
        else:
            ns_ok = self._namespace_matches(peer.namespace_selector, pod.namespace)
        if ns_ok is False:
            return False
        pod_ok = peer.pod_selector is None or peer.pod_selector.matches(pod.labels)
        if not pod_ok:
            return False
        if pod.host_network:
            return None  # implementation-defined: hostNetwork pods (see the module docstring)
        return ns_ok

    def _rule(
        self,
        rule: PolicyRule,
        policy_ns: str,
        other: Peer,
        port: int,
        proto: Protocol,
        dst: Pod | None,
    ) -> tuple[Tri, list[str]]:
        """(matches?, for an outside client: the CIDRs it must come from)."""
        if not _ports_match(rule.ports, port, proto, dst):
            return False, []
        if not rule.peers:
            return True, []
        result: Tri = False
        only: list[str] = []
        for peer in rule.peers:
            if peer.ip_block is not None and other.kind == "outside":
                if _covers_everything(peer.ip_block):
                    return True, []
                only.append(describe_block(peer.ip_block))
                continue
            m = self._peer_matches(peer, policy_ns, other)
            if m:
                return True, []
            if m is None:
                result = None
        return result, only

    # --- sides ------------------------------------------------------------------------------

    def _side(
        self,
        direction: Direction,
        pod: Pod,
        other: Peer,
        port: int,
        proto: Protocol,
        dst: Pod | None,
    ) -> Side:
        """The three tiers, then the network plugin's policies: where they may apply, unknown."""
        side = self._tiers(direction, pod, other, port, proto, dst)
        plugin = self.plugin.unknown(pod)
        if plugin is None:
            return side
        # Whatever the standard kinds say, the plugin's own may Allow or Deny too (before them,
        # beside them): the side is unknown, naming them (kinspect.policy.plugin). Already
        # unknown: its own cause first, then the plugin's.
        reason = plugin.reason
        if side.verdict == "unknown" and side.reason:
            reason = f"{side.reason}; {plugin.reason}"
        return Side(
            "unknown",
            isolating=side.isolating,
            reason=reason,
            plugin_policies=plugin.policies,
        )

    def _tiers(
        self,
        direction: Direction,
        pod: Pod,
        other: Peer,
        port: int,
        proto: Protocol,
        dst: Pod | None,
    ) -> Side:
        """The three tiers: AdminNetworkPolicies, NetworkPolicies, the baseline (adminpolicy)."""
        if self.admin.inert:
            return self._np_side(direction, pod, other, port, proto, dst)
        first = self.admin.admin(direction, pod, other, port, proto, dst)
        if first.outcome in ("Allow", "Deny", "unknown"):
            return _decided(first)
        passed = first.rule if first.outcome == "Pass" else None
        side = self._np_side(direction, pod, other, port, proto, dst)
        if side.isolating or side.verdict == "unknown":
            return msgspec.structs.replace(side, passed_by=passed)
        last = self.admin.baseline_decision(direction, pod, other, port, proto, dst)
        if last.outcome == "none":
            return msgspec.structs.replace(side, passed_by=passed)
        return msgspec.structs.replace(_decided(last), passed_by=passed)

    def _np_side(
        self,
        direction: Direction,
        pod: Pod,
        other: Peer,
        port: int,
        proto: Protocol,
        dst: Pod | None,
    ) -> Side:
        unread = self._unread()
        if unread is not None:
            return unread
        why = self._outside("networkpolicies", pod.namespace)
        if why is not None:
            return Side(
                "unknown", reason=f"{why}: the NetworkPolicies of namespace {pod.namespace}"
            )
        policies = self.selecting(pod, direction)
        if not policies:
            return Side("allowed")
        names = tuple(str(p) for p in policies)
        if pod.host_network:
            return Side(
                "unknown",
                isolating=names,
                reason="policies select a hostNetwork pod: the API leaves its traffic to the "
                "network plugin",
            )
        allowed: list[RuleRef] = []
        only: list[str] = []
        undecided = False
        for p in policies:
            rules = p.ingress if direction == "ingress" else p.egress
            for i, rule in enumerate(rules):
                m, o = self._rule(rule, p.namespace, other, port, proto, dst)
                if m:
                    allowed.append(RuleRef(p.namespace, p.name, direction, i))
                elif m is None:
                    undecided = True
                only.extend(o)
        if allowed:
            return Side("allowed", isolating=names, allowed_by=tuple(allowed))
        if only:
            return Side("allowed", isolating=names, only_from=tuple(dict.fromkeys(only)))
        if undecided:
            return Side(
                "unknown",
                isolating=names,
                reason="a rule depends on namespace labels that were not read, or on a "
                "hostNetwork pod",
            )
        return Side("denied", isolating=names)

    def ingress(self, dst: Pod, src: Peer, port: int, protocol: Protocol = "TCP") -> Side:
        """The destination pod's ingress side for traffic from `src`."""
        return self._side("ingress", dst, src, port, protocol, dst)

    def egress(self, src: Peer, dst: Peer, port: int, protocol: Protocol = "TCP") -> Side:
        """The source's egress side: only a pod has one (anything else is not isolated)."""
        if src.pod is None:
            unread = self._unread()
            return unread if unread is not None else Side("allowed")
        return self._side("egress", src.pod, dst, port, protocol, dst.pod)

    def check(self, src: Peer, dst: Peer, port: int, protocol: Protocol = "TCP") -> PolicyVerdict:
        """Whether `src` may open `port`/`protocol` on `dst`, by policy."""
        egress = self.egress(src, dst, port, protocol)
        if dst.pod is None:
            ingress = self._unread() or Side("allowed")
        else:
            ingress = self.ingress(dst.pod, src, port, protocol)
        return combine(egress, ingress)


def _decided(d: Decision) -> Side:
    """A side an AdminNetworkPolicy or the baseline decided (or could not tell)."""
    if d.outcome == "unknown":
        return Side("unknown", reason=d.reason)  # the reason names the rules
    return Side("allowed" if d.outcome == "Allow" else "denied", decided_by=d.rule)


def isolated_for_ingress(index: PolicyIndex, pods: Iterable[Pod]) -> dict[str, list[str]]:
    """For each pod (`ns/name`) restricted for ingress, the names of the policies restricting it.

    Restricted: a NetworkPolicy isolates it for ingress, an AdminNetworkPolicy applying to it
    has an ingress rule that Denies (named `AdminNetworkPolicy NAME`), or, when no NetworkPolicy
    isolates it (only then is the baseline consulted), the BaselineAdminNetworkPolicy does
    (`BaselineAdminNetworkPolicy default`). An Allow or Pass rule alone restricts nothing.
    """
    out: dict[str, list[str]] = {}
    # Names once per policy, not once per pod it selects; the admin tiers only when one has a
    # Deny ingress rule (the rest cannot restrict anything).
    names_of = {id(p): str(p) for p in index.policies if "Ingress" in p.policy_types}
    admin = index.admin
    denying = any(
        any(r.action == "Deny" for r in p.ingress)
        for p in (*admin.policies, *((admin.baseline,) if admin.baseline else ()))
    )
    selecting = index.selecting_all
    for pod in pods:
        found = selecting.get((pod.namespace, pod.name))
        names = [names_of[id(p)] for p in found if id(p) in names_of] if found else []
        if denying:
            names += [
                str(p)
                for p in admin.applying(pod)
                if any(r.action == "Deny" for r in p.ingress)
                and (p.tier == "AdminNetworkPolicy" or not names)
            ]
        if names:
            out[f"{pod.namespace}/{pod.name}"] = names
    return out


IngressMark = Literal["plugin-unknown", "admits-all", "isolated"]


class Isolation(Value, frozen=True):
    """For `map`: which backend pods policies restrict for ingress, and whether that is known.

    `state` is the snapshot's `network_policy_state`, `admin_state` the worst of its two
    AdminNetworkPolicy states: a `state` other than "read", or an `admin_state` other than
    "read"/"absent", means the marks are unknown (no pod is shown as isolated, and none as open
    either).
    """

    state: str
    by_pod: dict[str, tuple[str, ...]]
    admin_state: str = "absent"
    # The network plugin's policies (issue 23): the snapshot's state and objects, and for each
    # pod (`ns/name`) where they may apply, why its marks are unknown (`policy.plugin`).
    plugin_state: str = "absent"
    plugin_policies: tuple[PluginPolicy, ...] = ()
    plugin_unknown: dict[str, str] = msgspec.field(default_factory=dict)
    # Pods of `by_pod` whose NetworkPolicies admit every source on every port (a rule `{}`)
    # and that no AdminNetworkPolicy denies, with those policies: selected, nothing denied.
    admits_all: dict[str, tuple[str, ...]] = msgspec.field(default_factory=dict)

    @property
    def known(self) -> bool:
        return self.state == "read" and self.admin_state in ("read", "absent")

    def ingress_mark(self, pod: str) -> IngressMark | None:
        """What ingress policies do at `pod` (`ns/name`), for every format's mark; None: nothing.

        A plugin's policy that may apply makes it unknown; else an isolating pod is either
        admitted everything (a rule `{}`) or isolated.
        """
        if pod in self.plugin_unknown:
            return "plugin-unknown"
        if not self.known or pod not in self.by_pod:
            return None
        return "admits-all" if pod in self.admits_all else "isolated"

    def known_at(self, pod: str) -> bool:
        """Whether the marks of one pod (`ns/name`) are known: no plugin policy may apply."""
        return self.known and pod not in self.plugin_unknown


def _admin_state(snapshot: Snapshot) -> str:
    states = (snapshot.admin_network_policy_state, snapshot.baseline_admin_network_policy_state)
    for bad in ("forbidden", "not-read", "read"):
        if bad in states:
            return bad
    return "absent"


def backend_isolation(
    snapshot: Snapshot, pods: Iterable[Pod], index: SelectorIndex[Pod] | None = None
) -> Isolation:
    """The ingress isolation of `pods` (the backends of a map), one `PolicyIndex` per run.

    With no policies read nothing is isolated and the index is never built (map stays as fast
    as without policies); otherwise each policy is one selector query and each pod one lookup.
    """
    state, admin = snapshot.network_policy_state, _admin_state(snapshot)
    pods = list(pods)
    plugins = PluginIndex(snapshot)
    plugin: dict[str, str] = {}
    if not plugins.inert:
        for pod in pods:
            why = plugins.unknown(pod)
            if why is not None:
                plugin[f"{pod.namespace}/{pod.name}"] = why.reason
    plugin_state, plugin_policies = snapshot.plugin_policy_state, snapshot.plugin_policies
    unread = state != "read" or admin not in ("read", "absent")
    if unread or not (
        snapshot.network_policies
        or snapshot.admin_network_policies
        or snapshot.baseline_admin_network_policies
    ):
        return Isolation(state, {}, admin, plugin_state, plugin_policies, plugin)
    idx = PolicyIndex(snapshot, index)
    by_pod = {k: tuple(v) for k, v in isolated_for_ingress(idx, pods).items()}
    # Where a plugin's policy may apply, that nothing is denied is not known.
    admits = {k: v for k, v in _admitting_all(idx, by_pod).items() if k not in plugin}
    return Isolation(state, by_pod, admin, plugin_state, plugin_policies, plugin, admits)


def _admitting_all(
    index: PolicyIndex, by_pod: dict[str, tuple[str, ...]]
) -> dict[str, tuple[str, ...]]:
    """The pods of `by_pod` that an ingress rule `{}` (every source, every port) admits.

    Rules of the policies selecting a pod add up, so one such rule admits everything whatever
    the others say; an AdminNetworkPolicy's Deny (named in `by_pod`) still denies.
    """
    open_policies = {
        str(p)
        for p in index.policies
        if "Ingress" in p.policy_types and any(not r.peers and not r.ports for r in p.ingress)
    }
    admin = ("AdminNetworkPolicy ", "BaselineAdminNetworkPolicy ")
    return {
        pod: tuple(n for n in names if n in open_policies)
        for pod, names in by_pod.items()
        if any(n in open_policies for n in names) and not any(n.startswith(admin) for n in names)
    }


def _block_empty(block: IPBlock) -> bool:
    """An ipBlock whose except list covers its whole CIDR: it matches no address."""
    net = _network(block.cidr)
    if net is None:
        return True
    for ex in block.except_cidrs:
        exn = _network(ex)
        if exn is not None and exn.version == net.version and net.subnet_of(exn):  # type: ignore[arg-type]
            return True
    return False


def dead_peer(peer: PolicyPeer) -> str | None:
    """Why a from/to entry can never match anything, or None when it can."""
    if peer.ip_block is not None:
        if _network(peer.ip_block.cidr) is None:
            return f"ipBlock {peer.ip_block.cidr} is not a CIDR"
        if _block_empty(peer.ip_block):
            return f"ipBlock {describe_block(peer.ip_block)} excepts its whole CIDR"
        return None
    for what, sel in (
        ("podSelector", peer.pod_selector),
        ("namespaceSelector", peer.namespace_selector),
    ):
        if sel is not None and not sel.empty and (why := sel.invalid_reason()) is not None:
            return f"{what} is malformed ({why}) and matches nothing"
    return None


class Reach:
    """Whether anyone at all may reach a pod's port, by its ingress rules (for the audit)."""

    def __init__(self, index: PolicyIndex) -> None:
        self.index = index
        self._everyone = LabelSelector()
        self._ns_read = bool(index._ns_labels)
        # Read with -n: other namespaces' labels and pods were read only narrowly, if at all,
        # so whether a namespaceSelector peer selects anyone is not known.
        self._narrow = index.read_namespace is not None
        self._peer_cache: dict[tuple[str, int], Tri] = {}

    def _peer_has_pods(self, peer: PolicyPeer, policy_ns: str) -> Tri:
        key = (policy_ns, id(peer))  # peers live as long as the index
        if key in self._peer_cache:
            return self._peer_cache[key]
        pods_sel = peer.pod_selector or self._everyone
        found: Tri
        if peer.namespace_selector is None:
            found = bool(self.index._pods.select(policy_ns, pods_sel))
        elif not self._ns_read or self._narrow:
            found = None
        else:
            found = any(
                self.index._pods.select(ns, pods_sel)
                for ns, labels in self.index._ns_labels.items()
                if peer.namespace_selector.matches(labels)
            )
        self._peer_cache[key] = found
        return found

    def anyone(self, pod: Pod, port: int, protocol: Protocol) -> Tri:
        """True when some pod or outside client may reach `port` on `pod` by its ingress side.

        False only when the pod is isolated for ingress, no AdminNetworkPolicy or baseline
        ingress rule applies to it, and no rule of its policies admits the port from any peer
        that exists (an ipBlock counts as "someone": an outside client or an
        address of the block); None when it cannot be told (namespace labels unread).
        """
        if self.index.plugin.unknown(pod) is not None:
            return None  # the network plugin's policies may apply: not evaluated
        if self.index.admin.state in ("forbidden", "not-read") or any(
            p.ingress for p in self.index.admin.applying(pod)
        ):
            # An AdminNetworkPolicy may Allow what NetworkPolicies refuse (or the baseline
            # decide): reasoning over the NetworkPolicy rules alone would mislead.
            return None
        # The same preconditions as the verdict of `PolicyIndex.ingress` (issue 23): where
        # trace --from and `kinspect policy` say unknown, so does this.
        if (
            self.index._unread() is not None
            or self.index._outside("networkpolicies", pod.namespace) is not None
        ):
            return None
        policies = self.index.selecting(pod, "ingress")
        if not policies:
            return True
        if pod.host_network:
            return None  # left to the network plugin (see the module docstring)
        result: Tri = False
        for p in policies:
            for rule in p.ingress:
                if not _ports_match(rule.ports, port, protocol, pod):
                    continue
                if not rule.peers:
                    return True
                for peer in rule.peers:
                    if dead_peer(peer) is not None:
                        continue
                    if peer.ip_block is not None:
                        return True
                    has = self._peer_has_pods(peer, p.namespace)
                    if has:
                        return True
                    if has is None:
                        result = None
        return result
