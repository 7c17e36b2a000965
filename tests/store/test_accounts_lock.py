"""hubbub's accounts lock on PostgreSQL (store/pglock.py): servers share it while they run,
`hubbub account` changing accounts takes it alone or is refused, a server starting meanwhile
waits for it, and a server that lost it takes it again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest

from hubbub.server.storage import AccountRecord, PutAccount, Store
from hubbub.store import Claim, StoreInUse, open_store, pglock
from tests.services import PostgresServer
from tests.store.test_store import T0


def database(url: str) -> str:
    return url.rsplit("/", 1)[1].partition("?")[0]


def gina(registered_at: float = T0) -> AccountRecord:
    return AccountRecord("gina", "gina", "$argon2id$gina", "", "", registered_at, ())


@pytest.fixture
async def opened() -> AsyncIterator[Callable[..., Awaitable[Store]]]:
    """`await opened(url, claim)`: an opened store, closed at the end of the test."""
    stores: list[Store] = []

    async def make(url: str, claim: Claim = Claim.SERVING) -> Store:
        store = open_store(url, claim=claim)
        await store.open()
        stores.append(store)
        return store

    yield make
    for store in stores:
        await store.close()


def lock_holders(postgres_server: PostgresServer, url: str) -> list[str]:
    """The modes in which hubbub's accounts lock is held in the database of `url`."""
    rows = postgres_server.sql(
        f"SELECT mode FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE d.datname = '{database(url)}' "
        f"AND locktype = 'advisory' AND classid = {pglock.KEY_SPACE} AND objsubid = 2 AND granted ORDER BY mode"
    )  # fmt: skip
    return rows.split()


async def test_changing_accounts_is_refused_while_servers_hold_the_database(opened, postgres_url: str) -> None:
    servers = [await opened(postgres_url), await opened(postgres_url)]  # two nodes of a cluster
    with pytest.raises(StoreInUse, match=r"is in use by 2 running hubbub servers$"):
        await opened(postgres_url, Claim.CHANGING)
    await servers[0].write([PutAccount(gina())])
    listing = open_store(postgres_url, claim=Claim.READING)  # `hubbub account list` reads beside them
    assert [a.key for a in (await listing.open()).accounts] == ["gina"]
    await listing.close()
    await servers[0].close()
    with pytest.raises(StoreInUse, match=r"is in use by 1 running hubbub server$"):
        await opened(postgres_url, Claim.CHANGING)
    await servers[1].close()
    changing = await opened(postgres_url, Claim.CHANGING)
    await changing.write([PutAccount(gina()._replace(password_hash="$argon2id$new"))])


async def test_a_second_account_change_at_once_is_refused(opened, postgres_url: str) -> None:
    await opened(postgres_url, Claim.CHANGING)
    with pytest.raises(StoreInUse, match=r"in use by another `hubbub account`$"):
        await opened(postgres_url, Claim.CHANGING)


async def test_a_server_starting_during_an_account_change_waits_for_it_and_sees_it(
    opened, postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    changing = await opened(postgres_url, Claim.CHANGING)
    server = open_store(postgres_url)
    starting = asyncio.ensure_future(server.open())
    try:
        await asyncio.sleep(1.0)
        assert not starting.done()
        assert "`hubbub account` is changing accounts: waiting for it to finish" in caplog.text
        await changing.write([PutAccount(gina())])
        await changing.close()
        snapshot = await asyncio.wait_for(starting, 5)
        assert [a.key for a in snapshot.accounts] == ["gina"]
    finally:
        await server.close()


async def test_a_server_waits_for_an_account_change_only_so_long(
    opened, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pglock, "WAIT", 0.5)
    await opened(postgres_url, Claim.CHANGING)
    started = time.monotonic()
    with pytest.raises(StoreInUse, match=r"is held by `hubbub account`, changing accounts: waited 0\.5 s"):
        await opened(postgres_url)
    assert time.monotonic() - started < 5
    await opened(postgres_url, Claim.READING)  # the refused server let go of everything it opened


async def test_a_server_that_lost_its_lock_connection_takes_the_lock_again(
    opened, postgres_server: PostgresServer, postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    await opened(postgres_url)
    assert lock_holders(postgres_server, postgres_url) == ["ShareLock"]
    postgres_server.sql(
        "SELECT pg_terminate_backend(l.pid) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
        f"WHERE d.datname = '{database(postgres_url)}' AND l.locktype = 'advisory' AND l.classid = {pglock.KEY_SPACE}"
    )  # fmt: skip
    for _ in range(50):
        await asyncio.sleep(0.1)
        if lock_holders(postgres_server, postgres_url) == ["ShareLock"] and "holds its accounts lock again" in (
            caplog.text
        ):
            break
    assert "lost the connection holding this server's accounts lock" in caplog.text
    assert lock_holders(postgres_server, postgres_url) == ["ShareLock"]
    with pytest.raises(StoreInUse, match="1 running hubbub server"):
        await opened(postgres_url, Claim.CHANGING)


async def test_servers_in_another_schema_of_the_database_do_not_hold_its_accounts(opened, postgres_url: str) -> None:
    """Two networks, one database, a schema each (`search_path`): each has its own lock."""
    conn = await asyncpg.connect(postgres_url)
    try:
        await conn.execute("CREATE SCHEMA chat")
    finally:
        await conn.close()
    await opened(f"{postgres_url}?search_path=chat")
    await opened(postgres_url, Claim.CHANGING)
    with pytest.raises(StoreInUse, match="1 running hubbub server"):
        await opened(f"{postgres_url}?search_path=chat", Claim.CHANGING)
