"""Snapshot files: what was read from a cluster, so map, ips, trace and audit run offline.

Only the domain model is written (nodes, services, endpoint groups, pods): never a secret, a
token or a kubeconfig. `.gz` files are gzip-compressed; reading detects gzip by content.
"""

from __future__ import annotations

import gzip

import msgspec

from kinspect import files
from kinspect.errors import UsageError
from kinspect.model import Snapshot

API_VERSION = "kinspect/v1"


class SnapshotFile(msgspec.Struct):
    apiVersion: str
    kind: str
    snapshot: Snapshot


def dumps(snap: Snapshot, compress: bool) -> bytes:
    """Encode a snapshot file's bytes."""
    data = msgspec.json.encode(SnapshotFile(API_VERSION, "Snapshot", snap))
    return gzip.compress(data, mtime=0) if compress else data


def save(path: str, snap: Snapshot) -> None:
    """Write a snapshot file atomically."""
    files.write_atomic(path, dumps(snap, path.endswith(".gz")))


def load(path: str) -> Snapshot:
    """Read a snapshot file written by `kinspect snapshot save`."""
    hint = "create one with: kinspect snapshot save FILE"
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise UsageError(f"cannot read snapshot {path}: {e.strerror}", hint) from None
    try:
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        doc = msgspec.json.decode(data, type=SnapshotFile)
    except (OSError, EOFError, msgspec.DecodeError, msgspec.ValidationError):
        raise UsageError(f"{path} is not a kinspect snapshot", hint) from None
    if doc.apiVersion != API_VERSION or doc.kind != "Snapshot":
        raise UsageError(
            f"{path} is a {doc.kind} of {doc.apiVersion}, not a {API_VERSION} Snapshot", hint
        )
    return _headless_without_marker(doc.snapshot)


def _headless_without_marker(snap: Snapshot) -> Snapshot:
    """Files written before 0.2 kept the API's clusterIP "None" marker of headless services."""
    if not any("None" in s.cluster_ips for s in snap.services):
        return snap
    services = tuple(
        msgspec.structs.replace(s, cluster_ips=()) if "None" in s.cluster_ips else s
        for s in snap.services
    )
    return msgspec.structs.replace(snap, services=services)
