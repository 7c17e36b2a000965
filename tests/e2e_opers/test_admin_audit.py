"""A server operator's day, black-box: OPER, REHASH of what a running server should pick
up, KILL, K-lines (with a store and a restart), WALLOPS, server notices, the server
queries (LUSERS, TIME, VERSION, ADMIN, INFO, STATS) and /metrics, checked against
README.md, docs/operators.md and the Modern IRC document, as an operator used to
InspIRCd, ergo or solanum would check them.

The operator connects from 127.0.0.1; the clients it bans bind 127.0.0.2 and up (all of
127/8 is loopback on Linux). A test marked xfail(strict) asserts the right behaviour
where hubbub does not have it yet.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import sqlite3
import ssl
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from hubbub.app import Runtime
from hubbub.irc.message import parse
from tests.ca_signed import ca_signed_pair
from tests.e2e_opers.conftest import oper_toml
from tests.e2e_opers.support import SERVER, an_oper, connected_from
from tests.helpers import LineClient, cap_ls, cheap_hash, commands, connect_plain, connected, isupport_tokens, sync

MakeServer = Callable[..., Awaitable[Runtime]]
BANNED = "127.0.0.2"
SPACED_PASSWORD = "correct horse"  # README: `echo 'correct horse' | hubbub hash-password`


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def spaced_hash() -> str:
    return cheap_hash(SPACED_PASSWORD)  # checked at the cost it was made at: the suite's cheap one


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


needs_ipv6 = pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback here")


async def rehash(ircop: LineClient, path: Path, text: str) -> list[str]:
    """Rewrite the file, REHASH, and return the notices up to `Configuration reloaded`."""
    path.write_text(text, encoding="utf-8")
    ircop.send("REHASH")
    assert (await ircop.expect("382")).params == [ircop.nick, str(path), "Rehashing"]
    notes = []
    while True:
        message = await ircop.expect(lambda m: m.command in ("NOTICE", "FAIL"))
        assert message.command == "NOTICE", message.params
        notes.append(message.params[-1])
        if message.params[-1] == "*** Configuration reloaded":
            return notes


async def watching(runtime: Runtime, nick: str = "watcher") -> LineClient:
    """An operator with +s (server notices)."""
    watcher = await an_oper(runtime, nick)
    watcher.send(f"MODE {nick} +s")
    await watcher.expect("MODE", nick, "+s")
    return watcher


async def dropped(client: LineClient) -> bool:
    """Whether the server has closed `client` (after an ERROR), or answers it still."""
    client.send("PING still-there")
    while True:
        line = await client.read_line()
        if line is None or line.startswith("ERROR "):
            return True
        if " PONG " in line and line.endswith("still-there"):
            return False


async def lusers(client: LineClient) -> dict[str, list[str]]:
    client.send("LUSERS")
    replies = await client.collect_until("266")
    return {m.command: m.params for m in replies if m.command.isdigit()}


async def stats_k(client: LineClient) -> list[list[str]]:
    client.send("STATS k")
    return [m.params for m in await client.collect_until("219") if m.command == "216"]


async def scrape(runtime: Runtime) -> tuple[str, dict[str, float]]:
    async with aiohttp.ClientSession() as http, http.get(runtime.web_url("/metrics")) as response:
        assert response.status == 200
        kind = response.headers["Content-Type"]
        text = await response.text()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return kind, samples


# -- OPER -------------------------------------------------------------------------------------


async def test_oper_with_a_password_holding_a_space_as_the_readme_tells(
    make_oper_server: MakeServer, oper_hash: str, spaced_hash: str, clients
) -> None:
    server = await make_oper_server(toml=oper_toml(oper_hash) + oper_toml(spaced_hash, "alice"))
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("OPER alice correct horse")  # what the README's `/oper alice correct horse` puts on the wire
    assert (await alice.expect(lambda m: m.command in ("381", "464"))).command == "381"


async def test_oper_with_a_spaced_password_as_a_trailing_parameter_works(
    make_oper_server: MakeServer, oper_hash: str, spaced_hash: str, clients
) -> None:
    server = await make_oper_server(toml=oper_toml(oper_hash) + oper_toml(spaced_hash, "alice"))
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("OPER alice :correct horse")
    await alice.expect("381", "alice")
    assert (await alice.expect("MODE")).params == ["alice", "+o"]


async def test_oper_names_are_exact_and_a_second_oper_changes_nothing(oper_server: Runtime, clients) -> None:
    ircop = await an_oper(oper_server)
    clients.append(ircop)
    ircop.send("OPER ADMIN operpass")  # block names are not casemapped (InspIRCd, ergo alike)
    assert (await ircop.expect(lambda m: m.command.isdigit())).command == "464"
    ircop.send("OPER admin operpass")  # already +o: 381 again, no MODE change, still one operator
    await ircop.expect("381")
    assert "MODE" not in commands(await sync(ircop))
    assert (await lusers(ircop))["252"][1] == "1"


async def test_commands_before_registration_are_451_not_run(oper_server: Runtime, clients) -> None:
    early = await LineClient.connect(oper_server)
    clients.append(early)
    early.send("CAP LS 302")  # an IRC client, not a person typing
    await early.expect("CAP")
    for line in ("OPER admin operpass", "KILL someone", "KLINE *@192.0.2.1", "REHASH", "DIE", "WALLOPS :x"):
        early.send(line)
        assert (await early.expect(lambda m: m.command.isdigit())).command == "451", line
    assert not oper_server._stopping
    assert oper_server.state.klines.active(0) == []


# -- REHASH -------------------------------------------------------------------------------------


async def test_rehash_changes_a_password_adds_and_removes_blocks_and_stats_o_follows(
    make_oper_server: MakeServer, oper_hash: str, spaced_hash: str, clients
) -> None:
    server = await make_oper_server(toml=oper_toml(oper_hash) + oper_toml(oper_hash, "gone"))
    ircop = await an_oper(server)
    clients.append(ircop)
    path = Path(server.config_name)
    notes = await rehash(ircop, path, oper_toml(spaced_hash) + oper_toml(oper_hash, "fresh", hosts=["*@127.0.0.1"]))
    assert notes == ["*** Configuration reloaded"]
    ircop.send("STATS o")
    listed = [m.params[1:] for m in await ircop.collect_until("219") if m.command == "243"]
    assert listed == [["O", "*@*", "*", "admin"], ["O", "*@127.0.0.1", "*", "fresh"]]
    bob = await connected(server, "bob")
    clients.append(bob)
    for line in ("OPER admin operpass", "OPER gone operpass"):  # the old password, the removed block
        bob.send(line)
        assert (await bob.expect(lambda m: m.command.isdigit())).command == "464", line
    bob.send("OPER admin :correct horse")
    await bob.expect("381")
    ircop.send("MODE ircop")  # opered before the reload: still an operator
    assert "o" in (await ircop.expect("221")).params[1]


async def test_rehash_of_topiclen_and_max_channels_is_advertised_to_new_clients_and_enforced(
    make_oper_server: MakeServer, oper_hash: str, clients
) -> None:
    server = await make_oper_server()
    ircop = await an_oper(server)
    clients.append(ircop)
    await rehash(ircop, Path(server.config_name), oper_toml(oper_hash) + "[limits]\ntopiclen = 5\nmax_channels = 2\n")
    new = await LineClient.connect(server)
    clients.append(new)
    new.send("NICK newbie")
    new.send("USER n 0 * :N")
    tokens = isupport_tokens(await new.collect_until("376"))
    assert tokens["TOPICLEN"] == "5" and tokens["CHANLIMIT"] == "#:2"
    new.nick = "newbie"
    new.send("JOIN #a,#b,#c")
    await new.expect("405", "newbie", "#c")
    new.send("TOPIC #a :abcdefghij")
    assert (await new.expect("TOPIC")).params == ["#a", "abcde"]


async def test_rehash_of_max_clients_refuses_the_next_and_keeps_everyone(
    make_oper_server: MakeServer, oper_hash: str, clients
) -> None:
    server = await make_oper_server()
    ircop = await an_oper(server)
    bob = await connected(server, "bob")
    clients.extend([ircop, bob])
    await rehash(ircop, Path(server.config_name), oper_toml(oper_hash) + "[limits]\nmax_clients = 2\n")
    extra = await LineClient.connect(server)
    clients.append(extra)
    assert await extra.closed() == ["ERROR :Closing Link: 127.0.0.1 (Server is full)"]
    bob.send("PING still-here")
    await bob.expect("PONG")


async def test_rehash_counts_failed_opers_made_before_a_lower_limit(
    make_oper_server: MakeServer, oper_hash: str, clients
) -> None:
    server = await make_oper_server()
    ircop = await an_oper(server)
    guesser = await connected_from(server, BANNED, "guesser")
    clients.extend([ircop, guesser])
    for _ in range(2):
        guesser.send("OPER admin wrong")
        await guesser.expect("464")
    await rehash(ircop, Path(server.config_name), oper_toml(oper_hash) + "[accounts]\nlogin_failures = 2\n")
    again = await connected_from(server, BANNED, "again")  # same address, new connection
    clients.append(again)
    again.send("OPER admin operpass")  # right, but the address failed twice within the window
    refusal = await again.expect("464")
    assert refusal.params[-1].startswith("Too many failed attempts; try again in ")


async def test_rehash_of_listeners_keeps_them_and_says_a_restart_is_needed(
    make_oper_server: MakeServer, oper_hash: str, tmp_path: Path, clients
) -> None:
    def toml(tls_listen: str) -> str:
        return oper_toml(oper_hash) + (
            f"[listen]\ntls = {tls_listen}\n[tls]\nself_signed = true\nsts = false\n"
            f'cert = "{tmp_path / "c.pem"}"\nkey = "{tmp_path / "k.pem"}"\n'
        )

    server = await make_oper_server(toml=toml('["127.0.0.1:0"]'))
    ircop = await an_oper(server)
    clients.append(ircop)
    before = list(server.addresses)
    notes = await rehash(ircop, Path(server.config_name), toml('["127.0.0.1:0", "127.0.0.1:0"]'))
    assert notes == [
        "*** listen.tls cannot change while the server runs; restart to apply it",
        "*** Configuration reloaded",
    ]
    assert server.addresses == before
    context = ssl.create_default_context(cafile=str(tmp_path / "c.pem"))
    host, port = server.tls_address()
    client = LineClient(*await asyncio.open_connection(host, port, ssl=context))
    clients.append(client)
    await client.register("secure")


async def test_rehash_turning_sts_off_withdraws_it_from_cap_ls(
    make_oper_server: MakeServer, oper_hash: str, tmp_path: Path, clients
) -> None:
    pair = ca_signed_pair(tmp_path / "ca")  # STS only with a certificate clients can verify
    tls = f'[listen]\ntls = ["127.0.0.1:0"]\n[tls]\ncert = "{pair.cert}"\nkey = "{pair.key}"\n'
    server = await make_oper_server(toml=oper_toml(oper_hash) + tls + "sts_duration = 600\n")
    ircop = await an_oper(server)
    first = await LineClient.connect(server)
    clients.extend([ircop, first])
    _, offered = await cap_ls(first)
    assert offered["sts"] == f"port={server.tls_address()[1]},duration=600"
    await rehash(ircop, Path(server.config_name), oper_toml(oper_hash) + tls + "sts = false\n")
    later = await LineClient.connect(server)
    clients.append(later)
    _, offered = await cap_ls(later)
    assert "sts" not in offered


# -- KILL -------------------------------------------------------------------------------------


async def test_kill_of_oneself_sends_the_kill_message_then_the_error(oper_server: Runtime, clients) -> None:
    ircop = await an_oper(oper_server)
    clients.append(ircop)
    await sync(ircop)
    ircop.send("KILL ircop :bye me")
    lines = await ircop.closed()
    assert lines[-1] == "ERROR :Closing Link: 127.0.0.1 (Killed (ircop (bye me)))"
    kill = parse(lines[0])  # Modern IRC: "the client being killed receives the KILL message"
    assert kill.command == "KILL" and kill.params == ["ircop", "bye me"]
    assert kill.source.startswith("ircop!")


async def test_kill_of_oneself_still_disconnects_and_peers_see_why(oper_server: Runtime, clients) -> None:
    ircop = await an_oper(oper_server, "ircop", "#room")
    peer = await connected(oper_server, "peer", "#room")
    clients.extend([ircop, peer])
    ircop.send("KILL ircop :bye me")
    assert (await ircop.closed())[-1] == "ERROR :Closing Link: 127.0.0.1 (Killed (ircop (bye me)))"
    quit_ = await peer.expect("QUIT")
    assert quit_.source.startswith("ircop!") and quit_.params == ["Killed (ircop (bye me))"]
    assert "252" not in await lusers(peer)  # no operator left


async def test_kill_of_a_service_kills_nothing_and_the_service_keeps_answering(oper_server: Runtime, clients) -> None:
    ircop = await an_oper(oper_server)
    clients.append(ircop)
    for service in ("NickServ", "ChanServ"):
        ircop.send(f"KILL {service} :go away")
        assert (await ircop.expect(lambda m: m.command.isdigit())).params[:2] == ["ircop", service]
    ircop.send("PRIVMSG NickServ :HELP")
    assert (await ircop.expect("NOTICE")).source == "NickServ!NickServ@services"


async def test_kill_of_a_plain_user_tells_them_why_in_words(oper_server: Runtime, clients) -> None:
    ircop = await an_oper(oper_server, "ircop", "#lobby")
    plain = await connect_plain(oper_server, "typist")
    clients.extend([ircop, plain])
    await ircop.expect("JOIN", "#lobby")  # the typist's
    ircop.send("KILL typist :please stop")
    assert (await plain.closed())[-1] == "*** Disconnected: Killed (ircop (please stop))"
    assert (await ircop.expect("QUIT")).params == ["Killed (ircop (please stop))"]


async def test_kill_of_another_operator_updates_lusers_and_the_operators_gauge(
    make_oper_server: MakeServer, clients
) -> None:
    server = await make_oper_server("listen.web='127.0.0.1:0'")
    ircop = await an_oper(server)
    other = await an_oper(server, "other")
    clients.extend([ircop, other])
    assert (await lusers(ircop))["252"][1] == "2"
    ircop.send("KILL other :enough")
    assert (await other.closed())[-1] == "ERROR :Closing Link: 127.0.0.1 (Killed (ircop (enough)))"
    assert (await lusers(ircop))["252"][1] == "1"
    _, samples = await scrape(server)
    assert samples["hubbub_operators"] == 1


# -- K-lines ----------------------------------------------------------------------------------


async def test_kline_drops_connections_still_registering_and_plain_users_choosing_a_name(
    oper_server: Runtime, clients
) -> None:
    ircop = await an_oper(oper_server)
    halfway = await connected_from(oper_server, BANNED)
    choosing = await connected_from(oper_server, BANNED)
    clients.extend([ircop, halfway, choosing])
    halfway.send("NICK halfway")
    await sync(halfway)
    await choosing.expect_text("Type a nickname")
    ircop.send(f"KLINE *@{BANNED} :not here")
    assert await halfway.closed() == [f"ERROR :Closing Link: {BANNED} (K-Lined: not here)"]
    assert (await choosing.closed())[-1] in (
        f"ERROR :Closing Link: {BANNED} (K-Lined: not here)",
        "*** Disconnected: K-Lined: not here",
    )


async def test_kline_notice_for_a_connection_still_registering_is_one_of_the_documented_forms(
    oper_server: Runtime, clients
) -> None:
    ircop = await watching(oper_server, "ircop")
    halfway = await connected_from(oper_server, BANNED)
    clients.extend([ircop, halfway])
    halfway.send("NICK halfway")
    await sync(halfway)
    ircop.send(f"KLINE *@{BANNED} :not here")
    notice = await ircop.expect(lambda m: m.command == "NOTICE" and "K-line active" in m.params[-1])
    text = notice.params[-1].removeprefix("*** Notice -- ")
    assert re.fullmatch(
        rf"K-line active for a connection from {BANNED}: \*@{BANNED}"
        rf"|K-line active for \S+ \([^@\s]+@{BANNED}\) \[{BANNED}\]: \*@{BANNED}",
        text,
    ), text


async def test_kline_on_a_websocket_user_behind_a_trusted_proxy_bans_its_forwarded_address(
    make_oper_server: MakeServer, clients
) -> None:
    server = await make_oper_server("listen.web='127.0.0.1:0'", "web.trusted_proxies=['127.0.0.1']",
                                    "server.cloak_hosts=false")  # fmt: skip
    ircop = await an_oper(server)  # 127.0.0.1 too, but not 192.0.2.7: the K-line is not on the setter
    clients.append(ircop)

    async def ws_user(http: aiohttp.ClientSession, nick: str) -> tuple[aiohttp.ClientWebSocketResponse, list[str]]:
        ws = await http.ws_connect(
            server.web_url("/webirc"), protocols=("text.ircv3.net",), headers={"X-Forwarded-For": "192.0.2.7"}
        )
        await ws.send_str(f"NICK {nick}")
        await ws.send_str("USER w 0 * :W")
        lines: list[str] = []
        while True:
            frame = await ws.receive(timeout=5)
            if frame.type != aiohttp.WSMsgType.TEXT:
                return ws, lines
            lines.append(frame.data)
            if " 376 " in frame.data or frame.data.startswith("ERROR"):
                return ws, lines

    async with aiohttp.ClientSession() as http:
        ws, _ = await ws_user(http, "proxied")
        ircop.send("KLINE proxied :via the proxy")  # a nick: *@its (forwarded) address
        assert (await ircop.expect("NOTICE", "ircop")).params[1] == (
            "*** Added K-line on *@192.0.2.7 permanently: via the proxy"
        )
        frame = await ws.receive(timeout=5)
        assert frame.data == "ERROR :Closing Link: 192.0.2.7 (K-Lined: via the proxy)"
        await ws.close()
        again, lines = await ws_user(http, "again")
        await again.close()
        assert "ERROR :Closing Link: 192.0.2.7 (K-Lined: via the proxy)" in lines
        assert not any(" 001 " in line for line in lines)


@needs_ipv6
async def test_stats_k_shows_the_host_of_an_ipv6_kline(make_oper_server: MakeServer, clients) -> None:
    server = await make_oper_server("listen.irc=['127.0.0.1:0', '[::1]:0']")
    ircop = await an_oper(server)
    clients.append(ircop)
    ircop.send("KLINE *@::1 :v6 abuse")
    await ircop.expect("NOTICE", "ircop")
    ((nick, letter, host, star, user, reason),) = await stats_k(ircop)
    assert (nick, letter, star, user) == ("ircop", "K", "*", "*") and reason.startswith("v6 abuse")
    assert host != "*" and ipaddress.ip_address(host) == ipaddress.ip_address("::1"), host


@needs_ipv6
async def test_kline_on_an_ipv6_address_disconnects_and_refuses_it(make_oper_server: MakeServer, clients) -> None:
    server = await make_oper_server("listen.irc=['127.0.0.1:0', '[::1]:0']")
    ircop = await an_oper(server)
    clients.append(ircop)
    (port,) = [port for kind, host, port in server.addresses if kind == "irc" and host == "::1"]
    six = await LineClient.connect_to("::1", port)
    clients.append(six)
    await six.register("six")
    ircop.send("KLINE *@::1 :v6 abuse")
    assert (await six.closed())[-1].endswith("(K-Lined: v6 abuse)")
    back = await LineClient.connect_to("::1", port)
    clients.append(back)
    assert (await back.closed())[-1].endswith("(K-Lined: v6 abuse)")
    ircop.send("KLINE *@::/15 :too wide")
    assert (await ircop.expect("FAIL")).params[:2] == ["KLINE", "INVALID_MASK"]


@needs_ipv6
async def test_kline_on_an_ipv6_address_written_another_way_matches_it(make_oper_server: MakeServer, clients) -> None:
    server = await make_oper_server("listen.irc=['127.0.0.1:0', '[::1]:0']")
    ircop = await an_oper(server)
    clients.append(ircop)
    (port,) = [port for kind, host, port in server.addresses if kind == "irc" and host == "::1"]
    six = await LineClient.connect_to("::1", port)
    clients.append(six)
    await six.register("six")
    ircop.send("KLINE *@0:0::1 :v6 abuse")
    await ircop.expect("NOTICE", "ircop")
    assert await dropped(six)


async def test_kline_that_bans_every_ipv6_user_is_refused_like_star_dot_star(oper_server: Runtime, clients) -> None:
    ircop = await an_oper(oper_server)
    clients.append(ircop)
    ircop.send("KLINE *@*:* :everyone on IPv6")
    reply = await ircop.expect(lambda m: m.command in ("FAIL", "NOTICE"))
    assert reply.command == "FAIL" and reply.params[:2] == ["KLINE", "INVALID_MASK"], reply.params


async def test_kline_with_a_capital_unit_never_bans_the_duration_as_a_host(oper_server: Runtime, clients) -> None:
    ircop = await an_oper(oper_server)
    clients.append(ircop)
    ircop.send(f"KLINE 1H *@{BANNED} :spam")
    await sync(ircop)
    hosts = [params[2] for params in await stats_k(ircop)]
    assert "1H" not in hosts and hosts in ([], [BANNED]), hosts


async def test_kline_on_the_setters_own_user_part_or_network_is_refused(oper_server: Runtime, clients) -> None:
    ircop = await an_oper(oper_server)
    clients.append(ircop)
    for mask in ("~u@*", "*U@127.0.0.1", "*@127.0.0.1/32", "IRCOP"):
        ircop.send(f"KLINE {mask} :x")
        fail = await ircop.expect("FAIL")
        assert fail.params[-1] == "That mask matches you; it was not set", mask
    assert await stats_k(ircop) == []


async def test_kline_set_again_in_another_case_then_removed_stays_removed_after_a_restart(
    make_oper_server: MakeServer, db: str, clients
) -> None:
    store = f"store.db='{db}'"
    server = await make_oper_server(store)
    ircop = await an_oper(server)
    ircop.send(f"KLINE 1d ~Bob@{BANNED} :first")
    await ircop.expect("NOTICE", "ircop")
    ircop.send(f"KLINE 1d ~bob@{BANNED} :second")  # the same mask (CASEMAPPING=ascii): replaces it
    await ircop.expect("NOTICE", "ircop")
    ircop.send(f"UNKLINE ~bob@{BANNED}")
    assert (await ircop.expect("NOTICE", "ircop")).params[1] == f"*** Removed K-line on ~bob@{BANNED}"
    assert await stats_k(ircop) == []
    await ircop.close()
    await server.stop()
    again = await make_oper_server(store)
    ircop = await an_oper(again)
    clients.append(ircop)
    assert await stats_k(ircop) == []
    bob = await connected_from(again, BANNED)
    clients.append(bob)
    await bob.register("bob", user="bob")


async def test_kline_replaced_keeps_its_last_reason_and_expiry_across_a_restart(
    make_oper_server: MakeServer, tmp_path: Path, clients
) -> None:
    store = f"store.db='{tmp_path / 'hubbub.db'}'"
    server = await make_oper_server(store)
    ircop = await an_oper(server)
    for line in (f"KLINE *@{BANNED} :permanent first", f"KLINE 2h *@{BANNED} :timed now"):
        ircop.send(line)
        await ircop.expect("NOTICE", "ircop")
    await ircop.close()
    await server.stop()
    again = await make_oper_server(store)
    ircop = await an_oper(again)
    clients.append(ircop)
    ((_, _, host, _, user, reason),) = await stats_k(ircop)
    assert (host, user) == (BANNED, "*")
    assert re.fullmatch(r"timed now \(expires in 1h59m\d+s, set by ircop\)", reason), reason


async def test_kline_that_expired_while_the_server_was_down_is_forgotten_at_start(
    make_oper_server: MakeServer, tmp_path: Path, clients
) -> None:
    store = f"store.db='{tmp_path / 'hubbub.db'}'"
    server = await make_oper_server(store)
    server.clock = Clock(time.time() - 2 * 86400)  # set two days ago, for one hour
    ircop = await an_oper(server)
    ircop.send(f"KLINE 1h *@{BANNED} :long over")
    await ircop.expect("NOTICE", "ircop")
    await ircop.close()
    await server.stop()
    again = await make_oper_server(store)
    ircop = await an_oper(again)
    back = await connected_from(again, BANNED, "back")
    clients.extend([ircop, back])
    assert await stats_k(ircop) == []
    with sqlite3.connect(tmp_path / "hubbub.db") as db:  # not kept for ever, nor counted at each start
        assert db.execute("SELECT mask FROM klines").fetchall() == []


# -- WALLOPS ----------------------------------------------------------------------------------


async def test_wallops_reaches_a_plain_user_with_plus_w(oper_server: Runtime, clients) -> None:
    ircop = await an_oper(oper_server)
    irc = await connected(oper_server, "ircuser")
    plain = await connect_plain(oper_server, "typist")
    clients.extend([ircop, irc, plain])
    irc.send("MODE ircuser +w")
    await irc.expect("MODE", "ircuser", "+w")
    plain.send("/mode typist +w")
    await plain.expect_text(r"\+w")
    start = len(plain.raw)
    ircop.send("WALLOPS :network maintenance at noon")
    assert (await irc.expect("WALLOPS")).params == ["network maintenance at noon"]
    plain.send("/who #lobby")  # answered after whatever the WALLOPS caused
    await plain.expect_text(r"^\* typist \(")
    assert any("network maintenance at noon" in line for line in plain.raw[start:]), plain.raw[start:]


async def test_wallops_reaches_plus_w_users_once_whoever_they_are_and_not_the_others(
    oper_server: Runtime, clients
) -> None:
    ircop = await an_oper(oper_server)
    other_oper = await an_oper(oper_server, "quietop")  # an operator without +w
    reader = await connected(oper_server, "reader")
    clients.extend([ircop, other_oper, reader])
    for client in (ircop, reader):
        client.send(f"MODE {client.nick} +w")
        await client.expect("MODE", client.nick, "+w")
    ircop.send("WALLOPS :hello")
    assert [m.params for m in await sync(ircop) if m.command == "WALLOPS"] == [["hello"]]  # +w and sender: once
    wallops = await reader.expect("WALLOPS")
    assert wallops.source.startswith("ircop!") and wallops.params == ["hello"]
    assert "WALLOPS" not in commands(await sync(other_oper))


# -- server queries -----------------------------------------------------------------------------


async def test_lusers_counts_operators_invisible_unknown_connections_and_channels(
    oper_server: Runtime, clients
) -> None:
    ircop = await an_oper(oper_server, "ircop", "#one")
    other = await an_oper(oper_server, "other", "#two")
    hidden = await connected(oper_server, "hidden")
    pending = await LineClient.connect(oper_server)
    clients.extend([ircop, other, hidden, pending])
    hidden.send("MODE hidden +i")
    await hidden.expect("MODE", "hidden", "+i")
    pending.send("CAP LS 302")  # connected, never registered
    await pending.expect("CAP")
    got = await lusers(ircop)
    assert got["251"] == ["ircop", "There are 2 users and 1 invisible on 1 servers"]
    assert got["252"] == ["ircop", "2", "operator(s) online"]
    assert got["253"] == ["ircop", "1", "unknown connection(s)"]
    assert got["254"] == ["ircop", "2", "channels formed"]
    assert got["255"] == ["ircop", "I have 3 clients and 0 servers"]
    assert got["265"][:3] == ["ircop", "3", "3"] and got["266"][:3] == ["ircop", "3", "3"]
    other.send("MODE other -o")
    await other.expect("MODE", "other", "-o")
    assert (await lusers(ircop))["252"][1] == "1"


async def test_time_version_admin_info_and_stats_u_are_well_formed(oper_server: Runtime, clients) -> None:
    alice = await connected(oper_server, "alice")
    clients.append(alice)
    for target in ("", " hubbub.*", " alice"):  # none, a mask of this server, a user's nick
        alice.send(f"TIME{target}")
        reply = await alice.expect("391")
        assert reply.params[:2] == ["alice", SERVER] and reply.params[-1], target
        alice.send(f"VERSION{target}")
        version = await alice.expect(lambda m: m.command.isdigit())
        assert version.command == "351" and version.params[2] == SERVER and len(version.params) == 4
        assert "005" in commands(await sync(alice))  # RPL_VERSION, then the ISUPPORT lines
    alice.send("ADMIN alice")
    assert commands(await alice.collect_until("259")) == ["256", "257", "258", "259"]
    alice.send("INFO")
    info = await alice.collect_until("374")
    assert set(commands(info)) == {"371", "374"} and all(len(m.params) == 2 for m in info)
    alice.send("STATS u")
    up = await alice.expect("242")
    assert re.fullmatch(r"Server Up \d+ days \d+:\d\d:\d\d", up.params[-1]), up.params
    await alice.expect("219", "alice", "u")
    for line in ("TIME elsewhere.example", "VERSION elsewhere.example", "ADMIN nobody", "INFO elsewhere.example"):
        alice.send(line)
        assert (await alice.expect(lambda m: m.command.isdigit())).command == "402", line


async def test_restart_is_not_offered_and_stops_nothing(oper_server: Runtime, clients) -> None:
    ircop = await an_oper(oper_server)
    clients.append(ircop)
    ircop.send("RESTART")
    assert (await ircop.expect(lambda m: m.command.isdigit())).params[:2] == ["ircop", "RESTART"]
    ircop.send("PING alive")
    await ircop.expect("PONG")
    assert not oper_server._stopping


# -- /metrics -----------------------------------------------------------------------------------


async def test_metrics_need_no_credentials_and_agree_with_lusers(make_oper_server: MakeServer, clients) -> None:
    server = await make_oper_server("listen.web='127.0.0.1:0'")
    ircop = await an_oper(server, "ircop", "#room")
    bob = await connected(server, "bob", "#room")
    clients.extend([ircop, bob])
    ircop.send(f"KLINE *@{BANNED} :no")
    await ircop.expect("NOTICE", "ircop")
    refused = await connected_from(server, BANNED)
    clients.append(refused)
    await refused.closed()
    kind, samples = await scrape(server)
    assert kind.startswith("text/plain")
    assert samples["hubbub_users"] == 2 and samples["hubbub_operators"] == 1 and samples["hubbub_channels"] == 1
    assert samples["hubbub_connections_refused_total{transport=tcp}"] >= 1
    got = await lusers(ircop)
    assert got["252"][1] == "1" and got["254"][1] == "1"
