"""Redis restarts empty while one node has read further in the log than the node that
rebuilds it: every node still applies every event in one order.

The node that read further (here node 2) publishes again, into the new log, the old
entries the rebuilder (node 1) never read. It applied them before anything the new log
holds, so everyone must: a new event published in the new log before them would be
applied after them on node 2 and before them everywhere else. Here the two events set
one channel's topic: applied in two orders, the two nodes would each keep another topic
for good.
"""

from __future__ import annotations

import asyncio
import json
import signal

import aiohttp
import redis
import redis.asyncio
from prometheus_client.parser import text_string_to_metric_families

from tests.cluster.support import Cluster, Node, caught_up, digests, oper_up, times_logged, until_logged
from tests.helpers import LineClient
from tests.services import RedisServer

# long enough that a node paused for a second or two stays a member of the network
PATIENT = "cluster.node_timeout=4"
TIMEOUT = 15  # seconds: past the node timeout, and past a loss after it


async def topic_of(client: LineClient) -> str:
    client.send("TOPIC #c")
    return (await client.expect("332")).params[-1]


async def replaced_snapshot(url: str, keyspace: str) -> None:
    """Ask for a snapshot, as a node starting again does, and wait until it is written."""
    client = redis.asyncio.Redis.from_url(url)
    try:
        await client.set(f"{keyspace}:snapshot:wanted", "1")
        for _ in range(200):
            blob = await client.get(f"{keyspace}:snapshot")
            if blob is not None and "old_epoch" not in json.loads(blob):
                return
            await asyncio.sleep(0.05)
        raise AssertionError("no new snapshot was written")
    finally:
        await client.aclose()


async def two_nodes(
    cluster: Cluster, patience: str = PATIENT, first: tuple[str, ...] = ()
) -> tuple[Node, Node, LineClient, LineClient]:
    """node 1 with alice, node 2 with bob, both in #c, where anyone may set the topic;
    `first`: more settings of node 1."""
    n1 = await cluster.add(patience, *first, name="node1.test")
    n2 = await cluster.add(patience, name="node2.test")
    alice = await cluster.client(n1, "alice", "#c")
    bob = await cluster.client(n2, "bob", "#c")
    await alice.expect(lambda m: m.command == "JOIN" and m.source.startswith("bob!"))
    alice.send("MODE #c -t")
    await bob.expect("MODE", "#c", "-t")
    return n1, n2, alice, bob


async def rebuilt_by_the_node_behind(redis_server: RedisServer, n1: Node, n2: Node, bob: LineClient) -> None:
    """Leave node 2 paused past an entry node 1 never read (bob's topic "one"), Redis
    empty, and node 1 rebuilding the log from its replica, which lacks that entry."""
    assert n1.process is not None and n2.process is not None
    # node 1 stops reading; node 2 applies bob's topic, which node 1 never reads (its
    # connections are closed first: a read it had waiting would bring it the topic)
    n1.process.send_signal(signal.SIGSTOP)
    try:
        with redis.Redis.from_url(redis_server.url) as admin:
            admin.client_kill_filter(_type="normal", skipme=True)
        bob.send("TOPIC #c :one")
        await bob.expect("TOPIC", "#c", "one")
        n2.process.send_signal(signal.SIGSTOP)
        redis_server.stop(kill=True)  # everything Redis held is gone
        redis_server.start()
    finally:
        n1.process.send_signal(signal.SIGCONT)
    await until_logged([n1], "made a new one from this node's replica")


async def agree(cluster: Cluster, alice: LineClient, bob: LineClient, topic: str) -> None:
    await caught_up(alice)
    await caught_up(bob)
    assert await topic_of(alice) == await topic_of(bob) == topic, cluster.logs()
    await oper_up(alice)
    found = await digests(alice, 2)
    assert len(set(found.values())) == 1, found


async def test_new_events_wait_for_the_old_entries_another_node_read_further(
    own_redis: RedisServer, cluster_config: str
) -> None:
    cluster = Cluster(own_redis.url, cluster_config)
    try:
        # node 2 stays stopped through the rebuild, a second's wait and a snapshot: under
        # load longer than the default patience's grace, and it must not be declared lost
        n1, n2, alice, bob = await two_nodes(cluster, "cluster.node_timeout=8")
        assert n2.process is not None
        try:
            await rebuilt_by_the_node_behind(own_redis, n1, n2, bob)
            alice.send("TOPIC #c :two")
            try:  # published at once, before node 2 is back, if nothing holds it
                await alice.expect("TOPIC", "#c", "two", timeout=1.0)
            except AssertionError:
                pass
            # A node asks for a snapshot meanwhile: node 1 writes one, replacing the one it
            # made the new log with. Node 2 must still learn where the new log takes the
            # old one up (it is kept apart).
            await replaced_snapshot(own_redis.url, cluster.keyspace)
        finally:
            n2.process.send_signal(signal.SIGCONT)
        await until_logged([n2], "follows the one made again")
        await agree(cluster, alice, bob, "two")
        topics = [m.params[-1] for m in alice.received if m.command == "TOPIC"]
        assert topics == ["one", "two"], topics
    finally:
        await cluster.close()


