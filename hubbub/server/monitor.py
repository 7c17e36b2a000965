"""MONITOR's index: who watches which nick, and the notices its changes cause.

Each client keeps its own list (`Client.monitoring`, for `MONITOR L`, `C` and the
limit); the network keeps the reverse index here, casefolded nick -> watchers, so a
nick coming online or leaving costs one lookup, not a scan of every client.
extended-monitor reuses the index: a watcher with it also gets the AWAY, SETNAME,
CHGHOST and ACCOUNT notices of the nicks it watches (notify.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hubbub.irc import numerics as n
from hubbub.irc.casemap import casefold

if TYPE_CHECKING:
    from hubbub.server.client import Client

EXTENDED_MONITOR = ("extended-monitor", "draft/extended-monitor")


class MonitorIndex:
    """casefolded nick -> the clients watching it."""

    def __init__(self) -> None:
        self.watchers: dict[str, set[Client]] = {}

    def watch(self, client: Client, nick: str) -> bool:
        """Add `nick` to `client`'s list; False if it was already there."""
        key = casefold(nick)
        if key in client.monitoring:
            return False
        client.monitoring[key] = nick
        self.watchers.setdefault(key, set()).add(client)
        return True

    def unwatch(self, client: Client, nick: str) -> None:
        key = casefold(nick)
        if client.monitoring.pop(key, None) is None:
            return
        watching = self.watchers.get(key)
        if watching is not None:
            watching.discard(client)
            if not watching:
                del self.watchers[key]

    def clear(self, client: Client) -> None:
        for nick in list(client.monitoring.values()):
            self.unwatch(client, nick)

    def of(self, nick: str) -> set[Client]:
        return self.watchers.get(casefold(nick), set())


def came_online(client: Client) -> None:
    """`client` is now known by its nick: tell whoever watches that nick."""
    for watcher in list(client.net.monitors.of(client.nick)):
        watcher.numeric(n.RPL_MONONLINE, client.prefix)


def went_offline(client: Client, nick: str) -> None:
    """Nobody is known by `nick` any more (quit, or renamed)."""
    for watcher in list(client.net.monitors.of(nick)):
        watcher.numeric(n.RPL_MONOFFLINE, nick)


def nick_changed(client: Client, old_nick: str) -> None:
    """A rename is the old nick going offline and the new one coming online;
    a change of case only is neither."""
    if casefold(old_nick) == casefold(client.nick):
        return
    went_offline(client, old_nick)
    came_online(client)


def quit(client: Client) -> None:
    """`client` leaves: its watchers learn it, and its own list is dropped."""
    client.net.monitors.clear(client)
    if client.registered:
        went_offline(client, client.nick)


def extended_watchers(client: Client, cap: str) -> list[Client]:
    """Watchers of `client`'s nick that asked for extended notices of kind `cap`."""
    return [
        watcher
        for watcher in client.net.monitors.of(client.nick)
        if cap in watcher.caps and not watcher.caps.isdisjoint(EXTENDED_MONITOR)
    ]
