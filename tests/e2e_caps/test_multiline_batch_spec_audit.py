"""Spec audit of draft/multiline in combination: with labels (labeled-response), echo-message,
STATUSMSG, bot mode, account-tag, server-time and the message-tags size limit; batches left
open, refused, or reused; what clients without draft/multiline (or without batch) receive.

Black box over real sockets. What test_multiline.py, test_labeled_response.py,
test_ircv3_round2.py and test_spec_more.py already check is not repeated here.
Specifications: ircv3-specifications extensions/multiline.md, batch.md,
labeled-response.md, echo-message.md, message-tags.md, bot-mode.md, server-time.md.
"""

from __future__ import annotations

import re

from tests.e2e_caps.support import batches, capped, mask
from tests.helpers import LineClient, cap_ls, commands, connected, sync

ML = ("batch", "draft/multiline")
LABELED = ("batch", "labeled-response")
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
CONCAT = "draft/multiline-concat"

_said = 0


def send_batch(client: LineClient, target: str, *texts: str, ref: str = "1", tags: str = "") -> None:
    """A draft/multiline batch of PRIVMSG `texts` to `target` (a text starting with `;` is
    sent with draft/multiline-concat); `tags` (with its '@' and trailing space) on BATCH +."""
    client.send(f"{tags}BATCH +{ref} draft/multiline {target}")
    for text in texts:
        concat = ";" + CONCAT if text.startswith(";") else ""
        client.send(f"@batch={ref}{concat} PRIVMSG {target} :{text.removeprefix(';')}")
    client.send(f"BATCH -{ref}")


async def reply_to(client: LineClient, line: str | bytes) -> list:
    client.send(line)
    return await sync(client)


def over(key: str) -> str:
    """A tag `key=value` that alone makes 4095 bytes of tag data: one past the client limit."""
    return f"{key}=" + "v" * (4095 - len(key) - 1)


def texts(messages: list) -> list[str]:
    return [m.params[-1] for m in messages if m.command == "PRIVMSG"]


def labels(messages: list) -> list[str]:
    return [m.tags["label"] for m in messages if "label" in m.tags]


async def still_works(sender: LineClient, receiver: LineClient, channel: str = "#room") -> None:
    """After bad input, the sender's connection still carries an ordinary message."""
    global _said
    _said += 1
    text = f"still here {_said}"
    sender.send(f"PRIVMSG {channel} :{text}")
    got = await receiver.expect("PRIVMSG", channel)
    assert got.params[-1] == text, got
    await sync(sender)


# -- labels on multiline batches --------------------------------------------------------------


async def test_each_refusal_of_a_labeled_batch_carries_its_label_when_it_happens(server, clients) -> None:
    # labeled-response: the label goes on "any response produced from this message";
    # multiline: FAIL BATCH MULTILINE_INVALID / MULTILINE_INVALID_TARGET; batch: the type is
    # opaque, an unknown one is refused (hubbub: INVALID_PARAMS <type>).
    alice = await capped(server, "alice", *LABELED, "draft/multiline", "echo-message", channels=("#room",))
    bob = await capped(server, "bob", *ML, channels=("#room",))
    clients.extend([alice, bob])
    await sync(alice)
    cases = [
        # refused as it opens
        (["@label=t1 BATCH +1 example.com/other #room", "@batch=1 PRIVMSG #room :x", "BATCH -1"],
         ["BATCH", "INVALID_PARAMS", "example.com/other"]),
        # refused when it closes: nothing in it
        (["@label=t2 BATCH +1 draft/multiline #room", "BATCH -1"], ["BATCH", "MULTILINE_INVALID"]),
        # refused at a TAGMSG line
        (["@label=t3 BATCH +1 draft/multiline #room", "@batch=1 PRIVMSG #room :x", "@batch=1 TAGMSG #room",
          "@batch=1 PRIVMSG #room :y", "BATCH -1"], ["BATCH", "MULTILINE_INVALID"]),
        # a STATUSMSG batch whose line names the whole channel is another target
        (["@label=t4 BATCH +1 draft/multiline @#room", "@batch=1 PRIVMSG #room :x", "BATCH -1"],
         ["BATCH", "MULTILINE_INVALID_TARGET", "@#room", "#room"]),
    ]  # fmt: skip
    for lines, expected in cases:
        label = lines[0].split()[0].removeprefix("@label=")
        for line in lines:
            alice.send(line)
        got = await sync(alice)
        assert commands(got) == ["FAIL"], (lines, got)
        assert got[0].params[: len(expected)] == expected and got[0].tags == {"label": label}, got
        assert commands(await sync(bob)) == []
        await still_works(alice, bob)


