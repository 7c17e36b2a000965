"""message-tags, message-ids and server-time: what tags relayed messages carry, for whom,
and TAGMSG."""

from __future__ import annotations

import re

from tests.e2e_caps.support import capped, mask
from tests.helpers import commands, connected, sync

TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


async def test_client_only_tags_reach_message_tags_clients_and_nobody_else(server, clients) -> None:
    alice = await capped(server, "alice", "message-tags", channels=("#room",))
    bob = await capped(server, "bob", "message-tags", "echo-message", channels=("#room",))
    carol = await connected(server, "carol", "#room")
    dave = await capped(server, "dave", "server-time", channels=("#room",))
    clients.extend([alice, bob, carol, dave])
    alice.send(r"@+example.com/icon=a\sb\:c;fizz=buzz;+draft/reply=x PRIVMSG #room :hi")
    got = await bob.expect("PRIVMSG")
    assert got.tags["+example.com/icon"] == "a b;c"
    assert got.tags["+draft/reply"] == "x"
    assert "fizz" not in got.tags  # a tag without '+' is the client's claim: never relayed
    assert set(got.tags) == {"msgid", "+example.com/icon", "+draft/reply"}
    raw_carol = await carol.expect("PRIVMSG")
    assert raw_carol.tags == {} and carol.raw[-1].startswith(":alice!")
    dave_msg = await dave.expect("PRIVMSG")
    assert set(dave_msg.tags) == {"time"}
    assert TIME.match(dave_msg.tags["time"])


async def test_client_only_tags_with_names_outside_the_grammar_are_dropped_and_the_message_goes_out(
    server, clients
) -> None:
    alice = await capped(server, "alice", "message-tags", channels=("#room",))
    bob = await capped(server, "bob", "message-tags", channels=("#room",))
    clients.extend([alice, bob])
    alice.send(r"@+k\ey=1;+é=2;+a_b=3;+ex!ample/x=4;+=5;+/x=6;+vendor.example/ok-1=7;+good=8 PRIVMSG #room :hi")
    got = await bob.expect("PRIVMSG")
    assert got.params == ["#room", "hi"]
    assert set(got.tags) == {"msgid", "+vendor.example/ok-1", "+good"}, got.tags
    alice.send(r"@+k\ey=1 TAGMSG #room")
    alice.send("@+typing=active TAGMSG #room")
    bare = await bob.expect("TAGMSG")
    assert set(bare.tags) == {"msgid"}  # the message still goes out, without the tag
    tagmsg = await bob.expect("TAGMSG")
    assert set(tagmsg.tags) == {"msgid", "+typing"}


async def test_msgid_is_one_per_message_and_the_same_for_everyone(server, clients) -> None:
    alice = await capped(server, "alice", "message-tags", "echo-message", channels=("#room",))
    bob = await capped(server, "bob", "message-tags", channels=("#room",))
    clients.extend([alice, bob])
    alice.send("PRIVMSG #room :one")
    echo = await alice.expect("PRIVMSG")
    delivered = await bob.expect("PRIVMSG")
    assert echo.tags["msgid"] == delivered.tags["msgid"]
    alice.send("PRIVMSG #room :two")
    assert (await bob.expect("PRIVMSG")).tags["msgid"] != delivered.tags["msgid"]


async def test_every_relayed_message_carries_msgid_and_time(server, clients) -> None:
    other = await connected(server, "other", "#room")  # the channel's op
    watcher = await capped(server, "watcher", "message-tags", "server-time", channels=("#room",))
    clients.extend([watcher, other])
    other.send("TOPIC #room :a topic")
    other.send("NOTICE #room :a notice")
    other.send("NICK renamed")
    other.send("PART #room :bye")
    other.send("JOIN #room")
    other.send("QUIT :gone")
    for command in ("TOPIC", "NOTICE", "NICK", "PART", "JOIN", "QUIT"):
        message = await watcher.expect(command)
        assert set(message.tags) >= {"msgid", "time"}, message
        assert TIME.match(message.tags["time"])


