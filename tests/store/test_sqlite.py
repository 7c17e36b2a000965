"""SQLite's own write path: batches committed at once or together, search indexed in
steps, checkpoints beside the writes, history pages as index ranges. On a real file."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from pathlib import Path

import pytest

from hubbub.server.storage import AddMessage, DeleteMessage, SearchQuery
from tests.store.test_store import filled, ids, line, q


@pytest.fixture
def db(tmp_path: Path) -> str:
    """A SQLite file only (the PostgreSQL store has none of these steps)."""
    return str(tmp_path / "hubbub.db")


def _fts_sound(path: str) -> None:
    """FTS5's own check of the search index against the messages (raises if they differ)."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)")
    finally:
        conn.close()


async def test_search_indexes_in_steps_and_finds_what_no_step_covered_yet(make_store, monkeypatch) -> None:
    from hubbub.store import sqlite

    monkeypatch.setattr(sqlite, "INDEX_EVERY", 3)
    store = await make_store()
    for i in range(7):  # steps after the 3rd and 6th; the 7th waits for the search
        await store.write([AddMessage(line(i, text=f"word{i} common"))])
    found = await store.search(SearchQuery(("#c",), "common", "", None, None, 100))
    assert ids(found) == [f"id{i}" for i in range(7)]
    assert ids(await store.search(SearchQuery(("#c",), "word6", "", None, None, 100))) == ["id6"]
    _fts_sound(store.path)


async def test_deleting_messages_before_and_after_indexing_keeps_the_index_sound(make_store) -> None:
    store = await filled(make_store, 3)
    await store.write([DeleteMessage("#c", "id1")])  # not indexed yet
    assert ids(await store.search(SearchQuery(("#c",), "message", "", None, None, 10))) == ["id0", "id2"]
    await store.write([DeleteMessage("#c", "id2")])  # indexed, and the newest: its id must not come back
    await store.write([AddMessage(line(3, text="fresh words"))])
    assert ids(await store.search(SearchQuery(("#c",), "fresh", "", None, None, 10))) == ["id3"]
    assert ids(await store.search(SearchQuery(("#c",), "message", "", None, None, 10))) == ["id0"]
    _fts_sound(store.path)


async def test_messages_left_unindexed_by_a_crash_are_found_after_a_restart(make_store) -> None:
    store = await filled(make_store, 3)
    store._index_all = lambda: None  # type: ignore[method-assign]  # as if killed before any step
    store = await make_store()
    assert ids(await store.search(SearchQuery(("#c",), "message", "", None, None, 10))) == ["id0", "id1", "id2"]
    _fts_sound(store.path)


async def test_a_database_of_the_first_schema_is_migrated_and_stays_searchable(tmp_path) -> None:
    from hubbub.store import open_store
    from hubbub.store.schema import MIGRATIONS

    path = str(tmp_path / "old.db")
    conn = sqlite3.connect(path, isolation_level=None)
    first = MIGRATIONS[0]
    for statement in (*first.common, *first.sqlite):
        conn.execute(statement)
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    conn.execute("INSERT INTO schema_version (version) VALUES (1)")
    for i in range(3):  # indexed by the first schema's trigger
        conn.execute("INSERT INTO messages (target, msgid, time_ms, command, source, account, params, tags, body) "
                     "VALUES ('#c', ?, ?, 'PRIVMSG', 'alice!u@h', NULL, '[]', NULL, ?)", (f"id{i}", i, f"old {i}"))
    conn.close()
    store = open_store(path)
    await store.open()
    try:
        await store.write([DeleteMessage("#c", "id2"), AddMessage(line(3, text="old and new"))])
        found = await store.search(SearchQuery(("#c",), "old", "", None, None, 10))
        assert ids(found) == ["id0", "id1", "id3"]
    finally:
        await store.close()
    _fts_sound(path)


async def test_a_page_of_history_is_a_range_of_the_conversation_index(make_store) -> None:
    """Not a walk from the conversation's end to the bound: that took 40 ms in the middle
    of a million messages."""
    from hubbub.store.history import Page
    from hubbub.store.sqlite import _page_sql

    store = await filled(make_store, 3)
    conn = sqlite3.connect(store.path)
    try:
        for page in (Page(10, (5, 0, 1), None, False), Page(10, None, (5, 0, 1), True),
                     Page(10, (1, 0, 1), (5, 0, 1), False)):
            sql, args = _page_sql(q("before"), page)
            plan = " ".join(row[-1] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, args))
            assert "messages_by_target_time (target=? AND (time_ms,time_us)" in plan, plan
    finally:
        conn.close()


async def test_by_default_every_batch_is_committed_on_the_writer_thread(make_store) -> None:
    store = await make_store()
    assert not store.commit_on_loop
    threads: list[str] = []
    commit = store._commit

    def watched(batches):  # type: ignore[no-untyped-def]
        threads.append(threading.current_thread().name)
        return commit(batches)

    store._commit = watched
    writes = [store.write([AddMessage(line(i))]) for i in range(3)]
    assert not any(done.done() for done in writes)  # handed over: the loop goes on meanwhile
    await asyncio.gather(*writes)
    assert threads and all(name.startswith("hubbub-store-write") for name in threads)
    assert ids(await store.history(q("latest"))) == ["id0", "id1", "id2"]


def _kernel_names() -> set[str]:
    names = set()
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/comm") as fh:
                names.add(fh.read().strip())
        except OSError:
            pass
    return names


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="no /proc to name threads with")
async def test_the_writer_and_the_readers_have_names_the_system_shows(make_store) -> None:
    """`top -H` and the benchmark's CPU by thread tell the writer from the event loop."""
    store = await make_store()
    await store.write([AddMessage(line(0))])
    await store.history(q("latest"))
    names = _kernel_names()
    assert "hubbub-write" in names and "hubbub-read" in names


async def test_a_batch_is_committed_at_once_when_the_writer_is_idle_and_queued_in_order_when_busy(make_store) -> None:
    """store.commit_on_loop"""
    store = await make_store()
    store.commit_on_loop = True
    first = store.write([AddMessage(line(0))])
    assert first.done()  # committed on the spot: the output waiting for it can go at once
    store._using.acquire()  # the writer busy (indexing, say)
    try:
        later = [store.write([AddMessage(line(i))]) for i in (1, 2, 3)]
        assert not any(done.done() for done in later)  # their output waits
    finally:
        store._using.release()
    await asyncio.gather(*later)
    await store._on(store._writer, lambda: None)  # the writer's drain has ended (it settles the futures first)
    assert store.write([AddMessage(line(4))]).done()  # idle again
    assert ids(await store.history(q("latest"))) == ["id0", "id1", "id2", "id3", "id4"]


async def test_the_log_is_checkpointed_beside_the_writes(make_store, monkeypatch) -> None:
    from hubbub.store import sqlite

    monkeypatch.setattr(sqlite, "CHECKPOINT_EVERY", 8)
    store = await make_store()
    for i in range(300):
        await store.write([AddMessage(line(i))])
        if i % 8 == 7:  # a job of the writer's, behind the checkpoint handed to it just now
            await store.prune(None, 0)
    # without checkpoints: 300 commits of a few pages each, several megabytes of log
    assert os.path.getsize(store.path + "-wal") < 600_000
