"""The web listener's rules that need no socket: who a client is behind a proxy, which
pages may open a WebSocket, caching and compression of the client's files, and a
WebSocket message's way through the line gate."""

from __future__ import annotations

import pytest

from hubbub.transport import static
from hubbub.transport.gate import NOTHING, GateSettings, LineGate
from hubbub.transport.peer import client_address, forwarded_addresses, may_read_metrics, networks, origin_allowed

TRUSTED = networks(["10.0.0.0/8", "::1"])


# -- the client's address -----------------------------------------------------------------------


def test_without_trusted_proxies_the_peer_is_the_client_whatever_the_headers_say() -> None:
    assert client_address("203.0.113.5", False, "198.51.100.1", "https", []) == ("203.0.113.5", False)
    assert client_address("203.0.113.5", True, "198.51.100.1", "http", TRUSTED) == ("203.0.113.5", True)


def test_behind_a_trusted_proxy_the_nearest_untrusted_address_is_the_client() -> None:
    assert client_address("10.1.2.3", False, "198.51.100.1", "https", TRUSTED) == ("198.51.100.1", True)
    # a client may write anything on the left; only what the trusted proxies appended counts
    assert client_address("10.1.2.3", False, "1.1.1.1, 198.51.100.1, 10.9.9.9", None, TRUSTED) == (
        "198.51.100.1", False)  # fmt: skip
    # behind two proxies, ports and brackets as proxies write them
    assert client_address("::1", False, "[2001:db8::7]:5000, 10.0.0.2:443", "http", TRUSTED) == (
        "2001:db8::7", False)  # fmt: skip
    assert client_address("10.1.2.3", False, "198.51.100.1:8443", None, TRUSTED) == ("198.51.100.1", False)


def test_a_proxy_without_the_header_or_with_garbage_leaves_what_can_be_read() -> None:
    assert client_address("10.1.2.3", False, None, None, TRUSTED) == ("10.1.2.3", False)
    assert client_address("10.1.2.3", False, "unknown", None, TRUSTED) == ("10.1.2.3", False)
    assert client_address("10.1.2.3", False, "198.51.100.1, unknown", None, TRUSTED) == ("10.1.2.3", False)
    assert client_address("::ffff:10.1.2.3", False, "198.51.100.4", None, TRUSTED) == ("198.51.100.4", False)


# -- who may read /metrics -------------------------------------------------------------------------

LOOPBACK = networks(["127.0.0.0/8", "::1/128"])


def test_metrics_are_for_a_listed_peer_and_an_empty_list_is_nobody() -> None:
    assert may_read_metrics("127.0.0.1", [], LOOPBACK)
    assert may_read_metrics("::1", [], LOOPBACK)
    assert may_read_metrics("::ffff:127.0.0.3", [], LOOPBACK)  # IPv4 through a dual-stack socket
    assert not may_read_metrics("203.0.113.5", [], LOOPBACK)
    assert not may_read_metrics("127.0.0.1", [], [])
    assert not may_read_metrics("", [], LOOPBACK)  # no peer known: refused


def test_every_address_a_proxy_names_must_be_listed_as_well() -> None:
    assert may_read_metrics("127.0.0.1", ["127.0.0.1", "[::1]:4711"], LOOPBACK)
    assert not may_read_metrics("127.0.0.1", ["127.0.0.1", "203.0.113.5"], LOOPBACK)
    assert not may_read_metrics("127.0.0.1", ["unknown"], LOOPBACK)
    assert not may_read_metrics("127.0.0.1", ["_hidden"], LOOPBACK)
    # a proxy's word never lets in a peer that is not listed
    assert not may_read_metrics("203.0.113.5", ["127.0.0.1"], LOOPBACK)


def test_the_addresses_forwarding_headers_name() -> None:
    assert forwarded_addresses([], [], []) == []
    assert forwarded_addresses(["1.1.1.1, 10.0.0.2:443", "[2001:db8::7]:5000"], ["198.51.100.4"], []) == [
        "1.1.1.1", "10.0.0.2:443", "[2001:db8::7]:5000", "198.51.100.4"]  # fmt: skip
    forwarded = ['for=192.0.2.60;proto=http;by=203.0.113.43, For="[2001:db8:cafe::17]:4711"', "proto=https"]
    assert forwarded_addresses([], [], forwarded) == ["192.0.2.60", "[2001:db8:cafe::17]:4711"]
    assert forwarded_addresses([], [], ["by=10.0.0.1;for=unknown"]) == ["unknown"]


