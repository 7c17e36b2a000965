"""REHASH and DIE from IRC; SIGHUP, REHASH and DIE of a real `hubbub serve` process.

A reload reads the file again and applies it without dropping anyone; what cannot
change while running (listeners, the server name) keeps its running value, and the
operator is told. A broken file changes nothing.
"""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
from pathlib import Path

from tests.e2e_caps.support import capped
from tests.e2e_opers.conftest import oper_toml
from tests.e2e_opers.support import STARTUP, Process, an_oper, hubbub_env
from tests.helpers import LineClient, commands, connected, sync


async def test_rehash_and_die_are_481_for_non_operators(oper_server, clients) -> None:
    alice = await connected(oper_server, "alice")
    clients.append(alice)
    for line in ("REHASH", "DIE"):
        alice.send(line)
        assert (await alice.expect(lambda m: m.command.isdigit())).command == "481", line
    assert not oper_server._stopping


async def test_rehash_applies_the_new_file_without_dropping_anyone(make_oper_server, oper_hash, clients) -> None:
    server = await make_oper_server(toml=oper_toml(oper_hash) + '[server]\nmotd = "old news"\n')
    ircop = await an_oper(server, "ircop", "#room")
    bob = await connected(server, "bob", "#room")
    clients.extend([ircop, bob])
    path = Path(server.config_name)
    path.write_text(
        oper_toml(oper_hash) + oper_toml(oper_hash, "second")
        + '[server]\nmotd = "fresh news"\npassword = "letmein"\n[limits]\nwhowas_entries = 1\n',
        encoding="utf-8",
    )
    ircop.send("REHASH")
    assert (await ircop.expect("382")).params == ["ircop", str(path), "Rehashing"]
    assert (await ircop.expect("NOTICE", "ircop")).params[1] == "*** Configuration reloaded"
    bob.send("MOTD")
    assert (await bob.expect("372")).params[1] == "- fresh news"
    bob.send("PRIVMSG #room :still here")
    await ircop.expect("PRIVMSG", "#room", "still here")
    carol = await LineClient.connect(server)  # the connection password now applies
    clients.append(carol)
    carol.send("NICK carol")
    carol.send("USER c 0 * :C")
    await carol.expect("464")
    dave = await LineClient.connect(server)
    clients.append(dave)
    dave.send("PASS letmein")
    await dave.register("dave")
    dave.send("OPER second operpass")  # a block added by the reload
    await dave.expect("381")


async def test_rehash_puts_new_flood_limits_in_force_for_clients_already_connected(
    make_oper_server, oper_hash, clients
) -> None:
    lenient = "[limits]\nflood_burst = 100\nflood_rate = 100.0\n"
    server = await make_oper_server("limits.flood_control=true", toml=oper_toml(oper_hash) + lenient)
    ircop = await an_oper(server)
    bob = await connected(server, "bob")
    clients.extend([ircop, bob])
    Path(server.config_name).write_text(
        oper_toml(oper_hash) + "[limits]\nflood_burst = 1\nflood_rate = 0.01\n", encoding="utf-8"
    )
    ircop.send("REHASH")
    assert (await ircop.expect("NOTICE", "ircop")).params[1] == "*** Configuration reloaded"
    bob.send("".join(f"PING p{i}\r\n" for i in range(5)))  # one write: all queued together
    assert (await bob.expect("PONG")).params[-1] == "p0"  # the one token of the new burst
    (conn,) = [conn for conn in server.services.connections() if conn.nick == "bob"]
    assert len(conn.link.gate.queue) == 4  # the rest waits: a token every 100 s


async def test_rehash_puts_a_smaller_sendq_in_force_for_clients_already_connected(
    make_oper_server, oper_hash, clients
) -> None:
    motd = "motd = \"\"\"\n" + "".join(f"line {i} " + "x" * 100 + "\n" for i in range(100)) + "\"\"\"\n"
    server = await make_oper_server(toml=oper_toml(oper_hash) + f"[server]\n{motd}[limits]\nsendq = 1048576\n")
    ircop = await an_oper(server)
    bob = await connected(server, "bob")  # was sent the 12 KiB MOTD when it registered
    clients.extend([ircop, bob])
    Path(server.config_name).write_text(
        oper_toml(oper_hash) + f"[server]\n{motd}[limits]\nsendq = 4096\n", encoding="utf-8"
    )
    ircop.send("REHASH")
    assert (await ircop.expect("NOTICE", "ircop")).params[1] == "*** Configuration reloaded"
    bob.send("MOTD")  # 12 KiB at once: past the new sendq
    lines = await bob.closed()
    assert lines == ["ERROR :Closing Link: 127.0.0.1 (SendQ exceeded)"], lines[-3:]


