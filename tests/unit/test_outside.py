"""Issue 22 item 6 on plain data: what -n did not read is "unknown", never missing.

A snapshot read with -n A holds what A's answers need in B when it was read narrowly
(`Snapshot.outside`); `Snapshot.unknown` tells an answer whether the absence of something in B
means it does not exist. The cases: a route in A whose backendRef is B's service web.
"""

from __future__ import annotations

import io

import msgspec
import pytest
from rich.console import Console

from kinspect.audit import checks as audit
from kinspect.edge import entry
from kinspect.edge.gateway import RefHop
from kinspect.model.edge import BackendRef, GrantFrom, GrantTo, ParentRef, ReferenceGrant
from kinspect.model.errors import ForbiddenError
from kinspect.model.snapshot import OutsideRead, Snapshot
from kinspect.model.values import Namespace, Pod
from kinspect.path import chain
from kinspect.path.plan import PodQuery
from kinspect.policy.netpol import PolicyIndex
from kinspect.policy.peer import Peer

from .builders import cport, ep, group, pod, snap, sport, svc
from .test_gateway import gw, route, rule

GRANT = ReferenceGrant(
    "b",
    "from-a",
    (GrantFrom("gateway.networking.k8s.io", "HTTPRoute", "a"),),
    (GrantTo("", "Service", "web"),),
)


def whole() -> Snapshot:
    """Every namespace: A's Gateway and route, B's service, its pod and the grant."""
    s = snap(
        services=(svc("web", sport(80, 8080), ns="b", selector={"app": "web"}),),
        groups=(group("web", [(None, 8080, "TCP")], ep("10.244.1.5", "web-0", ns="b"), ns="b"),),
        pods=(pod("web-0", "10.244.1.5", cport("app", 8080), ns="b", labels={"app": "web"}),),
    )
    front = route(
        "front",
        rule(refs=(BackendRef("b", "web", port=80),)),
        ns="a",
        parents=(ParentRef("a", "gw"),),
    )
    return msgspec.structs.replace(
        s,
        gateways=(gw(ns="a"),),
        routes=(front,),
        reference_grants=(GRANT,),
        namespaces=(Namespace("a"), Namespace("b", {"team": "b"})),
        network_policy_state="read",
    )


def _ref(s: Snapshot) -> RefHop:
    res = entry.resolve(chain.Index.of(s), entry.parse_request("http://x.example/"))
    assert res.gateway.hit is not None
    (ref,) = res.gateway.hit.refs
    return ref


def in_a_only(outside: tuple[OutsideRead, ...] = ()) -> Snapshot:
    """What -n A alone reads (the bug: B's grant and service absent), with `outside` records."""
    s = whole()
    return msgspec.structs.replace(
        s,
        services=(),
        endpoint_groups=(),
        pods=(),
        reference_grants=(),
        namespaces=(Namespace("a"),),
        read_namespace="a",
        outside=outside,
    )


def test_unknown_answers_by_what_was_read() -> None:
    s = in_a_only((OutsideRead("referencegrants", "b", error="context c may not list x"),))
    assert s.unknown("services", "a", "web") is None  # the -n namespace itself
    assert s.unknown("referencegrants", "b") == "unknown, because context c may not list x"
    assert s.unknown("services", "b", "web") == "unknown, because namespace b was not read (-n a)"
    assert whole().unknown("services", "b", "web") is None  # every namespace was read
    read = in_a_only((OutsideRead("services", "b", "web"),))
    assert read.unknown("services", "b", "web") is None
    assert read.unknown("services", "b", "other") is not None


def test_needs_outside_names_each_narrow_read_once() -> None:
    s = in_a_only()
    assert [(o.kind, o.namespace, o.name) for o in s.needs_outside()] == [
        ("referencegrants", "b", None),
        ("services", "b", "web"),
        ("endpointslices", "b", "web"),
    ]
    done = msgspec.structs.replace(s, outside=tuple(s.needs_outside()), services=whole().services)
    # B's service is held now: B's labels and policies are the next round.
    assert [(o.kind, o.namespace) for o in done.needs_outside()] == [
        ("namespaces", "b"),
        ("networkpolicies", "b"),
    ]
    assert whole().needs_outside() == []


