"""The web listener as an operator on a public port meets it: attacked over real sockets.

What the other web tests leave out: the security headers on every kind of answer (304,
403, the 503 of a connection refused at accept, HTTPS), Origin corner cases, the
proxy headers as a client or a proxy may send them, RFC 6455 framing rules a library
client never breaks (unmasked frames, bad close frames, compressed frames nobody
negotiated, lengths no one will send), HTTP methods and paths, caching validators and
content codings, and idle keep-alive connections against the per-IP count.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import os
import socket
import zlib
from collections.abc import Awaitable, Callable

import aiohttp
import pytest

from hubbub.app import Runtime
from hubbub.transport.web import SECURITY_HEADERS
from tests.helpers import LineClient
from tests.web.wsclient import RawFrames, WsClient

WAIT = 5.0
CLOSE = 0x8
PING = 0x9
PONG = 0xA


@pytest.fixture
async def server(make_web_server: Callable[..., Awaitable[Runtime]]) -> Runtime:
    return await make_web_server()


# -- raw HTTP and WebSocket helpers ----------------------------------------------------------------------


async def exchange(runtime: Runtime, request: bytes) -> bytes:
    """Send `request` (which should end the connection) and read the answer to EOF."""
    host, port = runtime.listeners.address("web")
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(request)
    try:
        return await asyncio.wait_for(reader.read(), WAIT)
    finally:
        writer.close()


def split(answer: bytes) -> tuple[str, dict[str, list[str]], bytes]:
    """Status line, headers (lower-cased names, every value), body."""
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    return lines[0], headers, body


def get(path: str, *extra: str, method: str = "GET") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: x", *extra, "Connection: close", "", ""]
    return "\r\n".join(lines).encode("latin-1")


def assert_security_headers(headers: dict[str, list[str]], what: object) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert headers.get(name.lower()) == [value], (what, name, headers)


async def handshake(
    runtime: Runtime, *extra: str, path: str = "/webirc", then: bytes = b""
) -> tuple[socket.socket, bytes]:
    """A raw socket that has sent a WebSocket upgrade (with `extra` header lines, and
    `then` right behind it, in the same write) and read the head of the answer (whatever
    it is)."""
    host, port = runtime.listeners.address("web")
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    await loop.sock_connect(sock, (host, port))
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Upgrade: websocket", "Connection: Upgrade",
             f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13", *extra, "", ""]  # fmt: skip
    await loop.sock_sendall(sock, "\r\n".join(lines).encode("latin-1") + then)
    reply = b""
    while b"\r\n\r\n" not in reply:
        chunk = await asyncio.wait_for(loop.sock_recv(sock, 4096), WAIT)
        if not chunk:
            break
        reply += chunk
    return sock, reply


async def upgraded(runtime: Runtime, *extra: str, path: str = "/webirc") -> tuple[socket.socket, RawFrames]:
    sock, reply = await handshake(runtime, "Sec-WebSocket-Protocol: text.ircv3.net", *extra, path=path)
    assert reply.startswith(b"HTTP/1.1 101 "), reply
    frames = RawFrames(sock, reply.partition(b"\r\n\r\n")[2])
    return sock, frames


def frame(payload: bytes, opcode: int = 0x1, fin: bool = True, rsv1: bool = False, masked: bool = True) -> bytes:
    """A client frame; masked with a zero mask (the bytes stay as they are) unless not masked."""
    first = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    mask_bit = 0x80 if masked else 0
    size = len(payload)
    if size < 126:
        header = bytes((first, mask_bit | size))
    elif size < 65536:
        header = bytes((first, mask_bit | 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((first, mask_bit | 127)) + size.to_bytes(8, "big")
    return header + (b"\0\0\0\0" if masked else b"") + payload


async def send(sock: socket.socket, data: bytes) -> None:
    await asyncio.get_running_loop().sock_sendall(sock, data)


async def registered(
    runtime: Runtime, nick: str, *extra: str, path: str = "/webirc"
) -> tuple[socket.socket, RawFrames]:
    sock, frames = await upgraded(runtime, *extra, path=path)
    await send(sock, frame(f"NICK {nick}".encode()) + frame(f"USER {nick} 0 * :{nick}".encode()))
    await frames.until(lambda op, data: f" 001 {nick} ".encode() in data)
    return sock, frames


def close_codes(frames: list[tuple[int, bytes]]) -> list[int]:
    return [int.from_bytes(payload[:2], "big") for opcode, payload in frames if opcode == CLOSE]


async def read_to_eof(sock: socket.socket) -> bytes:
    loop = asyncio.get_running_loop()
    data = b""
    try:
        while chunk := await asyncio.wait_for(loop.sock_recv(sock, 4096), WAIT):
            data += chunk
    except ConnectionResetError:
        pass
    return data


async def idle_connection(runtime: Runtime) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, runtime.listeners.address("web"))
    return sock


# -- security headers on every answer ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (get("/"), "200"),
        (get("/js/main.js", method="HEAD"), "200"),
        (get("/healthz"), "200"),
        (get("/metrics", "Accept-Encoding: gzip"), "200"),
        (get("/no/such/file"), "404"),
        (get("/", method="TRACE"), "405"),
        (get("/metrics", "Content-Length: 0", method="PUT"), "405"),
        (get("/webirc", "Upgrade: websocket", "Sec-WebSocket-Version: 13", "Sec-WebSocket-Key: short"), "400"),
        (get("/webirc", "Upgrade: websocket", "Sec-WebSocket-Version: 13",
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Origin: https://evil.example"), "403"),
        (get("/", "Content-Length: 3", "Transfer-Encoding: chunked"), "400"),
    ],
    ids=["page", "head", "healthz", "metrics", "404", "405-trace", "405-put", "400-ws-key", "403-origin",
         "400-smuggling"],
)  # fmt: skip
async def test_every_kind_of_answer_carries_the_security_headers(server, request_bytes: bytes, status: str) -> None:
    status_line, headers, _ = split(await exchange(server, request_bytes))
    assert status_line.split()[1] == status, status_line
    assert_security_headers(headers, request_bytes)


async def test_a_304_carries_the_security_headers_and_the_validators_and_no_body(server) -> None:
    _, first, _ = split(await exchange(server, get("/app.css")))
    status_line, headers, body = split(await exchange(server, get("/app.css", f"If-None-Match: {first['etag'][0]}")))
    assert status_line.split()[1] == "304"
    assert_security_headers(headers, "304")
    # RFC 9110 15.4.5: a 304 carries the ETag, Cache-Control and Vary the 200 would have
    assert headers["etag"] == first["etag"]
    assert headers["cache-control"] == ["no-cache"]
    assert headers["vary"] == ["Accept-Encoding"]
    assert body == b""


async def test_a_503_from_healthz_carries_the_security_headers_and_is_not_cached(server) -> None:
    async def failing() -> bool:
        return False

    server.health_checks["failing"] = failing  # a check that is not merely degrading
    try:
        status_line, headers, body = split(await exchange(server, get("/healthz")))
    finally:
        del server.health_checks["failing"]
    assert status_line.split()[1] == "503" and b'"unavailable"' in body
    assert_security_headers(headers, "503 healthz")
    assert headers["cache-control"] == ["no-store"]


async def test_a_connection_refused_at_accept_gets_a_503_with_the_security_headers(make_web_server) -> None:
    runtime = await make_web_server("limits.max_clients_per_ip=1")
    held = await idle_connection(runtime)
    try:
        second = await idle_connection(runtime)
        answer = await read_to_eof(second)
        second.close()
    finally:
        held.close()
    status_line, headers, _ = split(answer)
    assert status_line.split()[1] == "503", answer
    assert_security_headers(headers, "503 at accept")


async def test_https_answers_carry_the_headers_and_a_plain_request_to_it_is_not_answered_nor_kept(
    make_web_server, tmp_path
) -> None:
    def tls(name: str) -> tuple[str, ...]:
        return ("web.tls=true", "tls.self_signed=true", f"tls.cert={tmp_path / name}.pem",
                f"tls.key={tmp_path / name}.key")  # fmt: skip

    runtime = await make_web_server(*tls("a"))
    async with aiohttp.ClientSession() as http:
        for path in ("/", "/nothing"):
            async with http.get(runtime.web_url(path), ssl=False) as response:
                assert response.status in (200, 404)
                for name, value in SECURITY_HEADERS.items():
                    assert response.headers[name] == value, (path, name)
    limited = await make_web_server(*tls("b"), "limits.max_clients_per_ip=1")
    plain = await idle_connection(limited)
    await send(plain, get("/"))
    answer = await read_to_eof(plain)  # the TLS handshake fails on it: closed, never an HTTP answer
    plain.close()
    assert not answer.startswith(b"HTTP/"), answer
    client = await WsClient.connect(limited)  # and it no longer counts against the address
    try:
        await client.register("secure")
    finally:
        await client.close()


# -- the Origin check and the proxy headers ---------------------------------------------------------------


@pytest.mark.parametrize(
    "origin",
    ["null", "http://{host}:{other}", "https://{host}:{port}", "ws://{host}:{port}", "http://localhost:{port}",
     "http://{host}:{port}@evil.example", "http://evil.example#@{host}:{port}", "file://", "http://",
     "http://{host}:{port}.evil.example"],
    ids=["null", "other-port", "https", "ws-scheme", "other-name", "userinfo", "fragment", "file", "empty-host",
         "suffix"],
)  # fmt: skip
async def test_an_upgrade_from_another_origin_is_refused_before_any_upgrade(server, origin: str) -> None:
    host, port = server.listeners.address("web")
    sock, reply = await handshake(server, "Origin: " + origin.format(host=host, port=port, other=port + 1))
    sock.close()
    status_line, headers, _ = split(reply)
    assert status_line.split()[1] == "403", (origin, status_line)
    assert "sec-websocket-accept" not in headers
    assert_security_headers(headers, origin)


async def test_the_listeners_own_origin_is_compared_without_regard_to_case(server) -> None:
    host, port = server.listeners.address("web")
    sock, reply = await handshake(server, f"Origin: HTTP://{host.upper()}:{port}")
    sock.close()
    assert reply.startswith(b"HTTP/1.1 101 "), reply


async def test_x_forwarded_proto_counts_only_from_a_trusted_proxy(make_web_server) -> None:
    direct = await make_web_server()
    host, port = direct.listeners.address("web")
    sock, reply = await handshake(direct, f"Origin: https://{host}:{port}", "X-Forwarded-Proto: https")
    sock.close()
    assert reply.startswith(b"HTTP/1.1 403 "), reply  # a client's word: its https origin is not ours
    sock, frames = await registered(direct, "plain", "X-Forwarded-Proto: https")
    await send(sock, frame(b"WHOIS plain"))
    _, data = await frames.until(lambda op, data: b" 318 " in data or b" 671 " in data)
    assert b" 671 " not in data  # not marked as a secure connection either
    sock.close()

    proxied = await make_web_server("web.trusted_proxies=['127.0.0.0/8']")
    host, port = proxied.listeners.address("web")
    sock, reply = await handshake(proxied, f"Origin: https://{host}:{port}", "X-Forwarded-Proto: https")
    sock.close()
    assert reply.startswith(b"HTTP/1.1 101 "), reply


async def test_behind_a_trusted_proxy_the_rightmost_untrusted_address_is_the_client(make_web_server) -> None:
    runtime = await make_web_server("web.trusted_proxies=['127.0.0.0/8', '10.0.0.0/8']", "server.cloak_hosts=false")
    # the client wrote the first address itself; its proxy chain appended the others
    sock, frames = await registered(runtime, "chain", "X-Forwarded-For: 203.0.113.66, 198.51.100.7, 10.1.2.3")
    await send(sock, frame(b"WHOIS chain"))
    _, data = await frames.until(lambda op, data: b" 311 " in data)
    assert data.split(b" ")[5] == b"198.51.100.7", data
    sock.close()


async def test_a_repeated_x_forwarded_for_is_read_as_one_list(make_web_server) -> None:
    runtime = await make_web_server("web.trusted_proxies=['127.0.0.0/8']", "server.cloak_hosts=false")
    sock, frames = await registered(runtime, "spoof", "X-Forwarded-For: 203.0.113.66",  # the client's own
                                    "X-Forwarded-For: 198.51.100.7")  # the one the proxy added  # fmt: skip
    await send(sock, frame(b"WHOIS spoof"))
    _, data = await frames.until(lambda op, data: b" 311 " in data)
    sock.close()
    assert data.split(b" ")[5] == b"198.51.100.7", data


# -- subprotocols, compression, frames ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offered", "chosen"),
    [("text.ircv3.net, binary.ircv3.net", "text.ircv3.net"), ("binary.ircv3.net,text.ircv3.net", "binary.ircv3.net"),
     ("irc, chat", None), (None, None)],
)  # fmt: skip
async def test_the_101_names_the_chosen_subprotocol_and_never_negotiates_compression(
    server, offered: str | None, chosen: str | None
) -> None:
    extra = ["Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, x-webkit-deflate-frame"]
    if offered is not None:
        extra.append(f"Sec-WebSocket-Protocol: {offered}")
    sock, reply = await handshake(server, *extra)
    sock.close()
    status_line, headers, _ = split(reply)
    assert status_line.startswith("HTTP/1.1 101"), reply
    assert headers.get("sec-websocket-protocol") == ([chosen] if chosen else None)
    assert "sec-websocket-extensions" not in headers


async def test_a_compressed_frame_nobody_negotiated_is_a_protocol_error_not_inflated(server) -> None:
    """A deflate bomb (8 MiB of zeros in about 8 KiB) with RSV1 set, after the client
    offered permessage-deflate: refused (1002) without inflating it."""
    sock, reply = await handshake(server, "Sec-WebSocket-Protocol: text.ircv3.net",
                                  "Sec-WebSocket-Extensions: permessage-deflate")  # fmt: skip
    assert reply.startswith(b"HTTP/1.1 101 "), reply
    frames = RawFrames(sock, reply.partition(b"\r\n\r\n")[2])
    await send(sock, frame(b"NICK bomb") + frame(b"USER b 0 * :B"))
    await frames.until(lambda op, data: b" 001 bomb " in data)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = packer.compress(b"\0" * (8 << 20)) + packer.flush(zlib.Z_SYNC_FLUSH)
    assert len(bomb) < 16384  # under web.max_frame as sent
    await send(sock, frame(bomb, rsv1=True))
    assert close_codes(await frames.rest()) == [1002]
    sock.close()


AFTER = frame(b"PING :after")  # sent last: its answer says the server read on


async def until_closed_or_after(frames: RawFrames) -> list[tuple[int, bytes]]:
    """The server's frames up to its Close, or up to its answer to `AFTER`."""
    seen = []
    while (got := await frames.next()) is not None:
        seen.append(got)
        if got[0] == CLOSE or b"after" in got[1]:
            break
    return seen


