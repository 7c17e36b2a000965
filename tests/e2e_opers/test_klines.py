"""K-lines: set, enforced on those connected, at connection and at registration,
listed by STATS k, lifted by UNKLINE or by expiring.

Every test client connects from 127.0.0.1 except the banned ones, which bind their
end of the connection to 127.0.0.2 (all of 127/8 is loopback on Linux), so an
operator can ban an address without banning itself.
"""

from __future__ import annotations

import logging

from tests.e2e_opers.support import SERVER, an_oper, connected_from
from tests.helpers import LineClient, commands, connected, sync

BANNED = "127.0.0.2"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_kline_commands_are_481_for_non_operators(oper_server, clients) -> None:
    alice = await connected(oper_server, "alice")
    clients.append(alice)
    for line in (f"KLINE *@{BANNED} :x", f"KLINE 10 *@{BANNED} :x", f"UNKLINE *@{BANNED}", "STATS k"):
        alice.send(line)
        assert (await alice.expect(lambda m: m.command.isdigit())).command == "481", line
    assert oper_server.state.klines.active(0) == []


async def test_kline_disconnects_matching_users_already_connected(oper_server, clients) -> None:
    ircop = await an_oper(oper_server, "ircop", "#room")
    target = await connected_from(oper_server, BANNED, "target")
    bystander = await connected(oper_server, "bystander")
    clients.extend([ircop, target, bystander])
    await target.join("#room")
    ircop.send(f"KLINE *@{BANNED} :spam bots")
    confirm = await ircop.expect("NOTICE", "ircop")
    assert confirm.params[1] == f"*** Added K-line on *@{BANNED} permanently: spam bots"
    assert (await target.expect("ERROR")).params == [f"Closing Link: {BANNED} (K-Lined: spam bots)"]
    assert (await ircop.expect("QUIT")).params == ["K-Lined: spam bots"]
    assert commands(await sync(bystander)) == []


async def test_klined_address_is_refused_at_connection_until_unklined(oper_server, clients) -> None:
    ircop = await an_oper(oper_server)
    clients.append(ircop)
    ircop.send(f"KLINE *@{BANNED} :go away")
    await ircop.expect("NOTICE", "ircop")
    refused = await connected_from(oper_server, BANNED)
    clients.append(refused)
    assert await refused.closed() == [f"ERROR :Closing Link: {BANNED} (K-Lined: go away)"]
    ircop.send(f"UNKLINE *@{BANNED}")
    assert (await ircop.expect("NOTICE", "ircop")).params[1] == f"*** Removed K-line on *@{BANNED}"
    welcome = await connected_from(oper_server, BANNED, "back")
    clients.append(welcome)


async def test_kline_hits_kills_and_their_disconnections_are_logged(oper_server, clients, caplog) -> None:
    caplog.set_level(logging.INFO, logger="hubbub")
    ircop = await an_oper(oper_server)
    target = await connected_from(oper_server, BANNED, "target")
    victim = await connected(oper_server, "victim")
    clients.extend([ircop, target, victim])
    ircop.send("KILL victim :flooding")
    await victim.closed()
    ircop.send(f"KLINE *@{BANNED} :spam bots")
    await target.closed()
    refused = await connected_from(oper_server, BANNED)
    await refused.closed()
    await sync(ircop)
    lines = [r.getMessage() for r in caplog.records]
    who = f"target!~u@{BANNED} [{BANNED}]"
    for expected in (
        "ircop!~u@127.0.0.1 killed victim!~u@127.0.0.1 (flooding)",
        "disconnected victim!~u@127.0.0.1 [127.0.0.1] (Killed (ircop (flooding)))",
        f"K-line *@{BANNED} matches {who}",
        f"disconnected {who} (K-Lined: spam bots)",
        f"K-line *@{BANNED} matches a connection from {BANNED}",
        f"refused a connection from {BANNED}: K-Lined: spam bots",
    ):
        assert expected in lines, (expected, lines)


async def test_kline_on_a_username_applies_at_registration_with_casemapping(oper_server, clients) -> None:
    ircop = await an_oper(oper_server)
    clients.append(ircop)
    ircop.send("KLINE ~BADUSER@* :no bots")
    await ircop.expect("NOTICE", "ircop")
    bot = await LineClient.connect(oper_server)
    clients.append(bot)
    bot.send("NICK bot")
    bot.send("USER baduser 0 * :Bot")
    lines = await bot.closed()
    assert lines[-1] == "ERROR :Closing Link: 127.0.0.1 (K-Lined: no bots)"
    assert not any(" 001 " in line for line in lines)
    human = await connected(oper_server, "human")  # another username from the same host is fine
    clients.append(human)


async def test_kline_on_a_nick_bans_that_users_host(oper_server, clients) -> None:
    ircop = await an_oper(oper_server)
    target = await connected_from(oper_server, BANNED, "target")
    clients.extend([ircop, target])
    ircop.send("KLINE 30 target :cool down")
    assert (await ircop.expect("NOTICE", "ircop")).params[1] == f"*** Added K-line on *@{BANNED} for 30m: cool down"
    assert (await target.expect("ERROR")).params == [f"Closing Link: {BANNED} (K-Lined: cool down)"]


