"""IRCv3 audit, round 2: corners of labeled-response, batch nesting, draft/multiline,
echo-message, message-tags, server-time, SASL 3.2 and the user-notice capabilities that
the other transcripts leave out. Black-box, over real sockets, against real servers.

One of these once failed (a non-UTF-8 line in a multiline batch), and was fixed.
"""

from __future__ import annotations

import re

from tests.e2e_accounts.support import b64, registered_account
from tests.e2e_caps.support import batches, capped, mask
from tests.helpers import LineClient, cap_ls, commands, connected, sync

LABELED = ("batch", "labeled-response")
ML = ("batch", "draft/multiline")
BATCH_REF = re.compile(r"^[A-Za-z0-9-]+$")
# server-time: "YYYY-MM-DDThh:mm:ss.sssZ" (ISO 8601 extended, UTC, millisecond precision)
SERVER_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


async def reply_to(client: LineClient, line: str | bytes) -> list:
    """Everything the server sends `client` in answer to `line` (a PING after it marks the end)."""
    client.send(line)
    return await sync(client)


def labeled_batch(messages: list, label: str) -> list:
    """`messages` are exactly one labeled-response batch; its contents (nested batches flattened)."""
    opening, *inside, closing = messages
    # labeled-response: "The start of the batch MUST be tagged with the `label` tag."
    assert opening.command == "BATCH" and opening.tags == {"label": label}, opening
    ref = opening.params[0][1:]
    assert opening.params == ["+" + ref, "labeled-response"] and BATCH_REF.match(ref)
    assert closing.command == "BATCH" and closing.params == ["-" + ref] and "label" not in closing.tags
    assert all("label" not in m.tags for m in inside)
    return inside


def send_batch(client: LineClient, target: str, *texts: str, ref: str = "1", tags: str = "") -> None:
    """A draft/multiline batch of PRIVMSG `texts` to `target` (a text starting with `;` is concatenated)."""
    client.send(f"{tags}BATCH +{ref} draft/multiline {target}")
    for text in texts:
        concat = ";draft/multiline-concat" if text.startswith(";") else ""
        client.send(f"@batch={ref}{concat} PRIVMSG {target} :{text.removeprefix(';')}")
    client.send(f"BATCH -{ref}")


def privmsg_texts(messages: list) -> list[str]:
    return [m.params[-1] for m in messages if m.command == "PRIVMSG"]


# -- labeled-response: every command's reply, in every shape ---------------------------------


async def test_labeled_tagmsg_echo_carries_the_label_and_the_client_tags(server, clients) -> None:
    # labeled-response: "the server MUST include the same tag and value in any response
    # produced from this message"; echo-message applies to TAGMSG with message-tags.
    alice = await capped(server, "alice", *LABELED, "echo-message", "message-tags", channels=("#room",))
    bob = await capped(server, "bob", "message-tags", channels=("#room",))
    clients.extend([alice, bob])
    await sync(alice)
    (echo,) = await reply_to(alice, "@label=t1;+typing=active TAGMSG #room")
    assert (echo.command, echo.params, echo.source) == ("TAGMSG", ["#room"], mask("alice"))
    assert echo.tags["label"] == "t1" and echo.tags["+typing"] == "active"
    relayed = await bob.expect("TAGMSG")
    assert relayed.tags["+typing"] == "active" and "label" not in relayed.tags
    assert relayed.tags["msgid"] == echo.tags["msgid"]


async def test_labeled_tagmsg_without_echo_is_acked(server, clients) -> None:
    # labeled-response: "Servers MUST respond with a labeled ACK message when a client sends
    # a labeled command that normally produces no response."
    alice = await capped(server, "alice", *LABELED, "message-tags", channels=("#room",))
    bob = await capped(server, "bob", "message-tags", channels=("#room",))
    clients.extend([alice, bob])
    await sync(alice)
    (ack,) = await reply_to(alice, "@label=t2;+draft/react=:) TAGMSG bob")
    assert (ack.command, ack.params, ack.tags) == ("ACK", [], {"label": "t2"})
    reaction = await bob.expect("TAGMSG")
    assert reaction.params == ["bob"] and reaction.tags["+draft/react"] == ":)"


