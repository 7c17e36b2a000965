"""Account registrations per IP address: at most `accounts.register_limit` within
`accounts.register_window` seconds, by NickServ REGISTER and draft/account-registration
together, refused before any password is hashed (docs/accounts.md, "Registrations per
address are limited").

Most tests are transcripts over real sockets against a real server; clients from another
address bind 127.0.0.2 (all of 127/8 is loopback on Linux). The last ones drive the
sans-I/O core with the clock and the hand-off of slow work in the test's hands, so "no
password was hashed", "the worker pool was full" and "the window has passed" are steps
of the transcript rather than races or sleeps.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hubbub.app import Runtime
from hubbub.config import load
from hubbub.irc.message import Message, parse
from hubbub.plain.intake import Intake
from hubbub.server.context import Services
from hubbub.server.core import local_core
from tests.e2e_accounts.support import NS, ns
from tests.e2e_caps.support import capped
from tests.e2e_opers.conftest import make_oper_server, oper_hash, oper_toml  # noqa: F401  (fixtures)
from tests.e2e_opers.support import an_oper, connected_from
from tests.helpers import DEFAULT_HASH, LineClient, connected, sync

THROTTLED = re.compile(r"Too many accounts registered from your address; try again in (\d+) seconds")
CREATED = "Account created"


def throttled_for(text: str, window: float) -> bool:
    """Whether `text` is the refusal, naming a wait within the window."""
    found = THROTTLED.fullmatch(text)
    return found is not None and 1 <= int(found.group(1)) <= window


async def irc_register(client: LineClient, password: str = "correct-horse") -> Message:
    """`REGISTER * * <password>` (draft/account-registration); its REGISTER or FAIL REGISTER."""
    client.send(f"REGISTER * * {password}")
    return await client.expect(lambda m: m.command == "REGISTER" or (m.command == "FAIL" and m.params[0] == "REGISTER"))


async def ns_refusal(client: LineClient) -> Message:
    """NickServ REGISTER expected to be refused: the whole NOTICE."""
    client.send("PRIVMSG NickServ :REGISTER correct-horse")
    return await client.expect(lambda m: m.command == "NOTICE" and m.source == NS)


async def reloaded(server: Runtime, ircop: LineClient, toml: str) -> None:
    Path(server.config_name).write_text(toml, encoding="utf-8")
    ircop.send("REHASH")
    await ircop.expect(lambda m: m.command == "NOTICE" and m.params[-1] == "*** Configuration reloaded")


# -- over real sockets ---------------------------------------------------------------------------


async def test_nickserv_register_past_the_limit_is_refused_with_a_notice(make_server, clients) -> None:
    server = await make_server("accounts.register_limit=2")
    alice, bob, carol = [await connected(server, nick) for nick in ("alice", "bob", "carol")]
    clients.extend([alice, bob, carol])
    assert await ns(alice, "REGISTER correct-horse") == CREATED
    assert await ns(bob, "REGISTER correct-horse") == CREATED
    refused = await ns_refusal(carol)
    assert refused.params[0] == "carol" and throttled_for(refused.params[1], 3600), refused
    assert not [m for m in carol.received if m.command == "900"]  # not logged in
    assert await ns(carol, "INFO") == "Account does not exist"
    # and again, whatever the password
    assert throttled_for(await ns(carol, "REGISTER another-password"), 3600)


async def test_draft_register_past_the_limit_fails_temporarily_unavailable(make_server, clients) -> None:
    """Both ways of registering count against the same limit; past it, draft/account-registration
    answers `FAIL REGISTER TEMPORARILY_UNAVAILABLE <account> :<text>`, as the specification
    has the server say when REGISTER is temporarily unavailable."""
    server = await make_server("accounts.register_limit=2")
    alice = await connected(server, "alice")
    bob = await capped(server, "bob", "draft/account-registration")
    carol = await capped(server, "carol", "draft/account-registration")
    clients.extend([alice, bob, carol])
    assert await ns(alice, "REGISTER correct-horse") == CREATED
    assert (await irc_register(bob)).params[:2] == ["SUCCESS", "bob"]
    fail = await irc_register(carol)
    assert fail.command == "FAIL" and fail.source == server.config.server.name
    assert fail.params[:3] == ["REGISTER", "TEMPORARILY_UNAVAILABLE", "carol"], fail
    assert len(fail.params) == 4 and throttled_for(fail.params[3], 3600), fail
    assert not [m for m in await sync(carol) if m.command in ("900", "MODE")]


async def test_registrations_sent_at_once_cannot_pass_the_limit_together(make_server, clients) -> None:
    """Four connections from one address ask at the same moment: while the first two are
    still being hashed, the others are counted against them already."""
    server = await make_server("accounts.register_limit=2", *DEFAULT_HASH)  # hashes that take time
    users = [await connected(server, f"user{number}") for number in range(4)]
    clients.extend(users)
    for user in users:
        user.send("PRIVMSG NickServ :REGISTER correct-horse")
    answers = [(await user.expect(lambda m: m.command == "NOTICE" and m.source == NS)).params[1] for user in users]
    assert sorted(answers, key=lambda text: text != CREATED)[:2] == [CREATED, CREATED], answers
    assert sum(throttled_for(text, 3600) for text in answers) == 2, answers


async def test_another_address_has_a_count_of_its_own(make_server, clients) -> None:
    server = await make_server("accounts.register_limit=1")
    alice = await connected(server, "alice")
    bob = await connected(server, "bob")
    carol = await connected_from(server, "127.0.0.2", "carol")
    dave = await connected_from(server, "127.0.0.2", "dave")
    clients.extend([alice, bob, carol, dave])
    assert await ns(alice, "REGISTER correct-horse") == CREATED
    assert throttled_for(await ns(bob, "REGISTER correct-horse"), 3600)
    assert await ns(carol, "REGISTER correct-horse") == CREATED  # 127.0.0.1 is at its limit, not 127.0.0.2
    assert throttled_for(await ns(dave, "REGISTER correct-horse"), 3600)


async def test_the_limit_lifts_once_the_window_has_passed(make_server, clients) -> None:
    server = await make_server("accounts.register_limit=1", "accounts.register_window=3")
    alice = await connected(server, "alice")
    bob = await capped(server, "bob", "draft/account-registration")
    clients.extend([alice, bob])
    assert await ns(alice, "REGISTER correct-horse") == CREATED
    first = await irc_register(bob)
    assert first.params[:2] == ["REGISTER", "TEMPORARILY_UNAVAILABLE"] and throttled_for(first.params[3], 3), first
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30  # a bound on the wait, not a claim about how long it takes
    while True:
        answer = await irc_register(bob)
        if answer.command == "REGISTER":
            break
        assert answer.params[:2] == ["REGISTER", "TEMPORARILY_UNAVAILABLE"], answer
        assert loop.time() < deadline, "still refused long after the window"
        await asyncio.sleep(0.1)
    assert answer.params[:2] == ["SUCCESS", "bob"]


async def test_the_default_limit_is_five_an_hour_and_zero_lifts_it(make_server, clients) -> None:
    limited = await make_server()
    users = [await connected(limited, f"user{number}") for number in range(6)]
    clients.extend(users)
    assert [await ns(user, "REGISTER correct-horse") for user in users[:5]] == [CREATED] * 5
    assert throttled_for(await ns(users[5], "REGISTER correct-horse"), 3600)
    unlimited = await make_server("accounts.register_limit=0")
    many = [await connected(unlimited, f"many{number}") for number in range(3)]
    many += [await capped(unlimited, f"more{number}", "draft/account-registration") for number in range(3)]
    clients.extend(many)
    assert [await ns(user, "REGISTER correct-horse") for user in many[:3]] == [CREATED] * 3
    assert [(await irc_register(user)).params[0] for user in many[3:]] == ["SUCCESS"] * 3


async def test_an_operator_is_neither_limited_nor_counted(make_oper_server, oper_hash, clients) -> None:  # noqa: F811
    server = await make_oper_server(toml=oper_toml(oper_hash) + "[accounts]\nregister_limit = 1\n")
    ircop = await an_oper(server, "ircop")
    alice = await connected(server, "alice")
    bob = await connected(server, "bob")
    clients.extend([ircop, alice, bob])
    assert await ns(ircop, "REGISTER correct-horse") == CREATED
    assert await ns(alice, "REGISTER correct-horse") == CREATED  # the operator's did not count
    assert throttled_for(await ns(bob, "REGISTER correct-horse"), 3600)
    second = await an_oper(server, "second")  # the address is at its limit: not for an operator
    clients.append(second)
    assert await ns(second, "REGISTER correct-horse") == CREATED


async def test_rehash_puts_a_new_limit_in_force_at_once(make_oper_server, oper_hash, clients) -> None:  # noqa: F811
    """The registrations counted before the reload still count under the new limit."""
    server = await make_oper_server(toml=oper_toml(oper_hash) + "[accounts]\nregister_limit = 1\n")
    ircop = await an_oper(server, "ircop")
    alice, bob, carol = [await connected(server, nick) for nick in ("alice", "bob", "carol")]
    clients.extend([ircop, alice, bob, carol])
    assert await ns(alice, "REGISTER correct-horse") == CREATED
    assert throttled_for(await ns(bob, "REGISTER correct-horse"), 3600)
    await reloaded(server, ircop, oper_toml(oper_hash) + "[accounts]\nregister_limit = 2\nregister_window = 600\n")
    assert await ns(bob, "REGISTER correct-horse") == CREATED
    refused = THROTTLED.fullmatch(await ns(carol, "REGISTER correct-horse"))
    assert refused is not None and 1 <= int(refused.group(1)) <= 600, refused  # alice's counts for 600 s now
    await reloaded(server, ircop, oper_toml(oper_hash) + "[accounts]\nregister_limit = 0\n")
    assert await ns(carol, "REGISTER correct-horse") == CREATED


# -- the core, with the test's clock and the test's hand-off of slow work ------------------------


class Link:
    """A connection's far end that keeps what it is sent."""

    cut = False

    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> None:
        self.data += data

    def close(self) -> None:
        pass

    def hold_input(self) -> None:
        pass

    def release_input(self) -> None:
        pass

    def speaks_irc(self, session: object) -> None:
        pass

    def take(self) -> list[Message]:
        lines = [parse(line) for line in self.data.decode().splitlines() if line]
        self.data.clear()
        return lines


