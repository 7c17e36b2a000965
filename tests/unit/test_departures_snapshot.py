"""The accounts' departures travel with a cluster's snapshots (Replica.extras): a node
starting from another's snapshot knows when accounts left channels before it came, and a
snapshot's malformed or missing departures (another version's) change nothing."""

from __future__ import annotations

from typing import Any

from hubbub.engine.replica import Replica
from hubbub.server.departures import PRIVATE, Departures, stop_time
from hubbub.server.events import AccountRegistered, Event, Joined, LoggedIn, NodeUp, Parted, UserQuit
from hubbub.server.state import ChatState
from hubbub.store.rows import departure_ms, to_us
from tests.unit.test_cluster_replica import Log, user


def in_channels(rows: list[list[Any]]) -> list[list[Any]]:
    """The departures from channels (not an account's from the network: PRIVATE)."""
    return [row for row in rows if row[1] != PRIVATE]

def node(name: str) -> tuple[Replica, Departures]:
    replica = Replica(ChatState(0.0), name)
    departures = Departures()
    replica.subscribe(departures)
    replica.extras["departures"] = (departures.dump, departures.load)
    return replica, departures


def feed(replica: Replica, log: Log, node_name: str, seq: list[int], *events: Event) -> None:
    for event in events:
        seq[0] += 1
        log.add(node_name, seq[0], event)
    replica.receive(log.entries[-len(events) :])


def test_a_node_started_from_a_snapshot_knows_the_accounts_departures() -> None:
    log = Log()
    first, departures = node("aaaaaa")
    seq = [0]
    feed(first, log, "bbbbbb", seq, NodeUp("bbbbbb", "b.example", 0.0), *user("bbbbbb", 1, "bob"),
         AccountRegistered("bob", "bob", "hash", "", "", 1.5), LoggedIn("bbbbbb1", "bob", 1.6, "l1"),
         *user("bbbbbb", 2, "nobody"), *user("bbbbbb", 3, "stays"), Joined("bbbbbb3", "#c", 1.9, "j0"),
         Joined("bbbbbb1", "#c", 2.0, "j1"), Joined("bbbbbb2", "#c", 2.0, "j2"),
         Parted("bbbbbb1", "#c", None, 3.0, "p1"), Parted("bbbbbb2", "#c", None, 3.5, "p2"))  # fmt: skip
    # another node's account is noted; another node's user without one is not (it comes back nowhere)
    # (times as applied: the log's clock bounds them, apply.in_time_order)
    ((account, channel, parted),) = in_channels(departures.dump())
    assert (account, channel) == ("bob", "#c")

    second, known = node("cccccc")
    second.restore(first.snapshot())
    bob = second.state.users["bbbbbb1"]
    assert known.left(bob, second.state.channels["#c"]) == parted
    # and it goes on learning from the log like the others
    feed(first, log, "bbbbbb", seq, Joined("bbbbbb1", "#c", 4.0, "j3"), UserQuit("bbbbbb1", "Quit: bye", 5.0, "q1"))
    second.receive(log.entries[-2:])
    ((_, _, quit_at),) = in_channels(known.dump())
    assert known.dump() == departures.dump() and quit_at > parted


def test_a_snapshot_without_departures_or_with_malformed_ones_changes_nothing() -> None:
    _, departures = node("aaaaaa")
    departures.load([["bob", "#c", 3.0]])
    for rows in (None, "x", [["bob", "#c"]], [[1, "#c", 4.0]], [["bob", "#c", "late"]], [["bob", "#c", 2.0]]):
        departures.load(rows)
    assert departures.dump() == [["bob", "#c", 3.0]]
    bare, known = node("cccccc")
    snapshot = bare.snapshot()
    del snapshot["extras"]  # a snapshot of a node from before extras
    bare.restore(snapshot)
    assert known.dump() == []
    for extras in (["departures"], {"departures": "x"}, {"other": 1}):  # another version's shapes
        bare.restore({**snapshot, "extras": extras})
    assert known.dump() == []


