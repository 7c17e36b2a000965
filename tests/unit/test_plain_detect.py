"""IRC in lower case, told from a person typing: the pure judgements of a connection's
first lines (plain/detect.py), the intake's wait for the line after an UNSURE one
(plain/intake.py, with a fake clock), and plain mode's refusal to say a command to
NickServ in a channel (plain/translate.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hubbub.irc.framing import LineBuffer
from hubbub.plain.detect import Opening, judge_first_line, looks_like_irc, next_line_is_irc
from hubbub.plain.intake import SECOND_LINE_WAIT, Intake
from hubbub.plain.render import PlainOutput
from hubbub.plain.translate import typed_to_nickserv
from hubbub.server.context import Services
from hubbub.server.session import MAX_LINE
from tests.unit.test_plain_intake import Conn, FakeTimers, HoldingLink, server
from tests.unit.test_session import FakeClock

# -- the judgements ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "NICK alice",  # in capitals, as before
        "USER alice 0 * :Alice",
        "PASS secret",
        "CAP LS 302",
        "PASS :",  # an empty password: IRC (461 follows), not a nickname
        "user shbot 0 * :shell bot",  # a mode number and `*`: only a program writes it
        "User shbot 8 * shellbot",
        "cap ls 302",  # a version
        "@label=1 user a 0 * :A",
        "WEBIRC gwpass thelounge 127.0.0.1",  # a gateway's, short of its hostname: 461 follows
        "WEBIRC gwpass",
    ],
)
def test_irc_at_once(line: str) -> None:
    assert judge_first_line(line) is Opening.IRC
    assert looks_like_irc(line)


@pytest.mark.parametrize(
    "line",
    [
        "nick shbot",  # a bot's, or a person typing `nick` before the name they want
        "nick erin2",
        "Nick erin2",
        "pass hunter2",
        "pass :",
        "cap ls",
        "cap end",
        "cap req :sasl",
        "NICK erin 2",  # RFC 1459's hop count, from an old bot, or a person's name and age
        "NICK hopbot 0",
        "nick hopbot 0",
        "user my name is bob",  # four words: USER's count, but not its form
        ":shbot nick shbot",
    ],
)
def test_unsure_lines_wait_for_the_next(line: str) -> None:
    assert judge_first_line(line) is Opening.UNSURE
    assert not looks_like_irc(line)


@pytest.mark.parametrize(
    "line",
    [
        "alice",
        "hello world",
        "USER is what I am, hi",
        "user is what I am, hi",
        "nick",
        "nick is what I go by",
        "NICK erin two",
        "pass the salt",
        "cap is what I wear",
        "cap hi there",  # an unknown CAP subcommand counts in capitals only
        "quit",  # PING, PONG, QUIT, WEBIRC: in capitals only, as before
        "ping me",
        "webirc pw gw host 1.2.3.4",
        "PRIVMSG #lobby :hi",
        "/nick erin2",
    ],
)
def test_a_person_at_once(line: str) -> None:
    assert judge_first_line(line) is Opening.PERSON


@pytest.mark.parametrize(
    ("line", "irc"),
    [
        ("user shbot 0 * :shell bot", True),
        ("USER shbot shbot shbot :shell bot", True),
        ("nick shbot", True),  # after `pass x`
        ("NICK shbot", True),
        ("cap ls 302", True),
        ("pass :", True),
        ("hello", False),
        ("hi, I'm erin", False),
        ("nick", False),
        ("join #lobby", False),
        ("PRIVMSG NickServ :IDENTIFY pw", False),
        ("quit", False),
    ],
)
def test_the_line_after_an_unsure_one(line: str, irc: bool) -> None:
    assert next_line_is_irc(line) is irc


@pytest.mark.parametrize(
    ("text", "to_nickserv"),
    [
        ("PRIVMSG NickServ :IDENTIFY hunter2secret", True),
        ("privmsg nickserv identify hunter2secret", True),
        ("msg NickServ IDENTIFY shbot hunter2secret", True),
        ("ns identify hunter2secret", True),
        ("NickServ REGISTER hunter2secret", True),
        ("ns", False),
        ("ns man", False),  # chat's "nice shot"
        ("nickserv is down?", False),
        ("PRIVMSG #lobby :hi", False),
        ("identify the problem first", False),
        ("identify hunter2secret", True),  # NickServ's words, whom they were for left out
        ("IDENTIFY alice hunter2secret", True),
        ("register hunter2secret erin@example.org", True),
        ("identify yourself", True),  # taken for one too: the answer says how to say it
        ("register now please", False),
        ("register", False),
        ("identify", False),
        ("msg me later", False),
    ],
)
def test_a_command_to_nickserv_typed_as_chat(text: str, to_nickserv: bool) -> None:
    assert typed_to_nickserv(text) is to_nickserv


# -- the wait, with a fake clock ----------------------------------------------------------------


class FollowingLink(HoldingLink):
    """A link that keeps steps while its input is held, as the transport's gate does."""

    def __init__(self) -> None:
        super().__init__()
        self.steps: list[Callable[[], None]] = []

    def follow_up(self, step: Callable[[], None]) -> bool:
        if not self.held:
            return False
        self.steps.append(step)
        return True


