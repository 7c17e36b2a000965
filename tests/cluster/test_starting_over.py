"""A replica that starts again from a snapshot, without Redis: what its clients see.

A node that fell further behind than the log keeps restores a snapshot that stands past
entries it never applied. Its clients cannot be shown what they missed: each is told
(ERROR) and quits for everyone, and everyone waiting for an event gets an answer, none
left waiting for a reply that never comes. When the snapshot skipped nothing, its
clients carry on. A snapshot also keeps the orders replies show (WHO, WHOIS, NAMES),
and the digest sees them.
"""

from __future__ import annotations

import json

from hubbub.config import load
from hubbub.engine import snapshot
from hubbub.engine.reconcile import reconcile
from hubbub.engine.replica import BEHIND_TEXT, START, Replica
from hubbub.irc.message import Message, parse
from hubbub.server.apply import Outcome, apply
from hubbub.server.context import Services
from hubbub.server.core import build_core, new_state
from hubbub.server.events import Connected, Joined, NickSet, NodeLost, NodeUp, Registered, Said, UserModesSet, UserQuit
from hubbub.server.session import Session
from hubbub.server.state import ChatState
from tests.unit.test_cluster_replica import Log, Origin, user
from tests.unit.test_flood_exempt import ExemptionLink
from tests.unit.test_session import FakeClock, FakeLink

NODE, OTHER = "aaaaaa", "bbbbbb"


class Client:
    """A connection's session as a transport would drive it (an IRC client: no plain mode)."""

    def __init__(self, svc: Services) -> None:
        self.link = FakeLink()
        self.session = Session(svc, self.link, "10.0.0.9")
        self._read = 0

    @property
    def uid(self) -> str:
        return self.session.conn.user.uid

    def send(self, line: str) -> None:
        self.session.line_received(line.encode())

    def lines(self) -> list[str]:
        """Lines written since the last call."""
        new = bytes(self.link.data[self._read :]).decode()
        self._read = len(self.link.data)
        return new.split("\r\n")[:-1]

    def take(self) -> list[Message]:
        return [parse(line) for line in self.lines()]


def applied(log: Log, replica: Replica) -> None:
    """The replica reads what the log holds past where it stands."""
    done = int(replica.last_id.split("-")[0])
    replica.receive(log.entries[done:])


def pump(log: Log, replica: Replica) -> None:
    """Publish and read back until nothing of the replica's waits."""
    while replica.unsent(1):
        log.publish(replica)
        applied(log, replica)


def node_with(clock: FakeClock) -> tuple[Services, Replica, Log]:
    """One node of a network whose other node (OTHER) has a user, bob, in #c."""
    config = load(None, ["limits.flood_control=false"])
    replica = Replica(new_state(config, clock), NODE)
    svc = build_core(config, replica, clock, node_id=NODE)
    log = Log()
    log.add(OTHER, 1, NodeUp(OTHER, "b.test", clock()))
    for seq, event in enumerate([*user(OTHER, 1, "bob"), Joined(f"{OTHER}1", "#c", clock(), "j1")], start=2):
        log.add(OTHER, seq, event)
    replica.emit(None, NodeUp(NODE, "a.test", clock()))
    pump(log, replica)
    return svc, replica, log


def connected(svc: Services, replica: Replica, log: Log, nick: str) -> Client:
    client = Client(svc)
    pump(log, replica)
    for line in (f"NICK {nick}", f"USER {nick} 0 * :{nick}", "JOIN #c"):
        client.send(line)
        pump(log, replica)
    assert any(m.command == "JOIN" for m in client.take())
    return client


def snapshot_of(log: Log, upto: int) -> dict:  # type: ignore[type-arg]
    """A snapshot another replica took after the log's first `upto` entries."""
    other = Replica(ChatState(0.0), OTHER)
    other.receive(log.entries[:upto])
    return json.loads(json.dumps(other.snapshot()))  # type: ignore[no-any-return]


def test_clients_of_a_node_that_skipped_entries_are_told_and_quit_for_everyone() -> None:
    clock = FakeClock()
    svc, replica, log = node_with(clock)
    amy = connected(svc, replica, log, "amy")
    log.add(OTHER, 6, Said(f"{OTHER}1", "PRIVMSG", "#c", True, "missed", None, clock(), "s1"))
    data = snapshot_of(log, len(log.entries))  # past the message amy never got
    replica.restore(data, skipped=True)
    reconcile(svc)
    lines = amy.lines()
    assert any(line.startswith("ERROR") and BEHIND_TEXT in line for line in lines), lines
    assert amy.link.closed
    quits = [event for _, event in replica.outbox if type(event) is UserQuit]
    assert [(q.uid, q.reason) for q in quits] == [(amy.uid, BEHIND_TEXT)]
    assert svc.local == {}


