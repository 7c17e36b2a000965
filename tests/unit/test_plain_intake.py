"""The plain mode's intake and translator without a socket, with a fake clock and timers:
when the welcome NOTICE is sent, how telnet's bytes are answered, how the extra
messages of a long line are paced."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hubbub.config import load
from hubbub.irc.framing import LineBuffer
from hubbub.irc.message import Message, parse
from hubbub.plain.intake import BANNER_DELAY, INTERRUPT_HINT, WELCOME_NOTICE, Intake
from hubbub.server.context import Services
from hubbub.server.core import local_core
from hubbub.server.session import MAX_LINE
from tests.unit.test_session import FakeClock, FakeLink


class FakeTimers:
    """`later` for tests: timers run when the test says time has passed."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.pending: list[tuple[float, Callable[[], None], Handle]] = []

    def __call__(self, delay: float, callback: Callable[[], None]) -> Handle:
        handle = Handle()
        self.pending.append((self.clock.now + delay, callback, handle))
        return handle

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        due = [entry for entry in self.pending if entry[0] <= self.clock.now]
        self.pending = [entry for entry in self.pending if entry[0] > self.clock.now]
        for _, callback, handle in sorted(due, key=lambda entry: entry[0]):
            if not handle.cancelled:
                callback()


class Handle:
    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class HoldingLink(FakeLink):
    def __init__(self) -> None:
        super().__init__()
        self.held = 0

    def hold_input(self) -> None:
        self.held += 1

    def release_input(self) -> None:
        self.held -= 1


class Conn:
    """One connection as the transport drives it: the telnet filter, framing, the intake."""

    def __init__(self, net: Services, timers: FakeTimers) -> None:
        self.link = HoldingLink()
        self.intake = Intake(net, self.link, "127.0.0.1", later=timers)
        self._frames = LineBuffer(MAX_LINE)
        self._read = 0

    def receive(self, data: bytes) -> None:
        if self.intake.incoming is not None:
            data = self.intake.incoming(data)
        for line in self._frames.feed(data):
            if line is None:
                self.intake.line_too_long()
            else:
                self.intake.line_received(line)

    def send(self, line: str) -> None:
        self.receive(line.encode() + b"\r\n")

    def new_bytes(self) -> bytes:
        data = bytes(self.link.data[self._read :])
        self._read = len(self.link.data)
        return data

    def lines(self) -> list[str]:
        return self.new_bytes().decode("utf-8", "replace").splitlines()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def timers(clock: FakeClock) -> FakeTimers:
    return FakeTimers(clock)


def server(clock: FakeClock, *overrides: str) -> Services:
    return local_core(load(None, list(overrides)), clock)


# -- the welcome NOTICE ------------------------------------------------------------------------


def test_welcome_notice_waits_for_a_moment_of_silence(clock: FakeClock, timers: FakeTimers) -> None:
    conn = Conn(server(clock), timers)
    assert conn.new_bytes() == b""
    timers.advance(BANNER_DELAY)
    assert [parse(line) for line in conn.lines()] == [Message("NOTICE", ["*", WELCOME_NOTICE], "hubbub.local")]


@pytest.mark.parametrize("first", ["CAP LS 302", "NICK alice", "PASS secret"])
def test_an_irc_client_speaking_first_never_gets_the_welcome_notice(
    clock: FakeClock, timers: FakeTimers, first: str
) -> None:
    conn = Conn(server(clock), timers)
    conn.send(first)
    timers.advance(BANNER_DELAY * 10)
    conn.send("NICK alice")
    conn.send("USER alice 0 * :Alice")
    conn.send("CAP END")
    assert not any("Type a nickname" in line for line in conn.lines())
    assert conn.intake.speaks_irc


def test_a_person_typing_before_the_notice_is_due_gets_on_without_it(clock: FakeClock, timers: FakeTimers) -> None:
    conn = Conn(server(clock), timers)
    conn.send("bob")
    timers.advance(BANNER_DELAY * 10)
    lines = conn.lines()
    assert "* You joined #lobby" in lines and not any("Type a nickname" in line for line in lines)


def test_a_blank_line_or_telnet_bytes_first_do_not_put_the_notice_off(clock: FakeClock, timers: FakeTimers) -> None:
    conn = Conn(server(clock), timers)
    conn.receive(b"\r\n")
    conn.receive(bytes([255, 253, 1]))  # IAC DO ECHO
    timers.advance(BANNER_DELAY)
    assert any("Type a nickname" in line for line in conn.lines())


def test_no_notice_for_a_connection_gone_before_it_is_due(clock: FakeClock, timers: FakeTimers) -> None:
    conn = Conn(server(clock), timers)
    conn.intake.connection_lost("Connection closed")
    timers.advance(BANNER_DELAY)
    assert conn.new_bytes() == b""


# -- telnet ---------------------------------------------------------------------------------------