@pytest.mark.parametrize("path", ["/webirc", "/"])
async def test_an_unmasked_client_frame_fails_the_connection(server, path: str) -> None:
    """RFC 6455 5.1: 'a server MUST close the connection upon receiving a frame that is
    not masked' (1002); neither it nor what follows is handled."""
    sock, frames = await registered(server, "nomask", path=path)
    await send(sock, frame(b"PING :unmasked", masked=False) + AFTER)
    seen = await until_closed_or_after(frames)
    sock.close()
    assert not [data for op, data in seen if b"unmasked" in data or b"after" in data], seen
    assert close_codes(seen) == [1002], seen


@pytest.mark.parametrize(
    "sent",
    [frame(b"PING :" + b"x" * 300) + frame(b"PING :unmasked", masked=False),  # after a 2-byte extended length
     frame(b"PING :" + b"x" * 70000) + frame(b"PING :unmasked", masked=False),  # after an 8-byte one
     frame(b"unmasked", PING, masked=False),  # a control frame
     frame(b"PING :unmasked", fin=False) + frame(b"PING :unmasked", 0x0, masked=False)],  # a continuation
    ids=["after-126", "after-127", "ping-frame", "continuation"],
)  # fmt: skip
async def test_an_unmasked_frame_anywhere_in_the_stream_fails_the_connection(make_web_server, sent: bytes) -> None:
    runtime = await make_web_server("web.max_frame=131072")  # room for the frame of 70000 bytes
    sock, frames = await registered(runtime, "nomask")
    await send(sock, sent + AFTER)
    got = await until_closed_or_after(frames)
    sock.close()
    assert not [data for op, data in got if b"unmasked" in data], got
    assert close_codes(got) == [1002], got


