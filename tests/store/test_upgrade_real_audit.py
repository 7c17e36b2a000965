"""Upgrading a real SQLite store from older hubbub revisions: HEAD's server started on the
file an older server left, and checked over real sockets.

The old files are built here by the SQL those revisions ran, copied as literal text from
their hubbub/store/schema.py (not imported: that is what an old file is made of, whatever
HEAD's migrations say), and filled with the rows they wrote, as seen in a database an
old server made from real traffic (two accounts, a registered channel with topic, modes,
key, limit, lists and an access list, channel and private chat, markers, a redaction,
K-lines):

- schema 1: 7b68553 (the first store with NickServ, ChanServ, markers, REDACT, SEARCH);
- schema 3: 10f628a (indexing in steps, closed channels);
- schema 6: f58e57d (microseconds, the SCRAM decoy secret, +f), the revision before HEAD.

Revisions up to schema 4 locked the file through `NAME.lock` (flock); later ones lock a
byte of the database file itself (84e78ea).
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import hmac
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from hubbub.app import Runtime
from hubbub.config import load
from hubbub.irc.message import Message
from hubbub.server.storage import StoreError
from hubbub.store.schema import LATEST
from tests.helpers import LineClient, start_server

# -- the SQL of the old revisions, as released --------------------------------------------------

SCHEMA_VERSION_TABLE = "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"

MIGRATION_1 = (  # 7b68553 hubbub/store/schema.py, common then sqlite
    """CREATE TABLE accounts (
                key TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                password_hash TEXT NOT NULL,
                scram TEXT NOT NULL,
                email TEXT NOT NULL,
                registered_at DOUBLE PRECISION NOT NULL
            )""",
    """CREATE TABLE account_certs (
                fingerprint TEXT PRIMARY KEY,
                account TEXT NOT NULL
            )""",
    "CREATE INDEX account_certs_by_account ON account_certs (account)",
    """CREATE TABLE channels (
                key TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                founder TEXT NOT NULL,
                registered_at DOUBLE PRECISION NOT NULL,
                topic TEXT NOT NULL,
                topic_by TEXT NOT NULL,
                topic_time DOUBLE PRECISION NOT NULL,
                modes TEXT NOT NULL,
                join_key TEXT,
                member_limit INTEGER
            )""",
    """CREATE TABLE channel_lists (
                channel TEXT NOT NULL,
                position INTEGER NOT NULL,
                letter TEXT NOT NULL,
                mask TEXT NOT NULL,
                set_by TEXT NOT NULL,
                set_at BIGINT NOT NULL,
                PRIMARY KEY (channel, position)
            )""",
    """CREATE TABLE channel_access (
                channel TEXT NOT NULL,
                account TEXT NOT NULL,
                modes TEXT NOT NULL,
                PRIMARY KEY (channel, account)
            )""",
    """CREATE TABLE klines (
                mask TEXT PRIMARY KEY,
                reason TEXT NOT NULL,
                set_by TEXT NOT NULL,
                set_at DOUBLE PRECISION NOT NULL,
                expires DOUBLE PRECISION
            )""",
    """CREATE TABLE read_markers (
                account TEXT NOT NULL,
                target TEXT NOT NULL,
                time_ms BIGINT NOT NULL,
                PRIMARY KEY (account, target)
            )""",
    """CREATE TABLE messages (
                id INTEGER PRIMARY KEY,
                target TEXT NOT NULL,
                msgid TEXT NOT NULL,
                time_ms BIGINT NOT NULL,
                command TEXT NOT NULL,
                source TEXT NOT NULL,
                account TEXT,
                params TEXT NOT NULL,
                tags TEXT,
                body TEXT NOT NULL,
                UNIQUE (target, msgid)
            )""",
    "CREATE INDEX messages_by_target_time ON messages (target, time_ms, id)",
    "CREATE INDEX messages_by_time ON messages (time_ms)",
    """CREATE VIRTUAL TABLE messages_fts USING fts5(
                body, target, content='messages', content_rowid='id',
                tokenize='unicode61 remove_diacritics 2'
            )""",
    """CREATE TRIGGER messages_indexed AFTER INSERT ON messages WHEN new.body <> '' BEGIN
                INSERT INTO messages_fts (rowid, body, target) VALUES (new.id, new.body, new.target);
            END""",
    """CREATE TRIGGER messages_unindexed AFTER DELETE ON messages WHEN old.body <> '' BEGIN
                INSERT INTO messages_fts (messages_fts, rowid, body, target)
                VALUES ('delete', old.id, old.body, old.target);
            END""",
)

MIGRATION_2 = (  # 9846412, as 10f628a still has it
    "DROP TRIGGER messages_indexed",
    "DROP TRIGGER messages_unindexed",
    "DROP TABLE messages_fts",
    """CREATE VIRTUAL TABLE messages_fts USING fts5(
                body, target, content='messages', content_rowid='id', columnsize=0,
                tokenize='unicode61 remove_diacritics 2'
            )""",
    "INSERT INTO messages_fts (messages_fts) VALUES ('rebuild')",
    "CREATE TABLE search_indexed (upto INTEGER NOT NULL)",
    "INSERT INTO search_indexed (upto) SELECT COALESCE(MAX(id), 0) FROM messages",
    """CREATE TRIGGER messages_unindexed AFTER DELETE ON messages
                WHEN old.body <> '' AND old.id <= (SELECT upto FROM search_indexed) BEGIN
                INSERT INTO messages_fts (messages_fts, rowid, body, target)
                VALUES ('delete', old.id, old.body, old.target);
            END""",
)

MIGRATION_3 = ("CREATE TABLE closed_channels (key TEXT PRIMARY KEY)",)  # 10f628a

MIGRATION_4 = (  # 5602674
    "ALTER TABLE messages ADD COLUMN time_us BIGINT NOT NULL DEFAULT 0",
    "DROP INDEX messages_by_target_time",
    "CREATE INDEX messages_by_target_time ON messages (target, time_ms, time_us, id)",
)

MIGRATION_5 = (  # b250081
    "CREATE TABLE server_secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "INSERT INTO server_secrets (name, value) VALUES ('scram_decoy', lower(hex(randomblob(32))))",
)

MIGRATION_6 = ("ALTER TABLE channels ADD COLUMN flood TEXT",)  # f58e57d

OLD_MIGRATIONS = {1: MIGRATION_1, 2: MIGRATION_2, 3: MIGRATION_3, 4: MIGRATION_4, 5: MIGRATION_5, 6: MIGRATION_6}

# -- what the old servers wrote --------------------------------------------------------------------

# Accounts as 7b68553's NickServ REGISTER kept them: argon2id, and SCRAM-SHA-256 as
# salt:stored key:server key:iterations (passwords alicepw1 and bobpw123).
ALICE = (
    "alice", "alice",
    "$argon2id$v=19$m=65536,t=3,p=4$uGoQdKzZRyksu7DmIJ/KJQ$A3Bc5/sJo1bK3ixXNN78VZDcT4OKMpSieQk1ptApiv4",
    "Hf978FplwawT4FuRHfl6+Or0Lti6IwbMiBSYO5c8R+Q=:BDIYjtN3SF3K9PpG6R3BYKZfG6+Jvh/r3GpG2XJbUGA=:"
    "/0xBRPAllj3SRnKuQo6Swq72U77/a7IyA4IHar7rYUw=:4096",
    "alice@example.org",
)  # fmt: skip
BOB = (
    "bob", "bob",
    "$argon2id$v=19$m=65536,t=3,p=4$lLi6Dn0Vip4rMWWEU39ujg$uOUJdIj8HSX+GZb1DXGDtEyXGkabo0lfwGt0tzTP4hA",
    "GSBukUl503KEokOFQRbAX1e3v1QzM/miSP8fnol0jKU=:zWffs+ccYaBh0iecMxaTOY4LmyESTljejxeSv80wIbw=:"
    "CMSeMzroBGXbMwPH7/xX7ARkEdos7Hv0/tLrl2EguAg=:4096",
    "",
)  # fmt: skip
PASSWORDS = {"alice": "alicepw1", "bob": "bobpw123"}
CERTFP = "ab" * 32
# `printf 'operpw\n' | hubbub hash-password`
OPER_HASH = "$argon2id$v=19$m=65536,t=3,p=4$fb2gvL8T5hET8Ylxaoxjpw$wh8kiXNWKetpgNCeumvVT87dmFPVvbJeubmVas+tar8"

ALICE_P = "alice!~u@127.0.0.1"
BOB_P = "bob!~u@127.0.0.1"

# (id, target, msgid, ms after the start, command, source, account, params, body): the history
# 7b68553 kept of that traffic; id 15 was redacted there (REDACT deletes the row).
MESSAGES = (
    (1, "#upg", "76a547fb5", 0, "JOIN", ALICE_P, "alice", ["#upg"], ""),
    (2, "#upg", "76a547fb6", 1, "MODE", "ChanServ!ChanServ@services", None, ["#upg", "+q", "alice"], ""),
    (3, "#upg", "76a547fb7", 2, "TOPIC", ALICE_P, "alice", ["#upg", "The upgrade topic"], ""),
    (4, "#upg", "76a547fb8", 2, "MODE", ALICE_P, "alice", ["#upg", "+k", "sekrit"], ""),
    (5, "#upg", "76a547fb9", 2, "MODE", ALICE_P, "alice", ["#upg", "+l", "42"], ""),
    (6, "#upg", "76a547fba", 2, "MODE", ALICE_P, "alice", ["#upg", "+b", "*!*@banned.example"], ""),
    (7, "#upg", "76a547fbb", 3, "MODE", ALICE_P, "alice", ["#upg", "+e", "*!*@excepted.example"], ""),
    (8, "#upg", "76a547fbc", 3, "MODE", ALICE_P, "alice", ["#upg", "+I", "*!*@invited.example"], ""),
    (9, "#upg", "76a547fbd", 4, "JOIN", BOB_P, "bob", ["#upg"], ""),
    (10, "#upg", "76a547fbe", 4, "PRIVMSG", ALICE_P, "alice", ["#upg", "hello pineapple one"], "hello pineapple one"),
    (11, "#upg", "76a547fbf", 5, "PRIVMSG", BOB_P, "bob", ["#upg", "café reply two"], "café reply two"),
    (12, "#upg", "76a547fb10", 5, "PRIVMSG", ALICE_P, "alice", ["#upg", "third message xylophone"],
     "third message xylophone"),
    (13, "#upg", "76a547fb11", 5, "PRIVMSG", ALICE_P, "alice", ["#upg", "\x01ACTION waves zebra\x01"],
     "\x01ACTION waves zebra\x01"),
    (14, "#upg", "76a547fb12", 5, "NOTICE", BOB_P, "bob", ["#upg", "notice walrus"], "notice walrus"),
    (16, "#upg", "76a547fb14", 6, "PRIVMSG", ALICE_P, "alice", ["#upg", "to be redacted on head cherry"],
     "to be redacted on head cherry"),
    (17, "dm:alice bob", "76a547fb15", 157, "PRIVMSG", ALICE_P, "alice", ["bob", "private mango"], "private mango"),
    (18, "dm:alice bob", "76a547fb16", 158, "PRIVMSG", BOB_P, "bob", ["alice", "private reply kiwi"],
     "private reply kiwi"),
    (19, "#side", "76a547fb17", 407, "JOIN", ALICE_P, "alice", ["#side"], ""),
    (20, "#side", "76a547fb18", 657, "PRIVMSG", ALICE_P, "alice", ["#side", "side channel grape"],
     "side channel grape"),
    (21, "#upg", "76a547fb1e", 1913, "QUIT", ALICE_P, "alice", ["Connection closed"], ""),
    (22, "#side", "76a547fb1e", 1913, "QUIT", ALICE_P, "alice", ["Connection closed"], ""),
    (23, "#upg", "76a547fb1f", 1913, "QUIT", BOB_P, "bob", ["Connection closed"], ""),
)  # fmt: skip
MSGID = {row[8] or f"{row[4]}{row[0]}": row[2] for row in MESSAGES}
MS = {row[8]: row[3] for row in MESSAGES if row[8]}

# What f58e57d (schema 6) wrote on top: +CR and a +f rule on the registered channel, and
# messages with their microseconds.
SCHEMA_6_MESSAGES = (
    (24, "#upg", "e44cf51d11", 2000, "MODE", ALICE_P, "alice", ["#upg", "+f", "30:5"], ""),
    (25, "#upg", "e44cf51d12", 2000, "MODE", ALICE_P, "alice", ["#upg", "+CR"], ""),
    (26, "#upg", "e44cf51d15", 2001, "PRIVMSG", ALICE_P, "alice", ["#upg", "schema six quince"], "schema six quince"),
)  # fmt: skip

HIDDEN = (  # 7b68553: a secret channel, never registered, that emptied (its history stayed)
    (30, "#hidden", "5256e3c810", 700, "JOIN", "carol!~u@127.0.0.1", "carol", ["#hidden"], ""),
    (31, "#hidden", "5256e3c811", 701, "MODE", "carol!~u@127.0.0.1", "carol", ["#hidden", "+s"], ""),
    (32, "#hidden", "5256e3c812", 701, "PRIVMSG", "carol!~u@127.0.0.1", "carol", ["#hidden", "hidden words"],
     "hidden words"),
    (33, "#hidden", "5256e3c813", 702, "PART", "carol!~u@127.0.0.1", "carol", ["#hidden"], ""),
)  # fmt: skip

DAN_P = "dan!~u@127.0.0.1"
DROPPED = (  # 7b68553 after `NickServ DROP dan`: the account row went, nothing else did
    (40, "dm:alice dan", "172ed377b", 800, "PRIVMSG", DAN_P, "dan", ["alice", "secret to alice from dan"],
     "secret to alice from dan"),
    (41, "dm:alice dan", "172ed377c", 801, "PRIVMSG", ALICE_P, "alice", ["dan", "reply to dan"], "reply to dan"),
)  # fmt: skip


def iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


class OldDb:
    """An old revision's file: its path, and the moment (ms) its traffic began."""

    def __init__(self, path: Path, start_ms: int) -> None:
        self.path = path
        self.start_ms = start_ms

    def ms(self, text: str) -> int:
        return self.start_ms + MS[text]

    def versions(self) -> list[int]:
        with sqlite3.connect(self.path) as conn:
            return [row[0] for row in conn.execute("SELECT version FROM schema_version ORDER BY version")]


