"""A channel: its members with their status, its topic and its modes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hubbub.irc.casemap import casefold

if TYPE_CHECKING:
    from hubbub.server.client import Client
    from hubbub.server.delivery import Outgoing

# Membership status letters, highest rank first, and the prefix each shows as.
STATUS_MODES = "ov"
STATUS_PREFIXES = {"o": "@", "v": "+"}
# Channel modes without a parameter that we enforce; see modes.py for their meaning.
FLAG_MODES = "nt"


class Channel:
    __slots__ = ("name", "key", "members", "topic", "topic_by", "topic_time", "modes", "created")

    def __init__(self, name: str, created: float) -> None:
        self.name = name
        self.key = casefold(name)
        # member -> its status letters, in rank order ("ov", "o", "v" or "")
        self.members: dict[Client, str] = {}
        self.topic = ""
        self.topic_by = ""
        self.topic_time = 0.0
        self.modes: set[str] = set()
        self.created = created

    def status(self, client: Client) -> str:
        return self.members.get(client, "")

    def is_op(self, client: Client) -> bool:
        return "o" in self.members.get(client, "")

    def prefix(self, client: Client, multi: bool = False) -> str:
        """The prefix shown before a member's nick: the highest, or all with multi-prefix."""
        status = self.members.get(client, "")
        if not status:
            return ""
        if multi:
            return "".join(STATUS_PREFIXES[m] for m in status)
        return STATUS_PREFIXES[status[0]]

    def set_status(self, client: Client, letter: str, on: bool) -> bool:
        """Give or take a status letter; True when something changed."""
        current = self.members[client]
        if on == (letter in current):
            return False
        letters = set(current)
        letters.add(letter) if on else letters.discard(letter)
        self.members[client] = "".join(m for m in STATUS_MODES if m in letters)
        return True

    def mode_string(self) -> str:
        return "+" + "".join(sorted(self.modes))

    def broadcast(self, out: Outgoing, exclude: Client | None = None) -> None:
        for member in self.members:
            if member is not exclude:
                member.deliver(out)