def test_clients_of_a_node_that_skipped_nothing_carry_on() -> None:
    clock = FakeClock()
    svc, replica, log = node_with(clock)
    amy = connected(svc, replica, log, "amy")
    replica.restore(snapshot_of(log, len(log.entries)), skipped=False)
    reconcile(svc)
    assert amy.lines() == [] and not amy.link.closed
    assert not any(type(event) is UserQuit for _, event in replica.outbox)
    log.add(OTHER, 6, Said(f"{OTHER}1", "PRIVMSG", "#c", True, "still here", None, clock(), "s1"))
    applied(log, replica)
    assert [m.params[-1] for m in amy.take() if m.command == "PRIVMSG"] == ["still here"]


def test_a_connection_whose_arrival_the_snapshot_holds_is_answered_and_its_user_quits() -> None:
    """Its arrival was applied elsewhere, never here: it is not left waiting for ever, and
    the network does not keep a user nobody is behind."""
    clock = FakeClock()
    svc, replica, log = node_with(clock)
    late = Client(svc)
    log.publish(replica)  # its Connected is in the log; this node has not read it
    uid = log.entries[-1].event.uid  # type: ignore[union-attr]
    log.add(OTHER, 6, Said(f"{OTHER}1", "PRIVMSG", "#c", True, "missed", None, clock(), "s1"))
    replica.restore(snapshot_of(log, len(log.entries)), skipped=True)
    assert late.link.closed and any(line.startswith("ERROR") for line in late.lines())
    reconcile(svc)
    assert [event.uid for _, event in replica.outbox if type(event) is UserQuit] == [uid]


def test_a_sender_whose_event_the_snapshot_holds_is_released_once_and_a_then_is_called() -> None:
    log = Log()
    a = Replica(ChatState(0.0), NODE)
    log.add(NODE, 1, NodeUp(NODE, "a", 0.0))
    a.receive(log.entries)
    a.seq = 1
    arrivals: list[Outcome] = []
    a.emit(None, Connected(f"{NODE}1", "10.0.0.1", "10.0.0.1", False, 1.0), arrivals.append)
    origin = Origin()
    a.emit(origin, NickSet(f"{NODE}1", "amy", 1.0, "m1"))
    a.emit(origin, Registered(f"{NODE}1", "u", "r", 1.0))
    log.publish(a)  # all three in the log; a has applied none of them
    a.restore(snapshot_of(log, 3), skipped=True)  # holds Connected and NickSet, not Registered
    assert [outcome.rejected for outcome in arrivals] == ["unavailable"]  # told, not left waiting
    assert origin.held == 0  # its client is to be disconnected: its ERROR must not wait behind Registered
    assert [seq for seq, _ in a.unsent(10)] == [4]  # Registered goes out again, as sent
    pump(log, a)
    assert origin.held == 0 and origin.calls.count("release") == 2  # nothing released twice


def test_a_snapshot_keeps_the_order_of_the_nick_index_and_of_each_user_s_channels() -> None:
    state = ChatState(0.0)
    events = [*user(OTHER, 1, "zed"), *user(OTHER, 2, "bob"), NickSet(f"{OTHER}1", "alicia", 2.0, "n1"),
              Joined(f"{OTHER}1", "#first", 3.0, "j1"), Joined(f"{OTHER}2", "#second", 4.0, "j2"),
              Joined(f"{OTHER}2", "#first", 5.0, "j3")]  # fmt: skip
    for event in events:
        apply(state, event)
    restored = ChatState(9.0)
    snapshot.load_into(restored, json.loads(json.dumps(snapshot.dump(state))))
    assert list(restored.nicks) == list(state.nicks) == ["bob", "alicia"]
    assert list(restored.users[f"{OTHER}2"].channels) == ["#second", "#first"]
    assert restored.digest() == state.digest()


def test_a_snapshot_of_the_previous_version_still_loads() -> None:
    """Its orders are derived as that version did; a node of that version reads ours."""
    state = ChatState(0.0)
    for event in [*user(OTHER, 1, "amy"), Joined(f"{OTHER}1", "#b", 3.0, "j1"), Joined(f"{OTHER}1", "#a", 4.0, "j2")]:
        apply(state, event)
    data = json.loads(json.dumps(snapshot.dump(state)))
    del data["nicks"], data["user_channels"]
    restored = ChatState(9.0)
    snapshot.load_into(restored, data)
    assert restored.find_user("amy") is restored.users[f"{OTHER}1"]
    assert set(restored.users[f"{OTHER}1"].channels) == {"#a", "#b"}


