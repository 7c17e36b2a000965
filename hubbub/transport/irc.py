"""IRC over TCP (and TLS): an asyncio Protocol per connection, moving bytes only.

Reading: bytes are framed into lines and handed to the session, through the flood
bucket when flood control is on. Writing: the session's bytes are collected per
connection and flushed once per event-loop iteration by a shared `Flusher`, so a
burst of channel traffic costs one system call per recipient, not one per line.
A client whose unsent output passes its sendq is dropped; nobody else waits for it.

Ending: when the peer has sent everything (EOF), what it sent is still handled, at the
flood rate, before the connection closes; lines the kernel acknowledged are not lost.
Until a connection has ended a line, and unless it speaks IRC, a message that arrives
without a line ending and is followed by silence is taken as a line: the seed chat
clients send what was typed exactly that way.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections import deque
from typing import TYPE_CHECKING

from hubbub.irc.framing import LineBuffer
from hubbub.irc.message import Message
from hubbub.server.flood import TokenBucket
from hubbub.server.session import MAX_LINE, Session

if TYPE_CHECKING:
    from hubbub.app import Runtime

log = logging.getLogger("hubbub.irc")

SENDQ_GRACE = 1.0  # seconds a dropped client gets to receive its ERROR before the abort
UNTERMINATED_LINE_DELAY = 0.5  # seconds of silence that end a message sent with no line ending


def _characters(data: bytes) -> int:
    """How many characters UTF-8 `data` holds (continuation bytes do not count)."""
    return sum(1 for byte in data if byte & 0xC0 != 0x80)


class Flusher:
    """Writes out every connection's collected output once per loop iteration."""

    __slots__ = ("_loop", "_dirty", "_scheduled")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._dirty: list[IrcConnection] = []
        self._scheduled = False

    def mark(self, conn: IrcConnection) -> None:
        self._dirty.append(conn)
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self.flush)

    def flush(self) -> None:
        self._scheduled = False
        dirty, self._dirty = self._dirty, []
        for conn in dirty:
            try:
                conn.flush()
            except Exception:  # one broken connection must not keep the others' output back
                log.exception("flushing output to %s failed", conn.ip)
                if conn.transport is not None:
                    conn.transport.abort()


