"""The plain connections' own transport (hubbub/transport/sockets.py), over real TCP
sockets, on the standard loop and on uvloop: what arrives reaches the protocol, what
the kernel does not take waits and goes when it can, close waits for it and abort does
not, the end of the peer's data is told, errors end the connection, and the descriptor
is closed once, after connection_lost."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import uvloop

from hubbub.transport.sockets import SocketTransport

WAIT = 5.0


@pytest.fixture(params=["asyncio", "uvloop"])
def loop(request: pytest.FixtureRequest) -> Iterator[asyncio.AbstractEventLoop]:
    made = uvloop.new_event_loop() if request.param == "uvloop" else asyncio.new_event_loop()
    yield made
    made.close()


class Recorder:
    def __init__(self, keep_open: bool = False) -> None:
        self.transport: Any = None
        self.data = bytearray()
        self.eof = 0
        self.lost: list[Exception | None] = []
        self.keep_open = keep_open
        self.changed = asyncio.Event()

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.data += data
        self.changed.set()

    def eof_received(self) -> bool:
        self.eof += 1
        self.changed.set()
        return self.keep_open

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.append(exc)
        self.changed.set()

    async def until(self, check: Any) -> None:
        async def wait() -> None:
            while not check():
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(wait(), WAIT)


def pair(send_buffer: int = 0) -> tuple[socket.socket, socket.socket]:
    """(the server's accepted socket, the peer's), over loopback TCP."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        peer = socket.create_connection(listener.getsockname())
        accepted, _ = listener.accept()
    if send_buffer:
        accepted.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
    peer.setblocking(False)
    return accepted, peer


def is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def test_what_arrives_reaches_the_protocol_and_writes_go_out(loop: asyncio.AbstractEventLoop) -> None:
    async def run() -> None:
        accepted, peer = pair()
        protocol = Recorder()
        transport = SocketTransport(asyncio.get_running_loop(), accepted, protocol)
        assert protocol.transport is transport and accepted.fileno() == -1  # the object is let go
        assert transport.get_extra_info("peername") == peer.getsockname()
        peer.send(b"hello\r\n")
        await protocol.until(lambda: protocol.data == b"hello\r\n")
        transport.write(b"welcome\r\n")
        await asyncio.sleep(0.05)
        assert peer.recv(100) == b"welcome\r\n" and transport.get_write_buffer_size() == 0
        transport.pause_reading()
        assert not transport.is_reading()
        peer.send(b"later")
        await asyncio.sleep(0.1)
        assert protocol.data == b"hello\r\n"  # held in the kernel while paused
        transport.resume_reading()
        await protocol.until(lambda: protocol.data.endswith(b"later"))
        fd = transport.get_extra_info("fd")
        transport.close()
        await protocol.until(lambda: protocol.lost)
        assert protocol.lost == [None] and not is_open(fd) and transport.get_extra_info("fd") is None
        peer.close()

    loop.run_until_complete(run())


def test_what_the_kernel_does_not_take_waits_and_close_sends_it_first(loop: asyncio.AbstractEventLoop) -> None:
    async def run() -> None:
        accepted, peer = pair(send_buffer=4096)
        protocol = Recorder()
        transport = SocketTransport(asyncio.get_running_loop(), accepted, protocol)
        blob = bytes(range(256)) * 4096  # 1 MiB: more than the socket buffers hold
        transport.write(blob)
        transport.write(b"END")
        assert transport.get_write_buffer_size() > 0
        transport.close()  # only once everything is out
        assert protocol.lost == []
        got = bytearray()
        while len(got) < len(blob) + 3:
            got += await asyncio.wait_for(asyncio.get_running_loop().sock_recv(peer, 1 << 20), WAIT)
        assert bytes(got) == blob + b"END"
        await protocol.until(lambda: protocol.lost)
        assert protocol.lost == [None] and transport.get_write_buffer_size() == 0
        peer.close()

    loop.run_until_complete(run())


def test_abort_drops_what_waits_and_ends_at_once(loop: asyncio.AbstractEventLoop) -> None:
    async def run() -> None:
        accepted, peer = pair(send_buffer=4096)
        protocol = Recorder()
        transport = SocketTransport(asyncio.get_running_loop(), accepted, protocol)
        transport.write(b"x" * (1 << 20))
        assert transport.get_write_buffer_size() > 0
        fd = transport.get_extra_info("fd")
        transport.abort()
        assert transport.get_write_buffer_size() == 0 and transport.is_closing()
        transport.write(b"too late")  # ignored, not raised
        await protocol.until(lambda: protocol.lost)
        assert protocol.lost == [None] and not is_open(fd)
        peer.close()

    loop.run_until_complete(run())


