"""A channel that ends with nothing said in it leaves nothing in the store, over real
sockets, on SQLite and on PostgreSQL.

A client joining and parting name after name (`JOIN #r1`, `PART #r1`, `JOIN #r2`...)
once left each channel's joins and parts in the store for good. Now, when an
unregistered channel ends (its last member parts, is kicked or quits, or it is renamed
away) and nothing was said in it, what it left (joins, parts, kicks, topic, mode and
nick changes) goes. A channel where something was said keeps its history for the next
channel of its name, as a registered channel keeps everything. Whoever creates the name
next reads it with draft/event-playback: only its own JOIN is there.
"""

from __future__ import annotations

from hubbub.app import Runtime
from hubbub.irc.message import Message
from tests.e2e_accounts.support import registered_account
from tests.e2e_caps.support import capped
from tests.e2e_history.test_chathistory import HISTORY, history
from tests.helpers import LineClient, commands, connected, sync

PLAYBACK = (*HISTORY, "draft/event-playback")


def lines(found: list[Message]) -> list[tuple[str, str]]:
    """Each line of history as (command, nick of its source)."""
    return [(m.command, m.source.partition("!")[0]) for m in found]


async def kept(server: Runtime, channel: str, clients: list[LineClient]) -> list[tuple[str, str]]:
    """What a newcomer finds of `channel` (which it creates again) with event-playback."""
    reader = await capped(server, "reader", *PLAYBACK, channels=(channel,))
    clients.append(reader)
    found = lines(await history(reader, f"CHATHISTORY LATEST {channel} * 100"))
    reader.send("QUIT")
    await reader.closed()
    return found


async def test_trying_channel_names_leaves_nothing_of_them(stored, clients) -> None:
    server = await stored()
    alice = await capped(server, "alice", *PLAYBACK)
    bob = await connected(server, "bob")
    carol = await connected(server, "carol")
    clients.extend([alice, bob, carol])
    for channel in ("#r1", "#r2", "#r3"):  # the abuse: join, part, next name
        alice.send(f"JOIN {channel}")
        alice.send(f"PART {channel}")
        await alice.expect("PART", channel)
    # One with a topic, a mode, a nick change and a kick...
    await alice.join("#k")
    await bob.join("#k")
    alice.send("TOPIC #k :nothing to say")
    alice.send("MODE #k +m")
    bob.send("NICK robert")
    await alice.expect("NICK")
    alice.send("KICK #k robert :out")
    alice.send("PART #k")
    await alice.expect("PART")
    # ...one ended by a quit
    await carol.join("#q")
    carol.send("QUIT :bye")
    await carol.closed()
    await sync(alice)
    for channel in ("#r1", "#r2", "#r3", "#k", "#q"):
        assert await kept(server, channel, clients) == [("JOIN", "reader")], channel


async def test_what_a_silent_channel_keeps_while_it_lives_is_there_until_it_ends(stored, clients) -> None:
    """The rows exist while the channel lives (to members who read them): only its end takes them."""
    server = await stored()
    alice = await capped(server, "alice", *PLAYBACK, channels=("#k",))
    bob = await connected(server, "bob", "#k")
    clients.extend([alice, bob])
    alice.send("TOPIC #k :nothing to say")
    alice.send("KICK #k bob :out")
    await alice.expect("KICK")
    assert lines(await history(alice, "CHATHISTORY LATEST #k * 100")) == [
        ("JOIN", "alice"), ("JOIN", "bob"), ("TOPIC", "alice"), ("KICK", "alice"),
    ]  # fmt: skip
    alice.send("PART #k")
    await alice.expect("PART")
    assert await kept(server, "#k", clients) == [("JOIN", "reader")]


async def test_a_channel_where_something_was_said_keeps_its_events_and_what_was_said(stored, clients) -> None:
    server = await stored()
    alice = await capped(server, "alice", *PLAYBACK, channels=("#talk", "#react"))
    clients.append(alice)
    alice.send("PRIVMSG #talk :hello, anyone?")
    alice.send("@+typing=active TAGMSG #react")  # a TAGMSG (a reaction, typing) is something said too
    alice.send("PART #talk")
    alice.send("PART #react")
    await alice.expect("PART", "#react")
    assert await kept(server, "#talk", clients) == [
        ("JOIN", "alice"), ("PRIVMSG", "alice"), ("PART", "alice"), ("JOIN", "reader"),
    ]  # fmt: skip
    assert await kept(server, "#react", clients) == [
        ("JOIN", "alice"), ("TAGMSG", "alice"), ("PART", "alice"), ("JOIN", "reader"),
    ]  # fmt: skip


async def test_a_channel_recreated_at_once_keeps_its_new_join(stored, clients) -> None:
    """The channel ends and begins again in one go (one read, one batch of writes): what
    the old one left goes, the new one's join stays."""
    server = await stored()
    alice = await capped(server, "alice", *PLAYBACK, channels=("#again",))
    clients.append(alice)
    alice.send(b"PART #again\r\nJOIN #again\r\n")
    await alice.expect("PART")
    joined = await alice.expect("JOIN")
    await alice.expect("366")
    found = await history(alice, "CHATHISTORY LATEST #again * 100")
    assert commands(found) == ["JOIN"]
    assert found[0].tags["msgid"] == joined.tags["msgid"]


async def test_a_registered_channel_keeps_its_events_with_nothing_said(stored, clients) -> None:
    server = await stored()
    alice = await registered_account(server, "alice", "correct-horse", "#reg")
    clients.append(alice)
    alice.send("PRIVMSG ChanServ :REGISTER #reg")
    await alice.expect(lambda m: m.command == "NOTICE" and m.source.startswith("ChanServ!"))
    alice.send("PART #reg")
    await alice.expect("PART")
    found = await kept(server, "#reg", clients)
    assert ("JOIN", "alice") in found and ("PART", "alice") in found, found


async def test_a_renamed_channel_s_old_name_leaves_nothing_and_its_new_one_ends_alike(stored, clients) -> None:
    server = await stored()
    alice = await capped(server, "alice", *PLAYBACK, channels=("#old",))
    clients.append(alice)
    alice.send("RENAME #old #new :moving")
    await alice.expect(lambda m: m.command in ("RENAME", "JOIN") and "#new" in m.params)
    await sync(alice)
    assert await kept(server, "#old", clients) == [("JOIN", "reader")]
    alice.send("PART #new")
    await alice.expect("PART")
    assert await kept(server, "#new", clients) == [("JOIN", "reader")]
