"""The `hubbub` command line, run as a real process: flags, config file, signals.

Every server here listens on 127.0.0.1 port 0 with no web listener and an in-memory
store; the test reads the chosen port from the `listening irc HOST:PORT` log line,
exactly as the command-line contract promises tools can.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tomllib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import fields
from pathlib import Path

import pytest

from hubbub import __version__
from hubbub.config import _SECTIONS, Config, ConfigError, load
from hubbub.passwords import DECOY_HASH
from tests.helpers import LineClient

ROOT = Path(__file__).resolve().parents[2]
BASE = ("--listen", "127.0.0.1:0", "--no-web", "--db", ":memory:")
STARTUP = 15.0  # bound on a process coming up (imports included) on a loaded machine
EXIT = 10.0


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("PYTHONWARNINGS", None)
    return env


MODULE = (sys.executable, "-m", "hubbub")


def run(*args: str, cwd: Path, cmd: tuple[str, ...] = MODULE) -> subprocess.CompletedProcess[str]:
    """Run the command line to completion (for the flags that do not start a server)."""
    return subprocess.run(
        [*cmd, *args], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=STARTUP, check=False
    )


class Served:
    """A `hubbub serve` process and the IRC address it logged."""

    def __init__(self, proc: asyncio.subprocess.Process, host: str, port: int, log: list[str]) -> None:
        self.proc = proc
        self.host = host
        self.port = port
        self.log = log
        self._logged = asyncio.Condition()
        self._reader = asyncio.ensure_future(self._read_log())

    async def _read_log(self) -> None:
        assert self.proc.stderr is not None
        while line := await self.proc.stderr.readline():
            self.log.append(line.decode(errors="replace").rstrip("\n"))
            async with self._logged:
                self._logged.notify_all()

    async def logged(self, pattern: str, count: int = 1, timeout: float = STARTUP) -> list[re.Match[str]]:
        """The first `count` log lines matching `pattern`, once they have been logged."""
        regex = re.compile(pattern)

        def found() -> list[re.Match[str]]:
            return [m for line in self.log if (m := regex.search(line))]

        async with self._logged:
            await asyncio.wait_for(self._logged.wait_for(lambda: len(found()) >= count), timeout)
        return found()[:count]

    async def client(self) -> LineClient:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        return LineClient(reader, writer)

    async def capped(self, nick: str, caps: str) -> LineClient:
        """A client registered as `nick` with the capabilities `caps` (space-separated)."""
        client = await self.client()
        client.send(f"CAP REQ :{caps}")
        client.send(f"NICK {nick}")
        client.send("USER u 0 * :U")
        client.send("CAP END")
        await client.expect("001")
        client.nick = nick
        return client

    async def wait(self, timeout: float = EXIT) -> int:
        code = await asyncio.wait_for(self.proc.wait(), timeout)
        await asyncio.wait_for(self._reader, timeout)
        return code

    async def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        self._reader.cancel()


@pytest.fixture
async def serve(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Served]]]:
    """Start `python -m hubbub serve` with the usual test flags plus `args`."""
    started: list[Served] = []

    async def start(*args: str, nofile: int | None = None, base: tuple[str, ...] = BASE) -> Served:
        """`nofile`: the descriptor limit (soft and hard) the process starts with; `base`:
        the flags before `args` (the IRC listener, no web one, no store)."""

        def limit() -> None:
            if nofile is not None:
                import resource

                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        proc = await asyncio.create_subprocess_exec(
            *MODULE, "serve", *base, *args,
            cwd=tmp_path, env=_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            preexec_fn=limit,
        )  # fmt: skip
        log: list[str] = []
        assert proc.stderr is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STARTUP
        while True:
            try:
                raw = await asyncio.wait_for(proc.stderr.readline(), max(0.01, deadline - loop.time()))
            except TimeoutError:
                proc.kill()
                raise AssertionError(f"no 'listening irc' line within {STARTUP}s: {log}") from None
            if not raw:
                await proc.wait()
                raise AssertionError(f"hubbub exited with {proc.returncode} before listening: {log}")
            line = raw.decode(errors="replace").rstrip("\n")
            log.append(line)
            found = re.search(r"listening irc (\S+):(\d+)$", line)
            if found:
                served = Served(proc, found.group(1), int(found.group(2)), log)
                started.append(served)
                return served

    yield start
    for served in started:
        await served.kill()


# -- flags that answer and exit ------------------------------------------------------------


def test_version(tmp_path: Path) -> None:
    result = run("--version", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == f"hubbub {__version__}"


def test_python_m_hubbub_is_the_hubbub_command(tmp_path: Path) -> None:
    script = shutil.which("hubbub")
    if script is None:
        pytest.skip("the hubbub script is not installed")
    for args in (("--version",), (), ("serve", "--print-config")):
        module = run(*args, cwd=tmp_path)
        command = run(*args, cwd=tmp_path, cmd=(script,))
        assert (module.returncode, module.stdout) == (command.returncode, command.stdout), args
    assert run(cwd=tmp_path).returncode != 0  # no command: usage, and a failure status


def test_a_server_without_a_web_listener_does_not_load_the_web_stack(tmp_path: Path) -> None:
    """aiohttp is a fifth of the start of `hubbub serve --no-web` (a cluster's nodes
    behind a proxy, and the hundreds of servers the tests start): it is imported only by
    a server that listens for HTTP."""
    probe = ("import sys, hubbub.cli, hubbub.app; "
             "print(sorted(m for m in sys.modules if m.split('.')[0] == 'aiohttp'))")  # fmt: skip
    result = run("-c", probe, cwd=tmp_path, cmd=(sys.executable,))
    assert (result.returncode, result.stdout.strip()) == (0, "[]"), result.stderr


def test_a_server_outside_a_cluster_does_not_load_the_redis_client(tmp_path: Path) -> None:
    """The Redis client is a fifth of a server's start and 7 MB of its memory: a server
    that joins no cluster never imports it, one that does finds it."""
    probe = ("import sys, hubbub.cli, hubbub.app, hubbub.config; "
             "hubbub.app.Runtime(hubbub.config.load(None, sys.argv[1:])); "
             "print(sorted({m.split('.')[0] for m in sys.modules} & {'redis', 'hiredis'}))")  # fmt: skip
    alone = run("-c", probe, "store.db=':memory:'", cwd=tmp_path, cmd=(sys.executable,))
    assert (alone.returncode, alone.stdout.strip()) == (0, "[]"), alone.stderr
    node = run("-c", probe, "store.db=':memory:'", "cluster.url='redis://127.0.0.1:1'", cwd=tmp_path,
               cmd=(sys.executable,))  # fmt: skip
    assert node.returncode == 0 and "redis" in node.stdout, node.stderr


def _uncommented(text: str) -> str:
    """The printed config with every commented-out setting (and the opers and WebIRC examples) enabled."""
    setting = re.compile(r"^# (\[\[opers\]\]|\[\[webirc\]\]|[a-z_][a-z0-9_]* = .*)$")
    return "\n".join(m.group(1) if (m := setting.match(line)) else line for line in text.splitlines())


def test_print_config_is_complete_valid_toml_once_uncommented(tmp_path: Path) -> None:
    result = run("serve", "--print-config", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert tomllib.loads(text) == {section: {} for section in _SECTIONS}  # all commented
    enabled = _uncommented(text)
    data = tomllib.loads(enabled)
    defaults = Config()
    for section in _SECTIONS:
        declared = {f.name for f in fields(getattr(defaults, section))}
        assert set(data[section]) == declared, section  # every key is there
    path = tmp_path / "hubbub.toml"
    path.write_text(enabled, encoding="utf-8")
    with pytest.raises(ConfigError, match="hubbub hash-password"):  # the example hash is a placeholder
        load(str(path))
    path.write_text(enabled.replace("$argon2id$v=19$m=65536,t=3,p=4$...", DECOY_HASH), encoding="utf-8")
    loaded = load(str(path))  # and, with a real hash, the server accepts all of it
    for section in _SECTIONS:
        assert getattr(loaded, section) == getattr(defaults, section), section
    assert [o.name for o in loaded.opers] == ["alice"]
    assert [w.name for w in loaded.webirc] == ["kiwiirc"]
    assert not list(tmp_path.glob("*.db")), "printing the config must not create a store"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("limits.nicklen=abc", r"limits\.nicklen must be a whole number"),
        ("limits.nicklen=0", r"limits\.nicklen must be at least 1"),
        ("limits.no_such_key=1", r"unknown setting limits\.no_such_key"),
        ("nosection.key=1", r"unknown section"),
        ("nicklen", r"SECTION\.KEY=VALUE"),
    ],
)
def test_bad_set_exits_with_a_clear_message(tmp_path: Path, override: str, message: str) -> None:
    result = run("serve", *BASE, "--set", override, cwd=tmp_path)
    assert result.returncode != 0
    assert re.search(r"^hubbub: .*" + message, result.stderr, re.MULTILINE), result.stderr
    assert "Traceback" not in result.stderr


def test_unreadable_config_file_exits_with_a_clear_message(tmp_path: Path) -> None:
    result = run("serve", *BASE, "--config", str(tmp_path / "missing.toml"), cwd=tmp_path)
    assert result.returncode != 0
    assert "hubbub: cannot read" in result.stderr and "Traceback" not in result.stderr
    broken = tmp_path / "broken.toml"
    broken.write_text("[limits\nnicklen = 5\n")
    result = run("serve", *BASE, "--config", str(broken), cwd=tmp_path)
    assert result.returncode != 0
    assert "broken.toml" in result.stderr and "Traceback" not in result.stderr


# -- a running server -------------------------------------------------------------------


async def test_serve_logs_its_address_and_takes_clients(serve) -> None:
    served = await serve()
    client = await served.client()
    first = await client.read_line()
    assert first is not None and first.startswith(":hubbub.local NOTICE * :*** Welcome to hubbub.")
    await client.register("alice")
    await client.join("#lobby")
    client.send("QUIT")
    await client.closed()
    assert any("only local connections" in line for line in served.log)


HINT = "only local connections are accepted; "
LATER = " to accept connections from other machines"


async def test_the_local_only_hint_names_the_config_files_listeners_when_they_come_from_it(serve, tmp_path) -> None:
    """A server run from a file (a service) is told where to change its listeners: the
    file's keys, not flags its command line does not have."""
    (tmp_path / "hubbub.toml").write_text(
        '[listen]\nirc = ["127.0.0.1:0"]\nweb = "127.0.0.1:0"\n[store]\ndb = ":memory:"\n', encoding="utf-8")
    served = await serve("--config", "hubbub.toml", base=())
    web = (await served.logged(r"listening web \S+:(\d+)$"))[0].group(1)
    hint = (await served.logged(HINT))[0].string
    assert hint.endswith(f'{HINT}set listen.irc = ["0.0.0.0:{served.port}"] and listen.web = "0.0.0.0:{web}" '
                         f"in hubbub.toml{LATER}")  # fmt: skip
    assert "--" not in hint.partition(HINT)[2]


