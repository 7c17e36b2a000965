"""Clients behind a TCP proxy that sends the PROXY protocol header (listen.proxy_from).

The proxy here is the test itself, on 127.0.0.1 (the address listed); clients that are
no proxy connect from 127.0.0.2. tests/e2e/test_haproxy.py puts a real HAProxy between;
the operators' side (a K-line on a named address, a reload that lists a proxy) is in
tests/e2e_opers/test_proxy_opers.py.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path

from hubbub.app import Runtime
from hubbub.transport.proxyheader import V2_SIGNATURE
from tests.helpers import TIMEOUT, LineClient

PROXY = ["listen.proxy_from=['127.0.0.1']"]
# a header timeout longer than any wait of a test: a connection closed within one was
# closed for the reason the test is about, not by the timeout
PATIENT = "limits.proxy_header_timeout=60"
V1 = "PROXY TCP4 {} 192.0.2.1 51234 6667\r\n"
Make = Callable[..., Awaitable[Runtime]]


def v2(source: str, tls: bool = False) -> bytes:
    address = ipaddress.ip_address(source)
    other = ipaddress.ip_address("192.0.2.1" if address.version == 4 else "2001:db8::1")
    body = address.packed + other.packed + (51234).to_bytes(2, "big") + (6697).to_bytes(2, "big")
    if tls:  # PP2_TYPE_SSL, the client's flag
        body += bytes([0x20]) + (5).to_bytes(2, "big") + bytes([0x01, 0, 0, 0, 0])
    family = 0x11 if address.version == 4 else 0x21
    return V2_SIGNATURE + bytes([0x21, family]) + len(body).to_bytes(2, "big") + body


async def proxied(runtime: Runtime, header: bytes | str, nick: str | None = None) -> LineClient:
    """A connection from the proxy's address that begins with `header`."""
    client = await LineClient.connect(runtime)
    client.writer.write(header.encode() if isinstance(header, str) else header)
    if nick:
        await client.register(nick)
    return client


def outcomes(runtime: Runtime) -> dict[str, int]:
    """What the connections from the proxy came to (the metric hubbub_proxied_connections)."""
    assert runtime._proxied is not None
    return dict(runtime._proxied.outcomes)


async def hung_up(client: LineClient) -> list[str]:
    """The lines read until the server closed the connection (a reset, when it closed
    with the client's bytes unread, ends them as well)."""
    start = len(client.raw)
    try:
        await client.closed()
    except ConnectionResetError:
        pass
    return client.raw[start:]


async def whois_address(client: LineClient) -> tuple[str, str]:
    """(the host others see, the address 378 tells the user itself) of `client`."""
    client.send(f"WHOIS {client.nick}")
    host = (await client.expect("311", client.nick)).params[3]
    actual = (await client.expect("378", client.nick)).params[-1].split()[-1]
    await client.expect("318")
    return host, actual


async def test_a_client_behind_the_proxy_is_the_address_its_header_names(make_server: Make, clients) -> None:
    runtime = await make_server(*PROXY)
    client = await LineClient.connect(runtime)
    clients.append(client)
    # the header and the client's first lines in one segment, as a proxy passes them on
    client.writer.write(V1.format("203.0.113.7").encode() + b"NICK alice\r\nUSER a 0 * :A\r\n")
    await client.expect("001")
    client.nick = "alice"
    host, actual = await whois_address(client)
    assert actual == "203.0.113.7"
    assert host.endswith(".hubbub")  # cloaked: not the proxy's 127.0.0.1, which is shown as it is


async def test_a_version_2_header_written_a_byte_at_a_time_over_ipv6_with_tls_at_the_proxy(
    make_server: Make, clients
) -> None:
    runtime = await make_server(*PROXY)
    client = await LineClient.connect(runtime)
    clients.append(client)
    for byte in v2("2001:db8::5", tls=True):
        client.writer.write(bytes([byte]))
        await client.writer.drain()
        await asyncio.sleep(0.002)
    await client.register("carol")
    _, actual = await whois_address(client)
    assert actual == "2001:db8::5"
    assert "671" in {m.command for m in client.received}  # is using a secure connection: the proxy's TLS
    plain = await proxied(runtime, v2("198.51.100.4"), "dave")
    clients.append(plain)
    plain.send("WHOIS dave")
    assert "671" not in {m.command for m in await plain.collect_until("318")}


