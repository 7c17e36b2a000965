"""Channel mode +j joins:seconds (InspIRCd's joinflood): once `joins` users have joined a
channel within `seconds`, it is closed to new joins for `limits.join_lock` seconds
(a flood of bots joining at once is stopped after the first few, and its members are
told with a NOTICE). Invited users, and a registered channel's founder and access list,
still come in; the others get `437` with the time left.

Unlike +f's counts, the joins are counted where the events are applied, in the
network's order, from the events' times: every node of a cluster counts the same joins
and closes the channel at the same join, so the window is chat state (snapshot, digest).
A closed channel's window is not kept by the store: after a restart joins count afresh.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, NamedTuple

from hubbub.server.chanmodes import BadParam

if TYPE_CHECKING:
    from hubbub.server.channel import Channel

MAX_JOINS = 100
MAX_SECONDS = 3600


class JoinRule(NamedTuple):
    joins: int
    seconds: int

    def param(self) -> str:
        """The rule as MODE shows it (`5:10`)."""
        return f"{self.joins}:{self.seconds}"


_KEPT = re.compile(r"([0-9]{1,9}):([0-9]{1,9})")


def parse(text: str) -> JoinRule:
    """A +j parameter as MODE takes it (within this version's bounds); BadParam (the
    696's reason) when it is not one."""
    rule = kept(text)
    if rule is None or rule.joins > MAX_JOINS or rule.seconds > MAX_SECONDS:
        raise BadParam(f"a join flood rule is <joins>:<seconds>, 1 to {MAX_JOINS} joins in 1 to {MAX_SECONDS} seconds")
    return rule


def kept(text: str | None) -> JoinRule | None:
    """A rule as an event, a snapshot or the store carry it: any positive numbers (a
    version with other bounds set it); None for none or nonsense."""
    found = _KEPT.fullmatch(text or "")
    if found is None or int(found[1]) < 1 or int(found[2]) < 1:
        return None
    return JoinRule(int(found[1]), int(found[2]))


def is_closed(channel: Channel, now: float) -> bool:
    """Whether the channel is closed to joins at `now` (between its closing and its
    opening: a clock behind the closing finds it open, never closed for longer)."""
    closed_at, opens_at = channel.join_closed
    return closed_at <= now < opens_at


def count_join(channel: Channel, now: float, lock: float) -> bool:
    """Count one join to a channel with a rule; True when it closes the channel (for
    `lock` seconds from now: the window starts over after). A join let in while it is
    closed (invited, its owners) is not counted: the count starts afresh once it opens."""
    rule = channel.join_flood
    if rule is None or is_closed(channel, now):
        return False
    start, count = channel.join_window
    if now - start >= rule.seconds:
        start, count = now, 0
    count += 1
    if count >= rule.joins and lock > 0:
        channel.join_window = (now, 0)
        channel.join_closed = (now, now + lock)
        return True
    channel.join_window = (start, count)
    return False
