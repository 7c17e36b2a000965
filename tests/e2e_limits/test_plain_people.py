"""The plain text mode as people use it, over real sockets: what a person types first,
long lines, stray control characters, telnet's Ctrl+C, errors in words, and the
welcome NOTICE that IRC clients are spared."""

from __future__ import annotations

import asyncio
import re

import pytest

from hubbub.app import Runtime
from hubbub.irc.message import parse
from tests.e2e_channels.common import op_sets
from tests.e2e_limits.test_plain import WELCOME, lobby, quiet
from tests.helpers import LOBBY_CREATOR_OP, LineClient, connect_plain, connected, sync

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
IP, AYT, TIMING_MARK, ECHO, NAWS = 244, 246, 6, 1, 31


# -- 7: the first line ------------------------------------------------------------------------


async def test_a_first_line_that_merely_starts_like_user_gets_an_answer(server, clients) -> None:
    person = await LineClient.connect(server)
    clients.append(person)
    person.send("USER is what I am, hi")
    await person.expect_text(
        r"^\*\*\* 'USER is what I am, hi' can't be used: a nickname may contain only Latin letters"
    )
    person.send("frank")
    await person.expect_text(r"^\* You joined #lobby$")


@pytest.mark.parametrize("typed", ["nick erin2", "/nick erin2", "Nick erin2"])
async def test_typing_nick_and_a_name_first_takes_that_name(server, clients, typed: str) -> None:
    alice = await connected(server, "alice", "#lobby")
    clients.append(alice)
    person = await LineClient.connect(server)
    clients.append(person)
    person.send(typed)
    await person.expect_text(r"^\*\*\* Welcome, erin2! ")
    await person.expect_text(r"^\* You joined #lobby$")
    join = await alice.expect("JOIN", "#lobby")
    assert join.source.startswith("erin2!")


async def test_an_irc_client_is_still_an_irc_client(server, clients) -> None:
    client = await LineClient.connect(server)
    clients.append(client)
    client.send("NICK alice")
    client.send("USER alice 0 * :Alice")
    welcome = await client.expect("001")
    assert welcome.params[0] == "alice"


# -- 8: long lines ------------------------------------------------------------------------------


async def test_a_long_line_is_said_in_several_messages_cut_between_words(server) -> None:
    alice, bob = await lobby(server)
    words = [f"word{i}" for i in range(250)] + ["ж" * 300] + ["привет"] * 40  # a 600-byte word too
    text = " ".join(words)
    bob.send(text)
    received: list[str] = []
    while len(" ".join(received)) < len(text):
        message = await alice.expect("PRIVMSG", "#lobby")
        received.append(message.params[1])
        assert len(alice.raw[-1].encode()) + 2 <= 512  # each relayed line, CRLF included
    assert " ".join(received).split() == text.split() or "".join(received).replace(" ", "") == text.replace(" ", "")
    assert len(received) >= 4
    assert all(part.split(" ")[-1] in words or part.endswith("ж") for part in received[:-1])  # words kept whole


async def test_a_long_action_is_several_actions(server) -> None:
    alice, bob = await lobby(server)
    bob.send("/me " + "waves " * 150)
    first = await alice.expect("PRIVMSG", "#lobby")
    second = await alice.expect("PRIVMSG", "#lobby")
    for message in (first, second):
        text = message.params[1]
        assert text.startswith("\x01ACTION waves") and text.endswith("waves\x01")
        assert len(alice.raw[-1 if message is second else -2].encode()) + 2 <= 512


async def test_a_long_private_message_is_several_messages(server) -> None:
    alice, bob = await lobby(server)
    bob.send("/msg alice " + "psst " * 200)
    parts = [(await alice.expect("PRIVMSG", "alice")).params[1] for _ in range(3)]
    assert " ".join(parts).split() == ["psst"] * 200


async def test_a_line_past_the_typing_limit_is_refused_in_words(server) -> None:
    alice, bob = await lobby(server)
    bob.send("x" * 5000)
    await bob.expect_text(r"^\* That line was not sent: it is longer than 4096 bytes\. Send it in several lines\.$")
    bob.send("y" * 20000)  # past what is read as one line at all
    await bob.expect_text(r"^\* That line was not sent: it is longer than 4096 bytes")
    bob.send("short again")
    message = await alice.expect("PRIVMSG", "#lobby")
    assert message.params[1] == "short again"


# -- 9: control characters ------------------------------------------------------------------------


async def test_control_characters_typed_never_reach_anyone(server) -> None:
    alice, bob = await lobby(server)
    bob.send(b"ring\x07 the\tbell\x1b[A, ty\x7fpo\x00!")
    message = await alice.expect("PRIVMSG", "#lobby")
    assert message.params[1] == "ring the bell, tpo!"
    assert not re.search(r"[\x00-\x1f\x7f]", alice.raw[-1])


