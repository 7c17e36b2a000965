"""An account's row is written only by its own registration (store/accounts.py), on SQLite
and PostgreSQL alike: a server that registered a name the store already holds (written
without it knowing) must not replace the stored account, nor hand it its certificates."""

from __future__ import annotations

import json

import pytest

from hubbub.config import HistorySection
from hubbub.engine.snapshot import dump, load_into
from hubbub.server import apply as apply_module
from hubbub.server.apply import apply
from hubbub.server.events import AccountDropped, AccountRegistered, Event
from hubbub.server.state import ChatState
from hubbub.server.storage import (
    AccountRecord,
    AddMessage,
    ChannelRecord,
    DeleteAccount,
    PutAccount,
    PutChannel,
    PutMarker,
    PutVhost,
    Write,
)
from hubbub.store.recorder import Recorder
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


async def test_a_vhost_is_written_alone_and_only_for_its_registration(make_store) -> None:
    """A node that never heard of a vhost (started from a snapshot of a node of the
    version before) writes the account's row back without it: the stored vhost stays. A
    vhost for another registration of the name (a DROP and REGISTER meanwhile) is not
    written over the stored one."""
    store = await make_store()
    await store.write([PutAccount(STORED)])
    await store.write([PutVhost("gina", T0, "user/gina")])
    await store.write([PutAccount(STORED._replace(password_hash="$argon2id$new"))])  # its vhost unknown: ""
    await store.write([PutVhost("gina", T0 + 60, "someone/else")])
    (kept,) = (await reopened(make_store)).accounts
    assert (kept.password_hash, kept.vhost) == ("$argon2id$new", "user/gina")
    store = await make_store()
    await store.write([PutVhost("gina", T0, "")])  # taken away
    assert [a.vhost for a in (await reopened(make_store)).accounts] == [""]


async def test_a_name_dropped_and_registered_again_is_the_new_registration(make_store) -> None:
    store = await make_store()
    await store.write([PutAccount(STORED)])
    again = AccountRecord("gina", "Gina", "$argon2id$again", "", "", T0 + 100, ())
    await store.write([DeleteAccount("gina"), PutAccount(again)])
    assert (await reopened(make_store)).accounts == [again]


def recorded(state: ChatState, recorder: Recorder, event: Event) -> list[Write]:
    """`event` applied to a node's `state`, and the writes its recorder makes of it (the
    node it happened on)."""
    recorder(event, apply(state, event))
    return recorder.cut()


async def test_a_drop_written_late_leaves_the_next_registration_of_its_name(
    make_store, caplog: pytest.LogCaptureFixture
) -> None:
    """A cluster: gina registers on node 1 and drops her account there; node 2, started
    from a snapshot taken after the drop, registers the name again. Node 1's delete reaches
    the shared database after node 2's writes: the row stays node 2's registration's, and
    so do the channel and the read marker it wrote meanwhile."""
    node1 = ChatState(T0)
    one = Recorder(node1, HistorySection())
    first = recorded(node1, one, AccountRegistered("gina", "gina", "$argon2id$gina", "", "", T0))
    dropped = recorded(node1, one, AccountDropped("gina", T0 + 50, "drop1"))
    node2 = ChatState(T0)
    load_into(node2, json.loads(json.dumps(dump(node1))))
    two = Recorder(node2, HistorySection())
    again = recorded(node2, two, AccountRegistered("gina", "Gina", "$argon2id$again", "", "", T0 + 100))
    store = await make_store()
    await store.write(first)
    channel = ChannelRecord("#ginas", "#ginas", "gina", T0 + 101, "", "", 0.0, "nt", None, None, (), ())
    await store.write([*again, PutChannel(channel), PutMarker("gina", "#ginas", T0 + 102)])
    await store.write(dropped)  # node 1's, late
    snapshot = await reopened(make_store)
    assert snapshot.accounts == [AccountRecord("gina", "Gina", "$argon2id$again", "", "", T0 + 100, ())]
    assert snapshot.channels == [channel]
    assert await (await make_store()).marker("gina", "#ginas") == T0 + 102
    assert "NOT stored" not in caplog.text


async def test_a_drop_never_deletes_another_registration_of_its_name(make_store) -> None:
    """A server outside the cluster (or one that registered the name before this one's
    row was written) drops its own registration: the stored one of the name, and what it
    holds, stay."""
    store = await make_store()
    channel = ChannelRecord("#ginas", "#ginas", "gina", T0 + 1, "", "", 0.0, "nt", None, None, (), ())
    await store.write([PutAccount(STORED), PutChannel(channel)])
    await store.write([DeleteAccount("gina", T0 + 60)])
    snapshot = await reopened(make_store)
    assert snapshot.accounts == [STORED]
    assert snapshot.channels == [channel]
    await (await make_store()).write([DeleteAccount("gina", T0)])  # its own registration's: gone, with its channel
    snapshot = await reopened(make_store)
    assert snapshot.accounts == [] and snapshot.channels == []


def test_the_dropped_registrations_remembered_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """The oldest dropped registration is forgotten first once DROPPED_KEPT are kept, the
    same on every node (the drops' order is the network's), and a snapshot keeps that order."""
    monkeypatch.setattr(apply_module, "DROPPED_KEPT", 3)
    state = ChatState(T0)
    for i in range(5):
        apply(state, AccountRegistered(f"n{i}", f"n{i}", "$argon2id$x", "", "", T0 + i))
    for i in (3, 0, 4, 1):
        apply(state, AccountDropped(f"n{i}", T0 + 10 + i, f"d{i}"))
    assert list(state.dropped_accounts) == ["n0", "n4", "n1"]
    copy = ChatState(T0)
    load_into(copy, json.loads(json.dumps(dump(state))))
    apply(copy, AccountDropped("n2", T0 + 20, "d2"))
    assert list(copy.dropped_accounts) == ["n4", "n1", "n2"]
    assert copy.dropped_accounts["n4"] == T0 + 4
