"""A registered channel keeps its age across a restart: restored from the store, it was
created when it was registered (the store keeps no earlier time), not when the server
started again. RPL_CREATIONTIME (329) says so, and so does LIST's `C` filter."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from hubbub.app import Runtime
from hubbub.engine import snapshot
from hubbub.server.apply import apply
from hubbub.server.state import ChatState
from hubbub.server.storage import ChannelRecord, Snapshot
from hubbub.store.restore import restore_events
from tests.e2e_accounts.support import registered_account
from tests.helpers import LineClient, start_server, sync

CREATED = 1_600_000_000.0  # when the channel was made, in the first run (a clock of the test's)
REGISTERED = CREATED + 3 * 3600  # when ChanServ registered it, three hours later


@pytest.fixture
async def stored(db: str) -> AsyncIterator[Callable[[], Awaitable[Runtime]]]:
    """`await stored()`: a server keeping its store in `db`; again after stopping it: a restart."""
    started: list[Runtime] = []

    async def make() -> Runtime:
        runtime = await start_server(f"store.db='{db}'")
        started.append(runtime)
        return runtime

    yield make
    for runtime in started:
        await runtime.stop()


async def creation_time(client: LineClient, channel: str) -> int:
    client.send(f"MODE {channel}")
    return int((await client.expect("329", client.nick, channel)).params[2])


async def listed_older_than(client: LineClient, minutes: int) -> list[str]:
    """The channels `LIST C>minutes` shows: those created more than that many minutes ago."""
    client.send(f"LIST C>{minutes}")
    replies = await client.collect_until("323")
    return [m.params[1] for m in replies if m.command == "322"]


async def test_a_registered_channel_restored_from_the_store_was_created_when_it_was_registered(
    stored, clients
) -> None:
    server = await stored()
    now = CREATED
    server.clock = lambda: now
    alice = await registered_account(server, "alice", "correct-horse", "#keep")
    clients.append(alice)
    assert await creation_time(alice, "#keep") == int(CREATED)
    now = REGISTERED
    alice.send("PRIVMSG ChanServ :REGISTER #keep")
    await alice.expect("MODE", "#keep", "+q", "alice")
    assert await creation_time(alice, "#keep") == int(CREATED)  # registering does not make it younger
    await sync(alice)
    await server.stop()

    server = await stored()  # the real clock again: years after those times
    watcher = await LineClient.connect(server)
    clients.append(watcher)
    await watcher.register("watcher")
    assert await creation_time(watcher, "#keep") == int(REGISTERED)  # empty, before anyone joins
    assert await listed_older_than(watcher, 60) == ["#keep"]
    await watcher.join("#keep")
    assert await creation_time(watcher, "#keep") == int(REGISTERED)  # and once it has members again


def test_restored_and_snapshot_channels_keep_the_registration_time_as_their_creation_time() -> None:
    """The same below the sockets: the events a start-up applies, and a cluster node's
    snapshot of that state (a node joining later starts from it)."""
    record = ChannelRecord("#keep", "#Keep", "alice", REGISTERED, "", "", 0.0, "nt", None, None, (), ())
    state = ChatState(REGISTERED + 86400)
    for event in restore_events(Snapshot([], [record], []), REGISTERED + 86400):
        apply(state, event)
    assert state.channels["#keep"].created == REGISTERED
    joined = ChatState(REGISTERED + 2 * 86400)
    snapshot.load_into(joined, snapshot.dump(state))
    assert joined.channels["#keep"].created == REGISTERED
