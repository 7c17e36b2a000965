"""An audit of one conversation seen through the three ways in, over real sockets: an IRC
client over TCP (with the IRCv3 capabilities a modern client takes, and one without any),
a person in the plain text mode on the same port, and an IRC-over-WebSocket client on
the web listener, all in one channel.

Every kind of event is driven from each side, and each side is checked to see it exactly
once, in order, in the form its protocol promises: IRC lines with their tags for the IRC
and WebSocket clients (a WebSocket frame holding one line, no CR or LF, valid UTF-8), words
for the person (no IRC syntax, no tags, nothing a terminal would act on). What one side
sends never breaks another's connection.

To know that everything caused so far has arrived, without sleeping: an IRC connection is
sent a PING and read up to its PONG (tests.helpers.sync); the person is sent a private
message by a connection of its own (`Party.settle`), read up to it. Strict xfails are bugs,
their reason saying what goes wrong; each asserts the right behaviour.
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import WSMsgType

from hubbub import __version__
from hubbub.app import Runtime
from hubbub.irc.message import Message
from tests.e2e_accounts.support import registered_account
from tests.e2e_limits.test_more_plain import terminal_safe
from tests.helpers import LOBBY_CREATOR_OP, STAMP, LineClient, connect_plain, connected, sync
from tests.web.wsclient import WsClient

CAPS = ("message-tags server-time echo-message batch draft/multiline account-tag extended-join away-notify "
        "setname chghost draft/message-redaction")  # fmt: skip
IRC_LINE = re.compile(r"^(@\S+ )?:\S+ ([A-Z]+|\d{3}) ")  # what a person must never be shown

MakeServer = Callable[..., Awaitable[Runtime]]


@pytest.fixture
async def closing() -> AsyncIterator[list[LineClient | WsClient]]:
    """Connections to close at the end of a test (TCP and WebSocket alike)."""
    opened: list[LineClient | WsClient] = []
    yield opened
    for client in opened:
        await client.close()


async def irc_with_caps(server: Runtime, nick: str, caps: str = CAPS) -> LineClient:
    client = await LineClient.connect(server)
    client.send(f"CAP REQ :{caps}")
    assert (await client.expect("CAP")).params[1] == "ACK"
    client.send("CAP END")
    await client.register(nick)
    return client


async def web_with_caps(server: Runtime, nick: str, caps: str | None = CAPS,
                        protocols: tuple[str, ...] = ("text.ircv3.net",)) -> WsClient:  # fmt: skip
    web = await WsClient.connect(server, protocols=protocols)
    if caps:
        await web.send(f"CAP REQ :{caps}")
        assert (await web.expect("CAP")).params[1] == "ACK"
        await web.send("CAP END")
    await web.register(nick)
    return web


@dataclass
class Party:
    """alice (IRC over TCP, every cap), webby (IRC over WebSocket, every cap), bob (a person
    with netcat) and carl (IRC over TCP, no cap), all in #lobby, every JOIN read; and clock,
    a connection in no channel that tells when the person has everything."""

    server: Runtime
    irc: LineClient
    web: WsClient
    plain: LineClient
    bare: LineClient
    clock: LineClient
    ticks: int = 0
    marks: dict[str, int] = field(default_factory=dict)

    async def settle(self, web: bool = True) -> None:
        """Everything caused before this call has reached all four (each PONG or tick read;
        not the WebSocket's without `web`, once it has left)."""
        await sync(self.irc)
        await sync(self.bare)
        self.ticks += 1
        if web:
            await self.web.sync(f"settle-{self.ticks}")
        self.clock.send(f"PRIVMSG {self.plain.nick} :tick-{self.ticks}")
        await self.plain.expect_text(rf"^\[private\] clock: tick-{self.ticks}$")

    def mark(self) -> None:
        """From here on is what `seen` reports."""
        self.marks = {"irc": len(self.irc.received), "bare": len(self.bare.received),
                      "web": len(self.web.received), "plain": len(self.plain.raw)}  # fmt: skip

    def seen(self, who: str) -> list[Message]:
        """What an IRC side got since `mark`, the PONGs of `settle` left out."""
        client = {"irc": self.irc, "bare": self.bare, "web": self.web}[who]
        return [m for m in client.received[self.marks[who]:] if m.command != "PONG"]

    def said_to_plain(self) -> list[str]:
        """What the person read since `mark`, the clock's ticks left out."""
        return [line for line in self.plain.raw[self.marks["plain"]:] if not line.startswith("[private] clock: ")]


async def party(server: Runtime, closing: list[LineClient | WsClient]) -> Party:
    irc = await irc_with_caps(server, "alice")
    closing.append(irc)
    await irc.join("#lobby")
    web = await web_with_caps(server, "webby")
    closing.append(web)
    await web.join("#lobby")
    plain = await connect_plain(server, "bob")
    closing.append(plain)
    await plain.expect_text(r"^\* In #lobby: ")
    bare = await connected(server, "carl", "#lobby")
    closing.append(bare)
    clock = await connected(server, "clock")
    closing.append(clock)
    for nick in ("bob", "carl"):
        await irc.expect(lambda m, nick=nick: m.command == "JOIN" and m.source.startswith(nick + "!"))
        await web.expect(lambda m, nick=nick: m.command == "JOIN" and m.source.startswith(nick + "!"))
    await plain.expect_text(r"^\* carl joined #lobby$")
    p = Party(server, irc, web, plain, bare, clock)
    await p.settle()
    p.mark()
    return p


async def web_party(make_server: MakeServer, closing: list[LineClient | WsClient], *overrides: str) -> Party:
    """The party on a server where alice, who creates #lobby, is its op."""
    return await party(await make_server("listen.web='127.0.0.1:0'", LOBBY_CREATOR_OP, *overrides), closing)


def nick_of(message: Message) -> str:
    return (message.source or "").split("!", 1)[0]


def brief(messages: list[Message]) -> list[tuple[str, str, list[str]]]:
    """(source nick, command, params) of each: a transcript without tags."""
    return [(nick_of(m), m.command, m.params) for m in messages]


def frames_are_single_lines(web: WsClient, kind: WSMsgType = WSMsgType.TEXT) -> None:
    """IRC over WebSocket: every frame one line, of the subprotocol's type, no CR or LF, UTF-8."""
    for frame in web.frames:
        assert frame.type is kind, frame
        assert b"\r" not in frame.data and b"\n" not in frame.data, frame
        frame.data.decode("utf-8")  # strictly


def reads_as_words(lines: list[str]) -> None:
    """What a person is shown: no IRC line, no tag, no CTCP byte, nothing a terminal acts on."""
    for line in lines:
        assert not IRC_LINE.match(line) and not line.startswith("@"), line
        assert "\x01" not in line and terminal_safe(line), repr(line)


# -- messages, actions, notices, CTCP ---------------------------------------------------------


async def test_messages_actions_and_notices_from_each_side_reach_every_other_once_in_its_form(
    make_server: MakeServer, closing
) -> None:
    p = await web_party(make_server, closing)
    p.irc.send("PRIVMSG #lobby :from the irc client")
    await p.web.expect("PRIVMSG", "#lobby", "from the irc client")
    await p.web.send("PRIVMSG #lobby :\x01ACTION waves from the web\x01")
    await p.irc.expect("PRIVMSG", "#lobby", "\x01ACTION waves from the web\x01")
    p.plain.send("from the terminal")
    await p.irc.expect("PRIVMSG", "#lobby", "from the terminal")
    p.plain.send("/me nods")
    await p.irc.expect("PRIVMSG", "#lobby", "\x01ACTION nods\x01")
    await p.web.send("NOTICE #lobby :a notice from the web")
    await p.irc.expect("NOTICE", "#lobby", "a notice from the web")
    p.irc.send("NOTICE #lobby :a notice from the irc client")
    await p.web.expect("NOTICE", "#lobby", "a notice from the irc client")
    await p.settle()

    expected = [
        ("alice", "PRIVMSG", ["#lobby", "from the irc client"]),
        ("webby", "PRIVMSG", ["#lobby", "\x01ACTION waves from the web\x01"]),
        ("bob", "PRIVMSG", ["#lobby", "from the terminal"]),
        ("bob", "PRIVMSG", ["#lobby", "\x01ACTION nods\x01"]),
        ("webby", "NOTICE", ["#lobby", "a notice from the web"]),
        ("alice", "NOTICE", ["#lobby", "a notice from the irc client"]),
    ]
    # echo-message: the IRC and the WebSocket client see their own once, where it was said
    assert brief(p.seen("irc")) == expected
    assert brief(p.seen("web")) == expected
    assert brief(p.seen("bare")) == expected  # every line, without a tag
    assert all(not m.tags for m in p.seen("bare"))
    ids = [m.tags["msgid"] for m in p.seen("irc")]
    assert len(set(ids)) == len(ids) and ids == [m.tags["msgid"] for m in p.seen("web")]
    assert all("time" in m.tags for m in p.seen("irc") + p.seen("web"))
    assert p.said_to_plain() == [  # the person's own lines are not repeated to them
        "alice: from the irc client",
        "* webby waves from the web",
        "-webby- a notice from the web",
        "-alice- a notice from the irc client",
    ]
    frames_are_single_lines(p.web)


async def test_ctcp_requests_and_replies_pass_between_clients_and_never_reach_the_person(
    make_server: MakeServer, closing
) -> None:
    p = await web_party(make_server, closing)
    await p.web.send("PRIVMSG bob :\x01VERSION\x01")
    await p.web.send("PRIVMSG #lobby :\x01CLIENTINFO\x01")
    await p.web.send("PRIVMSG alice :\x01PING 1700000000\x01")
    await p.irc.expect("PRIVMSG", "alice", "\x01PING 1700000000\x01")
    p.irc.send("NOTICE webby :\x01PING 1700000000\x01")
    await p.web.expect("NOTICE", "webby")
    p.bare.send("NOTICE #lobby :\x01VERSION someclient 1.0\x01")
    await p.web.expect("NOTICE", "#lobby")
    await p.settle()
    assert brief(p.seen("irc")) == [
        ("webby", "PRIVMSG", ["#lobby", "\x01CLIENTINFO\x01"]),
        ("webby", "PRIVMSG", ["alice", "\x01PING 1700000000\x01"]),
        ("alice", "NOTICE", ["webby", "\x01PING 1700000000\x01"]),  # echo
        ("carl", "NOTICE", ["#lobby", "\x01VERSION someclient 1.0\x01"]),
    ]
    web = brief(p.seen("web"))
    assert ("alice", "NOTICE", ["webby", "\x01PING 1700000000\x01"]) in web
    assert ("webby", "PRIVMSG", ["bob", "\x01VERSION\x01"]) in web  # its echo
    # the person's server answers for them (plain/translate.py), and shows them nothing
    assert [m.params[-1] for m in p.seen("web") if nick_of(m) == "bob"] == [
        f"\x01VERSION hubbub {__version__} (plain text: netcat or telnet)\x01"]  # fmt: skip
    assert p.said_to_plain() == []


# -- one order for everyone -------------------------------------------------------------------


async def test_three_sides_talking_at_once_make_one_order_that_everyone_sees(make_server: MakeServer, closing) -> None:
    p = await web_party(make_server, closing)
    rounds = 25

    async def from_irc() -> None:
        for i in range(rounds):
            p.irc.send(f"PRIVMSG #lobby :irc {i}")
            if i % 5 == 4:
                await asyncio.sleep(0)
        await p.irc.writer.drain()

    async def from_web() -> None:
        for i in range(rounds):
            await p.web.send(f"PRIVMSG #lobby :web {i}")

    async def from_plain() -> None:
        for i in range(rounds):
            p.plain.send(f"plain {i}")
            if i % 5 == 4:
                await asyncio.sleep(0)
        await p.plain.writer.drain()

    await asyncio.gather(from_irc(), from_web(), from_plain())

    async def texts(client: LineClient | WsClient) -> list[Message]:
        return [await client.expect("PRIVMSG", "#lobby") for _ in range(3 * rounds)]

    irc, web, bare = await texts(p.irc), await texts(p.web), await texts(p.bare)
    order = [m.params[1] for m in bare]
    assert [m.params[1] for m in irc] == order and [m.params[1] for m in web] == order
    for side in ("irc", "web", "plain"):  # each side's own lines in the order it sent them
        assert [t for t in order if t.startswith(side)] == [f"{side} {i}" for i in range(rounds)]
    await p.settle()
    shown = [line for line in p.said_to_plain() if re.match(r"^(alice|webby): ", line)]
    assert [line.split(": ", 1)[1] for line in shown] == [t for t in order if not t.startswith("plain")]
    times = [m.tags["time"] for m in web]
    assert times == sorted(times)  # server-time follows the order of delivery
    assert [m.tags["msgid"] for m in web] == [m.tags["msgid"] for m in irc]
    assert len({m.tags["msgid"] for m in web}) == 3 * rounds
    frames_are_single_lines(p.web)


# -- multiline --------------------------------------------------------------------------------


async def test_a_multiline_message_from_the_web_is_one_batch_lines_or_joined_words(
    make_server: MakeServer, closing
) -> None:
    p = await web_party(make_server, closing)
    await p.web.send("@+draft/reply=abc BATCH +ml draft/multiline #lobby")
    for line in ("@batch=ml PRIVMSG #lobby :first line, with a link https://example.org/a/very/",
                 "@batch=ml;draft/multiline-concat PRIVMSG #lobby :long/path",
                 "@batch=ml PRIVMSG #lobby :",
                 "@batch=ml PRIVMSG #lobby :é 👨‍👩‍👧 last line"):  # fmt: skip
        await p.web.send(line)
    await p.web.send("BATCH -ml")
    await p.bare.expect("PRIVMSG", "#lobby", "é 👨‍👩‍👧 last line")
    await p.settle()
    texts = ["first line, with a link https://example.org/a/very/", "long/path", "", "é 👨‍👩‍👧 last line"]
    for who in ("irc", "web"):  # one batch each, the echo included
        batch = p.seen(who)
        assert [m.command for m in batch] == ["BATCH"] + ["PRIVMSG"] * 4 + ["BATCH"], who
        assert [m.params[1] for m in batch[1:-1]] == texts and batch[0].tags["+draft/reply"] == "abc"
    assert p.seen("irc")[0].tags["msgid"] == p.seen("web")[0].tags["msgid"]
    assert [m.params[1] for m in p.seen("bare")] == [t for t in texts if t]  # no blank line
    assert p.said_to_plain() == [
        "webby: first line, with a link https://example.org/a/very/long/path",
        "webby: é 👨‍👩‍👧 last line",
    ]


# -- line lengths ------------------------------------------------------------------------------


@pytest.mark.parametrize("sender", ["irc", "web"])
async def test_a_line_of_the_longest_length_is_cut_alike_for_all_and_one_byte_more_is_refused(
    make_server: MakeServer, closing, sender: str
) -> None:
    p = await web_party(make_server, closing)
    head = "PRIVMSG #lobby :"
    text = "é" * 200 + "x" + "é" * 100  # with the sender's source, the cut falls inside an é
    body = (head + text).encode()[:510].decode("utf-8", "ignore")
    if len(body.encode()) < 510:
        body += "x"
    assert len(body.encode()) == 510
    sent = body[len(head):]

    async def send(line: str) -> None:
        if sender == "irc":
            p.irc.send(line)
        else:
            await p.web.send(line)

    await send(body)
    relayed = (await p.bare.expect("PRIVMSG", "#lobby")).params[1]
    assert sent.startswith(relayed) and len(relayed) < len(sent)  # cut: with our source, over 512 bytes
    assert len(p.bare.raw[-1].encode()) + 2 <= 512
    await send(body + "x")  # 511 bytes: too long for anyone
    sender_side = p.irc if sender == "irc" else p.web
    assert (await sender_side.expect("417")).params[-1] == "Input line was too long"
    await send("PRIVMSG #lobby :still here")
    await p.bare.expect("PRIVMSG", "#lobby", "still here")
    await p.settle()
    who_sent = "alice" if sender == "irc" else "webby"
    for who in ("irc", "web", "bare"):  # the sender's echo is cut as the others' copies are
        got = [m for m in p.seen(who) if m.command == "PRIVMSG"]
        assert [(nick_of(m), m.params[1]) for m in got] == [(who_sent, relayed), (who_sent, "still here")], who
    assert p.said_to_plain() == [f"{who_sent}: {relayed}", f"{who_sent}: still here"]
    frames_are_single_lines(p.web)


# -- UTF-8 -------------------------------------------------------------------------------------

TEXTS = [
    "cafe\u0301 n\u0303 a\u0308\u0304 (combining marks)",
    "👨‍👩‍👧 🇫🇷 👍🏽 1️⃣ ❤️ (sequences)",
    "שלום مرحبا (right to left) and back",
    "zero\u200bwidth and \ufeffbom and \U0001d518\U0001d52b\U0001d526",
    "ภาษาไทยไม่มีช่องว่าง 你好 こんにちは",
]


async def test_utf8_edge_cases_arrive_unchanged_on_every_side(make_server: MakeServer, closing) -> None:
    p = await web_party(make_server, closing)
    for text in TEXTS:
        p.irc.send(f"PRIVMSG #lobby :irc {text}")
        await p.bare.expect("PRIVMSG", "#lobby", f"irc {text}")
        await p.web.send(f"PRIVMSG #lobby :web {text}")
        await p.bare.expect("PRIVMSG", "#lobby", f"web {text}")
        p.plain.send(f"plain {text}")
        await p.bare.expect("PRIVMSG", "#lobby", f"plain {text}")
    await p.settle()
    said = [f"{side} {text}" for text in TEXTS for side in ("irc", "web", "plain")]
    for who in ("irc", "web", "bare"):
        assert [m.params[1] for m in p.seen(who)] == said, who
    names = {"irc": "alice", "web": "webby"}
    assert p.said_to_plain() == [f"{names[t.split()[0]]}: {t}" for t in said if not t.startswith("plain")]
    frames_are_single_lines(p.web)


async def test_invalid_utf8_from_the_tcp_client_is_refused_line_by_line_and_reaches_no_one(
    make_server: MakeServer, closing
) -> None:
    p = await web_party(make_server, closing)
    bad = b"caf\xe9 \xff\xfe \xc3"
    lines = {
        "PRIVMSG": b"PRIVMSG #lobby :" + bad, "NOTICE": b"NOTICE #lobby :" + bad, "TOPIC": b"TOPIC #lobby :" + bad,
        "PART": b"PART #lobby :" + bad, "KICK": b"KICK #lobby carl :" + bad, "AWAY": b"AWAY :" + bad,
        "SETNAME": b"SETNAME :" + bad, "QUIT": b"QUIT :" + bad,
    }  # fmt: skip
    for command, line in lines.items():
        p.irc.send(line)
        fail = await p.irc.expect("FAIL")
        assert fail.params[:2] == [command, "INVALID_UTF8"], fail
    p.irc.send(b"PRIVMSG #lobby :\xf0\x9f\x98")  # an emoji cut short
    assert (await p.irc.expect("FAIL")).params[:2] == ["PRIVMSG", "INVALID_UTF8"]
    p.irc.send("PRIVMSG #lobby :and now in UTF-8: café 😀")
    await p.bare.expect("PRIVMSG", "#lobby")
    await p.settle()
    for who in ("web", "bare"):  # nothing of the refused lines; alice is still there
        assert brief(p.seen(who)) == [("alice", "PRIVMSG", ["#lobby", "and now in UTF-8: café 😀"])], who
    assert p.said_to_plain() == ["alice: and now in UTF-8: café 😀"]
    frames_are_single_lines(p.web)


# -- formatting and control bytes ------------------------------------------------------------


async def test_formatting_from_the_web_reaches_irc_as_sent_and_the_person_as_terminal_attributes(
    make_server: MakeServer, closing
) -> None:
    p = await web_party(make_server, closing)
    nasty = "\x02bold\x02 \x0304,01red\x03 \x1ditalic\x1d \x1b[2J\x1b]0;title\x07 \u009b31m \x07bell \x0fend"
    p.irc.send("MODE #lobby +o webby")  # to set the topic
    await p.web.expect("MODE")
    await p.settle()
    p.mark()
    await p.web.send(f"PRIVMSG #lobby :{nasty}")
    await p.web.send(f"TOPIC #lobby :{nasty}")
    await p.web.send(f"PART #lobby :{nasty}")
    await p.bare.expect("PART")
    await p.web.send("JOIN #lobby")
    await p.web.send(f"QUIT :{nasty}")
    await p.bare.expect("QUIT")
    await p.settle(web=False)
    for who in ("irc", "bare"):
        relayed = [m for m in p.seen(who) if m.command in ("PRIVMSG", "TOPIC", "PART", "QUIT")]
        assert [m.params[-1] for m in relayed] == [nasty, nasty, nasty, "Quit: " + nasty], who
    shown = p.said_to_plain()
    reads_as_words(shown)
    assert shown[0].startswith("webby: \x1b[0;1mbold\x1b[0m ") and shown[0].endswith("end")
    assert [line.split(" ", 3)[1] for line in shown[1:]] == ["webby"] * 4  # topic, part, join, quit
    for line in shown:  # escape sequences are taken out whole, the words of an OSC with them
        assert "title" not in line and "2J" not in line and "bell" in line or "joined" in line, repr(line)


# -- the channel's life: nick, topic, modes, kick, away, setname --------------------------------


async def test_nick_topic_modes_kick_away_and_setname_from_each_side_seen_once_in_order(
    make_server: MakeServer, closing
) -> None:
    p = await web_party(make_server, closing)
    await p.web.send("NICK webster")
    await p.irc.expect("NICK", "webster")
    p.irc.send("TOPIC #lobby :tea at five ☕")
    p.irc.send("MODE #lobby +o bob")
    await p.web.expect("MODE", "#lobby", "+o", "bob")
    p.plain.send("/kick webster not now")
    await p.web.expect("KICK")
    await p.web.send("JOIN #lobby")
    await p.web.expect("366")
    p.plain.send("/voice webster")
    await p.web.expect("MODE", "#lobby", "+v", "webster")
    await p.web.send("AWAY :out for lunch")
    await p.web.send("SETNAME :Webster the Web User")
    await p.irc.expect("SETNAME")
    p.plain.send("/nick robert")
    await p.web.expect("NICK", "robert")
    p.plain.nick = "robert"
    await p.web.send("AWAY")
    await p.web.expect("305")
    await p.settle()
    shared = [
        ("webby", "NICK", ["webster"]),
        ("alice", "TOPIC", ["#lobby", "tea at five ☕"]),
        ("alice", "MODE", ["#lobby", "+o", "bob"]),
        ("bob", "KICK", ["#lobby", "webster", "not now"]),
        ("webster", "JOIN", ["#lobby", "*", "Web User"]),
        ("bob", "MODE", ["#lobby", "+v", "webster"]),
        ("webster", "AWAY", ["out for lunch"]),
        ("webster", "SETNAME", ["Webster the Web User"]),
        ("bob", "NICK", ["robert"]),
        ("webster", "AWAY", []),
    ]
    assert brief(p.seen("irc")) == shared
    bare = [(n, c, prm) for n, c, prm in shared if c not in ("AWAY", "SETNAME")]
    bare[4] = ("webster", "JOIN", ["#lobby"])  # no extended-join
    assert brief(p.seen("bare")) == bare
    web = [(n, c, prm) for n, c, prm in brief(p.seen("web")) if c.isalpha()]  # its numerics aside
    assert web == [line for line in shared if line[1] != "AWAY"]  # AWAY: 305/306, not away-notify
    assert [m.command for m in p.seen("web") if m.command.isdigit()] == ["332", "333", "353", "366", "306", "305"]
    assert p.said_to_plain() == [
        "* webby is now known as webster",
        "* alice set the topic of #lobby to: tea at five ☕",
        "* alice gave bob operator status in #lobby (+o bob)",
        "* webster was kicked from #lobby by bob (not now)",
        "* webster joined #lobby",
        "* bob gave webster a voice in #lobby (+v webster)",
        "* You are now known as robert",
    ]
    frames_are_single_lines(p.web)


async def test_an_away_user_joining_is_told_to_away_notify_clients_after_the_join(
    make_server: MakeServer, closing
) -> None:
    p = await web_party(make_server, closing)
    await p.web.send("AWAY :back soon")
    await p.web.expect("306")
    await p.web.send("PART #lobby")
    await p.web.send("JOIN #lobby")
    await p.irc.expect("JOIN")
    await p.settle()
    assert brief(p.seen("irc")) == [
        ("webby", "AWAY", ["back soon"]), ("webby", "PART", ["#lobby"]),
        ("webby", "JOIN", ["#lobby", "*", "Web User"]), ("webby", "AWAY", ["back soon"]),
    ]  # fmt: skip
    assert [m.command for m in p.seen("bare")] == ["PART", "JOIN"]
    assert p.said_to_plain() == ["* webby left #lobby", "* webby joined #lobby"]


async def test_the_join_of_an_away_user_and_its_away_have_ids_of_their_own(make_server: MakeServer, closing) -> None:
    p = await web_party(make_server, closing)
    await p.web.send("AWAY :back soon")
    await p.web.send("PART #lobby")
    await p.web.send("JOIN #lobby")
    join = await p.irc.expect("JOIN")
    away = await p.irc.expect("AWAY")
    assert away.tags["msgid"] != join.tags["msgid"]  # message-ids: MUST be unique


async def test_a_renamed_channel_is_followed_by_every_side(make_server: MakeServer, closing) -> None:
    p = await web_party(make_server, closing)
    p.irc.send("RENAME #lobby #hall :moving house")
    await p.bare.expect("JOIN", "#hall")
    await p.settle()
    for who in ("irc", "web"):  # without draft/channel-rename: their own PART and JOIN
        assert [(m.command, m.params[0]) for m in p.seen(who)][:2] == [("PART", "#lobby"), ("JOIN", "#hall")]
    p.plain.send("where am I talking?")
    said = await p.web.expect("PRIVMSG")
    assert said.params == ["#hall", "where am I talking?"] and nick_of(said) == "bob"
    assert p.said_to_plain()[:2] == ["* You left #lobby (moving house); now talking in #hall", "* You joined #hall"]


# -- leaving -------------------------------------------------------------------------------


async def test_quits_and_parts_from_each_side_read_alike(make_server: MakeServer, closing) -> None:
    p = await web_party(make_server, closing)
    web2 = await web_with_caps(p.server, "wendy", caps=None, protocols=("binary.ircv3.net",))
    closing.append(web2)
    await web2.join("#lobby")
    dave = await connect_plain(p.server, "dave")
    closing.append(dave)
    await p.plain.expect_text(r"^\* dave joined #lobby$")
    await p.settle()
    p.mark()
    dave.send("/part gone fishing")
    await p.bare.expect("PART")
    dave.send("/join #lobby")
    await p.bare.expect("JOIN")
    dave.send("/quit see you all")
    await p.bare.expect("QUIT")
    await web2.send("PART #lobby :off to lunch 🍜")
    await web2.send("JOIN #lobby")
    await p.bare.expect("JOIN")
    await web2.ws.close()  # a closing tab: no QUIT of its own
    await p.bare.expect("QUIT")
    await p.web.send("QUIT :bye from the web ✌")
    assert (await p.web.closed())[-1].startswith("ERROR ")
    await p.bare.expect("QUIT")
    await p.settle(web=False)
    expected = [
        ("dave", "PART", ["#lobby", "gone fishing"]),
        ("dave", "JOIN", ["#lobby"]),
        ("dave", "QUIT", ["Quit: see you all"]),
        ("wendy", "PART", ["#lobby", "off to lunch 🍜"]),
        ("wendy", "JOIN", ["#lobby"]),
        ("wendy", "QUIT", ["Connection closed"]),
        ("webby", "QUIT", ["Quit: bye from the web ✌"]),
    ]
    assert brief(p.seen("bare")) == expected
    realnames = {"dave": "plain text user", "wendy": "Web User"}
    assert brief(p.seen("irc")) == [(n, c, prm + ["*", realnames[n]] if c == "JOIN" else prm) for n, c, prm in expected]
    assert p.said_to_plain() == [
        "* dave left #lobby (gone fishing)",
        "* dave joined #lobby",
        "* dave left (Quit: see you all)",
        "* wendy left #lobby (off to lunch 🍜)",
        "* wendy joined #lobby",
        "* wendy left (Connection closed)",
        "* webby left (Quit: bye from the web ✌)",
    ]
    frames_are_single_lines(web2, WSMsgType.BINARY)


# -- redaction ---------------------------------------------------------------------------------


async def test_a_redaction_reaches_those_with_the_cap_once_and_no_later_joiner_is_shown_the_message(
    make_server: MakeServer, closing, tmp_path: Path
) -> None:
    p = await web_party(make_server, closing, f"store.db='{tmp_path / 'store.db'}'")
    p.irc.send("PRIVMSG #lobby :kept")
    await p.web.send("PRIVMSG #lobby :my password is hunter2")
    said = await p.irc.expect("PRIVMSG", "#lobby", "my password is hunter2")
    p.plain.send("kept too")
    await p.web.expect("PRIVMSG", "#lobby", "kept too")
    await p.web.send(f"REDACT #lobby {said.tags['msgid']} :oops")
    await p.irc.expect("REDACT")
    await p.settle()
    for who in ("irc", "web"):
        redactions = [m for m in p.seen(who) if m.command == "REDACT"]
        assert [(nick_of(m), m.params) for m in redactions] == [("webby", ["#lobby", said.tags["msgid"], "oops"])]
    assert "REDACT" not in [m.command for m in p.seen("bare")]
    reads_as_words(p.said_to_plain())

    late_web = await web_with_caps(p.server, "latecomer", caps="server-time batch message-tags")
    closing.append(late_web)
    await late_web.send("JOIN #lobby")
    replayed = await late_web.sync()
    late_plain = await connect_plain(p.server)
    closing.append(late_plain)
    late_plain.send("lateperson")
    await late_plain.expect_text(r"end of the earlier messages")
    assert [(nick_of(m), m.params[1]) for m in replayed if m.command == "PRIVMSG"] == [
        ("alice", "kept"), ("bob", "kept too"),
    ]  # fmt: skip
    shown = [line for line in late_plain.raw if "kept" in line or "hunter2" in line]
    # each led by when it was said, as plain mode shows the replay
    assert len(shown) == 2, shown
    assert re.search(r"alice: \[\d\d:\d\d\] kept$", shown[0]), shown
    assert re.search(r"bob: \[\d\d:\d\d\] kept too$", shown[1]), shown


# -- nothing one side sends breaks another ----------------------------------------------------


async def test_garbage_and_the_largest_tags_from_the_tcp_client_break_no_one_else(
    make_server: MakeServer, closing
) -> None:
    p = await web_party(make_server, closing)
    p.irc.send(b"\x00\x01\x02\xff binary garbage\x00")
    p.irc.send(b"PRIVMSG #lobby :a bare\rcarriage return")
    p.irc.send(b"PRIVMSG #lobby :a nul\x00in the middle")
    p.irc.send(b"x" * 9000)
    value = "v" * 4000  # with the other tag, just under the 4094 bytes a client may send
    p.irc.send(f"@+big={value};+semi=a\\:b\\sc\\\\d PRIVMSG #lobby :tagged to the limit")
    p.irc.send("PRIVMSG #lobby :after the garbage")
    await p.bare.expect("PRIVMSG", "#lobby", "after the garbage")
    await p.settle()
    web = p.seen("web")
    assert [m.params[1] for m in web] == ["tagged to the limit", "after the garbage"]
    assert web[0].tags["+big"] == value and web[0].tags["+semi"] == "a;b c\\d"
    assert [m.params[1] for m in p.seen("bare")] == ["tagged to the limit", "after the garbage"]
    assert p.said_to_plain() == ["alice: tagged to the limit", "alice: after the garbage"]
    frames_are_single_lines(p.web)
    p.plain.send("still talking")  # the person and the web client are still connected
    await p.web.expect("PRIVMSG", "#lobby", "still talking")


async def test_what_a_websocket_client_sends_wrong_ends_at_most_its_own_connection(
    make_server: MakeServer, closing
) -> None:
    p = await web_party(make_server, closing)
    wendy = await web_with_caps(p.server, "wendy", caps=None)
    closing.append(wendy)
    await wendy.join("#lobby")
    await p.bare.expect("JOIN")
    await p.settle()
    p.mark()
    await wendy.send("PRIVMSG #lobby :one\r\nPRIVMSG #lobby :two")  # two lines in one message
    assert (await wendy.expect("FAIL")).params[:2] == ["*", "INVALID_MESSAGE"]
    await wendy.send(b"PRIVMSG #lobby :caf\xe9")
    assert (await wendy.expect("FAIL")).params[:2] == ["PRIVMSG", "INVALID_UTF8"]
    await wendy.send("PRIVMSG #lobby :" + "y" * 600)
    await wendy.expect("417")
    await wendy.send("PRIVMSG #lobby :a good line at last")
    await p.bare.expect("PRIVMSG", "#lobby", "a good line at last")
    await wendy.send("PRIVMSG #lobby :" + "z" * 20000)  # past web.max_frame: this connection closes
    await wendy.closed()
    assert wendy.ws.close_code == 1009
    await p.bare.expect("QUIT")
    await p.settle()
    for who in ("irc", "web", "bare"):
        assert [(nick_of(m), m.command) for m in p.seen(who)] == [("wendy", "PRIVMSG"), ("wendy", "QUIT")], who
    said = p.said_to_plain()
    assert said[0] == "wendy: a good line at last" and re.match(r"^\* wendy left \(.+\)$", said[1]), said
    reads_as_words(said)
    p.plain.send("everyone else is still here")
    await p.web.expect("PRIVMSG", "#lobby", "everyone else is still here")
    frames_are_single_lines(p.web)


# -- accounts ----------------------------------------------------------------------------------


async def test_a_person_who_logs_in_is_tagged_with_the_account_for_the_clients_that_asked(
    make_server: MakeServer, closing
) -> None:
    p = await web_party(make_server, closing)
    p.plain.send("/msg NickServ REGISTER sesame1234")
    await p.plain.expect_text(r"^\[private\] -NickServ- You're now logged in as bob$")
    p.plain.send("logged in now")
    await p.bare.expect("PRIVMSG", "#lobby", "logged in now")
    await p.settle()
    for who in ("irc", "web"):  # account-tag
        said = [m for m in p.seen(who) if m.command == "PRIVMSG"]
        assert [(m.params[1], m.tags.get("account")) for m in said] == [("logged in now", "bob")], who
    assert [m.tags for m in p.seen("bare")] == [{}]
    reads_as_words(p.said_to_plain())
    p.plain.send("/part")
    p.plain.send("/join #lobby")
    await p.web.expect("JOIN")
    await p.settle()
    joins = [m for m in p.seen("irc") if m.command == "JOIN"]
    assert joins[-1].params == ["#lobby", "bob", "plain text user"]  # extended-join: the account


# -- bugs ---------------------------------------------------------------------------------


async def test_a_message_to_the_protected_members_of_a_channel_is_not_shown_as_private(
    make_server: MakeServer, closing
) -> None:
    server = await make_server("listen.web='127.0.0.1:0'", LOBBY_CREATOR_OP)  # alice may register the lobby
    alice = await registered_account(server, "alice", "correct-horse", "#lobby")
    closing.append(alice)
    alice.send("PRIVMSG ChanServ :REGISTER #lobby")
    await alice.expect("MODE", "#lobby", "+q", "alice")
    bob = await connect_plain(server, "bob")
    closing.append(bob)
    await alice.expect("JOIN", "#lobby")
    alice.send("MODE #lobby +a bob")
    await bob.expect_text(r"alice gave bob protected status in #lobby \(\+a bob\)")
    alice.send("PRIVMSG &#lobby :for the protected")
    alice.send("PRIVMSG @#lobby :for the ops")
    await bob.expect_text(r"for the ops")
    shown = [line for line in bob.raw if "for the" in line]
    assert shown == ["[&#lobby] alice: for the protected", "[@#lobby] alice: for the ops"]


async def test_an_empty_action_is_shown_to_the_person_too(make_server: MakeServer, closing) -> None:
    p = await web_party(make_server, closing)
    await p.web.send("PRIVMSG #lobby :\x01ACTION\x01")
    await p.irc.expect("PRIVMSG", "#lobby", "\x01ACTION\x01")
    await p.settle()
    shown = p.said_to_plain()
    assert len(shown) == 1 and re.match(r"^\* webby\s*$", shown[0]), shown


async def test_a_long_thai_line_typed_by_a_person_is_cut_between_whole_letters(
    make_server: MakeServer, closing
) -> None:
    p = await web_party(make_server, closing)
    prefix = "bob!~bob@127.0.0.1"
    room = 510 - len(f":{prefix} PRIVMSG #lobby :".encode())  # the bytes of text one relayed line holds
    letters = room // 3  # Thai letters are three bytes each: the cut falls after this many
    text = "ก" * letters + "ั" + "ก" * 40 + "ี" + "ก" * 20  # Thai writes no spaces; ั and ี are marks
    p.plain.send(text)
    parts = [await p.web.expect("PRIVMSG", "#lobby") for _ in range(2)]
    assert all(m.source.startswith(prefix) for m in parts)
    joined = "".join(m.params[1] for m in parts)
    assert joined == text
    assert all(unicodedata.category(m.params[1][0]) != "Mn" for m in parts), [m.params[1][:2] for m in parts]


@pytest.mark.parametrize("joiner", ["person", "irc client without server-time"])
async def test_what_was_said_before_a_join_comes_before_what_is_said_after_it(
    make_server: MakeServer, closing, tmp_path: Path, joiner: str
) -> None:
    server = await make_server(f"store.db='{tmp_path / 'store.db'}'")
    alice = await connected(server, "alice", "#tea")
    closing.append(alice)
    if joiner == "person":
        late = await connect_plain(server, "bob")
        closing.append(late)
        await late.expect_text(r"^\* In #lobby: ")
    else:
        late = await connected(server, "carl")
        closing.append(late)
    alice.send("PRIVMSG #tea :said before the join")
    await sync(alice)
    late.send("/join #tea" if joiner == "person" else "JOIN #tea")  # both in one go: alice's line
    alice.send("PRIVMSG #tea :said after the join")  # is handled right after the JOIN
    await alice.expect("JOIN", "#tea")
    alice.send(f"PRIVMSG {late.nick} :done")
    if joiner == "person":
        await late.expect_text(r"^\[private\] alice: done$")
        if "* (end of the earlier messages; what follows is said now)" not in late.raw:
            await late.expect_text(r"end of the earlier messages")
        order = [line for line in late.raw if "said" in line or "Earlier" in line or "end of the earlier" in line]
        # a replayed line is led by when it was said ([HH:MM] here), a live one is not
        order = [re.sub(r"^alice: \[\d\d:\d\d\] ", "alice: [HH:MM] ", line) for line in order]
        # Two sockets: the loop may read alice's line before the JOIN, and then it was said
        # before the join and is rightly among the earlier ones; either way once, in order.
        assert order in (["* Earlier in #tea:", "alice: [HH:MM] said before the join",
                          "* (end of the earlier messages; what follows is said now)",
                          "alice: said after the join"],
                         ["* Earlier in #tea:", "alice: [HH:MM] said before the join",
                          "alice: [HH:MM] said after the join",
                          "* (end of the earlier messages; what follows is said now)"]), order  # fmt: skip
    else:
        await late.expect("PRIVMSG", "carl", "done")
        tea = [m for m in late.received if m.command in ("PRIVMSG", "NOTICE") and m.params[0] == "#tea"]
        # the server's NOTICEs around the replay; a replayed line led by when it was said, a live one not
        said = [m.command if m.command == "NOTICE" else STAMP.sub("[HH:MM] ", m.params[1]) for m in tea]
        assert said in (["NOTICE", "[HH:MM] said before the join", "NOTICE", "said after the join"],
                        ["NOTICE", "[HH:MM] said before the join", "[HH:MM] said after the join", "NOTICE"]), said
