"""KILL and WALLOPS: what the victim, its channel peers and +w users see; 481 for others."""

from __future__ import annotations

from tests.e2e_opers.support import SERVER, an_oper
from tests.helpers import commands, connected, sync

# -- KILL --------------------------------------------------------------------------------


async def test_kill_by_a_non_operator_is_481_and_kills_nobody(oper_server, clients) -> None:
    alice = await connected(oper_server, "alice")
    bob = await connected(oper_server, "bob")
    clients.extend([alice, bob])
    alice.send("KILL bob :go away")
    assert (await alice.expect("481")).params == ["alice", "Permission Denied- You're not an IRC operator"]
    assert commands(await sync(bob)) == []


async def test_kill_tells_the_victim_and_its_channel_peers_why(oper_server, clients) -> None:
    ircop = await an_oper(oper_server, "ircop")
    victim = await connected(oper_server, "victim", "#room")
    peer = await connected(oper_server, "peer", "#room")
    clients.extend([ircop, victim, peer])
    await sync(victim)
    ircop.send("KILL victim :spamming")
    kill = await victim.expect("KILL")
    assert kill.source.startswith("ircop!") and kill.params == ["victim", "spamming"]
    error = await victim.expect("ERROR")
    assert error.params == ["Closing Link: 127.0.0.1 (Killed (ircop (spamming)))"]
    assert await victim.closed() == []
    quit_ = await peer.expect("QUIT")
    assert quit_.source.startswith("victim!") and quit_.params == ["Killed (ircop (spamming))"]
    ircop.send("WHOIS victim")
    await ircop.expect("401")


async def test_kill_with_only_a_nick_uses_a_default_reason(oper_server, clients) -> None:
    ircop = await an_oper(oper_server, "ircop")
    victim = await connected(oper_server, "victim")
    clients.extend([ircop, victim])
    ircop.send("KILL victim")
    assert (await victim.expect("ERROR")).params == ["Closing Link: 127.0.0.1 (Killed (ircop (No reason given)))"]


async def test_kill_of_an_unknown_nick_is_401(oper_server, clients) -> None:
    ircop = await an_oper(oper_server, "ircop")
    clients.append(ircop)
    ircop.send("KILL nobody :x")
    assert (await ircop.expect("401")).params == ["ircop", "nobody", "No such nick/channel"]


async def test_kill_of_the_server_is_483(oper_server, clients) -> None:
    ircop = await an_oper(oper_server, "ircop")
    clients.append(ircop)
    ircop.send(f"KILL {SERVER.upper()} :bye")
    assert (await ircop.expect("483")).params == ["ircop", "You cant kill a server!"]


async def test_kill_without_a_nick_is_461(oper_server, clients) -> None:
    ircop = await an_oper(oper_server, "ircop")
    clients.append(ircop)
    ircop.send("KILL")
    assert (await ircop.expect("461")).params[:2] == ["ircop", "KILL"]


async def test_opers_watching_server_notices_hear_of_kills(oper_server, clients) -> None:
    ircop = await an_oper(oper_server, "ircop")
    watcher = await an_oper(oper_server, "watcher")
    victim = await connected(oper_server, "victim")
    clients.extend([ircop, watcher, victim])
    watcher.send("MODE watcher +s")
    await watcher.expect("MODE", "watcher", "+s")
    ircop.send("KILL victim :flood")
    notice = await watcher.expect(lambda m: m.command == "NOTICE" and "KILL" in m.params[-1])
    assert notice.source == SERVER
    assert notice.params == [
        "watcher", "*** Notice -- Received KILL message for victim (~u@127.0.0.1) from ircop: flood"
    ]


# -- WALLOPS -----------------------------------------------------------------------------


async def test_wallops_by_a_non_operator_is_481(oper_server, clients) -> None:
    alice = await connected(oper_server, "alice")
    clients.append(alice)
    alice.send("WALLOPS :hi everyone")
    assert (await alice.expect("481")).params[0] == "alice"


async def test_wallops_reaches_plus_w_users_and_echoes_to_the_sender_only(oper_server, clients) -> None:
    ircop = await an_oper(oper_server, "ircop")
    reader = await connected(oper_server, "reader")
    deaf = await connected(oper_server, "deaf")
    clients.extend([ircop, reader, deaf])
    reader.send("MODE reader +w")
    await reader.expect("MODE", "reader", "+w")
    ircop.send("WALLOPS :maintenance at noon")
    for client in (reader, ircop):
        wallops = await client.expect("WALLOPS")
        assert wallops.source.startswith("ircop!") and wallops.params == ["maintenance at noon"]
    assert commands(await sync(deaf)) == []


async def test_wallops_without_text_is_461(oper_server, clients) -> None:
    ircop = await an_oper(oper_server, "ircop")
    clients.append(ircop)
    ircop.send("WALLOPS")
    await ircop.expect("461")
    ircop.send("WALLOPS :")
    await ircop.expect("461")
