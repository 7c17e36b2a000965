"""WEBIRC across a cluster: the per-address limit counts a gateway user's own address on
the whole network, whichever node its gateway connected to, and every node shows it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from tests.cluster.support import Cluster, Node
from tests.helpers import LineClient
from tests.services import RedisServer

PASSWORD = "gw-secret"
_CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture
async def network(redis_server: RedisServer, tmp_path: Path) -> AsyncIterator[Cluster]:
    cluster = Cluster(redis_server.url, gateway_config(tmp_path))
    yield cluster
    await cluster.close()


def gateway_config(tmp_path: Path) -> str:
    config = tmp_path / "hubbub.toml"
    config.write_text(f'[[webirc]]\nname = "kiwi"\npassword_hash = "{_CHEAP.hash(PASSWORD)}"\nhosts = ["127.0.0.1"]\n')
    return str(config)


async def via_gateway(network: Cluster, node: Node, ip: str, nick: str) -> LineClient:
    client = await network.client(node)
    client.send(f"WEBIRC {PASSWORD} KiwiIRC {ip} {ip}")
    client.send(f"NICK {nick}")
    client.send(f"USER {nick} 0 * :{nick}")
    return client


async def test_a_gateway_user_s_address_counts_on_every_node(network: Cluster) -> None:
    n1, n2 = await network.start(2, "limits.max_clients_per_ip=1", "server.cloak_hosts=false")
    amy = await via_gateway(network, n1, "192.0.2.10", "amy")
    await amy.expect("001")
    twin = await via_gateway(network, n2, "192.0.2.10", "twin")  # the same address, the other node
    error = await twin.expect("ERROR")
    assert "Too many connections from your IP address" in error.params[-1]
    other = await via_gateway(network, n2, "192.0.2.11", "other")  # another address: in
    await other.expect("001")
    other.send("WHOIS amy")
    whois = await other.collect_until("318")
    assert [m.params[3] for m in whois if m.command == "311"] == ["192.0.2.10"]  # the user's host, not the gateway's
    amy.send("JOIN #c")
    await amy.expect("366")
    other.send("JOIN #c")
    await other.expect("366")
    amy.send("QUIT :bye")
    await other.expect("QUIT")  # node 2 has applied it: the address is free there
    again = await via_gateway(network, n2, "192.0.2.10", "again")
    await again.expect("001")


async def test_one_address_has_one_cloak_on_every_node(
    redis_server: RedisServer, tmp_path: Path, postgres_url: str
) -> None:
    """The nodes share the store's secret, so a user from one address is shown with the
    same cloak whichever node it connects to (a ban on it holds on all of them), and
    each node shows another node's user with the cloak its own node gave it."""
    cluster = Cluster(redis_server.url, gateway_config(tmp_path), db=postgres_url)
    try:
        n1, n2 = await cluster.start(2)
        amy = await via_gateway(cluster, n1, "192.0.2.10", "amy")
        cloak = (await amy.expect("396")).params[1]
        twin = await via_gateway(cluster, n2, "192.0.2.10", "twin")
        assert (await twin.expect("396")).params[1] == cloak
        other = await via_gateway(cluster, n2, "192.0.2.11", "other")
        assert (await other.expect("396")).params[1] != cloak
        other.send("WHOIS amy")
        assert [m.params[3] for m in await other.collect_until("318") if m.command == "311"] == [cloak]
    finally:
        await cluster.close()
