"""The store from its operator's side: what `hubbub serve` and `hubbub account` do with the
files and URLs they are given, what survives a SIGKILL or an online backup, retention seen
through SEARCH as well as CHATHISTORY, and another program holding the file mid-run.

Real `python -m hubbub` processes where the command line is what matters, in-process
servers otherwise; real SQLite files in the test's directory and the tests' real
PostgreSQL. What tests/store, tests/e2e_history (test_durability.py,
test_store_startup_and_retention.py) and tests/e2e_limits (test_operator_life.py,
test_more_cli.py) already check is not repeated here.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import sqlite3
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from hubbub.app import Runtime
from hubbub.irc.message import Message
from hubbub.passwords import hash_password
from hubbub.runtime import persistence
from hubbub.server.storage import AccountRecord, AddMessage, PutAccount, StoredMessage, StoreError
from hubbub.store import open_store
from hubbub.store import sqlite as sqlite_store
from hubbub.store.postgres import PostgresStore
from hubbub.store.schema import LATEST
from tests.e2e_history.test_chathistory import history
from tests.e2e_history.test_store_startup_and_retention import history_until, said
from tests.e2e_limits.test_cli import MODULE, STARTUP, Served, _env
from tests.helpers import LineClient, start_server, sync
from tests.services import PostgresServer

HISTORY_CAPS = "draft/chathistory batch server-time message-tags soju.im/search"
NICKSERV = "NickServ!NickServ@services"
CHANSERV = "ChanServ!ChanServ@services"
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) \S")


# -- processes -------------------------------------------------------------------------------------


class Outcome:
    """What `hubbub serve` did: started (`served`), or exited (`code`, `stderr`)."""

    def __init__(self, served: Served | None, code: int | None, stderr: str) -> None:
        self.served = served
        self.code = code
        self.stderr = stderr

    def refusal(self) -> str:
        """The one `hubbub:` line it exited with (asserting it exited that way)."""
        assert self.served is None, f"the server started: {self.stderr}"
        assert "Traceback" not in self.stderr, self.stderr
        lines = [line for line in self.stderr.strip().splitlines() if not LOG_LINE.match(line)]
        assert len(lines) == 1 and lines[0].startswith("hubbub: "), self.stderr
        return lines[0]


@pytest.fixture
async def serve_proc(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Outcome]]]:
    """`await serve_proc(*args)`: `hubbub serve --listen 127.0.0.1:0 --no-web *args` in the test's
    directory, until it listens or exits (it is never left to hang: a start is seen at once)."""
    started: list[Served] = []

    async def run(*args: str) -> Outcome:
        proc = await asyncio.create_subprocess_exec(
            *MODULE, "serve", "--listen", "127.0.0.1:0", "--no-web", *args,
            cwd=tmp_path, env=_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        assert proc.stderr is not None
        log: list[str] = []
        while True:
            try:
                raw = await asyncio.wait_for(proc.stderr.readline(), STARTUP)
            except TimeoutError:
                proc.kill()
                await proc.wait()
                raise AssertionError(f"neither listening nor exited within {STARTUP}s: {log}") from None
            if not raw:
                code = await asyncio.wait_for(proc.wait(), STARTUP)
                return Outcome(None, code, "\n".join(log))
            log.append(raw.decode(errors="replace").rstrip("\n"))
            if found := re.search(r"listening irc (\S+):(\d+)$", log[-1]):
                served = Served(proc, found.group(1), int(found.group(2)), log)
                started.append(served)
                await served.logged(r" ready as ")
                return Outcome(served, None, "\n".join(log))

    yield run
    for served in started:
        await served.kill()


def account(cwd: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*MODULE, "account", *args], cwd=cwd, env=_env(), input=stdin,
        capture_output=True, text=True, timeout=STARTUP, check=False,
    )  # fmt: skip


def one_line(result: subprocess.CompletedProcess[str], pattern: str) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.strip().splitlines() if not LOG_LINE.match(line)]
    assert len(lines) == 1 and re.search(r"^hubbub: .*" + pattern, lines[0]), result.stderr
    assert result.returncode == 1, result
    return lines[0]


# -- IRC helpers -----------------------------------------------------------------------------------


async def capped(client: LineClient, nick: str, caps: str = HISTORY_CAPS) -> LineClient:
    client.send(f"CAP REQ :{caps}")
    ack = await client.expect("CAP")
    assert ack.params[1] == "ACK", ack
    client.send("CAP END")
    await client.register(nick)
    return client


async def service(client: LineClient, who: str, line: str) -> str:
    """Say `line` to NickServ or ChanServ; its first answer."""
    source = NICKSERV if who == "NickServ" else CHANSERV
    client.send(f"PRIVMSG {who} :{line}")
    return (await client.expect(lambda m: m.command == "NOTICE" and m.source == source)).params[-1]


async def search(client: LineClient, attributes: str) -> list[str]:
    """The texts a SEARCH answers with, oldest first."""
    client.send(f"SEARCH {attributes}")
    opening = await client.expect(lambda m: m.command in ("BATCH", "FAIL"))
    assert opening.command == "BATCH" and opening.params[1] == "soju.im/search", opening
    ref = opening.params[0][1:]
    found: list[Message] = []
    while True:
        message = await client.read_message()
        assert message is not None
        if message.command == "BATCH" and message.params == ["-" + ref]:
            return said(found)
        found.append(message)


def fts_sound(path: str) -> None:
    """FTS5's own check of the search index against the messages (raises if they differ).
    Only where no events are kept: an event's row (no text) is left out of the index on
    purpose, and the check, expecting its channel name there, would call that damage."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)")
    finally:
        conn.close()