async def test_an_unmasked_frame_sent_a_byte_at_a_time_fails_the_connection(server) -> None:
    """Headers cut across reads (the stream's cuts are the kernel's, one byte per write
    makes them likely): the frames are still followed."""
    sock, frames = await registered(server, "nomask")
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for byte in frame(b"PING :" + b"x" * 200) + frame(b"PING :unmasked", masked=False):
        try:
            await send(sock, bytes((byte,)))
        except ConnectionError:  # closed from its second byte on
            break
        await asyncio.sleep(0)
    got = [await frames.until(lambda op, data: op == CLOSE or b"unmasked" in data)]
    sock.close()
    assert close_codes(got) == [1002], got


async def test_what_came_before_an_unmasked_frame_is_still_handled(make_web_server) -> None:
    """The frames before it, in the same read, are the client's; then it quits, as on a
    cut connection (so lines still held back then are dropped: flood control is off
    here, and the PING waits out what the JOIN holds)."""
    server = await make_web_server("limits.flood_control=false")
    watcher = await LineClient.connect(server)
    await watcher.register("watcher")
    watcher.send("JOIN #masks")
    await watcher.expect("366")
    sock, frames = await registered(server, "nomask")
    await send(sock, frame(b"JOIN #masks") + frame(b"PING :joined"))  # the PONG: nothing held any more
    await frames.until(lambda op, data: b"PONG" in data and b"joined" in data)
    await send(sock, frame(b"PRIVMSG #masks :before") + frame(b"PRIVMSG #masks :unmasked", masked=False) + AFTER)
    assert close_codes(await until_closed_or_after(frames)) == [1002]
    sock.close()
    quit = await watcher.expect("QUIT")
    said = [m.params[-1] for m in watcher.received if m.command == "PRIVMSG"]
    watcher.writer.close()
    assert said == ["before"], said
    assert quit.source.startswith("nomask!")