class Hashing:
    """The hand-off of slow work: done at once (the password really is hashed) and
    counted, or refused while `busy`, as a full worker pool refuses it."""

    def __init__(self) -> None:
        self.done = 0
        self.busy = False

    def __call__(self, conn: object, work: Callable[[], Any], resume: Callable[[Any], None]) -> bool:
        if self.busy:
            return False
        self.done += 1
        resume(work())
        return True


def core(*overrides: str) -> tuple[Services, Hashing, list[float]]:
    """A core whose clock reads `now[0]`."""
    hashing, now = Hashing(), [1000.0]
    svc = local_core(load(None, list(overrides)), clock=lambda: now[0], offload=hashing)
    return svc, hashing, now


def user(svc: Services, nick: str, ip: str = "127.0.0.1") -> Callable[[str], list[str]]:
    """A registered user from `ip`; calling it sends a line and returns NickServ's answers."""
    link = Link()
    intake = Intake(svc, link, ip)
    for line in (f"NICK {nick}", "USER u 0 * :U"):
        intake.line_received(line.encode())
    link.take()

    def say(line: str) -> list[str]:
        intake.line_received(line.encode())
        return [m.params[-1] for m in link.take() if m.command == "NOTICE" and m.source == NS]

    return say


def test_a_refused_registration_hashes_no_password() -> None:
    svc, hashing, now = core("accounts.register_limit=1")
    assert user(svc, "alice")("NS REGISTER correct-horse")[0] == CREATED
    assert hashing.done == 1
    assert user(svc, "bob")("NS REGISTER correct-horse") == [
        "Too many accounts registered from your address; try again in 3600 seconds"
    ]
    assert hashing.done == 1


