"""A channel: its members with their status, its topic, its modes and lists.

Membership status is the usual five prefixes, `(qaohv)~&@%+`: founder (`~`, +q) and
protected (`&`, +a) belong to registered channels (ChanServ), whose founder and access
list are kept here too. What each rank may do is decided in `access.py`, in one
place. A channel is chat state: only apply.py changes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hubbub.irc.casemap import casefold
from hubbub.server.bans import MaskList

if TYPE_CHECKING:
    from hubbub.server.chanflood import Counts, FloodRule
    from hubbub.server.connection import Connection
    from hubbub.server.joinflood import JoinRule
    from hubbub.server.user import User

# Ranks: what a member may do grows with them (see access.py).
VOICE = 1
HALFOP = 2
OP = 3
PROTECTED = 4
FOUNDER = 5
# Membership status letters, highest rank first, with the prefix and rank of each.
STATUS_MODES = "qaohv"
STATUS_PREFIXES = {"q": "~", "a": "&", "o": "@", "h": "%", "v": "+"}
STATUS_RANKS = {"q": FOUNDER, "a": PROTECTED, "o": OP, "h": HALFOP, "v": VOICE}
# STATUSMSG: a prefix before a channel name (`PRIVMSG @#c`) addresses the members of
# that rank and above.
PREFIX_RANKS = {STATUS_PREFIXES[m]: STATUS_RANKS[m] for m in STATUS_MODES}
# The channel lists (type A modes), each a MaskList.
LIST_MODES = "beI"


class Channel:
    __slots__ = (
        "access",
        "created",
        "flood",
        "flooding",
        "founder",
        "invited",
        "join_closed",
        "join_flood",
        "join_key",
        "join_window",
        "key",
        "limit",
        "lists",
        "local",
        "members",
        "metadata",
        "modes",
        "name",
        "registered_at",
        "topic",
        "topic_by",
        "topic_time",
    )  # fmt: skip

    def __init__(self, name: str, created: float) -> None:
        self.name = name
        self.key = casefold(name)  # the channel's identity (not its +k key: that is join_key)
        # member -> its status letters, in rank order ("oh", "o", "v" or "")
        self.members: dict[User, str] = {}
        self.topic = ""
        self.topic_by = ""
        self.topic_time = 0.0
        self.modes: set[str] = set()  # the flags (type D modes) that are on
        self.created = created
        self.join_key: str | None = None  # +k
        self.limit: int | None = None  # +l
        self.flood: FloodRule | None = None  # +f
        # +f's counts of this node's members' messages: node-local, not chat state (chanflood.py)
        self.flooding: Counts | None = None
        self.join_flood: JoinRule | None = None  # +j
        # +j's joins counted (when the window began, joins in it) and when the channel
        # opens again after it closed: chat state, counted in the network's order (joinflood.py)
        self.join_window: tuple[float, int] = (0.0, 0)
        # (when it closed, when it opens): closed between; a clock behind the closing (a
        # step back, a node behind the others) finds it open rather than closed for longer
        self.join_closed: tuple[float, float] = (0.0, 0.0)
        self.lists: dict[str, MaskList] = {letter: MaskList() for letter in LIST_MODES}
        # uids of users holding an unused invitation that lets them in (see access.py)
        self.invited: set[str] = set()
        self.metadata: dict[str, str] = {}  # IRCv3 metadata: key -> value
        # registered with ChanServ: its founder's account key, and the status letters
        # accounts on its access list get when they join (AMODE)
        self.founder: str | None = None
        self.registered_at = 0.0
        self.access: dict[str, str] = {}
        # This node's connections among the members: not chat state, but the index the
        # delivery loop runs over (announce.py keeps it), so that a message costs
        # nothing per member connected elsewhere and one lookup less per local one.
        self.local: dict[Connection, None] = {}

    def status(self, user: User) -> str:
        return self.members.get(user, "")

    def is_op(self, user: User) -> bool:
        return "o" in self.members.get(user, "")

    def rank(self, user: User) -> int:
        """The member's highest rank (VOICE to FOUNDER), 0 for none or a non-member."""
        status = self.members.get(user)
        return STATUS_RANKS[status[0]] if status else 0

    def registered_status(self, user: User) -> str:
        """What a registered channel gives a joiner: the founder +q, its access list the
        letters listed (in rank order); nothing to anyone else, and nothing elsewhere."""
        if self.founder is None or user.account is None:
            return ""
        account = casefold(user.account)
        if account == self.founder:
            return "q"
        letters = self.access.get(account, "")
        return "".join(m for m in STATUS_MODES if m in letters)

    @property
    def members_only(self) -> bool:
        """Secret, invite-only or keyed: its history is for its members alone
        (handlers/history.py `may_read`)."""
        return "s" in self.modes or "i" in self.modes or self.join_key is not None

    @property
    def closed(self) -> bool:
        """Its history ends with it (store/recorder.py): members only, or registered-only
        (+R), whose history those without an account may not read; whoever creates the
        name next, with an account or not, is its op and must not find it."""
        return self.members_only or "R" in self.modes

    def hidden_from(self, user: User) -> bool:
        """A secret (+s) channel does not exist for those outside it (LIST, NAMES, WHOIS)."""
        return "s" in self.modes and user not in self.members

    def prefix(self, user: User, multi: bool = False) -> str:
        """The prefix shown before a member's nick: the highest, or all with multi-prefix."""
        status = self.members.get(user, "")
        if not status:
            return ""
        if multi:
            return "".join(STATUS_PREFIXES[m] for m in status)
        return STATUS_PREFIXES[status[0]]

    def set_status(self, user: User, letter: str, on: bool) -> bool:
        """Give or take a status letter; True when something changed."""
        current = self.members[user]
        if on == (letter in current):
            return False
        letters = set(current)
        letters.add(letter) if on else letters.discard(letter)
        self.members[user] = "".join(m for m in STATUS_MODES if m in letters)
        return True

    def mode_params(self, show_key: bool) -> list[str]:
        """The modes as RPL_CHANNELMODEIS gives them: `+<letters>` then the parameters.

        The key comes last so that leaving its value out (for non-members) keeps every
        other parameter next to its letter.
        """
        letters = "".join(sorted(self.modes))
        params: list[str] = []
        if self.flood is not None:
            letters += "f"
            params.append(self.flood.param())
        if self.join_flood is not None:
            letters += "j"
            params.append(self.join_flood.param())
        if self.limit is not None:
            letters += "l"
            params.append(str(self.limit))
        if self.join_key is not None:
            letters += "k"
            if show_key:
                params.append(self.join_key)
        return ["+" + letters, *params]
