"""A rejoin replays what was said since its user left, not the lines it saw live
(server/departures.py). Each test on a SQLite file, then on PostgreSQL."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

from hubbub.app import Runtime
from hubbub.server import departures
from tests.e2e_accounts.support import registered_account
from tests.helpers import STAMP, LineClient, connected, sync, unstamped


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


LINE = "x" * 380
BEHIND_ENOUGH = 16 * 1024  # bytes: more than the last ten lines


def link_of(server: Runtime, nick: str) -> Any:
    """The connection of `nick` (a TCP or WebSocket one: its transport and output queue are read)."""
    return next(conn.link for conn in server.services.connections() if conn.user.nick == nick)


async def talk_until_behind(client: LineClient, link: Any, at_least: int = BEHIND_ENOUGH) -> int:
    """`client` says "line 0 xxx...", "line 1 xxx..." in #c, fifty at a time, until `link`
    (of someone who stopped reading) is `at_least` bytes behind: in its transport's buffer,
    or still in its queue. How many the kernel's buffers take depends on how the lines
    were grouped in writes (one large write can go whole into one segment), so the count
    of lines it takes is not fixed; it is returned."""
    count = 0
    while link.transport.get_write_buffer_size() + link.output.unsent < at_least:
        assert count < 2000, "the link never fell behind"
        await talk(client, *(f"line {i} {LINE}" for i in range(count, count + 50)))
        count += 50
    return count


async def rejoin(client: LineClient) -> list[str]:
    """What `client` (without `batch`) is replayed on joining #c: each text led by when it
    was said (server/replay.py `_stamped`), given here without it."""
    client.send("JOIN #c")
    await client.expect("366")
    texts = said(await sync(client))
    assert all(STAMP.match(text) for text in texts), texts
    return [unstamped(text) for text in texts]


async def identified(server: Runtime, clients: list[LineClient], nick: str, account: str) -> LineClient:
    """A new connection as `nick`, logged in to `account` (password `<account>-horse-battery`)."""
    client = await connected(server, nick)
    clients.append(client)
    client.send(f"PRIVMSG NickServ :IDENTIFY {account} {account}-horse-battery")
    await client.expect("900")
    return client


async def stalling(server: Runtime) -> LineClient:
    """A client whose socket holds little and whose reader pauses past 2 KiB: once it
    stops reading, what it is sent piles up in the server's own buffers."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    sock.setblocking(False)
    await loop.sock_connect(sock, server.irc_address())
    return LineClient(*await asyncio.open_connection(sock=sock, limit=1024))


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
    again = await identified(server, clients, "bobby", "bob")
    assert await rejoin(again) == ["missed"]
    stranger = await connected(server, "carol")  # never here: the last lines, as always
    clients.append(stranger)
    assert await rejoin(stranger) == ["seen live", "missed"]


async def test_a_user_without_an_account_reconnecting_as_it_was_gets_only_what_it_missed(stored, clients) -> None:
    """Known by nick and address: a web gateway or a bouncer that connects again without
    logging in (The Lounge without SASL) got the channel's last lines at every
    reconnection, on top of those it had shown live."""
    server = await stored("history.autoreplay_lines=10")
    ticking(server)
    alice = await connected(server, "alice", "#c")
    clients.append(alice)
    lou = await connected(server, "lou", "#c")
    await talk(alice, "seen live")
    await lou.expect("PRIVMSG", "#c", "seen live")
    lou.send("QUIT :The Lounge - https://thelounge.chat")
    await alice.expect("QUIT")
    await lou.close()
    await talk(alice, "missed")
    again = await connected(server, "LOU")  # the same nick (in any case), the same address
    clients.append(again)
    assert await rejoin(again) == ["missed"]
    other = await connected(server, "lou2")  # another nick: someone new, the last lines
    clients.append(other)
    assert await rejoin(other) == ["seen live", "missed"]


async def test_an_account_whose_connection_dropped_gets_what_came_after_its_last_line(
    stored, clients, monkeypatch
) -> None:  # fmt: skip
    """A dropped connection (no QUIT) stopped receiving some time before the server saw
    it go: what it was sent before its last line (a round trip before, RECEIVED_MARGIN,
    here none with the test's clock) had reached it; what came after is not known to
    have, and the return replays from there. A bouncer that loses its connection (ZNC,
    The Lounge) got everything since its account last quit on purpose, lines it had
    shown live."""
    monkeypatch.setattr(departures, "RECEIVED_MARGIN", 0.0)
    server = await stored("history.autoreplay_lines=10")
    ticking(server)
    alice = await connected(server, "alice", "#c")
    clients.append(alice)
    bob = await registered_account(server, "bob", "bob-horse-battery", "#c")
    bob.send("QUIT :a clean quit, long ago")
    await alice.expect("QUIT")
    await bob.close()
    bob = await identified(server, clients, "bob", "bob")
    await talk(alice, "long ago")
    assert await rejoin(bob) == ["long ago"]
    await talk(alice, "seen live")
    await bob.expect("PRIVMSG", "#c", "seen live")
    await sync(bob)  # its last line: what came before it had arrived
    await talk(alice, "maybe seen")
    await bob.expect("PRIVMSG", "#c", "maybe seen")
    bob.writer.transport.abort()  # the connection is gone without a word
    await alice.expect("QUIT")
    await talk(alice, "missed")
    again = await identified(server, clients, "bobby", "bob")
    assert await rejoin(again) == ["maybe seen", "missed"]


async def test_a_client_cut_off_at_a_clean_stop_gets_after_the_restart_what_it_never_received(stored, clients) -> None:
    """A clean stop counts its accounts as having seen everything until then, but not
    one whose output could not all go out within the grace period (a client that had
    stopped reading): its connection is cut, the lines queued for it dropped, and its
    return after the restart replays the channel's last lines, as for someone new."""
    server = await stored("history.autoreplay_lines=10", "limits.send_buffer=4096")
    alice = await connected(server, "alice", "#c")
    clients.append(alice)
    carol = await registered_account(server, "carol", "carol-horse-battery", "#c")  # reads everything
    bob = await stalling(server)
    clients.append(bob)
    await bob.register("bob")
    bob.send("PRIVMSG NickServ :REGISTER bob-horse-battery")
    await bob.expect("900")
    await bob.join("#c")
    await sync(bob)
    # bob reads no more: what it is sent now waits in the server's buffers
    count = await talk_until_behind(alice, link_of(server, "bob"))
    await carol.expect("PRIVMSG", "#c", f"line {count - 1} {LINE}")
    await server.stop()
    received = set()
    try:
        while (line := await bob.read_line(timeout=5)) is not None:
            if " PRIVMSG #c :line " in line:
                received.add(int(line.split(" PRIVMSG #c :line ", 1)[1].split()[0]))
    except (ConnectionError, TimeoutError):
        pass
    assert count - 1 not in received, "precondition: bob's last lines never reached it"

    server = await stored("history.autoreplay_lines=10")
    again = await identified(server, clients, "bobby", "bob")
    replayed = {int(text.split()[1]) for text in await rejoin(again)}
    assert replayed == set(range(count - 10, count))
    back = await identified(server, clients, "carol2", "carol")  # carol saw everything: nothing again
    assert await rejoin(back) == []
