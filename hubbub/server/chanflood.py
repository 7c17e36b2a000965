"""Channel mode +f: a member below halfop who sends more than `lines` messages to the
channel within `seconds` is kicked by the server, and with `*` banned (`*!*@host`)
first; the message that passed the limit is not relayed. InspIRCd's `+f [*]<lines>:<seconds>`.

The rule is part of the channel (replicated, shown in MODE, kept for a registered
channel). The counting is not: each node counts the messages of its own users (every
message of a user goes through its node), in the channel's node-local `flooding`, and
the kick (and ban) it decides are events like an operator's, ordered with the rest.
A window of `seconds` starts at a member's first message in it; the count starts over
when the window has passed. Counts of members who went quiet are dropped as the table
grows past the members it could hold.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from hubbub.server.chanmodes import BadParam

MAX_LINES = 100
MAX_SECONDS = 3600
_RULE = re.compile(r"(\*?)([0-9]{1,3}):([0-9]{1,4})")


class FloodRule(NamedTuple):
    lines: int
    seconds: int
    ban: bool

    def param(self) -> str:
        """The rule as MODE shows it (`*5:10`)."""
        return f"{'*' if self.ban else ''}{self.lines}:{self.seconds}"

    def reason(self) -> str:
        return f"Channel flood triggered ({self.lines} lines in {self.seconds} seconds)"


def parse(text: str) -> FloodRule:
    """A +f parameter; BadParam (the 696's reason) when it is not one."""
    found = _RULE.fullmatch(text)
    if found is None or not (1 <= int(found[2]) <= MAX_LINES and 1 <= int(found[3]) <= MAX_SECONDS):
        raise BadParam(f"a flood rule is [*]<lines>:<seconds>, 1 to {MAX_LINES} lines in 1 to {MAX_SECONDS} seconds")
    return FloodRule(int(found[2]), int(found[3]), found[1] == "*")


Counts = dict[str, tuple[float, int]]  # uid -> (when its window started, messages in it)


def counted(counts: Counts, rule: FloodRule, uid: str, now: float, members: int, messages: int = 1) -> bool:
    """Count `messages` more from `uid`; True when that passes the rule (its count is
    then forgotten: the member is on its way out)."""
    start, count = counts.get(uid, (now, 0))
    if now - start >= rule.seconds:
        start, count = now, 0
    count += messages
    if count > rule.lines:
        counts.pop(uid, None)
        return True
    counts[uid] = (start, count)
    if len(counts) > 2 * members + 16:
        for quiet in [key for key, (began, _) in counts.items() if now - began >= rule.seconds]:
            del counts[quiet]
    return False
