"""A real HAProxy in front of the server, sending the PROXY protocol (listen.proxy_from).

HAProxy (Debian's `haproxy`, started here on free ports in a temporary directory) relays
TCP to the server with `send-proxy` (version 1) on one port and `send-proxy-v2` on
another. Clients connect to it from 127.0.0.2 and 127.0.0.3 while HAProxy connects from
127.0.0.1, the one address listed: the server must see each client's own address. One
client is jaraco's `irc` library, an IRC implementation that shares nothing with ours.
HAProxy checks the server every 50 ms meanwhile (a v2 `LOCAL` header, then it hangs
up): none of those checks may show as a connection. Two more ports listen on IPv6 (::1)
and relay to the server over IPv4: the headers HAProxy writes then name an IPv6
client (`TCP6` in version 1, the INET6 family in version 2).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

pytest.importorskip("irc")

from irc.client_aio import AioReactor  # noqa: E402
from irc.connection import AioFactory  # noqa: E402

from hubbub.app import Runtime  # noqa: E402
from tests.e2e.test_third_party_client import EVENTS, Recorder  # noqa: E402
from tests.helpers import TIMEOUT, LineClient, start_server  # noqa: E402
from tests.services import free_port  # noqa: E402

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
CONFIG = """
global
    maxconn 100
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s
listen v1
    bind 127.0.0.1:{v1}
    server hubbub 127.0.0.1:{port} send-proxy
listen v2
    bind 127.0.0.1:{v2}
    server hubbub 127.0.0.1:{port} send-proxy-v2 check inter 50ms
listen web
    bind 127.0.0.1:{web}
    server hubbub 127.0.0.1:{web_port} send-proxy-v2
"""
SIX = """
listen v1six
    bind [::1]:{v1six}
    server hubbub 127.0.0.1:{port} send-proxy
listen v2six
    bind [::1]:{v2six}
    server hubbub 127.0.0.1:{port} send-proxy-v2
"""


def distinct_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """`count` free ports, no two the same: each is let go before the next is asked for,
    and the kernel may give one back twice. HAProxy binds a port two of its frontends
    name twice (SO_REUSEPORT) and shares the connections between them: a CI run's
    client for the version 2 port reached the web frontend."""
    ports: list[int] = []
    while len(ports) < count:
        port = free_port(host)
        if port not in ports:
            ports.append(port)
    return ports


def ipv6_loopback() -> bool:
    """Whether ::1 can be bound here (a container may have no IPv6 at all)."""
    try:
        free_port("::1")
    except OSError:
        return False
    return True


class HAProxy:
    def __init__(self, port: int, web_port: int) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="hubbub-haproxy-"))
        self.v1, self.v2, self.web = distinct_ports(3)
        self.six = ipv6_loopback()
        self.v1six, self.v2six = distinct_ports(2, "::1") if self.six else (0, 0)
        text = CONFIG + (SIX if self.six else "")
        config = self.dir / "haproxy.cfg"
        config.write_text(text.format(v1=self.v1, v2=self.v2, v1six=self.v1six, v2six=self.v2six, port=port,
                                      web=self.web, web_port=web_port))  # fmt: skip
        # -db: in the foreground, its log on stderr
        self.process = subprocess.Popen([HAPROXY, "-db", "-f", str(config)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)  # fmt: skip

    async def ready(self) -> None:
        """Every port accepts connections (HAProxy binds them before it serves)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TIMEOUT
        ports = [("127.0.0.1", self.v1), ("127.0.0.1", self.v2), ("127.0.0.1", self.web)]
        if self.six:
            ports += [("::1", self.v1six), ("::1", self.v2six)]
        for host, port in ports:
            while True:
                if self.process.poll() is not None:
                    raise AssertionError(f"haproxy exited: {self.process.stderr.read()!r}")  # type: ignore[union-attr]
                try:
                    # from an address of its own: HAProxy passes the probe on, a client of 127.0.0.9
                    local = ("127.0.0.9", 0) if host == "127.0.0.1" else None
                    _, writer = await asyncio.open_connection(host, port, local_addr=local)
                except OSError:
                    if loop.time() > deadline:
                        raise
                    await asyncio.sleep(0.05)
                    continue
                writer.close()
                break

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def haproxy_binary() -> Iterator[str]:
    if not Path(HAPROXY).exists():
        pytest.skip("haproxy is not installed (apt-get install haproxy)")
    yield HAPROXY


