"""runtime/proxied.py on a socket pair: what is taken off the socket, and a hand-off that fails."""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest

from hubbub.runtime.proxied import ProxyHeaders
from hubbub.server.audit import Audit

HEADER = b"PROXY TCP4 203.0.113.7 192.0.2.1 51234 6667\r\n"


async def test_exactly_the_header_is_taken_and_the_client_s_bytes_stay_for_its_connection() -> None:
    ours, proxy = socket.socketpair()
    ours.setblocking(False)
    handed: asyncio.Future[tuple[socket.socket, str, bool]] = asyncio.get_running_loop().create_future()
    headers = ProxyHeaders(Audit())
    headers.take(ours, "127.0.0.1", lambda sock, ip, tls: handed.set_result((sock, ip, tls)), 5.0, 10)
    proxy.sendall(HEADER + b"NICK alice\r\n")
    sock, ip, tls = await asyncio.wait_for(handed, 5)
    assert (sock, ip, tls) == (ours, "203.0.113.7", False)
    assert not headers.waiting
    ours.setblocking(True)
    assert ours.recv(100) == b"NICK alice\r\n"
    ours.close()
    proxy.close()


async def test_a_hand_off_that_fails_closes_the_socket_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    ours, proxy = socket.socketpair()
    ours.setblocking(False)
    failed = asyncio.Event()

    def broken(sock: socket.socket, ip: str, tls: bool) -> None:
        failed.set()
        raise RuntimeError("a bug of ours")

    headers = ProxyHeaders(Audit())
    headers.take(ours, "127.0.0.1", broken, 5.0, 10)
    with caplog.at_level(logging.ERROR, logger="hubbub"):
        proxy.sendall(HEADER)
        await asyncio.wait_for(failed.wait(), 5)
    assert ours.fileno() == -1  # closed, not left to the garbage collector
    assert proxy.recv(100) == b""  # the proxy sees the end
    assert "handling a connection from 203.0.113.7 (through 127.0.0.1) failed" in caplog.text
    proxy.close()
