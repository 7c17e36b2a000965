"""The PostgreSQL store: one database shared by every node of a network (asyncpg).

Where SQLite serves one process, PostgreSQL is what several hubbub nodes share: each one
records the whole ordered event stream, so the same message, account or channel arrives
from every node. Writes are therefore idempotent: a message is inserted once per
(conversation, msgid) and the copies are ignored (`ON CONFLICT DO NOTHING`); accounts,
channels, K-lines and read markers are upserts (a marker only moves forward). What is
rewritten as a whole (an account's certificates, a channel's lists and access) is
rewritten after the upsert of its account's or channel's row: that row stays locked
until the commit, so two nodes rewriting the same channel take turns, and the second
(READ COMMITTED: a fresh view for each statement) deletes what the first wrote before
writing its own. A batch that lost a deadlock or its connection is tried again: being
idempotent, it may be.

Connections come from one pool: `readers` for queries, one for the writer; they live as
long as the pool (one of them holds the accounts lock: pglock.py). Batches are
committed in the order they were handed over, and those handed over while a commit is
under way are committed together after it, in one transaction: a commit returns once
PostgreSQL has it on disk (`synchronous_commit` as the server is configured; on by
default), so a transaction per batch (one per event-loop iteration) would cap the
messages stored per second at the commits per second. A query first waits for the
batches handed over before it, so a client asking for history sees its own last message.

At start-up the schema is migrated in one transaction under an advisory lock: nodes
starting together migrate once, the others wait and find it done. Before that, a server
takes hubbub's accounts lock, shared, and holds it while it runs; `hubbub account`
takes it alone to change accounts (pglock.py).

An account's row is written only by its own registration: a write carries the
account's registration time, and a row of the same name registered at another time (by
`hubbub account` under a running server, or by another server that is no node of this
one's cluster) is kept as it is, with its certificates, the write left out and logged as
an error (store/accounts.py). A write never replaces someone else's account.

Credentials and TLS come from the URL, as libpq reads them
(`postgresql://user:password@host:5432/db?sslmode=verify-full&sslrootcert=ca.pem`),
or from the usual PG* environment variables and ~/.pgpass. The password never appears
in a message.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import os
import socket
import ssl
import urllib.parse
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any, NamedTuple, TypeVar

import asyncpg

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
    StoreBehind,
    StoredMessage,
    StoreError,
    Write,
)
from hubbub.store import Claim, history
from hubbub.store.accounts import ACCOUNT_UPDATE, refused_account
from hubbub.store.pglock import AccountsLock
from hubbub.store.rows import (
    COLUMNS,
    FORGET_SILENT,
    PLAIN,
    departure_ms,
    dm_patterns,
    like_escaped,
    message_row,
    stored_message,
    to_ms,
    to_us,
)
from hubbub.store.schema import DECOY_SECRET as _DECOY_SECRET
from hubbub.store.schema import DEPARTURES, DEPARTURES_KEPT, LATEST, MIGRATIONS, Repair

log = logging.getLogger("hubbub.store")
T = TypeVar("T")

_SELECT = f"SELECT id, {COLUMNS} FROM messages"
_INSERT = (f"INSERT INTO messages ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
           "ON CONFLICT (target, msgid) DO NOTHING")  # fmt: skip
_FORGET_SILENT = FORGET_SILENT.replace("?", "$")
_FOLDED = "translate(target, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"  # casemap.casefold
SEARCH_CONFIG = "hubbub_search"  # the text search configuration of the schema (schema.py)
_UNACCENTED = (  # whether that configuration takes accents off words
    "SELECT EXISTS (SELECT FROM pg_ts_config_map m JOIN pg_ts_dict d ON d.oid = m.mapdict "
    f"WHERE m.mapcfg = '{SEARCH_CONFIG}'::regconfig AND d.dictname = 'unaccent')"
)

# Advisory lock keys ("hubbub" and a number), one per thing done by one node at a time.
_SCHEMA_LOCK = 0x6875_6262_7562_0001
PRUNE_LOCK = 0x6875_6262_7562_0002

CONNECT_TIMEOUT = 10.0  # seconds; `connect_timeout` in the URL changes it, as with libpq
ATTEMPTS = 3  # for a batch or a query whose connection dropped, or that lost a deadlock
# While PostgreSQL is out of reach or does not answer, chat goes on: output waits for a
# commit `store.output_wait` seconds at most, then goes without it, and so does every
# later output until a commit is prompt again; the writes are kept, in order, and
# committed when the database answers (tried again every RETRY seconds, at most).
QUERY_TIMEOUT = 15.0  # seconds without an answer to a query or a commit: the database is out of reach
RETRY = 5.0
KEPT_MAX = 200_000  # writes kept meanwhile; past it the oldest messages of history are let go
CLOSE_WAIT = 5.0  # seconds a stopping server gives the kept writes to be committed

# Worth trying again: the transaction lost a deadlock or a serialization conflict, or the
# connection went away (the server restarted, a proxy dropped it). Everything else is not.
_TRANSIENT: tuple[type[BaseException], ...] = (
    asyncpg.TransactionRollbackError,
    asyncpg.PostgresConnectionError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.AdminShutdownError,
    asyncpg.CannotConnectNowError,
    ConnectionError,
    # An idle pooled connection PostgreSQL has just ended (a restart, pg_terminate_backend),
    # caught between reading the server's farewell and seeing its socket close: asyncpg
    # refuses to start a query on it ("another operation is in progress"). Another
    # connection of the pool will do.
    asyncpg.InternalClientError,
)
_FAILURES: tuple[type[BaseException], ...] = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)
# The database is out of reach (rather than refusing the write): what failed is kept.
_OUT_OF_REACH: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.AdminShutdownError,
    asyncpg.CannotConnectNowError,
    OSError,  # ConnectionError among them
    TimeoutError,
)
_CONNECT_FAILURES: tuple[type[BaseException], ...] = (*_FAILURES, ValueError)  # ValueError: a URL asyncpg cannot read


class Address(NamedTuple):
    """Where a URL points, for messages: everything but the password."""

    host: str
    port: str
    database: str
    user: str

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 address
        where = f"{host}:{self.port}" if self.port else self.host
        return f"PostgreSQL at {where} (database {self.database}, user {self.user})"


def parse_url(url: str) -> tuple[str, Address, float, str | None]:
    """(the URL for asyncpg, where it points, the connect timeout, the password or None).

    `connect_timeout` is libpq's parameter, which asyncpg does not read: it is taken out
    here. What the URL leaves out comes from the PG* environment variables, then from
    libpq's defaults, as asyncpg does it."""
    parts = _split(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    params = dict(query)
    timeout = CONNECT_TIMEOUT
    if "connect_timeout" in params:
        try:
            timeout = float(params["connect_timeout"])
        except ValueError:
            raise StoreError(f"connect_timeout in the PostgreSQL URL is not a number of seconds: "
                             f"{params['connect_timeout']!r}") from None  # fmt: skip
        query = [(k, v) for k, v in query if k != "connect_timeout"]
    dsn = urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))
    hostspec = parts.netloc.rpartition("@")[2]
    hosts = [_host_and_port(written) for written in hostspec.split(",")]
    host, port = hosts[0] if len(hosts) == 1 else (hostspec, "")  # several: asyncpg tries each
    host = params.get("host") or host or os.environ.get("PGHOST", "localhost")
    user = params.get("user") or urllib.parse.unquote(parts.username or "") or os.environ.get("PGUSER", "")
    user = user or getpass.getuser()
    database = (params.get("dbname") or params.get("database") or urllib.parse.unquote(parts.path.lstrip("/"))
                or os.environ.get("PGDATABASE", "") or user)  # fmt: skip
    password = params.get("password") or (urllib.parse.unquote(parts.password) if parts.password else None)
    if not port and "," not in host:
        if params.get("port"):
            port = _checked_port(params["port"], f"port={params['port']}")
        else:
            port = _checked_port(os.environ.get("PGPORT", ""), f"PGPORT={os.environ.get('PGPORT', '')}") or "5432"
    return dsn, Address(host, port, database, user), timeout, password


