"""A login refused its nick by a connection of its own account that may be gone (ghosts.py),
over real sockets: that connection is sent a PING; silent for `accounts.ghost_timeout`, it
is dropped as a ping timeout and the new login is given the nick; answering, it stays
and the new login is told how to GHOST it. Nobody else's connection is ever asked."""

from __future__ import annotations

import asyncio
import logging

import pytest

from hubbub.irc.message import Message
from tests.e2e_accounts.support import NS, b64, ns, registered_account
from tests.helpers import LineClient, connected, sync

PASSWORD = "correct-horse"
FAST = "accounts.ghost_timeout=0.3"


def from_nickserv(m: Message) -> bool:
    return m.command == "NOTICE" and m.source == NS


async def sasl_login_refused(
    server, nick: str, fallback: str, account: str, timeout: float = 5.0, client: LineClient | None = None,
    welcomed: str | None = None,
) -> LineClient:  # fmt: skip
    """A client as The Lounge or irssi reconnects: NICK refused (433), another nick,
    SASL PLAIN, welcomed under the other nick, or `welcomed` (on `server`, or as
    `client` connected)."""
    client = await sasl_until_cap_end(server, nick, fallback, account, timeout, client)
    welcomed = welcomed or fallback
    assert (await client.expect("001", timeout=timeout)).params[0] == welcomed
    client.nick = welcomed
    return client


async def sasl_until_cap_end(
    server, nick: str, fallback: str, account: str, timeout: float = 5.0, client: LineClient | None = None
) -> LineClient:
    """sasl_login_refused up to its CAP END: the welcome is still to come."""
    client = client or await LineClient.connect(server)
    client.send("CAP LS 302")
    client.send(f"NICK {nick}")
    client.send("USER u 0 * :U")
    await client.expect("433", "*", nick, timeout=timeout)
    client.send(f"NICK {fallback}")
    client.send("CAP REQ :sasl")
    await client.expect("CAP", fallback, "ACK", timeout=timeout)
    client.send("AUTHENTICATE PLAIN")
    await client.expect("AUTHENTICATE", "+", timeout=timeout)
    client.send(f"AUTHENTICATE {b64(chr(0).join((account, account, PASSWORD)))}")
    await client.expect("903", timeout=timeout)
    client.send("CAP END")
    return client


