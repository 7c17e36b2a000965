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

BROWSER_TESTS = ["test_chat.py", "test_security.py", "test_resilience.py", "test_history.py"]

if importlib.util.find_spec("playwright") is None:
    collect_ignore_glob = BROWSER_TESTS
else:
    from tests.web.fixtures import *  # noqa: F403
