"""Bad input to the history commands (CHATHISTORY, SEARCH, MARKREAD, REDACT), over real sockets.

The rule every case checks: bad input gets the standard reply the spec names (a FAIL
for the command, or the dispatcher's numeric where the spec names none), nothing else;
the connection stays usable (the PING sent after it gets its PONG: `sync`); and the
server is unharmed (another client still hears what is said in the channel).
"""

from __future__ import annotations

import pytest

from hubbub.app import Runtime
from hubbub.irc.message import Message
from tests.e2e_caps.support import capped
from tests.e2e_history.test_chathistory import HISTORY, history, talk
from tests.helpers import LineClient, commands, connected, sync

SEARCH_CAPS = (*HISTORY, "soju.im/search")
GOOD = "timestamp=2026-01-01T00:00:00.000Z"
LONG_CHANNEL = "#" + "x" * 400  # fits in a 512-byte line


async def answer(client: LineClient, line: str) -> list[Message]:
    """Send `line`; all the server answered before the PONG of a PING sent after it."""
    client.send(line)
    return await sync(client)


async def one_fail(client: LineClient, line: str, *expected: str) -> Message:
    """Send `line`: exactly one FAIL comes back, its params starting with `expected`."""
    got = await answer(client, line)
    assert commands(got) == ["FAIL"], (line, [m.to_line() for m in got])
    assert got[0].params[: len(expected)] == list(expected), (line, got[0].to_line())
    assert got[0].params[-1], got[0]  # a description for people
    return got[0]


async def still_chatting(server: Runtime, speaker: LineClient, clients: list[LineClient]) -> None:
    """The server still relays: a new client in #c hears `speaker` (who is in #c), after any replay."""
    witness = await connected(server, "witness", "#c")
    clients.append(witness)
    speaker.send("PRIVMSG #c :still here")
    heard = await witness.expect(lambda m: m.command == "PRIVMSG" and m.params == ["#c", "still here"])
    assert heard.source.startswith(speaker.nick + "!")


# -- CHATHISTORY ----------------------------------------------------------------------------