async def test_a_batch_stays_open_across_other_labeled_commands_and_keeps_its_own_label(server, clients) -> None:
    # The opening line's label goes on the echo's BATCH when the batch ends (multiline:
    # "Servers MUST only include the label tag on the opening BATCH command"), while PING
    # and NICK sent in between are answered at once with theirs: each label exactly once.
    alice = await capped(server, "alice", *LABELED, "draft/multiline", "echo-message", channels=("#room",))
    bob = await capped(server, "bob", *ML, channels=("#room",))
    clients.extend([alice, bob])
    await sync(alice)
    alice.send("@label=open BATCH +m draft/multiline #room")
    alice.send("@batch=m PRIVMSG #room :one")
    alice.send("@label=ping PING :between")
    alice.send("@label=nick NICK alicia")
    alice.send("@batch=m PRIVMSG #room :two")
    alice.send("BATCH -m")
    got = await sync(alice)
    assert labels(got) == ["ping", "nick", "open"]
    assert [m.command for m in got if "label" in m.tags] == ["PONG", "NICK", "BATCH"]
    (echo,) = batches(got).values()
    assert echo[0].tags["label"] == "open" and echo[0].source == mask("alicia")
    assert texts(echo) == ["one", "two"]
    relayed = await sync(bob)
    assert commands(relayed)[0] == "NICK"
    (delivered,) = batches(relayed).values()
    assert delivered[0].source == mask("alicia") and texts(delivered) == ["one", "two"]
    assert "label" not in delivered[0].tags


async def test_a_sender_parting_while_its_batch_is_open_gets_the_refusal_a_privmsg_would(server, clients) -> None:
    alice = await capped(server, "alice", *LABELED, "draft/multiline", "echo-message", channels=("#room",))
    bob = await capped(server, "bob", *ML, channels=("#room",))
    clients.extend([alice, bob])
    await sync(alice)
    alice.send("@label=open BATCH +m draft/multiline #room")
    alice.send("@batch=m PRIVMSG #room :one")
    alice.send("@label=part PART #room")
    alice.send("@batch=m PRIVMSG #room :two")
    alice.send("BATCH -m")
    got = await sync(alice)
    assert [(m.command, m.tags.get("label")) for m in got] == [("PART", "part"), ("404", "open")]
    assert commands(await sync(bob)) == ["PART"]
    alice.send("JOIN #room")
    await alice.expect("366")
    await still_works(alice, bob)


async def test_a_multiline_message_to_oneself_without_echo_is_delivered_then_acked(server, clients) -> None:
    # labeled-response: to oneself, no label on the delivery; with nothing else to say, ACK.
    alice = await capped(server, "alice", *LABELED, "draft/multiline", "message-tags")
    clients.append(alice)
    send_batch(alice, "alice", "one", ";two", tags="@label=me ")
    got = await sync(alice)
    (delivered,) = batches(got).values()
    assert delivered == got[:-1] and texts(delivered) == ["one", "two"]
    assert "label" not in delivered[0].tags and "msgid" in delivered[0].tags
    assert (got[-1].command, got[-1].tags) == ("ACK", {"label": "me"})


async def test_labels_are_counted_in_bytes_and_an_overlong_one_on_a_batch_is_just_not_repeated(server, clients) -> None:
    # labeled-response: "The value MUST NOT exceed 64 bytes"; "opaque identifier".
    alice = await capped(server, "alice", *LABELED, "draft/multiline", "echo-message", channels=("#room",))
    bob = await capped(server, "bob", *ML, channels=("#room",))
    clients.extend([alice, bob])
    await sync(alice)
    (pong,) = await reply_to(alice, "@label=" + "😀" * 16 + " PING a")  # 64 bytes
    assert pong.tags == {"label": "😀" * 16}
    (pong,) = await reply_to(alice, "@label=" + "😀" * 17 + " PING b")  # 17 characters, 68 bytes
    assert pong.tags == {}
    (pong,) = await reply_to(alice, r"@label=a\sb\:c PING c")
    assert pong.tags == {"label": "a b;c"} and alice.raw[-2].startswith(r"@label=a\sb\:c ")
    send_batch(alice, "#room", "one", "two", tags="@label=" + "x" * 65 + " ")
    (echo,) = batches(await sync(alice)).values()
    assert "label" not in echo[0].tags and texts(echo) == ["one", "two"]
    assert texts(await sync(bob)) == ["one", "two"]


