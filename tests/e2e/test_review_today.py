"""Review of the latest changes, over real sockets: a JOIN whose reply waits for the
store (Connection.hold_deliveries, handlers/channels.py `_Joining`), channel bans on
addresses, NickServ passwords.

A JOIN's reply waits for the store while it reads the joiner's read marker or the lines
replayed on joining. To keep a JOIN in that wait for as long as a test needs, the test
takes the SQLite file's write lock itself (a connection of its own, `BEGIN IMMEDIATE`),
and a line said in a channel hands the server's writer a write, which then waits for that
lock: every store read started after it waits for it too (a read waits for the writes
handed over before it), and so does all output (the flusher's barrier). What happens
meanwhile is seen in the server's state; once the lock is let go, everything goes out in
the order the server wrote it, which is what these tests read.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from hubbub.app import Runtime
from hubbub.irc.message import Message
from tests.e2e import test_webirc
from tests.e2e.test_webirc import through_gateway
from tests.e2e_accounts.support import ns
from tests.e2e_caps.support import capped
from tests.helpers import LineClient, connected, start_server, sync

make_gateway_server = test_webirc.make_gateway_server  # the fixture, for these tests too

LABELED = ("labeled-response", "batch", "message-tags")
MARKER = ("draft/read-marker", "draft/chathistory", "batch")  # a marker on JOIN, no replay


# -- holding a JOIN in its wait for the store --------------------------------------------


@pytest.fixture
async def stored_server(tmp_path: Path) -> AsyncIterator[tuple[Runtime, Path]]:
    """A server keeping its store in a SQLite file of the test's (given back too)."""
    db = tmp_path / "hubbub.db"
    runtime = await start_server(f"store.db='{db}'")
    yield runtime, db
    await runtime.stop()


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Return once `condition()` holds in the server's state (bounded)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "the server never got there"
        await asyncio.sleep(0.002)


@asynccontextmanager
async def store_held(server: Runtime, db: Path, speaker: LineClient, channel: str) -> AsyncIterator[sqlite3.Connection]:
    """Inside: the server's store cannot commit (the file's write lock is ours), with a
    write of `speaker`'s line in `channel` handed over and waiting; so any store read the
    server starts now waits. On leaving, the lock is let go (what the block executed on
    the connection given is committed)."""
    store = server.persistence.store
    lock = sqlite3.connect(str(db), isolation_level=None, timeout=5)
    lock.execute("BEGIN IMMEDIATE")
    try:
        handed = store._written
        speaker.send(f"PRIVMSG {channel} :said before the join")
        await until(lambda: store._written > handed)
        yield lock
    finally:
        lock.execute("COMMIT")
        lock.close()


def waits(server: Runtime, nick: str) -> Callable[[], bool]:
    """Whether `nick`'s JOIN reply is waiting for the store (what others send it is held)."""

    def check() -> bool:
        user = server.services.state.find_user(nick)
        return user is not None and user.conn is not None and user.conn.waiting is not None

    return check


def held_for(server: Runtime, nick: str, count: int) -> Callable[[], bool]:
    """Whether `count` lines of others' are held for `nick` (its JOIN reply waits)."""

    def check() -> bool:
        user = server.services.state.find_user(nick)
        return user is not None and user.conn is not None and len(user.conn.waiting or ()) >= count

    return check


def about(message: Message) -> str | None:
    """The channel a line of a JOIN's reply (or of a rename) is about."""
    if message.command in ("JOIN", "PART", "MARKREAD", "PRIVMSG", "KICK"):
        return message.params[0]
    if message.command == "RENAME":
        return message.params[1]
    if message.command in ("332", "333", "366", "473", "474"):
        return message.params[1]
    if message.command == "353":
        return message.params[2]
    return None


def shown(messages: list[Message]) -> list[tuple[str, str | None]]:
    return [(m.command, about(m)) for m in messages if m.command != "BATCH"]


# -- bugs: a JOIN waiting for the store ----------------------------------------------------


async def test_a_rename_during_a_join_waiting_for_its_replay_shows_the_new_name_only_after_its_join(
    stored_server, clients
) -> None:
    server, db = stored_server
    bob = await connected(server, "bob", "#a")
    alice = await connected(server, "alice")  # no draft/chathistory: the JOIN replays, no draft/channel-rename
    clients.extend([bob, alice])
    async with store_held(server, db, bob, "#a"):
        alice.send("JOIN #a")
        await until(waits(server, "alice"))
        bob.send("RENAME #a #b :moving")
        await until(lambda: server.services.state.find_channel("#b") is not None)
    got = shown(await sync(alice))
    assert ("JOIN", "#b") in got and ("353", "#b") in got, got
    # whatever names #b comes after the line that tells the client of #b (its JOIN #b)
    assert got.index(("JOIN", "#b")) < got.index(("353", "#b")), got


