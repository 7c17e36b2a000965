"""Browser tests of the web client (fixtures in tests/web/fixtures.py).

The browser tests need Playwright for Python and aiohttp; where they are not installed,
those test modules are not collected and the rest of the suite runs as before. The
unit tests of the client's modules (test_units.py, under node) and the checks of its
files (test_static.py) need neither.
"""

from __future__ import annotations

import importlib.util

MISSING = [name for name in ("playwright", "aiohttp") if importlib.util.find_spec(name) is None]

if MISSING:
    collect_ignore_glob = ["test_chat.py", "test_security.py", "test_resilience.py", "test_history.py"]
else:
    from tests.web.fixtures import *
