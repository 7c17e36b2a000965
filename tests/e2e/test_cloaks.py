"""Cloaked hosts over real sockets: others see a keyed hash of a user's address, not the address.

The tests' connections come from 127.0.0.1 and 127.0.0.2 (both this machine on Linux),
which the default `server.cloak_exempt` shows as they are. Here the exemption is
narrowed to 127.0.0.1 alone, so that a connection from 127.0.0.2 stands for someone
connecting from elsewhere, and one from 127.0.0.1 for this machine's own (a bot).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hubbub.app import Runtime
from hubbub.server.cloaks import cloak, cloak_key, default_suffix
from tests.e2e import test_webirc
from tests.e2e.test_webirc import OPERS, connect_from, oper_up, through_gateway, webirc_toml, whois
from tests.helpers import LineClient, connected

make_gateway_server = test_webirc.make_gateway_server  # the fixture, for these tests too

ELSEWHERE = "127.0.0.2"  # cloaked here: not in the narrowed exemption
EXEMPT_LOCAL = "server.cloak_exempt=['127.0.0.1/32']"
CLOAK = re.compile(r"[a-z2-7]{16}\.hubbub")


async def registered_from(runtime: Runtime, clients: list[LineClient], nick: str, ip: str = ELSEWHERE) -> LineClient:
    client = await connect_from(runtime, ip)
    clients.append(client)
    await client.register(nick)
    return client


def host_in(prefix: str) -> str:
    return prefix.rpartition("@")[2]


async def test_others_see_a_cloak_and_never_the_address(make_server, clients) -> None:
    server = await make_server(EXEMPT_LOCAL)
    alice = await registered_from(server, clients, "alice")
    welcome = next(m for m in alice.received if m.command == "001")
    cloaked = host_in(welcome.params[-1].split()[-1])
    assert CLOAK.fullmatch(cloaked), welcome
    shown = next(m for m in alice.received if m.command == "396")  # the user is told what others see
    assert shown.params[1:] == [cloaked, "is now your displayed host"]
    await alice.join("#c")
    bob = await connected(server, "bob", "#c")  # from 127.0.0.1: exempt, shown as it is
    clients.append(bob)
    joined = await alice.expect(lambda m: m.command == "JOIN" and (m.source or "").startswith("bob!"))
    assert host_in(joined.source or "") == "127.0.0.1"

    alice.send("PRIVMSG #c :hello")
    said = await bob.expect("PRIVMSG", "#c", "hello")
    assert host_in(said.source or "") == cloaked

    replies = await whois(bob, "alice")
    assert replies["311"].params[3] == cloaked
    assert "378" not in replies  # the address: to the user itself and to operators only
    bob.send("WHO #c")
    rows = {m.params[5]: m for m in await bob.collect_until("315") if m.command == "352"}
    assert rows["alice"].params[3] == cloaked
    bob.send("WHO #c %nhi")
    rows = {m.params[3]: m for m in await bob.collect_until("315") if m.command == "354"}
    assert rows["alice"].params[1:3] == ["255.255.255.255", cloaked]
    bob.send("USERHOST alice")
    assert (await bob.expect("302")).params[-1].endswith("@" + cloaked)
    everything = " ".join(bob.raw)
    assert ELSEWHERE not in everything, [line for line in bob.raw if ELSEWHERE in line]

    own = await whois(alice, "alice")  # oneself: the address too
    assert own["378"].params[-1] == f"is connecting from *@{ELSEWHERE} {ELSEWHERE}"


async def test_one_address_one_cloak_and_a_ban_on_it_holds(make_server, clients) -> None:
    """The cloak is the same for every connection from one address, so a ban on it keeps
    its owner out after a reconnection; another address has another."""
    server = await make_server(EXEMPT_LOCAL)
    op = await connected(server, "op", "#c")
    clients.append(op)
    first = await registered_from(server, clients, "alice")
    again = await registered_from(server, clients, "alice2")
    other = await registered_from(server, clients, "carol", "127.0.0.3")
    cloaks = [host_in(next(m for m in c.received if m.command == "001").params[-1]) for c in (first, again, other)]
    assert CLOAK.fullmatch(cloaks[0]) and cloaks[0] == cloaks[1] != cloaks[2]
    op.send(f"MODE #c +b *!*@{cloaks[0]}")
    await op.expect("MODE", "#c", "+b")
    again.send("JOIN #c")
    assert (await again.expect(lambda m: m.command in ("474", "366"))).command == "474"
    other.send("JOIN #c")
    await other.expect("366")


async def test_the_flood_ban_names_the_cloak_not_the_address(make_server, clients) -> None:
    server = await make_server(EXEMPT_LOCAL)
    op = await connected(server, "op", "#c")
    clients.append(op)
    op.send("MODE #c +f *3:10")
    await op.expect("MODE", "#c", "+f")
    alice = await registered_from(server, clients, "alice")
    cloaked = host_in(next(m for m in alice.received if m.command == "001").params[-1])
    await alice.join("#c")
    for i in range(4):
        alice.send(f"PRIVMSG #c :flood {i}")
    ban = await op.expect(lambda m: m.command == "MODE" and m.params[1:2] == ["+b"])
    assert ban.params[2] == f"*!*@{cloaked}"


async def test_this_machines_addresses_and_cloaks_off_show_the_address(make_server, clients) -> None:
    defaults = await make_server()  # 127.0.0.0/8 and ::1 exempt by default
    alice = await registered_from(defaults, clients, "alice")
    assert host_in(next(m for m in alice.received if m.command == "001").params[-1]) == ELSEWHERE
    assert not [m for m in alice.received if m.command == "396"]
    off = await make_server("server.cloak_hosts=false", "server.cloak_exempt=[]")
    bob = await registered_from(off, clients, "bob")
    assert host_in(next(m for m in bob.received if m.command == "001").params[-1]) == ELSEWHERE


async def test_the_suffix_and_the_key_kept_by_the_store(make_server, clients, tmp_path: Path) -> None:
    """A cloak ends with `server.cloak_suffix`; its key is the store's secret, so one
    address keeps its cloak across a restart (bans and ignores on it go on holding)."""
    db = f"store.db='{tmp_path / 'hubbub.db'}'"
    first = await make_server(EXEMPT_LOCAL, db, "server.cloak_suffix=users-example")
    alice = await registered_from(first, clients, "alice")
    before = host_in(next(m for m in alice.received if m.command == "001").params[-1])
    assert re.fullmatch(r"[a-z2-7]{16}\.users-example", before)
    await alice.close()
    await first.stop()
    again = await make_server(EXEMPT_LOCAL, db, "server.cloak_suffix=users-example")
    alice = await registered_from(again, clients, "alice")
    assert host_in(next(m for m in alice.received if m.command == "001").params[-1]) == before


async def test_operators_see_the_address(make_gateway_server, clients) -> None:
    server = await make_gateway_server(EXEMPT_LOCAL, "server.cloak_hosts=true")
    oper = await connected(server, "oper")
    clients.append(oper)
    await oper_up(oper)
    await registered_from(server, clients, "alice")
    replies = await whois(oper, "alice")
    assert CLOAK.fullmatch(replies["311"].params[3])
    assert replies["378"].params[-1] == f"is connecting from *@{ELSEWHERE} {ELSEWHERE}"
    # KLINE <nick> bans its address, which operators read, not the cloak others see
    oper.send("KLINE alice :spam")
    notice = await oper.expect(lambda m: m.command == "NOTICE" and "K-line" in m.params[-1])
    assert f"*@{ELSEWHERE}" in notice.params[-1], notice
    back = await connect_from(server, ELSEWHERE)
    clients.append(back)
    assert "K-Lined" in (await back.expect("ERROR")).params[-1]


async def test_a_gateways_user_is_cloaked_by_the_address_it_names(make_gateway_server, clients) -> None:
    """WEBIRC from 127.0.0.1 (exempt) for a user at 203.0.113.7 with a hostname: others
    see the cloak of 203.0.113.7, neither its hostname nor its address."""
    server = await make_gateway_server(EXEMPT_LOCAL, "server.cloak_hosts=true", toml=OPERS + webirc_toml())
    viewer = await connected(server, "viewer")
    clients.append(viewer)
    await through_gateway(server, clients, "webby", "203.0.113.7", hostname="home.example.net")
    replies = await whois(viewer, "webby")
    host = replies["311"].params[3]
    assert CLOAK.fullmatch(host) and "203.0.113.7" not in " ".join(viewer.raw)
    from_same = await through_gateway(server, clients, "webby2", "203.0.113.7")
    assert host_in(next(m for m in from_same.received if m.command == "001").params[-1]) == host


def test_the_cloak_is_a_keyed_hash_of_the_counted_address() -> None:
    key = cloak_key(b"s" * 32)
    one = cloak(key, "192.0.2.1", "hubbub")
    assert CLOAK.fullmatch(one) and one == cloak(key, "192.0.2.1", "hubbub")
    assert one != cloak(key, "192.0.2.2", "hubbub")
    assert one != cloak(cloak_key(b"t" * 32), "192.0.2.1", "hubbub")  # another network's secret
    assert default_suffix("My Net!") == "mynet" and default_suffix("***") == "irc"


@pytest.mark.parametrize("setting", ["server.cloak_exempt=['not-an-address']", "server.cloak_suffix='a.b'"])
async def test_bad_cloak_settings_are_refused_at_start(setting: str) -> None:
    from hubbub.config import ConfigError, load

    with pytest.raises(ConfigError, match="server.cloak_"):
        load(None, [setting])


async def test_a_plain_text_user_is_told_its_address_is_hidden(make_server, clients) -> None:
    server = await make_server(EXEMPT_LOCAL)
    person = await connect_from(server, ELSEWHERE)
    clients.append(person)
    await person.expect_text(r"Type a nickname")
    person.send("dora")
    line = await person.expect_text(r"Others see your address as")
    assert re.search(r"as [a-z2-7]{16}\.hubbub \(your IP address is hidden\)$", line), line


async def test_operators_read_the_address_of_a_user_who_left_in_whowas(make_gateway_server, clients) -> None:
    """With cloaks, WHOWAS is where an operator finds whom to K-line once a spammer has
    gone; others read the cloak alone there, as they did while it was connected."""
    server = await make_gateway_server(EXEMPT_LOCAL, "server.cloak_hosts=true")
    oper = await connected(server, "oper")
    viewer = await connected(server, "viewer")
    clients.extend([oper, viewer])
    await oper_up(oper)
    spammer = await registered_from(server, clients, "spammer")
    spammer.send("QUIT :bye")
    await spammer.expect("ERROR")
    oper.send("WHOWAS spammer")
    told = {m.command: m for m in await oper.collect_until("369")}
    assert CLOAK.fullmatch(told["314"].params[3])
    assert told["378"].params[1:] == ["spammer", f"was connecting from *@{ELSEWHERE} {ELSEWHERE}"]
    viewer.send("WHOWAS spammer")
    seen = await viewer.collect_until("369")
    assert CLOAK.fullmatch(next(m for m in seen if m.command == "314").params[3])
    assert "378" not in [m.command for m in seen] and ELSEWHERE not in " ".join(viewer.raw)
