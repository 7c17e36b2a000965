"""WEBIRC over real sockets: a web gateway (KiwiIRC, The Lounge...) names its users' addresses.

Each server here reads a TOML file with a `[[webirc]]` block allowing 127.0.0.1 (where
the tests' connections come from) and, for REHASH and K-lines, an operator block.
Connections from 127.0.0.2 stand for someone who is not a gateway (any 127.x.y.z
address is this machine on Linux). The hashes are argon2id made cheap for the tests.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from hubbub.app import Runtime
from hubbub.config import load
from hubbub.irc.message import Message
from tests.helpers import LineClient, connected, sync

GATEWAY_PASSWORD = "gw-secret"
OPER_PASSWORD = "operpass"
_CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
GATEWAY_HASH = _CHEAP.hash(GATEWAY_PASSWORD)
OPER_HASH = _CHEAP.hash(OPER_PASSWORD)
OPERS = f'[[opers]]\nname = "admin"\npassword_hash = "{OPER_HASH}"\n'


def webirc_toml(hosts: str = '["127.0.0.1"]', name: str = "kiwi") -> str:
    return f'[[webirc]]\nname = "{name}"\npassword_hash = "{GATEWAY_HASH}"\nhosts = {hosts}\n'


@pytest.fixture
async def make_gateway_server(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Runtime]]]:
    """`await make_gateway_server(*overrides, toml=...)`: a server on port 0 reading `toml`
    (by default the operator block and a gateway at 127.0.0.1), which REHASH reads again."""
    started: list[Runtime] = []

    async def make(*overrides: str, toml: str = OPERS + webirc_toml()) -> Runtime:
        path = tmp_path / f"hubbub{len(started)}.toml"
        path.write_text(toml, encoding="utf-8")
        # hosts as the gateway names them, not cloaked (tests/e2e/test_cloaks.py turns cloaks on)
        sets = ["listen.irc=['127.0.0.1:0']", "listen.web=''", "limits.flood_control=false",
                "store.db=':memory:'", "server.cloak_hosts=false", *overrides]  # fmt: skip
        runtime = Runtime(load(str(path), sets), loader=lambda: load(str(path), sets), config_name=str(path))
        await runtime.start()
        started.append(runtime)
        return runtime

    yield make
    for runtime in started:
        await runtime.stop()


async def connect_from(runtime: Runtime, source_ip: str) -> LineClient:
    host, port = runtime.irc_address()
    reader, writer = await asyncio.open_connection(host, port, local_addr=(source_ip, 0), limit=1 << 20)
    return LineClient(reader, writer)


async def through_gateway(
    runtime: Runtime, clients: list[LineClient], nick: str, ip: str, hostname: str | None = None,
    options: str = "", password: str = GATEWAY_PASSWORD,
) -> LineClient:  # fmt: skip
    """A gateway's connection for a user at `ip`: WEBIRC first, as gateways send it, then
    registration (left to the test when `nick` is empty)."""
    client = await LineClient.connect(runtime)
    clients.append(client)
    line = f"WEBIRC {password} KiwiIRC {hostname or ip} {ip}"
    client.send(f"{line} :{options}" if options else line)
    if nick:
        await client.register(nick)
    return client


async def gateway_connections(runtime: Runtime, clients: list[LineClient], count: int) -> list[LineClient]:
    """`count` connections of the gateway's, all open before any of them sends WEBIRC: so
    many from one address at once, as a gateway holds them."""
    opened = [await LineClient.connect(runtime) for _ in range(count)]
    clients.extend(opened)
    return opened


async def webirc_and_register(client: LineClient, nick: str, ip: str) -> None:
    client.send(f"WEBIRC {GATEWAY_PASSWORD} KiwiIRC {ip} {ip}")
    await client.register(nick)


async def whois(client: LineClient, nick: str) -> dict[str, Message]:
    client.send(f"WHOIS {nick}")
    return {m.command: m for m in await client.collect_until("318")}


async def oper_up(client: LineClient) -> None:
    client.send(f"OPER admin {OPER_PASSWORD}")
    await client.expect("381")


# -- an allowed gateway ----------------------------------------------------------------------


async def test_a_gateway_user_takes_the_address_and_host_the_gateway_names(make_gateway_server, clients) -> None:
    server = await make_gateway_server()
    alice = await through_gateway(server, clients, "alice", "203.0.113.7", "user7.example.org")
    bob = await connected(server, "bob")
    clients.append(bob)
    seen = await whois(bob, "alice")
    assert seen["311"].params[1:4] == ["alice", "~u", "user7.example.org"]
    assert "378" not in seen and "320" not in seen  # the address and the gateway: not to others
    mine = await whois(alice, "alice")
    assert mine["378"].params[-1] == "is connecting from *@203.0.113.7 203.0.113.7"
    assert mine["320"].params[-1] == "is connected via the WebIRC gateway kiwi (127.0.0.1)"
    alice.send("PRIVMSG bob :hi")
    assert (await bob.expect("PRIVMSG", "bob")).source == "alice!~u@user7.example.org"


async def test_operators_see_the_real_address_and_the_gateway(make_gateway_server, clients) -> None:
    server = await make_gateway_server()
    await through_gateway(server, clients, "alice", "203.0.113.7")
    ircop = await connected(server, "ircop")
    clients.append(ircop)
    await oper_up(ircop)
    seen = await whois(ircop, "alice")
    assert seen["311"].params[3] == "203.0.113.7"  # no host name given: the address
    assert seen["378"].params[-1] == "is connecting from *@203.0.113.7 203.0.113.7"
    assert seen["320"].params[-1] == "is connected via the WebIRC gateway kiwi (127.0.0.1)"


async def test_a_host_name_that_is_not_one_is_replaced_by_the_address(make_gateway_server, clients) -> None:
    server = await make_gateway_server()
    odd = await through_gateway(server, clients, "odd", "203.0.113.8", "not_a*host")
    spoof = await through_gateway(server, clients, "spoof", "203.0.113.9", "10.1.2.3")  # another address
    assert (await whois(odd, "odd"))["311"].params[3] == "203.0.113.8"
    assert (await whois(spoof, "spoof"))["311"].params[3] == "203.0.113.9"


async def test_an_ipv6_address_beginning_with_a_colon_comes_with_a_zero(make_gateway_server, clients) -> None:
    server = await make_gateway_server()
    loop6 = await through_gateway(server, clients, "loop6", "0::1", "0::1")
    doc6 = await through_gateway(server, clients, "doc6", "2001:db8::7", "2001:db8::7")
    seen = await whois(loop6, "loop6")
    assert seen["311"].params[3] == "--1"  # as any IPv6 address: a host has no ':'
    assert seen["378"].params[-1] == "is connecting from *@::1 ::1"
    seen = await whois(doc6, "doc6")
    assert seen["311"].params[3] == "2001-db8--7"
    assert seen["378"].params[-1] == "is connecting from *@2001:db8::7 2001:db8::7"


async def test_the_line_kiwiircs_webircgateway_sends_is_understood(make_gateway_server, clients) -> None:
    server = await make_gateway_server()
    kiwi = await LineClient.connect(server)
    clients.append(kiwi)
    # its format as it writes it: an IPv6 address in brackets, the options always (a lone
    # one without ':', none at all as an empty parameter), a bare LF
    kiwi.send(f"WEBIRC {GATEWAY_PASSWORD} webircgateway user7.example.org [2001:db8::7] secure\n".encode())
    await kiwi.register("kiwi")
    seen = await whois(kiwi, "kiwi")
    assert seen["311"].params[3] == "user7.example.org"
    assert seen["378"].params[-1] == "is connecting from *@2001:db8::7 2001:db8::7"
    assert "671" in seen
    plain = await LineClient.connect(server)
    clients.append(plain)
    plain.send(f"WEBIRC {GATEWAY_PASSWORD} webircgateway 198.51.100.3 198.51.100.3 \n".encode())
    await plain.register("plain")
    assert "671" not in await whois(plain, "plain")


async def test_a_gateways_line_short_of_a_parameter_is_answered_461_and_the_connection_stays_irc(
    make_gateway_server, clients
) -> None:  # fmt: skip
    """The Lounge, without a host name for its user, sends WEBIRC with three parameters:
    IRC all the same (461), registered at the gateway's own address; never plain mode,
    which repeated the line, password and all, as a refused nickname and said every IRC
    line after it in #lobby."""
    server = await make_gateway_server()
    alice = await connected(server, "alice", "#lobby")
    clients.append(alice)
    lounge = await LineClient.connect(server)
    clients.append(lounge)
    lounge.send(f"WEBIRC {GATEWAY_PASSWORD} thelounge 127.0.0.1 ")
    lounge.send("CAP LS 302")
    lounge.send("NICK lou")
    lounge.send("USER lou 0 * :Lou Lounge")
    refused = await lounge.expect("461")
    assert refused.params[1] == "WEBIRC"
    await lounge.expect("CAP")
    lounge.send("CAP END")
    await lounge.expect("001")
    assert (await whois(lounge, "lou"))["311"].params[3] == "127.0.0.1"  # the gateway's own
    await sync(alice)
    assert not any(GATEWAY_PASSWORD in line or "lou" in line for line in alice.raw), alice.raw
    assert not any(GATEWAY_PASSWORD in line for line in lounge.raw), lounge.raw


