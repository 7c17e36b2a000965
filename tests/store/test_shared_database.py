"""A server started on a PostgreSQL database that other running servers use, without
--cluster: it works, but it is a network of its own beside theirs (nobody on it sees
their users, and accounts registered on either are unknown to the other until a
restart). It says so at the start; a node of their cluster does not."""

from __future__ import annotations

import uuid

import pytest

from tests.services import RedisServer

OTHERS = "in use by 1 other running hubbub server"


async def test_a_server_outside_the_cluster_on_its_database_says_so(
    make_server, postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    await make_server(f"store.db='{postgres_url}'", "server.name='one.test'")
    assert OTHERS not in caplog.text  # the first is alone
    await make_server(f"store.db='{postgres_url}'", "server.name='two.test'")
    assert OTHERS in caplog.text and "start it with --cluster" in caplog.text


async def test_a_node_of_the_cluster_does_not(
    make_server, postgres_url: str, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    cluster = (f"cluster.url='{redis_server.url}'", f"cluster.keyspace='t{uuid.uuid4().hex[:12]}'",
               f"store.db='{postgres_url}'")  # fmt: skip
    await make_server(*cluster, "server.name='one.test'")
    await make_server(*cluster, "server.name='two.test'")
    assert "other running hubbub server" not in caplog.text
