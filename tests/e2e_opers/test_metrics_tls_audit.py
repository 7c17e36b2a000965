"""Audit of /metrics, /healthz and IRC over TLS, black-box over real sockets.

docs/operators.md "Metrics and readiness", "IRC over TLS", "Client certificates (CertFP)",
"STS"; docs/web.md "The web listener". What tests/web/test_http.py, test_docs_claims.py,
test_more_admin.py, test_tls.py and tests/e2e_limits already check is not repeated: here
the figures are checked to the byte and to the copy after real traffic on every transport
(TCP, TLS, WebSocket, the plain text mode, a cluster of two nodes), readiness against a
PostgreSQL store that goes away and during shutdown, and TLS as real clients meet it
(session resumption, certificate chains, `openssl s_client`, renegotiation, a close_notify
after a paste, a certificate renewed in place).
"""

from __future__ import annotations

import asyncio
import datetime
import errno
import gzip
import os
import shutil
import socket
import ssl
import struct
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlparse

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from OpenSSL import SSL
from prometheus_client.parser import text_string_to_metric_families

from hubbub.app import Runtime
from hubbub.transport.tls import generate_self_signed
from tests.ca_signed import ca_signed_pair
from tests.client_certs import make_client_cert, tls_connect
from tests.cluster.support import caught_up
from tests.e2e_opers.conftest import oper_toml
from tests.e2e_opers.support import an_oper, connected_from
from tests.helpers import LineClient, cap_ls, connect_plain, connected, stuck_socket, sync
from tests.web.wsclient import WsClient

WEB = "listen.web='127.0.0.1:0'"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def tls_overrides(tmp_path: Path, *more: str) -> list[str]:
    return [
        WEB, "listen.tls=['127.0.0.1:0']", "tls.self_signed=true", "tls.sts=false",
        f"tls.cert={tmp_path / 'cert.pem'}", f"tls.key={tmp_path / 'key.pem'}", *more,
    ]  # fmt: skip


def server_context(tmp_path: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """One keep-alive session: every scrape of a test goes over one HTTP connection."""
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        yield session


async def fetch(http: aiohttp.ClientSession, runtime: Runtime, path: str, **headers: str) -> tuple[int, dict, bytes]:
    async with http.get(runtime.web_url(path), headers=headers) as response:
        return response.status, dict(response.headers), await response.read()


def parse(text: str) -> tuple[Samples, dict[str, str]]:
    samples: Samples = {}
    types: dict[str, str] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
            types[sample.name] = family.type
    return samples, types


async def scrape(http: aiohttp.ClientSession, runtime: Runtime, encoding: str = "identity") -> Samples:
    status, headers, body = await fetch(http, runtime, "/metrics", **{"Accept-Encoding": encoding})
    assert status == 200
    if headers.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    return parse(body.decode())[0]


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def counters_never_went_down(earlier: Samples, later: Samples) -> list[tuple]:
    """Counter and histogram samples (by their names) that are lower in `later`."""
    cumulative = ("_total", "_bucket", "_count", "_sum")
    return [
        (key, earlier[key], later[key])
        for key in earlier
        if key[0].endswith(cumulative) and key in later and later[key] < earlier[key]
    ]


class CountingClient(LineClient):
    """A line client that counts every byte it writes and reads."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        super().__init__(reader, writer)
        self.written = 0
        self.read = 0

    def send(self, line: str | bytes) -> None:
        data = line if isinstance(line, bytes) else line.encode()
        if not data.endswith(b"\n"):
            data += b"\r\n"
        self.written += len(data)
        self.writer.write(data)

    async def read_line(self, timeout: float = 5.0) -> str | None:
        data = await asyncio.wait_for(self.reader.readline(), timeout)
        self.read += len(data)
        if not data:
            return None
        text = data.decode("utf-8", "replace").rstrip("\r\n")
        self.raw.append(text)
        return text


class CountingWs(WsClient):
    """A WebSocket client that keeps the payloads it sent."""

    sent: list[bytes]

    async def send(self, line: str | bytes, binary: bool = False) -> None:
        self.sent.append(line.encode() if isinstance(line, str) else line)
        await super().send(line, binary)


def frame_header(size: int) -> int:
    """Bytes of an unmasked server frame's header for a payload of `size` (RFC 6455 5.2)."""
    return 2 if size < 126 else 4 if size < 65536 else 10


async def with_caps(runtime: Runtime, nick: str, caps: str) -> LineClient:
    client = await LineClient.connect(runtime)
    client.send("CAP LS 302")
    client.send(f"CAP REQ :{caps}")
    await client.expect("CAP", "*", "ACK")
    client.send("CAP END")
    await client.register(nick)
    return client


# -- /metrics: the figures after real traffic ------------------------------------------------------


async def test_bytes_and_connections_are_counted_exactly_on_each_transport(make_server, tmp_path, http) -> None:
    """hubbub_received_bytes/sent_bytes{tcp,tls,websocket} equal, byte for byte, what the
    clients wrote and read (IRC lines, telnet's commands; WebSocket frame headers on the way out only);
    connections and accepted connections by transport; nothing lost when they close."""
    server = await make_server(*tls_overrides(tmp_path))
    first = await scrape(http, server)
    assert all(value(first, "hubbub_received_bytes_total", transport=t) == 0 for t in ("tcp", "tls", "websocket"))
    plain = CountingClient(*await asyncio.open_connection(*server.irc_address()))
    secure = CountingClient(*await asyncio.open_connection(*server.tls_address(), ssl=server_context(tmp_path)))
    web = await CountingWs.connect(server)
    web.sent = []
    try:
        plain.send(bytes([255, 241, 255, 241]) + b"\r\n")  # telnet's NOP twice: bytes received, though no text
        await plain.register("plain")
        await secure.register("secure")
        await web.register("web")
        for client in (plain, secure):
            await client.join("#c")
        await web.join("#c")
        plain.send("PRIVMSG #c :" + "p" * 300)  # a frame past 125 bytes: a 4-byte header
        secure.send("NOTICE #c :from tls")
        await web.send("PRIVMSG #c :from the web")
        for client in (plain, secure):
            await sync(client)
        await web.sync()
        for client in (plain, secure):  # leave, so that nothing more is sent to anyone on closing
            client.send("PART #c")
            await client.expect("PART", "#c")
        await web.send("PART #c")
        await web.expect("PART", "#c")
        for client in (plain, secure):
            await sync(client)
        await web.sync()
        samples = await scrape(http, server)
        assert value(samples, "hubbub_received_bytes_total", transport="tcp") == plain.written
        assert value(samples, "hubbub_sent_bytes_total", transport="tcp") == plain.read
        assert value(samples, "hubbub_received_bytes_total", transport="tls") == secure.written
        assert value(samples, "hubbub_sent_bytes_total", transport="tls") == secure.read
        assert value(samples, "hubbub_received_bytes_total", transport="websocket") == sum(map(len, web.sent))
        assert value(samples, "hubbub_sent_bytes_total", transport="websocket") == sum(
            len(f.data) + frame_header(len(f.data)) for f in web.frames
        )
        for transport in ("tcp", "tls", "websocket"):
            assert value(samples, "hubbub_connections", transport=transport) == 1
            assert value(samples, "hubbub_connections_accepted_total", transport=transport) == 1
        # the scrapes' one keep-alive connection, and the WebSocket's before its upgrade
        assert value(samples, "hubbub_connections", transport="http") == 1
        assert value(samples, "hubbub_connections_accepted_total", transport="http") == 2
        assert value(samples, "hubbub_users") == 3
    finally:
        await plain.close()
        await secure.close()
        await web.close()
    deadline = asyncio.get_running_loop().time() + 5
    while True:  # the closes reach the server in their own time: wait for the gauges
        later = await scrape(http, server)
        if value(later, "hubbub_users") == 0 or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.02)
    assert [value(later, "hubbub_connections", transport=t) for t in ("tcp", "tls", "websocket")] == [0, 0, 0]
    assert counters_never_went_down(samples, later) == []
    for transport in ("tcp", "tls", "websocket"):  # what closed connections sent is still counted, once
        for name in ("hubbub_sent_bytes_total", "hubbub_received_bytes_total"):
            assert value(later, name, transport=transport) == value(samples, name, transport=transport)


