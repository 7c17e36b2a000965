"""A server whose store is a real PostgreSQL (`store.db='postgresql://...'`): history and
accounts outlive a restart as with the SQLite file, and a database that cannot be used
stops the server with one line that never shows the password."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from hubbub.app import Runtime
from tests.e2e_accounts.support import registered_account, sasl_plain
from tests.e2e_caps.support import capped
from tests.e2e_history.test_chathistory import HISTORY, history
from tests.e2e_limits.test_cli import run
from tests.helpers import start_server, sync
from tests.services import ROLE, ROLE_PASSWORD, PostgresServer


@pytest.fixture
async def on_postgres(postgres_url: str) -> AsyncIterator[Callable[..., Awaitable[Runtime]]]:
    """`await on_postgres()`: a server storing in a fresh PostgreSQL database; again after
    stopping it: a restart on the same database."""
    started: list[Runtime] = []

    async def make(*overrides: str) -> Runtime:
        runtime = await start_server(f"store.db='{postgres_url}'", *overrides)
        started.append(runtime)
        return runtime

    yield make
    for runtime in started:
        await runtime.stop()


async def test_history_and_accounts_survive_a_restart(on_postgres, clients) -> None:
    server = await on_postgres()
    alice = await registered_account(server, "alice", "correct-horse", "#c")
    alice.send("PRIVMSG #c :before the restart")
    await sync(alice)
    await alice.close()
    await server.stop()

    again = await on_postgres()
    client, result = await sasl_plain(again, "alice", "alice", "correct-horse")
    clients.append(client)
    assert result == "903"
    bob = await capped(again, "bob", *HISTORY, channels=("#c",))
    clients.append(bob)
    got = await history(bob, "CHATHISTORY LATEST #c * 10")
    assert [m.params for m in got if m.command == "PRIVMSG"] == [["#c", "before the restart"]]


async def test_the_log_names_the_database_without_its_password(serve, postgres_url: str) -> None:
    served = await serve("--db", postgres_url)
    assert any(f"store {postgres_url.replace(':' + ROLE_PASSWORD, '')}: 0 accounts" in line for line in served.log)
    assert not any(ROLE_PASSWORD in line for line in served.log), served.log


async def test_a_wrong_password_stops_the_server_with_one_line(postgres_server: PostgresServer, tmp_path: Path) -> None:
    url = postgres_server.url("postgres", password="wrong-horse")
    result = await asyncio.to_thread(run, "serve", "--listen", "127.0.0.1:0", "--no-web", "--db", url, cwd=tmp_path)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith("hubbub:")]
    assert lines == [f"hubbub: cannot connect to PostgreSQL at 127.0.0.1:{postgres_server.port} (database postgres, "
                     f'user {ROLE}): password authentication failed for user "{ROLE}"'], result.stderr  # fmt: skip
    assert "wrong-horse" not in result.stderr and "Traceback" not in result.stderr
