"""The shared state of the chat: who is connected, under which nick, in which channels.

These are the operations several commands share (renaming, joining, parting,
quitting), each keeping the indexes consistent and telling the right people.
Nothing here does I/O; time comes from an injectable clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from hubbub.config import Config
from hubbub.irc.casemap import casefold
from hubbub.irc.message import Message
from hubbub.server.channel import Channel
from hubbub.server.client import Client
from hubbub.server.delivery import Outgoing


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

    def registered_count(self) -> int:
        return sum(1 for c in self.users.values() if c.registered)

    # -- connections ---------------------------------------------------------------

    def connect(self, client: Client) -> None:
        self.clients.add(client)

    def nick_taken(self, nick: str, by: Client | None = None) -> bool:
        owner = self.users.get(casefold(nick))
        return owner is not None and owner is not by

    def set_nick(self, client: Client, nick: str) -> None:
        """Claim `nick` for `client` (the caller checked it is free), telling neighbours."""
        old_prefix = client.prefix
        if client.nick_key is not None:
            del self.users[client.nick_key]
        client.nick_key = casefold(nick)
        self.users[client.nick_key] = client
        changed = client.nick != nick
        client.nick = nick
        if client.registered and changed:
            out = Outgoing(Message("NICK", [nick], old_prefix))
            client.deliver(out)
            for other in self.neighbours(client):
                other.deliver(out)

    def quit(self, client: Client, reason: str) -> None:
        """Remove `client` from everything and tell its neighbours; idempotent."""
        if client.gone:
            return
        if client.registered:
            out = Outgoing(Message("QUIT", [reason], client.prefix))
            for other in self.neighbours(client):
                other.deliver(out)
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
        channel.broadcast(Outgoing(Message("JOIN", [channel.name], client.prefix)))
        return channel

    def part(self, client: Client, channel: Channel, message: Message) -> None:
        """Tell the channel (the leaver included) with `message`, then remove the member."""
        channel.broadcast(Outgoing(message))
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
        client.link.close()
