"""The retry policy's arithmetic: Retry-After, backoff with jitter, the window, the shared gate."""

from __future__ import annotations

import pytest

from kinspect.wire import retry


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("1", 1.0), (" 3 ", 3.0), ("0", 0.0), ("120", 120.0), ("3600", 3600.0)],
)
def test_retry_after_in_seconds(header: str, seconds: float) -> None:
    # Not capped: a LIST weighs it against its retry window, a watch caps it itself.
    assert retry.parse_retry_after(header) == seconds


def test_a_retry_after_is_beyond_the_window_only_when_it_ends_past_it() -> None:
    # window ends at 105; now 100
    assert retry.beyond_window(3600.0, 105.0, 100.0) is True
    assert retry.beyond_window(6.0, 105.0, 100.0) is True
    assert retry.beyond_window(5.0, 105.0, 100.0) is False
    assert retry.beyond_window(1.0, 105.0, 100.0) is False
    assert retry.beyond_window(None, 105.0, 100.0) is False  # backoff, not the server's word


@pytest.mark.parametrize(
    "header",
    [None, "", "-1", "1.5", "soon", "Wed, 21 Oct 2015 07:28:00 GMT", "٣", "9" * 5000],
)
def test_retry_after_that_is_not_whole_seconds_is_ignored(header: str | None) -> None:
    assert retry.parse_retry_after(header) is None


def test_backoff_doubles_from_half_a_second_to_a_cap() -> None:
    top = [retry.backoff(n, rand=lambda: 1.0) for n in range(1, 8)]
    assert top == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert retry.backoff(10_000, rand=lambda: 1.0) == retry.MAX_DELAY


def test_backoff_jitter_stays_between_half_and_all_of_the_step() -> None:
    assert retry.backoff(3, rand=lambda: 0.0) == 1.0
    assert retry.backoff(3, rand=lambda: 0.5) == 1.5
    for _ in range(100):
        assert 1.0 <= retry.backoff(3) <= 2.0


def test_the_retry_window_is_the_request_timeout_but_never_under_the_minimum() -> None:
    assert retry.retry_window(30) == 30
    assert retry.retry_window(1) == retry.MIN_RETRY_WINDOW


def test_remaining_time_is_never_negative() -> None:
    assert retry.remaining(10.0, 4.0) == 6.0
    assert retry.remaining(10.0, 12.0) == 0.0


def test_the_gate_holds_every_reader_until_the_latest_time_asked() -> None:
    gate = retry.Gate()
    assert gate.wait_time(now=100.0) == 0.0
    gate.close_for(2.0, now=100.0)
    gate.close_for(1.0, now=100.0)  # a shorter wait never shortens the hold
    assert gate.wait_time(now=100.5) == 1.5
    assert gate.wait_time(now=103.0) == 0.0
