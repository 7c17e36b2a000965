"""K-lines: server bans on user@host masks, permanent or until they expire.

A mask is `user@host`. The host part is a wildcard pattern (`*`, `?`) matched against
both the host shown for a user and its IP address, or a CIDR block (`10.0.0.0/8`,
`2001:db8::/32`) matched against the IP. The user part is matched against the username
as the server shows it, `~` included (hubbub does no ident lookups). Matching follows
the server's casemapping (ascii). Masks that would ban nearly everyone (`*@*`,
`*@*.*`, a CIDR block shorter than /8, or /16 for IPv6) are refused.

K-lines are chat state: set and lifted by events (apply.py), kept by the store.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from hubbub.irc.casemap import casefold, glob_to_regex
from hubbub.irc.validate import cidr_block

MAX_MASK = 128
MAX_REASON = 300
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(?:\d{1,9}[smhdw])+|\d{1,9}", re.IGNORECASE)  # `1H` is an hour, not a host
_DURATION_PART = re.compile(r"(\d+)([smhdw])", re.IGNORECASE)


class BadMask(ValueError):
    """The text cannot be a K-line mask; the message says why, for the operator."""


def parse_duration(text: str) -> float | None:
    """Seconds for `30` (minutes, as ircds count), `90s`, `12h`, `1d12h` or `2w`;
    0 for a permanent K-line; None when `text` is not a duration at all."""
    if not _DURATION.fullmatch(text):
        return None
    if text.isdigit():
        return int(text) * 60.0
    return float(sum(int(amount) * _UNITS[unit.lower()] for amount, unit in _DURATION_PART.findall(text)))


def describe_duration(seconds: float) -> str:
    """`1d2h`, `45m`, `30s`: how long, for people."""
    left = int(seconds)
    parts = []
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if left >= size:
            parts.append(f"{left // size}{unit}")
            left %= size
    if left or not parts:
        parts.append(f"{left}s")
    return "".join(parts)


def normalize_mask(text: str) -> str:
    """`host` becomes `*@host`; raises BadMask for what cannot be a user@host mask."""
    if not text or len(text) > MAX_MASK or any(ch.isspace() or ch == "," for ch in text):
        raise BadMask("a K-line mask is user@host, without spaces or commas")
    user, _, host = text.rpartition("@")
    user = user or "*"
    if "!" in user or "@" in user:
        raise BadMask("a K-line mask is user@host, without a nick")
    if not host:
        raise BadMask("a K-line mask needs a host part")
    if "/" in host:
        network = cidr_block(host)
        if network is None:
            raise BadMask(f"{host} is not a CIDR block")
        if network.prefixlen < (8 if network.version == 4 else 16):
            raise BadMask(f"{host} would ban too much")
        host = str(network)
    elif not host.strip("*?.:") and not user.strip("*?~"):  # `*@*.*`, `*@*:*` (every IPv6 user)
        raise BadMask(f"{user}@{host} would ban everyone")
    else:
        try:  # an address as the client's is written (`0:0::1` is `::1`), so the two compare
            host = str(ipaddress.ip_address(host))
        except ValueError:
            pass
    return f"{user}@{host}"


class HostMask:
    """A compiled user@host mask (normalized by `normalize_mask`)."""

    __slots__ = ("text", "_user", "_host", "_network")

    def __init__(self, text: str) -> None:
        self.text = text
        user, _, host = text.rpartition("@")
        self._user = glob_to_regex(user or "*")
        self._network = cidr_block(host) if "/" in host else None
        self._host = None if self._network is not None else glob_to_regex(host)

    def matches(self, username: str, host: str, ip: str) -> bool:
        if not self._user.fullmatch(casefold(username)):
            return False
        if self._network is not None:
            try:
                return ipaddress.ip_address(ip) in self._network
            except ValueError:
                return False
        assert self._host is not None
        return bool(self._host.fullmatch(casefold(host)) or self._host.fullmatch(casefold(ip)))


@dataclass
class Kline:
    mask: str
    reason: str
    set_by: str
    set_at: float
    expires: float | None  # None: until removed
    pattern: HostMask = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.pattern = HostMask(normal(self.mask))

    def matches(self, username: str, host: str, ip: str) -> bool:
        return self.pattern.matches(username, host, ip)

    def expired(self, now: float) -> bool:
        return self.expires is not None and now >= self.expires


def normal(mask: str) -> str:
    """`mask` as normalize_mask writes it, or as it is when it cannot be (one stored by a
    version that wrote masks otherwise): how K-lines are keyed and matched, so that one
    written `*@0:0::1` before addresses were normalized is the one UNKLINE ::1 lifts."""
    try:
        return normalize_mask(mask)
    except BadMask:
        return mask


def _key(mask: str) -> str:
    return casefold(normal(mask))


def cases_of(mask: str, stored: Iterable[str]) -> list[str]:
    """The masks among `stored` that are the K-line `mask` (in any case): a file written
    before one K-line was kept as one row may hold it twice, and removing it must remove
    every row, or the next start brings it back."""
    key = _key(mask)
    return [other for other in stored if _key(other) == key]


class Klines:
    """The K-lines in force, one per mask (setting a mask again replaces it)."""

    def __init__(self) -> None:
        self._by_mask: dict[str, Kline] = {}

    def add(self, kline: Kline) -> Kline | None:
        """Set `kline`; the one it replaces (the same mask, perhaps in another case), if any."""
        key = _key(kline.mask)
        replaced = self._by_mask.get(key)
        self._by_mask[key] = kline
        return replaced

    def get(self, mask: str, now: float) -> Kline | None:
        """The K-line in force on `mask` (as given, or as normalized)."""
        found = self._by_mask.get(_key(mask))
        return None if found is None or found.expired(now) else found

    def remove(self, mask: str, now: float) -> Kline | None:
        """Lift the K-line on `mask` (as given, or as normalized); None if none is in force."""
        found = self._by_mask.pop(_key(mask), None)
        return None if found is None or found.expired(now) else found

    def active(self, now: float) -> list[Kline]:
        """The K-lines in force, oldest first. Expired ones stay held (forgetting them here
        would change the state outside apply.py) until UNKLINE or a restart drops them."""
        return [kline for kline in self._by_mask.values() if not kline.expired(now)]

    def all(self) -> list[Kline]:
        """Every K-line held, expired or not (what a replica's digest covers)."""
        return list(self._by_mask.values())

    def find(self, username: str, host: str, ip: str, now: float) -> Kline | None:
        """The K-line in force that bans this user, if any."""
        for kline in self.active(now):
            if kline.matches(username, host, ip):
                return kline
        return None
