"""The SQLite store: one file, write-ahead log, off the event loop.

Writes go to one writer thread with its own connection, a batch per transaction, in
the order they were handed over. Reads (history, search, read markers) run on a small
pool of reader threads, each with its own connection; the write-ahead log lets them
read committed data while the writer writes. A read waits for the writes handed over
before it, so that a client asking for history sees its own last message.

`synchronous = NORMAL` in WAL mode: a committed transaction is in the log file when the
commit returns, so it survives the process being killed (SIGKILL); only a power loss
before the next checkpoint could lose the last ones, which is the usual trade for a
chat server. Without a path (`:memory:`) the database lives in the writer thread's
memory and dies with the process; reads then run on the writer thread too.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

from hubbub.server.storage import (
    AccountRecord,
    AddMessage,
    ChannelRecord,
    DeleteAccount,
    DeleteChannel,
    DeleteKline,
    DeleteMessage,
    HistoryQuery,
    KlineRecord,
    PutAccount,
    PutChannel,
    PutKline,
    PutMarker,
    SearchQuery,
    Snapshot,
    StoredMessage,
    StoreError,
    Write,
)
from hubbub.store import history
from hubbub.store.rows import COLUMNS, PLAIN, dm_patterns, like_escaped, message_row, stored_message, to_ms
from hubbub.store.schema import LATEST, MIGRATIONS

T = TypeVar("T")

_SELECT = f"SELECT id, {COLUMNS} FROM messages"
_INSERT = f"INSERT OR IGNORE INTO messages ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"


class SqliteStore:
    def __init__(self, path: str | None, readers: int = 2) -> None:
        self.path = path
        self.where = path or "the in-memory database"
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="hubbub-store-write")
        self._readers = ThreadPoolExecutor(readers, thread_name_prefix="hubbub-store-read") if path else self._writer
        self._conn: sqlite3.Connection | None = None  # the writer's (and, in memory, everyone's)
        self._local = threading.local()
        self._reader_conns: list[sqlite3.Connection] = []
        self._lock_fd: int | None = None
        self._written = 0  # batches handed to the writer
        self._committed = 0  # batches it has finished
        self._progress = threading.Condition()
        self._closed = False

    # -- running work off the loop ----------------------------------------------------

    async def _on(self, executor: ThreadPoolExecutor, fn: Callable[[], T]) -> T:
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, fn)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.where}: {exc}") from exc

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        waited_for = self._written

        def run() -> T:
            with self._progress:  # see the writes handed over before this read
                self._progress.wait_for(lambda: self._committed >= waited_for)
            return fn(self._reader())

        return await self._on(self._readers, run)

    def _reader(self) -> sqlite3.Connection:
        if self.path is None:
            assert self._conn is not None
            return self._conn
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=5)
            conn.execute("PRAGMA query_only = ON")
            self._local.conn = conn
            self._reader_conns.append(conn)
        return conn

    # -- opening ----------------------------------------------------------------------

    async def open(self) -> Snapshot:
        return await self._on(self._writer, self._open)

    def _open(self) -> Snapshot:
        if self.path is not None:
            self._lock(self.path)
        try:
            conn = sqlite3.connect(
                self.path or ":memory:", check_same_thread=False, isolation_level=None, timeout=2
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open {self.where}: {exc}") from exc
        self._conn = conn
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA busy_timeout = 5000")
            self._migrate(conn)
            return self._snapshot(conn)
        except sqlite3.DatabaseError as exc:
            text = str(exc)
            if "not a database" in text or "malformed" in text:
                raise StoreError(f"{self.where} is not a hubbub database, or it is damaged ({text})") from exc
            if "locked" in text or "busy" in text:
                raise StoreError(f"{self.where} is locked by another program") from exc
            if "readonly" in text or "unable to open" in text:
                raise StoreError(f"{self.where} cannot be written ({text})") from exc
            raise StoreError(f"{self.where}: {text}") from exc

    def _lock(self, path: str) -> None:
        """One server per database file: two writers would only make each other wait."""
        folder = os.path.dirname(os.path.abspath(path))
        if not os.access(folder, os.W_OK):
            raise StoreError(f"cannot write the folder of {path} ({folder})")
        if os.path.exists(path) and not os.access(path, os.R_OK | os.W_OK):
            raise StoreError(f"{path} cannot be read and written by this user")
        try:
            fd = os.open(path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StoreError(f"cannot create {path}.lock: {exc.strerror}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise StoreError(f"{path} is in use by another hubbub server") from None
        self._lock_fd = fd

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        current = row[0] or 0
        if current > LATEST:
            raise StoreError(f"{self.where} was made by a newer hubbub (schema {current}; this one knows {LATEST})")
        for migration in MIGRATIONS:
            if migration.version <= current:
                continue
            conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in (*migration.common, *migration.sqlite):
                    conn.execute(statement)
                conn.execute("INSERT INTO schema_version (version) VALUES (?)", (migration.version,))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def _snapshot(self, conn: sqlite3.Connection) -> Snapshot:
        certs: dict[str, list[str]] = {}
        for fingerprint, account in conn.execute("SELECT fingerprint, account FROM account_certs ORDER BY fingerprint"):
            certs.setdefault(account, []).append(fingerprint)
        accounts = [
            AccountRecord(key, name, password_hash, scram, email, registered_at, tuple(certs.get(key, ())))
            for key, name, password_hash, scram, email, registered_at in conn.execute(
                "SELECT key, name, password_hash, scram, email, registered_at FROM accounts ORDER BY key"
            )
        ]
        lists: dict[str, list[tuple[str, str, str, int]]] = {}
        for channel, letter, mask, set_by, set_at in conn.execute(
            "SELECT channel, letter, mask, set_by, set_at FROM channel_lists ORDER BY channel, position"
        ):
            lists.setdefault(channel, []).append((letter, mask, set_by, set_at))
        access: dict[str, list[tuple[str, str]]] = {}
        for channel, account, modes in conn.execute(
            "SELECT channel, account, modes FROM channel_access ORDER BY channel, account"
        ):
            access.setdefault(channel, []).append((account, modes))
        channels = [
            ChannelRecord(key, name, founder, registered_at, topic, topic_by, topic_time, modes, join_key, limit,
                          tuple(lists.get(key, ())), tuple(access.get(key, ())))  # fmt: skip
            for key, name, founder, registered_at, topic, topic_by, topic_time, modes, join_key, limit in conn.execute(
                "SELECT key, name, founder, registered_at, topic, topic_by, topic_time, modes, join_key, member_limit "
                "FROM channels ORDER BY key"
            )
        ]
        klines = [
            KlineRecord(*row)
            for row in conn.execute("SELECT mask, reason, set_by, set_at, expires FROM klines ORDER BY set_at, mask")
        ]
        return Snapshot(accounts, channels, klines)

    # -- writing ----------------------------------------------------------------------

    async def write(self, batch: Sequence[Write]) -> None:
        self._written += 1
        await self._on(self._writer, partial(self._write, list(batch)))

    def _write(self, batch: list[Write]) -> None:
        try:
            self._transaction(batch)
        finally:
            with self._progress:  # readers waiting for this batch may go on
                self._committed += 1
                self._progress.notify_all()

    def _transaction(self, batch: list[Write]) -> None:
        conn = self._conn
        assert conn is not None
        conn.execute("BEGIN IMMEDIATE")
        try:
            rows: list[tuple[Any, ...]] = []
            for op in batch:
                if type(op) is AddMessage:
                    rows.append(message_row(op.message))
                    continue
                if rows:
                    conn.executemany(_INSERT, rows)
                    rows = []
                self._apply(conn, op)
            if rows:
                conn.executemany(_INSERT, rows)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _apply(self, conn: sqlite3.Connection, op: Write) -> None:
        if isinstance(op, DeleteMessage):
            conn.execute("DELETE FROM messages WHERE target = ? AND msgid = ?", (op.target, op.msgid))
        elif isinstance(op, PutAccount):
            a = op.account
            conn.execute(
                "INSERT OR REPLACE INTO accounts (key, name, password_hash, scram, email, registered_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (a.key, a.name, a.password_hash, a.scram, a.email, a.registered_at),
            )
            conn.execute("DELETE FROM account_certs WHERE account = ?", (a.key,))
            conn.executemany(
                "INSERT OR REPLACE INTO account_certs (fingerprint, account) VALUES (?, ?)",
                [(fp, a.key) for fp in a.certfps],
            )
        elif isinstance(op, DeleteAccount):
            conn.execute("DELETE FROM accounts WHERE key = ?", (op.key,))
            conn.execute("DELETE FROM account_certs WHERE account = ?", (op.key,))
            conn.execute("DELETE FROM read_markers WHERE account = ?", (op.key,))
            # what the name held goes with it: the next to register it inherits nothing
            for table in ("channel_lists", "channel_access"):
                conn.execute(f"DELETE FROM {table} WHERE channel IN (SELECT key FROM channels WHERE founder = ?)",
                             (op.key,))  # fmt: skip
            conn.execute("DELETE FROM channels WHERE founder = ?", (op.key,))
            conn.execute("DELETE FROM channel_access WHERE account = ?", (op.key,))
            conn.execute(
                "DELETE FROM messages WHERE target >= 'dm:' AND target < 'dm;' "
                "AND (target LIKE ? ESCAPE '\\' OR target LIKE ? ESCAPE '\\')", dm_patterns(op.key),
            )
        elif isinstance(op, PutChannel):
            c = op.channel
            conn.execute(
                "INSERT OR REPLACE INTO channels (key, name, founder, registered_at, topic, topic_by, topic_time, "
                "modes, join_key, member_limit) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (c.key, c.name, c.founder, c.registered_at, c.topic, c.topic_by, c.topic_time, c.modes,
                 c.join_key, c.limit),  # fmt: skip
            )
            conn.execute("DELETE FROM channel_lists WHERE channel = ?", (c.key,))
            conn.executemany(
                "INSERT INTO channel_lists (channel, position, letter, mask, set_by, set_at) VALUES (?, ?, ?, ?, ?, ?)",
                [(c.key, i, *entry) for i, entry in enumerate(c.lists)],
            )
            conn.execute("DELETE FROM channel_access WHERE channel = ?", (c.key,))
            conn.executemany(
                "INSERT INTO channel_access (channel, account, modes) VALUES (?, ?, ?)",
                [(c.key, account, modes) for account, modes in c.access],
            )
        elif isinstance(op, DeleteChannel):
            for table, column in (("channels", "key"), ("channel_lists", "channel"), ("channel_access", "channel")):
                conn.execute(f"DELETE FROM {table} WHERE {column} = ?", (op.key,))
        elif isinstance(op, PutKline):
            k = op.kline
            conn.execute(
                "INSERT OR REPLACE INTO klines (mask, reason, set_by, set_at, expires) VALUES (?, ?, ?, ?, ?)",
                (k.mask, k.reason, k.set_by, k.set_at, k.expires),
            )
        elif isinstance(op, DeleteKline):
            conn.execute("DELETE FROM klines WHERE mask = ?", (op.mask,))
        elif isinstance(op, PutMarker):
            conn.execute(
                "INSERT INTO read_markers (account, target, time_ms) VALUES (?, ?, ?) "
                "ON CONFLICT (account, target) DO UPDATE SET time_ms = MAX(time_ms, excluded.time_ms)",
                (op.account, op.target, to_ms(op.time)),
            )
        else:  # pragma: no cover
            raise TypeError(f"unknown write {op!r}")

    # -- history ----------------------------------------------------------------------

    async def history(self, query: HistoryQuery) -> list[StoredMessage]:
        return await self._read(partial(_history, query))

    async def find(self, target: str, msgid: str) -> StoredMessage | None:
        def run(conn: sqlite3.Connection) -> StoredMessage | None:
            row = conn.execute(f"{_SELECT} WHERE target = ? AND msgid = ?", (target, msgid)).fetchone()
            return stored_message(row) if row else None

        return await self._read(run)

    async def targets(
        self, keys: Sequence[str], dm_account: str | None, after: float, before: float, limit: int
    ) -> list[tuple[str, float]]:
        def run(conn: sqlite3.Connection) -> list[tuple[str, float]]:
            found: list[tuple[str, int]] = []
            lo, hi = to_ms(after), to_ms(before)
            for key in keys:
                row = conn.execute(
                    "SELECT MAX(time_ms) FROM messages WHERE target = ? AND time_ms > ? AND time_ms < ?", (key, lo, hi)
                ).fetchone()
                if row[0] is not None:
                    found.append((key, row[0]))
            if dm_account is not None:
                found += conn.execute(
                    "SELECT target, MAX(time_ms) FROM messages WHERE target >= 'dm:' AND target < 'dm;' "
                    "AND (target LIKE ? ESCAPE '\\' OR target LIKE ? ESCAPE '\\') AND time_ms > ? AND time_ms < ? "
                    "GROUP BY target",
                    (*dm_patterns(dm_account), lo, hi),
                ).fetchall()
            found.sort(key=lambda item: item[1], reverse=True)
            return [(key, time_ms / 1000) for key, time_ms in found[:limit]]

        return await self._read(run)

    async def search(self, query: SearchQuery) -> list[StoredMessage]:
        return await self._read(partial(_search, query))

    async def marker(self, account: str, target: str) -> float | None:
        def run(conn: sqlite3.Connection) -> float | None:
            row = conn.execute(
                "SELECT time_ms FROM read_markers WHERE account = ? AND target = ?", (account, target)
            ).fetchone()
            return row[0] / 1000 if row else None

        return await self._read(run)

    async def prune(self, older_than: float | None, per_target: int) -> int:
        def run() -> int:
            conn = self._conn
            assert conn is not None
            forgotten = 0
            if older_than is not None:
                forgotten += conn.execute("DELETE FROM messages WHERE time_ms < ?", (to_ms(older_than),)).rowcount
            if per_target:
                crowded = conn.execute(
                    "SELECT target FROM messages GROUP BY target HAVING COUNT(*) > ?", (per_target,)
                ).fetchall()
                for (target,) in crowded:
                    forgotten += conn.execute(
                        "DELETE FROM messages WHERE id IN (SELECT id FROM messages WHERE target = ? "
                        "ORDER BY time_ms DESC, id DESC LIMIT -1 OFFSET ?)",
                        (target, per_target),
                    ).rowcount
            return forgotten

        return await self._on(self._writer, run)

    async def ping(self) -> None:
        await self._read(lambda conn: conn.execute("SELECT 1").fetchone())

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True

        def shut() -> None:
            if self._conn is not None:
                self._conn.close()
            for conn in self._reader_conns:
                conn.close()
            if self._lock_fd is not None:
                os.close(self._lock_fd)

        if self._readers is not self._writer:
            self._readers.shutdown(wait=True)
        await asyncio.get_running_loop().run_in_executor(self._writer, shut)
        self._writer.shutdown(wait=True)



# -- the questions, in SQL (run on a reader thread) -----------------------------------------


def _answer(conn: sqlite3.Connection, query: HistoryQuery, question: history.Question) -> Any:
    if isinstance(question, history.Locate):
        row = conn.execute(f"{_SELECT} WHERE target = ? AND msgid = ?", (query.target, question.msgid)).fetchone()
        return history.Located((row[3], row[0]), stored_message(row)) if row else None
    where = ["target = ?"]
    args: list[Any] = [query.target]
    if not query.events:
        where.append(PLAIN)
    if question.above is not None:
        where.append("(time_ms > ? OR (time_ms = ? AND id > ?))")
        args += [question.above[0], question.above[0], question.above[1]]
    if question.below is not None:
        where.append("(time_ms < ? OR (time_ms = ? AND id < ?))")
        args += [question.below[0], question.below[0], question.below[1]]
    order = "DESC" if question.newest else "ASC"
    sql = f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY time_ms {order}, id {order} LIMIT ?"
    rows = conn.execute(sql, (*args, question.limit)).fetchall()
    if question.newest:
        rows.reverse()
    return [stored_message(row) for row in rows]


def _history(query: HistoryQuery, conn: sqlite3.Connection) -> list[StoredMessage]:
    return history.run(history.plan(query), partial(_answer, conn, query))


def _fts_phrase(text: str) -> str:
    """`text` as an FTS5 query of its words, each a quoted string (no operators)."""
    words = [word.replace('"', '""') for word in text.split()]
    return " ".join(f'"{word}"' for word in words)


def _search(query: SearchQuery, conn: sqlite3.Connection) -> list[StoredMessage]:
    if not query.targets:
        return []
    where: list[str] = []
    args: list[Any] = []
    placeholders = ", ".join("?" for _ in query.targets)
    where.append(f"m.target IN ({placeholders})")
    args += list(query.targets)
    if query.sender:
        where.append("m.source LIKE ? ESCAPE '\\'")
        args.append(like_escaped(query.sender) + "!%")
    if query.after is not None:
        where.append("m.time_ms >= ?")
        args.append(to_ms(query.after))
    if query.before is not None:
        where.append("m.time_ms <= ?")
        args.append(to_ms(query.before))
    where.append(PLAIN.replace("command", "m.command"))
    cols = ", ".join(f"m.{c.strip()}" for c in ("id", *COLUMNS.split(",")))
    if query.text.strip():
        match = "body : (" + _fts_phrase(query.text) + ")"
        if len(query.targets) == 1:  # narrow the match to the one conversation asked
            match += " AND target : " + _fts_phrase(query.targets[0])
        sql = (
            f"SELECT {cols} FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid "
            f"WHERE messages_fts MATCH ? AND {' AND '.join(where)} ORDER BY messages_fts.rowid DESC LIMIT ?"
        )
        rows = conn.execute(sql, (match, *args, query.limit)).fetchall()
    else:
        sql = f"SELECT {cols} FROM messages m WHERE {' AND '.join(where)} ORDER BY m.time_ms DESC, m.id DESC LIMIT ?"
        rows = conn.execute(sql, (*args, query.limit)).fetchall()
    rows.sort(key=lambda row: (row[3], row[0]))
    return [stored_message(row) for row in rows]
