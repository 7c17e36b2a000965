"""Which addresses count as one client's: the unit of every per-address limit
(connections, failed logins, registrations, password checks under way).

An IPv4 address is one. An IPv6 address is not: a home, a phone or a rented server
gets a /64 (or more) and may pick any address in it, so a limit per address would
limit nothing; addresses count by their network of `limits.ipv6_prefix` bits (64 by
default, as ergo's `cidr-len-ipv6`). An IPv4 address seen through a dual-stack
socket (`::ffff:192.0.2.1`) counts as itself.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from functools import lru_cache

from hubbub.irc.validate import unmapped


@lru_cache(maxsize=4096)
def counted_as(ip: str, ipv6_prefix: int) -> str:
    """The name `ip` is counted under: the address itself (IPv4, or an IPv6 address
    with `ipv6_prefix` 128), or its network (`2001:db8:1:2::/64`)."""
    if ":" not in ip:
        return ip  # IPv4, or not an address at all (a test's or a Unix socket's name)
    try:
        address = unmapped(ipaddress.IPv6Address(ip.partition("%")[0]))
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv4Address) or ipv6_prefix >= 128:
        return str(address)
    return str(ipaddress.IPv6Network((address, ipv6_prefix), strict=False))


def address_of(ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address `ip` names, written one way (an IPv4-mapped one as IPv4, no scope);
    None for a name that is none (a Unix socket's, a test's)."""
    try:
        return unmapped(ipaddress.ip_address(ip.partition("%")[0]))
    except ValueError:
        return None


class Listed:
    """Whether an address is among the addresses and CIDR blocks a setting lists
    (`server.cloak_exempt`, `limits.connect_exempt`; config.py checks them when loading),
    read again only when the list changes (REHASH)."""

    __slots__ = ("_of", "_networks")

    def __init__(self) -> None:
        self._of: tuple[str, ...] | None = None
        self._networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []

    def __call__(self, blocks: Sequence[str], address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        if tuple(blocks) != self._of:
            self._of = tuple(blocks)
            self._networks = [ipaddress.ip_network(block, strict=False) for block in blocks]
        return any(address in network for network in self._networks if network.version == address.version)
