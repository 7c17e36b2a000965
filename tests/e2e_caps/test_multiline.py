"""draft/multiline: client batches in, one message out (a batch, or separate lines)."""

from __future__ import annotations

from tests.e2e_caps.support import batches, capped, mask
from tests.helpers import commands, connect_plain, connected, sync

ML = ("batch", "draft/multiline")
BASE = ("message-tags", "server-time", "echo-message", "batch", "labeled-response")


def send_batch(client, target: str, *lines: str, ref: str = "1", opening_tags: str = "") -> None:
    client.send(f"{opening_tags}BATCH +{ref} draft/multiline {target}")
    for line in lines:
        client.send(line)
    client.send(f"BATCH -{ref}")


async def test_a_multiline_message_arrives_as_a_batch_or_as_lines(server, clients) -> None:
    alice = await capped(server, "alice", *BASE, "draft/multiline", channels=("#room",))
    bob = await capped(server, "bob", *BASE, "draft/multiline", channels=("#room",))
    carol = await capped(server, "carol", *BASE, channels=("#room",))
    clients.extend([alice, bob, carol])
    for client in (alice, bob, carol):
        await sync(client)  # past the JOINs of those who came after
    send_batch(
        alice, "#room",
        "@batch=1 PRIVMSG #room hello",
        "@batch=1 PRIVMSG #room :how is ",
        "@batch=1;draft/multiline-concat PRIVMSG #room :everyone?",
        opening_tags="@label=xyz;+draft/reply=abc ",
    )
    echo = await sync(alice)
    (echoed,) = batches(echo).values()
    assert echoed == echo  # the echo is exactly one batch, labeled on its opening line
    opening = echo[0]
    assert opening.params[1:] == ["draft/multiline", "#room"] and opening.source == mask("alice")
    assert opening.tags["label"] == "xyz" and opening.tags["+draft/reply"] == "abc"
    msgid, time = opening.tags["msgid"], opening.tags["time"]

    relay = await sync(bob)
    assert relay[0].command == "BATCH" and relay[0].tags["msgid"] == msgid and "label" not in relay[0].tags
    lines = relay[1:-1]
    assert [m.params for m in lines] == [["#room", "hello"], ["#room", "how is "], ["#room", "everyone?"]]
    assert all("msgid" not in m.tags and "time" not in m.tags for m in lines)
    assert "draft/multiline-concat" in lines[2].tags and "draft/multiline-concat" not in lines[1].tags
    assert relay[-1].params == ["-" + relay[0].params[0][1:]]
    assert relay[-1].source == mask("alice")  # the batch opens and closes with its sender

    fallback = await sync(carol)
    assert [m.params for m in fallback] == [["#room", "hello"], ["#room", "how is "], ["#room", "everyone?"]]
    assert [m.tags.get("msgid") for m in fallback] == [msgid, None, None]
    assert all(m.tags["time"] == time and m.tags["+draft/reply"] == "abc" for m in fallback)
    assert all("draft/multiline-concat" not in m.tags and "batch" not in m.tags for m in fallback)


async def test_blank_lines_are_kept_in_the_batch_and_dropped_from_the_fallback(server, clients) -> None:
    alice = await capped(server, "alice", *ML, channels=("#room",))
    bob = await capped(server, "bob", *ML, channels=("#room",))
    carol = await connected(server, "carol", "#room")
    clients.extend([alice, bob, carol])
    for client in (alice, bob, carol):
        await sync(client)
    send_batch(alice, "#room", "@batch=1 PRIVMSG #room :", "@batch=1 PRIVMSG #room :text")
    relay = await sync(bob)
    assert [m.params for m in relay[1:-1]] == [["#room", ""], ["#room", "text"]]
    assert [m.params for m in await sync(carol)] == [["#room", "text"]]
    assert commands(await sync(alice)) == []  # no echo without echo-message


async def test_multiline_to_a_nick_and_to_plain_users(server, clients) -> None:
    alice = await capped(server, "alice", *ML)
    person = await connect_plain(server, "person")
    clients.extend([alice, person])
    send_batch(alice, "person", "@batch=7 PRIVMSG person :line one", "@batch=7 PRIVMSG person :line two", ref="7")
    assert await person.expect_text(r"line one") == "[private] alice: line one"
    assert await person.expect_text(r"line two") == "[private] alice: line two"


