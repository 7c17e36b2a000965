"""Flood control: a token bucket on an injected clock, so no test sleeps."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hubbub.server.flood import TokenBucket


class FakeClock:
    """Time that moves only when the test says so."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def test_full_burst_is_allowed_at_once_then_the_next_command_waits() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=2.0, burst=5, clock=clock)
    assert [bucket.take() for _ in range(5)] == [0.0] * 5
    assert bucket.take() == pytest.approx(0.5)


def test_wait_is_the_time_until_the_next_token() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=4.0, burst=1, clock=clock)
    assert bucket.take() == 0.0
    assert bucket.take() == pytest.approx(0.25)
    clock.advance(0.1)
    assert bucket.take() == pytest.approx(0.15)


def test_a_refused_take_spends_nothing() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=1.0, burst=1, clock=clock)
    bucket.take()
    for _ in range(10):
        assert bucket.take() > 0.0
    clock.advance(1.0)
    assert bucket.take() == 0.0


def test_tokens_refill_at_the_configured_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=2.0, burst=10, clock=clock)
    for _ in range(10):
        bucket.take()
    clock.advance(1.5)  # three tokens at two per second
    assert [bucket.take() for _ in range(3)] == [0.0] * 3
    assert bucket.take() > 0.0


def test_idle_time_never_banks_more_than_the_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=2.0, burst=3, clock=clock)
    clock.advance(3600.0)
    assert [bucket.take() for _ in range(3)] == [0.0] * 3
    assert bucket.take() > 0.0
    assert bucket.tokens <= bucket.burst


@settings(max_examples=100, deadline=None)
@given(
    st.floats(min_value=0.1, max_value=50.0),
    st.integers(min_value=1, max_value=5),
    st.floats(min_value=0.0, max_value=2e9),  # up to time.time() values
)
def test_waiting_the_returned_time_always_yields_a_token(rate: float, burst: int, start: float) -> None:
    """The transport sleeps exactly what take() returned; it must then get its token."""
    clock = FakeClock(now=start)
    bucket = TokenBucket(rate=rate, burst=burst, clock=clock)
    for _ in range(50):
        wait = bucket.take()
        if wait:
            clock.advance(wait)
            assert bucket.take() == 0.0


@settings(max_examples=200, deadline=None)
@given(
    st.floats(min_value=0.1, max_value=50.0),
    st.integers(min_value=1, max_value=20),
    st.lists(st.floats(min_value=0.0, max_value=5.0), max_size=40),
)
def test_commands_never_exceed_burst_plus_rate_times_elapsed(
    rate: float, burst: int, gaps: list[float]
) -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=rate, burst=burst, clock=clock)
    start = clock.now
    allowed = 0
    for gap in gaps:
        clock.advance(gap)
        while bucket.take() == 0.0:
            allowed += 1
        assert 0.0 <= bucket.tokens <= burst
    assert allowed <= burst + rate * (clock.now - start) + 0.01  # rounding, far below one command


@settings(max_examples=200, deadline=None)
@given(
    st.floats(min_value=0.1, max_value=50.0),
    st.integers(min_value=1, max_value=20),
    st.floats(min_value=0, max_value=1e9),
)
def test_take_returns_a_wait_no_longer_than_one_token_interval(rate: float, burst: int, start: float) -> None:
    clock = FakeClock(start)
    bucket = TokenBucket(rate=rate, burst=burst, clock=clock)
    for _ in range(burst):
        assert bucket.take() == 0.0
    wait = bucket.take()
    assert 0.0 < wait <= 1.0 / rate + 1e-9
