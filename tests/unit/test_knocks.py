"""The KNOCK delays' rule, without a server: per knocker, per channel, and forgetting."""

from __future__ import annotations

from hubbub.server import knocks


def test_a_knock_holds_back_its_knocker_and_its_channel_for_the_delay() -> None:
    table: dict[str, float] = {}
    assert knocks.refusal(table, "u1", "#a", 100.0, 60) is None
    knocks.record(table, "u1", "#a", 100.0, 60)
    assert knocks.refusal(table, "u1", "#b", 130.0, 60) == ("user", 30.0)
    assert knocks.refusal(table, "u2", "#a", 145.0, 60) == ("channel", 15.0)
    assert knocks.refusal(table, "u2", "#b", 145.0, 60) is None
    assert knocks.refusal(table, "u1", "#a", 160.0, 60) is None  # the delay has passed
    assert knocks.refusal(table, "u1", "#a", 130.0, 0) is None  # no delay set


def test_old_knocks_are_forgotten_as_new_ones_come() -> None:
    table: dict[str, float] = {}
    knocks.record(table, "u1", "#a", 100.0, 60)
    knocks.record(table, "u2", "#b", 150.0, 60)
    assert set(table) == {"u u1", "c #a", "u u2", "c #b"}
    knocks.record(table, "u3", "#c", 170.0, 60)  # u1's and #a's are 70 s old
    assert set(table) == {"u u2", "c #b", "u u3", "c #c"}
