"""+f's ban covers the flooder's address as every per-address limit counts it: an IPv6
user's /64 (`limits.ipv6_prefix`), since any other address of that block is theirs to
take at once. Users come through a WebIRC gateway at 127.0.0.1 that names their IPv6
address, the one way a test on the loopback has users at several IPv6 addresses."""

from __future__ import annotations

from tests.e2e import test_webirc
from tests.e2e.test_webirc import through_gateway
from tests.e2e_channels.common import op_sets
from tests.e2e_channels.test_review_flood_mode import burst
from tests.helpers import LineClient, connected

make_gateway_server = test_webirc.make_gateway_server  # the fixture, for these tests too


async def flood_ban(make_gateway_server, clients: list[LineClient], *overrides: str) -> tuple[str, LineClient]:
    """A flooder at 2001:db8:1:2::1 trips `+f *1:60`: the ban's mask, and the server."""
    server = await make_gateway_server(*overrides)
    op = await connected(server, "op", "#room")
    clients.append(op)
    spammer = await through_gateway(server, clients, "spammer", "2001:db8:1:2::1")
    spammer.send("JOIN #room")
    await spammer.expect("366")
    await op.expect("JOIN")
    await op_sets(op, "MODE #room +f *1:60", spammer)
    burst(spammer, "PRIVMSG #room :one", "PRIVMSG #room :two")
    ban = await op.expect("MODE")
    await op.expect("KICK")
    assert ban.params[1] == "+b", ban
    return ban.params[2], server


async def test_an_ipv6_flooder_is_banned_with_its_64_and_kept_out_from_another_address_of_it(
    make_gateway_server, clients
) -> None:
    mask, server = await flood_ban(make_gateway_server, clients)
    assert mask == "*!*@2001:db8:1:2::/64"
    again = await through_gateway(server, clients, "spammer2", "2001:db8:1:2::99")
    again.send("JOIN #room")
    assert (await again.expect("474")).params[1] == "#room"
    neighbour = await through_gateway(server, clients, "neighbour", "2001:db8:1:3::1")  # the next /64
    neighbour.send("JOIN #room")
    await neighbour.expect("366")


async def test_with_ipv6_prefix_128_the_flood_ban_names_the_address_alone(make_gateway_server, clients) -> None:
    mask, server = await flood_ban(make_gateway_server, clients, "limits.ipv6_prefix=128")
    assert mask == "*!*@2001:db8:1:2::1"
    other = await through_gateway(server, clients, "other", "2001:db8:1:2::99")
    other.send("JOIN #room")
    await other.expect("366")
