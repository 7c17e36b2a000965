"""A server's life seen by the person running it (used to ergo or InspIRCd): stopping it
with traffic flowing and clients of every kind connected, stopping it while it starts,
reloading it with a burst of SIGHUPs, a log nobody reads any more, what the log says
about misbehaving clients, and start-up refusals.

Real `python -m hubbub serve` processes in temporary directories, on 127.0.0.1 port 0,
talked to over real sockets. What tests/e2e_limits (test_cli.py, test_more_cli.py,
test_operator_life.py), tests/e2e_opers/test_rehash_die.py, tests/store and
tests/e2e_history already check of the command line is not repeated here.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sqlite3
import ssl
import struct
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest

from hubbub.irc.message import parse
from tests.e2e_limits.test_cli import EXIT, MODULE, STARTUP, Served, _env, run
from tests.helpers import LineClient, sync

LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) \S")
SHUTDOWN_ERROR = re.compile(r"^ERROR :Closing Link: \S+ \(Server shutting down\)$")


@pytest.fixture
async def serve(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Served]]]:
    """`python -m hubbub serve *args` in the test's directory, once it logged `ready as`.
    The addresses it logged are in `served.addresses` (kind -> (host, port))."""
    started: list[Served] = []

    async def start(*args: str) -> Served:
        proc = await asyncio.create_subprocess_exec(
            *MODULE, "serve", *args,
            cwd=tmp_path, env=_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        assert proc.stderr is not None
        log: list[str] = []
        addresses: dict[str, tuple[str, int]] = {}
        while True:
            try:
                raw = await asyncio.wait_for(proc.stderr.readline(), STARTUP)
            except TimeoutError:
                proc.kill()
                await proc.wait()
                raise AssertionError(f"not ready within {STARTUP}s: {log}") from None
            if not raw:
                await proc.wait()
                raise AssertionError(f"hubbub exited with {proc.returncode} before it was ready: {log}")
            line = raw.decode(errors="replace").rstrip("\n")
            log.append(line)
            if found := re.search(r"listening (\w+) (\S+):(\d+)$", line):
                addresses.setdefault(found.group(1), (found.group(2), int(found.group(3))))
            if " ready as " in line:
                host, port = addresses["irc"]
                served = Served(proc, host, port, log)
                served.addresses = addresses  # type: ignore[attr-defined]
                started.append(served)
                return served

    yield start
    for served in started:
        await served.kill()


def no_traceback(log: list[str]) -> None:
    text = "\n".join(log)
    assert "Traceback" not in text, text


# -- stopping: SIGINT with traffic flowing, a WebSocket and SQLite history ----------------------


async def test_sigint_mid_traffic_loses_nothing_received_and_a_restart_on_the_same_ports_has_it_all(
    serve, tmp_path: Path
) -> None:
    """Ctrl+C while people talk: every client (IRC and WebSocket) is told, the process
    exits 0, and after a restart on the same ports and the same --db, every message any
    client received before its ERROR is in the channel's history."""
    # a sendq the readers cannot outgrow: they read in the senders' own process, and the
    # senders (20 lines a millisecond) can outrun them on a busy machine
    args = ("--db", "hubbub.db", "--set", "limits.flood_control=false", "--set", "history.chathistory_max=100000",
            "--set", "limits.sendq=67108864")  # fmt: skip
    served = await serve("--listen", "127.0.0.1:0", "--web", "127.0.0.1:0", *args)
    irc_host, irc_port = served.addresses["irc"]
    web_host, web_port = served.addresses["web"]
    watcher = await served.capped("watcher", "message-tags")
    watcher.send("JOIN #c")
    await watcher.expect("366")
    senders = [await served.capped(f"s{i}", "message-tags") for i in range(2)]
    for sender in senders:
        sender.send("JOIN #c")
        await sender.expect("366")

    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(f"http://{web_host}:{web_port}/webirc", protocols=["text.ircv3.net"])
        for line in ("CAP REQ :message-tags", "NICK webby", "USER w 0 * :W", "CAP END", "JOIN #c"):
            await ws.send_str(line)
        while parse(await ws.receive_str(timeout=EXIT)).command != "366":
            pass
        web_seen: set[str] = set()
        web_last: list[str] = []

        async def web_reader() -> None:
            async for frame in ws:
                if frame.type != aiohttp.WSMsgType.TEXT:
                    break
                message = parse(frame.data)
                if message.command == "PRIVMSG":
                    web_seen.add(message.tags["msgid"])
                web_last.append(frame.data)

        async def chatter(sender: LineClient) -> None:
            try:
                for i in range(100_000):
                    sender.send(f"PRIVMSG #c :{sender.nick} says {i}")
                    if i % 20 == 0:
                        await sender.writer.drain()  # raises once the server closed it
                        await asyncio.sleep(0.001)  # pacing, as a busy channel is
            except (ConnectionError, OSError):
                return

        reading = asyncio.ensure_future(web_reader())
        talking = [asyncio.ensure_future(chatter(sender)) for sender in senders]
        seen: set[str] = set()
        while len(seen) < 300:
            seen.add((await watcher.expect("PRIVMSG")).tags["msgid"])
        served.proc.send_signal(signal.SIGINT)
        while (message := await watcher.read_message(timeout=EXIT)) is not None:
            if message.command == "PRIVMSG":
                seen.add(message.tags["msgid"])
        assert SHUTDOWN_ERROR.match(watcher.raw[-1]), watcher.raw[-3:]
        await asyncio.wait_for(reading, EXIT)
        assert web_last and SHUTDOWN_ERROR.match(web_last[-1]), web_last[-3:]
        await asyncio.gather(*talking)
    assert await served.wait() == 0, served.log[-5:]
    no_traceback(served.log)

    again = await serve("--listen", f"{irc_host}:{irc_port}", "--web", f"{web_host}:{web_port}", *args)
    assert again.addresses == {"irc": (irc_host, irc_port), "web": (web_host, web_port)}
    reader = await again.capped("reader", "draft/chathistory batch message-tags")
    reader.send("JOIN #c")
    await reader.expect("366")
    reader.send("CHATHISTORY LATEST #c * 100000")
    await reader.expect("BATCH")
    stored: set[str] = set()
    while (message := await reader.read_message()) is not None and message.command != "BATCH":
        if message.command == "PRIVMSG":
            stored.add(message.tags["msgid"])
    assert len(web_seen) >= 300
    assert not seen - stored, f"{len(seen - stored)} of {len(seen)} messages the IRC client got are not kept"
    assert not web_seen - stored, f"{len(web_seen - stored)} of {len(web_seen)} the WebSocket got are not kept"