def test_a_ref_into_b_is_unknown_not_unpermitted_when_b_was_not_read() -> None:
    ref = _ref(in_a_only())
    assert (ref.reason, ref.problem) == (None, None)
    assert ref.unknown == (
        "unknown, because namespace b was not read (-n a): whether a ReferenceGrant in b "
        "permits HTTPRoute from a"
    )
    # Grants read, none permits: that is a real RefNotPermitted.
    ref = _ref(in_a_only((OutsideRead("referencegrants", "b"),)))
    assert ref.reason == "RefNotPermitted"
    # Grants read and one permits, the service not read: unknown, not BackendNotFound.
    s = msgspec.structs.replace(
        in_a_only((OutsideRead("referencegrants", "b"),)), reference_grants=(GRANT,)
    )
    ref = _ref(s)
    assert (ref.reason, ref.unknown) == (
        None,
        "unknown, because namespace b was not read (-n a): service b/web",
    )


def test_narrowing_a_whole_snapshot_keeps_what_a_depends_on_in_b() -> None:
    s = whole().narrow("a")
    assert s.read_namespace == "a"
    assert [(x.namespace, x.name) for x in s.services] == [("b", "web")]
    assert [p.name for p in s.pods] == ["web-0"]
    assert s.reference_grants == (GRANT,)
    assert all(o.error is None for o in s.outside)
    ref = _ref(s)
    assert (ref.reason, ref.unknown, ref.ready) == (None, None, 1)
    # B's service is there for A's route, not as one of A's services.
    assert chain.build(s) == []
    checks = {f.check for f in audit.run(s, [], chain.Index.of(s))}
    assert not checks & {"gateway-ref-not-permitted", "gateway-backend-missing"}, checks


def test_old_snapshot_files_load_as_read_in_every_namespace() -> None:
    doc = msgspec.json.encode(whole())
    new = b',"readNamespace":null,"outside":[]'
    assert new in doc
    old = msgspec.json.decode(doc.replace(new, b""), type=Snapshot)
    assert (old.read_namespace, old.outside) == (None, ())
    assert old == whole()


def test_a_verdict_at_a_pod_whose_namespace_policies_were_not_read_is_unknown() -> None:
    s = whole().narrow("a")
    web = s.pods[0]
    index = PolicyIndex(s)
    # B's policies were read (none): allowed, truly.
    assert index.check(Peer.outside(), Peer.of_pod(web), 8080).verdict == "allowed"
    refused = msgspec.structs.replace(
        s,
        outside=tuple(
            msgspec.structs.replace(o, error="context c may not list networkpolicies in b")
            if o.kind == "networkpolicies"
            else o
            for o in s.outside
        ),
    )
    v = PolicyIndex(refused).check(Peer.outside(), Peer.of_pod(web), 8080)
    assert v.verdict == "unknown"
    assert v.ingress.reason == (
        "unknown, because context c may not list networkpolicies in b: the NetworkPolicies of "
        "namespace b"
    )


def _round_trip(s: Snapshot) -> Snapshot:
    """`snapshot save` then load: the file's JSON, decoded."""
    return msgspec.json.decode(msgspec.json.encode(s), type=Snapshot)


def test_a_file_saved_with_n_a_narrowed_to_a_keeps_what_it_read_in_b() -> None:
    # B1: `snapshot save -n A`, then `trace URL --snapshot F -n A` (or audit, map).
    saved = _round_trip(whole().narrow("a"))
    s = saved.narrow("a")
    assert [(x.namespace, x.name) for x in s.services] == [("b", "web")]
    assert [p.name for p in s.pods] == ["web-0"]
    assert s.reference_grants == (GRANT,)
    ref = _ref(s)
    assert (ref.reason, ref.problem, ref.unknown, ref.ready) == (None, None, None, 1)
    checks = {f.check for f in audit.run(s, [], chain.Index.of(s))}
    assert not checks & {"gateway-ref-not-permitted", "gateway-backend-missing"}, checks


