"""accounts.hash_*: the cost of the argon2id hashes of account passwords, made by
NickServ and by `hubbub account`, and of the decoy a name without an account is checked
against."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from argon2 import PasswordHasher, extract_parameters

from hubbub.config import ConfigError, load
from hubbub.irc.casemap import casefold
from hubbub.passwords import DECOY_HASH, DEFAULT_COST, HashCost, check_and_upgrade, decoy_hash, verify_password
from hubbub.server.apply import apply
from hubbub.server.events import AccountCredentialsSet, AccountHashUpgraded, AccountRegistered
from hubbub.server.state import ChatState
from hubbub.store import Claim, open_store
from tests.e2e_accounts.support import ns, registered_account, sasl_plain
from tests.e2e_limits.test_cli import MODULE, _env
from tests.helpers import DEFAULT_HASH, connected, start_server

SMALL = ("accounts.hash_time_cost=2", "accounts.hash_memory_kib=1024", "accounts.hash_parallelism=1")


def _cost(password_hash: str) -> tuple[int, int, int]:
    found = extract_parameters(password_hash)
    return found.time_cost, found.memory_cost, found.parallelism


async def test_nickserv_hashes_at_the_configured_cost_and_the_account_logs_in() -> None:
    runtime = await start_server(*SMALL)
    try:
        alice = await registered_account(runtime, "alice", "correct-horse")
        stored = runtime.services.state.accounts[casefold("alice")].password_hash
        assert _cost(stored) == (2, 1024, 1)
        assert await ns(alice, "PASSWD correct-horse battery-staple battery-staple") == "Password changed"
        changed = runtime.services.state.accounts[casefold("alice")].password_hash
        assert changed != stored and _cost(changed) == (2, 1024, 1)
        await alice.close()
        _, right = await sasl_plain(runtime, "alice2", "alice", "battery-staple")
        _, wrong = await sasl_plain(runtime, "alice3", "alice", "correct-horse")
        asked = decoy_hash.cache_info()
        _, nobody = await sasl_plain(runtime, "carol", "carol", "correct-horse")
        assert (right, wrong, nobody) == ("903", "904", "904")
        after = decoy_hash.cache_info()  # carol has no account: checked against the decoy of this cost
        assert after.hits + after.misses == asked.hits + asked.misses + 1
    finally:
        await runtime.stop()


async def test_the_default_cost_is_argon2_cffi_s() -> None:
    runtime = await start_server(*DEFAULT_HASH)  # the suite's servers hash cheaply otherwise
    try:
        alice = await registered_account(runtime, "alice", "correct-horse")
        assert _cost(runtime.services.state.accounts[casefold("alice")].password_hash) == (3, 65536, 4)
        await alice.close()
    finally:
        await runtime.stop()


def test_the_decoy_of_a_cost_is_checked_at_that_cost() -> None:
    """A name without an account costs what an account's check costs: the decoy is hashed
    at the configured cost (the built-in one serves the default)."""
    small = HashCost(2, 1024, 1)
    assert _cost(decoy_hash(small)) == (2, 1024, 1)
    assert decoy_hash(small) == decoy_hash(small)  # made once
    assert not verify_password(decoy_hash(small), "")
    assert decoy_hash(DEFAULT_COST) == DECOY_HASH and _cost(DECOY_HASH) == (3, 65536, 4)


@pytest.mark.parametrize(("override", "message"), [
    ("accounts.hash_time_cost=0", "hash_time_cost must be at least 1"),
    ("accounts.hash_parallelism=0", "hash_parallelism from 1 to 255"),
    ("accounts.hash_parallelism=256", "hash_parallelism from 1 to 255"),
    ("accounts.hash_memory_kib=31", "at least 8 per lane"),  # four lanes by default
])  # fmt: skip
def test_a_cost_argon2_cannot_take_is_refused_at_start(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load(None, [override])


async def test_hubbub_account_hashes_at_the_configured_cost(tmp_path: Path) -> None:
    (tmp_path / "hubbub.toml").write_text(
        '[store]\ndb = "chat.db"\n[accounts]\nhash_time_cost = 2\nhash_memory_kib = 2048\nhash_parallelism = 2\n',
        encoding="utf-8",
    )
    made = subprocess.run(
        [*MODULE, "account", "--config", "hubbub.toml", "add", "alice"], input="pw\n", env=_env(),
        capture_output=True, text=True, timeout=30, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert made.stdout.strip() == f"account alice created in {tmp_path / 'chat.db'}", made.stderr
    store = open_store(str(tmp_path / "chat.db"), claim=Claim.READING)
    try:
        accounts = (await store.open()).accounts
    finally:
        await store.close()
    assert [(a.name, _cost(a.password_hash)) for a in accounts] == [("alice", (2, 2048, 2))]


async def _stored_hashes(path: Path) -> dict[str, str]:
    store = open_store(str(path), claim=Claim.READING)
    try:
        return {a.name: a.password_hash for a in (await store.open()).accounts}
    finally:
        await store.close()


async def test_a_login_by_password_after_a_change_of_the_cost_hashes_it_again_at_the_new_one(tmp_path: Path) -> None:
    """The password is in hand only at a login: that is when an account made before a
    change of the cost gets a hash at the new cost, kept in the store. A wrong password,
    or a login whose hash is at the cost already, changes nothing."""
    db = f"store.db='{tmp_path / 'chat.db'}'"
    before = await start_server(db, *SMALL)
    try:
        await (await registered_account(before, "alice", "correct-horse")).close()
        await (await registered_account(before, "bob", "battery-staple")).close()
    finally:
        await before.stop()
    made = await _stored_hashes(tmp_path / "chat.db")
    assert {name: _cost(h) for name, h in made.items()} == {"alice": (2, 1024, 1), "bob": (2, 1024, 1)}

    bigger = ("accounts.hash_time_cost=1", "accounts.hash_memory_kib=2048", "accounts.hash_parallelism=2")
    after = await start_server(db, *bigger)
    try:
        accounts = after.services.state.accounts
        _, wrong = await sasl_plain(after, "alice1", "alice", "not-her-password")
        assert wrong == "904" and accounts["alice"].password_hash == made["alice"]
        _, right = await sasl_plain(after, "alice2", "alice", "correct-horse")
        assert right == "903"
        upgraded = accounts["alice"].password_hash
        assert _cost(upgraded) == (1, 2048, 2) and verify_password(upgraded, "correct-horse")
        _, again = await sasl_plain(after, "alice3", "alice", "correct-horse")  # at the cost already: kept
        assert again == "903" and accounts["alice"].password_hash == upgraded
        bob = await connected(after, "bobby")
        assert await ns(bob, "IDENTIFY bob battery-staple") == "You're now logged in as bob"  # IDENTIFY too
        assert _cost(accounts["bob"].password_hash) == (1, 2048, 2)
        await bob.close()
    finally:
        await after.stop()
    kept = await _stored_hashes(tmp_path / "chat.db")
    assert kept["alice"] == upgraded and _cost(kept["bob"]) == (1, 2048, 2)
    assert kept["bob"] != made["bob"]


def test_a_hash_made_again_is_not_applied_over_a_password_changed_meanwhile() -> None:
    """The upgrade names the hash it replaces: a password changed between the check and
    the upgrade's turn in the network's order (PASSWD on another node) is never set back."""
    state = ChatState(1.0)
    apply(state, AccountRegistered("alice", "alice", "old-hash", "scram", "", 1.0))
    apply(state, AccountCredentialsSet("alice", "new-password-hash", "new-scram"))
    refused = apply(state, AccountHashUpgraded("alice", "old-hash", "old-password-rehashed"))
    assert refused.rejected == "password changed meanwhile"
    assert state.accounts["alice"].password_hash == "new-password-hash"
    assert apply(state, AccountHashUpgraded("alice", "new-password-hash", "rehashed")).rejected is None
    assert (state.accounts["alice"].password_hash, state.accounts["alice"].scram) == ("rehashed", "new-scram")
    assert apply(state, AccountHashUpgraded("nobody", "x", "y")).rejected == "no such account"


async def test_plain_takes_the_password_scram_takes_however_its_letters_are_composed() -> None:
    """SCRAM's keys are of the SASLprep'd password (RFC 4013): the argon2id hash that PLAIN
    and IDENTIFY check is of it too, so `ü` typed as one code point or as `u` and a
    combining mark logs in by either mechanism. A hash made of the text as typed (before
    passwords were prepared) still takes it, and is made again of the prepared form."""
    composed, decomposed = "ünïcødé-pass", "u\u0308ni\u0308cødé-pass"
    runtime = await start_server()
    try:
        erin = await registered_account(runtime, "erin", composed)
        await erin.close()
        results = [(await sasl_plain(runtime, f"erin{i}", "erin", typed))[1] for i, typed in enumerate(
            (decomposed, composed, "unicode-pass"))]  # fmt: skip
        assert results == ["903", "903", "904"]
        as_typed = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(decomposed)
        assert verify_password(as_typed, decomposed) and verify_password(as_typed, composed) is False
        ok, again = check_and_upgrade(as_typed, decomposed, DEFAULT_COST)
        assert ok and again is not None and verify_password(again, composed)
    finally:
        await runtime.stop()
