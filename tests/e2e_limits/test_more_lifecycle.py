"""More of a connection's life, black-box over real sockets: timeouts, queues, flood
control, connection counts, half-closed and vanishing clients, and the TLS side."""

from __future__ import annotations

import asyncio
import socket
import ssl
import struct
from pathlib import Path

import pytest

from hubbub.app import Runtime
from tests.ca_signed import ca_signed_pair
from tests.client_certs import make_client_cert, tls_connect
from tests.e2e_accounts.support import b64, registered_account
from tests.helpers import (
    DEFAULT_HASH,
    LineClient,
    cap_ls,
    connected,
    expect_answering_pings,
    stuck_socket,
    sync,
)

WAIT = 5.0
SLOW_WAIT = 10.0
FLOOD = ("limits.flood_control=true",)
PING_FAST = ("limits.ping_interval=0.3", "limits.ping_timeout=0.6")


def tls_overrides(tmp_path: Path, *more: str) -> list[str]:
    return [
        "listen.tls=['127.0.0.1:0']", "tls.self_signed=true",
        f"tls.cert={tmp_path / 'cert.pem'}", f"tls.key={tmp_path / 'key.pem'}", *more,
    ]  # fmt: skip


async def tls_client(runtime: Runtime, tmp_path: Path, nick: str | None = None, ca: str = "cert.pem") -> LineClient:
    context = ssl.create_default_context(cafile=str(tmp_path / ca))
    host, port = runtime.tls_address()
    reader, writer = await asyncio.open_connection(host, port, ssl=context, limit=1 << 20)
    client = LineClient(reader, writer)
    if nick:
        await client.register(nick)
    return client


def errors(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("ERROR ")]


async def room(runtime: Runtime, *nicks: str, channel: str = "#c") -> list[LineClient]:
    """Clients in `channel`, each having seen every later one join."""
    people = []
    for nick in nicks:
        person = await connected(runtime, nick, channel)
        for earlier in people:
            await earlier.expect("JOIN", channel)
        people.append(person)
    return people


async def still_serves(runtime: Runtime) -> None:
    one, two = await room(runtime, "still1", "still2", channel="#still")
    one.send("PRIVMSG #still :still here")
    assert (await two.expect("PRIVMSG", "#still")).params[1] == "still here"
    await one.close()
    await two.close()


# -- registration timeout ------------------------------------------------------------------


async def test_registration_timeout_during_cap_negotiation(make_server, clients) -> None:
    """NICK and USER sent, but CAP END never: the registration deadline still applies."""
    server = await make_server("limits.registration_timeout=0.5")
    slow = await LineClient.connect(server)
    slow.send("CAP LS 302")
    slow.send("NICK capper")
    slow.send("USER u 0 * :never ends CAP")
    lines = await slow.closed(timeout=SLOW_WAIT)
    assert "001" not in " ".join(lines)
    assert errors(lines) == ["ERROR :Closing Link: 127.0.0.1 (Registration timed out)"], lines
    await still_serves(server)


async def test_registration_timeout_frees_the_nick_and_the_slot(make_server, clients) -> None:
    server = await make_server("limits.registration_timeout=0.5", "limits.max_clients_per_ip=1")
    slow = await LineClient.connect(server)
    slow.send("NICK holder")  # holds the nick while unregistered
    await slow.closed(timeout=SLOW_WAIT)
    again = await connected(server, "holder")  # the slot and the nick are free
    clients.append(again)
    await sync(again)


# -- ping ------------------------------------------------------------------------------------


async def test_any_line_counts_as_activity_not_only_pong(make_server, clients) -> None:
    server = await make_server(*PING_FAST)
    alice = await connected(server, "alice")
    clients.append(alice)
    for _ in range(6):  # well past interval + timeout, never answering PING itself
        alice.send("PING keepalive")
        await alice.expect("PONG")
        await asyncio.sleep(0.2)
    assert not errors(alice.raw)


async def test_ping_timeout_error_and_quit_reason_agree(make_server, clients) -> None:
    server = await make_server(*PING_FAST)
    alice = await connected(server, "alice", "#c")
    bob = await connected(server, "bob", "#c")
    clients.append(alice)
    lines, quit_msg = await asyncio.gather(
        bob.closed(timeout=SLOW_WAIT), expect_answering_pings(alice, "QUIT", timeout=SLOW_WAIT)
    )
    (error,) = errors(lines)
    assert error.startswith("ERROR :Closing Link: 127.0.0.1 (Ping timeout: ") and error.endswith(" seconds)"), error
    assert quit_msg.params[0].startswith("Ping timeout: ") and quit_msg.params[0].endswith(" seconds")
    # the reason in the ERROR is the one others see
    assert error == f"ERROR :Closing Link: 127.0.0.1 ({quit_msg.params[0]})"


