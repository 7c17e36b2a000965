"""The SQLite store: one file, write-ahead log, nothing slow on the event loop.

Writes are batches (one per event-loop iteration), one transaction each, committed in
the order they were handed over, through one connection, on the writer thread; the
batches that arrive while it works are then committed together, in one transaction.
With `store.commit_on_loop`, a batch that finds that connection free is committed at
once on the event loop instead: a commit without fsync is a few appends to the log
file, tens of microseconds, less than handing it to a thread and waking the loop again
afterwards (on one core, that hand-over cost as much as the writing). Everything that
may take long runs on the writer thread either way: indexing for search, checkpoints
(the fsyncs), retention, and the batches that arrive while any of it runs.

Search indexing is a separate step over at least INDEX_EVERY new messages (FTS5 costs
far less per message in big steps than in small ones); a search first indexes whatever
is left, so it never misses a message committed before it. Checkpoints (copying the
log into the database file) are taken by a connection of their own, beside the writes.

Reads (history, search, read markers) run on a small pool of reader threads, each with
its own connection; the write-ahead log lets them read committed data while the writer
writes. A read waits for the writes handed over before it, so that a client asking for
history sees its own last message.

`synchronous = NORMAL` in WAL mode: a committed transaction is in the log file when the
commit returns, so it survives the process being killed (SIGKILL); only a power loss
before the next checkpoint could lose the last ones, which is the usual trade for a
chat server. Without a path (`:memory:`) the database lives in memory and dies with the
process; reads then run on the writer thread too.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import functools
import json
import json.encoder
import logging
import os
import sqlite3
import struct
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

from hubbub.runtime.threadnames import namer
from hubbub.server.departures import REMEMBERED
from hubbub.server.klines import cases_of
from hubbub.server.storage import (
    AccountRecord,
    AddMessage,
    Backlog,
    ChannelRecord,
    ClosedChannel,
    CopyMarkers,
    DeleteAccount,
    DeleteChannel,
    DeleteKline,
    DeleteMessage,
    Departure,
    ForgetConversation,
    ForgetExpiredKlines,
    ForgetSilentChannel,
    HistoryQuery,
    KlineRecord,
    LiveChannel,
    PutAccount,
    PutChannel,
    PutDepartures,
    PutKline,
    PutMarker,
    PutVhost,
    SearchQuery,
    Snapshot,
    StoredMessage,
    StoreError,
    Write,
)
from hubbub.store import StoreInUse, history
from hubbub.store.accounts import ACCOUNT_UPDATE, refused_account
from hubbub.store.rows import (
    COLUMNS,
    FORGET_SILENT,
    PLAIN,
    departure_ms,
    dm_patterns,
    like_escaped,
    stored_message,
    to_ms,
    to_us,
)
from hubbub.store.schema import DECOY_SECRET as _DECOY_SECRET
from hubbub.store.schema import DEPARTURES as _DEPARTURES
from hubbub.store.schema import DEPARTURES_KEPT as _DEPARTURES_KEPT
from hubbub.store.schema import LATEST, MIGRATIONS, Repair

T = TypeVar("T")
log = logging.getLogger("hubbub.store")

_SELECT = f"SELECT id, {COLUMNS} FROM messages"
# account and tags come as "" for none and are kept as NULL: binding None costs the
# sqlite3 module a search for an adapter, two per row
_ROW = "(?, ?, ?, ?, ?, ?, ?, NULLIF(?, ''), ?, NULLIF(?, ''), ?)"
_ROWS_PER_INSERT = 50  # 550 parameters; one statement runs in one go, where executemany steps row by row
_INDEX = (
    "INSERT INTO messages_fts (rowid, body, target) SELECT id, body, target FROM messages WHERE id > ? AND body <> ''"
)
INDEX_EVERY = 2000  # new messages that make the writer index them for search (see _index)
CHECKPOINT_EVERY = 256  # commits between checkpoints, besides one after each indexing step

_quoted = json.encoder.encode_basestring  # a JSON string, as json.dumps(..., ensure_ascii=False) writes it


# One server per database file, whatever name reaches the file (SqliteStore._lock). Where
# the system has open-file-description locks (Linux), the lock is one of those on a byte
# of the database file that SQLite never locks (its own take 0x40000000 to 0x400001FF):
# owned by our descriptor, it is neither released nor blocked by SQLite's locks, which are
# the process's (SQLite unlocks the whole file at times). flock(2) of the file would do on
# a local Linux disk, but it stands in SQLite's way where it is a lock on the whole file
# (NFS, the BSDs). Elsewhere: flock of a NAME.lock beside the file a symlink leads to.
_OFD = hasattr(fcntl, "F_OFD_SETLK")
_LOCK_BYTE = 0x4000_0200
# The database files (device, inode) the stores of this process hold. Closing a descriptor
# of a file drops every POSIX lock the process holds on it, SQLite's included: a second
# store here must be refused before it opens the file, not after.
_held: set[tuple[int, int]] = set()
_holding = threading.Lock()


def check_writable(path: str) -> None:
    """Raise StoreError when this user could not keep a database at `path`: its folder
    cannot be written (SQLite makes its journal there), or the file exists and cannot be
    read and written. Asked by a start before anything else, and by `--check-config`."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.access(folder, os.W_OK):
        raise StoreError(f"cannot write the folder of {path} ({folder})")
    if os.path.exists(path) and not os.access(path, os.R_OK | os.W_OK):
        raise StoreError(f"{path} cannot be read and written by this user")


