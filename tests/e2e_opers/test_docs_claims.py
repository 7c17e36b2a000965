"""What README.md, docs/operators.md, docs/accounts.md and docs/channels.md promise,
checked black-box: real servers on port 0 over real sockets, and real `python -m hubbub`
processes for the command line.

Each test names the section of the document it checks. Claims already pinned by other
test files are left to them; these are the ones nothing else checked. A test marked
xfail(strict) is a place where the server does not do what the document says and the
document is right.
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

import aiohttp
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from hubbub import __version__
from hubbub.app import Runtime
from hubbub.irc.message import Message
from tests.e2e_accounts.support import b64, registered_account, sasl_plain
from tests.e2e_opers.conftest import oper_toml
from tests.e2e_opers.support import SERVER, an_oper, connected_from, hubbub_env
from tests.helpers import LineClient, cap_ls, commands, connected, isupport_tokens, sync

NS = "NickServ!NickServ@services"
CS = "ChanServ!ChanServ@services"
NOTICE_PREFIX = "*** Notice -- "
WEB = "listen.web='127.0.0.1:0'"
MODULE = (sys.executable, "-m", "hubbub")
STARTUP = 15.0  # bound on a `python -m hubbub` process coming up on a loaded machine


# -- helpers ----------------------------------------------------------------------------------


async def service_says(client: LineClient, line: str, source: str = NS) -> list[str]:
    """Send `line`; the texts of the notices `source` answers with (for commands that
    answer at once: the server handles a client's lines in order)."""
    client.send(line)
    return [m.params[-1] for m in await sync(client) if m.command == "NOTICE" and m.source == source]


async def first_notice(client: LineClient, line: str, source: str = NS) -> str:
    """Send `line`; the first notice `source` answers with (waits, for hashing commands)."""
    client.send(line)
    return (await client.expect(lambda m: m.command == "NOTICE" and m.source == source)).params[-1]


async def watching(server: Runtime, nick: str = "watcher") -> LineClient:
    """An operator with user mode +s: it receives the server notices."""
    watcher = await an_oper(server, nick)
    watcher.send(f"MODE {nick} +s")
    await watcher.expect("MODE", nick, "+s")
    return watcher


async def server_notice(watcher: LineClient, predicate: Callable[[str], bool]) -> str:
    """The first server notice (`*** Notice -- ...` from the server) whose text matches."""

    def wanted(message: Message) -> bool:
        if message.command != "NOTICE" or message.source != SERVER:
            return False
        text = message.params[-1]
        return text.startswith(NOTICE_PREFIX) and predicate(text.removeprefix(NOTICE_PREFIX))

    return (await watcher.expect(wanted)).params[-1].removeprefix(NOTICE_PREFIX)


async def rehash(ircop: LineClient, path: Path, text: str) -> None:
    """Rewrite the configuration file and REHASH; return once it is reloaded."""
    path.write_text(text, encoding="utf-8")
    ircop.send("REHASH")
    await ircop.expect("382")
    await ircop.expect("NOTICE", ircop.nick, "*** Configuration reloaded")


async def get(runtime: Runtime, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    async with (
        aiohttp.ClientSession(auto_decompress=False) as http,
        http.get(runtime.web_url(path), headers=headers) as response,
    ):
        return response.status, dict(response.headers), await response.read()


async def metric_families(runtime: Runtime) -> list[Metric]:
    status, _, body = await get(runtime, "/metrics", **{"Accept-Encoding": "identity"})
    assert status == 200
    return list(text_string_to_metric_families(body.decode()))


@functools.cache
def printed_defaults() -> dict[str, object]:
    """`hubbub serve --print-config`, read back: {"section.key": default value}."""
    result = subprocess.run(
        [*MODULE, "serve", "--print-config"], env=hubbub_env(), capture_output=True, text=True,
        timeout=STARTUP, check=False, cwd="/",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    values: dict[str, object] = {}
    section = ""
    for line in result.stdout.splitlines():
        if line.startswith("# [[opers]]"):
            break  # the example operator block, not defaults
        if header := re.fullmatch(r"\[(\w+)\]", line):
            section = header.group(1)
        elif setting := re.fullmatch(r"# (\w+) = (.*)", line):
            values[f"{section}.{setting.group(1)}"] = tomllib.loads(f"v = {setting.group(2)}")["v"]
    return values


def run_on_a_terminal(args: list[str], answers: dict[str, str], cwd: Path) -> tuple[int, str]:
    """Run `python -m hubbub ARGS` on a pseudo-terminal, typing `answers[prompt]` after each
    prompt it shows; (exit status, everything the terminal showed)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: its terminal is the pty
        try:
            os.chdir(cwd)
            os.execve(sys.executable, [*MODULE, *args], hubbub_env())
        finally:
            os._exit(127)
    shown = ""
    answered = 0
    deadline = time.monotonic() + 60
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no end within 60s; the terminal showed {shown!r}")
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                continue
            try:
                data = os.read(fd, 4096)
            except OSError:  # EIO: the child is gone and the terminal with it
                break
            if not data:
                break
            shown += data.decode(errors="replace")
            for prompt, answer in list(answers.items())[answered:]:
                if shown.rstrip().endswith(prompt.rstrip()):
                    os.write(fd, answer.encode() + b"\n")
                    answered += 1
                break
    finally:
        os.close(fd)
        _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), shown


# == README.md ==================================================================================


def test_readme_limits_table_and_serve_defaults_are_the_printed_defaults() -> None:
    """README.md "Limits" table and "Running the server": the documented defaults are the
    ones `hubbub serve --print-config` prints (and so the ones a server runs with)."""
    printed = printed_defaults()
    documented = {
        "limits.flood_control": True, "limits.flood_burst": 20, "limits.flood_rate": 4,
        "limits.recvq": 8192, "limits.sendq": 262144, "limits.send_buffer": 65536,
        "limits.max_clients": 10000, "limits.max_clients_per_ip": 16, "limits.password_checks_per_address": 4,
        "limits.tls_handshake_timeout": 10, "limits.registration_timeout": 30,
        "limits.ping_interval": 120, "limits.ping_timeout": 60,
        "limits.nicklen": 30, "limits.channellen": 64, "limits.topiclen": 390, "limits.awaylen": 390,
        "limits.max_channels": 50, "limits.max_targets": 4, "limits.max_modes": 4,
        "listen.irc": ["127.0.0.1:6667"], "listen.web": "127.0.0.1:8080", "store.db": "hubbub.db",
        "server.default_channel": "#lobby", "server.password": "",
    }  # fmt: skip
    assert {key: printed.get(key) for key in documented} == documented


def test_accounts_settings_table_defaults_are_the_printed_defaults() -> None:
    """docs/accounts.md "Settings": every key of the [accounts] table, with its default."""
    printed = printed_defaults()
    documented = {
        "accounts.registration": True, "accounts.enforce": "rename", "accounts.enforce_after": 30.0,
        "accounts.guest_prefix": "Guest", "accounts.ghost_timeout": 10.0, "accounts.login_failures": 5,
        "accounts.login_window": 60.0,
        "accounts.login_failures_per_address": 20, "accounts.login_failures_per_account": 20,
        "accounts.max_certs": 5, "accounts.max_channels": 20, "accounts.register_limit": 5,
        "accounts.register_window": 3600.0, "accounts.hash_time_cost": 3, "accounts.hash_memory_kib": 65536,
        "accounts.hash_parallelism": 4, "accounts.login_via_pass": True,
    }  # fmt: skip
    assert {key: value for key, value in printed.items() if key.startswith("accounts.")} == documented


def test_operator_and_channel_settings_defaults_are_the_printed_defaults() -> None:
    """docs/operators.md "IRC over TLS" ([tls] block, "The default paths are hubbub.crt and
    hubbub.key"), "Queries for everyone" (whowas_entries 1000), "Metrics" (web.metrics on, for loopback),
    and docs/channels.md "What the server advertises" (the [limits] behind MAXLIST, KEYLEN,
    KICKLEN, TARGMAX KICK) and "The default channel" (its creator is no op)."""
    printed = printed_defaults()
    documented = {
        "tls.cert": "hubbub.crt", "tls.key": "hubbub.key", "tls.self_signed": False, "tls.sts": True,
        "tls.sts_duration": 2592000, "tls.client_certs": True, "limits.whowas_entries": 1000,
        "web.metrics": True, "web.metrics_from": ["127.0.0.0/8", "::1/128"], "limits.max_list_entries": 100,
        "limits.keylen": 32, "limits.kicklen": 300, "limits.max_kick_targets": 4,
        "server.default_channel_creator_op": False,
    }  # fmt: skip
    assert {key: printed.get(key) for key in documented} == documented


async def test_isupport_defaults_are_those_of_the_channels_table_and_readme(make_server, clients) -> None:
    """docs/channels.md "What the server advertises" (defaults) and README.md "Connecting with
    an IRC client" / "Limits" (STATUSMSG, CHANLIMIT from max_channels, AWAYLEN)."""
    server = await make_server()
    alice = await LineClient.connect(server)
    clients.append(alice)
    alice.send("NICK alice")
    alice.send("USER a 0 * :A")
    tokens = isupport_tokens(await alice.collect_until("376"))
    assert tokens["MAXLIST"] == "b:100,e:100,I:100"
    assert tokens["KEYLEN"] == "32"
    assert tokens["KICKLEN"] == "300"
    assert tokens["STATUSMSG"] == "~&@%+"
    assert tokens["CHANLIMIT"] == "#:50"
    assert tokens["AWAYLEN"] == "390"
    targmax = dict(item.split(":") for item in tokens["TARGMAX"].split(","))
    assert targmax["NAMES"] == "4" and targmax["KICK"] == "4"


async def test_max_channels_is_advertised_as_chanlimit_and_enforced(make_server, clients) -> None:
    """README.md "Limits": `limits.max_channels` is `CHANLIMIT`, and it is what JOIN enforces."""
    server = await make_server("limits.max_channels=2")
    alice = await LineClient.connect(server)
    clients.append(alice)
    alice.send("NICK alice")
    alice.send("USER a 0 * :A")
    assert isupport_tokens(await alice.collect_until("376"))["CHANLIMIT"] == "#:2"
    alice.nick = "alice"
    await alice.join("#one")
    await alice.join("#two")
    alice.send("JOIN #three")
    assert (await alice.expect("405")).params[1] == "#three"


async def test_serve_says_at_startup_that_it_accepts_local_connections_only(tmp_path: Path) -> None:
    """README.md "Running the server": "By default hubbub listens on loopback only, and says
    so at startup"; `--loop asyncio` picks the event loop; SIGTERM then stops it cleanly
    (status 0)."""
    proc = await asyncio.create_subprocess_exec(
        *MODULE, "serve", "--listen", "127.0.0.1:0", "--no-web", "--db", ":memory:", "--loop", "asyncio",
        cwd=tmp_path, env=hubbub_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stderr is not None
    log: list[str] = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STARTUP
        while not any("only local connections are accepted" in line for line in log):
            raw = await asyncio.wait_for(proc.stderr.readline(), max(0.01, deadline - loop.time()))
            assert raw, f"hubbub exited without saying so: {log}"
            log.append(raw.decode(errors="replace").rstrip("\n"))
        while not any("ready as" in line for line in log):
            raw = await asyncio.wait_for(proc.stderr.readline(), max(0.01, deadline - loop.time()))
            assert raw, f"hubbub exited before it was ready: {log}"
            log.append(raw.decode(errors="replace").rstrip("\n"))
        listening = [m for m in (re.search(r"listening irc 127\.0\.0\.1:(\d+)$", line) for line in log) if m]
        assert listening, log
        hint = next(line for line in log if "only local connections are accepted" in line)
        assert hint.endswith(f"use --listen 0.0.0.0:{listening[0].group(1)} to accept connections from other machines")
        assert any(line.endswith("(asyncio event loop)") for line in log if "ready as" in line), log
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.stderr.read(), STARTUP)
        assert await asyncio.wait_for(proc.wait(), STARTUP) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


# == docs/operators.md ==========================================================================


async def test_help_has_a_usermodes_subject_listed_in_its_index(server, clients) -> None:
    """docs/operators.md "Queries for everyone", HELP: "Subjects are the commands the server
    has, and USERMODES"; HELPOP is the same."""
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("HELP")
    index = " ".join(m.params[-1] for m in await alice.collect_until("706"))
    assert "USERMODES" in index.split()
    for line in ("HELP USERMODES", "HELPOP usermodes"):
        alice.send(line)
        reply = await alice.collect_until("706")
        assert commands(reply) == ["704"] + ["705"] * (len(reply) - 2) + ["706"], line
        assert {m.params[1] for m in reply} == {"USERMODES"}


async def test_help_usermodes_describes_every_user_mode_of_the_table(server, clients) -> None:
    """docs/operators.md "User modes" (+o +s +w +i +B +r +R) and HELP USERMODES, the subject
    that explains them."""
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("HELP USERMODES")
    text = " ".join(m.params[-1] for m in await alice.collect_until("706"))
    missing = [letter for letter in "oswiBrR" if f"+{letter}" not in text]
    assert missing == []


async def test_admin_falls_back_to_the_description_and_the_network(make_server, clients) -> None:
    """docs/operators.md "Queries for everyone", ADMIN: 257 is `admin.location` (or
    `server.description`), 258 `admin.organization` (or the network name)."""
    server = await make_server("server.description='A box in Lyon'", "server.network=TestNet")
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("ADMIN")
    reply = {m.command: m.params[-1] for m in await alice.collect_until("259")}
    assert reply["257"] == "A box in Lyon"
    assert "TestNet" in reply["258"]


async def test_links_shows_the_description_and_takes_a_users_nick_as_server(make_server, clients) -> None:
    """docs/operators.md "Queries for everyone", LINKS: `364 <server> <server> :0
    <server.description>`; "the optional <server> may be ... the nick of a connected user"."""
    server = await make_server("server.description='A box in Lyon'")
    alice = await connected(server, "alice")
    bob = await connected(server, "bob")
    clients.extend([alice, bob])
    for line in ("LINKS", "LINKS bob *"):
        alice.send(line)
        reply = await alice.collect_until("365")
        assert [(m.command, m.params[1:]) for m in reply] == [
            ("364", [SERVER, SERVER, "0 A box in Lyon"]),
            ("365", ["*", "End of /LINKS list"]),
        ], line


async def test_rehash_applies_admin_description_and_network_at_once(make_oper_server, oper_hash, clients) -> None:
    """docs/operators.md "REHASH and SIGHUP": `server.network`, `server.description` and
    `[admin]` change at once."""
    server = await make_oper_server()
    ircop = await an_oper(server)
    bob = await connected(server, "bob")
    clients.extend([ircop, bob])
    await rehash(ircop, Path(server.config_name), oper_toml(oper_hash) + (
        '[server]\nnetwork = "NewNet"\ndescription = "Moved to Lyon"\n'
        '[admin]\norganization = "Example Org"\nemail = "ops@example.org"\n'
    ))  # fmt: skip
    bob.send("ADMIN")
    admin = {m.command: m.params[-1] for m in await bob.collect_until("259")}
    assert (admin["257"], admin["258"], admin["259"]) == ("Moved to Lyon", "Example Org", "ops@example.org")
    bob.send("LINKS")
    assert (await bob.expect("364")).params[-1] == "0 Moved to Lyon"
    bob.send("INFO")
    info = " ".join(m.params[-1] for m in await bob.collect_until("374"))
    assert "NewNet" in info and "Moved to Lyon" in info


async def test_rehash_turning_registration_off_applies_at_once_and_deletes_the_cap(
    make_oper_server, oper_hash, clients
) -> None:
    """docs/operators.md "REHASH and SIGHUP": `[accounts]` changes at once; turning
    `accounts.registration` off sends `CAP DEL` to clients that hear of such changes, and
    the capability is turned off for everyone at once."""
    server = await make_oper_server()
    ircop = await an_oper(server)
    carol = await LineClient.connect(server)
    clients.extend([ircop, carol])
    _, offered = await cap_ls(carol, "302")
    assert offered.get("draft/account-registration") == ""  # docs/accounts.md: offered "without a value"
    carol.send("CAP REQ :draft/account-registration")
    await carol.expect("CAP", "*", "ACK")
    carol.send("CAP END")
    await carol.register("carol")
    await rehash(ircop, Path(server.config_name), oper_toml(oper_hash) + "[accounts]\nregistration = false\n")
    deleted = await carol.expect("CAP")
    assert deleted.params[1:] == ["DEL", "draft/account-registration"]
    carol.send("CAP LIST")
    assert "draft/account-registration" not in (await carol.expect("CAP", "carol", "LIST")).params[-1].split()
    carol.send("REGISTER * * some-password")
    refused = await carol.expect("FAIL")
    assert refused.params[:3] == ["REGISTER", "TEMPORARILY_UNAVAILABLE", "carol"]
    assert await first_notice(carol, "PRIVMSG NickServ :REGISTER some-password") == (
        "Account registration is disabled on this server"
    )


async def test_rehash_refuses_an_oper_block_that_could_never_be_used_and_keeps_the_old(
    make_oper_server, oper_hash, clients
) -> None:
    """docs/operators.md "Defining operators": a block whose `password_hash` is not an argon2
    hash (a password pasted as is) makes "a REHASH change nothing", with one line naming it
    and saying to use `hubbub hash-password`; the running blocks stay usable."""
    server = await make_oper_server()
    ircop = await an_oper(server)
    clients.append(ircop)
    Path(server.config_name).write_text(oper_toml(oper_hash) + oper_toml("hunter2", "pasted"), encoding="utf-8")
    ircop.send("REHASH")
    failed = await ircop.expect("FAIL", "REHASH", "CONFIG_ERROR")
    assert "pasted" in failed.params[-1] and "hubbub hash-password" in failed.params[-1]
    later = await connected(server, "later")
    clients.append(later)
    later.send("OPER admin operpass")
    await later.expect("381")
    later.send("OPER pasted hunter2")
    assert (await later.expect(lambda m: m.command in ("381", "464"))).command == "464"


async def test_watchers_hear_when_a_kline_disconnects_or_refuses_someone(oper_server, clients) -> None:
    """docs/operators.md "Server notices (+s)": `K-line active for nick (user@host) [ip]:
    mask` when someone is disconnected; for a connection refused before it named itself the
    notice names the address instead (the document gives only the first form)."""
    watcher = await watching(oper_server)
    ircop = await an_oper(oper_server, "ircop")
    victim = await connected_from(oper_server, "127.0.0.4", "victim")
    clients.extend([watcher, ircop, victim])
    ircop.send("KLINE *@127.0.0.4 :go away")
    text = await server_notice(watcher, lambda t: t.startswith("K-line active"))
    assert text == "K-line active for victim (~u@127.0.0.4) [127.0.0.4]: *@127.0.0.4"
    await victim.closed()
    again = await connected_from(oper_server, "127.0.0.4")
    clients.append(again)
    assert (await again.expect("ERROR")).params == ["Closing Link: 127.0.0.4 (K-Lined: go away)"]
    text = await server_notice(watcher, lambda t: t.startswith("K-line active"))
    assert text == "K-line active for a connection from 127.0.0.4: *@127.0.0.4"


async def test_watchers_hear_of_an_unkline(oper_server, clients) -> None:
    """docs/operators.md "Server notices (+s)": `oper removed the K-line on mask`."""
    watcher = await watching(oper_server)
    ircop = await an_oper(oper_server, "ircop")
    clients.extend([watcher, ircop])
    ircop.send("KLINE 1h *@127.0.0.9 :for a while")
    ircop.send("UNKLINE *@127.0.0.9")
    await ircop.expect("NOTICE", "ircop", "*** Removed K-line on *@127.0.0.9")
    text = await server_notice(watcher, lambda t: "K-line on" in t and "added" not in t)
    assert text == "ircop removed the K-line on *@127.0.0.9"


async def test_watchers_hear_of_a_rehash_that_failed(oper_server, clients) -> None:
    """docs/operators.md "Server notices (+s)": `Configuration not reloaded: <why>`."""
    watcher = await watching(oper_server)
    ircop = await an_oper(oper_server, "ircop")
    clients.extend([watcher, ircop])
    path = Path(oper_server.config_name)
    path.write_text("[[opers]\n", encoding="utf-8")
    ircop.send("REHASH")
    await ircop.expect("FAIL", "REHASH", "CONFIG_ERROR")
    assert await server_notice(watcher, lambda t: "rehashing" in t) == "ircop is rehashing the server configuration"
    text = await server_notice(watcher, lambda t: t.startswith("Configuration"))
    assert text.startswith("Configuration not reloaded: ") and str(path) in text


async def test_watchers_hear_that_an_operator_shuts_the_server_down(oper_server, clients) -> None:
    """docs/operators.md "Server notices (+s)": `oper is shutting the server down`, before
    everyone gets `ERROR :Closing Link: <host> (Server shutting down)` (DIE)."""
    watcher = await watching(oper_server)
    ircop = await an_oper(oper_server, "ircop")
    clients.extend([watcher, ircop])
    ircop.send("DIE")
    assert await server_notice(watcher, lambda t: "shutting" in t) == "ircop is shutting the server down"
    assert (await watcher.expect("ERROR")).params == ["Closing Link: 127.0.0.1 (Server shutting down)"]


async def test_a_motd_file_that_cannot_be_read_gives_422_and_a_warning(make_server, clients, tmp_path, caplog) -> None:
    """docs/operators.md "REHASH and SIGHUP": a `server.motd_file` that cannot be read is no
    reason to refuse a start: clients get 422 and the log says which file and why."""
    missing = tmp_path / "motd.txt"
    caplog.set_level("WARNING")
    server = await make_server(f"server.motd_file='{missing}'")
    alice = await LineClient.connect(server)
    clients.append(alice)
    alice.send("NICK alice")
    alice.send("USER a 0 * :A")
    assert "422" in commands(await alice.collect_until(lambda m: m.command in ("376", "422")))
    expected = f"cannot read server.motd_file {missing}: No such file or directory; no MOTD is shown"
    assert any(r.levelname == "WARNING" and r.getMessage() == expected for r in caplog.records), caplog.text


async def test_a_motd_file_that_is_not_utf8_is_shown_with_replacements(make_server, clients, tmp_path, caplog) -> None:
    """docs/operators.md "REHASH and SIGHUP": a MOTD file that is not UTF-8 is shown with its
    undecodable bytes replaced, and the log says so."""
    motd = tmp_path / "motd.txt"
    motd.write_bytes(b"Bienvenue au caf\xe9\n")
    caplog.set_level("WARNING")
    server = await make_server(f"server.motd_file='{motd}'")
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("MOTD")
    assert (await alice.expect("372")).params[-1] == "- Bienvenue au caf\ufffd"
    assert any(r.levelname == "WARNING" and str(motd) in r.getMessage() and "UTF-8" in r.getMessage()
               for r in caplog.records), caplog.text  # fmt: skip


async def test_rehash_with_an_unreadable_motd_file_still_reloads(
    make_oper_server, oper_hash, clients, tmp_path
) -> None:
    """docs/operators.md "REHASH and SIGHUP": a MOTD file that cannot be read is no reason
    to refuse a reload; clients get 422."""
    server = await make_oper_server()
    ircop = await an_oper(server)
    clients.append(ircop)
    gone = tmp_path / "no-such-motd.txt"
    await rehash(ircop, Path(server.config_name), oper_toml(oper_hash) + f'[server]\nmotd_file = "{gone}"\n')
    ircop.send("MOTD")
    assert (await ircop.expect(lambda m: m.command in ("372", "422"))).command == "422"


async def test_metrics_are_gzip_compressed_when_the_scraper_accepts_it(make_server) -> None:
    """docs/operators.md "Metrics and readiness": /metrics "is gzip-compressed when the
    scraper accepts it"."""
    server = await make_server(WEB)
    status, headers, body = await get(server, "/metrics", **{"Accept-Encoding": "gzip"})
    assert status == 200 and headers.get("Content-Encoding") == "gzip"
    names = {f.name for f in text_string_to_metric_families(gzip.decompress(body).decode())}
    assert "hubbub_users" in names
    status, headers, body = await get(server, "/metrics", **{"Accept-Encoding": "identity"})
    assert status == 200 and "Content-Encoding" not in headers and b"hubbub_users" in body


DOCUMENTED_METRICS = {
    "hubbub_connections": ("gauge", {"transport"}),
    "hubbub_connections_accepted_total": ("counter", {"transport"}),
    "hubbub_connections_refused_total": ("counter", {"transport"}),
    "hubbub_proxied_connections_total": ("counter", {"outcome"}),
    "hubbub_users": ("gauge", set()),
    "hubbub_channels": ("gauge", set()),
    "hubbub_operators": ("gauge", set()),
    "hubbub_messages_total": ("counter", {"target"}),
    "hubbub_message_deliveries_total": ("counter", set()),
    "hubbub_events_total": ("counter", {"kind"}),
    "hubbub_events_rejected_total": ("counter", {"kind"}),
    "hubbub_received_bytes_total": ("counter", {"transport"}),
    "hubbub_sent_bytes_total": ("counter", {"transport"}),
    "hubbub_sendq_drops_total": ("counter", {"transport"}),
    "hubbub_flood_delays_total": ("counter", {"transport"}),
    "hubbub_history_writes_total": ("counter", set()),
    "hubbub_history_write_seconds": ("histogram", set()),
    "hubbub_store_write_failures_total": ("counter", set()),
    "hubbub_store_writes_waiting": ("gauge", set()),
    "hubbub_store_behind": ("gauge", set()),
    "hubbub_history_let_go_total": ("counter", set()),
    "hubbub_event_loop_lag_seconds": ("histogram", set()),
    "hubbub_start_time_seconds": ("gauge", set()),
    "hubbub_info": ("gauge", {"version"}),
}


def exposed(families: list[Metric]) -> dict[str, tuple[str, set[str]]]:
    """Metric name as the table writes it (counters with `_total`) -> (type, label names)."""
    found = {}
    for family in families:
        name = family.name + "_total" if family.type == "counter" else family.name
        labels = {label for sample in family.samples for label in sample.labels if label != "le"}
        found[name] = (family.type, labels)
    return found


async def test_metrics_page_has_every_documented_metric_with_its_type_and_labels(make_server, clients) -> None:
    """docs/operators.md "Metrics and readiness": the table of metrics, their types and labels."""
    server = await make_server(WEB)
    alice = await connected(server, "alice", "#room")  # an event of each kind is not needed: one
    clients.append(alice)
    found = exposed(await metric_families(server))
    assert {name: found.get(name) for name in DOCUMENTED_METRICS} == DOCUMENTED_METRICS


async def test_metrics_page_holds_nothing_but_the_documented_metrics(make_server) -> None:
    """docs/operators.md "Metrics and readiness": "the page holds these and nothing else"."""
    server = await make_server(WEB)
    assert sorted(set(exposed(await metric_families(server))) - set(DOCUMENTED_METRICS)) == []


async def test_info_metric_names_the_version_and_start_time_is_the_start(make_server) -> None:
    """docs/operators.md "Metrics and readiness": `hubbub_start_time_seconds` (when the server
    started) and `hubbub_info{version}`."""
    before = time.time()
    server = await make_server(WEB)
    after = time.time()
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for f in await metric_families(server) for s in f.samples}  # fmt: skip
    assert samples[("hubbub_info", (("version", __version__),))] == 1
    assert before - 1 <= samples[("hubbub_start_time_seconds", ())] <= after + 1


def test_hash_password_on_a_terminal_asks_twice_without_echo(tmp_path: Path) -> None:
    """docs/operators.md "Defining operators": `hubbub hash-password` on a terminal "asks
    twice, without echo" (`Password:`, `Again:`) and prints the hash."""
    code, shown = run_on_a_terminal(
        ["hash-password"], {"Password:": "terminal-secret", "Again:": "terminal-secret"}, tmp_path
    )
    assert code == 0, shown
    assert "Password:" in shown and "Again:" in shown
    assert "terminal-secret" not in shown  # never echoed
    from hubbub.passwords import verify_password

    printed = re.search(r"\$argon2id\$\S+", shown)
    assert printed is not None and verify_password(printed.group(0), "terminal-secret")


async def test_an_oper_block_with_a_cidr_host_is_usable_from_inside_it_only(
    make_oper_server, oper_hash, clients
) -> None:
    """docs/operators.md "Defining operators": `hosts` are user@host masks "as for K-lines",
    so a CIDR block (`*@10.0.0.0/8`); from elsewhere, a wrong password's 464; STATS o lists it."""
    server = await make_oper_server(toml=oper_toml(oper_hash, hosts=["*@127.0.0.0/30"]))
    inside = await connected(server, "inside")
    outside = await connected_from(server, "127.0.0.9", "outside")
    clients.extend([inside, outside])
    outside.send("OPER admin operpass")
    assert (await outside.expect("464")).params[0] == "outside"
    inside.send("OPER admin operpass")
    await inside.expect("381")
    inside.send("STATS o")
    listed = [m.params[1:] for m in await inside.collect_until("219") if m.command == "243"]
    assert listed == [["O", "*@127.0.0.0/30", "*", "admin"]]


# == docs/accounts.md ===========================================================================


async def test_service_nicks_are_432_reserved_before_and_after_registration(server, clients) -> None:
    """docs/accounts.md "Nick enforcement": `NickServ` and `ChanServ` are nobody's to take:
    `432 * NickServ :Reserved for a service`."""
    newcomer = await LineClient.connect(server)
    alice = await connected(server, "alice")
    clients.extend([newcomer, alice])
    newcomer.send("NICK NickServ")
    assert (await newcomer.expect("432")).params == ["*", "NickServ", "Reserved for a service"]
    alice.send("NICK chanserv")
    assert (await alice.expect("432")).params == ["alice", "chanserv", "Reserved for a service"]


async def test_services_are_reached_by_their_own_commands(server, clients) -> None:
    """docs/accounts.md "NickServ" ("Reached as PRIVMSG NickServ :<command>, or with the
    commands NICKSERV <command> and NS <command>") and "ChanServ" (`CHANSERV` or `CS`)."""
    alice = await connected(server, "alice")
    clients.append(alice)
    for line, source in (("PRIVMSG NickServ :HELP", NS), ("NICKSERV HELP", NS), ("NS HELP", NS),
                         ("PRIVMSG ChanServ :HELP", CS), ("CHANSERV HELP", CS), ("CS HELP", CS)):  # fmt: skip
        said = await service_says(alice, line, source)
        assert said and said[0].startswith(source.split("!")[0] + ":"), (line, said)


async def test_unknown_commands_and_missing_arguments_are_answered_with_usage(server, clients) -> None:
    """docs/accounts.md "NickServ": "An unknown command is `Unknown command. To see
    available commands, run: /msg NickServ HELP`; missing arguments, `Invalid parameters.
    Usage: <syntax>`"; ChanServ's answers the same way."""
    alice = await connected(server, "alice")
    clients.append(alice)
    assert await service_says(alice, "NS FROBNICATE") == [
        "Unknown command. To see available commands, run: /msg NickServ HELP"
    ]
    assert await service_says(alice, "NS IDENTIFY") == ["Invalid parameters. Usage: IDENTIFY [account] <password>"]
    assert await service_says(alice, "CS REGISTER", CS) == ["Invalid parameters. Usage: REGISTER <#channel>"]


async def test_help_on_one_command_gives_its_syntax_and_purpose(server, clients) -> None:
    """docs/accounts.md "NickServ": `HELP [command]` gives the commands, "or one command's
    syntax and purpose"."""
    alice = await connected(server, "alice")
    clients.append(alice)
    said = await service_says(alice, "NS HELP ghost")
    assert said[0] == "Syntax: GHOST <nick>"
    assert len(said) == 2 and "your" in said[1].lower()
    said = await service_says(alice, "CS HELP AMODE", CS)
    assert said[0].startswith("Syntax: AMODE <#channel>") and len(said) == 2


async def test_commands_that_need_a_login_say_so(server, clients) -> None:
    """docs/accounts.md "NickServ": "LOGOUT, SET, PASSWD, CERT and DROP need you logged in
    (`You're not logged into an account`); so does GHOST (`You don't own that nick`)"."""
    alice = await connected(server, "alice")
    bob = await connected(server, "bob")
    clients.extend([alice, bob])
    for command in ("LOGOUT", "SET PASSWORD new-one", "PASSWD old new new", "CERT LIST", "DROP", "UNREGISTER"):
        assert await service_says(alice, f"PRIVMSG NickServ :{command}") == ["You're not logged into an account"]
    assert await service_says(alice, "PRIVMSG NickServ :GHOST bob") == ["You don't own that nick"]


async def test_ghost_of_oneself_is_refused(server, clients) -> None:
    """docs/accounts.md "NickServ", GHOST: `You can't GHOST yourself (try /QUIT instead)`."""
    alice = await registered_account(server, "alice")
    clients.append(alice)
    assert await service_says(alice, "PRIVMSG NickServ :GHOST ALICE") == [
        "You can't GHOST yourself (try /QUIT instead)"
    ]
    assert await service_says(alice, "PRIVMSG NickServ :GHOST nobody") == ["No such nick"]


async def test_set_pass_changes_the_password_like_set_password(server, clients) -> None:
    """docs/accounts.md "NickServ": `SET PASSWORD <new>` (or `SET PASS`): `Password changed`."""
    alice = await registered_account(server, "alice", "first-password")
    clients.append(alice)
    assert await first_notice(alice, "PRIVMSG NickServ :SET PASS second-password") == "Password changed"
    _, old = await sasl_plain(server, "phone1", "alice", "first-password")
    _, new = await sasl_plain(server, "phone2", "alice", "second-password")
    assert (old, new) == ("904", "903")


async def test_info_shows_email_and_certificates_to_the_owner_and_operators_only(oper_server, clients) -> None:
    """docs/accounts.md "NickServ", INFO: "to the owner and operators also `Email address:`
    (when there is one) and `Certificate fingerprints: <n>`"; and "Registering an account":
    the e-mail is "shown only to its owner and to IRC operators"."""
    alice = await connected(oper_server, "alice")
    bob = await connected(oper_server, "bob")
    ircop = await an_oper(oper_server)
    clients.extend([alice, bob, ircop])
    alice.send("PRIVMSG NickServ :REGISTER correct-horse alice@example.org")
    await alice.expect("NOTICE", "alice", "Account created")
    await alice.expect("NOTICE", "alice", "You're now logged in as alice")
    private = ["Email address: alice@example.org", "Certificate fingerprints: 0"]
    for client in (alice, ircop):
        said = await service_says(client, "PRIVMSG NickServ :INFO alice")
        assert said[0] == "Account: alice" and said[1].startswith("Registered at: ")
        assert said[2:] == [*private, "Logged in now as: alice"], client.nick
    said = await service_says(bob, "PRIVMSG NickServ :INFO alice")
    assert said[0] == "Account: alice" and not set(private) & set(said)
    assert said[-1] == "Logged in now as: alice"


async def test_irc_register_keeps_the_email_given(server, clients) -> None:
    """docs/accounts.md "draft/account-registration": `REGISTER <account> <email>
    <password>`, "the e-mail `*` or an address" (kept, as with NickServ)."""
    bob = await connected(server, "bob")
    carol = await connected(server, "carol")
    clients.extend([bob, carol])
    bob.send("REGISTER * bob@example.org bobs-password")
    assert (await bob.expect("REGISTER")).params[:2] == ["SUCCESS", "bob"]
    assert "Email address: bob@example.org" in await service_says(bob, "NS INFO")
    carol.send("REGISTER carol * carols-password")
    await carol.expect("REGISTER", "SUCCESS")
    assert not [line for line in await service_says(carol, "NS INFO") if line.startswith("Email")]


async def test_irc_register_refuses_unacceptable_passwords(server, clients) -> None:
    """docs/accounts.md "draft/account-registration": `FAIL REGISTER UNACCEPTABLE_PASSWORD
    <account> :<why>` for a password that is empty, longer than 300 bytes, or the
    account's name."""
    alice = await connected(server, "alice")
    clients.append(alice)
    for password in (":", "x" * 301, "ALICE", "é" * 151):
        alice.send(f"REGISTER * * {password}")
        refused = await alice.expect(lambda m: m.command in ("FAIL", "REGISTER"))
        assert refused.params[:3] == ["REGISTER", "UNACCEPTABLE_PASSWORD", "alice"], password
        assert refused.params[3]
    await sync(alice)
    assert "900" not in commands(alice.received)  # not logged in: nothing was registered


async def test_nickserv_register_takes_300_bytes_of_password_and_no_more(server, clients) -> None:
    """docs/accounts.md "Registering an account": the password must be 1 to 300 bytes
    (`That password is too long (at most 300 bytes)`)."""
    alice = await connected(server, "alice")
    bob = await connected(server, "bob")
    clients.extend([alice, bob])
    assert await service_says(alice, "PRIVMSG NickServ :REGISTER " + "é" * 151) == [
        "That password is too long (at most 300 bytes)"
    ]
    assert await first_notice(bob, "PRIVMSG NickServ :REGISTER " + "é" * 150) == "Account created"


async def test_registration_off_refuses_both_ways_and_is_not_offered(make_server, clients) -> None:
    """docs/accounts.md "Registering an account" and "Settings": with `accounts.registration =
    false`, `Account registration is disabled on this server`, `FAIL REGISTER
    TEMPORARILY_UNAVAILABLE`, and draft/account-registration is not offered."""
    server = await make_server("accounts.registration=false")
    alice = await LineClient.connect(server)
    clients.append(alice)
    _, offered = await cap_ls(alice, "302")
    assert "draft/account-registration" not in offered and "sasl" in offered
    alice.send("CAP END")
    await alice.register("alice")
    assert await first_notice(alice, "PRIVMSG NickServ :REGISTER a-password") == (
        "Account registration is disabled on this server"
    )
    alice.send("REGISTER * * a-password")
    refused = await alice.expect("FAIL")
    assert refused.params == [
        "REGISTER",
        "TEMPORARILY_UNAVAILABLE",
        "alice",
        "Account registration is disabled on this server",
    ]


async def test_max_certs_bounds_the_fingerprints_of_an_account(make_server, clients) -> None:
    """docs/accounts.md "TLS client certificates" and "Settings": an account holds up to
    `accounts.max_certs` fingerprints (`You already have too many certificate fingerprints`)."""
    server = await make_server("accounts.max_certs=2")
    alice = await registered_account(server, "alice")
    clients.append(alice)
    for digit in "ab":
        assert await first_notice(alice, f"NS CERT ADD {digit * 64}") == "Certificate fingerprint successfully added"
    assert await first_notice(alice, f"NS CERT ADD {'c' * 64}") == "You already have too many certificate fingerprints"
    listed = await service_says(alice, "NS CERT LIST")
    assert listed == ["There are 2 certificate fingerprint(s) authorized for account alice.",
                      f"1: {'a' * 64}", f"2: {'b' * 64}"]  # fmt: skip


async def test_guest_prefix_names_the_nick_enforcement_gives(make_server, clients) -> None:
    """docs/accounts.md "Nick enforcement" and "Settings": renamed "to a guest nick" made of
    `accounts.guest_prefix` and five digits, after `accounts.enforce_after` seconds; nicks
    of that form cannot be registered."""
    server = await make_server("accounts.guest_prefix=Visitor", "accounts.enforce_after=0.2")
    owner = await registered_account(server, "alice")
    owner.send("QUIT")
    await owner.closed()
    await owner.close()
    bob = await connected(server, "bob")
    clients.append(bob)
    bob.send("NICK alice")
    warning = (await bob.expect("NOTICE", "alice")).params[-1]
    assert warning.startswith("This nickname is registered. Log in to it within 0.2 seconds")
    renamed = await bob.expect("NICK")
    guest = renamed.params[0]
    assert renamed.source.startswith("alice!") and re.fullmatch(r"Visitor\d{5}", guest), guest
    told = (await bob.expect("NOTICE", guest)).params[-1]
    assert told == f"You are now {guest}: the nickname alice is registered, and you did not log in to it."
    assert await first_notice(bob, "PRIVMSG NickServ :REGISTER some-password") == "Guest nicknames cannot be registered"


async def test_sasl_before_nick_uses_star_and_plus_r_comes_after_the_welcome(server, clients) -> None:
    """docs/accounts.md "SASL": "Before registration the mask in `900` is `nick!*@*`
    (`*!*@*`, and `*` for the nick, before NICK), and `+r` is told after the welcome"."""
    alice = await registered_account(server, "alice", "hunter2-hunter2")
    early = await LineClient.connect(server)
    clients.extend([alice, early])
    early.send("CAP LS 302")
    early.send("CAP REQ :sasl")
    await early.expect("CAP", "*", "ACK")
    early.send("AUTHENTICATE PLAIN")
    await early.expect("AUTHENTICATE", "+")
    early.send("AUTHENTICATE " + b64("\0alice\0hunter2-hunter2"))
    logged = await early.expect("900")
    assert logged.params == ["*", "*!*@*", "alice", "You are now logged in as alice"]
    assert (await early.expect("903")).params[0] == "*"
    early.send("NICK alice_phone")
    early.send("USER u 0 * :Phone")
    early.send("CAP END")
    burst = await early.collect_until("MODE")
    assert "001" in commands(burst) and commands(burst).index("001") < len(burst) - 1
    assert burst[-1].params == ["alice_phone", "+r"]


async def test_a_sasl_response_over_8192_bytes_fails(server, clients) -> None:
    """docs/accounts.md "SASL": responses come in 400-byte pieces "up to 8192 bytes in all";
    past that the exchange fails (904)."""
    client = await LineClient.connect(server)
    clients.append(client)
    client.send("CAP REQ :sasl")
    await client.expect("CAP")
    client.send("NICK bigmouth")
    client.send("USER u 0 * :U")
    client.send("AUTHENTICATE PLAIN")
    await client.expect("AUTHENTICATE", "+")
    for _ in range(21):  # 8400 bytes of base64
        client.send("AUTHENTICATE " + "A" * 400)
    failed = await client.expect(lambda m: m.command in ("903", "904", "905"))
    assert failed.command == "904" and failed.params[0] == "bigmouth"
    client.send("CAP END")
    await client.expect("001")  # and the client registers, without an account


async def test_account_notify_reaches_the_user_itself_and_extended_monitor_watchers(server, clients) -> None:
    """docs/accounts.md "What others see", account-notify: `ACCOUNT alice` on login, `ACCOUNT
    *` on logout, "to the user itself; with extended-monitor, to those who MONITOR the nick"."""
    watcher = await LineClient.connect(server)
    plain_watcher = await LineClient.connect(server)
    bob = await LineClient.connect(server)
    clients.extend([watcher, plain_watcher, bob])
    for client, caps, nick in ((watcher, "account-notify extended-monitor", "watcher"),
                               (plain_watcher, "account-notify", "plain"), (bob, "account-notify", "bob")):  # fmt: skip
        client.send(f"CAP REQ :{caps}")
        await client.expect("CAP", "*", "ACK")
        client.send("CAP END")
        await client.register(nick)
    for client in (watcher, plain_watcher):
        client.send("MONITOR + bob")
        await client.expect("730")
    bob.send("PRIVMSG NickServ :REGISTER bobs-password")
    await bob.expect("NOTICE", "bob", "Account created")
    assert (await bob.expect("ACCOUNT")).params == ["bob"]  # after the answer, as what the login changed
    seen = await watcher.expect("ACCOUNT")
    assert seen.source.startswith("bob!") and seen.params == ["bob"]
    bob.send("PRIVMSG NickServ :LOGOUT")
    assert (await bob.expect("ACCOUNT")).params == ["*"]
    assert (await watcher.expect("ACCOUNT")).params == ["*"]
    assert "ACCOUNT" not in commands(await sync(plain_watcher))  # MONITOR alone tells no accounts


async def test_account_tag_is_on_everything_a_logged_in_user_causes(server, clients) -> None:
    """docs/accounts.md "What others see", account-tag: `@account=alice` "on everything a
    logged-in user sends or causes (PRIVMSG, JOIN, MODE...)"."""
    alice = await registered_account(server, "alice", "correct-horse", "#c")
    watcher = await LineClient.connect(server)
    bob = await connected(server, "bob", "#c")
    clients.extend([alice, watcher, bob])
    watcher.send("CAP REQ :account-tag")
    await watcher.expect("CAP", "*", "ACK")
    watcher.send("CAP END")
    await watcher.register("watcher")
    await watcher.join("#c")
    await bob.expect("JOIN", "#c")
    for line in ("MODE #c +v watcher", "TOPIC #c :hello", "KICK #c bob :out", "PART #c :bye", "JOIN #c",
                 "NOTICE #c :notice", "NICK alice2", "QUIT :done"):  # fmt: skip
        alice.send(line)
    await alice.closed()
    seen = [m for m in await watcher.collect_until("QUIT") if m.source and m.source.startswith("alice")]
    assert [m.command for m in seen] == ["MODE", "TOPIC", "KICK", "PART", "JOIN", "NOTICE", "NICK", "QUIT"]
    assert [m.command for m in seen if m.tags.get("account") != "alice"] == []


async def test_plus_r_cannot_be_set_or_unset_by_hand(server, clients) -> None:
    """docs/accounts.md "What others see" (user mode +r: "nobody can set or unset it by
    hand") and docs/operators.md "User modes" (`MODE +r`/`-r` from the user is ignored)."""
    alice = await registered_account(server, "alice")
    bob = await connected(server, "bob")
    clients.extend([alice, bob])
    alice.send("MODE alice -r")
    bob.send("MODE bob +r")
    for client, modes in ((alice, "+r"), (bob, "+")):
        client.send(f"MODE {client.nick}")
        reply = await client.collect_until("221")
        assert "MODE" not in commands(reply) and reply[-1].params[-1] == modes


async def test_chanserv_register_needs_channel_operator_status(server, clients) -> None:
    """docs/accounts.md "ChanServ": REGISTER is for "an op of the channel, logged in"
    (`You must be an oper on the channel to register it`)."""
    op = await connected(server, "op", "#garden")
    bob = await registered_account(server, "bob", "correct-horse", "#garden")
    clients.extend([op, bob])
    assert await first_notice(bob, "CS REGISTER #garden", CS) == "You must be an oper on the channel to register it"
    assert (await service_says(bob, "CS INFO #garden", CS)) == ["Channel #garden is not registered"]


async def test_chanserv_registers_at_most_max_channels_per_account(make_server, clients) -> None:
    """docs/accounts.md "ChanServ" and "Settings": "at most `accounts.max_channels` (20) per
    account"."""
    server = await make_server("accounts.max_channels=1")
    alice = await registered_account(server, "alice", "correct-horse", "#one", "#two")
    clients.append(alice)
    assert await first_notice(alice, "CS REGISTER #one", CS) == "Channel #one successfully registered"
    refused = await first_notice(alice, "CS REGISTER #two", CS)
    assert refused.startswith("You have already registered the maximum number of channels")
    assert await service_says(alice, "CS INFO #two", CS) == ["Channel #two is not registered"]


async def test_chanserv_deop_takes_every_status_and_says_when_there_is_none(server, clients) -> None:
    """docs/accounts.md "ChanServ": DEOP "takes every status the member has (`Target has no
    privileges to remove`)"."""
    alice = await registered_account(server, "alice", "correct-horse", "#garden")
    carol = await connected(server, "carol", "#garden")
    clients.extend([alice, carol])
    await first_notice(alice, "CS REGISTER #garden", CS)
    alice.send("MODE #garden +hv carol carol")
    await carol.expect("MODE", "#garden", "+hv")
    assert await first_notice(alice, "CS DEOP #garden carol", CS) == "Successfully removed operator privileges"
    taken = await carol.expect("MODE", "#garden")
    assert taken.source == CS and taken.params == ["#garden", "-hv", "carol", "carol"]
    assert await first_notice(alice, "CS DEOP #garden carol", CS) == "Target has no privileges to remove"


async def test_chanserv_does_not_show_a_secret_channel_to_outsiders(server, clients) -> None:
    """docs/accounts.md "ChanServ": `Channel does not exist` ("a secret channel you are not
    in counts as one")."""
    alice = await registered_account(server, "alice", "correct-horse", "#hideout")
    carol = await registered_account(server, "carol")
    clients.extend([alice, carol])
    await first_notice(alice, "CS REGISTER #hideout", CS)
    assert (await service_says(carol, "CS INFO #hideout", CS))[0] == "Channel #hideout is registered"
    alice.send("MODE #hideout +s")
    await alice.expect("MODE", "#hideout", "+s")
    for command in ("INFO #hideout", "AMODE #hideout", "OP #hideout"):
        assert await service_says(carol, f"CS {command}", CS) == ["Channel does not exist"], command
    assert (await service_says(alice, "CS INFO #hideout", CS))[0] == "Channel #hideout is registered"


def account_cli(tmp_path: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*MODULE, "account", *args], input=stdin, cwd=tmp_path, env=hubbub_env(), capture_output=True,
        text=True, timeout=60, check=False,
    )  # fmt: skip


def test_account_commands_on_a_missing_store_exit_1_and_create_nothing(tmp_path: Path) -> None:
    """docs/accounts.md "`hubbub account`": "`list`, `passwd` and `del` never create a
    store: on a SQLite file that does not exist they say so and exit with status 1
    (`hubbub: there is no store at /srv/hubbub/hubub.db: check --db or store.db ...`)"."""
    for args, stdin in ((("list",), None), (("passwd", "erin"), "new-password\n"), (("del", "erin"), None)):
        result = account_cli(tmp_path, "--db", "hubub.db", *args, stdin=stdin)
        assert result.returncode == 1, args
        assert result.stderr.startswith(f"hubbub: there is no store at {tmp_path / 'hubub.db'}: check --db or "
                                        "store.db"), result.stderr
        assert not (tmp_path / "hubub.db").exists(), args


async def test_account_list_shows_date_certificates_and_email(make_server, tmp_path: Path) -> None:
    """docs/accounts.md "`hubbub account`": `list` gives "one line per account: name,
    registration date, certificates, e-mail"."""
    db = tmp_path / "hubbub.db"
    server = await make_server(f"store.db='{db}'")
    alice = await connected(server, "alice")
    registered = {time.strftime("%Y-%m-%d", time.gmtime())}
    alice.send("PRIVMSG NickServ :REGISTER correct-horse alice@example.org")
    await alice.expect("NOTICE", "alice", "Account created")
    await alice.expect("NOTICE", "alice", "You're now logged in as alice")
    registered.add(time.strftime("%Y-%m-%d", time.gmtime()))  # the day it was registered: one of these
    assert await first_notice(alice, f"NS CERT ADD {'d' * 64}") == "Certificate fingerprint successfully added"
    await alice.close()
    await server.stop()
    listed = await asyncio.to_thread(account_cli, tmp_path, "--db", str(db), "list")
    assert listed.returncode == 0, listed.stderr
    line = listed.stdout.strip()
    found = re.fullmatch(r"alice\tregistered (\d{4}-\d\d-\d\d), 1 certificate\S*, alice@example\.org", line)
    assert found is not None and found.group(1) in registered, line


def test_account_add_on_a_terminal_asks_twice_without_echo(tmp_path: Path) -> None:
    """docs/accounts.md "`hubbub account`": the password "is read from standard input (its
    first line), or asked twice on a terminal" (without echo)."""
    db = tmp_path / "hubbub.db"
    code, shown = run_on_a_terminal(
        ["account", "--db", str(db), "add", "erin"], {"Password:": "erins-secret", "Again:": "erins-secret"},
        tmp_path,
    )  # fmt: skip
    assert code == 0, shown
    assert "account erin created" in shown and "erins-secret" not in shown
    assert shown.index("Password:") < shown.index("Again:")
    listed = account_cli(tmp_path, "--db", str(db), "list")
    assert listed.stdout.startswith("erin\tregistered ")


# == docs/channels.md ===========================================================================


async def test_names_alone_is_a_lone_366_star(server, clients) -> None:
    """docs/channels.md "NAMES": "`NAMES` alone is a lone `366 *`"."""
    alice = await connected(server, "alice", "#room")
    clients.append(alice)
    alice.send("NAMES")
    assert [(m.command, m.params[:2]) for m in await sync(alice)] == [("366", ["alice", "*"])]


async def test_kick_with_channel_and_nick_counts_that_do_not_pair_is_461(server, clients) -> None:
    """docs/channels.md "KICK": 461 for "channel and nick counts that do not pair"; nobody
    is kicked."""
    alice = await connected(server, "alice", "#a", "#b")
    bob = await connected(server, "bob", "#a", "#b")
    clients.extend([alice, bob])
    alice.send("KICK #a,#b bob,bob,bob")
    assert (await alice.expect("461")).params[:2] == ["alice", "KICK"]
    assert "KICK" not in commands(await sync(bob))


async def test_an_account_extban_takes_an_account_name_never_a_mask(server, clients) -> None:
    """docs/channels.md "Masks": "An `a:` mask takes an account name, never
    `nick!user@host` (696)"; an extended ban needs something after its type."""
    alice = await connected(server, "alice", "#room")
    clients.append(alice)
    for mask in ("a:bob!*@*", "a:bob@host", "a:"):
        alice.send(f"MODE #room +b {mask}")
        refused = await alice.expect("696")
        assert refused.params[1:4] == ["#room", "b", mask], mask
    alice.send("MODE #room +e a:bob")
    assert (await alice.expect("MODE")).params == ["#room", "+e", "a:bob"]


async def test_an_outsider_asking_a_secret_channels_lists_gets_403(server, clients) -> None:
    """docs/channels.md "Secret channels (+s)": every command naming it from outside gets
    403, MODE included, so the exception and invite lists too. (The "Lists" section says
    "An outsider of a secret channel gets only the end line"; the server answers 403, as a
    channel that does not exist gets, which the "Secret channels" section promises.)"""
    alice = await connected(server, "alice", "#hidden")
    carol = await connected(server, "carol")
    clients.extend([alice, carol])
    alice.send("MODE #hidden +s")
    await alice.expect("MODE", "#hidden", "+s")
    for letter in "eI":
        for channel in ("#hidden", "#nowhere"):
            carol.send(f"MODE {channel} {letter}")
            reply = await sync(carol)
            assert [(m.command, m.params[1]) for m in reply] == [("403", channel)], (letter, channel)


async def test_invite_alone_lists_only_invitations_from_ops_for_channels_that_exist(server, clients) -> None:
    """docs/channels.md "INVITE": `INVITE` alone lists "the invitations you hold that still let
    you in (those from halfops and ops, not used yet, for channels that still exist)"."""
    alice = await connected(server, "alice", "#open", "#gone")
    pleb = await connected(server, "pleb", "#open")
    bob = await connected(server, "bob")
    clients.extend([alice, pleb, bob])
    pleb.send("INVITE bob #open")  # from a plain member
    await bob.expect("INVITE", "bob", "#open")
    alice.send("INVITE bob #gone")  # from an op
    await bob.expect("INVITE", "bob", "#gone")
    bob.send("INVITE")
    assert [m.params for m in await bob.collect_until("337")] == [["bob", "#gone"], ["bob", "End of /INVITE list"]]
    alice.send("PART #gone")  # the channel empties and is gone
    await alice.expect("PART", "#gone")
    bob.send("INVITE")
    assert [m.params for m in await bob.collect_until("337")] == [["bob", "End of /INVITE list"]]


async def test_minus_l_takes_no_parameter(server, clients) -> None:
    """docs/channels.md "Keys and limits": "`-l` takes no parameter" (the next letter gets it)."""
    alice = await connected(server, "alice", "#room")
    bob = await connected(server, "bob", "#room")
    clients.extend([alice, bob])
    alice.send("MODE #room +l 10")
    await bob.expect("MODE", "#room", "+l", "10")
    alice.send("MODE #room -l+k sesame")
    assert (await bob.expect("MODE")).params == ["#room", "-l+k", "sesame"]
    alice.send("MODE #room")
    assert (await alice.expect("324")).params[2:] == ["+ntk", "sesame"]
