"""PASS logs in to an account where the server asks for no password of its own
(`accounts.login_via_pass`, as ergo does), over real sockets: for clients and bots that
have no SASL, `PASS account:password`, or the password of the account named like the
nick. Decided before the welcome, as a SASL login is (its 900 comes first), and told by
NickServ after it, then the nick's warning (it is an account's) if any; nothing tried
where the setting is off, or where the server has a password (PASS is that)."""

from __future__ import annotations

import pytest

from hubbub.server import logins
from hubbub.server.events import AccountDropped
from tests.e2e_accounts.support import NS, registered_account
from tests.helpers import LineClient, sync


async def by_pass(server, nick: str, password: str) -> tuple[LineClient, list]:
    """Registered with PASS `password`: the client (all it received: `received`), and
    what came after its welcome."""
    client = await LineClient.connect(server)
    client.send(f"PASS {password}")
    client.send(f"NICK {nick}")
    client.send("USER bot 0 * :a bot")
    await client.expect("001")
    client.nick = nick
    return client, await sync(client)


def before_welcome(client: LineClient) -> list:
    welcome = next(i for i, m in enumerate(client.received) if m.command == "001")
    return client.received[:welcome]


def said_by_nickserv(got: list) -> list[str]:
    return [m.params[-1] for m in got if m.command == "NOTICE" and m.source == NS]


async def test_pass_logs_in_to_an_account_named_or_the_nicks(make_server) -> None:
    server = await make_server()
    owner = await registered_account(server, "buildbot", "s3cret-words")
    owner.send("QUIT")
    await owner.closed()
    bot, got = await by_pass(server, "buildbot", "buildbot:s3cret-words")
    assert [m.params[2] for m in before_welcome(bot) if m.command == "900"] == ["buildbot"]  # as SASL's
    assert not [m for m in got if m.command == "900"]
    assert said_by_nickserv(got) == ["You're now logged in as buildbot"]  # and no warning about the nick
    bot.send("WHOIS buildbot")
    assert (await bot.expect("330")).params[2] == "buildbot"
    await bot.close()

    other, got = await by_pass(server, "helper", "buildbot:s3cret-words")  # another nick, the account named
    assert said_by_nickserv(got)[0] == "You're now logged in as buildbot"
    await other.close()
    same, got = await by_pass(server, "buildbot", "s3cret-words")  # the nick's account
    assert said_by_nickserv(got) == ["You're now logged in as buildbot"]
    await same.close()


async def test_a_wrong_pass_is_a_failed_login_and_then_the_nicks_warning(make_server) -> None:
    server = await make_server()
    owner = await registered_account(server, "buildbot", "s3cret-words")
    owner.send("QUIT")
    await owner.closed()
    bot, got = await by_pass(server, "buildbot", "buildbot:wrong")
    said = said_by_nickserv(got)
    assert said[0] == "Authentication failed: Invalid account credentials"
    assert "registered" in said[1]  # the nick's warning, after the answer
    assert not [m for m in bot.received if m.command == "900"]
    await bot.close()


async def test_nothing_is_tried_with_the_setting_off_or_with_a_server_password(make_server) -> None:
    server = await make_server("accounts.login_via_pass=false")
    owner = await registered_account(server, "buildbot", "s3cret-words")
    owner.send("QUIT")
    await owner.closed()
    bot, got = await by_pass(server, "buildbot", "buildbot:s3cret-words")
    assert not [m for m in bot.received if m.command == "900"]
    assert not [text for text in said_by_nickserv(bot.received) if "logged in as" in text or "failed" in text]
    await bot.close()

    guarded = await make_server("server.password=letmein")  # PASS is the server's password there
    client, got = await by_pass(guarded, "anyone", "letmein")
    assert not [m for m in client.received if m.command == "900"] and not said_by_nickserv(client.received)
    await client.close()


async def test_with_registered_nicks_refused_a_pass_login_keeps_its_own(make_server) -> None:
    """accounts.enforce = refuse: the nick is refused to whoever is not logged in to its
    account when registration completes; a PASS login is decided by then."""
    server = await make_server("accounts.enforce=refuse")
    owner = await registered_account(server, "buildbot", "s3cret-words")
    owner.send("QUIT")
    await owner.closed()
    bot, got = await by_pass(server, "buildbot", "buildbot:s3cret-words")
    assert [m.params[0] for m in bot.received if m.command == "001"] == ["buildbot"]
    assert not [m for m in bot.received if m.command == "433"]
    await bot.close()

    stranger = await LineClient.connect(server)  # a wrong password: refused the nick, as before
    stranger.send("PASS buildbot:wrong")
    stranger.send("NICK buildbot")
    stranger.send("USER bot 0 * :a bot")
    assert (await stranger.expect("433")).params[1] == "buildbot"
    stranger.send("NICK other")
    assert (await stranger.expect("001")).params[0] == "other"
    await stranger.close()


async def test_an_account_dropped_while_its_password_is_checked_leaves_a_welcome_without_it(
    make_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The account goes (DROP, here or on another node) after the password was found
    right and before the login is applied: the login is refused as it is applied, and
    the registration goes on without it, not held until its deadline."""
    server = await make_server("limits.registration_timeout=60")
    owner = await registered_account(server, "buildbot", "s3cret-words")
    owner.send("QUIT")
    await owner.closed()
    check = logins.check_password

    def then_dropped(ctx, name, password, done, unavailable) -> None:
        def checked(account) -> None:
            server.engine.emit(None, AccountDropped("buildbot", 0.0, "dropped-meanwhile"))
            done(account)

        check(ctx, name, password, checked, unavailable)

    monkeypatch.setattr(logins, "check_password", then_dropped)
    bot, got = await by_pass(server, "buildbot", "buildbot:s3cret-words")  # welcomed: no 30 s wait
    assert not [m for m in bot.received if m.command == "900"]
    assert said_by_nickserv(got)[0] == "Authentication failed: Invalid account credentials"
    await bot.close()
