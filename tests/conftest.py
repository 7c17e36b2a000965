from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from pathlib import Path

import pytest

from hubbub.app import Runtime
from tests.helpers import LineClient, start_server
from tests.services import PostgresServer, RedisServer, start_postgres, start_redis

LoopFactory = Callable[[], asyncio.AbstractEventLoop]


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> Mapping[str, LoopFactory]:
    """Every async test runs on the event loop `hubbub serve` picks where it can: uvloop
    (`--loop auto`), so that the servers a test runs inside its own process behave as
    they do for people (and the suite spends a sixth less CPU than on the standard loop). Where
    uvloop is missing, and in the run of hubbub's Python code alone (HUBBUB_PURE=1,
    scripts/test's second run), the standard loop: what runs on a machine with neither
    uvloop nor a C compiler. A test marked `standard_loop` reads that loop's own insides
    (its timers, its selector's descriptors) and always runs on it."""
    if item.get_closest_marker("standard_loop") is None and not os.environ.get("HUBBUB_PURE"):
        try:
            import uvloop
        except ImportError:
            pass
        else:
            return {"uvloop": uvloop.new_event_loop}
    return {"asyncio": asyncio.new_event_loop}


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
