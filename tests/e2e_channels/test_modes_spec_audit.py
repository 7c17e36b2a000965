"""An audit of MODE against the Modern IRC document (and what solanum, InspIRCd and ergo do
where it is silent): the echo of mixed and repeated changes, parameters of type B and C
modes, status modes without a nick, limits changed in place, list queries mixed with
changes, lists filled in one command, the creation time, how +e, +I, +b and +i combine,
a nick changed onto a ban, user modes a user may not give itself, and bans on addresses.

What the other transcripts of tests/e2e and tests/e2e_channels already show is not
repeated here.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from hubbub.app import Runtime
from hubbub.config import load
from tests.e2e_channels.common import mask, op_sets, room
from tests.helpers import LineClient, commands, connected, sync

# -- the echo of one MODE command ----------------------------------------------------------


async def test_mixed_signs_are_echoed_with_their_parameters_in_order(server, clients) -> None:
    alice, bob, carol = await room(server, clients, "alice", "bob", "carol")
    await op_sets(alice, "MODE #room +vm bob", bob, carol)
    assert await op_sets(alice, "MODE #room +o-v+l-m carol bob 7", bob, carol) == [
        "#room", "+o-v+l-m", "carol", "bob", "7",
    ]  # fmt: skip
    alice.send("NAMES #room")
    assert (await alice.expect("353")).params[-1] == "@alice bob @carol"
    alice.send("MODE #room")
    assert (await alice.expect("324")).params[2:] == ["+ntl", "7"]


async def test_changes_that_change_nothing_drop_out_of_a_mixed_echo_with_their_parameters(server, clients) -> None:
    alice, bob, carol = await room(server, clients, "alice", "bob", "carol")
    # alice is op already, carol has no voice to lose, -m is off: only +l and +v remain
    alice.send("MODE #room +o-v-m+l+v alice carol 9 bob")
    change = await bob.expect("MODE")
    assert change.source == mask("alice")
    assert change.params == ["#room", "+lv", "9", "bob"]
    assert (await carol.expect("MODE")).params == change.params
    assert "MODE" not in commands(await sync(carol))  # one line, nothing else


async def test_a_change_repeated_in_one_command_is_echoed_once(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    assert await op_sets(alice, "MODE #room +mvmv bob bob", bob) == ["#room", "+mv", "bob"]
    assert "MODE" not in commands(await sync(bob))


async def test_mode_on_the_channel_in_another_case_is_echoed_with_its_real_name(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    assert await op_sets(alice, "MODE #ROOM +m", bob) == ["#room", "+m"]
    alice.send("MODE #RoOm")
    assert (await alice.expect("324")).params[:2] == ["alice", "#room"]


# -- parameters: type B always takes one, type C only when set, prefixes need a nick ----------


async def test_minus_k_takes_the_next_parameter_as_type_b_and_minus_l_does_not_as_type_c(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    await op_sets(alice, "MODE #room +kl sesame 5", bob)
    # -k is type B (CHANMODES=beI,k,l,...): `bob` is its parameter, +v is left with none
    assert await op_sets(alice, "MODE #room -k+v bob", bob) == ["#room", "-k", "*"]
    # -l is type C: it takes nothing, so `bob` goes to +v
    assert await op_sets(alice, "MODE #room -l+v bob", bob) == ["#room", "-l+v", "bob"]
    alice.send("MODE #room")
    assert (await alice.expect("324")).params[2:] == ["+nt"]


async def test_status_mode_without_a_nick_is_ignored(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    for line in ("MODE #room +o", "MODE #room -o", "MODE #room +v", "MODE #room +h"):
        alice.send(line)
    assert "MODE" not in commands(await sync(alice))
    assert "MODE" not in commands(await sync(bob))
    alice.send("NAMES #room")
    assert (await alice.expect("353")).params[-1] == "@alice bob"


async def test_new_limit_replaces_the_old_one_and_is_what_324_shows(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    await op_sets(alice, "MODE #room +l 5", bob)
    assert await op_sets(alice, "MODE #room +l 2", bob) == ["#room", "+l", "2"]
    alice.send("MODE #room")
    assert (await alice.expect("324")).params[2:] == ["+ntl", "2"]
    carol = await connected(server, "carol")
    clients.append(carol)
    carol.send("JOIN #room")
    await carol.expect("471")


# -- lists in a command that also changes things -----------------------------------------------


async def test_list_query_and_flag_in_one_command(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    alice.send("MODE #room +mb")
    reply = await alice.collect_until("MODE")
    assert [(m.command, m.params[1:]) for m in reply] == [
        ("368", ["#room", "End of channel ban list"]),
        ("MODE", ["+m"]),
    ]
    assert (await bob.expect("MODE")).params == ["#room", "+m"]
    # a member without privileges gets the list, then one 482 for what it may not change
    bob.send("MODE #room +bt")
    reply = await bob.collect_until("482")
    assert commands(reply) == ["368", "482"]
    assert "MODE" not in commands(await sync(alice))


async def test_list_filled_within_one_command_takes_what_fits_and_478s_the_rest(make_server, clients) -> None:
    server = await make_server("limits.max_list_entries=2")
    alice, bob = await room(server, clients, "alice", "bob")
    alice.send("MODE #room +bbbm one two three four")
    change = await bob.expect("MODE")
    assert change.params == ["#room", "+bbm", "one!*@*", "two!*@*"]
    errors = [m for m in await sync(alice) if m.command == "478"]
    assert [m.params for m in errors] == [["alice", "#room", "b", "Channel list is full"]]


# -- RPL_CREATIONTIME ---------------------------------------------------------------------------


async def test_creation_time_is_when_the_channel_was_made_and_modes_do_not_move_it(server, clients) -> None:
    before = int(time.time())
    alice, bob = await room(server, clients, "alice", "bob")
    alice.send("MODE #room")
    created = int((await alice.expect("329")).params[2])
    assert before - 1 <= created <= int(time.time()) + 1
    await op_sets(alice, "MODE #room +imk-t key", bob)
    bob.send("MODE #room")
    assert (await bob.expect("329")).params == ["bob", "#room", str(created)]


# -- how the lists and +i combine ----------------------------------------------------------------


async def test_invite_exception_lets_past_plus_i_but_not_past_a_ban(server, clients) -> None:
    (alice,) = await room(server, clients, "alice")
    await op_sets(alice, "MODE #room +iIb bob carol")  # +I bob, +b carol
    await op_sets(alice, "MODE #room +I carol")
    bob = await connected(server, "bob")
    carol = await connected(server, "carol")
    clients.extend([bob, carol])
    bob.send("JOIN #room")
    await bob.expect("JOIN")
    carol.send("JOIN #room")
    assert (await carol.expect("474")).params[:2] == ["carol", "#room"]


async def test_ban_exception_does_not_let_past_plus_i(server, clients) -> None:
    (alice,) = await room(server, clients, "alice")
    await op_sets(alice, "MODE #room +ie bob")
    bob = await connected(server, "bob")
    clients.append(bob)
    bob.send("JOIN #room")
    assert (await bob.expect("473")).params == ["bob", "#room", "Cannot join channel (+i)"]


async def test_a_nick_changed_onto_a_ban_is_banned_from_then_on(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    await op_sets(alice, "MODE #room +b zed", bob)
    bob.send("NICK zed")  # the old nick was not banned: the change goes through
    assert (await alice.expect("NICK")).params == ["zed"]
    bob.send("PRIVMSG #room :hello")
    assert (await bob.expect("404")).params == ["zed", "#room", "Cannot send to channel (you are banned)"]
    bob.send("NICK bob")
    assert (await bob.expect("435")).params[:3] == ["zed", "bob", "#room"]
    assert not {"PRIVMSG", "NICK"} & set(commands(await sync(alice)))


# -- user modes ------------------------------------------------------------------------------------


async def test_user_modes_w_and_bot_are_confirmed_and_listed_by_221(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("MODE alice +wB")
    change = await alice.expect("MODE")
    assert change.source == mask("alice") and change.params == ["alice", "+wB"]
    alice.send("MODE alice")
    assert (await alice.expect("221")).params == ["alice", "+Bw"]
    alice.send("MODE alice -w")
    assert (await alice.expect("MODE")).params == ["alice", "-w"]


async def test_user_cannot_give_itself_oper_snomask_or_registered_and_minus_o_is_silent(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    for line in ("MODE alice +o", "MODE alice +s", "MODE alice +r", "MODE alice -o", "MODE alice -r"):
        alice.send(line)
    reply = await sync(alice)
    assert "MODE" not in commands(reply)
    assert "501" not in commands(reply)  # known letters, only not hers to take: ignored (RFC 2812)
    alice.send("MODE alice")
    assert (await alice.expect("221")).params == ["alice", "+"]


# -- bans on addresses: what the ban is matched against -------------------------------------------

GATEWAY_PASSWORD = "gw-secret"
_GATEWAY_HASH = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(GATEWAY_PASSWORD)


@pytest.fixture
async def gateway_server(tmp_path: Path) -> AsyncIterator[Runtime]:
    """A server with a WebIRC gateway at 127.0.0.1 (where the tests connect from)."""
    path = tmp_path / "hubbub.toml"
    path.write_text(
        f'[[webirc]]\nname = "kiwi"\npassword_hash = "{_GATEWAY_HASH}"\nhosts = ["127.0.0.1"]\n', encoding="utf-8"
    )
    # the gateway's hostname shown, not a cloak (tests/e2e/test_cloaks.py)
    sets = ["listen.irc=['127.0.0.1:0']", "listen.web=''", "limits.flood_control=false", "store.db=':memory:'",
            "server.cloak_hosts=false"]  # fmt: skip
    runtime = Runtime(load(str(path), sets))
    await runtime.start()
    yield runtime
    await runtime.stop()


async def through_gateway(runtime: Runtime, clients: list[LineClient], nick: str, hostname: str, ip: str) -> LineClient:
    client = await LineClient.connect(runtime)
    clients.append(client)
    client.send(f"WEBIRC {GATEWAY_PASSWORD} KiwiIRC {hostname} {ip}")
    await client.register(nick)
    return client


async def test_ban_on_the_host_shown_matches_a_gateway_user(gateway_server, clients) -> None:
    (alice,) = await room(gateway_server, clients, "alice")
    await op_sets(alice, "MODE #room +b *!*@*.example.net")
    web = await through_gateway(gateway_server, clients, "web", "user.example.net", "203.0.113.5")
    web.send("JOIN #room")
    await web.expect("474")


@pytest.mark.parametrize(
    ("hostname", "ip", "ban"),
    [
        ("user.example.net", "203.0.113.5", "*!*@203.0.113.5"),
        ("user.example.net", "203.0.113.5", "*!*@203.0.113.*"),
        ("2001:db8::5", "2001:db8::5", "*!*@2001:db8::5"),
    ],
    ids=["ipv4-exact", "ipv4-wildcard", "ipv6"],
)
async def test_ban_on_the_ip_address_matches_whatever_host_is_shown(gateway_server, clients, hostname, ip, ban) -> None:
    # solanum (is_banned: host, IP and cloak), InspIRCd (Channel::CheckBan: displayed host,
    # real host, IP) and ergo (AllNickmasks) all match a ban against the IP address too, as
    # hubbub's own K-lines do (klines.py: "matched against both the host shown ... and its IP")
    (alice,) = await room(gateway_server, clients, "alice")
    await op_sets(alice, f"MODE #room +b {ban}")
    web = await through_gateway(gateway_server, clients, "web", hostname, ip)
    web.send("JOIN #room")
    reply = await web.expect(lambda m: m.command in ("474", "366"))
    assert reply.command == "474", f"joined through a ban on {ban}"


async def test_cidr_ban_matches_the_addresses_in_its_block(server, clients) -> None:
    (alice,) = await room(server, clients, "alice")
    await op_sets(alice, "MODE #room +b *!*@127.0.0.0/8")
    bob = await connected(server, "bob")
    clients.append(bob)
    bob.send("JOIN #room")
    reply = await bob.expect(lambda m: m.command in ("474", "366"))
    assert reply.command == "474", "joined through a CIDR ban on its own address block"


@pytest.mark.parametrize(
    ("ip", "mask", "applies"),
    [
        ("2001:db8:7::5", "*!*@2001:db8:7::/48", True),
        ("2001:db8:8::5", "*!*@2001:db8:7::/48", False),
        ("203.0.113.77", "web!*@203.0.113.0/24", True),
        ("203.0.113.77", "other!*@203.0.113.0/24", False),  # the nick!user part must match too
    ],
)
async def test_cidr_masks_match_addresses_shown_or_not(gateway_server, clients, ip, mask, applies) -> None:
    (alice,) = await room(gateway_server, clients, "alice")
    await op_sets(alice, f"MODE #room +b {mask}")
    web = await through_gateway(gateway_server, clients, "web", "user.example.net", ip)
    web.send("JOIN #room")
    reply = await web.expect(lambda m: m.command in ("474", "366"))
    assert (reply.command == "474") is applies


async def test_exceptions_and_invite_exceptions_match_the_address_too(gateway_server, clients) -> None:
    (alice,) = await room(gateway_server, clients, "alice")
    await op_sets(alice, "MODE #room +b *!*@*.example.net")
    await op_sets(alice, "MODE #room +e *!*@198.51.100.0/24")
    await op_sets(alice, "MODE #room +iI *!*@2001:db8::/32")
    web = await through_gateway(gateway_server, clients, "web", "user.example.net", "198.51.100.9")
    web.send("JOIN #room")
    reply = await web.expect(lambda m: m.command in ("473", "474", "366"))
    assert reply.command == "473"  # past the ban by its exception, stopped by +i
    v6 = await through_gateway(gateway_server, clients, "v6", "2001:db8::9", "2001:db8::9")
    v6.send("JOIN #room")
    assert (await v6.expect(lambda m: m.command in ("473", "474", "366"))).command == "366"


async def test_an_address_in_a_mask_is_kept_in_one_form_and_a_bad_block_refused(server, clients) -> None:
    (alice,) = await room(server, clients, "alice")
    alice.send("MODE #room +b *!*@2001:DB8:0:0::5")
    assert (await alice.expect("MODE")).params == ["#room", "+b", "*!*@2001:db8::5"]
    alice.send("MODE #room -b *!*@2001:db8::0:5")  # another spelling of the same address
    assert (await alice.expect("MODE")).params == ["#room", "-b", "*!*@2001:db8::5"]
    alice.send("MODE #room +b *!*@10.1.2.3/8")
    assert (await alice.expect("MODE")).params == ["#room", "+b", "*!*@10.0.0.0/8"]
    alice.send("MODE #room +b *!*@10.0.0.0/99")
    assert (await alice.expect("696")).params[-1] == "10.0.0.0/99 is not a CIDR block"