# -- 10: telnet ---------------------------------------------------------------------------------


async def read_exactly(client: LineClient, size: int) -> bytes:
    return await asyncio.wait_for(client.reader.readexactly(size), 5)


async def test_telnet_ctrl_c_is_answered_and_the_chat_goes_on(server) -> None:
    alice, bob = await lobby(server)
    await quiet(bob, alice)
    bob.writer.write(bytes([IAC, IP, IAC, DO, TIMING_MARK]))  # telnet's Ctrl+C: no line ending
    assert await read_exactly(bob, 3) == bytes([IAC, WILL, TIMING_MARK])  # telnet shows output again
    await bob.expect_text(r"^\*\*\* Ctrl\+C does not leave the chat: type /exit to leave\.$")
    alice.send("PRIVMSG #lobby :still there?")
    await bob.expect_text(r"^alice: still there\?$")
    bob.send("yes")
    message = await alice.expect("PRIVMSG", "#lobby")
    assert message.params[1] == "yes"


async def test_telnet_options_are_refused_and_never_relayed(server) -> None:
    alice, bob = await lobby(server)
    await quiet(bob, alice)
    bob.writer.write(bytes([IAC, DO, ECHO, IAC, WILL, NAWS]))
    assert await read_exactly(bob, 6) == bytes([IAC, WONT, ECHO, IAC, DONT, NAWS])
    bob.writer.write(b"hel" + bytes([IAC, SB, NAWS, 0, 80, 0, 24, IAC, SE]) + b"lo")
    await bob.writer.drain()
    bob.writer.write(bytes([IAC]))  # a command cut between two reads
    await bob.writer.drain()
    bob.writer.write(bytes([AYT]) + b" there\r\n")
    await bob.expect_text(r"^\[hubbub: yes, you are connected\]$")
    message = await alice.expect("PRIVMSG", "#lobby")
    assert message.params[1] == "hello there"


async def test_telnet_ctrl_c_before_the_nickname(server, clients) -> None:
    alice = await connected(server, "alice", "#lobby")
    clients.append(alice)
    person = await LineClient.connect(server)
    clients.append(person)
    person.writer.write(bytes([IAC, IP, IAC, DO, TIMING_MARK]))
    assert await read_exactly(person, 3) == bytes([IAC, WILL, TIMING_MARK])
    await person.expect_text(r"Ctrl\+C does not leave the chat")
    person.send("bob")
    await person.expect_text(r"^\* You joined #lobby$")
    assert (await alice.expect("JOIN", "#lobby")).source.startswith("bob!")


async def test_a_stream_of_telnet_commands_is_cut_off_and_the_others_chat_on(server, clients) -> None:
    """Commands make no line, so neither the recvq nor flood control would ever stop them:
    a connection streaming IAC NOP (a core's worth of Python work) is closed after a
    budget no telnet spends (its negotiation, Ctrl+C now and then), before its nickname too."""
    alice, bob = await lobby(server)
    flooder = await LineClient.connect(server)
    clients.append(flooder)
    nop = bytes([IAC, 241]) * 4096
    try:
        for _ in range(64):
            flooder.writer.write(nop)
            await flooder.writer.drain()
    except ConnectionError:
        pass
    try:  # closed: with its ERROR, or reset for the commands it sent after it
        lines = await flooder.closed()
        assert any("Excess telnet commands" in line for line in lines), lines
    except ConnectionResetError:
        pass
    bob.send("still here")
    assert (await alice.expect("PRIVMSG", "#lobby")).params[1] == "still here"


async def test_an_http_request_on_the_irc_port_is_closed_and_its_body_never_said(server, clients) -> None:
    """A web page can make a visitor's browser POST to the IRC port: its body must not
    become a nickname and a message, from the visitor's own address."""
    alice, _bob = await lobby(server)
    browser = await LineClient.connect(server)
    clients.append(browser)
    body = "xspammer\nBuy cheap stuff at evil.example\n"
    browser.writer.write((f"POST /submit HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://evil.example\r\n"
                          f"Content-Length: {len(body)}\r\n\r\n{body}").encode())  # fmt: skip
    try:
        lines = await browser.closed()
        assert not any("nickname" in line for line in lines), lines
    except ConnectionResetError:
        pass  # closed, the rest of the request unread
    alice.send("PRIVMSG #lobby :anyone?")
    got = await sync(alice)
    assert not [m for m in got if m.command in ("JOIN", "PRIVMSG") and "xspammer" in (m.source or "")], got


# -- 11: every numeric a person can get, as a sentence ---------------------------------------

