"""Bad input from the user: one line, a documented exit code, never "unexpected ..." (issue 12,
"Bad input that still crashes")."""

from __future__ import annotations

import gzip
import json
import os
import stat
from pathlib import Path

import pytest

from kinspect.model.errors import ExitCode, UsageError
from kinspect.wire import snapshotfile
from tests.unit.builders import snap

from .runner import invoke, one_line_error


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e300", "86401", "0", "-1"])
def test_request_timeout_must_be_finite_and_sane(value: str) -> None:
    r = invoke("map", "--kubeconfig", "x", "--request-timeout", value)
    one_line_error(r, ExitCode.USAGE, "--request-timeout")


@pytest.mark.parametrize("value", ["99999999999999999999", "2147483648", "-5", "1e3", "٣"])
def test_chunk_size_out_of_range_is_checked_locally(value: str) -> None:
    r = invoke("map", "--kubeconfig", "x", env={"KINSPECT_CHUNK_SIZE": value})
    one_line_error(r, ExitCode.USAGE, "KINSPECT_CHUNK_SIZE")
    r = invoke("map", "--kubeconfig", "x", env={"KINSPECT_UNPAGED_MAX": value})
    one_line_error(r, ExitCode.USAGE, "KINSPECT_UNPAGED_MAX", "0 to read every list by pages")


@pytest.mark.parametrize("value", ["yes", "true", "2", "gzip", " 1", "auto"])
def test_gzip_must_be_0_or_1(value: str) -> None:
    r = invoke("map", "--kubeconfig", "x", env={"KINSPECT_GZIP": value})
    one_line_error(r, ExitCode.USAGE, "KINSPECT_GZIP must be 0 or 1")


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.1:²",
        "10.0.0.1:" + "9" * 5000,
        "10.0.0.1:٨٠",  # Arabic-Indic 80
        "[fd00::1]:٨٠",
        "10.0.0.1:00080x",
        "10.0.0.1:",
        "10.0.0.1:0",
        "10.0.0.1:65536",
    ],
)
def test_bad_ports_are_usage_errors(address: str) -> None:
    one_line_error(invoke("trace", address), ExitCode.USAGE, "bad port")


def test_a_huge_bad_address_is_not_echoed_whole() -> None:
    r = invoke("trace", "x" * 3_000_000 + ":bad")
    one_line_error(r, ExitCode.USAGE, "bad ")
    assert len(r.stderr) < 400
    assert "…" in r.stderr


def test_a_corrupt_gzip_snapshot_is_one_line(tmp_path: Path) -> None:
    good = gzip.compress(snapshotfile.dumps(snap(), compress=False))
    p = tmp_path / "s.json.gz"
    p.write_bytes(good[:20] + b"\x00" * 10 + good[30:])
    one_line_error(invoke("map", "--snapshot", str(p)), ExitCode.USAGE, "not a kinspect snapshot")
    p.write_bytes(good[: len(good) // 2])
    one_line_error(invoke("map", "--snapshot", str(p)), ExitCode.USAGE, "not a kinspect snapshot")


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"- {check: [a, b], reason: x}\n", "entry 1"),
        (b"- {check: {a: b}, reason: x}\n", "entry 1"),
        (b"- {check: '*', reason: x, namespace: [a]}\n", "entry 1"),
        (b"- {check: '*', reason: x, namespace: 2024}\n", "entry 1"),
        (b"- {check: '*', reason: \xff\xfe}\n", "cannot read ignore file"),
        (b"\xff\xfe\x00\x01", "cannot read ignore file"),
    ],
)
def test_bad_ignore_files(tmp_path: Path, content: bytes, needle: str) -> None:
    p = tmp_path / "ignore.yaml"
    p.write_bytes(content)
    r = invoke("audit", "--ignore-file", str(p), "--snapshot", "missing.json")
    one_line_error(r, ExitCode.USAGE, needle)


@pytest.mark.parametrize(
    "doc",
    [
        {"kind": "AuditReport", "findings": [1, 2]},
        {"kind": "AuditReport", "findings": ["x"]},
        {"kind": "AuditReport", "findings": [{"check": "x"}]},
        {"kind": "AuditReport", "findings": {"a": 1}},
        {"kind": "AuditReport"},
        [],
    ],
)
def test_bad_baselines(tmp_path: Path, doc: object) -> None:
    p = tmp_path / "base.json"
    p.write_text(json.dumps(doc))
    r = invoke("audit", "--baseline", str(p), "--snapshot", "missing.json")
    one_line_error(r, ExitCode.USAGE, "not a kinspect audit report")


def test_a_missing_baseline_says_it_does_not_exist(tmp_path: Path) -> None:
    r = invoke("audit", "--baseline", str(tmp_path / "nope.json"), "--snapshot", "x")
    one_line_error(r, ExitCode.USAGE, "cannot read baseline", "No such file")


def test_all_namespaces_and_namespace_with_two_contexts_is_usage_before_any_read() -> None:
    # The kubeconfig does not exist: a read would be exit 3 (or 8 with two contexts).
    r = invoke(
        "audit", "--kubeconfig", "/nonexistent", "--context", "a", "--context", "b", "-A", "-n", "x"
    )
    one_line_error(r, ExitCode.USAGE, "-n and -A both given")