async def test_ping_timeout_over_tls(make_server, tmp_path, clients) -> None:
    server = await make_server(*tls_overrides(tmp_path, *PING_FAST))
    alice = await connected(server, "alice", "#c")
    clients.append(alice)
    secure = await tls_client(server, tmp_path, "secure")
    secure.send("JOIN #c")
    await secure.expect("366")
    lines, quit_msg = await asyncio.gather(
        secure.closed(timeout=SLOW_WAIT), expect_answering_pings(alice, "QUIT", timeout=SLOW_WAIT)
    )
    assert any(line.startswith("PING ") or " PING " in line for line in lines), lines
    assert quit_msg.source.startswith("secure!") and quit_msg.params[0].startswith("Ping timeout")


# -- sendq -------------------------------------------------------------------------------------


async def test_a_tls_client_that_does_not_read_is_dropped_by_its_sendq(make_server, tmp_path, clients) -> None:
    server = await make_server(*tls_overrides(tmp_path, "limits.sendq=16384", "limits.send_buffer=16384"))
    reader, flooder = await room(server, "reader", "flooder")
    clients.extend([reader, flooder])
    context = ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))
    host, port = server.tls_address()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, port))
    sock.setblocking(False)
    r, w = await asyncio.open_connection(sock=sock, ssl=context, server_hostname=host, limit=1 << 20)
    w.write(b"NICK stuck\r\nUSER s 0 * :never reads\r\nJOIN #c\r\n")
    await reader.expect("JOIN", "#c")
    padding = "x" * 400
    for batch in range(300):
        flooder.send("".join(f"PRIVMSG #c :{batch}.{i} {padding}\r\n" for i in range(20)))
        got = 0
        while got < 20:
            msg = await reader.expect(lambda m: m.command in ("PRIVMSG", "QUIT"), timeout=WAIT)
            if msg.command == "QUIT":
                assert msg.source.startswith("stuck!") and msg.params[0] == "SendQ exceeded"
                w.transport.abort()
                await still_serves(server)
                return
            got += 1
    w.transport.abort()
    raise AssertionError("the TLS client that never reads was never dropped")


async def test_own_output_past_the_sendq_drops_the_client_with_error(make_server, clients) -> None:
    """A client that asks for a lot (here: many long NAMES) and does not read is dropped
    by its own replies too; the ERROR says so."""
    server = await make_server("limits.sendq=8192", "limits.send_buffer=4096")
    watcher = await connected(server, "watcher", "#w")
    clients.append(watcher)
    stuck = await stuck_socket(server, rcvbuf=2048)
    loop = asyncio.get_running_loop()
    await loop.sock_sendall(stuck, b"NICK asker\r\nUSER a 0 * :asks\r\nJOIN #w\r\n")
    await watcher.expect("JOIN", "#w")
    await loop.sock_sendall(stuck, b"".join(b"MOTD\r\nVERSION\r\nINFO\r\n" for _ in range(300)))
    quit_msg = await watcher.expect("QUIT", timeout=SLOW_WAIT)
    assert quit_msg.source.startswith("asker!") and quit_msg.params[0] == "SendQ exceeded"
    stuck.close()


# -- flood control ------------------------------------------------------------------------------


async def test_pasting_at_the_burst_is_never_delayed_nor_dropped(make_server, clients) -> None:
    server = await make_server(*FLOOD, "limits.flood_burst=10", "limits.flood_rate=1", "limits.recvq=4096")
    alice, bob = await room(server, "alice", "bob")
    clients.extend([alice, bob])
    alice.send("".join(f"PRIVMSG #c :paste {i}\r\n" for i in range(10)))
    for i in range(10):
        assert (await bob.expect("PRIVMSG", "#c", timeout=WAIT)).params[1] == f"paste {i}"
    assert not errors(alice.raw)


async def test_a_paste_just_under_the_recvq_is_delayed_not_dropped(make_server, clients) -> None:
    recvq = 2048
    server = await make_server(*FLOOD, "limits.flood_burst=2", "limits.flood_rate=50", f"limits.recvq={recvq}")
    alice, bob = await room(server, "alice", "bob")
    clients.extend([alice, bob])
    lines = [f"PRIVMSG #c :{i:03d} {'y' * 70}" for i in range(20)]
    assert sum(len(line) for line in lines) < recvq - 200
    alice.send("".join(line + "\r\n" for line in lines))
    for i in range(20):
        assert (await bob.expect("PRIVMSG", "#c", timeout=SLOW_WAIT)).params[1].startswith(f"{i:03d} ")
    assert not [m for m in await sync(alice) if m.command == "ERROR"]


