"""Brute-force throttle: too many failed attempts, and further ones are refused for a while.

A guesser of the server password, an operator password or (with accounts) an account
password fails far more often than a person who mistyped. Each failure is recorded
under a key (`"ip:203.0.113.5"`, `"account:alice"`); once a key has `failures` failures
within the last `window` seconds, `blocked` says how long it must wait, and the caller
refuses the attempt without even checking it (a right password included: otherwise the
refusal would tell the guesser when it had guessed). Failures older than the window no
longer count, so a key is free again `window` seconds after its last burst.

No clock inside: callers pass `now`, so every rule is tested without sleeping. Memory is
bounded: at most `max_keys` keys are remembered, the oldest forgotten first.
"""

from __future__ import annotations

from collections import deque

DEFAULT_MAX_KEYS = 100_000


class Throttle:
    __slots__ = ("failures", "window", "max_keys", "_failed")

    def __init__(self, failures: int, window: float, max_keys: int = DEFAULT_MAX_KEYS) -> None:
        self.failures = failures
        self.window = window
        self.max_keys = max_keys
        self._failed: dict[str, deque[float]] = {}  # key -> times of its recent failures, oldest first

    def configure(self, failures: int, window: float) -> None:
        """New limits (a reload); the failures recorded so far still count."""
        self.failures = failures
        self.window = window
        for times in self._failed.values():
            while len(times) > failures:
                times.popleft()

    def blocked(self, key: str, now: float) -> float | None:
        """Seconds until `key` may try again, or None if it may try now."""
        times = self._recent(key, now)
        if times is None or len(times) < self.failures:
            return None
        return max(0.0, times[0] + self.window - now)

    def failed(self, key: str, now: float) -> None:
        """Record a failed attempt by `key`."""
        times = self._recent(key, now)
        if times is None:
            if len(self._failed) >= self.max_keys:
                self._forget_oldest(now)
            times = self._failed[key] = deque()
        times.append(now)
        if len(times) > self.failures:
            times.popleft()

    def succeeded(self, key: str) -> None:
        """`key` got it right: its failures are forgiven."""
        self._failed.pop(key, None)

    def _recent(self, key: str, now: float) -> deque[float] | None:
        """`key`'s failures within the window (None if it has none)."""
        times = self._failed.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failed[key]
            return None
        return times

    def _forget_oldest(self, now: float) -> None:
        """Make room: drop every key whose failures have all expired, or else the oldest key."""
        for key in [k for k, times in self._failed.items() if times[-1] <= now - self.window]:
            del self._failed[key]
        if len(self._failed) >= self.max_keys:
            del self._failed[next(iter(self._failed))]

    def __len__(self) -> int:
        return len(self._failed)
