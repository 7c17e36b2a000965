"""IRC over WebSocket (IRCv3 WebSocket): one IRC line per WebSocket message, each way.

A WebSocket connection is a `Link` like a TCP one: its own `LineGate` (flood control,
recvq, held input) and `OutputQueue` (sendq, one flush per loop iteration), counted by
the same `Admission` (from accept: the HTTP connection it grew from hands its count
over, see httpconn.py), with an IRC session of its own from its first line (a
WebSocket peer is an IRC client: no plain-text greeting, no plain mode). As on TCP,
input held for the client (slow work, or the network ordering its event) that grows
past the recvq stops the reading of frames until it is released, rather than counting
as a flood; and the kernel's send buffer is bounded (`limits.send_buffer`). Only the
framing differs:

- in: aiohttp has parsed the frames (an unmasked one never reaches it: web.py's
  `GuardedHandler` fails the connection first, masking.py); each message, text or
  binary, is one line, handed to the gate whole. A trailing CRLF is tolerated; a line longer than IRC allows gets
  417 as on TCP; a message longer than `web.max_frame` is refused by aiohttp, which
  closes the connection (1009). Text messages are not decoded by the WebSocket layer:
  a line that is not UTF-8 gets `FAIL INVALID_UTF8` from the session, as on TCP, and
  the connection stays usable (RFC 6455 would have the connection failed instead).
- out: what the chat writes is framed as it is queued (`FramedQueue`), each line one
  unmasked frame: binary frames for `binary.ircv3.net`, text frames for
  `text.ircv3.net` or no subprotocol. A message relayed to many is framed once for all
  of them. The flusher writes a connection's frames straight to its socket, in one
  write, without awaiting anything (it is synchronous and must not wait on one client);
  compression is never negotiated, so nothing of aiohttp's writer state is bypassed.
  Text frames are always valid UTF-8: invalid bytes, should any reach here, are
  replaced with U+FFFD.

Ending: a close from the client is an end of input, as EOF on TCP: the lines it sent
before are still handled (at the flood rate). A close from the server (QUIT, ERROR,
shutdown) flushes the last output, the ERROR line included, then sends the close frame.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from hubbub.irc.message import Message
from hubbub.server.session import MAX_LINE
from hubbub.transport.gate import GateSettings, LineGate, Marks, OutputQueue, Owner
from hubbub.transport.ports import ConnectionHost, Counted, SessionPort
from hubbub.transport.pumping import GatedInput
from hubbub.transport.tcp import output_options

TEXT = 0x1
BINARY = 0x2
SUBPROTOCOLS = ("binary.ircv3.net", "text.ircv3.net")  # the specification's two; the client's order decides
SENDQ_GRACE = 1.0  # seconds a closing client gets to take its last frames before the abort
CLOSE_TIMEOUT = 1.0  # seconds to wait for the client's answer to our close frame

# Frame headers for payloads under 126 bytes, by opcode: FIN set, no mask, the length.
_SHORT = {opcode: [bytes((0x80 | opcode, n)) for n in range(126)] for opcode in (TEXT, BINARY)}
_MEDIUM = struct.Struct("!BBH")
_LONG = struct.Struct("!BBQ")


def _header(opcode: int, size: int) -> bytes:
    if size < 126:
        return _SHORT[opcode][size]
    if size < 65536:
        return _MEDIUM.pack(0x80 | opcode, 126, size)
    return _LONG.pack(0x80 | opcode, 127, size)


def valid_utf8(data: bytes) -> bytes:
    """`data` with every invalid UTF-8 sequence replaced by U+FFFD (EF BF BD)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("utf-8", "replace").encode("utf-8")
    return data


def frames(data: bytes, opcode: int) -> bytes:
    """Server frames for IRC output: one frame per CRLF-ended line of `data`, without its
    CRLF (a last line without one is framed too); text frames hold valid UTF-8 only."""
    if opcode == TEXT and not data.isascii():
        data = valid_utf8(data)
    end = len(data) - 2
    if data.find(b"\n") == end + 1 and end >= 0:  # one line: by far the common case
        return _header(opcode, end) + data[:end]
    lines = data.split(b"\r\n")
    if not lines[-1]:
        lines.pop()
    out: list[bytes] = []
    for line in lines:
        out.append(_header(opcode, len(line)))
        out.append(line)
    return b"".join(out)