def test_narrowing_never_keeps_a_read_of_b_whose_objects_it_dropped() -> None:
    # B1: the file read with -n A holds no grant of B (its read was refused): still unknown.
    refused = (OutsideRead("referencegrants", "b", error="context c may not list x"),)
    s = _round_trip(in_a_only(refused)).narrow("a")
    assert _ref(s).unknown is not None
    assert _ref(s).reason is None
    # A file read in every namespace, narrowed to the service only: B's service is still there.
    s = whole().narrow("a").narrow(None, "front")
    assert [(x.namespace, x.name) for x in s.services] == [("b", "web")]


def test_narrowing_a_file_read_with_n_b_to_a_warns_that_a_was_not_read() -> None:
    s = whole().narrow("b").narrow("a")
    assert any("-n b" in w and "namespace a" in w for w in s.warnings), s.warnings


def test_a_backend_pod_in_b_whose_read_was_refused_is_not_read_not_missing() -> None:
    # B3: B's service and slices were read, its pods refused: the pod is not known missing.
    why = "context c may not list pods in namespace b (403 Forbidden)"
    s = msgspec.structs.replace(
        whole().narrow("a"),
        pods=(),
        outside=(
            *(o for o in whole().narrow("a").outside if o.kind != "pods"),
            OutsideRead("pods", "b", error=why),
        ),
    )
    ref = _ref(s)
    assert ref.port is not None
    (b,) = ref.port.backends
    assert (b.pod_found, b.pod_unknown) == (False, f"unknown, because {why}")
    from kinspect.render import tree

    text = tree._backend_label(b).plain
    assert "missing" not in text, text
    assert f"not read: unknown, because {why}" in text, text
    # Read, and really absent: missing.
    gone = msgspec.structs.replace(whole().narrow("a"), pods=())
    (b,) = _ref(gone).port.backends  # type: ignore[union-attr]
    assert (b.pod_found, b.pod_unknown) == (False, None)


REFUSED = "context c may not list pods in namespace b (403 Forbidden)"


