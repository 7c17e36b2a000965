"""The registration registered connections share: a step that would change it is a bug
(it would change every connection's), refused loudly; the steps that change nothing
pass; a connection that must change it takes its own."""

from __future__ import annotations

import pytest

from hubbub.server.registration import REGISTERED, Phase, Registration, Step, own, settled


def test_the_shared_registration_refuses_to_change() -> None:
    assert REGISTERED.registered and REGISTERED.phase is Phase.REGISTERED
    assert not REGISTERED.step(Step.CAP_START) and not REGISTERED.step(Step.CAP_END)  # no transition: fine
    with pytest.raises(RuntimeError):
        REGISTERED.step(Step.SASL_START)
    assert REGISTERED.phase is Phase.REGISTERED


def test_own_copies_the_shared_one_and_settled_gives_it_back() -> None:
    mine = own(REGISTERED)
    assert mine is not REGISTERED and mine.registered
    assert mine.step(Step.SASL_START) and settled(mine) is mine  # under way: kept
    assert mine.step(Step.SASL_DONE) and settled(mine) is REGISTERED
    new = Registration()
    assert own(new) is new and settled(new) is new and not new.registered