async def test_rehash_keeps_settings_that_need_a_restart_and_says_so(make_oper_server, oper_hash, clients) -> None:
    server = await make_oper_server()
    ircop = await an_oper(server)
    clients.append(ircop)
    Path(server.config_name).write_text(oper_toml(oper_hash) + '[server]\nname = "renamed.example"\n', encoding="utf-8")
    ircop.send("REHASH")
    await ircop.expect("382")
    note = await ircop.expect("NOTICE", "ircop")
    assert note.params[1] == "*** server.name cannot change while the server runs; restart to apply it"
    assert (await ircop.expect("NOTICE", "ircop")).params[1] == "*** Configuration reloaded"
    ircop.send("PING x")
    assert (await ircop.expect("PONG")).source == "hubbub.local"


async def test_rehash_of_a_broken_file_keeps_the_running_configuration(make_oper_server, oper_hash, clients) -> None:
    server = await make_oper_server(toml=oper_toml(oper_hash) + '[server]\nmotd = "kept"\n')
    ircop = await an_oper(server)
    clients.append(ircop)
    Path(server.config_name).write_text('[server]\nmotd = "new"\n[limits]\nnicklen = 0\n', encoding="utf-8")
    ircop.send("REHASH")
    await ircop.expect("382")
    fail = await ircop.expect("FAIL")
    assert fail.params == ["REHASH", "CONFIG_ERROR", "Configuration not reloaded: limits.nicklen must be at least 1"]
    ircop.send("MOTD")
    assert (await ircop.expect("372")).params[1] == "- kept"


async def test_die_disconnects_everyone_and_stops_the_server(oper_server, clients) -> None:
    ircop = await an_oper(oper_server)
    bob = await connected(oper_server, "bob")
    clients.extend([ircop, bob])
    ircop.send("DIE")
    assert (await bob.expect("ERROR")).params == ["Closing Link: 127.0.0.1 (Server shutting down)"]
    assert (await ircop.expect("ERROR")).params == ["Closing Link: 127.0.0.1 (Server shutting down)"]
    await asyncio.wait_for(oper_server.wait_stopped(), 10)


async def test_die_naming_another_server_is_402_and_stops_nothing(oper_server, clients) -> None:
    ircop = await an_oper(oper_server)
    clients.append(ircop)
    ircop.send("DIE other.example")
    assert (await ircop.expect("402")).params[:2] == ["ircop", "other.example"]
    assert commands(await sync(ircop)) == []


# -- a real process ------------------------------------------------------------------------


async def _start(config: Path, cwd: Path, *args: str) -> tuple[Process, LineClient]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hubbub", "serve", "--config", str(config), "--listen", "127.0.0.1:0",
        "--no-web", "--db", ":memory:", *args,
        cwd=cwd, env=hubbub_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    served = Process(proc)
    found = await served.wait_log(r"listening irc (\S+):(\d+)$")
    reader, writer = await asyncio.open_connection(found.group(1), int(found.group(2)))
    return served, LineClient(reader, writer)


async def test_sighup_reloads_the_config_file_without_dropping_anyone(tmp_path: Path, oper_hash: str) -> None:
    config = tmp_path / "hubbub.toml"
    config.write_text(oper_toml(oper_hash) + '[server]\nmotd = "before"\n', encoding="utf-8")
    served, alice = await _start(config, tmp_path)
    try:
        await alice.register("alice")
        config.write_text(oper_toml(oper_hash) + '[server]\nmotd = "after"\n', encoding="utf-8")
        served.proc.send_signal(signal.SIGHUP)
        await served.wait_log(rf"configuration reloaded from {re.escape(str(config))}")
        alice.send("MOTD")
        assert (await alice.expect("372")).params[1] == "- after"
        assert served.proc.returncode is None
    finally:
        await alice.close()
        served.proc.kill()
        await served.proc.wait()


async def test_sighup_with_a_broken_file_logs_why_and_keeps_running(tmp_path: Path, oper_hash: str) -> None:
    config = tmp_path / "hubbub.toml"
    config.write_text('[server]\nmotd = "before"\n', encoding="utf-8")
    served, alice = await _start(config, tmp_path)
    try:
        await alice.register("alice")
        config.write_text("[server\n", encoding="utf-8")
        served.proc.send_signal(signal.SIGHUP)
        await served.wait_log(r"ERROR configuration not reloaded: .*hubbub\.toml")
        alice.send("MOTD")
        assert (await alice.expect("372")).params[1] == "- before"
    finally:
        await alice.close()
        served.proc.kill()
        await served.proc.wait()


async def test_die_ends_the_process_cleanly(tmp_path: Path, oper_hash: str) -> None:
    config = tmp_path / "hubbub.toml"
    config.write_text(oper_toml(oper_hash), encoding="utf-8")
    served, ircop = await _start(config, tmp_path)
    try:
        await ircop.register("ircop")
        ircop.send("OPER admin operpass")
        await ircop.expect("381")
        ircop.send("DIE")
        assert (await ircop.expect("ERROR")).params == ["Closing Link: 127.0.0.1 (Server shutting down)"]
        assert await asyncio.wait_for(served.proc.wait(), STARTUP) == 0
        await served.wait_log(r"asked the server to shut down \(DIE\)")
    finally:
        await ircop.close()
        if served.proc.returncode is None:
            served.proc.kill()
            await served.proc.wait()