async def test_the_log_says_which_gateway_a_connection_came_through(make_gateway_server, clients, caplog) -> None:
    caplog.set_level(logging.INFO, logger="hubbub.audit")
    server = await make_gateway_server()
    await through_gateway(server, clients, "alice", "203.0.113.7", "user7.example.org")
    lines = [r.getMessage() for r in caplog.records if r.name == "hubbub.audit"]
    assert lines == [
        "connection from 127.0.0.1",
        "connection from 203.0.113.7 via WebIRC gateway kiwi [127.0.0.1]",
        "registered alice!~u@user7.example.org [203.0.113.7] via WebIRC gateway kiwi [127.0.0.1]",
    ], lines


async def test_a_gateway_reconnecting_many_users_at_once_has_its_password_checked_once(
    make_gateway_server, clients
) -> None:
    """After a restart a gateway sends WEBIRC on all its users' connections at once, with a
    password hashed at full cost: one check serves them all (the worker pool takes ten)."""
    from hubbub.passwords import hash_password

    full_cost = (f'[[webirc]]\nname = "kiwi"\npassword_hash = "{hash_password(GATEWAY_PASSWORD)}"\n'
                 'hosts = ["127.0.0.1"]\n')  # fmt: skip
    server = await make_gateway_server(toml=OPERS + full_cost)
    users = []
    for _ in range(30):
        client = await LineClient.connect(server)
        clients.append(client)
        users.append(client)
    for i, client in enumerate(users):
        client.send(f"WEBIRC {GATEWAY_PASSWORD} KiwiIRC 203.0.113.{i + 1} 203.0.113.{i + 1}")
        client.send(f"NICK user{i}")
        client.send(f"USER u 0 * :user {i}")
    for client in users:
        reply = await client.expect(lambda m: m.command in ("001", "263", "ERROR"), timeout=30)
        assert reply.command == "001", reply


