"""More IRCv3 conformance transcripts, black-box over real sockets: corners of CAP
negotiation, labeled-response, message-tags, echo-message, multiline, chathistory,
read-marker, MONITOR and bot mode that the other files do not cover.

A test marked xfail(strict=True) records a deviation from the specification it quotes.
"""

from __future__ import annotations

from pathlib import Path

from tests.e2e_caps.support import batches, capped, mask
from tests.e2e_opers.conftest import make_oper_server, oper_hash, oper_toml  # noqa: F401  (fixtures)
from tests.e2e_opers.support import an_oper
from tests.helpers import LineClient, cap_ls, commands, sync

LABELED = ("batch", "labeled-response")
EARLY = "timestamp=2000-01-01T00:00:00.000Z"
LATE = "timestamp=2999-01-01T00:00:00.000Z"


async def reply_to(client: LineClient, line: str | bytes) -> list:
    client.send(line)
    return await sync(client)


# -- CAP negotiation -----------------------------------------------------------------------


async def test_a_pre_302_client_may_turn_cap_notify_on_and_off(server, clients) -> None:
    # capability-negotiation: "Clients that do not support CAP version 302 MAY request the
    # cap-notify capability explicitly. Such clients MAY explicitly disable the capability,
    # and servers MUST allow these clients to do so."
    client = await LineClient.connect(server)
    clients.append(client)
    client.send("CAP LS")
    await client.expect("CAP")
    client.send("CAP LIST")
    assert (await client.expect("CAP")).params[1:] == ["LIST", ""]  # not implied without 302
    client.send("CAP REQ :cap-notify")
    assert (await client.expect("CAP")).params[1:] == ["ACK", "cap-notify"]
    client.send("CAP REQ :-cap-notify")
    assert (await client.expect("CAP")).params[1:] == ["ACK", "-cap-notify"]
    client.send("CAP LIST")
    assert (await client.expect("CAP")).params[1:] == ["LIST", ""]


async def test_cap_notify_stays_on_for_a_302_client(server, clients) -> None:
    # "servers MUST NOT disable the cap-notify capability if the client requests CAP LS
    # with a version of 302 or newer" and "capable servers MUST accept and CAP ACK the request"
    client = await LineClient.connect(server)
    clients.append(client)
    await cap_ls(client, "302")
    client.send("CAP REQ :cap-notify")
    assert (await client.expect("CAP")).params[1:] == ["ACK", "cap-notify"]
    client.send("CAP REQ :-cap-notify")
    assert (await client.expect("CAP")).params[1] == "NAK"
    client.send("CAP LIST")
    assert "cap-notify" in (await client.expect("CAP")).params[-1].split()


async def test_a_lower_cap_ls_version_gets_a_matching_reply_but_302_is_kept(server, clients) -> None:
    # "If a client sends a lower CAP version (or omits the version number entirely), servers
    # SHOULD return a CAP LS reply consistent with the request's version, but keep storing
    # the original (higher) version."
    client = await LineClient.connect(server)
    clients.append(client)
    _, offered = await cap_ls(client, "302")
    assert offered["draft/multiline"]
    client.send("CAP LS")
    plain = await client.expect("CAP")
    assert len(plain.params) == 3 and "=" not in plain.params[2]
    client.send("CAP LIST")
    assert "cap-notify" in (await client.expect("CAP")).params[-1].split()  # still a 302 client
    lines, offered = await cap_ls(client, "303")  # higher than 302: the 302 features
    assert offered["draft/multiline"] == "max-bytes=4096,max-lines=100"
    assert all(len(line.params) in (3, 4) for line in lines)


async def test_cap_req_without_ls_suspends_registration_until_cap_end(server, clients) -> None:
    # "If a server receives a REQ subcommand while client registration is in progress, it
    # MUST suspend registration until an END subcommand is received."
    client = await LineClient.connect(server)
    clients.append(client)
    client.send("CAP REQ :batch")
    client.send("NICK early")
    client.send("USER u 0 * :Early")
    got = await sync(client)
    assert [(m.command, m.params[1:]) for m in got] == [("CAP", ["ACK", "batch"])]
    client.send("CAP END")
    await client.expect("001")


