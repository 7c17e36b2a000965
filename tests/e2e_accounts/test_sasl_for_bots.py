"""docs/accounts.md "Log in with SASL": the Python bot written there logs in with SASL
and joins with the status ChanServ owes its account; a helper that reconnects without
SASL joins as a stranger and is told to log in or be renamed. Real sockets; the bot is
the `irc` library (PyPI) in a thread of its own, as a bot runs it."""

from __future__ import annotations

import asyncio
import threading

import pytest

from tests.e2e_accounts.support import registered_account
from tests.helpers import LineClient, connected

irc_bot = pytest.importorskip("irc.bot")


async def founded(server, nick: str, password: str, channel: str) -> None:
    """`nick`'s account, registered, founder of `channel`; then gone."""
    owner = await registered_account(server, nick, password, channel)
    owner.send(f"PRIVMSG ChanServ :REGISTER {channel}")
    await owner.expect("MODE", channel, "+q", nick)
    owner.send("QUIT")
    await owner.closed()


async def names_once(watcher: LineClient, channel: str, nick: str) -> list[str]:
    """NAMES of `channel`, asked until `nick` is in it."""
    for _ in range(200):
        watcher.send(f"NAMES {channel}")
        found = (await watcher.expect("353")).params[-1].split()
        await watcher.expect("366")
        if any(name.lstrip("~&@%+") == nick for name in found):
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"{nick} never joined {channel}")


async def test_the_documented_python_bot_logs_in_with_sasl_and_joins_with_its_status(server, clients) -> None:
    await founded(server, "helper", "hunter2", "#garden")
    watcher = await connected(server, "watcher", "#garden")
    clients.append(watcher)

    class Helper(irc_bot.SingleServerIRCBot):  # as docs/accounts.md writes it
        def on_welcome(self, connection, event):
            connection.join("#garden")

    host, port = server.irc_address()
    bot = Helper([(host, port, "hunter2")], "helper", "Helper Bot", sasl_login="helper")
    stop = threading.Event()

    def run() -> None:  # `bot.start()`, with a way out for the test
        bot._connect()
        while not stop.is_set():
            bot.reactor.process_once(0.05)
        bot.connection.disconnect("done")

    thread = threading.Thread(target=run, name="irc-bot", daemon=True)
    thread.start()
    try:
        assert await names_once(watcher, "#garden", "helper") == ["watcher", "~helper"]
    finally:
        stop.set()
        await asyncio.to_thread(thread.join, 10)


async def test_a_helper_back_without_sasl_joins_as_a_stranger_and_is_told_to_log_in(server, clients) -> None:
    await founded(server, "helper", "hunter2", "#garden")
    helper = await LineClient.connect(server)
    clients.append(helper)
    await helper.register("helper")
    told = [m for m in helper.received if m.command == "NOTICE" and (m.source or "").startswith("NickServ!")]
    if not told:
        told = [await helper.expect(lambda m: m.command == "NOTICE" and m.source.startswith("NickServ!"))]
    assert "This nickname is registered" in told[0].params[-1] and "renamed" in told[0].params[-1]
    helper.send("JOIN #garden")
    assert (await helper.expect("353")).params[-1].split() == ["helper"]  # no ~: not logged in
