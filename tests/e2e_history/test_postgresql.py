"""A server whose store is a real PostgreSQL (`store.db='postgresql://...'`), as a process:
its log names the database without the password, and a database that cannot be used
stops it with one line. (Everything the history and account tests check across restarts
runs on PostgreSQL too: their `stored` servers take each backend in turn.)"""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.e2e_limits.test_cli import run
from tests.services import ROLE, ROLE_PASSWORD, PostgresServer


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