_NOT_A_HOST = "its host is not HOST, HOST:PORT or [IPv6]:PORT"


def _split(url: str) -> urllib.parse.SplitResult:
    """The URL's parts, or a StoreError saying why there are none (an unclosed IPv6 bracket).

    Said in our words: urllib's own may quote the URL's user and password."""
    try:
        return urllib.parse.urlsplit(url)
    except ValueError as exc:
        why = _NOT_A_HOST if "IPv" in str(exc) else "characters a URL may not have before its path"
        raise StoreError(f"the PostgreSQL URL cannot be read: {why}") from None


def _host_and_port(written: str) -> tuple[str, str]:
    """One `HOST[:PORT]` of the URL (HOST may be `[IPv6]`, or a percent-encoded socket folder).

    A port that is not one is refused here, naming what was written: past this point,
    asyncpg would say `invalid literal for int()` or fail to connect, and urllib (whose
    .port refuses it) would leave no port to name."""
    if written.startswith("[") and "]" in written:
        host, _, rest = written[1:].partition("]")
        colon, port = rest[:1], rest[1:]
        if rest and colon != ":":
            raise StoreError(f"the PostgreSQL URL cannot be read: {_NOT_A_HOST} ({written})")
    else:
        host, colon, port = written.rpartition(":")
        if not colon:
            host, port = written, ""
    return urllib.parse.unquote(host), _checked_port(port, written)


def _checked_port(port: str, written: str) -> str:
    """`port` ("" for none), unless it is not a TCP port: then a StoreError naming `written`."""
    if port and not (port.isascii() and port.isdigit() and 0 < int(port) <= 65535):
        raise StoreError(f"the PostgreSQL port is not a port number (1 to 65535): {written}")
    return port


def shown_url(url: str) -> str:
    """`url` without its password (for the log)."""
    parts = _split(url)
    netloc = parts.netloc
    if "@" in netloc:
        auth, _, hostspec = netloc.rpartition("@")
        netloc = f"{auth.partition(':')[0]}@{hostspec}"
    query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
             if k not in ("password", "sslpassword")]  # fmt: skip
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc, query=urllib.parse.urlencode(query)))


async def _nothing_to_reset(conn: asyncpg.Connection) -> None:
    """A connection goes back to the pool as it came: hubbub sets no session setting,
    listens to nothing and takes advisory locks for a transaction only (an unfinished
    transaction is still rolled back by the pool), but for the accounts lock, which must
    stay with its connection (pglock.py). Skipping the reset saves a round trip on every
    write and query."""


# The pool's connections are never replaced after so many queries (asyncpg's default is
# 50000): one of them holds the accounts lock, which would go with it (pglock.py).
# asyncpg's statement cache is bounded, so a long-lived connection does not grow.
_FOREVER = 2**62


def _count(status: str) -> int:
    """The row count of a command status ("DELETE 3")."""
    return int(status.rsplit(" ", 1)[-1])


async def _repair(conn: asyncpg.Connection, repair: Repair) -> int:
    """Run a migration's repair in its transaction; how many keys it took."""
    keys = repair.keys(await conn.fetch(repair.query))
    for statement in repair.deletes:
        await conn.executemany(statement.replace("?", "$1"), [(key,) for key in keys])
    return len(keys)


