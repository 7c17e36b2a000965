"""A server's life as its operator lives it: every `--help`, mistakes on the command line
and in the file, reloads by SIGHUP (renewed certificates included), what the log says and
never says, shutting down with clients connected, a second server on the same port or
store, MOTD files, and `hubbub account` / `hash-password` against SQLite and PostgreSQL.

Real `python -m hubbub` processes in temporary directories, servers on 127.0.0.1 port 0,
real sockets. What test_cli.py, test_more_cli.py and tests/e2e_opers already check is not
repeated here.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import signal
import socket
import ssl
import subprocess
import tomllib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from hubbub.passwords import DECOY_HASH, hash_password, verify_password
from hubbub.transport.tls import generate_self_signed
from tests.e2e_limits.test_cli import BASE, EXIT, MODULE, STARTUP, Served, _env, run
from tests.helpers import LineClient

LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) \S")
OPER_PASSWORD = "oper-Secret-4711"


def one_clear_line(result: subprocess.CompletedProcess[str], pattern: str, status: int = 1) -> str:
    """The command failed with `status` and said why in one `hubbub: ...` line, no traceback
    (a server's log lines, timestamped, may come before it)."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.strip().splitlines() if not LOG_LINE.match(line)]
    assert len(lines) == 1, result.stderr
    assert re.search(r"^hubbub: .*" + pattern, lines[0]), lines[0]
    assert result.returncode == status, (result.returncode, result.stderr)
    return lines[0]


def usage_error(result: subprocess.CompletedProcess[str], pattern: str) -> None:
    """An argparse mistake: usage and one `error:` line, status 2, no traceback."""
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("usage: hubbub"), result.stderr
    assert re.search(r"error: .*" + pattern, result.stderr), result.stderr


@pytest.fixture(scope="module")
def oper_hash() -> str:
    return hash_password(OPER_PASSWORD)


@pytest.fixture
async def start(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Served]]]:
    """`python -m hubbub serve` with `args` (the usual test flags unless `base=False`),
    returned once it logged its IRC address."""
    started: list[Served] = []

    async def begin(*args: str, base: bool = True) -> Served:
        proc = await asyncio.create_subprocess_exec(
            *MODULE, "serve", *(BASE if base else ()), *args,
            cwd=tmp_path, env=_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        assert proc.stderr is not None
        log: list[str] = []
        while True:
            raw = await asyncio.wait_for(proc.stderr.readline(), STARTUP)
            if not raw:
                await proc.wait()
                raise AssertionError(f"hubbub exited with {proc.returncode} before listening: {log}")
            line = raw.decode(errors="replace").rstrip("\n")
            log.append(line)
            if found := re.search(r"listening irc (\S+):(\d+)$", line):
                served = Served(proc, found.group(1), int(found.group(2)), log)
                started.append(served)
                await served.logged(r" ready as ")
                return served

    yield begin
    for served in started:
        await served.kill()


def tls_address(served: Served) -> tuple[str, int]:
    found = next(m for line in served.log if (m := re.search(r"listening tls (\S+):(\d+)$", line)))
    return found.group(1), int(found.group(2))


async def served_certificate(address: tuple[str, int]) -> bytes:
    """The DER certificate a new TLS connection is shown."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    reader, writer = await asyncio.open_connection(*address, ssl=context)
    der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    writer.close()
    return der


def der_of(pem_path: Path) -> bytes:
    return ssl.PEM_cert_to_DER_cert(pem_path.read_text())


async def quit_client(client: LineClient) -> None:
    client.send("QUIT")
    await client.closed()


# -- every --help, and argparse mistakes ---------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ("serve",), ("account",), ("account", "add"), ("account", "passwd"), ("account", "del"),
        ("account", "list"), ("hash-password",), ("chat",), ("bench",), ("bench", "fanout"),
        ("bench", "connect"), ("bench", "pingpong"), ("bench", "store"), ("bench", "history"),
        ("bench", "summary"),
    ],
    ids=lambda c: "-".join(c),
)  # fmt: skip
def test_every_subcommand_help_prints_its_usage_and_exits_0(tmp_path: Path, command: tuple[str, ...]) -> None:
    result = run(*command, "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: hubbub {' '.join(command)}"), result.stdout
    assert result.stderr == ""
    assert list(tmp_path.iterdir()) == [], "asking for help must create nothing"


def test_command_line_mistakes_are_usage_errors_not_tracebacks(tmp_path: Path) -> None:
    usage_error(run("frobnicate", cwd=tmp_path), r"invalid choice: 'frobnicate'")
    usage_error(run("serve", "--log-level", "loud", cwd=tmp_path), r"--log-level: invalid choice: 'loud'")
    usage_error(run("serve", "--loop", "trio", cwd=tmp_path), r"--loop: invalid choice")
    usage_error(run("serve", "--web", "127.0.0.1:0", "--no-web", cwd=tmp_path), r"not allowed with")
    usage_error(run("serve", "--no-such-flag", cwd=tmp_path), r"unrecognized arguments: --no-such-flag")
    usage_error(run("account", cwd=tmp_path), r"ACTION")
    usage_error(run("account", "add", cwd=tmp_path), r"name")
    usage_error(run("hash-password", "secret", cwd=tmp_path), r"unrecognized arguments: secret")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--web", "localhost"), ("--web", "127.0.0.1:70000"), ("--tls-listen", "127.0.0.1:x")],
)
def test_a_bad_web_or_tls_listen_address_is_one_clear_line(tmp_path: Path, flag: str, value: str) -> None:
    result = run("serve", "--listen", "127.0.0.1:0", "--db", ":memory:", flag, value, cwd=tmp_path)
    line = one_clear_line(result, "", status=2)  # a configuration mistake: 2, as for the TLS certificate
    assert value in line, line


async def test_loop_asyncio_serves_and_says_which_loop(start) -> None:
    served = await start("--loop", "asyncio")
    await served.logged(r"ready as hubbub\.local \(asyncio event loop\)")
    client = await served.client()
    await client.register("alice")
    await quit_client(client)


# -- the configuration file ----------------------------------------------------------------------


def _uncommented(text: str) -> str:
    setting = re.compile(r"^# (\[\[opers\]\]|\[\[webirc\]\]|[a-z_]+ = .*)$")
    return "\n".join(m.group(1) if (m := setting.match(line)) else line for line in text.splitlines())


async def _isupport(served: Served) -> list[str]:
    client = await served.client()
    client.send("NICK probe")
    client.send("USER p 0 * :P")
    replies = await client.collect_until("376")
    await quit_client(client)
    return sorted(token for m in replies if m.command == "005" for token in m.params[1:-1])


async def test_print_config_uncommented_is_a_server_that_means_the_defaults(start, tmp_path: Path) -> None:
    printed = run("serve", "--print-config", cwd=tmp_path)
    assert printed.returncode == 0
    enabled = _uncommented(printed.stdout).replace("$argon2id$v=19$m=65536,t=3,p=4$...", DECOY_HASH)
    assert tomllib.loads(enabled)["limits"], "every setting uncommented"
    path = tmp_path / "full.toml"
    path.write_text(enabled, encoding="utf-8")
    from_file = await start("--config", str(path))
    defaults = await start()
    assert await _isupport(from_file) == await _isupport(defaults)
    assert not any("WARNING" in line or "ERROR" in line for line in from_file.log), from_file.log


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("nicklen = 5\n", r"nicklen"),
        ("[tls]\nself_signd = true\n", r"tls\.self_signd"),
        ('[[opers]]\nname = "root"\npassword_hash = "HASH"\npasword = "x"\n', r"pasword"),
        ("[listen]\nirc = [6667]\n", r"listen\.irc must be a list of strings"),
        ("[server]\nmotd = 5\n", r"server\.motd"),
    ],
    ids=["top-level-key", "tls-typo", "oper-typo", "number-for-list", "number-for-text"],
)
def test_a_config_file_mistake_names_the_key(tmp_path: Path, text: str, name: str) -> None:
    path = tmp_path / "hubbub.toml"
    path.write_text(text.replace("HASH", DECOY_HASH), encoding="utf-8")
    result = run("serve", "--config", str(path), "--no-web", "--db", ":memory:", cwd=tmp_path)
    one_clear_line(result, name, status=2)


# -- SIGHUP --------------------------------------------------------------------------------------


async def test_sighup_puts_a_certificate_renewed_in_place_in_use_for_new_connections(start, tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    generate_self_signed(cert, key, "hubbub.local")
    served = await start("--tls-listen", "127.0.0.1:0", "--set", f"tls.cert='{cert}'", "--set", f"tls.key='{key}'")
    address = tls_address(served)
    old = der_of(cert)
    assert await served_certificate(address) == old
    context = ssl.create_default_context(cafile=str(cert))
    reader, writer = await asyncio.open_connection(*address, ssl=context, server_hostname="localhost")
    before = LineClient(reader, writer)
    await before.register("before")

    cert.unlink()  # as certbot does: new files at the same paths
    key.unlink()
    generate_self_signed(cert, key, "hubbub.local")
    assert der_of(cert) != old
    served.proc.send_signal(signal.SIGHUP)
    await served.logged(r"INFO configuration reloaded from defaults$")
    assert await served_certificate(address) == der_of(cert)
    before.send("PING still-here")
    assert (await before.expect("PONG")).params[-1] == "still-here"
    await quit_client(before)


async def test_sighup_with_a_certificate_that_does_not_match_its_key_keeps_the_old_one(start, tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    generate_self_signed(cert, key, "hubbub.local")
    served = await start("--tls-listen", "127.0.0.1:0", "--set", f"tls.cert='{cert}'", "--set", f"tls.key='{key}'")
    old = der_of(cert)
    cert.unlink()
    generate_self_signed(cert, tmp_path / "other.key", "hubbub.local")  # only half of the pair renewed
    served.proc.send_signal(signal.SIGHUP)
    [failed] = await served.logged(r"ERROR configuration not reloaded: (.*)$")
    assert "cert.pem" in failed.group(1) or "key.pem" in failed.group(1), failed.group(0)
    assert await served_certificate(tls_address(served)) == old
    assert "Traceback" not in "\n".join(served.log)


async def test_sighup_applies_the_motd_and_names_each_setting_that_needs_a_restart(start, tmp_path: Path) -> None:
    path = tmp_path / "hubbub.toml"
    path.write_text('[server]\nname = "irc.one"\nmotd = "first"\n', encoding="utf-8")
    served = await start("--config", str(path))
    path.write_text(
        '[server]\nname = "irc.two"\nmotd = "second"\n[store]\nreaders = 7\n[listen]\nirc = ["127.0.0.1:1"]\n',
        encoding="utf-8",
    )
    served.proc.send_signal(signal.SIGHUP)
    await served.logged(rf"INFO configuration reloaded from {re.escape(str(path))}$")
    notes = [line for line in served.log if "restart" in line]
    assert any("WARNING server.name cannot change" in line for line in notes), notes
    assert any("WARNING store.readers cannot change" in line for line in notes), notes
    assert not any("listen.irc" in line for line in notes), "the --listen flag still wins: nothing changed"
    client = await served.client()
    client.send("NICK carol")
    client.send("USER c 0 * :C")
    assert (await client.expect("001")).source == "irc.one"
    assert (await client.expect("372")).params[-1] == "- second"
    await quit_client(client)


async def test_sighup_of_a_file_with_a_typo_names_the_key_and_keeps_running(start, tmp_path: Path) -> None:
    path = tmp_path / "hubbub.toml"
    path.write_text('[server]\nmotd = "kept"\n', encoding="utf-8")
    served = await start("--config", str(path))
    path.write_text('[server]\nmotd = "lost"\n[limits]\nnicklenn = 5\n', encoding="utf-8")
    served.proc.send_signal(signal.SIGHUP)
    await served.logged(r"ERROR configuration not reloaded: .*unknown setting limits\.nicklenn")
    client = await served.client()
    client.send("NICK dave")
    client.send("USER d 0 * :D")
    assert (await client.expect("372")).params[-1] == "- kept"
    await quit_client(client)


# -- shutting down -------------------------------------------------------------------------------


async def test_sigterm_tells_tls_and_unregistered_clients_and_exits_0(start, tmp_path: Path) -> None:
    served = await start("--tls-listen", "127.0.0.1:0", "--set", "tls.self_signed=true")
    context = ssl.create_default_context(cafile=str(tmp_path / "hubbub.crt"))
    reader, writer = await asyncio.open_connection(*tls_address(served), ssl=context, server_hostname="localhost")
    secure = LineClient(reader, writer)
    await secure.register("secure")
    waiting = await served.client()
    greeting = await waiting.read_line()
    assert greeting is not None and "Welcome to hubbub" in greeting
    waiting.send("NICK halfway")  # no USER: not registered yet
    served.proc.send_signal(signal.SIGTERM)
    for client in (secure, waiting):
        lines = await client.closed(timeout=EXIT)
        assert any(re.match(r"ERROR :Closing Link: .*\(Server shutting down\)$", line) for line in lines), lines
    assert await served.wait() == 0
    assert served.log[-1].endswith("INFO stopped"), served.log[-3:]


async def test_a_second_sigterm_while_stopping_still_exits_0_without_traceback(start) -> None:
    served = await start()
    clients = [await served.client() for _ in range(3)]
    for number, client in enumerate(clients):
        await client.register(f"user{number}")
    served.proc.send_signal(signal.SIGTERM)
    served.proc.send_signal(signal.SIGINT)
    served.proc.send_signal(signal.SIGTERM)
    assert await served.wait() == 0, served.log
    assert not any("Traceback" in line or " ERROR " in line for line in served.log), served.log


async def test_sighup_while_stopping_does_not_keep_the_process_alive(start, tmp_path: Path) -> None:
    path = tmp_path / "hubbub.toml"
    path.write_text("[server]\n", encoding="utf-8")
    served = await start("--config", str(path))
    client = await served.client()
    await client.register("erin")
    served.proc.send_signal(signal.SIGTERM)
    served.proc.send_signal(signal.SIGHUP)
    assert await served.wait() == 0, served.log
    assert "Traceback" not in "\n".join(served.log)


# -- a second server -----------------------------------------------------------------------------


async def test_a_second_server_on_the_same_store_file_is_refused_and_the_first_goes_on(start, tmp_path: Path) -> None:
    first = await start("--listen", "127.0.0.1:0", "--no-web", "--db", "shared.db", base=False)
    result = run("serve", "--listen", "127.0.0.1:0", "--no-web", "--db", "shared.db", cwd=tmp_path)
    one_clear_line(result, r"shared\.db is in use by another hubbub server")
    client = await first.client()
    await client.register("frank")
    await quit_client(client)


async def test_a_second_server_on_the_same_port_leaves_the_first_alone(start, tmp_path: Path) -> None:
    first = await start()
    result = run("serve", "--listen", f"{first.host}:{first.port}", "--no-web", "--db", ":memory:", cwd=tmp_path)
    line = one_clear_line(result, r"cannot listen")
    assert "ddress already in use" in line, line
    client = await first.client()
    await client.register("grace")
    await quit_client(client)


@pytest.mark.parametrize(
    ("setup", "db", "message"),
    [
        (None, "no/such/dir/hubbub.db", r"no/such/dir/hubbub\.db"),
        ("junk", "junk.db", r"junk\.db"),
    ],
    ids=["missing-directory", "not-sqlite"],
)
def test_a_store_that_cannot_be_used_is_one_clear_line(
    tmp_path: Path, setup: str | None, db: str, message: str
) -> None:
    if setup:
        (tmp_path / db).write_bytes(b"this is not a database\n" * 100)
    result = run("serve", "--listen", "127.0.0.1:0", "--no-web", "--db", db, cwd=tmp_path)
    one_clear_line(result, message)


def test_a_cluster_node_with_a_sqlite_file_or_no_redis_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the block ends: nothing listens there
    url = f"redis://127.0.0.1:{port}/0"
    result = run("serve", "--listen", "127.0.0.1:0", "--no-web", "--db", "node.db", "--cluster", url, cwd=tmp_path)
    one_clear_line(result, r"a cluster's nodes must share one store: --db postgresql://", status=2)
    result = run("serve", *BASE, "--cluster", url, cwd=tmp_path)
    one_clear_line(result, rf"127\.0\.0\.1:{port}")


def test_an_unreachable_postgresql_is_one_line_without_the_password(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://hubbub:Pg-Secret-99@127.0.0.1:{port}/chat?connect_timeout=3"
    result = run("serve", "--listen", "127.0.0.1:0", "--no-web", "--db", url, cwd=tmp_path)
    line = one_clear_line(
        result, rf"cannot connect to PostgreSQL at 127\.0\.0\.1:{port} \(database chat, user hubbub\)"
    )
    assert "Pg-Secret-99" not in result.stderr + result.stdout, line


def test_a_wrong_postgresql_password_is_one_line_without_either_password(tmp_path: Path, postgres_url: str) -> None:
    wrong = re.sub(r":[^:@/]+@", ":Wrong-Pass-77@", postgres_url)
    result = run("serve", "--listen", "127.0.0.1:0", "--no-web", "--db", wrong, cwd=tmp_path)
    line = one_clear_line(result, r"cannot connect to PostgreSQL at .*password authentication failed")
    assert "Wrong-Pass-77" not in result.stderr, line


# -- the log -------------------------------------------------------------------------------------


async def test_the_log_is_one_line_per_event_and_never_holds_a_password(start, tmp_path: Path, oper_hash: str) -> None:
    path = tmp_path / "hubbub.toml"
    path.write_text(f'[server]\npassword = "Conn-Pass-1"\n[[opers]]\nname = "boss"\npassword_hash = "{oper_hash}"\n',
                    encoding="utf-8")  # fmt: skip
    served = await start("--config", str(path), "--log-level", "debug")
    secrets = ["Conn-Pass-1", "Wrong-Conn-2", OPER_PASSWORD, "Wrong-Oper-3", "Account-Pass-4"]
    wrong = await served.client()
    wrong.send("PASS Wrong-Conn-2")
    wrong.send("NICK wrong")
    wrong.send("USER w 0 * :W")
    await wrong.expect("464")
    await wrong.closed()
    client = await served.client()
    client.send("PASS Conn-Pass-1")
    await client.register("heidi")
    client.send("OPER boss Wrong-Oper-3")
    await client.expect("464")
    client.send(f"OPER boss {OPER_PASSWORD}")
    await client.expect("381")
    client.send("PRIVMSG NickServ :REGISTER Account-Pass-4 heidi@example.org")
    await client.expect("NOTICE", "heidi")
    client.send("QUIT :my private words")
    await client.closed()
    await served.logged(r"INFO disconnected heidi!")
    await served.logged(r"INFO failed OPER attempt by heidi!.*wrong name or password$")
    served.proc.send_signal(signal.SIGTERM)
    assert await served.wait() == 0
    text = "\n".join(served.log)
    for secret in secrets:
        assert secret not in text, secret
    assert "my private words" not in text
    bad = [line for line in served.log if not LOG_LINE.match(line)]
    assert bad == [], bad


def _listening_ports(pid: int) -> set[int]:
    """The TCP ports process `pid` listens on, from /proc (whatever its log says)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("tcp", "tcp6"):
        for row in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            cols = row.split()
            if cols[3] == "0A" and cols[9] in inodes:  # LISTEN
                ports.add(int(cols[1].rsplit(":", 1)[1], 16))
    return ports


async def test_a_quiet_log_level_still_says_where_the_server_listens(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        *MODULE, "serve", *BASE, "--log-level", "warning",
        cwd=tmp_path, env=_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STARTUP
        while not (ports := _listening_ports(proc.pid)):
            assert loop.time() < deadline and proc.returncode is None, "the server never listened"
            await asyncio.sleep(0.05)
        [port] = ports
        client = await LineClient.connect_to("127.0.0.1", port)
        await client.register("quiet")  # it serves: everything it logs at start is logged by now
        await quit_client(client)
        proc.send_signal(signal.SIGTERM)
        assert proc.stderr is not None
        log = (await asyncio.wait_for(proc.stderr.read(), EXIT)).decode()
        assert await asyncio.wait_for(proc.wait(), EXIT) == 0
        assert not [line for line in log.splitlines() if " INFO " in line and " listening " not in line], log
        # the level is honoured for everything else...
        assert f"listening irc 127.0.0.1:{port}" in log, log  # ...yet the address is told
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


# -- the MOTD file -------------------------------------------------------------------------------


async def _motd(served: Served, nick: str) -> list[str]:
    client = await served.client()
    client.send(f"NICK {nick}")
    client.send("USER m 0 * :M")
    replies = await client.collect_until(lambda m: m.command in ("376", "422"))
    await quit_client(client)
    return [m.command if m.command != "372" else m.params[-1] for m in replies if m.command in ("372", "422")]


async def test_a_read_only_motd_file_is_shown_and_a_removed_one_is_422_after_sighup(start, tmp_path: Path) -> None:
    motd = tmp_path / "motd.txt"
    motd.write_text("line one\nline two\n", encoding="utf-8")
    motd.chmod(0o444)
    config = tmp_path / "hubbub.toml"
    config.write_text(f'[server]\nmotd_file = "{motd}"\n', encoding="utf-8")
    served = await start("--config", str(config))
    assert await _motd(served, "ivan") == ["- line one", "- line two"]
    motd.chmod(0o644)
    motd.unlink()
    served.proc.send_signal(signal.SIGHUP)
    await served.logged(rf"WARNING cannot read server\.motd_file {re.escape(str(motd))}: No such file or directory")
    await served.logged(r"INFO configuration reloaded from")
    assert await _motd(served, "judy") == ["422"]


async def test_a_motd_file_that_is_a_directory_is_422_and_logged(start, tmp_path: Path) -> None:
    (tmp_path / "motd.d").mkdir()
    served = await start("--set", f"server.motd_file='{tmp_path / 'motd.d'}'")
    await served.logged(r"WARNING cannot read server\.motd_file .*motd\.d: Is a directory")
    assert await _motd(served, "karl") == ["422"]


# -- hubbub account and hash-password ------------------------------------------------------------


def account(tmp_path: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*MODULE, "account", *args], cwd=tmp_path, env=_env(), input=stdin if stdin is not None else "",
        capture_output=True, text=True, timeout=STARTUP, check=False,
    )  # fmt: skip


def test_account_mistakes_on_sqlite_are_one_clear_line_each(tmp_path: Path) -> None:
    db = ("--db", "accounts.db")
    assert account(tmp_path, *db, "add", "Lena", "--email", "l@example.org", stdin="pw-one\n").returncode == 0
    one_clear_line(account(tmp_path, *db, "add", "lena", stdin="pw-two\n"), r"the account Lena exists already")
    one_clear_line(account(tmp_path, *db, "passwd", "nobody", stdin="pw\n"), r"there is no account nobody")
    one_clear_line(account(tmp_path, *db, "del", "nobody"), r"there is no account nobody")
    one_clear_line(account(tmp_path, *db, "add", "two words", stdin="pw\n"), r"'two words' cannot be an account name")
    one_clear_line(account(tmp_path, *db, "add", "x" * 31, stdin="pw\n"), r"cannot be an account name")
    one_clear_line(account(tmp_path, *db, "passwd", "lena", stdin=""), r"empty password")
    listed = account(tmp_path, *db, "list")
    assert listed.returncode == 0
    assert re.fullmatch(r"Lena\tregistered \d{4}-\d\d-\d\d, l@example\.org\n", listed.stdout), listed.stdout


def test_account_add_with_an_empty_password_leaves_no_store_behind(tmp_path: Path) -> None:
    one_clear_line(account(tmp_path, "--db", "new.db", "add", "mona", stdin=""), r"empty password")
    assert not (tmp_path / "new.db").exists()
    missing = rf"there is no store at {re.escape(str(tmp_path))}/new\.db"  # by its whole path
    one_clear_line(account(tmp_path, "--db", "new.db", "list"), missing)


def test_account_with_a_config_file_mistake_is_one_clear_line(tmp_path: Path) -> None:
    path = tmp_path / "hubbub.toml"
    path.write_text('[store]\ndbb = "x.db"\n', encoding="utf-8")
    one_clear_line(account(tmp_path, "--config", str(path), "list"), r"unknown setting store\.dbb")
    one_clear_line(account(tmp_path, "--config", str(tmp_path / "gone.toml"), "list"), r"gone\.toml")


async def test_account_round_trip_on_postgresql_and_the_server_uses_it(
    start, tmp_path: Path, postgres_url: str
) -> None:
    db = ("--db", postgres_url)
    assert account(tmp_path, *db, "list").stdout.startswith("no accounts in PostgreSQL at ")
    created = account(tmp_path, *db, "add", "Nina", "--email", "n@example.org", stdin="First-Pass\n")
    assert created.returncode == 0, created.stderr
    assert created.stdout.startswith("account Nina created in PostgreSQL at ")
    one_clear_line(account(tmp_path, *db, "add", "NINA", stdin="x\n"), r"exists already")
    changed = account(tmp_path, *db, "passwd", "nina", stdin="Second-Pass\n")
    assert changed.returncode == 0, changed.stderr
    assert changed.stdout.startswith("password of Nina changed in PostgreSQL at ")
    served = await start("--listen", "127.0.0.1:0", "--no-web", "--db", postgres_url, base=False)
    await served.logged(r"INFO store postgresql://.*: 1 accounts")
    assert not any("hubbub-secret" in line for line in served.log)
    client = await served.client()
    await client.register("nina")
    client.send("PRIVMSG NickServ :IDENTIFY Nina First-Pass")  # the password account passwd replaced
    await client.expect(lambda m: m.command == "NOTICE" and "Invalid account credentials" in m.params[-1])
    client.send("PRIVMSG NickServ :IDENTIFY Nina Second-Pass")
    await client.expect("900")
    await quit_client(client)
    served.proc.send_signal(signal.SIGTERM)
    assert await served.wait() == 0
    deleted = account(tmp_path, *db, "del", "Nina")
    assert deleted.returncode == 0 and deleted.stdout.startswith("account Nina deleted from PostgreSQL at ")
    assert account(tmp_path, *db, "list").stdout.startswith("no accounts in PostgreSQL at ")


def test_account_on_an_unreachable_or_misauthenticated_postgresql_is_one_line(
    tmp_path: Path, postgres_url: str
) -> None:
    wrong = re.sub(r":[^:@/]+@", ":Wrong-Pass-88@", postgres_url)
    line = one_clear_line(account(tmp_path, "--db", wrong, "list"), r"password authentication failed")
    assert "Wrong-Pass-88" not in line
    line = one_clear_line(account(tmp_path, "--db", wrong, "add", "olga", stdin="pw\n"), r"cannot connect")
    assert "Wrong-Pass-88" not in line


@pytest.mark.parametrize(
    ("stdin", "password"),
    [("no-newline", "no-newline"), ("tab\there \n", "tab\there "), ("first\nsecond\n", "first")],
    ids=["no-newline", "inner-whitespace", "first-line-only"],
)
def test_hash_password_from_stdin_hashes_exactly_the_first_line(tmp_path: Path, stdin: str, password: str) -> None:
    result = subprocess.run(
        [*MODULE, "hash-password"], cwd=tmp_path, env=_env(), input=stdin,
        capture_output=True, text=True, timeout=STARTUP, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    hashed = result.stdout.strip()
    assert result.stdout == hashed + "\n" and hashed.startswith("$argon2id$")
    assert verify_password(hashed, password)
    assert password not in result.stdout + result.stderr


def test_hash_password_with_nothing_on_stdin_is_one_clear_line(tmp_path: Path) -> None:
    for stdin in ("", "\n", "\r\n"):
        result = subprocess.run(
            [*MODULE, "hash-password"], cwd=tmp_path, env=_env(), input=stdin,
            capture_output=True, text=True, timeout=STARTUP, check=False,
        )  # fmt: skip
        one_clear_line(result, r"empty password")
        assert result.stdout == ""


# -- TLS: self-signed pairs ----------------------------------------------------------------------


async def test_a_self_signed_pair_is_made_once_with_a_private_key_and_kept(start, tmp_path: Path) -> None:
    served = await start("--tls-listen", "127.0.0.1:0", "--set", "tls.self_signed=true")
    key = tmp_path / "hubbub.key"
    assert key.stat().st_mode & 0o077 == 0, oct(key.stat().st_mode)
    fingerprint = hashlib.sha256(der_of(tmp_path / "hubbub.crt")).hexdigest()
    assert hashlib.sha256(await served_certificate(tls_address(served))).hexdigest() == fingerprint
    assert any("no STS policy is offered with a self-signed certificate" in line for line in served.log), served.log
    served.proc.send_signal(signal.SIGTERM)
    assert await served.wait() == 0
    again = await start("--tls-listen", "127.0.0.1:0", "--set", "tls.self_signed=true")
    assert hashlib.sha256(await served_certificate(tls_address(again))).hexdigest() == fingerprint
    assert os.stat(key).st_mode & 0o077 == 0


async def test_sighup_renews_the_https_certificate_of_the_web_listener_too(start, tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    generate_self_signed(cert, key, "hubbub.local")
    served = await start("--listen", "127.0.0.1:0", "--db", ":memory:", "--web", "127.0.0.1:0",
                         "--set", "web.tls=true", "--set", f"tls.cert='{cert}'", "--set", f"tls.key='{key}'",
                         base=False)  # fmt: skip
    [web] = await served.logged(r"listening web (\S+):(\d+)$")
    address = (web.group(1), int(web.group(2)))
    assert await served_certificate(address) == der_of(cert)
    cert.unlink()
    key.unlink()
    generate_self_signed(cert, key, "hubbub.local")
    served.proc.send_signal(signal.SIGHUP)
    await served.logged(r"INFO configuration reloaded from defaults$")
    assert await served_certificate(address) == der_of(cert)


# -- the default store, as README.md's first commands use it -------------------------------------


async def test_account_add_and_serve_without_db_share_hubbub_db_in_the_working_directory(start, tmp_path: Path) -> None:
    created = account(tmp_path, "add", "paula", stdin="Paula-Pass\n")
    assert created.returncode == 0, created.stderr
    assert (tmp_path / "hubbub.db").exists()
    served = await start("--listen", "127.0.0.1:0", "--no-web", base=False)
    # by its whole path: the working directory's, where `hubbub account` made it
    await served.logged(rf"INFO store {re.escape(str(tmp_path / 'hubbub.db'))}: 1 accounts, 0 registered channels, "
                        r"0 K-lines$")  # fmt: skip
    client = await served.client()
    await client.register("paula")
    client.send("PRIVMSG NickServ :IDENTIFY Paula-Pass")
    await client.expect("900")
    await quit_client(client)
    one_clear_line(account(tmp_path, "list"), r"hubbub\.db is in use by another hubbub server")
    served.proc.send_signal(signal.SIGTERM)
    assert await served.wait() == 0
    assert account(tmp_path, "list").stdout.startswith("paula\tregistered ")
