"""More of the operator side, black-box: K-lines as a production operator types them,
REHASH of settings the other tests do not change, DIE/KILL details, and /metrics and
/healthz figures after what operators and users do.

Clients connect from 127.0.0.1; the ones an operator bans bind 127.0.0.2 (or .3).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
from argon2 import extract_parameters
from prometheus_client.parser import text_string_to_metric_families

from hubbub.app import Runtime
from tests.e2e_accounts.support import registered_account
from tests.e2e_opers.conftest import oper_toml
from tests.e2e_opers.support import an_oper, connected_from, oper_up
from tests.helpers import STAMP, LineClient, commands, connect_plain, connected, isupport_tokens, sync, unstamped

BANNED = "127.0.0.2"
OTHER = "127.0.0.3"
WEB = "listen.web='127.0.0.1:0'"


async def rehash(ircop: LineClient, path: Path, text: str) -> list[str]:
    """Rewrite the config file, REHASH, and return the notices up to `Configuration reloaded`."""
    path.write_text(text, encoding="utf-8")
    ircop.send("REHASH")
    await ircop.expect("382")
    notes = []
    while True:
        message = await ircop.expect(lambda m: m.command in ("NOTICE", "FAIL"))
        assert message.command == "NOTICE", message.params
        notes.append(message.params[-1])
        if message.params[-1] == "*** Configuration reloaded":
            return notes


async def scrape(runtime: Runtime) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with aiohttp.ClientSession() as http, http.get(runtime.web_url("/metrics")) as response:
        assert response.status == 200
        text = await response.text()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


async def web_oper_server(make_oper_server: Callable[..., Awaitable[Runtime]], *overrides: str) -> Runtime:
    return await make_oper_server(WEB, *overrides)


# -- K-lines ----------------------------------------------------------------------------------


async def test_kline_on_a_nick_typed_in_another_case_bans_that_users_host(oper_server, clients) -> None:
    ircop = await an_oper(oper_server)
    target = await connected_from(oper_server, BANNED, "Target")
    clients.extend([ircop, target])
    ircop.send("KLINE tARGET :case")
    assert (await ircop.expect("NOTICE", "ircop")).params[1] == f"*** Added K-line on *@{BANNED} permanently: case"
    assert (await target.expect("ERROR")).params == [f"Closing Link: {BANNED} (K-Lined: case)"]


async def test_kline_with_a_username_disconnects_only_that_user_on_the_host(oper_server, clients) -> None:
    ircop = await an_oper(oper_server)
    bot = await connected_from(oper_server, BANNED)
    await bot.register("bot")  # username `u` shows as ~u
    human = await connected_from(oper_server, BANNED)
    human.send("NICK human")
    human.send("USER person 0 * :Human")
    await human.expect("001")
    clients.extend([ircop, bot, human])
    ircop.send(f"KLINE ~U@{BANNED} :bots only")
    await ircop.expect("NOTICE", "ircop")
    assert (await bot.expect("ERROR")).params == [f"Closing Link: {BANNED} (K-Lined: bots only)"]
    assert "ERROR" not in commands(await sync(human))


async def test_kline_with_a_username_lets_the_address_connect_and_refuses_at_registration(oper_server, clients) -> None:
    ircop = await an_oper(oper_server)
    clients.append(ircop)
    ircop.send(f"KLINE ~bot@{BANNED}/24 :no bots here")
    await ircop.expect("NOTICE", "ircop")
    other = await connected_from(oper_server, BANNED, "other")  # username ~u: welcome
    bot = await connected_from(oper_server, OTHER)  # 127.0.0.3 is inside 127.0.0.0/24
    clients.extend([other, bot])
    bot.send("NICK bot")
    bot.send("USER BOT 0 * :Bot")
    lines = await bot.closed()
    assert lines[-1] == f"ERROR :Closing Link: {OTHER} (K-Lined: no bots here)", lines
    assert not any(" 001 " in line for line in lines)


async def test_unkline_accepts_the_mask_in_another_case_and_stats_k_is_then_empty(oper_server, clients) -> None:
    ircop = await an_oper(oper_server)
    clients.append(ircop)
    ircop.send(f"KLINE ~Spam@{BANNED} :x")
    await ircop.expect("NOTICE", "ircop")
    ircop.send(f"UNKLINE ~sPAM@{BANNED}")
    assert (await ircop.expect("NOTICE", "ircop")).params[1] == f"*** Removed K-line on ~Spam@{BANNED}"
    ircop.send("STATS k")
    assert commands(await ircop.collect_until("219")) == ["219"]


async def test_setting_a_mask_again_replaces_its_reason_and_duration(oper_server, clients) -> None:
    ircop = await an_oper(oper_server)
    clients.append(ircop)
    ircop.send(f"KLINE 1h *@{BANNED} :first")
    await ircop.expect("NOTICE", "ircop")
    ircop.send(f"KLINE *@{BANNED} :second")
    await ircop.expect("NOTICE", "ircop")
    ircop.send("STATS k")
    listed = [m.params for m in await ircop.collect_until("219") if m.command == "216"]
    assert len(listed) == 1 and listed[0][-1].startswith("second"), listed
    assert "expires" not in listed[0][-1]
    refused = await connected_from(oper_server, BANNED)
    clients.append(refused)
    assert await refused.closed() == [f"ERROR :Closing Link: {BANNED} (K-Lined: second)"]


async def test_combined_duration_units_are_summed(oper_server, clients) -> None:
    ircop = await an_oper(oper_server)
    clients.append(ircop)
    ircop.send(f"KLINE 1d12h *@{BANNED} :long")
    assert (await ircop.expect("NOTICE", "ircop")).params[1] == f"*** Added K-line on *@{BANNED} for 1d12h: long"


async def test_stats_k_and_o_are_481_for_non_operators_and_still_end_with_219(oper_server, clients) -> None:
    alice = await connected(oper_server, "alice")
    clients.append(alice)
    for letter in ("k", "o"):
        alice.send(f"STATS {letter}")
        reply = await alice.collect_until("219")
        assert "481" in commands(reply) and "216" not in commands(reply) and "243" not in commands(reply), letter


# -- KILL, DIE, OPER ---------------------------------------------------------------------------


async def test_kill_finds_the_nick_in_any_case(oper_server, clients) -> None:
    ircop = await an_oper(oper_server)
    victim = await connected(oper_server, "Victim")
    clients.extend([ircop, victim])
    ircop.send("KILL vICTIM :bye")
    error = await victim.expect("ERROR")
    assert error.params == ["Closing Link: 127.0.0.1 (Killed (ircop (bye)))"]


async def test_die_naming_this_server_in_capitals_shuts_it_down(oper_server, clients) -> None:
    ircop = await an_oper(oper_server)
    clients.append(ircop)
    ircop.send("DIE HUBBUB.LOCAL")
    lines = await ircop.closed()
    assert lines[-1] == "ERROR :Closing Link: 127.0.0.1 (Server shutting down)", lines


async def test_an_oper_block_removed_by_a_rehash_can_no_longer_be_used(make_oper_server, oper_hash, clients) -> None:
    server = await make_oper_server(toml=oper_toml(oper_hash) + oper_toml(oper_hash, "temp"))
    ircop = await an_oper(server)
    clients.append(ircop)
    await rehash(ircop, Path(server.config_name), oper_toml(oper_hash))
    bob = await connected(server, "bob")
    clients.append(bob)
    bob.send("OPER temp operpass")
    await bob.expect("464")
    ircop.send("MODE ircop")  # the one who opered before stays an operator
    assert "o" in (await ircop.expect("221")).params[1]


async def test_a_rehash_of_the_hash_cost_applies_to_passwords_set_after_it(
    make_oper_server, oper_hash, clients
) -> None:
    """accounts.hash_*: a password set after the REHASH is hashed at the new cost; one
    set before keeps its own (docs/accounts.md, "Settings")."""
    small = "[accounts]\nhash_time_cost = 1\nhash_memory_kib = 512\nhash_parallelism = 1\n"
    server = await make_oper_server(toml=oper_toml(oper_hash) + small)
    ircop = await an_oper(server)
    alice = await registered_account(server, "alice", "correct-horse")
    clients.extend([ircop, alice])
    before = server.services.state.accounts["alice"].password_hash
    await rehash(ircop, Path(server.config_name), oper_toml(oper_hash) + small.replace("512", "1024"))
    bob = await registered_account(server, "bob", "correct-horse")
    clients.append(bob)
    after = extract_parameters(server.services.state.accounts["bob"].password_hash)
    assert (after.time_cost, after.memory_cost, after.parallelism) == (1, 1024, 1)
    assert server.services.state.accounts["alice"].password_hash == before  # kept as it was
    assert extract_parameters(before).memory_cost == 512


async def test_an_oper_block_whose_hosts_change_on_rehash_applies_the_new_hosts(
    make_oper_server, oper_hash, clients
) -> None:
    server = await make_oper_server()
    ircop = await an_oper(server)
    clients.append(ircop)
    await rehash(ircop, Path(server.config_name), oper_toml(oper_hash, hosts=[f"*@{BANNED}"]))
    local = await connected(server, "local")
    clients.append(local)
    local.send("OPER admin operpass")
    await local.expect("464")
    remote = await connected_from(server, BANNED, "remote")
    clients.append(remote)
    await oper_up(remote)


# -- REHASH of settings ---------------------------------------------------------------------------


async def test_rehash_of_nicklen_is_advertised_and_enforced_for_new_clients(
    make_oper_server, oper_hash, clients
) -> None:
    server = await make_oper_server()
    ircop = await an_oper(server)
    clients.append(ircop)
    await rehash(ircop, Path(server.config_name), oper_toml(oper_hash) + "[limits]\nnicklen = 6\n")
    new = await LineClient.connect(server)
    clients.append(new)
    new.send("NICK abcdefg")
    await new.expect("432")
    new.send("NICK abcdef")
    new.send("USER a 0 * :A")
    replies = await new.collect_until("376")
    assert isupport_tokens(replies)["NICKLEN"] == "6"


async def test_rehash_of_max_clients_per_ip_refuses_the_next_connection(make_oper_server, oper_hash, clients) -> None:
    server = await make_oper_server()
    ircop = await an_oper(server)
    clients.append(ircop)
    await rehash(ircop, Path(server.config_name), oper_toml(oper_hash) + "[limits]\nmax_clients_per_ip = 1\n")
    extra = await LineClient.connect(server)
    clients.append(extra)
    assert await extra.closed() == ["ERROR :Closing Link: 127.0.0.1 (Too many connections from your IP address)"]
    ircop.send("PING still")  # the connection already there stays
    await ircop.expect("PONG")


async def test_rehash_of_the_motd_file_is_read_again(make_oper_server, oper_hash, clients, tmp_path) -> None:
    motd = tmp_path / "motd.txt"
    motd.write_text("first version\n", encoding="utf-8")
    toml = oper_toml(oper_hash) + f'[server]\nmotd_file = "{motd}"\n'
    server = await make_oper_server(toml=toml)
    ircop = await an_oper(server)
    clients.append(ircop)
    motd.write_text("second version\n", encoding="utf-8")
    await rehash(ircop, Path(server.config_name), toml)  # the same file: its MOTD changed
    ircop.send("MOTD")
    assert (await ircop.expect("372")).params[1] == "- second version"


async def test_rehash_of_the_default_channel_moves_new_plain_users(make_oper_server, oper_hash, clients) -> None:
    server = await make_oper_server()
    ircop = await an_oper(server)
    clients.append(ircop)
    notes = await rehash(
        ircop, Path(server.config_name), oper_toml(oper_hash) + '[server]\ndefault_channel = "#help"\n'
    )
    assert notes == ["*** Configuration reloaded"]
    plain = await connect_plain(server)
    clients.append(plain)
    plain.send("newbie")
    assert await plain.expect_text(r"^\* You joined #") == "* You joined #help"


async def test_rehash_of_autoreplay_lines_applies_to_the_next_join(make_oper_server, oper_hash, clients) -> None:
    server = await make_oper_server()
    ircop = await an_oper(server, "ircop", "#room")
    clients.append(ircop)
    for i in range(5):
        ircop.send(f"PRIVMSG #room :line {i}")
    await sync(ircop)
    await rehash(ircop, Path(server.config_name), oper_toml(oper_hash) + "[history]\nautoreplay_lines = 2\n")
    late = await connected(server, "late")
    clients.append(late)
    late.send("JOIN #room")
    replayed = [m.params[-1] for m in await late.collect_until("366") if m.command == "PRIVMSG"]
    replayed += [m.params[-1] for m in await sync(late) if m.command == "PRIVMSG"]
    assert all(STAMP.match(text) for text in replayed), replayed  # without batch: led by when it was said
    assert [unstamped(text) for text in replayed] == ["line 3", "line 4"]


async def test_rehash_that_changes_store_settings_says_they_need_a_restart(
    make_oper_server, oper_hash, clients
) -> None:
    server = await make_oper_server()
    ircop = await an_oper(server)
    clients.append(ircop)
    notes = await rehash(ircop, Path(server.config_name), oper_toml(oper_hash) + "[store]\nreaders = 7\n")
    assert any("store.readers" in note for note in notes), notes


async def test_rehash_turning_metrics_off_and_on_applies_at_once(make_oper_server, oper_hash, clients) -> None:
    server = await web_oper_server(make_oper_server)
    ircop = await an_oper(server)
    clients.append(ircop)
    path = Path(server.config_name)
    await rehash(ircop, path, oper_toml(oper_hash) + "[web]\nmetrics = false\n")
    async with aiohttp.ClientSession() as http, http.get(server.web_url("/metrics")) as response:
        assert response.status == 404
    await rehash(ircop, path, oper_toml(oper_hash))
    assert value(await scrape(server), "hubbub_operators") == 1


async def test_rehash_changes_who_may_read_the_metrics_at_once(make_oper_server, oper_hash, clients) -> None:
    server = await web_oper_server(make_oper_server)
    ircop = await an_oper(server)
    clients.append(ircop)

    async def status_from(source: str) -> int:
        connector = aiohttp.TCPConnector(local_addr=(source, 0))
        async with aiohttp.ClientSession(connector=connector) as http, \
                http.get(server.web_url("/metrics")) as response:  # fmt: skip
            return response.status

    assert await status_from(OTHER) == 200  # loopback, 127.0.0.0/8, by default
    path = Path(server.config_name)
    await rehash(ircop, path, oper_toml(oper_hash) + "[web]\nmetrics_from = ['127.0.0.1/32']\n")
    assert (await status_from(OTHER), await status_from("127.0.0.1")) == (404, 200)


async def test_rehash_keeps_the_command_line_overrides_on_top(make_oper_server, oper_hash, clients) -> None:
    server = await make_oper_server("server.motd='from the flags'")
    ircop = await an_oper(server)
    clients.append(ircop)
    await rehash(ircop, Path(server.config_name), oper_toml(oper_hash) + '[server]\nmotd = "from the file"\n')
    ircop.send("MOTD")
    assert (await ircop.expect("372")).params[1] == "- from the flags"


# -- /metrics and /healthz ----------------------------------------------------------------------------


async def test_operators_gauge_follows_oper_minus_o_and_quit(make_oper_server, clients) -> None:
    server = await web_oper_server(make_oper_server)
    assert value(await scrape(server), "hubbub_operators") == 0
    one = await an_oper(server, "one")
    two = await an_oper(server, "two")
    clients.extend([one, two])
    assert value(await scrape(server), "hubbub_operators") == 2
    one.send("MODE one -o")
    await one.expect("MODE", "one")
    await sync(one)
    assert value(await scrape(server), "hubbub_operators") == 1
    two.send("QUIT")
    await two.closed()
    await sync(one)
    assert value(await scrape(server), "hubbub_operators") == 0


async def test_kills_and_klines_show_in_users_connections_refusals_and_events(make_oper_server, clients) -> None:
    server = await web_oper_server(make_oper_server)
    ircop = await an_oper(server)
    victim = await connected(server, "victim")
    banned = await connected_from(server, BANNED, "banned")
    clients.extend([ircop, victim, banned])
    before = await scrape(server)
    assert value(before, "hubbub_users") == 3
    assert value(before, "hubbub_connections", transport="tcp") == 3
    ircop.send("KILL victim :out")
    await victim.closed()
    ircop.send(f"KLINE *@{BANNED} :gone")
    await banned.closed()
    refused = await connected_from(server, BANNED)
    clients.append(refused)
    await refused.closed()
    await sync(ircop)
    after = await scrape(server)
    assert value(after, "hubbub_users") == 1
    assert value(after, "hubbub_connections", transport="tcp") == 1
    assert value(after, "hubbub_connections_refused_total", transport="tcp") == 1
    assert value(after, "hubbub_connections_accepted_total", transport="tcp") == 3  # the refused one is not
    assert (
        value(after, "hubbub_events_total", kind="UserQuit") - value(before, "hubbub_events_total", kind="UserQuit")
        == 2
    )


async def test_deliveries_count_only_the_members_a_statusmsg_reaches(make_oper_server, clients) -> None:
    server = await web_oper_server(make_oper_server)
    op = await connected(server, "op", "#room")  # the first in: channel operator
    members = [await connected(server, f"m{i}", "#room") for i in range(3)]
    clients.extend([op, *members])
    before = value(await scrape(server), "hubbub_message_deliveries_total")
    members[0].send("PRIVMSG @#room :to the ops")
    await op.expect("PRIVMSG", "@#room")
    for member in members:
        assert "PRIVMSG" not in commands(await sync(member))
    after = value(await scrape(server), "hubbub_message_deliveries_total")
    assert after - before == 1  # op alone received it


async def test_deliveries_count_a_message_from_outside_a_channel_without_n(make_oper_server, clients) -> None:
    server = await web_oper_server(make_oper_server)
    op = await connected(server, "op", "#open")
    member = await connected(server, "member", "#open")
    outsider = await connected(server, "outsider")
    clients.extend([op, member, outsider])
    op.send("MODE #open -n")
    await op.expect("MODE", "#open")
    await member.expect("MODE", "#open")
    before = value(await scrape(server), "hubbub_message_deliveries_total")
    outsider.send("PRIVMSG #open :from outside")
    await op.expect("PRIVMSG", "#open")
    await member.expect("PRIVMSG", "#open")
    after = value(await scrape(server), "hubbub_message_deliveries_total")
    assert after - before == 2


async def test_metric_labels_stay_bounded_whatever_clients_send(make_oper_server, clients) -> None:
    server = await web_oper_server(make_oper_server)
    alice = await connected(server, "alice")
    clients.append(alice)
    for i in range(20):
        alice.send(f"JOIN #chan{i}")
        alice.send(f"PRIVMSG #chan{i} :hi")
        alice.send(f"PRIVMSG nobody{i} :hi")
        alice.send(f"FOO{i} bar")
        alice.send(f"NICK alice{i}")
    await sync(alice)
    samples = await scrape(server)
    labels = {(name, key, val) for name, pairs in samples for key, val in pairs}
    values_by_label: dict[str, set[str]] = {}
    for _, key, val in labels:
        values_by_label.setdefault(key, set()).add(val)
    assert set(values_by_label) <= {"transport", "kind", "target", "version", "le", "outcome"}, values_by_label
    assert values_by_label["transport"] <= {"tcp", "tls", "websocket", "http"}
    assert values_by_label["outcome"] == {"client", "own", "check", "refused", "late"}  # PROXY headers
    assert values_by_label["target"] == {"channel", "user"}
    for val in values_by_label["kind"]:
        assert "chan" not in val and "alice" not in val and "FOO" not in val


async def test_healthz_is_ok_with_operators_and_klines_about(make_oper_server, clients) -> None:
    server = await web_oper_server(make_oper_server)
    ircop = await an_oper(server)
    clients.append(ircop)
    ircop.send(f"KLINE *@{BANNED} :x")
    await ircop.expect("NOTICE", "ircop")
    async with aiohttp.ClientSession() as http, http.get(server.web_url("/healthz")) as response:
        assert response.status == 200
        body = await response.json()
    assert body["status"] == "ok"


async def test_kline_on_a_cidr_block_holding_the_setter_is_refused(oper_server, clients) -> None:
    ircop = await an_oper(oper_server)
    clients.append(ircop)
    for mask in ("127.0.0.0/8", "*@127.0.0.0/24", "*@127.0.0.*"):
        ircop.send(f"KLINE {mask} :x")
        fail = await ircop.expect("FAIL")
        assert fail.params[-1] == "That mask matches you; it was not set", mask
    assert oper_server.state.klines.active(0) == []


async def registration_timeout_lowered(make_oper_server, oper_hash, clients) -> tuple[Runtime, LineClient]:
    """A server, a connection that never finishes registering, then a REHASH that lowers
    the registration timeout to 0.5 s (it was 30)."""
    server = await make_oper_server()
    ircop = await an_oper(server)
    waiting = await LineClient.connect(server)
    clients.extend([ircop, waiting])
    waiting.send("NICK slow")  # never sends USER
    await rehash(ircop, Path(server.config_name), oper_toml(oper_hash) + "[limits]\nregistration_timeout = 0.5\n")
    return server, waiting


async def test_rehash_of_the_registration_timeout_applies_to_connections_already_waiting(
    make_oper_server, oper_hash, clients
) -> None:
    _, waiting = await registration_timeout_lowered(make_oper_server, oper_hash, clients)
    # within a few of the new timeout, not after the sweep's sleep for the old one (5 s)
    lines = await waiting.closed(timeout=3.0)
    assert lines[-1].startswith("ERROR :Closing Link: 127.0.0.1 (Registration timed out"), lines


async def test_reloads_one_after_another_do_not_hold_the_timeouts_off(make_oper_server, oper_hash, clients) -> None:
    """Each reload measures the sweep's wait again from the last sweep, not from itself:
    reloads coming faster than the sweep's interval (a SIGHUP loop) must not keep it from
    ever running."""
    server, waiting = await registration_timeout_lowered(make_oper_server, oper_hash, clients)
    closed = asyncio.ensure_future(waiting.closed(timeout=3.0))
    while not closed.done():  # a reload every 20 ms, far inside the sweep's 0.125 s
        reloaded: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        server.rehash(lambda error, notes, done=reloaded: done.set_result(error))
        assert await reloaded is None
        await asyncio.sleep(0.02)
    lines = await closed
    assert lines[-1].startswith("ERROR :Closing Link: 127.0.0.1 (Registration timed out"), lines


async def test_rehash_of_the_ping_interval_applies_to_idle_clients_already_connected(
    make_oper_server, oper_hash, clients
) -> None:
    server = await make_oper_server()
    ircop = await an_oper(server)
    idle = await connected(server, "idle")
    clients.extend([ircop, idle])
    await rehash(ircop, Path(server.config_name), oper_toml(oper_hash) + "[limits]\nping_interval = 0.5\n")
    await idle.expect("PING", timeout=3.0)  # not after the sweep's sleep for the old interval (5 s)
