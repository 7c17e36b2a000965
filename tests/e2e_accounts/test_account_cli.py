"""`hubbub account`: accounts made offline are the accounts the server logs people in to."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

from tests.e2e_accounts.support import registered_account, sasl_plain
from tests.e2e_accounts.test_accounts_more import cs
from tests.e2e_limits.test_cli import MODULE, _env
from tests.helpers import connected, start_server


def account(db: Path | str, *args: str, password: str | None = None, cwd: Path | None = None,
            ) -> subprocess.CompletedProcess[str]:  # fmt: skip
    return subprocess.run(
        [*MODULE, "account", "--db", str(db), *args], input=password, env=_env(), capture_output=True,
        text=True, timeout=30, check=False, cwd=cwd or Path(db).parent,
    )  # fmt: skip


async def test_add_list_passwd_del_and_log_in(tmp_path: Path) -> None:
    db = tmp_path / "hubbub.db"
    assert account(db, "add", "alice", password="s3cret\n").stdout.strip() == f"account alice created in {db}"
    assert account(db, "add", "alice", password="again\n").returncode == 1
    assert account(db, "add", "9lives", password="x\n").returncode == 1
    control = account(db, "add", "bob", password="bad\x01pw\n")  # SASLprep refuses it: told, no traceback
    assert control.returncode == 1 and "characters a password cannot have" in control.stderr, control.stderr
    assert "Traceback" not in control.stderr
    assert account(db, "list").stdout.startswith("alice\tregistered ")
    runtime = await start_server(f"store.db='{db}'")
    try:
        client, result = await sasl_plain(runtime, "alice", "alice", "s3cret")
        assert result == "903"
        await client.close()
        busy = await asyncio.to_thread(account, db, "list")
        assert busy.returncode == 1 and "in use by another hubbub server" in busy.stderr
    finally:
        await runtime.stop()
    assert account(db, "passwd", "alice", password="n3w\n").returncode == 0
    runtime = await start_server(f"store.db='{db}'")
    try:
        _, old = await sasl_plain(runtime, "alice", "alice", "s3cret")
        _, new = await sasl_plain(runtime, "alice2", "alice", "n3w")
        assert (old, new) == ("904", "903")
    finally:
        await runtime.stop()
    assert account(db, "del", "alice").stdout.strip() == f"account alice deleted from {db}"
    assert account(db, "list").stdout.strip() == f"no accounts in {db}"
    missing = account(db, "del", "alice")
    assert missing.returncode == 1 and "there is no account alice" in missing.stderr


async def test_accounts_made_offline_in_postgresql_log_in(postgres_url: str, tmp_path: Path) -> None:
    made = account(postgres_url, "add", "alice", password="s3cret\n", cwd=tmp_path)
    assert made.stdout.startswith("account alice created in PostgreSQL at "), made.stderr
    runtime = await start_server(f"store.db='{postgres_url}'")
    try:
        client, result = await sasl_plain(runtime, "alice", "alice", "s3cret")
        assert result == "903"
        await client.close()
    finally:
        await runtime.stop()
    # a cluster node's file names the network's Redis, and the command line its store
    (tmp_path / "node.toml").write_text('[cluster]\nurl = "redis://127.0.0.1:1/0"\n', encoding="utf-8")
    listed = account(postgres_url, "--config", "node.toml", "list", cwd=tmp_path)
    assert (listed.returncode, listed.stdout.split("\t")[0]) == (0, "alice"), listed.stderr


def test_a_name_longer_than_the_servers_nicklen_is_refused(tmp_path: Path) -> None:
    """No one could take the nick to log in under it (`432 Erroneous nickname`): refused
    as NickServ REGISTER would refuse it, by the configuration's `limits.nicklen`."""
    (tmp_path / "hubbub.toml").write_text('[limits]\nnicklen = 9\n[store]\ndb = "chat.db"\n', encoding="utf-8")
    long = subprocess.run(
        [*MODULE, "account", "--config", "hubbub.toml", "add", "abcdefghij"], input="pw\n", env=_env(),
        capture_output=True, text=True, timeout=30, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert long.returncode == 1 and "'abcdefghij' cannot be an account name" in long.stderr, long.stderr
    assert not (tmp_path / "chat.db").exists()
    fits = subprocess.run(
        [*MODULE, "account", "--config", "hubbub.toml", "add", "abcdefghi"], input="pw\n", env=_env(),
        capture_output=True, text=True, timeout=30, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert fits.stdout.startswith("account abcdefghi created in "), fits.stderr


async def test_del_takes_the_account_off_other_channels_access_lists_too(tmp_path: Path) -> None:
    """As NickServ DROP does: whoever registers the name next inherits no status, even
    in a channel whose ban list named the account as well (that channel is written again)."""
    db = tmp_path / "hubbub.db"
    runtime = await start_server(f"store.db='{db}'")
    try:
        dave = await registered_account(runtime, "dave")
        bob = await registered_account(runtime, "bob", "correct-horse", "#only", "#both")
        for name in ("#only", "#both"):
            await cs(bob, f"REGISTER {name}")
            assert await cs(bob, f"AMODE {name} +o dave") == "Successfully set persistent mode +o on dave"
        bob.send("MODE #both +b a:dave")
        await bob.expect("MODE")
        for client in (dave, bob):
            await client.close()
    finally:
        await runtime.stop()
    assert account(db, "del", "dave").returncode == 0
    runtime = await start_server(f"store.db='{db}'")
    try:
        newcomer = await registered_account(runtime, "dave")
        for name in ("#only", "#both"):
            newcomer.send(f"JOIN {name}")
            assert (await newcomer.expect("353")).params[-1].split() == ["dave"], name  # no op, nobody else
        bob = await connected(runtime, "bob2")
        bob.send("MODE #both b")
        assert (await bob.expect(lambda m: m.command in ("367", "368"))).command == "368"
        for client in (newcomer, bob):
            await client.close()
    finally:
        await runtime.stop()
