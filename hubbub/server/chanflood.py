"""Channel mode +f: one below halfop who sends more than `lines` messages to the channel
within `seconds` is refused what passes the rule until the window is over; a member is
kicked by the server at the first such message, and with `*` the sender is banned
(`*!*@host`) first. An outsider (a `-n` channel) is counted and refused alike, and
banned with `*`. InspIRCd's `+f [*]<lines>:<seconds>`.

A PRIVMSG or NOTICE counts as a line (a multiline message, each of its lines); a
TAGMSG (typing notifications, reactions) as a fifth of one, as InspIRCd's default
weights have it: a client showing that its user is typing does not come near the rule,
one that floods the channel with tags does.

The rule is part of the channel (replicated, shown in MODE, kept for a registered
channel). The counting is not: each node counts the messages of its own users (every
message of a user goes through its node), in the channel's node-local `flooding`, and
the kick (and ban) it decides are events like an operator's, ordered with the rest.
A window of `seconds` starts at a sender's first message in it; the count starts over
when the window has passed (and carries across a PART and a JOIN meanwhile). Counts of
senders who went quiet are dropped, at most once a window, as the table grows past the
members it could hold.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from hubbub.server.chanmodes import BadParam

MAX_LINES = 100
MAX_SECONDS = 3600


class FloodRule(NamedTuple):
    lines: int
    seconds: int
    ban: bool

    def param(self) -> str:
        """The rule as MODE shows it (`*5:10`)."""
        return f"{'*' if self.ban else ''}{self.lines}:{self.seconds}"

    def reason(self) -> str:
        return f"Channel flood triggered ({self.lines} lines in {self.seconds} seconds)"


_KEPT = re.compile(r"(\*?)([0-9]{1,9}):([0-9]{1,9})")


def parse(text: str) -> FloodRule:
    """A +f parameter as MODE takes it (within this version's bounds); BadParam (the
    696's reason) when it is not one."""
    rule = kept(text)
    if rule is None or rule.lines > MAX_LINES or rule.seconds > MAX_SECONDS:
        raise BadParam(f"a flood rule is [*]<lines>:<seconds>, 1 to {MAX_LINES} lines in 1 to {MAX_SECONDS} seconds")
    return rule


def kept(text: str | None) -> FloodRule | None:
    """A rule as an event, a snapshot or the store carry it: checked by the MODE that
    set it, perhaps by another version with other bounds, so any positive numbers are
    taken (a restart or another node must not fail on it); None for none or nonsense."""
    found = _KEPT.fullmatch(text or "")
    if found is None or int(found[2]) < 1 or int(found[3]) < 1:
        return None
    return FloodRule(int(found[2]), int(found[3]), found[1] == "*")


# uid -> (when its window started, its weight in it, in fifths of a line); "" -> when
# counts were last swept
Counts = dict[str, tuple[float, int]]
OK, CROSSED, OVER = 0, 1, 2  # within the rule; the first message past it; a later one
LINE = 5  # what a PRIVMSG or NOTICE (or a line of a multiline one) weighs
TAG = 1  # what a TAGMSG weighs


def counted(counts: Counts, rule: FloodRule, uid: str, now: float, members: int, weight: int = LINE) -> int:
    """Count `weight` more from `uid` (LINE for each line, TAG for a TAGMSG): OK,
    CROSSED (this passes the rule: act) or OVER (past it already in this window: refuse)."""
    start, count = counts.get(uid, (now, 0))
    if now - start >= rule.seconds:
        start, count = now, 0
    before, count = count, count + weight
    counts[uid] = (start, count)
    if len(counts) > 2 * members + 16 and now - counts.get("", (0.0, 0))[0] >= rule.seconds:
        for quiet in [key for key, (began, _) in counts.items() if key and now - began >= rule.seconds]:
            del counts[quiet]
        counts[""] = (now, 0)
    most = rule.lines * LINE
    if count <= most:
        return OK
    return CROSSED if before <= most else OVER


def wait(counts: Counts, rule: FloodRule, uid: str, now: float) -> float:
    """Seconds until `uid`'s window is over."""
    start, _ = counts.get(uid, (now, 0))
    return max(0.0, rule.seconds - (now - start))
