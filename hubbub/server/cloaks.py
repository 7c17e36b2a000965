"""The host others see for a user: a cloak of its address, not the address.

Without it, everyone sharing a channel reads every member's IP address in its JOIN, in
WHO and in WHOIS: where a person is, from a web page they opened. A cloak is a keyed
hash of the address, the same for the same address (bans on it hold across reconnections,
and one person's two connections are seen to be one), telling nothing else. It is of the
address as the per-address limits count it (`limits.ipv6_prefix`: an IPv6 user's /64), so
a ban on a cloak is a ban on what one home or host gets, and its owner cannot step out of
it by changing the last bits.

The key derives from the store's server secret (the one SCRAM's decoys come from), which
every node of a cluster shares and a restart keeps: one address has one cloak across the
network and across restarts. With `--db :memory:` it is this process's own.

The user's own node makes the cloak and puts it in the event that gives the user its
host (Connected, AddressSet): the other nodes apply the host they are given, whatever
their configuration.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Sequence

from hubbub.server.addresses import Listed, address_of

KEY_LABEL = b"hubbub host cloak"  # keeps the cloak's key apart from the secret's other uses
HASH_BYTES = 10  # 80 bits: 16 letters and digits of base32


def cloak_key(secret: bytes) -> bytes:
    return hmac.new(secret, KEY_LABEL, hashlib.sha256).digest()


def cloak(key: bytes, group: str, suffix: str) -> str:
    """`k3j5x7q2m9a4b6c8.suffix`: lower case, no ':' (a host others parse in prefixes)."""
    digest = hmac.new(key, group.encode(), hashlib.sha256).digest()[:HASH_BYTES]
    return base64.b32encode(digest).decode().lower() + "." + suffix


def default_suffix(network: str) -> str:
    """The network's name, as a DNS label: `My Net` gives `mynet`; `irc` if nothing is left."""
    label = re.sub(r"[^a-z0-9-]", "", network.lower()).strip("-")
    return label or "irc"


class Cloaks:
    """The host to show for an address, by the configuration of the moment (REHASH
    changes it for connections to come, not for those already here)."""

    __slots__ = ("_key", "_secret", "_exempt")

    def __init__(self) -> None:
        self._secret = b""
        self._key = b""
        self._exempt = Listed()

    def shown(
        self, ip: str, group: str, secret: bytes, enabled: bool, suffix: str, exempt: Sequence[str]
    ) -> str | None:
        """The cloak for `ip` (counted as `group`), or None when it is shown as it is:
        cloaks off, no address, or an address of `exempt` (by default this machine's,
        which tells nobody anything)."""
        if not enabled:
            return None
        address = address_of(ip)
        if address is None or self._exempt(exempt, address):
            return None
        if secret != self._secret:
            self._secret, self._key = secret, cloak_key(secret)
        return cloak(self._key, group, suffix)
