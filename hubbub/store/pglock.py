"""Servers or `hubbub account`, never both at once, on a PostgreSQL database.

A server reads the accounts when it starts and keeps them in its state from then on: an
account written into the database under a running server is unknown to it (nobody can
log in to it there), and the server's next registration of that name meets the stored
row. A SQLite file is held whole by the server that opens it (sqlite.py); a PostgreSQL
database is shared, so the same promise is an advisory lock, "hubbub's accounts lock":

- a server holds it shared for as long as its store is open: the nodes of a cluster
  hold it together. It is a lock of a session, so it stays with the pool's connection
  that took it while the pool lends that connection out and takes it back (the pool
  resets nothing, and keeps its connections for as long as it is open: postgres.py).
- `hubbub account add|passwd|del` tries it exclusive, and is refused while any server
  holds it. It holds it from before it reads the accounts until its write is committed.
- a server starting meanwhile waits for it (a change takes a second or so), up to WAIT
  seconds, saying so in the log; then it refuses to start, saying why.

The key: hubbub's number and a number of the schema that holds the tables (the first of
`search_path`), so that two networks in two schemas of one database do not hold each
other up. Advisory locks are the database's own: other databases never see them. The key
is of the two-number kind, which PostgreSQL keeps apart from the one-number keys of
postgres.py (schema migration, retention).

A session's advisory lock ends with its connection. A server whose connection is lost
(PostgreSQL restarted, a proxy cut it) takes the lock again on another one, and says in
the log that accounts could be changed unseen meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Callable
from functools import partial

import asyncpg

from hubbub.store import StoreInUse

log = logging.getLogger("hubbub.store")

KEY_SPACE = 0x6875_6262  # "hubb": the lock's first number; the second is the schema's (_key)
WAIT = 30.0  # seconds a starting server waits for `hubbub account` to finish
POLL = 0.2  # seconds between tries while waiting
RETRY_FIRST, RETRY_MOST = 0.5, 10.0  # seconds between tries to take a lost lock again

Reason = Callable[[BaseException], str]

_HOLDERS = (
    "SELECT count(*) FILTER (WHERE mode = 'ShareLock'), count(*) FILTER (WHERE mode = 'ExclusiveLock') "
    "FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2 AND classid = $1 AND objid = $2 "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


async def _key(conn: asyncpg.Connection) -> int:
    """The schema's number: a CRC of its name, so that every hubbub finds the same one."""
    schema: str = await conn.fetchval("SELECT current_schema()") or ""
    return zlib.crc32(schema.encode()) & 0x7FFF_FFFF


async def _try(conn: asyncpg.Connection, key: int, shared: bool) -> bool:
    function = "pg_try_advisory_lock_shared" if shared else "pg_try_advisory_lock"
    return bool(await conn.fetchval(f"SELECT {function}($1::int4, $2::int4)", KEY_SPACE, key))


async def _refusal(conn: asyncpg.Connection, key: int, where: str) -> StoreInUse:
    """Why `hubbub account` may not change accounts now: who holds the lock."""
    row = await conn.fetchrow(_HOLDERS, KEY_SPACE, key)
    servers, changing = (row[0], row[1]) if row is not None else (0, 0)
    if servers:
        return StoreInUse(f"{where} is in use by {servers} running hubbub server{'s' if servers != 1 else ''}")
    if changing:
        return StoreInUse(f"{where} is in use by another `hubbub account`")
    return StoreInUse(f"{where} is in use")  # released between the try and the count


class AccountsLock:
    """hubbub's accounts lock on one PostgreSQL database, held by one store's pool (see above)."""

    def __init__(self, pool: asyncpg.Pool, where: str, reason: Reason) -> None:
        self._pool = pool
        self._where = where  # the database, for messages (no password)
        self._reason = reason  # an exception in one line, without the password
        self._holding = 0  # which taking of the lock is held (0: none), for _lost
        self._keeper: asyncio.Task[None] | None = None
        self._released = False

    async def serve(self) -> int:
        """Hold the lock shared until the pool closes, waiting up to WAIT seconds for a
        `hubbub account` that holds it; StoreInUse past that. How many other servers
        hold it too (the other nodes of a cluster, or servers that should be)."""
        async with self._pool.acquire() as conn:
            key = await _key(conn)
            await self._wait_shared(conn, key, WAIT)
            self._hold(conn)
            row = await conn.fetchrow(_HOLDERS, KEY_SPACE, key)
            return max(0, (row[0] if row is not None else 0) - 1)

    async def change(self) -> None:
        """Hold the lock alone until the pool closes; StoreInUse, naming who holds it, if
        anyone does: `hubbub account` never waits for servers, which run for weeks."""
        async with self._pool.acquire() as conn:
            key = await _key(conn)
            if not await _try(conn, key, shared=False):
                raise await _refusal(conn, key, self._where)

    async def release(self) -> None:
        """The pool is about to close (after the store's last commit), and the lock with
        it: no taking it again."""
        self._released = True
        if self._keeper is not None:
            self._keeper.cancel()
            await asyncio.gather(self._keeper, return_exceptions=True)
            self._keeper = None

    async def _wait_shared(self, conn: asyncpg.Connection, key: int, wait: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        told = False
        while not await _try(conn, key, shared=True):
            if loop.time() >= deadline:
                raise StoreInUse(f"{self._where} is held by `hubbub account`, changing accounts: waited {wait:g} s "
                                 "for it to finish")  # fmt: skip
            if not told:
                log.warning("%s: `hubbub account` is changing accounts: waiting for it to finish", self._where)
                told = True
            await asyncio.sleep(POLL)

    def _hold(self, conn: asyncpg.Connection) -> None:
        """The lock is held on `conn`: told when that connection closes, whoever uses it then."""
        self._holding += 1
        conn.add_termination_listener(partial(self._lost, self._holding))

    def _lost(self, holding: int, conn: asyncpg.Connection) -> None:
        """The connection holding the lock closed: unless the pool is closing, take it again."""
        if self._released or holding != self._holding:
            return
        log.error("%s: lost the connection holding this server's accounts lock: `hubbub account` could change "
                  "accounts unseen until it is taken again", self._where)  # fmt: skip
        self._keeper = asyncio.get_running_loop().create_task(self._take_again())

    async def _take_again(self) -> None:
        """Take the lock shared on a connection of the pool, trying until it is held or the
        pool closes; a `hubbub account` found holding it means accounts are being changed
        under a running server, which is worth an error in the log."""
        delay = RETRY_FIRST
        told_changing = told_failing = False
        while not self._released:
            try:
                async with self._pool.acquire() as conn:
                    key = await _key(conn)
                    while not await _try(conn, key, shared=True):
                        if not told_changing:
                            log.error("%s: `hubbub account` is changing accounts while this server runs: what it "
                                      "changes is unknown here until a restart", self._where)  # fmt: skip
                            told_changing = True
                        await asyncio.sleep(POLL)
                    self._hold(conn)
            except Exception as exc:
                if not told_failing:
                    log.warning("%s: cannot take the accounts lock again yet (trying on): %s", self._where,
                                self._reason(exc))  # fmt: skip
                    told_failing = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MOST)
                continue
            log.info("%s: holds its accounts lock again", self._where)
            return