async def test_multiline_limits_fail_at_once_and_drop_the_rest(make_server, clients) -> None:
    server = await make_server("limits.multiline_max_bytes=20", "limits.multiline_max_lines=3")
    alice = await capped(server, "alice", *ML, "labeled-response", channels=("#room",))
    bob = await capped(server, "bob", *ML, channels=("#room",))
    clients.extend([alice, bob])
    alice.send("@label=big BATCH +a draft/multiline #room")
    alice.send("@batch=a PRIVMSG #room :0123456789")
    alice.send("@batch=a PRIVMSG #room :0123456789")  # 10 + 1 (line feed) + 10 = 21 bytes
    fail = await alice.expect("FAIL")
    assert fail.params[:3] == ["BATCH", "MULTILINE_MAX_BYTES", "20"] and fail.tags == {"label": "big"}
    alice.send("@batch=a PRIVMSG #room :more")
    alice.send("BATCH -a")
    assert commands(await sync(alice)) == []
    alice.send("BATCH +b draft/multiline #room")
    for _ in range(4):
        alice.send("@batch=b PRIVMSG #room :x")
    fail = await alice.expect("FAIL")
    assert fail.params[:3] == ["BATCH", "MULTILINE_MAX_LINES", "3"]
    alice.send("BATCH -b")
    assert commands(await sync(alice)) == []
    assert "PRIVMSG" not in commands(await sync(bob))


async def test_concatenated_lines_count_no_line_feed(make_server, clients) -> None:
    server = await make_server("limits.multiline_max_bytes=20")
    alice = await capped(server, "alice", *ML, "echo-message", channels=("#room",))
    clients.append(alice)
    send_batch(
        alice, "#room",
        "@batch=1 PRIVMSG #room :0123456789",
        "@batch=1;draft/multiline-concat PRIVMSG #room :0123456789",
    )
    echo = await sync(alice)
    assert [m.params[-1] for m in echo if m.command == "PRIVMSG"] == ["0123456789", "0123456789"]


async def test_invalid_multiline_batches_are_refused(server, clients) -> None:
    alice = await capped(server, "alice", *ML, channels=("#room",))
    clients.append(alice)
    cases = [
        (["@batch=1 PRIVMSG #other :hi"], ["MULTILINE_INVALID_TARGET", "#room", "#other"]),
        (["@batch=2 PRIVMSG #room :hi"], ["MULTILINE_INVALID"]),  # a batch tag that is not ours
        (["@batch=1 PRIVMSG #room :hi", "@batch=1 NOTICE #room :there"], ["MULTILINE_INVALID"]),  # mixed
        (["@batch=1 NOTICE #room :hi", "@batch=1 PRIVMSG #room :there"], ["MULTILINE_INVALID"]),
        (["@batch=1 TAGMSG #room"], ["MULTILINE_INVALID"]),
        (["@batch=1 PRIVMSG #room :hi", "@batch=1;draft/multiline-concat PRIVMSG #room :"], ["MULTILINE_INVALID"]),
        (["@batch=1 PRIVMSG #room :", "@batch=1 PRIVMSG #room :"], ["MULTILINE_INVALID"]),  # all blank
        ([], ["MULTILINE_INVALID"]),  # empty
    ]
    for lines, expected in cases:
        send_batch(alice, "#room", *lines)
        replies = await sync(alice)
        assert commands(replies) == ["FAIL"], (lines, replies)
        assert replies[0].params[0] == "BATCH" and replies[0].params[1 : 1 + len(expected)] == expected


async def test_bad_batch_commands(server, clients) -> None:
    alice = await capped(server, "alice", *ML, channels=("#room",))
    without = await connected(server, "bob", "#room")
    clients.extend([alice, without])
    alice.send("BATCH -nothing")
    assert (await alice.expect("FAIL")).params[:2] == ["BATCH", "MULTILINE_INVALID"]
    alice.send("BATCH +x chathistory #room")
    assert (await alice.expect("FAIL")).params[:3] == ["BATCH", "INVALID_PARAMS", "chathistory"]
    alice.send("@batch=x PRIVMSG #room :swallowed with its refused batch")
    alice.send("BATCH -x")
    alice.send("BATCH +y draft/multiline")
    assert (await alice.expect("FAIL")).params[:2] == ["BATCH", "MULTILINE_INVALID"]
    alice.send("BATCH -y")
    alice.send("BATCH nonsense")
    assert (await alice.expect("FAIL")).params[:3] == ["BATCH", "INVALID_PARAMS", "nonsense"]
    alice.send("BATCH")
    assert (await alice.expect("461")).params[1] == "BATCH"
    without.send("BATCH +z draft/multiline #room")
    assert (await without.expect("FAIL")).params[:2] == ["BATCH", "MULTILINE_INVALID"]
    assert commands(await sync(alice)) == []
    assert commands(await sync(without)) == []