async def test_messages_and_deliveries_are_counted_exactly(make_server, http, clients) -> None:
    """hubbub_messages_total{target} and hubbub_message_deliveries_total, message by message:
    plain-mode and WebSocket members count, the sender never, an echo-message echo never,
    TAGMSG only to clients with message-tags, STATUSMSG only to the ranks, a multiline
    message once, a refused one not at all."""
    server = await make_server(WEB)
    alice = await connected(server, "alice", "#c")  # the channel operator
    bob = await connected(server, "bob", "#c")
    tagger = await with_caps(server, "erin", "echo-message message-tags batch draft/multiline")
    await tagger.join("#c")
    web = await WsClient.connect(server)
    await web.register("carol")
    await web.join("#c")
    person = await connect_plain(server, "dave")
    person.send("/join #c")
    await person.expect_text(r"^\* You joined #c")
    clients.extend([alice, bob, tagger, person])
    alice.send("MODE #c +v bob")
    await bob.expect("MODE", "#c")

    async def settle(sender: LineClient | None = None) -> None:
        if sender is person:  # no PING in the plain text mode: a member hears it
            await alice.expect("PRIVMSG", "#c")
        for client in (alice, bob, tagger):
            await sync(client)
        await web.sync()

    await settle()
    before = await scrape(http, server)
    cases: list[tuple[str, LineClient, list[str], tuple[int, int, int]]] = [
        # (what, who, lines) -> (deliveries, to channels, to users); members: alice bob erin carol dave
        ("channel message", alice, ["PRIVMSG #c :one"], (4, 1, 0)),
        ("notice, echo-message on", tagger, ["NOTICE #c :echoed"], (4, 1, 0)),
        ("TAGMSG: nobody else has message-tags", tagger, ["@+typing=active TAGMSG #c"], (0, 1, 0)),
        ("@#c from a voiced member", bob, ["PRIVMSG @#c :ops only"], (1, 1, 0)),
        ("+#c from a voiced member", bob, ["PRIVMSG +#c :voices and up"], (1, 1, 0)),
        ("private", alice, ["PRIVMSG bob :psst"], (1, 0, 1)),
        ("a channel and a user at once", alice, ["PRIVMSG #c,bob :both"], (5, 1, 1)),
        ("to nobody: 401", alice, ["PRIVMSG nobody :lost"], (0, 0, 0)),
        ("multiline to the channel", tagger,
         ["BATCH +m draft/multiline #c", "@batch=m PRIVMSG #c :l1", "@batch=m PRIVMSG #c :l2", "BATCH -m"], (4, 1, 0)),
        ("multiline to a user", tagger,
         ["BATCH +p draft/multiline bob", "@batch=p PRIVMSG bob :l1", "@batch=p PRIVMSG bob :l2", "BATCH -p"],
         (1, 0, 1)),
        ("the plain text mode", person, ["typed in a terminal"], (4, 1, 0)),
        ("TAGMSG to a user without message-tags", tagger, ["@+react=x TAGMSG alice"], (0, 0, 1)),
    ]  # fmt: skip
    for what, sender, lines, (deliveries, to_channels, to_users) in cases:
        for line in lines:
            sender.send(line)
        await settle(sender)
        after = await scrape(http, server)
        got = tuple(
            int(value(after, name, **labels) - value(before, name, **labels))
            for name, labels in (
                ("hubbub_message_deliveries_total", {}),
                ("hubbub_messages_total", {"target": "channel"}),
                ("hubbub_messages_total", {"target": "user"}),
            )
        )
        assert got == (deliveries, to_channels, to_users), what
        said = value(after, "hubbub_events_total", kind="Said") - value(before, "hubbub_events_total", kind="Said")
        assert said == (0 if "multiline" in what else to_channels + to_users), what
        before = after
    alice.send("MODE #c +m")
    await settle()
    before = await scrape(http, server)
    await web.send("PRIVMSG #c :muted")  # 404: refused, not a message
    await settle()
    after = await scrape(http, server)
    assert value(after, "hubbub_messages_total", target="channel") == value(
        before, "hubbub_messages_total", target="channel"
    )
    assert {k: v for k, v in after.items() if k[0] == "hubbub_events_rejected_total" and v} == {}
    await web.close()


