"""WebIRC gateways: which connections may speak for someone else, and what they may say.

A web gateway (KiwiIRC's webircgateway, The Lounge, gamja behind one) holds one IRC
connection per user of its own; without WebIRC every one of them would come from the
gateway's address, share its per-address limit and its K-lines, and show its host. The
IRCv3 `WEBIRC` command (ircv3-specifications, extensions/webirc.md) lets a gateway the
configuration trusts (`[[webirc]]`: its addresses and a password, config.py) name its
user's address, host and whether the user reached it over TLS.

This module is the I/O-free part the handler (handlers/webirc.py), the session and the
runtime's connection limits share: which blocks an address may use, reading the
address and host a gateway gives, its options, and the passwords checked already.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
from collections.abc import Callable
from functools import lru_cache

from hubbub.config import WebircBlock
from hubbub.irc.validate import cidr_block, is_plausible_hostname, unmapped
from hubbub.server.user import host_of

GATEWAY_NAME_LEN = 32
_NAME_JUNK = re.compile(r"[^A-Za-z0-9._-]")
# message-tags value escapes, which WEBIRC options use: `\:` is ';', `\s` a space...
_UNESCAPE = {":": ";", "s": " ", "\\": "\\", "r": "\r", "n": "\n"}


@lru_cache(maxsize=1024)
def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    return cidr_block(text)


def _address(ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(ip)
    except ValueError:
        return None


def blocks_for(blocks: list[WebircBlock], ip: str) -> list[WebircBlock]:
    """The gateway blocks a connection from `ip` may use, in the configuration's order."""
    if not blocks:
        return []
    address = _address(ip)
    if address is None:
        return []
    found = []
    for block in blocks:
        for host in block.hosts:
            network = _network(host)
            if network is not None and address in network:
                found.append(block)
                break
    return found


def is_gateway(blocks: list[WebircBlock], ip: str) -> bool:
    """Whether connections from `ip` are a gateway's: they speak for many people, so
    they count in all but not against the address's own limit until WEBIRC names
    theirs (as a trusted web proxy's do)."""
    return bool(blocks) and bool(blocks_for(blocks, ip))


def real_address(text: str) -> str | None:
    """The user's address as a gateway gives it, written as the server writes addresses
    (`2001:db8::1`; the spec's `0::1` for an address that would begin with ':' is `::1`,
    and so is `[::1]`, KiwiIRC's webircgateway's way around the same problem; an
    IPv4-mapped IPv6 address is the IPv4 one), or None for what is not an address (a
    scope such as `%eth0` names an interface of the gateway's, not an address)."""
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    address = _address(text)
    if address is None or (isinstance(address, ipaddress.IPv6Address) and address.scope_id):
        return None
    return str(unmapped(address))


def shown_host(hostname: str, ip: str) -> str:
    """The host the user is shown with: the gateway's `hostname` when it reads as a DNS
    name, else the address (as any connection's: `2001-db8--1` for IPv6, which a host
    cannot write with ':'). The gateway resolved it; it is not looked up again."""
    if hostname != ip and is_plausible_hostname(hostname):
        return hostname
    return host_of(ip)


def gateway_name(block: WebircBlock, given: str) -> str:
    """What WHOIS and the log call the gateway: its block's name, else the name it gave
    (letters, digits, `.`, `_` and `-` of it, since it ends up in the log)."""
    return block.name or _NAME_JUNK.sub("", given)[:GATEWAY_NAME_LEN] or "unnamed"


def parse_options(text: str) -> dict[str, str]:
    """`secure local-port=6697 remote-port=21726` as names and values (unescaped as
    message-tag values are); a flag without a value has the value "" (the spec: `secure`
    and `secure=anything` mean the same)."""
    options: dict[str, str] = {}
    for token in text.split(" "):
        if not token:
            continue
        name, _, raw = token.partition("=")
        options[name.lower()] = _unescape(raw)
    return options


def _unescape(raw: str) -> str:
    if "\\" not in raw:
        return raw
    out = []
    chars = iter(raw)
    for ch in chars:
        if ch == "\\":
            following = next(chars, "")
            out.append(_UNESCAPE.get(following, following))
        else:
            out.append(ch)
    return "".join(out)


def is_loopback(ip: str) -> bool:
    address = _address(ip)
    return address is not None and address.is_loopback


class GatewayPasswords:
    """The gateway passwords this node has checked already, so that an argon2 hash (slow
    and memory-hungry on purpose) is computed once per gateway, not once per user: a
    gateway reconnecting its thousand users after a restart would otherwise hold the
    worker threads for minutes. Kept as a SHA-256 of the password per hash it matched,
    in memory only; a wrong password is never remembered, so each guess costs the full
    check."""

    def __init__(self) -> None:
        self._verified: dict[str, bytes] = {}  # password hash -> SHA-256 of the password it matched
        # Checks under way: (the blocks' hashes, SHA-256 of the password) -> who waits for the
        # result. A gateway reconnecting its users after a restart sends the same password on
        # all of them at once: one check for all, not one each (the worker pool is small).
        self.checking: dict[tuple[tuple[str, ...], bytes], list[Callable[[WebircBlock | None], None]]] = {}

    @staticmethod
    def key(blocks: list[WebircBlock], password: str) -> tuple[tuple[str, ...], bytes]:
        return tuple(b.password_hash for b in blocks), hashlib.sha256(password.encode()).digest()

    def known(self, blocks: list[WebircBlock], password: str) -> WebircBlock | None:
        """The first of `blocks` whose password is `password`, if checked already."""
        digest = hashlib.sha256(password.encode()).digest()
        for block in blocks:
            verified = self._verified.get(block.password_hash)
            if verified is not None and hmac.compare_digest(verified, digest):
                return block
        return None

    def remember(self, block: WebircBlock, password: str, configured: list[WebircBlock]) -> None:
        """`password` matched `block`; what no block of `configured` uses any more is forgotten."""
        hashes = {b.password_hash for b in configured}
        self._verified = {h: d for h, d in self._verified.items() if h in hashes}
        self._verified[block.password_hash] = hashlib.sha256(password.encode()).digest()
