"""The CTCP answers the services, the plain-text mode and the terminal client give
(hubbub/irc/ctcp.py)."""

from __future__ import annotations

from hubbub.irc.ctcp import answer

NOON = 1_764_936_000.0  # 2025-12-05 12:00:00 UTC


def test_each_query_is_answered_as_clients_answer_it() -> None:
    assert answer("VERSION", "hubbub 1.0", NOON) == "VERSION hubbub 1.0"
    assert answer("ping 1700000000", "x", NOON) == "PING 1700000000"
    assert answer("PING", "x", NOON) == "PING"
    assert answer("TIME", "x", NOON) == "TIME Fri Dec 05 12:00:00 2025 UTC"
    assert answer("CLIENTINFO", "x", NOON) == "CLIENTINFO ACTION CLIENTINFO PING TIME VERSION"


def test_actions_and_other_queries_get_no_answer() -> None:
    assert answer("ACTION waves", "x", NOON) is None
    assert answer("FINGER", "x", NOON) is None
    assert answer("", "x", NOON) is None
