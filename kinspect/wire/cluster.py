"""A whole cluster read: every kind of the registry (`kinds.KINDS`) concurrently into one Snapshot.

What is read is declared in `kinspect.wire.kinds` (one entry per resource kind); `snapshot`
walks that registry and applies what the entries say: optional kinds become warnings when
refused, EndpointSlices fall back to legacy Endpoints, pods are read by their own readers
(namespace by namespace on big clusters, or only the pods a trace touches).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import msgspec

from kinspect.model import policy as model_policy
from kinspect.model import values as model
from kinspect.model.errors import ForbiddenError, KinspectError, NotFoundError
from kinspect.model.snapshot import OUTSIDE_ROUNDS, OutsideRead, Snapshot
from kinspect.path.chain import Index
from kinspect.path.plan import (
    PodQuery,
    escape_field_value,
    impossible_pod,
    is_namespace_name,
    is_service_name,
    service_pods,
)
from kinspect.wire import kinds, raw
from kinspect.wire.connection import Connection
from kinspect.wire.lists import Scope, read_kind, read_pod_queries, read_pod_query, read_pods
from kinspect.wire.transport import fetch_page, threads


def snapshot(
    conn: Connection,
    scope: Scope,
    *,
    with_legacy_endpoints: bool = False,
    narrow_when_forbidden: bool = False,
    pod_queries: Sequence[PodQuery] | None = None,
) -> Snapshot:
    """Read every kind of the registry (`kinspect.wire.kinds.KINDS`) concurrently into one Snapshot.

    Optional kinds that are refused or not served leave their field empty, with a warning
    when their entry names a consequence: nodes (namespace-scoped RBAC often forbids them;
    without them NodePort frontends are unknown), namespaces (quietly). EndpointSlices fall
    back to legacy Endpoints when discovery.k8s.io/v1 is not served or not readable, and
    `endpoint_source` says so. `with_legacy_endpoints` also reads Endpoints beside the slices
    (the audit compares them). `narrow_when_forbidden`: when a cluster-wide read is refused
    (403), read the context's own namespace instead and say so. `pod_queries`: read only the
    pods these select instead of every pod in scope.
    """
    snap = snapshot_scoped(
        conn,
        scope,
        with_legacy_endpoints=with_legacy_endpoints,
        narrow_when_forbidden=narrow_when_forbidden,
        pod_queries=pod_queries,
    )[0]
    # A trace reads its pods in rounds of its own (`pod_queries`): the outside services' too.
    return reach_outside(conn, snap, pods=pod_queries is None)


def snapshot_scoped(
    conn: Connection,
    scope: Scope,
    *,
    with_legacy_endpoints: bool = False,
    narrow_when_forbidden: bool = False,
    pod_queries: Sequence[PodQuery] | None = None,
) -> tuple[Snapshot, Scope]:
    """`snapshot`, and the scope it was read in (the context's namespace when narrowed).

    A watch after the first read (`kinspect ui`) must follow the scope that was read, and the
    resourceVersions kept (`Connection.list_versions`) are those of that scope's LISTs only.
    """
    try:
        return _snapshot(conn, scope, with_legacy_endpoints, pod_queries), scope
    except ForbiddenError as e:
        if not (narrow_when_forbidden and scope.namespace is None and e.status == 403):
            raise
        narrowed = Scope(conn.default_namespace, scope.service, scope.selector)
        if conn.list_versions is not None:
            conn.list_versions.clear()  # the refused read's versions name the other scope
        snap = _snapshot(conn, narrowed, with_legacy_endpoints, pod_queries)
        note = f"{e.message}; read namespace {conn.default_namespace} only"
        return msgspec.structs.replace(snap, warnings=(note, *snap.warnings)), narrowed


def _snapshot(
    conn: Connection,
    scope: Scope,
    with_legacy: bool,
    pod_queries: Sequence[PodQuery] | None,
) -> Snapshot:
    read = [k for k in kinds.KINDS if with_legacy or k is not kinds.ENDPOINTS]
    futures: dict[kinds.Kind[Any, Any], Future[Sequence[model.Value]]] = {}
    fields: dict[str, tuple[model.Value, ...]] = {}
    warnings: list[str] = []
    states: dict[str, str] = {}
    source: model.EndpointSource = "EndpointSlice"
    with threads(len(read) + 1) as pool:
        for kind in read:
            futures[kind] = _submit(pool, conn, kind, scope, pod_queries, futures)
        plugins = pool.submit(plugin_policies, conn, scope)
        # In registry order: when several reads fail, the first one's error is reported.
        for kind, future in futures.items():
            try:
                fields[kind.field] = (*fields.get(kind.field, ()), *future.result())
                if kind.state_field is not None:
                    states[kind.state_field] = "read"
            except KinspectError as e:
                absent = kind.quiet_when_absent and (
                    isinstance(e, NotFoundError)
                    # RBAC answers 403 before the resource is looked up: a namespace-scoped
                    # reader is refused a CRD that is not even installed. Discovery, which
                    # every authenticated user may read, tells the two apart.
                    or (
                        isinstance(e, ForbiddenError)
                        and kind.state_field is not None
                        and served(conn, kind) is False
                    )
                )
                if kind.state_field is not None:
                    # Not served (a CRD not installed): none of it exists.
                    states[kind.state_field] = "absent" if absent else "forbidden"
                refused = isinstance(e, (ForbiddenError, NotFoundError))
                # An optional kind that fails in any way leaves its field empty; a fallback
                # replaces a kind that is refused or not served.
                if not (kind.optional or (kind.fallback and refused)):
                    raise
                if absent:
                    pass  # the API is not installed: nothing of it exists, nothing is hidden
                elif kind.consequence is not None:
                    warnings.append(f"{e.message}; {kind.consequence}")
                elif not refused:
                    warnings.append(f"{e.message}; {kind.plural} not used")
                if kind.fallback is not None:
                    # The fallback's values fill this field, and only this one: taken from
                    # its own read when it was read beside (and got something), else read now.
                    done = fields.pop(kind.fallback.field, ())
                    fields[kind.field] = done or tuple(read_kind(conn, kind.fallback, scope))
                    source = "Endpoints"  # the one fallback there is: EndpointSlices → Endpoints
        plugin_fields, plugin_warnings = plugins.result()
    warnings += plugin_warnings
    groups = fields.get("endpoint_groups", ())
    warnings += impossible_pods(g for g in groups if isinstance(g, model.EndpointGroup))
    snap = Snapshot(
        conn.context,
        endpoint_source=source,
        warnings=tuple(warnings),
        read_namespace=scope.namespace,
    )
    return msgspec.structs.replace(snap, **fields, **states, **plugin_fields)


# The warning's tail when a plugin policy kind, or discovery itself, could not be read.
PLUGIN_CONSEQUENCE = "policy verdicts where {} may apply are unknown"


def plugin_policies(conn: Connection, scope: Scope) -> tuple[dict[str, Any], list[str]]:
    """The network plugin's policies (Cilium, Calico, Antrea) by name: Snapshot fields, warnings.

    One discovery request (GET /apis, which every authenticated user may read) says which of
    their groups are served; only those kinds are listed, in scope (-n: the namespace; the
    cluster-wide kinds whole). A kind refused or failed is recorded with its error (verdicts
    where it may apply are "unknown, because it could not be read"); one not served (404: its
    CRD is not installed although its group is) does not exist.
    """
    try:
        body = fetch_page(conn, "/apis", "API groups", "(discovery)", None, paged=False)
        doc = msgspec.json.decode(body, type=raw.APIGroupList)
    except KinspectError as e:
        return {"plugin_policy_state": "forbidden"}, [
            f"{e.message}; {PLUGIN_CONSEQUENCE.format('network plugin policies')}"
        ]
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
        why = f"the API server {conn.server} sent a malformed API group list"
        return {"plugin_policy_state": "forbidden"}, [
            f"{why}; {PLUGIN_CONSEQUENCE.format('network plugin policies')}"
        ]
    served = {
        g.name: {v.version for v in g.versions or ()}
        for g in doc.groups or ()
        if g.name in kinds.PLUGIN_GROUPS
    }
    found: list[model_policy.PluginPolicy] = []
    read: list[model_policy.PluginKindRead] = []
    warnings: list[str] = []
    for pk, version in kinds.plugin_kinds_served(served):
        record = model_policy.PluginKindRead(pk.group, version, pk.kind, pk.plural, pk.namespaced)
        try:
            found += read_kind(conn, pk.at(version), scope, record=False)
        except NotFoundError:
            continue  # the group is served, this kind's CRD is not installed: none exist
        except KinspectError as e:
            record = msgspec.structs.replace(record, error=e.message)
            warnings.append(f"{e.message}; {PLUGIN_CONSEQUENCE.format(record.words)}")
        read.append(record)
    state = "forbidden" if any(r.error for r in read) else "read" if read else "absent"
    fields = {
        "plugin_policy_state": state,
        "plugin_policy_kinds": tuple(read),
        "plugin_policies": tuple(found),
    }
    return fields, warnings


# At most this many narrow reads outside the -n namespace per command (pod reads included):
# one route may name any number of namespaces, and each is a LIST. What is left unread is
# "unknown", never missing.
MAX_OUTSIDE_READS = 64
# Concurrent narrow reads outside -n, as for any other set of reads (`read_pod_queries`).
OUTSIDE_THREADS = 8
_CAPPED = f"kinspect reads at most {MAX_OUTSIDE_READS} objects outside -n"

_OUTSIDE: dict[str, kinds.Kind[Any, Any]] = {
    "services": kinds.SERVICES,
    "endpointslices": kinds.ENDPOINT_SLICES,
    "referencegrants": kinds.REFERENCE_GRANTS,
    "gateways": kinds.GATEWAYS,
    "networkpolicies": kinds.NETWORK_POLICIES,
    "namespaces": kinds.NAMESPACES,
}


def reach_outside(conn: Connection, snap: Snapshot, pods: bool = True) -> Snapshot:
    """`snap` (read with -n) with what its answers depend on in other namespaces, read narrowly.

    `Snapshot.needs_outside` names each read: a Service or a Gateway by name, EndpointSlices
    by their service's label, a namespace's ReferenceGrants or NetworkPolicies, a namespace
    by name for its labels; `pods`: the outside services' pods by selector (`path.plan`).
    Each read is recorded in `snap.outside`, with its error when refused or failed: answers
    then say "unknown, because ..." (`Snapshot.unknown`), never "missing". Only get/list.
    """
    for _ in range(OUTSIDE_ROUNDS):
        needs = snap.needs_outside()
        if not needs:
            break
        # Every read outside is recorded once (`outside`), pod reads too: the count so far.
        room = max(MAX_OUTSIDE_READS - len(snap.outside), 0)
        skipped = [msgspec.structs.replace(o, error=_CAPPED) for o in needs[room:]]
        needs = needs[:room]
        with threads(min(max(len(needs), 1), OUTSIDE_THREADS)) as pool:
            futures = [pool.submit(_read_outside, conn, o, snap) for o in needs]
            done = [f.result() for f in futures]
        fields: dict[str, tuple[model.Value, ...]] = {}
        records = list(skipped)
        for o, (field, values, error) in zip(needs, done, strict=True):
            records.append(msgspec.structs.replace(o, error=error))
            fields[field] = (*fields.get(field, getattr(snap, field)), *values)
        snap = msgspec.structs.replace(snap, **fields, outside=(*snap.outside, *records))
        found = [v for o, (_, vs, _) in zip(needs, done, strict=True) if o.kind == "services"
                 for v in vs if isinstance(v, model.Service)]  # fmt: skip
        if pods and found:
            snap = _outside_pods(conn, snap, found)
    return snap


def _read_outside(
    conn: Connection, o: OutsideRead, snap: Snapshot | None = None
) -> tuple[str, list[Any], str | None]:
    """One outside read: the field it fills, its values, and its error (None: read)."""
    if not is_namespace_name(o.namespace):
        # Cluster text (a backendRef's namespace) never becomes part of a request path.
        field = "plugin_policies" if o.kind == "pluginpolicies" else _OUTSIDE[o.kind].field
        return field, [], f"{o.namespace!r} is not a namespace name"
    if o.kind == "pluginpolicies":
        kinds_read = snap.plugin_policy_kinds if snap is not None else ()
        return "plugin_policies", *_plugin_outside(conn, o.namespace, kinds_read)
    kind = _OUTSIDE[o.kind]
    if o.kind in ("services", "endpointslices") and not is_service_name(o.name or ""):
        # No Service can have this name: nothing to read (and the name never reaches a
        # selector), so the read is made, empty, and the backend stays "not found".
        return kind.field, [], None
    try:
        if o.kind == "endpointslices":  # by the kubernetes.io/service-name label
            values = read_kind(conn, kind, Scope(o.namespace, service=o.name))
        elif o.name is not None:  # a Service or a Gateway, by name
            by_name = f"metadata.name={escape_field_value(o.name)}"
            values = read_kind(conn, kind, Scope(o.namespace), fieldSelector=by_name)
        else:  # a namespace's grants or policies; "namespaces": this one by name (BY_NAME)
            values = read_kind(conn, kind, Scope(o.namespace))
    except KinspectError as e:
        return kind.field, [], e.message
    return kind.field, values, None


def _plugin_outside(
    conn: Connection, namespace: str, kinds_read: Sequence[model_policy.PluginKindRead]
) -> tuple[list[Any], str | None]:
    """The namespaced plugin policies of one namespace outside -n: every kind served and read.

    One record for them all: the first kind refused or failed is its error (its verdicts are
    then unknown, `policy.plugin`).
    """
    values: list[Any] = []
    for k in kinds_read:
        if not k.namespaced or k.error is not None:
            continue
        pk = next(
            p for p in kinds.PLUGIN_POLICY_KINDS if (p.group, p.plural) == (k.group, k.plural)
        )
        try:
            values += read_kind(conn, pk.at(k.version), Scope(namespace), record=False)
        except NotFoundError:
            continue  # removed since: none exist
        except KinspectError as e:
            return [], e.message
    return values, None


def _outside_pods(conn: Connection, snap: Snapshot, services: list[model.Service]) -> Snapshot:
    """The pods of services read outside the -n namespace (their selectors, else names)."""
    idx = Index.of(snap)
    queries = list(dict.fromkeys(q for s in services for q in service_pods(idx, s, ())))
    return with_pods(conn, snap, queries)


def with_pods(conn: Connection, snap: Snapshot, queries: Sequence[PodQuery]) -> Snapshot:
    """`snap` with the pods `queries` select; those outside its -n namespace read narrowly.

    A query in the -n namespace (or in every namespace) fails the command as any read does.
    One in another namespace counts against `MAX_OUTSIDE_READS` and is recorded in `outside`
    (`OutsideRead("pods", ...)`) with its error, never raised: its pods are then "not read,
    unknown because ...", never missing. A namespace whose pods were refused is not asked again.
    """
    ns = snap.read_namespace
    inside = [q for q in queries if ns is None or q.namespace in (None, ns)]
    refused = {o.namespace for o in snap.outside if o.kind == "pods" and o.error is not None}
    away = [q for q in queries if q not in inside and q.namespace not in refused]
    known = {p.ref for p in snap.pods}
    found = read_pod_queries(conn, inside) if inside else []
    room = max(MAX_OUTSIDE_READS - len(snap.outside), 0)
    records = [_pod_read(q, _CAPPED) for q in away[room:]]
    away = away[:room]
    if away:
        with threads(min(len(away), OUTSIDE_THREADS)) as pool:
            done = list(pool.map(lambda q: _read_pods_outside(conn, q), away))
        for q, (pods, error) in zip(away, done, strict=True):
            records.append(_pod_read(q, error))
            found += pods
    more = list({p.ref: p for p in found if p.ref not in known}.values())
    return msgspec.structs.replace(
        snap, pods=(*snap.pods, *more), outside=(*snap.outside, *records)
    )


def _read_pods_outside(conn: Connection, q: PodQuery) -> tuple[list[model.Pod], str | None]:
    try:
        return read_pod_query(conn, q), None
    except KinspectError as e:
        return [], e.message


def _pod_read(q: PodQuery, error: str | None) -> OutsideRead:
    """The record of one pod read outside -n: by name (`path.plan`'s by-name query), or all."""
    field = q.field_selector or ""
    name = field.removeprefix("metadata.name=") if field.startswith("metadata.name=") else None
    return OutsideRead("pods", q.namespace or "", name, error=error)


# Odd targetRefs named in warnings; the rest are counted.
ODD_REFS_NAMED = 3


def impossible_pods(groups: Iterable[model.EndpointGroup]) -> list[str]:
    """Warnings for endpoints whose targetRef names a pod that cannot exist (never read).

    The API server does not validate an EndpointSlice's targetRef: its namespace may hold '/'.
    Such an endpoint is still the service's (kube-proxy ignores targetRef), its pod missing.
    """
    odd: dict[model.PodRef, tuple[model.EndpointGroup, str]] = {}
    for g in groups:
        for e in g.endpoints:
            if e.pod is not None and e.pod not in odd and (why := impossible_pod(e.pod)):
                odd[e.pod] = (g, why)
    out = [
        f"endpoint slice {g.namespace}/{g.name} of service {g.namespace}/{g.service} names a "
        f"pod that cannot exist ({why}); its endpoint is shown with its pod missing"
        for g, why in list(odd.values())[:ODD_REFS_NAMED]
    ]
    if len(odd) > ODD_REFS_NAMED:
        out.append(f"{len(odd) - ODD_REFS_NAMED} more endpoints name pods that cannot exist")
    return out


def served(conn: Connection, kind: kinds.Kind[Any, Any]) -> bool | None:
    """Whether the API server serves `kind` (its group/version's discovery document lists it).

    None when discovery cannot tell (refused, failed): the caller keeps what it knew.
    """
    try:
        body = fetch_page(conn, kind.group, kind.group, "(discovery)", None, paged=False)
        doc = msgspec.json.decode(body, type=raw.APIResourceList)
    except NotFoundError:
        return False  # the group/version is not served at all
    except (KinspectError, msgspec.ValidationError, msgspec.DecodeError, RecursionError):
        return None
    return any(r.name == kind.plural for r in doc.resources or ())


def _submit(
    pool: ThreadPoolExecutor,
    conn: Connection,
    kind: kinds.Kind[Any, Any],
    scope: Scope,
    pod_queries: Sequence[PodQuery] | None,
    submitted: dict[kinds.Kind[Any, Any], Future[Sequence[model.Value]]],
) -> Future[Sequence[model.Value]]:
    """Start reading one kind. Pods have their own readers (by query, or split by namespace)."""
    if kind is not kinds.PODS:
        return pool.submit(read_kind, conn, kind, scope)
    if pod_queries is not None:
        return pool.submit(read_pod_queries, conn, pod_queries)
    listing = submitted.get(kinds.NAMESPACES)  # submitted first, see kinds.KINDS
    if scope.namespace is not None or listing is None:
        return pool.submit(read_pods, conn, scope.namespace)

    # Every namespace is being read for the snapshot: read_pods' split needs no LIST of its own.
    def names() -> list[str]:
        return [n.name for n in listing.result() if isinstance(n, model.Namespace)]

    return pool.submit(read_pods, conn, None, names)