CHATHISTORY_CASES = [
    # the wrong number of parameters, an unknown subcommand
    ("CHATHISTORY", ["NEED_MORE_PARAMS", "*"]),
    ("CHATHISTORY LATEST", ["NEED_MORE_PARAMS", "LATEST"]),
    ("CHATHISTORY LATEST #c", ["NEED_MORE_PARAMS", "LATEST"]),
    ("CHATHISTORY BEFORE #c 10", ["NEED_MORE_PARAMS", "BEFORE"]),
    (f"CHATHISTORY BETWEEN #c {GOOD} 10", ["NEED_MORE_PARAMS", "BETWEEN"]),
    (f"CHATHISTORY AROUND #c {GOOD} 10 extra", ["INVALID_PARAMS", "AROUND"]),
    ("CHATHISTORY FROBNICATE #c * 10", ["UNKNOWN_COMMAND", "FROBNICATE"]),
    ("CHATHISTORY frobnicate", ["UNKNOWN_COMMAND", "frobnicate"]),
    # limits that are not a count
    ("CHATHISTORY LATEST #c * -1", ["INVALID_PARAMS", "LATEST", "-1"]),
    ("CHATHISTORY LATEST #c * abc", ["INVALID_PARAMS", "LATEST", "abc"]),
    ("CHATHISTORY LATEST #c * 1.5", ["INVALID_PARAMS", "LATEST", "1.5"]),
    ("CHATHISTORY LATEST #c * +5", ["INVALID_PARAMS", "LATEST", "+5"]),
    ("CHATHISTORY LATEST #c * \uff11\uff10", ["INVALID_PARAMS", "LATEST", "\uff11\uff10"]),  # fullwidth "10"
    ("CHATHISTORY LATEST #c * :", ["INVALID_PARAMS", "LATEST", "*"]),  # empty: shown as *
    (f"CHATHISTORY BEFORE #c {GOOD} -5", ["INVALID_PARAMS", "BEFORE", "-5"]),
    # `*` is a reference for LATEST only
    ("CHATHISTORY BEFORE #c * 10", ["INVALID_PARAMS", "BEFORE", "*"]),
    ("CHATHISTORY AFTER #c * 10", ["INVALID_PARAMS", "AFTER", "*"]),
    ("CHATHISTORY AROUND #c * 10", ["INVALID_PARAMS", "AROUND", "*"]),
    ("CHATHISTORY BETWEEN #c * * 10", ["INVALID_PARAMS", "BETWEEN", "*"]),
    (f"CHATHISTORY BETWEEN #c {GOOD} * 10", ["INVALID_PARAMS", "BETWEEN", "*"]),
    # malformed references
    ("CHATHISTORY BEFORE #c msgid= 10", ["INVALID_PARAMS", "BEFORE", "msgid="]),
    ("CHATHISTORY BEFORE #c timestamp= 10", ["INVALID_PARAMS", "BEFORE", "timestamp="]),
    ("CHATHISTORY BEFORE #c timestamp=garbage 10", ["INVALID_PARAMS", "BEFORE", "timestamp=garbage"]),
    ("CHATHISTORY AFTER #c timestamp=0000-01-01T00:00:00.000Z 10",
     ["INVALID_PARAMS", "AFTER", "timestamp=0000-01-01T00:00:00.000Z"]),
    ("CHATHISTORY AFTER #c timestamp=2026-13-45T99:99:99.999Z 10",
     ["INVALID_PARAMS", "AFTER", "timestamp=2026-13-45T99:99:99.999Z"]),
    ("CHATHISTORY AFTER #c timestamp=2026-01-01 10", ["INVALID_PARAMS", "AFTER", "timestamp=2026-01-01"]),
    ("CHATHISTORY AFTER #c timestamp=2026-01-01T00:00:00.000 10",
     ["INVALID_PARAMS", "AFTER", "timestamp=2026-01-01T00:00:00.000"]),  # no Z
    ("CHATHISTORY AROUND #c nothing 10", ["INVALID_PARAMS", "AROUND", "nothing"]),  # no `=`
    ("CHATHISTORY AROUND #c =x 10", ["INVALID_PARAMS", "AROUND", "=x"]),
    ("CHATHISTORY AROUND #c time=2026-01-01T00:00:00Z 10", ["INVALID_PARAMS", "AROUND", "time=2026-01-01T00:00:00Z"]),
    ("CHATHISTORY LATEST #c msgid 10", ["INVALID_PARAMS", "LATEST", "msgid"]),
    (f"CHATHISTORY BETWEEN #c {GOOD} timestamp=soon 10", ["INVALID_PARAMS", "BETWEEN", "timestamp=soon"]),
    # targets that do not exist (checked after the rest is valid)
    ("CHATHISTORY LATEST #nowhere * 10", ["INVALID_TARGET", "LATEST", "#nowhere"]),
    ("CHATHISTORY LATEST # * 10", ["INVALID_TARGET", "LATEST", "#"]),
    ("CHATHISTORY LATEST #c,#d * 10", ["INVALID_TARGET", "LATEST", "#c,#d"]),
    ("CHATHISTORY LATEST #c\x01 * 10", ["INVALID_TARGET", "LATEST", "#c\x01"]),
    ("CHATHISTORY LATEST #\u00e9\u65e5 * 10", ["INVALID_TARGET", "LATEST", "#\u00e9\u65e5"]),
    ("CHATHISTORY LATEST * * 10", ["INVALID_TARGET", "LATEST", "*"]),
    ("CHATHISTORY LATEST nobody * 10", ["INVALID_TARGET", "LATEST", "nobody"]),
    (f"CHATHISTORY BEFORE {LONG_CHANNEL} {GOOD} 10", ["INVALID_TARGET", "BEFORE", LONG_CHANNEL]),
    # TARGETS takes two timestamps and a limit
    ("CHATHISTORY TARGETS", ["NEED_MORE_PARAMS", "TARGETS"]),
    (f"CHATHISTORY TARGETS {GOOD} 10", ["NEED_MORE_PARAMS", "TARGETS"]),
    (f"CHATHISTORY TARGETS {GOOD} {GOOD} 10 extra", ["INVALID_PARAMS", "TARGETS"]),
    (f"CHATHISTORY TARGETS timestamp=garbage {GOOD} 10", ["INVALID_PARAMS", "TARGETS"]),
    (f"CHATHISTORY TARGETS {GOOD} timestamp=2026-13-45T99:99:99.999Z 10", ["INVALID_PARAMS", "TARGETS"]),
    (f"CHATHISTORY TARGETS msgid=abc {GOOD} 10", ["INVALID_PARAMS", "TARGETS"]),
    ("CHATHISTORY TARGETS * * 10", ["INVALID_PARAMS", "TARGETS"]),
    (f"CHATHISTORY TARGETS {GOOD} {GOOD} -1", ["INVALID_PARAMS", "TARGETS"]),
    (f"CHATHISTORY TARGETS {GOOD} {GOOD} many", ["INVALID_PARAMS", "TARGETS"]),
]  # fmt: skip


