"""The per-address limits a cluster counts as one server would (docs/cluster.md, "Limits
in a cluster"): failed logins (logins.py, events.LoginFailed), so that a guesser who
spreads wrong passwords over the nodes meets the limits of one server and a right
password forgets the pair's mistakes on every node; accounts registered per address;
connections per address lately (limits.connects_per_ip). Nodes as processes on a real
redis-server; every connection comes from 127.0.0.1."""

from __future__ import annotations

import re

from tests.cluster.support import OPER_PASSWORD, Cluster, caught_up
from tests.cluster.test_opers_cluster_audit import T
from tests.e2e_accounts.support import ns
from tests.helpers import LineClient
from tests.services import RedisServer

THROTTLED = re.compile(r"Too many failed attempts; try again in (\d+) seconds")
INVALID = "Authentication failed: Invalid account credentials"


async def oper(client: LineClient, password: str) -> str:
    """The answer to `OPER admin <password>`: 381's or 464's text."""
    client.send(f"OPER admin {password}")
    reply = await client.expect(lambda m: m.command in ("381", "464"), timeout=T)
    return reply.params[-1]


async def test_oper_guesses_on_one_node_close_oper_on_the_other(cluster: Cluster) -> None:
    """Five wrong OPER passwords on node 1 (the default `accounts.login_failures`): on
    node 2 the right one is refused unchecked, as it would be on node 1."""
    n1, n2 = await cluster.start(2)
    guesser = await cluster.client(n1, "guesser")
    for attempt in range(5):
        assert await oper(guesser, f"wrong{attempt}") == "Password incorrect"
    await caught_up(guesser)  # node 1 has published its counts: they are in the log before this
    other = await cluster.client(n2, "other")
    await caught_up(other)  # and node 2 has applied them
    refused = THROTTLED.fullmatch(await oper(other, OPER_PASSWORD))
    assert refused is not None and 1 <= int(refused.group(1)) <= 60, refused


async def test_account_guesses_spread_over_nodes_meet_one_limit_and_a_right_password_forgets_them(
    cluster: Cluster,
) -> None:
    """alice's account: four wrong passwords on node 1 and one on node 2, from one
    address, make the five of the address and account pair's limit: the right password
    is refused unchecked on both nodes. bob's: four mistakes on node 2, then his right
    password there, forget the pair's count on node 1 too, where four more mistakes
    still leave his right password accepted (counted per node, or forgotten on node 2
    alone, the two tries would be refused there)."""
    n1, n2 = await cluster.start(2)
    owner = await cluster.client(n1, "alice")
    assert await ns(owner, "REGISTER correct-horse") == "Account created"
    bob = await cluster.client(n2, "bob")
    assert await ns(bob, "REGISTER battery-staple") == "Account created"

    typist = await cluster.client(n1, "typist")
    for _ in range(4):
        assert await ns(typist, "IDENTIFY alice correct-hrose") == INVALID
    await caught_up(typist)
    elsewhere = await cluster.client(n2, "elsewhere")
    await caught_up(elsewhere)
    assert await ns(elsewhere, "IDENTIFY alice correct-hrose") == INVALID  # the fifth, on node 2
    await caught_up(elsewhere)
    for number, node in enumerate((n1, n2)):
        again = await cluster.client(node, f"again{number}")
        await caught_up(again)
        refused = THROTTLED.fullmatch(await ns(again, "IDENTIFY alice correct-horse"))
        assert refused is not None, (node.name, refused)

    mistaken = await cluster.client(n2, "mistaken")
    for _ in range(4):
        assert await ns(mistaken, "IDENTIFY bob battery-stable") == INVALID
    assert await ns(mistaken, "IDENTIFY bob battery-staple") == "You're now logged in as bob"
    await caught_up(mistaken)
    later = await cluster.client(n1, "later")
    await caught_up(later)
    for _ in range(4):
        assert await ns(later, "IDENTIFY bob battery-stable") == INVALID
    assert await ns(later, "IDENTIFY bob battery-staple") == "You're now logged in as bob"


async def test_guesses_count_on_their_node_at_once_while_the_log_is_out_of_reach(
    own_redis: RedisServer, cluster_config: str
) -> None:
    """Redis gone: the node's failures wait to be published, and its own count holds
    them meanwhile. Five wrong OPER passwords from one connection close OPER to another
    connection from the same address at once, the right password too."""
    cluster = Cluster(own_redis.url, cluster_config)
    try:
        (node,) = await cluster.start(1)
        guesser = await cluster.client(node, "guesser")
        other = await cluster.client(node, "other")
        own_redis.stop(kill=True)
        for attempt in range(5):
            assert await oper(guesser, f"wrong{attempt}") == "Password incorrect"
        refused = THROTTLED.fullmatch(await oper(other, OPER_PASSWORD))
        assert refused is not None, refused
    finally:
        await cluster.close()


async def test_accounts_registered_on_one_node_count_against_their_address_on_the_other(cluster: Cluster) -> None:
    """`accounts.register_limit` 2: two accounts registered from 127.0.0.1 on node 1 make
    a third from there refused on node 2 before its password is hashed, as on node 1."""
    n1, n2 = await cluster.start(2, "accounts.register_limit=2")
    for nick in ("amy", "ben"):
        client = await cluster.client(n1, nick)
        assert await ns(client, "REGISTER correct-horse") == "Account created"
    for number, node in enumerate((n2, n1)):
        third = await cluster.client(node, f"carl{number}")
        await caught_up(third)
        answer = await ns(third, "REGISTER correct-horse")
        assert answer.startswith("Too many accounts registered from your address; try again in "), answer


async def test_connections_to_one_node_count_for_the_pace_on_the_other(cluster: Cluster) -> None:
    """`limits.connects_per_ip` 3, no address exempt: two connections from 127.0.0.1 to
    node 1 and one to node 2 make a fourth to node 2 refused with the wait, as a fourth
    to one server would be."""
    n1, n2 = await cluster.start(2, "limits.connects_per_ip=3", "limits.connect_exempt=[]")
    kept = [await cluster.client(n1, "first"), await cluster.client(n1, "second")]
    third = await cluster.client(n2, "third")
    await caught_up(third)  # node 2 has applied the arrivals on node 1
    assert n2.address is not None
    refused = await LineClient.connect_to(*n2.address)
    (line,) = await refused.closed()
    assert re.fullmatch(r"ERROR :Closing Link: 127\.0\.0\.1 \(Too many connections from your IP address "
                        r"lately; try again in \d+ seconds\)", line), (line, len(kept))  # fmt: skip
