"""Connections flood control leaves alone, without sockets: the gate of an exempt
connection (no pacing, nothing owed, bounded all the same), the rule that decides who
is exempt, and the subscriber that tells a local connection as its account and its
operator status change where events are applied."""

from __future__ import annotations

import re

import pytest

from hubbub.config import Config, ConfigError, LimitsSection, OperBlock, load
from hubbub.plain.intake import Intake
from hubbub.server.context import Services
from hubbub.server.core import local_core
from hubbub.server.floodexempt import is_exempt
from hubbub.server.user import User
from hubbub.transport.gate import NOTHING, GateSettings, LineGate
from tests.helpers import CHEAP_HASH, cheap_hash
from tests.unit.test_session import FakeClock, FakeLink

PACED = GateSettings(flood_control=True, flood_rate=1.0, flood_burst=3, recvq=64)


def lines(count: int, tag: str = "line") -> bytes:
    return b"".join(b"PRIVMSG #c :%s %d\r\n" % (tag.encode(), i) for i in range(count))


def drained(gate: LineGate) -> list[bytes]:
    """What next_line gives now, until it gives nothing."""
    out = []
    while (line := gate.next_line()) is not NOTHING:
        assert isinstance(line, bytes)
        out.append(line)
    return out


# -- the gate ------------------------------------------------------------------------------------


def test_an_exempt_gate_hands_every_line_over_at_once_and_none_waits() -> None:
    gate = LineGate(PACED, 512, FakeClock())
    gate.exempt_from_flood(True)
    assert gate.receive(lines(100)) == [b"PRIVMSG #c :line %d" % i for i in range(100)]
    assert gate.waiting is None and not gate.flooded and gate.wait() is None


def test_lines_paced_before_the_exemption_go_at_once_when_it_comes() -> None:
    gate = LineGate(PACED, 512, FakeClock())
    assert gate.receive(lines(5)) == []  # paced: they wait for next_line
    assert len(drained(gate)) == 3  # the burst; the rest wait for tokens
    gate.exempt_from_flood(True)
    assert drained(gate) == [b"PRIVMSG #c :line 3", b"PRIVMSG #c :line 4"]


def test_an_exempt_connection_owes_nothing_when_its_exemption_ends() -> None:
    """Charges while exempt (a JOIN of many channels, a multiline batch) are not counted:
    once paced again it has a full burst, as a new connection has."""
    clock = FakeClock()
    gate = LineGate(PACED, 512, clock)
    gate.exempt_from_flood(True)
    gate.charge(1000)
    gate.exempt_from_flood(False)
    gate.receive(lines(4))
    assert len(drained(gate)) == 3
    assert gate.wait() == pytest.approx(1.0)


def test_a_reload_keeps_an_exempt_gate_exempt_and_the_others_paced() -> None:
    exempt, paced = LineGate(PACED, 512, FakeClock()), LineGate(PACED, 512, FakeClock())
    exempt.exempt_from_flood(True)
    faster = GateSettings(flood_control=True, flood_rate=10.0, flood_burst=5, recvq=64)
    for gate in (exempt, paced):
        gate.configure(faster)
    assert exempt.bucket is None and exempt.receive(lines(10)) != []
    assert paced.bucket is not None and paced.receive(lines(10)) == []


def test_an_exempt_gate_still_bounds_what_waits_while_its_input_is_held() -> None:
    """Held (slow work, a cluster's order), its lines wait, and past the recvq it is
    `flooded`: the transport then stops reading from it (pumping.py) until it is released.
    The line length holds too."""
    gate = LineGate(PACED, 512, FakeClock())
    gate.exempt_from_flood(True)
    gate.hold()
    assert gate.receive(lines(10)) == []
    assert gate.flooded
    gate.release()
    assert len(drained(gate)) == 10 and not gate.flooded
    assert gate.receive(b"PRIVMSG #c :" + b"x" * 600 + b"\r\n") == [None]  # too long: its bytes are gone


# -- who is exempt -------------------------------------------------------------------------------


def user(account: str | None = None, modes: str = "") -> User:
    someone = User("u1", "127.0.0.1", "localhost", False, 0.0)
    someone.account = account
    someone.modes = frozenset(modes)
    return someone


def limits(*overrides: str) -> LimitsSection:
    return load(None, list(overrides)).limits


