"""What files written by older hubbubs hold that today's would not, and how it goes.

Schema 8: a file written before a DROP took what the name held (channels founded,
access entries, markers, certificates, private conversations) is cleaned of what
dropped accounts left, once, at the start that migrates it; what live accounts hold
stays. K-lines: a file from before one K-line was one row may hold it under two cases
of its mask; UNKLINE takes both. Schema 10: what channels that ended with nothing said in
them left (their joins, parts...) goes, once, at the start that migrates the file.
Schema 11: the history of channels that ended closed before schema 3 goes; schema 12: the
`a:` entries naming no account in a database from before schema 5 go; neither touches a
database made since (built here by the released migrations themselves). On a
real SQLite file and a real PostgreSQL database (tests/store/test_upgrade_real_audit.py
starts servers on files of real old schemas)."""

from __future__ import annotations

import json
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
                  "ALTER TABLE accounts DROP COLUMN vhost",  # schema 13's
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
        conn.execute("ALTER TABLE accounts DROP COLUMN vhost")
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
    await run_sql(db, "DROP TABLE live_channels", "ALTER TABLE accounts DROP COLUMN vhost",
                  "DELETE FROM schema_version WHERE version >= 10")
    store = open_store(db)
    await store.open()  # migrated to schema 10
    try:
        kept = {key: [m.msgid for m in await store.history(HistoryQuery(key, "latest", None, None, 10, True))]
                for key in ("#tried1", "#tried2", "#talk", "#react", "#reg", alice_carol)}  # fmt: skip
        assert kept == {"#tried1": [], "#tried2": [], "#talk": ["id4", "id5", "id6"], "#react": ["id7", "id8"],
                        "#reg": ["id9", "id10"], alice_carol: ["id11"]}  # fmt: skip
    finally:
        await store.close()


async def at_schema(db: str, version: int, *statements: str) -> None:
    """A new database as a hubbub of schema `version` made it (the released migrations
    up to it, which are never edited), then `statements`."""
    backend = "postgresql" if db.startswith("postgresql://") else "sqlite"
    steps = ["CREATE TABLE schema_version (version INTEGER NOT NULL)"]
    for migration in MIGRATIONS[:version]:
        steps += [*migration.common, *getattr(migration, backend)]
        steps.append(f"INSERT INTO schema_version (version) VALUES ({migration.version})")
    await run_sql(db, *steps, *statements)


def old_row(target: str, i: int, command: str, *params: str) -> str:
    """A history row as schemas 1-3 wrote it (no microseconds), at T0 + i ms."""
    body = params[-1] if command == "PRIVMSG" else ""
    return (
        "INSERT INTO messages (target, msgid, time_ms, command, source, account, params, tags, body) "
        f"VALUES ('{target}', 'id{i}', {int(T0 * 1000) + i}, '{command}', 'x!u@h', NULL, "
        f"'{json.dumps([target, *params])}', NULL, '{body}')"
    )


OLD_ALICE = "INSERT INTO accounts (key, name, password_hash, scram, email, registered_at) VALUES " \
    f"('alice', 'Alice', '$argon2id$x', '', '', {T0}), ('carol', 'Carol', '$argon2id$x', '', '', {T0})"  # fmt: skip
OLD_REG = "INSERT INTO channels (key, name, founder, registered_at, topic, topic_by, topic_time, modes, join_key, " \
    f"member_limit) VALUES ('#reg', '#reg', 'alice', {T0}, '', '', 0, 'nt', 'pw', NULL)"  # fmt: skip