# -- Origin ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("origin", "host", "scheme", "allowed", "ok"),
    [
        (None, "chat.example.org", "http", [], True),  # not a browser page
        ("http://chat.example.org", "chat.example.org", "http", [], True),
        ("https://chat.example.org", "chat.example.org", "https", [], True),
        ("http://127.0.0.1:8080", "127.0.0.1:8080", "http", [], True),
        ("HTTP://Chat.Example.ORG:80", "chat.example.org", "http", [], True),
        ("http://[::1]:8080", "[::1]:8080", "http", [], True),
        ("http://127.0.0.1:8081", "127.0.0.1:8080", "http", [], False),  # another port, another origin
        ("https://evil.example", "chat.example.org", "https", [], False),
        ("https://chat.example.org.evil.example", "chat.example.org", "https", [], False),
        ("null", "chat.example.org", "http", [], False),
        ("https://chat.example.org", "chat.example.org", "http", [], False),  # a TLS proxy, not declared
        ("https://chat.example.org", "backend:8080", "http", ["https://chat.example.org"], True),
        ("https://chat.example.org:443", "backend:8080", "http", ["https://chat.example.org"], True),
        ("http://chat.example.org", "backend:8080", "http", ["https://chat.example.org"], False),
        ("https://anything.example", "backend:8080", "http", ["*"], True),
        ("null", "backend:8080", "http", ["*"], True),
    ],
)
def test_which_pages_may_open_a_websocket(origin, host, scheme, allowed, ok) -> None:
    assert origin_allowed(origin, host, scheme, allowed) is ok


# -- the client's files --------------------------------------------------------------------------


def test_every_file_of_the_client_is_in_the_table_with_its_type() -> None:
    table = static.load()
    assert static.lookup(table, "/") is static.lookup(table, "/index.html") is table["index.html"]
    assert table["js/main.js"].content_type.startswith("text/javascript")
    assert table["app.css"].gzipped is not None
    assert static.lookup(table, "/js/../index.html") is None
    assert static.lookup(table, "/missing.js") is None


@pytest.mark.parametrize(
    ("header", "ok"),
    [(None, False), ("", False), ("gzip", True), ("deflate, gzip;q=0.5", True), ("br", False),
     ("gzip;q=0", False), ("GZIP", True), ("*", True), ("identity", False)],
)  # fmt: skip
def test_gzip_only_when_the_browser_accepts_it(header, ok) -> None:
    assert static.accepts_gzip(header) is ok


def test_etags_compare_weakly_and_in_lists() -> None:
    tag = '"abc"'
    assert static.not_modified('"abc"', tag)
    assert static.not_modified('W/"abc"', tag)
    assert static.not_modified('"x", "abc"', tag)
    assert static.not_modified("*", tag)
    assert not static.not_modified('"abd"', tag)
    assert not static.not_modified(None, tag)


# -- a WebSocket message through the line gate --------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_line_framed_by_the_transport_goes_through_at_once_when_nothing_holds_it() -> None:
    gate = LineGate(GateSettings(flood_control=False), 100)
    assert gate.receive_line(b"PING a") is True
    gate.hold()
    assert gate.receive_line(b"PING b") is False
    assert gate.receive_line(None) is False  # a line too long waits its turn too
    assert gate.next_line() is NOTHING
    gate.release()
    assert gate.next_line() == b"PING b"
    assert gate.next_line() is None
    assert gate.next_line() is NOTHING


def test_framed_lines_pay_flood_tokens_and_count_toward_the_recvq() -> None:
    clock = Clock()
    gate = LineGate(GateSettings(flood_burst=2, flood_rate=1.0, recvq=30), 100, clock)
    for line in (b"one", b"two", b"three"):
        assert gate.receive_line(line) is False  # flood control on: every line waits in the queue
    assert gate.next_line() == b"one" and gate.next_line() == b"two"
    assert gate.next_line() is NOTHING and gate.wait() == pytest.approx(1.0)
    clock.now += 1.0
    assert gate.next_line() == b"three"
    for _ in range(6):
        gate.receive_line(b"x" * 6)
    assert gate.flooded
