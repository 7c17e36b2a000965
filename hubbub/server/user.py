"""A user of the chat: what every node and the store know of someone connected.

A user is part of the replicated chat state: it changes only when an event is applied
(apply.py), so that every copy of the state fed the same events agrees on it. Its
connection, on the one node where it is connected, is `Connection` (connection.py);
`conn` points there and is the only field that is not state (None on other nodes).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hubbub.server.channel import Channel
    from hubbub.server.connection import Connection

# The one empty frozenset that users and connections share until they have a mode, an
# invitation, a capability (an empty set costs 216 bytes; frozenset() makes a new one).
NONE: frozenset[str] = frozenset()
# The one empty mapping they share until they have metadata, a MONITOR list: read-only,
# so that nothing adds to it by mistake (an empty dict costs 64 bytes each).
EMPTY: Mapping[str, str] = MappingProxyType({})
NODE_ID_LENGTH = 6  # hex digits at the start of every uid: the node it connected to


def new_node_id() -> str:
    """A node's incarnation: random, so unique enough between nodes and restarts."""
    return os.urandom(NODE_ID_LENGTH // 2).hex()


def node_of(uid: str) -> str:
    return uid[:NODE_ID_LENGTH]


def host_of(ip: str) -> str:
    """The host shown for an address: no ':' in hostnames, so IPv6 uses '-'."""
    return ip if ":" not in ip else ip.replace(":", "-")


class User:
    __slots__ = (
        "uid", "nick", "key", "username", "host", "ip", "realname", "account", "modes", "away",
        "channels", "registered", "connected_at", "signon", "last_message", "secure", "certfp", "prefix",
        "invited_to", "metadata", "gateway", "conn", "group", "vhost_of",
    )  # fmt: skip

    def __init__(self, uid: str, ip: str, host: str, secure: bool, now: float, certfp: str | None = None) -> None:
        self.uid = uid
        self.nick = "*"
        self.key: str | None = None  # casefolded nick, once one is claimed
        self.username = ""
        self.host = host
        self.ip = ip
        self.group = ip  # what it counts under for per-address limits (server/addresses.py)
        self.realname = ""
        self.account: str | None = None
        # Both are replaced, never changed in place: most users have none, and share NONE.
        self.modes = NONE
        self.away: str | None = None
        self.channels: dict[str, Channel] = {}  # casefolded name -> channel
        self.registered = False
        self.connected_at = now
        self.signon = now
        self.last_message = now  # idle time (WHOIS 317)
        self.secure = secure  # connected over TLS (through a WebIRC gateway: both legs were)
        self.certfp = certfp  # SHA-256 of the TLS client certificate it presented (CertFP), if any
        self.invited_to = NONE  # channels holding an unused invitation for us
        self.metadata = EMPTY  # IRCv3 metadata: key -> value (a dict of its own once set)
        self.gateway: tuple[str, str] | None = None  # the WebIRC gateway it came through: (name, address)
        # Shown with an account's vhost: (that account's key, the host under the vhost, to
        # show again when the vhost goes: its cloak or address, or a host CHGHOST gave)
        self.vhost_of: tuple[str, str] | None = None
        self.prefix = "*!@" + host
        self.conn: Connection | None = None  # the local connection, on its node only

    def __repr__(self) -> str:
        return f"<User {self.uid} {self.nick}>"

    def refresh_prefix(self) -> None:
        """Recompute `nick!user@host`: kept as a field, since every relayed message needs it."""
        self.prefix = f"{self.nick}!{self.username}@{self.host}"