async def test_labeled_monitor_and_cap_replies(server, clients) -> None:
    alice = await capped(server, "alice", *LABELED)
    bob = await connected(server, "bob")
    clients.extend([alice, bob])
    inside = labeled_batch(await reply_to(alice, "@label=m1 MONITOR + bob,nobody"), "m1")
    assert [(m.command, m.params[-1]) for m in inside] == [("730", mask("bob")), ("731", "nobody")]
    (nak,) = await reply_to(alice, "@label=c1 CAP REQ :no-such-cap")
    assert (nak.command, nak.params[1:], nak.tags) == ("CAP", ["NAK", "no-such-cap"], {"label": "c1"})
    (ack,) = await reply_to(alice, "@label=c2 CAP REQ :away-notify")
    assert (ack.command, ack.params[1:], ack.tags) == ("CAP", ["ACK", "away-notify"], {"label": "c2"})


async def test_labeled_errors_of_registration_commands_and_of_ping(server, clients) -> None:
    alice = await capped(server, "alice", *LABELED)
    bob = await connected(server, "bob")
    clients.extend([alice, bob])
    for line, code in (("PING", "409"), ("NICK", "431"), ("NICK bob", "433"), ("USER a b c d", "462")):
        (reply,) = await reply_to(alice, f"@label=e-{code} {line}")
        assert (reply.command, reply.tags) == (code, {"label": f"e-{code}"}), line


async def test_labeled_away_and_setname_replies(server, clients) -> None:
    alice = await capped(server, "alice", *LABELED, "setname", "message-tags")
    clients.append(alice)
    (away,) = await reply_to(alice, "@label=a1 AWAY :gone")
    assert (away.command, away.tags) == ("306", {"label": "a1"})
    (back,) = await reply_to(alice, "@label=a2 AWAY")
    assert (back.command, back.tags) == ("305", {"label": "a2"})
    (setname,) = await reply_to(alice, "@label=a3 SETNAME :New Name")
    assert (setname.command, setname.params, setname.tags["label"]) == ("SETNAME", ["New Name"], "a3")
    (fail,) = await reply_to(alice, "@label=a4 SETNAME :")
    assert (fail.command, fail.params[:2], fail.tags) == ("FAIL", ["SETNAME", "INVALID_REALNAME"], {"label": "a4"})


async def test_labeled_identify_answers_after_the_password_hash_in_one_batch(server, clients) -> None:
    # The reply comes after a store read and a password hash, off the event loop; it is
    # still "exactly one logical message" with the label.
    dave = await registered_account(server, "dave", "pw12345678")
    dave.send("QUIT")
    await dave.closed()
    alice = await capped(server, "alice", *LABELED)
    clients.append(alice)
    (failed,) = await reply_to(alice, "@label=i1 PRIVMSG NickServ :IDENTIFY dave wrong-password")
    assert failed.command == "NOTICE" and failed.tags == {"label": "i1"}
    inside = labeled_batch(await reply_to(alice, "@label=i2 PRIVMSG NickServ :IDENTIFY dave pw12345678"), "i2")
    assert "900" in commands(inside) and inside[-2].source.startswith("NickServ!")
    assert (inside[-1].command, inside[-1].params) == ("MODE", ["alice", "+r"])  # what the login changed, last


