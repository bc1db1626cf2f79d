"""Property-based tests (hypothesis) on every parser of user input and on the wire decoders.

The only outcomes allowed are a result or a documented one-line error: a `KinspectError` for
user input; for the wire decoders, `msgspec.DecodeError`/`ValidationError` (kinspect.wire.lists
turns those into one-line errors naming the resource). Examples per test: the "ci" profile
(tests/unit/conftest.py) in `make unit`, many more in `make fuzz`.
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from collections.abc import Callable
from typing import Any

import msgspec
import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from kinspect.edge import entry
from kinspect.model.errors import ExitCode, KinspectError, ServerError, UsageError
from kinspect.path import trace
from kinspect.wire import auditfiles, connection, kinds, lists, snapshotfile
from tests.unit.builders import snap

from .runner import invoke

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)


def _with_file(data: bytes, check: Callable[[str], object]) -> object:
    fd, path = tempfile.mkstemp()
    try:
        os.write(fd, data)
        os.close(fd)
        return check(path)
    finally:
        os.unlink(path)


# --- trace addresses ------------------------------------------------------------------------


@given(st.text(max_size=300))
@example("10.0.0.1:²")
@example("10.0.0.1:٨٠")
@example("[fd00::1]:" + "9" * 5000)
def test_parse_target_returns_or_is_a_usage_error(text: str) -> None:
    message = ""
    try:
        t = trace.parse_target(text)
    except UsageError as e:
        message = e.message
    else:
        assert t.port is None or 1 <= t.port <= 65535
    assert len(message) < 200  # the echo is cut


@given(st.sampled_from(["10.0.0.1", "[fd00::1]", "web.example.com"]), st.integers(-10, 70000))
def test_ports_in_range_parse_and_others_do_not(host: str, port: int) -> None:
    try:
        t = trace.parse_target(f"{host}:{port}")
    except UsageError:
        assert not 1 <= port <= 65535
    else:
        assert t.port == port


# --- trace URLs -------------------------------------------------------------------------------

# The characters URL parsing turns on, and some that NFKC normalisation maps onto them.
_URL_CHARS = st.sampled_from([*"[]:/?#@%.-_0123456789abcdefABCDEF ", "℀", "︓", "＠", "\x00"])
_URLISH = st.text(_URL_CHARS, max_size=40) | st.text(max_size=60)


@given(st.sampled_from(["http://", "https://", "HTTP://", "ftp://", "://"]), _URLISH)
@example("http://", "[::1/")
@example("http://", "[abc]/")
@example("http://", "[10.0.0.1]/")
@example("http://", "a℀b.example.com/")
@example("http://", "[fe80::1%25eth0]:8080/x")
@example("https://", "user:pw@[::1]/")
def test_parse_request_returns_or_is_a_usage_error(scheme: str, rest: str) -> None:
    """A URL to trace: a request with a port in range and a path from /, or one usage error."""
    message = ""
    try:
        r = entry.parse_request(scheme + rest)
    except UsageError as e:
        message = e.message
    else:
        assert 1 <= r.port <= 65535
        assert r.path.startswith("/")
        assert (r.host is None) != (r.address is None)
    assert len(message) < 400  # the URL is quoted once, cut
    assert "\n" not in message


@given(st.text(max_size=40), st.text(max_size=40) | st.none(), st.text(max_size=40) | st.none())
def test_parse_request_with_host_and_path_flags(
    target: str, host: str | None, path: str | None
) -> None:
    """ADDRESS[:PORT] with --host and --path: the same two outcomes."""
    try:
        r = entry.parse_request(target, host, path)
    except UsageError:
        pass
    else:
        assert r.path.startswith("/")


# --- flags, through the CLI in-process -------------------------------------------------------


@given(st.text(max_size=40).filter(lambda s: not s.startswith("-")))
@example("nan")
@example("1e300")
def test_request_timeout_values(value: str) -> None:
    r = invoke("map", "--kubeconfig", "/nonexistent", "--request-timeout", value)
    # A usable value gets as far as the kubeconfig (missing: 3); anything else is 2.
    assert r.code in (ExitCode.USAGE, ExitCode.CONFIG), r.stderr
    assert r.stderr.count("\n") == 1, r.stderr


@given(st.text(max_size=40))
@example("99999999999999999999")
def test_chunk_size_values(value: str) -> None:
    r = invoke("map", "--kubeconfig", "/nonexistent", env={"KINSPECT_CHUNK_SIZE": value})
    assert r.code in (ExitCode.USAGE, ExitCode.CONFIG), r.stderr
    assert r.stderr.count("\n") == 1, r.stderr


# --- files ------------------------------------------------------------------------------------


def _ignore(path: str) -> object:
    try:
        return auditfiles.read_ignore_file(path)
    except UsageError:
        return None


def _baseline(path: str) -> object:
    try:
        return auditfiles.read_baseline(path)
    except UsageError:
        return None


def _snapshot(path: str) -> object:
    try:
        return snapshotfile.load(path, max_bytes=1 << 20)
    except UsageError:
        return None


@given(st.binary(max_size=200))
def test_ignore_file_bytes(data: bytes) -> None:
    _with_file(data, _ignore)


@given(st.lists(JSON, max_size=4) | JSON)
def test_ignore_file_shapes(doc: Any) -> None:
    _with_file(yaml.safe_dump(doc).encode(), _ignore)


@given(st.binary(max_size=200))
def test_baseline_bytes(data: bytes) -> None:
    _with_file(data, _baseline)


@given(JSON, st.lists(JSON, max_size=3))
def test_baseline_shapes(doc: Any, findings: list[Any]) -> None:
    _with_file(json.dumps(doc).encode(), _baseline)
    report = {"kind": "AuditReport", "findings": findings}
    _with_file(json.dumps(report).encode(), _baseline)


@given(st.binary(max_size=300))
def test_snapshot_bytes(data: bytes) -> None:
    _with_file(data, _snapshot)
    _with_file(gzip.compress(data), _snapshot)
    _with_file(b"\x1f\x8b" + data, _snapshot)


@given(JSON)
def test_snapshot_shapes(doc: Any) -> None:
    _with_file(json.dumps(doc).encode(), _snapshot)
    wrapped = {"apiVersion": "kinspect/v1", "kind": "Snapshot", "snapshot": doc}
    _with_file(gzip.compress(json.dumps(wrapped).encode()), _snapshot)


@given(st.integers(0, 2000))
def test_a_good_snapshot_cut_anywhere_is_a_usage_error_or_loads(cut: int) -> None:
    data = gzip.compress(snapshotfile.dumps(snap(), compress=False))
    _with_file(data[:cut], _snapshot)


# --- nesting depth and ignore-file keys (issue 24 D7, D11) ------------------------------------


@st.composite
def _nested(draw: st.DrawFn) -> bytes:
    """JSON (also YAML flow) nested 1 to 5,000 levels, of lists and maps mixed, around a leaf."""
    depth = draw(st.integers(1, 5000))
    kinds = draw(st.lists(st.booleans(), min_size=1, max_size=8))
    opens = b"".join(b"[" if kinds[i % len(kinds)] else b'{"k": ' for i in range(depth))
    closes = b"".join(b"]" if kinds[i % len(kinds)] else b"}" for i in reversed(range(depth)))
    return opens + json.dumps(draw(JSON)).encode() + closes


_WRAPPERS = [
    b"%s",
    b'{"apiVersion": "kinspect/v1", "kind": "Snapshot", "snapshot": %s}',
    b'{"apiVersion": "kinspect/v1", "kind": "Snapshot", "x": %s}',
    b'{"kind": "AuditReport", "findings": [], "x": %s}',
    b'{"apiVersion": "kinspect/v1", "kind": "AuditReport", "findings": [%s]}',
]


@given(_nested(), st.sampled_from(_WRAPPERS), st.booleans())
def test_nested_snapshots_diff_inputs_and_baselines(
    inner: bytes, wrapper: bytes, compress: bool
) -> None:
    data = wrapper.replace(b"%s", inner)
    _with_file(gzip.compress(data) if compress else data, _snapshot)
    _with_file(data, _baseline)
    _with_file(data, _diff_side)


@given(_nested(), st.booleans())
def test_nested_ignore_files(inner: bytes, in_entry: bool) -> None:
    doc = b"- check: '*'\n  reason: %s\n" if in_entry else b"%s"
    _with_file(doc.replace(b"%s", inner), _ignore)


@given(st.dictionaries(st.text(max_size=12), st.text(max_size=8), max_size=6))
def test_ignore_entries_with_any_keys(entry: dict[str, str]) -> None:
    # Accepted only when every key is one of the five; a refusal names the first other key.
    fields = {"check", "reason", "namespace", "service", "context"}
    doc = [{"check": "*", "reason": "r", **entry}]
    message = None
    try:
        _with_file(yaml.safe_dump(doc, sort_keys=False).encode(), auditfiles.read_ignore_file)
    except UsageError as e:
        message = e.message
    extra = [k for k in doc[0] if k not in fields]
    assert (message is None) == (not extra), message
    assert not extra or f"unknown key {extra[0]!r}"[:40] in (message or "")


def _diff_side(path: str) -> object:
    r = invoke("diff", path, path)
    assert r.code in (ExitCode.OK, ExitCode.USAGE), r.stderr
    assert r.stderr.count("\n") <= 1 or r.code == ExitCode.OK, r.stderr
    return r


# --- wire decoders ----------------------------------------------------------------------------

# One realistic item per kind; the fuzzer replaces, drops and adds parts of it.
_SAMPLES: dict[str, dict[str, Any]] = {
    "namespaces": {"metadata": {"name": "a", "labels": {"k": "v"}}},
    "services": {
        "metadata": {"namespace": "a", "name": "s"},
        "spec": {
            "type": "NodePort",
            "clusterIP": "10.96.0.1",
            "clusterIPs": ["10.96.0.1"],
            "selector": {"app": "x"},
            "ports": [{"port": 80, "protocol": "TCP", "targetPort": "http", "nodePort": 30080}],
        },
        "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.1"}]}},
    },
    "pods": {
        "metadata": {
            "namespace": "a",
            "name": "p",
            "labels": {"app": "x"},
            "ownerReferences": [{"kind": "ReplicaSet", "name": "r"}],
        },
        "spec": {
            "nodeName": "n",
            "containers": [
                {
                    "name": "c",
                    "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
                    "readinessProbe": {"httpGet": {"port": "http"}},
                }
            ],
            "initContainers": [{"name": "s", "restartPolicy": "Always"}],
        },
        "status": {
            "phase": "Running",
            "podIP": "10.244.0.5",
            "podIPs": [{"ip": "10.244.0.5"}],
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    },
    "endpoints": {
        "metadata": {"namespace": "a", "name": "s"},
        "subsets": [
            {
                "addresses": [{"ip": "10.244.0.5", "targetRef": {"kind": "Pod", "name": "p"}}],
                "notReadyAddresses": [{"ip": "10.244.0.6"}],
                "ports": [{"port": 8080, "protocol": "TCP"}],
            }
        ],
    },
    "endpointslices": {
        "metadata": {
            "namespace": "a",
            "name": "s-x",
            "labels": {"kubernetes.io/service-name": "s"},
        },
        "addressType": "IPv4",
        "endpoints": [
            {
                "addresses": ["10.244.0.5"],
                "conditions": {"ready": True},
                "targetRef": {"kind": "Pod", "name": "p[/]=,\\\x1b"},
                "nodeName": "n",
            }
        ],
        "ports": [{"port": 8080, "protocol": "TCP", "name": "http"}],
    },
    "nodes": {
        "metadata": {"name": "n"},
        "spec": {"podCIDR": "10.244.0.0/24", "podCIDRs": ["10.244.0.0/24"]},
        "status": {
            "addresses": [{"type": "InternalIP", "address": "192.0.2.1"}],
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    },
}


@st.composite
def _mutated(draw: st.DrawFn, value: Any) -> Any:
    """`value` with some parts replaced by arbitrary JSON, dropped, or kept."""
    choice = draw(st.integers(0, 9))
    if choice == 0:
        return draw(JSON)
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if draw(st.integers(0, 9)) == 0:
                continue  # dropped
            out[k] = draw(_mutated(v))
        return out
    if isinstance(value, list):
        return [draw(_mutated(v)) for v in value] + draw(st.lists(JSON, max_size=1))
    return value


_KINDS = {k.plural: k for k in kinds.KINDS}


@given(st.data())
def test_wire_decoders_only_raise_msgspec_errors(data: st.DataObject) -> None:
    plural = data.draw(st.sampled_from(sorted(_SAMPLES)))
    kind = _KINDS[plural]
    items = data.draw(st.lists(_mutated(_SAMPLES[plural]), max_size=3))
    page = data.draw(
        _mutated({"metadata": {"continue": "", "resourceVersion": "1"}, "items": items})
    )
    try:
        decoded = msgspec.json.decode(json.dumps(page).encode(), type=kind.list_type)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return
    for item in decoded.items or ():
        kind.convert(item)


@given(JSON)
def test_wire_decoders_on_arbitrary_json(doc: Any) -> None:
    body = json.dumps(doc).encode()
    for kind in kinds.KINDS:
        try:
            page = msgspec.json.decode(body, type=kind.list_type)
        except (msgspec.DecodeError, msgspec.ValidationError):
            continue
        for item in page.items or ():
            kind.convert(item)


@given(_nested(), st.sampled_from(sorted(_SAMPLES)))
def test_nested_list_pages_are_one_server_error(inner: bytes, plural: str) -> None:
    kind = _KINDS[plural]
    conn = connection.Connection("c", "https://s", None, "default", 5, warn=lambda _: None)
    body = b'{"metadata": {}, "items": [{"metadata": {"name": "a"}, "x": %s}]}'
    message = ""
    try:
        lists.decode_page(
            conn, msgspec.json.Decoder(kind.list_type), body.replace(b"%s", inner), plural
        )
    except ServerError as e:
        message = e.message
    assert not message or "malformed response" in message


def test_kinspect_errors_are_the_only_user_input_errors() -> None:
    # The properties above catch UsageError only: a KinspectError of another class, or any
    # other exception, fails them.
    assert issubclass(UsageError, KinspectError)
