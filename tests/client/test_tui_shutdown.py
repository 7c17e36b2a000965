"""The terminal client while it closes: Textual removes the screens before it stops the
worker that draws the server's events, so an event arriving in that moment (a reconnect's
`Connected`, a disconnection) must not be drawn on widgets that are gone; it still reaches
the chat log."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hubbub.app import Runtime
from hubbub.client import events as ev
from hubbub.client.tui.app import ChatApp
from tests.client.conftest import config_for
from tests.client.test_tui import SIZE, joined, until


class LateEventApp(ChatApp):
    """Delivers two events after the screens are pruned and before the workers stop."""

    async def _close_all(self) -> None:
        await super()._close_all()
        assert self._events is not None
        self._events._put(ev.Disconnected("the server went away", reconnect_in=None))
        self._events._put(ev.Connected(host="127.0.0.1", port=1, tls=False))
        for _ in range(5):
            await asyncio.sleep(0.01)  # the pump takes both


async def test_an_event_while_closing_is_logged_not_drawn(server: Runtime, tmp_path: Path) -> None:
    app = LateEventApp(config_for(server, "alice", channels=("#lobby",)), log_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:  # before the fix: WorkerFailed (NoMatches) here
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
    logged = "\n".join(path.read_text(encoding="utf-8") for path in tmp_path.rglob("*") if path.is_file())
    assert "the server went away" in logged