async def test_an_unmasked_frame_sent_with_the_upgrade_request_fails_the_connection(server) -> None:
    """Frames sent with the request, before the 101 (aiohttp keeps them and reads them
    once upgraded), are checked too."""
    sock, reply = await handshake(server, "Sec-WebSocket-Protocol: text.ircv3.net",
                                  then=frame(b"PING :unmasked", masked=False) + AFTER)  # fmt: skip
    assert reply.startswith(b"HTTP/1.1 101 "), reply
    got = await until_closed_or_after(RawFrames(sock, reply.partition(b"\r\n\r\n")[2]))
    sock.close()
    assert not [data for op, data in got if b"unmasked" in data], got
    assert close_codes(got) == [1002], got


@pytest.mark.parametrize(
    ("bad", "codes"),
    [(frame(b"x", PING, fin=False), {1002}),
     (frame(b"PING :a", fin=False) + frame(b"PING :b"), {1002}),
     (frame(b"PING :a", fin=False) + frame(b"b", 0x2), {1002}),
     (frame(b"PING :x", 0xB), {1002}),
     (frame(b"PING :rsv2")[:1].replace(b"\x81", b"\xa1") + frame(b"PING :rsv2")[1:], {1002}),
     (bytes((0x81, 0x80 | 127)) + (1 << 40).to_bytes(8, "big") + b"\0\0\0\0" + b"x" * 64, {1009}),
     (bytes((0x81, 0x80 | 127)) + (1 << 63).to_bytes(8, "big") + b"\0\0\0\0", {1002, 1009})],
    ids=["fragmented-control", "data-frame-inside-a-message", "binary-inside-a-text-message", "control-opcode-0xB",
         "rsv2", "a-terabyte-announced", "length-msb-set"],
)  # fmt: skip
async def test_framing_errors_fail_the_connection_with_the_right_code(server, bad: bytes, codes: set[int]) -> None:
    sock, frames = await registered(server, "framer")
    await send(sock, bad)
    got = close_codes(await frames.rest())
    sock.close()
    assert len(got) == 1 and got[0] in codes, got


