"""draft/multiline batches of NOTICE lines: "Multiline batches MUST only contain one or
more PRIVMSG lines, or one or more NOTICE lines" (ircv3-specifications
extensions/multiline.md). Such a batch goes out as PRIVMSG batches do (a batch to
clients with the capability, NOTICE lines to the others, the echo labeled), and stays a
NOTICE everywhere: no automatic reply answers it (no 301, no error numeric). A mix of
PRIVMSG and NOTICE is refused: test_ircv3_round2.py and test_multiline.py."""

from __future__ import annotations

from hubbub.irc.message import Message
from tests.e2e_caps.support import batches, capped, mask
from tests.helpers import LineClient, commands, connect_plain, connected, sync

ML = ("batch", "draft/multiline")
BASE = ("message-tags", "server-time", "echo-message", "batch", "labeled-response")
CONCAT = "draft/multiline-concat"


def send_notices(client: LineClient, target: str, *texts: str, ref: str = "n", tags: str = "") -> None:
    """A draft/multiline batch of NOTICE `texts` to `target` (a text starting with `;` is
    sent with draft/multiline-concat); `tags` (with its '@' and trailing space) on BATCH +."""
    client.send(f"{tags}BATCH +{ref} draft/multiline {target}")
    for text in texts:
        concat = ";" + CONCAT if text.startswith(";") else ""
        client.send(f"@batch={ref}{concat} NOTICE {target} :{text.removeprefix(';')}")
    client.send(f"BATCH -{ref}")


async def next_batch(client: LineClient) -> list[Message]:
    """What `client` receives up to the end of the next batch (its closing line included)."""
    return await client.collect_until(lambda m: m.command == "BATCH" and m.params[0][:1] == "-")


async def until_text(client: LineClient, text: str) -> list[Message]:
    """What `client` receives up to the NOTICE saying `text`."""
    return await client.collect_until(lambda m: m.command == "NOTICE" and m.params[-1] == text)


async def test_a_notice_batch_arrives_as_a_batch_of_notices_or_as_notices(server, clients) -> None:
    alice = await capped(server, "alice", *BASE, "draft/multiline", channels=("#room",))
    bob = await capped(server, "bob", *BASE, "draft/multiline", channels=("#room",))
    carol = await capped(server, "carol", *BASE, channels=("#room",))
    dave = await connected(server, "dave", "#room")  # no capability at all
    clients.extend([alice, bob, carol, dave])
    for client in (alice, bob, carol, dave):
        await sync(client)
    send_notices(alice, "#room", "build 42 failed:", "", "test_a ", ";and test_b", tags="@label=n1;+draft/reply=abc ")

    echo = await sync(alice)
    (echoed,) = batches(echo).values()
    assert echoed == echo  # the echo is one batch, labeled on its opening line
    opening = echo[0]
    assert opening.params[1:] == ["draft/multiline", "#room"] and opening.source == mask("alice")
    assert opening.tags["label"] == "n1" and opening.tags["+draft/reply"] == "abc"
    assert commands(echo[1:-1]) == ["NOTICE"] * 4
    msgid, time = opening.tags["msgid"], opening.tags["time"]

    relay = await next_batch(bob)
    assert relay[0].command == "BATCH" and relay[0].tags["msgid"] == msgid and "label" not in relay[0].tags
    lines = relay[1:-1]
    assert [(m.command, m.params) for m in lines] == [
        ("NOTICE", ["#room", "build 42 failed:"]), ("NOTICE", ["#room", ""]),
        ("NOTICE", ["#room", "test_a "]), ("NOTICE", ["#room", "and test_b"]),
    ]  # fmt: skip
    assert [CONCAT in m.tags for m in lines] == [False, False, False, True]
    assert relay[-1].params == ["-" + relay[0].params[0][1:]]

    fallback = await until_text(carol, "and test_b")  # the lines alone, blank ones left out, the msgid on the first
    assert [(m.command, m.params) for m in fallback] == [
        ("NOTICE", ["#room", "build 42 failed:"]), ("NOTICE", ["#room", "test_a "]),
        ("NOTICE", ["#room", "and test_b"]),
    ]  # fmt: skip
    assert [m.tags.get("msgid") for m in fallback] == [msgid, None, None]
    assert all(m.tags["time"] == time and m.tags["+draft/reply"] == "abc" for m in fallback)
    assert all(CONCAT not in m.tags and "batch" not in m.tags for m in fallback)
    bare = await until_text(dave, "and test_b")
    assert [(m.command, m.params, m.tags) for m in bare] == [
        ("NOTICE", ["#room", "build 42 failed:"], {}), ("NOTICE", ["#room", "test_a "], {}),
        ("NOTICE", ["#room", "and test_b"], {}),
    ]  # fmt: skip


