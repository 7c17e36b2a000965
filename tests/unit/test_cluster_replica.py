"""The clustered engine's logic without Redis: a replica fed log entries, and snapshots.

What the cluster's promises rest on: entries are applied in the log's order, once each,
only where they continue the log; a lost node's users quit in one order everywhere; a
node's own events come back to their senders; a snapshot gives a replica equal to the
one it was taken from, which then stays equal as the log goes on.
"""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from hubbub.engine import snapshot
from hubbub.engine.replica import START, Entry, Gap, Replica
from hubbub.server.apply import Outcome, apply
from hubbub.server.events import (
    AccountRegistered,
    AccountVhostSet,
    Connected,
    Event,
    Joined,
    LoginFailed,
    LoginFailuresForgotten,
    NickSet,
    NodeLost,
    NodeUp,
    Registered,
    Said,
    SaidMultiline,
    Synced,
    UserQuit,
    from_record,
)
from hubbub.server.state import ChatState
from tests.unit.test_events import COMMANDS, recorded_core
from tests.unit.test_session import FakeClock, Peer, registered


class Origin:
    """A connection waiting for its events, as the replica sees it."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.held = 0

    def hold_input(self) -> None:
        self.held += 1
        self.calls.append("hold")

    def resume_reply(self) -> None:
        self.calls.append("resume")

    def release_input(self) -> None:
        self.held -= 1
        self.calls.append("release")

    def fail(self, command: str, code: str, *context_and_text: str) -> None:
        self.calls.append(f"FAIL {command} {code}")


class Log:
    """A log as Redis keeps it: positions 1-0, 2-0... each naming the one before."""

    def __init__(self) -> None:
        self.entries: list[Entry] = []

    def add(self, node: str, seq: int, event: Event | None) -> Entry:
        prev = self.entries[-1].id if self.entries else START
        entry = Entry(f"{len(self.entries) + 1}-0", prev, node, seq, event)
        self.entries.append(entry)
        return entry

    def publish(self, replica: Replica) -> None:
        """What the publisher does: the replica's unsent events go into the log."""
        batch = replica.unsent(100)
        for seq, event in batch:
            self.add(replica.node, seq, event)
        if batch:
            replica.published(batch[-1][0])


def user(node: str, n: int, nick: str, time: float = 1.0) -> list[Event]:
    uid = f"{node}{n:x}"
    return [Connected(uid, "10.0.0.1", "10.0.0.1", False, time), NickSet(uid, nick, time, f"m{uid}"),
            Registered(uid, "u", "r", time)]  # fmt: skip


def test_a_nodes_own_events_wait_for_the_log_then_reach_their_sender() -> None:
    log = Log()
    replica = Replica(ChatState(0.0), "aaaaaa")
    replica.emit(None, NodeUp("aaaaaa", "a.example", 0.0))
    origin = Origin()
    outcomes: list[Outcome] = []
    replica.emit(origin, Connected("aaaaaa1", "10.0.0.1", "10.0.0.1", False, 1.0), outcomes.append)
    assert "aaaaaa1" not in replica.state.users and origin.held == 1  # nothing happens before the log orders it
    log.publish(replica)
    replica.receive(log.entries)
    assert outcomes and outcomes[0].user is replica.state.users["aaaaaa1"]
    assert origin.calls == ["hold", "resume", "release"] and origin.held == 0
    assert replica.outbox == []


def test_entries_apply_once_in_the_logs_order_and_a_gap_is_refused() -> None:
    log = Log()
    for n, event in enumerate([NodeUp("bbbbbb", "b", 0.0), *user("bbbbbb", 1, "alice")], start=1):
        log.add("bbbbbb", n, event)
    log.add("bbbbbb", 3, NickSet("bbbbbb1", "again", 2.0, "dup"))  # a publish retried: seq 3 once more
    replica = Replica(ChatState(0.0), "aaaaaa")
    replica.receive(log.entries[:2])
    replica.receive(log.entries[2:])
    assert replica.state.find_user("alice") is not None and replica.state.find_user("again") is None
    log.add("bbbbbb", 5, Joined("bbbbbb1", "#c", 3.0, "m5"))
    later = Entry("9-0", "8-0", "bbbbbb", 6, Joined("bbbbbb1", "#d", 3.0, "m6"))
    try:
        replica.receive([log.entries[-1], later])
    except Gap:
        pass
    else:
        raise AssertionError("an entry that does not follow the last one applied must raise Gap")
    assert "#c" in replica.state.channels and "#d" not in replica.state.channels  # nothing past the gap