async def test_a_node_back_after_the_wait_starts_again_without_its_old_entries(
    own_redis: RedisServer, cluster_config: str
) -> None:
    """Node 2 comes back after the new log stopped waiting for it (`node_timeout`), but
    before it is declared lost: its old entries come too late to be ordered first, so
    they are refused, and it starts again from a snapshot. Its clients, who saw what the
    others never will, are disconnected; the replicas agree."""
    cluster = Cluster(own_redis.url, cluster_config)
    try:
        n1, n2, alice, bob = await two_nodes(cluster)
        assert n2.process is not None
        try:
            await rebuilt_by_the_node_behind(own_redis, n1, n2, bob)
            alice.send("TOPIC #c :two")
            await alice.expect("TOPIC", "#c", "two", timeout=TIMEOUT)  # held until the wait ends
        finally:
            n2.process.send_signal(signal.SIGCONT)
        await until_logged([n2], "no longer waits for this node")
        lines = await bob.closed(timeout=TIMEOUT)
        assert any(line.startswith("ERROR") for line in lines), lines
        robert = await cluster.client(n2, "robert", "#c")
        assert next(m for m in robert.received if m.command == "332").params[-1] == "two"
        await agree(cluster, alice, robert, "two")
        assert [m.params[-1] for m in alice.received if m.command == "TOPIC"] == ["two"]
    finally:
        await cluster.close()


async def test_new_events_wait_no_longer_than_node_timeout_for_a_node_gone_for_good(
    own_redis: RedisServer, cluster_config: str
) -> None:
    cluster = Cluster(own_redis.url, cluster_config)
    try:
        n1, n2, alice, bob = await two_nodes(cluster)
        try:
            await rebuilt_by_the_node_behind(own_redis, n1, n2, bob)
        finally:
            n2.kill()
        alice.send("TOPIC #c :two")
        await alice.expect("TOPIC", "#c", "two", timeout=TIMEOUT)
        quit_ = await alice.expect("QUIT", timeout=TIMEOUT)
        assert quit_.source.startswith("bob!") and "node2.test lost contact" in quit_.params[-1]
    finally:
        await cluster.close()


async def unpublished(node: Node) -> float:
    async with aiohttp.ClientSession() as http, http.get(node.web_url + "metrics") as response:
        text = await response.text()
    return next(s.value for f in text_string_to_metric_families(text) for s in f.samples
                if s.name == "hubbub_cluster_events_unpublished")  # fmt: skip


async def logged_either(node: Node, *texts: str) -> None:
    for _ in range(400):
        if any(times_logged([node], text) for text in texts):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(node.name + " logged none of " + repr(texts))


async def test_a_node_stopping_while_the_new_log_waits_still_says_why_its_users_left(
    own_redis: RedisServer, cluster_config: str
) -> None:
    """Node 1 stops while the log it made again still waits for node 2's old entries: its
    departure waits for them too, rather than being refused (its users would then quit
    for everyone as "lost contact", once its heartbeat lapsed)."""
    cluster = Cluster(own_redis.url, cluster_config)
    try:
        n1, n2, alice, bob = await two_nodes(cluster)
        assert n1.process is not None and n2.process is not None
        try:
            await rebuilt_by_the_node_behind(own_redis, n1, n2, bob)
            n1.process.terminate()
            # its departure refused once as SETTLING: it says it waits (before: it gave up)
            await logged_either(n1, "leaving: waiting until", "could not tell the network")
        finally:
            n2.process.send_signal(signal.SIGCONT)
        quit_ = await bob.expect(lambda m: m.command == "QUIT" and m.source.startswith("alice!"), timeout=TIMEOUT)
        assert quit_.params[-1] == "node1.test: Server shutting down", quit_
        await n1.stop()
        assert times_logged([n1], "could not tell the network") == 0, cluster.logs()
    finally:
        await cluster.close()


async def test_what_a_stopping_node_s_users_said_last_waits_for_the_new_log_too(
    own_redis: RedisServer, cluster_config: str
) -> None:
    """The same, with a message of alice's held when node 1 stops, and node 2 away for more
    than a second after that: the message goes out once the new log takes new events, as
    the departure does (before, the stop waited a second for it, then dropped it)."""
    cluster = Cluster(own_redis.url, cluster_config)
    try:
        # node_timeout: room for node 2's second and a half away
        n1, n2, alice, bob = await two_nodes(cluster, "cluster.node_timeout=8", ("listen.web='127.0.0.1:0'",))
        assert n1.process is not None and n2.process is not None
        try:
            await rebuilt_by_the_node_behind(own_redis, n1, n2, bob)
            alice.send("PRIVMSG #c :last words")  # held: the new log takes no new event yet
            for _ in range(200):
                if await unpublished(n1) >= 1:
                    break
                await asyncio.sleep(0.02)
            else:
                raise AssertionError("alice's message was not held")
            n1.process.terminate()
            await logged_either(n1, "leaving: waiting until")
            await asyncio.sleep(1.5)  # node 2 away past the stop's old one-second wait
        finally:
            n2.process.send_signal(signal.SIGCONT)
        quit_ = await bob.expect(lambda m: m.command == "QUIT" and m.source.startswith("alice!"), timeout=TIMEOUT)
        assert quit_.params[-1] == "node1.test: Server shutting down", quit_
        said = [m.params[-1] for m in bob.received if m.command == "PRIVMSG" and m.source.startswith("alice!")]
        assert said == ["last words"], said
    finally:
        await cluster.close()
