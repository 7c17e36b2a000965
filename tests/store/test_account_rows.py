"""An account's row is written only by its own registration (store/accounts.py), on SQLite
and PostgreSQL alike: a server that registered a name the store already holds (written
without it knowing) must not replace the stored account, nor hand it its certificates."""

from __future__ import annotations

import pytest

from hubbub.server.storage import AccountRecord, AddMessage, DeleteAccount, PutAccount
from tests.store.test_store import T0, ids, line, q, reopened

STORED = AccountRecord("gina", "gina", "$argon2id$gina", "gina:scram", "gina@example.org", T0, ("aa" * 32,))


async def test_a_registration_never_replaces_the_stored_account_of_its_name(
    make_store, caplog: pytest.LogCaptureFixture
) -> None:
    store = await make_store()
    await store.write([PutAccount(STORED)])  # `hubbub account add gina`, under a running server
    stranger = AccountRecord("gina", "gina", "$argon2id$stranger", "s:scram", "", T0 + 60, ("bb" * 32,))
    await store.write([AddMessage(line(1)), PutAccount(stranger), AddMessage(line(2))])  # its REGISTER
    await store.write([PutAccount(stranger._replace(password_hash="$argon2id$stranger2"))])  # then its PASSWD
    snapshot = await reopened(make_store)
    assert snapshot.accounts == [STORED]
    store = await make_store()
    assert ids(await store.history(q("latest"))) == ["id1", "id2"]  # the rest of the batch is kept
    refusals = [r for r in caplog.records if r.levelname == "ERROR" and "account gina NOT stored" in r.message]
    assert len(refusals) == 2


async def test_changes_of_the_stored_registration_are_written(make_store, caplog: pytest.LogCaptureFixture) -> None:
    store = await make_store()
    await store.write([PutAccount(STORED)])
    await store.write([PutAccount(STORED)])  # the same write again (a batch tried again)
    changed = STORED._replace(password_hash="$argon2id$new", scram="new:scram", certfps=("cc" * 32,))
    await store.write([PutAccount(changed)])
    assert (await reopened(make_store)).accounts == [changed]
    assert "NOT stored" not in caplog.text


async def test_a_name_dropped_and_registered_again_is_the_new_registration(make_store) -> None:
    store = await make_store()
    await store.write([PutAccount(STORED)])
    again = AccountRecord("gina", "Gina", "$argon2id$again", "", "", T0 + 100, ())
    await store.write([DeleteAccount("gina"), PutAccount(again)])
    assert (await reopened(make_store)).accounts == [again]