async def test_wrong_gateway_passwords_are_throttled_as_failed_logins(make_gateway_server, clients) -> None:
    server = await make_gateway_server("accounts.login_failures=2")
    for guess in ("guess1", "guess2"):
        wrong = await through_gateway(server, clients, "", "203.0.113.8", password=guess)
        assert await wrong.closed() == ["ERROR :Closing Link: 127.0.0.1 (Invalid WebIRC password)"]
    refused = await through_gateway(server, clients, "", "203.0.113.8", password="guess3")
    [line] = await refused.closed()
    assert "Too many failed attempts" in line, line  # refused unchecked


# -- refusals: the spec's ERROR, and the connection closed ------------------------------------------


async def test_a_wrong_password_gets_an_error_and_the_connection_closed(make_gateway_server, clients) -> None:
    server = await make_gateway_server()
    await through_gateway(server, clients, "first", "203.0.113.7")  # the right one, remembered since
    wrong = await through_gateway(server, clients, "", "203.0.113.8", password="guess")
    assert await wrong.closed() == ["ERROR :Closing Link: 127.0.0.1 (Invalid WebIRC password)"]


async def test_a_connection_from_an_address_not_listed_gets_an_error(make_gateway_server, clients) -> None:
    server = await make_gateway_server()
    stranger = await connect_from(server, "127.0.0.2")
    clients.append(stranger)
    stranger.send(f"WEBIRC {GATEWAY_PASSWORD} KiwiIRC 203.0.113.7 203.0.113.7")
    assert await stranger.closed() == ["ERROR :Closing Link: 127.0.0.2 (WEBIRC is not allowed from your address)"]


