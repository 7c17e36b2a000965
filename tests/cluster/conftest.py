"""Clusters for the tests: nodes as processes on one real redis-server (tests/services.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.cluster.support import OPER_PASSWORD, Cluster
from tests.helpers import cheap_hash
from tests.services import RedisServer, start_redis


@pytest.fixture(scope="session")
def cluster_config(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = Path(tmp_path_factory.mktemp("cluster")) / "hubbub.toml"
    path.write_text(f'[[opers]]\nname = "admin"\npassword_hash = "{cheap_hash(OPER_PASSWORD)}"\n')
    return str(path)


@pytest.fixture
async def cluster(redis_server: RedisServer, cluster_config: str) -> AsyncIterator[Cluster]:
    """A network of its own (a keyspace of its own) on the shared redis-server."""
    network = Cluster(redis_server.url, cluster_config)
    yield network
    await network.close()


@pytest.fixture
async def own_redis() -> AsyncIterator[RedisServer]:
    """A redis-server of the test's own, for tests that stop or restart it (the shared
    one, `redis_server`, must stay up for the others)."""
    server = start_redis()
    if isinstance(server, str):
        pytest.skip(server)
    yield server
    server.close()
