"""A node that starts from a snapshot answers queries as the other nodes do.

A node joining a running network loads the latest snapshot from Redis, then reads the
log. Its replica must not only hash alike (DIGEST), it must answer WHOIS, WHO, NAMES
and LIST as the nodes that applied every event themselves do.
"""

from __future__ import annotations

import asyncio
import json

import redis.asyncio as aioredis

from tests.cluster.support import Cluster, Node, caught_up, digests, oper_up
from tests.helpers import LineClient

FAST_SNAPSHOTS = "cluster.snapshot_interval=0.2"


async def snapshot_holds(cluster: Cluster, check) -> None:  # type: ignore[no-untyped-def]
    """Wait until the snapshot in Redis satisfies `check(state)` (snapshot.dump's form)."""
    r = aioredis.from_url(cluster.url)
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while True:
            blob = await r.get(f"{cluster.keyspace}:snapshot")
            if blob is not None and check(json.loads(blob)["state"]):
                return
            assert loop.time() < deadline, "no snapshot holding the expected state"
            await asyncio.sleep(0.05)
    finally:
        await r.aclose()


def member_of(state: dict, nick: str, channel: str) -> bool:  # type: ignore[type-arg]
    uids = {u[0] for u in state["users"] if u[1] == nick}
    return any(c["name"] == channel and any(m[0] in uids for m in c["members"]) for c in state["channels"])


def has_nick(state: dict, nick: str) -> bool:  # type: ignore[type-arg]
    return any(u[1] == nick for u in state["users"])


async def whois_channels(client: LineClient, nick: str) -> list[str]:
    client.send(f"WHOIS {nick}")
    whois = await client.collect_until("318")
    return [ch for m in whois if m.command == "319" for ch in m.params[-1].split()]


async def who_nicks(client: LineClient, mask: str) -> list[str]:
    client.send(f"WHO {mask}")
    return [m.params[5] for m in await client.collect_until("315") if m.command == "352"]


async def joined_from_snapshot(cluster: Cluster, check) -> Node:  # type: ignore[no-untyped-def]
    await snapshot_holds(cluster, check)
    return await cluster.add(FAST_SNAPSHOTS)


async def test_whois_lists_a_user_s_channels_in_the_same_order_on_a_node_started_from_a_snapshot(
    cluster: Cluster,
) -> None:
    n1, n2 = await cluster.start(2, FAST_SNAPSHOTS)
    alice = await cluster.client(n1, "alice", "#first")  # #first is the older channel
    bob = await cluster.client(n2, "bob", "#second", "#first")  # bob joined #second, then #first
    await alice.expect(lambda m: m.command == "JOIN" and m.source.startswith("bob!"))
    n3 = await joined_from_snapshot(cluster, lambda s: member_of(s, "bob", "#first"))
    carol = await cluster.client(n3, "carol")
    await caught_up(carol)
    await oper_up(alice)
    found = await digests(alice, 3)
    assert len(set(found.values())) == 1, found  # the replicas hash alike (the digest sees this order)...
    seen = {name: await whois_channels(client, "bob") for name, client in
            (("node1", alice), ("node2", bob), ("node3", carol))}  # fmt: skip
    assert seen["node1"] == seen["node2"] == ["@#second", "#first"]
    assert seen["node3"] == seen["node1"], seen  # ...and answer alike


async def test_who_lists_users_in_the_same_order_on_a_node_started_from_a_snapshot(cluster: Cluster) -> None:
    n1, n2 = await cluster.start(2, FAST_SNAPSHOTS)
    alice = await cluster.client(n1, "alice")
    bob = await cluster.client(n2, "bob")
    await caught_up(bob)
    alice.send("NICK alicia")  # her nick is now claimed after bob's
    await alice.expect("NICK")
    await caught_up(bob)
    n3 = await joined_from_snapshot(cluster, lambda s: has_nick(s, "alicia"))
    carol = await cluster.client(n3, "carol")
    for client in (carol, alice, bob):  # every node has applied carol's arrival
        await caught_up(client)
    seen = {name: await who_nicks(client, "*") for name, client in
            (("node1", alice), ("node2", bob), ("node3", carol))}  # fmt: skip
    assert seen["node1"] == seen["node2"]
    assert seen["node3"] == seen["node1"], seen
