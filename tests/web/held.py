"""A page's IRC connection through Playwright, with what the server sends held back for a
while: to make the page meet an answer as late as a test needs (a history page still on
its way, a channel coming back after the others), whatever the machine's speed."""

from __future__ import annotations

import re

from playwright.async_api import Page, WebSocketRoute


class HeldWebSocket:
    """Installed before the page connects. Lines go through both ways until `hold()`;
    from then on what the server sends and `holds(line)` accepts waits (everything, by
    default), in order, for `release()`, after which everything goes through. Subclasses
    say when to start (`from_page`, `from_server`) and what to keep back (`holds`)."""

    def __init__(self) -> None:
        self.held: list[str | bytes] | None = None  # None: nothing held (yet, or any more)
        self.released = False

    async def install(self, page: Page) -> None:
        await page.route_web_socket(re.compile(r"/webirc$"), self.route)

    def route(self, ws: WebSocketRoute) -> None:
        self.page_side = ws
        self.server = ws.connect_to_server()
        ws.on_message(self._from_page)
        self.server.on_message(self._from_server)

    def hold(self) -> None:
        """Hold from now on (not again once released)."""
        if self.held is None and not self.released:
            self.held = []

    def release(self) -> None:
        held, self.held, self.released = self.held or [], None, True
        for message in held:
            self.page_side.send(message)

    def from_page(self, line: str) -> None:
        """A line the page sent (gone to the server already)."""

    def from_server(self, line: str) -> None:
        """A line the server sent, before it is held or passed on."""

    def holds(self, line: str) -> bool:
        return True

    def _from_page(self, message: str | bytes) -> None:
        self.server.send(message)
        self.from_page(message if isinstance(message, str) else message.decode())

    def _from_server(self, message: str | bytes) -> None:
        line = message if isinstance(message, str) else message.decode()
        self.from_server(line)
        if self.held is not None and self.holds(line):
            self.held.append(message)
        else:
            self.page_side.send(message)