@pytest.mark.parametrize(("line", "expected"), CHATHISTORY_CASES, ids=[c[0][:60] for c in CHATHISTORY_CASES])
async def test_bad_chathistory_gets_a_standard_reply(server, clients, line: str, expected: list[str]) -> None:
    alice = await capped(server, "alice", *HISTORY, channels=("#c",))
    clients.append(alice)
    await one_fail(alice, line, "CHATHISTORY", *expected)
    assert await history(alice, "CHATHISTORY LATEST #c * 10") == []  # the next request is served
    await still_chatting(server, alice, clients)


async def test_a_line_too_long_for_a_target_is_refused_and_the_connection_stays(server, clients) -> None:
    alice = await capped(server, "alice", *HISTORY, channels=("#c",))
    clients.append(alice)
    target = "#" + "x" * 499  # 500 bytes: the line is longer than 512
    got = await answer(alice, f"CHATHISTORY LATEST {target} * 10")
    assert commands(got) == ["417"]  # ERR_INPUTTOOLONG
    await one_fail(alice, "CHATHISTORY LATEST #nowhere * 10", "CHATHISTORY", "INVALID_TARGET")
    await still_chatting(server, alice, clients)


async def test_odd_but_valid_chathistory_requests_get_a_batch(stored, clients) -> None:
    """Edge values that are not errors: limit 0 and limits above CHATHISTORY= mean the
    maximum; times far in the past or future; msgids that name nothing here (unknown,
    or of another channel); BETWEEN one bound and itself."""
    server = await stored("history.chathistory_max=3")
    alice = await capped(server, "alice", *HISTORY, "echo-message", channels=("#c", "#d"))
    clients.append(alice)
    echoes = await talk(alice, "#c", *(f"m{i}" for i in range(5)))
    elsewhere = (await talk(alice, "#d", "in d"))[0].tags["msgid"]
    ids = [e.tags["msgid"] for e in echoes]
    last3 = ["m2", "m3", "m4"]

    async def texts(line: str) -> list[str]:
        return [m.params[-1] for m in await history(alice, line)]

    assert await texts("CHATHISTORY LATEST #c * 0") == last3
    assert await texts("CHATHISTORY LATEST #c * 4") == last3
    assert await texts("CHATHISTORY LATEST #c * " + "9" * 300) == last3
    assert await texts("CHATHISTORY latest #c * 1") == ["m4"]  # the subcommand in any case
    assert await texts("CHATHISTORY BEFORE #c timestamp=9999-12-31T23:59:59.999Z 10") == last3
    assert await texts("CHATHISTORY AFTER #c timestamp=0001-01-01T00:00:00.000Z 10") == ["m0", "m1", "m2"]
    assert await texts("CHATHISTORY AFTER #c timestamp=9999-12-31T23:59:59.999Z 10") == []
    assert await texts("CHATHISTORY BEFORE #c timestamp=0001-01-01T00:00:00.000Z 10") == []
    assert await texts("CHATHISTORY LATEST #c timestamp=0001-01-01T00:00:00Z 10") == last3  # no milliseconds
    for sub in ("BEFORE", "AFTER", "AROUND", "LATEST"):
        assert await texts(f"CHATHISTORY {sub} #c msgid=doesnotexist 10") == []
        assert await texts(f"CHATHISTORY {sub} #c msgid={elsewhere} 10") == []  # #d's: nothing leaks
    assert await texts(f"CHATHISTORY BETWEEN #c msgid=nope msgid={ids[4]} 10") == []
    assert await texts(f"CHATHISTORY BETWEEN #c msgid={ids[2]} msgid={ids[2]} 10") == []
    assert await texts(f"CHATHISTORY BETWEEN #c {GOOD} {GOOD} 10") == []
    assert await texts(f"CHATHISTORY AROUND #c msgid={ids[2]} 1") == ["m2"]
    alice.send("CHATHISTORY TARGETS timestamp=9999-12-31T23:59:59.999Z timestamp=0001-01-01T00:00:00.000Z 0")
    assert (await alice.expect("BATCH")).params[1] == "draft/chathistory-targets"
    listed = await alice.collect_until("BATCH")
    assert sorted(m.params[1] for m in listed if m.command == "CHATHISTORY") == ["#c", "#d"]
    await still_chatting(server, alice, clients)