async def test_labeled_commands_with_nothing_to_say_get_an_ack(server, clients) -> None:
    # labeled-response: "Servers MUST respond with a labeled ACK message when a client sends
    # a labeled command that normally produces no response." (cases the other files leave out)
    alice = await capped(server, "alice", *LABELED, "draft/multiline", channels=("#room",))
    bob = await connected(server, "bob", "#room")
    clients.extend([alice, bob])
    await sync(alice)
    for line in ("SETNAME :New Name", "CAP END", "PRIVMSG #room :hi", "NOTICE #room :hi", "MODE alice -B"):
        (ack,) = await reply_to(alice, f"@label=k1 {line}")
        assert (ack.command, ack.params, ack.tags) == ("ACK", [], {"label": "k1"}), line
    alice.send("BATCH +r unknown/type #room")  # refused: the batch is swallowed until it closes
    await alice.expect("FAIL")
    alice.send("@batch=r PRIVMSG #room :swallowed")
    (ack,) = await reply_to(alice, "@label=k2 BATCH -r")
    assert (ack.command, ack.tags) == ("ACK", {"label": "k2"})
    assert texts(await sync(bob)) == ["hi"]


# -- TAGMSG in labeled responses -----------------------------------------------------------------


async def test_labeled_tagmsg_to_oneself_a_status_target_and_nobody(server, clients) -> None:
    # message-tags: TAGMSG is delivered like PRIVMSG (echo-message, STATUSMSG);
    # labeled-response: to oneself, only the echo is labeled.
    alice = await capped(server, "alice", *LABELED, "echo-message", "message-tags", "draft/multiline",
                         channels=("#room",))  # fmt: skip
    bob = await capped(server, "bob", "message-tags", channels=("#room",))
    clients.extend([alice, bob])
    await sync(alice)
    got = await reply_to(alice, "@label=ts;+typing=active TAGMSG alice")
    assert [(m.command, m.tags.get("label")) for m in got] == [("TAGMSG", None), ("TAGMSG", "ts")]
    assert got[0].tags["msgid"] == got[1].tags["msgid"] and all(m.tags["+typing"] == "active" for m in got)
    (echo,) = await reply_to(alice, "@label=st;+typing=paused TAGMSG @#room")
    assert (echo.command, echo.params, echo.tags["label"]) == ("TAGMSG", ["@#room"], "st")
    assert echo.tags["+typing"] == "paused"
    (missing,) = await reply_to(alice, "@label=nb;+typing=active TAGMSG nobody")
    assert (missing.command, missing.params[1], missing.tags) == ("401", "nobody", {"label": "nb"})
    # a TAGMSG (no batch tag) while a multiline batch is open is an ordinary command
    alice.send("BATCH +m draft/multiline #room")
    alice.send("@batch=m PRIVMSG #room :text")
    (echo,) = await reply_to(alice, "@label=in;+typing=active TAGMSG #room")
    assert (echo.command, echo.tags["label"]) == ("TAGMSG", "in")
    alice.send("BATCH -m")
    (echoed,) = batches(await sync(alice)).values()
    assert texts(echoed) == ["text"]
    relayed = await sync(bob)
    # not the TAGMSG to @#room (bob is no op); the batch as a line (bob has no draft/multiline)
    assert [(m.command, m.params) for m in relayed] == [("TAGMSG", ["#room"]), ("PRIVMSG", ["#room", "text"])]


# -- batches left open, reopened, reused ------------------------------------------------------