async def test_cap_names_are_case_sensitive_and_requests_carry_no_values(server, clients) -> None:
    # "Capability names are case-sensitive"; values only in "CAP LS and CAP NEW replies".
    client = await LineClient.connect(server)
    clients.append(client)
    for request in ("BATCH", "draft/multiline=max-bytes=1", "-Batch"):
        client.send(f"CAP REQ :{request}")
        assert (await client.expect("CAP")).params[1:] == ["NAK", request]
    client.send("CAP REQ :batch ")  # trailing whitespace is no capability
    assert (await client.expect("CAP")).params[1:3] == ["ACK", "batch"]


async def test_cap_end_after_registration_is_ignored(server, clients) -> None:
    # "If the client is already registered, this command MUST be ignored by the server."
    alice = await capped(server, "alice", *LABELED)
    clients.append(alice)
    assert commands(await reply_to(alice, "CAP END")) == []
    (ack,) = await reply_to(alice, "@label=e1 CAP END")  # labeled-response: no reply, an ACK
    assert (ack.command, ack.tags) == ("ACK", {"label": "e1"})


async def test_cap_new_and_del_follow_a_rehash_that_changes_the_offer(make_oper_server, oper_hash, clients) -> None:  # noqa: F811
    server = await make_oper_server(toml=oper_toml(oper_hash) + "[history]\nenabled = false\n")
    ircop = await an_oper(server, "ircop")
    watcher = await LineClient.connect(server)
    clients.extend([ircop, watcher])
    _, offered = await cap_ls(watcher, "302")
    assert "draft/chathistory" not in offered
    watcher.send("NICK watcher")
    watcher.send("USER u 0 * :W")
    watcher.send("CAP END")
    await watcher.expect("376")
    path = Path(server.config_name)
    path.write_text(oper_toml(oper_hash) + "[history]\nenabled = true\n", encoding="utf-8")
    ircop.send("REHASH")
    assert (await ircop.expect("NOTICE", "ircop")).params[1] == "*** Configuration reloaded"
    newcomer = await LineClient.connect(server)
    clients.append(newcomer)
    assert "draft/chathistory" in (await cap_ls(newcomer, "302"))[1]  # the offer did change
    new = [m for m in await sync(watcher) if m.command == "CAP"]
    assert [m.params[1] for m in new] == ["NEW"]
    assert "draft/chathistory" in new[0].params[-1].split()
    path.write_text(oper_toml(oper_hash) + "[history]\nenabled = false\n", encoding="utf-8")
    ircop.send("REHASH")
    assert (await ircop.expect("NOTICE", "ircop")).params[1] == "*** Configuration reloaded"
    deleted = [m for m in await sync(watcher) if m.command == "CAP"]
    assert [m.params[1] for m in deleted] == ["DEL"]
    assert "draft/chathistory" in deleted[0].params[-1].split()


# -- labeled-response ------------------------------------------------------------------------


async def test_labeled_commands_that_change_nothing_get_an_ack(server, clients) -> None:
    # "Servers MUST respond with a labeled ACK message when a client sends a labeled command
    # that normally produces no response."
    alice = await capped(server, "alice", *LABELED, channels=("#room",))
    clients.append(alice)
    await sync(alice)
    for line in ("NICK alice", "JOIN #room", "MONITOR - nobody", "MONITOR C", "MODE #room +n", "PONG :x"):
        (ack,) = await reply_to(alice, f"@label=a1 {line}")
        assert (ack.command, ack.params, ack.tags) == ("ACK", [], {"label": "a1"}), line


