"""The schema, as numbered migrations applied in order at start-up.

A migration is never edited once released: a change to the schema is a new migration.
The SQL is kept to what SQLite and PostgreSQL both understand, except where a backend
needs its own (full-text search): those steps are given per backend. A choice SQL says
badly (which channels their mode changes left closed) is a `Repair`: the rows read, the
keys picked from them in Python, the same deletes on both backends.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

from hubbub.server.chanmodes import CHANNEL_MODES, FLAG, parse_mode_changes
from hubbub.server.channel import Channel


class Repair(NamedTuple):
    """A step whose choice SQL says badly (replaying mode changes): the rows `query`
    reads, the keys `keys` picks from them, and `deletes` run once per key (each takes
    the key as its one parameter, `?`). `told` counts them in the upgrade's log."""

    query: str
    keys: Callable[[Iterable[Sequence[Any]]], list[str]]
    deletes: tuple[str, ...]
    told: str


class Migration(NamedTuple):
    version: int
    what: str
    common: tuple[str, ...]
    sqlite: tuple[str, ...] = ()
    postgresql: tuple[str, ...] = ()
    repair: Repair | None = None
    # A cleaning of what revisions before schema `before` left: its steps run only on a
    # database that was below it when this start began. One made at `before` or later was
    # written by revisions that never left it, and may hold rows the cleaning would take
    # for leftovers (an `a:` entry for a name nobody has registered yet). 0: every one.
    before: int = 0

    def cleans(self, was: int) -> bool:
        """Whether its steps run on a database that was at schema `was` at this start."""
        return not self.before or was < self.before


def _closed_at_end(rows: Iterable[Sequence[Any]]) -> list[str]:
    """The channels (of `(target, params)` MODE rows, in the order they were applied)
    that their mode changes left closed (Channel.closed: secret, invite-only, keyed or
    +R). Each name's changes are taken as one channel's: what ended and came again under
    it shows no boundary, so a channel closed once and never opened again counts as
    closed, whatever came after it under its name (its history is forgotten rather than
    shown to the wrong people)."""
    channels: dict[str, Channel] = {}
    for target, params in rows:
        _, letters, *args = json.loads(params)
        channel = channels.setdefault(target, Channel(target, 0.0))
        for adding, letter, arg in parse_mode_changes(letters, args):
            if letter == "k":
                channel.join_key = (arg or "*") if adding else None
            elif letter in CHANNEL_MODES and CHANNEL_MODES[letter].kind == FLAG:
                (channel.modes.add if adding else channel.modes.discard)(letter)
    return [key for key, channel in channels.items() if channel.closed]


def _ascii_folded(text: str) -> str:
    """`text` with A-Z folded and nothing else, as the ascii casemapping folds, on
    PostgreSQL (whose lower() follows the database's locale; SQLite's folds A-Z only)."""
    return f"translate({text}, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"


_FOLD = _ascii_folded("target")


