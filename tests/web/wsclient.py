"""IRC over WebSocket from the tests: aiohttp's client, read like tests.helpers.LineClient.

`WsClient` keeps every frame it receives (its type and its bytes) besides the parsed
messages, so tests can check the framing itself: one line per frame, no CRLF, the
frame type the subprotocol asks for.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
from aiohttp import WSMsgType

from hubbub.app import Runtime
from hubbub.irc.message import Message, parse
from tests.helpers import TIMEOUT, start_server


@dataclass
class Frame:
    type: WSMsgType
    data: bytes


async def start_web_server(*overrides: str) -> Runtime:
    """A server with its web listener on a free port (and everything start_server does)."""
    return await start_server("listen.web='127.0.0.1:0'", *overrides)


class WsClient:
    def __init__(self, session: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.session = session
        self.ws = ws
        self.frames: list[Frame] = []
        self.received: list[Message] = []
        self.nick = "*"

    @classmethod
    async def connect(
        cls, runtime: Runtime, path: str = "/webirc", protocols: tuple[str, ...] = ("text.ircv3.net",),
        origin: str | None = None, headers: dict[str, str] | None = None,
    ) -> WsClient:  # fmt: skip
        session = aiohttp.ClientSession()
        all_headers = dict(headers or {})
        if origin is not None:
            all_headers["Origin"] = origin
        try:
            ws = await session.ws_connect(runtime.web_url(path), protocols=protocols, headers=all_headers,
                                          autoping=True, max_msg_size=0, ssl=False)  # fmt: skip
        except BaseException:
            await session.close()
            raise
        return cls(session, ws)

    @property
    def protocol(self) -> str | None:
        return self.ws.protocol

    async def send(self, line: str | bytes, binary: bool = False) -> None:
        data = line.encode() if isinstance(line, str) else line
        if binary:
            await self.ws.send_bytes(data)
        else:
            await self.ws.send_frame(data, WSMsgType.TEXT)  # bytes as they are, valid UTF-8 or not

    async def read_frame(self, timeout: float = TIMEOUT) -> Frame | None:
        """The next data frame, or None once the WebSocket is closed."""
        message = await self.ws.receive(timeout)
        if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING, WSMsgType.ERROR):
            return None
        data = message.data.encode() if message.type is WSMsgType.TEXT else message.data
        frame = Frame(message.type, data)
        self.frames.append(frame)
        return frame

    async def expect(self, command: str | Callable[[Message], bool], *params: str,
                     timeout: float = TIMEOUT) -> Message:  # fmt: skip
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            try:
                if remaining <= 0:
                    raise TimeoutError
                frame = await self.read_frame(remaining)
            except TimeoutError:
                raise AssertionError(f"no {command} {params} within {timeout}s; got {self.lines()[-10:]}") from None
            if frame is None:
                raise AssertionError(f"closed while waiting for {command} {params}; got {self.lines()[-10:]}")
            message = parse(frame.data.decode("utf-8", "replace"))
            self.received.append(message)
            if callable(command):
                if command(message):
                    return message
            elif message.command == command and message.params[: len(params)] == list(params):
                return message

    def lines(self) -> list[str]:
        return [frame.data.decode("utf-8", "replace") for frame in self.frames]

    async def register(self, nick: str, realname: str = "Web User") -> None:
        await self.send(f"NICK {nick}")
        await self.send(f"USER {nick} 0 * :{realname}")
        await self.expect("001")
        await self.expect(lambda m: m.command in ("376", "422"))
        self.nick = nick

    async def join(self, channel: str) -> None:
        await self.send(f"JOIN {channel}")
        await self.expect("366", self.nick, channel)

    async def sync(self, token: str = "sync") -> list[Message]:
        """What arrived before the answer to a PING sent now (see tests.helpers.sync)."""
        start = len(self.received)
        await self.send(f"PING {token}")
        await self.expect(lambda m: m.command == "PONG" and m.params[-1:] == [token])
        return self.received[start:-1]

    async def closed(self, timeout: float = TIMEOUT) -> list[str]:
        """Wait until the server closes the WebSocket; the lines read meanwhile."""
        start = len(self.frames)
        while await self.read_frame(timeout) is not None:
            pass
        return self.lines()[start:]

    async def close(self) -> None:
        await self.ws.close()
        await self.session.close()


async def raw_websocket(runtime: Runtime, rcvbuf: int | None = None, protocol: str = "text.ircv3.net",
                        preamble: bytes = b"", extra: str = "") -> socket.socket:  # fmt: skip
    """A plain socket that has done the WebSocket handshake and is then left to the test
    (with a small receive buffer, to play a client that stops reading). `preamble`: bytes
    sent before the request (a proxy's PROXY header); `extra`: header lines to add."""
    host, port = runtime.listeners.address("web")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, (host, port))
    key = base64.b64encode(os.urandom(16)).decode()
    request = (f"GET /webirc HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: {protocol}\r\n"
               f"{extra}\r\n")
    await loop.sock_sendall(sock, preamble + request.encode())
    reply = b""
    while b"\r\n\r\n" not in reply:
        chunk = await asyncio.wait_for(loop.sock_recv(sock, 4096), TIMEOUT)
        assert chunk, reply
        reply += chunk
    assert reply.startswith(b"HTTP/1.1 101"), reply
    return sock


def client_frame(line: bytes, opcode: int = 0x1) -> bytes:
    """A client's frame (masked, as clients must; a zero mask leaves the bytes as they are)."""
    size = len(line)
    if size < 126:
        header = bytes((0x80 | opcode, 0x80 | size))
    else:
        header = bytes((0x80 | opcode, 0x80 | 126)) + size.to_bytes(2, "big")
    return header + b"\0\0\0\0" + line


class RawFrames:
    """Server frames read from a raw socket: (opcode, payload), None at EOF; `buffered`:
    bytes of them read already (after the handshake's reply)."""

    def __init__(self, sock: socket.socket, buffered: bytes = b"") -> None:
        self.sock = sock
        self.buffer = buffered

    async def _fill(self, n: int) -> bool:
        loop = asyncio.get_running_loop()
        while len(self.buffer) < n:
            try:
                chunk = await asyncio.wait_for(loop.sock_recv(self.sock, 65536), TIMEOUT)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                return False
            self.buffer += chunk
        return True

    async def next(self) -> tuple[int, bytes] | None:
        if not await self._fill(2):
            return None
        size, start = self.buffer[1] & 0x7F, 2
        if size == 126:
            if not await self._fill(4):
                return None
            size, start = int.from_bytes(self.buffer[2:4], "big"), 4
        elif size == 127:
            if not await self._fill(10):
                return None
            size, start = int.from_bytes(self.buffer[2:10], "big"), 10
        if not await self._fill(start + size):
            return None
        opcode, payload = self.buffer[0] & 0x0F, self.buffer[start : start + size]
        self.buffer = self.buffer[start + size :]
        return opcode, payload

    async def until(self, predicate: Callable[[int, bytes], bool]) -> tuple[int, bytes]:
        while True:
            got = await self.next()
            assert got is not None, "closed while waiting"
            if predicate(*got):
                return got

    async def rest(self) -> list[tuple[int, bytes]]:
        """Every frame until the server ends the connection."""
        out = []
        while (got := await self.next()) is not None:
            out.append(got)
        return out
