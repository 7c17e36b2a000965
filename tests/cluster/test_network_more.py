"""What users on different nodes see of each other, and races between nodes."""

from __future__ import annotations

import asyncio

from tests.cluster.support import Cluster, caught_up, digests, oper_up
from tests.helpers import LOBBY_CREATOR_OP, LineClient, sync


async def answers(clients: list[LineClient], query: str, end: str) -> list[list[list[str]]]:
    """Each client's reply to `query` (numerics up to `end`), as lists of params without the nick."""
    found = []
    for client in clients:
        client.send(query)
        found.append([m.params[1:] for m in await client.collect_until(end) if m.command.isdigit()])
    return found


async def test_monitor_follows_nick_changes_made_on_another_node(cluster: Cluster) -> None:
    n1, n2 = await cluster.start(2)
    alice = await cluster.client(n1, "alice")
    alice.send("MONITOR + Dave,ERIN")
    await alice.expect("731")
    bob = await cluster.client(n2, "bob")
    bob.send("NICK dave")
    assert (await alice.expect("730")).params[-1].startswith("dave!")
    bob.send("NICK Erin")
    assert (await alice.expect("731")).params[-1] == "dave"
    assert (await alice.expect("730")).params[-1].startswith("Erin!")
    bob.send("NICK eRIN")  # a change of case only: no news
    await bob.expect("NICK")
    await caught_up(alice)
    assert not [m for m in await sync(alice) if m.command in ("730", "731")]
    bob.send("QUIT")
    await bob.closed()
    assert (await alice.expect("731")).params[-1] == "eRIN"


async def test_ascii_casemapping_is_the_same_on_every_node(cluster: Cluster) -> None:
    """CASEMAPPING=ascii: `[]\\` and `{}|` are different names network-wide."""
    n1, n2 = await cluster.start(2)
    square = await cluster.client(n1, "a[b]\\", "#x[y]")
    curly = await cluster.client(n2, "a{b}|", "#x{y}")
    await caught_up(square)
    square.send("PRIVMSG a{b}| :to curly")
    assert (await curly.expect("PRIVMSG")).params == ["a{b}|", "to curly"]
    curly.send("PRIVMSG A[B]\\ :to square")
    assert (await square.expect("PRIVMSG")).params == ["a[b]\\", "to square"]
    curly.send("NICK A[B]\\")  # ascii letters fold: taken
    await curly.expect("433")
    for client, other in ((square, "#x{y}"), (curly, "#x[y]")):
        client.send(f"NAMES {other.upper()}")
        names = await client.expect("353")
        assert names.params[2] == other and len(names.params[-1].split()) == 1
        await client.expect("366")
    seen = await answers([square, curly], "LIST", "323")
    assert seen[0] == seen[1]
    await oper_up(square)
    assert len(set((await digests(square, 2)).values())) == 1


async def test_whether_the_lobbys_creator_is_op_is_decided_once_for_every_node(cluster: Cluster) -> None:
    """The joiner's node decides whether creating the default channel gives op (not by
    default), from its configuration, and says so in the event: every replica applies the
    same, whichever node the joiner is on, and even a node configured otherwise (its own
    joiners follow its rule) leaves no two replicas apart."""
    n1, n2 = await cluster.start(2)
    n3 = await cluster.add(LOBBY_CREATOR_OP)
    alice = await cluster.client(n2, "alice", "#lobby")  # creates it: no op
    bob = await cluster.client(n1, "bob", "#lobby")
    await oper_up(bob)
    await caught_up(alice)  # n2 has applied bob's join
    named = [["=", "#lobby", "alice bob"], ["#lobby", "End of /NAMES list"]]
    assert await answers([bob, alice], "NAMES #lobby", "366") == [named, named]
    for client in (alice, bob):
        client.send("PART #lobby")
        await client.expect("PART")
    erin = await cluster.client(n3, "erin")
    await caught_up(erin)  # n3 has applied the parts: the channel is gone there too
    await erin.join("#lobby")  # created again, on the node whose rule gives op
    await caught_up(bob)  # n1 has applied erin's join
    bob.send("JOIN #lobby")
    assert (await bob.expect("353")).params[-1].split() == ["@erin", "bob"]
    assert len(set((await digests(bob, 3)).values())) == 1


async def test_away_is_seen_from_every_node(cluster: Cluster) -> None:
    n1, n2 = await cluster.start(2)
    alice = await cluster.client(n1, "alice", "#c", caps=["away-notify"])
    bob = await cluster.client(n2, "bob", "#c")
    await alice.expect(lambda m: m.command == "JOIN" and m.source.startswith("bob!"))
    bob.send("AWAY :out to lunch")
    await bob.expect("306")
    away = await alice.expect("AWAY")
    assert away.source.startswith("bob!") and away.params == ["out to lunch"]
    alice.send("PRIVMSG bob :hi")
    assert (await alice.expect("301")).params[1:] == ["bob", "out to lunch"]
    alice.send("WHOIS bob")
    assert [m.params[-1] for m in await alice.collect_until("318") if m.command == "301"] == ["out to lunch"]
    # an away user joining is announced with its AWAY to away-notify members elsewhere
    carol = await cluster.client(n2, "carol")
    carol.send("AWAY :busy")
    await carol.expect("306")
    await carol.join("#c")
    await alice.expect(lambda m: m.command == "JOIN" and m.source.startswith("carol!"))
    assert (await alice.expect("AWAY")).params == ["busy"]
    bob.send("AWAY")
    await bob.expect("305")
    back = await alice.expect("AWAY")
    assert back.source.startswith("bob!") and back.params == []


