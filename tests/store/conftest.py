"""Stores to test: every test runs on a real SQLite file in the test's directory, and
again on a real PostgreSQL database of its own (skipped where PostgreSQL is missing)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from hubbub.server.storage import Store
from hubbub.store import open_store


@pytest.fixture
async def make_store(db: str) -> AsyncIterator[Callable[[], Awaitable[Store]]]:
    """`await make_store()`: a store, opened; calling it again reopens the same database."""
    opened: list[Store] = []

    async def make() -> Store:
        for store in opened:
            await store.close()
        opened.clear()
        store = open_store(db)
        await store.open()
        opened.append(store)
        return store

    yield make
    for store in opened:
        await store.close()