@pytest.mark.parametrize(
    ("payload", "code"),
    [((999).to_bytes(2, "big"), 1002), ((1004).to_bytes(2, "big"), 1002), ((1005).to_bytes(2, "big"), 1002),
     ((1006).to_bytes(2, "big"), 1002),
     ((1015).to_bytes(2, "big"), 1002), ((2000).to_bytes(2, "big"), 1002),
     ((1000).to_bytes(2, "big") + b"\xff\xfe", 1007), ((3000).to_bytes(2, "big") + b"app", None),
     ((4999).to_bytes(2, "big") + "bye ✓".encode(), None), (b"", None)],
    ids=["999", "1004", "1005-on-the-wire", "1006-on-the-wire", "1015-on-the-wire", "2000", "reason-not-utf8",
         "3000", "4999", "no-status"],
)  # fmt: skip
async def test_close_frames_are_checked_and_answered(server, payload: bytes, code: int | None) -> None:
    sock, frames = await registered(server, "closer")
    await send(sock, frame(payload, CLOSE))
    got = close_codes(await frames.rest())
    sock.close()
    if code is None:  # a valid close: answered with a normal close (RFC 6455 5.5.1, 7.4.1)
        assert len(got) == 1 and got[0] in (1000, int.from_bytes(payload[:2], "big") or 1000), got
    else:
        assert got == [code]


