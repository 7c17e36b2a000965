"""The channel modes we implement, as one table.

Each mode is declared once with its kind (the CHANMODES type, or a membership prefix)
and the rank needed to change it. The MODE handler parses by kind and checks the rank
from here; ISUPPORT (CHANMODES, PREFIX) and RPL_MYINFO are derived from the same rows,
so what is advertised is exactly what MODE accepts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hubbub.server.channel import FOUNDER, HALFOP, OP, STATUS_MODES, STATUS_PREFIXES
from hubbub.server.usermodes import format_changes

if TYPE_CHECKING:
    from hubbub.server.events import ModeChange
    from hubbub.server.user import User

LIST = "A"  # a list of masks; without a parameter, a query of the list
SETTING = "B"  # always has a parameter (+k key; we also accept -k without one)
PARAM_WHEN_SET = "C"  # a parameter when set, none when unset (+l)
FLAG = "D"  # never a parameter
PREFIX = "P"  # a membership status given to a nick


@dataclass(frozen=True, slots=True)
class ModeSpec:
    letter: str
    kind: str
    min_rank: int  # the rank a member needs to change it
    meaning: str

    def takes_param(self, adding: bool) -> bool:
        """Whether this change consumes a parameter (a list mode may still go without: a query)."""
        return self.kind in (LIST, SETTING, PREFIX) or (self.kind == PARAM_WHEN_SET and adding)


_TABLE = (
    ModeSpec("b", LIST, HALFOP, "ban: matching users cannot join; with m: they cannot speak"),
    ModeSpec("e", LIST, HALFOP, "ban exception: matching users are exempt from +b"),
    ModeSpec("I", LIST, HALFOP, "invite exception: matching users may join a +i channel"),
    ModeSpec("k", SETTING, HALFOP, "key: JOIN must give it"),
    ModeSpec("l", PARAM_WHEN_SET, HALFOP, "limit: no one joins once this many are in"),
    ModeSpec("f", PARAM_WHEN_SET, HALFOP, "flood: [*]lines:seconds; who sends more is kicked (*: and banned)"),
    ModeSpec("j", PARAM_WHEN_SET, HALFOP, "join flood: joins:seconds; once reached, joins wait (limits.join_lock)"),
    ModeSpec("i", FLAG, HALFOP, "invite only: JOIN needs an INVITE or a +I match"),
    ModeSpec("m", FLAG, HALFOP, "moderated: only voiced members and above speak"),
    ModeSpec("n", FLAG, HALFOP, "no external messages: only members speak"),
    ModeSpec("s", FLAG, HALFOP, "secret: hidden from LIST, NAMES, WHO and TOPIC of outsiders"),
    ModeSpec("t", FLAG, HALFOP, "protected topic: only halfops and above set it"),
    ModeSpec("C", FLAG, HALFOP, "no CTCP: of CTCP messages, only ACTION (/me) reaches the channel"),
    ModeSpec("T", FLAG, HALFOP, "no NOTICE: notices to the channel are dropped"),
    ModeSpec("K", FLAG, HALFOP, "no knock: KNOCK on the channel is refused"),
    ModeSpec("R", FLAG, HALFOP, "registered only: JOIN needs a login to an account (or an INVITE)"),
    ModeSpec("M", FLAG, HALFOP, "registered speech: members below voice speak only when logged in"),
    ModeSpec("q", PREFIX, FOUNDER, "founder (~): a registered channel's owner, given by ChanServ"),
    ModeSpec("a", PREFIX, FOUNDER, "protected (&): cannot be kicked or deopped by operators"),
    ModeSpec("o", PREFIX, OP, "channel operator (@)"),
    ModeSpec("h", PREFIX, OP, "half-operator (%)"),
    ModeSpec("v", PREFIX, HALFOP, "voice (+)"),
)
CHANNEL_MODES: dict[str, ModeSpec] = {spec.letter: spec for spec in _TABLE}


def _letters(kind: str) -> str:
    return "".join(sorted((s.letter for s in _TABLE if s.kind == kind), key=lambda c: (c.lower(), c)))


def chanmodes_token() -> str:
    """The CHANMODES=A,B,C,D value."""
    return ",".join(_letters(kind) for kind in (LIST, SETTING, PARAM_WHEN_SET, FLAG))


def prefix_token() -> str:
    """The PREFIX=(modes)prefixes value, highest rank first."""
    return f"({STATUS_MODES})" + "".join(STATUS_PREFIXES[m] for m in STATUS_MODES)


def statusmsg_token() -> str:
    """The STATUSMSG value: every membership prefix, highest rank first."""
    return "".join(STATUS_PREFIXES[m] for m in STATUS_MODES)


def myinfo_channel_modes() -> str:
    """Every channel mode letter, for RPL_MYINFO."""
    return "".join(sorted(CHANNEL_MODES))


def myinfo_param_modes() -> str:
    """The channel modes that take a parameter, RPL_MYINFO's last field."""
    return "".join(sorted(s.letter for s in _TABLE if s.takes_param(True)))