async def test_a_nested_batch_inside_a_labeled_response_is_tagged_with_the_outer_batch(server, clients) -> None:
    # batch: "Start and end messages of one batch MAY refer to another batch. If they do,
    # they both MUST have batch tag, and they MUST refer to the same batch."
    bob = await capped(server, "bob", channels=("#room",))
    clients.append(bob)
    bob.send("METADATA * SET avatar :http://x")
    await sync(bob)
    alice = await capped(server, "alice", *LABELED, "draft/metadata-2")
    clients.append(alice)
    alice.send("METADATA * SUB avatar")
    await sync(alice)
    got = await reply_to(alice, "@label=j1 JOIN #room")
    outer = got[0]
    assert outer.command == "BATCH" and outer.tags == {"label": "j1"} and outer.params[1] == "labeled-response"
    ref = outer.params[0][1:]
    inner_open = next(m for m in got if m.command == "BATCH" and m.params[1:2] == ["metadata"])
    inner = inner_open.params[0][1:]
    inner_close = next(m for m in got if m.command == "BATCH" and m.params == ["-" + inner])
    assert inner_open.tags.get("batch") == ref and inner_close.tags.get("batch") == ref
    assert [m.params[1:] for m in got if m.tags.get("batch") == inner] == [["avatar", "*", "http://x"]]
    assert got[-1].params == ["-" + ref] and "batch" not in got[-1].tags
    assert set(batches(got)) == {ref, inner}


# -- message-tags ----------------------------------------------------------------------------


async def test_tag_values_round_trip_with_their_escapes(server, clients) -> None:
    # message-tags: the example `raw+:=,escaped\:\s\\`; "the escaped value `test\` should
    # unescape to `test`"; "Clients receiving messages with more than one occurrence of a tag
    # key SHOULD discard all but the final occurrence" (and keys are used "a maximum of once").
    alice = await capped(server, "alice", "message-tags", channels=("#room",))
    bob = await capped(server, "bob", "message-tags", channels=("#room",))
    clients.extend([alice, bob])
    await sync(alice)
    alice.send(r"@+example=raw+:=,escaped\:\s\\ PRIVMSG #room :one")
    alice.send("@+t=test\\ PRIVMSG #room :two")
    alice.send(r"@+t=a\r\nb PRIVMSG #room :three")
    alice.send("@+a=1;+a=2 PRIVMSG #room :four")
    one, two, three, four = [await bob.expect("PRIVMSG") for _ in range(4)]
    assert one.tags["+example"] == "raw+:=,escaped; \\"
    assert r"+example=raw+:=,escaped\:\s\\" in bob.raw[-4]
    assert two.tags["+t"] == "test"
    assert three.tags["+t"] == "a\r\nb" and r"+t=a\r\nb" in bob.raw[-2]
    assert four.tags["+a"] == "2" and bob.raw[-1].count("+a=") == 1


async def test_server_tags_come_before_client_only_tags(server, clients) -> None:
    # "Any server-initiated tags attached to messages MUST be included before client-only tags"
    alice = await capped(server, "alice", "message-tags", channels=("#room",))
    bob = await capped(server, "bob", "message-tags", "server-time", channels=("#room",))
    clients.extend([alice, bob])
    await sync(bob)
    alice.send("@+z=1;+a=2 PRIVMSG #room :hi")
    await bob.expect("PRIVMSG")
    names = [tag.split("=")[0] for tag in bob.raw[-1][1:].split(" ")[0].split(";")]
    first_client = min(i for i, name in enumerate(names) if name.startswith("+"))
    assert all(not name.startswith("+") for name in names[:first_client])
    assert all(name.startswith("+") for name in names[first_client:])
    assert {"msgid", "time"} <= set(names[:first_client])


# -- echo-message ------------------------------------------------------------------------------


async def test_echo_keeps_the_statusmsg_target_and_tagmsg_echo_needs_message_tags(server, clients) -> None:
    # echo-message: PRIVMSG and NOTICE come back as sent; "When the message-tags capability
    # has been enabled, the same rules apply to TAGMSG" and message-tags: "Servers MUST NOT
    # deliver TAGMSG to clients that haven't negotiated the message tags capability."
    alice = await capped(server, "alice", *LABELED, "echo-message", channels=("#room",))
    clients.append(alice)
    (echo,) = await reply_to(alice, "@label=s1 PRIVMSG @#room :ops only")
    assert (echo.command, echo.params, echo.tags.get("label")) == ("PRIVMSG", ["@#room", "ops only"], "s1")
    (echo,) = await reply_to(alice, "@label=s2 NOTICE +#room :voiced")
    assert (echo.command, echo.params) == ("NOTICE", ["+#room", "voiced"])
    (ack,) = await reply_to(alice, "@label=s3 TAGMSG #room")
    assert (ack.command, ack.tags) == ("ACK", {"label": "s3"})


