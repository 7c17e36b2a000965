"""Faults: a node killed, Redis restarted, a node restarted; the network carries on.

Nodes are told `cluster.node_timeout` = 2 seconds (support.NODE_TIMEOUT), so a lost
node's users must be gone for everyone well within the waits below.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from tests.cluster.support import NODE_TIMEOUT, Cluster, caught_up, digests, oper_up, until_logged
from tests.helpers import LineClient
from tests.services import RedisServer


async def chatter(client: LineClient, tag: str, stop: asyncio.Event, sent: list[str]) -> None:
    """Send numbered lines to #c until told to stop, pacing on the echoes (echo-message):
    `sent` gets each line the server acknowledged."""
    n = 0
    while not stop.is_set():
        text = f"{tag} {n}"
        client.send(f"PRIVMSG #c :{text}")
        try:
            await client.expect(lambda m, t=text: m.command == "PRIVMSG" and m.params[-1] == t and
                                m.source.startswith(client.nick + "!"), timeout=NODE_TIMEOUT * 4)  # fmt: skip
        except (AssertionError, ConnectionError):
            return  # not acknowledged: it does not count
        sent.append(text)
        n += 1


def heard(client: LineClient, tag: str) -> Counter[str]:
    return Counter(m.params[-1] for m in client.received if m.command == "PRIVMSG" and m.params[-1].startswith(tag))


async def test_a_killed_node_s_users_quit_for_everyone_and_acknowledged_messages_all_arrive(
    cluster: Cluster,
) -> None:
    n1, n2, n3 = await cluster.start(3)
    alice = await cluster.client(n1, "alice", "#c", caps=["echo-message"])
    bob = await cluster.client(n2, "bob", "#c", caps=["echo-message"])
    carol = await cluster.client(n3, "carol", "#c", caps=["echo-message"])
    await cluster.client(n3, "dave", "#c")
    for member in (alice, bob):
        await member.expect(lambda m: m.command == "JOIN" and m.source.startswith("dave!"))
    stop = asyncio.Event()
    sent_a: list[str] = []
    sent_b: list[str] = []
    talking = [asyncio.create_task(chatter(alice, "a", stop, sent_a)),
               asyncio.create_task(chatter(bob, "b", stop, sent_b)),
               asyncio.create_task(chatter(carol, "c", stop, []))]  # fmt: skip
    await asyncio.sleep(0.5)
    n3.kill()
    # the survivors hear both quits within the node timeout (and a beat)
    loop = asyncio.get_running_loop()
    started = loop.time()
    quits: dict[str, set[str]] = {"alice": set(), "bob": set()}
    while any(len(who) < 2 for who in quits.values()):
        await asyncio.sleep(0.05)
        for name, client in (("alice", alice), ("bob", bob)):
            quits[name] = {m.source.split("!")[0] for m in client.received if m.command == "QUIT"}
        assert loop.time() - started < NODE_TIMEOUT * 3, quits
    assert quits == {"alice": {"carol", "dave"}, "bob": {"carol", "dave"}}
    reason = next(m for m in alice.received if m.command == "QUIT").params[-1]
    assert "node3.test" in reason
    await asyncio.sleep(0.3)
    stop.set()
    await asyncio.gather(*talking)
    await caught_up(alice)  # what the others published before is here now
    await caught_up(bob)
    assert sent_a and sent_b
    # every acknowledged line reached the other survivor, once
    assert heard(bob, "a ") == Counter(sent_a)
    assert heard(alice, "b ") == Counter(sent_b)
    await oper_up(alice)
    found = await digests(alice, 2)
    assert len(set(found.values())) == 1, found


async def test_the_network_recovers_when_redis_restarts_empty_during_traffic(
    own_redis: RedisServer, cluster_config: str
) -> None:
    cluster = Cluster(own_redis.url, cluster_config)
    try:
        n1, n2 = await cluster.start(2)
        alice = await cluster.client(n1, "alice", "#c", caps=["echo-message"])
        bob = await cluster.client(n2, "bob", "#c", caps=["echo-message"])
        await alice.expect(lambda m: m.command == "JOIN" and m.source.startswith("bob!"))
        stop = asyncio.Event()
        sent_a: list[str] = []
        sent_b: list[str] = []
        talking = [asyncio.create_task(chatter(alice, "a", stop, sent_a)),
                   asyncio.create_task(chatter(bob, "b", stop, sent_b))]  # fmt: skip
        await asyncio.sleep(0.5)
        own_redis.stop(kill=True)  # everything Redis held is gone
        await asyncio.sleep(0.5)
        own_redis.start()
        before = (len(sent_a), len(sent_b))
        loop = asyncio.get_running_loop()
        started = loop.time()
        while (len(sent_a), len(sent_b)) <= (before[0] + 5, before[1] + 5):
            await asyncio.sleep(0.1)
            assert loop.time() - started < 20, cluster.logs()
        stop.set()
        await asyncio.gather(*talking)
        await caught_up(alice)
        await caught_up(bob)
        # nobody was dropped, and every acknowledged line arrived, once
        assert not [m for m in alice.received + bob.received if m.command in ("QUIT", "ERROR")]
        assert heard(bob, "a ") == Counter(sent_a), cluster.logs()
        assert heard(alice, "b ") == Counter(sent_b), cluster.logs()
        await oper_up(alice)
        found = await digests(alice, 2)
        assert len(set(found.values())) == 1, found
    finally:
        await cluster.close()


async def test_a_restarted_node_rejoins_with_an_equal_replica(cluster: Cluster) -> None:
    n1, n2, n3 = await cluster.start(3)
    alice = await cluster.client(n1, "alice", "#c")
    carol = await cluster.client(n3, "carol", "#c")
    await alice.expect(lambda m: m.command == "JOIN" and m.source.startswith("carol!"))
    alice.send("TOPIC #c :kept")
    alice.send("MODE #c +b x!*@*")
    await carol.expect("MODE", "#c", "+b")
    await n2.stop()  # a clean stop: its users (none) quit, the node leaves
    n2b = await cluster.add(name="node2.test")
    bob = await cluster.client(n2b, "bob", "#c")
    topic = next(m for m in bob.received if m.command == "332")
    assert topic.params[-1] == "kept"
    bob.send("PRIVMSG #c :back again")
    await carol.expect("PRIVMSG", "#c", "back again")
    await oper_up(alice)
    found = await digests(alice, 3)
    assert set(found) == {"node1.test", "node2.test", "node3.test"}
    assert len(set(found.values())) == 1, found


async def test_a_stopped_node_s_users_quit_with_its_reason(cluster: Cluster) -> None:
    n1, n2 = await cluster.start(2)
    alice = await cluster.client(n1, "alice", "#c")
    bob = await cluster.client(n2, "bob", "#c")
    await alice.expect(lambda m: m.command == "JOIN" and m.source.startswith("bob!"))
    await n2.stop()
    lines = await bob.closed()
    assert any(line.startswith("ERROR") for line in lines)
    quit_ = await alice.expect("QUIT")
    assert quit_.source.startswith("bob!")
    # the node that stays says so in its log, as it does of a node lost
    await until_logged([n1], "node node2.test")
    assert any("left the network (node2.test: Server shutting down): 1 of its users quit" in line
               for line in n1.log), n1.log
    assert quit_.params == ["node2.test: Server shutting down"]  # named, for those on other nodes


async def test_a_node_restarted_after_a_crash_names_each_other_node_once(cluster: Cluster) -> None:
    n1, n2 = await cluster.start(2)
    n2.kill()
    await n2.process.wait()
    again = await cluster.add(name="node2.test")  # before the crashed incarnation is declared lost
    line = next(line for line in again.log if "joined the network" in line)
    assert line.rstrip().endswith("other nodes: node1.test"), line
