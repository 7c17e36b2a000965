"""Transcripts of the channel settings: key (+k), limit (+l), invite only (+i, +I),
moderated (+m), secret (+s), and how modes are shown and announced."""

from __future__ import annotations

import pytest

from tests.e2e_channels.common import SERVER, mask, op_sets, room
from tests.helpers import commands, connected, sync

# -- +k ---------------------------------------------------------------------------------


async def test_key_is_needed_to_join_and_shown_only_to_members(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    assert await op_sets(alice, "MODE #room +k s3cret", bob) == ["#room", "+k", "s3cret"]
    carol = await connected(server, "carol")
    clients.append(carol)
    for line in ("JOIN #room", "JOIN #room wrong", "JOIN #room S3CRET"):
        carol.send(line)
        assert (await carol.expect("475")).params == ["carol", "#room", "Cannot join channel (+k)"]
    carol.send("MODE #room")
    assert (await carol.expect("324")).params == ["carol", "#room", "+ntk"]
    bob.send("MODE #room")
    assert (await bob.expect("324")).params == ["bob", "#room", "+ntk", "s3cret"]
    carol.send("JOIN #room s3cret")
    assert (await carol.expect("JOIN")).params == ["#room"]


async def test_join_with_a_key_list_pairs_keys_with_channels(server, clients) -> None:
    (alice,) = await room(server, clients, "alice", channel="#a")
    alice.send("JOIN #b")
    await alice.expect("366")
    alice.send("JOIN #c")
    await alice.expect("366")
    alice.send("MODE #a +k keya")
    alice.send("MODE #c +k keyc")
    await alice.expect("MODE", "#c")
    bob = await connected(server, "bob")
    clients.append(bob)
    bob.send("JOIN #a,#b,#c keya,x,keyc")  # #b has no key: its key is ignored
    joined = [m.params[0] for m in await bob.collect_until("366") + await bob.collect_until("366")]
    joined += [m.params[0] for m in await bob.collect_until("366")]
    assert [p for p in joined if p.startswith("#")] == ["#a", "#b", "#c"]
    carol = await connected(server, "carol")
    clients.append(carol)
    carol.send("JOIN #a,#c keya")  # no key for #c
    await carol.expect("JOIN", "#a")
    assert (await carol.expect("475")).params[1] == "#c"


async def test_key_can_be_replaced_and_removed_with_or_without_its_value(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    await op_sets(alice, "MODE #room +k one", bob)
    assert await op_sets(alice, "MODE #room +k two", bob) == ["#room", "+k", "two"]
    assert await op_sets(alice, "MODE #room -k", bob) == ["#room", "-k", "*"]
    await op_sets(alice, "MODE #room +k three", bob)
    assert await op_sets(alice, "MODE #room -k whatever", bob) == ["#room", "-k", "*"]
    alice.send("MODE #room -k")  # no key any more: nothing to announce
    alice.send("MODE #room +k")  # +k without a key is ignored
    assert "MODE" not in commands(await sync(bob))
    alice.send("MODE #room")
    assert (await alice.expect("324")).params[2:] == ["+nt"]


@pytest.mark.parametrize("key", ["passphrase with spaces", "a,b", "x" * 33, "", ":colon"])
async def test_invalid_key_is_696_without_echoing_it(server, clients, key) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    alice.send(f"MODE #room +k :{key}")
    reply = await alice.expect("696")
    assert reply.params[:4] == ["alice", "#room", "k", "*"]
    assert "MODE" not in commands(await sync(bob))
    carol = await connected(server, "carol", "#room")  # still no key
    clients.append(carol)


async def test_keylen_is_configurable(make_server, clients) -> None:
    server = await make_server("limits.keylen=4")
    (alice,) = await room(server, clients, "alice")
    alice.send("MODE #room +k abcde")
    await alice.expect("696")
    assert await op_sets(alice, "MODE #room +k abcd") == ["#room", "+k", "abcd"]


# -- +l ---------------------------------------------------------------------------------


async def test_limit_stops_joins_once_reached(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    assert await op_sets(alice, "MODE #room +l 2", bob) == ["#room", "+l", "2"]
    carol = await connected(server, "carol")
    clients.append(carol)
    carol.send("JOIN #room")
    assert (await carol.expect("471")).params == ["carol", "#room", "Cannot join channel (+l)"]
    carol.send("MODE #room")
    assert (await carol.expect("324")).params == ["carol", "#room", "+ntl", "2"]
    assert await op_sets(alice, "MODE #room -l", bob) == ["#room", "-l"]
    carol.send("JOIN #room")
    await carol.expect("JOIN")


@pytest.mark.parametrize("value", ["0", "-1", "ten", "99999999999", "1000001"])
async def test_invalid_limit_is_696(server, clients, value) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    alice.send(f"MODE #room +l {value}")
    reply = await alice.expect("696")
    assert reply.params[:4] == ["alice", "#room", "l", value]
    assert "MODE" not in commands(await sync(bob))


async def test_setting_the_same_limit_again_is_not_announced(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    await op_sets(alice, "MODE #room +l 5", bob)
    alice.send("MODE #room +l 5")
    alice.send("MODE #room +l")  # no parameter: ignored
    assert "MODE" not in commands(await sync(bob))


# -- +i and +I ----------------------------------------------------------------------------


async def test_invite_only_channel_is_473_unless_invited_or_excepted(server, clients) -> None:
    (alice,) = await room(server, clients, "alice")
    await op_sets(alice, "MODE #room +i")
    bob = await connected(server, "bob")
    carol = await connected(server, "carol")
    clients.extend([bob, carol])
    bob.send("JOIN #room")
    assert (await bob.expect("473")).params == ["bob", "#room", "Cannot join channel (+i)"]
    assert await op_sets(alice, "MODE #room +I bob") == ["#room", "+I", "bob!*@*"]
    bob.send("JOIN #room")
    await bob.expect("JOIN")
    carol.send("JOIN #room")
    await carol.expect("473")
    await op_sets(alice, "MODE #room -I bob")
    bob.send("PART #room")
    await bob.expect("PART")
    bob.send("JOIN #room")
    await bob.expect("473")


# -- +m ---------------------------------------------------------------------------------


async def test_moderated_channel_lets_only_voice_and_above_speak(server, clients) -> None:
    alice, bob, carol = await room(server, clients, "alice", "bob", "carol")
    await op_sets(alice, "MODE #room +m", bob, carol)
    bob.send("PRIVMSG #room :can I?")
    assert (await bob.expect("404")).params == ["bob", "#room", "Cannot send to channel (+m)"]
    assert "PRIVMSG" not in commands(await sync(carol))
    alice.send("PRIVMSG #room :ops can")
    assert (await carol.expect("PRIVMSG")).params == ["#room", "ops can"]
    await op_sets(alice, "MODE #room +v bob", bob, carol)
    bob.send("PRIVMSG #room :voiced can")
    assert (await carol.expect("PRIVMSG")).params == ["#room", "voiced can"]
    await op_sets(alice, "MODE #room -m", bob, carol)
    carol.send("PRIVMSG #room :everyone can")
    assert (await bob.expect("PRIVMSG")).params == ["#room", "everyone can"]


# -- +s ---------------------------------------------------------------------------------


async def test_secret_channel_is_hidden_from_outsiders(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob", channel="#hidden")
    await op_sets(alice, "MODE #hidden +s", bob)
    carol = await connected(server, "carol")
    clients.append(carol)
    carol.send("LIST")
    assert commands(await carol.collect_until("323")) == ["321", "323"]
    carol.send("LIST #hidden")
    assert commands(await carol.collect_until("323")) == ["321", "323"]
    carol.send("NAMES #hidden")
    reply = await carol.collect_until("366")
    assert [(m.command, m.params) for m in reply] == [("366", ["carol", "#hidden", "End of /NAMES list"])]
    carol.send("WHO #hidden")
    assert commands(await carol.collect_until("315")) == ["315"]
    for line in ("TOPIC #HIDDEN", "MODE #HIDDEN", "MODE #HIDDEN b"):  # not even its real case
        carol.send(line)
        assert (await carol.expect("403")).params == ["carol", "#HIDDEN", "No such channel"], line
    # members see it, with the secret symbol in NAMES
    bob.send("LIST")
    reply = await bob.collect_until("323")
    assert [m.params[1] for m in reply if m.command == "322"] == ["#hidden"]
    bob.send("NAMES #hidden")
    assert (await bob.expect("353")).params == ["bob", "@", "#hidden", "@alice bob"]


async def test_an_outsider_cannot_tell_a_secret_channel_from_one_that_does_not_exist(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob", channel="#hidden")
    await op_sets(alice, "MODE #hidden +s", bob)
    carol = await connected(server, "carol")
    clients.append(carol)
    carol.send("CAP REQ message-tags")
    await carol.expect("CAP")
    commands_to_try = (
        "PRIVMSG {} :hello",
        "NOTICE {} :hello",
        "@+typing=active TAGMSG {}",
        "PRIVMSG @{} :to the ops",
        "RENAME {} #elsewhere",
        "PART {} :bye",
        "KICK {} bob :out",
        "INVITE bob {}",
        "TOPIC {}",
        "TOPIC {} :new topic",
        "MODE {}",
        "MODE {} +o carol",
    )
    for line in commands_to_try:
        answers = []
        for name in ("#HIDDEN", "#nowhere"):
            carol.send(line.format(name))
            answers.append([(m.command, m.params) for m in await sync(carol)])
        hidden, missing = answers
        assert [(c, [p.replace("#HIDDEN", "#nowhere") for p in ps]) for c, ps in hidden] == missing, line
    assert not [m for m in await sync(alice) if m.command != "PONG"]  # nothing reached the channel
    assert not [m for m in await sync(bob) if m.command in ("PRIVMSG", "NOTICE", "TAGMSG", "KICK", "INVITE")]


# -- how modes are shown and announced -------------------------------------------------------


async def test_mode_query_shows_every_setting_with_its_parameters(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    await op_sets(alice, "MODE #room +imslk 9 key", bob)
    for asker, nick in ((alice, "alice"), (bob, "bob")):
        asker.send("MODE #room")
        reply = await asker.collect_until("329")
        assert commands(reply) == ["324", "329"]
        assert reply[0].source == SERVER
        assert reply[0].params == [nick, "#room", "+imnstlk", "9", "key"]


async def test_many_changes_are_announced_in_one_mode_line(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    alice.send("MODE #room +imk-t+v key bob")
    change = await bob.expect("MODE")
    assert change.source == mask("alice")
    assert change.params == ["#room", "+imk-t+v", "key", "bob"]
    assert "MODE" not in commands(await sync(bob))


async def test_parameters_past_the_modes_limit_are_ignored(make_server, clients) -> None:
    server = await make_server("limits.max_modes=3")
    alice, bob = await room(server, clients, "alice", "bob")
    alice.send("MODE #room +bbbb one two three four")
    change = await bob.expect("MODE")
    assert change.params == ["#room", "+bbb", "one!*@*", "two!*@*", "three!*@*"]
    # parameterless flags and list queries are not counted
    alice.send("MODE #room +lkbm 5 key x")
    assert (await bob.expect("MODE")).params == ["#room", "+lkbm", "5", "key", "x!*@*"]


async def test_long_changes_are_split_to_keep_each_line_within_512_bytes(make_server, clients) -> None:
    server = await make_server("limits.max_modes=6")
    alice, bob = await room(server, clients, "alice", "bob")
    masks = [f"{'x' * 77}{i}" for i in range(6)]  # 493 bytes sent, more than 512 relayed
    alice.send(f"MODE #room +bbbbbb {' '.join(masks)}")
    start = len(bob.raw)
    seen: list[str] = []
    while len(seen) < 6:
        change = await bob.expect("MODE")
        seen += change.params[2:]
    assert seen == [f"{m}!*@*" for m in masks]
    assert all(len(line.encode()) + 2 <= 512 for line in bob.raw[start:])


async def test_unknown_mode_letters_are_472_each_and_the_rest_applies(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    alice.send("MODE #room +XmY")
    assert (await alice.expect("472")).params == ["alice", "X", "is unknown mode char to me"]
    assert (await alice.expect("472")).params == ["alice", "Y", "is unknown mode char to me"]
    assert (await bob.expect("MODE")).params == ["#room", "+m"]
