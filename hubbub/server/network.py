"""The shared state of the chat: who is connected, under which nick, in which channels.

These are the operations several commands share (renaming, joining, parting,
quitting), each keeping the indexes consistent and telling the right people.
Nothing here does I/O; time comes from an injectable clock.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from hubbub.config import Config
from hubbub.irc.casemap import casefold
from hubbub.irc.message import Message
from hubbub.server import monitor, notify
from hubbub.server.channel import Channel
from hubbub.server.client import Client
from hubbub.server.klines import Klines
from hubbub.server.monitor import MonitorIndex
from hubbub.server.snotice import ServerNotices
from hubbub.server.whowas import WhowasEntry, WhowasHistory

T = TypeVar("T")
# Runs `work` somewhere it may block, then `resume(result)` back on the event loop.
Offload = Callable[[Client, Callable[[], Any], Callable[[Any], None]], None]


def run_inline(client: Client, work: Callable[[], T], resume: Callable[[T], None]) -> None:
    """The offload used without a runtime (unit tests): do the work right away."""
    resume(work())


class ServerControl(Protocol):
    """What operator commands may ask of the running server, without importing it."""

    config_name: str  # the configuration file, as RPL_REHASHING names it

    def rehash(self, report: Callable[[str | None, list[str]], None]) -> None:
        """Reload the configuration off the loop and put it in force, then
        `report(error, notes)`: the error that kept it out, or notes on what stayed."""

    def die(self, reason: str) -> None:
        """Shut the server down as SIGTERM does."""


class Network:
    def __init__(self, config: Config, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.clock = clock
        self.created = clock()
        self.clients: set[Client] = set()
        self.users: dict[str, Client] = {}  # casefolded nick -> registered or registering client
        self.channels: dict[str, Channel] = {}
        self.motd = config.motd_lines()
        self.peak_users = 0
        self.user_count = 0  # registered users
        self.mode_counts: Counter[str] = Counter()  # registered users with each user mode
        self.monitors = MonitorIndex()  # MONITOR: who watches which nick
        self.whowas = WhowasHistory(config.limits.whowas_entries)
        self.klines = Klines()  # in memory until the store keeps them
        self.notices = ServerNotices()  # operators watching server notices (+s)
        self.control: ServerControl | None = None  # REHASH and DIE; set by the runtime
        self.offload: Offload = run_inline  # where slow work runs; the runtime uses threads
        self.tls_port: int | None = None  # the first TLS listener's port, once listening (STS)

    @property
    def name(self) -> str:
        return self.config.server.name

    # -- lookups -------------------------------------------------------------------

    def find_user(self, nick: str) -> Client | None:
        client = self.users.get(casefold(nick))
        return client if client is not None and client.registered else None

    def find_channel(self, name: str) -> Channel | None:
        return self.channels.get(casefold(name))

    def neighbours(self, client: Client) -> set[Client]:
        """Everyone who shares at least one channel with `client`, `client` excluded."""
        seen: set[Client] = set()
        for channel in client.channels.values():
            seen.update(channel.members)
        seen.discard(client)
        return seen

    def count_registration(self, client: Client) -> None:
        """`client` just registered: keep the user counts LUSERS reports (kept as
        counters, since counting on every welcome makes a connection storm quadratic)."""
        self.user_count += 1
        self.peak_users = max(self.peak_users, self.user_count)

    def count_user_mode(self, client: Client, letter: str, on: bool) -> None:
        if client.registered:
            self.mode_counts[letter] += 1 if on else -1

    # -- connections ---------------------------------------------------------------

    def connect(self, client: Client) -> None:
        self.clients.add(client)

    def nick_taken(self, nick: str, by: Client | None = None) -> bool:
        owner = self.users.get(casefold(nick))
        return owner is not None and owner is not by

    def set_nick(self, client: Client, nick: str) -> None:
        """Claim `nick` for `client` (the caller checked it is free), telling neighbours."""
        old_prefix = client.prefix
        old_nick = client.nick
        if client.nick_key is not None:
            del self.users[client.nick_key]
        client.nick_key = casefold(nick)
        self.users[client.nick_key] = client
        changed = client.nick != nick
        client.nick = nick
        if client.registered and changed:
            out = notify.from_user(client, Message("NICK", [nick], old_prefix))
            client.deliver(out)
            for other in self.neighbours(client):
                other.deliver(out)
            monitor.nick_changed(client, old_nick)
            if casefold(old_nick) != client.nick_key:
                self._remember(client, old_nick)

    def quit(self, client: Client, reason: str) -> None:
        """Remove `client` from everything and tell its neighbours; idempotent."""
        if client.gone:
            return
        if client.registered:
            out = notify.from_user(client, Message("QUIT", [reason], client.prefix))
            for other in self.neighbours(client):
                other.deliver(out)
        monitor.quit(client)
        if client.registered:
            self.user_count -= 1
            for letter in client.modes:
                self.mode_counts[letter] -= 1
        self._departed(client, reason)
        client.quit_reason = reason
        for channel in list(client.channels.values()):
            self._leave(channel, client)
        if client.nick_key is not None and self.users.get(client.nick_key) is client:
            del self.users[client.nick_key]
        self.clients.discard(client)

    # -- channels ------------------------------------------------------------------

    def join(self, client: Client, name: str) -> Channel:
        """Put `client` in channel `name`, creating it (with the client as op) if needed."""
        channel = self.find_channel(name)
        if channel is None:
            channel = Channel(name, self.clock())
            channel.modes.update(("n", "t"))
            self.channels[channel.key] = channel
            channel.members[client] = "o"
        else:
            channel.members[client] = ""
        client.channels[channel.key] = channel
        notify.joined(client, channel)  # extended-join and away-notify forms
        return channel

    def part(self, client: Client, channel: Channel, message: Message, by: Client | None = None) -> None:
        """Tell the channel (the leaver included) with `message`, then remove the member.

        `by` is who caused it when that is not the leaver (a KICK): its tags go on it.
        """
        channel.broadcast(notify.from_user(by or client, message))
        self._leave(channel, client)

    def _leave(self, channel: Channel, client: Client) -> None:
        channel.members.pop(client, None)
        client.channels.pop(channel.key, None)
        if not channel.members:
            self.channels.pop(channel.key, None)

    def disconnect(self, client: Client, reason: str) -> None:
        """Tell the client why with ERROR, remove it from the chat, and close its link."""
        if client.gone:
            return
        client.send(Message("ERROR", [f"Closing Link: {client.host} ({reason})"]))
        self.quit(client, reason)
        client.close_link()  # after a labeled reply still being collected, if any

    # -- operators' concerns: registration checks, departures, slow work ---------------

    def admit_user(self, client: Client) -> bool:
        """Whether `client` may complete registration, now that its username is known.

        A K-lined client is disconnected instead; operators hear of either outcome.
        """
        kline = self.klines.find(client.username, client.host, client.ip, self.clock())
        who = f"{client.nick} ({client.username}@{client.host}) [{client.ip}]"
        if kline is not None:
            self.notices.send(f"K-line active for {who}: {kline.mask}")
            self.disconnect(client, f"K-Lined: {kline.reason}")
            return False
        self.notices.send(f"Client connecting: {who}")
        return True

    def _departed(self, client: Client, reason: str) -> None:
        self.notices.watch(client, False)
        if client.registered:
            self._remember(client, client.nick)
            self.notices.send(f"Client exiting: {client.nick} ({client.username}@{client.host}) [{client.ip}] ({reason})")

    def _remember(self, client: Client, nick: str) -> None:
        """Keep `nick` for WHOWAS, with who used it."""
        entry = WhowasEntry(nick, client.username, client.host, client.realname, self.name, self.clock())
        self.whowas.record(entry)

    def run_blocking(self, client: Client, work: Callable[[], T], resume: Callable[[T], None]) -> None:
        """Run slow `work` (password hashing, reading files) off the event loop, then
        `resume(result)` back on it, unless `client` has left meanwhile.

        Handlers stay synchronous: they hand the slow part over and return. The runtime
        holds the client's later lines until `resume` has run, so its replies keep their
        order, and a labeled command's reply is completed by `resume`.
        """
        labeled, client.labeled = client.labeled, None

        def finish(result: T) -> None:
            if client.gone:
                return
            client.labeled = labeled
            try:
                resume(result)
            finally:
                client.finish_label()

        self.offload(client, work, finish)