async def test_history_writes_count_each_kept_message_once(make_server, http, clients) -> None:
    """hubbub_history_writes_total: what docs/history.md says is kept, once each (a
    multiline message is one), and not a STATUSMSG, a private message between users
    without accounts, or what is said to NickServ."""
    server = await make_server(WEB, "history.events=false")
    alice = await with_caps(server, "alice", "message-tags batch draft/multiline")
    await alice.join("#c")
    bob = await connected(server, "bob", "#c")
    clients.extend([alice, bob])
    written = value(await scrape(http, server), "hubbub_history_writes_total")
    for lines, kept in (
        (["PRIVMSG #c :kept"], 1),
        (["NOTICE #c :kept"], 1),
        (["@+react=y TAGMSG #c"], 1),
        (["PRIVMSG @#c :not kept"], 0),
        (["BATCH +m draft/multiline #c", "@batch=m PRIVMSG #c :a", "@batch=m PRIVMSG #c :b", "BATCH -m"], 1),
        (["PRIVMSG bob :no accounts: not kept"], 0),
        (["PRIVMSG NickServ :HELP"], 0),
    ):
        for line in lines:
            alice.send(line)
        await sync(alice)  # its output waited for the batch's commit
        await sync(bob)
        now = value(await scrape(http, server), "hubbub_history_writes_total")
        assert now - written == kept, lines
        written = now


async def test_a_cluster_node_counts_deliveries_to_its_own_clients_only(make_server, redis_server, clients) -> None:
    """In a cluster a message to a user on another node is that node's delivery; each
    node's deliveries add up to the copies sent. A nick two nodes grant at once is
    rejected when applied (hubbub_events_rejected_total{kind="NickSet"}), on both."""
    keyspace = f"t{uuid.uuid4().hex[:12]}"
    cluster = (WEB, f"cluster.url='{redis_server.url}'", f"cluster.keyspace='{keyspace}'")
    one = await make_server(*cluster, "server.name='one.test'")  # two nodes never share a name
    two = await make_server(*cluster, "server.name='two.test'")
    alice = await connected(one, "alice", "#c")  # operator of #c
    carol = await connected(one, "carol", "#c")
    bob = await connected(two, "bob", "#c")
    dave = await connected(two, "dave", "#c")
    racer1, racer2 = await connected(one, "racer1"), await connected(two, "racer2")
    everyone = [alice, carol, bob, dave, racer1, racer2]
    clients.extend(everyone)
    for client in everyone:
        await caught_up(client)
    async with aiohttp.ClientSession() as http:
        before = [await scrape(http, node) for node in (one, two)]
        alice.send("PRIVMSG #c :to all")
        for member in (carol, bob, dave):
            await member.expect("PRIVMSG", "#c")
        alice.send("PRIVMSG dave :across")
        await dave.expect("PRIVMSG", "dave")
        bob.send("PRIVMSG @#c :to the ops")
        await alice.expect("PRIVMSG", "@#c")
        for round_ in range(2):  # both nodes grant the nick before either claim is applied
            racer1.send(f"NICK zed{round_}")
            racer2.send(f"NICK zed{round_}")
            await caught_up(racer1)
            await caught_up(racer2)
        for client in everyone:
            await caught_up(client)
        after = [await scrape(http, node) for node in (one, two)]
    delivered = [
        value(a, "hubbub_message_deliveries_total") - value(b, "hubbub_message_deliveries_total")
        for a, b in zip(after, before, strict=True)
    ]
    assert delivered == [1 + 0 + 1, 2 + 1 + 0]  # node one: carol, alice; node two: bob and dave, dave
    rejected = [
        value(a, "hubbub_events_rejected_total", kind="NickSet")
        - value(b, "hubbub_events_rejected_total", kind="NickSet")
        for a, b in zip(after, before, strict=True)
    ]
    assert rejected[0] == rejected[1] and 1 <= rejected[0] <= 2, rejected
    assert value(after[0], "hubbub_users") == value(after[1], "hubbub_users") == 6


