"""labeled-response: every command's reply carries the label once, whatever its shape."""

from __future__ import annotations

import re

from tests.e2e_caps.support import capped, mask
from tests.helpers import LineClient, connected, sync

LABELED = ("batch", "labeled-response")
BATCH_ID = re.compile(r"^[A-Za-z0-9-]+$")


async def reply_to(client: LineClient, line: str | bytes) -> list:
    """Everything the server sends `client` in answer to `line` (a PING after it marks the end)."""
    client.send(line)
    return await sync(client)


def assert_labeled_batch(messages, label: str) -> list:
    """`messages` are one labeled-response batch; its contents."""
    opening, *inside, closing = messages
    assert opening.command == "BATCH" and opening.tags == {"label": label}
    ref = opening.params[0][1:]
    assert opening.params == ["+" + ref, "labeled-response"] and BATCH_ID.match(ref)
    assert closing.command == "BATCH" and closing.params == ["-" + ref] and "label" not in closing.tags
    assert all(m.tags.get("batch") == ref and "label" not in m.tags for m in inside)
    return inside


async def test_a_one_line_reply_carries_the_label(server, clients) -> None:
    alice = await capped(server, "alice", *LABELED)
    clients.append(alice)
    (pong,) = await reply_to(alice, "@label=abc PING token")
    assert pong.command == "PONG" and pong.tags == {"label": "abc"} and pong.params[-1] == "token"


async def test_a_command_with_no_reply_gets_a_labeled_ack(server, clients) -> None:
    alice = await capped(server, "alice", *LABELED)
    clients.append(alice)
    (ack,) = await reply_to(alice, "@label=p1 PONG :whatever")
    assert (ack.command, ack.params, ack.tags, ack.source) == ("ACK", [], {"label": "p1"}, "hubbub.local")
    (ack,) = await reply_to(alice, "@label=n1 NOTICE nobody :notices get no errors")
    assert (ack.command, ack.tags) == ("ACK", {"label": "n1"})


async def test_errors_are_labeled_too(server, clients) -> None:
    alice = await capped(server, "alice", *LABELED)
    clients.append(alice)
    (unknown,) = await reply_to(alice, "@label=u1 FROBNICATE")
    assert unknown.command == "421" and unknown.tags == {"label": "u1"}
    (missing,) = await reply_to(alice, "@label=u2 PRIVMSG nobody :hi")
    assert missing.command == "401" and missing.tags == {"label": "u2"}
    (needmore,) = await reply_to(alice, "@label=u3 JOIN")
    assert needmore.command == "461" and needmore.tags == {"label": "u3"}
    (unknown,) = await reply_to(alice, "@label=u4 NOT_A_COMMAND")  # a command word, just not one we know
    assert (unknown.command, unknown.params[1], unknown.tags) == ("421", "NOT_A_COMMAND", {"label": "u4"})
    (fail,) = await reply_to(alice, "@label=u6 :src :NOT")  # not even IRC grammar
    assert (fail.command, fail.params[:2], fail.tags) == ("FAIL", ["*", "INVALID_MESSAGE"], {"label": "u6"})
    (fail,) = await reply_to(alice, b"@label=u5 PRIVMSG alice :caf\xe9")  # not UTF-8
    assert (fail.command, fail.params[:2], fail.tags) == ("FAIL", ["PRIVMSG", "INVALID_UTF8"], {"label": "u5"})


async def test_a_multi_line_reply_comes_in_a_labeled_batch(server, clients) -> None:
    alice = await capped(server, "alice", *LABELED)
    bob = await connected(server, "bob", "#room")
    clients.extend([alice, bob])
    inside = assert_labeled_batch(await reply_to(alice, "@label=w1 WHOIS bob"), "w1")
    assert [m.command for m in inside] == ["311", "319", "312", "317", "318"]


async def test_labeled_join_batches_the_join_echo_with_its_replies(server, clients) -> None:
    alice = await capped(server, "alice", *LABELED, "message-tags", "server-time")
    bob = await connected(server, "bob", "#room")
    clients.extend([alice, bob])
    inside = assert_labeled_batch(await reply_to(alice, "@label=j1 JOIN #room"), "j1")
    assert [m.command for m in inside] == ["JOIN", "353", "366"]
    join = inside[0]
    assert join.source == mask("alice") and {"msgid", "time", "batch"} <= set(join.tags)
    relayed = await bob.expect("JOIN")
    assert "label" not in relayed.tags and "batch" not in relayed.tags