async def test_a_burst_of_good_and_bad_requests_is_answered_in_order(stored, clients) -> None:
    server = await stored()
    alice = await capped(server, "alice", *HISTORY, "echo-message", channels=("#c",))
    clients.append(alice)
    await talk(alice, "#c", "hello")
    lines = ["CHATHISTORY LATEST #c * x", "CHATHISTORY LATEST #c * 10", "CHATHISTORY BEFORE #c * 1",
             "CHATHISTORY LATEST #nowhere * 10", "CHATHISTORY LATEST #c * 10", "CHATHISTORY FROB"] * 5  # fmt: skip
    for line in lines:
        alice.send(line)
    got = await sync(alice)
    shape = [m.command if m.command != "FAIL" else m.params[1] for m in got]
    one_round = ["INVALID_PARAMS", "BATCH", "PRIVMSG", "BATCH", "INVALID_PARAMS", "INVALID_TARGET",
                 "BATCH", "PRIVMSG", "BATCH", "UNKNOWN_COMMAND"]  # fmt: skip
    assert shape == one_round * 5
    await still_chatting(server, alice, clients)


# -- SEARCH ---------------------------------------------------------------------------------

SEARCH_CASES = [
    ("SEARCH :", "in"),
    ("SEARCH in=", "in"),
    ("SEARCH ;;;", "in"),
    ("SEARCH =x;in", "in"),
    ("SEARCH text=hello", "in"),
    ("SEARCH in=#nowhere;text=x", "in"),
    ("SEARCH in=*;text=x", "in"),
    ("SEARCH in=nobody;text=x", "in"),
    ("SEARCH in=#c;in=#nowhere", "in"),  # the last one counts
    ("SEARCH in=#c;limit=-1", "limit"),
    ("SEARCH in=#c;limit=abc", "limit"),
    ("SEARCH in=#c;limit=0", "limit"),
    ("SEARCH in=#c;limit=", "limit"),
    ("SEARCH in=#c;limit=1.5", "limit"),
    ("SEARCH in=#c;before=garbage", "before"),
    ("SEARCH in=#c;before=timestamp=", "before"),
    ("SEARCH in=#c;after=2026-13-45T99:99:99.999Z", "after"),
    ("SEARCH in=#c;after=0000-01-01T00:00:00.000Z", "after"),
]


@pytest.mark.parametrize(("line", "context"), SEARCH_CASES, ids=[c[0] for c in SEARCH_CASES])
async def test_bad_search_gets_a_standard_reply(server, clients, line: str, context: str) -> None:
    alice = await capped(server, "alice", *SEARCH_CAPS, channels=("#c",))
    clients.append(alice)
    await one_fail(alice, line, "SEARCH", "INVALID_PARAMS", context)
    await still_chatting(server, alice, clients)


async def test_odd_but_valid_search_requests_get_a_batch(stored, clients) -> None:
    """Unknown attributes are ignored; search syntax of the databases is only text; huge
    limits and times far away are no errors; a long text just finds nothing."""
    server = await stored("history.chathistory_max=2")
    alice = await capped(server, "alice", *SEARCH_CAPS, "echo-message", channels=("#c",))
    clients.append(alice)
    await talk(alice, "#c", "hello world", "hello again", "hello there")

    async def search(line: str) -> list[str]:
        alice.send(line)
        opening = await alice.expect("BATCH")
        assert opening.params[1] == "soju.im/search", opening
        found = await alice.collect_until(lambda m: m.command == "BATCH" and m.params == ["-" + opening.params[0][1:]])
        return [m.params[-1] for m in found[:-1]]

    assert await search("SEARCH in=#c;frobnicate=1;text=world") == ["hello world"]
    assert await search("SEARCH in=#c;text=hello;limit=" + "9" * 300) == ["hello again", "hello there"]
    for text in ('"*:-NEAR(AND', "NEAR(hello\\sworld)", "%", "x" * 440, "\u65e5\u672c\\s\u00e9"):
        assert await search(f"SEARCH in=#c;text={text}") == [], text
    assert await search("SEARCH in=#c;from=%_*") == []
    assert await search("SEARCH in=#c;text=hello;before=0001-01-01T00:00:00.000Z") == []
    assert await search("SEARCH in=#c;text=hello;after=9999-12-31T23:59:59.999Z") == []
    assert await search("SEARCH in=#c;text=world;after=0001-01-01T00:00:00Z;before=9999-12-31T23:59:59Z") == [
        "hello world"
    ]
    await still_chatting(server, alice, clients)


