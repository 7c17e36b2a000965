"""The PROXY protocol header's reading (transport/proxyheader.py), on bytes alone."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hubbub.transport.proxyheader import INCOMPLETE, V2_MAX, V2_SIGNATURE, Header, Refused, read

V1 = b"PROXY TCP4 203.0.113.7 192.0.2.1 51234 6667\r\n"


def v2(command: int = 1, family: int = 1, transport: int = 1, source: str = "203.0.113.7",
       destination: str = "192.0.2.1", tlvs: bytes = b"", body: bytes | None = None) -> bytes:  # fmt: skip
    """A version 2 header as HAProxy writes it."""
    if body is None:
        body = ipaddress.ip_address(source).packed + ipaddress.ip_address(destination).packed
        body += (51234).to_bytes(2, "big") + (6667).to_bytes(2, "big") + tlvs
    return V2_SIGNATURE + bytes([0x20 | command, family << 4 | transport]) + len(body).to_bytes(2, "big") + body


def tlv(kind: int, value: bytes) -> bytes:
    return bytes([kind]) + len(value).to_bytes(2, "big") + value


def test_version_1_names_the_client_and_its_length_leaves_what_follows():
    assert read(V1 + b"NICK alice\r\n") == Header(len(V1), "203.0.113.7")


def test_version_1_over_ipv6_and_a_mapped_address_is_written_as_ipv4():
    line = b"PROXY TCP6 2001:db8::5 2001:db8::1 51234 6667\r\n"
    assert read(line) == Header(len(line), "2001:db8::5")
    mapped = b"PROXY TCP6 ::ffff:198.51.100.9 2001:db8::1 1 6667\r\n"
    assert read(mapped) == Header(len(mapped), "198.51.100.9")


def test_version_1_unknown_leaves_the_connection_s_own_address():
    assert read(b"PROXY UNKNOWN\r\n") == Header(15, None, local=True)
    line = b"PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n"
    assert read(line) == Header(len(line), None, local=True)


@pytest.mark.parametrize("line", [
    b"PROXY TCP4 203.0.113.7 192.0.2.1 51234\r\n",  # a port missing
    b"PROXY TCP5 203.0.113.7 192.0.2.1 51234 6667\r\n",
    b"PROXY TCP4 2001:db8::5 192.0.2.1 51234 6667\r\n",  # another family's address
    b"PROXY TCP6 203.0.113.7 2001:db8::1 51234 6667\r\n",
    b"PROXY TCP4 203.0.113.300 192.0.2.1 51234 6667\r\n",
    b"PROXY TCP4 203.0.113.7 192.0.2.1 65536 6667\r\n",
    b"PROXY TCP4 203.0.113.7 192.0.2.1 051234 6667\r\n",  # leading zero
    b"PROXY TCP4 203.0.113.7 192.0.2.1 -1 6667\r\n",
    b"PROXY TCP4  203.0.113.7 192.0.2.1 51234 6667\r\n",  # two spaces
    b"PROXY TCP4 203.0.113.7 192.0.2.1 51234 6667\n",  # LF alone
    b"PROXY TCP4 \xc3\xa9 192.0.2.1 51234 6667\r\n",
    b"PROXY TCP6 fe80::1%eth0 2001:db8::1 51234 6667\r\n",  # a zone: any text could follow the %
    b"PROXY TCP6 fe80::1%a!b@c 2001:db8::1 51234 6667\r\n",
    b"PROXY " + b"9" * 120 + b"\r\n",  # longer than 107 bytes
])  # fmt: skip
def test_a_malformed_version_1_header_is_refused(line: bytes):
    assert isinstance(read(line), Refused)


def test_anything_else_first_is_refused_not_waited_for():
    for data in (b"NICK alice\r\n", b"\x16\x03\x01", b"proxy TCP4", b"PROXX"):
        assert isinstance(read(data), Refused)


def test_version_2_over_ipv4_and_ipv6():
    header = v2()
    assert read(header + b"NICK alice\r\n") == Header(len(header), "203.0.113.7")
    header = v2(family=2, source="2001:db8::5", destination="2001:db8::1")
    assert read(header) == Header(len(header), "2001:db8::5")


def test_version_2_local_and_unspecified_and_unix_leave_the_connection_s_own_address():
    assert read(v2(command=0, family=0, transport=0, body=b"")) == Header(16, None, local=True)
    assert read(v2(command=0, family=1, body=b"\0" * 12)) == Header(28, None, local=True)  # LOCAL: addresses ignored
    assert read(v2(family=0, transport=0, body=b"")) == Header(16, None)  # relayed, from an address not carried
    unix = v2(family=3, body=b"\0" * 216)
    assert read(unix) == Header(len(unix), None)
    ssl = bytes([0x20]) + (5).to_bytes(2, "big") + bytes([0x01, 0, 0, 0, 0])
    assert read(v2(family=3, body=b"\0" * 216 + ssl)) == Header(216 + 16 + 8, None, tls=True)


def test_version_2_says_whether_the_client_spoke_tls_to_the_proxy():
    ssl_client = tlv(0x20, bytes([0x01, 0, 0, 0, 0]))
    assert read(v2(tlvs=tlv(0x04, b"\0" * 8) + ssl_client)) == Header(16 + 12 + 11 + 8, "203.0.113.7", tls=True)
    assert read(v2(tlvs=tlv(0x20, bytes([0x00, 0, 0, 0, 0])))).tls is False  # type: ignore[union-attr]
    assert read(v2(tlvs=tlv(0x01, b"h2"))).tls is False  # type: ignore[union-attr]


def test_a_malformed_version_2_header_is_refused():
    good = v2()
    assert isinstance(read(good[:12] + bytes([0x11]) + good[13:]), Refused)  # version 1 in a v2 signature
    assert isinstance(read(good[:12] + bytes([0x22]) + good[13:]), Refused)  # command 2
    assert isinstance(read(good[:13] + bytes([0x10]) + good[14:]), Refused)  # AF_INET, UNSPEC protocol
    assert isinstance(read(v2(body=b"\0" * 8)), Refused)  # IPv4 addresses cut short
    assert isinstance(read(v2(body=b"\0" * (V2_MAX - 15))), Refused)  # past the bound
    assert isinstance(read(v2(family=4, body=b"\0" * 12)), Refused)  # no such family
    assert isinstance(read(v2(family=0, transport=1, body=b"")), Refused)  # UNSPEC goes with UNSPEC
    assert isinstance(read(v2(family=1, transport=0, body=b"\0" * 12)), Refused)
    assert isinstance(read(v2(family=1, transport=3, body=b"\0" * 12)), Refused)
    assert isinstance(read(v2(family=3, body=b"\0" * 100)), Refused)  # UNIX addresses cut short


def test_a_header_that_has_not_all_arrived_is_waited_for_at_every_cut():
    for header in (V1, v2(), v2(family=2, source="2001:db8::5", destination="2001:db8::1")):
        for cut in range(len(header)):
            assert read(header[:cut]) is INCOMPLETE, cut
        assert isinstance(read(header), Header)


@given(st.sampled_from([b"", b"PROXY ", b"PROXY TCP4 ", b"PROXY TCP6 ", V2_SIGNATURE, V2_SIGNATURE + b"\x21",
                        V2_SIGNATURE + b"\x21\x11", V2_SIGNATURE + b"\x20"]).flatmap(
           lambda start: st.binary(max_size=300).map(lambda rest: start + rest)))  # fmt: skip
def test_any_bytes_are_read_without_an_exception(data: bytes):
    found = read(data)
    assert found is INCOMPLETE or isinstance(found, Refused | Header)
    if isinstance(found, Header):
        assert 0 < found.length <= len(data)


@given(st.ip_addresses(), st.binary(max_size=40))
def test_any_address_comes_back_as_the_one_sent(address: ipaddress.IPv4Address | ipaddress.IPv6Address, rest: bytes):
    other = "192.0.2.1" if address.version == 4 else "2001:db8::1"
    header = v2(family=1 if address.version == 4 else 2, source=str(address), destination=other)
    found = read(header + rest)
    assert isinstance(found, Header) and found.length == len(header)
    expected = address.ipv4_mapped if address.version == 6 and address.ipv4_mapped else address
    assert found.address == str(expected)
    line = f"PROXY TCP{address.version} {address} {other} 1 2\r\n".encode()
    assert read(line + rest) == Header(len(line), str(expected))