async def test_a_batch_left_open_by_a_quit_or_a_dropped_connection_reaches_nobody(server, clients) -> None:
    # multiline: servers "wait until the full batch has been received before processing".
    alice = await capped(server, "alice", *LABELED, "draft/multiline", "echo-message", channels=("#room",))
    carol = await capped(server, "carol", *ML, channels=("#room",))
    bob = await capped(server, "bob", *ML, "message-tags", channels=("#room",))
    dave = await connected(server, "dave", "#room")
    clients.extend([alice, carol, bob, dave])
    await sync(bob)
    await sync(dave)
    alice.send("@label=open BATCH +q draft/multiline #room")
    alice.send("@batch=q PRIVMSG #room :never sent")
    alice.send("@label=bye QUIT :leaving mid-batch")
    error = await alice.expect("ERROR")
    assert error.tags == {"label": "bye"}
    assert [line for line in await alice.closed() if "never sent" in line] == []
    carol.send("BATCH +d draft/multiline #room")
    carol.send("@batch=d PRIVMSG #room :never sent either")
    await sync(carol)
    await carol.close()
    for receiver in (bob, dave):
        await receiver.expect(lambda m: m.command == "QUIT" and m.source.startswith("carol!"))
        seen = receiver.received
        assert [m.source.split("!")[0] for m in seen if m.command == "QUIT"][-2:] == ["alice", "carol"]
        assert not [m for m in seen if m.command in ("PRIVMSG", "BATCH")]
    await still_works(dave, bob)


async def test_ordinary_messages_sent_while_a_batch_is_open_go_out_at_once_the_batch_when_it_closes(
    server, clients
) -> None:
    alice = await capped(server, "alice", *ML, "echo-message", channels=("#room",))
    bob = await capped(server, "bob", *ML, channels=("#room",))
    carol = await connected(server, "carol", "#room")
    clients.extend([alice, bob, carol])
    for client in (alice, bob):
        await sync(client)
    alice.send("BATCH +m draft/multiline #room")
    alice.send("@batch=m PRIVMSG #room :one")
    alice.send("PRIVMSG #room :in between")
    alice.send("NOTICE #room :a notice")
    alice.send("@batch=m PRIVMSG #room :two")
    alice.send("BATCH -m")
    relayed = await sync(bob)
    assert [(m.command, m.params[-1]) for m in relayed[:2]] == [("PRIVMSG", "in between"), ("NOTICE", "a notice")]
    (batch,) = batches(relayed[2:]).values()
    assert batch == relayed[2:] and texts(batch) == ["one", "two"]
    assert [(m.command, m.params[-1]) for m in await sync(carol)] == [
        ("PRIVMSG", "in between"), ("NOTICE", "a notice"), ("PRIVMSG", "one"), ("PRIVMSG", "two"),
    ]  # fmt: skip


async def test_a_reference_reopened_while_open_refuses_it_and_can_be_used_again_after(server, clients) -> None:
    # batch: the reference identifies one batch; a second `BATCH +ref` while it is open
    # is refused (hubbub: both dropped), and the reference is free again once closed.
    alice = await capped(server, "alice", *ML, "echo-message", channels=("#room",))
    bob = await capped(server, "bob", *ML, channels=("#room",))
    clients.extend([alice, bob])
    await sync(alice)
    alice.send("BATCH +3 draft/multiline #room")
    alice.send("@batch=3 PRIVMSG #room :one")
    alice.send("BATCH +3 draft/multiline #room")
    alice.send("@batch=3 PRIVMSG #room :two")
    alice.send("BATCH -3")
    got = await sync(alice)
    assert commands(got) == ["FAIL"] and got[0].params[:2] == ["BATCH", "MULTILINE_INVALID"]
    assert commands(await sync(bob)) == []
    alice.send("BATCH -3")  # nothing open by that name any more
    assert [m.params[:2] for m in await sync(alice)] == [["BATCH", "MULTILINE_INVALID"]]
    for round_ in ("first", "second"):  # the same reference twice in a row
        send_batch(alice, "#room", round_, "again", ref="3")
        (echo,) = batches(await sync(alice)).values()
        assert texts(echo) == [round_, "again"]
        (delivered,) = batches(await sync(bob)).values()
        assert texts(delivered) == [round_, "again"]


# -- limits ----------------------------------------------------------------------------------


