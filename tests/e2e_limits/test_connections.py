"""Connections count from the moment they are accepted, TLS ones during their handshake
too; a handshake that never ends is dropped; every connection and refusal is logged, at
a bounded rate."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import ssl
from pathlib import Path

import pytest

from hubbub.app import Runtime
from tests.helpers import DEFAULT_HASH, LineClient, connected, sync

SLOW_WAIT = 10.0


def tls_overrides(tmp_path: Path, *more: str) -> list[str]:
    return [
        "listen.tls=['127.0.0.1:0']", "tls.self_signed=true",
        f"tls.cert={tmp_path / 'cert.pem'}", f"tls.key={tmp_path / 'key.pem'}", *more,
    ]  # fmt: skip


async def silent_socket(runtime: Runtime) -> socket.socket:
    """A TCP connection to the TLS port that never sends its ClientHello."""
    host, port = runtime.tls_address()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (host, port))
    return sock


async def ends_without_a_byte(sock: socket.socket, timeout: float = SLOW_WAIT) -> bool:
    """Whether the server closes `sock` having sent nothing (a reset counts as closing)."""
    try:
        data = await asyncio.wait_for(asyncio.get_running_loop().sock_recv(sock, 1024), timeout)
    except ConnectionResetError:
        return True
    finally:
        sock.close()
    return data == b""


async def tls_client(runtime: Runtime, tmp_path: Path, nick: str) -> LineClient:
    context = ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))
    host, port = runtime.tls_address()
    reader, writer = await asyncio.open_connection(host, port, ssl=context, limit=1 << 20)
    client = LineClient(reader, writer)
    await client.register(nick)
    return client


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        (("limits.max_clients_per_ip=3",), "Too many connections from your IP address"),
        (("limits.max_clients=3", "limits.max_clients_per_ip=0"), "Server is full"),
    ],
    ids=["per-ip", "server-full"],
)
async def test_tls_connections_in_their_handshake_count_against_the_limits(
    make_server, tmp_path, clients, overrides, reason
) -> None:
    server = await make_server(*tls_overrides(tmp_path, "limits.tls_handshake_timeout=60", *overrides))
    idle = [await silent_socket(server) for _ in range(2)]
    plain = await connected(server, "plain")  # accepted after the two idle ones: they are counted
    clients.append(plain)
    refused = await LineClient.connect(server)
    assert await refused.closed() == [f"ERROR :Closing Link: 127.0.0.1 ({reason})"]
    assert await ends_without_a_byte(await silent_socket(server))  # a TLS client cannot read plain text
    idle.pop().close()  # a slot frees as a half-open handshake ends
    await sync(plain)  # the server has seen it go
    secure = await tls_client(server, tmp_path, "secure")
    clients.append(secure)
    await sync(secure)
    for sock in idle:
        sock.close()


async def test_a_tls_handshake_that_never_ends_is_dropped_after_the_timeout(make_server, tmp_path, clients) -> None:
    server = await make_server(
        *tls_overrides(tmp_path, "limits.tls_handshake_timeout=0.5", "limits.max_clients_per_ip=1")
    )
    assert await ends_without_a_byte(await silent_socket(server))  # not the test's 60 s: the server's 0.5
    secure = await tls_client(server, tmp_path, "secure")  # its slot was freed
    clients.append(secure)
    await sync(secure)
    assert len(server.connections) == 1


async def test_a_failed_handshake_frees_its_slot(make_server, tmp_path, clients) -> None:
    server = await make_server(*tls_overrides(tmp_path, "limits.max_clients_per_ip=1"))
    host, port = server.tls_address()
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"NICK not-tls\r\n" * 20)  # not a ClientHello: the handshake fails
    assert (await reader.read()).startswith(b"ERROR :This port takes TLS connections only")  # then closed
    writer.close()
    secure = await tls_client(server, tmp_path, "secure")
    clients.append(secure)
    await sync(secure)


async def test_connections_registrations_and_departures_are_logged_without_contents(
    make_server, clients, caplog
) -> None:
    caplog.set_level(logging.INFO, logger="hubbub.audit")
    server = await make_server("limits.max_clients_per_ip=1")
    alice = await connected(server, "alice", "#c")
    alice.send("PRIVMSG #c :a secret nobody logs")
    refused = await LineClient.connect(server)
    assert "Too many connections" in (await refused.closed())[0]
    alice.send("QUIT :my private goodbye")
    await alice.closed()
    await sync(await connected(server, "bob"))  # after alice's departure
    lines = [r.getMessage() for r in caplog.records if r.name == "hubbub.audit"]
    assert lines[:4] == [
        "connection from 127.0.0.1",
        "registered alice!~u@127.0.0.1 [127.0.0.1]",
        "refused a connection from 127.0.0.1: Too many connections from your IP address",
        "disconnected alice!~u@127.0.0.1 [127.0.0.1] (Quit)",
    ], lines
    assert not any("secret" in line or "goodbye" in line for line in lines)


async def test_a_stop_logs_each_users_departure_with_its_reason(make_server, clients, caplog) -> None:
    """No UserQuit is applied for the users a stopping server disconnects (it would tell
    every remaining member of each channel of every earlier leaver): their lines in the
    log are written as they are let go."""
    caplog.set_level(logging.INFO, logger="hubbub.audit")
    server = await make_server()
    alice = await connected(server, "alice", "#c")
    bob = await connected(server, "bob", "#c")
    unnamed = await LineClient.connect(server)
    unnamed.send("PING x")  # an IRC client that has not registered
    await unnamed.expect("PONG")
    clients.extend([alice, bob, unnamed])
    await server.stop()
    lines = [r.getMessage() for r in caplog.records if r.name == "hubbub.audit" and "disconnected" in r.getMessage()]
    assert sorted(lines) == [
        "disconnected [127.0.0.1] before registering (Server shutting down)",
        "disconnected alice!~u@127.0.0.1 [127.0.0.1] (Server shutting down)",
        "disconnected bob!~u@127.0.0.1 [127.0.0.1] (Server shutting down)",
    ], lines


async def test_a_flood_of_refusals_is_logged_at_a_bounded_rate_and_counted(make_server, clients, caplog) -> None:
    caplog.set_level(logging.INFO, logger="hubbub.audit")
    server = await make_server("limits.max_clients=1")
    first = await connected(server, "first")
    clients.append(first)
    for _ in range(30):
        refused = await LineClient.connect(server)
        assert (await refused.closed()) == ["ERROR :Closing Link: 127.0.0.1 (Server is full)"]
    server.services.audit.flush()  # what the periodic sweep does
    lines = [r.getMessage() for r in caplog.records if "refused" in r.getMessage() or "not logged" in r.getMessage()]
    logged = [line for line in lines if line.startswith("refused")]
    assert 1 <= len(logged) <= 10  # one per second of the test, at most
    assert lines[-1] == f"{30 - len(logged)} more 'refused: Server is full' lines not logged (rate limited)"


async def test_a_tls_client_s_lines_wait_past_the_recvq_while_the_server_works_for_it(
    make_server, tmp_path, clients
) -> None:
    """Over TLS as over TCP, input held for the client (a password being hashed) stops the
    reading of the socket past the recvq rather than dropping the client. The burst spans
    several TLS records, cut anywhere by TCP: every line comes out, in order."""
    server = await make_server(*tls_overrides(tmp_path, "limits.recvq=1024"), *DEFAULT_HASH)  # a hash that takes time
    alice = await tls_client(server, tmp_path, "alice")
    bob = await connected(server, "bob", "#c")
    clients.extend([alice, bob])
    await alice.join("#c")
    total = 2000  # about 50 KB: three full TLS records and more, fifty times the recvq
    alice.send("NICKSERV REGISTER correct-horse-battery")
    alice.send("".join(f"PRIVMSG #c :waiting {i}\r\n" for i in range(total)))
    last = f"waiting {total - 1}"
    await bob.expect(lambda m: m.command == "PRIVMSG" and m.params[1] == last, timeout=SLOW_WAIT * 3)
    assert [m.params[1] for m in bob.received if m.command == "PRIVMSG"] == [f"waiting {i}" for i in range(total)]
    assert not [m for m in await sync(alice) if m.command == "ERROR"]


async def test_reconnecting_in_a_loop_is_paced(make_server, clients) -> None:
    """limits.connects_per_ip: connections that come and go from one address, never
    more than one at a time, are refused past the number per window, with the wait;
    another address (127.0.0.2, listed in connect_exempt) goes on."""
    server = await make_server("limits.connects_per_ip=3", "limits.connect_window=600",
                               "limits.connect_exempt=['127.0.0.2/32']")  # fmt: skip
    for i in range(3):
        client = await connected(server, f"loop{i}")
        client.send("QUIT")
        await client.closed()
    refused = await LineClient.connect(server)
    clients.append(refused)
    (line,) = await refused.closed()
    assert re.fullmatch(r"ERROR :Closing Link: 127\.0\.0\.1 \(Too many connections from your IP address "
                        r"lately; try again in \d+ seconds\)", line), line  # fmt: skip
    host, port = server.irc_address()
    reader, writer = await asyncio.open_connection(host, port, local_addr=("127.0.0.2", 0))
    exempt = LineClient(reader, writer)
    clients.append(exempt)
    await exempt.register("exempt")