# -- 1. one server per file, however the file is named ---------------------------------------------


@pytest.mark.parametrize("link", ["symlink", "hardlink"])
async def test_a_second_server_reaching_the_file_through_a_link_is_refused(serve_proc, tmp_path: Path,
                                                                            link: str) -> None:  # fmt: skip
    """Another name for the file (with a -wal file of its own, for a hard link) is the same file."""
    db = tmp_path / "hubbub.db"
    first = await start_server(f"store.db='{db}'")
    try:
        other = tmp_path / "other-name.db"
        if link == "symlink":
            other.symlink_to(db.name)
        else:
            os.link(db, other)
        outcome = await serve_proc("--db", str(other))
        line = outcome.refusal()
        assert "in use by another hubbub server" in line, line
        assert outcome.code == 1
    finally:
        await first.stop()


async def test_a_second_store_of_the_same_process_on_a_link_is_refused_and_the_first_goes_on(tmp_path: Path) -> None:
    """The lock is on the file itself (docs/store.md), in one process too; the refused store
    must not close a descriptor of the file (that would drop the first one's SQLite locks),
    and once the first is closed the file is free under either name."""
    db, other = tmp_path / "hubbub.db", tmp_path / "other.db"
    first = open_store(str(db))
    await first.open()
    os.link(db, other)
    with pytest.raises(StoreError, match=r"other\.db is in use by another hubbub server"):
        await open_store(str(other)).open()
    await first.write([PutAccount(AccountRecord("alice", "alice", "$argon2id$x", "", "", 1.0, ()))])
    await first.close()
    again = open_store(str(other))
    assert [a.key for a in (await again.open()).accounts] == ["alice"]
    await again.close()