# -- MARKREAD -------------------------------------------------------------------------------

MARKREAD_CASES = [
    ("MARKREAD", ["NEED_MORE_PARAMS"]),
    ("MARKREAD #nowhere", ["INVALID_PARAMS", "#nowhere"]),
    (f"MARKREAD #nowhere {GOOD}", ["INVALID_PARAMS", "#nowhere"]),
    (f"MARKREAD nobody {GOOD}", ["INVALID_PARAMS", "nobody"]),
    (f"MARKREAD * {GOOD}", ["INVALID_PARAMS", "*"]),
    (f"MARKREAD {LONG_CHANNEL} {GOOD}", ["INVALID_PARAMS", LONG_CHANNEL]),
    ("MARKREAD #c timestamp=garbage", ["INVALID_PARAMS", "timestamp=garbage"]),
    ("MARKREAD #c timestamp=", ["INVALID_PARAMS", "timestamp="]),
    ("MARKREAD #c *", ["INVALID_PARAMS", "*"]),  # a client may not set `*`
    ("MARKREAD #c msgid=abc", ["INVALID_PARAMS", "msgid=abc"]),
    ("MARKREAD #c timestamp=2026-13-45T99:99:99.999Z", ["INVALID_PARAMS", "timestamp=2026-13-45T99:99:99.999Z"]),
    ("MARKREAD #c timestamp=0000-01-01T00:00:00.000Z", ["INVALID_PARAMS", "timestamp=0000-01-01T00:00:00.000Z"]),
]


@pytest.mark.parametrize(("line", "expected"), MARKREAD_CASES, ids=[c[0][:60] for c in MARKREAD_CASES])
async def test_bad_markread_gets_a_standard_reply(server, clients, line: str, expected: list[str]) -> None:
    alice = await capped(server, "alice", *HISTORY, "draft/read-marker", channels=("#c",))
    clients.append(alice)
    await one_fail(alice, line, "MARKREAD", *expected)
    assert commands(await answer(alice, "MARKREAD #c")) == ["MARKREAD"]  # the next one is served
    await still_chatting(server, alice, clients)


# -- REDACT ---------------------------------------------------------------------------------


async def test_bad_redact_gets_a_standard_reply_and_deletes_nothing(stored, clients) -> None:
    server = await stored()
    caps = (*HISTORY, "draft/message-redaction", "echo-message")
    alice = await capped(server, "alice", *caps, channels=("#c", "#d"))
    clients.append(alice)
    in_c = (await talk(alice, "#c", "kept in c"))[0].tags["msgid"]
    in_d = (await talk(alice, "#d", "kept in d"))[0].tags["msgid"]
    for line in ("REDACT", "REDACT #c"):  # the spec names no FAIL for this: the dispatcher's 461
        got = await answer(alice, line)
        assert [(m.command, m.params[1]) for m in got] == [("461", "REDACT")], line
    await one_fail(alice, "REDACT #c nosuchmsgid", "REDACT", "UNKNOWN_MSGID", "#c", "nosuchmsgid")
    await one_fail(alice, f"REDACT #c {in_d}", "REDACT", "UNKNOWN_MSGID", "#c", in_d)  # #d's, asked in #c
    await one_fail(alice, f"REDACT #d {in_c} :" + "r" * 400, "REDACT", "UNKNOWN_MSGID", "#d", in_c)
    await one_fail(alice, f"REDACT #nowhere {in_c}", "REDACT", "INVALID_TARGET", "#nowhere")
    await one_fail(alice, f"REDACT {LONG_CHANNEL} {in_c}", "REDACT", "INVALID_TARGET", LONG_CHANNEL)
    await one_fail(alice, f"REDACT nobody {in_c}", "REDACT", "INVALID_TARGET", "nobody")
    assert [m.params[-1] for m in await history(alice, "CHATHISTORY LATEST #c * 10")] == ["kept in c"]
    assert [m.params[-1] for m in await history(alice, "CHATHISTORY LATEST #d * 10")] == ["kept in d"]
    await still_chatting(server, alice, clients)