# -- stopping: many clients, and clients that do not read --------------------------------------


def _ws_frame(text: str) -> bytes:
    """One masked WebSocket text frame (as a client must send), short payloads only."""
    data = text.encode()
    mask = b"hbub"
    return bytes([0x81, 0x80 | len(data)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))


async def test_sigterm_tells_hundreds_of_members_and_is_not_held_up_by_clients_that_do_not_read(
    serve, tmp_path: Path
) -> None:
    """A stuck IRC client and a stuck WebSocket, each with a long backlog of output, must
    not keep the process alive; the 200 members of a busy channel each get their ERROR
    (and nothing after it), and the log has no error."""
    served = await serve(
        "--listen", "127.0.0.1:0", "--web", "127.0.0.1:0", "--db", ":memory:",
        "--set", "limits.max_clients_per_ip=0", "--set", "limits.flood_control=false",
        "--set", "limits.sendq=100000000", "--set", "limits.send_buffer=4096",
    )  # fmt: skip
    host, port = served.addresses["irc"]
    web_host, web_port = served.addresses["web"]

    stuck = socket.socket()
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck_ws = socket.socket()
    stuck_ws.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        stuck.connect((host, port))
        stuck.sendall(b"NICK stuck\r\nUSER s 0 * :S\r\nJOIN #stuck\r\n")
        stuck_ws.connect((web_host, web_port))
        stuck_ws.sendall(
            b"GET /webirc HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            b"Sec-WebSocket-Protocol: text.ircv3.net\r\n\r\n"
            + _ws_frame("NICK stuckws") + _ws_frame("USER s 0 * :S") + _ws_frame("JOIN #stuck")
        )  # fmt: skip
        talker = await served.client()
        await talker.register("talker")
        await talker.join("#stuck")
        talker.send("NAMES #stuck")
        while True:  # both stuck clients are in, before the flood they will not read
            names = await talker.expect("353")
            if {"stuck", "stuckws"} <= set(names.params[-1].replace("@", "").split()):
                break
            talker.send("NAMES #stuck")
        for i in range(3000):
            talker.send(f"PRIVMSG #stuck :{i} " + "x" * 400)
        await sync(talker)  # all of it handled: 1.2 MB waits for each stuck client

        async def member(i: int) -> LineClient:
            client = await served.client()
            client.send(f"NICK m{i}")
            client.send("USER m 0 * :M")
            client.send("JOIN #big")
            await client.expect("366", timeout=STARTUP)
            return client

        members: list[LineClient] = []
        for first in range(0, 200, 50):
            members += await asyncio.gather(*(member(i) for i in range(first, first + 50)))
        served.proc.send_signal(signal.SIGTERM)
        endings = await asyncio.gather(*(client.closed(timeout=EXIT) for client in [talker, *members]))
        told = [lines for lines in endings if lines and SHUTDOWN_ERROR.match(lines[-1])]
        assert len(told) == len(endings), [lines[-2:] for lines in endings if lines not in told][:5]
        assert await served.wait() == 0, served.log[-5:]
    finally:
        stuck.close()
        stuck_ws.close()
    no_traceback(served.log)
    assert not [line for line in served.log if " ERROR " in line or " CRITICAL " in line], served.log


