"""The schema, as numbered migrations applied in order at start-up.

A migration is never edited once released: a change to the schema is a new migration.
The SQL is kept to what SQLite and PostgreSQL both understand, except where a backend
needs its own (full-text search): those steps are given per backend.
"""

from __future__ import annotations

from typing import NamedTuple


class Migration(NamedTuple):
    version: int
    what: str
    common: tuple[str, ...]
    sqlite: tuple[str, ...] = ()
    postgresql: tuple[str, ...] = ()


# A-Z folded and nothing else, as the ascii casemapping folds (PostgreSQL's lower() follows
# the database's locale)
_FOLD = "translate(target, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"

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
