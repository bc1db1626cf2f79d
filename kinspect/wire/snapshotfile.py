"""Snapshot files: what was read from a cluster, so map, ips, trace and audit run offline.

Only the domain model is written (nodes, services, endpoint groups, pods): never a secret, a
token or a kubeconfig. `.gz` files are gzip-compressed; reading detects gzip by content.
Reading stops past `max_bytes` of JSON (decompressed incrementally: a small gzip bomb never
reaches memory whole).
"""

from __future__ import annotations

import gzip
import io
import re
import zlib
from typing import Any, BinaryIO

import msgspec

from kinspect.model.errors import UsageError
from kinspect.model.snapshot import Snapshot
from kinspect.wire import files
from kinspect.wire.untrusted import TOO_DEEP

API_VERSION = "kinspect/v1"
# The largest snapshot read, decompressed (KINSPECT_MAX_SNAPSHOT_BYTES overrides it): a
# 100k-pod cluster's snapshot is a few hundred MB of JSON.
MAX_BYTES = 2 * 1024**3


class SnapshotFile(msgspec.Struct):
    apiVersion: str
    kind: str
    snapshot: Snapshot


_SURROGATE = re.compile("[\ud800-\udfff]")


def _utf8(value: object) -> object:
    """`value` (JSON-like builtins) with every lone surrogate, keys included, as U+FFFD."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_utf8(k): _utf8(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_utf8(v) for v in value]
    return value


def dumps(snap: Snapshot, compress: bool) -> bytes:
    r"""Encode a snapshot file's bytes.

    A lone surrogate, which UTF-8 cannot hold, is written as U+FFFD: a kubeconfig's context
    name "\ud800" reaches the snapshot as one (YAML keeps it), and JSON's escape for it would
    give a file that msgspec, kinspect's reader, refuses.
    """
    doc = SnapshotFile(API_VERSION, "Snapshot", snap)
    try:
        data = msgspec.json.encode(doc)
    except UnicodeEncodeError:
        data = msgspec.json.encode(_utf8(msgspec.to_builtins(doc)))
    return gzip.compress(data, mtime=0) if compress else data


def save(path: str, snap: Snapshot) -> None:
    """Write a snapshot file atomically; a new one is private (0600): it maps a cluster."""
    files.write_atomic(path, dumps(snap, path.endswith(".gz")), private=True)


class _TooBig(Exception):
    pass


_CHUNK = 1 << 20


class _Rejoined(io.RawIOBase):
    """A stream read from the start again after its first bytes were taken (no seek).

    A pipe, a FIFO or `<(...)` cannot seek back over the two bytes that tell gzip.
    """

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head, self._rest = head, rest

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        if self._head:
            n = min(len(b), len(self._head))
            b[:n], self._head = self._head[:n], self._head[n:]
            return n
        data = self._rest.read(len(b))
        b[: len(data)] = data
        return len(data)


def _read(path: str, max_bytes: int) -> bytearray:
    """The file's JSON, gunzipped when it is gzip; `_TooBig` past `max_bytes`.

    Read a chunk at a time (never a buffer of `max_bytes` up front), and stop at the first
    chunk past the cap: a gzip bomb costs at most one chunk more than the cap. Regular files,
    pipes, FIFOs and devices alike: nothing seeks.
    """
    out = bytearray()
    with open(path, "rb") as f:
        head = f.read(2)
        raw = io.BufferedReader(_Rejoined(head, f), _CHUNK)
        stream = gzip.GzipFile(fileobj=raw) if head == b"\x1f\x8b" else raw
        while chunk := stream.read(_CHUNK):
            if len(out) + len(chunk) > max_bytes:
                raise _TooBig
            out += chunk
    return out


def read_bytes(path: str, max_bytes: int = MAX_BYTES, what: str = "snapshot") -> bytes:
    """The file's JSON (gunzipped), at most `max_bytes`; one-line `UsageError`s naming `what`."""
    hint = HINT if what == "snapshot" else DOCUMENT_HINT
    try:
        return bytes(_read(path, max_bytes))
    except _TooBig:
        raise UsageError(
            f"{what} {path} is larger than {max_bytes} bytes (decompressed)",
            "set KINSPECT_MAX_SNAPSHOT_BYTES to read a bigger one",
        ) from None
    except (EOFError, zlib.error, gzip.BadGzipFile):
        raise UsageError(f"{path} is not a kinspect {what} (corrupt gzip)", hint) from None
    except OSError as e:
        raise UsageError(f"cannot read {what} {path}: {e.strerror}", hint) from None


HINT = "create one with: kinspect snapshot save FILE"
DOCUMENT_HINT = "pass a file written by kinspect snapshot save or kinspect audit -o json, or live"


class _Header(msgspec.Struct):
    apiVersion: str | None = None
    kind: str | None = None


def document_kind(data: bytes, path: str) -> tuple[str | None, str | None]:
    """A kinspect JSON document's apiVersion and kind (None when absent); not JSON: UsageError."""
    try:
        h = msgspec.json.decode(data, type=_Header)
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise UsageError(f"{path} is not a kinspect JSON document", DOCUMENT_HINT) from None
    except RecursionError:
        raise UsageError(f"{path} is {TOO_DEEP}", DOCUMENT_HINT) from None
    return h.apiVersion, h.kind


def load(path: str, max_bytes: int = MAX_BYTES) -> Snapshot:
    """Read a snapshot file written by `kinspect snapshot save` (at most `max_bytes` of JSON)."""
    return decode(read_bytes(path, max_bytes), path)


def decode(data: bytes, path: str) -> Snapshot:
    """The snapshot in a snapshot file's bytes (`path` names it in errors)."""
    try:
        doc = msgspec.json.decode(data, type=SnapshotFile)
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise UsageError(f"{path} is not a kinspect snapshot", HINT) from None
    except RecursionError:
        raise UsageError(f"{path} is {TOO_DEEP}: not a kinspect snapshot", HINT) from None
    if doc.apiVersion != API_VERSION or doc.kind != "Snapshot":
        raise UsageError(
            f"{path} is a {doc.kind} of {doc.apiVersion}, not a {API_VERSION} Snapshot", HINT
        )
    return _before_issue_22(_headless_without_marker(doc.snapshot), data, path)


# A file written before kinspect read them has services without this key (every service of a
# newer file has it: fields are always encoded). A cluster string cannot fake it: inside a JSON
# string the quote before the colon is escaped.
_ISSUE_22_KEY = b'"trafficDistribution":'


def _before_issue_22(snap: Snapshot, data: bytes, path: str) -> Snapshot:
    """An old file's services, with a warning that their issue-22 fields were not read.

    Topology, affinity, range and family fields load as unset: answers must say unknown.
    """
    if not snap.services or _ISSUE_22_KEY in data:
        return snap
    note = (
        f"snapshot {path} was written before kinspect read topology hints, session affinity, "
        "loadBalancerSourceRanges and IP families: what depends on them is unknown, not unset "
        "(save a new snapshot)"
    )
    return msgspec.structs.replace(snap, warnings=(*snap.warnings, note))


def _headless_without_marker(snap: Snapshot) -> Snapshot:
    """Files written before 0.2 kept the API's clusterIP "None" marker of headless services."""
    if not any("None" in s.cluster_ips for s in snap.services):
        return snap
    services = tuple(
        msgspec.structs.replace(s, cluster_ips=()) if "None" in s.cluster_ips else s
        for s in snap.services
    )
    return msgspec.structs.replace(snap, services=services)
