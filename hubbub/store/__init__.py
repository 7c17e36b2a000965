"""What outlives the process: accounts, registered channels, K-lines and message history.

The store implements the chat core's storage interface (server/storage.py) with a
backend per database: SQLite by default (sqlite.py), one file, zero configuration; or
PostgreSQL (postgres.py), one database that several nodes of a network share. It is
fed by the engine's ordered event stream (recorder.py) and read by the commands that
need the past (history, search, read markers); at start-up it hands the chat core what
the state must begin with (accounts, registered channels, K-lines; restore.py).
"""

from __future__ import annotations

from hubbub.server.storage import Store, StoreError

POSTGRESQL_SCHEMES = ("postgresql://", "postgres://")


def open_store(db: str, readers: int = 2, commit_on_loop: bool = False) -> Store:
    """The store a `store.db` setting names: a `postgresql://` URL, a SQLite file, or
    `:memory:` for one that keeps nothing beyond the process. `commit_on_loop` is
    SQLite's `store.commit_on_loop` (PostgreSQL always commits off the loop)."""
    if db.startswith(POSTGRESQL_SCHEMES):
        from hubbub.store.postgres import PostgresStore

        return PostgresStore(db, readers)
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


__all__ = ["Store", "StoreError", "open_store", "shared", "shown"]
