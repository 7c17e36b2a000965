"""Who an HTTP client is, whether its page may open a WebSocket here, and whether it
may read /metrics.

All three are decided from request headers alone, without I/O, so every rule is unit-tested.

The address: the TCP peer's, unless that peer is a configured trusted proxy; then the
client is the nearest address in `X-Forwarded-For` that is not itself a trusted proxy
(reading from the right, as each proxy appends what it saw), and `X-Forwarded-Proto`
says whether the client used HTTPS. Headers from anyone else are ignored: a client
could write any address there, and per-IP limits and K-lines key on it.

The Origin check: a browser sends the page's origin with every WebSocket handshake,
and a page from anywhere may try to open one (cross-site WebSocket hijacking), so a
WebSocket is accepted from the web listener's own origin, from the configured ones,
or from any with `*`. A client that sends no Origin is not a browser page (a bot, a
terminal client): there is no third-party page to protect anyone from, so it is let in.

The metrics: only for the addresses `web.metrics_from` lists (loopback by default), since
what they tell (how many users, what the server is doing, how it is going) is for whoever
runs it. The TCP peer decides, not the client a trusted proxy names: the proxy's own
address proves who connected, a header only says who someone claims to be. And a request
that came through a proxy (one that says so with X-Forwarded-For, X-Real-IP or
Forwarded, trusted or not) is let in only when every address those name is listed too:
a reverse proxy on the same machine connects from loopback, and would otherwise hand
the metrics to anyone on the Internet. Headers can only narrow, never widen, who may read.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from hubbub.irc.validate import unmapped

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def networks(specs: Iterable[str]) -> list[Network]:
    return [ipaddress.ip_network(spec, strict=False) for spec in specs]


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("["):  # [v6] or [v6]:port
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:  # v4:port
        text = text.partition(":")[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _within(address: ipaddress.IPv4Address | ipaddress.IPv6Address, blocks: list[Network]) -> bool:
    return any(unmapped(address) in block for block in blocks)


def is_trusted(peer: str, trusted: list[Network]) -> bool:
    """Whether the TCP peer `peer` is one of the trusted proxies."""
    own = _address(peer)
    return own is not None and _within(own, trusted)


def client_address(
    peer: str, secure: bool, forwarded_for: str | None, forwarded_proto: str | None, trusted: list[Network]
) -> tuple[str, bool]:
    """The client's address and whether it reached us over TLS, as far as we can believe."""
    own = _address(peer)
    if own is None or not trusted or not _within(own, trusted):
        return peer, secure
    client = own
    for hop in reversed((forwarded_for or "").split(",")):
        address = _address(hop)
        if address is None:
            break  # not an address (a proxy's "unknown"): the last one we could read stands
        client = address
        if not _within(address, trusted):
            break
    if forwarded_proto:
        secure = forwarded_proto.split(",")[0].strip().lower() in ("https", "wss")
    if isinstance(client, ipaddress.IPv6Address) and client.ipv4_mapped is not None:
        client = client.ipv4_mapped
    return str(client), secure


def _origin_key(origin: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an origin or of a `scheme://Host` pair; None if it is not
    one. The scheme counts: a page served over http is not the https site of that name,
    whatever port it names."""
    try:
        parts = urlsplit(origin)
        scheme = parts.scheme.lower()
        host = parts.hostname
        port = parts.port or DEFAULT_PORTS.get(scheme)
    except ValueError:
        return None
    if scheme not in DEFAULT_PORTS or not host or port is None:
        return None
    return scheme, host.lower().rstrip("."), port


def origin_allowed(origin: str | None, host: str | None, scheme: str, allowed: Iterable[str]) -> bool:
    """Whether a WebSocket handshake with this Origin may go on.

    `host` is the request's Host header and `scheme` how the client reached us ("http"
    or "https"): together they are the listener's own origin, always allowed.
    """
    if origin is None:
        return True
    key = _origin_key(origin)
    if key is None:  # "null" (a sandboxed or file: page), or garbage
        return "*" in allowed
    if host and key == _origin_key(f"{scheme}://{host}"):
        return True
    return any(item == "*" or _origin_key(item) == key for item in allowed)


# `for=` in an RFC 7239 Forwarded element: a token, or a quoted string ("[2001:db8::1]:80")
_FORWARDED_FOR = re.compile(r'(?:^|;)\s*for\s*=\s*(?:"([^"]*)"|([^;,\s]*))', re.IGNORECASE)


def forwarded_addresses(forwarded_for: Iterable[str], real_ip: Iterable[str], forwarded: Iterable[str]) -> list[str]:
    """Every client address a request's forwarding headers name, as written (each value
    of X-Forwarded-For and X-Real-IP, each `for=` of Forwarded): what proxies on its way
    say about where it came from."""
    named = [hop.strip() for line in forwarded_for for hop in line.split(",")]
    named += [line.strip() for line in real_ip]
    for line in forwarded:
        for element in line.split(","):
            named += [quoted or token for quoted, token in _FORWARDED_FOR.findall(element.strip())]
    return named


def may_read_metrics(peer: str, forwarded: list[str], allowed: list[Network]) -> bool:
    """Whether a request from the TCP peer `peer`, whose forwarding headers name the
    addresses `forwarded` (`forwarded_addresses`), may read /metrics: the peer and
    every one of those must be in `allowed` (an empty list lets nobody in); one that
    is not an address (a proxy's `unknown`, an obfuscated `_hidden`) refuses."""
    own = _address(peer)
    if own is None or not _within(own, allowed):
        return False
    for hop in forwarded:
        address = _address(hop)
        if address is None or not _within(address, allowed):
            return False
    return True
