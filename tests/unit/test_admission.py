"""Connection counts (runtime/listeners.py `Admission`), without sockets."""

from __future__ import annotations

from dataclasses import dataclass

from hubbub.config import LimitsSection
from hubbub.runtime.listeners import Admission
from hubbub.transport.gate import GateSettings


@dataclass(eq=False)
class Conn:
    ip: str
    kind: str = "tcp"
    secure: bool = False
    bytes_sent: int = 0

    def abort(self) -> None:
        pass

    def configure(self, settings: GateSettings) -> None:
        pass


def admission(per_ip: int = 2, total: int = 100) -> Admission:
    limits = LimitsSection(max_clients=total, max_clients_per_ip=per_ip)
    return Admission(lambda: limits, lambda ip: None)


def test_a_trusted_proxys_connection_counts_in_all_but_not_against_its_address() -> None:
    counts = admission(per_ip=1, total=3)
    proxied = [Conn("10.0.0.1", "http") for _ in range(2)]
    assert [counts.admit(conn, per_ip=False) for conn in proxied] == [None, None]
    assert counts.admit(Conn("10.0.0.1")) is None  # the proxy's address has its own place still
    assert counts.admit(Conn("192.0.2.1")) == "Server is full"  # but all of them count in all
    counts.release(proxied[0])
    assert counts.per_ip["10.0.0.1"] == 1 and len(counts.links) == 2


def test_a_handed_over_count_moves_to_the_new_address_or_is_refused_there() -> None:
    counts = admission(per_ip=1)
    http = Conn("10.0.0.1", "http")
    assert counts.admit(http, per_ip=False) is None
    first = Conn("198.51.100.7", "websocket")
    assert counts.hand_over(http, first) is None
    assert counts.open["http"] == 0 and counts.open["websocket"] == 1 and counts.per_ip["198.51.100.7"] == 1
    second_http = Conn("10.0.0.1", "http")
    assert counts.admit(second_http, per_ip=False) is None
    refused = Conn("198.51.100.7", "websocket")
    assert counts.hand_over(second_http, refused) == "Too many connections from your IP address"
    assert counts.links == {first} and counts.refused["websocket"] == 1  # neither counts any more
    counts.release(second_http)  # its connection ending later changes nothing
    counts.release(first)
    assert not counts.links and not counts.per_ip and counts.open["websocket"] == 0


def test_a_direct_clients_upgrade_keeps_its_place() -> None:
    counts = admission(per_ip=2)
    http = Conn("192.0.2.5", "http")
    other = Conn("192.0.2.5")
    assert counts.admit(http) is None and counts.admit(other) is None  # the address is full now
    ws = Conn("192.0.2.5", "websocket")
    assert counts.hand_over(http, ws) is None  # its own count, passed on
    assert counts.per_ip["192.0.2.5"] == 2 and counts.links == {other, ws}


def test_http_connections_are_counted_but_only_websockets_logged(caplog) -> None:
    caplog.set_level("INFO", logger="hubbub.audit")
    counts = admission()
    http = Conn("192.0.2.9", "http")
    counts.admit(http)
    assert "connection from" not in caplog.text
    counts.hand_over(http, Conn("192.0.2.9", "websocket"))
    assert "connection from 192.0.2.9" in caplog.text


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def paced(per_window: int = 3, window: float = 60.0, exempt: tuple[str, ...] = ()) -> tuple[Admission, Clock]:
    limits = LimitsSection(max_clients_per_ip=0, connects_per_ip=per_window, connect_window=window,
                           connect_exempt=list(exempt))  # fmt: skip
    clock = Clock()
    return Admission(lambda: limits, lambda ip: None, clock=clock), clock


def test_the_network_s_count_paces_an_address_this_node_has_not_seen() -> None:
    """A cluster: the other nodes' connections from an address (the network's count,
    asked with the address's key and the limit) refuse it here too, with the longer wait;
    an exempt address is not asked about."""
    limits = LimitsSection(max_clients_per_ip=0, connects_per_ip=3, connect_exempt=["192.0.2.9/32"])
    asked: list[tuple[str, int]] = []

    def network(key: str, limit: int) -> float | None:
        asked.append((key, limit))
        return 42.2 if key in ("192.0.2.1", "192.0.2.9", "2001:db8:1:2::/64") else None

    counts = Admission(lambda: limits, lambda ip: None, clock=Clock(), network=network)
    assert counts.admit(Conn("192.0.2.1")) == ("Too many connections from your IP address lately; "
                                               "try again in 43 seconds")  # fmt: skip
    assert counts.admit(Conn("2001:db8:1:2::7")) is not None
    assert counts.admit(Conn("192.0.2.2")) is None
    assert counts.admit(Conn("192.0.2.9")) is None  # exempt
    assert asked == [("192.0.2.1", 3), ("2001:db8:1:2::/64", 3), ("192.0.2.2", 3)]


def test_connections_from_one_address_are_paced_within_the_window() -> None:
    counts, clock = paced(3, 60.0)
    for _ in range(3):  # at 1000, 1010 and 1020 s
        conn = Conn("192.0.2.1")
        assert counts.admit(conn) is None
        counts.release(conn)  # gone again: a reconnection loop, not too many at once
        clock.now += 10
    assert counts.admit(Conn("192.0.2.1")) == ("Too many connections from your IP address lately; "
                                               "try again in 30 seconds")  # fmt: skip
    assert counts.admit(Conn("192.0.2.2")) is None  # another address has its own count
    assert counts.admit(Conn("2001:db8:1:2::1")) is None
    assert counts.admit(Conn("2001:db8:1:2::2")) is None
    assert counts.admit(Conn("2001:db8:1:2::3")) is None
    assert counts.admit(Conn("2001:db8:1:2::4", "websocket")) is not None  # the /64 is one address
    assert counts.admit(Conn("192.0.2.1", "http")) is None  # a page and its assets do not count
    clock.now += 30.5  # the first has left the window: one more
    assert counts.admit(Conn("192.0.2.1")) is None
    assert counts.admit(Conn("192.0.2.1")) is not None
    assert counts.refused["tcp"] == 2 and counts.refused["websocket"] == 1


def test_exempt_addresses_gateways_and_zero_are_not_paced() -> None:
    counts, _ = paced(1, exempt=("127.0.0.0/8",))
    assert [counts.admit(Conn("127.0.0.1")) for _ in range(5)] == [None] * 5
    assert counts.admit(Conn("192.0.2.1")) is None
    assert counts.admit(Conn("192.0.2.1"), per_ip=False) is None  # a gateway's: its users are counted
    assert counts.admit(Conn("192.0.2.1")) is not None
    off, _ = paced(0)
    assert [off.admit(Conn("192.0.2.1")) for _ in range(5)] == [None] * 5


def test_a_wait_is_told_in_whole_seconds_rounded_up_and_one_in_the_singular() -> None:
    """Trying again after exactly the wait told is let in: 9.2 s left is told as 10."""
    from hubbub.server.throttle import seconds_words

    assert [seconds_words(w) for w in (0.0, 0.3, 1.0, 1.01, 9.2, 10.0)] == [
        "1 second", "1 second", "1 second", "2 seconds", "10 seconds", "10 seconds",
    ]  # fmt: skip
