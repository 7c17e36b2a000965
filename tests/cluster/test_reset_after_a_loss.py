"""Redis restarts empty after a node was lost: the log made again replays nothing.

The node that rebuilds the log publishes first the entries it applied lately, so that
a node that had not read them yet gets them. Among them may be a node's whole life (its
arrival, its users' joins and messages) up to its loss. A node that applied those
entries already must not apply them again: its clients would see the lost node's users
come back, say again what they said and quit again, and the network would declare a
node lost minutes ago lost once more. Nor may a node that starts from the rebuilt log's
first snapshot, which holds them already. And a connection the restart closed, used
again once Redis is back, is not reported as Redis out of reach.
"""

from __future__ import annotations

import asyncio

from tests.cluster.support import NODE_TIMEOUT, Cluster, caught_up, digests, oper_up, times_logged, until_logged
from tests.helpers import LineClient
from tests.services import RedisServer

LOST_AGAIN = "missed its heartbeats"
OUT_OF_REACH = "Redis is out of reach"
# no snapshot but the first one and the one a reset writes: a node that joins after the
# reset starts from the rebuilt log's own snapshot and reads the republished entries
RARE_SNAPSHOTS = "cluster.snapshot_interval=3600"


def shown(client: LineClient, start: int) -> list[str]:
    """What the client was shown of others since `start`: arrivals, messages, departures."""
    return [f"{m.source} {m.command} {' '.join(m.params)}" for m in client.received[start:]
            if m.command in ("JOIN", "PRIVMSG", "NOTICE", "PART", "QUIT", "NICK") and m.source is not None
            and not m.source.startswith(client.nick + "!")]  # fmt: skip


def restart_empty(redis: RedisServer) -> None:
    redis.stop(kill=True)  # everything Redis held is gone
    redis.start()


async def test_a_reset_after_a_node_was_lost_replays_nothing_and_loses_it_once(
    own_redis: RedisServer, cluster_config: str
) -> None:
    cluster = Cluster(own_redis.url, cluster_config)
    try:
        # node 2 first: it reads node 1's whole life from the log, its arrival too
        n2 = await cluster.add(RARE_SNAPSHOTS, name="node2.test")
        n1 = await cluster.add(RARE_SNAPSHOTS, name="node1.test")
        pat = await cluster.client(n1, "pat", "#lobby")
        watcher = await cluster.client(n2, "watcher", "#lobby")
        await pat.expect(lambda m: m.command == "JOIN" and m.source.startswith("watcher!"))
        pat.send("PRIVMSG #lobby :back on node 1")
        await watcher.expect("PRIVMSG", "#lobby", "back on node 1")
        n1.kill()
        quit_ = await watcher.expect(lambda m: m.command == "QUIT" and m.source.startswith("pat!"),
                                     timeout=NODE_TIMEOUT * 4)  # fmt: skip
        assert "node1.test lost contact with the network" in quit_.params[-1]
        assert times_logged([n2], LOST_AGAIN) == 1
        seen = len(watcher.received)

        # node 2 alone rebuilds the log: node 1's life is among the entries it applied lately
        restart_empty(own_redis)
        await until_logged([n2], "made a new one from this node's replica")
        unreachable = times_logged([n2], OUT_OF_REACH)
        await asyncio.sleep(NODE_TIMEOUT * 2)  # a node alive again would be lost again by now
        await caught_up(watcher)  # the first publish since the reset
        assert shown(watcher, seen) == [], cluster.logs()
        assert times_logged([n2], LOST_AGAIN) == 1, cluster.logs()
        # Redis was up: no connection the restart closed is reported as Redis out of reach
        assert times_logged([n2], OUT_OF_REACH) == unreachable, cluster.logs()

        # node 1 comes back, from the rebuilt log's first snapshot, which holds those
        # entries already: it does not apply them again
        n1b = await cluster.add(RARE_SNAPSHOTS, name="node1.test")
        amy = await cluster.client(n1b, "amy", "#lobby")
        names = " ".join(m.params[-1] for m in amy.received if m.command == "353").split()
        assert sorted(names) == ["amy", "watcher"], names
        await watcher.expect(lambda m: m.command == "JOIN" and m.source.startswith("amy!"))
        seen, seen_amy = len(watcher.received), len(amy.received)

        # and again, with both nodes: whichever rebuilds it, nobody sees anything twice
        restart_empty(own_redis)
        await until_logged([n2, n1b], "made a new one from this node's replica", times=2)
        await until_logged([n2, n1b], "follows the one made again")
        unreachable = times_logged([n2, n1b], OUT_OF_REACH)
        await asyncio.sleep(NODE_TIMEOUT * 2)
        await caught_up(watcher)
        await caught_up(amy)
        assert shown(watcher, seen) == [], cluster.logs()
        assert shown(amy, seen_amy) == [], cluster.logs()
        assert times_logged([n2, n1b], LOST_AGAIN) == 1, cluster.logs()
        assert times_logged([n2, n1b], OUT_OF_REACH) == unreachable, cluster.logs()
        await oper_up(watcher)
        found = await digests(watcher, 2)
        assert len(set(found.values())) == 1, found
    finally:
        await cluster.close()