async def test_refusals_are_counted_by_transport_and_scrapes_share_the_per_ip_limit(
    make_oper_server, tmp_path, http, clients
) -> None:
    """hubbub_connections_refused_total{transport}: a TLS connection from a K-lined address
    (closed at once, never accepted), a web connection from it, a TLS one past
    limits.max_clients_per_ip; a scrape past the limit gets 503 with the reason."""
    server = await make_oper_server(*tls_overrides(tmp_path, "limits.max_clients_per_ip=3"))
    ircop = await an_oper(server)
    clients.append(ircop)
    ircop.send("KLINE *@127.0.0.2 :no")
    await ircop.expect("NOTICE", "ircop")
    before = await scrape(http, server)
    host, port = server.tls_address()
    with pytest.raises((ssl.SSLError, ConnectionError, asyncio.IncompleteReadError)):
        await asyncio.open_connection(host, port, ssl=server_context(tmp_path), local_addr=("127.0.0.2", 0))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))) as banned:
        async with banned.get(server.web_url("/metrics")) as response:
            assert response.status == 503
    for i in range(3):
        clients.append(await connected_from(server, "127.0.0.3", f"full{i}"))
    with pytest.raises((ssl.SSLError, ConnectionError, asyncio.IncompleteReadError)):
        await asyncio.open_connection(host, port, ssl=server_context(tmp_path), local_addr=("127.0.0.3", 0))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=("127.0.0.3", 0))) as crowded:
        async with crowded.get(server.web_url("/metrics")) as response:
            assert response.status == 503
            assert "Too many connections from your IP address" in await response.text()
    await sync(ircop)
    after = await scrape(http, server)

    def grew(name: str, transport: str) -> float:
        return value(after, name, transport=transport) - value(before, name, transport=transport)

    assert grew("hubbub_connections_refused_total", "tls") == 2
    assert grew("hubbub_connections_refused_total", "http") == 2
    assert grew("hubbub_connections_accepted_total", "tls") == 0
    assert grew("hubbub_connections_accepted_total", "tcp") == 3
    assert value(after, "hubbub_connections", transport="tls") == 0