async def test_per_address_limits_count_the_client_the_header_names_not_the_proxy(make_server: Make, clients) -> None:
    runtime = await make_server(*PROXY, "limits.max_clients_per_ip=1")
    first = await proxied(runtime, V1.format("203.0.113.7"), "first")
    other = await proxied(runtime, V1.format("198.51.100.4"), "other")  # the proxy's third and second: let in
    clients.extend([first, other])
    again = await proxied(runtime, V1.format("203.0.113.7"))
    clients.append(again)
    again.send("NICK again")
    lines = await hung_up(again)
    assert lines == ["ERROR :Closing Link: 203.0.113.7 (Too many connections from your IP address)"]


async def test_a_connection_from_the_proxy_without_a_header_is_closed_unanswered(make_server: Make, clients) -> None:
    runtime = await make_server(*PROXY, PATIENT)
    bad_version = v2("203.0.113.7")
    bad_version = bad_version[:12] + b"\x11" + bad_version[13:]
    for first in (b"NICK bob\r\nUSER b 0 * :B\r\n", b"PROXY TCP4 203.0.113.7 192.0.2.1 51234\r\n", bad_version):
        client = await proxied(runtime, first)
        clients.append(client)
        assert await hung_up(client) == []
    ok = await proxied(runtime, V1.format("203.0.113.7"), "alice")  # and the listener goes on
    clients.append(ok)
    assert outcomes(runtime) == {"client": 1, "own": 0, "check": 0, "refused": 3, "late": 0}


async def test_a_proxy_that_does_not_finish_its_header_in_time_is_closed(make_server: Make, clients) -> None:
    runtime = await make_server(*PROXY, "limits.proxy_header_timeout=0.3")
    silent = await proxied(runtime, b"")
    cut = await proxied(runtime, V1.format("203.0.113.7")[:20])
    clients.extend([silent, cut])
    for client in (silent, cut):
        assert await hung_up(client) == []
    assert not runtime._proxied.waiting  # type: ignore[union-attr]
    assert outcomes(runtime)["late"] == 2


async def test_no_more_wait_for_a_header_at_once_than_there_is_room_for_clients(make_server: Make, clients) -> None:
    runtime = await make_server(*PROXY, PATIENT, "limits.max_clients=3")
    counted = await proxied(runtime, V1.format("198.51.100.4"), "counted")  # one client in: room for two more
    clients.append(counted)
    waiting = [await proxied(runtime, b"") for _ in range(2)]
    clients.extend(waiting)
    while len(runtime._proxied.waiting) < 2:  # type: ignore[union-attr]
        await asyncio.sleep(0.01)
    refused = await proxied(runtime, b"")
    clients.append(refused)
    assert await hung_up(refused) == []
    assert outcomes(runtime)["refused"] == 1
    waiting[0].writer.write(V1.format("203.0.113.7").encode())  # the first two still wait: both go on
    await waiting[0].register("one")


async def test_a_header_from_an_address_not_listed_closes_the_connection_saying_why(make_server: Make, clients) -> None:
    runtime = await make_server("listen.proxy_from=['10.0.0.0/8']")
    for header in (V1.format("203.0.113.7") + "NICK alice\r\nUSER a 0 * :A\r\n",
                   v2("203.0.113.7") + b"NICK alice\r\nUSER a 0 * :A\r\n"):  # fmt: skip
        client = await proxied(runtime, header)
        clients.append(client)
        # never a person typing a nickname, nor a client registered from the proxy's address
        assert await hung_up(client) == ["ERROR :Closing Link: 127.0.0.1 (PROXY header from an address not in "
                                         "listen.proxy_from)"]  # fmt: skip
    assert not runtime.state.users


async def test_a_header_from_an_address_not_listed_on_a_tls_port_is_refused_saying_why(
    make_server: Make, clients, tmp_path: Path
) -> None:
    runtime = await make_server("listen.proxy_from=['10.0.0.0/8']", "listen.tls=['127.0.0.1:0']",
                                "tls.self_signed=true", f"tls.cert={tmp_path / 'cert.pem'}",
                                f"tls.key={tmp_path / 'key.pem'}")  # fmt: skip
    for header in (V1.format("203.0.113.7").encode(), v2("203.0.113.7")):
        client = await LineClient.connect_to(*runtime.tls_address())
        clients.append(client)
        client.writer.write(header)  # where a TLS handshake should begin
        assert await hung_up(client) == ["ERROR :PROXY header from an address not in listen.proxy_from"]


