"""Failures counted per key (an address, an account, an address and account pair) within a window.

After `limit` failures within `window` seconds, further attempts for that key are
refused until the oldest of them leaves the window: a guesser gets a handful of tries
a minute, a person who mistyped waits a little. The clock is the caller's (an argument),
so the rule is tested without sleeping; the number of keys is bounded, the one that
failed longest ago forgotten first, so that a flood of distinct keys cannot grow
memory, and `sweep` forgets every key whose failures have all left the window (a name
tried once is not kept until 100,000 others push it out).

Keys of different kinds share one table, one window and one bound on memory, but not
always one limit: a caller may give a key's limit with each question (logins.py allows
an address across all accounts more failures than one address on one account), read
from the configuration at that moment, so a REHASH changes it at once as it changes
`limit`.

The same count limits account registrations per IP address (handlers/nickserv.py):
there a "failure" is a registration, counted as it starts and withdrawn if it fails.
"""

from __future__ import annotations

import math
from collections import deque


def seconds_words(wait: float) -> str:
    """A wait as a person is told it: whole seconds rounded up (a client that tries
    again after exactly that long is let in, not refused with "1 seconds" left), at
    least one, and `1 second` in the singular."""
    seconds = max(1, math.ceil(wait))
    return "1 second" if seconds == 1 else f"{seconds} seconds"


def timeout_seconds(duration: float) -> str:
    """Whole seconds as ircds show them; a tenth when short (sub-second test timeouts read 0)."""
    return str(int(duration)) if duration >= 10 else f"{duration:.1f}"


def longest(*waits: float | None) -> float | None:
    """The longest of the waits given (None: no wait). A node asks two counts of the same
    key, its own (which has its failures at once) and the network's (which has every
    node's, its own once they came back from the cluster's log): the longer wait of the
    two counts each failure once, where a sum would count this node's twice."""
    return max((wait for wait in waits if wait is not None), default=None)


class FailureThrottle:
    __slots__ = ("limit", "window", "max_keys", "_failures")

    def __init__(self, limit: int, window: float, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def blocked(self, key: str, now: float, limit: int | None = None) -> float | None:
        """Seconds until `key` may try again, or None when it may now; `limit`, when
        given, is this key's instead of the throttle's."""
        if limit is None:
            limit = self.limit
        times = self._recent(key, now)
        if times is None or len(times) < limit:
            return None
        return max(0.0, times[-limit] + self.window - now)

    def failed(self, key: str, now: float) -> None:
        failures = self._failures
        times = self._recent(key, now)
        if times is None:
            if len(failures) >= self.max_keys:
                del failures[next(iter(failures))]  # the key that failed longest ago goes first
            times = deque()
        else:
            del failures[key]  # to the end: the keys are in the order of their last failure
        failures[key] = times
        times.append(now)

    def sweep(self, now: float) -> None:
        """Forget the keys whose failures have all left the window (the oldest come first;
        a key whose latest time `withdraw` took back may wait one more window behind a
        newer one: bounded all the same)."""
        failures = self._failures
        horizon = now - self.window
        while failures:
            key = next(iter(failures))
            times = failures[key]
            if times and times[-1] > horizon:
                break
            del failures[key]

    def recent(self, most: int) -> dict[str, list[float]]:
        """The failures of the `most` keys that failed last, as plain data (a cluster's
        snapshot: a node starting from it goes on counting where the others stand)."""
        keys = list(self._failures)
        return {key: list(self._failures[key]) for key in keys[max(0, len(keys) - most):]}

    def restore(self, recent: dict[str, list[float]]) -> None:
        """Count what `recent` holds instead of anything counted so far."""
        self._failures.clear()
        for key, times in recent.items():
            if times:
                self._failures[str(key)] = deque(float(t) for t in times)

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)

    def withdraw(self, key: str, at: float) -> None:
        """Forget the one count recorded for `key` at `at`: a count made in advance (an
        account registration under way) for something that then did not happen."""
        times = self._failures.get(key)
        if times is None or at not in times:
            return
        times.remove(at)
        if not times:
            del self._failures[key]