# -- stopping while starting ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "signum",
    [
        pytest.param(signal.SIGINT, id="SIGINT"),
        pytest.param(signal.SIGTERM, id="SIGTERM"),
    ],
)  # fmt: skip
async def test_a_stop_asked_for_while_the_store_opens_ends_cleanly(tmp_path: Path, signum: int) -> None:
    """`systemctl stop` or Ctrl+C while the server starts (here: waiting for another program's
    write lock on the database, which it does for up to two seconds): the process ends by
    itself (exit 0, or 1 with its one `hubbub:` line), never with a traceback."""
    db = tmp_path / "hubbub.db"
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    proc = await asyncio.create_subprocess_exec(
        *MODULE, "serve", "--listen", "127.0.0.1:0", "--no-web", "--db", str(db),
        cwd=tmp_path, env=_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stderr is not None
    try:
        log: list[str] = []
        while not any("descriptor limit" in line for line in log):  # logged just before the store opens
            raw = await asyncio.wait_for(proc.stderr.readline(), STARTUP)
            assert raw, f"exited with {await proc.wait()} before opening the store: {log}"
            log.append(raw.decode(errors="replace").rstrip("\n"))
        proc.send_signal(signum)
        rest = await asyncio.wait_for(proc.stderr.read(), EXIT)
        code = await asyncio.wait_for(proc.wait(), EXIT)
    finally:
        holder.close()
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    log += rest.decode(errors="replace").splitlines()
    no_traceback(log)
    assert code >= 0, f"killed by signal {-code}"
    assert code in (0, 1), (code, log)
    said = [line for line in log if not LOG_LINE.match(line)]
    assert len(said) <= 1 and all(line.startswith("hubbub: ") for line in said), said


# -- reloading ------------------------------------------------------------------------------------


async def test_a_burst_of_sighups_while_the_file_changes_ends_with_the_last_file_in_force(
    serve, tmp_path: Path
) -> None:
    """A deployment tool rewriting the file and signalling each time: no reload is refused,
    nobody is dropped, and the configuration in force in the end is the last file."""
    path = tmp_path / "hubbub.toml"
    path.write_text('[server]\nmotd = "v0"\n', encoding="utf-8")
    served = await serve("--config", str(path), "--listen", "127.0.0.1:0", "--no-web", "--db", ":memory:")
    staying = await served.client()
    await staying.register("staying")
    for version in range(1, 31):
        draft = tmp_path / "hubbub.toml.new"
        draft.write_text(f'[server]\nmotd = "v{version}"\n', encoding="utf-8")
        os.replace(draft, path)  # as editors and deployment tools do: never half a file
        served.proc.send_signal(signal.SIGHUP)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STARTUP
    motd = ""
    while motd != "- v30" and loop.time() < deadline:  # each new client reads the MOTD in force
        client = await served.client()
        client.send("NICK late")
        client.send("USER l 0 * :L")
        motd = (await client.expect("372")).params[-1]
        client.send("QUIT")
        await client.closed()
    assert motd == "- v30", served.log[-5:]
    await sync(staying)
    assert not [line for line in served.log if "not reloaded" in line or " ERROR " in line], served.log
    served.proc.send_signal(signal.SIGTERM)
    assert SHUTDOWN_ERROR.match((await staying.closed(timeout=EXIT))[-1])
    assert await served.wait() == 0
    no_traceback(served.log)


# -- the log --------------------------------------------------------------------------------------


async def test_a_log_reader_that_goes_away_does_not_take_the_server_down(tmp_path: Path) -> None:
    """The log goes to stderr; the program reading it (a pipe to a collector, `| tee`) may
    die. Every later log line then fails to be written: the server serves on, and stops
    cleanly."""
    proc = subprocess.Popen(
        [*MODULE, "serve", "--listen", "127.0.0.1:0", "--no-web", "--db", ":memory:", "--log-level", "debug"],
        cwd=tmp_path, env=_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stderr is not None
    try:
        log: list[str] = []

        def until_ready() -> None:
            assert proc.stderr is not None
            while " ready as " not in (log[-1] if log else ""):
                raw = proc.stderr.readline()
                assert raw, f"exited before it was ready: {log}"
                log.append(raw.decode(errors="replace").rstrip("\n"))

        await asyncio.wait_for(asyncio.to_thread(until_ready), STARTUP)
        found = next(m for line in log if (m := re.search(r"listening irc (\S+):(\d+)$", line)))
        proc.stderr.close()  # the reader is gone: the pipe is broken from now on
        for number in range(5):  # each logs a connection, a registration, a departure
            client = await LineClient.connect_to(found.group(1), int(found.group(2)))
            await client.register(f"gone{number}")
            await client.join("#logs")
            client.send("QUIT")
            await client.closed()
        last = await LineClient.connect_to(found.group(1), int(found.group(2)))
        await last.register("last")
        await last.join("#logs")
        await sync(last)
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        assert SHUTDOWN_ERROR.match((await last.closed(timeout=EXIT))[-1])
        assert await asyncio.to_thread(proc.wait, EXIT) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


async def test_misbehaving_irc_and_tls_clients_leave_one_plain_line_each_in_the_log(serve, tmp_path: Path) -> None:
    """Binary garbage, invalid UTF-8, NUL bytes, an HTTP request and a TLS handshake on the
    plain port, plain text on the TLS port, a reset mid-session and mid-line: no traceback,
    no error, every log line one timestamped line; and the server goes on serving."""
    served = await serve("--listen", "127.0.0.1:0", "--no-web", "--db", ":memory:",
                         "--tls-listen", "127.0.0.1:0", "--set", "tls.self_signed=true")  # fmt: skip
    host, port = served.addresses["irc"]
    tls_host, tls_port = served.addresses["tls"]
    ready_at = len(served.log)

    async def misbehave(address: tuple[str, int], data: bytes, reset: bool = False) -> None:
        reader, writer = await asyncio.open_connection(*address)
        writer.write(data)
        await writer.drain()
        try:  # whatever it answers first, if anything
            await asyncio.wait_for(reader.read(4096), 1.0)
        except (TimeoutError, ConnectionError):
            pass
        if reset:
            writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.close()

    plain = (host, port)
    await misbehave(plain, os.urandom(3000))
    await misbehave(plain, b"\xff\xfe\x00\x00NICK \xff\xff\r\nUSER a 0 * :\xc3\x28\r\n")
    await misbehave(plain, b"\x00" * 600 + b"\r\n")
    await misbehave(plain, b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    await misbehave(plain, b"NICK reset1\r\nUSER r 0 * :R\r\nJOIN #x\r\nPRIVMSG #x :hi\r\n", reset=True)
    await misbehave(plain, b"NICK reset2\r\nUSER r 0 * :R\r\n" + b"A" * 100_000, reset=True)
    await misbehave((tls_host, tls_port), b"NICK not-tls\r\nUSER n 0 * :N\r\n")
    await misbehave((tls_host, tls_port), b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", reset=True)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with pytest.raises((ssl.SSLError, ConnectionError)):  # a TLS client on the plain port
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port, ssl=context), EXIT)
        writer.close()

    fine = await served.client()
    await fine.register("fine")
    await fine.join("#x")
    fine.send("PRIVMSG #x :still here")
    await sync(fine)
    fine.send("QUIT")
    await fine.closed()
    await served.logged(r"INFO disconnected fine!")
    served.proc.send_signal(signal.SIGTERM)
    assert await served.wait() == 0
    no_traceback(served.log)
    bad = [line for line in served.log if not LOG_LINE.match(line)]
    assert bad == [], bad
    worse = [line for line in served.log[ready_at:] if re.search(r" (WARNING|ERROR|CRITICAL) ", line)]
    assert worse == [], worse


async def test_malformed_http_requests_leave_one_line_each_in_the_log(serve, tmp_path: Path) -> None:
    """docs/operators.md: "one line per event"; an operator's log parser (and grep) must not
    meet a line without a timestamp because someone sent a bad request to the web port."""
    served = await serve("--listen", "127.0.0.1:0", "--web", "127.0.0.1:0", "--db", ":memory:")
    web = served.addresses["web"]
    requests = [
        b"GET / HTTP/1.1\r\nHost: localhost\r\nbad header line\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: localhost\r\nContent-Length: abc\r\n\r\n",
        b"GET /\x00\x01 HTTP/1.1\r\nHost: localhost\r\n\r\n",
        b"\x01\x02\x03 / HTTP/1.1\r\n\r\n",
    ]
    for request in requests:
        reader, writer = await asyncio.open_connection(*web)
        writer.write(request)
        answer = await asyncio.wait_for(reader.read(64), EXIT)
        assert answer.startswith(b"HTTP/1.") and b" 400 " in answer, answer
        writer.close()
    await served.logged(r"HTTP request from .* refused \(400\)", count=len(requests))
    served.proc.send_signal(signal.SIGTERM)
    assert await served.wait() == 0
    bad = [line for line in served.log if not LOG_LINE.match(line)]
    assert bad == [], bad


# -- start-up refusals ----------------------------------------------------------------------------


async def test_a_sendq_too_large_for_the_machine_is_refused_at_start_or_served(tmp_path: Path) -> None:
    """Nines typed for "no limit": either a one-line refusal (exit 2), as every other bad value
    gets, or a server that works. Not a server that accepts nobody."""
    proc = await asyncio.create_subprocess_exec(
        *MODULE, "serve", "--listen", "127.0.0.1:0", "--no-web", "--db", ":memory:",
        "--set", "limits.sendq=99999999999999999999",
        cwd=tmp_path, env=_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stderr is not None
    log: list[str] = []
    address = None
    try:
        while not any(" ready as " in line for line in log):
            raw = await asyncio.wait_for(proc.stderr.readline(), STARTUP)
            if not raw:
                break
            log.append(raw.decode(errors="replace").rstrip("\n"))
            if found := re.search(r"listening irc (\S+):(\d+)$", log[-1]):
                address = (found.group(1), int(found.group(2)))
        if address is None:  # refused: one clear line, status 2
            assert await asyncio.wait_for(proc.wait(), EXIT) == 2, log
            said = [line for line in log if not LOG_LINE.match(line)]
            assert len(said) == 1 and said[0].startswith("hubbub: ") and "sendq" in said[0], log
            no_traceback(log)
            return
        client = await LineClient.connect_to(*address)
        try:
            await client.register("nines")
            await client.join("#c")
            served = "yes"
        except (AssertionError, ConnectionError) as exc:
            served = f"no: {exc!r}"
        await client.close()
        proc.send_signal(signal.SIGTERM)
        log += (await asyncio.wait_for(proc.stderr.read(), EXIT)).decode(errors="replace").splitlines()
        assert await asyncio.wait_for(proc.wait(), EXIT) == 0
        no_traceback(log)
        assert served == "yes", served
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


@pytest.mark.parametrize("flag", ["--listen", "--web", "--tls-listen"])
def test_a_busy_port_is_refused_with_a_line_naming_it(tmp_path: Path, flag: str) -> None:
    """With three listeners, "Address already in use" alone leaves the operator guessing which
    one: the line must name the address (as ergo's `listen tcp 127.0.0.1:8080: bind: ...`)."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = f"127.0.0.1:{busy.getsockname()[1]}"
        listeners = {"--listen": "127.0.0.1:0", "--web": "127.0.0.1:0", "--tls-listen": "127.0.0.1:0", flag: taken}
        result = run("serve", *(part for pair in listeners.items() for part in pair), "--db", ":memory:",
                     "--set", "tls.self_signed=true", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    said = [line for line in result.stderr.splitlines() if not LOG_LINE.match(line)]
    assert len(said) == 1 and said[0].startswith("hubbub: ") and "already in use" in said[0], said
    assert taken in said[0], said[0]