async def test_blank_lines_count_as_lines_and_their_line_feeds_as_bytes(make_server, clients) -> None:
    # multiline: max-lines is "the maximum allowed number of lines in a multiline batch";
    # "Each line feed used to join line messages contributes one byte towards max-bytes".
    server = await make_server("limits.multiline_max_bytes=6", "limits.multiline_max_lines=3")
    alice = await capped(server, "alice", *ML, "echo-message", channels=("#room",))
    bob = await capped(server, "bob", *ML, channels=("#room",))
    clients.extend([alice, bob])
    await sync(alice)
    refused = [
        (["", "x", "", ""], ["MULTILINE_MAX_LINES", "3"]),  # four lines, three blank
        (["abc", "", "de"], ["MULTILINE_MAX_BYTES", "6"]),  # 3 + 1 + 0 + 1 + 2 = 7
        (["", "", "", "x"], ["MULTILINE_MAX_LINES", "3"]),
    ]
    for lines, expected in refused:
        send_batch(alice, "#room", *lines)
        got = await sync(alice)
        assert commands(got) == ["FAIL"] and got[0].params[1:3] == expected, (lines, got)
    assert commands(await sync(bob)) == []
    send_batch(alice, "#room", "abc", "", "d")  # 3 + 1 + 0 + 1 + 1 = 6: fits
    (echo,) = batches(await sync(alice)).values()
    assert texts(echo) == ["abc", "", "d"]
    (delivered,) = batches(await sync(bob)).values()
    assert texts(delivered) == ["abc", "", "d"]


async def test_the_advertised_default_limits_are_exactly_the_enforced_ones(server, clients) -> None:
    client = await LineClient.connect(server)
    clients.append(client)
    _, offered = await cap_ls(client)
    values = dict(token.split("=") for token in offered["draft/multiline"].split(","))
    max_bytes, max_lines = int(values["max-bytes"]), int(values["max-lines"])
    assert (max_bytes, max_lines) == (4096, 100)
    alice = await capped(server, "alice", *ML, "echo-message", channels=("#room",))
    bob = await connected(server, "bob", "#room")
    clients.extend([alice, bob])
    await sync(alice)
    # ten lines: nine line feeds and 4087 bytes of text make exactly max-bytes
    full = ["a" * 409] * 9 + ["b" * 406]
    send_batch(alice, "#room", *full)
    assert texts(await sync(alice)) == full
    assert texts(await sync(bob)) == full
    send_batch(alice, "#room", *full[:-1], "b" * 407)
    got = await sync(alice)
    assert commands(got) == ["FAIL"] and got[0].params[1:3] == ["MULTILINE_MAX_BYTES", str(max_bytes)]
    send_batch(alice, "#room", *["x"] * max_lines)
    assert len(texts(await sync(alice))) == max_lines
    send_batch(alice, "#room", *["x"] * (max_lines + 1))
    got = await sync(alice)
    assert commands(got) == ["FAIL"] and got[0].params[1:3] == ["MULTILINE_MAX_LINES", str(max_lines)]
    assert len(texts(await sync(bob))) == max_lines
    await still_works(alice, bob)


