"""A response body as transport reads it: gzip inflated a bounded piece at a time (issue 24, D6).

The e2e tests (tests/e2e/test_gzip.py, test_watch.py) send a real 4 GiB gzip bomb through the
fault proxy; these pin the inflater's own promises on small inputs: no piece over its size,
nothing lost or added, several members, output zlib holds back after a full piece.
"""

from __future__ import annotations

import gzip
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kinspect.model.errors import ExitCode
from kinspect.wire import connection, transport

from .runner import invoke, one_line_error


def _inflate(body: bytes, size: int, read: int = 1 << 16) -> list[bytes]:
    inflater = transport.Inflater("gzip", size)
    return [p for i in range(0, len(body), read) for p in inflater.feed(body[i : i + read])]


def test_a_bomb_comes_out_in_pieces_no_larger_than_asked() -> None:
    # 16 MiB of one byte in 16 KB of gzip: one read of it would inflate to it all at once.
    body = gzip.compress(b"\0" * (16 << 20), compresslevel=9)
    assert len(body) < 20_000
    pieces = _inflate(body, 1 << 16, read=len(body))
    assert max(map(len, pieces)) == 1 << 16
    assert sum(map(len, pieces)) == 16 << 20


def test_a_lazy_reader_holds_only_what_it_took() -> None:
    # The caller stops at its cap: the rest of the bomb is never inflated.
    inflater = transport.Inflater("gzip", 1 << 16)
    pieces = inflater.feed(gzip.compress(b" " * (16 << 20), compresslevel=9))
    taken = [next(pieces) for _ in range(3)]
    assert [len(p) for p in taken] == [1 << 16] * 3


@given(
    members=st.lists(st.binary(max_size=3000), min_size=1, max_size=4),
    size=st.integers(1, 4096),
    read=st.integers(1, 700),
)
def test_every_member_is_inflated_whole_in_bounded_pieces(
    members: list[bytes], size: int, read: int
) -> None:
    body = b"".join(gzip.compress(m, mtime=0) for m in members)
    pieces = _inflate(body, size, read)
    assert all(0 < len(p) <= size for p in pieces)
    assert b"".join(pieces) == b"".join(members)


def test_output_held_inside_zlib_after_a_full_piece_is_not_lost() -> None:
    # The whole input is consumed at once, but it inflates to far more than one piece.
    body = gzip.compress(b"ab" * 50_000, mtime=0)
    assert b"".join(_inflate(body, 7, read=len(body))) == b"ab" * 50_000


def test_garbage_after_a_member_is_dropped_as_urllib3_drops_it() -> None:
    body = gzip.compress(b'{"items": []}', mtime=0) + b"\0not gzip"
    assert b"".join(_inflate(body, 5, read=3)) == b'{"items": []}'


def test_a_body_that_is_not_gzip_does_not_inflate() -> None:
    with pytest.raises(zlib.error):
        _inflate(b'{"items": []} but said to be gzip', 1024)


def test_a_plain_body_passes_as_it_is_and_only_gzip_is_taken() -> None:
    assert list(transport.Inflater(None, 4).feed(b"0123456789")) == [b"0123456789"]
    assert list(transport.Inflater("identity", 4).feed(b"")) == []
    assert transport.Inflater(" GZIP ", 4)
    with pytest.raises(transport.UnaskedEncoding) as e:
        transport.Inflater("br", 4)
    assert e.value.encoding == "br"


def test_the_default_cap_fits_the_largest_lawful_body_of_the_benchmark() -> None:
    # docs/performance.md: every pod of the 100k-pod cluster in one response is ~450 MB.
    assert 2 * 450 * 10**6 < connection.MAX_RESPONSE_BYTES <= 1 << 30


@pytest.mark.parametrize("value", ["x", "-1", "0", "1e9", "1 GiB", "9" * 30])
def test_a_bad_response_cap_is_a_usage_error(value: str) -> None:
    r = invoke("map", "--kubeconfig", "x", env={"KINSPECT_MAX_RESPONSE_BYTES": value})
    one_line_error(r, ExitCode.USAGE, "KINSPECT_MAX_RESPONSE_BYTES must be a whole number")