@pytest.mark.parametrize("keep_open", [False, True])
def test_the_end_of_the_peers_data_is_told_and_may_keep_our_half_open(
    loop: asyncio.AbstractEventLoop, keep_open: bool
) -> None:
    async def run() -> None:
        accepted, peer = pair()
        protocol = Recorder(keep_open=keep_open)
        transport = SocketTransport(asyncio.get_running_loop(), accepted, protocol)
        peer.send(b"last words")
        peer.shutdown(socket.SHUT_WR)
        await protocol.until(lambda: protocol.eof)
        assert protocol.data == b"last words" and protocol.eof == 1
        if keep_open:
            transport.write(b"goodbye")
            await asyncio.sleep(0.05)
            assert peer.recv(100) == b"goodbye" and protocol.lost == []
            transport.close()
        await protocol.until(lambda: protocol.lost)
        assert protocol.lost == [None] and protocol.eof == 1
        peer.close()

    loop.run_until_complete(run())


def test_a_reset_connection_ends_with_its_error(loop: asyncio.AbstractEventLoop) -> None:
    async def run() -> None:
        accepted, peer = pair()
        protocol = Recorder()
        transport = SocketTransport(asyncio.get_running_loop(), accepted, protocol)
        peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        peer.close()  # RST
        await protocol.until(lambda: protocol.lost)
        if protocol.lost[0] is None:  # the reset was read as the end of data first
            assert protocol.eof == 1
        else:
            assert isinstance(protocol.lost[0], ConnectionResetError)
        transport.write(b"into the void")  # ignored once ended
        assert len(protocol.lost) == 1

    loop.run_until_complete(run())


def test_a_protocol_that_fails_to_start_leaves_no_descriptor_open(loop: asyncio.AbstractEventLoop) -> None:
    class Broken(Recorder):
        def connection_made(self, transport: Any) -> None:
            raise RuntimeError("bug")

    async def run() -> None:
        accepted, peer = pair()
        with pytest.raises(RuntimeError):
            SocketTransport(asyncio.get_running_loop(), accepted, Broken())
        peer.settimeout(WAIT)
        assert peer.recv(10) == b""  # closed on our side
        peer.close()

    loop.run_until_complete(run())


@pytest.mark.parametrize("fails_on", ["data", "eof"])
def test_a_protocol_failing_on_what_arrives_ends_its_connection(
    loop: asyncio.AbstractEventLoop, fails_on: str
) -> None:
    """As the loop's own transports do: reported, and the connection ends with the error
    (not left open, reading on, with half of what arrived handled)."""

    class Failing(Recorder):
        def data_received(self, data: bytes) -> None:
            if fails_on == "data":
                raise ValueError("bug")
            super().data_received(data)

        def eof_received(self) -> bool:
            raise ValueError("bug")

    async def run() -> None:
        reported: list[dict[str, Any]] = []
        asyncio.get_running_loop().set_exception_handler(lambda _, context: reported.append(context))
        accepted, peer = pair()
        protocol = Failing()
        transport = SocketTransport(asyncio.get_running_loop(), accepted, protocol)
        fd = transport.get_extra_info("fd")
        peer.send(b"boom")
        if fails_on == "eof":
            peer.shutdown(socket.SHUT_WR)
        await protocol.until(lambda: protocol.lost)
        assert len(protocol.lost) == 1 and isinstance(protocol.lost[0], ValueError)
        assert [type(c["exception"]) for c in reported] == [ValueError] and not is_open(fd)
        peer.settimeout(WAIT)
        assert peer.recv(10) == b""  # closed on our side
        peer.close()

    loop.run_until_complete(run())


def test_a_protocol_that_closes_then_fails_to_start_is_closed_once(loop: asyncio.AbstractEventLoop) -> None:
    class ClosesThenFails(Recorder):
        def connection_made(self, transport: Any) -> None:
            transport.close()
            raise RuntimeError("bug")

    async def run() -> None:
        accepted, peer = pair()
        protocol = ClosesThenFails()
        with pytest.raises(RuntimeError):
            SocketTransport(asyncio.get_running_loop(), accepted, protocol)
        other, other_peer = pair()  # likely to be given the same descriptor number
        await protocol.until(lambda: protocol.lost)
        assert protocol.lost == [None]
        other_peer.send(b"still open")
        assert other.recv(100) == b"still open"  # not closed by the first one's ending
        for sock in (other, other_peer, peer):
            sock.close()

    loop.run_until_complete(run())


def test_reading_paused_as_the_connection_is_made_stays_paused(loop: asyncio.AbstractEventLoop) -> None:
    class Pausing(Recorder):
        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            transport.pause_reading()

    async def run() -> None:
        accepted, peer = pair()
        protocol = Pausing()
        transport = SocketTransport(asyncio.get_running_loop(), accepted, protocol)
        peer.send(b"waits")
        await asyncio.sleep(0.1)
        assert protocol.data == b"" and not transport.is_reading()
        transport.resume_reading()
        await protocol.until(lambda: protocol.data == b"waits")
        transport.abort()
        await protocol.until(lambda: protocol.lost)
        peer.close()

    loop.run_until_complete(run())