async def test_lines_split_as_the_spec_recommends_arrive_whole_in_either_form(server, clients) -> None:
    # multiline, "Splitting long lines": 512 - 14 - 10 - nick - user - host - channel bytes a
    # line, the space kept at the end of a line before a concatenated one.
    alice = await capped(server, "alice", *ML, "echo-message", channels=("#room",))
    bob = await capped(server, "bob", *ML, channels=("#room",))
    carol = await connected(server, "carol", "#room")
    clients.extend([alice, bob, carol])
    for client in (alice, bob):
        await sync(client)
    room = 512 - 14 - 10 - len("alice") - len("~u") - len("127.0.0.1") - len("#room")
    first = ("word " * 200)[: room - 1] + " "  # the space ends the line before the concatenated one
    second = "é" * (room // 2)  # two bytes a character, none split
    assert len(first.encode()) == room and len(second.encode()) == room - room % 2
    send_batch(alice, "#room", first, ";" + second)
    (echo,) = batches(await sync(alice)).values()
    assert texts(echo) == [first, second] and CONCAT in echo[2].tags
    (delivered,) = batches(await sync(bob)).values()
    assert texts(delivered) == [first, second]
    assert texts(await sync(carol)) == [first, second]


# -- what each kind of receiver gets ------------------------------------------------------------


async def test_receivers_without_batch_get_lines_and_those_without_message_tags_still_get_concat(
    server, clients
) -> None:
    # multiline depends on batch ("MUST be negotiated to use multiline messages", the order
    # "MUST not be enforced"): without batch, the fallback. The concat tag belongs to the
    # batch type a draft/multiline client accepted, message-tags or not. Fallback: no blank
    # lines, "message IDs ... MUST be included on the first message line to be sent".
    alice = await capped(server, "alice", *ML, "message-tags", "server-time", "echo-message",
                         channels=("#room",))  # fmt: skip
    no_batch = await capped(server, "carol", "draft/multiline", "message-tags", "server-time", channels=("#room",))
    no_tags = await capped(server, "dave", *ML, channels=("#room",))
    clients.extend([alice, no_batch, no_tags])
    for client in (alice, no_batch):
        await sync(client)
    send_batch(alice, "#room", "", "first", ";glued", "", "last", tags="@+draft/reply=r1 ")
    (echo,) = batches(await sync(alice)).values()
    msgid, time = echo[0].tags["msgid"], echo[0].tags["time"]
    assert TIME.match(time)

    lines = await sync(no_batch)
    assert [(m.command, m.params) for m in lines] == [
        ("PRIVMSG", ["#room", "first"]), ("PRIVMSG", ["#room", "glued"]), ("PRIVMSG", ["#room", "last"]),
    ]  # fmt: skip
    assert [m.tags.get("msgid") for m in lines] == [msgid, None, None]
    assert all(m.tags["time"] == time and m.tags["+draft/reply"] == "r1" for m in lines)
    assert all(CONCAT not in m.tags and "batch" not in m.tags for m in lines)

    got = await sync(no_tags)
    (batch,) = batches(got).values()
    assert batch == got and texts(batch) == ["", "first", "glued", "", "last"]
    assert [CONCAT in m.tags for m in batch[1:-1]] == [False, False, True, False, False]
    assert "msgid" not in batch[0].tags and "+draft/reply" not in batch[0].tags


async def test_a_bots_logged_in_multiline_message_carries_account_and_bot_tags_in_each_form(server, clients) -> None:
    # multiline fallback: "Any tags that would have been added to the batch, e.g. message IDs,
    # account tags etc MUST be included on the first message line" (the spec's example has
    # the account on every line); bot-mode: the tag goes only to message-tags clients.
    alice = await capped(server, "alice", *ML, "echo-message", channels=("#room",))
    bob = await capped(server, "bob", *ML, "message-tags", "account-tag", channels=("#room",))
    carol = await capped(server, "carol", "message-tags", "account-tag", channels=("#room",))
    dave = await capped(server, "dave", "account-tag", channels=("#room",))
    clients.extend([alice, bob, carol, dave])
    alice.send("PRIVMSG NickServ :REGISTER correct-horse")
    await alice.expect("900")
    alice.send("MODE alice +B")
    await alice.expect("MODE")
    for client in (alice, bob, carol, dave):
        await sync(client)
    send_batch(alice, "#room", "one", ";two", "three")

    (batch,) = batches(await sync(bob)).values()
    opening = batch[0]
    assert opening.tags["account"] == "alice" and "bot" in opening.tags and "draft/bot" in opening.tags
    assert texts(batch) == ["one", "two", "three"]

    lines = await sync(carol)
    assert texts(lines) == ["one", "two", "three"]
    assert lines[0].tags["msgid"] == opening.tags["msgid"]
    assert lines[0].tags["account"] == "alice" and {"bot", "draft/bot"} <= set(lines[0].tags)
    assert all(m.tags.get("account") in (None, "alice") for m in lines)

    lines = await sync(dave)
    assert texts(lines) == ["one", "two", "three"]
    assert lines[0].tags == {"account": "alice"}
    assert all(set(m.tags) <= {"account"} for m in lines)  # no msgid, no bot tag without message-tags


async def test_multiline_to_a_status_target_falls_back_for_ops_without_multiline(server, clients) -> None:
    alice = await capped(server, "alice", "message-tags", channels=("#room",))  # op, no multiline
    bob = await capped(server, "bob", *ML, "message-tags", "echo-message", channels=("#room",))
    carol = await capped(server, "carol", "message-tags", channels=("#room",))  # not an op
    clients.extend([alice, bob, carol])
    for client in (alice, bob):
        await sync(client)
    send_batch(bob, "@#room", "to the ops", ";, glued", "", "end", tags="@+typing=done ")
    (echo,) = batches(await sync(bob)).values()
    assert echo[0].params[1:] == ["draft/multiline", "@#room"]
    lines = await sync(alice)
    assert [(m.params, m.tags.get("+typing")) for m in lines] == [
        (["@#room", "to the ops"], "done"), (["@#room", ", glued"], "done"), (["@#room", "end"], "done"),
    ]  # fmt: skip
    assert [m.tags.get("msgid") for m in lines] == [echo[0].tags["msgid"], None, None]
    assert commands(await sync(carol)) == []


async def test_a_private_multiline_message_matches_targets_without_regard_to_case(server, clients) -> None:
    alice = await capped(server, "alice", *LABELED, "draft/multiline", "echo-message")
    bob = await capped(server, "bob", *ML, "server-time")
    carol = await connected(server, "carol")
    clients.extend([alice, bob, carol])
    alice.send("@label=pm BATCH +p draft/multiline BOB")
    alice.send("@batch=p PRIVMSG bob :one")
    alice.send("@batch=p PRIVMSG Bob :two")
    alice.send("BATCH -p")
    got = await sync(alice)
    (echo,) = batches(got).values()
    assert echo == got and echo[0].tags["label"] == "pm" and texts(echo) == ["one", "two"]
    targets = {echo[0].params[2].lower(), *(m.params[0].lower() for m in echo if m.command == "PRIVMSG")}
    assert targets == {"bob"}
    (delivered,) = batches(await sync(bob)).values()
    assert texts(delivered) == ["one", "two"] and TIME.match(delivered[0].tags["time"])
    # a batch names one target: a list of them is no recipient
    send_batch(alice, "bob,carol", "both?", ref="q", tags="@label=two ")
    (refusal,) = await sync(alice)
    assert (refusal.command, refusal.params[1], refusal.tags) == ("401", "bob,carol", {"label": "two"})
    assert commands(await sync(bob)) == [] and commands(await sync(carol)) == []


# -- message-tags size limit -----------------------------------------------------------------


async def test_client_tags_on_a_batch_opening_are_limited_like_on_a_privmsg(server, clients) -> None:
    # message-tags: "Clients MUST NOT send messages with tag data exceeding 4094 bytes";
    # "Servers MUST reply with the ERR_INPUTTOOLONG (417) error numeric".
    alice = await capped(server, "alice", *LABELED, "draft/multiline", "echo-message", "message-tags",
                         channels=("#room",))  # fmt: skip
    bob = await capped(server, "bob", *ML, "message-tags", channels=("#room",))
    clients.extend([alice, bob])
    await sync(alice)
    prefix = "label=big;+big="
    fits = "v" * (4094 - len(prefix))  # exactly 4094 bytes of tag data, the label included
    send_batch(alice, "#room", "one", "two", tags=f"@{prefix}{fits} ")
    (echo,) = batches(await sync(alice)).values()
    assert echo[0].tags["label"] == "big" and echo[0].tags["+big"] == fits
    (delivered,) = batches(await sync(bob)).values()
    assert delivered[0].tags["+big"] == fits and texts(delivered) == ["one", "two"]
    send_batch(alice, "#room", "one", "two", tags=f"@{prefix}{fits}v ")  # one byte more
    got = await sync(alice)
    assert [(m.command, m.tags) for m in got] == [("417", {"label": "big"})]
    assert commands(await sync(bob)) == []
    await still_works(alice, bob)


# -- bugs ----------------------------------------------------------------------------------------


async def test_a_too_long_line_inside_a_batch_refuses_the_whole_batch(server, clients) -> None:
    # message-tags / RFC: the line is rejected with 417; multiline: a server delivers the
    # batch it received, and without that line it would not be the message written (hubbub
    # already refuses the whole batch for a line that is not UTF-8).
    alice = await capped(server, "alice", *ML, "echo-message", channels=("#room",))
    bob = await capped(server, "bob", *ML, channels=("#room",))
    clients.extend([alice, bob])
    await sync(alice)
    alice.send("BATCH +m draft/multiline #room")
    alice.send("@batch=m PRIVMSG #room :first")
    alice.send("@batch=m PRIVMSG #room :" + "x" * 600)
    alice.send("@batch=m PRIVMSG #room :third")
    alice.send("BATCH -m")
    got = await sync(alice)
    assert "417" in commands(got) or "FAIL" in commands(got)
    assert texts(got) == []  # no echo of a message missing a line
    assert texts(await sync(bob)) == []
    await still_works(alice, bob)


async def test_tag_data_past_4094_bytes_is_417_whatever_the_tags_are(server, clients) -> None:
    # message-tags: the client limit "includes tags with or without the client-only prefix";
    # "Servers MUST NOT truncate tags and MUST always reject lines that exceed this limit."
    alice = await capped(server, "alice", *ML, "message-tags", "echo-message", channels=("#room",))
    bob = await capped(server, "bob", *ML, "message-tags", channels=("#room",))
    clients.extend([alice, bob])
    await sync(alice)
    for line in (
        f"@{over('example.com/x')} PRIVMSG #room :unknown tag",
        f"@{over('label')} PRIVMSG #room :a label far past 64 bytes",
        f"@{over('example.com/x')} TAGMSG #room",
    ):
        got = await reply_to(alice, line)
        assert commands(got) == ["417"], (line[-30:], got)
    send_batch(alice, "#room", "one", tags=f"@{over('example.com/x')} ")
    assert commands(await sync(alice)) == ["417"]
    assert commands(await sync(bob)) == []
    await still_works(alice, bob)


async def test_a_batch_line_with_tag_data_past_4094_bytes_is_417(server, clients) -> None:
    # message-tags: "Servers MUST reply with ... 417 if a client sends a message with more
    # tag data than the allowed limit ... MUST always reject lines that exceed this limit."
    alice = await capped(server, "alice", *ML, "message-tags", "echo-message", channels=("#room",))
    bob = await capped(server, "bob", *ML, channels=("#room",))
    clients.extend([alice, bob])
    await sync(alice)
    alice.send("BATCH +m draft/multiline #room")
    alice.send(f"@batch=m;{over('+big')} PRIVMSG #room :first")
    alice.send("@batch=m PRIVMSG #room :second")
    alice.send("BATCH -m")
    got = await sync(alice)
    assert "417" in commands(got)
    assert texts(await sync(bob)) == []  # the line is rejected: the rest is not the message
    await still_works(alice, bob)


async def test_a_labeled_line_too_long_gets_a_labeled_417(server, clients) -> None:
    # labeled-response: the label goes on "any response produced from this message"; hubbub's
    # docs/ircv3.md: every command's reply, errors and unparsable lines included.
    alice = await capped(server, "alice", *LABELED, channels=("#room",))
    bob = await connected(server, "bob", "#room")
    clients.extend([alice, bob])
    await sync(alice)
    (refusal,) = await reply_to(alice, "@label=long PRIVMSG #room :" + "x" * 600)
    assert refusal.command == "417" and refusal.tags == {"label": "long"}
    await still_works(alice, bob)


async def test_a_malformed_batch_reference_is_refused(server, clients) -> None:
    # batch: "Reference tag MUST contain only ASCII letters, numbers, and/or hyphen";
    # multiline: client batches "use the same syntax as server initiated batches".
    alice = await capped(server, "alice", *ML, "echo-message", channels=("#room",))
    bob = await capped(server, "bob", *ML, channels=("#room",))
    clients.extend([alice, bob])
    await sync(alice)
    send_batch(alice, "#room", "one", ref="a_b")
    got = await sync(alice)
    assert got and all((m.command, m.params[:2]) == ("FAIL", ["BATCH", "INVALID_PARAMS"]) for m in got), got
    assert commands(await sync(bob)) == []  # the lines of a refused batch are dropped
    await still_works(alice, bob)


async def test_a_too_long_line_of_a_refused_batch_gets_no_reply(server, clients) -> None:
    # the rest of a refused batch is dropped without further replies (docs/ircv3.md)
    alice = await capped(server, "alice", *ML, "echo-message", channels=("#room",))
    bob = await capped(server, "bob", *ML, channels=("#room",))
    clients.extend([alice, bob])
    await sync(alice)
    alice.send("BATCH +m draft/multiline #room")
    alice.send("@batch=m TAGMSG #room")  # refuses the batch
    alice.send("@batch=m PRIVMSG #room :" + "x" * 600)
    alice.send("@batch=other PRIVMSG #room :" + "x" * 600)
    alice.send("BATCH -m")
    got = await sync(alice)
    assert [(m.command, m.params[:2]) for m in got] == [("FAIL", ["BATCH", "MULTILINE_INVALID"])], got
    assert texts(await sync(bob)) == []
    await still_works(alice, bob)


async def test_a_malformed_reference_while_a_batch_is_open_says_another_is_open(server, clients) -> None:
    alice = await capped(server, "alice", *ML, "echo-message", channels=("#room",))
    bob = await capped(server, "bob", *ML, channels=("#room",))
    clients.extend([alice, bob])
    await sync(alice)
    alice.send("BATCH +m draft/multiline #room")
    alice.send("BATCH +bad!ref draft/multiline #room")
    got = await sync(alice)
    assert [m.params[-1] for m in got if m.command == "FAIL"] == ["Another batch is still open"], got
    await still_works(alice, bob)
