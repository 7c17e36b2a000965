"""The suite's event loop (tests/conftest.py): uvloop, as `hubbub serve` runs on, but in
the run of the Python code alone and for the tests that read asyncio's own loop."""

from __future__ import annotations

import asyncio
import os

import pytest


async def test_the_tests_run_on_the_loop_hubbub_serve_picks() -> None:
    loop = type(asyncio.get_running_loop())
    if os.environ.get("HUBBUB_PURE"):
        assert loop.__module__.startswith("asyncio"), loop
    else:
        pytest.importorskip("uvloop")
        assert loop.__module__.startswith("uvloop"), loop


@pytest.mark.standard_loop
async def test_a_test_marked_standard_loop_runs_on_asyncio_s_own() -> None:
    assert type(asyncio.get_running_loop()).__module__.startswith("asyncio")