class PostgresStore:
    def __init__(self, url: str, readers: int = 2, claim: Claim = Claim.SERVING, output_wait: float = 2.0) -> None:
        self.path = url  # what opens the same database again
        self._dsn, self.address, self._timeout, self._password = parse_url(url)
        self._readers = readers
        self._claim = claim
        self._lock: AccountsLock | None = None  # hubbub's accounts lock, as the claim says (open)
        self._pool: asyncpg.Pool | None = None
        self._reading = asyncio.Semaphore(readers)  # the pool's last connection is the writer's
        self._queue: list[tuple[list[Write], asyncio.Future[None]]] = []  # waiting for the writer
        self._writer: asyncio.Task[None] | None = None  # committing what is queued, in order
        self._pending: set[asyncio.Future[None]] = set()  # batches handed over, not yet committed
        self._output_wait = output_wait or None  # 0: for ever
        self._behind: str | None = None  # why output no longer waits for commits (see store.output_wait)
        self._fell_behind = asyncio.Event()  # set while _behind is: a stop waiting for a commit stops waiting
        self.let_go = 0  # messages of history not kept while the database was out of reach
        self._others = 0  # other servers holding the accounts lock when this one took it (pglock.py)
        self._closed = False

    # -- errors -----------------------------------------------------------------------

    def _reason(self, exc: BaseException) -> str:
        """What went wrong, in one line, without the password."""
        if isinstance(exc, ConnectionRefusedError):
            text = "connection refused (is PostgreSQL running and listening there?)"
        elif isinstance(exc, socket.gaierror):
            text = f"unknown host ({exc.strerror})"
        elif isinstance(exc, TimeoutError):
            text = f"no answer within {self._timeout:g} s"
        elif isinstance(exc, ssl.SSLCertVerificationError):
            text = f"its TLS certificate is not trusted ({exc.verify_message})"
        elif isinstance(exc, asyncpg.PostgresError):
            text = exc.args[0] if exc.args else type(exc).__name__
        elif isinstance(exc, OSError) and exc.strerror:
            text = exc.strerror
        else:
            text = str(exc) or type(exc).__name__
        if self._password:
            text = text.replace(self._password, "***")
        return " ".join(text.split())

    def _error(self, exc: BaseException) -> StoreError:
        return StoreError(f"{self.address}: {self._reason(exc)}")

    async def _attempts(
        self, fn: Callable[[asyncpg.Connection], Awaitable[T]], what: str, timeout: float | None = QUERY_TIMEOUT
    ) -> T:
        """`fn` on a pooled connection, again on a fresh one if the first was lost; a
        TimeoutError past `timeout` seconds (a database that does not answer must not
        hold a client's history request, or the writes, for ever)."""
        pool = self._pool
        assert pool is not None
        for attempt in range(1, ATTEMPTS + 1):
            try:
                async with asyncio.timeout(timeout):
                    conn = await pool.acquire()
                try:
                    async with asyncio.timeout(timeout):
                        return await fn(conn)
                except TimeoutError:
                    # A server that does not answer would not answer the cancellation
                    # either, which releasing the connection waits for: it is dropped
                    # (the pool opens another).
                    conn.terminate()
                    raise
                except asyncpg.InternalClientError:
                    # the connection's protocol is in a state asyncpg refuses (ended under
                    # it, _TRANSIENT): not lent out again, whatever the pool would do
                    conn.terminate()
                    raise
                finally:
                    await pool.release(conn)
            except TimeoutError as exc:
                if timeout is None:  # asyncpg's own (connecting)
                    raise self._error(exc) from exc
                raise StoreError(f"{self.address}: no answer within {timeout:g} s") from exc
            except _TRANSIENT as exc:
                if attempt == ATTEMPTS:
                    raise self._error(exc) from exc
                if self._behind is None:  # known to be out of reach: said once already
                    log.warning("%s: %s; trying again", what, self._reason(exc))
                await asyncio.sleep(0.05 * attempt)  # a restarting server, a deadlock's other side
            except _FAILURES as exc:
                raise self._error(exc) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    # -- opening ----------------------------------------------------------------------

    def _check_files(self) -> None:
        """The TLS files the URL names, readable (the TLS layer would not say which one is not)."""
        params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self._dsn).query))
        for name in ("sslrootcert", "sslcert", "sslkey", "sslcrl"):
            path = params.get(name)
            if path and path != "system":
                try:
                    with open(os.path.expanduser(path), "rb"):
                        pass
                except OSError as exc:
                    raise StoreError(f"cannot connect to {self.address}: {name} {path}: {exc.strerror}") from None

    async def open(self) -> Snapshot:
        self._check_files()
        try:
            self._pool = await asyncpg.create_pool(
                self._dsn, min_size=self._readers + 1, max_size=self._readers + 1, timeout=self._timeout,
                max_inactive_connection_lifetime=0, max_queries=_FOREVER, reset=_nothing_to_reset,
            )  # fmt: skip
        except _CONNECT_FAILURES as exc:
            raise StoreError(f"cannot connect to {self.address}: {self._reason(exc)}") from None
        try:
            await self._take_lock()  # before anything is read: what is read is what the lock covers
            async with self._pool.acquire() as conn:
                await self._migrate(conn)
                if not await conn.fetchval(_UNACCENTED):
                    log.warning("%s: search is accent-sensitive (the unaccent extension could not be created "
                                "with the schema)", self.address)  # fmt: skip
                return await self._snapshot(conn)
        except BaseException as exc:
            if self._lock is not None:
                await self._lock.release()
            await self._pool.close()
            self._pool = None
            if isinstance(exc, _FAILURES):
                raise self._error(exc) from None
            raise

    async def _take_lock(self) -> None:
        """hubbub's accounts lock, as the claim says (pglock.py): shared for a server,
        alone for `hubbub account` changing accounts, none for reading them. On one of
        the pool's connections, held until the pool closes."""
        if self._claim is Claim.READING:
            return
        assert self._pool is not None
        self._lock = AccountsLock(self._pool, str(self.address), self._reason)
        if self._claim is Claim.SERVING:
            self._others = await self._lock.serve()
        else:
            await self._lock.change()

    async def _migrate(self, conn: asyncpg.Connection) -> None:
        """Bring the schema to LATEST, once, whoever else is starting now."""
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _SCHEMA_LOCK)
            await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            current = await conn.fetchval("SELECT MAX(version) FROM schema_version") or 0
            if current > LATEST:
                raise StoreError(f"{self.address} was made by a newer hubbub (schema {current}; "
                                 f"this one knows {LATEST})")  # fmt: skip
            for migration in MIGRATIONS:
                if migration.version <= current:
                    continue
                repaired = 0
                if migration.cleans(current):
                    for statement in (*migration.common, *migration.postgresql):
                        await conn.execute(statement)
                    if migration.repair is not None:
                        repaired = await _repair(conn, migration.repair)
                await conn.execute("INSERT INTO schema_version (version) VALUES ($1)", migration.version)
                log.info("%s: schema migrated to %d (%s)", self.address, migration.version, migration.what)
                if repaired and migration.repair is not None:
                    log.info("%s: " + migration.repair.told, self.address, repaired)

    async def _snapshot(self, conn: asyncpg.Connection) -> Snapshot:
        async with conn.transaction(isolation="repeatable_read", readonly=True):  # one consistent view
            certs: dict[str, list[str]] = {}
            for fingerprint, account in await conn.fetch(
                'SELECT fingerprint, account FROM account_certs ORDER BY fingerprint COLLATE "C"'
            ):
                certs.setdefault(account, []).append(fingerprint)
            accounts = [
                AccountRecord(key, name, password_hash, scram, email, registered_at, tuple(certs.get(key, ())), vhost)
                for key, name, password_hash, scram, email, registered_at, vhost in await conn.fetch(
                    "SELECT key, name, password_hash, scram, email, registered_at, vhost FROM accounts "
                    'ORDER BY key COLLATE "C"'
                )
            ]
            lists: dict[str, list[tuple[str, str, str, int]]] = {}
            for channel, letter, mask, set_by, set_at in await conn.fetch(
                'SELECT channel, letter, mask, set_by, set_at FROM channel_lists ORDER BY channel COLLATE "C", position'
            ):
                lists.setdefault(channel, []).append((letter, mask, set_by, set_at))
            access: dict[str, list[tuple[str, str]]] = {}
            for channel, account, modes in await conn.fetch(
                'SELECT channel, account, modes FROM channel_access ORDER BY channel COLLATE "C", account COLLATE "C"'
            ):
                access.setdefault(channel, []).append((account, modes))
            channels = [
                ChannelRecord(key, name, founder, registered_at, topic, topic_by, topic_time, modes, join_key, limit,
                              tuple(lists.get(key, ())), tuple(access.get(key, ())), flood, join_flood)  # fmt: skip
                for key, name, founder, registered_at, topic, topic_by, topic_time, modes, join_key, limit, flood,
                join_flood
                in await conn.fetch(
                    "SELECT key, name, founder, registered_at, topic, topic_by, topic_time, modes, join_key, "
                    'member_limit, flood, join_flood FROM channels ORDER BY key COLLATE "C"'
                )
            ]
            klines = [
                KlineRecord(*row)
                for row in await conn.fetch(
                    'SELECT mask, reason, set_by, set_at, expires FROM klines ORDER BY set_at, mask COLLATE "C"'
                )
            ]
            closed = tuple(
                row[0] for row in await conn.fetch('SELECT key FROM closed_channels ORDER BY key COLLATE "C"')
            )
            live = tuple(row[0] for row in await conn.fetch('SELECT key FROM live_channels ORDER BY key COLLATE "C"'))
            latest_ms = await conn.fetchval("SELECT MAX(time_ms) FROM messages") or 0  # messages_by_time
            decoy = await conn.fetchval(_DECOY_SECRET) or ""
            left = await conn.fetch(DEPARTURES.replace("?", "$1"), REMEMBERED)
        departures = tuple(reversed([Departure(a, c, ms / 1000) for a, c, ms in left]))
        return Snapshot(accounts, channels, klines, closed, latest_ms, decoy, departures, self._others, live)

    # -- writing ----------------------------------------------------------------------

    def write(self, batch: Sequence[Write]) -> asyncio.Future[None]:
        """Hand a batch over; the future is done when it is committed, or fails with
        StoreBehind when output is not to wait for it (it is kept and committed later)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((list(batch), done))
        if self._behind is None:
            self._pending.add(done)
        else:
            done.set_exception(StoreBehind(f"{self.address}: {self._behind}"))
        if self._writer is None:
            self._writer = asyncio.create_task(self._drain())
        return done

    async def _drain(self) -> None:
        """Commit what is queued, and what is queued meanwhile, until nothing is; through
        an outage, keep it all, in order, and try again until the database answers."""
        group: list[tuple[list[Write], asyncio.Future[None]]] = []
        loop = asyncio.get_running_loop()
        slow = "PostgreSQL is slow to commit; output goes on without waiting for it"
        retry = 0.5
        try:
            while self._queue:
                group, self._queue = self._queue, []
                started = loop.time()
                # Committed right here, as before there was an outage to ride: a timer, no
                # task, lets the output go should the commit take too long
                late = None if self._output_wait is None else loop.call_later(self._output_wait, self._fall_behind,
                                                                              group, slow)  # fmt: skip
                try:
                    failures = await self._commit([batch for batch, _ in group])
                except _OutOfReach as exc:
                    self._fall_behind(group, f"{exc.reason}; the writes are kept until it answers")
                    self._queue[:0] = group  # first again, in order
                    self._keep_within(KEPT_MAX)
                    group = []
                    await asyncio.sleep(retry)
                    retry = min(RETRY, retry * 2)
                    continue
                finally:
                    if late is not None:
                        late.cancel()
                for (_, done), failure in zip(group, failures, strict=True):
                    _settle(done, failure)
                    self._pending.discard(done)
                group = []
                retry = 0.5
                prompt = self._output_wait is None or loop.time() - started < self._output_wait
                if prompt and self._behind is not None:
                    log.warning("%s answers again: output waits for its commits again", self.address)
                    self._behind = None
                    self._fell_behind.clear()
        except BaseException:  # cancelled: nobody will commit these
            for _, done in (*group, *self._queue):
                _settle(done, StoreError(f"{self.address}: the store closed before this write was committed"))
                self._pending.discard(done)
            raise
        finally:
            self._writer = None

    def _fall_behind(self, group: list[tuple[list[Write], asyncio.Future[None]]], why: str) -> None:
        """Output stops waiting for commits: that of `group` goes now, later output at once."""
        if self._behind is None:
            log.error("%s: %s", self.address, why)
        self._behind = why
        self._fell_behind.set()
        for _, done in group:
            _settle(done, StoreBehind(f"{self.address}: {why}"))
            self._pending.discard(done)
        for _, done in self._queue:
            _settle(done, StoreBehind(f"{self.address}: {why}"))
            self._pending.discard(done)

    def _keep_within(self, most: int) -> None:
        """Past `most` writes kept, let the oldest messages of history go: accounts,
        channels, K-lines and markers are kept whatever their number."""
        excess = sum(len(batch) for batch, _ in self._queue) - most
        if excess <= 0:
            return
        gone = 0
        for batch, _ in self._queue:
            kept: list[Write] = []
            for op in batch:
                if gone < excess and type(op) is AddMessage:
                    gone += 1
                else:
                    kept.append(op)
            batch[:] = kept
            if gone >= excess:
                break
        if gone:
            self.let_go += gone
            log.error("%s: out of reach with %d writes waiting: %d messages of history let go", self.address,
                      most + excess, gone)  # fmt: skip

    async def _commit(self, batches: list[list[Write]]) -> list[BaseException | None]:
        """Commit `batches` in one transaction; what went wrong with each. One bad batch must
        not sink the others: after a failure each is tried on its own, to know which.
        _OutOfReach when the database cannot be reached: nothing was written."""
        ops = [op for batch in batches for op in batch]
        try:
            await self._attempts(lambda conn: self._transaction(conn, ops), f"storing {len(ops)} writes")
            return [None] * len(batches)
        except Exception as exc:
            self._raise_out_of_reach(exc)
            if len(batches) == 1:
                return [exc]
        failures: list[BaseException | None] = []
        for batch in batches:
            try:
                await self._attempts(partial(self._transaction, batch=batch), f"storing {len(batch)} writes")
                failures.append(None)
            except Exception as exc:
                self._raise_out_of_reach(exc)
                failures.append(exc)
        return failures

    def _raise_out_of_reach(self, exc: BaseException) -> None:
        """Raise _OutOfReach if `exc` (a StoreError from _attempts) says the database is out of reach."""
        cause = exc.__cause__ if isinstance(exc.__cause__, _OUT_OF_REACH) else exc
        if isinstance(cause, _OUT_OF_REACH):
            raise _OutOfReach(self._reason(cause)) from exc

    def backlog(self) -> Backlog:
        return Backlog(sum(len(batch) for batch, _ in self._queue), self._behind is not None, self.let_go)

    async def _transaction(self, conn: asyncpg.Connection, batch: list[Write]) -> None:
        messages = [op.message for op in batch if isinstance(op, AddMessage)]
        if len(messages) == len(batch):  # the usual batch: executemany is atomic alone, one round trip
            await conn.executemany(_INSERT, [message_row(m) for m in messages])
            return
        async with conn.transaction():
            rows: list[tuple[Any, ...]] = []
            for op in batch:
                if type(op) is AddMessage:
                    rows.append(message_row(op.message))
                    continue
                if rows:
                    await conn.executemany(_INSERT, rows)
                    rows = []
                await self._apply(conn, op)
            if rows:
                await conn.executemany(_INSERT, rows)

    async def _apply(self, conn: asyncpg.Connection, op: Write) -> None:
        """One write; an account's or channel's own row always first (it is the lock)."""
        if isinstance(op, DeleteMessage):
            await conn.execute("DELETE FROM messages WHERE target = $1 AND msgid = $2", op.target, op.msgid)
        elif isinstance(op, ForgetConversation):
            await conn.execute("DELETE FROM messages WHERE target = $1", op.target)
            await conn.execute("DELETE FROM read_markers WHERE target = $1", op.target)
            await conn.execute("DELETE FROM closed_channels WHERE key = $1", op.target)
            await conn.execute("DELETE FROM live_channels WHERE key = $1", op.target)
        elif isinstance(op, ForgetSilentChannel):
            await conn.execute(_FORGET_SILENT, op.key, to_ms(op.time), to_us(op.time))
            await conn.execute("DELETE FROM live_channels WHERE key = $1", op.key)
        elif isinstance(op, LiveChannel):
            await conn.execute("INSERT INTO live_channels (key) VALUES ($1) ON CONFLICT DO NOTHING", op.key)
        elif isinstance(op, ClosedChannel):
            if op.closed:
                await conn.execute("INSERT INTO closed_channels (key) VALUES ($1) ON CONFLICT DO NOTHING", op.key)
            else:
                await conn.execute("DELETE FROM closed_channels WHERE key = $1", op.key)
        elif isinstance(op, PutAccount):
            a = op.account
            status = await conn.execute(
                "INSERT INTO accounts (key, name, password_hash, scram, email, registered_at, vhost) "
                f"VALUES ($1, $2, $3, $4, $5, $6, $7) {ACCOUNT_UPDATE}",
                a.key, a.name, a.password_hash, a.scram, a.email, a.registered_at, a.vhost,
            )  # fmt: skip
            if _count(status) == 0:  # another registration's row: kept, with its certificates
                stored = await conn.fetchval("SELECT registered_at FROM accounts WHERE key = $1", a.key)
                refused_account(str(self.address), a, stored)
                return
            await conn.execute("DELETE FROM account_certs WHERE account = $1", a.key)
            if a.certfps:
                await conn.executemany(
                    "INSERT INTO account_certs (fingerprint, account) VALUES ($1, $2) "
                    "ON CONFLICT (fingerprint) DO UPDATE SET account = excluded.account",
                    [(fp, a.key) for fp in a.certfps],
                )
        elif isinstance(op, PutVhost):
            await conn.execute("UPDATE accounts SET vhost = $1 WHERE key = $2 AND registered_at = $3",
                               op.vhost, op.key, op.registered_at)  # fmt: skip
        elif isinstance(op, DeleteAccount):
            if op.registered_at is None:
                await conn.execute("DELETE FROM accounts WHERE key = $1", op.key)
            else:
                status = await conn.execute(
                    "DELETE FROM accounts WHERE key = $1 AND registered_at = $2", op.key, op.registered_at
                )
                if not _count(status) and await conn.fetchval("SELECT 1 FROM accounts WHERE key = $1", op.key):
                    return  # another registration of the name is stored: it and what it holds stay (accounts.py)
            await conn.execute("DELETE FROM account_certs WHERE account = $1", op.key)
            await conn.execute("DELETE FROM read_markers WHERE account = $1", op.key)
            await conn.execute("DELETE FROM departures WHERE account = $1", op.key)
            # what the name held goes with it: the next to register it inherits nothing
            for table in ("channel_lists", "channel_access"):
                await conn.execute(
                    f"DELETE FROM {table} WHERE channel IN (SELECT key FROM channels WHERE founder = $1)", op.key
                )
            await conn.execute("DELETE FROM channels WHERE founder = $1", op.key)
            await conn.execute("DELETE FROM channel_access WHERE account = $1", op.key)
            await conn.execute(
                # the keys hold the accounts' names as registered (`dm:Alice bob`); `op.key` is
                # folded, and LIKE here minds case (SQLite's does not): fold A-Z as the
                # ascii casemapping does, and no further
                f"DELETE FROM messages WHERE target >= 'dm:' AND target < 'dm;' AND ({_FOLDED} LIKE $1 "
                f"OR {_FOLDED} LIKE $2)",
                *dm_patterns(op.key),
            )
        elif isinstance(op, PutChannel):
            c = op.channel
            await conn.execute(
                "INSERT INTO channels (key, name, founder, registered_at, topic, topic_by, topic_time, modes, "
                "join_key, member_limit, flood, join_flood) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) "
                "ON CONFLICT (key) DO UPDATE SET name = excluded.name, founder = excluded.founder, "
                "registered_at = excluded.registered_at, topic = excluded.topic, topic_by = excluded.topic_by, "
                "topic_time = excluded.topic_time, modes = excluded.modes, join_key = excluded.join_key, "
                "member_limit = excluded.member_limit, flood = excluded.flood, join_flood = excluded.join_flood",
                c.key, c.name, c.founder, c.registered_at, c.topic, c.topic_by, c.topic_time, c.modes, c.join_key,
                c.limit, c.flood, c.join_flood,
            )  # fmt: skip
            await conn.execute("DELETE FROM channel_lists WHERE channel = $1", c.key)
            if c.lists:
                await conn.executemany(
                    "INSERT INTO channel_lists (channel, position, letter, mask, set_by, set_at) "
                    "VALUES ($1, $2, $3, $4, $5, $6)",
                    [(c.key, i, *entry) for i, entry in enumerate(c.lists)],
                )
            await conn.execute("DELETE FROM channel_access WHERE channel = $1", c.key)
            if c.access:
                await conn.executemany(
                    "INSERT INTO channel_access (channel, account, modes) VALUES ($1, $2, $3)",
                    [(c.key, account, modes) for account, modes in c.access],
                )
        elif isinstance(op, DeleteChannel):
            for table, column in (("channels", "key"), ("channel_lists", "channel"), ("channel_access", "channel")):
                await conn.execute(f"DELETE FROM {table} WHERE {column} = $1", op.key)
        elif isinstance(op, PutKline):
            k = op.kline
            await conn.execute(
                "INSERT INTO klines (mask, reason, set_by, set_at, expires) VALUES ($1, $2, $3, $4, $5) "
                "ON CONFLICT (mask) DO UPDATE SET reason = excluded.reason, set_by = excluded.set_by, "
                "set_at = excluded.set_at, expires = excluded.expires",
                k.mask, k.reason, k.set_by, k.set_at, k.expires,
            )  # fmt: skip
        elif isinstance(op, DeleteKline):
            masks = cases_of(op.mask, [row[0] for row in await conn.fetch("SELECT mask FROM klines")])
            if masks:
                await conn.executemany("DELETE FROM klines WHERE mask = $1", [(mask,) for mask in masks])
        elif isinstance(op, ForgetExpiredKlines):
            await conn.execute("DELETE FROM klines WHERE expires IS NOT NULL AND expires <= $1", op.until)
        elif isinstance(op, PutDepartures):
            await conn.executemany(
                "INSERT INTO departures (account, channel, time_ms) VALUES ($1, $2, $3) "
                "ON CONFLICT (account, channel) DO UPDATE SET time_ms = GREATEST(departures.time_ms, excluded.time_ms)",
                [(d.account, d.channel, departure_ms(d.time)) for d in op.departures],
            )
            await conn.execute(DEPARTURES_KEPT.replace("?", "$1"), REMEMBERED - 1)
        elif isinstance(op, PutMarker):
            await conn.execute(
                "INSERT INTO read_markers (account, target, time_ms) VALUES ($1, $2, $3) "
                "ON CONFLICT (account, target) DO UPDATE "
                "SET time_ms = GREATEST(read_markers.time_ms, excluded.time_ms)",
                op.account, op.target, to_ms(op.time),
            )  # fmt: skip
        elif isinstance(op, CopyMarkers):
            await conn.execute(
                "INSERT INTO read_markers (account, target, time_ms) "
                "SELECT account, $1, time_ms FROM read_markers WHERE target = $2 "
                "ON CONFLICT (account, target) DO UPDATE "
                "SET time_ms = GREATEST(read_markers.time_ms, excluded.time_ms)",
                op.target, op.source,
            )  # fmt: skip
        else:  # pragma: no cover
            raise TypeError(f"unknown write {op!r}")

    # -- reading ----------------------------------------------------------------------

    async def _read(self, fn: Callable[[asyncpg.Connection], Awaitable[T]], timeout: float | None = QUERY_TIMEOUT) -> T:
        if self._pending:  # see the writes handed over before this read (not those kept through an outage)
            await asyncio.wait(list(self._pending))
        if timeout is not None and self._behind is not None and self._output_wait is not None:
            timeout = min(timeout, self._output_wait)  # known to be out of reach: a client waits no longer
        async with self._reading:
            return await self._attempts(fn, "a query", timeout)

    async def history(self, query: HistoryQuery) -> list[StoredMessage]:
        async def run(conn: asyncpg.Connection) -> list[StoredMessage]:
            return await history.run_async(history.plan(query), partial(_answer, conn, query))

        return await self._read(run)

    async def find(self, target: str, msgid: str) -> StoredMessage | None:
        async def run(conn: asyncpg.Connection) -> StoredMessage | None:
            row = await conn.fetchrow(f"{_SELECT} WHERE target = $1 AND msgid = $2", target, msgid)
            return stored_message(row) if row else None

        return await self._read(run)

    async def targets(
        self, keys: Sequence[str], dm_account: str | None, after: float, before: float, limit: int,
        from_after: bool = False,
    ) -> list[tuple[str, float]]:
        lo, hi = to_ms(after), to_ms(before)

        async def run(conn: asyncpg.Connection) -> list[tuple[str, float]]:
            # the latest message of each conversation asked: one step down its index each
            found: list[tuple[str, int, int]] = [tuple(row) for row in await conn.fetch(
                "SELECT k.target, latest.time_ms, latest.time_us FROM unnest($1::text[]) WITH ORDINALITY AS "
                "k(target, n) CROSS JOIN LATERAL (SELECT time_ms, time_us FROM messages m WHERE m.target = k.target "
                "AND m.time_ms > $2 AND m.time_ms < $3 ORDER BY m.time_ms DESC, m.time_us DESC LIMIT 1) latest "
                "ORDER BY k.n",
                list(keys), lo, hi,
            )]  # fmt: skip
            if dm_account is not None:
                found += [tuple(row) for row in await conn.fetch(
                    "SELECT target, MAX(time_ms), MAX(time_us) FROM messages WHERE target >= 'dm:' AND target < 'dm;' "
                    "AND (target LIKE $1 OR target LIKE $2) AND time_ms > $3 AND time_ms < $4 GROUP BY target",
                    *dm_patterns(dm_account), lo, hi,
                )]  # fmt: skip
            found.sort(key=lambda item: item[1:], reverse=not from_after)
            chosen = sorted(found[:limit], key=lambda item: item[1:], reverse=True)  # shown newest first
            return [(key, time_ms / 1000) for key, time_ms, _ in chosen]

        return await self._read(run)

    async def search(self, query: SearchQuery) -> list[StoredMessage]:
        if not query.targets:
            return []
        where = ["target = ANY($1::text[])", PLAIN]
        args: list[Any] = [list(query.targets)]
        if query.sender:  # nicks are case-insensitive
            args.append(like_escaped(query.sender) + "!%")
            where.append(f"source ILIKE ${len(args)}")
        if query.after is not None:
            args.append(to_ms(query.after))
            where.append(f"time_ms >= ${len(args)}")
        if query.before is not None:
            args.append(to_ms(query.before))
            where.append(f"time_ms <= ${len(args)}")
        if query.text.strip():  # words, never query syntax
            args.append(query.text)
            where.append(f"body_search @@ plainto_tsquery('{SEARCH_CONFIG}', ${len(args)})")
        args.append(query.limit)
        sql = f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY time_ms DESC, time_us DESC, id DESC LIMIT ${len(args)}"

        async def run(conn: asyncpg.Connection) -> list[StoredMessage]:
            rows = await conn.fetch(sql, *args)
            return [stored_message(row) for row in reversed(rows)]  # the most recent, oldest first

        return await self._read(run)

    async def marker(self, account: str, target: str) -> float | None:
        async def run(conn: asyncpg.Connection) -> float | None:
            time_ms = await conn.fetchval(
                "SELECT time_ms FROM read_markers WHERE account = $1 AND target = $2", account, target
            )
            return None if time_ms is None else time_ms / 1000

        return await self._read(run)

    async def prune(self, older_than: float | None, per_target: int) -> int:
        """One node prunes at a time; the others, finding it busy, skip this pass."""

        async def run(conn: asyncpg.Connection) -> int:
            forgotten = 0
            async with conn.transaction():
                if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", PRUNE_LOCK):
                    return 0
                if older_than is not None:
                    forgotten += _count(await conn.execute("DELETE FROM messages WHERE time_ms < $1",
                                                           to_ms(older_than)))  # fmt: skip
                if per_target:
                    for (target,) in await conn.fetch(
                        f"SELECT target FROM messages WHERE {PLAIN} GROUP BY target HAVING COUNT(*) > $1", per_target
                    ):
                        forgotten += _count(await conn.execute(
                            "DELETE FROM messages WHERE target = $1 AND (time_ms, time_us, id) <= "
                            f"(SELECT time_ms, time_us, id FROM messages WHERE target = $1 AND {PLAIN} "
                            "ORDER BY time_ms DESC, time_us DESC, id DESC OFFSET $2 LIMIT 1)",
                            target, per_target,
                        ))  # fmt: skip
            return forgotten

        return await self._read(run, timeout=None)  # a first pass over a big history takes its time

    async def ping(self) -> None:
        async def run(conn: asyncpg.Connection) -> None:
            await conn.fetchval("SELECT 1")

        await self._read(run)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        writer = self._writer
        if writer is not None:  # the writes handed over, kept ones too, for a while
            if self._behind is None:  # commits have been prompt: this one too, unless it is the one that is not
                behind = asyncio.ensure_future(self._fell_behind.wait())
                await asyncio.wait([writer, behind], return_when=asyncio.FIRST_COMPLETED)
                behind.cancel()
            if not writer.done():  # out of reach, or fell out of reach under the stop's own commit
                await asyncio.wait([writer], timeout=CLOSE_WAIT)
            if not writer.done():
                left = [op for batch, _ in self._queue for op in batch]
                messages = sum(1 for op in left if type(op) is AddMessage)
                log.error("%s: out of reach at the stop: %d writes not stored (%d messages of history, %d "
                          "changes of accounts, channels, K-lines or markers)", self.address, len(left), messages,
                          len(left) - messages)  # fmt: skip
                writer.cancel()
                await asyncio.wait([writer], timeout=CLOSE_WAIT)
                if not writer.done() and self._pool is not None:
                    # asyncpg cancels a query by asking the database, and waits for its
                    # answer: one that does not answer gets its connections cut instead
                    self._pool.terminate()
                    await asyncio.wait([writer], timeout=CLOSE_WAIT)
        if self._lock is not None:  # it goes with the pool, after every write it covered
            try:
                await asyncio.wait_for(self._lock.release(), CLOSE_WAIT)
            except _FAILURES:  # TimeoutError among them
                pass  # a database out of reach: it ends with the connection (terminated below)
        if self._pool is not None:
            try:
                await asyncio.wait_for(self._pool.close(), 10)
            except TimeoutError:
                self._pool.terminate()
            self._pool = None


class _OutOfReach(Exception):
    """The database could not be reached: nothing of the transaction was written."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _OneLine(logging.Filter):
    """asyncpg's pool logs each failed reconnection with its traceback, every second or so
    through an outage: one line each, with the reason, as hubbub's own messages are."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            record.msg = f"{record.getMessage()}: {type(error).__name__}: {error}"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


logging.getLogger("asyncpg.pool").addFilter(_OneLine())


def _settle(done: asyncio.Future[None], failure: BaseException | None) -> None:
    if done.done():
        return
    if failure is None:
        done.set_result(None)
    else:
        done.set_exception(failure)


async def _answer(conn: asyncpg.Connection, query: HistoryQuery, question: history.Question) -> Any:
    """One of history.plan's questions, answered with one statement."""
    if isinstance(question, history.Locate):
        row = await conn.fetchrow(f"{_SELECT} WHERE target = $1 AND msgid = $2", query.target, question.msgid)
        return history.Located((row["time_ms"], row["time_us"], row["id"]), stored_message(row)) if row else None
    where = ["target = $1"]
    args: list[Any] = [query.target]
    if not query.events:
        where.append(PLAIN)
    # row comparisons: one range over the (target, time_ms, time_us, id) index
    if question.above is not None:
        args += question.above
        where.append(f"(time_ms, time_us, id) > (${len(args) - 2}, ${len(args) - 1}, ${len(args)})")
    if question.below is not None:
        args += question.below
        where.append(f"(time_ms, time_us, id) < (${len(args) - 2}, ${len(args) - 1}, ${len(args)})")
    order = "DESC" if question.newest else "ASC"
    args.append(question.limit)
    ordered = f"ORDER BY time_ms {order}, time_us {order}, id {order}"
    sql = f"{_SELECT} WHERE {' AND '.join(where)} {ordered} LIMIT ${len(args)}"
    rows = await conn.fetch(sql, *args)
    if question.newest:
        rows.reverse()
    return [stored_message(row) for row in rows]
