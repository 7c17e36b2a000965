"""What outlives the process: accounts, registered channels, K-lines and message history.

The store implements the chat core's storage interface (server/storage.py) with a
backend per database: SQLite by default (sqlite.py), one file, zero configuration; or
PostgreSQL (postgres.py), one database that several nodes of a network share. It is
fed by the engine's ordered event stream (recorder.py) and read by the commands that
need the past (history, search, read markers); at start-up it hands the chat core what
the state must begin with (accounts, registered channels, K-lines; restore.py).
"""

from __future__ import annotations

import enum

from hubbub.server.storage import Store, StoreError

POSTGRESQL_SCHEMES = ("postgresql://", "postgres://")


class StoreInUse(StoreError):
    """The store is held by someone else: a running server (a SQLite file, or PostgreSQL
    while `hubbub account` wants to change accounts), or `hubbub account` changing
    accounts while a server wants to start on PostgreSQL."""


class Claim(enum.Enum):
    """What an opened store holds of a PostgreSQL database beside its tables, so that
    servers and `hubbub account` never write accounts at the same time (a server reads
    accounts only when it starts: an account written under it is unknown to it, and its
    next registration of that name would meet the stored one). A SQLite file is held
    whole by whoever opens it, whatever the claim."""

    SERVING = "serving"  # a server: shared with the other servers (a cluster), while it runs
    CHANGING = "changing"  # `hubbub account add|passwd|del`: alone, refused while a server runs
    READING = "reading"  # `hubbub account list`: nothing held


def open_store(
    db: str, readers: int = 2, commit_on_loop: bool = False, claim: Claim = Claim.SERVING, output_wait: float = 2.0
) -> Store:
    """The store a `store.db` setting names: a `postgresql://` URL, a SQLite file, or
    `:memory:` for one that keeps nothing beyond the process. `commit_on_loop` is
    SQLite's `store.commit_on_loop` (PostgreSQL always commits off the loop), and
    `output_wait` PostgreSQL's `store.output_wait`; `claim` what it holds of a
    PostgreSQL database while open (see Claim, store/pglock.py)."""
    if db.startswith(POSTGRESQL_SCHEMES):
        from hubbub.store.postgres import PostgresStore

        return PostgresStore(db, readers, claim, output_wait)
    from hubbub.store.sqlite import SqliteStore

    return SqliteStore(None if db == ":memory:" else db, readers, commit_on_loop)


def shared(db: str) -> bool:
    """Whether the `store.db` setting names a store other nodes of a cluster write too
    (PostgreSQL; in a cluster a SQLite file is refused, `:memory:` keeps each node's own)."""
    return db.startswith(POSTGRESQL_SCHEMES)


def shown(db: str) -> str:
    """The `store.db` setting as it may be logged: a URL loses its password."""
    if db.startswith(POSTGRESQL_SCHEMES):
        from hubbub.store.postgres import shown_url

        return shown_url(db)
    return db


__all__ = ["Claim", "Store", "StoreError", "StoreInUse", "open_store", "shared", "shown"]