async def test_labeled_sasl_after_registration_success_and_failure(server, clients) -> None:
    dave = await registered_account(server, "dave", "pw12345678")
    dave.send("QUIT")
    await dave.closed()
    alice = await capped(server, "alice", *LABELED, "sasl")
    clients.append(alice)
    (plus,) = await reply_to(alice, "@label=s1 AUTHENTICATE PLAIN")
    assert (plus.command, plus.params, plus.tags) == ("AUTHENTICATE", ["+"], {"label": "s1"})
    (fail,) = await reply_to(alice, "@label=s2 AUTHENTICATE " + b64("dave\0dave\0wrong-password"))
    assert (fail.command, fail.tags) == ("904", {"label": "s2"})
    (abort,) = await reply_to(alice, "@label=s3 AUTHENTICATE *")
    assert (abort.command, abort.tags) == ("906", {"label": "s3"})
    await reply_to(alice, "AUTHENTICATE PLAIN")
    inside = labeled_batch(await reply_to(alice, "@label=s4 AUTHENTICATE " + b64("dave\0dave\0pw12345678")), "s4")
    assert commands(inside)[-3:] == ["900", "903", "MODE"]  # the answer, then what the login changed
    inside = labeled_batch(await reply_to(alice, "@label=s5 AUTHENTICATE NOPE"), "s5")
    # SASL 3.2: RPL_SASLMECHS (908) lists the mechanisms, then ERR_SASLFAIL (904)
    assert commands(inside) == ["908", "904"] and inside[0].params[1] == "PLAIN,SCRAM-SHA-256"


async def test_labeled_account_registration_is_one_labeled_reply(server, clients) -> None:
    alice = await capped(server, "alice", *LABELED, "draft/account-registration")
    clients.append(alice)
    inside = labeled_batch(await reply_to(alice, "@label=r1 REGISTER * * secret-pass-12"), "r1")
    success = [m for m in inside if m.command == "REGISTER"]
    assert [m.params[:2] for m in success] == [["SUCCESS", "alice"]]
    (fail,) = await reply_to(alice, "@label=r2 REGISTER * * secret-pass-12")
    assert (fail.command, fail.params[0], fail.tags) == ("FAIL", "REGISTER", {"label": "r2"})


async def test_labeled_lines_queued_behind_a_slow_command_keep_their_labels_and_order(server, clients) -> None:
    dave = await registered_account(server, "dave", "pw12345678")
    dave.send("QUIT")
    await dave.closed()
    alice = await capped(server, "alice", *LABELED)
    clients.append(alice)
    alice.send(  # one write: the PINGs wait while the password is hashed
        "@label=k1 PRIVMSG NickServ :IDENTIFY dave wrong-password\r\n@label=k2 PING one\r\n"
        "@label=k3 VERSION\r\n@label=k4 PING two"
    )
    got = await sync(alice)
    assert (got[0].command, got[0].tags) == ("NOTICE", {"label": "k1"})
    assert (got[1].command, got[1].params[-1], got[1].tags) == ("PONG", "one", {"label": "k2"})
    assert labeled_batch(got[2:-1], "k3")[0].command == "351"
    assert (got[-1].command, got[-1].params[-1], got[-1].tags) == ("PONG", "two", {"label": "k4"})


async def test_labeled_privmsg_to_an_away_user_batches_the_echo_and_the_301(server, clients) -> None:
    # labeled-response: "If a response consists of more than one message, a batch MUST be used"
    alice = await capped(server, "alice", *LABELED, "echo-message")
    bob = await connected(server, "bob")
    clients.extend([alice, bob])
    bob.send("AWAY :lunch")
    await bob.expect("306")
    inside = labeled_batch(await reply_to(alice, "@label=p1 PRIVMSG bob :hi"), "p1")
    assert [(m.command, m.params[-1]) for m in inside] == [("PRIVMSG", "hi"), ("301", "lunch")]
    assert len(set(m.tags["batch"] for m in inside)) == 1