async def test_other_commands_still_work_while_a_batch_is_open(server, clients) -> None:
    alice = await capped(server, "alice", *ML, channels=("#room",))
    bob = await capped(server, "bob", *ML, channels=("#room",))
    clients.extend([alice, bob])
    await sync(bob)
    alice.send("BATCH +1 draft/multiline #room")
    alice.send("@batch=1 PRIVMSG #room :first")
    await sync(alice)  # PING/PONG between lines
    alice.send("@batch=1 PRIVMSG #room :second")
    alice.send("BATCH -1")
    relay = await sync(bob)
    assert [m.params[-1] for m in relay if m.command == "PRIVMSG"] == ["first", "second"]


async def test_multiline_errors_of_delivery_are_those_of_privmsg(server, clients) -> None:
    alice = await capped(server, "alice", *ML, "labeled-response")
    bob = await connected(server, "bob", "#closed")
    clients.extend([alice, bob])
    send_batch(alice, "nobody", "@batch=1 PRIVMSG nobody :hi", opening_tags="@label=e1 ")
    missing = await alice.expect("401")
    assert missing.params[1] == "nobody" and missing.tags == {"label": "e1"}
    send_batch(alice, "#closed", "@batch=1 PRIVMSG #closed :hi")
    assert (await alice.expect("404")).params[1] == "#closed"


async def test_lines_of_an_open_batch_are_not_flood_delayed(make_server, clients) -> None:
    """With a rate of one line per 100 s once the burst is spent on registering and opening, a 20-line batch would take
    half an hour if each line paid a flood token; it arrives within the wait bound."""
    server = await make_server("limits.flood_control=true", "limits.flood_burst=8", "limits.flood_rate=0.01")
    alice = await capped(server, "alice", *ML, channels=("#room",))
    bob = await connected(server, "bob", "#room")
    clients.extend([alice, bob])
    lines = [f"@batch=7 PRIVMSG #room :line {i}" for i in range(20)]
    send_batch(alice, "#room", *lines, ref="7")
    for i in range(20):
        msg = await bob.expect("PRIVMSG", "#room")
        assert msg.params[1] == f"line {i}"


async def test_a_batch_is_charged_its_lines_when_it_closes(make_server, clients) -> None:
    """Lines of a batch pass at once, but the batch costs a token per line it delivers:
    the sender's next line waits (here for ~1,600 s), so batches are no way around the
    flood rate. Without the charge, `after` would follow the batch at once (4 tokens left)."""
    server = await make_server("limits.flood_control=true", "limits.flood_burst=12", "limits.flood_rate=0.01")
    alice = await capped(server, "alice", *ML, channels=("#room",))  # 6 lines: 6 tokens
    bob = await connected(server, "bob", "#room")
    carol = await connected(server, "carol", "#room")
    clients.extend([alice, bob, carol])
    await sync(bob)
    lines = [f"@batch=7 PRIVMSG #room :line {i}" for i in range(20)]
    alice.send("".join(f"{line}\r\n" for line in ["BATCH +7 draft/multiline #room", *lines, "BATCH -7",
                                                     "PRIVMSG #room :after"]))  # one write: handled together
    for i in range(20):
        assert (await bob.expect("PRIVMSG", "#room")).params[1] == f"line {i}"
    carol.send("PRIVMSG #room :carol, sent once the batch had arrived")
    assert (await bob.expect("PRIVMSG", "#room")).params[1].startswith("carol")
    assert not [m for m in await sync(bob) if m.command == "PRIVMSG"]
    assert len(alice_gate(server).queue) == 1  # `after`, waiting for the debt to be repaid


def alice_gate(server):
    """The line gate of alice's connection, whose queue holds the lines waiting for tokens."""
    (conn,) = [conn for conn in server.services.connections() if conn.nick == "alice"]
    return conn.link.gate


async def test_a_refused_batch_does_not_lift_flood_control(make_server, clients) -> None:
    """Opening a batch that is refused must not make the client's other lines free."""
    server = await make_server("limits.flood_control=true", "limits.flood_burst=8", "limits.flood_rate=0.01")
    alice = await capped(server, "alice", *ML, channels=("#room",))  # 6 lines: 6 tokens
    clients.append(alice)
    alice.send("BATCH +zz nonsense")  # the 7th
    await alice.expect("FAIL", "BATCH")
    alice.send("".join(f"PING p{i}\r\n" for i in range(20)))  # one write: all queued together
    pong = await alice.expect("PONG")
    assert pong.params[-1] == "p0"  # the 8th token; the next comes in 100 s
    assert len(alice_gate(server).queue) == 19