async def test_a_very_long_redact_reason_is_relayed_within_the_line_limit(stored, clients) -> None:
    server = await stored()
    caps = (*HISTORY, "draft/message-redaction", "echo-message")
    alice = await capped(server, "alice", *caps, channels=("#c",))
    bob = await capped(server, "bob", *caps, channels=("#c",))
    clients.extend([alice, bob])
    msgid = (await talk(alice, "#c", "oops"))[0].tags["msgid"]
    reason = "\u00e9" * 240  # 480 bytes: the relayed line, with its source, would pass 512
    alice.send(f"REDACT #c {msgid} :{reason}")
    for client in (alice, bob):
        redact = await client.expect("REDACT")
        assert redact.params[:2] == ["#c", msgid] and reason.startswith(redact.params[2])
        line = client.raw[-1].encode()
        assert len(line.split(b" ", 1)[1]) + 2 <= 512  # without its tags, CRLF included
    assert await history(bob, "CHATHISTORY LATEST #c * 10") == []
    await still_chatting(server, alice, clients)


# -- without the capability, and before registration ------------------------------------------

WITHOUT_CAPS = [
    ("CHATHISTORY FROBNICATE #c * 10", ["CHATHISTORY", "UNKNOWN_COMMAND", "FROBNICATE"]),
    ("CHATHISTORY LATEST #c * abc", ["CHATHISTORY", "INVALID_PARAMS", "LATEST", "abc"]),
    ("CHATHISTORY BEFORE #c timestamp=garbage 10", ["CHATHISTORY", "INVALID_PARAMS", "BEFORE"]),
    ("CHATHISTORY LATEST #nowhere * 10", ["CHATHISTORY", "INVALID_TARGET", "LATEST", "#nowhere"]),
    ("CHATHISTORY TARGETS * * 10", ["CHATHISTORY", "INVALID_PARAMS", "TARGETS"]),
    ("SEARCH in=#c;limit=abc", ["SEARCH", "INVALID_PARAMS", "limit"]),
    ("SEARCH in=#nowhere", ["SEARCH", "INVALID_PARAMS", "in"]),
    ("MARKREAD", ["MARKREAD", "NEED_MORE_PARAMS"]),
    ("MARKREAD #c timestamp=garbage", ["MARKREAD", "INVALID_PARAMS"]),
    ("MARKREAD #nowhere", ["MARKREAD", "INVALID_PARAMS", "#nowhere"]),
    ("REDACT #c nosuchmsgid", ["REDACT", "UNKNOWN_MSGID", "#c", "nosuchmsgid"]),
    ("REDACT #nowhere abc", ["REDACT", "INVALID_TARGET", "#nowhere"]),
]


@pytest.mark.parametrize(("line", "expected"), WITHOUT_CAPS, ids=[c[0] for c in WITHOUT_CAPS])
async def test_without_the_capability_bad_input_gets_the_same_reply(server, clients, line, expected) -> None:
    """The specs ask clients to negotiate first, and name no other reply for one that did
    not: the server validates alike, and standard replies go to every client."""
    plain = await connected(server, "plain", "#c")
    clients.append(plain)
    await one_fail(plain, line, *expected)
    await still_chatting(server, plain, clients)


@pytest.mark.parametrize(
    "line",
    ["CHATHISTORY LATEST #c * 10", "CHATHISTORY FROBNICATE", "CHATHISTORY TARGETS * * x", "SEARCH in=#c;limit=-1",
     "MARKREAD #c timestamp=garbage", "MARKREAD", "REDACT #c abc", "REDACT"],
)  # fmt: skip
async def test_before_registration_history_commands_get_not_registered(server, clients, line: str) -> None:
    early = await LineClient.connect(server)
    clients.append(early)
    early.send("NICK early")  # an IRC line first (a line like `MARKREAD #c` would start plain mode)
    early.send(line)
    early.send("PING before")
    assert (await early.expect("451")).params[0] == "early"
    await early.expect("PONG")
    assert "FAIL" not in commands(early.received) and "BATCH" not in commands(early.received)
    early.send("USER u 0 * :Early")
    await early.expect("001")
    await early.expect(lambda m: m.command in ("376", "422"))
    early.nick = "early"
    await early.join("#c")
    await still_chatting(server, early, clients)
