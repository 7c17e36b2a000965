"""History reads on a node of a cluster wait for what other nodes relayed to be stored
(engine/settled.py): a replica fed log entries notes other nodes' last kept messages,
and a read against a real SQLite file returns once the file holds them (or gives up).

The whole path over real nodes, Redis and PostgreSQL is in
tests/cluster/test_ordering_cluster_audit.py (lines said on another node before a JOIN).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hubbub.config import HistorySection
from hubbub.engine import settled
from hubbub.engine.replica import Replica
from hubbub.server.events import (
    AccountDropped,
    AccountRegistered,
    ChannelRenamed,
    Event,
    Joined,
    MarkerSet,
    NodeLost,
    NodeUp,
    Parted,
    Redacted,
    Said,
)
from hubbub.server.state import ChatState
from hubbub.server.storage import AddMessage, PutMarker, Store, StoredMessage
from hubbub.store import open_store
from tests.unit.test_cluster_replica import Log, user


def network() -> tuple[Replica, Log, settled.Elsewhere]:
    """Node aaaaaa's replica with al (of aaaaaa) and bob (of bbbbbb) in #c."""
    replica = Replica(ChatState(0.0), "aaaaaa")
    elsewhere = settled.Elsewhere(replica.state, lambda: replica.node, HistorySection, lambda: replica.source)
    replica.subscribe(elsewhere)
    log = Log()
    seqs = {"aaaaaa": 0, "bbbbbb": 0}

    def add(node: str, *events: Event) -> None:
        for event in events:
            seqs[node] += 1
            log.add(node, seqs[node], event)
        replica.receive(log.entries[-len(events):])

    add("aaaaaa", NodeUp("aaaaaa", "a.example", 0.0))
    add("bbbbbb", NodeUp("bbbbbb", "b.example", 0.0))
    add("aaaaaa", *user("aaaaaa", 1, "al"), Joined("aaaaaa1", "#c", 2.0, "j1"))
    add("bbbbbb", *user("bbbbbb", 1, "bob"), Joined("bbbbbb1", "#c", 2.0, "j2"))
    replica.add = add  # type: ignore[attr-defined]  # the test's way to apply more
    return replica, log, elsewhere


def said(uid: str, msgid: str, target: str = "#c", status: str = "") -> Said:
    return Said(uid, "PRIVMSG", target, target.startswith("#"), "hi", None, 3.0, msgid, status)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = open_store(str(tmp_path / "h.db"))
    await opened.open()
    yield opened
    await opened.close()


def stored(msgid: str) -> AddMessage:
    return AddMessage(StoredMessage("#c", msgid, 3.0, "PRIVMSG", "bob!u@h", None, ("#c", "hi"), None, "hi"))


def test_only_other_nodes_messages_that_are_kept_are_awaited() -> None:
    replica, _, elsewhere = network()
    add = replica.add  # type: ignore[attr-defined]
    add("aaaaaa", said("aaaaaa1", "own"))  # ours: our own reads wait for our own writes already
    add("bbbbbb", said("bbbbbb1", "ops", status="@"))  # STATUSMSG: never kept
    add("bbbbbb", said("bbbbbb1", "dm", "aaaaaa1"))  # between people without accounts: not kept
    assert elsewhere.awaited == {}
    add("bbbbbb", said("bbbbbb1", "m1"), said("bbbbbb1", "m2"))
    assert elsewhere.awaited == {"bbbbbb": ("#c", "m2")}  # the last one: its node commits in order


def test_a_lost_node_or_a_redacted_message_is_not_waited_for() -> None:
    replica, _, elsewhere = network()
    add = replica.add  # type: ignore[attr-defined]
    add("bbbbbb", said("bbbbbb1", "m1"))
    assert elsewhere.awaited == {"bbbbbb": ("#c", "m1")}
    add("bbbbbb", Redacted("bbbbbb1", "#c", "#c", True, "m1", "", 4.0, "r1"))
    assert elsewhere.awaited == {}
    add("bbbbbb", said("bbbbbb1", "m2"))
    assert elsewhere.awaited == {"bbbbbb": ("#c", "m2")}
    add("aaaaaa", NodeLost("bbbbbb", "gone", 4.0, "lost1"))
    assert elsewhere.awaited == {}


