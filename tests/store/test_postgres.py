"""What is PostgreSQL's own: several nodes share one database (they migrate it once, and
write the same messages and accounts twice), and a database that cannot be reached is
one clear line that never shows the password."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from hubbub.server.storage import (
    AccountRecord,
    AddMessage,
    ChannelRecord,
    PutAccount,
    PutChannel,
    SearchQuery,
    StoreError,
)
from hubbub.store import open_store, shown
from hubbub.store.postgres import PRUNE_LOCK, PostgresStore
from hubbub.store.schema import MIGRATIONS
from tests.services import ROLE, ROLE_PASSWORD, PostgresServer, free_port
from tests.store.test_store import T0, ids, line, q


def database(url: str) -> str:
    return url.rsplit("/", 1)[1]


def channel(bans: int) -> ChannelRecord:
    """#c, registered, with `bans` entries in its ban list."""
    lists = tuple(("b", f"*!*@spam{i}", "alice", 5) for i in range(bans))
    return ChannelRecord("#c", "#c", "alice", T0, "topic", "alice!u@h", T0, "nt", None, None, lists, (("bob", "o"),))


async def test_nodes_starting_together_migrate_once(postgres_server: PostgresServer, postgres_url: str) -> None:
    stores = [open_store(postgres_url) for _ in range(4)]
    try:
        snapshots = await asyncio.gather(*(store.open() for store in stores))
        assert all(snapshot.accounts == [] for snapshot in snapshots)
        versions = postgres_server.sql("SELECT version FROM schema_version ORDER BY version", database(postgres_url))
        assert versions.split() == [str(m.version) for m in MIGRATIONS]  # each once
    finally:
        for store in stores:
            await store.close()


async def test_search_ignores_accents_where_unaccent_can_be_had(postgres_url: str,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    store = open_store(postgres_url)
    await store.open()
    try:
        await store.write([AddMessage(line(0, text="Crème brûlée à Zürich"))])
        found = await store.search(SearchQuery(("#c",), "creme BRULEE zurich", "", None, None, 10))
        assert [m.text for m in found] == ["Crème brûlée à Zürich"]
        assert "accent-sensitive" not in caplog.text
    finally:
        await store.close()


async def test_two_nodes_writing_the_same_stream_keep_one_copy(postgres_url: str) -> None:
    first, second = open_store(postgres_url), open_store(postgres_url)
    await asyncio.gather(first.open(), second.open())
    try:
        account = AccountRecord("alice", "alice", "$argon2id$x", "", "", T0, ("ab" * 32, "cd" * 32))
        stream = [AddMessage(line(i)) for i in range(200)]
        stream[50:50] = [PutAccount(account), PutChannel(channel(20))]
        # each node commits the stream in batches of its own size, at the same time
        await asyncio.gather(*(store.write(stream[i:i + size]) for store, size in ((first, 7), (second, 13))
                               for i in range(0, len(stream), size)))  # fmt: skip
        assert ids(await first.history(q("latest", limit=1000))) == [f"id{i}" for i in range(200)]
        await first.close()
        again = open_store(postgres_url)
        snapshot = await again.open()
        await again.close()
        assert snapshot.accounts == [account]
        assert snapshot.channels == [channel(20)]
    finally:
        await first.close()
        await second.close()


async def test_batches_handed_over_during_a_commit_are_committed_together(postgres_url: str, monkeypatch) -> None:
    store = open_store(postgres_url)
    await store.open()
    transactions: list[int] = []
    commit = PostgresStore._transaction

    async def counted(self: PostgresStore, conn: asyncpg.Connection, batch: list) -> None:
        transactions.append(len(batch))
        await commit(self, conn, batch)

    monkeypatch.setattr(PostgresStore, "_transaction", counted)
    try:
        first = store.write([AddMessage(line(0))])  # the writer starts on it at the next turn of the loop
        await asyncio.sleep(0)
        rest = [store.write([AddMessage(line(i))]) for i in range(1, 40)]  # while it commits
        await asyncio.gather(first, *rest)
        assert transactions == [1, 39]
        assert ids(await store.history(q("latest"))) == [f"id{i}" for i in range(40)]
    finally:
        await store.close()


async def test_two_nodes_rewriting_a_channel_at_once_take_turns(postgres_url: str) -> None:
    """A channel's lists are rewritten whole: two nodes doing it at once would collide."""
    first, second = open_store(postgres_url), open_store(postgres_url)
    await asyncio.gather(first.open(), second.open())
    try:
        rewrites = [store.write([PutChannel(channel(n))]) for n in range(1, 11) for store in (first, second)]
        await asyncio.gather(*rewrites)
        await first.close()
        again = open_store(postgres_url)
        snapshot = await again.open()
        await again.close()
        assert snapshot.channels == [channel(10)]
    finally:
        await first.close()
        await second.close()


async def test_a_node_finding_another_pruning_skips_its_pass(postgres_url: str) -> None:
    store = open_store(postgres_url)
    await store.open()
    other = await asyncpg.connect(postgres_url)
    try:
        await store.write([AddMessage(line(i)) for i in range(5)])
        async with other.transaction():  # another node, in the middle of its pass
            await other.execute("SELECT pg_advisory_xact_lock($1)", PRUNE_LOCK)
            assert await store.prune(None, 2) == 0
        assert await store.prune(None, 2) == 3
        assert ids(await store.history(q("latest"))) == ["id3", "id4"]
    finally:
        await other.close()
        await store.close()


async def test_writes_go_on_after_the_server_dropped_the_connections(
    postgres_server: PostgresServer, postgres_url: str
) -> None:
    store = open_store(postgres_url)
    await store.open()
    try:
        await store.write([AddMessage(line(0))])
        await store.ping()
        postgres_server.sql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            f"WHERE datname = '{database(postgres_url)}'")  # fmt: skip
        await store.write([AddMessage(line(1))])
        assert ids(await store.history(q("latest"))) == ["id0", "id1"]
    finally:
        await store.close()