async def test_a_rename_during_a_join_waiting_for_its_read_marker_comes_before_the_new_name(
    stored_server, clients
) -> None:
    server, db = stored_server
    bob = await connected(server, "bob", "#a")
    alice = await capped(server, "alice", *MARKER, "draft/channel-rename")
    clients.extend([bob, alice])
    assert (await ns(alice, "REGISTER pw-alice-1")).startswith("Account created")
    await sync(alice)
    async with store_held(server, db, bob, "#a"):
        alice.send("JOIN #a")
        await until(waits(server, "alice"))
        bob.send("RENAME #a #b :moving")
        await until(lambda: server.services.state.find_channel("#b") is not None)
    got = shown(await sync(alice))
    assert got[0] == ("JOIN", "#a") and ("RENAME", "#b") in got, got
    named_b = [i for i, (command, channel) in enumerate(got) if channel == "#b" and command != "RENAME"]
    assert all(i > got.index(("RENAME", "#b")) for i in named_b), got


async def test_a_kick_during_a_join_waiting_for_its_read_marker_shows_each_line_once(stored_server, clients) -> None:
    server, db = stored_server
    state = server.services.state
    bob = await connected(server, "bob", "#a")
    alice = await capped(server, "alice", "draft/read-marker")  # no draft/chathistory: the JOIN replays too
    clients.extend([bob, alice])
    assert (await ns(alice, "REGISTER pw-alice-1")).startswith("Account created")
    await sync(alice)
    async with store_held(server, db, bob, "#a"):
        alice.send("JOIN #a")
        await until(waits(server, "alice"))
        bob.send("PRIVMSG #a :said during the wait")
        bob.send("KICK #a alice :out")
        await until(lambda: state.find_user("alice") not in state.find_channel("#a").members)
    got = await sync(alice)
    said = [m.params[1] for m in got if m.command == "PRIVMSG"]
    assert said.count("said during the wait") == 1, said
    assert got[-1].command == "KICK"


# -- what holds: the JOIN's chain ends on every path, and what was held follows it -------------


async def test_a_labeled_join_of_several_channels_one_refused_meanwhile_is_one_reply_then_the_held_lines(
    stored_server, clients
) -> None:
    server, db = stored_server
    state = server.services.state
    bob = await connected(server, "bob", "#a", "#b", "#c")
    alice = await capped(server, "alice", *LABELED)  # no draft/chathistory: each JOIN replays
    clients.extend([bob, alice])
    async with store_held(server, db, bob, "#a"):
        alice.send("@label=J JOIN #a,#b,#c")
        await until(waits(server, "alice"))
        bob.send("PRIVMSG #a :live while waiting")
        bob.send("MODE #c +i")  # before the JOIN gets to #c
        await until(lambda: "i" in state.find_channel("#c").modes)
    got = await sync(alice)
    opening = got[0]
    assert opening.command == "BATCH" and opening.tags.get("label") == "J", got[0]
    ref = opening.params[0][1:]
    end = next(i for i, m in enumerate(got) if m.command == "BATCH" and m.params[0] == "-" + ref)
    reply, after = got[1:end], got[end + 1 :]
    assert [c for c in shown(reply) if c[0] in ("JOIN", "366", "473")] == [
        ("JOIN", "#a"), ("366", "#a"), ("JOIN", "#b"), ("366", "#b"), ("473", "#c"),
    ]  # fmt: skip
    assert "said before the join" in [m.params[1] for m in reply if m.command == "PRIVMSG"]
    assert [(m.command, m.params[-1]) for m in after] == [("PRIVMSG", "live while waiting")]
    bob.send("PRIVMSG #a :and after")  # nothing is held any more
    await sync(bob)
    assert [m.params[-1] for m in await sync(alice) if m.command == "PRIVMSG"] == ["and after"]


async def test_store_reads_failing_during_the_wait_still_end_the_join_and_let_the_held_lines_out(
    stored_server, clients
) -> None:
    server, db = stored_server
    bob = await connected(server, "bob", "#a", "#b")
    alice = await capped(server, "alice", *LABELED, *MARKER)
    clients.extend([bob, alice])
    assert (await ns(alice, "REGISTER pw-alice-1")).startswith("Account created")
    await sync(alice)
    async with store_held(server, db, bob, "#a") as lock:
        alice.send("@label=J JOIN #a,#b")
        await until(waits(server, "alice"))
        bob.send("PRIVMSG #a :live while waiting")
        await until(held_for(server, "alice", 1))  # bob's line is in, held for her
        lock.execute("DROP TABLE read_markers")  # every marker read fails from now on
    got = await sync(alice)
    assert [c for c in shown(got) if c[0] in ("JOIN", "MARKREAD", "366", "PRIVMSG")] == [
        ("JOIN", "#a"), ("MARKREAD", "#a"), ("366", "#a"), ("JOIN", "#b"), ("MARKREAD", "#b"), ("366", "#b"),
        ("PRIVMSG", "#a"),
    ]  # fmt: skip
    assert got[-1].command == "PRIVMSG" and "batch" not in got[-1].tags  # after the labeled reply
    bob.send("PRIVMSG #a :and after")
    await sync(bob)
    assert [m.params[-1] for m in await sync(alice) if m.command == "PRIVMSG"] == ["and after"]


