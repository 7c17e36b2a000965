"""IRC over WebSocket and the web listener's HTTP side, over real sockets.

Raw sockets play what a library hides (fragments, control frames, a protocol error, a
request sent a byte at a time); aiohttp's client the rest.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from hubbub.app import Runtime
from tests.helpers import connected
from tests.web.wsclient import RawFrames, WsClient, raw_websocket, start_web_server

WAIT = 5.0
SECURITY_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options")


@pytest.fixture
async def server() -> AsyncIterator[Runtime]:
    runtime = await start_web_server()
    yield runtime
    await runtime.stop()


def frame(payload: bytes, opcode: int = 0x1, fin: bool = True) -> bytes:
    """A masked client frame (a zero mask leaves the payload as it is)."""
    first = (0x80 if fin else 0) | opcode
    size = len(payload)
    if size < 126:
        header = bytes((first, 0x80 | size))
    else:
        header = bytes((first, 0x80 | 126)) + size.to_bytes(2, "big")
    return header + b"\0\0\0\0" + payload


async def send(sock: socket.socket, data: bytes) -> None:
    await asyncio.get_running_loop().sock_sendall(sock, data)


async def scrape(runtime: Runtime) -> dict[tuple[str, tuple], float]:
    async with aiohttp.ClientSession() as http, http.get(runtime.web_url("/metrics")) as response:
        text = await response.text()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}  # fmt: skip


# -- frames a library would hide ----------------------------------------------------------------------


async def test_a_fragmented_message_is_one_line_and_a_ping_between_fragments_is_answered(server) -> None:
    sock = await raw_websocket(server)
    reader = RawFrames(sock)
    await send(sock, frame(b"NICK frag") + frame(b"USER f 0 * ", fin=False) + frame(b":Frag Mented", opcode=0))
    await reader.until(lambda op, data: b" 001 frag " in data)
    await send(sock, frame(b"PING :to", fin=False) + frame(b"control", opcode=0x9) + frame(b"ken", opcode=0))
    assert await reader.until(lambda op, data: op == 0xA) == (0xA, b"control")  # the pong, at once
    _, pong = await reader.until(lambda op, data: b"PONG" in data)
    assert pong.endswith(b" :token") or pong.endswith(b" token")
    sock.close()


async def test_a_close_from_the_client_is_answered_and_its_user_quits(server) -> None:
    watcher = await connected(server, "watcher", "#c")
    sock = await raw_websocket(server)
    reader = RawFrames(sock)
    for line in (b"NICK leaver", b"USER l 0 * :L", b"JOIN #c"):
        await send(sock, frame(line))
    await reader.until(lambda op, data: b" 366 " in data)
    await send(sock, frame((1001).to_bytes(2, "big") + b"going away", opcode=0x8))
    opcode, payload = await reader.until(lambda op, data: op == 0x8)
    assert int.from_bytes(payload[:2], "big") in (1000, 1001)
    assert await reader.next() is None  # then the server closes the TCP connection
    quit_ = await watcher.expect("QUIT")
    assert quit_.source.startswith("leaver!")
    sock.close()
    await watcher.close()


@pytest.mark.parametrize(
    "bad",
    [frame(b"xx", opcode=0x3), frame(b"orphan", opcode=0x0), frame(b"p" * 126, opcode=0x9),
     frame(b"x", opcode=0x8), bytes((0xC1,)) + frame(b"PING :rsv1")[1:]],
    ids=["reserved-opcode", "continuation-first", "control-too-long", "close-one-byte", "rsv1-without-extension"],
)  # fmt: skip
async def test_a_websocket_protocol_error_closes_that_connection_only(server, bad: bytes) -> None:
    watcher = await connected(server, "watcher", "#c")
    sock = await raw_websocket(server)
    reader = RawFrames(sock)
    for line in (b"NICK broken", b"USER b 0 * :B", b"JOIN #c"):
        await send(sock, frame(line))
    await reader.until(lambda op, data: b" 366 " in data)
    await send(sock, bad)
    while (got := await reader.next()) is not None:
        if got[0] == 0x8:
            assert int.from_bytes(got[1][:2], "big") == 1002  # protocol error
    assert (await watcher.expect("QUIT")).source.startswith("broken!")
    watcher.send("PRIVMSG #c :still fine")
    watcher.send("PING :after")
    await watcher.expect("PONG")
    sock.close()
    await watcher.close()


# -- lines ------------------------------------------------------------------------------------------------


async def test_a_bare_cr_or_a_nul_in_a_frame_is_refused_and_empty_frames_are_ignored(server) -> None:
    client = await WsClient.connect(server)
    await client.register("alice")
    for bad in ("PING :one\rPING :two", "PING :a\x00b"):
        await client.send(bad)
        fail = await client.expect("FAIL")
        assert fail.params[:2] == ["*", "INVALID_MESSAGE"]
        assert not [m for m in await client.sync() if m.command == "PONG"]
    for empty in ("", "\r\n", "\n"):
        await client.send(empty)
    assert await client.sync() == []
    await client.close()


async def test_the_line_length_limit_is_the_same_as_on_tcp_without_the_crlf(server) -> None:
    """512 bytes with CRLF on TCP is 510 without it: the WebSocket allows exactly as much."""
    client = await WsClient.connect(server)
    await client.register("alice")
    head = "PRIVMSG alice :"
    await client.send(head + "x" * (510 - len(head)))
    assert [m.command for m in await client.sync("a")] == ["PRIVMSG"]
    await client.send(head + "x" * (511 - len(head)))
    assert [m.command for m in await client.sync("b")] == ["417"]
    await client.close()


async def test_invalid_utf8_in_a_binary_frame_gets_fail_and_the_connection_stays(server) -> None:
    client = await WsClient.connect(server, protocols=("binary.ircv3.net",))
    await client.register("alice")
    await client.send(b"PRIVMSG alice :\xff\xfe", binary=True)
    fail = await client.expect("FAIL")
    assert fail.params[:2] == ["PRIVMSG", "INVALID_UTF8"]
    await client.send("PRIVMSG alice :fine", binary=True)
    assert (await client.expect("PRIVMSG")).params[1] == "fine"
    await client.close()


async def test_a_quit_gets_its_error_line_then_a_normal_close(server) -> None:
    client = await WsClient.connect(server)
    await client.register("alice")
    await client.send("QUIT :bye")
    lines = await client.closed()
    assert lines[-1].startswith("ERROR :Closing Link: 127.0.0.1 (Quit: bye)")
    assert client.ws.close_code == 1000
    await client.close()


async def test_an_upgrade_on_the_root_path_is_origin_checked_too(server) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await WsClient.connect(server, path="/", origin="https://evil.example")
    assert refused.value.status == 403


async def test_an_allowed_origin_must_match_its_scheme_too() -> None:
    runtime = await start_web_server("web.allowed_origins=['https://chat.example.org']")
    try:
        with pytest.raises(aiohttp.WSServerHandshakeError):
            client = await WsClient.connect(runtime, origin="http://chat.example.org:443")
            await client.close()
    finally:
        await runtime.stop()


# -- connections released, and seen so -------------------------------------------------------------


async def test_metrics_and_healthz_after_websocket_traffic_and_departures(server) -> None:
    clients = [await WsClient.connect(server) for _ in range(3)]
    for i, client in enumerate(clients):
        await client.register(f"web{i}")
        await client.join("#busy")
    await clients[0].send("PRIVMSG #busy :hello")
    for client in clients[1:]:
        await client.expect("PRIVMSG", "#busy", "hello")
    during = await scrape(server)
    assert during[("hubbub_connections", (("transport", "websocket"),))] == 3
    assert during[("hubbub_users", ())] == 3
    for client in clients:
        await client.send("QUIT")
        await client.closed()
        await client.close()
    async with aiohttp.ClientSession() as http:
        for _ in range(50):  # the server forgets them as their sockets close
            after = await scrape(server)
            if after[("hubbub_connections", (("transport", "websocket"),))] == 0:
                break
            await asyncio.sleep(0.1)
        async with http.get(server.web_url("/healthz")) as response:
            assert response.status == 200
            assert (await response.json())["status"] == "ok"
    assert after[("hubbub_connections", (("transport", "websocket"),))] == 0
    assert after[("hubbub_users", ())] == 0
    assert after[("hubbub_connections_accepted_total", (("transport", "websocket"),))] == 3


# -- HTTP edge cases --------------------------------------------------------------------------------------


async def _exchange(runtime: Runtime, request: bytes) -> bytes:
    host, port = runtime.listeners.address("web")
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(request)
    try:
        return await asyncio.wait_for(reader.read(), WAIT)
    finally:
        writer.close()


def _head(answer: bytes) -> tuple[str, dict[str, str]]:
    lines = answer.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return lines[0], headers


async def test_pipelined_keep_alive_requests_are_all_answered(server) -> None:
    answer = await _exchange(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                                     b"HEAD /app.css HTTP/1.1\r\nHost: x\r\n\r\n"
                                     b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")  # fmt: skip
    assert answer.count(b"HTTP/1.1 200 OK") == 2 and answer.count(b"HTTP/1.1 404 ") == 1


async def test_a_websocket_path_without_an_upgrade_and_other_methods(server) -> None:
    for request, status in [
        (b"GET /webirc HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "400"),
        (b"OPTIONS / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "405"),
        (b"DELETE /webirc HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "405"),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close, Upgrade\r\nUpgrade: websocket\r\n"
         b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", "200"),
        (b"GET /?v=2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "200"),
        (b"GET /js/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "404"),
        (b"GET /js\\..\\..\\app.py HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "404"),
        (b"GET /index.html%00.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "404"),
    ]:  # fmt: skip
        status_line, headers = _head(await _exchange(server, request))
        assert status_line.split()[1] == status, (request, status_line)
        for name in SECURITY_HEADERS:
            assert name.lower() in headers, (request, name)


async def test_a_request_trickled_a_byte_at_a_time_is_cut_off_at_the_handshake_timeout() -> None:
    runtime = await start_web_server("web.handshake_timeout=0.5")
    try:
        host, port = runtime.listeners.address("web")
        reader, writer = await asyncio.open_connection(host, port)
        request = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200
        closed = False
        for byte in request:  # 200 writes, 0.05 s apart: 10 s, far past the timeout
            writer.write(bytes((byte,)))
            try:
                if await asyncio.wait_for(reader.read(1), 0.05) == b"":
                    closed = True
                    break
            except TimeoutError:
                continue
            except ConnectionResetError:
                closed = True
                break
        assert closed, "the server waited for the whole trickled request"
        writer.close()
    finally:
        await runtime.stop()


@pytest.mark.parametrize(
    "request_bytes",
    [b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\nConnection: close\r\n\r\n",
     b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
     b"HELLO\r\n\r\n"],
    ids=["big-header", "long-url", "garbage"],
)  # fmt: skip
async def test_a_malformed_request_gets_400_with_the_security_headers(
    server, request_bytes: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        status_line, headers = _head(await _exchange(server, request_bytes))
    assert status_line.split()[1] == "400"
    for name in SECURITY_HEADERS:
        assert name.lower() in headers, name
    # logged in one line, not with a traceback at ERROR (anyone could fill the log so)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info], caplog.text
    assert [r for r in caplog.records if r.name == "hubbub.web" and "refused (400)" in r.getMessage()]


async def test_a_message_in_fragments_larger_than_max_frame_closes_the_connection() -> None:
    runtime = await start_web_server("web.max_frame=2048")
    try:
        sock = await raw_websocket(runtime)
        reader = RawFrames(sock)
        await send(sock, frame(b"NICK big") + frame(b"USER b 0 * :B"))
        await reader.until(lambda op, data: b" 001 big " in data)
        await send(sock, frame(b"PRIVMSG big :" + b"a" * 1000, fin=False))
        for _ in range(2):
            await send(sock, frame(b"a" * 1000, opcode=0, fin=False))
        await send(sock, frame(b"a", opcode=0))
        closes = []
        while (got := await reader.next()) is not None:
            if got[0] == 0x8:
                closes.append(int.from_bytes(got[1][:2], "big"))
        assert closes == [1009]
        sock.close()
    finally:
        await runtime.stop()
