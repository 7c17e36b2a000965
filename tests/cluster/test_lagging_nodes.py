"""A node that falls behind the shared log by more than `cluster.log_length`
entries starts again from a snapshot. Its clients must then either get everything the
network said meanwhile, or be told (ERROR) that they did not: cluster.md promises that
"a message acknowledged to its sender ... every member on every surviving node gets it,
once", and that a node "drops its clients with an ERROR rather than showing them a
network that is not there".

The node is paused (SIGSTOP) for less than its heartbeat's lifetime, so the network
does not declare it lost; meanwhile another node's client sends more than
`log_length` messages, so that the paused node's place in the log is trimmed away.
"""

from __future__ import annotations

import signal

from tests.cluster.support import NODE_TIMEOUT, Cluster, Node, caught_up, digests, oper_up
from tests.helpers import LineClient

# a long node timeout: the paused node stays a member of the network; the shortest log
LAGGING = ("cluster.node_timeout=8", "cluster.log_length=1000")
FLOOD = 1500  # more than log_length entries while the node is paused


async def flood_while_paused(node: Node, sender: LineClient) -> None:
    """Pause `node`, have `sender` (echo-message) say FLOOD lines to #c, then let the
    node go on."""
    assert node.process is not None
    node.process.send_signal(signal.SIGSTOP)
    try:
        sender.writer.write(b"".join(f"PRIVMSG #c :m{i}\r\n".encode() for i in range(FLOOD)))
        await sender.expect("PRIVMSG", "#c", f"m{FLOOD - 1}", timeout=60)
    finally:
        node.process.send_signal(signal.SIGCONT)


async def test_a_member_on_a_node_that_fell_behind_gets_every_message_or_an_error(cluster: Cluster) -> None:
    n1, n2 = await cluster.start(2, *LAGGING)
    alice = await cluster.client(n1, "alice", "#c", caps=["echo-message"])
    bob = await cluster.client(n2, "bob", "#c")
    await alice.expect(lambda m: m.command == "JOIN" and m.source.startswith("bob!"))
    await flood_while_paused(n2, alice)
    try:
        await caught_up(bob)
    except AssertionError:
        assert any(line.startswith("ERROR") for line in bob.raw), bob.raw[-5:]
        return  # told, and disconnected: acceptable
    await oper_up(alice)
    found = await digests(alice, 2)
    assert len(set(found.values())) == 1, found  # the replicas agree: only delivery is at fault
    heard = [m.params[-1] for m in bob.received if m.command == "PRIVMSG"]
    assert heard == [f"m{i}" for i in range(FLOOD)], f"bob heard {len(heard)} of {FLOOD}: {heard[:3]}..."


async def pause_until_lost(cluster: Cluster, paused: Node, watcher: LineClient, gone: str) -> LineClient:
    """Pause `paused` until `watcher` (on another node) sees `gone` quit; meanwhile a new
    client on the watcher's node takes the nick. Returns that client."""
    assert paused.process is not None
    paused.process.send_signal(signal.SIGSTOP)
    try:
        quit_ = await watcher.expect("QUIT", timeout=NODE_TIMEOUT * 5)
        assert quit_.source.startswith(gone + "!") and f"{paused.name} lost contact" in quit_.params[-1]
        watcher.send("TOPIC #c :while it slept")  # the network goes on without it
        await watcher.expect("TOPIC", "#c")
        return await cluster.client(cluster.nodes[0], gone)  # the nick is free again
    finally:
        paused.process.send_signal(signal.SIGCONT)


async def servers(client: LineClient) -> str:
    client.send("LUSERS")
    return next(m for m in await client.collect_until("266") if m.command == "251").params[-1]


async def test_a_paused_node_declared_lost_drops_its_clients_and_rejoins_equal(cluster: Cluster) -> None:
    """Paused past its heartbeat: the network quits its users; when it runs again it reads
    that, tells its clients (ERROR), and joins again as a new node whose replica is equal."""
    n1, n2 = await cluster.start(2)
    alice = await cluster.client(n1, "alice", "#c")
    bob = await cluster.client(n2, "bob", "#c")
    await alice.expect(lambda m: m.command == "JOIN" and m.source.startswith("bob!"))
    bobby = await pause_until_lost(cluster, n2, alice, "bob")
    lines = await bob.closed(timeout=NODE_TIMEOUT * 5)
    assert any(line.startswith("ERROR") and "lost contact" in line for line in lines), lines
    # node2's new incarnation is back once node1 counts two servers again
    while "on 2 servers" not in await servers(alice):
        await caught_up(alice)
    again = await cluster.client(n2, "robert", "#c")
    assert next(m for m in again.received if m.command == "332").params[-1] == "while it slept"
    names = next(m for m in again.received if m.command == "353").params[-1].split()
    assert sorted(names) == ["@alice", "robert"]
    again.send("NICK bob")
    await again.expect("433")
    await oper_up(bobby)
    found = await digests(bobby, 2)
    assert set(found) == {"node1.test", "node2.test"} and len(set(found.values())) == 1, found


async def test_a_client_connecting_as_a_lost_node_rejoins_is_let_in(cluster: Cluster) -> None:
    n1, n2 = await cluster.start(2)
    alice = await cluster.client(n1, "alice", "#c")
    bob = await cluster.client(n2, "bob", "#c")
    await alice.expect(lambda m: m.command == "JOIN" and m.source.startswith("bob!"))
    await pause_until_lost(cluster, n2, alice, "bob")
    await bob.closed(timeout=NODE_TIMEOUT * 5)
    again = await cluster.client(n2)  # at once: the node is joining the network again
    again.send("NICK robert")
    again.send("USER u 0 * :Robert")
    welcome = await again.expect(lambda m: m.command in ("001", "ERROR"), timeout=NODE_TIMEOUT * 5)
    assert welcome.command == "001", again.raw
