"""K-lines are keyed and matched by their normal form: one stored by an earlier version
as written (`*@0:0::1`) is found, lifted and replaced by any spelling of its address."""

from __future__ import annotations

from hubbub.server.klines import Kline, Klines


def test_a_kline_stored_with_an_address_written_otherwise_matches_and_is_lifted_by_its_normal_form() -> None:
    klines = Klines()
    assert klines.add(Kline("*@0:0::1", "old row", "op", 1.0, None)) is None  # as a store written before keeps it
    assert klines.find("u", "::1", "::1", 2.0) is not None  # it bans the address it names
    assert klines.get("::1", 2.0) is not None and klines.get("*@0:0:0::1", 2.0) is not None
    replaced = klines.add(Kline("*@::1", "new", "op", 3.0, None))
    assert replaced is not None and replaced.mask == "*@0:0::1"  # one K-line, the old row to delete
    assert klines.remove("0:0::1", 4.0) is not None
    assert klines.all() == []