async def test_where_the_system_has_no_ofd_locks_a_symlink_is_refused_all_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fallback (macOS, the BSDs): flock of NAME.lock beside the file the name leads to."""
    monkeypatch.setattr(sqlite_store, "_OFD", False)
    db, other = tmp_path / "hubbub.db", tmp_path / "other.db"
    other.symlink_to(db.name)
    first = open_store(str(db))
    await first.open()
    with pytest.raises(StoreError, match=r"other\.db is in use by another hubbub server"):
        await open_store(str(other)).open()
    await first.close()
    assert (tmp_path / "hubbub.db.lock").exists() and not (tmp_path / "other.db.lock").exists()
    again = open_store(str(other))
    await again.open()
    await again.close()


async def test_a_file_refused_at_start_is_let_go(tmp_path: Path) -> None:
    """A refused open (here: a newer hubbub's file) closes what it opened and releases the lock."""
    db = tmp_path / "hubbub.db"
    await _a_big_database(db)
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (LATEST + 1,))
    conn.close()
    for _ in range(2):  # the second is refused for the same reason, not as "in use"
        with pytest.raises(StoreError, match="made by a newer hubbub"):
            await open_store(str(db)).open()


async def test_account_passwd_and_del_while_a_server_runs_are_refused_and_change_nothing(
    serve_proc, tmp_path: Path
) -> None:
    """`add` and `list` while a server holds the file are checked elsewhere; the two that
    change an account must be refused too, and the account must work as before."""
    assert account(tmp_path, "--db", "hubbub.db", "add", "rosa", stdin="Rosa-Pass-1\n").returncode == 0
    served = (await serve_proc("--db", "hubbub.db")).served
    assert served is not None
    one_line(account(tmp_path, "--db", "hubbub.db", "passwd", "rosa", stdin="Other-Pass-2\n"),
             r"hubbub\.db is in use by another hubbub server")  # fmt: skip
    one_line(account(tmp_path, "--db", "hubbub.db", "del", "rosa"), r"hubbub\.db is in use by another hubbub server")
    client = await served.client()
    await client.register("rosa")
    client.send("PRIVMSG NickServ :IDENTIFY Rosa-Pass-1")
    await client.expect("900")
    await client.close()


# -- 2. files the server must refuse ---------------------------------------------------------------


async def _a_big_database(path: Path) -> None:
    store = open_store(str(path))
    await store.open()
    await store.write([PutAccount(AccountRecord("alice", "alice", "$argon2id$x", "", "", 1.0, ()))])
    text = "the quick brown fox number {0} jumps over the lazy dog " * 3
    await store.write([AddMessage(StoredMessage("#c", f"id{i}", 1_800_000_000.0 + i, "PRIVMSG", "a!u@h", None,
                                                ("#c", text.format(i)), None, text.format(i)))
                       for i in range(5000)])  # fmt: skip
    await store.close()


async def test_a_database_damaged_in_its_middle_is_refused_at_start(serve_proc, tmp_path: Path) -> None:
    db = tmp_path / "hubbub.db"
    await _a_big_database(db)
    size = db.stat().st_size
    with open(db, "r+b") as f:  # a disk's bad sectors: two pages of garbage halfway through
        f.seek(size // 2)
        f.write(b"\xa5" * 8192)
    check = sqlite3.connect(db)
    try:
        found = check.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as exc:
        found = [(str(exc),)]
    finally:
        check.close()
    assert found != [("ok",)]  # damaged indeed
    outcome = await serve_proc("--db", str(db))
    line = outcome.refusal()
    assert str(db) in line and "damaged" in line, line
    assert outcome.code == 1


def _newer_database(db: Path) -> None:
    asyncio.run(_a_big_database(db))
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (LATEST + 1,))
    conn.close()


def test_account_commands_on_a_database_of_a_newer_hubbub_refuse_it_and_leave_it_alone(tmp_path: Path) -> None:
    db = tmp_path / "hubbub.db"
    _newer_database(db)
    newer = rf"hubbub\.db was made by a newer hubbub \(schema {LATEST + 1}; this one knows {LATEST}\)"
    one_line(account(tmp_path, "--db", str(db), "add", "zed", stdin="Zed-Pass\n"), newer)
    one_line(account(tmp_path, "--db", str(db), "passwd", "alice", stdin="New-Pass\n"), newer)
    one_line(account(tmp_path, "--db", str(db), "del", "alice"), newer)
    one_line(account(tmp_path, "--db", str(db), "list"), newer)
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT MAX(version) FROM schema_version").fetchone() == (LATEST + 1,)
        assert conn.execute("SELECT key, password_hash FROM accounts").fetchall() == [("alice", "$argon2id$x")]
        assert conn.execute("SELECT COUNT(*) FROM messages").fetchone() == (5000,)
    finally:
        conn.close()


