"""A login on one node refused its nick by a silent connection of its account on another
(ghosts.py): the question is an event; the holder's node sends the PING and drops it,
and the asker's node gives the nick once that quit is applied there."""

from __future__ import annotations

from tests.cluster.support import Cluster
from tests.cluster.test_opers_cluster_audit import T, caught_up, user
from tests.e2e_accounts.test_ghosts import PASSWORD, from_nickserv, sasl_login_refused, sasl_until_cap_end
from tests.helpers import LineClient, sync

SETTINGS = ("accounts.ghost_timeout=0.5",)


async def test_a_silent_holder_on_another_node_is_dropped_and_the_nick_given(cluster: Cluster) -> None:
    n1, n2 = await cluster.start(2, *SETTINGS)
    ghost = await user(cluster, n1, "alice", "#c")
    ghost.send(f"PRIVMSG NickServ :REGISTER {PASSWORD}")
    await ghost.expect("900", timeout=T)
    await sync(ghost)  # from here on it answers nothing
    watcher = await user(cluster, n2, "watcher", "#c")
    await caught_up(watcher)
    assert n2.address is not None
    new = await sasl_until_cap_end(None, "alice", "alice_", "alice", T, await LineClient.connect_to(*n2.address))
    cluster.clients.append(new)
    assert (await new.expect(from_nickserv, timeout=T)).params[-1].startswith("alice is held by another connection")
    assert (await new.expect("001", timeout=T)).params[0] == "alice"  # welcomed under it, once the quit came
    new.nick = "alice"
    quit_ = await watcher.expect("QUIT", timeout=T)
    assert quit_.source.startswith("alice!") and quit_.params[0].startswith("Ping timeout")
    lines = await ghost.closed(timeout=T)
    assert any(line.split(" ")[1] == "PING" for line in lines)
    watcher.send("WHOIS alice")
    assert (await watcher.expect("330", timeout=T)).params[1:3] == ["alice", "alice"]  # the new login, on n2


async def test_a_holder_on_another_node_that_answers_stays_and_the_asker_is_told_at_once(cluster: Cluster) -> None:
    n1, n2 = await cluster.start(2, "accounts.ghost_timeout=60")  # the wait would end long after T
    there = await user(cluster, n1, "alice")
    there.send(f"PRIVMSG NickServ :REGISTER {PASSWORD}")
    await there.expect("900", timeout=T)
    assert n2.address is not None
    # a wait longer than registration's own deadline (30 s): welcomed first, asked after
    new = await sasl_login_refused(None, "alice", "alice_", "alice", T, await LineClient.connect_to(*n2.address))
    cluster.clients.append(new)
    assert (await new.expect(from_nickserv, timeout=T)).params[-1].startswith("alice is held")
    ping = await there.expect("PING", timeout=T)
    there.send(f"PONG :{ping.params[-1]}")
    assert (await new.expect(from_nickserv, timeout=T)).params[-1].startswith("alice is still held")
    assert [m for m in await sync(new) if m.command == "NICK"] == []


async def test_a_node_with_the_question_off_asks_none_of_its_connections(cluster: Cluster) -> None:
    """`accounts.ghost_timeout = 0` on the holder's node: its connection is not PINGed nor
    dropped, whatever the asker's node asks."""
    n1 = await cluster.add("accounts.ghost_timeout=0")
    n2 = await cluster.add(*SETTINGS)
    ghost = await user(cluster, n1, "alice")
    ghost.send(f"PRIVMSG NickServ :REGISTER {PASSWORD}")
    await ghost.expect("900", timeout=T)
    await sync(ghost)
    assert n2.address is not None
    new = await sasl_until_cap_end(None, "alice", "alice_", "alice", T, await LineClient.connect_to(*n2.address))
    cluster.clients.append(new)
    await new.expect(from_nickserv, timeout=T)  # asked, by its node
    assert (await new.expect("001", timeout=T)).params[0] == "alice_"  # welcomed when no answer came
    new.nick = "alice_"
    await caught_up(new)
    await caught_up(ghost)  # the question applied on n1 too: nothing came of it
    assert [m for m in await sync(ghost) if m.command == "PING"] == []
    new.send("WHOIS alice")
    assert (await new.expect("311", timeout=T)).params[1] == "alice"  # still there