async def test_pings_are_echoed_exactly_and_unsolicited_pongs_ignored(server) -> None:
    sock, frames = await registered(server, "pinger")
    payload = bytes(range(125))  # the largest control payload, every byte value below 125
    await send(sock, frame(payload, PING) + frame(b"", PING) + frame(b"stray", PONG) + frame(b"PING :still"))
    assert await frames.until(lambda op, data: op == PONG) == (PONG, payload)
    assert await frames.until(lambda op, data: op == PONG) == (PONG, b"")
    _, data = await frames.until(lambda op, data: op == 0x1 and b"PONG" in data)
    assert data.endswith(b"still")
    sock.close()


async def test_a_binary_frame_on_the_text_subprotocol_is_answered_in_text_frames(server) -> None:
    sock, frames = await registered(server, "mixed")
    await send(sock, frame(b"PING :bin", 0x2))
    opcode, data = await frames.until(lambda op, data: b"PONG" in data)
    assert opcode == 0x1 and data.endswith(b"bin")
    sock.close()


async def test_a_message_over_web_max_frame_closes_and_one_under_gets_417(make_web_server) -> None:
    runtime = await make_web_server("web.max_frame=1024")
    sock, frames = await registered(runtime, "edge")
    await send(sock, frame(b"PRIVMSG edge :" + b"a" * (1023 - 14)))  # within max_frame: a 417, not a close
    _, data = await frames.until(lambda op, data: b" 417 " in data or op == CLOSE)
    assert b" 417 " in data
    await send(sock, frame(b"PRIVMSG edge :" + b"a" * (1025 - 14)))
    assert close_codes(await frames.rest()) == [1009]
    sock.close()


