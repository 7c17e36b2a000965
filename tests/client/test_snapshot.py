"""A snapshot of the main layout: a channel with a conversation, members, a query waiting.

`snap_compare` runs the app in its own event loop, so the server runs in a thread of
its own here. Times come from a fixed clock so the picture does not change by the
minute. Update after an intended change with `pytest --snapshot-update`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from datetime import datetime

import pytest
from textual.pilot import Pilot

from hubbub.app import Runtime
from hubbub.client import Client
from hubbub.client import events as ev
from hubbub.client.state import Buffer
from hubbub.client.tui.app import ChatApp
from hubbub.client.tui.widgets import ChatInput
from tests.client.conftest import config_for
from tests.helpers import LOBBY_CREATOR_OP, start_server

NOON = datetime(2024, 5, 1, 12, 0).astimezone()  # noon wherever the tests run


@pytest.fixture
def threaded_server() -> Iterator[Runtime]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="hubbub-server", daemon=True)
    thread.start()
    # no history: what a client fetches on joining would depend on timing, and the picture must not
    runtime = asyncio.run_coroutine_threadsafe(start_server("history.enabled=false", LOBBY_CREATOR_OP), loop).result(10)
    runtime.clock = lambda: NOON.timestamp()  # server-time tags show the fixed hour
    yield runtime
    asyncio.run_coroutine_threadsafe(runtime.stop(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


async def _until(pilot: Pilot, predicate: Callable[[], object], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "timed out preparing the snapshot"
        await pilot.pause(0.02)


def test_main_layout(threaded_server: Runtime, snap_compare: Callable[..., bool]) -> None:
    app = ChatApp(config_for(threaded_server, "alice", channels=("#lobby",)), clock=lambda: NOON)

    def lobby() -> Buffer:
        buffer = app.state.find("#lobby")
        assert buffer is not None
        return buffer

    async def conversation(pilot: Pilot) -> None:
        await _until(pilot, lambda: app.state.find("#lobby") is not None and lobby().joined)
        bob = Client(config_for(threaded_server, "bob", channels=("#lobby",), reconnect=False), clock=lambda: NOON)
        bob_events = bob.subscribe()
        await bob.connect(timeout=10)
        await bob_events.wait_for(ev.Joined, lambda e: e.own)
        await _until(pilot, lambda: len(lobby().members) == 2)
        for line in ("/topic Welcome to hubbub, be kind", "/quote MODE #lobby +v bob",
                     "hello bob, welcome to the lobby!"):
            box = app.query_one(ChatInput)
            box.value = line
            await pilot.press("enter")
        await bob_events.wait_for(ev.MessageReceived, lambda e: e.source == "alice")
        bob.privmsg("#lobby", "thanks alice! this message is long enough to show how a line wraps under "
                              "the text column rather than under the nick")
        bob.action("#lobby", "waves")
        bob.privmsg("alice", "psst, are you free later?")
        await _until(pilot, lambda: app.state.find("bob") is not None and lobby().lines[-1].kind == "action")
        await _until(pilot, lambda: any(m.prefix == "+" for m in lobby().members))
        box = app.query_one(ChatInput)
        box.cursor_blink = False  # a blinking cursor would make the picture flicker between runs
        box.value = "sure, let me"
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(100, 24), run_before=conversation)


def test_small_terminal_layout(threaded_server: Runtime, snap_compare: Callable[..., bool]) -> None:
    """60x20: no member list, a narrow buffer list, colours drawn, every character of a long line."""
    app = ChatApp(config_for(threaded_server, "alice", channels=("#lobby",)), clock=lambda: NOON)

    def lobby() -> Buffer:
        buffer = app.state.find("#lobby")
        assert buffer is not None
        return buffer

    async def conversation(pilot: Pilot) -> None:
        await _until(pilot, lambda: app.state.find("#lobby") is not None and lobby().joined)
        bob = Client(config_for(threaded_server, "bob", channels=("#lobby",), reconnect=False), clock=lambda: NOON)
        bob_events = bob.subscribe()
        await bob.connect(timeout=10)
        await bob_events.wait_for(ev.Joined, lambda e: e.own)
        bob.privmsg("#lobby", "\x02bold\x02 \x034red\x03 \x033,1green-on-black\x03 and "
                              "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
        await _until(pilot, lambda: lobby().lines[-1].text.endswith("XYZ"))
        box = app.query_one(ChatInput)
        box.cursor_blink = False
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(60, 20), run_before=conversation)