# -- parameter validation ---------------------------------------------------------------

LIMIT_MAX = 1_000_000


class BadParam(ValueError):
    """A mode parameter we refuse; the message says why, for ERR_INVALIDMODEPARAM."""


def check_key(text: str, keylen: int) -> str:
    """A +k key: printable, no spaces or commas (they split JOIN's key list), not too long."""
    if not text or len(text.encode()) > keylen:
        raise BadParam(f"a key must have 1 to {keylen} bytes")
    if text[0] == ":" or any(ch in ", " or ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise BadParam("a key cannot contain spaces, commas or control characters, nor start with ':'")
    return text


def parse_limit(text: str) -> int:
    """A +l limit: a whole number of members, at least 1."""
    if not (text.isascii() and text.isdigit() and len(text) <= 7) or not 0 < int(text) <= LIMIT_MAX:
        raise BadParam(f"a limit must be a whole number from 1 to {LIMIT_MAX}")
    return int(text)


MODE_LINE_BUDGET = 510  # bytes of a MODE line before its CRLF

Shown = tuple[bool, str, str | None]  # (adding, letter, the argument as shown, or None)


def shown_changes(users: Mapping[str, User], changes: Sequence[ModeChange]) -> list[Shown]:
    """Mode changes as a MODE line shows them: a status's uid as the nick it names, and
    no argument for `-l` or `-f`. The announcement and the history's record show them alike."""
    shown: list[Shown] = []
    for change in changes:
        param = change.param
        if change.letter in "lf" and not change.adding:
            param = None
        elif param is not None and change.letter in STATUS_MODES:
            target = users.get(param)
            param = target.nick if target is not None else param
        shown.append((change.adding, change.letter, param))
    return shown


def split_mode_changes(head: int, changes: Sequence[Shown]) -> list[list[Shown]]:
    """A channel's mode changes as the MODE lines that carry them, one line unless 512
    bytes demand more; `head` is the bytes of `:source MODE #channel +`. Live (the
    announcement) and replayed (history) alike, so both show the same lines."""
    lines: list[list[Shown]] = []
    batch: list[Shown] = []
    size = head
    for change in changes:
        shown = change[2]
        cost = 2 + (len(shown.encode()) + 2 if shown is not None else 0)  # sign, letter, " :arg"
        if batch and size + cost > MODE_LINE_BUDGET:
            lines.append(batch)
            batch, size = [], head
        batch.append(change)
        size += cost
    if batch:
        lines.append(batch)
    return lines


def mode_params(channel: str, line: Sequence[Shown]) -> list[str]:
    """The parameters of one MODE line: the channel, `+bb-o`, the arguments."""
    letters = format_changes([(adding, letter) for adding, letter, _ in line])
    return [channel, letters, *(arg for _, _, arg in line if arg is not None)]


def parse_mode_changes(letters: str, args: Sequence[str]) -> list[Shown]:
    """The changes of a MODE line we wrote (`+bb-o`, its arguments in order): which
    letter took which argument, by the table above (our own lines only: every letter
    is ours, and a list mode always has its mask)."""
    changes: list[Shown] = []
    adding = True
    remaining = list(args)
    for letter in letters:
        if letter in "+-":
            adding = letter == "+"
            continue
        spec = CHANNEL_MODES.get(letter)
        takes = spec is not None and spec.takes_param(adding) and remaining
        changes.append((adding, letter, remaining.pop(0) if takes else None))
    return changes
