"""Where the store is when none is named, what `:memory:` keeps, a database another program
holds, and retention (`[history] max_per_target`, `max_age_days`) reaching the pruner of a
server on a real SQLite file."""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import sqlite3
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from hubbub.app import Runtime
from hubbub.runtime import persistence
from hubbub.store import open_store
from tests.e2e_history.test_chathistory import history
from tests.e2e_limits.test_cli import MODULE, STARTUP, Served, _env, run
from tests.helpers import LineClient, start_server, sync

HISTORY_CAPS = "draft/chathistory batch server-time message-tags"
NICKSERV = "NickServ!NickServ@services"


# -- `hubbub serve` processes, started with exactly the flags given ----------------------------


@pytest.fixture
async def launch() -> AsyncIterator[Callable[..., Awaitable[Served]]]:
    """`await launch(cwd, *flags)`: `hubbub serve --listen 127.0.0.1:0 --no-web *flags` run in
    `cwd` (no --db unless a flag gives one), once it logs its IRC address; killed at the end."""
    started: list[Served] = []

    async def start(cwd: Path, *args: str) -> Served:
        proc = await asyncio.create_subprocess_exec(
            *MODULE, "serve", "--listen", "127.0.0.1:0", "--no-web", *args,
            cwd=cwd, env=_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        assert proc.stderr is not None
        log: list[str] = []
        while True:
            try:
                raw = await asyncio.wait_for(proc.stderr.readline(), STARTUP)
            except TimeoutError:
                proc.kill()
                await proc.wait()
                raise AssertionError(f"no 'listening irc' line within {STARTUP}s: {log}") from None
            if not raw:
                await proc.wait()
                raise AssertionError(f"hubbub exited with {proc.returncode} before listening: {log}")
            log.append(raw.decode(errors="replace").rstrip("\n"))
            found = re.search(r"listening irc (\S+):(\d+)$", log[-1])
            if found:
                served = Served(proc, found.group(1), int(found.group(2)), log)
                started.append(served)
                return served

    yield start
    for served in started:
        await served.kill()


async def stop(served: Served) -> None:
    """SIGTERM, and the clean exit it must lead to."""
    served.proc.send_signal(signal.SIGTERM)
    assert await served.wait() == 0, served.log[-10:]


async def client_of(served: Served, nick: str, *channels: str, caps: str = "") -> LineClient:
    client = await LineClient.connect_to(served.host, served.port)
    if caps:
        client.send(f"CAP REQ :{caps}")
        ack = await client.expect("CAP")
        assert ack.params[1] == "ACK", ack
    client.send(f"NICK {nick}")
    client.send("USER u 0 * :U")
    client.send("CAP END")
    await client.expect("001")
    await client.expect(lambda m: m.command in ("376", "422"))
    client.nick = nick
    for channel in channels:
        await client.join(channel)
    return client


async def nickserv(client: LineClient, line: str) -> str:
    """Say `line` to NickServ; its first answer."""
    client.send(f"PRIVMSG NickServ :{line}")
    return (await client.expect(lambda m: m.command == "NOTICE" and m.source == NICKSERV)).params[-1]


def said(found: list) -> list[str]:
    return [m.params[-1] for m in found if m.command == "PRIVMSG"]


# -- 1. where the store is -----------------------------------------------------------------------


async def test_without_db_the_store_is_hubbub_db_in_the_working_directory_and_survives_a_restart(
    launch, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    served = await launch(work)
    alice = await client_of(served, "alice", "#c")
    assert await nickserv(alice, "REGISTER correct-horse") == "Account created"
    alice.send("PRIVMSG #c :kept in the default file")
    await sync(alice)  # the commit comes before the output: stored once the PONG is back
    await alice.close()
    assert (work / "hubbub.db").is_file()
    await stop(served)

    again = await launch(work)
    bob = await client_of(again, "bob", "#c", caps=HISTORY_CAPS)
    assert said(await history(bob, "CHATHISTORY LATEST #c * 10")) == ["kept in the default file"]
    assert await nickserv(bob, "INFO alice") == "Account: alice"
    await bob.close()


async def test_memory_creates_no_file_and_keeps_nothing_across_a_restart(launch, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    served = await launch(work, "--db", ":memory:")
    alice = await client_of(served, "alice", "#c")
    assert await nickserv(alice, "REGISTER correct-horse") == "Account created"
    alice.send("PRIVMSG #c :said to memory")
    await sync(alice)
    assert await nickserv(alice, "INFO alice") == "Account: alice"
    await alice.close()
    await stop(served)
    assert sorted(p.name for p in work.iterdir()) == []

    again = await launch(work, "--db", ":memory:")
    bob = await client_of(again, "bob", "#c", caps=HISTORY_CAPS)
    assert await nickserv(bob, "INFO alice") == "Account does not exist"
    assert said(await history(bob, "CHATHISTORY LATEST #c * 10")) == []
    await bob.close()
    await stop(again)
    assert sorted(p.name for p in work.iterdir()) == []


async def test_a_killed_server_forgets_its_closed_channels_history_at_the_next_start(launch, tmp_path: Path) -> None:
    # A clean stop forgets what closed (secret, invite-only, keyed) unregistered channels
    # said, as when they empty; a SIGKILL leaves no time, so the next start must.
    work = tmp_path / "work"
    work.mkdir()
    served = await launch(work, "--db", "h.db")
    alice = await client_of(served, "alice", "#secret", "#open", "#wasclosed", "#reg")
    alice.send("MODE #secret +s")
    alice.send("MODE #wasclosed +i")
    alice.send("MODE #wasclosed -i")
    alice.send("MODE #reg +R")  # registered-only: its history is not for anyone either
    for channel in ("#secret", "#open", "#wasclosed", "#reg"):
        alice.send(f"PRIVMSG {channel} :said in {channel}")
    await sync(alice)  # stored before the PONG: the barrier
    await served.kill()
    again = await launch(work, "--db", "h.db")
    assert any("forgot the history of 2 closed channels" in line for line in again.log), again.log
    mallory = await client_of(again, "mallory", "#secret", "#open", "#wasclosed", "#reg", caps=HISTORY_CAPS)
    assert said(await history(mallory, "CHATHISTORY LATEST #secret * 10")) == []
    assert said(await history(mallory, "CHATHISTORY LATEST #reg * 10")) == []
    assert said(await history(mallory, "CHATHISTORY LATEST #open * 10")) == ["said in #open"]
    assert said(await history(mallory, "CHATHISTORY LATEST #wasclosed * 10")) == ["said in #wasclosed"]
    await mallory.close()


async def test_channels_a_killed_server_left_with_nothing_said_leave_nothing_at_the_next_start(
    launch, tmp_path: Path
) -> None:
    # When a channel ends with nothing said in it, its joins, parts, topic... go. A SIGKILL
    # ends every unregistered channel without a word to the store: the next start must.
    work = tmp_path / "work"
    work.mkdir()
    served = await launch(work, "--db", "h.db")
    alice = await client_of(served, "alice", "#quiet", "#talk", "#old")
    alice.send("TOPIC #quiet :nothing to say")
    alice.send("PRIVMSG #talk :something said")
    alice.send("RENAME #old #renamed")
    alice.send("TOPIC #renamed :nothing here either")
    await sync(alice)  # stored before the PONG: the barrier
    await served.kill()
    with sqlite3.connect(work / "h.db") as conn:  # what the kill left
        for channel in ("#quiet", "#renamed"):
            assert conn.execute("SELECT COUNT(*) FROM messages WHERE target = ?", (channel,)).fetchone() != (0,)
    conn.close()
    again = await launch(work, "--db", "h.db")
    assert any("ended the 3 channels the last run left" in line for line in again.log), again.log
    mallory = await client_of(again, "mallory", caps=f"{HISTORY_CAPS} draft/event-playback")
    for channel in ("#quiet", "#renamed", "#old"):
        await mallory.join(channel)
        found = await history(mallory, f"CHATHISTORY LATEST {channel} * 10")
        assert [(m.command, m.source.partition("!")[0]) for m in found] == [("JOIN", "mallory")], channel
    await mallory.join("#talk")
    talk = await history(mallory, "CHATHISTORY LATEST #talk * 10")
    assert [(m.command, m.source.partition("!")[0]) for m in talk] == [
        ("JOIN", "alice"), ("PRIVMSG", "alice"), ("JOIN", "mallory"),
    ]  # fmt: skip
    await mallory.close()
    await stop(again)
    with sqlite3.connect(work / "h.db") as conn:  # a clean stop ended #quiet again, and #talk
        assert conn.execute("SELECT COUNT(*) FROM messages WHERE target = '#quiet'").fetchone() == (0,)
        assert conn.execute("SELECT key FROM live_channels").fetchall() == []
    conn.close()


# -- 2. a database another program holds -----------------------------------------------------------


def refusal_while_held(db: Path, cwd: Path, holder: sqlite3.Connection | None = None) -> str:
    """`hubbub serve --db DB` while another program holds SQLite's write lock on it (on
    `holder`, or a connection of its own): the one line it must exit with."""
    held = holder if holder is not None else sqlite3.connect(db, isolation_level=None)
    try:
        held.execute("BEGIN EXCLUSIVE")
        # `run` has a timeout (STARTUP): a server that waited forever, or started, fails here
        result = run("serve", "--listen", "127.0.0.1:0", "--no-web", "--db", str(db), cwd=cwd)
    finally:
        if holder is None:  # the caller's stays held, for it to look at
            held.close()
    assert result.returncode == 1, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("hubbub:")]
    assert len(lines) == 1 and "locked by another program" in lines[0], result.stderr
    assert "Traceback" not in result.stderr and "listening irc" not in result.stderr
    return lines[0]


def test_a_database_another_program_holds_exclusively_stops_the_server_with_one_line(tmp_path: Path) -> None:
    db = tmp_path / "other.db"
    holder = sqlite3.connect(db, isolation_level=None)
    try:
        holder.execute("CREATE TABLE theirs (x INTEGER)")
        line = refusal_while_held(db, tmp_path, holder)
        # still held: the server gave up on it, it did not get it
        assert holder.execute("SELECT COUNT(*) FROM theirs").fetchone() == (0,)
    finally:
        holder.close()
    assert str(db) in line


def test_an_empty_file_another_program_holds_exclusively_is_one_line_too(tmp_path: Path) -> None:
    refusal_while_held(tmp_path / "hubbub.db", tmp_path)  # a 0-byte file, its lock held


def test_a_hubbub_database_another_program_writes_to_stops_the_server_with_one_line(tmp_path: Path) -> None:
    # A database already in WAL mode (every hubbub database) lets a reader in while another
    # program holds the write lock: the server started, and then every commit waited and
    # failed, the history of everyone chatting lost. It must refuse to start instead.
    db = tmp_path / "hubbub.db"

    async def make() -> None:  # a hubbub database, as a server leaves it
        store = open_store(str(db), 1, False)
        await store.open()
        await store.close()

    asyncio.run(make())
    with sqlite3.connect(db) as check:
        assert check.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    check.close()
    refusal_while_held(db, tmp_path)


# -- 2b. a database or folder nobody may write, not even root ---------------------------------------


@contextlib.contextmanager
def immutable(path: Path) -> Iterator[None]:
    """`path` made immutable (chattr +i): unwritable even for root, as the tests' user is.
    Skipped where the file system or the container does not allow it."""
    made = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"chattr +i not possible here: {made.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def _one_line_refusal(db: Path, cwd: Path) -> str:
    result = run("serve", "--listen", "127.0.0.1:0", "--no-web", "--db", str(db), cwd=cwd)
    assert result.returncode == 1, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("hubbub:")]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr and "listening irc" not in result.stderr
    return lines[0]


def _a_hubbub_database(db: Path) -> None:
    async def make() -> None:
        store = open_store(str(db), 1, False)
        await store.open()
        await store.close()

    asyncio.run(make())


def test_a_database_file_that_cannot_be_written_is_one_clear_line(tmp_path: Path) -> None:
    db = tmp_path / "hubbub.db"
    _a_hubbub_database(db)
    with immutable(db):
        line = _one_line_refusal(db, tmp_path)
    assert str(db) in line and "cannot be read and written" in line


def test_a_folder_that_cannot_be_written_is_one_clear_line(tmp_path: Path) -> None:
    # SQLite needs the folder too (its -wal and -shm files beside the database)
    folder = tmp_path / "data"
    folder.mkdir()
    db = folder / "hubbub.db"
    _a_hubbub_database(db)
    with immutable(folder):
        line = _one_line_refusal(db, tmp_path)
    assert "cannot write the folder" in line and str(folder) in line


# -- 3. retention reaches the pruner (in process: the first pass is a minute after start-up) ----------


@pytest.fixture
async def on_file(tmp_path: Path) -> AsyncIterator[tuple[str, Callable[..., Awaitable[Runtime]]]]:
    """A SQLite file, and `await start(*overrides)` for servers on it (stopped at the end).
    Without events kept (joins and parts are rows too, counted by max_per_target): messages only."""
    db = str(tmp_path / "hubbub.db")
    started: list[Runtime] = []

    async def start(*overrides: str) -> Runtime:
        runtime = await start_server(f"store.db='{db}'", "history.events=false", *overrides)
        started.append(runtime)
        return runtime

    yield db, start
    for runtime in started:
        await runtime.stop()


def rows(db: str, target: str) -> list[str]:
    """The bodies of the PRIVMSGs the file holds for `target`, oldest first (read beside the server)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        found = conn.execute(
            "SELECT body FROM messages WHERE target = ? AND command = 'PRIVMSG' ORDER BY time_ms, id", (target,)
        ).fetchall()
    finally:
        conn.close()
    return [body for (body,) in found]


async def talk(runtime: Runtime, nick: str, channel: str, texts: list[str]) -> None:
    client = await LineClient.connect(runtime)
    await client.register(nick)
    await client.join(channel)
    for text in texts:
        client.send(f"PRIVMSG {channel} :{text}")
    await sync(client)  # all committed
    await client.close()


async def history_until(runtime: Runtime, channel: str, wanted: list[str], timeout: float = 10.0) -> list[str]:
    """Ask for the channel's history until it is `wanted` (a retention pass is on its way);
    what it was last."""
    reader = await LineClient.connect_to(*runtime.irc_address())
    reader.send(f"CAP REQ :{HISTORY_CAPS}")
    reader.send("CAP END")
    await reader.register("reader")
    await reader.join(channel)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        while True:
            got = said(await history(reader, f"CHATHISTORY LATEST {channel} * 100"))
            if got == wanted or loop.time() > deadline:
                return got
            await asyncio.sleep(0.05)
    finally:
        await reader.close()


async def test_the_first_retention_pass_after_a_start_keeps_the_newest_per_target(
    on_file, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server restarted more often than PRUNE_EVERY still prunes: the first pass comes
    PRUNE_FIRST after start-up (shortened here; the passes after it never come in this test)."""
    db, start = on_file
    first = await start()  # no retention: everything is kept
    await talk(first, "alice", "#c", [f"c{i}" for i in range(10)])
    await talk(first, "bob", "#d", ["d0", "d1"])
    await first.stop()
    assert rows(db, "#c") == [f"c{i}" for i in range(10)]

    monkeypatch.setattr(persistence, "PRUNE_FIRST", 0.05)
    monkeypatch.setattr(persistence, "PRUNE_EVERY", 3600.0)
    again = await start("history.max_per_target=3")
    assert await history_until(again, "#c", ["c7", "c8", "c9"]) == ["c7", "c8", "c9"]
    assert await history_until(again, "#d", ["d0", "d1"]) == ["d0", "d1"]  # under the limit: untouched
    assert rows(db, "#c") == ["c7", "c8", "c9"]  # forgotten from the file, not only hidden


async def test_a_running_server_keeps_pruning_a_channel_to_its_count(on_file, monkeypatch: pytest.MonkeyPatch) -> None:
    db, start = on_file
    monkeypatch.setattr(persistence, "PRUNE_FIRST", 0.01)
    monkeypatch.setattr(persistence, "PRUNE_EVERY", 0.05)
    server = await start("history.max_per_target=4")
    await talk(server, "alice", "#c", [f"a{i}" for i in range(6)])
    assert await history_until(server, "#c", ["a2", "a3", "a4", "a5"]) == ["a2", "a3", "a4", "a5"]
    await talk(server, "bob", "#c", [f"b{i}" for i in range(3)])  # more, after a pass: pruned again
    assert await history_until(server, "#c", ["a5", "b0", "b1", "b2"]) == ["a5", "b0", "b1", "b2"]
    assert rows(db, "#c") == ["a5", "b0", "b1", "b2"]


async def test_max_age_days_forgets_the_older_messages(on_file, monkeypatch: pytest.MonkeyPatch) -> None:
    db, start = on_file
    first = await start()
    await talk(first, "alice", "#c", ["old0", "old1", "old2", "new0", "new1"])
    await first.stop()
    conn = sqlite3.connect(db)  # two days ago, as if they had been said then
    with conn:
        conn.execute("UPDATE messages SET time_ms = time_ms - 2 * 86400000 WHERE body LIKE 'old%'")
    conn.close()

    monkeypatch.setattr(persistence, "PRUNE_FIRST", 0.05)
    monkeypatch.setattr(persistence, "PRUNE_EVERY", 3600.0)
    again = await start("history.max_age_days=1")
    assert await history_until(again, "#c", ["new0", "new1"]) == ["new0", "new1"]
    assert rows(db, "#c") == ["new0", "new1"]
