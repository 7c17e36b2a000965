"""Servers with a real store: each test runs on a SQLite file in its own directory, then
on a PostgreSQL database of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from hubbub.app import Runtime
from tests.e2e_limits.test_cli import serve  # noqa: F401  (subprocess servers, for these tests too)
from tests.helpers import start_server


@pytest.fixture
async def stored(db: str) -> AsyncIterator[Callable[..., Awaitable[Runtime]]]:
    """`await stored(*overrides)`: a server keeping its store in `db`. Calling it again
    (after stopping the first) reopens the same database: a restart."""
    started: list[Runtime] = []

    async def make(*overrides: str) -> Runtime:
        runtime = await start_server(f"store.db='{db}'", *overrides)
        started.append(runtime)
        return runtime

    yield make
    for runtime in started:
        await runtime.stop()