async def test_a_notice_batch_to_a_nick_and_to_a_plain_user(server, clients) -> None:
    alice = await capped(server, "alice", *ML)
    bob = await capped(server, "bob", *ML)
    person = await connect_plain(server, "person")
    clients.extend([alice, bob, person])
    send_notices(alice, "bob", "one", "two")
    relay = await next_batch(bob)
    assert relay[0].params[1:] == ["draft/multiline", "bob"]
    assert [(m.command, m.params) for m in relay[1:-1]] == [("NOTICE", ["bob", "one"]), ("NOTICE", ["bob", "two"])]
    send_notices(alice, "person", "line one", "line two", ref="p")
    assert await person.expect_text(r"line one") == "[private] -alice- line one"  # a notice, as a person reads one
    assert await person.expect_text(r"line two") == "[private] -alice- line two"


async def test_a_notice_batch_to_someone_away_is_not_answered_with_301(server, clients) -> None:
    alice = await capped(server, "alice", *ML, "labeled-response")
    bob = await capped(server, "bob", *ML)
    clients.extend([alice, bob])
    bob.send("AWAY :gone fishing")
    await bob.expect("306")
    send_notices(alice, "bob", "are you there?", "ping me", tags="@label=a1 ")
    assert [(m.command, m.tags) for m in await sync(alice)] == [("ACK", {"label": "a1"})]
    assert commands((await next_batch(bob))[1:-1]) == ["NOTICE", "NOTICE"]
    # a PRIVMSG batch, by contrast, is told that bob is away
    alice.send("@label=a2 BATCH +p draft/multiline bob")
    alice.send("@batch=p PRIVMSG bob :are you there?")
    alice.send("BATCH -p")
    away = await sync(alice)
    assert [(m.command, m.params[1:], m.tags) for m in away] == [("301", ["bob", "gone fishing"], {"label": "a2"})]


async def test_a_notice_batch_that_cannot_be_delivered_gets_no_error(server, clients) -> None:
    """RFC 1459: no automatic reply, not even an error, may answer a NOTICE. The FAILs
    about the batch itself (its target, its lines, its size) are still sent."""
    alice = await capped(server, "alice", *ML, "labeled-response", channels=("#quiet",))
    bob = await connected(server, "bob", "#closed")  # +n: alice is not in it
    clients.extend([alice, bob])
    alice.send("MODE #quiet +T")  # no NOTICE to the channel: alice, its op, may still send one
    await alice.expect("MODE", "#quiet", "+T")
    carol = await capped(server, "carol", *ML, channels=("#quiet",))
    clients.append(carol)
    await sync(alice)  # past carol's JOIN
    for i, target in enumerate(["nobody", "#nowhere", "#closed", "#quiet", "@#closed"]):
        sender = carol if target == "#quiet" else alice
        send_notices(sender, target, "hello", "there", tags=f"@label=e{i} ")
        replies = await sync(sender)
        assert [m.command for m in replies] == (["ACK"] if sender is alice else []), (target, replies)
    assert commands(await sync(bob)) == []
    assert "NOTICE" not in commands(await sync(alice))  # carol's notice to #quiet did not get through
    # the same with PRIVMSG: the errors are there
    alice.send("BATCH +p draft/multiline nobody")
    alice.send("@batch=p PRIVMSG nobody :hi")
    alice.send("BATCH -p")
    assert commands(await sync(alice)) == ["401"]
    # what is wrong with the batch itself is said, NOTICE or not
    alice.send("BATCH +t draft/multiline #quiet")
    alice.send("@batch=t NOTICE #elsewhere :hi")
    alice.send("BATCH -t")
    (fail,) = await sync(alice)
    assert fail.command == "FAIL" and fail.params[:4] == ["BATCH", "MULTILINE_INVALID_TARGET", "#quiet", "#elsewhere"]


async def test_a_notice_batch_refused_by_plus_c_gets_no_error(server, clients) -> None:
    """+C (no CTCP but ACTION) binds a NOTICE batch as it binds a NOTICE: refused, silently."""
    alice = await capped(server, "alice", *ML, channels=("#c",))
    bob = await capped(server, "bob", *ML, channels=("#c",))
    clients.extend([alice, bob])
    alice.send("MODE #c +C")
    await alice.expect("MODE", "#c", "+C")
    await sync(bob)
    send_notices(bob, "#c", "\x01PING 1\x01", "x")
    assert commands(await sync(bob)) == []
    assert commands(await sync(alice)) == []
    send_notices(bob, "#c", "fine", "x")  # the channel takes notices without CTCP
    assert commands((await next_batch(alice))[1:-1]) == ["NOTICE", "NOTICE"]