def test_a_lost_node_s_users_quit_in_uid_order_and_its_late_entries_are_ignored() -> None:
    log = Log()
    log.add("aaaaaa", 1, NodeUp("aaaaaa", "a", 0.0))
    log.add("bbbbbb", 1, NodeUp("bbbbbb", "b", 0.0))
    seq = {"aaaaaa": 1, "bbbbbb": 1}
    for node, n, nick in (("bbbbbb", 2, "zed"), ("aaaaaa", 1, "amy"), ("bbbbbb", 1, "bob")):
        for event in user(node, n, nick):
            seq[node] += 1
            log.add(node, seq[node], event)
    log.add("aaaaaa", 99, NodeLost("bbbbbb", "b lost contact with the network", 5.0, "lost1"))
    log.add("bbbbbb", 50, Said("bbbbbb1", "PRIVMSG", "aaaaaa1", False, "too late", None, 6.0, "late"))
    heard: list[Event] = []
    replica = Replica(ChatState(0.0), "aaaaaa")
    replica.subscribe(lambda event, outcome: heard.append(event))
    replica.receive(log.entries)
    quits = [event for event in heard if type(event).__name__ == "UserQuit"]
    assert [q.uid for q in quits] == ["bbbbbb1", "bbbbbb2"]  # type: ignore[union-attr]
    assert {u.nick for u in replica.state.users.values()} == {"amy"}
    assert replica.state.nodes == {"aaaaaa": "a"}
    assert not any(type(event) is Said for event in heard)


def test_events_waiting_while_the_log_is_away_are_refused_with_the_sender_told() -> None:
    replica = Replica(ChatState(0.0), "aaaaaa")
    origin = Origin()
    housekeeping = NickSet("aaaaaa1", "x", 1.0, "m")
    replica.emit(None, housekeeping)
    replica.emit(origin, Said("aaaaaa1", "PRIVMSG", "#c", True, "hi", None, 1.0, "m2"))
    replica.refuse_waiting("out of reach")
    assert origin.calls == ["hold", "resume", "FAIL PRIVMSG TEMPORARILY_UNAVAILABLE", "release"]
    assert [event for _, event in replica.outbox] == [housekeeping]  # a quit or a rename still goes out later


def test_a_refused_multiline_message_is_failed_with_its_own_command() -> None:
    for command in ("PRIVMSG", "NOTICE"):
        replica = Replica(ChatState(0.0), "aaaaaa")
        origin = Origin()
        replica.emit(origin, SaidMultiline("aaaaaa1", "#c", True, (("a", False),), None, 1.0, "m", "", command))
        replica.refuse_waiting("out of reach")
        assert f"FAIL {command} TEMPORARILY_UNAVAILABLE" in origin.calls


def test_a_read_waiting_to_catch_up_is_told_the_log_is_away_in_its_own_words() -> None:
    """A login waits for a Synced event: refused, its `then` hears it (the login answers
    904 or a NickServ notice) instead of a FAIL * that would leave the exchange open."""
    replica = Replica(ChatState(0.0), "aaaaaa")
    origin = Origin()
    told: list[str | None] = []
    replica.emit(origin, Synced("aaaaaa1", 1.0), lambda outcome: told.append(outcome.rejected))
    replica.refuse_waiting("out of reach")
    assert told == ["unavailable"]
    assert origin.calls == ["hold", "resume", "release"]
    replica.refusing = "out of reach"  # and while the log is known to be away, at once
    replica.emit(origin, Synced("aaaaaa1", 2.0), lambda outcome: told.append(outcome.rejected))
    assert told == ["unavailable", "unavailable"]


def test_a_snapshot_s_replica_holds_what_it_lacks_and_publishes_it_again() -> None:
    log = Log()
    a = Replica(ChatState(0.0), "aaaaaa")
    log.add("aaaaaa", 1, NodeUp("aaaaaa", "a", 0.0))
    a.receive(log.entries)
    a.seq = 1
    origin = Origin()
    for event in user("aaaaaa", 1, "amy"):
        a.emit(origin, event)
    log.publish(a)  # three events in the log; a has applied none of them yet
    other = Replica(ChatState(0.0), "bbbbbb")
    other.receive(log.entries[:3])  # the snapshot's node saw the first two
    data = json.loads(json.dumps(other.snapshot()))
    a.restore(data)
    assert origin.held == 1  # Connected and NickSet are done; Registered still waits
    assert [seq for seq, _ in a.unsent(10)] == [4]  # and goes out again