def test_account_add_in_a_folder_that_does_not_exist_is_one_line_and_makes_nothing(tmp_path: Path) -> None:
    one_line(account(tmp_path, "--db", "no/such/dir/hubbub.db", "add", "zed", stdin="Zed-Pass\n"),
             r"no/such/dir")  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# -- 3. what a SIGKILL leaves, and an online backup ------------------------------------------------


async def test_accounts_channels_klines_markers_and_history_all_survive_a_sigkill(serve_proc, tmp_path: Path) -> None:
    """Not only messages (test_durability.py): everything a client was answered about is
    in the write-ahead log when it is killed, and the next start finds it there."""
    config = tmp_path / "hubbub.toml"
    config.write_text(f'[[opers]]\nname = "boss"\npassword_hash = "{hash_password("Boss-Pass-9")}"\n')
    args = ("--config", str(config), "--db", "hubbub.db")
    served = (await serve_proc(*args)).served
    assert served is not None
    alice = await capped(await served.client(), "alice", HISTORY_CAPS + " echo-message draft/read-marker")
    assert await service(alice, "NickServ", "REGISTER Alice-Pass-1") == "Account created"
    await alice.join("#kept")
    assert "registered" in await service(alice, "ChanServ", "REGISTER #kept")
    alice.send("TOPIC #kept :the kept topic")
    alice.send("PRIVMSG #kept :said just before the kill")
    echo = await alice.expect("PRIVMSG", "#kept")
    alice.send(f"MARKREAD #kept timestamp={echo.tags['time']}")
    await alice.expect("MARKREAD", "#kept")
    alice.send("OPER boss Boss-Pass-9")
    await alice.expect("381", timeout=15)
    alice.send("KLINE *@192.0.2.77 :kept k-line")
    await sync(alice)  # every answer is out: every write committed
    wal = tmp_path / "hubbub.db-wal"
    assert wal.exists() and wal.stat().st_size > 0  # it is all in the log, none checkpointed
    os.kill(served.proc.pid, signal.SIGKILL)
    await served.proc.wait()
    await alice.close()

    again = (await serve_proc(*args)).served
    assert again is not None
    await again.logged(r"store /\S*/hubbub\.db: 1 accounts, 1 registered channels, 1 K-lines$")
    bob = await capped(await again.client(), "bob", HISTORY_CAPS + " draft/read-marker")
    bob.send("PRIVMSG NickServ :IDENTIFY alice Alice-Pass-1")
    await bob.expect("900", timeout=15)
    assert await service(bob, "ChanServ", "INFO #kept") == "Channel #kept is registered"
    bob.send("JOIN #kept")
    assert (await bob.expect("332")).params[-1] == "the kept topic"
    await bob.expect("366")
    bob.send("MARKREAD #kept")
    assert (await bob.expect("MARKREAD", "#kept")).params[-1] == f"timestamp={echo.tags['time']}"
    assert said(await history(bob, "CHATHISTORY LATEST #kept * 10")) == ["said just before the kill"]
    bob.send("OPER boss Boss-Pass-9")
    await bob.expect("381", timeout=15)
    bob.send("STATS k")
    klines = await bob.collect_until("219")
    assert any(m.command == "216" and "192.0.2.77" in m.params for m in klines), klines
    await bob.close()


