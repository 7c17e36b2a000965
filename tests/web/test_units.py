"""The client's pure modules (irc, format, state, client, commands) under `node --test`.

They are ES modules with no DOM: node runs them as they are, with no install and no
build. The client module runs against a fake WebSocket and a fake clock there.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

JS_TESTS = Path(__file__).parent / "js"


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_javascript_unit_tests_pass() -> None:
    files = sorted(str(p) for p in JS_TESTS.glob("*.test.mjs"))
    result = subprocess.run(["node", "--test", *files], check=False, capture_output=True, text=True, timeout=120)
    summary = [line for line in result.stdout.splitlines() if line.startswith("# ")]
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert any(line.startswith("# pass") and line != "# pass 0" for line in summary), summary