async def test_the_local_only_hint_names_flags_for_what_the_command_line_set(serve, tmp_path) -> None:
    (tmp_path / "hubbub.toml").write_text('[listen]\nweb = "127.0.0.1:0"\n', encoding="utf-8")
    served = await serve("--config", "hubbub.toml", base=("--listen", "127.0.0.1:0", "--db", ":memory:"))
    web = (await served.logged(r"listening web \S+:(\d+)$"))[0].group(1)
    hint = (await served.logged(HINT))[0].string
    assert hint.endswith(f'{HINT}use --listen 0.0.0.0:{served.port} and set listen.web = "0.0.0.0:{web}" '
                         f"in hubbub.toml{LATER}")  # fmt: skip
    without_file = await serve()  # flags alone, as before
    hint = (await without_file.logged(HINT))[0].string
    assert hint.endswith(f"{HINT}use --listen 0.0.0.0:{without_file.port}{LATER}")


def test_a_listener_set_with_set_counts_as_the_command_lines() -> None:
    from hubbub.cli import _build_parser, _listeners_from_command_line

    args = _build_parser().parse_args(["serve", "--config", "x.toml", "--set", "listen.tls=['127.0.0.1:0']",
                                       "--set", "server.name=a.b", "--no-web"])  # fmt: skip
    assert _listeners_from_command_line(args) == {"tls", "web"}
    assert _listeners_from_command_line(_build_parser().parse_args(["serve", "--listen", ":6667"])) == {"irc"}