def test_the_digest_sees_the_orders_replies_show() -> None:
    def state_with(nicks: list[str]) -> ChatState:
        state = ChatState(0.0)
        for n, nick in enumerate(nicks, start=1):
            for event in user(OTHER, n, nick):
                apply(state, event)
        return state

    one, other = state_with(["amy", "bob"]), state_with(["amy", "bob"])
    assert one.digest() == other.digest()
    claimed_later = other.nicks.pop("amy")
    other.nicks["amy"] = claimed_later  # the same index, in another order: WHO would answer otherwise
    assert one.digest() != other.digest()


def test_a_log_made_again_brings_back_no_node_lost_before_it() -> None:
    """Redis lost the log after a node was lost: the log made again begins with the
    entries applied lately, that node's whole life among them (its arrival, its user's
    join and message, its loss). The replica that applied them applies none again: no
    user comes back, says again what it said and quits again; the node stays gone."""
    log = Log()
    log.add(NODE, 1, NodeUp(NODE, "a.test", 0.5))
    log.add(OTHER, 1, NodeUp(OTHER, "b.test", 1.0))
    for seq, event in enumerate([*user(OTHER, 1, "pat"), Joined(f"{OTHER}1", "#lobby", 2.0, "j1"),
                                 Said(f"{OTHER}1", "PRIVMSG", "#lobby", True, "back", None, 3.0, "s1")],
                                start=2):  # fmt: skip
        log.add(OTHER, seq, event)
    log.add(NODE, 2, NodeLost(OTHER, "b.test lost contact with the network", 4.0, "lost1"))
    founder = Replica(ChatState(0.0), NODE)
    founder.receive(log.entries)
    assert OTHER not in founder.state.nodes and founder.state.find_user("pat") is None
    before = founder.state.digest()
    data = json.loads(json.dumps(founder.snapshot()))
    data["id"] = START  # the new log's first snapshot, as FOUND writes it, stands at its start
    shown: list[str] = []
    founder.subscribe(lambda event, outcome: shown.append(type(event).__name__))

    again = Log()
    for entry in founder.new_log():  # published first into the new log, as they were
        again.add(entry.node, entry.seq, entry.event)
    founder.receive(again.entries)
    assert shown == []
    assert founder.state.digest() == before and OTHER not in founder.state.nodes

    # a node that starts from that snapshot reads the same entries: it applies none either
    late = Replica(ChatState(0.0), "cccccc")
    late.restore(data)
    late.receive(again.entries)
    assert late.state.digest() == before and late.state.find_user("pat") is None

    # one that had read the old log only up to the message applies what it missed, once
    behind = Replica(ChatState(0.0), "dddddd")
    behind.receive(log.entries[:-1])
    assert behind.state.find_user("pat") is not None
    behind.new_log()
    behind.receive(again.entries)
    assert behind.state.digest() == before and behind.departed == {OTHER: None}


def test_a_snapshot_without_the_departed_nodes_still_loads() -> None:
    """A node of the version before writes none: nobody is known to have left."""
    log = Log()
    log.add(OTHER, 1, NodeUp(OTHER, "b.test", 1.0))
    replica = Replica(ChatState(0.0), NODE)
    replica.receive(log.entries)
    data = json.loads(json.dumps(replica.snapshot()))
    del data["departed"]
    restored = Replica(ChatState(0.0), "cccccc")
    restored.restore(data)
    assert restored.departed == {} and restored.state.digest() == replica.state.digest()


def test_a_client_carrying_on_is_exempt_from_flood_control_as_the_snapshot_has_its_user() -> None:
    """Made an operator by an entry only the snapshot holds (a log made again): flood
    control leaves it alone from then on, as it would have on applying that entry."""
    clock = FakeClock()
    svc, replica, log = node_with(clock)
    amy = connected(svc, replica, log, "amy")
    amy.link = amy.session.conn.link = link = ExemptionLink()
    log.add(OTHER, 6, UserModesSet(amy.uid, ((True, "o"),), clock()))
    replica.restore(snapshot_of(log, len(log.entries)), skipped=False)
    reconcile(svc)
    assert not link.closed and link.exempt == [True]