def _file_id(path: str) -> tuple[int, int] | None:
    """The file's device and inode, or None if there is none yet."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_dev, found.st_ino


def _lock_path(path: str) -> str:
    """The file to lock for the database at `path` (see _OFD)."""
    return path if _OFD else os.path.realpath(path) + ".lock"


def _try_lock(fd: int) -> bool:
    """Take the lock on `fd`'s file (see _OFD); False if another holds it."""
    try:
        if _OFD:  # struct flock: type, whence, start, length, pid (0, as OFD locks want)
            request = struct.pack("@hhqqi4x", fcntl.F_WRLCK, os.SEEK_SET, _LOCK_BYTE, 1, 0)
            fcntl.fcntl(fd, fcntl.F_OFD_SETLK, request)
        else:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


def _row(id: int, message: StoredMessage) -> tuple[Any, ...]:
    """`id` and rows.message_row's values, made faster: the account and tags as "" for none."""
    m = message
    tags = json.dumps(m.tags, ensure_ascii=False) if m.tags else ""
    # the JSON array json.dumps would write, built without an encoder object per row
    params = "[" + ", ".join(map(_quoted, m.params)) + "]"
    time = m.time
    return (id, m.target, m.msgid, round(time * 1000), round(time * 1_000_000), m.command, m.source, m.account or "",
            params, tags, m.text)  # fmt: skip


@functools.cache
def _insert_sql(rows: int) -> str:
    return f"INSERT OR IGNORE INTO messages (id, {COLUMNS}) VALUES " + ", ".join([_ROW] * rows)