async def test_an_address_that_is_not_one_gets_an_error(make_gateway_server, clients) -> None:
    server = await make_gateway_server()
    bad = await through_gateway(server, clients, "", "203.0.113.999")
    assert await bad.closed() == ["ERROR :Closing Link: 127.0.0.1 (WEBIRC gave no valid IP address)"]


async def test_operators_hear_of_refusals_from_a_gateways_address_only(make_gateway_server, clients) -> None:
    server = await make_gateway_server()
    ircop = await connect_from(server, "127.0.0.2")
    clients.append(ircop)
    await ircop.register("ircop")
    await oper_up(ircop)
    ircop.send("MODE ircop +s")
    await ircop.expect("MODE", "ircop")
    stranger = await connect_from(server, "127.0.0.3")  # anyone may send WEBIRC, as often as it likes
    clients.append(stranger)
    stranger.send(f"WEBIRC {GATEWAY_PASSWORD} KiwiIRC 203.0.113.7 203.0.113.7")
    await stranger.closed()
    wrong = await through_gateway(server, clients, "", "203.0.113.8", password="guess")
    await wrong.closed()
    notices = [m.params[-1] for m in await sync(ircop) if m.command == "NOTICE"]
    assert notices == ["*** Notice -- WEBIRC refused from 127.0.0.1: Invalid WebIRC password"]


async def test_webirc_after_registration_changes_nothing(make_gateway_server, clients) -> None:
    server = await make_gateway_server()
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send(f"WEBIRC {GATEWAY_PASSWORD} KiwiIRC 203.0.113.7 203.0.113.7")
    assert (await alice.expect("462")).params == ["alice", "You may not reregister"]
    assert (await whois(alice, "alice"))["378"].params[-1] == "is connecting from *@127.0.0.1 127.0.0.1"


async def test_webirc_once_registration_has_begun_closes_the_connection(make_gateway_server, clients) -> None:
    server = await make_gateway_server()
    late = await LineClient.connect(server)
    clients.append(late)
    late.send("NICK late")
    late.send(f"WEBIRC {GATEWAY_PASSWORD} KiwiIRC 203.0.113.7 203.0.113.7")
    assert await late.closed() == [
        "ERROR :Closing Link: 127.0.0.1 (WEBIRC must be sent before any other registration command)"
    ]


# -- limits and K-lines apply to the user's own address ------------------------------------------------