async def test_name_flag_shows_in_the_welcome(serve) -> None:
    served = await serve("--name", "chat.example.org")
    client = await served.client()
    first = await client.read_line()
    assert first is not None and first.startswith(":chat.example.org NOTICE * :*** Welcome")
    client.send("NICK alice")
    client.send("USER a 0 * :Alice")
    welcome = await client.expect("001")
    assert welcome.source == "chat.example.org"
    await client.close()


async def test_set_overrides_a_limit(serve) -> None:
    served = await serve("--set", "limits.nicklen=5")
    client = await served.client()
    client.send("NICK abcdef")
    await client.expect("432")
    client.send("NICK abcde")
    client.send("USER a 0 * :A")
    replies = await client.collect_until("376")
    assert any(m.command == "005" and "NICKLEN=5" in m.params for m in replies)
    await client.close()


async def test_config_file_is_read_and_flags_override_it(serve, tmp_path: Path) -> None:
    path = tmp_path / "hubbub.toml"
    path.write_text(
        '[server]\nname = "from.file"\nmotd = "motd from the file"\n\n[limits]\nnicklen = 7\n',
        encoding="utf-8",
    )
    served = await serve("--config", str(path), "--name", "from.flag", "--set", "limits.nicklen=5")
    client = await served.client()
    client.send("NICK abcdef")  # 6: allowed by the file, not by --set
    await client.expect("432")
    client.send("NICK abcde")
    client.send("USER a 0 * :A")
    welcome = await client.expect("001")
    assert welcome.source == "from.flag"  # --name beats the file
    motd = await client.expect("372")
    assert motd.params[-1] == "- motd from the file"  # the rest of the file still applies
    await client.close()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_signal_tells_clients_and_exits_cleanly(serve, signum: int) -> None:
    served = await serve()
    irc = await served.client()
    await irc.register("alice")
    await irc.join("#lobby")
    plain = await served.client()
    await plain.expect_text("Type a nickname")
    plain.send("bob")
    await plain.expect_text(r"^\* You joined #lobby$")
    await irc.expect("JOIN", "#lobby")
    served.proc.send_signal(signum)
    lines = await irc.closed(timeout=EXIT)
    assert any(line.startswith("ERROR :") and "shutting down" in line for line in lines), lines
    plain_lines = await plain.closed(timeout=EXIT)
    assert any(line.startswith("*** Disconnected: ") for line in plain_lines), plain_lines
    assert await served.wait() == 0, served.log
    assert not any("Traceback" in line for line in served.log), served.log