def _insert_messages(conn: sqlite3.Connection, start_ms: int, rows: tuple, with_us: bool) -> None:
    for id_, target, msgid, offset, command, source, account, params, body in rows:
        ms = start_ms + offset
        values = [id_, target, msgid, ms, command, source, account, json.dumps(params, ensure_ascii=False), None, body]
        if with_us:
            conn.execute(
                "INSERT INTO messages (id, target, msgid, time_ms, command, source, account, params, tags, body, "
                "time_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", (*values, ms * 1000 + id_ % 1000),
            )  # fmt: skip
        else:
            conn.execute(
                "INSERT INTO messages (id, target, msgid, time_ms, command, source, account, params, tags, body) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", values,
            )  # fmt: skip


def make_old_db(
    path: Path, version: int, klines: tuple = (), hidden: bool = False, dropped: bool = False, invited: bool = False
) -> OldDb:
    """The file a server of `version` left after that traffic (schema 1's rows, then the
    later revisions' migrations run on it as they would have, then what they wrote)."""
    start = int((time.time() - 3600) * 1000)
    t0 = start / 1000
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(SCHEMA_VERSION_TABLE)

    def migrate(number: int) -> None:
        conn.execute("BEGIN IMMEDIATE")
        for statement in OLD_MIGRATIONS[number]:
            conn.execute(statement)
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))
        conn.execute("COMMIT")

    migrate(1)
    conn.execute("BEGIN")
    for key, name, password_hash, scram, email in (ALICE, BOB):
        conn.execute("INSERT INTO accounts (key, name, password_hash, scram, email, registered_at) "
                     "VALUES (?, ?, ?, ?, ?, ?)", (key, name, password_hash, scram, email, t0))  # fmt: skip
    conn.execute("INSERT INTO account_certs (fingerprint, account) VALUES (?, ?)", (CERTFP, "alice"))
    conn.execute(
        "INSERT INTO channels (key, name, founder, registered_at, topic, topic_by, topic_time, modes, join_key, "
        "member_limit) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ("#upg", "#upg", "alice", t0, "The upgrade topic", ALICE_P, t0, "nt", "sekrit", 42),
    )  # fmt: skip
    for position, (letter, mask) in enumerate(
        (("b", "*!*@banned.example"), ("e", "*!*@excepted.example"), ("I", "*!*@invited.example"))
    ):
        conn.execute("INSERT INTO channel_lists (channel, position, letter, mask, set_by, set_at) "
                     "VALUES (?, ?, ?, ?, ?, ?)", ("#upg", position, letter, mask, ALICE_P, int(t0)))  # fmt: skip
    conn.execute("INSERT INTO channel_access (channel, account, modes) VALUES (?, ?, ?)", ("#upg", "bob", "o"))
    for mask, reason, expires in (("~evil@*", "no evil here", None), ("~temp@*", "temporary", t0 + 86400), *klines):
        conn.execute("INSERT INTO klines (mask, reason, set_by, set_at, expires) VALUES (?, ?, ?, ?, ?)",
                     (mask, reason, "opguy", t0 + 2, expires))  # fmt: skip
    conn.execute("INSERT INTO read_markers (account, target, time_ms) VALUES (?, ?, ?)",
                 ("alice", "#upg", start + MS["café reply two"]))  # fmt: skip
    conn.execute("INSERT INTO read_markers (account, target, time_ms) VALUES (?, ?, ?)",
                 ("bob", "dm:alice bob", start + MS["private reply kiwi"]))  # fmt: skip
    _insert_messages(conn, start, MESSAGES + (HIDDEN if hidden else ()) + (DROPPED if dropped else ()), with_us=False)
    if dropped:  # dan's registered channel, and dan's place on #upg's access list
        conn.execute(
            "INSERT INTO channels (key, name, founder, registered_at, topic, topic_by, topic_time, modes, join_key, "
            "member_limit) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ("#dans", "#dans", "dan", t0, "dan's place", DAN_P, t0, "nt", None, None),
        )  # fmt: skip
        conn.execute("INSERT INTO channel_access (channel, account, modes) VALUES (?, ?, ?)", ("#upg", "dan", "o"))
    if invited:  # 10f628a after `NickServ DROP dan`: alice's +i channel still invites a:dan
        conn.execute(
            "INSERT INTO channels (key, name, founder, registered_at, topic, topic_by, topic_time, modes, join_key, "
            "member_limit) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ("#al", "#al", "alice", t0, "", "", 0.0, "int", None, None),
        )  # fmt: skip
        conn.execute("INSERT INTO channel_lists (channel, position, letter, mask, set_by, set_at) "
                     "VALUES (?, ?, ?, ?, ?, ?)", ("#al", 0, "I", "a:dan", ALICE_P, int(t0)))  # fmt: skip
    conn.execute("COMMIT")
    for number in range(2, version + 1):
        migrate(number)
    if version >= 3:  # 10f628a on: a registered +k (or +i) channel is written as closed
        conn.execute("INSERT INTO closed_channels (key) VALUES ('#upg')")
        if invited:
            conn.execute("INSERT INTO closed_channels (key) VALUES ('#al')")
    if version >= 6:
        conn.execute("UPDATE channels SET modes = 'CRnt', flood = '30:5' WHERE key = '#upg'")
        _insert_messages(conn, start, SCHEMA_6_MESSAGES, with_us=True)
        conn.execute("UPDATE search_indexed SET upto = (SELECT MAX(id) FROM messages)")
        conn.execute("INSERT INTO messages_fts (rowid, body, target) SELECT id, body, target FROM messages "
                     "WHERE id >= 24 AND body <> ''")  # fmt: skip
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return OldDb(path, start)


