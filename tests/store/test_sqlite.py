"""What only the SQLite store does: messages indexed for search in batches, and a
database made before that change brought to it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from hubbub.server.storage import AddMessage, DeleteMessage, SearchQuery
from hubbub.store.schema import MIGRATIONS
from hubbub.store.sqlite import FTS_BATCH, SqliteStore
from tests.store.test_store import ids, line


def indexed_upto(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT upto FROM fts_indexed").fetchone()[0])


async def test_messages_are_indexed_a_batch_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "hubbub.db"
    store = SqliteStore(str(path))
    await store.open()
    try:
        for i in range(FTS_BATCH - 1):
            await store.write([AddMessage(line(i))])
        assert indexed_upto(path) == 0  # one full-text segment per batch, not per message
        await store.write([AddMessage(line(FTS_BATCH))])
        assert indexed_upto(path) == FTS_BATCH
        await store.write([AddMessage(line(FTS_BATCH + 1))])
        found = await store.search(SearchQuery(("#c",), "message", "", None, None, 1000))
        assert len(found) == FTS_BATCH + 1 and indexed_upto(path) == FTS_BATCH + 1  # a search indexes the rest
    finally:
        await store.close()


async def test_a_database_indexed_message_by_message_is_migrated(tmp_path: Path) -> None:
    """Schema 1 indexed each message as it was stored: those stay found, and deleting
    one still takes it out of the index."""
    path = tmp_path / "hubbub.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        first = MIGRATIONS[0]
        for statement in (*first.common, *first.sqlite):
            conn.execute(statement)
        conn.execute("INSERT INTO schema_version (version) VALUES (1)")
        for i in range(3):
            conn.execute(
                "INSERT INTO messages (target, msgid, time_ms, command, source, account, params, tags, body) "
                "VALUES ('#c', ?, ?, 'PRIVMSG', 'alice!u@h', NULL, '[]', NULL, ?)",
                (f"old{i}", i, f"older words {i}"),
            )
    store = SqliteStore(str(path))
    await store.open()
    try:
        assert indexed_upto(path) == 3
        await store.write([AddMessage(line(10, text="newer words")), DeleteMessage("#c", "old1")])
        found = await store.search(SearchQuery(("#c",), "words", "", None, None, 10))
        assert sorted(ids(found)) == ["id10", "old0", "old2"]
    finally:
        await store.close()