async def test_an_online_backup_taken_while_the_server_writes_starts_a_server_with_everything(tmp_path: Path) -> None:
    """sqlite3's backup API against the live file (a consistent snapshot: WAL readers never
    block the writer), then a second server on the copy, the first still running."""
    live, copy = tmp_path / "live.db", tmp_path / "copy.db"
    server = await start_server(f"store.db='{live}'", "history.events=false")
    backup_server: Runtime | None = None
    try:
        alice = await capped(await LineClient.connect(server), "alice")
        assert await service(alice, "NickServ", "REGISTER Alice-Pass-1") == "Account created"
        await alice.join("#c")
        sent: list[str] = []

        async def say(count: int) -> None:
            for _ in range(count):
                text = f"common word{len(sent)}"
                alice.send(f"PRIVMSG #c :{text}")
                sent.append(text)
            await sync(alice)  # committed

        def backup() -> None:
            source, target = sqlite3.connect(live), sqlite3.connect(copy)
            try:
                source.backup(target)
            finally:
                source.close()
                target.close()

        await say(50)
        alice.send("SEARCH in=#c;text=word3")  # the first 50 indexed for search; the rest will not be
        await alice.expect("BATCH")
        await alice.expect("BATCH")
        committed_before = len(sent)
        copying = asyncio.ensure_future(asyncio.to_thread(backup))
        while not copying.done():
            await say(5)
        await copying
        await say(5)
        await alice.close()

        backup_server = await start_server(f"store.db='{copy}'", "history.chathistory_max=1000",
                                           "history.events=false")  # fmt: skip
        bob = await capped(await LineClient.connect(backup_server), "bob")
        assert await service(bob, "NickServ", "INFO alice") == "Account: alice"
        await bob.join("#c")
        kept = said(await history(bob, "CHATHISTORY LATEST #c * 1000"))
        assert committed_before <= len(kept) <= len(sent)
        assert kept == sent[: len(kept)]  # a snapshot: a prefix, no holes
        assert await search(bob, "in=#c;text=common;limit=1000") == kept
        assert await search(bob, f"in=#c;text={kept[-1].split()[1]}") == [kept[-1]]
        await bob.close()
    finally:
        if backup_server is not None:
            await backup_server.stop()
        await server.stop()
    fts_sound(str(live))
    fts_sound(str(copy))


async def test_after_a_clean_stop_the_database_file_alone_holds_everything(serve_proc, tmp_path: Path) -> None:
    """An operator copying `hubbub.db` after SIGTERM (the usual cold backup) must not need
    the -wal file: a clean stop folds the log into the file."""
    served = (await serve_proc("--db", "hubbub.db", "--set", "history.events=false",
                               "--set", "limits.flood_control=false")).served  # fmt: skip
    assert served is not None
    alice = await served.client()
    await alice.register("alice")
    await alice.join("#c")
    for i in range(30):
        alice.send(f"PRIVMSG #c :cold {i}")
    await sync(alice)
    assert (tmp_path / "hubbub.db-wal").stat().st_size > 0
    alice.send("QUIT")
    await alice.closed()
    served.proc.send_signal(signal.SIGTERM)
    assert await served.wait() == 0
    assert not (tmp_path / "hubbub.db-wal").exists()
    cold = tmp_path / "cold"
    cold.mkdir()
    (cold / "hubbub.db").write_bytes((tmp_path / "hubbub.db").read_bytes())
    conn = sqlite3.connect(cold / "hubbub.db")
    try:
        bodies = [body for (body,) in conn.execute("SELECT body FROM messages ORDER BY id")]
    finally:
        conn.close()
    assert bodies == [f"cold {i}" for i in range(30)]


# -- 4. retention, as SEARCH sees it too -----------------------------------------------------------


async def _age(db: str, pattern: str, days: int) -> None:
    """Make the messages whose text is LIKE `pattern` `days` older (as if said then)."""
    statement = ("UPDATE messages SET time_ms = time_ms - {d} * 86400000, time_us = time_us - {d} * 86400000000 "
                 "WHERE body LIKE {p}")  # fmt: skip
    if db.startswith("postgresql"):
        import asyncpg

        conn = await asyncpg.connect(db)
        try:
            await conn.execute(statement.format(d=days, p="$1"), pattern)
        finally:
            await conn.close()
        return
    conn2 = sqlite3.connect(db)
    with conn2:
        conn2.execute(statement.format(d=days, p="?"), (pattern,))
    conn2.close()