# -- clients ---------------------------------------------------------------------------------------

CAPS = ("draft/chathistory", "batch", "server-time", "message-tags", "soju.im/search", "draft/read-marker",
        "draft/message-redaction", "echo-message", "draft/event-playback")  # fmt: skip


async def login(runtime: Runtime, nick: str, account: str | None = None, mechanism: str = "PLAIN",
                caps: tuple[str, ...] = CAPS, user: str = "u") -> LineClient:  # fmt: skip
    """A client with `caps`, logged in to `account` by SASL (PLAIN or SCRAM-SHA-256)."""
    client = await LineClient.connect(runtime)
    wanted = caps + (("sasl",) if account else ())
    if wanted:
        client.send("CAP LS 302")
        client.send(f"CAP REQ :{' '.join(wanted)}")
        await client.expect(lambda m: m.command == "CAP" and m.params[1] in ("ACK", "NAK"))
        assert client.received[-1].params[1] == "ACK", client.raw[-3:]
    if account:
        password = PASSWORDS[account]
        client.send(f"AUTHENTICATE {mechanism}")
        await client.expect("AUTHENTICATE")
        if mechanism == "PLAIN":
            client.send("AUTHENTICATE " + base64.b64encode(f"{account}\0{account}\0{password}".encode()).decode())
        else:
            await _scram(client, account, password)
        done = await client.expect(lambda m: m.command in ("903", "904"))
        assert done.command == "903", client.raw[-4:]
    client.send("CAP END")
    await client.register(nick, user)
    return client