def test_the_window_counts_from_each_registration() -> None:
    svc, hashing, now = core("accounts.register_limit=2", "accounts.register_window=60")
    assert user(svc, "alice")("NS REGISTER correct-horse")[0] == CREATED
    now[0] += 20
    assert user(svc, "bob")("NS REGISTER correct-horse")[0] == CREATED
    carol = user(svc, "carol")
    now[0] += 39.5
    assert carol("NS REGISTER correct-horse") == [
        "Too many accounts registered from your address; try again in 1 second"
    ]
    assert user(svc, "dave", "127.0.0.2")("NS REGISTER correct-horse")[0] == CREATED
    now[0] += 0.5  # alice's registration leaves the window; bob's stays in it for 20 seconds more
    assert carol("NS REGISTER correct-horse")[0] == CREATED
    assert user(svc, "erin")("NS REGISTER correct-horse") == [
        "Too many accounts registered from your address; try again in 20 seconds"
    ]


def test_a_registration_refused_as_busy_is_not_counted() -> None:
    svc, hashing, now = core("accounts.register_limit=1")
    hashing.busy = True
    alice = user(svc, "alice")
    assert alice("NS REGISTER correct-horse") == ["The server is busy; try again in a moment"]
    hashing.busy = False
    assert user(svc, "bob")("NS REGISTER correct-horse")[0] == CREATED
    assert THROTTLED.fullmatch(alice("NS REGISTER correct-horse")[0])