def _unheld_account_entries(fold: Callable[[str], str]) -> str:
    """Deleting the `a:<name>` and `m:a:<name>` list entries whose name is no account's
    (bans.MaskList.remove_account's, for every name at once); a wildcard (`a:zo*`) names
    nobody in particular and stays."""
    return (
        "DELETE FROM channel_lists WHERE mask NOT LIKE '%*%' AND mask NOT LIKE '%?%' AND ("
        f"(substr(mask, 1, 2) = 'a:' AND {fold('substr(mask, 3)')} NOT IN (SELECT key FROM accounts)) "
        f"OR (substr(mask, 1, 4) = 'm:a:' AND {fold('substr(mask, 5)')} NOT IN (SELECT key FROM accounts)))"
    )


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "history, accounts, registered channels, K-lines, read markers",
        (
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
        ),
        sqlite=(
            # The rowid orders messages of one instant: the order they were stored in.
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
            # Search: the text, and the conversation as a column to narrow the match with.
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
        ),
        postgresql=(
            # Search: words as the 'simple' configuration splits and lowercases them (no
            # stemming, no stop words: any language), without their accents where the
            # unaccent extension can be had (it ships with PostgreSQL and is trusted: a
            # database owner may create it); without it, search is accent-sensitive.
            """DO $$ BEGIN
                CREATE EXTENSION IF NOT EXISTS unaccent;
            EXCEPTION WHEN OTHERS THEN
                RAISE NOTICE 'hubbub: no unaccent extension (%), search will be accent-sensitive', SQLERRM;
            END $$""",
            "CREATE TEXT SEARCH CONFIGURATION hubbub_search (COPY = pg_catalog.simple)",
            """DO $$ DECLARE unaccent regdictionary; BEGIN
                SELECT oid INTO unaccent FROM pg_ts_dict WHERE dictname = 'unaccent' LIMIT 1;
                IF unaccent IS NOT NULL THEN
                    EXECUTE format('ALTER TEXT SEARCH CONFIGURATION hubbub_search '
                                   'ALTER MAPPING FOR word, hword, hword_part WITH %s, simple', unaccent);
                END IF;
            END $$""",
            # The id orders messages of one instant: the order they were first stored in.
            # Conversation keys compare byte by byte (COLLATE "C"), whatever the database's
            # locale: the prefix ranges of private conversations ('dm:') rely on it.
            """CREATE TABLE messages (
                id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                target TEXT COLLATE "C" NOT NULL,
                msgid TEXT NOT NULL,
                time_ms BIGINT NOT NULL,
                command TEXT NOT NULL,
                source TEXT NOT NULL,
                account TEXT,
                params TEXT NOT NULL,
                tags TEXT,
                body TEXT NOT NULL,
                body_search TSVECTOR GENERATED ALWAYS AS (to_tsvector('hubbub_search', body)) STORED,
                UNIQUE (target, msgid)
            )""",
            "CREATE INDEX messages_by_target_time ON messages (target, time_ms, id)",
            "CREATE INDEX messages_by_time ON messages (time_ms)",
            "CREATE INDEX messages_search ON messages USING GIN (body_search)",
        ),
    ),
    Migration(
        2,
        "search indexing in steps of many messages instead of a trigger per message",
        (),
        sqlite=(
            # FTS5 writes a new index segment at the end of every statement that changes
            # it, and merges segments as they pile up: through a trigger, that was a
            # segment per message. The store now indexes the messages stored since the last
            # step (ids above `upto`) in one statement (sqlite.py, `_index`).
            "DROP TRIGGER messages_indexed",
            "DROP TRIGGER messages_unindexed",
            # Without the size of each message in words (`columnsize=0`): only ranking by
            # relevance (bm25) reads them, and search orders by time; a table fewer to
            # write per message. Made again from the messages (`rebuild`).
            "DROP TABLE messages_fts",
            """CREATE VIRTUAL TABLE messages_fts USING fts5(
                body, target, content='messages', content_rowid='id', columnsize=0,
                tokenize='unicode61 remove_diacritics 2'
            )""",
            "INSERT INTO messages_fts (messages_fts) VALUES ('rebuild')",
            "CREATE TABLE search_indexed (upto INTEGER NOT NULL)",
            "INSERT INTO search_indexed (upto) SELECT COALESCE(MAX(id), 0) FROM messages",
            # only what is in the index can be taken out of it
            """CREATE TRIGGER messages_unindexed AFTER DELETE ON messages
                WHEN old.body <> '' AND old.id <= (SELECT upto FROM search_indexed) BEGIN
                INSERT INTO messages_fts (messages_fts, rowid, body, target)
                VALUES ('delete', old.id, old.body, old.target);
            END""",
        ),
    ),
    Migration(
        3,
        "the closed channels whose history ends with them, for a start after a crash to forget",
        ("CREATE TABLE closed_channels (key TEXT PRIMARY KEY)",),
    ),
    Migration(
        4,
        "the time in microseconds: the order of the messages of one millisecond, the same whichever node stored them",
        (
            # Each node of a cluster stores its own clients' messages, so the order ids are
            # taken in is not the order the network relayed them in. Applying stamps every
            # message a unique time, in microseconds, in that order (apply.in_time_order):
            # history sorts by (time_ms, time_us, id). Messages stored before have 0, and
            # keep their order by id.
            "ALTER TABLE messages ADD COLUMN time_us BIGINT NOT NULL DEFAULT 0",
            "DROP INDEX messages_by_target_time",
            "CREATE INDEX messages_by_target_time ON messages (target, time_ms, time_us, id)",
        ),
    ),
    Migration(
        5,
        "a secret the server keeps: SCRAM's made-up keys for names with no account, the same on every node and restart",
        ("CREATE TABLE server_secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL)",),
        # 256 random bits from each database's strong generator, made once with the table
        sqlite=("INSERT INTO server_secrets (name, value) VALUES ('scram_decoy', lower(hex(randomblob(32))))",),
        postgresql=(
            "INSERT INTO server_secrets (name, value) VALUES "
            "('scram_decoy', replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''))",
        ),
    ),
    Migration(
        6,
        "a registered channel's +f flood rule",
        ("ALTER TABLE channels ADD COLUMN flood TEXT",),
    ),
    Migration(
        7,
        "a registered channel's +j join flood rule",
        ("ALTER TABLE channels ADD COLUMN join_flood TEXT",),
    ),
    Migration(
        8,
        "what dropped accounts left behind in files from before a DROP took it along",
        (
            # A DROP now takes what the name held (sqlite.py, postgres.py `DeleteAccount`):
            # whoever registers it next inherits nothing. Files written before that still
            # hold dropped accounts' channels, access entries, markers, certificates and
            # private conversations; a file written since holds none, and this changes
            # nothing there.
            "DELETE FROM channel_lists WHERE channel IN "
            "(SELECT key FROM channels WHERE founder NOT IN (SELECT key FROM accounts))",
            "DELETE FROM channel_access WHERE channel IN "
            "(SELECT key FROM channels WHERE founder NOT IN (SELECT key FROM accounts))",
            "DELETE FROM channels WHERE founder NOT IN (SELECT key FROM accounts)",
            "DELETE FROM channel_access WHERE account NOT IN (SELECT key FROM accounts)",
            "DELETE FROM read_markers WHERE account NOT IN (SELECT key FROM accounts)",
            "DELETE FROM account_certs WHERE account NOT IN (SELECT key FROM accounts)",
        ),
        # A private conversation's key holds the two accounts' names as registered
        # (`dm:Alice bob`), an account's key is its name with A-Z folded (the ascii
        # casemapping): SQLite's lower() folds A-Z and nothing else.
        sqlite=(
            "DELETE FROM messages WHERE target >= 'dm:' AND target < 'dm;' AND ("
            "lower(substr(target, 4, instr(target, ' ') - 4)) NOT IN (SELECT key FROM accounts) "
            "OR lower(substr(target, instr(target, ' ') + 1)) NOT IN (SELECT key FROM accounts))",
        ),
        postgresql=(
            "DELETE FROM messages WHERE target >= 'dm:' AND target < 'dm;' AND ("
            f"split_part(substr({_FOLD}, 4), ' ', 1) NOT IN (SELECT key FROM accounts) "
            f"OR split_part({_FOLD}, ' ', 2) NOT IN (SELECT key FROM accounts))",
        ),
    ),
    Migration(
        9,
        "when accounts last left channels, kept at a stop: a rejoin after a restart replays only what it missed",
        (
            """CREATE TABLE departures (
                account TEXT NOT NULL,
                channel TEXT NOT NULL,
                time_ms BIGINT NOT NULL,
                PRIMARY KEY (account, channel)
            )""",
            "CREATE INDEX departures_by_time ON departures (time_ms)",
        ),
    ),
    Migration(
        10,
        "a channel that ends with nothing said in it leaves nothing: the live ones listed for a start after a crash",
        (
            # The unregistered channels that exist (LiveChannel), until they end: a start
            # after a crash ends those the last run left (ForgetSilentChannel).
            "CREATE TABLE live_channels (key TEXT PRIMARY KEY)",
            # What channels that ended before left: the rows of every name that is no
            # registered channel and where nothing was said (joins, parts, mode changes).
            # Private conversations keep messages only, so none of theirs is touched.
            "DELETE FROM messages WHERE target NOT IN (SELECT key FROM channels) AND target NOT IN "
            "(SELECT target FROM messages WHERE command IN ('PRIVMSG', 'NOTICE', 'TAGMSG'))",
        ),
    ),
    Migration(
        11,
        "the history of closed channels that ended before schema 3, forgotten as when one ends now",
        # A closed channel's history ends with it (recorder.py `_ended`; after a crash, the
        # names kept in closed_channels since schema 3). Before that, what such channels
        # left stayed, and whoever created the name next, its op, read it. Which were
        # closed when they ended, their mode changes in the history tell (with history
        # events on, the default): the rows of every name that is no registered channel
        # and that they left closed go, with the read markers of it. A database made at
        # schema 3 or later keeps nothing of the kind (a closed channel that lives on in
        # a cluster's nodes is among its closed_channels) and is not touched.
        (),
        repair=Repair(
            "SELECT target, params FROM messages WHERE command = 'MODE' AND target NOT IN (SELECT key FROM channels) "
            "ORDER BY time_ms, time_us, id",
            _closed_at_end,
            ("DELETE FROM messages WHERE target = ?", "DELETE FROM read_markers WHERE target = ?"),
            "forgot the history of %d closed channels that ended before schema 3",
        ),
        before=3,
    ),
    Migration(
        12,
        "the a:<name> entries that accounts dropped before schema 5 left in registered channels' lists",
        # A DROP takes the entries that name the account out of every channel's +b, +e
        # and +I lists (apply.py `_account_dropped`): whoever registers the name next is
        # not the one they were about. Revisions up to schema 4 (that change came late in
        # it) kept them in the stored lists: an invitation to a +i channel let the new
        # holder in. Which names were dropped such a database does not tell: every entry
        # naming no account goes, one for a name never registered too. One made at schema
        # 5 or later holds such entries only for names nobody has registered yet, set on
        # purpose, and is not touched.
        (),
        sqlite=(_unheld_account_entries(lambda text: f"lower({text})"),),
        postgresql=(_unheld_account_entries(_ascii_folded),),
        before=5,
    ),
    Migration(
        13,
        "virtual hosts kept with accounts (HostServ)",
        ("ALTER TABLE accounts ADD COLUMN vhost TEXT NOT NULL DEFAULT ''",),
    ),
)

LATEST = MIGRATIONS[-1].version

# Departures (schema 9): the newest that are kept, newest first; the rest forgotten at
# each write (`?`: PostgreSQL's is `$1`)
DEPARTURES = "SELECT account, channel, time_ms FROM departures ORDER BY time_ms DESC LIMIT ?"
DEPARTURES_KEPT = (
    "DELETE FROM departures WHERE time_ms < "
    "(SELECT time_ms FROM departures ORDER BY time_ms DESC LIMIT 1 OFFSET ?)"
)

DECOY_SECRET = "SELECT value FROM server_secrets WHERE name = 'scram_decoy'"  # both backends