async def test_failed_handshakes_leave_no_count_and_the_server_ready(make_server, tmp_path, http, clients) -> None:
    """A TLS connection counts from its accept (hubbub_connections{tls}); one that never
    finishes its handshake, one that sends garbage, one that leaves half way: each gone,
    counted as accepted, none left open; /healthz still ok, a new client served."""
    server = await make_server(*tls_overrides(tmp_path, "limits.tls_handshake_timeout=0.5"))
    loop = asyncio.get_running_loop()
    host, port = server.tls_address()
    idle = socket.socket()
    idle.setblocking(False)
    await loop.sock_connect(idle, (host, port))
    probe = await connected(server, "probe")
    clients.append(probe)
    await sync(probe)  # the accept has happened by now
    assert value(await scrape(http, server), "hubbub_connections", transport="tls") == 1
    garbage = socket.socket()
    garbage.setblocking(False)
    await loop.sock_connect(garbage, (host, port))
    await loop.sock_sendall(garbage, b"\x16\x03\x01\x00\x05hello, this is not TLS at all\r\n" * 4)
    half = socket.socket()
    half.setblocking(False)
    await loop.sock_connect(half, (host, port))
    await loop.sock_sendall(half, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")  # a ClientHello cut short
    half.close()
    for sock in (idle, garbage):
        try:
            while await asyncio.wait_for(loop.sock_recv(sock, 4096), 10):
                pass  # an alert, perhaps, then the end
        except ConnectionResetError:
            pass
        finally:
            sock.close()
    client = await tls_connect(server, tmp_path / "cert.pem")
    clients.append(client)
    await client.register("after")
    samples = await scrape(http, server)
    assert value(samples, "hubbub_connections", transport="tls") == 1  # "after" alone
    assert value(samples, "hubbub_connections_accepted_total", transport="tls") == 4
    status, _, body = await fetch(http, server, "/healthz")
    assert status == 200, body


async def test_gzip_and_plain_scrapes_agree_and_head_is_answered(make_server, http, clients) -> None:
    """The same figures gzip-compressed or not (q=0 refuses gzip); HEAD /metrics is 200
    with the headers and no body."""
    server = await make_server(WEB)
    clients.append(await connected(server, "alice", "#c"))
    plain_status, plain_headers, plain_body = await fetch(http, server, "/metrics", **{"Accept-Encoding": "identity"})
    zipped_status, zipped_headers, zipped_body = await fetch(http, server, "/metrics", **{"Accept-Encoding": "gzip"})
    refused_status, refused_headers, _ = await fetch(http, server, "/metrics", **{"Accept-Encoding": "gzip;q=0"})
    assert (plain_status, zipped_status, refused_status) == (200, 200, 200)
    assert zipped_headers.get("Content-Encoding") == "gzip"
    assert "Content-Encoding" not in plain_headers and "Content-Encoding" not in refused_headers
    plain, plain_types = parse(plain_body.decode())
    zipped, zipped_types = parse(gzip.decompress(zipped_body).decode())
    assert plain_types == zipped_types
    lag = "hubbub_event_loop_lag_seconds"  # sampled on a timer: may tick between two scrapes
    assert {k: v for k, v in plain.items() if not k[0].startswith(lag)} == {
        k: v for k, v in zipped.items() if not k[0].startswith(lag)
    }
    async with http.head(server.web_url("/metrics")) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        assert await response.read() == b""


async def test_event_loop_lag_shows_a_blocked_loop(make_server, http) -> None:
    """hubbub_event_loop_lag_seconds: "a busy or blocked loop shows here first". The
    server runs on this test's loop: blocking it for 0.8 s makes the half-second timer
    run at least 0.3 s late."""
    server = await make_server(WEB)
    before = await scrape(http, server)
    time.sleep(0.8)  # noqa: ASYNC251  (the point: the loop is blocked)
    await asyncio.sleep(0)  # the overdue timer runs first
    after = await scrape(http, server)

    def above(samples: Samples) -> float:
        total = value(samples, "hubbub_event_loop_lag_seconds_count")
        return total - value(samples, "hubbub_event_loop_lag_seconds_bucket", le="0.25")

    assert above(after) - above(before) >= 1
    assert value(after, "hubbub_event_loop_lag_seconds_sum") - value(before, "hubbub_event_loop_lag_seconds_sum") >= 0.3


# -- /healthz ---------------------------------------------------------------------------------------


async def test_healthz_is_unavailable_while_the_server_shuts_down(make_server, http, clients) -> None:
    """docs/operators.md: 503 "while the server shuts down". Asked over a connection
    opened before, while a client that reads nothing holds the shutdown up."""
    server = await make_server(WEB)
    status, _, _ = await fetch(http, server, "/healthz")
    assert status == 200
    alice = await connected(server, "alice", "#big")
    clients.append(alice)
    stuck = await stuck_socket(server)
    stuck.send(b"NICK stuck\r\nUSER u 0 * :s\r\nJOIN #big\r\n")
    await alice.expect("JOIN", "#big")
    for _ in range(100):
        alice.send("PRIVMSG #big :" + "x" * 400)  # ~45 KB the stuck client will not read
    await sync(alice)
    stopping = asyncio.ensure_future(server.stop())
    try:
        await alice.expect("ERROR")
        status, _, body = await fetch(http, server, "/healthz")
        assert status == 503
        assert b'"status": "unavailable"' in body
    finally:
        await stopping
        stuck.close()


async def test_healthz_follows_a_postgresql_store_that_goes_away_and_comes_back(
    postgres_server, postgres_url, make_server, http, clients
) -> None:
    """`"checks": {"store": false}`, degraded but ready (200: chat goes on), while the
    database refuses connections; ok again once it accepts them, without a restart."""
    server = await make_server(WEB, f"store.db='{postgres_url}'")
    alice = await connected(server, "alice", "#c")
    clients.append(alice)
    status, _, _ = await fetch(http, server, "/healthz")
    assert status == 200
    database = urlparse(postgres_url).path.lstrip("/")
    postgres_server.sql(f"ALTER DATABASE {database} ALLOW_CONNECTIONS false")
    try:
        postgres_server.sql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}'")
        status, _, body = await fetch(http, server, "/healthz")
        assert status == 200
        assert b'"store": false' in body and b'"status": "degraded"' in body
    finally:
        postgres_server.sql(f"ALTER DATABASE {database} ALLOW_CONNECTIONS true")
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        status, _, body = await fetch(http, server, "/healthz")
        if b'"status": "ok"' in body or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.1)  # the pool reconnects when asked
    assert status == 200 and b'"status": "ok"' in body, body


# -- TLS ------------------------------------------------------------------------------------------


def _resume(address: tuple[str, int], context: ssl.SSLContext, nick: str, session: ssl.SSLSession | None):
    """Blocking: connect (resuming `session` if given), register, WHOIS oneself; the
    socket's session, whether it was resumed, and the 276 lines."""
    with (
        socket.create_connection(address, timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=address[0], session=session) as conn,
    ):
        conn.sendall(f"NICK {nick}\r\nUSER u 0 * :r\r\nWHOIS {nick}\r\nQUIT\r\n".encode())
        data = b""
        while b" 318 " not in data:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
        lines = [line for line in data.decode().split("\r\n") if f" 276 {nick} {nick} " in line]
        return conn.session, conn.session_reused, lines


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3], ids=["tls1.2", "tls1.3"])
async def test_a_resumed_session_keeps_its_client_certificate(make_server, tmp_path, version) -> None:
    """A client that resumes its TLS session (as real clients do on reconnecting) shows
    no certificate again; the server must still know its fingerprint (WHOIS 276)."""
    server = await make_server(*tls_overrides(tmp_path))
    cert = make_client_cert(tmp_path, "resumer")
    context = server_context(tmp_path)
    context.maximum_version = version
    context.load_cert_chain(cert.cert, cert.key)
    address = server.tls_address()
    session, reused, lines = await asyncio.to_thread(_resume, address, context, "first", None)
    assert not reused and lines and lines[0].endswith(cert.fingerprint)
    _, reused, lines = await asyncio.to_thread(_resume, address, context, "second", session)
    assert reused  # the premise: the session was resumed
    assert lines and lines[0].endswith(f"has client certificate fingerprint {cert.fingerprint}")