async def test_a_silent_connection_of_the_account_is_dropped_and_its_nick_given(
    make_server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hubbub.audit")
    server = await make_server(FAST)
    ghost = await registered_account(server, "alice", PASSWORD, "#room")
    bob = await connected(server, "bob", "#room")
    await sync(ghost)  # from here on it reads nothing it is sent, and answers nothing
    new = await sasl_until_cap_end(server, "alice", "alice_", "alice")
    told = await new.expect(from_nickserv)
    assert told.params[-1] == ("alice is held by another connection logged in to your account: waiting up to "
                               "0.3 seconds for it to answer; if it does not, it is dropped and you are welcomed "
                               "as alice.")  # fmt: skip
    welcome = await new.expect("001")
    assert welcome.params[0] == "alice"  # welcomed under its nick: no alice_ shown anywhere
    assert not [m for m in new.received if m.command == "NICK"]
    new.nick = "alice"
    lines = await ghost.closed()
    assert any(line.split(" ")[1] == "PING" for line in lines)
    assert any(line.startswith("ERROR :Closing Link") and "Ping timeout" in line for line in lines)
    quit_ = await bob.expect("QUIT")
    assert quit_.source.startswith("alice!") and quit_.params[0].startswith("Ping timeout")
    new.send("WHOIS alice")
    assert (await new.expect("330")).params[1:3] == ["alice", "alice"]  # logged in, under its nick
    logged = [r.getMessage() for r in caplog.records if r.name == "hubbub.audit"]
    why = "did not answer a PING sent for another login of account alice"
    said = [i for i, line in enumerate(logged) if why in line]
    left = [i for i, line in enumerate(logged) if line.startswith("disconnected alice!") and "Ping timeout" in line]
    assert len(said) == 1 and len(left) == 1 and said[0] < left[0], logged  # why, then the departure


async def test_a_connection_that_answers_stays_and_the_new_one_is_told_how_to_ghost_it(make_server) -> None:
    # told once its answer is seen (the sweep, every 2 s while it waits), not when the
    # asker's own wait ends (14 s)
    server = await make_server("accounts.ghost_timeout=8")
    there = await registered_account(server, "alice", PASSWORD)
    new = await sasl_until_cap_end(server, "alice", "alice_", "alice")
    await new.expect(from_nickserv)  # asking it, the welcome waiting
    ping = await there.expect("PING")
    there.send(f"PONG :{ping.params[-1]}")
    told = await new.expect(from_nickserv, timeout=8)
    assert told.params[-1] == ("alice is still held by another connection logged in to your account, which "
                               "answered: /msg NickServ GHOST alice disconnects it.")  # fmt: skip
    assert (await new.expect("001")).params[0] == "alice_"  # then welcomed, under the nick it took
    new.nick = "alice_"
    assert [m for m in await sync(new) if m.command == "NICK" or from_nickserv(m)] == []
    there.send("WHOIS alice_")
    assert (await there.expect("311")).params[1] == "alice_"  # both there, each under its own nick
    assert await ns(new, "GHOST alice") == "alice has been ghosted"  # what it was told, works
    assert (await new.expect("NICK")).params == ["alice"]  # and the nick is given
    assert (await new.expect(from_nickserv)).params[-1] == (
        "You are now alice: the connection that held it was disconnected with GHOST.")  # fmt: skip


async def test_after_an_answer_asking_again_asks_nothing_and_the_nick_is_given_when_freed(make_server) -> None:
    """ZNC's keepnick asks for its nick every few seconds: the device that holds it is
    not PINGed each time, nor the bouncer told again; when that device lets the nick go,
    the bouncer has it."""
    server = await make_server("accounts.ghost_timeout=8")
    phone = await registered_account(server, "alice", PASSWORD)
    bouncer = await sasl_until_cap_end(server, "alice", "alice_", "alice")
    await bouncer.expect(from_nickserv)
    ping = await phone.expect("PING")
    phone.send(f"PONG :{ping.params[-1]}")
    assert (await bouncer.expect(from_nickserv, timeout=8)).params[-1].startswith("alice is still held")
    await bouncer.expect("001")
    bouncer.nick = "alice_"
    for _ in range(3):
        bouncer.send("NICK alice")
        await bouncer.expect("433", "alice_", "alice")
    assert [m for m in await sync(bouncer) if from_nickserv(m)] == []
    assert [m for m in await sync(phone) if m.command == "PING"] == []
    phone.send("NICK alice_phone")
    await phone.expect("NICK")
    assert (await bouncer.expect("NICK")).params == ["alice"]
    assert (await bouncer.expect(from_nickserv)).params[-1] == (
        "You are now alice: the connection that held it changed its nick.")  # fmt: skip


async def test_a_nick_asked_for_later_is_asked_for_too(make_server) -> None:
    """ZNC's keepnick, or a person typing /nick: NICK after the login, refused."""
    server = await make_server(FAST)
    ghost = await registered_account(server, "alice", PASSWORD)
    await sync(ghost)
    new = await connected(server, "alice_")
    assert await ns(new, f"IDENTIFY alice {PASSWORD}") == "You're now logged in as alice"
    new.send("NICK alice")
    await new.expect("433", "alice_", "alice")
    assert (await new.expect(from_nickserv)).params[-1].startswith("alice is held by another connection")
    renamed = await new.expect("NICK")
    assert renamed.params == ["alice"]
    assert (await new.expect(from_nickserv)).params[-1].startswith("You are now alice")
    await ghost.closed()
    new.send("NICK alice")  # its own nick now: nothing to ask
    assert [m for m in await sync(new) if from_nickserv(m) or m.command == "433"] == []


async def pass_until_refused(server, nick: str, fallback: str, account: str) -> LineClient:
    """A bouncer logging in with PASS account:password (ZNC without its sasl module):
    PASS, NICK refused (433), another nick, USER: its welcome is still to come."""
    client = await LineClient.connect(server)
    client.send(f"PASS {account}:{PASSWORD}")
    client.send(f"NICK {nick}")
    await client.expect("433", "*", nick)
    client.send(f"NICK {fallback}")
    client.send("USER u 0 * :U")
    return client


async def test_a_pass_login_is_welcomed_under_the_nick_its_silent_ghost_held(make_server) -> None:
    """As a SASL login: PASS logs in before the welcome, which waits for the ghost."""
    server = await make_server(FAST)
    ghost = await registered_account(server, "alice", PASSWORD, "#room")
    bob = await connected(server, "bob", "#room")
    await sync(ghost)
    new = await pass_until_refused(server, "alice", "alice_", "alice")
    assert (await new.expect("900")).params[1:3] == ["alice_!*@*", "alice"]  # logged in before its welcome
    assert (await new.expect(from_nickserv)).params[-1].startswith("alice is held by another connection")
    assert (await new.expect("001")).params[0] == "alice"
    new.nick = "alice"
    assert (await new.expect(from_nickserv)).params[-1] == "You're now logged in as alice"  # once welcomed
    assert not [m for m in await sync(new) if m.command == "NICK"]
    await ghost.closed()
    assert (await bob.expect("QUIT")).params[0].startswith("Ping timeout")
    assert not [m for m in await sync(bob) if m.command == "NICK"]  # no alice_ seen anywhere


async def test_a_pass_login_whose_ghost_answers_is_welcomed_under_its_other_nick(make_server) -> None:
    server = await make_server(FAST)
    there = await registered_account(server, "alice", PASSWORD)
    new = await pass_until_refused(server, "alice", "alice_", "alice")
    await there.expect("PING")
    there.send("PONG :hubbub")
    assert (await new.expect("001")).params[0] == "alice_"
    new.nick = "alice_"
    await sync(new)
    welcome = next(i for i, m in enumerate(new.received) if m.command == "001")
    before = [m.command if not from_nickserv(m) else m.params[-1] for m in new.received[:welcome]]
    assert "900" in before and [text for text in before if "waiting up to" in text], before  # decided, then waited
    said = [m.params[-1] for m in new.received if from_nickserv(m)]
    assert "You're now logged in as alice" in said, said
    assert [text for text in said if "still held" in text and "GHOST" in text], said


async def test_nobody_elses_connection_is_asked(make_server) -> None:
    server = await make_server(FAST)
    carol = await registered_account(server, "carol", PASSWORD)  # another account's
    dave = await connected(server, "dave")  # logged in to none
    await registered_account(server, "alice", PASSWORD)
    new = await connected(server, "alice_")
    assert await ns(new, f"IDENTIFY alice {PASSWORD}") == "You're now logged in as alice"
    for nick in ("carol", "dave"):
        new.send(f"NICK {nick}")
        await new.expect("433", "alice_", nick)
    stranger = await sasl_login_refused(server, "carol", "stranger", "alice")  # at registration too
    for client in (new, stranger):
        assert [m for m in await sync(client) if from_nickserv(m) or m.command == "NICK"] == []
    for client in (carol, dave):
        assert [m for m in await sync(client) if m.command == "PING"] == []


async def test_not_logged_in_or_switched_off_asks_nothing(make_server) -> None:
    server = await make_server("accounts.ghost_timeout=0")
    holder = await registered_account(server, "alice", PASSWORD)
    new = await sasl_login_refused(server, "alice", "alice_", "alice")
    other = await connected(server, "erin")  # not logged in at all
    other.send("NICK alice")
    await other.expect("433", "erin", "alice")
    for client in (new, other):
        assert [m for m in await sync(client) if from_nickserv(m) or m.command == "NICK"] == []
    assert [m for m in await sync(holder) if m.command == "PING"] == []


async def test_a_login_that_changed_its_nick_meanwhile_keeps_it(make_server) -> None:
    server = await make_server("accounts.ghost_timeout=0.5")
    ghost = await registered_account(server, "alice", PASSWORD)
    await sync(ghost)
    new = await sasl_until_cap_end(server, "alice", "alice_", "alice")
    await new.expect(from_nickserv)
    new.send("NICK alice_away")  # while its welcome waits: welcomed at once, under that nick
    assert (await new.expect("001")).params[0] == "alice_away"
    new.nick = "alice_away"
    await ghost.closed()  # dropped all the same: it did not answer
    assert [m for m in await sync(new) if m.command == "NICK"] == []
    new.send("WHOIS alice_away")
    assert (await new.expect("311")).params[1] == "alice_away"


async def test_another_accounts_nick_is_not_asked_for(make_server) -> None:
    """Its holder uses it without that account (enforcement off): the nick could not be
    given to the asker, so its holder is not asked (nor dropped)."""
    server = await make_server(FAST, "accounts.enforce=none")
    owner = await registered_account(server, "dave", PASSWORD)
    owner.send("QUIT")
    await owner.closed()
    ghost = await registered_account(server, "alice", PASSWORD)
    ghost.send("NICK dave")  # logged in to alice, under dave's nick
    await ghost.expect("NICK")
    new = await connected(server, "alice_")
    assert await ns(new, f"IDENTIFY alice {PASSWORD}") == "You're now logged in as alice"
    new.send("NICK dave")
    await new.expect("433", "alice_", "dave")
    assert [m for m in await sync(new) if m.command == "NICK" or from_nickserv(m)] == []
    assert [m for m in await sync(ghost) if m.command == "PING"] == []  # not asked: it could not be given


async def test_a_person_in_plain_mode_holding_the_nick_is_not_asked(make_server) -> None:
    """A person at nc cannot answer a PING: asked, it would be dropped however present."""
    server = await make_server(FAST)
    owner = await registered_account(server, "alice", PASSWORD)
    owner.send("QUIT")
    await owner.closed()
    person = await LineClient.connect(server)
    person.send("alice")  # plain mode: typed words
    await person.expect_text(r"^\* You joined #")
    person.send(f"/msg NickServ IDENTIFY {PASSWORD}")
    await person.expect_text(r"You're now logged in as alice")
    new = await sasl_login_refused(server, "alice", "alice_", "alice")
    assert [m for m in await sync(new) if from_nickserv(m) or m.command == "NICK"] == []
    await asyncio.sleep(0.6)  # past the wait: nothing comes of it either
    assert [m for m in await sync(new) if from_nickserv(m) or m.command == "NICK"] == []
    new.send("WHOIS alice")
    assert (await new.expect("311")).params[1] == "alice"  # the person, still there