class IrcConnection(asyncio.Protocol):
    """One client connection; also the session's `Link`."""

    def __init__(self, runtime: Runtime, secure: bool = False) -> None:
        self.runtime = runtime
        self.secure = secure  # a TLS connection (WHOIS 671, the STS policy it is shown)
        self.transport: asyncio.Transport | None = None
        self.session: Session | None = None
        self.ip = ""
        self._lines = LineBuffer(MAX_LINE)
        self._out: list[bytes] = []
        self._out_size = 0
        self._dirty = False
        self._closing = False
        self._sendq = runtime.config.limits.sendq
        lim = runtime.config.limits
        self._bucket = TokenBucket(lim.flood_rate, lim.flood_burst) if lim.flood_control else None
        self._waiting: deque[bytes | None] = deque()
        self._waiting_size = 0
        self._drain_handle: asyncio.TimerHandle | None = None
        self._eof = False  # the peer sent EOF; close once the waiting lines are handled
        self._saw_line_end = False
        self._partial_handle: asyncio.TimerHandle | None = None
        self._held = 0  # > 0 while slow work for this client runs: its lines wait

    # -- asyncio.Protocol ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass
        peer = transport.get_extra_info("peername")
        self.ip = peer[0] if isinstance(peer, tuple) else "127.0.0.1"
        refusal = self.runtime.admit(self)
        if refusal is not None:
            transport.write(Message("ERROR", [f"Closing Link: {self.ip} ({refusal})"]).encode())
            self._closing = True
            transport.close()
            return
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        self.session = Session(self.runtime.net, self, self.ip)
        self.session.client.secure = self.secure

    def data_received(self, data: bytes) -> None:
        session = self.session
        if session is None or self._closing:
            return
        if self._partial_handle is not None:
            self._partial_handle.cancel()
            self._partial_handle = None
        self._take(self._lines.feed(data))
        if self._closing:
            return
        if b"\n" in data:
            self._saw_line_end = True
        elif (
            not self._saw_line_end
            and self._lines.pending
            and not session.speaks_irc
            # A character-mode telnet sends one keystroke per packet: a pause while
            # typing must not end the line. The seed clients send a message at once.
            and _characters(data) >= 2
        ):
            self._partial_handle = asyncio.get_running_loop().call_later(
                UNTERMINATED_LINE_DELAY, self._end_partial_line
            )

    def eof_received(self) -> bool:
        """The peer has sent everything: handle all of it (at the flood rate), then close."""
        session = self.session
        if session is None or self._closing:
            return False
        if self._partial_handle is not None:
            self._partial_handle.cancel()
            self._partial_handle = None
        if self._lines.pending and not session.speaks_irc:
            self._take(self._lines.feed(b"\n"))  # a last message typed with no line ending
        # TLS cannot stay half open: there the queue ends with the connection, as before
        tls = self.transport is not None and self.transport.get_extra_info("sslcontext") is not None
        if (self._waiting or self._held) and not self._closing and not tls:
            self._eof = True
            return True  # keep our half open: replies can still go out meanwhile
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._closing = True
        for handle in (self._drain_handle, self._partial_handle):
            if handle is not None:
                handle.cancel()
        self._waiting.clear()
        self._out.clear()
        self._out_size = 0
        if self.session is not None:
            reason = "Connection closed" if exc is None else f"Connection error: {exc.__class__.__name__}"
            self.session.connection_lost(reason)
            self.runtime.release(self)
            self.session = None

    # -- input ---------------------------------------------------------------------------

    def _take(self, lines: list[bytes | None]) -> None:
        for line in lines:
            if self._held or self._waiting:  # behind held or throttled lines: keep the order
                self._enqueue(line)
            elif self._bucket is None:
                self._handle(line)
            else:
                self._throttled(line)
            if self._closing:
                return

    def _end_partial_line(self) -> None:
        self._partial_handle = None
        if self.session is not None and not self._closing and self._lines.pending:
            self._take(self._lines.feed(b"\n"))

    def _handle(self, line: bytes | None) -> None:
        assert self.session is not None
        if line is None:
            self.session.line_too_long()
        else:
            self.session.line_received(line)

    def _free(self, line: bytes | None) -> bool:
        """Lines the session exempts from flood control (see Session.flood_exempt)."""
        return line is not None and self.session is not None and self.session.flood_exempt(line)

    def _throttled(self, line: bytes | None) -> None:
        assert self._bucket is not None
        if not self._waiting and (self._free(line) or self._bucket.take() == 0.0):
            self._handle(line)
            return
        self._enqueue(line)

    def _enqueue(self, line: bytes | None) -> None:
        """Queue a line that cannot be handled yet (flood control, or input held)."""
        self._waiting.append(line)
        self._waiting_size += len(line) if line else 1
        if self._waiting_size > self.runtime.config.limits.recvq:
            self._drop("Excess Flood")
        elif self._drain_handle is None and not self._held:
            self._schedule_drain()

    def _schedule_drain(self) -> None:
        if self._bucket is None:  # only held input was waiting: handle it on the next turn
            self._drain_handle = asyncio.get_running_loop().call_soon(self._drain, True)
            return
        wait = self._bucket.take()
        if wait == 0.0:
            # take() spent a token: give it back to the head of the queue right away
            self._drain_handle = asyncio.get_running_loop().call_soon(self._drain, True)
        else:
            self._drain_handle = asyncio.get_running_loop().call_later(wait, self._drain, False)

    def _drain(self, paid: bool) -> None:
        self._drain_handle = None
        while self._waiting and not self._closing and not self._held:
            if (
                not paid
                and self._bucket is not None
                and not self._free(self._waiting[0])
                and self._bucket.take() > 0.0
            ):
                self._schedule_drain()
                return
            paid = False
            line = self._waiting.popleft()
            self._waiting_size -= len(line) if line else 1
            self._handle(line)
        if self._eof and not self._waiting and not self._held:
            self.close()

    # -- holding input while slow work runs (see Network.run_blocking) ------------------

    def hold_input(self) -> None:
        """Handle no more of this client's lines until `release_input`; they queue
        (within the recvq, as flood-delayed lines do), so replies keep their order."""
        self._held += 1

    def release_input(self) -> None:
        if self._held == 0:
            return
        self._held -= 1
        if self._held or self._closing or self.transport is None:
            return
        if self._waiting and self._drain_handle is None:
            self._schedule_drain()
        elif self._eof and not self._waiting:
            self.close()

    # -- Link: output ----------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        if self._closing or self._out_size > self._sendq:
            return  # past the sendq, flush() drops this client: collecting more is waste
        self._out.append(data)
        self._out_size += len(data)
        if not self._dirty:
            self._dirty = True
            self.runtime.flusher.mark(self)

    def flush(self) -> None:
        self._dirty = False
        if not self._out or self.transport is None:
            return
        transport = self.transport
        if not self._closing and self._out_size + transport.get_write_buffer_size() > self._sendq:
            self._out.clear()
            self._out_size = 0
            self._drop("SendQ exceeded")
            return
        data = self._out[0] if len(self._out) == 1 else b"".join(self._out)
        self._out.clear()
        self._out_size = 0
        transport.write(data)

    def close(self) -> None:
        """Flush and close gracefully; the session has already said goodbye."""
        if self.transport is None or self.transport.is_closing():
            return
        self._closing = True  # from here on, flush() writes past the sendq: one ERROR line
        self.flush()
        self.transport.close()
        self._abort_later()

    def _drop(self, reason: str) -> None:
        """Disconnect a misbehaving client; its ERROR is best effort."""
        if self.session is None or self._closing:
            return
        client = self.session.client
        self._out.clear()
        self._out_size = 0
        self.runtime.net.disconnect(client, reason)

    def _abort_later(self) -> None:
        transport = self.transport
        if transport is not None and transport.get_write_buffer_size():
            asyncio.get_running_loop().call_later(SENDQ_GRACE, transport.abort)

    @property
    def pending_output(self) -> int:
        """Bytes written by the session and not yet taken by the kernel."""
        return self._out_size + (self.transport.get_write_buffer_size() if self.transport else 0)
