"""An account none of whose connections ever quit is known to have seen nothing of its
private conversations since it was made (handlers/history.py replay_private), unless
departures were forgotten past the bound since then: then its own may have been."""

from __future__ import annotations

from hubbub.server.departures import PRIVATE, Departures
from hubbub.server.storage import Departure


def test_an_account_that_never_left_starts_from_when_it_was_made() -> None:
    departures = Departures(limit=3)
    assert departures.left_privately("alice") is None  # when it was made not given: not known
    assert departures.left_privately("alice", 5.0) == 5.0
    departures.restore([Departure("alice", PRIVATE, 7.0)], now=100.0)
    assert departures.left_privately("Alice", 5.0) == 7.0  # a point known wins


def test_after_departures_were_forgotten_only_an_account_made_since_is_known() -> None:
    departures = Departures(limit=2)
    departures.restore([Departure(name, PRIVATE, when) for name, when in (("a", 1.0), ("b", 2.0))], now=100.0)
    # as many as are kept came back: older ones may have gone, an account made before
    # the oldest kept may have left then; one made after would have a departure kept
    assert departures.left_privately("old", 0.5) is None
    assert departures.left_privately("newer", 1.5) == 1.5
    departures.restore([Departure("c", PRIVATE, 3.0)], now=100.0)  # "a" forgotten here (at 1.0)
    assert departures.left_privately("a", 0.5) is None
    assert departures.left_privately("made-before", 0.9) is None
    assert departures.left_privately("new", 1.5) == 1.5  # made after every departure forgotten


def test_a_store_that_kept_fewer_than_its_bound_forgot_nothing() -> None:
    departures = Departures(limit=3)
    departures.restore([Departure("a", PRIVATE, 4.0)], now=100.0)
    assert departures.left_privately("old", 0.1) == 0.1