def test_only_a_quit_in_the_user_s_own_words_is_a_departure() -> None:
    """A lost node's quits say `<its name> lost contact with the network`: its users
    stopped receiving some time before, even when the name starts with "Quit"."""
    log = Log()
    replica, departures = node("aaaaaa")
    seq = [0]
    feed(replica, log, "bbbbbb", seq, NodeUp("bbbbbb", "b.example", 0.0), *user("bbbbbb", 3, "stays"),
         Joined("bbbbbb3", "#c", 1.0, "j0"))  # fmt: skip
    for n, (nick, reason) in enumerate((("ann", "Quitter lost contact with the network"), ("bea", "Quit: bye"),
                                        ("cat", "Quit"), ("dee", "Quitting"))):  # fmt: skip
        uid = f"bbbbbb{n + 4:x}"
        feed(replica, log, "bbbbbb", seq, *user("bbbbbb", n + 4, nick), AccountRegistered(nick, nick, "h", "", "", 2.0),
             LoggedIn(uid, nick, 2.0, f"l{n}"), Joined(uid, "#c", 2.0, f"j{n + 1}"),
             UserQuit(uid, reason, 3.0, f"q{n}"))  # fmt: skip
    assert [row[0] for row in in_channels(departures.dump())] == ["bea", "cat"]
    # from the network as a whole, whatever the quit: what is kept for the account from
    # then on was never sent to that connection (handlers/history.py replay_private)
    assert [row[0] for row in departures.dump() if row[1] == PRIVATE] == ["ann", "bea", "cat", "dee"]


def test_a_cluster_node_s_stop_cuts_at_the_last_event_it_applied_not_at_its_clock() -> None:
    """A lone server's users leave after everything (nothing comes after the stop); a
    cluster node's at its last applied event, whatever its clock says: the others go
    on, and what it had not applied yet is stamped after that event."""
    last_us = 1_733_312_345_123_456  # the time of the last event applied, in µs
    assert stop_time(1_733_312_400.0, last_us, False) == 1_733_312_400.001  # the clock ran on
    assert stop_time(1_733_312_000.0, last_us, False) == last_us / 1e6 + 0.001  # the events' clock is ahead
    for clock in (1_733_312_400.0, 1_733_312_000.0):
        cut = stop_time(clock, last_us, True)
        assert to_us(cut) == last_us  # its clock not counted
        assert departure_ms(cut) == 1_733_312_345_124  # kept after the event, in the same millisecond


def test_a_node_lost_with_what_its_users_saw_notes_their_departures_then() -> None:
    """NodeLost.seen (a node's clean stop) becomes its accounts' departure, at most at the
    NodeLost's own time; without it (a node declared lost by another, or a record of an
    older node) nothing is noted, and an account's later departures win as before."""
    from hubbub.server.events import NodeLost, from_record, to_record

    record = to_record(NodeLost("bbbbbb", "Server shutting down", 9.0, "n1", seen=7.25))
    del record["seen"]  # what an older node publishes
    assert from_record(record) == NodeLost("bbbbbb", "Server shutting down", 9.0, "n1")

    def joined_then_lost(lost: NodeLost) -> list[list[object]]:
        log = Log()
        replica, departures = node("aaaaaa")
        seq = [0]
        feed(replica, log, "bbbbbb", seq, NodeUp("bbbbbb", "b.example", 0.0), *user("bbbbbb", 1, "bob"),
             AccountRegistered("bob", "bob", "hash", "", "", 1.5), LoggedIn("bbbbbb1", "bob", 1.6, "l1"),
             *user("bbbbbb", 2, "nobody"), Joined("bbbbbb1", "#c", 2.0, "j1"), Joined("bbbbbb2", "#c", 2.0, "j2"),
             lost)  # fmt: skip
        assert "bbbbbb1" not in replica.state.users
        return in_channels(departures.dump())

    # (the log's positions are milliseconds 1, 2...: applied times stay under the last one,
    # apply.in_time_order, so the NodeLost of the 13th entry is applied at most at 0.012999)
    lost = "Server shutting down"
    assert joined_then_lost(NodeLost("bbbbbb", lost, 1.0, "n1", seen=0.0105)) == [["bob", "#c", 0.0105]]
    assert joined_then_lost(NodeLost("bbbbbb", "b.example lost contact with the network", 1.0, "n1")) == []
    ((_, _, when),) = joined_then_lost(NodeLost("bbbbbb", lost, 1.0, "n1", seen=50.0))  # never past the quit
    assert when <= 0.012999