async def test_rehash_turns_history_recording_on_and_off_at_once(make_oper_server, oper_hash, clients) -> None:
    # What is recorded follows [history] after a reload, as the capabilities offered do:
    # the store's recorder used to keep the settings it started with.
    from tests.e2e_caps.support import capped
    from tests.e2e_history.test_chathistory import HISTORY, history, talk

    server = await make_oper_server(toml=oper_toml(oper_hash) + "[history]\nenabled = false\n")
    ircop = await an_oper(server, "ircop", "#room")
    clients.append(ircop)
    ircop.send("PRIVMSG #room :before, not kept")
    path = Path(server.config_name)
    path.write_text(oper_toml(oper_hash) + "[history]\nenabled = true\n", encoding="utf-8")
    ircop.send("REHASH")
    assert (await ircop.expect("NOTICE", "ircop")).params[1] == "*** Configuration reloaded"
    alice = await capped(server, "alice", *HISTORY, "echo-message", channels=("#room",))
    clients.append(alice)
    await talk(alice, "#room", "after, kept")
    assert [m.params[-1] for m in await history(alice, "CHATHISTORY LATEST #room * 10")] == ["after, kept"]
    path.write_text(oper_toml(oper_hash) + "[history]\nenabled = false\n", encoding="utf-8")
    ircop.send("REHASH")
    assert (await ircop.expect("NOTICE", "ircop")).params[1] == "*** Configuration reloaded"
    await talk(alice, "#room", "off again, not kept")
    path.write_text(oper_toml(oper_hash) + "[history]\nenabled = true\n", encoding="utf-8")
    ircop.send("REHASH")
    assert (await ircop.expect("NOTICE", "ircop")).params[1] == "*** Configuration reloaded"
    assert [m.params[-1] for m in await history(alice, "CHATHISTORY LATEST #room * 10")] == ["after, kept"]


async def test_retention_set_by_a_rehash_prunes_soon_after(make_oper_server, oper_hash, clients, monkeypatch) -> None:
    # Retention passes run from start-up whatever the settings were then (a reload may set
    # them), the first one soon: a server restarted more often than the interval pruned never.
    from hubbub.runtime import persistence
    from tests.e2e_caps.support import capped
    from tests.e2e_history.test_chathistory import HISTORY, history, talk

    monkeypatch.setattr(persistence, "PRUNE_FIRST", 0.05)
    monkeypatch.setattr(persistence, "PRUNE_EVERY", 0.05)
    server = await make_oper_server()
    ircop = await an_oper(server, "ircop")
    alice = await capped(server, "alice", *HISTORY, "echo-message", channels=("#room",))
    clients.extend([ircop, alice])
    await talk(alice, "#room", *(f"line {i}" for i in range(5)))
    Path(server.config_name).write_text(oper_toml(oper_hash) + "[history]\nmax_per_target = 2\n", encoding="utf-8")
    ircop.send("REHASH")
    assert (await ircop.expect("NOTICE", "ircop")).params[1] == "*** Configuration reloaded"
    for _ in range(200):  # a pass every 50 ms: wait for one that has run
        kept = [m.params[-1] for m in await history(alice, "CHATHISTORY LATEST #room * 10")]
        if len(kept) < 5:
            break
        await asyncio.sleep(0.05)
    assert kept == ["line 3", "line 4"]


async def test_rehash_of_the_sendq_bounds_the_metadata_a_rename_sends(make_oper_server, oper_hash, clients) -> None:
    """A RENAME shown as PART and JOIN brings the channel's metadata to its subscribers,
    within half the sendq: the sendq in force, after a REHASH too (774 past it)."""
    limits = "[limits]\nmetadata_max_value_bytes = 200\nsendq = {}\n"
    server = await make_oper_server(toml=oper_toml(oper_hash) + limits.format(1048576))
    ircop = await an_oper(server)
    alice = await capped(server, "alice", "draft/metadata-2", "batch", "draft/channel-rename", channels=("#big",))
    bob = await capped(server, "bob", "draft/metadata-2", "batch")  # no channel-rename: PART and JOIN
    clients.extend([ircop, alice, bob])
    for i in range(12):
        alice.send(f"METADATA #big SET k{i} :" + "v" * 200)
    await sync(alice)
    bob.send("METADATA * SUB " + " ".join(f"k{i}" for i in range(12)))
    bob.send("JOIN #big")
    joined = await sync(bob)
    assert len([m for m in joined if m.command == "METADATA"]) == 12  # 3 KiB: within half of 1 MiB
    Path(server.config_name).write_text(oper_toml(oper_hash) + limits.format(4096), encoding="utf-8")
    ircop.send("REHASH")
    assert (await ircop.expect("NOTICE", "ircop")).params[1] == "*** Configuration reloaded"
    alice.send("RENAME #big #bigger :moving")
    await bob.expect("JOIN", "#bigger")
    shown = await sync(bob)
    assert not [m for m in shown if m.command == "METADATA"]
    later = [m.params for m in shown if m.command == "774"]
    assert later == [["bob", "#bigger", "60", "Too much metadata to send at once"]]
