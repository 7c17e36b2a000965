"""A server's last writes, at its stop, reach PostgreSQL: the departures of the accounts
it served (server/departures.py), after a restart too.

Also a test of the tests' own PostgreSQL database: a test that leaves a server for its
fixtures to stop may name them in any order. `make_server` named before `postgres_url`
is torn down after it: a database dropped at its own teardown (FORCE ends its sessions)
took the server's connections away under its stop, whose last commit then failed
(asyncpg: "cannot switch to state 15; another operation (2) is in progress").
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest

from hubbub.app import Runtime
from hubbub.server.storage import Departure
from hubbub.store import open_store
from tests.e2e_accounts.support import registered_account, sasl_plain
from tests.helpers import LineClient, connected, sync
from tests.services import PostgresServer

Check = Callable[[], Awaitable[None]]


@pytest.fixture
async def at_teardown() -> AsyncIterator[list[Check]]:
    """Checks run at the test's teardown, after that of every fixture named after this
    one in the test's signature."""
    checks: list[Check] = []
    yield checks
    for check in checks:
        await check()


async def departures(url: str) -> tuple[Departure, ...]:
    """What a server opening the database now would be given."""
    store = open_store(url)
    snapshot = await store.open()
    await store.close()
    return snapshot.departures


async def test_departures_written_at_a_stop_after_a_restart_are_in_the_database(
    make_server: Callable[..., Awaitable[Runtime]], at_teardown: list[Check], postgres_url: str,
    clients: list[LineClient],
) -> None:  # fmt: skip
    first = await make_server(f"store.db='{postgres_url}'")
    alice = await registered_account(first, "alice", "correct-horse", "#room")
    clients.append(alice)
    alice.send("PRIVMSG #room :hi")
    await sync(alice)
    await first.stop()
    (before,) = [d for d in await departures(postgres_url) if d.channel]  # "": alice's from the network
    assert (before.account, before.channel) == ("alice", "#room")

    again = await make_server(f"store.db='{postgres_url}'")
    bob = await connected(again, "bob")
    sasl, result = await sasl_plain(again, "alice2", "alice", "correct-horse")
    clients.extend([bob, sasl])
    assert result == "903"
    await sasl.join("#room")
    sasl.send("PART #room")  # a departure of this run, kept by the store at the stop
    await sync(sasl)

    async def stop_then_reopen() -> None:
        """After postgres_url's teardown (it is named later): the server's stop commits its
        departures, and they are there for the next start."""
        await again.stop()
        (after,) = [d for d in await departures(postgres_url) if d.channel]
        assert (after.account, after.channel) == ("alice", "#room")
        assert after.time > before.time  # this run's

    at_teardown.append(stop_then_reopen)


async def test_a_stop_right_after_postgresql_ended_its_sessions_still_commits_and_ends(
    make_server: Callable[..., Awaitable[Runtime]], postgres_url: str, clients: list[LineClient],
) -> None:  # fmt: skip
    """PostgreSQL restarted, or an administrator ended the server's sessions: the pool's idle
    connections learn it only when next used. The stop's last commit must go through on a
    fresh connection, and the stop must end either way (its pool closed)."""
    server = await make_server(f"store.db='{postgres_url}'")
    alice = await registered_account(server, "alice", "correct-horse", "#room")
    clients.append(alice)
    alice.send("PART #room")  # a departure, kept by the store at the stop
    await sync(alice)
    admin = await asyncpg.connect(postgres_url)
    try:
        ended = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await admin.close()
    assert ended >= 1
    await asyncio.wait_for(server.stop(), 30)
    (kept,) = [d for d in await departures(postgres_url) if d.channel]
    assert (kept.account, kept.channel) == ("alice", "#room")


async def test_a_stop_ends_when_its_database_is_gone(
    make_server: Callable[..., Awaitable[Runtime]], postgres_url: str, postgres_server: PostgresServer,
    clients: list[LineClient], caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    """The database dropped under a running server (FORCE ends its sessions): its last
    writes cannot be stored, which the log says, and the stop still ends, its pool closed."""
    server = await make_server(f"store.db='{postgres_url}'")
    alice = await registered_account(server, "alice", "correct-horse", "#room")
    clients.append(alice)
    alice.send("PART #room")  # a departure, to be written at the stop
    await sync(alice)
    await asyncio.to_thread(postgres_server.drop_database, postgres_url.rpartition("/")[2])
    await asyncio.wait_for(server.stop(), 60)
    assert server.persistence.store is None  # closed
    assert any("could not store" in r.getMessage() for r in caplog.records if r.name == "hubbub.store")