async def test_a_read_waits_until_the_store_holds_the_other_node_s_last_message(store: Store) -> None:
    replica, _, elsewhere = network()
    replica.add("bbbbbb", said("bbbbbb1", "m1"))  # type: ignore[attr-defined]
    reading = asyncio.ensure_future(elsewhere.settle(store))
    for _ in range(20):
        await asyncio.sleep(0)
    assert not reading.done()  # node bbbbbb has not committed it
    await store.write([stored("m1")])
    await asyncio.wait_for(reading, 10)
    assert elsewhere.awaited == {}  # found: the next read does not look again


async def test_a_read_goes_ahead_when_the_message_never_comes(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settled, "WAIT", 0.05)
    replica, _, elsewhere = network()
    replica.add("bbbbbb", said("bbbbbb1", "never"))  # type: ignore[attr-defined]
    await asyncio.wait_for(elsewhere.settle(store), 10)
    assert elsewhere.awaited == {}  # not waited for again


async def test_the_settled_store_answers_history_with_the_other_node_s_lines(store: Store) -> None:
    replica, _, elsewhere = network()
    reads = settled.SettledReads(store, elsewhere)
    replica.add("bbbbbb", said("bbbbbb1", "m1"))  # type: ignore[attr-defined]
    finding = asyncio.ensure_future(reads.find("#c", "m1"))
    for _ in range(20):
        await asyncio.sleep(0)
    assert not finding.done()
    await reads.write([stored("m1")])
    found = await asyncio.wait_for(finding, 10)
    assert found is not None and found.msgid == "m1"


def test_a_message_of_a_channel_that_ended_is_not_waited_for() -> None:
    """A closed channel's history goes when it ends: its last line would never be found."""
    replica, _, elsewhere = network()
    add = replica.add  # type: ignore[attr-defined]
    add("bbbbbb", said("bbbbbb1", "m1"))
    add("aaaaaa", Parted("aaaaaa1", "#c", "", 4.0, "p1"))
    assert elsewhere.awaited == {"bbbbbb": ("#c", "m1")}  # the channel goes on
    add("bbbbbb", Parted("bbbbbb1", "#c", "", 4.0, "p2"))
    assert "#c" not in replica.state.channels and elsewhere.awaited == {}


def marker(account: str, target: str, time: float) -> MarkerSet:
    return MarkerSet(account, target, target, time)


async def test_a_marker_read_waits_until_the_store_holds_the_latest_marker_applied(store: Store) -> None:
    """Read markers are stored by the node MARKREAD was sent to: a read here (the recall
    at a login, the next MARKREAD's comparison) waits for the latest one applied."""
    replica, _, elsewhere = network()
    reads = settled.SettledReads(store, elsewhere)
    replica.add("bbbbbb", marker("carol", "#c", 5.0), marker("carol", "#c", 7.0))  # type: ignore[attr-defined]
    replica.add("bbbbbb", marker("carol", "#c", 6.0))  # type: ignore[attr-defined]  # older: markers only move on
    assert elsewhere.markers == {("carol", "#c"): (7.0, "bbbbbb")}
    reading = asyncio.ensure_future(reads.marker("carol", "#c"))
    await reads.write([PutMarker("carol", "#c", 5.0)])  # not yet the latest
    for _ in range(20):
        await asyncio.sleep(0.001)
    assert not reading.done()
    await reads.write([PutMarker("carol", "#c", 7.0)])
    assert await asyncio.wait_for(reading, 10) == 7.0
    assert elsewhere.markers == {}  # found: the next read does not look again
    assert await asyncio.wait_for(reads.marker("dave", "#c"), 10) is None  # none applied: no wait