class Peer(Conn):
    """A connection as the transport drives it (test_plain_intake.Conn), over that link."""

    def __init__(self, net: Services, timers: FakeTimers) -> None:  # not Conn's: it would make an intake too
        self.link = FollowingLink()
        self.intake = Intake(net, self.link, "127.0.0.1", later=timers)
        self._frames = LineBuffer(MAX_LINE)
        self._read = 0


def connection(clock: FakeClock, timers: FakeTimers) -> Peer:
    return Peer(server(clock), timers)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def timers(clock: FakeClock) -> FakeTimers:
    return FakeTimers(clock)


def test_a_lowercase_bot_is_served_as_irc_from_its_first_line(clock: FakeClock, timers: FakeTimers) -> None:
    conn = connection(clock, timers)
    conn.send("nick shbot")
    assert conn.new_bytes() == b"" and not conn.intake.speaks_irc
    conn.send("user shbot 0 * :shell bot")
    lines = conn.lines()
    assert lines[0].startswith(":hubbub.local 001 shbot ")
    assert conn.intake.speaks_irc
    timers.advance(SECOND_LINE_WAIT * 2)  # the wait was called off: no plain mode, no greeting
    assert not any(line.startswith("*") or "Type a nickname" in line for line in conn.lines())


def test_an_unsure_line_and_nothing_after_it_is_a_persons_nickname(clock: FakeClock, timers: FakeTimers) -> None:
    conn = connection(clock, timers)
    conn.send("nick erin2")
    timers.advance(SECOND_LINE_WAIT * 0.9)
    assert conn.new_bytes() == b""
    timers.advance(SECOND_LINE_WAIT * 0.1)
    lines = conn.lines()
    assert lines[0].startswith("*** Welcome, erin2! ") and "* You joined #lobby" in lines
    assert isinstance(conn.intake.session.conn.output, PlainOutput)


def test_an_unsure_line_then_another_line_is_a_person_at_once(clock: FakeClock, timers: FakeTimers) -> None:
    conn = connection(clock, timers)
    conn.send("nick erin2")
    conn.send("hello everyone")
    lines = conn.lines()
    assert lines[0].startswith("*** Welcome, erin2! ") and "* You joined #lobby" in lines
    assert not conn.intake.speaks_irc


def test_a_blank_line_decides_nothing(clock: FakeClock, timers: FakeTimers) -> None:
    conn = connection(clock, timers)
    conn.send("pass hunter2")
    conn.send("")
    assert conn.new_bytes() == b""
    conn.send("nick shbot")
    conn.send("user shbot 0 * :shell bot")
    assert any(" 001 shbot " in line for line in conn.lines())


def test_a_nickname_is_answered_without_waiting(clock: FakeClock, timers: FakeTimers) -> None:
    conn = connection(clock, timers)
    conn.send("erin2")
    assert conn.lines()[0].startswith("*** Welcome, erin2! ")


def test_the_line_after_waits_while_the_first_holds_the_input(clock: FakeClock, timers: FakeTimers) -> None:
    """The held line may hold the input (in a cluster, NICK waits for the network's
    order): the next is handled after it is released, not beside it."""
    conn = connection(clock, timers)
    link = conn.link
    assert isinstance(link, FollowingLink)
    conn.send("nick shbot")
    link.held = 1  # as if NICK's event were on its way through a cluster
    conn.send("user shbot 0 * :shell bot")
    assert not any(" 001 " in line for line in conn.lines())
    assert len(link.steps) == 1
    link.held = 0
    link.steps.pop()()
    assert any(" 001 shbot " in line for line in conn.lines())


def test_a_connection_gone_while_waiting_is_not_answered(clock: FakeClock, timers: FakeTimers) -> None:
    conn = connection(clock, timers)
    conn.send("nick erin2")
    conn.intake.connection_lost("Connection closed")
    timers.advance(SECOND_LINE_WAIT * 2)
    assert conn.new_bytes() == b""


def test_a_too_long_line_after_an_unsure_one_is_a_persons(clock: FakeClock, timers: FakeTimers) -> None:
    conn = connection(clock, timers)
    conn.send("nick erin2")
    conn.intake.line_too_long()
    lines = conn.lines()
    assert lines[0].startswith("*** Welcome, erin2! ")
    assert any("longer than" in line for line in lines)