async def test_tags_a_client_sends_on_other_commands_are_not_relayed(server, clients) -> None:
    bob = await connected(server, "bob", "#room")
    alice = await capped(server, "alice", "message-tags", channels=("#room",))
    clients.extend([alice, bob])
    bob.send("@+example.com/x=1 TOPIC #room :topic with a tag")
    topic = await alice.expect("TOPIC")
    assert "+example.com/x" not in topic.tags


async def test_tagmsg_reaches_only_message_tags_clients(server, clients) -> None:
    alice = await capped(server, "alice", "message-tags", "echo-message", channels=("#room",))
    bob = await capped(server, "bob", "message-tags", channels=("#room",))
    carol = await connected(server, "carol", "#room")
    dave = await capped(server, "dave", "server-time", channels=("#room",))
    clients.extend([alice, bob, carol, dave])
    alice.send("@+typing=active;label-less TAGMSG #room")
    echo = await alice.expect("TAGMSG")
    relayed = await bob.expect("TAGMSG")
    assert relayed.params == ["#room"] and relayed.source == mask("alice")
    assert relayed.tags["+typing"] == "active" and "label-less" not in relayed.tags
    assert echo.tags["msgid"] == relayed.tags["msgid"]
    assert "TAGMSG" not in [m.command for m in await sync(carol)]
    assert "TAGMSG" not in [m.command for m in await sync(dave)]


async def test_tagmsg_to_a_nick(server, clients) -> None:
    alice = await connected(server, "alice")
    bob = await capped(server, "bob", "message-tags")
    carol = await connected(server, "carol")
    clients.extend([alice, bob, carol])
    alice.send("@+draft/react=👍 TAGMSG bob")
    got = await bob.expect("TAGMSG")
    assert got.params == ["bob"] and got.tags["+draft/react"] == "👍"
    bob.send("@+draft/react=👍 TAGMSG carol")  # carol cannot receive it: nothing, no error
    assert [m.command for m in await sync(bob)] == []
    assert [m.command for m in await sync(carol)] == []


async def test_tagmsg_errors_are_those_of_privmsg(server, clients) -> None:
    alice = await capped(server, "alice", "message-tags")
    bob = await connected(server, "bob", "#closed")
    clients.extend([alice, bob])
    alice.send("TAGMSG")
    assert (await alice.expect("411")).params == ["alice", "No recipient given (TAGMSG)"]
    alice.send("TAGMSG nobody")
    assert (await alice.expect("401")).params[:2] == ["alice", "nobody"]
    alice.send("TAGMSG #nowhere")
    assert (await alice.expect("403")).params[:2] == ["alice", "#nowhere"]
    alice.send("TAGMSG #closed")  # +n: outsiders may not send there
    assert (await alice.expect("404")).params[:2] == ["alice", "#closed"]
    alice.send("TAGMSG a,b,c,d,e")
    assert (await alice.expect("407")).params[1] == "a,b,c,d,e"


async def test_a_message_to_oneself_with_echo_message_arrives_as_delivery_and_echo(server, clients) -> None:
    alice = await capped(server, "alice", "echo-message", "message-tags")
    clients.append(alice)
    alice.send("PRIVMSG alice :note to self")
    first = await alice.expect("PRIVMSG")
    second = await alice.expect("PRIVMSG")
    assert first.params == second.params == ["alice", "note to self"]
    assert first.tags["msgid"] == second.tags["msgid"]


async def test_client_tags_past_the_spec_limit_are_refused_not_relayed(server, clients) -> None:
    alice = await capped(server, "alice", "message-tags", "echo-message", channels=("#room",))
    bob = await capped(server, "bob", "message-tags", channels=("#room",))
    clients.extend([alice, bob])
    await sync(alice)
    at_limit = "@foo=bar;+baz=%s TAGMSG #room" % ("a" * 4081)  # 4094 bytes of tag data
    alice.send(at_limit)
    assert (await bob.expect("TAGMSG")).tags["+baz"] == "a" * 4081
    assert (await alice.expect("TAGMSG")).tags["+baz"] == "a" * 4081
    alice.send("@foo=bar;+baz=%s PRIVMSG #room :hi" % ("a" * 4082))  # one byte more
    assert (await alice.expect("417")).params == ["alice", "Input line was too long"]
    assert commands(await sync(bob)) == []
    assert commands(await sync(alice)) == []