async def test_a_marker_read_goes_ahead_when_the_marker_never_comes(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settled, "WAIT", 0.05)
    replica, _, elsewhere = network()
    replica.add("bbbbbb", marker("carol", "#c", 7.0))  # type: ignore[attr-defined]
    assert await asyncio.wait_for(settled.SettledReads(store, elsewhere).marker("carol", "#c"), 10) is None
    assert elsewhere.markers == {}


def test_markers_of_a_dropped_account_or_an_ended_channel_are_not_waited_for_and_a_rename_moves_them() -> None:
    replica, _, elsewhere = network()
    add = replica.add  # type: ignore[attr-defined]
    add("bbbbbb", marker("carol", "#c", 7.0), marker("dave", "#c", 8.0), marker("dave", "dm:carol dave", 9.0))
    add("aaaaaa", AccountDropped("erin", 10.0, "d0"))  # no such account: refused, nothing changes
    assert len(elsewhere.markers) == 3
    add("aaaaaa", AccountRegistered("dave", "dave", "hash", "", "", 9.5))
    add("aaaaaa", AccountDropped("dave", 10.0, "d1"))
    assert elsewhere.markers == {("carol", "#c"): (7.0, "bbbbbb")}
    add("aaaaaa", Joined("aaaaaa1", "#taken", 10.5, "j3"))
    add("aaaaaa", ChannelRenamed("aaaaaa1", "#c", "#taken", "", 10.6, "r0"))  # refused: the name is taken
    assert elsewhere.markers == {("carol", "#c"): (7.0, "bbbbbb")}
    add("aaaaaa", ChannelRenamed("aaaaaa1", "#c", "#D", "", 11.0, "r1"))
    assert elsewhere.markers == {("carol", "#d"): (7.0, "bbbbbb")}  # the store copies them to the new name
    add("aaaaaa", Parted("aaaaaa1", "#D", "", 12.0, "p1"))
    add("bbbbbb", Parted("bbbbbb1", "#D", "", 12.0, "p2"))
    assert "#d" not in replica.state.channels and elsewhere.markers == {}


def test_this_node_s_own_markers_are_not_noted_and_a_lost_node_s_are_forgotten() -> None:
    """Our reads wait for our own writes already; a lost node never writes what it had not."""
    replica, _, elsewhere = network()
    add = replica.add  # type: ignore[attr-defined]
    add("bbbbbb", marker("carol", "#c", 7.0), marker("dave", "#c", 7.0))
    add("aaaaaa", marker("carol", "#c", 8.0))  # carol read on, here: the latest is ours
    assert elsewhere.markers == {("dave", "#c"): (7.0, "bbbbbb")}
    add("aaaaaa", marker("dave", "#c", 6.0))  # older than the one awaited: still awaited
    assert elsewhere.markers == {("dave", "#c"): (7.0, "bbbbbb")}
    add("aaaaaa", marker("erin", "#c", 9.0))
    assert ("erin", "#c") not in elsewhere.markers
    add("aaaaaa", NodeLost("bbbbbb", "gone", 10.0, "lost1"))
    assert elsewhere.markers == {}


async def test_reads_waiting_for_a_node_end_when_it_is_lost(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """A node lost while a read waits for its commit or its marker: the read goes ahead
    then, not after the whole wait (settled.WAIT, longer here than the test waits)."""
    monkeypatch.setattr(settled, "WAIT", 60.0)
    replica, _, elsewhere = network()
    reads = settled.SettledReads(store, elsewhere)
    replica.add("bbbbbb", said("bbbbbb1", "m1"), marker("carol", "#c", 7.0))  # type: ignore[attr-defined]
    history = asyncio.ensure_future(reads.find("#c", "m1"))
    marked = asyncio.ensure_future(reads.marker("carol", "#c"))
    for _ in range(20):
        await asyncio.sleep(0.001)
    assert not history.done() and not marked.done()
    replica.add("aaaaaa", NodeLost("bbbbbb", "gone", 10.0, "lost1"))  # type: ignore[attr-defined]
    assert await asyncio.wait_for(history, 10) is None
    assert await asyncio.wait_for(marked, 10) is None