async def test_retention_by_age_and_count_leaves_search_agreeing_with_chathistory(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Messages pruned whether or not they were indexed for search yet: SEARCH must not find
    a message CHATHISTORY no longer has, nor miss one it has, and the index stays sound."""
    first = await start_server(f"store.db='{db}'", "history.events=false")
    try:
        alice = await capped(await LineClient.connect(first), "alice")
        await alice.join("#c")
        for i in range(4):
            alice.send(f"PRIVMSG #c :apple old{i}")
        for i in range(3):
            alice.send(f"PRIVMSG #c :apple new{i}")
        await sync(alice)
        assert len(await search(alice, "in=#c;text=apple")) == 7  # indexed now
        for i in range(3, 8):
            alice.send(f"PRIVMSG #c :apple new{i}")  # not indexed yet
        await sync(alice)
        await alice.close()
    finally:
        await first.stop()
    await _age(db, "apple old%", 2)

    monkeypatch.setattr(persistence, "PRUNE_FIRST", 0.05)
    monkeypatch.setattr(persistence, "PRUNE_EVERY", 3600.0)
    again = await start_server(f"store.db='{db}'", "history.events=false", "history.max_age_days=1",
                               "history.max_per_target=6")  # fmt: skip
    try:
        wanted = [f"apple new{i}" for i in range(2, 8)]
        assert await history_until(again, "#c", wanted) == wanted
        bob = await capped(await LineClient.connect(again), "bob")
        await bob.join("#c")
        assert await search(bob, "in=#c;text=apple") == wanted
        assert await search(bob, "in=#c;text=old0") == []
        assert await search(bob, "in=#c;text=new1") == []
        assert await search(bob, "in=#c") == wanted  # no words: every message kept
        bob.send("PRIVMSG #c :apple fresh")
        await sync(bob)
        assert await search(bob, "in=#c;text=apple") == [*wanted, "apple fresh"]
        assert said(await history(bob, "CHATHISTORY LATEST #c * 100")) == [*wanted, "apple fresh"]
        await bob.close()
    finally:
        await again.stop()
    if not db.startswith("postgresql"):
        fts_sound(db)


# -- 5. another program holding the file while the server runs -------------------------------------


async def test_a_write_lock_held_by_another_program_mid_run_fails_that_write_and_the_server_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """docs/store.md: a write that fails is logged and the server goes on. What was said
    while the file was held is lost from the history (logged), what comes after is kept."""
    db = tmp_path / "hubbub.db"
    server = await start_server(f"store.db='{db}'", "history.events=false")
    holder = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    try:
        alice = await capped(await LineClient.connect(server), "alice", HISTORY_CAPS + " echo-message")
        await alice.join("#c")
        alice.send("PRIVMSG #c :before")
        await sync(alice)
        holder.execute("BEGIN EXCLUSIVE")
        with caplog.at_level(logging.ERROR):
            alice.send("PRIVMSG #c :while held")
            await alice.expect("PRIVMSG", "#c", "while held", timeout=30)  # sent once the commit gave up
        holder.execute("ROLLBACK")
        assert any(re.search(r"could not (store|be written).*database is locked", r.getMessage())
                   for r in caplog.records), caplog.text  # fmt: skip
        alice.send("PRIVMSG #c :after")
        await sync(alice)
        assert said(await history(alice, "CHATHISTORY LATEST #c * 10")) == ["before", "after"]
        await alice.close()
    finally:
        holder.close()
        await server.stop()


# -- 6. PostgreSQL URLs --------------------------------------------------------------------------


async def test_a_postgresql_url_that_cannot_be_read_is_one_line_not_a_traceback(serve_proc) -> None:
    outcome = await serve_proc("--db", "postgresql://hubbub@[::1:5432/chat")
    outcome.refusal()
    assert outcome.code in (1, 2)


@pytest.mark.parametrize("port", ["abc", "99999"])
async def test_a_port_that_is_not_a_port_is_named_as_written(serve_proc, port: str) -> None:
    outcome = await serve_proc("--db", f"postgresql://hubbub@127.0.0.1:{port}/chat?connect_timeout=3")
    line = outcome.refusal()
    assert outcome.code in (1, 2)
    assert f":{port}:5432" not in line and "invalid literal" not in line and "connection refused" not in line, line
    assert port in line and "port" in line, line


def test_every_port_a_url_can_give_is_checked_and_named_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    """The port of each host, `port=`, and PGPORT when the URL names none."""
    monkeypatch.delenv("PGPORT", raising=False)
    for url, written in [("postgresql://db:5432,db2:0/chat", "db2:0"), ("postgresql://[::1]:70000/chat", "[::1]:70000"),
                         ("postgresql://db/chat?port=five", "port=five")]:  # fmt: skip
        with pytest.raises(StoreError, match=r"^the PostgreSQL port is not a port number \(1 to 65535\): "
                           + re.escape(written) + "$"):  # fmt: skip
            open_store(url)
    for written, shown in [("db:6543", "db:6543"), ("[::1]:6543", "[::1]:6543"), ("[::1]", "[::1]:5432")]:
        address = PostgresStore(f"postgresql://u@{written}/chat").address
        assert str(address) == f"PostgreSQL at {shown} (database chat, user u)"
    monkeypatch.setenv("PGPORT", "x")
    with pytest.raises(StoreError, match=r"PGPORT=x$"):
        open_store("postgresql://db/chat")


def test_a_url_urllib_cannot_read_is_refused_without_its_password() -> None:
    """urllib's own message for a user part it cannot read quotes it, password and all."""
    for url in ("postgresql://u:Pass\uff03word@db/chat", "postgresql://u:Password@[db/chat",
                "postgresql://u:Password@[::1]x/chat"):  # fmt: skip
        with pytest.raises(StoreError, match="^the PostgreSQL URL cannot be read: ") as refused:
            open_store(url)
        assert "Pass" not in str(refused.value), refused.value


async def test_more_readers_than_postgresql_allows_connections_is_one_line(serve_proc, postgres_url: str) -> None:
    """docs/store.md: each node holds store.readers + 1 connections, to be counted against
    max_connections (200 on the tests' server)."""
    outcome = await serve_proc("--db", postgres_url, "--set", "store.readers=300")
    line = outcome.refusal()
    assert outcome.code == 1
    full = r"(too many clients|connection slots are reserved)"  # as PostgreSQL words it, by version
    assert re.search(r"cannot connect to PostgreSQL at 127\.0\.0\.1:\d+ .*" + full, line), line
    assert "hubbub-secret" not in outcome.stderr


async def test_search_path_puts_the_tables_in_that_schema_and_a_node_holds_readers_plus_one_connections(
    postgres_server: PostgresServer, postgres_url: str
) -> None:
    """docs/store.md: `search_path=chat` keeps hubbub's tables in a schema the role owns;
    each node keeps store.readers + 1 connections open."""
    database = postgres_url.rsplit("/", 1)[1]
    postgres_server.sql("CREATE SCHEMA chat AUTHORIZATION hubbub", database)
    server = await start_server(f"store.db='{postgres_url}?search_path=chat'", "store.readers=3")
    try:
        alice = await capped(await LineClient.connect(server), "alice")
        await alice.join("#c")
        alice.send("PRIVMSG #c :un café noir")
        await sync(alice)
        assert await search(alice, "in=#c;text=cafe") == ["un café noir"]
        where = postgres_server.sql(
            "SELECT table_schema FROM information_schema.tables WHERE table_name = 'messages'", database
        )
        assert where == "chat"
        held = postgres_server.sql(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND usename = 'hubbub'",
            database,
        )
        assert held == "4"
        await alice.close()
    finally:
        await server.stop()
