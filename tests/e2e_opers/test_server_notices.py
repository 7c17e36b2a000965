"""Server notices (user mode +s, operators only): connects, exits, OPER attempts, rehash.
Kills and K-lines have theirs in their own transcripts."""

from __future__ import annotations

from pathlib import Path

from tests.e2e_opers.conftest import oper_toml
from tests.e2e_opers.support import SERVER, an_oper
from tests.helpers import commands, connected, sync

PREFIX = "*** Notice -- "


async def watching(server, nick: str = "watcher"):
    watcher = await an_oper(server, nick)
    watcher.send(f"MODE {nick} +s")
    await watcher.expect("MODE", nick, "+s")
    return watcher


async def next_notice(watcher) -> str:
    notice = await watcher.expect("NOTICE", watcher.nick)
    assert notice.source == SERVER and notice.params[1].startswith(PREFIX)
    return notice.params[1].removeprefix(PREFIX)


async def test_watchers_hear_of_clients_connecting_and_exiting(oper_server, clients) -> None:
    watcher = await watching(oper_server)
    clients.append(watcher)
    bob = await connected(oper_server, "bob")
    assert await next_notice(watcher) == "Client connecting: bob (~u@127.0.0.1) [127.0.0.1]"
    bob.send("QUIT :see you")
    await bob.closed()
    await bob.close()
    assert await next_notice(watcher) == "Client exiting: bob (~u@127.0.0.1) [127.0.0.1] (Quit: see you)"


async def test_watchers_hear_of_oper_successes_and_failures(oper_server, clients) -> None:
    watcher = await watching(oper_server)
    bob = await connected(oper_server, "bob")
    clients.extend([watcher, bob])
    await sync(watcher)  # past bob's connection
    bob.send("OPER admin nope")
    await bob.expect("464")
    assert await next_notice(watcher) == "Failed OPER attempt by bob (~u@127.0.0.1)"
    bob.send("OPER admin operpass")
    await bob.expect("381")
    assert await next_notice(watcher) == "bob (~u@127.0.0.1) is now an operator (as admin)"


async def test_watchers_hear_of_a_rehash(make_oper_server, oper_hash, clients) -> None:
    server = await make_oper_server()
    watcher = await watching(server)
    ircop = await an_oper(server, "ircop")
    clients.extend([watcher, ircop])
    await sync(watcher)
    Path(server.config_name).write_text(oper_toml(oper_hash), encoding="utf-8")
    ircop.send("REHASH")
    assert await next_notice(watcher) == "ircop is rehashing the server configuration"
    assert await next_notice(watcher) == "Configuration reloaded"


async def test_no_server_notices_without_plus_s(oper_server, clients) -> None:
    ircop = await an_oper(oper_server, "ircop")
    clients.append(ircop)
    bob = await connected(oper_server, "bob")
    bob.send("QUIT")
    await bob.closed()
    await bob.close()
    assert commands(await sync(ircop)) == []
    assert oper_server.services.notices.watchers == set()