async def test_a_message_of_exactly_web_max_frame_is_accepted(make_web_server) -> None:
    runtime = await make_web_server("web.max_frame=1024")
    sock, frames = await registered(runtime, "edge")
    await send(sock, frame(b"PRIVMSG edge :" + b"a" * (1024 - 14)))
    _, data = await frames.until(lambda op, data: b" 417 " in data or op == CLOSE)
    sock.close()
    assert b" 417 " in data, data


# -- methods, paths -----------------------------------------------------------------------------------------------


async def test_head_gives_the_gets_headers_and_no_body(server) -> None:
    for path in ("/", "/js/irc.js", "/healthz"):
        _, got, body = split(await exchange(server, get(path, "Accept-Encoding: identity")))
        status_line, headers, head_body = split(await exchange(server, get(path, "Accept-Encoding: identity",
                                                                           method="HEAD")))  # fmt: skip
        assert status_line.split()[1] == "200", path
        assert head_body == b"", path
        assert headers["content-length"] == [str(len(body))] == got["content-length"], path
        assert headers.get("etag") == got.get("etag"), path


async def test_trace_and_other_methods_get_405_with_allow_and_nothing_echoed(server) -> None:
    for method in ("TRACE", "PUT", "PATCH", "DELETE", "OPTIONS"):
        request = get("/index.html", "Cookie: secret=hunter2", "Content-Length: 0", method=method)
        status_line, headers, body = split(await exchange(server, request))
        assert status_line.split()[1] == "405", (method, status_line)
        assert {m.strip() for m in headers["allow"][0].split(",")} == {"GET", "HEAD"}, method
        assert b"hunter2" not in body and not [v for vs in headers.values() for v in vs if "hunter2" in v]


@pytest.mark.parametrize(
    "path",
    ["/js/%2e%2e/%2e%2e/app.py", "/..%2f..%2fpyproject.toml", "/%2e%2e%5c%2e%2e%5csetup.py", "/js/..%5c..%5capp.py",
     "/.%2e/.%2e/pyproject.toml", "/js/%252e%252e/app.py", "/%c0%ae%c0%ae/app.py", "/js/main.js/..%2f..%2fapp.py",
     "http://evil.example/../../app.py", "/js/.", "/js/..", "/..", "/etc/passwd", "/index.html%2500",
     "//etc/passwd", "/__pycache__/web.cpython-311.pyc", "/web.py"],
)  # fmt: skip
async def test_no_path_reaches_anything_but_the_clients_files(server, path: str) -> None:
    status_line, headers, body = split(await exchange(server, get(path)))
    assert status_line.split()[1] in ("400", "404"), (path, status_line)
    assert b"import " not in body and b"[project]" not in body and b"root:" not in body
    assert_security_headers(headers, path)


async def test_doubled_and_encoded_slashes_name_the_same_file_only(server) -> None:
    _, _, page = split(await exchange(server, get("/js/main.js", "Accept-Encoding: identity")))
    for path in ("//js/main.js", "/js%2fmain.js", "/%6As/main.js"):
        status_line, _, body = split(await exchange(server, get(path, "Accept-Encoding: identity")))
        assert status_line.split()[1] == "200" and body == page, path


# -- caching and content codings ---------------------------------------------------------------------------------


async def test_if_none_match_forms(server) -> None:
    _, headers, _ = split(await exchange(server, get("/js/irc.js")))
    etag = headers["etag"][0]
    assert etag.startswith('"') and not etag.startswith("W/")  # strong
    assert headers["cache-control"] == ["no-cache"]  # revalidated, never 'immutable' (docs/web.md)
    for value, status in [(etag, "304"), (f"W/{etag}", "304"), (f'"nope", {etag}', "304"), ("*", "304"),
                          ('"nope"', "200"), (etag[:-2] + '"', "200"), ("", "200")]:  # fmt: skip
        status_line, _, body = split(await exchange(server, get("/js/irc.js", f"If-None-Match: {value}")))
        assert status_line.split()[1] == status, value
        assert (body == b"") == (status == "304"), value