async def _scram(client: LineClient, account: str, password: str) -> None:
    nonce = base64.b64encode(os.urandom(18)).decode()
    first_bare = f"n={account},r={nonce}"
    client.send("AUTHENTICATE " + base64.b64encode(f"n,,{first_bare}".encode()).decode())
    server_first = base64.b64decode((await client.expect("AUTHENTICATE")).params[-1]).decode()
    fields = dict(item.split("=", 1) for item in server_first.split(","))
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(fields["s"]), int(fields["i"]))
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    without_proof = f"c=biws,r={fields['r']}"
    signature = hmac.digest(hashlib.sha256(client_key).digest(),
                            f"{first_bare},{server_first},{without_proof}".encode(), "sha256")  # fmt: skip
    proof = base64.b64encode(bytes(a ^ b for a, b in zip(client_key, signature, strict=True))).decode()
    client.send("AUTHENTICATE " + base64.b64encode(f"{without_proof},p={proof}".encode()).decode())
    final = await client.expect(lambda m: m.command in ("AUTHENTICATE", "904"))
    if final.command == "AUTHENTICATE":
        client.send("AUTHENTICATE +")


async def batch(client: LineClient, line: str) -> list[Message]:
    """Send `line`; the messages of the batch it is answered with ([] for none: a FAIL)."""
    client.send(line)
    opening = await client.expect(lambda m: m.command in ("BATCH", "FAIL"))
    if opening.command == "FAIL":
        return []
    ref = opening.params[0][1:]
    inside = []
    while True:
        message = await client.read_message()
        assert message is not None
        if message.command == "BATCH" and message.params == ["-" + ref]:
            return inside
        inside.append(message)