def _discard(data: bytes) -> None:
    pass


# The last bytes framed, and their frames, by opcode. A message relayed to many
# recipients is one bytes object written to each of them in turn (encoded once, see
# announce.py): it is framed for the first and found here, by identity, for the others.
_LAST: dict[int, list[bytes]] = {TEXT: [b"", b""], BINARY: [b"", b""]}


class FramedQueue(OutputQueue):
    """A WebSocket's output queue: what the chat writes is framed as it is queued (one
    frame per line), so a flush writes frames as they are, in one write, like TCP.

    Framing at write time rather than at flush time is what lets a shared message be
    framed once for all its recipients; the sendq and `sent` count the frames' bytes.
    Nothing is written once the socket is closing (the client closed first: frames after
    its close would break the protocol, and a gone socket may refuse the write).
    """

    __slots__ = ("_opcode", "_closing_now")

    def __init__(
        self, opcode: int, transport: asyncio.Transport, ip: str, sendq: int, flusher: Marks, owner: Owner,
        room: int = 0,
    ) -> None:  # fmt: skip
        super().__init__(ip, sendq, flusher, transport, owner, room=room)
        self._opcode = opcode
        self._closing_now = transport.is_closing

    def write(self, data: bytes) -> None:
        size = self._size
        if size > self.sendq + self.room or not data:
            return  # more than the client can be sent: the next flush drops it, collecting is waste
        last = _LAST[self._opcode]
        if data is last[0]:
            data = last[1]
        else:
            framed = frames(data, self._opcode)
            last[0] = data
            last[1] = data = framed
        if not size:  # as OutputQueue.write: the first bytes since the last flush
            marked = self._marked
            if not marked:
                self._flusher.mark(self)
            else:
                marked.append(self)
        self._out.append(data)
        self._size = size + len(data)

    def flush(self) -> None:
        # OutputQueue.flush, with the check above; repeated rather than called, as this
        # runs once per recipient per loop iteration.
        size = self._size
        if not size:
            return
        out = self._out
        data = out[0] if len(out) == 1 else b"".join(out)
        out.clear()
        self._size = 0
        if self._closing_now():
            return
        sink = self._sink
        waiting = self._held + sink.get_write_buffer_size()
        if size + waiting > self.sendq and not self.closing:
            # as OutputQueue.flush: the kernel takes at most `room` of it, and only
            # when nothing waits before it; what it leaves is checked after
            if waiting or size > self.sendq + self.room:
                self._owner.sendq_exceeded()
                return
            self.sent += size
            sink.write(data)
            if sink.get_write_buffer_size() > self.sendq:
                self._owner.sendq_exceeded()
            return
        self.sent += size
        sink.write(data)

    def send(self, data: bytes) -> None:
        # OutputQueue.send (after the store's commit), with the same check.
        self._held -= len(data)
        if data and self.sendq >= 0 and not self._closing_now():
            self.sent += len(data)
            sink = self._sink
            sink.write(data)
            if self._check:  # as OutputQueue.send
                self._check = self._held > 0
                if not self.closing and sink.get_write_buffer_size() + self._held > self.sendq:
                    self._owner.sendq_exceeded()  # what the kernel left is past the sendq


