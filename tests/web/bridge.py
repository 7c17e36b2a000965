"""A stand-in for hubbub's web listener, for the browser tests only, until the real one exists.

It serves `hubbub/web/` with the security headers the real listener is to send, and
relays IRC over WebSocket at `/webirc` (IRCv3 WebSocket: subprotocol `text.ircv3.net`
or `binary.ircv3.net`, one line per frame, no CR/LF) to a hubbub IRC port over TCP.
The tests only know the base URL it gives (through the `web_server` fixture): when the
server grows its own HTTP listener, the fixture starts that instead and this file goes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import WSMsgType, web

import hubbub

WEB_DIR = Path(hubbub.__file__).parent / "web"

# What the real listener is to send with every page (see docs/web.md).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self' ws: wss:; "
    "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
SUBPROTOCOLS = ("text.ircv3.net", "binary.ircv3.net")
MAX_FRAME = 512 + 8191 + 2  # one IRC line with tags (DESIGN.md's input limits)

_SOCKETS = web.AppKey("sockets", set)


@web.middleware
async def _security_headers(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    response = await handler(request)
    if not response.prepared:  # a WebSocket has already answered with its 101
        response.headers.update(SECURITY_HEADERS)
        response.headers["Cache-Control"] = "no-cache"
    return response


class Bridge:
    """Static files and /webirc on 127.0.0.1:<free port>, relaying to `irc_address()`."""

    def __init__(self, irc_address: Callable[[], tuple[str, int]]) -> None:
        self.irc_address = irc_address
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> str:
        app = web.Application(middlewares=[_security_headers])
        app[_SOCKETS] = set()
        app.router.add_get("/", self._index)
        app.router.add_get("/webirc", self._webirc)
        app.router.add_static("/", WEB_DIR, show_index=False, follow_symlinks=False)
        app.on_shutdown.append(self._close_sockets)
        self.runner = web.AppRunner(app, handle_signals=False)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = self.runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/"
        return self.url

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    async def _index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(WEB_DIR / "index.html")

    @staticmethod
    async def _close_sockets(app: web.Application) -> None:
        # Without this, cleanup waits for every open WebSocket to time out.
        for ws in list(app[_SOCKETS]):
            await ws.close(code=1001, message=b"Server shutting down")

    async def _webirc(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(protocols=SUBPROTOCOLS, max_msg_size=MAX_FRAME)
        await ws.prepare(request)
        sockets = request.app[_SOCKETS]
        sockets.add(ws)
        try:
            host, port = self.irc_address()
            reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
        except OSError:
            # The IRC server is down (restarting): the client sees a close and retries.
            sockets.discard(ws)
            await ws.close(code=1011, message=b"IRC server unavailable")
            return ws
        binary = ws.ws_protocol == "binary.ircv3.net"
        pump = asyncio.create_task(self._irc_to_ws(reader, ws, binary))
        try:
            async for frame in ws:
                if frame.type == WSMsgType.TEXT:
                    data = frame.data.encode()
                elif frame.type == WSMsgType.BINARY:
                    data = frame.data
                else:
                    continue
                if b"\r" in data or b"\n" in data:
                    continue  # one frame is one line; a line break would smuggle a second
                writer.write(data + b"\r\n")
        finally:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()
            sockets.discard(ws)
        return ws

    @staticmethod
    async def _irc_to_ws(reader: asyncio.StreamReader, ws: web.WebSocketResponse, binary: bool) -> None:
        try:
            while line := await reader.readline():
                line = line.rstrip(b"\r\n")
                if binary:
                    await ws.send_bytes(line)
                else:
                    # Text frames must be UTF-8 (the browser drops the connection otherwise).
                    await ws.send_str(line.decode("utf-8", "replace"))
        except (ConnectionError, OSError):
            pass
        finally:
            await ws.close()
