"""What files written by older hubbubs hold that today's would not, and how it goes.

Schema 8: a file written before a DROP took what the name held (channels founded,
access entries, markers, certificates, private conversations) is cleaned of what
dropped accounts left, once, at the start that migrates it; what live accounts hold
stays. K-lines: a file from before one K-line was one row may hold it under two cases
of its mask; UNKLINE takes both. Schema 10: what channels that ended with nothing said in
them left (their joins, parts...) goes, once, at the start that migrates the file. On a
real SQLite file and a real PostgreSQL database (tests/store/test_upgrade_real_audit.py
starts servers on files of real old schemas)."""

from __future__ import annotations

import logging
import sqlite3

import asyncpg

from hubbub.server.storage import (
    AccountRecord,
    AddMessage,
    ChannelRecord,
    DeleteKline,
    HistoryQuery,
    KlineRecord,
    PutAccount,
    PutChannel,
    PutKline,
    PutMarker,
    StoredMessage,
    dm_key,
)
from hubbub.store import open_store
from hubbub.store.schema import LATEST, MIGRATIONS
from tests.store.test_store import T0


def account(name: str) -> AccountRecord:
    return AccountRecord(name.lower(), name, "$argon2id$x", "", "", T0, (f"{name.lower():0<64}",))


def channel(name: str, founder: str, access: tuple[tuple[str, str], ...]) -> ChannelRecord:
    lists = (("b", "*!*@spam", founder, 5),)
    return ChannelRecord(name.lower(), name, founder, T0, "topic", "x!u@h", T0, "nt", None, None, lists, access)


def said(target: str, msgid: str) -> StoredMessage:
    return StoredMessage(target, msgid, T0, "PRIVMSG", "x!u@h", "x", ("x", "hi"), None, "hi")


async def as_an_old_file(db: str) -> None:
    """Drop Dan as a hubbub before schema 3 did (the account row alone), and take the
    file back to schema 7."""
    await run_sql(db, "DELETE FROM accounts WHERE key = 'dan'", "DROP TABLE departures", "DROP TABLE live_channels",
                  "DELETE FROM schema_version WHERE version >= 8")  # fmt: skip


async def run_sql(db: str, *statements: str) -> None:
    if db.startswith("postgresql://"):
        conn = await asyncpg.connect(db)
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()
    else:
        with sqlite3.connect(db) as conn:
            for statement in statements:
                conn.execute(statement)


async def test_a_dropped_accounts_leftovers_go_and_live_accounts_keep_theirs(db: str) -> None:
    alice_carol, alice_dan = dm_key("Alice", "Carol"), dm_key("Alice", "Dan")
    store = open_store(db)
    await store.open()
    await store.write([
        *(PutAccount(account(name)) for name in ("Alice", "Carol", "Dan")),
        PutChannel(channel("#Dans", "dan", (("alice", "o"),))),
        PutChannel(channel("#Alices", "alice", (("dan", "o"), ("carol", "v")))),
        PutMarker("dan", "#alices", T0), PutMarker("alice", "#alices", T0),
        AddMessage(said(alice_carol, "kept")), AddMessage(said(alice_dan, "gone")), AddMessage(said("#alices", "c")),
    ])  # fmt: skip
    await store.close()
    await as_an_old_file(db)
    store = open_store(db)
    snapshot = await store.open()  # migrated to schema 8
    try:
        assert [a.name for a in snapshot.accounts] == ["Alice", "Carol"]
        assert [(c.name, c.access) for c in snapshot.channels] == [("#Alices", (("carol", "v"),))]
        assert await store.marker("dan", "#alices") is None
        assert await store.marker("alice", "#alices") == T0
        latest = [(key, [m.msgid for m in await store.history(HistoryQuery(key, "latest", None, None, 10, False))])
                  for key in (alice_carol, alice_dan, "#alices")]  # fmt: skip
        assert latest == [(alice_carol, ["kept"]), (alice_dan, []), ("#alices", ["c"])]
    finally:
        await store.close()