async def test_web_flag_serves_the_client_and_websockets_and_stops_them_cleanly(tmp_path: Path) -> None:
    import aiohttp

    proc = await asyncio.create_subprocess_exec(
        *MODULE, "serve", "--listen", "127.0.0.1:0", "--web", "127.0.0.1:0", "--db", ":memory:",
        cwd=tmp_path, env=_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stderr is not None
    log: list[str] = []
    web = None
    try:
        while web is None:
            raw = await asyncio.wait_for(proc.stderr.readline(), STARTUP)
            assert raw, f"hubbub exited before listening: {log}"
            log.append(raw.decode(errors="replace").rstrip("\n"))
            found = re.search(r"listening web (\S+):(\d+)$", log[-1])
            if found:
                web = f"http://{found.group(1)}:{found.group(2)}"
        async with aiohttp.ClientSession() as http:
            async with http.get(web + "/") as page:
                assert page.status == 200 and "<title>" in await page.text()
            async with http.get(web + "/healthz") as health:
                assert health.status == 200
            async with http.ws_connect(web + "/webirc", protocols=["text.ircv3.net"]) as ws:
                await ws.send_str("NICK alice")
                await ws.send_str("USER a 0 * :Alice")
                while "001" not in (await ws.receive_str(timeout=EXIT)).split(" ")[:2]:
                    pass
                proc.send_signal(signal.SIGTERM)
                last = ""
                async for message in ws:
                    last = message.data
                assert last == "ERROR :Closing Link: 127.0.0.1 (Server shutting down)"
        assert await asyncio.wait_for(proc.wait(), EXIT) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


# -- descriptors and TLS handshakes, on each event loop -------------------------------------


async def test_max_clients_is_kept_within_the_descriptor_limit_and_the_log_says_so(serve) -> None:
    served = await serve("--loop", "asyncio", "--set", "limits.max_clients_per_ip=0", nofile=64)  # max_clients: 10000
    (note,) = await served.logged(r"accepting at most (\d+)")
    room = int(note.group(1))
    assert 0 < room < 64
    clients = [await served.client() for _ in range(room)]
    for client in clients:
        assert "Welcome to hubbub" in (await client.read_line() or "")
    extra = await served.client()
    assert await extra.closed() == ["ERROR :Closing Link: 127.0.0.1 (Server is full)"]  # in words
    await served.logged(r"refused a connection from 127\.0\.0\.1: Server is full")
    await clients.pop().close()
    await served.logged(r"disconnected \[127\.0\.0\.1\] before registering")
    again = await served.client()  # the freed slot can be used: no descriptor leaked
    assert "Welcome to hubbub" in (await again.read_line() or "")
    for client in [*clients, again]:
        await client.close()


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
async def test_tls_handshakes_count_against_the_limits_and_are_bounded_in_time(serve, tmp_path, loop) -> None:
    if loop == "uvloop":
        pytest.importorskip("uvloop")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    served = await serve(
        "--loop", loop, "--tls-listen", "127.0.0.1:0", "--set", "tls.self_signed=true",
        "--set", f"tls.cert={cert}", "--set", f"tls.key={key}",
        "--set", "limits.max_clients_per_ip=2", "--set", "limits.tls_handshake_timeout=1",
    )  # fmt: skip
    (tls,) = await served.logged(r"listening tls (\S+):(\d+)$")
    address = (tls.group(1), int(tls.group(2)))
    silent = []
    for _ in range(2):  # connections that never send their ClientHello
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, address)
        silent.append(sock)
    await served.logged(r"connection from 127\.0\.0\.1 \(TLS\)", count=2)
    plain = await served.client()
    assert await plain.closed() == ["ERROR :Closing Link: 127.0.0.1 (Too many connections from your IP address)"]
    for sock in silent:  # dropped by the server after its second, having sent nothing
        try:
            data = await asyncio.wait_for(asyncio.get_running_loop().sock_recv(sock, 1024), EXIT)
        except ConnectionResetError:
            data = b""
        assert data == b""
        sock.close()
    await served.logged(r"TLS handshake with 127\.0\.0\.1 failed: timed out", count=2)  # and no longer counted
    context = ssl.create_default_context(cafile=str(cert))
    reader, writer = await asyncio.open_connection(*address, ssl=context)
    secure = LineClient(reader, writer)
    await secure.register("secure")
    secure.send("QUIT")
    await secure.closed()


def test_the_local_only_hint_keeps_an_ipv6_listener_ipv6() -> None:
    """A listener on ::1 is told to listen on [::] (every IPv6 address), not 0.0.0.0,
    which would be IPv4 alone."""
    from hubbub.cli import local_only_hint

    hint = local_only_hint([("irc", "::1", 6667), ("irc", "127.0.0.1", 6667), ("web", "::1", 8080)])
    assert hint == f"{HINT}use --listen [::]:6667 --listen 0.0.0.0:6667 --web [::]:8080{LATER}"