async def test_a_tls_listener_reads_the_header_before_the_handshake(make_server: Make, clients, tmp_path: Path) -> None:
    runtime = await make_server(*PROXY, "listen.tls=['127.0.0.1:0']", "tls.self_signed=true",
                                f"tls.cert={tmp_path / 'cert.pem'}", f"tls.key={tmp_path / 'key.pem'}")  # fmt: skip
    host, port = runtime.tls_address()
    reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
    writer.write(V1.format("203.0.113.9").encode())
    await writer.drain()
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    await writer.start_tls(context)
    client = LineClient(reader, writer)
    clients.append(client)
    await client.register("secure")
    _, actual = await whois_address(client)
    assert actual == "203.0.113.9"
    assert "671" in {m.command for m in client.received}


async def test_a_server_stopping_closes_the_connections_waiting_for_a_header(make_server: Make, clients) -> None:
    runtime = await make_server(*PROXY, PATIENT)
    client = await proxied(runtime, b"PROXY TCP4")
    clients.append(client)
    while not runtime._proxied.waiting:  # type: ignore[union-attr]
        await asyncio.sleep(0.01)
    await asyncio.wait_for(runtime.stop(), TIMEOUT)
    assert await hung_up(client) == []


async def test_a_health_check_that_hangs_up_after_a_header_naming_no_one_is_not_a_client(
    make_server: Make, clients, caplog
) -> None:
    caplog.set_level(logging.INFO, logger="hubbub")
    runtime = await make_server(*PROXY, PATIENT)
    local = V2_SIGNATURE + bytes([0x20, 0x00, 0, 0])  # v2 LOCAL, as HAProxy's checks send
    for header in (local, b"PROXY UNKNOWN\r\n"):
        check = await proxied(runtime, header)
        await own_header_read(runtime)
        await check.close()
        while runtime._proxied.waiting:  # type: ignore[union-attr]
            await asyncio.sleep(0.01)
    assert not [r for r in caplog.records if "connection from" in r.getMessage()]
    assert runtime.admission.accepted["tcp"] == 0
    assert outcomes(runtime)["check"] == 2
    # the proxy's own connection that does speak: a client from the proxy's address
    own = await proxied(runtime, local + b"NICK own\r\nUSER o 0 * :O\r\n")
    clients.append(own)
    await own.expect("001")
    own.nick = "own"
    assert (await whois_address(own))[1] == "127.0.0.1"
    later = await proxied(runtime, b"PROXY UNKNOWN\r\n")  # and with its first bytes in a later segment
    clients.append(later)
    await own_header_read(runtime)
    await later.register("later")
    assert outcomes(runtime) == {"client": 0, "own": 2, "check": 2, "refused": 0, "late": 0}


async def own_header_read(runtime: Runtime) -> None:
    """Until the one connection waiting has had its header read, naming no client."""
    deadline = asyncio.get_running_loop().time() + TIMEOUT
    while not any(waiting.own for waiting in runtime._proxied.waiting):  # type: ignore[union-attr]
        assert asyncio.get_running_loop().time() < deadline, "no connection read a header naming no one"
        await asyncio.sleep(0.01)


async def test_a_connection_that_names_no_client_and_stays_silent_is_closed_as_a_check(
    make_server: Make, clients, caplog
) -> None:
    caplog.set_level(logging.INFO, logger="hubbub")
    runtime = await make_server(*PROXY, "limits.proxy_header_timeout=0.3")
    check = await proxied(runtime, V2_SIGNATURE + bytes([0x20, 0x00, 0, 0]))
    clients.append(check)
    assert await hung_up(check) == []
    assert outcomes(runtime) == {"client": 0, "own": 0, "check": 1, "refused": 0, "late": 0}
    assert not [r for r in caplog.records if "PROXY" in r.getMessage() or "connection from" in r.getMessage()]