async def test_the_per_address_limit_counts_each_user_at_their_own_address(make_gateway_server, clients) -> None:
    server = await make_gateway_server("limits.max_clients_per_ip=1")
    first, second = await gateway_connections(server, clients, 2)  # the gateway's own address: no limit
    await webirc_and_register(first, "first", "203.0.113.1")
    await webirc_and_register(second, "second", "203.0.113.2")
    again = await through_gateway(server, clients, "", "203.0.113.1")
    assert await again.closed() == ["ERROR :Closing Link: 127.0.0.1 (Too many connections from your IP address)"]
    first.send("QUIT")
    await first.closed()
    await through_gateway(server, clients, "third", "203.0.113.1")  # the first one's count went with it


async def test_a_direct_connection_and_a_gateway_user_share_the_address_limit(make_gateway_server, clients) -> None:
    server = await make_gateway_server("limits.max_clients_per_ip=1")
    direct = await connect_from(server, "127.0.0.2")
    clients.append(direct)
    await direct.register("direct")
    twin = await through_gateway(server, clients, "", "127.0.0.2")
    assert await twin.closed() == ["ERROR :Closing Link: 127.0.0.1 (Too many connections from your IP address)"]


async def test_a_kline_on_the_users_address_refuses_it(make_gateway_server, clients) -> None:
    server = await make_gateway_server()
    ircop = await connected(server, "ircop")
    clients.append(ircop)
    await oper_up(ircop)
    for mask in ("*@203.0.113.66", "*@*.bad.example"):
        ircop.send(f"KLINE {mask} :no thanks")
        await ircop.expect(lambda m: m.command == "NOTICE" and "Added K-line" in m.params[-1])
    by_address = await through_gateway(server, clients, "", "203.0.113.66")
    assert await by_address.closed() == ["ERROR :Closing Link: 127.0.0.1 (K-Lined: no thanks)"]
    by_host = await through_gateway(server, clients, "", "203.0.113.67", "box.bad.example")
    assert await by_host.closed() == ["ERROR :Closing Link: 127.0.0.1 (K-Lined: no thanks)"]
    await through_gateway(server, clients, "fine", "203.0.113.68")  # the gateway itself is not banned


# -- secure ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "secure"),
    [("secure", True), ("secure=examplevalue local-port=6697 remote-port=21726", True),
     ("local-port=6667", False), ("", False)],
    ids=["secure", "secure-with-a-value", "other-options", "none"],
)  # fmt: skip
async def test_secure_is_the_gateways_word_over_a_link_nobody_else_reads(
    make_gateway_server, clients, options, secure
) -> None:
    server = await make_gateway_server()
    # over the loopback interface, which counts as TLS would (unit tests cover the rest)
    user = await through_gateway(server, clients, "user", "203.0.113.7", options=options)
    assert ("671" in await whois(user, "user")) is secure


# -- REHASH -------------------------------------------------------------------------------------------


async def test_rehash_puts_a_new_gateway_in_force(make_gateway_server, clients) -> None:
    server = await make_gateway_server("limits.max_clients_per_ip=1", toml=OPERS)
    ircop = await connect_from(server, "127.0.0.2")
    clients.append(ircop)
    await ircop.register("ircop")
    await oper_up(ircop)
    before = await through_gateway(server, clients, "", "203.0.113.7")
    assert await before.closed() == ["ERROR :Closing Link: 127.0.0.1 (WEBIRC is not allowed from your address)"]
    Path(server.config_name).write_text(OPERS + webirc_toml('["127.0.0.0/8"]', "lounge"), encoding="utf-8")
    ircop.send("REHASH")
    await ircop.expect(lambda m: m.command == "NOTICE" and m.params[-1] == "*** Configuration reloaded")
    first, second = await gateway_connections(server, clients, 2)  # a gateway's own address has no limit now
    await webirc_and_register(first, "first", "203.0.113.7")
    await webirc_and_register(second, "second", "203.0.113.8")
    assert (await whois(first, "first"))["320"].params[-1] == "is connected via the WebIRC gateway lounge (127.0.0.1)"
    await sync(ircop)
