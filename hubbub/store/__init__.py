"""What outlives the process: accounts, registered channels, K-lines and message history.

The store implements the chat core's storage interface (server/storage.py) with a
backend per database: SQLite by default (sqlite.py), one file, zero configuration. It is
fed by the engine's ordered event stream (recorder.py) and read by the commands that
need the past (history, search, read markers); at start-up it hands the chat core what
the state must begin with (accounts, registered channels, K-lines; restore.py).
"""

from __future__ import annotations

from hubbub.server.storage import Store, StoreError


def open_store(db: str, readers: int = 2) -> Store:
    """The store a `store.db` setting names: a SQLite file, or `:memory:` for one that
    keeps nothing beyond the process."""
    from hubbub.store.sqlite import SqliteStore

    return SqliteStore(None if db == ":memory:" else db, readers)


__all__ = ["Store", "StoreError", "open_store"]
