"""Per-client flood control: a token bucket that delays before it disconnects.

Each command costs one token; tokens refill at `rate` per second up to `burst`. A
client out of tokens is not refused: its lines wait (the transport queues them),
and only a client whose queue of waiting input passes the recvq limit is dropped.
The clock is a parameter so the rule is tested without sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable

# Tokens forgiven to float rounding (and to timers firing a hair early), so that a
# caller who waits exactly the time take() named does get its token; otherwise it
# would be told to wait again for some 1e-13 s. A ten-thousandth of a command is
# no flood, and covers the rounding of clocks as large as time.time().
_ROUNDING = 1e-4


class TokenBucket:
    __slots__ = ("rate", "burst", "tokens", "clock", "stamp")

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.clock = clock
        self.stamp = clock()

    def wait(self) -> float:
        """Seconds until a token is available (0 when one is), spending nothing."""
        tokens = min(self.burst, self.tokens + (self.clock() - self.stamp) * self.rate)
        return 0.0 if tokens >= 1.0 - _ROUNDING else (1.0 - tokens) / self.rate

    def spend(self, count: int) -> None:
        """Spend `count` tokens at once, going into debt if need be: what comes after
        waits until the debt is repaid (a multiline batch, charged when it closes)."""
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate) - count
        self.stamp = now

    def take(self) -> float:
        """Spend a token and return 0, or return the seconds until one is available."""
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0 - _ROUNDING:
            self.tokens = max(0.0, self.tokens - 1.0)
            return 0.0
        return (1.0 - self.tokens) / self.rate
