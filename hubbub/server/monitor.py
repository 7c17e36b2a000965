"""MONITOR's index: who watches which nick, and the notices its changes cause.

Each connection keeps its own list (`Connection.monitoring`, for `MONITOR L`, `C` and
the limit); this node keeps the reverse index here, casefolded nick -> its local
watchers, so a nick coming online or leaving costs one lookup, not a scan of every
conn. The notices themselves follow the events that cause them (announce.py), for
users on any node. extended-monitor reuses the index: a watcher with it also gets the
AWAY, SETNAME, CHGHOST and ACCOUNT notices of the nicks it watches.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hubbub.irc.casemap import casefold

if TYPE_CHECKING:
    from hubbub.server.connection import Connection

EXTENDED_MONITOR = ("extended-monitor", "draft/extended-monitor")


class MonitorIndex:
    """casefolded nick -> the conns watching it."""

    def __init__(self) -> None:
        self.watchers: dict[str, set[Connection]] = {}

    def watch(self, conn: Connection, nick: str) -> bool:
        """Add `nick` to `conn`'s list; False if it was already there."""
        key = casefold(nick)
        monitoring = conn.monitoring
        if key in monitoring:
            return False
        if not isinstance(monitoring, dict):  # the shared empty list: one of its own now
            monitoring = conn.monitoring = {}
        monitoring[key] = nick
        self.watchers.setdefault(key, set()).add(conn)
        return True

    def unwatch(self, conn: Connection, nick: str) -> None:
        key = casefold(nick)
        monitoring = conn.monitoring
        if not isinstance(monitoring, dict) or monitoring.pop(key, None) is None:
            return
        watching = self.watchers.get(key)
        if watching is not None:
            watching.discard(conn)
            if not watching:
                del self.watchers[key]

    def clear(self, conn: Connection) -> None:
        for nick in list(conn.monitoring.values()):
            self.unwatch(conn, nick)

    def of(self, nick: str) -> set[Connection]:
        return self.watchers.get(casefold(nick), set())
