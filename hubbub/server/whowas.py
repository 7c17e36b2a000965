"""WHOWAS history: who used a nickname before, newest first, within a fixed budget.

An entry is remembered when a registered user leaves the nick behind: by quitting
(however that happened) or by changing to another one. The history holds at most
`limit` entries in all; the oldest entry is forgotten first, whichever nick it is for.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from hubbub.irc.casemap import casefold


@dataclass(frozen=True, slots=True)
class WhowasEntry:
    nick: str
    username: str
    host: str
    realname: str
    server: str
    when: float  # when the nick was left behind
    ip: str = ""  # the address behind the host (a cloak, a vhost), for operators; "": not known


class WhowasHistory:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._order: deque[WhowasEntry] = deque()  # oldest first, all nicks
        self._by_nick: dict[str, deque[WhowasEntry]] = {}  # casefolded nick -> its entries, oldest first

    def __len__(self) -> int:
        return len(self._order)

    def record(self, entry: WhowasEntry) -> None:
        if self.limit <= 0:
            return
        self._order.append(entry)
        self._by_nick.setdefault(casefold(entry.nick), deque()).append(entry)
        self._trim()

    def lookup(self, nick: str, count: int = 0) -> list[WhowasEntry]:
        """Entries for `nick`, newest first; at most `count` of them when it is positive."""
        entries = self._by_nick.get(casefold(nick))
        if not entries:
            return []
        newest_first = list(reversed(entries))
        return newest_first[:count] if count > 0 else newest_first

    def entries(self) -> list[WhowasEntry]:
        """Every entry, oldest first."""
        return list(self._order)

    def resize(self, limit: int) -> None:
        """Apply a new budget (after a rehash), forgetting the oldest entries if it shrank."""
        self.limit = limit
        self._trim()

    def _trim(self) -> None:
        while len(self._order) > max(self.limit, 0):
            oldest = self._order.popleft()
            key = casefold(oldest.nick)
            entries = self._by_nick[key]
            entries.popleft()  # the globally oldest is also the oldest of its nick
            if not entries:
                del self._by_nick[key]