async def test_the_fingerprint_is_the_leaf_s_when_a_chain_is_presented(make_server, tmp_path, clients) -> None:
    """A client certificate issued by a CA of its own, presented with that CA: CertFP is
    the SHA-256 of the client's own certificate, not of its issuer's."""
    server = await make_server(*tls_overrides(tmp_path))
    now = datetime.datetime.now(datetime.UTC)

    def certificate(name: str, issuer: str, key, signer, ca: bool) -> x509.Certificate:
        return (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(signer, hashes.SHA256())
        )

    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = certificate("my ca", "my ca", ca_key, ca_key, True)
    leaf = certificate("chained", "my ca", leaf_key, ca_key, False)
    chain, key = tmp_path / "chain.pem", tmp_path / "leaf.key"
    chain.write_bytes(leaf.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(leaf_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    context = server_context(tmp_path)
    context.load_cert_chain(chain, key)
    client = LineClient(*await asyncio.open_connection(*server.tls_address(), ssl=context))
    clients.append(client)
    await client.register("chained")
    client.send("WHOIS chained")
    shown = [m.params[-1] for m in await client.collect_until("318") if m.command == "276"]
    assert shown == [f"has client certificate fingerprint {leaf.fingerprint(hashes.SHA256()).hex()}"]


async def test_rehash_turning_client_certs_off_applies_to_new_connections_only(
    make_oper_server, oper_hash, tmp_path, clients
) -> None:
    """docs/operators.md "Client certificates": `false`: no client is asked, EXTERNAL is
    never offered; "A REHASH applies a change to new connections"."""
    tls = (f'[listen]\ntls = ["127.0.0.1:0"]\n[tls]\nself_signed = true\nsts = false\n'
           f'cert = "{tmp_path / "cert.pem"}"\nkey = "{tmp_path / "key.pem"}"\n')  # fmt: skip
    server = await make_oper_server(toml=oper_toml(oper_hash) + tls)
    ircop = await an_oper(server)
    cert = make_client_cert(tmp_path, "holder")
    old = await tls_connect(server, tmp_path / "cert.pem", cert)
    clients.extend([ircop, old])
    _, offered = await cap_ls(old)
    assert offered["sasl"].startswith("EXTERNAL,")
    old.send("CAP END")
    await old.register("old")
    Path(server.config_name).write_text(oper_toml(oper_hash) + tls + "client_certs = false\n", encoding="utf-8")
    ircop.send("REHASH")
    await ircop.expect("NOTICE", "ircop", "*** Configuration reloaded")
    new = await tls_connect(server, tmp_path / "cert.pem", cert)
    clients.append(new)
    _, offered = await cap_ls(new)
    assert "EXTERNAL" not in offered["sasl"].split(",")
    new.send("CAP END")
    await new.register("new")
    for nick, shown in (("old", True), ("new", False)):
        ircop.send(f"WHOIS {nick}")
        lines = [m.params[-1] for m in await ircop.collect_until("318") if m.command == "276"]
        assert lines == ([f"has client certificate fingerprint {cert.fingerprint}"] if shown else []), nick


async def test_a_certificate_renewed_in_place_serves_irc_and_https_and_a_bad_pair_is_refused(
    make_oper_server, oper_hash, tmp_path, clients
) -> None:
    """docs/operators.md: "To renew a real certificate, replace the files and REHASH": new
    TLS connections, HTTPS ones too, get the new pair; a certificate that does not match
    its key is `FAIL REHASH CONFIG_ERROR` and the old pair goes on being served."""
    cert, key = tmp_path / "live.pem", tmp_path / "live.key"
    generate_self_signed(cert, key, "hubbub.local")
    shutil.copy(cert, tmp_path / "old.pem")
    generate_self_signed(tmp_path / "new.pem", tmp_path / "new.key", "hubbub.local")
    toml = f'[listen]\ntls = ["127.0.0.1:0"]\n[tls]\nsts = false\ncert = "{cert}"\nkey = "{key}"\n[web]\ntls = true\n'
    server = await make_oper_server(WEB, toml=oper_toml(oper_hash) + toml)
    ircop = await an_oper(server)
    clients.append(ircop)

    async def irc_with(trusted: Path, nick: str) -> LineClient:
        context = ssl.create_default_context(cafile=str(trusted))
        client = LineClient(*await asyncio.open_connection(*server.tls_address(), ssl=context))
        clients.append(client)
        await client.register(nick)
        return client

    async def https_with(trusted: Path) -> int:
        context = ssl.create_default_context(cafile=str(trusted))
        async with aiohttp.ClientSession() as session, session.get(server.web_url("/healthz"), ssl=context) as r:
            return r.status

    before = await irc_with(tmp_path / "old.pem", "before")
    shutil.copy(tmp_path / "new.pem", cert)  # the new certificate, the old key still
    ircop.send("REHASH")
    failed = await ircop.expect("FAIL", "REHASH", "CONFIG_ERROR")
    assert str(cert) in failed.params[-1]
    await irc_with(tmp_path / "old.pem", "still")
    assert await https_with(tmp_path / "old.pem") == 200
    shutil.copy(tmp_path / "new.key", key)
    ircop.send("REHASH")
    await ircop.expect("NOTICE", "ircop", "*** Configuration reloaded")
    await irc_with(tmp_path / "new.pem", "renewed")
    assert await https_with(tmp_path / "new.pem") == 200
    with pytest.raises(ssl.SSLCertVerificationError):
        await irc_with(tmp_path / "old.pem", "stale")
    before.send("PING still-here")
    await before.expect("PONG")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
async def test_a_person_with_openssl_s_client_chats_in_plain_mode(make_server, tmp_path, clients) -> None:
    """README: the plain text mode on the TLS port too, from `openssl s_client` (lines
    ending in LF alone, as a terminal sends them)."""
    server = await make_server(*tls_overrides(tmp_path))
    alice = await connected(server, "alice", "#lobby")
    clients.append(alice)
    host, port = server.tls_address()
    person = await asyncio.create_subprocess_exec(
        "openssl", "s_client", "-quiet", "-verify_return_error", "-CAfile", str(tmp_path / "cert.pem"),
        "-connect", f"{host}:{port}",
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    assert person.stdin is not None and person.stdout is not None

    async def read_until(text: bytes) -> bytes:
        while True:
            line = await asyncio.wait_for(person.stdout.readline(), 10)
            assert line, "s_client ended"
            if text in line:
                return line

    try:
        await read_until(b"Type a nickname")
        person.stdin.write(b"sam\n")
        await read_until(b"* You joined #lobby")
        person.stdin.write(b"hello from a terminal\n")
        said = await alice.expect("PRIVMSG", "#lobby")
        assert said.source.startswith("sam!") and said.params[1] == "hello from a terminal"
        alice.send("PRIVMSG #lobby :hi sam")
        assert (await read_until(b"hi sam")).rstrip(b"\r\n").endswith(b"alice: hi sam")
        person.stdin.write(b"/exit\n")
        await read_until(b"*** Disconnected: Quit")
        assert await asyncio.wait_for(person.wait(), 10) == 0
    finally:
        if person.returncode is None:
            person.kill()
            await person.wait()


async def test_garbage_after_the_handshake_ends_only_that_connection(make_server, tmp_path, http, clients) -> None:
    """Bytes that are no TLS record, on an established TLS connection: that client is
    gone (its peers see it quit), everyone else goes on, nothing stays counted."""
    server = await make_server(*tls_overrides(tmp_path))
    alice = await connected(server, "alice", "#c")
    clients.append(alice)
    context = server_context(tmp_path)

    def break_the_stream() -> bytes:
        with socket.create_connection(server.tls_address(), timeout=10) as raw:
            conn = context.wrap_socket(raw, server_hostname="127.0.0.1")
            conn.sendall(b"NICK broken\r\nUSER u 0 * :b\r\nJOIN #c\r\n")
            data = b""
            while b" 366 " not in data:
                data += conn.recv(65536)
            with socket.socket(fileno=os.dup(conn.fileno())) as under:  # beneath TLS
                under.settimeout(10)
                under.sendall(b"\x17\x03\x03\x00\x20" + b"A" * 32)  # a record that cannot decrypt
                rest = b""
                try:
                    while chunk := under.recv(65536):
                        rest += chunk
                except ConnectionResetError:
                    pass
            conn.close()
            return rest

    await asyncio.to_thread(break_the_stream)
    quit_ = await alice.expect("QUIT")
    assert quit_.source.startswith("broken!")
    alice.send("PRIVMSG #c :still here")
    await sync(alice)
    samples = await scrape(http, server)
    assert value(samples, "hubbub_connections", transport="tls") == 0
    assert value(samples, "hubbub_users") == 1


async def test_sts_over_websocket_follows_ws_or_wss(make_server, tmp_path) -> None:
    """docs/operators.md "HTTPS on the web listener": over ws:// the policy plaintext
    clients get (`port=`), over wss:// the persistence policy (`duration=` alone)."""
    for web_tls in (False, True):
        pair = ca_signed_pair(tmp_path / str(web_tls))  # STS only with a certificate clients can verify
        server = await make_server(
            *tls_overrides(
                tmp_path / str(web_tls), "tls.self_signed=false", f"tls.cert={pair.cert}", f"tls.key={pair.key}",
                "tls.sts=true", "tls.sts_duration=77", f"web.tls={str(web_tls).lower()}",
            )
        )  # fmt: skip
        context = ssl.create_default_context(cafile=str(pair.ca)) if web_tls else False
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(server.web_url("/webirc"), protocols=("text.ircv3.net",), ssl=context)
            client = WsClient(session, ws)
            await client.send("CAP LS 302")
            offered: dict[str, str] = {}
            while True:
                reply = await client.expect("CAP")
                for token in reply.params[-1].split():
                    name, _, val = token.partition("=")
                    offered[name] = val
                if reply.params[2] != "*":
                    break
            await ws.close()
        expected = "duration=77" if web_tls else f"port={server.tls_address()[1]},duration=77"
        assert offered.get("sts") == expected, web_tls


# -- TLS: bugs -------------------------------------------------------------------------------------


def _renegotiate(address: tuple[str, int]) -> str:
    """Blocking, with pyOpenSSL (Python's ssl cannot renegotiate): a TLS 1.2 client that
    registers, then asks to renegotiate and waits up to 3 s for the server's answer."""
    context = SSL.Context(SSL.TLS_CLIENT_METHOD)
    context.set_max_proto_version(SSL.TLS1_2_VERSION)
    sock = socket.create_connection(address)
    sock.settimeout(None)  # blocking, for OpenSSL; reads give up after SO_RCVTIMEO
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 3, 0))
    try:
        conn = SSL.Connection(context, sock)
        conn.set_connect_state()
        conn.do_handshake()
        conn.sendall(b"NICK rene\r\nUSER u 0 * :r\r\n")
        data = b""
        while b" 376 " not in data and b" 422 " not in data:
            data += conn.recv(65536)
        conn.renegotiate()
        try:
            conn.do_handshake()
        except SSL.WantReadError:
            return "no answer"
        except SSL.ZeroReturnError:
            return "closed"
        except SSL.SysCallError as exc:
            return "no answer" if exc.args and exc.args[0] in (errno.EAGAIN, errno.EWOULDBLOCK) else "closed"
        except SSL.Error as exc:
            return f"refused: {exc}"
        return "renegotiated"
    finally:
        sock.close()


async def test_a_renegotiation_request_is_answered_not_left_hanging(make_server, tmp_path, http) -> None:
    """The server refuses renegotiation (tls.py: OP_NO_RENEGOTIATION); the client must hear
    so (a no_renegotiation alert, or the connection closed), not wait on a silent server."""
    server = await make_server(*tls_overrides(tmp_path))
    outcome = await asyncio.to_thread(_renegotiate, server.tls_address())
    status, _, _ = await fetch(http, server, "/healthz")
    assert status == 200  # whatever happened, the server is fine
    assert outcome != "no answer"


@pytest.mark.parametrize(
    "kind",
    [
        "tcp",
        "tls",
    ],
)  # fmt: skip
async def test_lines_sent_before_the_client_closes_are_all_handled(make_server, tmp_path, clients, kind) -> None:
    """README "flood control": extra lines "wait, they are not dropped". A bot that pastes
    20 lines, says QUIT and closes its connection at once: every line reaches the
    channel, then its QUIT with its reason."""
    server = await make_server(
        *tls_overrides(tmp_path, "limits.flood_control=true", "limits.flood_burst=5", "limits.flood_rate=50")
    )
    peer = await connected(server, "peer", "#c")
    clients.append(peer)
    if kind == "tls":
        leaving = LineClient(*await asyncio.open_connection(*server.tls_address(), ssl=server_context(tmp_path)))
    else:
        leaving = await LineClient.connect(server)
    await leaving.register("paster")
    await leaving.join("#c")
    await peer.expect("JOIN", "#c")
    for i in range(20):
        leaving.send(f"PRIVMSG #c :line {i}")
    leaving.send("QUIT :done pasting")
    await leaving.writer.drain()
    leaving.writer.close()  # for TLS: close_notify, then the end
    got = []
    while (message := await peer.expect(lambda m: m.command in ("PRIVMSG", "QUIT"))).command == "PRIVMSG":
        got.append(message.params[1])
    assert got == [f"line {i}" for i in range(20)]
    assert message.params == ["Quit: done pasting"]


async def closed_by_server(sock: socket.socket, timeout: float) -> bool:
    """Whether the server ends `sock` within `timeout` seconds (whatever it sends first)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        while (left := deadline - loop.time()) > 0:
            if not await asyncio.wait_for(loop.sock_recv(sock, 4096), left):
                return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        pass
    return False


async def test_rehash_lowering_the_handshake_timeout_applies_to_handshakes_begun_after_it(
    make_oper_server, oper_hash, tmp_path, clients
) -> None:
    """docs/operators.md "REHASH and SIGHUP": an operator lowers tls_handshake_timeout
    from 60 to 0.5 s, as against connections that open a TLS handshake and never finish
    it: handshakes begun after the reload get the new one (those under way keep theirs,
    which the docs say)."""
    tls = (f'[listen]\ntls = ["127.0.0.1:0"]\n[tls]\nself_signed = true\nsts = false\n'
           f'cert = "{tmp_path / "cert.pem"}"\nkey = "{tmp_path / "key.pem"}"\n')  # fmt: skip
    path_text = oper_toml(oper_hash) + tls
    server = await make_oper_server(toml=path_text + "[limits]\ntls_handshake_timeout = 60\n")
    ircop = await an_oper(server)
    clients.append(ircop)
    loop = asyncio.get_running_loop()
    opened: list[socket.socket] = []
    try:
        for _ in range(2):
            if opened:  # the second one after the reload
                lowered = path_text + "[limits]\ntls_handshake_timeout = 0.5\n"
                Path(server.config_name).write_text(lowered, encoding="utf-8")
                ircop.send("REHASH")
                await ircop.expect("NOTICE", "ircop", "*** Configuration reloaded")
            sock = socket.socket()
            sock.setblocking(False)
            await loop.sock_connect(sock, server.tls_address())
            opened.append(sock)
        assert await closed_by_server(opened[1], 6)  # a handshake begun after the reload: 0.5 s
    finally:
        for sock in opened:
            sock.close()