async def test_labeled_moderated_refusal_of_tagmsg(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    bob = await capped(server, "bob", *LABELED, "message-tags", channels=("#room",))
    clients.extend([alice, bob])
    alice.send("MODE #room +m")
    await bob.expect("MODE")
    (refused,) = await reply_to(bob, "@label=m1;+typing=active TAGMSG #room")
    assert (refused.command, refused.params[1], refused.tags) == ("404", "#room", {"label": "m1"})
    assert "TAGMSG" not in commands(await sync(alice))


# -- batch nesting ---------------------------------------------------------------------------


async def test_labeled_chathistory_is_one_labeled_batch(server, clients) -> None:
    # labeled-response: the batch type "MUST be one of: An existing type applicable to the
    # entire response; labeled-response". Either way the label is on one opening line only.
    alice = await capped(server, "alice", *LABELED, "message-tags", "draft/chathistory", channels=("#room",))
    clients.append(alice)
    alice.send("PRIVMSG #room :one")
    alice.send("PRIVMSG #room :two")
    got = await reply_to(alice, "@label=h1 CHATHISTORY LATEST #room * 10")
    assert got[0].command == "BATCH" and got[0].tags.get("label") == "h1"
    assert [m for m in got if "label" in m.tags] == [got[0]]
    found = batches(got)
    kinds = {ref: lines[0].params[1] for ref, lines in found.items()}
    assert "chathistory" in kinds.values()
    history_ref = next(ref for ref, kind in kinds.items() if kind == "chathistory")
    assert privmsg_texts(found[history_ref]) == ["one", "two"]
    assert got[-1].command == "BATCH" and got[-1].params[0].startswith("-")


async def test_labeled_multiline_to_an_away_user_nests_the_multiline_batch(server, clients) -> None:
    # batch: "Start and end messages of one batch MAY refer to another batch. If they do,
    # they both MUST have batch tag, and they MUST refer to the same batch."
    alice = await capped(server, "alice", *LABELED, "draft/multiline", "echo-message", "message-tags")
    bob = await connected(server, "bob")
    clients.extend([alice, bob])
    bob.send("AWAY :zz")
    await bob.expect("306")
    send_batch(alice, "bob", "one", "two", tags="@label=n1 ")
    inside = labeled_batch(await sync(alice), "n1")
    outer = inside[0].tags["batch"]
    opening, line1, line2, closing, away = inside
    assert opening.params[1:] == ["draft/multiline", "bob"] and closing.params == ["-" + opening.params[0][1:]]
    assert opening.tags["batch"] == outer and closing.tags["batch"] == outer
    inner = opening.params[0][1:]
    assert [m.tags["batch"] for m in (line1, line2)] == [inner, inner]
    assert privmsg_texts([line1, line2]) == ["one", "two"]
    assert (away.command, away.tags["batch"]) == ("301", outer)
    assert privmsg_texts(await sync(bob)) == ["one", "two"]


async def test_labeled_multiline_without_echo_is_acked(server, clients) -> None:
    alice = await capped(server, "alice", *LABELED, "draft/multiline", channels=("#room",))
    bob = await capped(server, "bob", *ML, channels=("#room",))
    clients.extend([alice, bob])
    await sync(alice)
    send_batch(alice, "#room", "one", "two", tags="@label=n2 ")
    (ack,) = await sync(alice)
    assert (ack.command, ack.tags) == ("ACK", {"label": "n2"})
    assert privmsg_texts(await sync(bob)) == ["one", "two"]


async def test_labeled_multiline_to_oneself_labels_only_the_echo(server, clients) -> None:
    # labeled-response: "When a client sends a message to itself, the server MUST NOT include
    # the label tag, except for any acknowledgment sent with the echo-message mechanism."
    # multiline: "Servers MUST only include the label tag on the opening BATCH command"
    alice = await capped(server, "alice", *LABELED, "draft/multiline", "echo-message")
    clients.append(alice)
    send_batch(alice, "alice", "one", "two", tags="@label=n3 ")
    got = await sync(alice)
    openings = [m for m in got if m.command == "BATCH" and m.params[0].startswith("+")]
    assert [m.params[1:] for m in openings] == [["draft/multiline", "alice"]] * 2  # delivery, echo
    assert [m.tags.get("label") for m in openings] == [None, "n3"]
    assert [m for m in got if "label" in m.tags] == [openings[1]]
    assert privmsg_texts(got) == ["one", "two", "one", "two"]


# -- draft/multiline ----------------------------------------------------------------------------


async def test_multiline_max_bytes_counts_utf8_bytes_not_characters(make_server, clients) -> None:
    # multiline: "max-bytes - This defines the maximum allowed total byte length"
    server = await make_server("limits.multiline_max_bytes=20")
    alice = await capped(server, "alice", *ML, "echo-message", channels=("#room",))
    clients.append(alice)
    send_batch(alice, "#room", "é" * 10)  # 10 characters, 20 bytes: just fits
    assert privmsg_texts(await sync(alice)) == ["é" * 10]
    send_batch(alice, "#room", "é" * 10, ";x")  # 21 bytes, even with no line feed
    (fail,) = await sync(alice)
    assert (fail.command, fail.params[:3]) == ("FAIL", ["BATCH", "MULTILINE_MAX_BYTES", "20"])


async def test_multiline_exactly_max_lines_is_accepted(make_server, clients) -> None:
    server = await make_server("limits.multiline_max_lines=3")
    alice = await capped(server, "alice", *ML, "echo-message", channels=("#room",))
    bob = await connected(server, "bob", "#room")
    clients.extend([alice, bob])
    send_batch(alice, "#room", "a", "b", "c")
    assert privmsg_texts(await sync(alice)) == ["a", "b", "c"]
    assert privmsg_texts(await sync(bob)) == ["a", "b", "c"]


async def test_multiline_to_a_moderated_channel_is_refused_whole(server, clients) -> None:
    alice = await capped(server, "alice", channels=("#room",))
    bob = await capped(server, "bob", *ML, "echo-message", channels=("#room",))
    carol = await capped(server, "carol", *ML, channels=("#room",))
    clients.extend([alice, bob, carol])
    alice.send("MODE #room +m")
    await carol.expect("MODE")
    await bob.expect("MODE")
    send_batch(bob, "#room", "one", "two")
    got = await sync(bob)
    assert commands(got) == ["404"] and got[0].params[1] == "#room"
    assert commands(await sync(carol)) == []


async def test_multiline_to_an_away_user_delivers_every_line_and_one_301(server, clients) -> None:
    alice = await capped(server, "alice", *ML)
    carol = await connected(server, "carol")
    clients.extend([alice, carol])
    carol.send("AWAY :afk")
    await carol.expect("306")
    send_batch(alice, "carol", "one", "two", "three")
    got = await sync(alice)
    assert commands(got) == ["301"] and got[0].params[1:] == ["carol", "afk"]
    assert privmsg_texts(await sync(carol)) == ["one", "two", "three"]


async def test_multiline_to_a_statusmsg_target_reaches_only_the_ops(server, clients) -> None:
    alice = await capped(server, "alice", *ML, "message-tags", channels=("#room",))  # op
    bob = await capped(server, "bob", *ML, "echo-message", channels=("#room",))
    carol = await capped(server, "carol", *ML, channels=("#room",))
    dave = await connected(server, "dave", "#room")
    clients.extend([alice, bob, carol, dave])
    for client in (alice, carol, dave):
        await sync(client)
    send_batch(bob, "@#room", "one", "two")
    echo = await sync(bob)
    (echoed,) = batches(echo).values()
    assert echoed[0].params[1:] == ["draft/multiline", "@#room"]
    assert [m.params for m in echoed if m.command == "PRIVMSG"] == [["@#room", "one"], ["@#room", "two"]]
    (relayed,) = batches(await sync(alice)).values()
    assert relayed[0].params[2] == "@#room" and privmsg_texts(relayed) == ["one", "two"]
    assert commands(await sync(carol)) == [] and commands(await sync(dave)) == []


async def test_a_multiline_batch_mixing_privmsg_and_notice_is_refused(server, clients) -> None:
    # multiline: "Multiline batches MUST only contain one or more PRIVMSG lines, or one or
    # more NOTICE lines." (a batch of notices alone: test_multiline_notice.py)
    alice = await capped(server, "alice", *ML, channels=("#room",))
    bob = await connected(server, "bob", "#room")
    clients.extend([alice, bob])
    await sync(bob)
    alice.send("BATCH +n draft/multiline #room")
    alice.send("@batch=n PRIVMSG #room :this starts with a PRIVMSG")
    alice.send("@batch=n NOTICE #room :but ends with a NOTICE")
    alice.send("BATCH -n")
    fails = [m for m in await sync(alice) if m.command == "FAIL"]
    assert fails and fails[0].params[:2] == ["BATCH", "MULTILINE_INVALID"]
    assert commands(await sync(bob)) == []


async def test_multiline_blank_lines_at_both_ends_are_kept_for_multiline_clients_only(server, clients) -> None:
    # multiline: "Servers MUST NOT reject blank lines." / "Servers MUST NOT send blank lines
    # to clients that have not negotiated the multiline capability."
    alice = await capped(server, "alice", *ML, channels=("#room",))
    bob = await capped(server, "bob", *ML, channels=("#room",))
    carol = await connected(server, "carol", "#room")
    clients.extend([alice, bob, carol])
    for client in (bob, carol):
        await sync(client)
    send_batch(alice, "#room", "", "middle", "")
    assert privmsg_texts(await sync(bob)) == ["", "middle", ""]
    assert privmsg_texts(await sync(carol)) == ["middle"]


async def test_opening_a_second_multiline_batch_while_one_is_open_fails(server, clients) -> None:
    alice = await capped(server, "alice", *ML, channels=("#room",))
    bob = await connected(server, "bob", "#room")
    clients.extend([alice, bob])
    await sync(bob)
    alice.send("BATCH +a draft/multiline #room")
    alice.send("BATCH +b draft/multiline #room")
    fail = await alice.expect("FAIL")
    assert fail.params[:2] == ["BATCH", "MULTILINE_INVALID"]
    alice.send("BATCH -b")
    alice.send("BATCH -a")
    await sync(alice)
    assert commands(await sync(bob)) == []


async def test_a_non_utf8_line_invalidates_the_whole_multiline_batch(server, clients) -> None:
    alice = await capped(server, "alice", *ML, channels=("#room",))
    bob = await capped(server, "bob", *ML, channels=("#room",))
    clients.extend([alice, bob])
    await sync(bob)
    alice.send("BATCH +u draft/multiline #room")
    alice.send(b"@batch=u PRIVMSG #room :caf\xe9")
    alice.send("@batch=u PRIVMSG #room :second line")
    alice.send("BATCH -u")
    fails = [m for m in await sync(alice) if m.command == "FAIL"]
    relayed = await sync(bob)
    assert privmsg_texts(relayed) == []  # never a message with a line silently missing
    assert fails and fails[0].params[:2] == ["BATCH", "MULTILINE_INVALID"]


# -- message-tags, echo-message, server-time -----------------------------------------------------


async def test_a_valueless_client_tag_is_relayed_valueless(server, clients) -> None:
    # message-tags: "<tag> ::= <key> ['=' <escaped_value>]"; a missing value is the empty string.
    alice = await capped(server, "alice", "message-tags", channels=("#room",))
    bob = await capped(server, "bob", "message-tags", channels=("#room",))
    clients.extend([alice, bob])
    await sync(alice)
    alice.send("@+typing TAGMSG #room")
    relayed = await bob.expect("TAGMSG")
    assert relayed.tags.get("+typing") == ""
    assert re.search(r"(^@|;)\+typing( |;)", bob.raw[-1])


async def test_reply_and_react_reach_tag_clients_only(server, clients) -> None:
    # message-tags: "Servers MUST NOT deliver TAGMSG to clients that haven't negotiated the
    # message tags capability."
    alice = await capped(server, "alice", "message-tags", channels=("#room",))
    bob = await capped(server, "bob", "message-tags", channels=("#room",))
    carol = await connected(server, "carol", "#room")
    clients.extend([alice, bob, carol])
    for client in (alice, bob, carol):
        await sync(client)
    alice.send("PRIVMSG #room :original")
    original = await bob.expect("PRIVMSG")
    msgid = original.tags["msgid"]
    alice.send(f"@+draft/reply={msgid};+draft/react=👍 TAGMSG #room")
    alice.send(f"@+draft/reply={msgid} PRIVMSG #room :answer")
    react = await bob.expect("TAGMSG")
    assert react.tags["+draft/reply"] == msgid and react.tags["+draft/react"] == "👍"
    answer = await bob.expect("PRIVMSG")
    assert answer.tags["+draft/reply"] == msgid
    plain = await sync(carol)
    assert commands(plain) == ["PRIVMSG", "PRIVMSG"] and all(m.tags == {} for m in plain)


async def test_server_time_format_and_one_value_for_every_copy(server, clients) -> None:
    alice = await capped(server, "alice", "server-time", "echo-message", channels=("#room",))
    bob = await capped(server, "bob", "server-time", channels=("#room",))
    clients.extend([alice, bob])
    await sync(alice)
    alice.send("PRIVMSG #room :tick")
    echo = await alice.expect("PRIVMSG")
    relayed = await bob.expect("PRIVMSG")
    assert SERVER_TIME.match(echo.tags["time"]) and echo.tags["time"] == relayed.tags["time"]
    assert set(relayed.tags) == {"time"}  # no msgid without message-tags


async def test_utf8only_refuses_a_non_utf8_notice_with_a_labeled_fail(server, clients) -> None:
    # UTF8ONLY: the server may refuse non-UTF-8 messages, with `FAIL <command> INVALID_UTF8`
    alice = await capped(server, "alice", *LABELED, channels=("#room",))
    bob = await connected(server, "bob", "#room")
    clients.extend([alice, bob])
    await sync(alice)  # past bob's JOIN
    await sync(bob)
    (fail,) = await reply_to(alice, b"@label=u1 NOTICE #room :caf\xe9")
    assert (fail.command, fail.params[:2], fail.tags) == ("FAIL", ["NOTICE", "INVALID_UTF8"], {"label": "u1"})
    assert commands(await sync(bob)) == []


async def test_the_bot_tag_is_on_a_bots_tagmsg_too(server, clients) -> None:
    # bot-mode: the `bot` tag goes on messages sent by a client in bot mode
    alice = await capped(server, "alice", "message-tags", channels=("#room",))
    bob = await capped(server, "bob", "message-tags", channels=("#room",))
    clients.extend([alice, bob])
    alice.send("MODE alice +B")
    await alice.expect("MODE")
    await sync(bob)
    alice.send("@+typing=active TAGMSG #room")
    relayed = await bob.expect("TAGMSG")
    assert "bot" in relayed.tags and relayed.tags["+typing"] == "active"


# -- CAP, SASL 3.2 ------------------------------------------------------------------------------------


async def test_cap_ls_302_lines_fit_in_512_bytes_and_only_the_last_lacks_the_star(server, clients) -> None:
    # capability-negotiation: "If the server's list is longer than 512 bytes, it MUST split
    # it ... with an asterisk (*) as the third parameter on every line but the last"
    client = await LineClient.connect(server)
    clients.append(client)
    lines, offered = await cap_ls(client)
    assert len(lines) >= 2
    assert all(len(raw.encode()) + 2 <= 512 for raw in client.raw)
    assert [m.params[2] == "*" for m in lines] == [True] * (len(lines) - 1) + [False]
    assert offered["sasl"] == "PLAIN,SCRAM-SHA-256" and offered["draft/multiline"] == "max-bytes=4096,max-lines=100"
    assert "sts" not in offered


async def test_sasl_responses_of_exactly_and_over_400_bytes_are_reassembled(server, clients) -> None:
    # SASL 3.1: "If the ... data is exactly 400 bytes, the client MUST send `AUTHENTICATE +`
    # after it"; longer data is sent in 400-byte pieces.
    password = "p" * 290  # "dave\0dave\0" + 290 bytes = 300 bytes = 400 base64 characters
    dave = await registered_account(server, "dave", password)
    dave.send("QUIT")
    await dave.closed()
    alice = await capped(server, "alice", "sasl")
    clients.append(alice)
    encoded = b64(f"dave\0dave\0{password}")
    assert len(encoded) == 400
    alice.send("AUTHENTICATE PLAIN")
    await alice.expect("AUTHENTICATE", "+")
    alice.send(f"AUTHENTICATE {encoded}")
    assert commands(await sync(alice)) == []  # waits for more
    alice.send("AUTHENTICATE +")
    assert (await alice.expect(lambda m: m.command in ("903", "904"))).command == "903"
    longer = b64(f"dave\0dave\0{password}xxxxxxxxx")  # wrong, and 412 characters: two pieces
    alice.send("AUTHENTICATE PLAIN")
    await alice.expect("AUTHENTICATE", "+")
    alice.send(f"AUTHENTICATE {longer[:400]}")
    alice.send(f"AUTHENTICATE {longer[400:]}")
    failed = await alice.expect(lambda m: m.command in ("903", "904", "905"))
    assert failed.command == "904" and "credentials" in failed.params[-1]


# -- user notices ---------------------------------------------------------------------------


async def test_multi_prefix_with_userhost_in_names_who_and_whois(server, clients) -> None:
    # multi-prefix: "all prefixes ... in order of rank" in NAMES, WHO flags and WHOIS channels
    alice = await capped(server, "alice", channels=("#room",))
    bob = await capped(server, "bob", "multi-prefix", "userhost-in-names", channels=("#room",))
    clients.extend([alice, bob])
    alice.send("MODE #room +v alice")
    await bob.expect("MODE")
    names = [m for m in await reply_to(bob, "NAMES #room") if m.command == "353"]
    assert names[0].params[-1].split() == ["@+" + mask("alice"), mask("bob")]
    who = {m.params[5]: m.params[6] for m in await reply_to(bob, "WHO #room") if m.command == "352"}
    assert who == {"alice": "H@+", "bob": "H"}
    channels = [m for m in await reply_to(bob, "WHOIS alice") if m.command == "319"]
    assert channels[0].params[-1].split() == ["@+#room"]


async def test_extended_join_and_account_tag_after_a_login(server, clients) -> None:
    dave = await registered_account(server, "dave", "pw12345678")
    dave.send("QUIT")
    await dave.closed()
    watcher = await capped(server, "watcher", "extended-join", "account-tag", "account-notify", channels=("#room",))
    plain = await capped(server, "plain", channels=("#room",))
    alice = await capped(server, "alice", channels=("#room",))
    clients.extend([watcher, plain, alice])
    await sync(watcher)
    alice.send("PRIVMSG NickServ :IDENTIFY dave pw12345678")
    await alice.expect("900")
    account = await watcher.expect("ACCOUNT")
    assert (account.source, account.params) == (mask("alice"), ["dave"])
    alice.send("PART #room")
    alice.send("JOIN #room")
    part = await watcher.expect("PART")
    join = await watcher.expect("JOIN")
    # extended-join: "JOIN <channel> <accountname> :<realname>"; account-tag: "account=<name>"
    assert part.tags.get("account") == "dave" and join.tags.get("account") == "dave"
    assert join.params == ["#room", "dave", "Real Name"]
    got = await sync(plain)
    rejoin = [m for m in got if m.command == "JOIN"][-1]
    assert (rejoin.source, rejoin.params, rejoin.tags) == (mask("alice"), ["#room"], {})
    assert "ACCOUNT" not in commands(got)


async def test_invite_notify_reaches_ops_with_the_cap_not_the_inviter_or_others(server, clients) -> None:
    # invite-notify: ":<inviter> INVITE <target> <channel>"; a server may limit it to ops
    alice = await capped(server, "alice", "invite-notify", channels=("#room",))  # op, the inviter
    bob = await capped(server, "bob", "invite-notify", channels=("#room",))
    carol = await capped(server, "carol", "invite-notify", channels=("#room",))
    dave = await connected(server, "dave")
    clients.extend([alice, bob, carol, dave])
    alice.send("MODE #room +o bob")
    await carol.expect("MODE")
    await bob.expect("MODE")
    alice.send("INVITE dave #room")
    assert (await alice.expect("341")).params[1:] == ["dave", "#room"]
    notice = await bob.expect("INVITE")
    assert (notice.source, notice.params) == (mask("alice"), ["dave", "#room"])
    assert (await dave.expect("INVITE")).params == ["dave", "#room"]
    assert "INVITE" not in commands(await sync(alice))
    assert "INVITE" not in commands(await sync(carol))