class WebSocketConnection(GatedInput):
    """One IRC client over a WebSocket (after the handshake); also its session's `Link`."""

    kind = "websocket"

    def __init__(self, host: ConnectionHost, ws: web.WebSocketResponse, transport: asyncio.Transport,
                 ip: str, secure: bool, admit: Callable[[Counted], str | None]) -> None:  # fmt: skip
        """`admit`: counts this connection, or says why it is refused (the count of the
        HTTP connection it comes from passes to it)."""
        self.host = host
        self.cut = False  # ended by an abort: what was still unsent never reached the peer
        self._admit = admit
        self.ws = ws
        self.transport = transport
        self.ip = ip
        self.secure = secure  # wss://, or https at a trusted proxy (WHOIS 671)
        self.counters = host.counters(self.kind)
        self.opcode = BINARY if ws.ws_protocol == "binary.ircv3.net" else TEXT
        self.gate = LineGate(host.gate_settings(), MAX_LINE)
        self.output: FramedQueue | None = None
        self.session: SessionPort | None = None
        self.write: Callable[[bytes], None] = _discard  # Link.write: the output queue's, once admitted
        self._closing = False
        self._ended: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._drain_handle: asyncio.Handle | None = None
        self._resumed: asyncio.Future[None] | None = None  # reading stopped (held input past the recvq) until set
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- the connection's life -------------------------------------------------------------

    def open(self) -> str | None:
        """Admit the connection and open its session; or say why it is refused."""
        refusal = self._admit(self)
        if refusal is not None:
            return refusal
        self._output_options()
        settings = self.gate.settings
        output = self.output = FramedQueue(
            self.opcode, self.transport, self.ip, settings.sendq, self.host.flusher, self, settings.room
        )  # fmt: skip
        self.write = output.write
        self.session = self.host.open_session(self, self.ip, self.secure, irc_only=True)
        return None

    async def serve(self) -> None:
        """Admit the connection, open its session, and handle its messages until it ends."""
        refusal = self.open()
        if refusal is not None:
            self._closing = True
            error = Message("ERROR", [f"Closing Link: {self.ip} ({refusal})"]).encode()
            self.transport.write(frames(error, self.opcode))
            await self.ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"Refused", drain=False)
            return
        try:
            reason, closed_by_client = await self._read()
            if closed_by_client and self.session is not None and not self._closing:
                # As EOF on TCP: the lines sent before the close are still handled, at the flood rate.
                self.gate.receive_eof(True)
                self._pump()
            elif not self._closing:
                self._end(reason)
            await self._ended
            for task in list(self._tasks):
                await task
        finally:  # whatever happened (the task cancelled at shutdown), the client is forgotten
            self._end("Connection closed")

    async def _read(self) -> tuple[str, bool]:
        """Hand every message to the gate until the WebSocket ends: why, and whether it
        was the client's close (rather than our own, or a broken connection)."""
        ws = self.ws
        while True:
            if self._resumed is not None:  # frames wait, in aiohttp's bounded queue and the kernel's
                await self._resumed
            try:
                message = await ws.receive()
            except ConnectionError:  # aiohttp's automatic pong to a peer gone meanwhile (reset)
                return "Connection closed", False
            kind = message.type
            if kind is WSMsgType.TEXT or kind is WSMsgType.BINARY:
                if not self._closing:
                    self._received(message.data)
            elif kind is WSMsgType.CLOSE:
                # Answered here, not by aiohttp (autoclose off): it takes 1006 for a status a
                # Close frame may carry, where RFC 6455 7.4.1 reserves it for "no Close frame
                # came" and a client sending it fails the connection (1002, as for 1005 and 1015).
                bad = message.data == WSCloseCode.ABNORMAL_CLOSURE
                await ws.close(code=WSCloseCode.PROTOCOL_ERROR if bad else WSCloseCode.OK, drain=False)
                return "Connection closed", True
            elif kind is WSMsgType.ERROR:
                code = ws.close_code
                return (f"WebSocket error {code}" if code else "WebSocket error"), False
            else:  # CLOSING (our own close) or CLOSED (the socket is gone)
                return "Connection closed", False

    def _received(self, data: bytes) -> None:
        self.counters.bytes_received += len(data)
        if data[-1:] == b"\n":  # the specification says no line ending; some clients send one
            data = data[:-2] if data[-2:-1] == b"\r" else data[:-1]
        line = data if len(data) <= MAX_LINE else None
        session = self.session
        if session is None:
            return
        if self.gate.receive_line(line):
            if line is None:
                session.line_too_long()
            else:
                session.line_received(line)
        else:
            self._pump()

    def _end(self, reason: str) -> None:
        """The connection is over: the session forgets the client, the admission its count."""
        if self._drain_handle is not None:
            self._drain_handle.cancel()
            self._drain_handle = None
        self.gate.clear_input()
        if self.output is not None:
            self.output.stop()
            self.counters.bytes_sent += self.output.sent
            self.output.sent = 0
        self._resume_reading()
        session, self.session = self.session, None
        if session is not None:
            session.connection_lost(reason)
            self.host.release(self)
        if not self._ended.done():
            self._ended.set_result(None)

    # -- input -----------------------------------------------------------------------------

    def _pause_input(self) -> None:
        if self._resumed is None:
            self._resumed = asyncio.get_running_loop().create_future()

    def _input_ended(self) -> None:
        self._end("Connection closed")

    def hold_input(self) -> None:
        self.gate.hold()

    def release_input(self) -> None:
        if self.gate.release() and not self._closing:
            self._pump()
            if not self.gate.held:
                self._resume_reading()

    def _resume_reading(self) -> None:
        resumed, self._resumed = self._resumed, None
        if resumed is not None and not resumed.done():
            resumed.set_result(None)

    def charge(self, lines: int) -> None:
        self.gate.charge(lines)

    def input_waiting(self) -> bool:
        return bool(self.gate.waiting)

    def speaks_irc(self, session: SessionPort) -> None:
        """Never asked: a WebSocket's session is an IRC one from the start."""

    def configure(self, settings: GateSettings) -> None:
        before = self.gate.settings
        self.gate.configure(settings)
        if self.output is not None and not self._closing:
            self.output.sendq = settings.sendq
            self.output.room = settings.room
        if (before.send_buffer, before.nodelay) != (settings.send_buffer, settings.nodelay):
            self._output_options()  # system calls for each connection: only for a change

    def _output_options(self) -> None:
        """The send buffer's bound and TCP_NODELAY as the settings say (tcp.output_options)."""
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            settings = self.gate.settings
            output_options(sock, settings.send_buffer, settings.nodelay)

    # -- output ----------------------------------------------------------------------------

    def flush(self) -> None:
        if self.output is not None:
            self.output.flush()

    def sendq_exceeded(self) -> None:
        self.counters.sendq_drops += 1
        self._drop("SendQ exceeded")

    def _drop(self, reason: str, keep_output: bool = False) -> None:
        """Disconnect a misbehaving client; its ERROR is best effort. Past its sendq,
        what is queued for it goes (that is why it is dropped); a flooder keeps the
        replies to the lines it was answered (a login that succeeded says so) before
        its ERROR: they are within its sendq."""
        if self.session is None or self._closing:
            return
        if self.output is not None and not keep_output:
            self.output.clear()
        self.session.disconnect(reason)

    def close(self) -> None:
        """Flush (the session's ERROR line included, whatever the sendq, in its turn
        behind output held for the store), then close."""
        if self._closing:
            return
        self._closing = True
        output = self.output
        if output is None:
            self._close_soon()
            return
        output.closing = True

        def flushed() -> None:
            output.stop()
            self._close_soon()

        self.host.flusher.finish(output, flushed)

    def _close_soon(self) -> None:
        task = asyncio.ensure_future(self._close())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _close(self) -> None:
        if not self.ws.closed:
            await self.ws.close(code=WSCloseCode.OK, drain=False)  # the close frame, then the socket
        if self.transport.get_write_buffer_size():  # a client that does not read: not forever
            # It ends here for the server (a clean stop counts on `cut` from now on):
            # what it has not taken yet is not known to arrive.
            self.cut = True
            asyncio.get_running_loop().call_later(SENDQ_GRACE, self._cut_off)
        self._end("Connection closed")

    def _cut_off(self) -> None:
        if self.transport.get_write_buffer_size():
            self.abort()

    def abort(self) -> None:
        self.cut = True  # what was still unsent never reached the peer
        self.transport.abort()

    @property
    def bytes_sent(self) -> int:
        return self.output.sent if self.output is not None else 0
