"""A dropped account takes its `a:` list entries along: whoever registers the name next
is not banned, exempted or invited by what named the old account, now and after a
restart from the store, whether the account ended by NickServ DROP or `hubbub account
del`."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hubbub.app import Runtime
from tests.e2e_accounts.support import registered_account
from tests.e2e_accounts.test_account_cli import account
from tests.e2e_accounts.test_chanserv import cs
from tests.helpers import LineClient, sync

ENDS = {"b": "368", "e": "349", "I": "347"}  # the numeric that ends each list


async def listed(client: LineClient, channel: str, letter: str) -> list[str]:
    """The masks of one of `channel`'s lists, as `MODE <channel> <letter>` shows them."""
    client.send(f"MODE {channel} {letter}")
    replies = await client.collect_until(ENDS[letter])
    return [m.params[2] for m in replies if m.command in ("367", "348", "346")]


async def identified(server: Runtime, nick: str, password: str = "correct-horse") -> LineClient:
    client = await LineClient.connect(server)
    await client.register(nick)
    client.send(f"PRIVMSG NickServ :IDENTIFY {password}")
    await client.expect("900")
    return client


async def drop(client: LineClient, name: str) -> None:
    client.send("PRIVMSG NickServ :DROP")
    warning = await client.expect(lambda m: m.command == "NOTICE" and "To confirm" in m.params[-1])
    client.send(f"PRIVMSG NickServ :DROP {name} {warning.params[-1].split()[-1]}")
    await client.expect("901")
    client.send("QUIT")
    await client.closed()


async def test_nickserv_drop_takes_the_account_s_list_entries_now_and_after_a_restart(stored, clients) -> None:
    server = await stored()
    zoe = await registered_account(server, "zoe")
    bob = await registered_account(server, "bob", "correct-horse", "#reg", "#open")
    clients.extend([zoe, bob])
    assert await cs(bob, "REGISTER #reg") == "Channel #reg successfully registered"
    # #reg keeps everyone out but whom its exceptions let in; wildcards and other
    # accounts name nobody in particular and stay
    bob.send("MODE #reg +bbeI *!*@* a:zo* a:zoe a:Zoe")
    bob.send("MODE #open +bb a:ZOE a:zoey")
    await bob.expect("MODE", "#open")
    assert await listed(bob, "#reg", "e") == ["a:zoe"]

    await drop(zoe, "zoe")
    # the members see the entries go, as the server's MODE (clients keeping the lists stay right)
    name = server.config.server.name
    taken = [await bob.expect(lambda m: m.command == "MODE" and m.source == name) for _ in range(2)]
    assert [m.params for m in taken] == [["#reg", "-eI", "a:zoe", "a:Zoe"], ["#open", "-b", "a:ZOE"]]

    heir = await registered_account(server, "zoe", "another-horse")
    clients.append(heir)
    for running in (server, None):
        if running is None:  # and again after a restart, from the store
            await server.stop()
            server = await stored()
            bob = await identified(server, "bob")
            heir = await identified(server, "zoe", "another-horse")
            clients.extend([bob, heir])
        assert await listed(bob, "#reg", "b") == ["*!*@*", "a:zo*"]
        assert await listed(bob, "#reg", "e") == []
        assert await listed(bob, "#reg", "I") == []
        heir.send("JOIN #reg")
        assert (await heir.expect(lambda m: m.command in ("474", "JOIN"))).command == "474"  # no exemption inherited
    assert await listed(heir, "#reg", "b") == ["*!*@*", "a:zo*"]

    # the history of #reg (a registered channel's lives on) replays the server's MODE too
    bob.send("CAP REQ :batch draft/chathistory draft/event-playback server-time message-tags")
    await bob.expect("CAP")
    bob.send("JOIN #reg")
    await bob.expect("366")
    bob.send("CHATHISTORY LATEST #reg * 20")
    await bob.expect("BATCH")
    replayed = await bob.collect_until("BATCH")
    modes = [(m.source, m.params) for m in replayed if m.command == "MODE"]
    assert (name, ["#reg", "-eI", "a:zoe", "a:Zoe"]) in modes, modes


async def test_account_del_takes_the_account_s_list_entries_from_registered_channels(
    stored, clients, db: str, tmp_path: Path
) -> None:
    server = await stored()
    zoe = await registered_account(server, "zoe", "correct-horse", "#zoo")
    bob = await registered_account(server, "bob", "correct-horse", "#reg")
    clients.extend([zoe, bob])
    assert await cs(bob, "REGISTER #reg") == "Channel #reg successfully registered"
    assert await cs(zoe, "REGISTER #zoo") == "Channel #zoo successfully registered"
    bob.send("MODE #reg +beI a:zoey a:ZOE a:zoe")
    zoe.send("MODE #zoo +e a:bob")
    await zoe.expect("MODE", "#zoo", "+e")
    await sync(bob)
    await server.stop()

    deleted = await asyncio.to_thread(account, db, "del", "zoe", cwd=tmp_path)
    assert deleted.stdout.startswith("account zoe deleted from "), deleted.stderr

    server = await stored()
    bob = await identified(server, "bob")
    clients.append(bob)
    assert await listed(bob, "#reg", "b") == ["a:zoey"]
    assert await listed(bob, "#reg", "e") == []
    assert await listed(bob, "#reg", "I") == []
    assert await cs(bob, "INFO #zoo") in ("Channel #zoo is not registered", "Channel does not exist")
