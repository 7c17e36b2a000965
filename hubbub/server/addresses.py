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