def test_debug_keeps_the_documented_code_of_a_usage_error() -> None:
    r = invoke("--debug", "trace", "10.0.0.1:²")
    assert r.code == ExitCode.USAGE
    assert "Traceback" in r.stderr
    assert r.stderr.rstrip().splitlines()[-1].startswith("kinspect: error: bad port")


def _bomb(tmp_path: Path, size: int) -> str:
    p = tmp_path / "bomb.json.gz"
    with gzip.open(p, "wb") as f:
        for _ in range(size // 2**20):
            f.write(b" " * 2**20)
    return str(p)


def test_a_gzip_bomb_stops_at_the_cap(tmp_path: Path) -> None:
    path = _bomb(tmp_path, 8 * 2**20)
    r = invoke("map", "--snapshot", path, env={"KINSPECT_MAX_SNAPSHOT_BYTES": "1000000"})
    one_line_error(r, ExitCode.USAGE, "larger than 1000000 bytes", "KINSPECT_MAX_SNAPSHOT_BYTES")
    r = invoke("audit", "--snapshot", path, env={"KINSPECT_MAX_SNAPSHOT_BYTES": "1000000"})
    one_line_error(r, ExitCode.USAGE, "larger than 1000000 bytes")


def test_the_cap_reads_only_what_it_needs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Decompressed a chunk at a time: 1 MiB past the cap at most, never the whole 16 MiB.
    got: list[int] = []
    real = gzip.GzipFile.read

    def read(self: gzip.GzipFile, size: int = -1) -> bytes:
        assert 0 < size <= 2**20
        data = real(self, size)
        got.append(len(data))
        return data

    monkeypatch.setattr(gzip.GzipFile, "read", read)
    with pytest.raises(UsageError, match="larger than 1000 bytes"):
        snapshotfile.load(_bomb(tmp_path, 16 * 2**20), max_bytes=1000)
    assert sum(got) <= 2**20


def test_a_plain_snapshot_past_the_cap(tmp_path: Path) -> None:
    p = tmp_path / "s.json"
    p.write_bytes(snapshotfile.dumps(snap(), compress=False))
    r = invoke("map", "--snapshot", str(p), env={"KINSPECT_MAX_SNAPSHOT_BYTES": "10"})
    one_line_error(r, ExitCode.USAGE, "larger than 10 bytes")
    assert invoke("map", "--snapshot", str(p)).code == ExitCode.OK


@pytest.mark.parametrize("value", ["x", "-1", "0", "1e9", "9" * 30])
def test_a_bad_snapshot_cap_is_a_usage_error(tmp_path: Path, value: str) -> None:
    p = tmp_path / "s.json"
    p.write_bytes(snapshotfile.dumps(snap(), compress=False))
    r = invoke("map", "--snapshot", str(p), env={"KINSPECT_MAX_SNAPSHOT_BYTES": value})
    one_line_error(r, ExitCode.USAGE, "KINSPECT_MAX_SNAPSHOT_BYTES")


def test_output_file_that_is_a_directory_is_one_line(tmp_path: Path) -> None:
    s = tmp_path / "s.json"
    s.write_bytes(snapshotfile.dumps(snap(), compress=False))
    r = invoke("audit", "--snapshot", str(s), "--output-file", str(tmp_path), "-o", "json")
    one_line_error(r, ExitCode.USAGE, "is a directory")


def test_output_file_follows_the_umask(tmp_path: Path) -> None:
    s = tmp_path / "s.json"
    s.write_bytes(snapshotfile.dumps(snap(), compress=False))
    out = tmp_path / "r.prom"
    old = os.umask(0o022)
    try:
        assert invoke("audit", "--snapshot", str(s), "--output-file", str(out)).code == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o644


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("http://[::1/", "'[' without its ']'"),
        ("http://[abc]/", "not an IPv6 address"),
        ("http://[10.0.0.1]/", "only an IPv6 address goes in brackets"),
        ("http://a℀b.example.com/", "NFKC"),
    ],
)
def test_a_malformed_url_is_a_usage_error_naming_the_problem(
    tmp_path: Path, url: str, needle: str
) -> None:
    path = str(tmp_path / "s.json")
    snapshotfile.save(path, snap())
    r = invoke("trace", url, "--snapshot", path)
    one_line_error(r, ExitCode.USAGE, "bad URL", needle, "trace http://")


@pytest.mark.parametrize("namespace", ["a/b", "..", "Shop", "x" * 64])
def test_a_namespace_that_cannot_be_one_never_becomes_a_request_path(
    tmp_path: Path, namespace: str
) -> None:
    # "a/b" was another resource's path (a 404), ".." every namespace's list (issue 24, D5a's
    # sweep). The server is a closed port: an attempt to reach it would be exit 4.
    kc = tmp_path / "kubeconfig"
    kc.write_text(
        "apiVersion: v1\nkind: Config\n"
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        "users: [{name: u, user: {}}]\n"
        "contexts: [{name: ctx, context: {cluster: c, user: u}}]\ncurrent-context: ctx\n"
    )
    for args in (("map", "-n", namespace), ("trace", "10.0.0.1:80", "-n", namespace)):
        r = invoke(*args, "--kubeconfig", str(kc), "--request-timeout", "2")
        one_line_error(r, ExitCode.USAGE, "is not a namespace name", "lowercase")
