"""A plain TCP connection's transport: its descriptor, watched by the event loop.

uvloop's own transport costs about 1,280 bytes a connection (its object, libuv's stream
handle, its table of transports) and asyncio's more; what a chat connection needs of a
transport (read what arrives, take what the output queue could not send at once, pause
reading, close after the last bytes, abort) takes a descriptor watched with the loop's
`add_reader`/`add_writer` and this small object: about 780 bytes in all, on either loop.
The output queue writes to the socket itself while nothing waits here (gate.py); this
transport only buffers what the kernel did not take, and sends it when the socket can
take more. It speaks to its protocol as asyncio's transports do: `connection_made`,
`data_received`, `eof_received` (a false answer closes), `connection_lost`, the last
always called once, before the descriptor is closed.

TLS connections keep the loop's transports (a TLS stream sits between them and the
protocol: tlsstream.py), and so do the web listener's.
"""

from __future__ import annotations

import asyncio
import os
import socket
from typing import Any, Protocol

from hubbub.speedups import compiled

READ_SIZE = 65536  # bytes asked of the kernel per read
# os.read, or its compiled twin for a descriptor that cannot block (hubbub/_speedups.c:
# the GIL kept, and no buffer of READ_SIZE made and shrunk for every read): every line a
# plain connection's client sends is read with it
read = compiled.read if compiled is not None else os.read


class StreamProtocol(Protocol):
    def connection_made(self, transport: Any) -> None: ...

    def data_received(self, data: bytes) -> None: ...

    def eof_received(self) -> bool | None: ...

    def connection_lost(self, exc: Exception | None) -> None: ...


class SocketTransport:
    """One accepted socket's descriptor (the socket object is let go: 88 bytes less)."""

    __slots__ = ("_loop", "_fd", "_protocol", "_buffer", "_reading", "_closing", "_done")

    def __init__(self, loop: asyncio.AbstractEventLoop, sock: socket.socket, protocol: StreamProtocol) -> None:
        sock.setblocking(False)
        self._loop = loop
        self._fd = sock.detach()
        self._protocol = protocol
        self._buffer: bytearray | None = None  # what the kernel has not taken yet
        self._closing = False
        self._done = False  # connection_lost is called (or on its way)
        # reading from the start: nothing can arrive before connection_made returns, and
        # what it does (pause reading, refuse and close) then holds
        self._reading = True
        loop.add_reader(self._fd, self._read_ready)
        try:
            protocol.connection_made(self)
        except BaseException:
            if not self._done:  # else the close is on its way already (_lost)
                self._done = True
                if self._reading:
                    loop.remove_reader(self._fd)
                if self._buffer is not None:
                    loop.remove_writer(self._fd)
                os.close(self._fd)
            raise

    # -- what the protocol asks ------------------------------------------------------------

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "fd":
            return self._fd if not self._done else default
        if name in ("peername", "sockname") and not self._done:
            sock = socket.socket(fileno=self._fd)  # a view of the descriptor, let go at once
            try:
                return sock.getpeername() if name == "peername" else sock.getsockname()
            except OSError:
                return default
            finally:
                sock.detach()
        return default

    def is_closing(self) -> bool:
        return self._closing

    def is_reading(self) -> bool:
        return self._reading

    def pause_reading(self) -> None:
        if self._reading:
            self._reading = False
            self._loop.remove_reader(self._fd)

    def resume_reading(self) -> None:
        if not self._reading and not self._closing:
            self._reading = True
            self._loop.add_reader(self._fd, self._read_ready)

    def get_write_buffer_size(self) -> int:
        buffer = self._buffer
        return len(buffer) if buffer is not None else 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._done or not data:
            return
        if self._buffer is None:  # nothing waits: straight to the socket, as much as it takes
            try:
                sent = os.write(self._fd, data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError as exc:
                self._lose(exc)
                return
            if sent == len(data):
                return
            self._buffer = bytearray(memoryview(data)[sent:])
            self._loop.add_writer(self._fd, self._write_ready)
            return
        self._buffer += data

    def close(self) -> None:
        """Stop reading; end once what waits is sent."""
        if self._closing:
            return
        self._closing = True
        self.pause_reading()
        if self._buffer is None:
            self._lose(None)

    def abort(self) -> None:
        """End now; what waits is dropped."""
        self._closing = True
        self._lose(None)

    # -- what the loop tells ---------------------------------------------------------------

    def _read_ready(self) -> None:
        try:
            data = read(self._fd, READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._lose(exc)
            return
        try:
            if data:
                self._protocol.data_received(data)
                return
            self.pause_reading()  # the peer has sent everything
            if not self._done and not self._protocol.eof_received():
                self.close()
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:  # a bug of the protocol's: the connection ends, as the loop's own do
            self._loop.call_exception_handler(
                {"message": "a protocol failed on what its connection received", "exception": exc,
                 "transport": self, "protocol": self._protocol}
            )  # fmt: skip
            self._lose(exc if isinstance(exc, Exception) else None)

    def _write_ready(self) -> None:
        buffer = self._buffer
        if buffer is None:
            return
        try:
            sent = os.write(self._fd, buffer)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._lose(exc)
            return
        del buffer[:sent]
        if buffer:
            return
        self._buffer = None
        self._loop.remove_writer(self._fd)
        if self._closing:
            self._lose(None)

    def _lose(self, exc: Exception | None) -> None:
        """Stop watching the descriptor; tell the protocol, then close it (soon, as the
        loop's transports do: never from inside the protocol's own call)."""
        if self._done:
            return
        self._done = True
        self._closing = True
        if self._reading:
            self._reading = False
            self._loop.remove_reader(self._fd)
        if self._buffer is not None:
            self._buffer = None
            self._loop.remove_writer(self._fd)
        self._loop.call_soon(self._lost, exc)

    def _lost(self, exc: Exception | None) -> None:
        try:
            self._protocol.connection_lost(exc)
        finally:
            os.close(self._fd)