def snapshot_then_continue(script: list[tuple[int, str, int]], cut: int) -> tuple[str, str]:
    clock = FakeClock()
    svc, recorder = recorded_core(clock)
    peers: list[Peer] = [registered(svc, nick) for nick in ("p0", "p1", "p2")]
    for i, (who, command, n) in enumerate(script):
        clock.advance(0.5)
        me, other = peers[who].client.nick, peers[(who + 1) % 3].client.nick
        peers[who].send(command.format(me=me, other=other, fresh=f"n{who}x{n}"))
        if i == cut:
            taken = len(recorder.records)
            blob = json.dumps(snapshot.dump(svc.state))
    if cut >= len(script):
        taken, blob = len(recorder.records), json.dumps(snapshot.dump(svc.state))
    restored = ChatState(123.0)
    snapshot.load_into(restored, json.loads(blob))
    for record in recorder.records[taken:]:
        apply(restored, from_record(json.loads(record)))
    return restored.digest(), svc.state.digest()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), COMMANDS, st.integers(0, 9)), max_size=50), st.integers(0, 50))
def test_a_replica_started_from_a_snapshot_stays_equal_as_the_log_goes_on(
    script: list[tuple[int, str, int]], cut: int
) -> None:
    restored, original = snapshot_then_continue(script, cut)
    assert restored == original


def test_a_snapshot_keeps_a_user_s_client_certificate() -> None:
    """A node started from a snapshot shows the same WHOIS 276 as the others."""
    state = ChatState(0.0)
    fingerprint = "ab" * 32
    for event in (Connected("aaaaaa1", "10.0.0.1", "10.0.0.1", True, 1.0, 0, fingerprint),
                  NickSet("aaaaaa1", "amy", 1.0, "m1"), Registered("aaaaaa1", "u", "r", 1.0)):  # fmt: skip
        apply(state, event)
    restored = ChatState(5.0)
    snapshot.load_into(restored, json.loads(json.dumps(snapshot.dump(state))))
    assert restored.users["aaaaaa1"].certfp == fingerprint
    assert restored.digest() == state.digest()


def _left_and_vhosted() -> ChatState:
    """A state where amy (at 10.0.0.9, shown as a cloak) has left, and an account has a vhost."""
    state = ChatState(0.0)
    for event in (Connected("aaaaaa1", "10.0.0.9", "k3j5x7q2m9a4b6c8.hubbub", False, 1.0),
                  NickSet("aaaaaa1", "amy", 1.0, "m1"), Registered("aaaaaa1", "u", "r", 1.0),
                  UserQuit("aaaaaa1", "bye", 2.0, "m2"),
                  AccountRegistered("bob", "bob", "h", "s", "", 1.0), AccountVhostSet("bob", "user/bob")):  # fmt: skip
        assert apply(state, event).rejected is None
    return state


def test_a_snapshot_keeps_whowas_addresses_and_account_vhosts() -> None:
    """A node started from a snapshot tells operators the address in WHOWAS, and shows
    an account's owner with its vhost, as the others do."""
    state = _left_and_vhosted()
    restored = ChatState(5.0)
    snapshot.load_into(restored, json.loads(json.dumps(snapshot.dump(state))))
    assert [e.ip for e in restored.whowas.lookup("amy")] == ["10.0.0.9"]
    assert restored.accounts["bob"].vhost == "user/bob"
    assert restored.digest() == state.digest()


def test_a_snapshot_of_the_version_before_has_no_whowas_addresses_nor_vhosts() -> None:
    data = json.loads(json.dumps(snapshot.dump(_left_and_vhosted())))
    del data["whowas"]["ips"], data["vhosts"]
    restored = ChatState(5.0)
    snapshot.load_into(restored, data)
    assert [(e.host, e.ip) for e in restored.whowas.lookup("amy")] == [("k3j5x7q2m9a4b6c8.hubbub", "")]
    assert restored.accounts["bob"].vhost == ""


