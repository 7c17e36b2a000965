"""A server's last writes, at its stop, reach PostgreSQL: the departures of the accounts
it served (server/departures.py), after a restart too.

Also a test of the tests' own PostgreSQL database: a test that leaves a server for its
fixtures to stop may name them in any order. `make_server` named before `postgres_url`
is torn down after it: a database dropped at its own teardown (FORCE ends its sessions)
took the server's connections away under its stop, whose last commit then failed
(asyncpg: "cannot switch to state 15; another operation (2) is in progress").
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from hubbub.app import Runtime
from hubbub.server.storage import Departure
from hubbub.store import open_store
from tests.e2e_accounts.support import registered_account, sasl_plain
from tests.helpers import LineClient, connected, sync

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
    (before,) = await departures(postgres_url)
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
        (after,) = await departures(postgres_url)
        assert (after.account, after.channel) == ("alice", "#room")
        assert after.time > before.time  # this run's

    at_teardown.append(stop_then_reopen)
