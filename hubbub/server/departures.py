"""When this node's users last left each channel: what a rejoin's autoreplay may skip.

A client without draft/chathistory gets a channel's last lines on JOIN
(handlers/history.py `autoreplay`). Replayed to someone who was just there, they are
lines already on their screen, shown again after the live ones (WeeChat, with their old
times) or as new (irssi, with the time of the replay). So a rejoin replays only what was
said since its user left: remembered per account (a reconnection, the same person on
another connection) and, for a user without one, per nick and address (a PART and JOIN,
or a client reconnecting as it was: a web gateway, a bouncer not logged in). Kept in
memory, the oldest forgotten first past a bound: an account's by every node of a
cluster (the events that end a membership are applied everywhere, and the account may
come back on any node; a node starting from a snapshot takes those of the node that
wrote it: `dump`, `load`), a user's without one by its own node only. An
account's are kept by the store too, at a clean stop, with the channels its connections
were in then (the clients reconnect and rejoin by themselves, having seen everything
until the stop), and come back at the next start: after a restart, a rejoin replays what
was said since the stop, not lines already on the screen. In a cluster the node that
stopped reads them back, and the others learn them from its NodeLost, which says until
when its users were shown everything (`seen`: its users' quits carry it). After a crash,
a node declared lost by the others, or for someone new, the replay is the channel's last
lines.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from hubbub.irc.casemap import casefold
from hubbub.server.apply import Outcome
from hubbub.server.channel import Channel
from hubbub.server.connection import CHATHISTORY
from hubbub.server.events import AccountDropped, Event, Kicked, Parted, UserQuit
from hubbub.server.storage import Departure
from hubbub.server.user import User

REMEMBERED = 20000  # (who, channel) pairs kept
# When a connection of an account that cannot ask for history last quit (wherever it
# was; see `_note_private`), kept as a channel's departure: what such a client is
# replayed of its private conversations when back (handlers/history.py
# `replay_private`). No channel's key is empty.
PRIVATE = ""


def stop_time(clock_now: float, clock_us: int, clustered: bool) -> float:
    """When this node's users leave their channels at a clean stop (`Departures.stopping`).

    A lone server: a millisecond after both its clock and the last event it applied;
    nothing is said after it. A node of a cluster: the others go on, and an event this
    node has not applied yet is stamped after the last one it did (apply.in_time_order),
    whatever the clocks say, so the cut is that last event's time, not this node's clock
    (ahead of the others', or the log quiet for a while, a clock would count lines said
    just after the stop as seen). Kept in whole milliseconds rounded up
    (`rows.departure_ms`): only a line of another node stamped in the rest of that
    millisecond, and not applied here yet, could still be taken for seen.
    """
    if clustered:
        return clock_us / 1e6
    return max(clock_now, clock_us / 1e6) + 0.001


# How long before a client's last line what was sent to it may still have been on its
# way (a round trip, generously): see `received_until`.
RECEIVED_MARGIN = 2.0
# A connection that ended this way died on the network: the client was reading until it
# went silent (a connection cut, reset, or silent until the ping timeout). Not one that
# fell behind (SendQ exceeded: it had stopped reading, maybe long before its last line),
# nor one closed for what it did (Excess Flood, a K-line, a KILL).
_NETWORK_DEATHS = ("Ping timeout", "Connection closed", "Connection error")


def received_until(reason: str, last_line: float) -> float:
    """Until when a connection that ended for `reason` without a QUIT, whose client sent
    its last line at `last_line` (0: none), surely received what it was sent, 0.0 when not
    known (the `seen` of its UserQuit). What was sent to it a round trip before its last
    line had reached it; what came later may have gone to a dead socket. A bouncer or a
    web gateway that loses its connection comes back at once: without this, its rejoin
    replayed everything since its account last quit on purpose, lines it had shown live
    (ZNC keeps them in its buffers a second time)."""
    if last_line <= 0 or not reason.startswith(_NETWORK_DEATHS):
        return 0.0
    return last_line - RECEIVED_MARGIN


def _who(user: User) -> str:
    # Without an account, a person is known by nick and address: The Lounge or a bouncer
    # connecting again without logging in comes back as both (by connection, each of its
    # reconnections was replayed the channel's last lines, on top of those it had). Who
    # else takes that nick there gets what was said since its holder left, as anyone who
    # may join may read it (CHATHISTORY).
    return "a:" + casefold(user.account) if user.account is not None else f"u:{casefold(user.nick)}@{user.ip}"


class Departures:
    """A subscriber of the engine: the time of each PART, KICK and QUIT of an account (on
    any node) or a local user without one (and a dropped account's, forgotten)."""

    def __init__(self, limit: int = REMEMBERED) -> None:
        self.limit = limit
        self._left: OrderedDict[tuple[str, str], float] = OrderedDict()
        # The latest departure forgotten past the bound (here, or by the store before the
        # start): an account made after it that has none never left (`left_privately`).
        self._forgotten_until = float("-inf")
        self._routes: dict[type[Any], Callable[[Any, Outcome], None]] = {
            Parted: self._parted, Kicked: self._kicked, UserQuit: self._quit, AccountDropped: self._dropped,
        }  # fmt: skip

    def restore(self, departures: Iterable[Departure], now: float) -> None:
        """The accounts' departures kept at the last clean stop (oldest first). One after
        `now` (the clock was set back since, by more than the events follow: see
        apply.in_time_order) counts from now: what is said from now on is after it."""
        given = 0
        oldest = float("inf")
        for departure in departures:
            given += 1
            key = ("a:" + departure.account, departure.channel)
            when = min(departure.time, now)
            oldest = min(oldest, when)
            if when > self._left.get(key, -1.0):
                self._left.pop(key, None)
                self._left[key] = when
        if given >= self.limit:  # as many as are kept: older ones may have been forgotten
            self._forgotten_until = max(self._forgotten_until, oldest)
        self._bound()

    def dump(self) -> list[list[Any]]:
        """The accounts' departures, oldest first, for a cluster's snapshot (JSON): a node
        starting from it knows those the log taught the others before it came."""
        return [[who[2:], channel, when] for (who, channel), when in self._left.items() if who.startswith("a:")]

    def load(self, rows: Any) -> None:
        """Take in a snapshot's departures (`dump`), the later of two for one pair
        winning; a malformed one is skipped (a snapshot of another version)."""
        if not isinstance(rows, list):
            return
        kept = []
        for row in rows:
            if isinstance(row, list) and len(row) == 3:
                account, channel, when = row
                if isinstance(account, str) and isinstance(channel, str) and isinstance(when, (int, float)):
                    kept.append(Departure(account, channel, float(when)))
        self.restore(kept, float("inf"))

    def stopping(self, users: Iterable[User], time: float) -> tuple[Departure, ...]:
        """The server stops: this node's users with an account leave their channels now
        (they saw everything until then). What to keep of the accounts' departures, in
        the order they were noted."""
        for user in users:
            if user.account is not None and user.conn is not None:
                self._note_private(user, time, CHATHISTORY in user.conn.caps)
                if user.channels:
                    self._note(user, user.channels.values(), time)
        return tuple(Departure(who[2:], channel, when) for (who, channel), when in self._left.items()
                     if who.startswith("a:"))  # fmt: skip

    def left(self, user: User, channel: Channel) -> float | None:
        """When `user` (its account, if it has one) last left `channel` on this node."""
        return self._left.get((_who(user), channel.key))

    def left_privately(self, account: str, made_at: float | None = None) -> float | None:
        """When a connection of `account` that could not ask for history itself last quit
        (or the server stopped under it): what its private conversations held since, it
        did not see on that connection. Else when any connection of it did (a point to
        start from for a first login with irssi: an offline message found there too).
        Else, given when the account was made (`made_at`) and that is after every
        departure forgotten, then: no connection of it ever quit, so nothing said to it
        since was seen (an account made by `hubbub account add`, logging in for the
        first time, finds the messages left for it meanwhile). None: not known."""
        left = self._left.get(("a:" + casefold(account), PRIVATE))
        if left is None and made_at is not None and made_at > self._forgotten_until:
            return made_at
        return left

    def _note_private(self, user: User, time: float, reads_history: bool = False) -> None:
        # A connection that reads history itself (the web client) fetches what it missed:
        # its quit moves no point of the others' (irssi gone since before would lose what
        # came in between), and is a point only when none is known yet.
        key = (_who(user), PRIVATE)
        if reads_history and key in self._left:
            return
        self._left.pop(key, None)
        self._left[key] = time
        self._bound()

    def _note(self, user: User | None, channels: Iterable[Channel], time: float) -> None:
        # An account's departures on every node alike: it may come back on any of them. A
        # user without one is noted by its own node only (by nick and address: `_who`),
        # where a client reconnecting as it was comes back.
        if user is None or (user.conn is None and user.account is None):
            return
        who = _who(user)
        left = self._left
        for channel in channels:
            key = (who, channel.key)
            left.pop(key, None)
            left[key] = time
        self._bound()

    def _bound(self) -> None:
        """The oldest pairs forgotten past `limit`."""
        left = self._left
        while len(left) > self.limit:
            pair, when = left.popitem(last=False)
            if pair[0].startswith("a:") and when > self._forgotten_until:
                self._forgotten_until = when

    def _parted(self, event: Parted, outcome: Outcome) -> None:
        if outcome.channel is not None:
            self._note(outcome.user, (outcome.channel,), event.time)

    def _kicked(self, event: Kicked, outcome: Outcome) -> None:
        if outcome.channel is not None:
            self._note(outcome.target, (outcome.channel,), event.time)

    def _quit(self, event: UserQuit, outcome: Outcome) -> None:
        # A QUIT its user sent says when it stopped reading; a dropped connection stopped
        # receiving some time before its quit: the quit says until when it surely received
        # everything (`seen`: `received_until`, or its node's clean stop), and without
        # that (a sendq exceeded, a KILL) a return gets the channel's last lines, as
        # someone new. A user without an account comes back by nick and address (`_who`),
        # on this node only (`_note`).
        user = outcome.user
        if user is None:
            return
        if user.account is not None:
            # Private messages kept for the account from now on were never sent to this
            # connection, however it ended (what a dying one missed before is not known)
            self._note_private(user, event.time, event.reads_history)
        reason = event.reason
        if reason == "Quit" or reason.startswith("Quit: "):  # its own words
            self._note(user, outcome.left, event.time)
        elif event.seen:  # received everything until `seen` (its node stopped cleanly, or
            self._note(user, outcome.left, min(event.seen, event.time))  # a network death)

    def _dropped(self, event: AccountDropped, outcome: Outcome) -> None:
        """A dropped account's departures go with it: whoever registers the name next is
        someone new to its channels (and the store forgets them too)."""
        who = "a:" + event.key
        for pair in [pair for pair in self._left if pair[0] == who]:
            del self._left[pair]

    def route(self, kind: type[Any]) -> Callable[[Any, Outcome], None] | None:
        """Only the three events that end a membership, and a dropped account (see
        engine.Routes)."""
        return self._routes.get(kind)

    def __call__(self, event: Event, outcome: Outcome) -> None:
        """For an engine without routes (a cluster's replica): every event comes here."""
        if outcome.rejected is None:
            record = self._routes.get(type(event))
            if record is not None:
                record(event, outcome)
