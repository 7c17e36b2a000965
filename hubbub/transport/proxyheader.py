"""The PROXY protocol header (HAProxy's, versions 1 and 2), read without I/O.

A TCP load balancer in front of IRC listeners (HAProxy, nginx's stream module, a
cloud's network load balancer) connects to us on its clients' behalf: every client
would seem to come from the balancer's address, and per-address limits, K-lines,
cloaks and the addresses operators see would all be the balancer's. With the PROXY
protocol on, the balancer writes one header before the client's first byte naming
the address the client came from. The header is believed only from the addresses
`listen.proxy_from` lists (anyone can write one), and from those it is required: a
connection from a listed proxy that does not begin with one is closed, never taken
as IRC, so a misconfigured proxy shows at once rather than as every user at one
address.

`read(data)` looks at the first bytes of such a connection, as many as have arrived,
and says whether they hold a whole header (and how long it is, so that exactly that
much is taken off the socket, the client's own bytes left for its connection),
need more bytes, or are no header at all. The specification is
https://www.haproxy.org/download/3.0/doc/proxy-protocol.txt.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from hubbub.irc.validate import unmapped

V1_PREFIX = b"PROXY "
V1_MAX = 107  # the longest version 1 header, its CRLF included (the specification's bound)
V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
V2_FIXED = 16  # signature, version and command, family and protocol, length
V2_MAX = 1024  # what we read of a version 2 header in all (addresses and TLVs): more is refused
PEEK = V2_MAX  # bytes to look at: more than either version's whole header
# bytes of addresses and ports after the fixed part, by address family: AF_UNSPEC, AF_INET
# (4 + 4 + 2 + 2), AF_INET6 (16 + 16 + 2 + 2), AF_UNIX (108 + 108)
SIZES = (0, 12, 36, 216)
PP2_TYPE_SSL = 0x20  # the TLV saying the client spoke TLS to the proxy
PP2_CLIENT_SSL = 0x01


@dataclass(frozen=True)
class Header:
    """A whole header: its `length` in bytes, and the client's address, or None when the
    header names none (v1 `UNKNOWN`, v2 `LOCAL`: the proxy's own health check, or a
    family not carried here), the connection's own address then standing. `tls`: the
    proxy says the client reached it over TLS (v2's SSL TLV), the proxy having ended it.
    `local`: the proxy says it relays no client (v2 `LOCAL`, v1 `UNKNOWN`)."""

    length: int
    address: str | None
    tls: bool = False
    local: bool = False  # v2 LOCAL, v1 UNKNOWN: the proxy's own connection (a health check), not a client's


@dataclass(frozen=True)
class Refused:
    """Not a header we accept: the connection is closed (`why` is for the log)."""

    why: str


INCOMPLETE = None  # the bytes so far begin a header that has not all arrived


def read(data: bytes) -> Header | Refused | None:
    """The header at the start of `data` (the first bytes of a connection from a
    trusted proxy), `Refused`, or `INCOMPLETE` (None) while more bytes are needed."""
    if data[: len(V2_SIGNATURE)] == V2_SIGNATURE[: len(data)]:
        return _v2(data) if len(data) >= len(V2_SIGNATURE) else INCOMPLETE
    if data[: len(V1_PREFIX)] == V1_PREFIX[: len(data)]:
        return _v1(data)
    return Refused("no PROXY protocol header")


def _v1(data: bytes) -> Header | Refused | None:
    """`PROXY TCP4 203.0.113.7 192.0.2.1 51234 6667\\r\\n`, or `PROXY UNKNOWN ...\\r\\n`."""
    end = data.find(b"\r\n", 0, V1_MAX)
    if end < 0:
        if len(data) >= V1_MAX or b"\n" in data[:V1_MAX]:
            return Refused("PROXY header (v1) not ended by CRLF within 107 bytes")
        return INCOMPLETE
    length = end + 2
    try:
        words = data[:end].decode("ascii").split(" ")
    except UnicodeDecodeError:
        return Refused("PROXY header (v1) is not ASCII")
    if len(words) >= 2 and words[1] == "UNKNOWN":
        return Header(length, None, local=True)  # what follows UNKNOWN is to be ignored
    if len(words) != 6 or words[1] not in ("TCP4", "TCP6"):
        return Refused("PROXY header (v1) malformed")
    _, family, source, destination, source_port, destination_port = words
    version = 4 if family == "TCP4" else 6
    for address in (source, destination):
        try:
            parsed = ipaddress.ip_address(address)
        except ValueError:
            return Refused("PROXY header (v1): not an address")
        if "%" in address:  # an IPv6 zone, whose name could be any text: no client's address
            return Refused("PROXY header (v1): an address with a zone")
        if parsed.version != version:
            return Refused("PROXY header (v1): an address of another family")
    for port in (source_port, destination_port):
        if not (port.isdigit() and port.isascii() and len(port) <= 5 and int(port) <= 65535):
            return Refused("PROXY header (v1): not a port")
        if len(port) > 1 and port[0] == "0":  # the specification: no leading zeros
            return Refused("PROXY header (v1): not a port")
    return Header(length, str(unmapped(ipaddress.ip_address(source))))


def _v2(data: bytes) -> Header | Refused | None:
    if len(data) < V2_FIXED:
        return INCOMPLETE
    version, command = data[12] >> 4, data[12] & 0x0F
    if version != 2:
        return Refused("PROXY header (v2): unknown version")
    if command not in (0, 1):
        return Refused("PROXY header (v2): unknown command")
    length = V2_FIXED + int.from_bytes(data[14:16], "big")
    if length > V2_MAX:
        return Refused(f"PROXY header (v2) longer than {V2_MAX} bytes")
    if len(data) < length:
        return INCOMPLETE
    body = data[V2_FIXED:length]
    if command == 0:  # LOCAL: the proxy's own connection (a health check); the rest is ignored
        return Header(length, None, local=True)
    family, transport = data[13] >> 4, data[13] & 0x0F
    if family > 3 or transport > 2 or (family == 0) != (transport == 0):  # UNSPEC goes with UNSPEC only
        return Refused("PROXY header (v2): unknown address family or protocol")
    size = SIZES[family]
    if len(body) < size:
        return Refused("PROXY header (v2): addresses cut short")
    if family in (0, 3):  # AF_UNSPEC, AF_UNIX: no address of the client to believe; its TLVs still count
        return Header(length, None, _tls(body, size))
    raw = body[:4] if family == 1 else body[:16]
    address = unmapped(ipaddress.ip_address(raw))
    return Header(length, str(address), _tls(body, size))


def _tls(body: bytes, start: int) -> bool:
    """Whether the TLVs after the addresses say the client spoke TLS to the proxy."""
    i = start
    while i + 3 <= len(body):
        kind, size = body[i], int.from_bytes(body[i + 1 : i + 3], "big")
        value = body[i + 3 : i + 3 + size]
        if kind == PP2_TYPE_SSL and value:
            return bool(value[0] & PP2_CLIENT_SSL)
        i += 3 + size
    return False
