"""PostgreSQL out of reach or not answering, under a running server: chat goes on, and
what was written meanwhile is stored when the database is back.

Output waits for each commit (nothing a client has seen may be missing from the history
after a crash), but not for a database that does not answer: past a second it goes
without the commit, and so does everything after it until commits are prompt again.
The writes are kept, in order, and committed when PostgreSQL answers: an account
registered meanwhile is not lost. Each test has a PostgreSQL server of its own, since
it stops or pauses it.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from hubbub.app import Runtime
from tests.e2e_accounts.support import registered_account, sasl_plain
from tests.e2e_caps.support import capped
from tests.e2e_history.test_chathistory import HISTORY, history
from tests.helpers import LineClient, connected, sync
from tests.services import PostgresServer, start_postgres
from tests.web.test_http import scrape, value

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


@pytest.fixture
def own_postgres() -> AsyncIterator[PostgresServer]:
    server = start_postgres()
    if isinstance(server, str):
        pytest.skip(server)
    yield server
    server.thaw() if (server.data / "postmaster.pid").exists() else None
    server.stop()


@pytest.fixture
async def on_postgres(
    own_postgres: PostgresServer, make_server: Callable[..., Awaitable[Runtime]]
) -> tuple[PostgresServer, str, Runtime]:
    name = own_postgres.create_database()
    url = own_postgres.url(name)
    return own_postgres, url, await make_server(f"store.db='{url}'", "listen.web='127.0.0.1:0'")


async def until(check: Callable[[], bool], timeout: float = 30) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        assert loop.time() < deadline, "never came true"
        await asyncio.sleep(0.05)


def stored(pg: PostgresServer, database: str, sql: str) -> str:
    return pg.sql(sql, database)


async def test_chat_goes_on_while_postgresql_does_not_answer_and_history_is_kept(
    on_postgres: tuple[PostgresServer, str, Runtime], clients: list[LineClient], caplog: pytest.LogCaptureFixture
) -> None:
    pg, url, server = on_postgres
    alice = await connected(server, "alice", "#c")
    bob = await connected(server, "bob", "#c")
    clients.extend([alice, bob])
    await alice.expect(lambda m: m.command == "JOIN" and m.source.startswith("bob!"))
    for client in (alice, bob):  # their JOINs' history reads answered (a read waits out its timeout)
        await sync(client)
    pg.freeze()
    try:
        for i in range(3):
            alice.send(f"PRIVMSG #c :while it sleeps {i}")
            await bob.expect("PRIVMSG", "#c", f"while it sleeps {i}", timeout=10)
        newcomer = await connected(server, "carol", "#c")  # registration and JOIN go on too
        clients.append(newcomer)
        bob.send("PRIVMSG #c :and bob")
        await alice.expect("PRIVMSG", "#c", "and bob", timeout=10)
        # what carol's JOIN replays waits for a database known to be out of reach no
        # longer than output does (store.output_wait): then she gets the live lines
        await newcomer.expect("PRIVMSG", "#c", "and bob", timeout=10)
        assert "slow to commit" in caplog.text
    finally:
        pg.thaw()
    database = url.rsplit("/", 1)[1]
    await until(lambda: stored(pg, database, "SELECT count(*) FROM messages WHERE command = 'PRIVMSG'") == "4")
    reader = await capped(server, "reader", *HISTORY, channels=("#c",))
    clients.append(reader)
    got = [m.params[-1] for m in await history(reader, "CHATHISTORY LATEST #c * 10") if m.command == "PRIVMSG"]
    assert got == ["while it sleeps 0", "while it sleeps 1", "while it sleeps 2", "and bob"]
    alice.send("PRIVMSG #c :prompt again")  # output waits for commits again
    await bob.expect("PRIVMSG", "#c", "prompt again")
    await until(lambda: "answers again" in caplog.text)


async def test_an_account_registered_while_postgresql_is_down_is_stored_when_it_is_back(
    on_postgres: tuple[PostgresServer, str, Runtime], make_server: Callable[..., Awaitable[Runtime]],
    clients: list[LineClient], caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    pg, url, server = on_postgres
    database = url.rsplit("/", 1)[1]
    pg.halt()
    frank = await registered_account(server, "frank", "frank-pass-123", "#c")
    clients.append(frank)
    frank.send("PRIVMSG #c :said while it was down")
    frank.send("PING done")
    await frank.expect("PONG")
    await until(lambda: "the writes are kept until it answers" in caplog.text)
    meanwhile = await scrape(server)  # an outage an operator can alert on
    assert value(meanwhile, "hubbub_store_behind") == 1 and value(meanwhile, "hubbub_store_writes_waiting") >= 2
    assert value(meanwhile, "hubbub_store_write_failures_total") == 0  # kept, not failed
    pg.resume()
    await until(lambda: stored(pg, database, "SELECT count(*) FROM accounts WHERE name = 'frank'") == "1")
    await until(lambda: stored(pg, database, "SELECT count(*) FROM messages WHERE command = 'PRIVMSG'") == "1")
    for i in range(100):  # the next prompt commit: output waits for commits again
        after = await scrape(server)
        if value(after, "hubbub_store_behind") == 0:
            break
        frank.send(f"PRIVMSG #c :after {i}")
        await asyncio.sleep(0.1)
    assert value(after, "hubbub_store_behind") == 0 and value(after, "hubbub_store_writes_waiting") == 0
    await server.stop()
    again = await make_server(f"store.db='{url}'")  # the account outlives the server that made it
    client, numeric = await sasl_plain(again, "frank", "frank", "frank-pass-123")
    clients.append(client)
    assert numeric == "903"


async def test_a_server_stopping_while_postgresql_is_down_stops_and_says_what_it_could_not_store(
    on_postgres: tuple[PostgresServer, str, Runtime], clients: list[LineClient], caplog: pytest.LogCaptureFixture
) -> None:
    pg, _, server = on_postgres
    pg.halt()
    alice = await connected(server, "alice", "#c")
    clients.append(alice)
    alice.send("PRIVMSG #c :never stored")
    alice.send("PING done")
    await alice.expect("PONG")
    await until(lambda: "the writes are kept until it answers" in caplog.text)
    with caplog.at_level(logging.ERROR, logger="hubbub.store"):
        await server.stop()
    assert re.search(r"\d+ writes not stored \([1-9]\d* messages of history", caplog.text), caplog.text


async def test_a_server_stopping_as_postgresql_stops_answering_stops(
    on_postgres: tuple[PostgresServer, str, Runtime], clients: list[LineClient], caplog: pytest.LogCaptureFixture
) -> None:
    """The database answered every commit until now, then hangs just as the server stops:
    the stop's own writes (an account's departures) are in flight when the store closes.
    The stop gives them as long as an outage's kept writes, says what was not stored, and
    ends, rather than waiting for a commit that never comes (a process that will not
    stop, until its supervisor kills it)."""
    pg, _, server = on_postgres
    alice = await registered_account(server, "alice", "correct-horse", "#room")
    clients.append(alice)
    alice.send("PRIVMSG #room :stored while it answers")
    await sync(alice)  # answered after its commit: the store is not behind
    assert not server.persistence.store.backlog().behind
    pg.freeze()
    with caplog.at_level(logging.ERROR, logger="hubbub.store"):
        await asyncio.wait_for(server.stop(), 120)  # a hang fails here; the stop takes seconds
    assert server.persistence.store is None  # closed
    assert re.search(r"\d+ writes not stored", caplog.text), caplog.text