def test_ctrl_c_in_telnet_is_answered_and_the_person_stays(clock: FakeClock, timers: FakeTimers) -> None:
    net = server(clock)
    conn = Conn(net, timers)
    conn.send("bob")
    conn.new_bytes()
    conn.receive(bytes([255, 244, 255, 253, 6]))  # IAC IP, IAC DO TIMING-MARK: no line ending
    assert conn.new_bytes() == bytes([255, 251, 6]) + INTERRUPT_HINT.encode() + b"\r\n"
    conn.send("still here")
    assert not conn.intake.session.conn.gone
    assert net.state.find_user("bob") is not None


def test_irc_clients_bytes_skip_the_telnet_filter(clock: FakeClock, timers: FakeTimers) -> None:
    conn = Conn(server(clock), timers)
    assert conn.intake.incoming is not None
    conn.send("NICK alice")
    assert conn.intake.incoming is None


def test_an_irc_client_is_handed_to_its_session_and_the_intake_let_go(clock: FakeClock, timers: FakeTimers) -> None:
    net = server(clock)
    conn = Conn(net, timers)
    assert not hasattr(conn.link, "irc_session")
    conn.send("NICK alice")
    session = conn.link.irc_session  # what the transport talks to from now on
    assert session is conn.intake.session
    session.line_received(b"USER a 0 * :Alice")
    assert " 001 alice " in conn.new_bytes().decode()
    assert net.state.find_user("alice") is not None


def test_a_person_keeps_the_intake(clock: FakeClock, timers: FakeTimers) -> None:
    conn = Conn(server(clock), timers)
    conn.send("bob")
    assert not hasattr(conn.link, "irc_session")


# -- long lines --------------------------------------------------------------------------------


def said_by(net: Services, conn: Conn) -> list[str]:
    """What a plain user said in #lobby, as an IRC user there received it."""
    return [m.params[1] for m in (parse(line) for line in conn.lines()) if m.command == "PRIVMSG"]


def test_extra_messages_of_a_long_line_are_paced_and_hold_the_next_lines(clock: FakeClock, timers: FakeTimers) -> None:
    net = server(clock, "limits.flood_control=true", "limits.flood_burst=2", "limits.flood_rate=1")
    alice = Conn(net, timers)
    alice.send("NICK alice")
    alice.send("USER alice 0 * :Alice")
    alice.send("JOIN #lobby")
    bob = Conn(net, timers)
    bob.send("bob")
    alice.new_bytes()
    words = [f"word{i:04}" for i in range(300)]  # 2699 bytes: six messages
    bob.send(" ".join(words))
    said = said_by(net, alice)
    # One flood budget for the person's lines and the extra messages of a long line:
    # the nickname line and the line's own message take the burst of two, then one a second.
    assert len(said) == 1
    assert bob.link.held == 1  # the person's next lines wait behind the rest
    timers.advance(1.0)
    said += said_by(net, alice)
    assert len(said) == 2 and bob.link.held == 1
    timers.advance(1.0)
    said += said_by(net, alice)
    assert len(said) == 3 and bob.link.held == 1
    timers.advance(2.0)
    said += said_by(net, alice)
    assert len(said) == 5 and bob.link.held == 1
    timers.advance(2.0)
    said += said_by(net, alice)
    assert len(said) == 6 and bob.link.held == 0
    assert " ".join(said).split() == words


def test_without_flood_control_a_long_line_goes_out_at_once(clock: FakeClock, timers: FakeTimers) -> None:
    net = server(clock, "limits.flood_control=false")
    alice = Conn(net, timers)
    for line in ("NICK alice", "USER alice 0 * :Alice", "JOIN #lobby"):
        alice.send(line)
    bob = Conn(net, timers)
    bob.send("bob")
    alice.new_bytes()
    bob.send("x " * 1000)
    assert len(said_by(net, alice)) == 5 and bob.link.held == 0


def test_the_pace_stops_when_the_person_leaves(clock: FakeClock, timers: FakeTimers) -> None:
    net = server(clock, "limits.flood_control=true", "limits.flood_burst=1", "limits.flood_rate=1")
    bob = Conn(net, timers)
    bob.send("bob")
    bob.send("y " * 2000)
    bob.intake.connection_lost("Connection closed")
    timers.advance(100.0)  # nothing left to send, nothing raised
    assert net.state.find_user("bob") is None


def test_a_failure_while_pacing_drops_only_that_person(
    clock: FakeClock, timers: FakeTimers, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hubbub.plain.translate as translate

    net = server(clock, "limits.flood_control=true", "limits.flood_burst=1", "limits.flood_rate=1")
    bob = Conn(net, timers)
    bob.send("bob")
    bob.send("z " * 2000)

    def broken(ctx: object, message: Message) -> None:
        raise RuntimeError("a bug of ours")

    monkeypatch.setattr(translate, "dispatch", broken)
    timers.advance(1.0)  # the next part is due: its sending fails, on the timer
    assert bob.link.closed and "Internal error" in bob.lines()[-1]
    assert net.state.find_user("bob") is None