async def test_gzip_is_sent_only_to_who_accepts_it_and_is_the_same_file(server) -> None:
    _, plain_headers, plain = split(await exchange(server, get("/js/state.js", "Accept-Encoding: identity")))
    assert "content-encoding" not in plain_headers
    for accept in ("gzip", "x-gzip", "deflate, gzip;q=0.5", "GZIP"):
        _, headers, body = split(await exchange(server, get("/js/state.js", f"Accept-Encoding: {accept}")))
        assert headers["content-encoding"] == ["gzip"], accept
        assert gzip.decompress(body) == plain
    for accept in ("br", "deflate", "gzip;q=0", "identity"):
        _, headers, body = split(await exchange(server, get("/js/state.js", f"Accept-Encoding: {accept}")))
        assert "content-encoding" not in headers and body == plain, accept


async def test_an_explicit_gzip_q0_wins_over_a_star(server) -> None:
    _, headers, _ = split(await exchange(server, get("/js/state.js", "Accept-Encoding: *, gzip;q=0")))
    assert "content-encoding" not in headers


async def test_metrics_honour_gzip_q0(server) -> None:
    _, headers, body = split(await exchange(server, get("/metrics", "Accept-Encoding: identity, gzip;q=0")))
    assert "content-encoding" not in headers
    assert b"hubbub_users" in body


async def test_gzip_and_identity_representations_have_distinct_strong_etags(server) -> None:
    _, plain, _ = split(await exchange(server, get("/app.css", "Accept-Encoding: identity")))
    _, packed, _ = split(await exchange(server, get("/app.css", "Accept-Encoding: gzip")))
    assert packed["content-encoding"] == ["gzip"]
    tags = plain["etag"][0], packed["etag"][0]
    assert tags[0] != tags[1] or tags[1].startswith("W/"), tags


async def test_metrics_are_not_cacheable_and_off_means_gone_for_every_method(make_web_server) -> None:
    on = await make_web_server()
    _, headers, _ = split(await exchange(on, get("/metrics")))
    assert headers["cache-control"] == ["no-store"]
    assert headers["content-type"][0].startswith("text/plain")
    off = await make_web_server("web.metrics=false")
    for method in ("GET", "HEAD"):
        status_line, headers, body = split(await exchange(off, get("/metrics", method=method)))
        assert status_line.split()[1] == "404", method
        assert b"hubbub_" not in body
        assert_security_headers(headers, method)


# -- idle and slow connections ----------------------------------------------------------------------------------


async def test_an_idle_keep_alive_connection_is_closed_and_stops_counting(make_web_server) -> None:
    runtime = await make_web_server("limits.max_clients_per_ip=1", "web.handshake_timeout=0.5")
    sock = await idle_connection(runtime)
    await send(sock, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")  # keep-alive: the connection stays
    answer = b""
    loop = asyncio.get_running_loop()
    while b"\r\n\r\n" not in answer or not answer.endswith(b"}\n"):
        answer += await asyncio.wait_for(loop.sock_recv(sock, 4096), WAIT)
    assert answer.startswith(b"HTTP/1.1 200 ")
    tcp = await LineClient.connect(runtime)  # the kept connection still counts
    assert "Too many connections" in (await tcp.closed())[0]
    await tcp.close()
    assert await read_to_eof(sock) == b""  # then closed by the server, idle
    sock.close()
    tcp = await LineClient.connect(runtime)  # and no longer counted
    try:
        await tcp.register("after")
    finally:
        await tcp.close()


async def test_a_second_request_trickled_on_a_kept_connection_is_cut_off(make_web_server) -> None:
    runtime = await make_web_server("web.handshake_timeout=0.5")
    host, port = runtime.listeners.address("web")
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
    assert head.startswith(b"HTTP/1.1 200 ")
    length = int(split(head)[1]["content-length"][0])
    await asyncio.wait_for(reader.readexactly(length), WAIT)
    closed = False
    for byte in b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200:  # 0.05 s apart: 10 s in all
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
    writer.close()
    assert closed, "the server waited for the whole trickled second request"