async def test_without_unaccent_search_works_and_is_accent_sensitive(
    postgres_server: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A role that may not create extensions in its database: search without unaccent,
    and the log says so."""
    name = postgres_server.create_database()
    postgres_server.sql(f"ALTER DATABASE {name} OWNER TO postgres")
    postgres_server.sql(f"GRANT CREATE ON SCHEMA public TO {ROLE}", name)
    store = open_store(postgres_server.url(name))
    try:
        await store.open()
        await store.write([AddMessage(line(0, text="café crème")), AddMessage(line(1, text="Cafe noir"))])

        async def search(text: str) -> list[str]:
            return [m.text for m in await store.search(SearchQuery(("#c",), text, "", None, None, 10))]

        assert await search("cafe") == ["Cafe noir"]
        assert await search("CAFÉ") == ["café crème"]
        assert "search is accent-sensitive" in caplog.text
    finally:
        await store.close()
        postgres_server.drop_database(name)


async def one_line_error(url: str) -> str:
    store = open_store(url)
    with pytest.raises(StoreError) as caught:
        await store.open()
    await store.close()
    message = str(caught.value)
    assert "\n" not in message
    return message


async def test_a_wrong_password_is_one_line_naming_where_and_who(postgres_server: PostgresServer) -> None:
    url = postgres_server.url("postgres", password="not-the-password")
    message = await one_line_error(url)
    assert message.startswith(f"cannot connect to PostgreSQL at 127.0.0.1:{postgres_server.port} "
                              f"(database postgres, user {ROLE}): password authentication failed")  # fmt: skip
    assert "not-the-password" not in message


async def test_an_unreachable_server_and_a_missing_database_are_one_line(postgres_server: PostgresServer) -> None:
    port = free_port()
    message = await one_line_error(f"postgresql://{ROLE}:{ROLE_PASSWORD}@127.0.0.1:{port}/hubbub")
    assert message == (f"cannot connect to PostgreSQL at 127.0.0.1:{port} (database hubbub, user {ROLE}): "
                       "connection refused (is PostgreSQL running and listening there?)")  # fmt: skip
    message = await one_line_error(postgres_server.url("nowhere"))
    assert message.endswith('database "nowhere" does not exist') and ROLE_PASSWORD not in message


async def test_tls_with_the_servers_certificate_verified(postgres_server: PostgresServer, postgres_url: str) -> None:
    store = open_store(f"{postgres_url}?sslmode=verify-full&sslrootcert={postgres_server.ca}")
    await store.open()
    try:
        await store.write([AddMessage(line(0))])
        assert ids(await store.history(q("latest"))) == ["id0"]
        encrypted = postgres_server.sql(
            "SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) "
            f"WHERE datname = '{database(postgres_url)}' AND ssl"
        )
        assert encrypted == "3"  # the two readers and the writer
    finally:
        await store.close()


async def test_a_certificate_not_signed_by_the_trusted_authority_is_refused(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    from hubbub.transport.tls import generate_self_signed

    generate_self_signed(tmp_path / "other.crt", tmp_path / "other.key", "localhost")
    url = postgres_server.url("postgres") + f"?sslmode=verify-full&sslrootcert={tmp_path / 'other.crt'}"
    message = await one_line_error(url)
    assert message.startswith(f"cannot connect to PostgreSQL at 127.0.0.1:{postgres_server.port} (database postgres, "
                              f"user {ROLE}): its TLS certificate is not trusted"), message  # fmt: skip
    message = await one_line_error(postgres_server.url("postgres") + f"?sslmode=verify-full&sslrootcert={tmp_path}/no")
    assert message.endswith(f"sslrootcert {tmp_path}/no: No such file or directory")


async def test_a_database_from_a_newer_hubbub_is_refused(postgres_server: PostgresServer, postgres_url: str) -> None:
    postgres_server.sql(f"CREATE TABLE schema_version (version INTEGER NOT NULL); "
                        f"INSERT INTO schema_version VALUES (999); ALTER TABLE schema_version OWNER TO {ROLE}",
                        database(postgres_url))  # fmt: skip
    assert "made by a newer hubbub (schema 999" in await one_line_error(postgres_url)


def test_the_logged_setting_has_no_password() -> None:
    url = "postgresql://hubbub:s3cret@db.example.org:5433/chat?sslmode=verify-full&sslpassword=k3y"
    assert shown(url) == "postgresql://hubbub@db.example.org:5433/chat?sslmode=verify-full"
    assert shown("/var/lib/hubbub/hubbub.db") == "/var/lib/hubbub/hubbub.db"


def test_the_address_named_in_messages_comes_from_the_url_or_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("PGHOST", "PGPORT", "PGUSER", "PGDATABASE"):
        monkeypatch.delenv(variable, raising=False)
    store = PostgresStore("postgresql://alice:pw@db.example.org/chat?connect_timeout=3")
    assert str(store.address) == "PostgreSQL at db.example.org:5432 (database chat, user alice)"
    monkeypatch.setenv("PGUSER", "bob")
    assert str(PostgresStore("postgres://").address) == "PostgreSQL at localhost:5432 (database bob, user bob)"
    with pytest.raises(StoreError, match="connect_timeout"):
        PostgresStore("postgresql://db/chat?connect_timeout=soon")