# -- draft/multiline -------------------------------------------------------------------------


async def test_multiline_accepts_lowercase_privmsg_lines(server, clients) -> None:
    # multiline.md example: "Client: @batch=123 privmsg #channel :how is<SPACE>"
    alice = await capped(server, "alice", "batch", "draft/multiline", "echo-message", channels=("#room",))
    bob = await capped(server, "bob", channels=("#room",))
    clients.extend([alice, bob])
    await sync(bob)
    alice.send("BATCH +1 draft/multiline #room")
    alice.send("@batch=1 privmsg #room :lower")
    alice.send("@batch=1 PRIVMSG #room :upper")
    alice.send("BATCH -1")
    echo = await sync(alice)
    assert [m.params for m in echo if m.command == "PRIVMSG"] == [["#room", "lower"], ["#room", "upper"]]
    assert [m.params for m in await sync(bob)] == [["#room", "lower"], ["#room", "upper"]]


# -- draft/chathistory -----------------------------------------------------------------------


async def say_later(client: LineClient, channel: str, after: str) -> str:
    """Send to `channel` (with echo-message) until the echo's time is later than `after`;
    that time. Lets a test order conversations by time without sleeping."""
    while True:
        client.send(f"PRIVMSG {channel} :x")
        echo = await client.expect("PRIVMSG")
        if echo.tags["time"] > after:
            return echo.tags["time"]


async def targets(client: LineClient, line: str) -> list[list[str]]:
    client.send(line)
    opening = await client.expect("BATCH")
    assert opening.params[1] == "draft/chathistory-targets"
    listed = await client.collect_until("BATCH")
    assert all(m.params[0] == "TARGETS" for m in listed if m.command == "CHATHISTORY")
    return [m.params[1:] for m in listed if m.command == "CHATHISTORY"]


async def test_chathistory_batch_names_the_target_canonically(server, clients) -> None:
    # chathistory: "the batch MUST have type chathistory and take a single additional
    # parameter, the canonical name of the target being queried."
    alice = await capped(server, "alice", "batch", "draft/chathistory", channels=("#Room",))
    clients.append(alice)
    alice.send("PRIVMSG #Room :hello")
    for asked in ("#ROOM", "#room"):
        alice.send(f"CHATHISTORY LATEST {asked} * 10")
        opening = await alice.expect("BATCH")
        assert opening.params[1:] == ["chathistory", "#Room"]
        await alice.collect_until("BATCH")


async def test_chathistory_targets_gives_each_conversations_latest_time(server, clients) -> None:
    alice = await capped(server, "alice", "batch", "draft/chathistory", "server-time", "echo-message",
                         channels=("#mm", "#aa", "#zz"))  # fmt: skip
    clients.append(alice)
    await sync(alice)
    t1 = await say_later(alice, "#mm", "")
    t2 = await say_later(alice, "#aa", t1)
    t3 = await say_later(alice, "#zz", t2)
    t4 = await say_later(alice, "#mm", t3)
    got = await targets(alice, f"CHATHISTORY TARGETS {EARLY} {LATE} 10")
    assert sorted(got) == [["#aa", t2], ["#mm", t4], ["#zz", t3]]  # each with its latest message's time


async def test_chathistory_targets_limit_counts_from_the_first_timestamp(server, clients) -> None:
    alice = await capped(server, "alice", "batch", "draft/chathistory", "server-time", "echo-message",
                         channels=("#mm", "#aa", "#zz"))  # fmt: skip
    clients.append(alice)
    await sync(alice)
    t1 = await say_later(alice, "#mm", "")
    t2 = await say_later(alice, "#aa", t1)
    t3 = await say_later(alice, "#zz", t2)
    await say_later(alice, "#mm", t3)
    forwards = await targets(alice, f"CHATHISTORY TARGETS {EARLY} {LATE} 1")
    backwards = await targets(alice, f"CHATHISTORY TARGETS {LATE} {EARLY} 1")
    assert [name for name, _ in backwards] == ["#mm"]  # counted from the late end: the newest
    assert [name for name, _ in forwards] == ["#aa"]  # counted from the early end: the oldest