SENTENCES = [
    ("moderated words", r"^\* Your message was not sent: #mod is moderated, only people given a voice can talk"),
    ("/join #lobby", r"^\* You are now talking in #lobby$"),
    ("/msg #noext hi", r"^\* Your message was not sent: only members of #noext can talk there \(/join #noext"),
    ("/join #inv", r"^\* You can't join #inv: it is invite-only, and nobody in it has invited "
                   r"you\. /knock #inv asks its operators to\.$"),
    ("/join #key", r"^\* You can't join #key without its key: type /join #key KEY\.$"),
    ("/join #key wrong", r"^\* You can't join #key without its key: type /join #key KEY\.$"),
    ("/join #full", r"^\* You can't join #full: it is full\.$"),
    ("/join #ban", r"^\* You can't join #ban: you are banned from it\.$"),
    ("/join #a:b", r"^\* #a:b can't be the name of a channel\.$"),
    ("/part #nowhere", r"^\* There is no channel called #nowhere\.$"),
    ("/part #inv", r"^\* You are not in #inv\.$"),
    ("/msg nobody hi", r"^\* Nobody is using the nickname nobody right now\.$"),
    ("/msg #nowhere hi", r"^\* There is no channel called #nowhere\.$"),
    ("/msg alice,carol,dave,erin,frank hi", r"^\* Your message was not sent: it names more recipients than one"),
    ("/nick alice", r"^\* The nickname alice is taken; choose another one\.$"),
    ("/join #b6", r"^\* You joined #b6$"),  # the eighth channel: as many as one may be in
    ("/join #third", r"^\* You can't join #third: you are in as many channels as one may be\. /part one first\.$"),
    ("/join #lobby", r"^\* You are now talking in #lobby$"),
    ("/topic my topic", r"^\* Only operators of #lobby can do that\.$"),
]
BANNED = [
    ("still talking", r"^\* Your message was not sent: you are banned from #lobby\.$"),
    ("/nick bobby", r"^\* You can't change your nickname while you are banned or muted in #lobby\.$"),
]


async def test_every_error_a_person_can_meet_reads_as_a_sentence(make_server, clients) -> None:
    server: Runtime = await make_server("limits.max_channels=8", LOBBY_CREATOR_OP)  # alice runs #lobby too
    alice = await connected(server, "alice", "#lobby", "#inv", "#key", "#full", "#ban", "#noext", "#mod")
    clients.append(alice)
    for mode in ("#inv +i", "#key +k sesame", "#full +l 1", "#ban +b bob!*@*"):
        await op_sets(alice, f"MODE {mode}")
    bob = await connect_plain(server, "bob")
    clients.append(bob)
    for channel in ("#mod", "#b1", "#b2", "#b3", "#b4", "#b5"):
        bob.send(f"/join {channel}")
        await bob.expect_text(rf"^\* You joined {channel}$")
    bob.send("/join #mod")
    await bob.expect_text(r"^\* You are now talking in #mod$")
    await op_sets(alice, "MODE #mod +m")
    await bob.expect_text(r"^\* alice moderated #mod: only people with a voice talk \(\+m\)$")
    for typed, sentence in SENTENCES:
        bob.send(typed)
        line = await bob.expect_text(r"^\*(?! In #)")  # a join's list of names aside
        assert re.search(sentence, line), (typed, line)
    await op_sets(alice, "MODE #lobby +b bob!*@*")
    for typed, sentence in BANNED:
        bob.send(typed)
        line = await bob.expect_text(r"^\* (?!alice banned)")
        assert re.search(sentence, line), (typed, line)
    # none of it showed raw parameters: no "nick #channel: Text" or "#channel: Text" shape anywhere
    assert not [line for line in bob.raw if re.match(r"^\* (\S+ )?#\S+: [A-Z]", line)]


# -- 12: the welcome NOTICE --------------------------------------------------------------------


async def test_an_irc_client_registering_at_once_never_sees_the_welcome_notice(server, clients) -> None:
    client = await LineClient.connect(server)
    clients.append(client)
    client.send("CAP LS 302")
    client.send("NICK alice")
    client.send("USER alice 0 * :Alice")
    client.send("CAP END")
    await client.expect("376")
    replies = client.received + await sync(client)
    assert not [m for m in replies if m.command == "NOTICE" and "Type a nickname" in m.params[-1]]
    assert parse(client.raw[0]).command == "CAP"  # the very first line is the answer to its own


async def test_a_person_who_waits_is_greeted(server, clients) -> None:
    person = await LineClient.connect(server)
    clients.append(person)
    await person.expect_text(r"Type a nickname")
    assert person.raw == [WELCOME]
