"""The sans-I/O session: bytes of lines in, replies out, with no socket and no sleeping.

A `FakeLink` stands in for the transport (it is our own two-method interface, not a
socket mock) and a `FakeClock` for time, so every rule about registration, bad
input and timeouts is checked exactly and instantly.
"""

from __future__ import annotations

import pytest

from hubbub.config import Config, load
from hubbub.irc.framing import LineBuffer
from hubbub.irc.message import Message, parse
from hubbub.plain.detect import looks_like_irc
from hubbub.plain.intake import WELCOME_NOTICE, Intake
from hubbub.plain.render import PlainOutput
from hubbub.server.connection import Connection
from hubbub.server.context import Context
from hubbub.server.context import Services as Network
from hubbub.server.core import local_core
from hubbub.server.keepalive import sweep
from hubbub.server.session import MAX_BODY, MAX_LINE, MAX_TAGS


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeLink:
    """Collects what the session writes and whether it asked to close."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed, "wrote after close"
        self.data += data

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    def hold_input(self) -> None:
        """Lines are fed by the test itself: nothing to hold."""

    def release_input(self) -> None:
        pass

    def charge(self, lines: int) -> None:
        """No flood control without a transport."""

    def input_waiting(self) -> bool:
        return False

    def has_room(self) -> bool:
        """No sendq without a transport: a long reply goes out at once."""
        return True

    def when_drained(self, callback, patience: float) -> None:
        callback()

    def speaks_irc(self, session: object) -> None:
        self.irc_session = session


class Peer:
    """One connection: framing like the transport does it, then the session."""

    def __init__(self, net: Network, ip: str = "127.0.0.1") -> None:
        self.link = FakeLink()
        self.session = Intake(net, self.link, ip)
        self._frames = LineBuffer(MAX_LINE)
        self._read = 0

    @property
    def client(self) -> Connection:
        return self.session.session.conn

    def send(self, line: str | bytes) -> None:
        data = line.encode() if isinstance(line, str) else line
        for framed in self._frames.feed(data + b"\r\n"):
            if framed is None:
                self.session.line_too_long()
            else:
                self.session.line_received(framed)

    def raw_lines(self) -> list[bytes]:
        """Lines written since the last call, without their CRLF."""
        new = bytes(self.link.data[self._read :])
        self._read = len(self.link.data)
        assert new == b"" or new.endswith(b"\r\n")
        return new.split(b"\r\n")[:-1]

    def take(self) -> list[Message]:
        return [parse(line.decode()) for line in self.raw_lines()]

    def codes(self) -> list[str]:
        return [m.command for m in self.take()]

    def register(self, nick: str) -> list[Message]:
        self.send(f"NICK {nick}")
        self.send(f"USER {nick} 0 * :{nick.title()} Example")
        return self.take()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def config() -> Config:
    return load(None, [])


@pytest.fixture
def net(config: Config, clock: FakeClock) -> Network:
    return local_core(config, clock)


def registered(net: Network, nick: str) -> Peer:
    peer = Peer(net)
    peer.take()
    peer.register(nick)
    return peer


# -- connecting and registering -----------------------------------------------------------


def test_connecting_peer_without_a_timer_gets_the_readable_notice_at_once(net: Network) -> None:
    """With a timer (the runtime's), the notice waits for a moment of silence first:
    tests/unit/test_plain_intake.py."""
    peer = Peer(net)
    assert peer.take() == [Message("NOTICE", ["*", WELCOME_NOTICE], net.name)]


def test_registration_sends_the_welcome_burst_in_order(net: Network) -> None:
    peer = Peer(net)
    peer.take()
    replies = peer.register("alice")
    codes = [m.command for m in replies]
    expected_order = [
        "001",
        "002",
        "003",
        "004",
        "005",
        "251",
        "254",
        "255",
        "265",
        "266",
        "375",
        "372",
        "376",
    ]
    positions = [codes.index(code) for code in expected_order]
    assert positions == sorted(positions), codes
    assert codes[-1] == "376"
    assert all(m.source == net.name and m.params[0] == "alice" for m in replies)
    assert replies[0].params[-1].endswith("alice!~alice@127.0.0.1")
    assert peer.client.registered


def test_isupport_advertises_the_casemapping_and_limits(net: Network) -> None:
    peer = Peer(net)
    peer.take()
    tokens = [t for m in peer.register("alice") if m.command == "005" for t in m.params[1:-1]]
    assert "CASEMAPPING=ascii" in tokens
    assert "UTF8ONLY" in tokens
    assert f"NICKLEN={net.config.limits.nicklen}" in tokens


def test_command_before_registration_gets_451(net: Network) -> None:
    peer = Peer(net)
    peer.take()
    peer.send("NICK alice")
    peer.send("JOIN #lobby")
    [reply] = peer.take()
    assert (reply.command, reply.params[0]) == ("451", "alice")


def test_missing_parameters_get_461_naming_the_command(net: Network) -> None:
    peer = Peer(net)
    peer.take()
    peer.send("NICK alice")
    peer.send("USER alice")
    [reply] = peer.take()
    assert reply.command == "461" and reply.params[1] == "USER"
    assert not peer.client.registered


def test_unknown_command_gets_421_naming_it(net: Network) -> None:
    peer = registered(net, "alice")
    peer.send("FROBNICATE now")
    [reply] = peer.take()
    assert reply.command == "421" and reply.params[1] == "FROBNICATE"


def test_a_command_word_of_any_printable_characters_gets_421(net: Network) -> None:
    peer = registered(net, "alice")
    for line, shown in (("FOO_BAR x", "FOO_BAR"), ("priv-msg #a :hi", "PRIV-MSG"), ("123", "123")):
        peer.send(line)
        [reply] = peer.take()
        assert (reply.command, reply.params[1]) == ("421", shown)


def test_unparseable_line_gets_fail_and_the_connection_stays_usable(net: Network) -> None:
    peer = registered(net, "alice")
    peer.send("PRIV\x01MSG #a :hi")
    [reply] = peer.take()
    assert (reply.command, reply.params[:2]) == ("FAIL", ["*", "INVALID_MESSAGE"])
    peer.send("PING check")
    assert peer.take()[-1].command == "PONG"


def test_blank_lines_are_ignored(net: Network) -> None:
    peer = registered(net, "alice")
    peer.send("")
    peer.send("    ")
    assert peer.take() == []


# -- oversized input ----------------------------------------------------------------------


def test_body_of_exactly_510_bytes_is_accepted(net: Network) -> None:
    peer = registered(net, "alice")
    line = "PING :" + "x" * (MAX_BODY - len("PING :"))
    assert len(line) == 510
    peer.send(line)
    assert [m.command for m in peer.take()] == ["PONG"]


def test_body_over_510_bytes_gets_417_and_the_connection_stays_usable(net: Network) -> None:
    peer = registered(net, "alice")
    peer.send("PING :" + "x" * (MAX_BODY - len("PING :") + 1))
    [reply] = peer.take()
    assert reply.command == "417"
    peer.send("PING again")
    assert peer.codes() == ["PONG"]


def test_body_length_is_counted_in_bytes_not_characters(net: Network) -> None:
    peer = registered(net, "alice")
    peer.send("PING :" + "é" * 300)  # 306 characters, 606 bytes
    assert peer.codes() == ["417"]


def test_tags_do_not_count_against_the_body_limit(net: Network) -> None:
    peer = registered(net, "alice")
    tags = "@+example.com/data=" + "t" * 4000
    peer.send(tags + " PING :" + "x" * (MAX_BODY - len("PING :")))
    assert peer.codes() == ["PONG"]


def test_tags_over_8191_bytes_get_417(net: Network) -> None:
    peer = registered(net, "alice")
    peer.send("@+big=" + "t" * (MAX_TAGS + 10) + " PING x")
    assert peer.codes() == ["417"]
    peer.send("PING after")
    assert peer.codes() == ["PONG"]


def test_tag_section_of_8192_bytes_with_its_separators_gets_417(net: Network) -> None:
    """message-tags (the version DESIGN.md cites): 8191 bytes including '@' and the space."""
    peer = registered(net, "alice")
    tag_section = "@+k=" + "t" * (8192 - len("@+k=") - 1) + " "
    assert len(tag_section) == 8192
    peer.send(tag_section + "PING x")
    assert peer.codes() == ["417"]


def test_tag_section_of_8191_bytes_with_its_separators_is_accepted(net: Network) -> None:
    peer = registered(net, "alice")
    tag_section = "@+k=" + "t" * (8191 - len("@+k=") - 1) + " "
    peer.send(tag_section + "PING x")
    assert peer.codes() == ["PONG"]


def test_line_longer_than_the_frame_limit_gets_one_417(net: Network) -> None:
    peer = registered(net, "alice")
    peer.send(b"PRIVMSG #a :" + b"x" * (MAX_LINE * 3))
    assert peer.codes() == ["417"]
    peer.send("PING still-here")
    assert peer.codes() == ["PONG"]


# -- invalid UTF-8 --------------------------------------------------------------------------


def test_invalid_utf8_gets_fail_naming_the_readable_command(net: Network) -> None:
    peer = registered(net, "alice")
    peer.send(b"PRIVMSG #lobby :caf\xe9")
    [reply] = peer.take()
    assert (reply.command, reply.params[:2]) == ("FAIL", ["PRIVMSG", "INVALID_UTF8"])


def test_invalid_utf8_in_the_command_gets_fail_with_star(net: Network) -> None:
    peer = registered(net, "alice")
    peer.send(b"\xff\xfe\xfd garbage")
    [reply] = peer.take()
    assert (reply.command, reply.params[:2]) == ("FAIL", ["*", "INVALID_UTF8"])


def test_connection_is_usable_after_invalid_utf8(net: Network) -> None:
    peer = registered(net, "alice")
    peer.send(b"\x80\x81\x82")
    peer.send(b"PRIVMSG #x :\xc3")
    peer.take()
    peer.send("PING ok")
    assert peer.codes() == ["PONG"]
    assert not peer.link.closed and not peer.client.gone


def test_binary_garbage_never_escapes_as_an_exception(net: Network) -> None:
    peer = registered(net, "alice")
    for chunk in (b"\x00\x01\x02", b"\xff" * 600, b"@\x00 \x00", b": :", b"@ @ @", b"\x1b[2J", b"001 \x00"):
        peer.send(chunk)
    peer.take()
    peer.send("PING ok")
    assert peer.codes() == ["PONG"]


def test_a_first_line_that_is_not_utf8_is_a_person_typing_in_another_encoding(net: Network) -> None:
    # An IRC client opens in ASCII (CAP, NICK...); bytes that are not UTF-8 first are a
    # person whose terminal speaks cp1251, say, typing a nickname: answered in words.
    peer = Peer(net)
    peer.take()
    peer.send("Борис".encode("cp1251"))
    text = b"\n".join(peer.raw_lines()).decode()
    assert "not UTF-8" in text and "Type another nickname" in text
    assert "FAIL" not in text and not peer.client.registered
    peer.send("boris")
    assert peer.client.registered and isinstance(peer.client.output, PlainOutput)


# -- IRC or plain text ------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "CAP LS 302",
        "CAP LS",
        "CAP REQ :multi-prefix sasl",
        "CAP END",
        "CAP NOTACOMMAND",  # a subcommand this server does not know: 410 follows
        "CAP FUTURE arg",
        "NICK alice",
        "NICK :alice",
        "NICK averyveryverylongnickname",  # longer than our NICKLEN: still a client (432 follows)
        "NICK 9lives",  # an impossible nick, sent by a client all the same (432 follows)
        "USER alice 0 * :Alice",
        "USER alice 0 * Alice",
        "PASS secret",
        "PASS :secret with spaces",
        "PING irc.example.org",
        "QUIT",
        "QUIT :gave up",
        "WEBIRC pass gw host 1.2.3.4",
        "@label=1 CAP LS",
        ":alice NICK alice",
    ],
)
def test_well_formed_registration_commands_mean_irc(line: str) -> None:
    assert looks_like_irc(line)


@pytest.mark.parametrize(
    "line",
    [
        "alice",
        "hello world",
        "NICK",
        "PRIVMSG #lobby :hi",
        "JOIN #lobby",
        "/nick alice",
        # what a person types that merely starts like a registration command
        "USER is what I am, hi",
        "nick erin2",
        "Nick erin2",
        "cap ls",
        "NICK erin 2",
        "CAP is what I wear",
        "CAP LS please",
        "CAP Hi there",
        "CAP IS what I wear",
        "PASS the salt",
        "PING me when you are here",
        "QUIT this and that",
        ":) hi",
        "@bob hello",
    ],
)
def test_anything_else_first_means_a_person_typing(line: str) -> None:
    assert not looks_like_irc(line)


def test_first_line_that_is_a_nickname_starts_plain_mode(net: Network) -> None:
    peer = Peer(net)
    peer.take()
    peer.send("alice")
    text = b"\n".join(peer.raw_lines()).decode()
    assert peer.client.registered and isinstance(peer.client.output, PlainOutput)
    assert "Welcome, alice" in text
    assert "You joined #lobby" in text
    assert " 001 " not in text and "PRIVMSG" not in text


def test_first_line_decides_once_for_the_whole_connection(net: Network) -> None:
    peer = Peer(net)
    peer.take()
    peer.send("NICK alice")
    peer.send("bob")  # not a nickname in plain mode: an unknown command in IRC mode
    assert peer.codes() == ["421"]
    assert not isinstance(peer.client.output, PlainOutput)


def test_plain_user_and_irc_user_share_a_channel(net: Network) -> None:
    irc = registered(net, "alice")
    irc.send("JOIN #lobby")
    irc.take()
    plain = Peer(net)
    plain.take()
    plain.send("bob")
    plain.raw_lines()
    joined = irc.take()
    assert [(m.command, m.source.split("!")[0]) for m in joined] == [("JOIN", "bob")]
    plain.send("hello there")
    assert irc.take() == [Message("PRIVMSG", ["#lobby", "hello there"], plain.client.user.prefix)]
    irc.send("PRIVMSG #lobby :hi bob")
    assert plain.raw_lines() == [b"alice: hi bob"]


def test_plain_nickname_that_is_invalid_gets_a_reason_and_another_try(net: Network) -> None:
    peer = Peer(net)
    peer.take()
    peer.send("9lives")
    [line] = peer.raw_lines()
    assert b"can't be used" in line and b"start" in line
    assert not peer.client.registered
    peer.send("lives9")
    assert peer.client.registered and peer.client.nick == "lives9"


@pytest.mark.parametrize("typed", [b"hi\r:evil!x@y PRIVMSG #lobby :forged", b"nul\x00byte"])
def test_plain_line_with_cr_or_nul_inside_reaches_nobody_as_a_broken_line(net: Network, typed: bytes) -> None:
    """A CR inside a relayed line lets a plain user forge lines in IRC clients that split on it."""
    irc = registered(net, "alice")
    irc.send("JOIN #lobby")
    irc.take()
    plain = Peer(net)
    plain.take()
    plain.send("bob")
    plain.raw_lines()
    irc.take()
    plain.send(typed)  # raises today: Message.to_line refuses to serialize the CR or NUL
    for line in irc.raw_lines():
        assert b"\r" not in line and b"\x00" not in line
    plain.send("still here")
    assert irc.take()[-1].params == ["#lobby", "still here"]


# -- timeouts -------------------------------------------------------------------------------


def test_unregistered_connection_is_dropped_at_the_registration_timeout(
    net: Network, clock: FakeClock
) -> None:
    peer = Peer(net)
    peer.take()
    peer.send("NICK slowpoke")
    timeout = net.config.limits.registration_timeout
    clock.advance(timeout - 0.5)
    sweep(net, clock())
    assert peer.take() == [] and not peer.link.closed
    clock.advance(0.5)
    sweep(net, clock())
    [error] = peer.take()
    assert error.command == "ERROR" and "Registration timed out" in error.params[0]
    assert peer.link.closed
    assert peer.client.user.uid not in net.state.users
    assert net.state.find_user("slowpoke") is None and not net.state.nick_taken("slowpoke")


def test_registered_client_gets_no_ping_while_active(net: Network, clock: FakeClock) -> None:
    peer = registered(net, "alice")
    interval = net.config.limits.ping_interval
    for _ in range(5):
        clock.advance(interval * 0.9)
        peer.send("PING keep")
        peer.take()
        sweep(net, clock())
        assert peer.take() == []
    assert not peer.link.closed


def test_idle_client_gets_ping_after_ping_interval_once(net: Network, clock: FakeClock) -> None:
    peer = registered(net, "alice")
    interval = net.config.limits.ping_interval
    clock.advance(interval - 1)
    sweep(net, clock())
    assert peer.take() == []
    clock.advance(1)
    sweep(net, clock())
    assert peer.take() == [Message("PING", [net.name], net.name)]
    clock.advance(1)
    sweep(net, clock())
    assert peer.take() == []


def test_idle_client_is_dropped_after_ping_timeout(net: Network, clock: FakeClock) -> None:
    lim = net.config.limits
    watcher = registered(net, "bob")
    peer = registered(net, "alice")
    peer.send("JOIN #c")
    watcher.send("JOIN #c")
    peer.take()
    clock.advance(lim.ping_interval)
    sweep(net, clock())
    assert [m.command for m in peer.take()] == ["PING"]
    watcher.send("PONG x")  # bob answers; alice does not
    watcher.take()
    clock.advance(lim.ping_timeout)
    sweep(net, clock())
    [error] = peer.take()
    assert error.command == "ERROR" and "Ping timeout" in error.params[0]
    assert peer.link.closed and peer.client.gone
    [quit_msg] = watcher.take()
    assert quit_msg.command == "QUIT" and quit_msg.source.startswith("alice!")
    assert not watcher.link.closed


def test_answering_the_ping_keeps_the_connection(net: Network, clock: FakeClock) -> None:
    lim = net.config.limits
    peer = registered(net, "alice")
    clock.advance(lim.ping_interval)
    sweep(net, clock())
    [ping] = peer.take()
    clock.advance(lim.ping_timeout / 2)
    peer.send(f"PONG :{ping.params[0]}")
    clock.advance(lim.ping_timeout / 2)
    sweep(net, clock())
    assert peer.take() == []
    assert not peer.link.closed


def test_plain_users_are_not_pinged(net: Network, clock: FakeClock) -> None:
    peer = Peer(net)
    peer.take()
    peer.send("alice")
    peer.raw_lines()
    lim = net.config.limits
    clock.advance(lim.ping_interval + lim.ping_timeout + 1)
    sweep(net, clock())
    assert peer.raw_lines() == [] and not peer.link.closed


def test_closed_connection_leaves_and_frees_its_nick(net: Network) -> None:
    watcher = registered(net, "bob")
    peer = registered(net, "alice")
    peer.send("JOIN #c")
    watcher.send("JOIN #c")
    watcher.take()
    peer.take()
    peer.session.connection_lost("Connection closed")
    assert [m.command for m in watcher.take()] == ["QUIT"]
    assert not net.state.nick_taken("alice")
    peer.send("PING late")  # a line racing the close is dropped, not answered
    assert peer.raw_lines() == []


@pytest.fixture
def broken_command():
    """A command whose handler fails, as a bug of ours would; removed after the test."""
    from hubbub.server.commands import COMMANDS, command

    @command("BREAKME")
    def _broken(ctx: Context, message: Message) -> None:
        raise RuntimeError("a bug of ours")

    yield "BREAKME"
    del COMMANDS["BREAKME"]


def test_a_handler_failure_drops_only_that_client_and_others_hear_its_quit(
    net: Network, broken_command: str
) -> None:
    alice = registered(net, "alice")
    bob = registered(net, "bob")
    for peer in (alice, bob):
        peer.send("JOIN #c")
        peer.take()
    alice.take()
    bob.send(broken_command)
    assert bob.link.closed
    error = [m for m in bob.take() if m.command == "ERROR"]
    assert error and "Internal error" in error[0].params[0]
    quits = [m for m in alice.take() if m.command == "QUIT"]
    assert quits and quits[0].source.startswith("bob!")
    alice.send("PING still")
    assert alice.codes() == ["PONG"]


def test_lusers_counts_follow_registrations_quits_and_user_modes(net: Network) -> None:
    alice, bob, carol = (registered(net, nick) for nick in ("alice", "bob", "carol"))
    bob.send("MODE bob +i")
    carol.send("QUIT")

    def lusers() -> dict[str, list[str]]:
        alice.take()
        alice.send("LUSERS")
        return {m.command: m.params for m in alice.take()}

    counts = lusers()
    assert counts["251"][1] == "There are 1 users and 1 invisible on 1 servers"
    assert counts["255"][1] == "I have 2 clients and 0 servers"
    assert counts["265"][1:3] == ["2", "3"]  # current, and the peak of three
    bob.send("QUIT")
    counts = lusers()
    assert counts["251"][1] == "There are 1 users and 0 invisible on 1 servers"
    assert counts["255"][1] == "I have 1 clients and 0 servers"
