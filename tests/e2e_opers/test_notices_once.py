"""One action, one notice: an operator watching server notices (+s) who runs SAMODE or
REHASH is told once what it did, not by its own confirmation and a server notice as
well; the other watchers still hear of it, and a reload nobody asked for over IRC
(SIGHUP) is still told to every watcher."""

from __future__ import annotations

import re
from pathlib import Path

from hubbub.app import Runtime
from hubbub.irc.message import Message
from tests.e2e_caps.support import capped
from tests.e2e_opers.conftest import oper_toml
from tests.e2e_opers.support import an_oper, oper_up
from tests.helpers import LineClient, connected, sync

NOTICE = "*** Notice -- "
ENDED = re.compile(r"\*\*\* (Notice -- )?Configuration (not )?reloaded")


async def watching(*opers: LineClient) -> None:
    """Each of `opers` sets +s; what came before (others connecting, opering up) is read."""
    for oper in opers:
        oper.send(f"MODE {oper.nick} +s")
        await oper.expect("MODE", oper.nick, "+s")
    for oper in opers:
        await sync(oper)


def notices(client: LineClient, messages: list[Message]) -> list[str]:
    return [m.params[-1] for m in messages if m.command == "NOTICE" and m.params[0] == client.nick]


async def until_reloaded(client: LineClient) -> list[str]:
    """The notices up to the one saying how the reload ended, and any right after it."""
    start = len(client.received)
    await client.expect(lambda m: m.command == "NOTICE" and ENDED.search(m.params[-1]) is not None)
    await sync(client)
    return notices(client, client.received[start:])


async def test_samode_tells_the_operator_who_watches_server_notices_once(oper_server, clients) -> None:
    owner = await connected(oper_server, "owner", "#spam")
    ircop = await an_oper(oper_server, "ircop")
    watcher = await an_oper(oper_server, "watcher")
    clients.extend([owner, ircop, watcher])
    await watching(ircop, watcher)
    start = len(ircop.received)
    ircop.send("SAMODE #spam +mk sesame")
    assert (await owner.expect("MODE")).params == ["#spam", "+mk", "sesame"]
    await ircop.expect("NOTICE", "ircop", "*** SAMODE #spam +mk *")
    await sync(ircop)
    assert notices(ircop, ircop.received[start:]) == ["*** SAMODE #spam +mk *"]
    await watcher.expect("NOTICE", "watcher", NOTICE + "ircop used SAMODE #spam +mk *")
    assert notices(watcher, await sync(watcher)) == []


async def test_samode_by_an_operator_not_watching_is_still_told_to_it_and_to_the_watchers(oper_server, clients) -> None:
    owner = await connected(oper_server, "owner", "#spam")
    ircop = await an_oper(oper_server, "ircop")
    watcher = await an_oper(oper_server, "watcher")
    clients.extend([owner, ircop, watcher])
    await watching(watcher)
    await sync(ircop)
    ircop.send("SAMODE #spam +i")
    await owner.expect("MODE", "#spam", "+i")
    start = len(ircop.received)
    await ircop.expect("NOTICE", "ircop", "*** SAMODE #spam +i")
    assert notices(ircop, ircop.received[start:] + await sync(ircop)) == ["*** SAMODE #spam +i"]
    await watcher.expect("NOTICE", "watcher", NOTICE + "ircop used SAMODE #spam +i")
    assert notices(watcher, await sync(watcher)) == []


async def test_rehash_tells_the_operator_who_watches_server_notices_once(oper_server, clients) -> None:
    ircop = await an_oper(oper_server, "ircop")
    watcher = await an_oper(oper_server, "watcher")
    clients.extend([ircop, watcher])
    await watching(ircop, watcher)
    ircop.send("REHASH")
    await ircop.expect("382")
    assert await until_reloaded(ircop) == [NOTICE + "Configuration reloaded"]
    assert await until_reloaded(watcher) == [
        NOTICE + "ircop is rehashing the server configuration",  # who asked: the others only
        NOTICE + "Configuration reloaded",
    ]


async def test_rehash_by_an_operator_not_watching_still_answers_it_and_tells_the_watchers(oper_server, clients) -> None:
    ircop = await an_oper(oper_server, "ircop")
    watcher = await an_oper(oper_server, "watcher")
    clients.extend([ircop, watcher])
    await watching(watcher)
    await sync(ircop)
    ircop.send("REHASH")
    await ircop.expect("382")
    assert await until_reloaded(ircop) == ["*** Configuration reloaded"]
    assert await until_reloaded(watcher) == [
        NOTICE + "ircop is rehashing the server configuration",
        NOTICE + "Configuration reloaded",
    ]


async def test_what_a_reload_kept_is_still_told_to_an_operator_who_watches(
    make_oper_server, oper_hash, clients
) -> None:
    server = await make_oper_server()
    ircop = await an_oper(server, "ircop")
    clients.append(ircop)
    await watching(ircop)
    Path(server.config_name).write_text(oper_toml(oper_hash) + '[server]\nname = "other.name"\n', encoding="utf-8")
    ircop.send("REHASH")
    await ircop.expect("382")
    told = notices(ircop, await sync(ircop))  # its later lines wait for the reload's answer
    assert told == [NOTICE + "Configuration reloaded",
                    "*** server.name cannot change while the server runs; restart to apply it"]  # fmt: skip


async def test_a_failed_rehash_is_one_fail_and_one_notice_to_an_operator_who_watches(oper_server, clients) -> None:
    ircop = await an_oper(oper_server, "ircop")
    clients.append(ircop)
    await watching(ircop)
    Path(oper_server.config_name).write_text("[[opers]\n", encoding="utf-8")
    ircop.send("REHASH")
    await ircop.expect("382")
    answer = await sync(ircop)
    fails = [m.params[:2] for m in answer if m.command == "FAIL"]
    assert fails == [["REHASH", "CONFIG_ERROR"]]
    told = notices(ircop, answer)
    assert len(told) == 1 and told[0].startswith(NOTICE + "Configuration not reloaded: "), told


async def test_a_labeled_rehash_of_an_operator_who_watches_is_answered(oper_server, clients) -> None:
    """Its `Configuration reloaded` is the server notice, out as the reload ends; the
    label's reply (held until then) is the 382 alone, and nothing is said twice."""
    ircop = await capped(oper_server, "ircop", "labeled-response", "batch", "message-tags")
    clients.append(ircop)
    await oper_up(ircop)
    await watching(ircop)
    ircop.send("@label=R1 REHASH")
    answer = await sync(ircop)
    assert notices(ircop, answer) == [NOTICE + "Configuration reloaded"]
    assert [m.command for m in answer if m.tags.get("label") == "R1"] == ["382"]


async def test_a_reload_nobody_asked_for_over_irc_is_told_to_every_watcher(oper_server: Runtime, clients) -> None:
    """SIGHUP's reload (the runtime's own `rehash`, as the signal handler calls it)."""
    ircop = await an_oper(oper_server, "ircop")
    watcher = await an_oper(oper_server, "watcher")
    clients.extend([ircop, watcher])
    await watching(ircop, watcher)
    oper_server.rehash()
    for client in (ircop, watcher):
        assert await until_reloaded(client) == [NOTICE + "Configuration reloaded"]
