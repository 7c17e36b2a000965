"""Transcripts of PRIVMSG and NOTICE: channels, nicks, several targets, errors, AWAY, echo."""

from __future__ import annotations

import pytest

from tests.helpers import commands, connected, sync


def mask(nick: str) -> str:
    return f"{nick}!~u@127.0.0.1"


def said(messages, command: str = "PRIVMSG") -> list[tuple[str | None, list[str]]]:
    """(source, params) of every `command` among `messages`."""
    return [(m.source, m.params) for m in messages if m.command == command]


async def test_three_users_converse_in_a_channel(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    bob = await connected(server, "bob", "#room")
    carol = await connected(server, "carol", "#room")
    clients.extend([alice, bob, carol])
    alice.send("PRIVMSG #room :hello, both of you")
    for other in (bob, carol):
        msg = await other.expect("PRIVMSG")
        assert msg.source == mask("alice")
        assert msg.params == ["#room", "hello, both of you"]
    assert said(await sync(alice)) == []  # no echo without echo-message
    bob.send("PRIVMSG #room ::-) hi alice")
    for other in (alice, carol):
        msg = await other.expect("PRIVMSG")
        assert msg.source == mask("bob") and msg.params == ["#room", ":-) hi alice"]
    carol.send("NOTICE #room :a notice")
    for other in (alice, bob):
        msg = await other.expect("NOTICE")
        assert msg.source == mask("carol") and msg.params == ["#room", "a notice"]
    assert said(await sync(carol), "NOTICE") == []


async def test_channel_messages_stay_in_their_channel(server, clients) -> None:
    alice = await connected(server, "alice", "#a", "#b")
    bob = await connected(server, "bob", "#a")
    carol = await connected(server, "carol", "#b")
    clients.extend([alice, bob, carol])
    alice.send("PRIVMSG #a :only for #a")
    assert (await bob.expect("PRIVMSG")).params == ["#a", "only for #a"]
    await sync(alice)
    assert said(await sync(carol)) == []


async def test_privmsg_and_notice_to_a_nick(server, clients) -> None:
    alice = await connected(server, "alice")
    bob = await connected(server, "bob")
    carol = await connected(server, "carol")
    clients.extend([alice, bob, carol])
    alice.send("PRIVMSG BOB :psst")  # nicks are matched case-insensitively
    msg = await bob.expect("PRIVMSG")
    assert msg.source == mask("alice") and msg.params == ["bob", "psst"]
    alice.send("NOTICE bob :noticed?")
    msg = await bob.expect("NOTICE")
    assert msg.source == mask("alice") and msg.params == ["bob", "noticed?"]
    await sync(alice)
    assert said(await sync(carol)) == []


async def test_ctcp_action_passes_through_unchanged(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    bob = await connected(server, "bob", "#room")
    clients.extend([alice, bob])
    alice.send("PRIVMSG #room :\x01ACTION waves\x01")
    msg = await bob.expect("PRIVMSG")
    assert msg.params == ["#room", "\x01ACTION waves\x01"]


async def test_several_targets_in_one_message(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    bob = await connected(server, "bob")
    carol = await connected(server, "carol", "#room")
    clients.extend([alice, bob, carol])
    alice.send("PRIVMSG bob,#room :to you all")
    assert said([await bob.expect("PRIVMSG")]) == [(mask("alice"), ["bob", "to you all"])]
    assert said([await carol.expect("PRIVMSG")]) == [(mask("alice"), ["#room", "to you all"])]
    await sync(alice)
    assert said(await sync(bob)) == []


async def test_errors_for_some_targets_do_not_stop_the_others(server, clients) -> None:
    alice = await connected(server, "alice")
    bob = await connected(server, "bob")
    clients.extend([alice, bob])
    alice.send("PRIVMSG nobody,#nowhere,bob :hi")
    errors = [m for m in await sync(alice) if m.command.isdigit()]
    assert [m.params for m in errors] == [
        ["alice", "nobody", "No such nick/channel"],
        ["alice", "#nowhere", "No such channel"],
    ]
    assert (await bob.expect("PRIVMSG")).params == ["bob", "hi"]


async def test_privmsg_to_unknown_nick_is_401(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("PRIVMSG nobody :hello?")
    reply = await alice.expect("401")
    assert reply.params == ["alice", "nobody", "No such nick/channel"]


async def test_privmsg_to_unknown_channel_is_403(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("PRIVMSG #nowhere :hello?")
    reply = await alice.expect("403")
    assert reply.params == ["alice", "#nowhere", "No such channel"]


async def test_privmsg_from_outside_a_plus_n_channel_is_404(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    carol = await connected(server, "carol")
    clients.extend([alice, carol])
    carol.send("PRIVMSG #room :let me in")
    reply = await carol.expect("404")
    assert reply.params == ["carol", "#room", "Cannot send to channel (no external messages)"]
    await sync(carol)
    assert said(await sync(alice)) == []


async def test_minus_n_channel_accepts_messages_from_outside(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    carol = await connected(server, "carol")
    clients.extend([alice, carol])
    alice.send("MODE #room -n")
    await alice.expect("MODE", "#room", "-n")
    carol.send("PRIVMSG #room :knock knock")
    msg = await alice.expect("PRIVMSG")
    assert msg.source == mask("carol") and msg.params == ["#room", "knock knock"]
    assert said(await sync(carol)) == []


async def test_no_recipient_is_411_and_no_text_is_412(server, clients) -> None:
    alice = await connected(server, "alice")
    bob = await connected(server, "bob")
    clients.extend([alice, bob])
    alice.send("PRIVMSG")
    assert (await alice.expect("411")).params == ["alice", "No recipient given (PRIVMSG)"]
    alice.send("PRIVMSG :")
    assert (await alice.expect("411")).params == ["alice", "No recipient given (PRIVMSG)"]
    alice.send("PRIVMSG bob")
    assert (await alice.expect("412")).params == ["alice", "No text to send"]
    alice.send("PRIVMSG bob :")
    assert (await alice.expect("412")).params == ["alice", "No text to send"]
    await sync(alice)
    assert said(await sync(bob)) == []


async def test_a_target_named_twice_gets_one_copy_and_counts_once(make_server, clients) -> None:
    server = await make_server("limits.max_targets=2")
    alice = await connected(server, "alice")
    bob = await connected(server, "bob")
    carol = await connected(server, "carol")
    clients.extend([alice, bob, carol])
    alice.send("JOIN #c")
    await alice.expect("366")
    carol.send("JOIN #c")
    await carol.expect("366")
    alice.send("PRIVMSG bob,BOB,#c,bob,#C :once each")  # two targets, named five times
    assert (await bob.expect("PRIVMSG")).params == ["bob", "once each"]
    assert (await carol.expect("PRIVMSG")).params == ["#c", "once each"]
    assert said(await sync(bob)) == [] and said(await sync(carol)) == []
    assert "407" not in [m.command for m in await sync(alice)]  # the limit counts targets, not names


async def test_too_many_targets_is_407_and_nothing_is_sent(make_server, clients) -> None:
    server = await make_server("limits.max_targets=2")
    alice = await connected(server, "alice")
    bob = await connected(server, "bob")
    carol = await connected(server, "carol")
    clients.extend([alice, bob, carol])
    alice.send("PRIVMSG bob,carol,alice :spam")
    reply = await alice.expect("407")
    assert reply.params == ["alice", "bob,carol,alice", "Too many targets, the limit is 2"]
    assert said(await sync(alice)) == []
    assert said(await sync(bob)) == []
    alice.send("PRIVMSG bob,carol :fine")  # at the limit is allowed
    assert (await bob.expect("PRIVMSG")).params == ["bob", "fine"]
    assert (await carol.expect("PRIVMSG")).params == ["carol", "fine"]


@pytest.mark.parametrize(
    "line",
    [
        "NOTICE nobody :x",
        "NOTICE #nowhere :x",
        "NOTICE #room :from outside",
        "NOTICE",
        "NOTICE bob",
        "NOTICE bob :",
        "NOTICE a,b,c,d,e :too many",
    ],
)
async def test_notice_errors_are_never_answered(server, clients, line) -> None:
    clients.append(await connected(server, "alice", "#room"))
    bob = await connected(server, "bob")
    clients.append(bob)
    bob.send(line)
    assert await sync(bob) == []


async def test_away_is_306_and_back_is_305(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("AWAY :out for lunch")
    assert (await alice.expect("306")).params == ["alice", "You have been marked as being away"]
    alice.send("AWAY")
    assert (await alice.expect("305")).params == ["alice", "You are no longer marked as being away"]


async def test_privmsg_to_an_away_user_gets_301_but_notice_does_not(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    bob = await connected(server, "bob", "#room")
    clients.extend([alice, bob])
    bob.send("AWAY :out for lunch")
    await bob.expect("306")
    alice.send("PRIVMSG bob :are you there?")
    reply = await alice.expect("301")
    assert reply.source == "hubbub.local"
    assert reply.params == ["alice", "bob", "out for lunch"]
    assert (await bob.expect("PRIVMSG")).params == ["bob", "are you there?"]  # still delivered
    alice.send("NOTICE bob :fyi")
    await bob.expect("NOTICE")
    alice.send("PRIVMSG #room :channel talk")  # no 301 for channel messages either
    await bob.expect("PRIVMSG", "#room")
    assert "301" not in commands(await sync(alice))
    bob.send("AWAY")
    await bob.expect("305")
    alice.send("PRIVMSG bob :back?")
    await bob.expect("PRIVMSG", "bob", "back?")
    assert "301" not in commands(await sync(alice))


async def test_echo_message_echoes_channel_and_private_messages(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    bob = await connected(server, "bob", "#room")
    clients.extend([alice, bob])
    alice.send("CAP REQ echo-message")
    await alice.expect("CAP", "alice", "ACK", "echo-message")
    alice.send("PRIVMSG #room :to the room")
    echoed = await alice.expect("PRIVMSG")
    assert echoed.source == mask("alice") and echoed.params == ["#room", "to the room"]
    assert (await bob.expect("PRIVMSG")).params == ["#room", "to the room"]
    alice.send("PRIVMSG bob :just you")
    echoed = await alice.expect("PRIVMSG")
    assert echoed.source == mask("alice") and echoed.params == ["bob", "just you"]
    assert (await bob.expect("PRIVMSG")).params == ["bob", "just you"]
    alice.send("NOTICE bob :a notice")
    echoed = await alice.expect("NOTICE")
    assert echoed.source == mask("alice") and echoed.params == ["bob", "a notice"]
    # bob did not ask for echoes
    bob.send("PRIVMSG #room :reply")
    await alice.expect("PRIVMSG", "#room", "reply")
    assert said(await sync(bob)) == []


async def test_echo_message_to_an_outside_minus_n_channel(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    carol = await connected(server, "carol")
    clients.extend([alice, carol])
    alice.send("MODE #room -n")
    await alice.expect("MODE")
    carol.send("CAP REQ echo-message")
    await carol.expect("CAP", "carol", "ACK")
    carol.send("PRIVMSG #room :from outside")
    echoed = await carol.expect("PRIVMSG")
    assert echoed.params == ["#room", "from outside"]
    assert (await alice.expect("PRIVMSG")).params == ["#room", "from outside"]


async def test_message_to_self_arrives_once_and_twice_with_echo_message(server, clients) -> None:
    """With echo-message the delivery and the echo both arrive, as ergo does: a client
    cannot tell a labeled echo from a delivery otherwise."""
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("PRIVMSG alice :note to self")
    assert said(await sync(alice)) == [(mask("alice"), ["alice", "note to self"])]
    alice.send("CAP REQ echo-message")
    await alice.expect("CAP", "alice", "ACK")
    alice.send("PRIVMSG alice :note to self")
    assert said(await sync(alice)) == [(mask("alice"), ["alice", "note to self"])] * 2


async def test_a_source_sent_by_the_client_is_ignored(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    bob = await connected(server, "bob", "#room")
    clients.extend([alice, bob])
    bob.send(":alice!~u@127.0.0.1 PRIVMSG #room :who am I?")
    msg = await alice.expect("PRIVMSG")
    assert msg.source == mask("bob") and msg.params == ["#room", "who am I?"]


async def test_commands_are_case_insensitive(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    bob = await connected(server, "bob", "#room")
    clients.extend([alice, bob])
    bob.send("privmsg #room :lower case")
    msg = await alice.expect("PRIVMSG")
    assert msg.params == ["#room", "lower case"]
