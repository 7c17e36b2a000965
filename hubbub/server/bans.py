"""Ban, ban-exception and invite-exception lists: masks, their normal form, matching.

A mask is `nick!user@host` with `*` and `?` wildcards. What an operator types is
completed to that form before it is stored (`bob` is `bob!*@*`, `~u@host` is
`*!~u@host`), so that `MODE #c -b bob` removes what `MODE #c +b bob` added, and two
spellings of one mask are one entry. Masks compare and match with the server's
casemapping (ascii).

Extended bans (`EXTBAN=,am`): a mask may start with a type letter and ':'. `m:` (mute):
in the ban list it lets the user join but not speak; in the exception list it exempts
from mutes only. `a:` (account): matches users logged in to an account whose name
matches the mask that follows (`a:spammer`, `a:bot*`), in any list. The two stack as
InspIRCd's do: `m:a:spammer` mutes an account (and, as an exception, exempts one from
mutes). An entry naming an account lasts no longer than the account: dropping the
account removes it (apply.py), so whoever registers the name next inherits nothing.

The host part matches the host a user is shown with and its IP address alike (as
K-lines do, and as solanum, InspIRCd and ergo match bans): a user behind a WebIRC
gateway shown as `user.example.net`, or an IPv6 user shown as `2001-db8--5`, is banned
by `*!*@203.0.113.5` or `*!*@2001:db8::5`. A host part that is a CIDR block
(`*!*@203.0.113.0/24`, `*!*@2001:db8::/48`) matches the addresses in it. An address or
a block is stored in its one written form (`2001:DB8:0::5` is `2001:db8::5`). A host an
operator gave may join its parts with '/' too (`user/alice`, HostServ): such a host
part, with no address or prefix length in it, is a host like any other.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from hubbub.irc.casemap import casefold, glob_to_regex
from hubbub.irc.validate import cidr_block, unmapped

EXTBAN_PREFIX = ""  # no prefix character: an extban is just `<type>:<mask>`
MUTE = "m"
ACCOUNT = "a"
EXTBAN_TYPES = ACCOUNT + MUTE
MASKLEN = 200  # longest mask accepted, in bytes, extban type included
_EXTBAN_SHAPE = re.compile(r"[A-Za-z]:")


class BadMask(ValueError):
    """The text cannot be a mask; the message says why, for ERR_INVALIDMODEPARAM."""


def normalize(text: str) -> str:
    """`text` as a full `[type:]nick!user@host` mask, or BadMask if it cannot be one."""
    if not text or len(text.encode()) > MASKLEN:
        raise BadMask(f"a mask must have 1 to {MASKLEN} bytes")
    if text[0] == ":" or any(ch in ", " or ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise BadMask("a mask cannot contain spaces, commas or control characters")
    kind = ""
    if _EXTBAN_SHAPE.match(text):
        kind, text = text[0], text[2:]
        if kind not in EXTBAN_TYPES:
            raise BadMask(f"unknown extended ban type {kind}: (EXTBAN types are {EXTBAN_TYPES})")
        if not text:
            raise BadMask("an extended ban needs a mask after its type")
        if kind == MUTE and _EXTBAN_SHAPE.match(text):  # m:a:name, an account's mute
            if text[0] != ACCOUNT:
                raise BadMask(f"a mute takes nick!user@host or {ACCOUNT}:account, not {text[0]}:")
            return f"{kind}:{normalize(text)}"
        if kind == ACCOUNT:  # an account name (or a mask of one), not nick!user@host
            if "!" in text or "@" in text:
                raise BadMask("an account extban takes an account name: a:name")
            return f"{kind}:{text}"
    if "!" in text:
        nick, _, rest = text.partition("!")
        user, at, host = rest.partition("@")
        if not at:
            host = ""
    elif "@" in text:
        nick = ""
        user, _, host = text.partition("@")
    else:
        nick, user, host = text, "", ""
    if "/" in host:
        network = cidr_block(host)
        if network is not None:
            host = str(network)
        elif _meant_as_block(host):
            raise BadMask(f"{host} is not a CIDR block")
        # else a host whose parts '/' joins (a vhost: `user/alice`), matched as written
    else:
        try:  # an address in the one form a user's is written in, so the two compare
            host = str(unmapped(ipaddress.ip_address(host)))  # users' IPv4 addresses are kept as IPv4
        except ValueError:
            pass
    mask = f"{nick or '*'}!{user or '*'}@{host or '*'}"
    return f"{kind}:{mask}" if kind else mask


def _meant_as_block(host: str) -> bool:
    """Whether a host part with '/' was meant as a CIDR block (`10.0.0.0/99`, an address
    before it or a prefix length after it) rather than a host an operator gave
    (`user/alice`, whose last part never reads as a number: validate.is_valid_vhost)."""
    address, _, length = host.rpartition("/")
    if length.isdigit():
        return True
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True


@dataclass(slots=True)
class Entry:
    mask: str  # normal form, in the case it was set with
    kind: str  # "" for a plain mask, or an extban type
    set_by: str
    set_at: int
    folded: str  # the key that makes two spellings one entry
    pattern: re.Pattern[str]
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None  # a CIDR host part
    head: re.Pattern[str] | None = None  # with a network: its nick!user part


class Seen(NamedTuple):
    """A user as masks see it, casefolded: `nick!user@host`, and `nick!user@ip` when the
    address is not the host shown (None otherwise), and the address itself."""

    prefix: str
    by_address: str | None
    ip: str

    @classmethod
    def of(cls, prefix: str, host: str, ip: str) -> Seen:
        folded = casefold(prefix)
        if ip == host:
            return cls(folded, None, ip)
        return cls(folded, f"{folded[: folded.rindex('@')]}@{casefold(ip)}", ip)

    def matched_by(self, entry: Entry) -> bool:
        if entry.network is not None:
            assert entry.head is not None
            address = _address(self.ip)
            return (
                address is not None
                and address in entry.network
                and entry.head.fullmatch(self.prefix[: self.prefix.rindex("@")]) is not None
            )
        by_address = self.by_address
        return bool(entry.pattern.fullmatch(self.prefix) or (by_address and entry.pattern.fullmatch(by_address)))


@lru_cache(maxsize=1024)
def _address(ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return unmapped(ipaddress.ip_address(ip))
    except ValueError:
        return None


class MaskList:
    """One channel list (+b, +e or +I), in the order entries were added."""

    __slots__ = ("entries",)

    def __init__(self) -> None:
        self.entries: list[Entry] = []

    def __len__(self) -> int:
        return len(self.entries)

    def find(self, mask: str) -> Entry | None:
        folded = casefold(mask)
        return next((e for e in self.entries if e.folded == folded), None)

    def add(self, mask: str, set_by: str, set_at: int) -> Entry:
        """Append a normalized mask the caller checked is not there yet."""
        kind, bare = (mask[0], mask[2:]) if _EXTBAN_SHAPE.match(mask) else ("", mask)
        entry = Entry(mask, kind, set_by, set_at, casefold(mask), glob_to_regex(bare))
        head, at, host = bare.rpartition("@")
        if at and "/" in host:  # a block, or a vhost's host written with '/' (matched as text)
            entry.network = cidr_block(host)
            if entry.network is not None:
                entry.head = glob_to_regex(head)
        self.entries.append(entry)
        return entry

    def remove(self, mask: str) -> Entry | None:
        entry = self.find(mask)
        if entry is not None:
            self.entries.remove(entry)
        return entry

    def remove_account(self, key: str) -> list[Entry]:
        """Take out the entries naming the account `key` (casefolded), `a:` and `m:a:`:
        those of a dropped account, which must not pass to whoever registers its name
        next. A wildcard (`a:zo*`) names no account in particular and stays. Entries are
        one per folded form, so there is at most one of each."""
        gone = (self.remove(f"{ACCOUNT}:{key}"), self.remove(f"{MUTE}:{ACCOUNT}:{key}"))
        return [entry for entry in gone if entry is not None]

    def matches(self, folded: str, kinds: tuple[str, ...]) -> bool:
        """Whether an entry of one of `kinds` ("" is plain) matches a casefolded text: an
        account name, or a nick!user@host taken as it is."""
        return any(e.kind in kinds and e.pattern.fullmatch(folded) for e in self.entries)

    def matches_user(self, seen: Seen, kinds: tuple[str, ...]) -> bool:
        """Whether an entry of one of `kinds` ("" is plain) matches the user `seen` describes."""
        return any(e.kind in kinds and seen.matched_by(e) for e in self.entries)
