"""Per-address limits count an IPv6 /64 as one address, over real sockets.

The loopback interface gives these tests one IPv6 address, so the users come through
a WebIRC gateway at 127.0.0.1, which names each one's address (tests/e2e/test_webirc.py
has the gateway's fixtures); what a gateway's user counts under is what a direct
connection from that address would."""

from __future__ import annotations

from pathlib import Path

from tests.e2e import test_webirc
from tests.e2e.test_webirc import (
    OPERS,
    connect_from,
    gateway_connections,
    oper_up,
    through_gateway,
    webirc_and_register,
    webirc_toml,
)
from tests.helpers import LineClient

make_gateway_server = test_webirc.make_gateway_server  # the fixture, for these tests too
REFUSED = "ERROR :Closing Link: 127.0.0.1 (Too many connections from your IP address)"


async def ns(client: LineClient, text: str) -> str:
    client.send(f"PRIVMSG NickServ :{text}")
    reply = await client.expect(lambda m: m.command == "NOTICE" and (m.source or "").startswith("NickServ"))
    return reply.params[-1]


async def test_users_of_one_ipv6_64_share_the_per_address_limit(make_gateway_server, clients) -> None:
    server = await make_gateway_server("limits.max_clients_per_ip=2")
    first, second = await gateway_connections(server, clients, 2)
    await webirc_and_register(first, "first", "2001:db8:1:2::1")
    await webirc_and_register(second, "second", "2001:db8:1:2:ffff::99")
    third = await through_gateway(server, clients, "", "2001:db8:1:2::3")  # another address, the same /64
    assert await third.closed() == [REFUSED]
    await through_gateway(server, clients, "neighbour", "2001:db8:1:3::1")  # the next /64: someone else
    first.send("QUIT")
    await first.closed()
    await through_gateway(server, clients, "fourth", "2001:db8:1:2::4")  # the first one's place is free


async def test_with_ipv6_prefix_128_each_address_has_its_own_limit(make_gateway_server, clients) -> None:
    server = await make_gateway_server("limits.max_clients_per_ip=1", "limits.ipv6_prefix=128")
    for i in range(1, 4):
        await through_gateway(server, clients, f"user{i}", f"2001:db8:1:2::{i}")
    again = await through_gateway(server, clients, "", "2001:db8:1:2::1")
    assert await again.closed() == [REFUSED]


async def test_failed_logins_from_one_ipv6_64_are_counted_together(make_gateway_server, clients) -> None:
    server = await make_gateway_server(
        "accounts.login_failures=2", "accounts.login_failures_per_address=2", "accounts.login_window=600"
    )
    owner = await through_gateway(server, clients, "alice", "2001:db8:9::1")
    assert (await ns(owner, "REGISTER correct-horse")).startswith("Account created")
    for i, nick in enumerate(("guess1", "guess2"), start=1):
        guesser = await through_gateway(server, clients, nick, f"2001:db8:7:7::{i}")
        assert await ns(guesser, "IDENTIFY alice nope") == "Authentication failed: Invalid account credentials"
    elsewhere = await through_gateway(server, clients, "guess3", "2001:db8:7:7:1234::5")  # same /64
    assert (await ns(elsewhere, "IDENTIFY owner nope")).startswith("Too many failed attempts")


async def test_rehash_cannot_change_the_prefix_while_connections_are_counted(make_gateway_server, clients) -> None:
    server = await make_gateway_server(toml=OPERS + webirc_toml())
    ircop = await connect_from(server, "127.0.0.2")
    clients.append(ircop)
    await ircop.register("ircop")
    await oper_up(ircop)
    Path(server.config_name).write_text(OPERS + webirc_toml() + "[limits]\nipv6_prefix = 48\n", encoding="utf-8")
    ircop.send("REHASH")
    note = await ircop.expect(lambda m: m.command == "NOTICE" and "ipv6_prefix" in m.params[-1])
    assert "restart to apply it" in note.params[-1]
    assert server.config.limits.ipv6_prefix == 64