def _insert(conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        part = rows[start : start + _ROWS_PER_INSERT]
        conn.execute(_insert_sql(len(part)), [value for row in part for value in row])


def _repair(conn: sqlite3.Connection, repair: Repair) -> int:
    """Run a migration's repair in its transaction; how many keys it took."""
    keys = repair.keys(conn.execute(repair.query).fetchall())
    for statement in repair.deletes:
        conn.executemany(statement, [(key,) for key in keys])
    return len(keys)


class SqliteStore:
    def __init__(self, path: str | None, readers: int = 2, commit_on_loop: bool = False) -> None:
        self.path = path
        self.commit_on_loop = commit_on_loop  # see the module's docstring
        self.where = path or "the in-memory database"
        self._writer = ThreadPoolExecutor(1, "hubbub-store-write", namer("hubbub-write"))
        self._readers = ThreadPoolExecutor(readers, "hubbub-store-read", namer("hubbub-read")) if path else self._writer
        self._conn: sqlite3.Connection | None = None  # the writer's (and, in memory, everyone's)
        self._local = threading.local()
        self._reader_conns: list[sqlite3.Connection] = []
        self._lock_fd: int | None = None  # holding the lock (_lock)
        self._lock_id: tuple[int, int] | None = None  # the database file's device and inode
        self._legacy_fd: int | None = None  # holding an older hubbub's lock file too (_legacy_lock)
        self._written = 0  # batches handed to the writer
        self._committed = 0  # batches it has finished
        self._progress = threading.Condition()
        self._closed = False
        # batches waiting for the writer, each with the future its caller awaits
        self._queue: deque[tuple[list[Write], asyncio.Future[None]]] = deque()
        self._queue_lock = threading.Lock()
        self._draining = False  # a _drain is submitted to the writer or running
        self._using = threading.Lock()  # whoever holds it may use self._conn
        self._loop: asyncio.AbstractEventLoop | None = None
        self._next_id = 1  # of the next message (given by us: see _index)
        self._indexed = 0  # messages with ids up to this one are in the search index
        self._indexing = False  # an indexing step is submitted to the writer or running
        self._commits = 0  # since the last checkpoint
        self._checkpointing = False
        self._checkpointer: sqlite3.Connection | None = None

    # -- running work off the loop ----------------------------------------------------

    async def _on(self, executor: ThreadPoolExecutor, fn: Callable[[], T]) -> T:
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, fn)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.where}: {exc}") from exc

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        waited_for = self._written

        def run() -> T:
            if self.path is None:  # on the writer, with the writer's connection
                with self._using:
                    self._commit_queued()  # what is queued goes first
                    return fn(self._reader())
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
        self._loop = asyncio.get_running_loop()
        return await self._on(self._writer, self._locked(self._open))

    def _locked(self, fn: Callable[[], T]) -> Callable[[], T]:
        """`fn`, run holding the connection."""

        def run() -> T:
            with self._using:
                return fn()

        return run

    def _open(self) -> Snapshot:
        if self.path is not None:
            self._lock(self.path)
        try:
            return self._start()
        except BaseException:
            self._abandon()
            raise

    def _abandon(self) -> None:
        """After a refused start: the connection closed, then the file let go (in that
        order: see _held), so that this process may try the file again."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._unlock()

    def _start(self) -> Snapshot:
        """The connection opened, the schema migrated, the state read: the snapshot."""
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
            conn.execute("PRAGMA wal_autocheckpoint = 0")  # taken beside the writes instead (_checkpoint)
            self._check(conn)
            self._migrate(conn)
            if self.path is not None:
                # Another program writing (or holding a write lock) would make every commit
                # of ours wait and fail, history lost, while clients chat: refuse to start.
                # A database already in WAL mode lets everything above through regardless.
                conn.execute("PRAGMA busy_timeout = 2000")
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("ROLLBACK")
                conn.execute("PRAGMA busy_timeout = 5000")
            self._indexed = conn.execute("SELECT upto FROM search_indexed").fetchone()[0]
            newest = conn.execute("SELECT MAX(id) FROM messages").fetchone()[0] or 0
            self._next_id = max(newest, self._indexed) + 1
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

    def _check(self, conn: sqlite3.Connection) -> None:
        """Refuse a damaged file at start, wherever the damage is: started on it, a server
        would fail every question that reads there, and every commit that writes there.

        quick_check reads every page once (integrity_check also checks each index against
        its table, three times as long): about 0.4 s per million messages with the file in
        the page cache, about as long as reading the file from the disk when it is not
        (docs/store.md). A start without it reads next to nothing."""
        first = conn.execute("PRAGMA quick_check(1)").fetchone()[0]
        if first != "ok":
            raise StoreError(f"{self.where} is damaged ({' '.join(first.split())})")

    def _lock(self, path: str) -> None:
        """One server per database file: two writers would only make each other wait, and
        two by different names (a symlink, a hard link: a -wal file each) would lose history.
        So the lock is on the file itself (see _OFD), not on the name given, and held
        until close()."""
        check_writable(path)
        target = _lock_path(path)
        with _holding:
            if _file_id(path) in _held:  # by a store of this process: see _held
                raise StoreInUse(f"{path} is in use by another hubbub server")
            try:  # an empty file is an empty database to SQLite; its mode is the one SQLite gives
                fd = os.open(target, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise StoreError(f"cannot open {target}: {exc.strerror}") from exc
            try:
                locked = _try_lock(fd)
            except OSError as exc:
                os.close(fd)  # no store of this process holds the file: no lock of its lost
                raise StoreError(f"cannot lock {target}: {exc.strerror}") from exc
            if not locked:
                os.close(fd)
                raise StoreInUse(f"{path} is in use by another hubbub server")
            try:
                legacy = self._legacy_lock(path, target)
            except StoreError:
                os.close(fd)
                raise
            self._lock_fd, self._lock_id, self._legacy_fd = fd, _file_id(path), legacy
            if self._lock_id is not None:  # None: a NAME.lock, and SQLite has yet to make the file
                _held.add(self._lock_id)

    @staticmethod
    def _legacy_lock(path: str, target: str) -> int | None:
        """The lock hubbub took before schema 5 (flock of NAME.lock beside the file), where
        that file is there: a server of that age still running on the database keeps this
        one out rather than see its file migrated under it, and none starts while this
        one runs (it would refuse the newer schema anyway, once it has read it)."""
        # the name it was given (a symlink's own, as those servers took it) or the file's
        for legacy in dict.fromkeys((path + ".lock", os.path.realpath(path) + ".lock")):
            if legacy == target or not os.path.exists(legacy):
                continue
            try:
                fd = os.open(legacy, os.O_RDWR)
            except OSError:
                continue  # not ours to open: no server of ours can hold it either
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise StoreInUse(f"{path} is in use by another hubbub server (an older one)") from None
                continue
            # held while this server runs (one is enough: an older server started by another
            # name after this one would refuse the newer schema anyway)
            return fd
        return None

    def _unlock(self) -> None:
        """Let the file go; only once this store's connections are closed (see _held)."""
        if self._lock_fd is None:
            return
        with _holding:
            os.close(self._lock_fd)
            if self._legacy_fd is not None:
                os.close(self._legacy_fd)
                self._legacy_fd = None
            if self._lock_id is not None:
                _held.discard(self._lock_id)
        self._lock_fd = self._lock_id = None

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        current = row[0] or 0
        if current > LATEST:
            raise StoreError(f"{self.where} was made by a newer hubbub (schema {current}; this one knows {LATEST})")
        # An upgrade is said, since it cannot be undone: the hubbub that ran before refuses
        # the file from then on (a new file's first migrations are no news).
        upgrading = 0 < current < LATEST
        if upgrading:
            log.info("%s: schema %d, from an earlier hubbub, is migrated to %d: hubbub versions before this one "
                     "refuse the file from now on", self.where, current, LATEST)  # fmt: skip
        for migration in MIGRATIONS:
            if migration.version <= current:
                continue
            conn.execute("BEGIN IMMEDIATE")
            repaired = 0
            try:
                if migration.cleans(current):
                    for statement in (*migration.common, *migration.sqlite):
                        conn.execute(statement)
                    if migration.repair is not None:
                        repaired = _repair(conn, migration.repair)
                conn.execute("INSERT INTO schema_version (version) VALUES (?)", (migration.version,))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            if upgrading:
                log.info("%s: schema migrated to %d (%s)", self.where, migration.version, migration.what)
            if repaired and migration.repair is not None:
                log.info("%s: " + migration.repair.told, self.where, repaired)

    def _snapshot(self, conn: sqlite3.Connection) -> Snapshot:
        certs: dict[str, list[str]] = {}
        for fingerprint, account in conn.execute("SELECT fingerprint, account FROM account_certs ORDER BY fingerprint"):
            certs.setdefault(account, []).append(fingerprint)
        accounts = [
            AccountRecord(key, name, password_hash, scram, email, registered_at, tuple(certs.get(key, ())), vhost)
            for key, name, password_hash, scram, email, registered_at, vhost in conn.execute(
                "SELECT key, name, password_hash, scram, email, registered_at, vhost FROM accounts ORDER BY key"
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
                          tuple(lists.get(key, ())), tuple(access.get(key, ())), flood, join_flood)  # fmt: skip
            for key, name, founder, registered_at, topic, topic_by, topic_time, modes, join_key, limit, flood,
            join_flood
            in conn.execute(
                "SELECT key, name, founder, registered_at, topic, topic_by, topic_time, modes, join_key, member_limit, "
                "flood, join_flood FROM channels ORDER BY key"
            )
        ]
        klines = [
            KlineRecord(*row)
            for row in conn.execute("SELECT mask, reason, set_by, set_at, expires FROM klines ORDER BY set_at, mask")
        ]
        closed = tuple(key for (key,) in conn.execute("SELECT key FROM closed_channels ORDER BY key"))
        live = tuple(key for (key,) in conn.execute("SELECT key FROM live_channels ORDER BY key"))
        latest_ms = conn.execute("SELECT MAX(time_ms) FROM messages").fetchone()[0] or 0  # messages_by_time
        row = conn.execute(_DECOY_SECRET).fetchone()
        newest = conn.execute(_DEPARTURES, (REMEMBERED,)).fetchall()
        departures = tuple(reversed([Departure(a, c, ms / 1000) for a, c, ms in newest]))
        return Snapshot(accounts, channels, klines, closed, latest_ms, row[0] if row else "", departures, live=live)

    # -- writing ----------------------------------------------------------------------

    def write(self, batch: Sequence[Write]) -> asyncio.Future[None]:
        self._written += 1
        done = asyncio.get_running_loop().create_future()
        if self.commit_on_loop and not self._draining and self._using.acquire(blocking=False):
            try:  # nothing queued, nothing running: commit it now
                failures = self._commit([list(batch)])
            finally:
                self._using.release()
            _settle([done], failures)
            self._after_commit()
            return done
        with self._queue_lock:
            self._queue.append((list(batch), done))
            start, self._draining = not self._draining, True
        if start:
            self._writer.submit(self._drain)
        return done

    def _drain(self) -> None:
        """The writer's job: commit what is queued; again later if more came meanwhile
        (behind any other job submitted meanwhile)."""
        try:
            with self._using:
                self._commit_queued()
        finally:
            with self._queue_lock:
                again = self._draining = bool(self._queue)
            if again:
                self._writer.submit(self._drain)
        self._after_commit()

    def _commit_queued(self) -> None:
        """Commit every queued batch, together, and tell each caller how it went (holding
        the connection)."""
        with self._queue_lock:
            if not self._queue:
                return
            group = list(self._queue)
            self._queue.clear()
        failures = self._commit([batch for batch, _ in group])
        if self._loop is not None:
            try:
                self._loop.call_soon_threadsafe(_settle, [done for _, done in group], failures)
            except RuntimeError:  # the loop is closed: nobody waits any more
                pass

    def _commit(self, batches: list[list[Write]]) -> list[BaseException | None]:
        """Commit `batches` in one transaction (holding the connection); what went wrong
        with each. One bad batch must not sink the others: after a failure each is tried
        on its own, to know which."""
        failures: list[BaseException | None] = [None] * len(batches)
        try:
            self._transaction(batches)
        except Exception:
            for i, batch in enumerate(batches):
                try:
                    self._transaction([batch])
                except sqlite3.Error as exc:
                    failures[i] = StoreError(f"{self.where}: {exc}")
                except Exception as exc:
                    failures[i] = exc
        finally:
            with self._progress:  # readers waiting for these batches may go on
                self._committed += len(batches)
                self._progress.notify_all()
        self._commits += 1
        return failures

    def _after_commit(self) -> None:
        """Hand the writer an indexing step or a checkpoint when one is due."""
        if self._closed:
            return
        if self._next_id - 1 - self._indexed >= INDEX_EVERY and not self._indexing:
            self._indexing = True
            self._writer.submit(self._index_step)
        elif self._commits >= CHECKPOINT_EVERY and not self._checkpointing and self.path is not None:
            self._checkpointing = True
            self._writer.submit(self._checkpoint)

    def _index_step(self) -> None:
        try:
            with self._using:
                self._index()
        except sqlite3.Error as exc:  # tried again at the next step, or by the next search
            log.error("%s: could not index messages for search: %s", self.where, exc)
        finally:
            self._indexing = False
        if self.path is not None and not self._checkpointing:
            self._checkpointing = True
            self._checkpoint()

    def _checkpoint(self) -> None:
        """Copy the log into the database file, beside the writes: a connection of its own,
        and PASSIVE, which never waits for (nor stops) a writer or a reader."""
        try:
            self._commits = 0
            if self._checkpointer is None:
                assert self.path is not None
                self._checkpointer = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as exc:
            log.warning("%s: checkpoint failed: %s", self.where, exc)
        finally:
            self._checkpointing = False

    def _transaction(self, batches: list[list[Write]]) -> None:
        conn = self._conn
        assert conn is not None
        next_id = self._next_id
        conn.execute("BEGIN IMMEDIATE")
        try:
            rows: list[tuple[Any, ...]] = []
            for batch in batches:
                for op in batch:
                    if type(op) is AddMessage:
                        rows.append(_row(next_id, op.message))
                        next_id += 1
                        continue
                    if rows:
                        _insert(conn, rows)
                        rows = []
                    self._apply(conn, op)
            if rows:
                _insert(conn, rows)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        self._next_id = next_id

    def _index(self) -> None:
        """Add the messages stored since the last time to the search index, in one
        transaction with the mark of how far it goes.

        Ids are given by the writer and never reused (not even the last one's after it is
        deleted), so that "every id up to the mark" stays true of the index; the trigger
        that removes deleted messages from the index only acts below the mark."""
        conn = self._conn
        assert conn is not None
        upto = self._next_id - 1
        if upto <= self._indexed:
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(_INDEX, (self._indexed,))
            conn.execute("UPDATE search_indexed SET upto = ?", (upto,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        self._indexed = upto

    def _index_all(self) -> None:
        """Commit what is queued and index everything (before a search, at the end)."""
        with self._using:
            self._commit_queued()
            self._index()

    def _apply(self, conn: sqlite3.Connection, op: Write) -> None:
        if isinstance(op, DeleteMessage):
            conn.execute("DELETE FROM messages WHERE target = ? AND msgid = ?", (op.target, op.msgid))
        elif isinstance(op, ForgetConversation):
            conn.execute("DELETE FROM messages WHERE target = ?", (op.target,))
            conn.execute("DELETE FROM read_markers WHERE target = ?", (op.target,))
            conn.execute("DELETE FROM closed_channels WHERE key = ?", (op.target,))
            conn.execute("DELETE FROM live_channels WHERE key = ?", (op.target,))
        elif isinstance(op, ForgetSilentChannel):
            conn.execute(FORGET_SILENT, (op.key, to_ms(op.time), to_us(op.time)))
            conn.execute("DELETE FROM live_channels WHERE key = ?", (op.key,))
        elif isinstance(op, LiveChannel):
            conn.execute("INSERT OR IGNORE INTO live_channels (key) VALUES (?)", (op.key,))
        elif isinstance(op, ClosedChannel):
            if op.closed:
                conn.execute("INSERT OR IGNORE INTO closed_channels (key) VALUES (?)", (op.key,))
            else:
                conn.execute("DELETE FROM closed_channels WHERE key = ?", (op.key,))
        elif isinstance(op, PutAccount):
            a = op.account
            written = conn.execute(
                "INSERT INTO accounts (key, name, password_hash, scram, email, registered_at, vhost) "
                f"VALUES (?, ?, ?, ?, ?, ?, ?) {ACCOUNT_UPDATE}",
                (a.key, a.name, a.password_hash, a.scram, a.email, a.registered_at, a.vhost),
            )
            if written.rowcount == 0:  # another registration's row: kept, with its certificates
                stored = conn.execute("SELECT registered_at FROM accounts WHERE key = ?", (a.key,)).fetchone()
                refused_account(self.where, a, stored[0] if stored else None)
                return
            conn.execute("DELETE FROM account_certs WHERE account = ?", (a.key,))
            conn.executemany(
                "INSERT OR REPLACE INTO account_certs (fingerprint, account) VALUES (?, ?)",
                [(fp, a.key) for fp in a.certfps],
            )
        elif isinstance(op, PutVhost):
            conn.execute("UPDATE accounts SET vhost = ? WHERE key = ? AND registered_at = ?",
                         (op.vhost, op.key, op.registered_at))  # fmt: skip
        elif isinstance(op, DeleteAccount):
            if op.registered_at is None:
                conn.execute("DELETE FROM accounts WHERE key = ?", (op.key,))
            else:
                deleted = conn.execute(
                    "DELETE FROM accounts WHERE key = ? AND registered_at = ?", (op.key, op.registered_at)
                ).rowcount
                if not deleted and conn.execute("SELECT 1 FROM accounts WHERE key = ?", (op.key,)).fetchone():
                    return  # another registration of the name is stored: it and what it holds stay (accounts.py)
            conn.execute("DELETE FROM account_certs WHERE account = ?", (op.key,))
            conn.execute("DELETE FROM read_markers WHERE account = ?", (op.key,))
            conn.execute("DELETE FROM departures WHERE account = ?", (op.key,))
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
                "modes, join_key, member_limit, flood, join_flood) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (c.key, c.name, c.founder, c.registered_at, c.topic, c.topic_by, c.topic_time, c.modes,
                 c.join_key, c.limit, c.flood, c.join_flood),  # fmt: skip
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
            masks = cases_of(op.mask, [mask for (mask,) in conn.execute("SELECT mask FROM klines")])
            conn.executemany("DELETE FROM klines WHERE mask = ?", [(mask,) for mask in masks])
        elif isinstance(op, ForgetExpiredKlines):
            conn.execute("DELETE FROM klines WHERE expires IS NOT NULL AND expires <= ?", (op.until,))
        elif isinstance(op, PutDepartures):
            conn.executemany(
                "INSERT INTO departures (account, channel, time_ms) VALUES (?, ?, ?) "
                "ON CONFLICT (account, channel) DO UPDATE SET time_ms = MAX(time_ms, excluded.time_ms)",
                [(d.account, d.channel, departure_ms(d.time)) for d in op.departures],
            )
            conn.execute(_DEPARTURES_KEPT, (REMEMBERED - 1,))
        elif isinstance(op, PutMarker):
            conn.execute(
                "INSERT INTO read_markers (account, target, time_ms) VALUES (?, ?, ?) "
                "ON CONFLICT (account, target) DO UPDATE SET time_ms = MAX(time_ms, excluded.time_ms)",
                (op.account, op.target, to_ms(op.time)),
            )
        elif isinstance(op, CopyMarkers):
            conn.execute(
                "INSERT INTO read_markers (account, target, time_ms) "
                "SELECT account, ?, time_ms FROM read_markers WHERE target = ? "
                "ON CONFLICT (account, target) DO UPDATE SET time_ms = MAX(time_ms, excluded.time_ms)",
                (op.target, op.source),
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
        self, keys: Sequence[str], dm_account: str | None, after: float, before: float, limit: int,
        from_after: bool = False,
    ) -> list[tuple[str, float]]:
        def run(conn: sqlite3.Connection) -> list[tuple[str, float]]:
            found: list[tuple[str, int, int]] = []  # (key, its latest ms, and µs: they order one ms)
            lo, hi = to_ms(after), to_ms(before)
            for key in keys:
                row = conn.execute(
                    "SELECT MAX(time_ms), MAX(time_us) FROM messages WHERE target = ? AND time_ms > ? AND time_ms < ?",
                    (key, lo, hi),
                ).fetchone()
                if row[0] is not None:
                    found.append((key, row[0], row[1]))
            if dm_account is not None:
                found += conn.execute(
                    "SELECT target, MAX(time_ms), MAX(time_us) FROM messages WHERE target >= 'dm:' AND target < 'dm;' "
                    "AND (target LIKE ? ESCAPE '\\' OR target LIKE ? ESCAPE '\\') AND time_ms > ? AND time_ms < ? "
                    "GROUP BY target",
                    (*dm_patterns(dm_account), lo, hi),
                ).fetchall()
            found.sort(key=lambda item: item[1:], reverse=not from_after)
            chosen = sorted(found[:limit], key=lambda item: item[1:], reverse=True)  # shown newest first
            return [(key, time_ms / 1000) for key, time_ms, _ in chosen]

        return await self._read(run)

    async def search(self, query: SearchQuery) -> list[StoredMessage]:
        if query.text.strip():  # the words of every message handed over so far must be found
            await self._on(self._writer, self._index_all)
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
                    f"SELECT target FROM messages WHERE {PLAIN} GROUP BY target HAVING COUNT(*) > ?", (per_target,)
                ).fetchall()
                for (target,) in crowded:
                    forgotten += conn.execute(
                        "DELETE FROM messages WHERE target = ? AND (time_ms, time_us, id) <= "
                        f"(SELECT time_ms, time_us, id FROM messages WHERE target = ? AND {PLAIN} "
                        "ORDER BY time_ms DESC, time_us DESC, id DESC LIMIT 1 OFFSET ?)",
                        (target, target, per_target),
                    ).rowcount
            return forgotten

        return await self._on(self._writer, self._locked(run))

    async def ping(self) -> None:
        await self._read(lambda conn: conn.execute("SELECT 1").fetchone())

    def backlog(self) -> Backlog:
        return Backlog(sum(len(batch) for batch, _ in self._queue), False, 0)  # a local file: never behind

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True

        def shut() -> None:
            if self._conn is not None:
                try:
                    self._index_all()
                except sqlite3.Error:
                    pass  # what is not indexed now will be at the next start's first search
                with self._using:
                    self._conn.close()
            for conn in (*self._reader_conns, *([self._checkpointer] if self._checkpointer else [])):
                conn.close()
            self._unlock()

        if self._readers is not self._writer:
            self._readers.shutdown(wait=True)
        await asyncio.get_running_loop().run_in_executor(self._writer, shut)
        self._writer.shutdown(wait=True)


