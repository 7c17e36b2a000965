"""Transcripts of channel modes +C (no CTCP but ACTION) and +T (no NOTICE to the channel)."""

from __future__ import annotations

from tests.e2e_channels.common import op_sets, room
from tests.helpers import commands, connected, isupport_tokens, sync


async def test_both_modes_are_advertised_as_flags(server, clients) -> None:
    client = await connected(server)
    clients.append(client)
    client.send("NICK alice")
    client.send("USER a 0 * :A")
    welcome = await client.collect_until("376")
    assert isupport_tokens(welcome)["CHANMODES"].split(",")[3] == "CiKMmnRsTt"
    assert "C" in next(m for m in welcome if m.command == "004").params[4]


async def test_no_ctcp_refuses_ctcp_but_lets_action_through(server, clients) -> None:
    alice, bob, carol = await room(server, clients, "alice", "bob", "carol")
    await op_sets(alice, "MODE #room +C", bob, carol)
    bob.send("PRIVMSG #room :\x01VERSION\x01")
    reply = await bob.expect("404")
    assert reply.params == ["bob", "#room", "Cannot send to channel (+C)"]
    bob.send("NOTICE #room :\x01PING 123\x01")  # a NOTICE is dropped without a word
    bob.send("PRIVMSG #room :\x01ACTION waves\x01")
    bob.send("PRIVMSG #room :\x01action lowercase is ACTION too\x01")
    bob.send("PRIVMSG #room :plain text")
    assert commands(await sync(bob)) == []
    got = [m.params[1] for m in await sync(carol) if m.command in ("PRIVMSG", "NOTICE")]
    assert got == ["\x01ACTION waves\x01", "\x01action lowercase is ACTION too\x01", "plain text"]


async def test_no_ctcp_leaves_private_ctcp_and_halfops_alone(server, clients) -> None:
    alice, bob, carol = await room(server, clients, "alice", "bob", "carol")
    await op_sets(alice, "MODE #room +Ch bob", bob, carol)
    bob.send("PRIVMSG #room :\x01VERSION\x01")  # a halfop may
    assert (await carol.expect("PRIVMSG")).params == ["#room", "\x01VERSION\x01"]
    carol.send("PRIVMSG bob :\x01VERSION\x01")  # a private CTCP is not the channel's business
    assert (await bob.expect("PRIVMSG")).params == ["bob", "\x01VERSION\x01"]


async def test_no_notice_drops_channel_notices_silently(server, clients) -> None:
    alice, bob, carol = await room(server, clients, "alice", "bob", "carol")
    await op_sets(alice, "MODE #room +T", bob, carol)
    bob.send("NOTICE #room :hear ye")
    bob.send("PRIVMSG #room :a message is fine")
    assert commands(await sync(bob)) == []
    assert [m.command for m in await sync(carol) if m.command in ("PRIVMSG", "NOTICE")] == ["PRIVMSG"]
    alice.send("NOTICE #room :ops may")
    assert (await carol.expect("NOTICE")).params == ["#room", "ops may"]
    bob.send("NOTICE carol :a private notice is fine")
    assert (await carol.expect("NOTICE")).params == ["carol", "a private notice is fine"]


async def test_modes_show_in_324_and_come_off_again(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    await op_sets(alice, "MODE #room +CT", bob)
    alice.send("MODE #room")
    assert (await alice.expect("324")).params == ["alice", "#room", "+CTnt"]
    bob.send("MODE #room -C")
    assert (await bob.expect("482")).params[1] == "#room"
    await op_sets(alice, "MODE #room -CT", bob)
    bob.send("NOTICE #room :\x01PING 1\x01")
    assert (await alice.expect("NOTICE")).params == ["#room", "\x01PING 1\x01"]