def _refuse_pods_in_b(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pod reads in b are refused (RBAC lets services and slices in b, not pods)."""
    from kinspect.wire import cluster, lists

    def read(conn: object, queries: list[PodQuery]) -> list[Pod]:
        if any(q.namespace == "b" for q in queries):
            raise ForbiddenError(REFUSED)
        return []

    monkeypatch.setattr(lists, "read_pod_queries", read)
    monkeypatch.setattr(cluster, "read_pod_queries", read)
    monkeypatch.setattr(cluster, "read_pod_query", lambda conn, q: read(conn, [q]), raising=False)


def _backend_of(s: Snapshot) -> tuple[bool, str | None]:
    ref = _ref(s)
    assert ref.port is not None
    (b,) = ref.port.backends
    return b.pod_found, b.pod_unknown


def test_trace_rounds_record_a_refused_pod_read_in_b_not_fail(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # B3: `trace URL -n a` exited 5 (FORBIDDEN) on reading the pods of b's backend Service.
    from kinspect.commands import trace
    from kinspect.edge import plan as edge_plan
    from kinspect.wire import cluster

    _refuse_pods_in_b(monkeypatch)
    read = msgspec.structs.replace(whole().narrow("a"), pods=())
    read = msgspec.structs.replace(read, outside=tuple(o for o in read.outside if o.kind != "pods"))
    monkeypatch.setattr(cluster, "snapshot", lambda *a, **k: read)
    req = entry.parse_request("http://x.example/")
    s = trace._read_in_rounds(
        None,  # type: ignore[arg-type]
        "a",
        [],
        lambda snap, done: edge_plan.entry_pods_needed(snap, req, done),
    )
    assert _backend_of(s) == (False, f"unknown, because {REFUSED}")


def test_outside_pods_records_a_refused_read_not_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    # B3: `_outside_pods` swallowed the error, and the backend showed its pod missing.
    from kinspect.wire import cluster

    _refuse_pods_in_b(monkeypatch)
    read = msgspec.structs.replace(whole().narrow("a"), pods=())
    read = msgspec.structs.replace(read, outside=tuple(o for o in read.outside if o.kind != "pods"))
    s = cluster._outside_pods(None, read, list(read.services))  # type: ignore[arg-type]
    assert _backend_of(s) == (False, f"unknown, because {REFUSED}")


GW_REFUSED = "context c may not list gateways in namespace b (403 Forbidden)"


def _parent_in_b(outside: tuple[OutsideRead, ...]) -> Snapshot:
    """A's route front, whose parent is Gateway b/gw: not held, for the reason `outside` says."""
    s = whole().narrow("a")
    front = route(
        "front",
        rule(refs=(BackendRef("b", "web", port=80),)),
        ns="a",
        parents=(ParentRef("b", "gw"),),
    )
    return msgspec.structs.replace(s, gateways=(), routes=(front,), outside=(*s.outside, *outside))


def test_a_parent_gateway_in_b_that_was_not_read_is_unknown_not_missing() -> None:
    # B2: "NoMatchingParent: Gateway b/gw not found", an audit finding, and map silent.
    from kinspect.edge import gateway
    from kinspect.edge.gateway import attachments
    from kinspect.render import tree

    s = _parent_in_b((OutsideRead("gateways", "b", "gw", error=GW_REFUSED),))
    idx = chain.Index.of(s)
    (att,) = attachments(idx).items
    assert (att.reason, att.attached) == (None, False)
    assert att.unknown == f"unknown, because {GW_REFUSED}: Gateway b/gw"
    checks = {f.check for f in audit.run(s, [], idx)}
    assert "gateway-route-not-attached" not in checks, checks
    res = entry.resolve(idx, entry.parse_request("http://x.example/"))
    assert [a.unknown for a in res.gateway.unattached] == [att.unknown]
    console = Console(file=io.StringIO(), width=300, color_system=None)
    console.print(tree.entry_tree(res))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "not found" not in text
    assert f"unknown, because {GW_REFUSED}" in text
    assert gateway.unknown_parents(idx) == [
        f"HTTPRoute a/front: its parent is unknown, because {GW_REFUSED}: Gateway b/gw"
    ]
    # Read, and absent: NoMatchingParent, truly.
    s = _parent_in_b((OutsideRead("gateways", "b", "gw"),))
    (att,) = attachments(chain.Index.of(s)).items
    assert (att.reason, att.unknown) == ("NoMatchingParent", None)


def test_ips_in_a_lists_no_address_read_in_b_only_for_a() -> None:
    # B5: `ips -n a` listed b's service, pod and gateway read only to answer for a.
    from kinspect.path.inventory import inventory

    s = msgspec.structs.replace(whole().narrow("a"), gateways=(gw(ns="a"), gw(ns="b")))
    inv = inventory(s)
    assert inv.cluster_ip_services == ()
    assert inv.pods == ()
    assert [e[1] for e in inv.entry_addresses] == ["a/gw"]


@pytest.mark.parametrize("kind", ["services", "endpointslices"])
def test_a_backend_ref_name_no_service_can_have_is_not_sent_but_read_as_none(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # B4: the name went raw into labelSelector kubernetes.io/service-name=<name>.
    from kinspect.wire import cluster

    def never(*a: object, **k: object) -> list[object]:
        raise AssertionError("sent to the API server")

    monkeypatch.setattr(cluster, "read_kind", never)
    o = OutsideRead(kind, "b", "web,app!=x")  # type: ignore[arg-type]
    _field, values, error = cluster._read_outside(None, o)  # type: ignore[arg-type]
    assert (values, error) == ([], None)
