"""Times follow the order events are applied in (apply.in_time_order): what history sorts
by is what clients saw live, on one node whose clock steps back as across nodes whose
clocks differ, and every time is unique to the microsecond."""

from __future__ import annotations

import json

from hubbub.config import load
from hubbub.server.apply import apply, in_time_order
from hubbub.server.core import local_core
from hubbub.server.events import Joined, Said, from_record, to_record
from hubbub.server.state import ChatState
from hubbub.store.rows import to_us
from tests.unit.test_events import Recorder, replay
from tests.unit.test_session import FakeClock, registered


def said(time: float, msgid: str) -> Said:
    return Said("u1", "PRIVMSG", "#c", True, "hi", None, time, msgid)


def test_an_event_stamped_before_the_last_one_is_moved_just_after_it() -> None:
    state = ChatState(0.0)
    t = 1_800_000_000.25
    applied = [said(t, "a"), said(t - 0.050, "b"), said(t, "c"), said(t + 0.010, "d")]
    times = []
    for event in applied:
        apply(state, event)  # no channel: rejected, still in the order
        times.append(state.clock_us)
    stamped = [round(at) for at in times]
    assert stamped == [to_us(t), to_us(t) + 1, to_us(t) + 2, to_us(t + 0.010)]


def test_messages_of_a_clock_that_steps_back_keep_their_order_in_server_time() -> None:
    clock = FakeClock()
    svc = local_core(load(None, ["limits.flood_control=false"]), clock)
    recorder = Recorder()
    svc.engine.subscribe(recorder)
    alice, bob = registered(svc, "alice"), registered(svc, "bob")
    alice.send("JOIN #c")
    bob.send("JOIN #c")
    for k in range(4):
        alice.send(f"PRIVMSG #c :m{k}")
        clock.advance(-0.3)  # the wall clock stepped back (NTP)
    events = [from_record(json.loads(r)) for r in recorder.records]
    sent = [e for e in events if type(e) is Said]
    assert [e.text for e in sent] == ["m0", "m1", "m2", "m3"]
    stamps = [to_us(e.time) for e in sent]
    assert stamps == sorted(stamps) and len(set(stamps)) == 4
    seen = [m for m in bob.take() if m.command == "PRIVMSG"]
    assert [m.params[1] for m in seen] == ["m0", "m1", "m2", "m3"]


def test_a_clock_set_back_by_more_than_a_second_is_followed_on_one_server() -> None:
    """Rather than every later time held at the old clock until it catches up."""
    state = ChatState(0.0)
    t = 1_800_000_000.0
    for time in (t, t - 5.0, t - 4.9):
        apply(state, said(time, "m"))
    assert state.clock_us == to_us(t - 4.9)


def test_in_a_cluster_a_time_past_the_log_entry_is_held_to_it_and_the_clock_runs_on() -> None:
    """A node whose clock runs an hour ahead must not hold every later time an hour ahead."""
    state = ChatState(0.0)
    t = 1_800_000_000.0
    entry_end = to_us(t) + 999  # the end of the log entry's millisecond (Redis's clock)
    ahead = in_time_order(state, said(t + 3600, "a"), entry_end)
    assert to_us(ahead.time) == entry_end
    later = in_time_order(state, said(t + 0.010, "b"), to_us(t + 0.010) + 999)
    assert later.time == t + 0.010  # as stamped: the clock was not dragged an hour ahead
    behind = in_time_order(state, said(t - 3600, "c"), to_us(t + 0.011) + 999)
    assert to_us(behind.time) == to_us(t + 0.010) + 1  # a node behind: just after the last one


def test_a_join_s_outcome_carries_its_time_as_applied() -> None:
    """Autoreplay replays what came before the join as applied: messages relayed between
    its stamp and its (moved) time were not seen live either."""
    clock = FakeClock()
    svc = local_core(load(None, ["limits.flood_control=false"]), clock)
    alice = registered(svc, "alice")
    alice.send("JOIN #c")
    alice.send("PRIVMSG #c :said first")
    said_at = svc.state.clock_us
    outcome = apply(svc.state, Joined(alice.client.user.uid, "#d", clock() - 0.2, "j"))  # stamped earlier
    assert outcome.rejected is None
    assert to_us(outcome.time) == said_at + 1


def test_applying_the_moved_events_again_gives_the_same_state() -> None:
    clock = FakeClock()
    svc = local_core(load(None, ["limits.flood_control=false"]), clock)
    recorder = Recorder()
    svc.engine.subscribe(recorder)
    alice = registered(svc, "alice")
    alice.send("JOIN #c")
    for k in range(5):
        alice.send(f"TOPIC #c :t{k}")  # five events of one instant: each its own microsecond
    copy = replay(recorder.records, svc.state.created)
    assert copy.clock_us == svc.state.clock_us
    assert copy.digest() == svc.state.digest()
    assert json.dumps(to_record(from_record(json.loads(recorder.records[-1])))) == recorder.records[-1]