async def test_the_echo_of_a_labeled_message_is_its_labeled_reply(server, clients) -> None:
    alice = await capped(server, "alice", *LABELED, "echo-message", "message-tags")
    bob = await capped(server, "bob", *LABELED, "message-tags")
    clients.extend([alice, bob])
    (echo,) = await reply_to(alice, "@label=m1;+draft/reply=x PRIVMSG bob :hi")
    assert echo.command == "PRIVMSG" and echo.tags["label"] == "m1" and echo.tags["+draft/reply"] == "x"
    delivered = await bob.expect("PRIVMSG")
    assert "label" not in delivered.tags and delivered.tags["msgid"] == echo.tags["msgid"]


async def test_a_message_to_several_targets_echoes_in_one_labeled_batch(server, clients) -> None:
    alice = await capped(server, "alice", *LABELED, "echo-message")
    bob = await connected(server, "bob")
    carol = await connected(server, "carol")
    clients.extend([alice, bob, carol])
    inside = assert_labeled_batch(await reply_to(alice, "@label=m2 PRIVMSG bob,carol,nobody :hi"), "m2")
    assert [(m.command, m.params[0]) for m in inside] == [("PRIVMSG", "bob"), ("PRIVMSG", "carol"), ("401", "alice")]
    for other in (bob, carol):
        assert (await other.expect("PRIVMSG")).tags == {}


async def test_a_labeled_message_to_oneself_is_labeled_once(server, clients) -> None:
    alice = await capped(server, "alice", *LABELED, "echo-message")
    clients.append(alice)
    replies = await reply_to(alice, "@label=s1 PRIVMSG alice :me")
    assert [m.command for m in replies] == ["PRIVMSG", "PRIVMSG"]
    assert [m.tags.get("label") for m in replies] == [None, "s1"]  # the delivery, then the echo
    without_echo = await capped(server, "bob", *LABELED)
    clients.append(without_echo)
    replies = await reply_to(without_echo, "@label=s2 PRIVMSG bob :me")
    assert [(m.command, m.tags.get("label")) for m in replies] == [("PRIVMSG", None), ("ACK", "s2")]


async def test_a_labeled_quit_gets_its_error_labeled(server, clients) -> None:
    alice = await capped(server, "alice", *LABELED)
    clients.append(alice)
    alice.send("@label=q1 QUIT :bye")
    error = await alice.expect("ERROR")
    assert error.tags == {"label": "q1"}
    assert await alice.closed() == []


async def test_labels_need_the_capability_and_a_short_value(server, clients) -> None:
    plain = await connected(server, "plain")
    no_batch = await capped(server, "nobatch", "labeled-response")  # its spec needs batch too
    alice = await capped(server, "alice", *LABELED)
    clients.extend([plain, no_batch, alice])
    for client in (plain, no_batch):
        (pong,) = await reply_to(client, "@label=abc PING x")
        assert pong.tags == {}
    (pong,) = await reply_to(alice, "@label=" + "x" * 65 + " PING x")  # over 64 bytes: not a label
    assert pong.tags == {}
    (pong,) = await reply_to(alice, "@label=" + "x" * 64 + " PING x")
    assert pong.tags == {"label": "x" * 64}


async def test_labels_work_during_registration(server, clients) -> None:
    client = await LineClient.connect(server)
    clients.append(client)
    client.send("CAP REQ :batch labeled-response")
    await client.expect("CAP", "*", "ACK")
    client.send("@label=r1 CAP LIST")
    listed = await client.expect("CAP")
    assert listed.tags == {"label": "r1"} and listed.params[1] == "LIST"
    client.send("@label=r2 NICK alice")
    assert (await client.expect("ACK")).tags == {"label": "r2"}
    client.send("CAP END")
    client.send("@label=r3 USER u 0 * :Alice")  # completes registration: the burst is its reply
    opening = await client.expect("BATCH")
    assert opening.tags == {"label": "r3"}
    burst = await client.collect_until("BATCH")
    assert [m.command for m in burst][:2] == ["001", "002"] and burst[-2].command == "376"
