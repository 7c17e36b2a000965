"""IRC over WebSocket (IRCv3 WebSocket) against a real server, over real sockets.

aiohttp's client plays the WebSocket client: subprotocols in both orders and none,
text and binary frames, one line per frame, invalid UTF-8, frame sizes, the Origin
check, and the limits a WebSocket shares with TCP (per IP, flood, sendq). Raw sockets
play the clients no library would be: one that never sends its request, one that stops
reading.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from types import SimpleNamespace

import aiohttp
import pytest
from aiohttp import WSMsgType

from hubbub.app import Runtime
from hubbub.config import Config, load
from hubbub.transport.tls import generate_self_signed
from hubbub.transport.websocket import BINARY, TEXT, FramedQueue, frames
from tests.helpers import DEFAULT_HASH, LineClient, connected, sync
from tests.web.wsclient import WsClient, client_frame, raw_websocket, start_web_server

WAIT = 5.0


@pytest.fixture
async def web_server(make_web_server: Callable[..., Awaitable[Runtime]]) -> Runtime:
    return await make_web_server()


@pytest.fixture
async def ws_clients() -> AsyncIterator[list[WsClient]]:
    opened: list[WsClient] = []
    yield opened
    for client in opened:
        await client.close()


@pytest.fixture
async def open_ws(web_server: Runtime, ws_clients: list[WsClient]) -> Callable[..., Awaitable[WsClient]]:
    async def open_(*args: object, runtime: Runtime | None = None, **kwargs: object) -> WsClient:
        client = await WsClient.connect(runtime or web_server, *args, **kwargs)  # type: ignore[arg-type]
        ws_clients.append(client)
        return client

    return open_


# -- subprotocols and frames ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offered", "chosen", "frame_type"),
    [
        (("binary.ircv3.net", "text.ircv3.net"), "binary.ircv3.net", WSMsgType.BINARY),
        (("text.ircv3.net", "binary.ircv3.net"), "text.ircv3.net", WSMsgType.TEXT),
        (("text.ircv3.net",), "text.ircv3.net", WSMsgType.TEXT),
        (("binary.ircv3.net",), "binary.ircv3.net", WSMsgType.BINARY),
        (("chat", "binary.ircv3.net"), "binary.ircv3.net", WSMsgType.BINARY),
        ((), None, WSMsgType.TEXT),
        (("chat.example",), None, WSMsgType.TEXT),
    ],
)
async def test_the_subprotocol_is_the_clients_first_supported_one_and_sets_the_frame_type(
    open_ws, offered: tuple[str, ...], chosen: str | None, frame_type: WSMsgType
) -> None:
    client = await open_ws(protocols=offered)
    assert client.protocol == chosen
    await client.register("alice")
    assert {frame.type for frame in client.frames} == {frame_type}


async def test_every_frame_is_one_line_without_its_line_ending(open_ws) -> None:
    client = await open_ws()
    await client.send("CAP LS 302")
    await client.send("CAP END")
    await client.register("alice")
    assert len(client.frames) >= 10  # CAP, the welcome burst, ISUPPORT, LUSERS, MOTD
    for frame in client.frames:
        assert b"\r" not in frame.data and b"\n" not in frame.data
        assert frame.data.startswith(b":hubbub.local ")


async def test_text_and_binary_frames_are_both_accepted_and_a_trailing_crlf_is_tolerated(open_ws) -> None:
    client = await open_ws(protocols=("binary.ircv3.net",))
    await client.send(b"NICK alice", binary=True)
    await client.send("USER a 0 * :Alice\r\n")
    await client.expect("001")
    await client.send(b"PING :over binary\n", binary=True)
    assert (await client.expect("PONG")).params[-1] == "over binary"


async def test_a_websocket_is_irc_from_its_first_line_never_plain_text(open_ws) -> None:
    client = await open_ws()
    await client.send("hello there")  # would be a nickname in the plain text mode
    reply = await client.expect(lambda m: m.command in ("421", "451", "NOTICE"))
    assert reply.command in ("421", "451"), reply
    assert not any("Type a nickname" in line for line in client.lines())
    await client.register("alice")


async def test_a_frame_holding_two_lines_is_refused_not_split(open_ws) -> None:
    client = await open_ws()
    await client.register("alice")
    await client.send("PING :one\r\nPING :two")
    fail = await client.expect("FAIL")
    assert fail.params[:2] == ["*", "INVALID_MESSAGE"]
    seen = await client.sync()
    assert not any(m.command == "PONG" for m in seen)


async def test_invalid_utf8_in_a_text_frame_gets_fail_and_the_connection_stays_usable(open_ws, web_server) -> None:
    bob = await connected(web_server, "bob", "#utf")
    client = await open_ws()
    await client.register("alice")
    await client.join("#utf")
    await client.send(b"PRIVMSG #utf :caf\xe9 au lait")  # Latin-1, in a text frame
    fail = await client.expect("FAIL")
    assert fail.params[:2] == ["PRIVMSG", "INVALID_UTF8"]
    await client.send(b"PRIVMSG #utf :caf\xc3\xa9 au lait", binary=True)
    assert (await bob.expect("PRIVMSG", "#utf")).params[1] == "café au lait"
    await bob.close()


async def test_text_frames_are_always_valid_utf8() -> None:
    """Whatever reaches the output, a text frame holds UTF-8 (bad bytes become U+FFFD);
    a binary frame holds the bytes as they are."""
    data = b":a PRIVMSG #c :caf\xe9\r\n:a PRIVMSG #c :ok\r\n"
    text = frames(data, TEXT)
    assert text == b"\x81\x15:a PRIVMSG #c :caf\xef\xbf\xbd\x81\x11:a PRIVMSG #c :ok"
    text[2:23].decode("utf-8")
    assert frames(data, BINARY) == b"\x82\x13:a PRIVMSG #c :caf\xe9\x82\x11:a PRIVMSG #c :ok"


class FakeSocket:
    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def is_closing(self) -> bool:
        return self.closing

    def get_write_buffer_size(self) -> int:
        return 0

    def abort(self) -> None:
        pass


def test_a_message_for_many_is_framed_once_and_nothing_goes_to_a_closing_socket(monkeypatch) -> None:
    framed: list[bytes] = []

    def counted(data: bytes, opcode: int) -> bytes:
        framed.append(data)
        return frames(data, opcode)

    monkeypatch.setattr("hubbub.transport.websocket.frames", counted)
    sockets = [FakeSocket() for _ in range(3)]
    flusher = SimpleNamespace(marked=[], mark=lambda queue: None)
    owner = SimpleNamespace(sendq_exceeded=lambda: None)
    queues = [FramedQueue(TEXT, s, "127.0.0.1", 1 << 16, flusher, owner)  # type: ignore[arg-type]
              for s in sockets]  # fmt: skip
    shared = b":a PRIVMSG #c :hi all\r\n"
    for queue in queues:  # as delivery writes a message: to every member in turn
        queue.write(shared)
    for queue in queues:
        queue.write(b":srv 001 a :own\r\n")  # each its own bytes, as a reply is
    sockets[2].closing = True
    for queue in queues:
        queue.flush()
    assert framed.count(shared) == 1  # once for the three of them
    assert sockets[0].written == [b"\x81\x15:a PRIVMSG #c :hi all\x81\x0f:srv 001 a :own"]
    assert sockets[1].written == sockets[0].written
    assert sockets[2].written == []  # the client closed first: no frame after its close
    assert queues[0]._out == [] and queues[0].sent == len(sockets[0].written[0])


def test_frame_lengths_use_the_two_and_eight_byte_forms_when_needed() -> None:
    medium = b"x" * 300
    assert frames(medium + b"\r\n", BINARY) == b"\x82\x7e\x01\x2c" + medium
    big = b"y" * 70000
    assert frames(big + b"\r\n", TEXT) == b"\x81\x7f" + (70000).to_bytes(8, "big") + big
    assert frames(b"no line ending", TEXT) == b"\x81\x0eno line ending"


async def test_a_line_longer_than_irc_allows_gets_417_and_the_connection_stays(open_ws) -> None:
    client = await open_ws()
    await client.register("alice")
    await client.send("PRIVMSG #x :" + "a" * 9000)  # longer than 512 + 8191, shorter than web.max_frame
    assert (await client.expect("417")).params[-1] == "Input line was too long"
    await client.sync()


async def test_a_message_larger_than_max_frame_closes_the_connection(make_web_server, ws_clients) -> None:
    runtime = await make_web_server("web.max_frame=2048")
    watcher = await connected(runtime, "watcher", "#big")
    client = await WsClient.connect(runtime)
    ws_clients.append(client)
    await client.register("alice")
    await client.join("#big")
    await client.send("PRIVMSG #big :" + "b" * 3000)
    await client.closed()
    assert client.ws.close_code == 1009  # message too big
    quit_ = await watcher.expect("QUIT")
    assert quit_.source.startswith("alice!")
    await watcher.close()


async def test_websocket_on_the_root_path_too(open_ws) -> None:
    client = await open_ws(path="/")
    await client.register("alice")


# -- the Origin check ---------------------------------------------------------------------------


async def test_a_foreign_origin_is_refused(open_ws) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await open_ws(origin="https://evil.example")
    assert refused.value.status == 403


async def test_the_listeners_own_origin_and_no_origin_are_accepted(open_ws, web_server) -> None:
    host, port = web_server.listeners.address("web")
    own = await open_ws(origin=f"http://{host}:{port}")
    await own.register("alice")
    bare = await open_ws()  # no Origin header: not a browser page
    await bare.register("bob")


async def test_configured_origins_are_accepted_and_others_still_refused(make_web_server, ws_clients) -> None:
    runtime = await make_web_server("web.allowed_origins=['https://chat.example.org']")
    client = await WsClient.connect(runtime, origin="https://chat.example.org")
    ws_clients.append(client)
    await client.register("alice")
    for origin in ("https://chat.example.org.evil.example", "http://chat.example.org", "null"):
        with pytest.raises(aiohttp.WSServerHandshakeError):
            ws_clients.append(await WsClient.connect(runtime, origin=origin))


async def test_any_origin_with_a_star(make_web_server, ws_clients) -> None:
    runtime = await make_web_server("web.allowed_origins=['*']")
    client = await WsClient.connect(runtime, origin="https://anywhere.example")
    ws_clients.append(client)
    await client.register("alice")


# -- limits shared with TCP ---------------------------------------------------------------------


async def test_websockets_count_against_the_same_per_ip_limit_as_tcp(make_web_server, ws_clients) -> None:
    runtime = await make_web_server("limits.max_clients_per_ip=2")
    tcp = await connected(runtime, "tcpuser")
    first = await WsClient.connect(runtime)
    ws_clients.append(first)
    await first.register("webuser")
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:  # counted from its accept: refused then
        await WsClient.connect(runtime)
    assert refused.value.status == 503
    other = await LineClient.connect(runtime)  # and TCP is refused as well, counting the WebSocket
    assert "Too many connections" in (await other.closed())[0]
    await first.close()  # a place is free again, for either
    again = await WsClient.connect(runtime)
    ws_clients.append(again)
    await again.register("webuser2")
    await tcp.close()
    await other.close()


async def _idle_connection(address: tuple[str, int]) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, address)
    return sock


async def _read_all(sock: socket.socket) -> bytes:
    loop = asyncio.get_running_loop()
    data = b""
    while chunk := await asyncio.wait_for(loop.sock_recv(sock, 4096), WAIT):
        data += chunk
    return data


async def test_web_connections_count_from_accept_until_their_request_times_out(make_web_server) -> None:
    """An HTTP connection that has sent nothing yet already counts against the limits
    (idle sockets cannot take descriptors uncounted); a refused one is told why."""
    runtime = await make_web_server("limits.max_clients_per_ip=2", "web.handshake_timeout=1")
    address = runtime.listeners.address("web")
    idle = [await _idle_connection(address) for _ in range(2)]
    third = await _idle_connection(address)  # accepted after the two others, in order
    answer = await _read_all(third)
    assert answer.startswith(b"HTTP/1.1 503 ")
    assert answer.endswith(b"\r\n\r\nToo many connections from your IP address\n")
    third.close()
    tcp = await LineClient.connect(runtime)
    assert await tcp.closed() == ["ERROR :Closing Link: 127.0.0.1 (Too many connections from your IP address)"]
    for sock in idle:  # closed by the server once their time for a request is over, and no longer counted
        assert await _read_all(sock) == b""
        sock.close()
    client = await WsClient.connect(runtime)
    await client.register("afterwards")
    await client.close()
    await tcp.close()


async def test_a_trusted_proxy_is_not_limited_as_one_address_its_clients_are(make_web_server, ws_clients) -> None:
    runtime = await make_web_server("web.trusted_proxies=['127.0.0.0/8']", "limits.max_clients_per_ip=1")
    waiting = await _idle_connection(runtime.listeners.address("web"))  # the proxy's, its request to come
    for n, address in enumerate(("198.51.100.1", "198.51.100.2")):  # two clients through one proxy
        client = await WsClient.connect(runtime, headers={"X-Forwarded-For": address})
        ws_clients.append(client)
        await client.register(f"client{n}")
    again = await WsClient.connect(runtime, headers={"X-Forwarded-For": "198.51.100.1"})
    ws_clients.append(again)
    lines = await again.closed()  # refused once its address is known, at the upgrade
    assert lines == ["ERROR :Closing Link: 198.51.100.1 (Too many connections from your IP address)"]
    assert again.ws.close_code == 1008
    tcp = await LineClient.connect(runtime)  # the proxy's HTTP connections do not count against its address
    await tcp.register("local")
    await tcp.close()
    waiting.close()


async def test_the_global_limit_counts_websockets(make_web_server, ws_clients) -> None:
    runtime = await make_web_server("limits.max_clients=1")
    first = await WsClient.connect(runtime)
    ws_clients.append(first)
    await first.register("alice")
    tcp = await LineClient.connect(runtime)
    assert "Server is full" in (await tcp.closed())[0]
    await tcp.close()


async def test_flood_control_delays_then_drops_a_flooding_websocket(make_web_server, ws_clients) -> None:
    runtime = await make_web_server("limits.flood_control=true", "limits.flood_burst=5", "limits.flood_rate=1",
                                    "limits.recvq=600")  # fmt: skip
    watcher = await connected(runtime, "watcher", "#flood")
    client = await WsClient.connect(runtime)
    ws_clients.append(client)
    await client.register("flooder")
    await client.join("#flood")
    for i in range(100):
        await client.send(f"PRIVMSG #flood :line {i:03d} " + "x" * 40)
    lines = await client.closed(timeout=10)
    assert lines[-1] == "ERROR :Closing Link: 127.0.0.1 (Excess Flood)"
    assert (await watcher.expect("QUIT")).params[0] == "Excess Flood"
    said = [m.params[1][:8] for m in watcher.received if m.command == "PRIVMSG"]
    assert said == [f"line {i:03d}" for i in range(len(said))]  # in order, none skipped, and not all of them
    assert 0 < len(said) < 100
    await watcher.close()


async def test_a_websocket_that_stops_reading_is_dropped_past_its_sendq(make_web_server) -> None:
    runtime = await make_web_server("limits.sendq=65536")  # above one burst: the watcher reads each at once
    loop = asyncio.get_running_loop()
    stuck = await raw_websocket(runtime, rcvbuf=4096)
    for line in (b"NICK stuck", b"USER s 0 * :S", b"JOIN #busy"):
        await loop.sock_sendall(stuck, client_frame(line))
    talker = await connected(runtime, "talker", "#busy")
    # The stuck one's JOIN comes before the talker's (in its NAMES) or after it (a JOIN
    # line), whichever registration is done first: it is in the channel either way.
    names = {n.lstrip("~&@%+") for m in talker.received if m.command == "353" for n in m.params[-1].split()}
    if "stuck" not in names:
        await talker.expect(lambda m: m.command == "JOIN" and (m.source or "").startswith("stuck!"))
    await sync(talker)
    watcher = await connected(runtime, "watcher", "#busy")
    # At most ~10 MB: the kernel's buffers take a few MB before the server's own queue fills.
    for burst in range(500):
        for i in range(50):
            talker.send(f"PRIVMSG #busy :burst {burst} line {i} " + "z" * 400)
        seen = await sync(watcher)
        if any(m.command == "QUIT" for m in seen):
            break
    quit_ = next((m for m in watcher.received if m.command == "QUIT"), None)
    assert quit_ is not None, "the WebSocket that never reads was never dropped"
    assert quit_.source.startswith("stuck!") and quit_.params[0] == "SendQ exceeded"
    stuck.close()
    await talker.close()
    await watcher.close()


async def test_a_websocket_that_reads_gets_a_reply_larger_than_its_sendq(make_web_server, ws_clients) -> None:
    """The sendq counts what the kernel leaves unsent: one LIST of ~25 KB to a client
    whose sendq is 16 KiB arrives whole, as on TCP."""
    runtime = await make_web_server("limits.sendq=16384", "limits.max_channels=200")
    owner = await connected(runtime, "owner")
    for i in range(150):
        owner.send(f"JOIN #chan{i:03d}")
        owner.send(f"TOPIC #chan{i:03d} :{'t' * 120}")
    await sync(owner)
    client = await WsClient.connect(runtime)
    ws_clients.append(client)
    await client.register("reader")
    await client.send("LIST")
    await client.expect(lambda m: m.command in ("323", "ERROR"))
    assert not [m for m in client.received if m.command == "ERROR"]
    assert len([m for m in client.received if m.command == "322"]) == 150
    await owner.close()


async def test_the_http_request_must_come_within_the_handshake_timeout(make_web_server) -> None:
    runtime = await make_web_server("web.handshake_timeout=0.3")
    host, port = runtime.listeners.address("web")
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"GET /webirc HTTP/1.1\r\nHost: x\r\n")  # and never the rest
    assert await asyncio.wait_for(reader.read(), WAIT) == b""  # closed by the server, no answer
    writer.close()


async def test_lines_sent_while_the_server_works_for_the_client_wait_past_the_recvq(make_web_server,
                                                                                     ws_clients) -> None:  # fmt: skip
    """As on TCP: input held for the client (a password being hashed; in a cluster, the
    network ordering its event) is the server's wait, not a flood: past the recvq the
    server stops reading frames instead of dropping the client, and handles all of them."""
    # the default cost: a hash that takes time
    runtime = await make_web_server("limits.flood_control=false", "limits.recvq=1024", *DEFAULT_HASH)
    watcher = await connected(runtime, "watcher", "#c")
    client = await WsClient.connect(runtime)
    ws_clients.append(client)
    await client.register("alice")
    await client.join("#c")
    total = 200  # about 5 KB: five times the recvq
    await client.send("NICKSERV REGISTER correct-horse-battery")
    for i in range(total):
        await client.send(f"PRIVMSG #c :waiting {i}")
    await watcher.expect("PRIVMSG", "#c", f"waiting {total - 1}", timeout=2 * WAIT)
    said = [m.params[1] for m in watcher.received if m.command == "PRIVMSG" and m.params[0] == "#c"]
    assert said == [f"waiting {i}" for i in range(total)]
    assert not [m for m in await client.sync() if m.command == "ERROR"]
    await watcher.close()


# -- talking, leaving, stopping -------------------------------------------------------------------


async def test_websocket_and_tcp_users_talk(open_ws, web_server) -> None:
    bob = await connected(web_server, "bob", "#mixed")
    alice = await open_ws(protocols=("binary.ircv3.net",))
    await alice.register("alice")
    await alice.join("#mixed")
    await alice.send("PRIVMSG #mixed :hi bob, from a browser")
    assert (await bob.expect("PRIVMSG", "#mixed")).params[1] == "hi bob, from a browser"
    bob.send("PRIVMSG #mixed :hi alice ☕")
    said = await alice.expect("PRIVMSG", "#mixed")
    assert said.params[1] == "hi alice ☕" and said.source.startswith("bob!")
    await bob.close()


async def test_lines_sent_before_the_clients_close_are_still_handled(make_web_server) -> None:
    runtime = await make_web_server("limits.flood_control=true", "limits.flood_burst=3", "limits.flood_rate=20")
    watcher = await connected(runtime, "watcher", "#bye")
    client = await WsClient.connect(runtime)
    await client.register("leaver")
    await client.join("#bye")
    for i in range(6):  # past the burst: the last ones wait for flood control...
        await client.send(f"PRIVMSG #bye :last words {i}")
    await client.send("QUIT :see you")
    await client.close()  # ...and the client has gone meanwhile
    quit_ = await watcher.expect("QUIT")
    assert quit_.params[0] == "Quit: see you"
    said = [m.params[1] for m in watcher.received if m.command == "PRIVMSG"]
    assert said == [f"last words {i}" for i in range(6)]
    await watcher.close()


async def test_shutdown_sends_each_websocket_its_error_then_closes(make_web_server) -> None:
    runtime = await make_web_server()
    client = await WsClient.connect(runtime)
    await client.register("alice")
    await runtime.stop()
    lines = await client.closed()
    assert lines[-1] == "ERROR :Closing Link: 127.0.0.1 (Server shutting down)"
    await client.close()


async def test_a_trusted_proxy_names_the_client_and_others_cannot(make_web_server, ws_clients) -> None:
    runtime = await make_web_server("web.trusted_proxies=['127.0.0.0/8']", "server.cloak_hosts=false")
    proxied = await WsClient.connect(runtime, headers={"X-Forwarded-For": "198.51.100.7, 127.0.0.1",
                                                       "X-Forwarded-Proto": "https"})  # fmt: skip
    ws_clients.append(proxied)
    await proxied.register("faraway")
    await proxied.send("WHOIS faraway")
    assert (await proxied.expect("311")).params[3] == "198.51.100.7"
    assert (await proxied.expect(lambda m: m.command in ("671", "318"))).command == "671"  # https at the proxy

    direct = await make_web_server()  # no trusted proxy: the header is a client's word, ignored
    liar = await WsClient.connect(direct, headers={"X-Forwarded-For": "198.51.100.8"})
    ws_clients.append(liar)
    await liar.register("liar")
    await liar.send("WHOIS liar")
    assert (await liar.expect("311")).params[3] == "127.0.0.1"


async def test_wss_with_the_tls_certificate(make_web_server, ws_clients, tmp_path) -> None:
    runtime = await make_web_server("web.tls=true", "tls.self_signed=true", f"tls.cert={tmp_path / 'c.pem'}",
                                    f"tls.key={tmp_path / 'k.pem'}")  # fmt: skip
    assert runtime.web_url().startswith("https://")
    client = await WsClient.connect(runtime)
    ws_clients.append(client)
    await client.register("secure")
    await client.send("WHOIS secure")
    assert (await client.expect(lambda m: m.command in ("671", "318"))).command == "671"


async def test_an_https_handshake_counts_against_the_limits_and_is_bounded_in_time(make_web_server, tmp_path,
                                                                                   caplog) -> None:  # fmt: skip
    caplog.set_level("INFO", logger="hubbub.audit")
    runtime = await make_web_server("web.tls=true", "tls.self_signed=true", f"tls.cert={tmp_path / 'c.pem'}",
                                    f"tls.key={tmp_path / 'k.pem'}", "limits.max_clients_per_ip=1",
                                    "web.handshake_timeout=1")  # fmt: skip
    silent = await _idle_connection(runtime.listeners.address("web"))  # never sends its ClientHello
    tcp = await LineClient.connect(runtime)
    assert await tcp.closed() == ["ERROR :Closing Link: 127.0.0.1 (Too many connections from your IP address)"]
    try:
        assert await _read_all(silent) == b""  # dropped by the server, having sent nothing
    except ConnectionResetError:
        pass
    silent.close()
    assert "TLS handshake with 127.0.0.1 failed: timed out" in caplog.text
    client = await WsClient.connect(runtime)  # no longer counted
    await client.register("secure")
    await client.close()
    await tcp.close()


async def test_rehash_puts_a_new_certificate_in_use_for_https(tmp_path) -> None:
    old_cert, new_cert = tmp_path / "old.pem", tmp_path / "new.pem"
    generate_self_signed(old_cert, tmp_path / "old.key", "hubbub.local")
    generate_self_signed(new_cert, tmp_path / "new.key", "hubbub.local")

    def config(cert: Path) -> Config:
        return load(None, ["listen.irc=['127.0.0.1:0']", "listen.web='127.0.0.1:0'", "store.db=':memory:'",
                           "web.tls=true", f"tls.cert='{cert}'", f"tls.key='{cert.with_suffix('.key')}'"])  # fmt: skip

    runtime = Runtime(config(old_cert), loader=lambda: config(new_cert))
    await runtime.start()
    try:
        reloaded: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        runtime.rehash(lambda error, notes: reloaded.set_result(error))
        assert await asyncio.wait_for(reloaded, WAIT) is None
        async with aiohttp.ClientSession() as http:
            trusting_new = ssl.create_default_context(cafile=str(new_cert))
            async with http.get(runtime.web_url("/healthz"), ssl=trusting_new) as response:
                assert response.status == 200
            with pytest.raises(aiohttp.ClientConnectorCertificateError):
                await http.get(runtime.web_url("/healthz"), ssl=ssl.create_default_context(cafile=str(old_cert)))
    finally:
        await runtime.stop()


async def test_a_websocket_user_gets_keepalive_pings_like_anyone(make_web_server, ws_clients) -> None:
    runtime = await make_web_server("limits.ping_interval=0.2", "limits.ping_timeout=0.2")
    client = await WsClient.connect(runtime)
    ws_clients.append(client)
    await client.register("sleepy")
    await client.expect("PING", timeout=WAIT)
    lines = await client.closed()
    assert lines[-1].startswith("ERROR :Closing Link: 127.0.0.1 (Ping timeout")


async def test_the_web_listener_is_logged_like_the_others(caplog) -> None:
    caplog.set_level("INFO", logger="hubbub")
    runtime = await start_web_server()
    try:
        host, port = runtime.listeners.address("web")
        assert f"listening web {host}:{port}" in caplog.text
        with socket.create_connection((host, port), timeout=WAIT):
            pass
    finally:
        await runtime.stop()
