"""IRCv3 Strict Transport Security: the `sts` capability value for one connection.

Offered only while TLS listeners exist and `tls.sts` is on. A plaintext connection is
told where to upgrade (`port=<tls port>,duration=<seconds>`); a TLS connection gets the
persistence policy (`duration=<seconds>`). The value is shown only in CAP LS 302, since
without a value the capability means nothing; `sts` is never requestable (CAP REQ sts
is NAKed, as it is not among the requestable capabilities of caps.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hubbub.server.client import Client


def is_secure(client: Client) -> bool:
    """Whether the client is connected over TLS (the transport marks it)."""
    return client.secure


def policy(client: Client) -> str | None:
    """The `sts` value to advertise to `client`, or None when there is no policy."""
    net = client.net
    if net.tls_port is None or not net.config.tls.sts:
        return None
    duration = f"duration={net.config.tls.sts_duration}"
    return duration if is_secure(client) else f"port={net.tls_port},{duration}"
