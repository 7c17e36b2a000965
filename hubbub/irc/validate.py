"""What a nickname and a channel name may be.

Nicknames follow the classic RFC 2812 alphabet (letters, digits, ``[]\\`_^{|}-``, not
starting with a digit or '-'): every client and bot can type and parse them, and with
CASEMAPPING=ascii there is no question of how they compare. Channel names start with
'#' (our only CHANTYPES) and exclude what the grammar reserves: space, comma, BEL, NUL,
CR, LF and ':' (the old channel-mask separator some clients still split on). They also
exclude every other control character (C0, DEL, C1: an ESC would drive the terminal of
whoever reads the name) and the invisible marks and overrides that reorder text
(U+200E/F, U+061C, U+202A-E, U+2066-9), with which `#abc` could be shown as another
channel's name. CHANNELLEN, like every length limit we advertise, counts UTF-8 bytes.
Metadata keys are the IRCv3 metadata alphabet, bounded in length. An address block in
a user@host mask is CIDR, read one way for everyone who reads masks (`cidr_block`).
A host name someone else vouches for (a WebIRC gateway) is shown only if it reads as a
DNS name (`is_plausible_hostname`).
"""

from __future__ import annotations

import ipaddress
import re
import string

_NICK_FIRST = frozenset(string.ascii_letters + "[]\\`_^{|}")
_NICK_REST = _NICK_FIRST | frozenset(string.digits + "-")
_CONTROLS = "".join(map(chr, [*range(0x20), *range(0x7F, 0xA0)]))
_BIDI = "\u061c\u200e\u200f" + "".join(map(chr, [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]))
_CHANNEL_FORBIDDEN = frozenset(" ,:" + _CONTROLS + _BIDI)
CHANTYPES = "#"
# IRCv3 metadata keys: `a-z 0-9 _ . / -`, and (ours) at most this many bytes, so that a
# key and a value of the advertised size always fit in one line.
_METADATA_KEY_CHARS = frozenset(string.ascii_lowercase + string.digits + "_./-")
METADATA_KEY_BYTES = 64
# A host name as DNS writes one: labels of letters, digits and inner hyphens, joined by
# dots. HOSTLEN, as most servers bound it: a longer host would crowd every `nick!user@host`.
HOSTLEN = 63
_HOST_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?")


# message-tags: `[+][vendor/]name`, the vendor a host name, the name ASCII letters,
# digits and hyphens.
_TAG_NAME = re.compile(r"\+?(?:[A-Za-z0-9.-]+/)?[A-Za-z0-9-]+")


def is_valid_tag_name(name: str) -> bool:
    """Whether `name` is a tag name the message-tags grammar allows (we relay no other)."""
    return _TAG_NAME.fullmatch(name) is not None


def nick_problem(nick: str, max_len: int) -> str | None:
    """Why `nick` cannot be a nickname, in words for a person; None when it can."""
    if not nick:
        return "a nickname cannot be empty"
    if len(nick) > max_len:
        return f"a nickname can have at most {max_len} characters"
    if nick[0] not in _NICK_FIRST:
        return "a nickname must start with a Latin letter (a to z) or one of [ ] \\ ` _ ^ { | }"
    if any(ch not in _NICK_REST for ch in nick):
        return "a nickname may contain only Latin letters (a to z), digits and [ ] \\ ` _ ^ { | } -"
    return None


def is_valid_nick(nick: str, max_len: int) -> bool:
    return nick_problem(nick, max_len) is None


def is_channel_name(name: str) -> bool:
    """Looks like a channel (for routing a target), valid or not."""
    return bool(name) and name[0] in CHANTYPES


def is_valid_channel(name: str, max_len: int) -> bool:
    """A channel name we accept: `max_len` counts bytes (CHANNELLEN)."""
    return (
        len(name) >= 2
        and len(name.encode()) <= max_len
        and name[0] in CHANTYPES
        and _CHANNEL_FORBIDDEN.isdisjoint(name)
    )


def is_valid_metadata_key(key: str) -> bool:
    return 0 < len(key) <= METADATA_KEY_BYTES and all(ch in _METADATA_KEY_CHARS for ch in key)


Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def unmapped(address: Address) -> Address:
    """An IPv4 address seen through a dual-stack socket or written so (`::ffff:192.0.2.1`)
    as the IPv4 address it is: every reading of an address (the peer's, a gateway's, a
    mask's, the per-address counts) writes it one way."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def cidr_block(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """The network `10.0.0.0/8` or `2001:db8::/32` names (host bits may be set), or None
    when `text` names none (`10.0.0.0/99`). K-lines and operator `hosts` match addresses
    against it, and the configuration checks operator `hosts` with it: one reading, so
    a mask accepted at start-up is a mask that can match."""
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def is_plausible_hostname(text: str) -> bool:
    """Whether `text` can be shown as a user's host: a DNS name of at most HOSTLEN
    characters. Its last label may not be all digits, so that it never reads as an IPv4
    address (`10.0.0.1` shown for a user who is not there), and nothing in it can be
    read as another part of a `nick!user@host` mask or break a line (no `@`, `!`, `*`,
    `:` or spaces)."""
    if not 0 < len(text) <= HOSTLEN or not text.isascii():
        return False
    labels = text.split(".")
    return all(_HOST_LABEL.fullmatch(label) for label in labels) and not labels[-1].isdigit()


# What `is_valid_vhost` takes, in words, for an operator whose vhost was refused
VHOST_RULE = (
    f"a DNS name of letters, digits, '-' and '.' ('/' may join its parts too), not ending in a number "
    f"nor reading as an IPv6 address (2001-db8--5), at most {HOSTLEN} characters"
)


def is_valid_vhost(text: str) -> bool:
    """Whether an operator may give `text` as a virtual host (CHGHOST, HostServ): a
    plausible host name whose labels may also be joined by `/`, as networks write the
    hosts they give their members and staff (`user/alice`, `staff/example.org`). Never
    an IPv6 address as a user's is shown (`2001-db8--5`, user.host_of): another user's
    address, uncloaked, is no host to give."""
    return is_plausible_hostname(text.replace("/", ".")) and not text.startswith("/") and not _shown_ipv6(text)


def _shown_ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text.replace("-", ":"))
    except ValueError:
        return False
    return True