def texts(messages: list[Message]) -> list[str]:
    return [m.params[-1] for m in messages if m.command in ("PRIVMSG", "NOTICE")]


@pytest.fixture
async def head(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Runtime]]]:
    """`await head(db)`: HEAD's server on the file, with an oper block (oper / operpw);
    every one started is stopped at the end."""
    config = tmp_path / "opers.toml"
    config.write_text(f'[[opers]]\nname = "oper"\npassword_hash = "{OPER_HASH}"\n', encoding="utf-8")
    started: list[Runtime] = []

    async def run(db: OldDb, *overrides: str) -> Runtime:
        settings = [
            "listen.irc=['127.0.0.1:0']",
            "listen.web=''",
            "limits.flood_control=false",
            f"store.db='{db.path}'",
        ]
        runtime = Runtime(load(str(config), [*settings, *overrides]))
        await runtime.start()
        started.append(runtime)
        return runtime

    yield run
    for runtime in started:
        await runtime.stop()


async def stop(runtime: Runtime) -> None:
    await runtime.stop()


VERSIONS = pytest.mark.parametrize("version", [1, 3, 6], ids=["schema1-7b68553", "schema3-10f628a", "schema6-f58e57d"])


# -- what is right -----------------------------------------------------------------------------------


@VERSIONS
async def test_old_accounts_log_in_with_their_old_passwords_by_plain_scram_and_nickserv(
    tmp_path, head, clients, version
) -> None:
    db = make_old_db(tmp_path / "hubbub.db", version)
    server = await head(db)
    alice = await login(server, "alice", "alice")  # SASL PLAIN against the old argon2id hash
    bob = await login(server, "bob", "bob", mechanism="SCRAM-SHA-256")  # the old SCRAM credentials
    carol = await login(server, "notbob", caps=())
    clients.extend([alice, bob, carol])
    carol.send("PRIVMSG NickServ :IDENTIFY bob bobpw123")
    await carol.expect(lambda m: m.command == "NOTICE" and "logged in as bob" in m.params[-1])
    alice.send("PRIVMSG NickServ :CERT LIST")
    await alice.expect(lambda m: m.command == "NOTICE" and CERTFP in m.params[-1])
    assert db.versions() == list(range(1, LATEST + 1))