async def test_join_then_join_0_in_one_write_keeps_the_live_line_between_the_joins_and_the_parts(
    stored_server, clients
) -> None:
    server, db = stored_server
    bob = await connected(server, "bob", "#a", "#b")
    alice = await connected(server, "alice")
    clients.extend([bob, alice])
    async with store_held(server, db, bob, "#a"):
        alice.send(b"JOIN #a,#b\r\nJOIN 0\r\n")
        await until(waits(server, "alice"))
        bob.send("PRIVMSG #a :live while waiting")
        await until(held_for(server, "alice", 1))
    got = [c for c in shown(await sync(alice)) if c[0] in ("JOIN", "PART", "PRIVMSG")]
    # #a's JOIN and replay, #b's JOIN (nothing to replay), bob's live line, then JOIN 0
    expected = [("JOIN", "#a"), ("PRIVMSG", "#a"), ("JOIN", "#b"), ("PRIVMSG", "#a"), ("PART", "#a"), ("PART", "#b")]
    assert got == expected, got


async def test_hanging_up_during_the_wait_leaves_nothing_behind(stored_server, clients) -> None:
    server, db = stored_server
    state = server.services.state
    bob = await connected(server, "bob", "#a")
    alice = await connected(server, "alice")
    clients.append(bob)
    async with store_held(server, db, bob, "#a"):
        alice.send("JOIN #a")
        await until(waits(server, "alice"))
        await alice.close()  # its EOF is read once its JOIN is done (input waits for slow work)
    await until(lambda: state.find_user("alice") is None)
    got = await sync(bob)
    assert [m.command for m in got if m.source and m.source.startswith("alice!")] == ["JOIN", "QUIT"]
    again = await connected(server, "alice", "#a")  # the nick is free, the channel answers
    clients.append(again)


# -- bugs: bans and NickServ -----------------------------------------------------------------


async def test_a_ban_on_an_ipv4_mapped_address_bans_that_ipv4_user(make_gateway_server, clients) -> None:
    server = await make_gateway_server()
    alice = await connected(server, "alice", "#room")
    clients.append(alice)
    alice.send("MODE #room +b *!*@::ffff:203.0.113.5")
    await alice.expect("MODE")
    web = await through_gateway(server, clients, "web", "203.0.113.5", "user.example.net")
    web.send("JOIN #room")
    assert (await web.expect(lambda m: m.command in ("474", "366"))).command == "474"


async def test_register_with_a_password_with_spaces_does_not_keep_only_its_first_word(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    await ns(alice, "REGISTER longpassword1 horse battery staple")
    other = await connected(server, "other")
    clients.append(other)
    assert (await ns(other, "IDENTIFY alice longpassword1")).startswith("Authentication failed")


# -- what holds: bans on the address for mutes and nick changes ---------------------------------


async def test_a_cidr_mute_keeps_a_gateway_user_shown_by_name_quiet(make_gateway_server, clients) -> None:
    server = await make_gateway_server()
    alice = await connected(server, "alice", "#room")
    clients.append(alice)
    alice.send("MODE #room +b m:*!*@203.0.113.0/24")
    assert (await alice.expect("MODE")).params == ["#room", "+b", "m:*!*@203.0.113.0/24"]
    web = await through_gateway(server, clients, "web", "203.0.113.77", "user.example.net")
    await web.join("#room")
    web.send("PRIVMSG #room :hello")
    assert (await web.expect(lambda m: m.command in ("404", "PONG"))).command == "404"
    web.send("NICK other")  # a new nick is no way around it
    assert (await web.expect(lambda m: m.command in ("NICK", "435"))).command == "435"
    outside = await through_gateway(server, clients, "outside", "203.0.114.1", "user.example.net")
    await outside.join("#room")
    outside.send("PRIVMSG #room :hello")
    heard = await alice.expect(lambda m: m.command == "PRIVMSG")  # the muted one's never came
    assert heard.source.startswith("outside!") and heard.params[-1] == "hello"