async def test_excess_flood_error_text_and_nick_is_freed(make_server, clients) -> None:
    server = await make_server(*FLOOD, "limits.flood_rate=1", "limits.recvq=2048")
    alice, bob = await room(server, "alice", "bob")
    clients.append(bob)
    alice.send("".join(f"PRIVMSG #c :flood {i} {'z' * 50}\r\n" for i in range(200)))
    lines = await alice.closed(timeout=WAIT)
    assert errors(lines) == ["ERROR :Closing Link: 127.0.0.1 (Excess Flood)"], errors(lines)
    assert (await bob.expect("QUIT")).params[0] == "Excess Flood"
    again = await connected(server, "alice")
    clients.append(again)


async def test_lines_waiting_in_the_flood_queue_are_not_silence(make_server, clients) -> None:
    server = await make_server(*FLOOD, "limits.flood_burst=5", "limits.flood_rate=1", *PING_FAST)
    alice, bob = await room(server, "alice", "bob")
    clients.extend([alice, bob])
    bob.send("".join(f"PRIVMSG #c :paced {i}\r\n" for i in range(6)))  # 6 lines: well within the recvq

    async def bob_answers() -> None:
        while True:  # bob answers every PING until alice has everything
            message = await bob.read_message(SLOW_WAIT)
            if message is None:
                return
            if message.command == "PING":
                bob.send(f"PONG :{message.params[-1]}")

    answering = asyncio.ensure_future(bob_answers())
    try:
        for i in range(6):
            msg = await expect_answering_pings(alice, lambda m: m.command in ("PRIVMSG", "QUIT"), timeout=SLOW_WAIT)
            assert msg.command == "PRIVMSG", f"bob was dropped after {i} lines: {msg.params}"
            assert msg.params[1] == f"paced {i}"
    finally:
        answering.cancel()
    assert not errors(bob.raw)


# -- connection counts ---------------------------------------------------------------------------


async def test_per_ip_limit_zero_means_no_limit(make_server, clients) -> None:
    server = await make_server("limits.max_clients_per_ip=0", "limits.max_clients=0")
    many = [await connected(server, f"n{i}") for i in range(20)]  # more than the default 16
    clients.extend(many)
    for client in many[::5]:
        await sync(client)


async def test_ipv6_loopback_is_served_and_limited_per_address(make_server, clients) -> None:
    server = await make_server("listen.irc=['[::1]:0']", "limits.max_clients_per_ip=1")
    host, port = server.irc_address()
    first = await LineClient.connect_to(host, port)
    clients.append(first)
    await first.register("six")
    refused = await LineClient.connect_to(host, port)
    assert await refused.closed() == ["ERROR :Closing Link: ::1 (Too many connections from your IP address)"]
    first.send("WHOIS six")
    whois = await first.collect_until("318")
    assert any("::1" in " ".join(m.params) for m in whois if m.command in ("311", "378", "338")), whois


async def test_many_connections_opening_and_closing_fast_leave_no_count(make_server, clients) -> None:
    server = await make_server("limits.max_clients_per_ip=3")

    async def one(i: int) -> None:
        reader, writer = await asyncio.open_connection(*server.irc_address())
        if i % 3 == 0:
            writer.write(b"NICK x%d\r\n" % i)
        if i % 2 == 0:  # a reset rather than a close
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.close()

    for start in range(0, 300, 3):
        await asyncio.gather(*(one(i) for i in range(start, start + 3)))
    kept = [await connected(server, f"k{i}") for i in range(3)]  # all three slots are free again
    clients.extend(kept)
    for client in kept:
        await sync(client)
    assert len(server.connections) == 3


async def test_per_ip_limit_counts_plain_and_tls_together(make_server, tmp_path, clients) -> None:
    server = await make_server(*tls_overrides(tmp_path, "limits.max_clients_per_ip=2"))
    plain = await connected(server, "plain")
    secure = await tls_client(server, tmp_path, "secure")
    clients.extend([plain, secure])
    refused = await LineClient.connect(server)
    assert await refused.closed() == ["ERROR :Closing Link: 127.0.0.1 (Too many connections from your IP address)"]
    await sync(plain)
    await sync(secure)


