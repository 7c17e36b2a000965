"""The web listener's tests, and the browser tests of the web client.

test_websocket.py and test_http.py speak to the server with aiohttp (a dependency of
hubbub itself). The browser tests (fixtures in tests/web/fixtures.py) also need
Playwright for Python; where it is not installed, those modules are not collected and
the rest of the suite runs as before, and where Debian's Chromium is missing they skip.
The unit tests of the client's modules (test_units.py, under node) and the checks of
its files (test_static.py) need neither.
"""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from hubbub.app import Runtime
from tests.web.wsclient import start_web_server

BROWSER_TESTS = ["test_chat.py", "test_security.py", "test_resilience.py", "test_history.py"]

if importlib.util.find_spec("playwright") is None:
    collect_ignore_glob = BROWSER_TESTS
else:
    from tests.web.fixtures import *  # noqa: F403


@pytest.fixture
async def make_web_server() -> AsyncIterator[Callable[..., Awaitable[Runtime]]]:
    """Start servers with their web listener on a free port (`"limits.sendq=4096"`...);
    all stopped at the end."""
    started: list[Runtime] = []

    async def make(*overrides: str) -> Runtime:
        runtime = await start_web_server(*overrides)
        started.append(runtime)
        return runtime

    yield make
    for runtime in started:
        await runtime.stop()