async def test_the_history_of_channels_that_ended_closed_before_schema_3_goes_at_the_migration(
    db: str, caplog
) -> None:
    caplog.set_level(logging.INFO, logger="hubbub.store")
    alice_carol = dm_key("Alice", "Carol")
    await at_schema(
        db, 2, OLD_ALICE, OLD_REG,
        old_row("#sec", 0, "JOIN"), old_row("#sec", 1, "MODE", "+s"), old_row("#sec", 2, "PRIVMSG", "s"),
        old_row("#sec", 3, "PART"),
        old_row("#inv", 4, "MODE", "+i"), old_row("#inv", 5, "PRIVMSG", "i"),
        old_row("#key", 6, "MODE", "+k", "pw"), old_row("#key", 7, "PRIVMSG", "k"),
        old_row("#regonly", 8, "MODE", "+Rnt"), old_row("#regonly", 9, "PRIVMSG", "r"),
        # still keyed when it ended, though no longer secret
        old_row("#still", 10, "MODE", "+sk", "pw"), old_row("#still", 11, "PRIVMSG", "x"),
        old_row("#still", 12, "MODE", "-s"),
        old_row("#reopened", 13, "MODE", "+si"), old_row("#reopened", 14, "PRIVMSG", "o"),
        old_row("#reopened", 15, "MODE", "-is"),
        old_row("#unkeyed", 16, "MODE", "+k", "pw"), old_row("#unkeyed", 17, "MODE", "-k", "*"),
        old_row("#unkeyed", 18, "PRIVMSG", "u"),
        old_row("#open", 19, "MODE", "+ntb", "*!*@spam"), old_row("#open", 20, "PRIVMSG", "n"),
        old_row("#reg", 21, "MODE", "+s"), old_row("#reg", 22, "PRIVMSG", "g"),  # registered: it never ended
        old_row(alice_carol, 23, "PRIVMSG", "carol", "d"),
        f"INSERT INTO read_markers (account, target, time_ms) VALUES ('alice', '#sec', {int(T0 * 1000)})",
        f"INSERT INTO read_markers (account, target, time_ms) VALUES ('alice', '#open', {int(T0 * 1000)})",
    )  # fmt: skip
    store = open_store(db)
    await store.open()  # migrated to the latest schema
    try:
        keys = ("#sec", "#inv", "#key", "#regonly", "#still", "#reopened", "#unkeyed", "#open", "#reg", alice_carol)
        kept = {key: [m.msgid for m in await store.history(HistoryQuery(key, "latest", None, None, 10, True))]
                for key in keys}  # fmt: skip
        assert kept == {"#sec": [], "#inv": [], "#key": [], "#regonly": [], "#still": [],
                        "#reopened": ["id13", "id14", "id15"], "#unkeyed": ["id16", "id17", "id18"],
                        "#open": ["id19", "id20"], "#reg": ["id21", "id22"], alice_carol: ["id23"]}  # fmt: skip
        assert await store.marker("alice", "#sec") is None
        assert await store.marker("alice", "#open") == T0
    finally:
        await store.close()
    told = [r.getMessage().partition(": ")[2] for r in caplog.records if ": forgot " in r.getMessage()]
    assert told == ["forgot the history of 5 closed channels that ended before schema 3"]


async def test_a_database_of_schema_3_or_later_keeps_what_a_closed_channel_left(db: str) -> None:
    """From schema 3, closed channels are forgotten as they end, or at the start after a
    crash: what is left of one is of a channel that lives on (on a cluster's other nodes)."""
    await at_schema(db, 3, old_row("#sec", 0, "MODE", "+s"), old_row("#sec", 1, "PRIVMSG", "s"))
    store = open_store(db)
    await store.open()
    try:
        assert [m.msgid for m in await store.history(HistoryQuery("#sec", "latest", None, None, 10, True))] == [
            "id0", "id1"]  # fmt: skip
    finally:
        await store.close()


def old_entry(position: int, letter: str, mask: str) -> str:
    return ("INSERT INTO channel_lists (channel, position, letter, mask, set_by, set_at) "
            f"VALUES ('#reg', {position}, '{letter}', '{mask}', 'Alice!u@h', {int(T0)})")  # fmt: skip


ENTRIES = (("I", "a:dan"), ("I", "a:ALICE"), ("b", "m:a:Dan"), ("b", "m:a:alice"), ("e", "a:zo*"), ("I", "a:d?n"),
           ("b", "*!*@spam"), ("b", "dan!*@*"))  # fmt: skip


async def test_a_entries_naming_no_account_go_from_a_database_of_schema_4(db: str) -> None:
    await at_schema(db, 4, OLD_ALICE, OLD_REG, *(old_entry(i, *entry) for i, entry in enumerate(ENTRIES)))
    store = open_store(db)
    snapshot = await store.open()
    await store.close()
    assert [(letter, mask) for letter, mask, _, _ in snapshot.channels[0].lists] == [
        ("I", "a:ALICE"), ("b", "m:a:alice"), ("e", "a:zo*"), ("I", "a:d?n"), ("b", "*!*@spam"), ("b", "dan!*@*")
    ]  # fmt: skip


async def test_a_entries_for_names_nobody_has_registered_stay_in_a_database_of_schema_5(db: str) -> None:
    """Since schema 5 a DROP takes its entries out: one naming no account was set for a
    name not registered yet, on purpose."""
    await at_schema(db, 5, OLD_ALICE, OLD_REG, *(old_entry(i, *entry) for i, entry in enumerate(ENTRIES)))
    store = open_store(db)
    snapshot = await store.open()
    await store.close()
    assert [(letter, mask) for letter, mask, _, _ in snapshot.channels[0].lists] == list(ENTRIES)
