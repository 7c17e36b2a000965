"""The server log's account of who came and went, as operators expect it.

One line per event at `info`: a connection accepted or refused (and why), the address
a WebIRC gateway named for its user (and which gateway it was), a user registered, a
user gone (and why: quit, ping timeout, SendQ exceeded, K-lined, killed...), a K-line
matching someone, a failed OPER; and what outlives them, with who did it from where: an
account registered or dropped, a channel registered, given to another account or
unregistered (so that an administrator can tell who took a name, and when). Never what
anyone said: of a QUIT, only that it was one, not its message.

Connections, registrations and departures come at the rate a client chooses, so each
kind of line passes a token bucket: a burst is logged whole, a flood is not. What is
held back is counted and reported once the flood is over (`flush`, called periodically:
"1234 more 'refused' lines not logged"), so the log stays readable and its size bounded
while the numbers stay true.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from hubbub.server.flood import TokenBucket
from hubbub.server.user import User

log = logging.getLogger("hubbub.audit")

# Lines of one kind logged at once, then per second, before the rest is only counted.
BURST = 20
RATE = 5.0
# Refusals say the same thing again and again under attack: one line per second per reason.
REFUSAL_BURST = 1
REFUSAL_RATE = 1.0


class RateLimitedLog:
    """Lines logged through a token bucket per key; those held back are counted."""

    def __init__(self, logger: logging.Logger, rate: float, burst: int, clock: Callable[[], float]) -> None:
        self.logger = logger
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, TokenBucket] = {}
        self._held: dict[str, int] = {}

    def info(self, key: str, message: str, *args: object) -> bool:
        """Log `message % args` unless `key` is over its rate; True if it was logged."""
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self.rate, self.burst, self.clock)
        if bucket.take() > 0.0:
            self._held[key] = self._held.get(key, 0) + 1
            return False
        self._report(key)
        self.logger.info(message, *args)
        return True

    def _report(self, key: str) -> None:
        held = self._held.pop(key, 0)
        if held:
            self.logger.info("%d more %r lines not logged (rate limited)", held, key)

    def flush(self) -> None:
        """Report what was held back (the keys are a few kinds of line: no need to forget them)."""
        for key in list(self._held):
            self._report(key)


def _who(user: User) -> str:
    return f"{user.nick}!{user.username}@{user.host} [{user.ip}]{via(user)}"


def via(user: User) -> str:
    """` via WebIRC gateway kiwiirc [10.0.0.5]` for a user a gateway connected, else ``."""
    if user.gateway is None:
        return ""
    name, address = user.gateway
    return f" via WebIRC gateway {name} [{address}]"


class Audit:
    """The events of this node's connections, logged: the runtime reports connections and
    refusals, the announcer registrations and departures, handlers K-line hits and failed
    OPERs."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.lines = RateLimitedLog(log, RATE, BURST, clock)
        self.refusals = RateLimitedLog(log, REFUSAL_RATE, REFUSAL_BURST, clock)

    def flush(self) -> None:
        self.lines.flush()
        self.refusals.flush()

    # -- connections (the runtime reports them) --------------------------------------------

    def connected(self, ip: str, secure: bool) -> None:
        self.lines.info("connect", "connection from %s%s", ip, " (TLS)" if secure else "")

    def handshake_failed(self, ip: str, why: str) -> None:
        self.lines.info("handshake", "TLS handshake with %s failed: %s", ip, why)

    def refused(self, ip: str, reason: str) -> None:
        self.refusals.info(f"refused: {reason}", "refused a connection from %s: %s", ip, reason)

    def through_gateway(self, user: User) -> None:
        """A WebIRC gateway named the address of the user it connects."""
        self.lines.info("connect", "connection from %s%s%s", user.ip, " (TLS)" if user.secure else "", via(user))

    def gateway_refused(self, ip: str, reason: str) -> None:
        self.refusals.info(f"webirc: {reason}", "refused WEBIRC from %s: %s", ip, reason)

    # -- what handlers report ---------------------------------------------------------------

    def kline_hit(self, mask: str, who: str) -> None:
        self.lines.info("kline", "K-line %s matches %s", mask, who)

    def oper_failed(self, user: User, why: str) -> None:
        self.lines.info("oper", "failed OPER attempt by %s: %s", _who(user), why)

    def account_registered(self, user: User, account: str) -> None:
        self.lines.info("account", "account %s registered by %s", account, _who(user))

    def account_dropped(self, user: User, account: str) -> None:
        self.lines.info("account", "account %s dropped by %s", account, _who(user))

    def channel_registered(self, user: User, channel: str, account: str) -> None:
        self.lines.info("channel", "channel %s registered to account %s by %s", channel, account, _who(user))

    def channel_given(self, user: User, channel: str, account: str) -> None:
        self.lines.info("channel", "channel %s given to account %s by %s", channel, account, _who(user))

    def channel_dropped(self, user: User, channel: str) -> None:
        self.lines.info("channel", "channel %s unregistered by %s", channel, _who(user))

    # -- registrations and departures of users connected here (the announcer reports them) --

    def registered(self, user: User) -> None:
        self.lines.info("register", "registered %s", _who(user))

    def ghost_dropped(self, user: User) -> None:
        """Said before its departure's line: its "Ping timeout" came early, for a reason."""
        self.lines.info("disconnect", "%s did not answer a PING sent for another login of account %s: dropping it",
                        _who(user), user.account)  # fmt: skip

    def left(self, user: User, reason: str) -> None:
        if reason.startswith("Quit:"):
            reason = "Quit"  # its message is the user's words
        if user.registered:
            self.lines.info("disconnect", "disconnected %s (%s)", _who(user), reason)
        else:
            self.lines.info("disconnect", "disconnected [%s]%s before registering (%s)", user.ip, via(user), reason)