@pytest.fixture
async def behind_haproxy(haproxy_binary: str) -> AsyncIterator[tuple[Runtime, HAProxy]]:
    runtime = await start_server("listen.proxy_from=['127.0.0.1']", "listen.web='127.0.0.1:0'")
    proxy: HAProxy | None = None
    try:
        proxy = HAProxy(runtime.irc_address()[1], runtime.listeners.address("web")[1])
        await proxy.ready()
        yield runtime, proxy
    finally:
        if proxy is not None:
            proxy.stop()
        await runtime.stop()


async def test_clients_through_haproxy_are_seen_from_their_own_addresses(behind_haproxy, clients, caplog) -> None:
    caplog.set_level(logging.INFO, logger="hubbub")
    runtime, proxy = behind_haproxy
    # a raw client through the version 1 port, from 127.0.0.3
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.v1, local_addr=("127.0.0.3", 0))
    alice = LineClient(reader, writer)
    clients.append(alice)
    await alice.register("alice")
    await alice.join("#room")

    # the library through the version 2 port, from 127.0.0.2
    reactor = AioReactor(loop=asyncio.get_running_loop())
    events = Recorder()
    for kind in EVENTS:
        reactor.add_global_handler(kind, events)
    connection = reactor.server()
    factory = AioFactory(local_addr=("127.0.0.2", 0))
    await connection.connect("127.0.0.1", proxy.v2, "libbot", username="lib", ircname="Lib", connect_factory=factory)
    try:
        welcome = await events.next("welcome")
        assert welcome.arguments == ["Welcome to the hubbub IRC Network libbot!~lib@127.0.0.2"]
        await events.next("endofmotd")
        connection.join("#room")
        await events.next("endofnames")
        assert (await alice.expect("JOIN")).source == "libbot!~lib@127.0.0.2"
        alice.send("PRIVMSG #room :hello through the proxy")
        pub = await events.next("pubmsg")
        assert pub.source == "alice!~u@127.0.0.3"
        assert pub.arguments == ["hello through the proxy"]
        connection.privmsg("#room", "and back")
        assert (await alice.expect("PRIVMSG")).params == ["#room", "and back"]
        alice.send("WHOIS libbot")
        assert (await alice.expect("311")).params[3] == "127.0.0.2"  # this machine's: shown uncloaked
    finally:
        connection.disconnect("test over")
    # the server counted each client under its own address, none under HAProxy's, and
    # took none of its health checks (every 50 ms) for a client
    deadline = asyncio.get_running_loop().time() + TIMEOUT
    while runtime._proxied.outcomes["check"] < 3:  # type: ignore[union-attr]
        assert asyncio.get_running_loop().time() < deadline, "HAProxy's checks did not come"
        await asyncio.sleep(0.02)
    assert "127.0.0.1" not in runtime.admission.per_ip
    assert not [r for r in caplog.records if "connection from 127.0.0.1" in r.getMessage()]


@pytest.mark.parametrize("frontend", ["v1six", "v2six"])
async def test_an_ipv6_client_through_haproxy_is_seen_from_its_ipv6_address(behind_haproxy, clients, frontend) -> None:
    runtime, proxy = behind_haproxy
    if not proxy.six:
        pytest.skip("no IPv6 loopback on this machine")
    reader, writer = await asyncio.open_connection("::1", getattr(proxy, frontend))
    carol = LineClient(reader, writer)
    clients.append(carol)
    await carol.register("carol")
    carol.send("WHOIS carol")
    assert (await carol.expect("311")).params[3] == "--1"  # no ':' in a host
    assert (await carol.expect("378")).params[-1].endswith(" ::1")
    assert "::/64" in runtime.admission.per_ip  # counted by its network (limits.ipv6_prefix)
    assert "127.0.0.1" not in runtime.admission.per_ip


async def test_a_websocket_through_haproxy_is_seen_from_its_own_address(behind_haproxy) -> None:
    runtime, proxy = behind_haproxy
    connector = aiohttp.TCPConnector(local_addr=("127.0.0.4", 0))
    seen = False
    async with aiohttp.ClientSession(connector=connector) as session:
        async with session.ws_connect(f"http://127.0.0.1:{proxy.web}/webirc", protocols=("text.ircv3.net",)) as ws:
            for line in ("NICK webber", "USER w 0 * :W", "WHOIS webber"):
                await ws.send_str(line)
            shown = ""
            while " 318 " not in shown:
                message = await asyncio.wait_for(ws.receive(), TIMEOUT)
                assert message.type == aiohttp.WSMsgType.TEXT, message
                shown = message.data
                if " 378 " in shown:
                    assert shown.endswith(" 127.0.0.4"), shown
                    seen = True
    assert seen
    async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{proxy.web}/healthz") as answer:
        assert answer.status == 200  # the page and its checks, through the proxy too