def _settle(waiting: list[asyncio.Future[None]], failures: list[BaseException | None]) -> None:
    for done, failure in zip(waiting, failures, strict=True):
        if done.done():
            continue
        if failure is None:
            done.set_result(None)
        else:
            done.set_exception(failure)


# -- the questions, in SQL (run on a reader thread) -----------------------------------------


def _answer(conn: sqlite3.Connection, query: HistoryQuery, question: history.Question) -> Any:
    if isinstance(question, history.Locate):
        row = conn.execute(f"{_SELECT} WHERE target = ? AND msgid = ?", (query.target, question.msgid)).fetchone()
        return history.Located((row[3], row[4], row[0]), stored_message(row)) if row else None
    rows = conn.execute(*_page_sql(query, question)).fetchall()
    if question.newest:
        rows.reverse()
    return [stored_message(row) for row in rows]


def _page_sql(query: HistoryQuery, page: history.Page) -> tuple[str, list[Any]]:
    where = ["target = ?"]
    args: list[Any] = [query.target]
    if not query.events:
        where.append(PLAIN)
    # Row values, not `time_ms < ? OR (time_ms = ? AND id < ?)`: SQLite turns them into a
    # range of the (target, time_ms, time_us, id) index, where the OR made it walk the conversation
    # from its end to the bound (40 ms in the middle of a million messages, 0.1 ms now).
    if page.above is not None:
        where.append("(time_ms, time_us, id) > (?, ?, ?)")
        args += page.above
    if page.below is not None:
        where.append("(time_ms, time_us, id) < (?, ?, ?)")
        args += page.below
    order = "DESC" if page.newest else "ASC"
    ordered = f"ORDER BY time_ms {order}, time_us {order}, id {order}"
    return f"{_SELECT} WHERE {' AND '.join(where)} {ordered} LIMIT ?", [*args, page.limit]


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
        ordered = "ORDER BY m.time_ms DESC, m.time_us DESC, m.id DESC"
        sql = f"SELECT {cols} FROM messages m WHERE {' AND '.join(where)} {ordered} LIMIT ?"
        rows = conn.execute(sql, (*args, query.limit)).fetchall()
    rows.sort(key=lambda row: (row[3], row[4], row[0]))
    return [stored_message(row) for row in rows]
