"""/healthz says whether this node can serve its clients: a store that does not answer
leaves chat going on, so the answer is 200 with `"status": "degraded"`, not 503; and a
failed check's log line names the exception's type, even when its text is empty."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import aiohttp
import pytest

from hubbub.app import Runtime
from tests.helpers import connected
from tests.web.wsclient import start_web_server


@pytest.fixture
async def server() -> AsyncIterator[Runtime]:
    runtime = await start_web_server()
    yield runtime
    await runtime.stop()


async def healthz(runtime: Runtime) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as http, http.get(runtime.web_url("/healthz")) as response:
        return response.status, await response.json()


async def test_a_store_that_does_not_answer_is_degraded_with_200_and_chat_goes_on(server) -> None:
    store = server.persistence.store
    server.persistence.store = None  # as good as gone
    try:
        status, body = await healthz(server)
        assert status == 200, body
        assert body["status"] == "degraded"
        assert body["checks"]["store"] is False
        assert all(body["listeners"].values())
        alice = await connected(server, "alice", "#room")  # the node still serves its clients
        bob = await connected(server, "bob", "#room")
        alice.send("PRIVMSG #room :still here")
        await bob.expect("PRIVMSG", "#room", "still here")
        await alice.close()
        await bob.close()
    finally:
        server.persistence.store = store
    status, body = await healthz(server)
    assert status == 200 and body["status"] == "ok" and body["checks"]["store"] is True

    async def broken() -> bool:
        return False

    server.health_checks["broken"] = broken  # any check but the degrading ones still means 503
    status, body = await healthz(server)
    assert status == 503 and body["status"] == "unavailable" and body["checks"]["broken"] is False


async def test_a_failed_check_logs_the_exception_type_when_its_text_is_empty(server, caplog) -> None:
    async def failing() -> bool:
        raise ConnectionResetError()  # str() is ""

    server.health_checks["store"] = failing
    with caplog.at_level(logging.WARNING, logger="hubbub"):
        status, body = await healthz(server)
    assert status == 200 and body["status"] == "degraded" and body["checks"]["store"] is False
    lines = [r.getMessage() for r in caplog.records if "health check store failed" in r.getMessage()]
    assert lines and all("ConnectionResetError" in line for line in lines), lines
