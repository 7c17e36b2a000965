"""Transcripts of STATUSMSG: `PRIVMSG @#chan` reaches the channel's ops, `%#chan` halfops
and ops, `+#chan` every member with voice or more; the target keeps its prefix."""

from __future__ import annotations

from tests.e2e_caps.support import batches, capped
from tests.e2e_channels.common import mask, op_sets, room
from tests.helpers import LOBBY_CREATOR_OP, commands, connected, isupport_tokens, sync


async def ranked_room(server, clients):
    """alice (op), bob (halfop), carol (voice), dave (nothing), all in #room."""
    alice, bob, carol, dave = await room(server, clients, "alice", "bob", "carol", "dave")
    await op_sets(alice, "MODE #room +hv bob carol", bob, carol, dave)
    return alice, bob, carol, dave


def privmsgs(messages) -> list[list[str]]:
    return [m.params for m in messages if m.command == "PRIVMSG"]


async def test_statusmsg_is_advertised_with_every_prefix(server, clients) -> None:
    client = await connected(server)
    clients.append(client)
    client.send("NICK alice")
    client.send("USER a 0 * :A")
    tokens = isupport_tokens(await client.collect_until("376"))
    assert tokens["STATUSMSG"] == "~&@%+"
    assert set(tokens["STATUSMSG"]) <= set(tokens["PREFIX"].partition(")")[2])


async def test_each_prefix_reaches_that_rank_and_above_with_the_prefix_kept(server, clients) -> None:
    alice, bob, carol, dave = await ranked_room(server, clients)
    expected = {"@": {"alice"}, "%": {"alice", "bob"}, "+": {"alice", "bob", "carol"}}
    for prefix, audience in expected.items():
        dave.send(f"PRIVMSG {prefix}#room :to {prefix}")
        for nick, member in (("alice", alice), ("bob", bob), ("carol", carol)):
            got = privmsgs(await sync(member))
            assert got == ([[f"{prefix}#room", f"to {prefix}"]] if nick in audience else []), (prefix, nick)
    assert privmsgs(await sync(dave)) == []  # the sender gets no copy without echo-message


async def test_relayed_line_keeps_the_prefixed_target_on_the_wire(server, clients) -> None:
    alice, bob, carol, dave = await ranked_room(server, clients)
    carol.send("NOTICE %#room :halfops, look")
    await bob.expect("NOTICE")
    assert bob.raw[-1] == f":{mask('carol')} NOTICE %#room :halfops, look"


async def test_the_lowest_of_several_prefixes_counts(server, clients) -> None:
    alice, bob, carol, dave = await ranked_room(server, clients)
    dave.send("PRIVMSG @+#room :voices too")
    assert (await carol.expect("PRIVMSG")).params == ["+#room", "voices too"]


async def test_echo_message_returns_the_prefixed_message_to_its_sender(server, clients) -> None:
    alice, bob, carol, dave = await ranked_room(server, clients)
    eve = await capped(server, "eve", "echo-message", "batch", "labeled-response", channels=("#room",))
    clients.append(eve)
    await sync(alice)
    eve.send("@label=s1 PRIVMSG @#room :psst")
    echo = await eve.expect("PRIVMSG")
    assert echo.params == ["@#room", "psst"] and echo.tags.get("label") == "s1"
    assert (await alice.expect("PRIVMSG")).params == ["@#room", "psst"]


async def test_sender_must_be_a_member_allowed_to_speak(server, clients) -> None:
    alice, bob, carol, dave = await ranked_room(server, clients)
    outsider = await connected(server, "outsider")
    clients.append(outsider)
    outsider.send("PRIVMSG @#room :let me in")
    assert (await outsider.expect("404")).params[1] == "#room"
    await op_sets(alice, "MODE #room -n", bob, carol, dave)
    outsider.send("PRIVMSG @#room :still not a member")
    reply = await outsider.expect("404")
    assert reply.params == ["outsider", "#room", "Cannot send to channel (you are not on it)"]
    await op_sets(alice, "MODE #room +m", bob, carol, dave)
    dave.send("PRIVMSG @#room :moderated")
    assert (await dave.expect("404")).params[-1] == "Cannot send to channel (+m)"
    assert privmsgs(await sync(alice)) == []


async def test_statusmsg_errors_name_what_was_wrong(server, clients) -> None:
    alice, bob, carol, dave = await ranked_room(server, clients)
    dave.send("PRIVMSG @#nowhere :hi")
    assert (await dave.expect("403")).params[1] == "#nowhere"
    dave.send("PRIVMSG @alice :hi")  # a prefix before a nick is no target
    assert (await dave.expect("401")).params[1] == "@alice"
    dave.send("NOTICE @#nowhere :notices get no errors")
    assert commands(await sync(dave)) == []


async def test_tagmsg_to_a_status_reaches_only_that_rank_with_message_tags(server, clients) -> None:
    alice = await capped(server, "alice", "message-tags", channels=("#room",))
    bob = await capped(server, "bob", "message-tags", channels=("#room",))
    carol = await capped(server, "carol", "message-tags", channels=("#room",))
    clients.extend([alice, bob, carol])
    await op_sets(alice, "MODE #room +v bob", bob, carol)
    carol.send("@+typing=active TAGMSG +#room")
    tagmsg = await bob.expect("TAGMSG")
    assert tagmsg.params == ["+#room"] and tagmsg.tags["+typing"] == "active"
    await alice.expect("TAGMSG")
    carol.send("@+typing=active TAGMSG @#room")
    await alice.expect("TAGMSG", "@#room")
    assert "TAGMSG" not in commands(await sync(bob))


async def test_multiline_to_a_status_reaches_only_that_rank(server, clients) -> None:
    caps = ("batch", "draft/multiline", "message-tags")
    alice = await capped(server, "alice", *caps, channels=("#room",))
    bob = await capped(server, "bob", *caps, channels=("#room",))
    carol = await capped(server, "carol", *caps, channels=("#room",))
    clients.extend([alice, bob, carol])
    await sync(alice)
    bob.send("BATCH +m1 draft/multiline @#room")
    bob.send("@batch=m1 PRIVMSG @#room :line one")
    bob.send("@batch=m1 PRIVMSG @#room :line two")
    bob.send("BATCH -m1")
    received = await alice.collect_until(lambda m: m.command == "BATCH" and m.params[0].startswith("-"))
    (batch,) = batches(received).values()
    assert batch[0].params[1:] == ["draft/multiline", "@#room"]
    assert [m.params for m in batch[1:-1]] == [["@#room", "line one"], ["@#room", "line two"]]
    assert "BATCH" not in commands(await sync(carol))


async def test_plain_mode_shows_a_status_message_as_the_channels(make_server, clients) -> None:
    server = await make_server(LOBBY_CREATOR_OP)  # alice creates the lobby and runs it
    from tests.helpers import connect_plain

    alice = await connected(server, "alice", "#lobby")
    carol = await connect_plain(server, "carol")
    clients.extend([alice, carol])
    alice.send("MODE #lobby +v carol")
    alice.send("PRIVMSG +#lobby :voiced people, hello")
    line = await carol.expect_text("voiced people")
    assert line == "[+#lobby] alice: voiced people, hello"