async def test_kline_on_a_nick_shown_with_a_given_host_bans_its_address_not_the_host(oper_server, clients) -> None:
    """A host CHGHOST (or a vhost) gave may be shared by others, and its owner comes back
    without it: the nick stands for the address."""
    ircop = await an_oper(oper_server)
    target = await connected_from(oper_server, BANNED, "target")
    other = await connected_from(oper_server, "127.0.0.3", "other")
    clients.extend([ircop, target, other])
    for nick in ("target", "other"):
        ircop.send(f"CHGHOST {nick} staff.example.org")
    await sync(ircop)
    ircop.send("KLINE 30 target :cool down")
    assert (await ircop.expect("NOTICE", "ircop")).params[1] == f"*** Added K-line on *@{BANNED} for 30m: cool down"
    assert (await target.expect("ERROR")).params == ["Closing Link: staff.example.org (K-Lined: cool down)"]
    assert "ERROR" not in commands(await sync(other))  # shown with the same host, elsewhere: not banned


async def test_kline_on_a_cidr_block_matches_addresses_inside_it(oper_server, clients) -> None:
    ircop = await an_oper(oper_server)
    target = await connected_from(oper_server, BANNED, "target")
    clients.extend([ircop, target])
    ircop.send(f"KLINE {BANNED}/32 :range")
    assert (await target.expect("ERROR")).params == [f"Closing Link: {BANNED} (K-Lined: range)"]


async def test_timed_kline_is_listed_then_expires(make_oper_server, clients) -> None:
    server = await make_oper_server("limits.registration_timeout=100000", "limits.ping_interval=100000")
    clock = Clock(server.clock())
    server.clock = clock
    ircop = await an_oper(server)
    clients.append(ircop)
    ircop.send(f"KLINE 1h {BANNED} :later")
    await ircop.expect("NOTICE", "ircop")
    ircop.send("STATS k")
    reply = await ircop.collect_until("219")
    assert [m.params for m in reply] == [
        ["ircop", "K", BANNED, "*", "*", "later (expires in 1h, set by ircop)"],
        ["ircop", "k", "End of /STATS report"],
    ]
    clock.now += 3600
    back = await connected_from(server, BANNED, "back")
    clients.append(back)
    ircop.send("STATS k")
    assert commands(await ircop.collect_until("219")) == ["219"]


async def test_kline_refuses_masks_that_are_malformed_too_broad_or_match_the_setter(oper_server, clients) -> None:
    ircop = await an_oper(oper_server)
    clients.append(ircop)
    for mask, why in (
        ("*@*", "*@* would ban everyone"),
        ("*.*", "*@*.* would ban everyone"),
        ("nick!user@host", "a K-line mask is user@host, without a nick"),
        ("*@10.0.0.0/4", "10.0.0.0/4 would ban too much"),
        ("*@127.0.0.1", "That mask matches you; it was not set"),
        ("ircop", "That mask matches you; it was not set"),  # a nick: *@its host
    ):
        ircop.send(f"KLINE {mask} :x")
        fail = await ircop.expect("FAIL")
        assert fail.params[:2] == ["KLINE", "INVALID_MASK"] and fail.params[-1] == why, mask
    assert oper_server.state.klines.active(0) == []


async def test_unkline_of_a_mask_without_kline_fails(oper_server, clients) -> None:
    ircop = await an_oper(oper_server)
    clients.append(ircop)
    ircop.send("UNKLINE *@192.0.2.1")
    fail = await ircop.expect("FAIL")
    assert fail.params == ["UNKLINE", "NO_SUCH_KLINE", "*@192.0.2.1", "No K-line is set on that mask"]


async def test_opers_watching_server_notices_hear_of_klines(oper_server, clients) -> None:
    ircop = await an_oper(oper_server)
    watcher = await an_oper(oper_server, "watcher")
    clients.extend([ircop, watcher])
    watcher.send("MODE watcher +s")
    await watcher.expect("MODE", "watcher", "+s")
    ircop.send(f"KLINE 2d *@{BANNED} :abuse")
    notice = await watcher.expect("NOTICE", "watcher")
    assert notice.source == SERVER
    assert notice.params[1] == f"*** Notice -- ircop added a K-line on *@{BANNED} for 2d: abuse"


async def test_klines_survive_a_restart_and_unkline_is_kept_too(make_oper_server, clients, tmp_path) -> None:
    db = f"store.db='{tmp_path / 'hubbub.db'}'"
    server = await make_oper_server(db)
    ircop = await an_oper(server)
    ircop.send(f"KLINE *@{BANNED} :kept")
    ircop.send("KLINE *@127.0.0.3 :lifted later")
    await ircop.expect("NOTICE", "ircop")
    ircop.send("UNKLINE *@127.0.0.3")
    await sync(ircop)
    await ircop.close()
    await server.stop()
    again = await make_oper_server(db)
    ircop = await an_oper(again)
    clients.append(ircop)
    ircop.send("STATS k")
    listed = [m.params[2] for m in await ircop.collect_until("219") if m.command == "216"]
    assert listed == [BANNED]
    banned = await connected_from(again, BANNED)
    assert (await banned.expect("ERROR")).params == [f"Closing Link: {BANNED} (K-Lined: kept)"]
