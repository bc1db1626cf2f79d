"""The network plugin's policies (issue 23 item 8): detected through discovery, not evaluated.

Where a CiliumNetworkPolicy, a Calico (Global)NetworkPolicy or an Antrea (Cluster)NetworkPolicy
may select a pod, every verdict at that pod is "unknown", naming them; refused or not looked
for is "unknown" too, never "allowed".
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec
import pytest

from kinspect.model.errors import ExitCode, ForbiddenError, NotFoundError, ServerError
from kinspect.model.policy import PluginKindRead, PluginPolicy
from kinspect.model.snapshot import OutsideRead, Snapshot
from kinspect.policy.netpol import PolicyIndex, backend_isolation
from kinspect.policy.peer import Peer
from kinspect.wire import cluster, connection, kinds
from kinspect.wire.lists import Scope
from tests.schema import validate
from tests.unit.builders import pod
from tests.unit.runner import invoke
from tests.unit.test_trace_from import _save, _world

CNP = PluginPolicy("cilium.io", "CiliumNetworkPolicy", "ns", "allow-web")
CCNP = PluginPolicy("cilium.io", "CiliumClusterwideNetworkPolicy", "", "lockdown")
CALICO = PluginPolicy("crd.projectcalico.org", "NetworkPolicy", "other", "calico-np")
CILIUM_KINDS = (
    PluginKindRead("cilium.io", "v2", "CiliumNetworkPolicy", "ciliumnetworkpolicies", True),
    PluginKindRead(
        "cilium.io", "v2", "CiliumClusterwideNetworkPolicy", "ciliumclusterwidenetworkpolicies",
        False,
    ),
)  # fmt: skip
MSG = "unknown: CiliumNetworkPolicy ns/allow-web may also apply (plugin policies are not evaluated)"


def _plugins(*policies: PluginPolicy, state: str = "read", kinds: Any = CILIUM_KINDS) -> Snapshot:
    return msgspec.structs.replace(
        _world(), plugin_policy_state=state, plugin_policy_kinds=kinds, plugin_policies=policies
    )


# --- verdicts -------------------------------------------------------------------------------


def test_a_namespaced_plugin_policy_makes_both_sides_at_its_namespace_unknown() -> None:
    s = _plugins(CNP, CALICO)
    idx = PolicyIndex(s)
    pods = {p.name: p for p in s.pods}
    shop, web = Peer.of_pod(pods["shop-0"]), Peer.of_pod(pods["web-a"])
    v = idx.check(shop, web, 8080)
    assert v.verdict == "unknown"
    for side in (v.ingress, v.egress):  # the destination's ingress and the source's egress
        assert side.verdict == "unknown"
        assert side.reason == (
            "CiliumNetworkPolicy ns/allow-web may also apply (plugin policies are not evaluated)"
        )
        assert side.plugin_policies == (CNP,)
    # The NetworkPolicy that isolates web-a is still named; Calico's in "other" is not.
    assert v.ingress.isolating == ("ns/web-from-shop",)
    # An outside client has no egress side of its own: only web-a's ingress is unknown.
    out = idx.check(Peer.outside(), web, 8080)
    assert (out.egress.verdict, out.ingress.verdict) == ("allowed", "unknown")


def test_a_pod_of_a_namespace_without_plugin_policies_keeps_its_verdict() -> None:
    other = pod("api-0", "10.244.0.9", ns="other", labels={"app": "api"})
    lone = pod("lone-0", "10.244.0.10", ns="lone", labels={"app": "api"})
    s = msgspec.structs.replace(_plugins(CALICO), pods=(*_world().pods, other, lone))
    idx = PolicyIndex(s)
    assert idx.check(Peer.of_pod(lone), Peer.of_pod(lone), 80).verdict == "allowed"
    v = idx.check(Peer.of_pod(lone), Peer.of_pod(other), 80)
    assert v.verdict == "unknown"
    assert v.ingress.reason == (
        "Calico NetworkPolicy other/calico-np may also apply (plugin policies are not evaluated)"
    )
    assert v.egress.verdict == "allowed"


def test_a_cluster_wide_plugin_policy_may_apply_to_every_pod() -> None:
    s = _plugins(CCNP)
    idx = PolicyIndex(s)
    for p in s.pods:
        side = idx.ingress(p, Peer.outside(), 8080)
        assert side.verdict == "unknown"
        assert side.reason == (
            "CiliumClusterwideNetworkPolicy lockdown may also apply (plugin policies are not "
            "evaluated)"
        )


def test_many_plugin_policies_are_named_a_few_then_counted() -> None:
    many = tuple(PluginPolicy("cilium.io", "CiliumNetworkPolicy", "ns", f"p{i}") for i in range(7))
    side = PolicyIndex(_plugins(*many)).ingress(_world().pods[0], Peer.outside(), 8080)
    assert side.reason is not None
    assert side.reason.startswith("CiliumNetworkPolicy ns/p0, CiliumNetworkPolicy ns/p1, ")
    assert "ns/p4 and 2 more may also apply" in side.reason
    assert len(side.plugin_policies) == 7


@pytest.mark.parametrize(
    ("state", "kinds", "reason"),
    [
        (
            "forbidden",
            (
                CILIUM_KINDS[0],
                msgspec.structs.replace(CILIUM_KINDS[1], error="context c may not list (403)"),
            ),
            "CiliumClusterwideNetworkPolicies could not be read",
        ),
        (
            "forbidden",
            (),
            "the API groups could not be read, so network plugin policies (Cilium, Calico, "
            "Antrea) were not looked for",
        ),
        (
            "not-read",
            (),
            "network plugin policies (Cilium, Calico, Antrea) were not looked for (a snapshot "
            "from before kinspect read them)",
        ),
    ],
)
def test_plugin_policies_not_read_make_every_verdict_unknown(
    state: str, kinds: Any, reason: str
) -> None:
    s = _plugins(state=state, kinds=kinds)
    idx = PolicyIndex(s)
    shop, web = (Peer.of_pod(p) for p in s.pods[1::-1])
    v = idx.check(shop, web, 8080)
    assert (v.verdict, v.ingress.reason, v.egress.reason) == ("unknown", reason, reason)


def test_absent_or_read_and_empty_changes_nothing() -> None:
    for state in ("absent", "read"):
        s = _plugins(state=state)
        shop, web = (Peer.of_pod(p) for p in s.pods[1::-1])
        v = PolicyIndex(s).check(shop, web, 8080)
        assert v.verdict == "allowed"
        assert v.ingress.allowed_by[0].policy == "web-from-shop"


def test_read_with_n_another_namespaces_plugin_policies_are_unknown() -> None:
    other = pod("api-0", "10.244.0.9", ns="other", labels={"app": "api"})
    s = msgspec.structs.replace(
        _plugins(),
        pods=(*_world().pods, other),
        read_namespace="ns",
        # Its NetworkPolicies were read narrowly (issue 22); its plugin policies were not.
        outside=(OutsideRead("networkpolicies", "other"),),
    )
    assert s.needs_outside() == [
        OutsideRead("namespaces", "other"),
        OutsideRead("pluginpolicies", "other"),
    ]
    side = PolicyIndex(s).ingress(other, Peer.outside(), 80)
    assert side.verdict == "unknown"
    assert side.reason == (
        "unknown, because namespace other was not read (-n ns): the CiliumNetworkPolicies of "
        "namespace other"
    )
    # Read narrowly (wire.cluster.reach_outside): what it found decides.
    read = msgspec.structs.replace(s, outside=(*s.outside, OutsideRead("pluginpolicies", "other")))
    assert PolicyIndex(read).ingress(other, Peer.outside(), 80).verdict == "allowed"
    theirs = msgspec.structs.replace(read, plugin_policies=(CALICO,))
    assert PolicyIndex(theirs).ingress(other, Peer.outside(), 80).plugin_policies == (CALICO,)
    refused = OutsideRead("pluginpolicies", "other", error="context c may not list (403)")
    failed = msgspec.structs.replace(s, outside=(*s.outside, refused))
    assert PolicyIndex(failed).ingress(other, Peer.outside(), 80).reason == (
        "unknown, because context c may not list (403): the CiliumNetworkPolicies of namespace "
        "other"
    )


def test_map_marks_are_unknown_where_plugin_policies_may_apply() -> None:
    s = _plugins(CNP)
    iso = backend_isolation(s, s.pods)
    assert not iso.known_at("ns/web-a")
    assert iso.plugin_unknown["ns/web-a"] == (
        "CiliumNetworkPolicy ns/allow-web may also apply (plugin policies are not evaluated)"
    )
    assert iso.by_pod == {"ns/web-a": ("ns/web-from-shop",)}


# --- the commands ---------------------------------------------------------------------------


def test_trace_from_says_unknown_naming_the_plugin_policy(tmp_path: Path) -> None:
    path = _save(tmp_path, _plugins(CNP))
    r = invoke("trace", "10.96.0.10:80", "--from", "ns/shop-0", "--snapshot", path)
    assert r.code == ExitCode.OK, r.stderr
    assert "unknown  ns/web-a:8080/TCP" in r.stdout
    assert f"ingress: {MSG}" in r.stdout
    assert f"egress: {MSG}" in r.stdout
    doc = json.loads(
        invoke(
            "trace", "10.96.0.10:80", "--from", "ns/shop-0", "--snapshot", path, "-o", "json"
        ).stdout
    )
    validate(doc, "trace-report.json")
    (hop,) = doc["policy"]["hops"]
    assert hop["verdict"] == "unknown"
    assert hop["ingress"]["pluginPolicies"] == [
        {"group": "cilium.io", "kind": "CiliumNetworkPolicy", "namespace": "ns",
         "name": "allow-web"}
    ]  # fmt: skip


def test_policy_and_map_json_name_the_plugin_policies(tmp_path: Path) -> None:
    path = _save(tmp_path, _plugins(CNP, CCNP))
    r = invoke("policy", "ns/web-a", "--snapshot", path)
    assert "unknown: CiliumNetworkPolicy ns/allow-web, CiliumClusterwideNetworkPolicy lockdown" \
        " may also apply" in r.stdout  # fmt: skip
    doc = json.loads(invoke("policy", "ns/web-a", "--snapshot", path, "-o", "json").stdout)
    validate(doc, "policy-access.json")
    (a,) = doc["pods"]
    assert a["pluginPolicyState"] == "read"
    assert [p["name"] for p in a["pluginPolicies"]] == ["allow-web", "lockdown"]
    assert a["pluginPolicies"][1]["namespace"] is None
    doc = json.loads(invoke("map", "--snapshot", path, "-n", "ns", "-o", "json").stdout)
    validate(doc, "chain-report.json")
    np = doc["networkPolicies"]
    assert np["pluginPolicyState"] == "read"
    assert [p["kind"] for p in np["pluginPolicies"]] == [
        "CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy"
    ]  # fmt: skip
    assert np["pluginUnknown"][0]["pod"] == {"namespace": "ns", "name": "web-a"}
    wide = invoke("map", "--snapshot", path, "-n", "ns", "-o", "wide").stdout
    row = next(line for line in wide.splitlines() if "web-a" in line)
    assert row.rstrip().endswith("unknown")


def test_old_snapshot_files_without_the_fields_load_and_say_unknown(tmp_path: Path) -> None:
    path = tmp_path / "old.json.gz"
    snap = json.loads(msgspec.json.encode(_world()))
    for key in [k for k in snap if "plugin" in k.lower()]:
        del snap[key]
    doc = {"apiVersion": "kinspect/v1", "kind": "Snapshot", "snapshot": snap}
    path.write_bytes(gzip.compress(json.dumps(doc).encode()))
    r = invoke("trace", "10.96.0.10:80", "--from", "ns/shop-0", "--snapshot", str(path))
    assert r.code == ExitCode.OK, r.stderr
    assert "unknown  ns/web-a:8080/TCP" in r.stdout
    assert (
        "ingress: unknown: network plugin policies (Cilium, Calico, Antrea) were not looked for "
        "(a snapshot from before kinspect read them)"
    ) in r.stdout


def test_plugin_policy_names_are_escaped_in_output(tmp_path: Path) -> None:
    odd = PluginPolicy("cilium.io", "CiliumNetworkPolicy", "ns", "x\x1b[31mred[/]")
    path = _save(tmp_path, _plugins(odd))
    r = invoke("trace", "10.96.0.10:80", "--from", "ns/shop-0", "--snapshot", path)
    assert "\x1b" not in r.stdout
    assert "CiliumNetworkPolicy ns/x" in r.stdout


# --- the read -------------------------------------------------------------------------------


def _groups(*groups: tuple[str, Sequence[str]]) -> bytes:
    return msgspec.json.encode(
        {
            "kind": "APIGroupList",
            "groups": [
                {"name": g, "versions": [{"groupVersion": f"{g}/{v}", "version": v} for v in vs]}
                for g, vs in groups
            ],
        }
    )


def _read(
    monkeypatch: pytest.MonkeyPatch,
    discovery: bytes | Exception,
    lists: dict[str, list[PluginPolicy] | Exception],
    namespace: str | None = None,
) -> tuple[dict[str, Any], list[str], list[str]]:
    """`cluster.plugin_policies` against a fake discovery document and fake LISTs."""
    asked: list[str] = []

    def fetch(conn: object, path: str, *args: object, **kw: object) -> bytes:
        asked.append(path)
        if isinstance(discovery, Exception):
            raise discovery
        return discovery

    def read(conn: object, kind: kinds.Kind[Any, Any], scope: Scope, **kw: object) -> list[Any]:
        assert kw == {"record": False}  # never a resourceVersion for --watch
        asked.append(f"{kind.group}/{kind.plural}")
        found = lists[f"{kind.group}/{kind.plural}"]
        if isinstance(found, Exception):
            raise found
        return found

    monkeypatch.setattr(cluster, "fetch_page", fetch)
    monkeypatch.setattr(cluster, "read_kind", read)
    conn = connection.Connection("c", "https://127.0.0.1:6443", None, "default", 5)
    fields, warnings = cluster.plugin_policies(conn, Scope(namespace))
    return fields, warnings, asked


def test_discovery_is_one_request_and_only_served_groups_are_listed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    body = _groups(
        ("apps", ["v1"]),
        ("cilium.io", ["v2", "v2alpha1"]),
        ("crd.projectcalico.org", ["v1"]),
        ("projectcalico.org", ["v3"]),  # Calico's API server: the same objects, not read twice
        ("crd.antrea.io", ["v1beta1", "v1alpha1"]),
    )
    lists: dict[str, Any] = {
        "/apis/cilium.io/v2/ciliumnetworkpolicies": [CNP],
        "/apis/cilium.io/v2/ciliumclusterwidenetworkpolicies": [CCNP],
        "/apis/crd.projectcalico.org/v1/networkpolicies": [CALICO],
        "/apis/crd.projectcalico.org/v1/globalnetworkpolicies": [],
        # Antrea's group is served (other CRDs of it), its policy CRDs are not installed.
        "/apis/crd.antrea.io/v1beta1/networkpolicies": NotFoundError("404"),
        "/apis/crd.antrea.io/v1beta1/clusternetworkpolicies": NotFoundError("404"),
    }
    fields, warnings, asked = _read(monkeypatch, body, lists)
    assert asked == ["/apis", *lists]
    assert warnings == []
    assert fields["plugin_policy_state"] == "read"
    assert fields["plugin_policies"] == (CNP, CCNP, CALICO)
    assert [(k.group, k.version, k.plural) for k in fields["plugin_policy_kinds"]] == [
        ("cilium.io", "v2", "ciliumnetworkpolicies"),
        ("cilium.io", "v2", "ciliumclusterwidenetworkpolicies"),
        ("crd.projectcalico.org", "v1", "networkpolicies"),
        ("crd.projectcalico.org", "v1", "globalnetworkpolicies"),
    ]


def test_no_plugin_group_served_is_absent_after_one_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fields, warnings, asked = _read(monkeypatch, _groups(("apps", ["v1"])), {})
    assert (fields["plugin_policy_state"], warnings, asked) == ("absent", [], ["/apis"])


def test_calico_v3_alone_and_antrea_v1alpha1_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    body = _groups(("projectcalico.org", ["v3"]), ("crd.antrea.io", ["v1alpha1"]))
    lists: dict[str, Any] = {
        "/apis/projectcalico.org/v3/networkpolicies": [],
        "/apis/projectcalico.org/v3/globalnetworkpolicies": [],
        "/apis/crd.antrea.io/v1alpha1/networkpolicies": [],
        "/apis/crd.antrea.io/v1alpha1/clusternetworkpolicies": [],
    }
    fields, _, asked = _read(monkeypatch, body, lists)
    assert asked == ["/apis", *lists]
    assert fields["plugin_policy_state"] == "read"


def test_a_refused_kind_is_recorded_and_warned_never_none(monkeypatch: pytest.MonkeyPatch) -> None:
    refused = ForbiddenError("context c may not list ciliumclusterwidenetworkpolicies (403)")
    lists: dict[str, Any] = {
        "/apis/cilium.io/v2/ciliumnetworkpolicies": [CNP],
        "/apis/cilium.io/v2/ciliumclusterwidenetworkpolicies": refused,
    }
    fields, warnings, _ = _read(monkeypatch, _groups(("cilium.io", ["v2"])), lists, "ns")
    assert fields["plugin_policy_state"] == "forbidden"
    assert fields["plugin_policy_kinds"][1].error == refused.message
    assert warnings == [
        f"{refused.message}; policy verdicts where CiliumClusterwideNetworkPolicies may apply "
        "are unknown"
    ]
    s = msgspec.structs.replace(_world(), read_namespace="ns", **fields)
    side = PolicyIndex(s).ingress(s.pods[0], Peer.outside(), 8080)
    assert (side.verdict, side.reason) == (
        "unknown",
        "CiliumClusterwideNetworkPolicies could not be read",
    )


@pytest.mark.parametrize(
    "discovery",
    [ForbiddenError("context c may not get /apis (403)"), ServerError("boom"), b"<html>", b"[]"],
)
def test_discovery_that_fails_is_forbidden_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, discovery: bytes | Exception
) -> None:
    fields, warnings, asked = _read(monkeypatch, discovery, {})
    assert fields == {"plugin_policy_state": "forbidden"}
    assert asked == ["/apis"]
    (w,) = warnings
    assert w.endswith("; policy verdicts where network plugin policies may apply are unknown")


def test_policy_objects_are_read_by_name_only() -> None:
    kind = kinds.PLUGIN_POLICY_KINDS[0].at("v2")
    body = msgspec.json.encode(
        {
            "items": [
                {"metadata": {"name": "a", "namespace": "ns"}, "spec": {"deep": [[[[1]]]]}},
                {"metadata": {"namespace": "ns"}},  # no name: not named
            ]
        }
    )
    page = msgspec.json.decode(body, type=kind.list_type)
    named = PluginPolicy("cilium.io", "CiliumNetworkPolicy", "ns", "a")
    assert [kind.convert(i) for i in page.items or ()] == [named, None]


def test_the_matrix_is_unknown_in_a_namespace_with_a_plugin_policy(tmp_path: Path) -> None:
    before = _save(tmp_path, _plugins())
    doc = json.loads(
        invoke("policy", "--matrix", "-n", "ns", "--port", "8080", "--snapshot", before,
               "-o", "json").stdout
    )  # fmt: skip
    assert {c["verdict"] for c in doc["cells"]} == {"allowed", "denied"}
    (tmp_path / "cnp").mkdir()
    path = _save(tmp_path / "cnp", _plugins(CNP))
    doc = json.loads(
        invoke("policy", "--matrix", "-n", "ns", "--port", "8080", "--snapshot", path,
               "-o", "json").stdout
    )  # fmt: skip
    validate(doc, "policy-matrix.json")
    assert {c["verdict"] for c in doc["cells"]} == {"unknown"}


def test_a_side_already_unknown_names_its_cause_then_the_plugins() -> None:
    # A namespace-scoped reader is refused the AdminNetworkPolicies and the cluster-wide plugin
    # kinds alike: both are said, the standard tier's first.
    refused = msgspec.structs.replace(CILIUM_KINDS[1], error="context c may not list (403)")
    s = msgspec.structs.replace(
        _plugins(state="forbidden", kinds=(CILIUM_KINDS[0], refused)),
        admin_network_policy_state="forbidden",
    )
    side = PolicyIndex(s).ingress(s.pods[0], Peer.outside(), 8080)
    assert (side.verdict, side.reason) == (
        "unknown",
        "AdminNetworkPolicies could not be read; CiliumClusterwideNetworkPolicies could not be "
        "read",
    )