async def test_unkline_removes_a_kline_kept_under_two_cases_of_its_mask(db: str) -> None:
    store = open_store(db)
    await store.open()
    await store.write([PutKline(KlineRecord(mask, "spam", "oper", T0, None)) for mask in ("~Dup@*", "~dup@*", "x@*")])
    await store.close()
    store = open_store(db)
    snapshot = await store.open()
    assert sorted(k.mask for k in snapshot.klines) == ["x@*", "~Dup@*", "~dup@*"]
    await store.write([DeleteKline("~DUP@*")])
    await store.close()
    store = open_store(db)
    snapshot = await store.open()
    await store.close()
    assert [k.mask for k in snapshot.klines] == ["x@*"]


async def test_a_sqlite_file_of_an_earlier_schema_says_it_is_migrated_and_a_new_one_says_nothing(
    tmp_path, caplog
) -> None:
    """An upgrade cannot be undone (the hubbub before it refuses the file), so the log says
    it happened, each step as PostgreSQL's log does; a new file's creation is no news."""
    caplog.set_level(logging.INFO, logger="hubbub.store")
    db = str(tmp_path / "hubbub.db")
    store = open_store(db)
    await store.open()
    await store.close()
    assert not [r for r in caplog.records if "schema" in r.getMessage()]
    with sqlite3.connect(db) as conn:  # the file as a hubbub of schema 8 left it
        conn.execute("DROP TABLE departures")
        conn.execute("DROP TABLE live_channels")
        conn.execute("DELETE FROM schema_version WHERE version >= 9")
    store = open_store(db)
    await store.open()
    await store.close()
    assert [r.getMessage() for r in caplog.records if "schema" in r.getMessage()] == [
        f"{db}: schema 8, from an earlier hubbub, is migrated to {LATEST}: hubbub versions before this one refuse "
        "the file from now on",
        *(f"{db}: schema migrated to {m.version} ({m.what})" for m in MIGRATIONS if m.version > 8),
    ]


async def test_what_channels_that_ended_with_nothing_said_left_goes_at_the_migration(db: str) -> None:
    def row(target: str, i: int, command: str) -> AddMessage:
        said = command in ("PRIVMSG", "NOTICE")
        return AddMessage(StoredMessage(target, f"id{i}", T0 + i, command, "x!u@h", None,
                                        (target, "hi") if said else (target,), None, "hi" if said else ""))  # fmt: skip

    alice_carol = dm_key("Alice", "Carol")
    store = open_store(db)
    await store.open()
    await store.write([
        PutAccount(account("Alice")), PutChannel(channel("#Reg", "alice", ())),
        row("#tried1", 0, "JOIN"), row("#tried1", 1, "PART"), row("#tried2", 2, "JOIN"), row("#tried2", 3, "QUIT"),
        row("#talk", 4, "JOIN"), row("#talk", 5, "NOTICE"), row("#talk", 6, "PART"),
        row("#react", 7, "JOIN"), row("#react", 8, "TAGMSG"),
        row("#reg", 9, "JOIN"), row("#reg", 10, "MODE"),  # registered: it never ended
        row(alice_carol, 11, "PRIVMSG"),
    ])  # fmt: skip
    await store.close()
    await run_sql(db, "DROP TABLE live_channels", "DELETE FROM schema_version WHERE version >= 10")
    store = open_store(db)
    await store.open()  # migrated to schema 10
    try:
        kept = {key: [m.msgid for m in await store.history(HistoryQuery(key, "latest", None, None, 10, True))]
                for key in ("#tried1", "#tried2", "#talk", "#react", "#reg", alice_carol)}  # fmt: skip
        assert kept == {"#tried1": [], "#tried2": [], "#talk": ["id4", "id5", "id6"], "#react": ["id7", "id8"],
                        "#reg": ["id9", "id10"], alice_carol: ["id11"]}  # fmt: skip
    finally:
        await store.close()
