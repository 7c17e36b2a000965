"""IRCv3 Strict Transport Security: the `sts` capability value for one connection.

Offered only while TLS listeners exist, `tls.sts` is on and the certificate is not
self-signed (a client that honours STS must verify the certificate, and, told to use
TLS, would refuse one it cannot verify rather than fall back: `tls.self_signed` would
lock such clients out). A plaintext connection is
told where to upgrade (`port=<tls port>,duration=<seconds>`); a TLS connection gets the
persistence policy (`duration=<seconds>`). The value is shown only in CAP LS 302, since
without a value the capability means nothing; `sts` is never requestable (CAP REQ sts
is NAKed, as it is not among the requestable capabilities of caps.py).
"""

from __future__ import annotations

from hubbub.config import TlsSection


def policy(secure: bool, tls_port: int | None, tls: TlsSection, self_signed: bool = False) -> str | None:
    """The `sts` value to advertise to a connection, or None when there is no policy."""
    if tls_port is None or not tls.sts or self_signed:
        return None
    duration = f"duration={tls.sts_duration}"
    return duration if secure else f"port={tls_port},{duration}"
