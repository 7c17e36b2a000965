from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from hubbub.app import Runtime
from tests.helpers import LineClient, start_server
from tests.services import PostgresServer, RedisServer, start_postgres, start_redis


@pytest.fixture
async def make_server() -> AsyncIterator[Callable[..., Awaitable[Runtime]]]:
    """Start servers with config overrides (`"limits.sendq=4096"`); all stopped at the end."""
    started: list[Runtime] = []

    async def make(*overrides: str) -> Runtime:
        runtime = await start_server(*overrides)
        started.append(runtime)
        return runtime

    yield make
    for runtime in started:
        await runtime.stop()


@pytest.fixture
async def server(make_server: Callable[..., Awaitable[Runtime]]) -> Runtime:
    return await make_server()


@pytest.fixture
async def clients() -> AsyncIterator[list[LineClient]]:
    """A list to put clients in; they are closed at the end of the test."""
    opened: list[LineClient] = []
    yield opened
    for client in opened:
        await client.close()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL for this test process (skipped where it is not installed)."""
    server = start_postgres()
    if isinstance(server, str):
        pytest.skip(server)
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """The URL of a fresh, empty database of its own, with the credentials of its owner.
    It outlives every fixture of the test, whatever their order (PostgresServer.retire)."""
    name = postgres_server.create_database()
    yield postgres_server.url(name)
    postgres_server.retire(name)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A real redis-server for this test process (skipped where it is not installed);
    tests share it, each under a keyspace of its own."""
    server = start_redis()
    if isinstance(server, str):
        pytest.skip(server)
    yield server
    server.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The `store.db` setting of a new, empty database, once per backend: a SQLite file in
    the test's directory, then a PostgreSQL database of its own."""
    if request.param == "postgresql":
        url: str = request.getfixturevalue("postgres_url")
        return url
    return str(tmp_path / "hubbub.db")
