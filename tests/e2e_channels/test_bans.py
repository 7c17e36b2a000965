"""Transcripts of the channel lists: bans (+b), exceptions (+e), mutes (m:), their masks,
their limits and their queries."""

from __future__ import annotations

import pytest

from tests.e2e_channels.common import mask, op_sets, room
from tests.helpers import commands, connected, sync


async def test_ban_keeps_a_matching_user_out_until_it_is_lifted(server, clients) -> None:
    (alice,) = await room(server, clients, "alice")
    assert await op_sets(alice, "MODE #room +b bob!*@*") == ["#room", "+b", "bob!*@*"]
    bob = await connected(server, "bob")
    clients.append(bob)
    bob.send("JOIN #room")
    reply = await bob.expect("474")
    assert reply.params == ["bob", "#room", "Cannot join channel (+b)"]
    assert "JOIN" not in commands(await sync(bob))
    assert "JOIN" not in commands(await sync(alice))
    await op_sets(alice, "MODE #room -b bob!*@*")
    bob.send("JOIN #room")
    assert (await bob.expect("JOIN")).params == ["#room"]


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("bob", "bob!*@*"),
        ("~u@127.0.0.1", "*!~u@127.0.0.1"),
        ("bob!~u", "bob!~u@*"),
        ("*", "*!*@*"),
        ("b?b!*@127.*", "b?b!*@127.*"),
    ],
)
async def test_ban_masks_are_completed_to_nick_user_host(server, clients, typed, stored) -> None:
    (alice,) = await room(server, clients, "alice")
    assert await op_sets(alice, f"MODE #room +b {typed}") == ["#room", "+b", stored]
    bob = await connected(server, "bob")
    clients.append(bob)
    bob.send("JOIN #room")
    await bob.expect("474")


async def test_ban_masks_match_with_ascii_casemapping(server, clients) -> None:
    (alice,) = await room(server, clients, "alice")
    await op_sets(alice, "MODE #room +b BOB!*@*")
    bob = await connected(server, "Bob")
    clients.append(bob)
    bob.send("JOIN #room")
    await bob.expect("474")
    # the same mask in another case is the same entry: it is removed, not added twice
    assert await op_sets(alice, "MODE #room -b bob!*@*") == ["#room", "-b", "BOB!*@*"]
    bob.send("JOIN #room")
    await bob.expect("JOIN")


