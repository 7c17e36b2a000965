"""Until when a connection that ended without a QUIT surely received what it was sent
(server/departures.py `received_until`): the point a rejoin's replay starts from."""

from __future__ import annotations

import pytest

from hubbub.server.departures import RECEIVED_MARGIN, received_until


@pytest.mark.parametrize(
    "reason", ["Ping timeout: 180 seconds", "Connection closed", "Connection error: ConnectionResetError"]
)
def test_a_connection_that_died_on_the_network_received_what_came_a_round_trip_before_its_last_line(
    reason: str,
) -> None:  # fmt: skip
    assert received_until(reason, 1000.0) == 1000.0 - RECEIVED_MARGIN


@pytest.mark.parametrize(
    "reason",
    [
        "SendQ exceeded",  # it had stopped reading, maybe long before its last line
        "Excess Flood",
        "Killed (admin (spam))",
        "K-Lined",
        "Quit: bye",  # its own QUIT: departures.py takes its time as it is
    ],
)
def test_otherwise_it_is_not_known(reason: str) -> None:
    assert received_until(reason, 1000.0) == 0.0


def test_nor_without_a_line_from_the_client() -> None:
    assert received_until("Ping timeout: 180 seconds", 0.0) == 0.0
