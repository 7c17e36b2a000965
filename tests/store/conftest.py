"""Stores to test: a real SQLite file in the test's directory (PostgreSQL joins the list
when it is available)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from hubbub.server.storage import Store
from hubbub.store import open_store


@pytest.fixture(params=["sqlite"])
async def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Callable[[], Awaitable[Store]]]:
    """`await make_store()`: a store, opened; calling it again reopens the same database."""
    opened: list[Store] = []

    async def make() -> Store:
        for store in opened:
            await store.close()
        opened.clear()
        store = open_store(str(tmp_path / "hubbub.db"))
        await store.open()
        opened.append(store)
        return store

    yield make
    for store in opened:
        await store.close()