async def test_duplicate_and_absent_entries_change_nothing_and_are_not_announced(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    await op_sets(alice, "MODE #room +b carol", bob)
    alice.send("MODE #room +b CAROL!*@*")
    alice.send("MODE #room -b dave")
    alice.send("MODE #room -e dave")
    assert "MODE" not in commands(await sync(alice))
    assert "MODE" not in commands(await sync(bob))
    alice.send("MODE #room +b")
    reply = await alice.collect_until("368")
    assert [m.params[2] for m in reply if m.command == "367"] == ["carol!*@*"]


async def test_ban_list_is_367_with_setter_and_time_then_368_for_any_member(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    await op_sets(alice, "MODE #room +bb carol dave", bob)
    for query in ("MODE #room b", "MODE #room +b", "MODE #room -b"):  # irssi asks with `MODE #c b`
        bob.send(query)
        reply = await bob.collect_until("368")
        assert commands(reply) == ["367", "367", "368"]
        assert [m.params[:4] for m in reply[:2]] == [
            ["bob", "#room", "carol!*@*", mask("alice")],
            ["bob", "#room", "dave!*@*", mask("alice")],
        ]
        assert all(int(m.params[4]) > 0 for m in reply[:2])
        assert reply[2].params == ["bob", "#room", "End of channel ban list"]
    assert "MODE" not in commands(await sync(alice))  # a query changes nothing


async def test_exception_and_invite_exception_lists_are_348_349_and_346_347(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    bob.send("MODE #room e")
    assert commands(await bob.collect_until("349")) == ["349"]
    await op_sets(alice, "MODE #room +eI carol dave", bob)
    bob.send("MODE #room eI")
    reply = await bob.collect_until("347")
    assert [(m.command, m.params[2]) for m in reply] == [
        ("348", "carol!*@*"),
        ("349", "End of channel exception list"),
        ("346", "dave!*@*"),
        ("347", "End of channel invite exception list"),
    ]


async def test_empty_ban_list_is_just_368(server, clients) -> None:
    (alice,) = await room(server, clients, "alice")
    outsider = await connected(server, "zed")
    clients.append(outsider)
    for asker, nick in ((alice, "alice"), (outsider, "zed")):
        asker.send("MODE #room b")
        reply = await asker.collect_until("368")
        assert [(m.command, m.params) for m in reply] == [("368", [nick, "#room", "End of channel ban list"])]


async def test_ban_exception_lets_a_banned_user_in(server, clients) -> None:
    (alice,) = await room(server, clients, "alice")
    await op_sets(alice, "MODE #room +b *!*@127.0.0.1")
    await op_sets(alice, "MODE #room +e bob")
    bob = await connected(server, "bob")
    carol = await connected(server, "carol")
    clients.extend([bob, carol])
    bob.send("JOIN #room")
    await bob.expect("JOIN")
    carol.send("JOIN #room")
    await carol.expect("474")


async def test_banned_member_cannot_speak_but_voice_or_exception_lets_them(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    await op_sets(alice, "MODE #room +b bob", bob)
    for command in ("PRIVMSG", "NOTICE"):
        bob.send(f"{command} #room :hello")
    reply = await bob.expect("404")
    assert reply.params == ["bob", "#room", "Cannot send to channel (you are banned)"]
    assert commands(await sync(bob)) == []  # no 404 for the NOTICE (RFC 1459)
    assert "PRIVMSG" not in commands(await sync(alice))
    await op_sets(alice, "MODE #room +v bob", bob)
    bob.send("PRIVMSG #room :voiced now")
    assert (await alice.expect("PRIVMSG")).params == ["#room", "voiced now"]
    await op_sets(alice, "MODE #room -v+e bob bob", bob)
    bob.send("PRIVMSG #room :excepted now")
    assert (await alice.expect("PRIVMSG")).params == ["#room", "excepted now"]


async def test_banned_member_cannot_change_nick_with_435(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    await op_sets(alice, "MODE #room +b bob", bob)
    bob.send("NICK robert")
    reply = await bob.expect("435")
    assert reply.params == ["bob", "robert", "#room", "Cannot change nickname while banned on channel"]
    assert "NICK" not in commands(await sync(alice))
    await op_sets(alice, "MODE #room +v bob", bob)  # voice exempts, as for speaking
    bob.send("NICK robert")
    assert (await alice.expect("NICK")).params == ["robert"]


async def test_ban_set_on_someone_else_does_not_block_a_nick_change(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    await op_sets(alice, "MODE #room +b carol", bob)
    bob.send("NICK robert")
    assert (await alice.expect("NICK")).params == ["robert"]


# -- the mute extban (EXTBAN=,m) -------------------------------------------------------


async def test_mute_lets_a_user_join_but_not_speak_nor_change_nick(server, clients) -> None:
    (alice,) = await room(server, clients, "alice")
    assert await op_sets(alice, "MODE #room +b m:bob") == ["#room", "+b", "m:bob!*@*"]
    bob = await connected(server, "bob", "#room")
    clients.append(bob)
    await sync(alice)
    bob.send("PRIVMSG #room :hi")
    reply = await bob.expect("404")
    assert reply.params == ["bob", "#room", "Cannot send to channel (you are muted)"]
    assert "PRIVMSG" not in commands(await sync(alice))
    bob.send("NICK robert")
    await bob.expect("435")
    bob.send("MODE #room b")
    entry = await bob.expect("367")
    assert entry.params[:4] == ["bob", "#room", "m:bob!*@*", mask("alice")]
    assert await op_sets(alice, "MODE #room -b m:BOB!*@*", bob) == ["#room", "-b", "m:bob!*@*"]
    bob.send("PRIVMSG #room :free again")
    assert (await alice.expect("PRIVMSG")).params == ["#room", "free again"]


async def test_mute_is_lifted_by_voice_and_by_exceptions(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    await op_sets(alice, "MODE #room +b m:*!*@*", bob)
    alice.send("PRIVMSG #room :ops are not muted")
    assert (await bob.expect("PRIVMSG")).params == ["#room", "ops are not muted"]
    await op_sets(alice, "MODE #room +e m:bob", bob)  # an m: exception lifts mutes only
    bob.send("PRIVMSG #room :excepted")
    assert (await alice.expect("PRIVMSG")).params == ["#room", "excepted"]
    await op_sets(alice, "MODE #room -e+b m:bob bob", bob)
    bob.send("PRIVMSG #room :banned and muted")
    await bob.expect("404")
    await op_sets(alice, "MODE #room +e bob", bob)  # a plain exception lifts both
    bob.send("PRIVMSG #room :excepted from both")
    assert (await alice.expect("PRIVMSG")).params == ["#room", "excepted from both"]


# -- error paths ----------------------------------------------------------------------


async def test_non_op_cannot_change_lists_and_gets_482(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    for line in ("MODE #room +b carol", "MODE #room +e carol", "MODE #room +I carol", "MODE #room -b x"):
        bob.send(line)
        assert (await bob.expect("482")).params == ["bob", "#room", "You're not channel operator"]
    assert "MODE" not in commands(await sync(alice))
    bob.send("MODE #room b")
    assert commands(await bob.collect_until("368")) == ["368"]


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ("MODE #room +b :a b", "*"),
        ("MODE #room +b :", "*"),
        ("MODE #room +b x:bob", "x:bob"),
        ("MODE #room +b m:", "m:"),
        ("MODE #room +b " + "a" * 201, "a" * 201),
        ("MODE #room +b bad\x01mask", "bad\x01mask"),
        ("MODE #room +e a,b", "a,b"),
        ("MODE #room +I m:bob", "m:bob"),
    ],
)
async def test_bad_masks_are_696_and_change_nothing(server, clients, line, shown) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    alice.send(line)
    reply = await alice.expect("696")
    assert reply.params[:4] == ["alice", "#room", line.split()[2][1], shown]
    assert reply.params[4]  # says why
    assert "MODE" not in commands(await sync(alice))
    assert "MODE" not in commands(await sync(bob))


async def test_bad_mask_does_not_stop_the_other_changes(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    alice.send("MODE #room +bbv x:y carol bob")
    await alice.expect("696")
    assert (await bob.expect("MODE")).params == ["#room", "+bv", "carol!*@*", "bob"]


async def test_full_list_is_478_and_maxlist_follows_the_configuration(make_server, clients) -> None:
    server = await make_server("limits.max_list_entries=2")
    alice, bob = await room(server, clients, "alice", "bob")
    await op_sets(alice, "MODE #room +bb one two", bob)
    alice.send("MODE #room +b three")
    reply = await alice.expect("478")
    assert reply.params == ["alice", "#room", "b", "Channel list is full"]
    assert "MODE" not in commands(await sync(bob))
    # each list has its own room; removing one entry makes room again
    await op_sets(alice, "MODE #room +e three", bob)
    await op_sets(alice, "MODE #room -b+b one three", bob)
    alice.send("MODE #room b")
    reply = await alice.collect_until("368")
    assert [m.params[2] for m in reply if m.command == "367"] == ["two!*@*", "three!*@*"]


async def test_banned_member_cannot_send_tagmsg_either(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    for member in (alice, bob):
        member.send("CAP REQ message-tags")
        await member.expect("CAP")
    await op_sets(alice, "MODE #room +b m:bob", bob)
    bob.send("@+typing=active TAGMSG #room")
    assert (await bob.expect("404")).params == ["bob", "#room", "Cannot send to channel (you are muted)"]
    assert "TAGMSG" not in commands(await sync(alice))