def test_listed_accounts_are_exempt_as_nicks_compare_and_others_are_not() -> None:
    listed = limits("limits.flood_exempt_accounts=['BuildBot', 'feeds']")
    assert is_exempt(user("buildbot"), listed) and is_exempt(user("FEEDS"), listed)
    assert not is_exempt(user("buildbot2"), listed)
    assert not is_exempt(user(None), listed)
    assert not is_exempt(user("buildbot"), limits())


def test_operators_are_exempt_while_opered_unless_turned_off() -> None:
    assert is_exempt(user(None, "o"), limits())
    assert not is_exempt(user(None, "iw"), limits())
    assert not is_exempt(user(None, "o"), limits("limits.flood_exempt_opers=false"))


def test_the_setting_takes_a_name_or_a_list_and_refuses_what_cannot_be_an_account() -> None:
    assert limits("limits.flood_exempt_accounts=buildbot").flood_exempt_accounts == ["buildbot"]
    assert limits().flood_exempt_accounts == [] and limits().flood_exempt_opers is True
    with pytest.raises(ConfigError, match=r"'bot1,bot2' is not an account name .*\['bot1', 'bot2'\]"):
        limits("limits.flood_exempt_accounts=bot1,bot2")
    with pytest.raises(ConfigError, match="limits.flood_exempt_accounts: '' is not an account name"):
        limits("limits.flood_exempt_accounts=['']")


# -- told where the events are applied --------------------------------------------------------


class ExemptionLink(FakeLink):
    """A transport that notes what it is told of flood control."""

    def __init__(self) -> None:
        super().__init__()
        self.exempt: list[bool] = []

    def exempt_from_flood(self, exempt: bool) -> None:
        self.exempt.append(exempt)


class Client:
    """One connection to the core, registered as `nick`: lines in, its link's notes out."""

    def __init__(self, net: Services, nick: str) -> None:
        self.link = ExemptionLink()
        self.intake = Intake(net, self.link, "127.0.0.1")
        self.send(f"NICK {nick}")
        self.send("USER u 0 * :U")

    def send(self, line: str) -> None:
        self.intake.line_received(line.encode())

    def said(self) -> str:
        return self.link.data.decode()


def network(*overrides: str) -> Services:
    config: Config = load(None, [*CHEAP_HASH, *overrides])
    config.opers = [OperBlock("admin", cheap_hash("operpass"))]
    return local_core(config, FakeClock())


def test_a_login_to_a_listed_account_exempts_and_a_logout_or_a_drop_ends_it() -> None:
    bot = Client(network("limits.flood_exempt_accounts=['buildbot']"), "buildbot")
    bot.send("PRIVMSG NickServ :REGISTER correct-horse")  # registering logs in
    assert bot.link.exempt == [True]
    bot.send("PRIVMSG NickServ :LOGOUT")
    assert bot.link.exempt == [True, False]
    bot.send("PRIVMSG NickServ :IDENTIFY buildbot correct-horse")
    assert bot.link.exempt == [True, False, True]
    bot.send("PRIVMSG NickServ :DROP")
    code = re.search(r"DROP buildbot (\S+)", bot.said())
    assert code is not None
    bot.send(f"PRIVMSG NickServ :DROP buildbot {code.group(1)}")
    assert "Successfully unregistered account buildbot" in bot.said()
    assert bot.link.exempt == [True, False, True, False]


def test_a_login_to_an_account_not_listed_exempts_nothing() -> None:
    alice = Client(network("limits.flood_exempt_accounts=['feeds']"), "alice")
    alice.send("PRIVMSG NickServ :REGISTER correct-horse")
    assert "You're now logged in as alice" in alice.said()
    assert True not in alice.link.exempt


def test_with_no_account_listed_a_login_does_not_ask() -> None:
    alice = Client(network(), "alice")
    alice.send("PRIVMSG NickServ :REGISTER correct-horse")
    assert "You're now logged in as alice" in alice.said() and alice.link.exempt == []


def test_oper_exempts_and_minus_o_ends_it() -> None:
    admin = Client(network(), "ircop")
    admin.send("OPER admin operpass")
    assert " 381 " in admin.said() and admin.link.exempt == [True]
    admin.send("MODE ircop -o")
    assert admin.link.exempt == [True, False]


def test_with_flood_exempt_opers_off_oper_exempts_nothing() -> None:
    admin = Client(network("limits.flood_exempt_opers=false"), "ircop")
    admin.send("OPER admin operpass")
    assert " 381 " in admin.said() and True not in admin.link.exempt