# -- draft/read-marker -----------------------------------------------------------------------


async def test_markread_on_join_comes_before_end_of_names(server, clients) -> None:
    # read-marker: "after the server sends a server JOIN command to the client for a
    # corresponding channel, the server MUST send a MARKREAD command for that channel. The
    # command MUST be sent before the RPL_ENDOFNAMES reply for that channel following the JOIN."
    alice = await capped(server, "alice", "draft/read-marker")
    plain = await capped(server, "plain")
    clients.extend([alice, plain])
    got = await reply_to(alice, "JOIN #room")
    assert commands(got).index("JOIN") < commands(got).index("MARKREAD") < commands(got).index("366")
    assert next(m for m in got if m.command == "MARKREAD").params == ["#room", "*"]
    assert "MARKREAD" not in commands(await reply_to(plain, "JOIN #room"))


async def test_markread_get_answers_with_the_canonical_target(server, clients) -> None:
    # "The server MUST reply to a successful MARKREAD get command using a MARKREAD server command"
    alice = await capped(server, "alice", "draft/read-marker", channels=("#Room",))
    clients.append(alice)
    (reply,) = await reply_to(alice, "MARKREAD #ROOM")
    assert (reply.command, reply.params) == ("MARKREAD", ["#Room", "*"])


# -- MONITOR -----------------------------------------------------------------------------------


async def test_monitor_list_full_names_the_targets_as_sent(make_server, clients) -> None:
    # monitor: "the <targets> parameter is the list of targets, as the client sent them,
    # that cannot be added"; "Targets already in the list MUST NOT be added again."
    server = await make_server("limits.monitor=2")
    alice = await capped(server, "alice")
    clients.append(alice)
    alice.send("MONITOR + Bob,bob,BOB")
    await sync(alice)
    alice.send("MONITOR L")
    listed = await alice.collect_until("733")
    assert [m.params[1] for m in listed if m.command == "732"] == ["Bob"]
    replies = await reply_to(alice, "MONITOR + Carol,DaVe,Eve")
    full = next(m for m in replies if m.command == "734")
    assert full.params == ["alice", "2", "DaVe,Eve", "Monitor list is full."]


# -- bot mode ----------------------------------------------------------------------------------


async def test_bot_tag_on_everything_a_bot_sends_and_only_with_message_tags(server, clients) -> None:
    # bot-mode: "This tag SHOULD be added by the server to all commands sent by a bot (e.g.
    # PRIVMSG, JOIN, MODE, NOTICE, and all others)... This tag MUST only be sent to users who
    # have requested the message-tags capability. Servers MUST NOT send this tag with a value"
    bot = await capped(server, "bot", channels=("#room",))
    tagged = await capped(server, "tagged", "message-tags", channels=("#room",))
    timed = await capped(server, "timed", "server-time", channels=("#room",))
    kicked = await capped(server, "kicked", channels=("#room",))
    clients.extend([bot, tagged, timed, kicked])
    bot.send("MODE bot +B")
    await sync(bot)
    await sync(tagged)
    await sync(timed)
    for line in ("TOPIC #room :t", "MODE #room +v tagged", "KICK #room kicked", "PART #room", "JOIN #room",
                 "PRIVMSG #room :hi", "NOTICE #room :note"):  # fmt: skip
        bot.send(line)
    await sync(bot)
    seen = [m for m in await sync(tagged) if m.source == mask("bot")]
    assert commands(seen) == ["TOPIC", "MODE", "KICK", "PART", "JOIN", "PRIVMSG", "NOTICE"]
    assert all(m.tags.get("bot") == "" and m.tags.get("draft/bot") == "" for m in seen)
    raw_tags = [
        line.split(" ")[0][1:].split(";") for line in tagged.raw if line.startswith("@") and mask("bot") in line
    ]
    assert raw_tags and all("bot" in tags and "draft/bot" in tags for tags in raw_tags)  # no value
    assert all("bot" not in m.tags and "draft/bot" not in m.tags for m in await sync(timed))