async def test_tls_connections_reset_during_their_handshake_leave_no_count(make_server, tmp_path, clients) -> None:
    server = await make_server(*tls_overrides(tmp_path, "limits.max_clients_per_ip=2"))
    host, port = server.tls_address()
    context = ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))
    hello = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = context.wrap_bio(hello[0], hello[1], server_hostname=host)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    client_hello = hello[1].read()
    for i in range(60):
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(client_hello[: (i * 37) % len(client_hello)])  # some of a ClientHello, or all
        if i % 4 == 0:
            await asyncio.sleep(0)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.close()
    one = await tls_client(server, tmp_path, "one")
    clients.append(one)
    for _ in range(100):
        if len(server.connections) == 1:
            break
        await asyncio.sleep(0.05)
    two = await tls_client(server, tmp_path, "two")  # both slots are free
    clients.append(two)
    await sync(two)


# -- half-closed and vanishing clients -----------------------------------------------------------


async def test_quit_then_half_close_gets_error_and_peers_see_the_reason(make_server, clients) -> None:
    server = await make_server()
    alice, bob = await room(server, "alice", "bob")
    clients.append(alice)
    bob.send("QUIT :see you")
    await bob.writer.drain()
    bob.writer.write_eof()
    lines = await bob.closed()
    assert lines and lines[-1].startswith("ERROR :"), lines
    quit_msg = await alice.expect("QUIT")
    assert quit_msg.source.startswith("bob!") and quit_msg.params[0] == "Quit: see you"


async def test_registration_then_half_close_still_gets_the_welcome(make_server, clients) -> None:
    server = await make_server()
    late = await LineClient.connect(server)
    late.send("NICK late\r\nUSER u 0 * :L\r\nJOIN #c\r\n")
    await late.writer.drain()
    late.writer.write_eof()
    lines = await late.closed()
    assert any(" 001 late " in line for line in lines), lines
    assert any(" 366 late #c " in line for line in lines), lines


async def test_half_close_without_quit_is_seen_as_a_quit(make_server, clients) -> None:
    server = await make_server()
    alice, bob = await room(server, "alice", "bob")
    clients.append(alice)
    bob.send("PRIVMSG #c :last words")
    await bob.writer.drain()
    bob.writer.write_eof()
    assert (await alice.expect("PRIVMSG", "#c")).params[1] == "last words"
    quit_msg = await alice.expect("QUIT")
    assert quit_msg.source.startswith("bob!")
    await bob.closed()
    again = await connected(server, "bob")  # the nick is free
    clients.append(again)


async def test_disconnect_mid_registration_frees_the_nick_and_the_slot(make_server, clients) -> None:
    server = await make_server("limits.max_clients_per_ip=2")
    half = await LineClient.connect(server)
    half.send("CAP LS 302")
    half.send("NICK midway")
    await half.expect("CAP")
    sock = half.writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    half.writer.close()  # a reset, mid-registration
    again = await LineClient.connect(server)
    clients.append(again)
    again.send("USER u 0 * :again")
    for _ in range(100):
        again.send("NICK midway")
        reply = await again.expect(lambda m: m.command in ("001", "433"))
        if reply.command == "001":
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the nick of the vanished client was never freed")
    await sync(again)
    assert len(server.connections) == 1


async def test_disconnect_mid_sasl_while_the_password_is_checked(make_server, clients) -> None:
    server = await make_server("limits.max_clients_per_ip=2", *DEFAULT_HASH)  # a check that takes time
    owner = await registered_account(server, "dave")
    owner.send("QUIT")
    await owner.closed()
    sasl = await LineClient.connect(server)
    sasl.send("CAP REQ :sasl")
    await sasl.expect("CAP")
    sasl.send("NICK dave")
    sasl.send("USER u 0 * :U")
    sasl.send("AUTHENTICATE PLAIN")
    await sasl.expect("AUTHENTICATE", "+")
    sasl.send(f"AUTHENTICATE {b64(chr(0).join(('dave', 'dave', 'correct-horse')))}")
    await sasl.writer.drain()
    sasl.writer.transport.abort()  # gone while the password is being hashed
    watcher = await connected(server, "watcher")
    clients.append(watcher)
    for _ in range(100):  # the vanished connection is let go once its hashing ends
        if len(server.connections) == 1:
            break
        await asyncio.sleep(0.05)
    assert len(server.connections) == 1
    back = await connected(server, "dave")  # the nick was not left behind
    clients.append(back)
    watcher.send("WHOIS dave")
    assert "311" in [m.command for m in await watcher.collect_until("318")]


# -- TLS ---------------------------------------------------------------------------------------


