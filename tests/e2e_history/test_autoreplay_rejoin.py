"""A rejoin replays what was said since its user left, not the lines it saw live
(server/departures.py). Each test on a SQLite file, then on PostgreSQL."""

from __future__ import annotations

import time

from hubbub.app import Runtime
from tests.e2e_accounts.support import registered_account
from tests.helpers import LineClient, connected, sync


def ticking(server: Runtime) -> None:
    """The server's clock a second further at every reading: each step its own time
    (the store keeps milliseconds, and a test's steps can share one)."""
    start = time.time() - 3600
    readings = iter(range(1_000_000))
    server.clock = lambda: start + next(readings)


def said(lines: list) -> list[str]:
    return [m.params[1] for m in lines if m.command == "PRIVMSG"]


async def talk(client: LineClient, *texts: str) -> None:
    for text in texts:
        client.send(f"PRIVMSG #c :{text}")
    await sync(client)


async def rejoin(client: LineClient) -> list[str]:
    client.send("JOIN #c")
    await client.expect("366")
    return said(await sync(client))


async def test_a_rejoin_on_one_connection_replays_only_what_was_said_meanwhile(stored, clients) -> None:
    server = await stored("history.autoreplay_lines=10")
    ticking(server)
    alice = await connected(server, "alice", "#c")
    clients.append(alice)
    await talk(alice, "one", "two", "three")
    bob = await connected(server, "bob")
    clients.append(bob)
    assert await rejoin(bob) == ["one", "two", "three"]  # new here: the channel's last lines
    bob.send("PART #c")
    await bob.expect("PART")
    assert await rejoin(bob) == []  # nothing said meanwhile: nothing again
    bob.send("PART #c")
    await bob.expect("PART")
    await talk(alice, "four", "five")
    assert await rejoin(bob) == ["four", "five"]


async def test_a_kicked_user_coming_back_gets_what_it_missed(stored, clients) -> None:
    server = await stored("history.autoreplay_lines=10")
    ticking(server)
    alice = await connected(server, "alice", "#c")  # the channel's op
    clients.append(alice)
    await talk(alice, "before")
    bob = await connected(server, "bob", "#c")
    clients.append(bob)
    await sync(bob)
    alice.send("KICK #c bob :out")
    await bob.expect("KICK")
    await talk(alice, "while bob was out")
    assert await rejoin(bob) == ["while bob was out"]


async def test_an_account_reconnecting_gets_only_what_was_said_since_it_left(stored, clients) -> None:
    server = await stored("history.autoreplay_lines=10")
    ticking(server)
    alice = await connected(server, "alice", "#c")
    clients.append(alice)
    bob = await registered_account(server, "bob", "bob-horse-battery", "#c")
    await talk(alice, "seen live")
    await bob.expect("PRIVMSG", "#c", "seen live")
    bob.send("QUIT :brb")
    await alice.expect("QUIT")
    await bob.close()
    await talk(alice, "missed")
    again = await connected(server, "bobby")
    clients.append(again)
    again.send("PRIVMSG NickServ :IDENTIFY bob bob-horse-battery")
    await again.expect("900")
    assert await rejoin(again) == ["missed"]
    stranger = await connected(server, "carol")  # never here: the last lines, as always
    clients.append(stranger)
    assert await rejoin(stranger) == ["seen live", "missed"]


async def test_an_account_whose_connection_dropped_gets_the_last_lines_again(stored, clients) -> None:
    """A dropped connection (no QUIT) stopped receiving some time before the server saw
    it go: what was sent to the dead socket meanwhile is not known to have arrived, so
    the return replays the channel's last lines, as for someone new."""
    server = await stored("history.autoreplay_lines=10")
    ticking(server)
    alice = await connected(server, "alice", "#c")
    clients.append(alice)
    bob = await registered_account(server, "bob", "bob-horse-battery", "#c")
    await talk(alice, "maybe seen")
    await bob.expect("PRIVMSG", "#c", "maybe seen")
    bob.writer.transport.abort()  # the connection is gone without a word
    await alice.expect("QUIT")
    await talk(alice, "missed")
    again = await connected(server, "bobby")
    clients.append(again)
    again.send("PRIVMSG NickServ :IDENTIFY bob bob-horse-battery")
    await again.expect("900")
    assert await rejoin(again) == ["maybe seen", "missed"]
