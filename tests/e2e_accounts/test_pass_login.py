"""PASS logs in to an account where the server asks for no password of its own
(`accounts.login_via_pass`, as ergo does), over real sockets: for clients and bots that
have no SASL, `PASS account:password`, or the password of the account named like the
nick; the nick's warning (it is an account's) only once the login is decided; nothing
tried where the setting is off, or where the server has a password (PASS is that)."""

from __future__ import annotations

from tests.e2e_accounts.support import NS, registered_account
from tests.helpers import LineClient, sync


async def by_pass(server, nick: str, password: str) -> tuple[LineClient, list]:
    client = await LineClient.connect(server)
    client.send(f"PASS {password}")
    client.send(f"NICK {nick}")
    client.send("USER bot 0 * :a bot")
    await client.expect("001")
    client.nick = nick
    return client, await sync(client)


def said_by_nickserv(got: list) -> list[str]:
    return [m.params[-1] for m in got if m.command == "NOTICE" and m.source == NS]


async def test_pass_logs_in_to_an_account_named_or_the_nicks(make_server) -> None:
    server = await make_server()
    owner = await registered_account(server, "buildbot", "s3cret-words")
    owner.send("QUIT")
    await owner.closed()
    bot, got = await by_pass(server, "buildbot", "buildbot:s3cret-words")
    assert [m.params[2] for m in got if m.command == "900"] == ["buildbot"]
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
    assert not [m for m in got if m.command == "900"]
    await bot.close()


async def test_nothing_is_tried_with_the_setting_off_or_with_a_server_password(make_server) -> None:
    server = await make_server("accounts.login_via_pass=false")
    owner = await registered_account(server, "buildbot", "s3cret-words")
    owner.send("QUIT")
    await owner.closed()
    bot, got = await by_pass(server, "buildbot", "buildbot:s3cret-words")
    assert not [m for m in got if m.command == "900"]
    assert not [text for text in said_by_nickserv(got) if "logged in as" in text or "failed" in text]
    await bot.close()

    guarded = await make_server("server.password=letmein")  # PASS is the server's password there
    client, got = await by_pass(guarded, "anyone", "letmein")
    assert not [m for m in got if m.command == "900"] and not said_by_nickserv(got)
    await client.close()