@VERSIONS
async def test_the_registered_channel_comes_back_with_founder_topic_modes_lists_and_access(
    tmp_path, head, clients, version
) -> None:
    db = make_old_db(tmp_path / "hubbub.db", version)
    server = await head(db)
    alice = await login(server, "alice", "alice")
    bob = await login(server, "bob", "bob")
    clients.extend([alice, bob])
    alice.send("JOIN #upg sekrit")
    joined = await alice.collect_until(lambda m: m.command == "366")
    assert any(m.command == "MODE" and m.params == ["#upg", "+q", "alice"] for m in joined), alice.raw[-8:]
    assert any(m.command == "332" and m.params[-1] == "The upgrade topic" for m in joined)
    alice.send("MODE #upg")
    modes = await alice.expect("324")
    wanted = ["+CRntflk", "30:5", "42", "sekrit"] if version >= 6 else ["+ntlk", "42", "sekrit"]
    assert modes.params[2:] == wanted
    for letter, entry, end, mask in (("b", "367", "368", "*!*@banned.example"),
                                     ("e", "348", "349", "*!*@excepted.example"),
                                     ("I", "346", "347", "*!*@invited.example")):  # fmt: skip
        alice.send(f"MODE #upg +{letter}")
        listed = await alice.collect_until(end)
        assert [m.params[2:4] for m in listed if m.command == entry] == [[mask, ALICE_P]]
    bob.send("JOIN #upg sekrit")
    await bob.expect(lambda m: m.command == "MODE" and m.params == ["#upg", "+o", "bob"])


@VERSIONS
async def test_old_history_answers_every_chathistory_mode_and_search(tmp_path, head, clients, version) -> None:
    db = make_old_db(tmp_path / "hubbub.db", version)
    server = await head(db)
    alice = await login(server, "alice", "alice")
    clients.append(alice)
    alice.send("JOIN #upg sekrit")
    await alice.expect("366")
    latest = await batch(alice, "CHATHISTORY LATEST #upg * 50")
    said = ["hello pineapple one", "café reply two", "third message xylophone", "\x01ACTION waves zebra\x01",
            "notice walrus", "to be redacted on head cherry"]  # fmt: skip
    said += ["schema six quince"] if version >= 6 else []
    assert texts(latest) == said
    assert [m.tags["msgid"] for m in latest if m.command == "PRIVMSG"][:2] == [MSGID["hello pineapple one"],
                                                                                 MSGID["café reply two"]]  # fmt: skip
    assert latest[1].tags["time"] == iso(db.start_ms + 1)
    before = await batch(alice, f"CHATHISTORY BEFORE #upg msgid={MSGID['third message xylophone']} 2")
    assert texts(before) == ["hello pineapple one", "café reply two"]
    around = await batch(alice, f"CHATHISTORY AROUND #upg msgid={MSGID['café reply two']} 3")
    assert texts(around) == ["hello pineapple one", "café reply two", "third message xylophone"]
    after = await batch(alice, f"CHATHISTORY AFTER #upg msgid={MSGID['café reply two']} 2")
    assert texts(after) == ["third message xylophone", "\x01ACTION waves zebra\x01"]
    private = await batch(alice, "CHATHISTORY LATEST bob * 10")
    assert texts(private) == ["private mango", "private reply kiwi"]
    targets = await batch(alice, f"CHATHISTORY TARGETS timestamp={iso(db.start_ms - 1000)} "
                                 f"timestamp={iso(db.start_ms + 10_000_000)} 10")  # fmt: skip
    assert sorted(m.params[1] for m in targets) == ["#upg", "bob"]
    assert texts(await batch(alice, "SEARCH in=#upg;text=cafe")) == ["café reply two"]  # the index, diacritics off
    assert texts(await batch(alice, "SEARCH in=#upg;text=PINEAPPLE")) == ["hello pineapple one"]
    assert texts(await batch(alice, "SEARCH in=bob;text=mango")) == ["private mango"]
    assert texts(await batch(alice, "SEARCH in=#upg;text=banana")) == []  # redacted by the old server


