"""Servers with a real SQLite file in the test's own directory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from hubbub.app import Runtime
from tests.e2e_limits.test_cli import serve  # noqa: F401  (subprocess servers, for these tests too)
from tests.helpers import start_server


@pytest.fixture
async def stored(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Runtime]]]:
    """`await stored(*overrides)`: a server keeping its store in tmp_path/hubbub.db. Calling
    it again (after stopping the first) reopens the same file: a restart."""
    started: list[Runtime] = []

    async def make(*overrides: str) -> Runtime:
        runtime = await start_server(f"store.db='{tmp_path / 'hubbub.db'}'", *overrides)
        started.append(runtime)
        return runtime

    yield make
    for runtime in started:
        await runtime.stop()