async def test_a_kline_set_on_one_node_disconnects_and_refuses_on_another(cluster: Cluster) -> None:
    n1, n2 = await cluster.start(2)
    oper = await cluster.client(n1, "oper", "#c")
    await oper_up(oper)
    victim = await cluster.client(n2)
    await victim.register("victim", user="baddie")
    await caught_up(oper)
    oper.send("KLINE ~baddie@* :go away")
    lines = await victim.closed()
    assert any(line.startswith("ERROR") and "K-Lined" in line for line in lines), lines
    again = await cluster.client(n2)
    again.send("NICK again")
    again.send("USER baddie 0 * :x")
    refused = await again.expect(lambda m: m.command in ("001", "ERROR", "465"))
    assert refused.command != "001"
    oper.send("UNKLINE ~baddie@*")
    await caught_up(oper)
    third = await cluster.client(n2)
    await third.register("third", user="baddie")
    await oper_up(oper)
    assert len(set((await digests(oper, 2)).values())) == 1


async def test_racing_topics_kicks_and_nick_changes_leave_every_node_answering_alike(cluster: Cluster) -> None:
    n1, n2, n3 = await cluster.start(3)
    ops = [await cluster.client(node, f"op{i}", "#c") for i, node in enumerate((n1, n2, n3))]
    victims = [await cluster.client(node, f"v{i}", "#c") for i, node in enumerate((n1, n2, n3))]
    await caught_up(ops[0])
    ops[0].send("MODE #c +oo op1 op2")
    for op in ops[1:]:
        await op.expect(lambda m: m.command == "MODE" and "op2" in m.params)
    for round_ in range(5):
        for i, op in enumerate(ops):
            op.send(f"TOPIC #c :topic {round_} from {i}")
            op.send(f"KICK #c v{(i + 1) % 3} :round {round_}")
        for i, victim in enumerate(victims):
            victim.send(f"NICK w{i}r{round_}")
            victim.send("PART #c")
            victim.send("JOIN #c")
            victim.send(f"NICK v{i}")
    await asyncio.gather(*(caught_up(c) for c in ops + victims))
    await asyncio.gather(*(caught_up(c) for c in ops))
    for query, end in (("NAMES #c", "366"), ("TOPIC #c", "333"), ("MODE #c", "329"), ("LIST", "323")):
        seen = await answers(ops, query, end)
        assert seen[0] == seen[1] == seen[2], (query, seen)
    await oper_up(ops[0])
    found = await digests(ops[0], 3)
    assert len(set(found.values())) == 1, found


async def test_a_knock_on_one_node_reaches_the_ops_on_every_node(cluster: Cluster) -> None:
    n1, n2 = await cluster.start(2)
    op = await cluster.client(n1, "op", "#club")
    op.send("MODE #club +i")
    await op.expect("MODE")
    await caught_up(op)
    guest = await cluster.client(n2, "guest")
    await caught_up(guest)  # +i has reached the guest's node
    guest.send("KNOCK #club :let me in")
    assert (await guest.expect("711")).params[1] == "#club"
    knock = await op.expect("710")
    assert knock.params[:2] == ["#club", "#club"] and knock.params[2].startswith("guest!")
    assert knock.params[-1] == "has asked for an invite: let me in"


async def test_a_flooder_on_one_node_is_kicked_and_banned_on_every_node_alike(cluster: Cluster) -> None:
    n1, n2 = await cluster.start(2)
    op = await cluster.client(n1, "op", "#busy")
    op.send("MODE #busy +f *3:60")
    await op.expect("MODE")
    await caught_up(op)
    spammer = await cluster.client(n2, "spammer", "#busy")
    await op.expect("JOIN")
    for i in range(6):
        spammer.send(f"PRIVMSG #busy :buy {i}")
    ban = await op.expect("MODE")
    assert ban.params == ["#busy", "+b", "*!*@127.0.0.1"]
    kick = await op.expect("KICK")
    assert kick.params[1:] == ["spammer", "Channel flood triggered (3 lines in 60 seconds)"]
    assert kick.source == ban.source == "node2.test"  # the node that decided, named alike everywhere
    said = [m.params[-1] for m in op.received if m.command == "PRIVMSG"]
    assert said == ["buy 0", "buy 1", "buy 2"]
    await caught_up(spammer)
    await oper_up(op)
    found = await digests(op, 2)
    assert len(set(found.values())) == 1, found  # the rule, the ban and the kick alike on both