async def test_an_old_msgid_is_redacted_and_new_messages_follow_the_old_ones(tmp_path, head, clients) -> None:
    db = make_old_db(tmp_path / "hubbub.db", 1)
    server = await head(db)
    alice = await login(server, "alice", "alice")
    clients.append(alice)
    alice.send("JOIN #upg sekrit")
    await alice.expect("366")
    alice.send(f"REDACT #upg {MSGID['to be redacted on head cherry']} :gone")
    await alice.expect(lambda m: m.command == "REDACT" and m.params[1] == MSGID["to be redacted on head cherry"])
    alice.send("PRIVMSG #upg :new on head lemon")
    await alice.expect(lambda m: m.command == "PRIVMSG" and m.params[-1] == "new on head lemon")
    latest = texts(await batch(alice, "CHATHISTORY LATEST #upg * 10"))[-3:]
    assert latest == ["\x01ACTION waves zebra\x01", "notice walrus", "new on head lemon"]
    assert texts(await batch(alice, "SEARCH in=#upg;text=cherry")) == []
    assert texts(await batch(alice, "SEARCH in=#upg;text=lemon")) == ["new on head lemon"]
    around = await batch(alice, f"CHATHISTORY AROUND #upg msgid={MSGID['notice walrus']} 20")
    assert texts(around)[-3:] == ["\x01ACTION waves zebra\x01", "notice walrus", "new on head lemon"]


@VERSIONS
async def test_read_markers_and_klines_of_the_old_file_hold(tmp_path, head, clients, version) -> None:
    db = make_old_db(tmp_path / "hubbub.db", version)
    server = await head(db)
    alice = await login(server, "alice", "alice")
    bob = await login(server, "bob", "bob")
    clients.extend([alice, bob])
    alice.send("JOIN #upg sekrit")
    marker = await alice.expect("MARKREAD")
    assert marker.params == ["#upg", f"timestamp={iso(db.ms('café reply two'))}"]
    bob.send("MARKREAD alice")
    marker = await bob.expect("MARKREAD")
    assert marker.params == ["alice", f"timestamp={iso(db.ms('private reply kiwi'))}"]
    for user, reason in (("evil", "no evil here"), ("temp", "temporary")):
        banned = await LineClient.connect(server)
        clients.append(banned)
        banned.send(f"NICK x{user}")
        banned.send(f"USER {user} 0 * :K-lined")
        refused = await banned.expect("ERROR")
        assert reason in refused.params[-1]


async def test_the_migrated_file_opens_again_and_the_account_command_lists_its_accounts(tmp_path, head) -> None:
    db = make_old_db(tmp_path / "hubbub.db", 1)
    await stop(await head(db))
    assert db.versions() == list(range(1, LATEST + 1))
    again = await head(db)  # nothing left to migrate: the same file, the same rows
    client = await login(again, "alice", "alice")
    client.send("JOIN #upg sekrit")
    await client.expect("366")
    assert "hello pineapple one" in texts(await batch(client, "CHATHISTORY LATEST #upg * 50"))
    await client.close()
    await stop(again)
    assert db.versions() == list(range(1, LATEST + 1))
    listed = subprocess.run([sys.executable, "-m", "hubbub", "account", "list", "--db", str(db.path)],
                            capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert [line.split("\t")[0] for line in listed.stdout.splitlines()] == ["alice", "bob"]
    assert "1 certificate" in listed.stdout.splitlines()[0]


async def test_a_file_of_a_newer_schema_is_refused_in_one_line_and_left_as_it_was(tmp_path) -> None:
    """What an older hubbub does with HEAD's file (the check is there since schema 1),
    seen from HEAD one schema later."""
    db = make_old_db(tmp_path / "hubbub.db", 6)
    with sqlite3.connect(db.path) as conn:
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (LATEST + 1,))
    before = db.path.read_bytes()
    with pytest.raises(StoreError) as refused:
        await start_server(f"store.db='{db.path}'")
    assert str(refused.value) == f"{db.path} was made by a newer hubbub (schema {LATEST + 1}; this one knows {LATEST})"
    assert db.path.read_bytes() == before


# -- what was wrong (the lock, UNKLINE, dropped accounts, closed channels: fixed since) ----------------