def test_failed_logins_are_applied_from_the_log_and_kept_by_a_snapshot() -> None:
    """A node counts the failures other nodes publish, forgets a pair another node's
    right password forgot, and one started from a snapshot counts where the others stand:
    the same answer to the next guess everywhere (the counts decide replies, not the digest)."""
    state = ChatState(0.0)
    state.login_failures.limit = 3
    for at in (10.0, 11.0, 12.0):
        assert apply(state, LoginFailed(("address:10.0.0.9", "pair:10.0.0.9 bob"), at)).rejected is None
    assert state.login_failures.blocked("pair:10.0.0.9 bob", 13.0) == 57.0
    apply(state, LoginFailuresForgotten("pair:10.0.0.9 bob"))
    assert state.login_failures.blocked("pair:10.0.0.9 bob", 13.0) is None
    restored = ChatState(5.0)
    restored.login_failures.limit = 3
    snapshot.load_into(restored, json.loads(json.dumps(snapshot.dump(state))))
    assert restored.login_failures.blocked("address:10.0.0.9", 13.0) == 57.0
    assert restored.digest() == state.digest()


def test_a_snapshot_keeps_the_failures_of_the_keys_that_failed_last(monkeypatch) -> None:
    monkeypatch.setattr(snapshot, "COUNTS_KEPT", 2)
    state = ChatState(0.0)
    for number in range(4):
        apply(state, LoginFailed((f"ip:10.0.0.{number}",), float(number)))
    apply(state, LoginFailed(("ip:10.0.0.0",), 9.0))  # failed again: now the newest
    assert snapshot.dump(state)["login_failures"] == {"ip:10.0.0.3": [3.0], "ip:10.0.0.0": [0.0, 9.0]}


def test_a_snapshot_of_the_version_before_has_no_failed_logins() -> None:
    state = ChatState(0.0)
    apply(state, LoginFailed(("ip:10.0.0.1",), 1.0))
    data = json.loads(json.dumps(snapshot.dump(state)))
    del data["login_failures"]
    restored = ChatState(5.0)
    apply(restored, LoginFailed(("ip:10.0.0.2",), 1.0))
    snapshot.load_into(restored, data)
    assert restored.login_failures.recent(10) == {}


def test_registrations_count_against_their_address_where_applied_and_in_a_snapshot() -> None:
    """An account registered on any node counts against the address it names
    (`counted`), on every node applying it; one restored from the store, none."""
    state = ChatState(0.0)
    state.registrations.limit = 2
    apply(state, AccountRegistered("amy", "amy", "h", "s", "", 10.0, counted="10.0.0.9"))
    apply(state, AccountRegistered("old", "old", "h", "s", "", 11.0))
    assert state.registrations.blocked("ip:10.0.0.9", 12.0) is None
    apply(state, AccountRegistered("ben", "ben", "h", "s", "", 12.0, counted="10.0.0.9"))
    assert state.registrations.blocked("ip:10.0.0.9", 12.0) == 3598.0
    assert apply(state, AccountRegistered("ben", "ben", "h", "s", "", 13.0, counted="10.0.0.7")).rejected
    assert state.registrations.recent(10) == {"ip:10.0.0.9": [10.0, 12.0]}  # a name taken counts nothing
    restored = ChatState(5.0)
    snapshot.load_into(restored, json.loads(json.dumps(snapshot.dump(state))))
    assert restored.registrations.recent(10) == {"ip:10.0.0.9": [10.0, 12.0]}


def test_connections_count_for_the_pace_where_applied_and_in_a_snapshot() -> None:
    """Every node counts every arrival its node paced under its address's group
    (limits.connects_per_ip asks it; an exempt address's is not), and one started from
    a snapshot counts where the others stand."""
    state = ChatState(0.0)
    apply(state, Connected("aaaaaa1", "10.0.0.9", "h", False, 10.0, paced=True))
    apply(state, Connected("aaaaaa2", "2001:db8::1", "h", False, 11.0, group="2001:db8::/64", paced=True))
    apply(state, Connected("aaaaaa3", "10.0.0.8", "h", False, 11.0))
    assert state.connects.blocked("10.0.0.9", 12.0, 1) == 58.0
    assert state.connects.blocked("2001:db8::/64", 12.0, 1) == 59.0
    assert state.connects.blocked("10.0.0.9", 12.0, 2) is None
    restored = ChatState(5.0)
    snapshot.load_into(restored, json.loads(json.dumps(snapshot.dump(state))))
    assert restored.connects.recent(10) == {"10.0.0.9": [10.0], "2001:db8::/64": [11.0]}
