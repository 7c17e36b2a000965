"""Shared bits of the channel transcripts: masks, and a channel with an op and members."""

from __future__ import annotations

from tests.helpers import LineClient, connected, sync

SERVER = "hubbub.local"


def mask(nick: str) -> str:
    """The source of a LineClient's messages (registered with the default user 'u')."""
    return f"{nick}!~u@127.0.0.1"


async def room(server, clients: list[LineClient], *nicks: str, channel: str = "#room") -> list[LineClient]:
    """Clients registered as `nicks`, all in `channel`; the first created it and is op.
    Every JOIN announcement is read, so each client's next line is something new."""
    members = []
    for nick in nicks:
        member = await connected(server, nick, channel)
        clients.append(member)
        members.append(member)
    for member in members:
        await sync(member)
    return members


async def op_sets(op: LineClient, line: str, *watchers: LineClient) -> list[str]:
    """The op sends a MODE line; return the params of the MODE it causes (seen by all)."""
    op.send(line)
    change = await op.expect("MODE")
    for watcher in watchers:
        assert (await watcher.expect("MODE")).params == change.params
    return change.params