@pytest.mark.parametrize("version", [1, 3, 4])
async def test_a_server_of_an_older_revision_still_running_on_the_file_keeps_head_out(tmp_path, version) -> None:
    db = make_old_db(tmp_path / "hubbub.db", version)
    # what 7b68553..5602674's SqliteStore._lock holds while their server runs
    fd = os.open(str(db.path) + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        try:
            runtime = await start_server(f"store.db='{db.path}'")
        except StoreError as exc:
            refusal = str(exc)
        else:
            await runtime.stop()
            refusal = ""
    finally:
        os.close(fd)
    assert db.versions() == list(range(1, version + 1))  # not migrated under the running server
    assert "is in use by another hubbub server" in refusal


@pytest.mark.parametrize("version", [1, 4], ids=["schema1-7b68553", "schema4-5602674"])
async def test_unkline_of_an_old_kline_kept_in_two_cases_holds_after_a_restart(
    tmp_path, head, clients, version
) -> None:
    # 7b68553..5602674 kept a K-line set again in another case as a second row (their
    # recorder put each mask as written, the state held one)
    twice = (("~Dup@*", "first case", None), ("~dup@*", "second case", None))
    db = make_old_db(tmp_path / "hubbub.db", version, klines=twice)
    server = await head(db)
    oper = await login(server, "opguy", caps=())
    clients.append(oper)
    oper.send("OPER oper operpw")
    await oper.expect("381", timeout=20)
    oper.send("UNKLINE ~dup@*")
    await oper.expect(lambda m: m.command == "NOTICE" and "Removed K-line" in m.params[-1])
    oper.send("STATS k")
    stats = await oper.collect_until("219")
    assert not [m for m in stats if m.command == "216" and "dup" in m.params[4].lower()]
    await oper.close()
    await stop(server)
    again = await head(db)
    dup = await LineClient.connect(again)
    clients.append(dup)
    dup.send("NICK dupper")
    dup.send("USER dup 0 * :lifted")
    welcome = await dup.expect(lambda m: m.command in ("001", "ERROR"))
    assert welcome.command == "001", dup.raw[-3:]


async def test_a_secret_channel_that_ended_before_the_upgrade_keeps_its_history_from_the_next_creator(
    tmp_path, head, clients
) -> None:
    db = make_old_db(tmp_path / "hubbub.db", 1, hidden=True)
    server = await head(db)
    eve = await login(server, "eve", caps=("draft/chathistory", "batch", "server-time", "message-tags"))
    clients.append(eve)
    eve.send("JOIN #hidden")
    joined = await eve.collect_until("366")
    assert any(m.command == "353" and m.params[-1] == "@eve" for m in joined)  # a new channel: eve is its op
    assert "hidden words" not in texts(await batch(eve, "CHATHISTORY LATEST #hidden * 10"))


async def test_whoever_registers_a_dropped_accounts_name_inherits_none_of_its_old_channels(
    tmp_path, head, clients
) -> None:
    db = make_old_db(tmp_path / "hubbub.db", 1, dropped=True)
    server = await head(db)
    newdan = await login(server, "dan", caps=("echo-message",))
    clients.append(newdan)
    newdan.send("PRIVMSG NickServ :REGISTER newdanpw9")
    await newdan.expect(lambda m: m.command == "NOTICE" and m.params[-1] == "Account created")
    newdan.send("JOIN #dans")
    joined = await newdan.collect_until("366")
    assert not [m for m in joined if m.command == "MODE" and m.params[1:] == ["+q", "dan"]], "founder of #dans"
    newdan.send("JOIN #upg sekrit")
    joined = await newdan.collect_until("366")
    assert not [m for m in joined if m.command == "MODE" and m.params[1:] == ["+o", "dan"]], "op by #upg's list"


async def test_whoever_registers_a_dropped_accounts_name_reads_none_of_its_private_conversations(
    tmp_path, head, clients
) -> None:
    db = make_old_db(tmp_path / "hubbub.db", 1, dropped=True)
    server = await head(db)
    newdan = await login(server, "dan", caps=("echo-message", "draft/chathistory", "batch", "server-time"))
    clients.append(newdan)
    newdan.send("PRIVMSG NickServ :REGISTER newdanpw9")
    await newdan.expect(lambda m: m.command == "NOTICE" and m.params[-1] == "Account created")
    assert texts(await batch(newdan, "CHATHISTORY LATEST alice * 10")) == []


@pytest.mark.parametrize("version", [1, 3], ids=["schema1-7b68553", "schema3-10f628a"])
async def test_whoever_registers_a_dropped_accounts_name_is_not_invited_by_its_old_entries(
    tmp_path, head, clients, version
) -> None:
    db = make_old_db(tmp_path / "hubbub.db", version, invited=True)
    server = await head(db)
    newdan = await login(server, "dan", caps=("echo-message",))
    clients.append(newdan)
    newdan.send("PRIVMSG NickServ :REGISTER newdanpw9")
    await newdan.expect(lambda m: m.command == "NOTICE" and m.params[-1] == "Account created")
    newdan.send("JOIN #al")
    answer = await newdan.expect(lambda m: m.command in ("366", "473"))
    assert answer.command == "473", newdan.raw[-4:]  # invite-only: the old invitation went with the old account
