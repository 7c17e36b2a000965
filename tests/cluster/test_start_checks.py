"""What a node checks as it joins: Redis's eviction policy, and that no live node has
its server name (while a node restarted right after a crash still starts). Real
`hubbub serve --cluster` processes on a real redis-server."""

from __future__ import annotations

import pytest
import redis

from hubbub.irc.message import Message
from tests.cluster.support import Cluster, Node, oper_up, until_logged
from tests.helpers import LineClient
from tests.services import RedisServer

EVICTING = "may evict keys"
SLOW = "cluster.node_timeout=10"  # heartbeats last 5 s


async def names_in_links(client: LineClient) -> list[str]:
    """The servers LINKS lists, as many times as it lists each."""
    client.send("LINKS")
    replies: list[Message] = await client.collect_until("365")
    return sorted(m.params[1] for m in replies if m.command == "364")


def one_line_refusal(node: Node) -> str:
    """The node's refusal: one `hubbub:` line, no traceback."""
    text = "".join(node.log)
    assert "Traceback" not in text, text
    refusals = [line.strip() for line in node.log if line.startswith("hubbub:")]
    assert len(refusals) == 1, text
    return refusals[0]


async def test_a_redis_that_may_evict_keys_is_warned_of_unless_it_will_not_say(
    own_redis: RedisServer, cluster_config: str
) -> None:
    """docs/cluster.md: `maxmemory-policy noeviction` matters. A node says so, once, on a
    Redis with a memory limit and another policy; a Redis user without CONFIG (managed
    Redis) gets no word and the node starts as usual."""
    admin = redis.Redis(port=own_redis.port)
    admin.config_set("maxmemory", "100mb")
    admin.config_set("maxmemory-policy", "allkeys-lru")
    admin.execute_command("ACL", "SETUSER", "hubbub", "on", ">pw", "~*", "&*", "+@all", "-config")
    admin.close()
    network = Cluster(own_redis.url, cluster_config)
    try:
        first = await network.add()
        warned = [line for line in first.log if EVICTING in line]
        assert len(warned) == 1 and " WARNING " in warned[0], "".join(first.log)
        assert "maxmemory-policy allkeys-lru" in warned[0] and "set maxmemory-policy noeviction" in warned[0]
        refused_config = Node(f"redis://hubbub:pw@127.0.0.1:{own_redis.port}/0", network.keyspace, "node2.test",
                              cluster_config)  # fmt: skip
        network.nodes.append(refused_config)
        await refused_config.start()
        client = await network.client(refused_config, "carol")
        assert await names_in_links(client) == ["node1.test", "node2.test"]
        assert not any(EVICTING in line or "Traceback" in line for line in refused_config.log), refused_config.log
    finally:
        await network.close()


async def test_a_second_node_named_as_a_live_one_is_refused(cluster: Cluster) -> None:
    """InspIRCd and ergo refuse a second server of one name; so does a node."""
    first, _ = await cluster.start(2)
    namesake = Node(cluster.url, cluster.keyspace, first.name, cluster.config)
    cluster.nodes.append(namesake)
    with pytest.raises(AssertionError, match="exited"):
        await namesake.start()
    assert namesake.process is not None
    assert await namesake.process.wait() == 1  # as other cluster start errors
    assert one_line_refusal(namesake) == (f"hubbub: a node named {first.name} is running in the network at "
                                          f"{cluster.url}: give this one another --name (server.name)")  # fmt: skip
    client = await cluster.client(first, "alice")
    assert await names_in_links(client) == ["node1.test", "node2.test"]


async def test_a_node_restarted_right_after_a_crash_waits_for_its_old_heartbeat_and_starts(
    cluster: Cluster,
) -> None:
    """Its old incarnation's heartbeat outlives the crash by up to node_timeout/2: the
    restarted node waits for it to expire rather than being refused, and the network
    ends with each name once. (A node_timeout of 10 s: the new process, however slow to
    start on a busy machine, looks within the 5 s the old heartbeat has left.)"""
    first, second = await cluster.start(2, SLOW)
    second.kill()
    assert second.process is not None
    await second.process.wait()
    again = Node(cluster.url, cluster.keyspace, second.name, cluster.config, SLOW)
    cluster.nodes.append(again)
    await again.start()
    assert any("has a heartbeat in Redis" in line and "waiting for it to expire" in line for line in again.log), \
        again.log  # fmt: skip
    assert not any(line.startswith("hubbub:") for line in again.log)
    await until_logged([first], "left the network (node2.test lost contact")  # the old incarnation
    oper = await cluster.client(first, "oper")
    await oper_up(oper)
    assert await names_in_links(oper) == ["node1.test", "node2.test"]
    user = await cluster.client(again, "dave", "#c")
    await oper.join("#c")
    user.send("PRIVMSG #c :back")
    await oper.expect(lambda m: m.command == "PRIVMSG" and m.params[-1] == "back")
