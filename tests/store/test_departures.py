"""When accounts last left channels, kept at a clean stop (schema 9): written as the
latest of each pair, read back oldest first and bounded, gone with a dropped account.
On a real SQLite file and a real PostgreSQL database; what a person sees of it is in
tests/e2e/test_weechat_person_audit.py (no replay of lines seen before a restart)."""

from __future__ import annotations

import pytest

from hubbub.server.storage import DeleteAccount, Departure, PutDepartures
from hubbub.store import open_store, postgres, sqlite
from tests.store.test_store import T0


async def reopened(db: str) -> tuple[Departure, ...]:
    store = open_store(db)
    snapshot = await store.open()
    await store.close()
    return snapshot.departures


async def test_the_latest_departure_of_each_pair_comes_back_oldest_first(db: str) -> None:
    store = open_store(db)
    await store.open()
    await store.write([PutDepartures((Departure("alice", "#a", T0 + 5), Departure("bob", "#a", T0 + 1)))])
    await store.write([PutDepartures((Departure("alice", "#a", T0 + 2), Departure("alice", "#b", T0 + 3)))])
    await store.write([DeleteAccount("bob")])  # the next to register the name inherits nothing
    await store.close()
    assert await reopened(db) == (Departure("alice", "#b", T0 + 3), Departure("alice", "#a", T0 + 5))


async def test_only_the_newest_departures_are_kept(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for backend in (sqlite, postgres):
        monkeypatch.setattr(backend, "REMEMBERED", 3)
    store = open_store(db)
    await store.open()
    await store.write([PutDepartures(tuple(Departure(f"u{i}", "#c", T0 + i) for i in range(5)))])
    await store.close()
    assert [d.account for d in await reopened(db)] == ["u2", "u3", "u4"]


async def test_a_departure_is_kept_at_or_after_its_own_time(db: str) -> None:
    """Kept in whole milliseconds, rounded up: after every line its user saw."""
    store = open_store(db)
    await store.open()
    await store.write([PutDepartures((Departure("carol", "#a", T0 + 7.0004),))])
    await store.close()
    (back,) = await reopened(db)
    assert back.time >= T0 + 7.0004 and back.time - (T0 + 7.0004) < 0.001
