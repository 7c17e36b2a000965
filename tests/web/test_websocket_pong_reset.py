"""A WebSocket client that resets its connection while the server's automatic pongs to
its PINGs wait to be written: aiohttp raises ConnectionError out of `receive()` (its
pong finds the transport closing, or its drain finds the connection lost). The
connection ends quietly, as any reset does: no traceback in the server's log (there was
one of some 30 lines per connection), and the server serves the next client."""

from __future__ import annotations

import asyncio
import logging
import socket
import struct

from tests.helpers import TIMEOUT
from tests.web.wsclient import WsClient, client_frame, raw_websocket, start_web_server

PING = 0x9


async def test_a_reset_while_pongs_wait_ends_the_connection_quietly(caplog) -> None:
    caplog.set_level(logging.DEBUG)
    runtime = await start_web_server()
    try:
        loop = asyncio.get_running_loop()
        for _ in range(3):
            sock = await raw_websocket(runtime, rcvbuf=2048)  # reads nothing: the pongs back up
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            # 4,000 PINGs of the longest payload (125 bytes): some 520 KB of pongs to write,
            # more than the kernel's buffers and aiohttp's take, so the server is still
            # answering them when the reset comes
            await loop.sock_sendall(sock, client_frame(b"p" * 125, PING) * 4000)
            sock.close()  # SO_LINGER 0: a reset (RST), the pongs still waiting
        for _ in range(int(TIMEOUT / 0.01)):  # until the server has ended all three
            if not runtime.services.connections():
                break
            await asyncio.sleep(0.01)
        assert not runtime.services.connections()
        client = await WsClient.connect(runtime)  # the server goes on serving
        await client.register("after")
        await client.close()
    finally:
        await runtime.stop()  # every request's handler done: what it raised is logged by now
    problems = [r for r in caplog.records if r.exc_info is not None or r.levelno >= logging.ERROR]
    assert not problems, [f"{r.name}: {r.getMessage()} {r.exc_info[1] if r.exc_info else ''}" for r in problems]
