"""`hubbub account` and running servers: on PostgreSQL as on a SQLite file, accounts are not
changed under a running server (it would not know them, and its next registration of the
name would meet them); and an account stored behind a server's back anyway is never
replaced by the server's registration of its name."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from pathlib import Path

import asyncpg
import pytest

from hubbub.passwords import credentials
from hubbub.store import POSTGRESQL_SCHEMES
from tests.e2e_accounts.support import ns, sasl_plain
from tests.e2e_accounts.test_account_cli import account
from tests.helpers import connected, start_server

REFUSED = (r"^hubbub: PostgreSQL at 127\.0\.0\.1:\d+ \(database \w+, user hubbub\) is in use by 1 running hubbub "
           r"server: stop the servers first \(every node of a cluster\), or manage accounts through NickServ on a "
           r"running server \(an IRC operator sets a forgotten password with /msg NickServ PASSWD <account> "
           r"<new password>\)$")  # fmt: skip


async def run_account(db: str, *args: str, password: str | None = None, cwd: Path) -> tuple[int, str, str]:
    """`hubbub account --db DB ARGS...` in a process of its own, the server going on meanwhile."""
    done = await asyncio.to_thread(account, db, *args, password=password, cwd=cwd)
    return done.returncode, done.stdout.strip(), done.stderr.strip()


async def test_account_changes_are_refused_while_a_server_runs_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    """The QA case: `add gina` said `account gina created` under a running server, which did
    not know her, and a stranger's REGISTER of gina then replaced her password."""
    assert (await run_account(postgres_url, "add", "rosa", password="Rosa-Pass-1\n", cwd=tmp_path))[0] == 0
    runtime = await start_server(f"store.db='{postgres_url}'")
    try:
        for args, password in ((("add", "gina"), "gina-pass\n"), (("passwd", "rosa"), "Other-Pass-2\n"),
                               (("del", "rosa"), None)):  # fmt: skip
            code, out, err = await run_account(postgres_url, *args, password=password, cwd=tmp_path)
            assert (code, out) == (1, ""), err
            assert re.search(REFUSED, err), err
        code, out, _ = await run_account(postgres_url, "list", cwd=tmp_path)  # reading is harmless
        assert code == 0 and out.startswith("rosa\tregistered ")
        _, rosa = await sasl_plain(runtime, "rosa", "rosa", "Rosa-Pass-1")  # rosa is as she was
        assert rosa == "903"
        client = await connected(runtime, "gina")  # gina is nobody's: registered here, as usual
        assert await ns(client, "REGISTER gina-pass") == "Account created"
    finally:
        await runtime.stop()
    code, out, _ = await run_account(postgres_url, "list", cwd=tmp_path)
    assert [row.split("\t")[0] for row in out.splitlines()] == ["gina", "rosa"]
    code, _, err = await run_account(postgres_url, "add", "gina", password="x\n", cwd=tmp_path)
    assert code == 1 and "the account gina exists already" in err
    assert (await run_account(postgres_url, "passwd", "gina", password="gina-new\n", cwd=tmp_path))[0] == 0


async def stored_behind(db: str, name: str, password: str) -> None:
    """An account written into the store without the running server knowing (by what
    `hubbub account` did on PostgreSQL before it was refused, or by another program)."""
    password_hash, scram = credentials(password)
    row = (name, name, password_hash, scram, "", 1_700_000_000.0)
    if db.startswith(POSTGRESQL_SCHEMES):
        conn = await asyncpg.connect(db)
        try:
            await conn.execute("INSERT INTO accounts (key, name, password_hash, scram, email, registered_at) "
                               "VALUES ($1, $2, $3, $4, $5, $6)", *row)  # fmt: skip
        finally:
            await conn.close()
        return
    with sqlite3.connect(db, timeout=10) as conn:
        conn.execute("INSERT INTO accounts (key, name, password_hash, scram, email, registered_at) "
                     "VALUES (?, ?, ?, ?, ?, ?)", row)  # fmt: skip
    conn.close()


async def test_a_registration_meeting_an_account_stored_behind_the_server_keeps_the_stored_one(
    db: str, caplog: pytest.LogCaptureFixture
) -> None:
    runtime = await start_server(f"store.db='{db}'")
    try:
        await stored_behind(db, "gina", "gina-pass")
        stranger = await connected(runtime, "gina")
        assert await ns(stranger, "REGISTER other-pass") == "Account created"  # this server knew no gina
        refusals = [r.message for r in caplog.records if r.levelname == "ERROR" and "NOT stored" in r.message]
        assert len(refusals) == 1 and "account gina NOT stored" in refusals[0], caplog.text
        await stranger.expect_text("You're now logged in as gina")
        assert await ns(stranger, "SET PASSWORD third-pass") == "Password changed"
        assert len([r for r in caplog.records if "NOT stored" in r.message]) == 2  # nor by a change
    finally:
        await runtime.stop()
    runtime = await start_server(f"store.db='{db}'")
    try:
        _, owner = await sasl_plain(runtime, "gina", "gina", "gina-pass")
        _, stranger_again = await sasl_plain(runtime, "gina2", "gina", "third-pass")
        assert (owner, stranger_again) == ("903", "904")
    finally:
        await runtime.stop()