async def test_plain_text_on_the_tls_port_leaves_the_tls_clients_alone(make_server, tmp_path, clients) -> None:
    server = await make_server(*tls_overrides(tmp_path))
    secure = await tls_client(server, tmp_path, "secure")
    clients.append(secure)
    host, port = server.tls_address()
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"NICK plain\r\nUSER u 0 * :wrong port\r\n")
    data = await asyncio.wait_for(reader.read(), WAIT)
    assert b"001" not in data
    writer.close()
    await sync(secure)


async def test_a_partial_client_hello_is_dropped_after_the_handshake_timeout(make_server, tmp_path, clients) -> None:
    server = await make_server(*tls_overrides(tmp_path, "limits.tls_handshake_timeout=0.5"))
    host, port = server.tls_address()
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")  # the start of a ClientHello, then nothing
    try:
        data = await asyncio.wait_for(reader.read(), SLOW_WAIT)
    except ConnectionResetError:
        data = b""
    assert b"001" not in data
    writer.close()
    secure = await tls_client(server, tmp_path, "secure")
    clients.append(secure)
    assert len(server.connections) == 1


async def test_sts_on_the_plain_port_carries_the_configured_duration(make_server, tmp_path, clients) -> None:
    pair = ca_signed_pair(tmp_path / "ca")  # STS only with a certificate clients can verify
    server = await make_server(*tls_overrides(tmp_path, "tls.sts_duration=600", "tls.self_signed=false",
                                              f"tls.cert={pair.cert}", f"tls.key={pair.key}"))  # fmt: skip
    plain = await LineClient.connect(server)
    clients.append(plain)
    _, offered = await cap_ls(plain)
    assert offered["sts"] == f"port={server.tls_address()[1]},duration=600"
    secure = await tls_client(server, tmp_path / "ca", ca="ca.pem")
    clients.append(secure)
    _, offered = await cap_ls(secure)
    assert offered["sts"] == "duration=600"


async def test_certfp_and_secure_in_whois_of_oneself(make_server, tmp_path, clients) -> None:
    server = await make_server(*tls_overrides(tmp_path))
    cert = make_client_cert(tmp_path, "alice")
    alice = await tls_connect(server, tmp_path / "cert.pem", cert)
    clients.append(alice)
    await alice.register("alice")
    alice.send("WHOIS alice")
    whois = await alice.collect_until("318")
    numerics = [m.command for m in whois]
    assert "671" in numerics and "276" in numerics
    (certfp,) = [m for m in whois if m.command == "276"]
    assert cert.fingerprint in certfp.params[-1]


async def test_tls_quit_is_seen_with_its_reason(make_server, tmp_path, clients) -> None:
    server = await make_server(*tls_overrides(tmp_path))
    alice = await connected(server, "alice", "#c")
    clients.append(alice)
    secure = await tls_client(server, tmp_path, "secure")
    await secure.join("#c")
    await alice.expect("JOIN", "#c")
    secure.send("QUIT :bye over tls")
    lines = await secure.closed()
    assert lines and lines[-1].startswith("ERROR :"), lines
    assert (await alice.expect("QUIT")).params[0] == "Quit: bye over tls"


@pytest.mark.parametrize(
    "limits",
    [("limits.max_clients=1", "limits.max_clients_per_ip=0"), ("limits.max_clients_per_ip=1", "limits.max_clients=0")],
    ids=["server-full", "per-ip"],
)
async def test_a_tls_client_past_the_limit_is_closed_and_the_first_stays(
    make_server, tmp_path, clients, limits
) -> None:
    server = await make_server(*tls_overrides(tmp_path, *limits))
    first = await tls_client(server, tmp_path, "first")
    clients.append(first)
    with pytest.raises((ssl.SSLError, ConnectionError, OSError, asyncio.IncompleteReadError)):
        await tls_client(server, tmp_path, "extra")
    await sync(first)
    assert len(server.connections) == 1


async def test_a_reading_client_gets_a_reply_larger_than_its_sendq(make_server, clients) -> None:
    server = await make_server("limits.sendq=16384", "limits.max_channels=200")
    owner = await connected(server, "owner")
    clients.append(owner)
    for i in range(150):
        owner.send(f"JOIN #chan{i:03d}")
        owner.send(f"TOPIC #chan{i:03d} :{'t' * 120}")
    await sync(owner)
    reader = await connected(server, "reader")  # reads everything, at once
    clients.append(reader)
    reader.send("LIST")
    replies = await reader.collect_until(lambda m: m.command in ("323", "ERROR"))
    assert not [m for m in replies if m.command == "ERROR"], replies[-1].params  # 150 topics: ~20 KB, past the sendq
    assert replies[-1].command == "323", replies[-1].params
    assert len([m for m in replies if m.command == "322"]) == 150
