"""The failure throttle (logins, OPER, the connection password), with the time given by the test."""

from __future__ import annotations

from hubbub.server.throttle import FailureThrottle, longest


def test_a_key_is_blocked_after_its_failures_until_the_window_has_passed() -> None:
    throttle = FailureThrottle(limit=3, window=60.0)
    for t in (100.0, 110.0):
        throttle.failed("ip:a", t)
        assert throttle.blocked("ip:a", t) is None
    throttle.failed("ip:a", 120.0)
    assert throttle.blocked("ip:a", 120.0) == 40.0  # the first failure counts until 160
    assert throttle.blocked("ip:a", 159.0) == 1.0
    assert throttle.blocked("ip:a", 160.0) is None  # only two failures left in the window
    throttle.failed("ip:a", 161.0)
    assert throttle.blocked("ip:a", 161.0) == 9.0  # 110, 120, 161: free at 170


def test_keys_are_counted_apart() -> None:
    throttle = FailureThrottle(limit=1, window=10.0)
    throttle.failed("ip:a", 0.0)
    assert throttle.blocked("ip:a", 0.0) == 10.0
    assert throttle.blocked("ip:b", 0.0) is None
    assert throttle.blocked("account:a", 0.0) is None


def test_success_forgives_the_failures() -> None:
    throttle = FailureThrottle(limit=2, window=10.0)
    throttle.failed("k", 0.0)
    throttle.succeeded("k")
    throttle.failed("k", 1.0)
    assert throttle.blocked("k", 1.0) is None


def test_a_flood_of_keys_makes_the_oldest_forgotten_not_memory_grow() -> None:
    throttle = FailureThrottle(limit=1, window=1000.0, max_keys=100)
    for i in range(1000):
        throttle.failed(f"ip:{i}", 0.0)
    assert throttle.blocked("ip:999", 0.0) == 1000.0
    assert throttle.blocked("ip:0", 0.0) is None  # forgotten to make room


def test_a_reload_changes_the_limits_and_keeps_the_failures() -> None:
    throttle = FailureThrottle(limit=5, window=10.0)
    for t in range(3):
        throttle.failed("k", float(t))
    assert throttle.blocked("k", 3.0) is None
    throttle.limit, throttle.window = 2, 30.0  # what a REHASH does
    assert throttle.blocked("k", 3.0) == 28.0  # the last two failures, at 1 and 2, until 31 and 32


def test_sweep_forgets_keys_whose_failures_all_left_the_window() -> None:
    throttle = FailureThrottle(limit=3, window=10.0)
    throttle.failed("a", 0.0)
    throttle.failed("b", 5.0)
    throttle.failed("a", 8.0)  # a failed last: b is now the one that failed longest ago
    throttle.sweep(16.0)  # b's only failure has left the window; a's last has not
    assert list(throttle._failures) == ["a"]
    throttle.sweep(18.0)
    assert throttle._failures == {}


def test_past_max_keys_the_key_that_failed_longest_ago_goes() -> None:
    throttle = FailureThrottle(limit=3, window=60.0, max_keys=2)
    throttle.failed("a", 0.0)
    throttle.failed("b", 1.0)
    throttle.failed("a", 2.0)
    throttle.failed("c", 3.0)
    assert list(throttle._failures) == ["a", "c"]


def test_the_longest_wait_of_two_counts_of_one_key() -> None:
    """This node's count and the network's: the longer wait, never their sum."""
    assert longest(None, None) is None
    assert longest(None, 12.5) == 12.5
    assert longest(30.0, 12.5, None) == 30.0
