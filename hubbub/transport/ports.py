"""What a transport needs from the rest of the server, and what it offers it.

A transport (TCP and TLS here, WebSocket next) moves bytes; everything else is on the
other side of these small interfaces, so that no transport imports the runtime and
each new kind of connection plugs into the same two ports.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from hubbub.transport.gate import GateSettings


class Link(Protocol):
    """One connection, as the chat domain and the runtime see it."""

    ip: str
    secure: bool  # carried over TLS

    def write(self, data: bytes) -> None:
        """Queue bytes for the peer; never blocks, may drop the peer past its sendq."""

    def close(self) -> None:
        """Flush what is queued, then close."""

    def abort(self) -> None:
        """Close now, dropping whatever is unsent (shutdown, after a grace period)."""

    def hold_input(self) -> None:
        """Handle none of the peer's lines until `release_input` (they wait, in order)."""

    def release_input(self) -> None:
        """Handle the lines that waited, and the next ones as they come."""

    def configure(self, settings: GateSettings) -> None:
        """Put new limits (sendq, flood, recvq) in force, after a reload."""

    def charge(self, lines: int) -> None:
        """Count `lines` more lines against the peer's flood budget (a multiline batch)."""


class SessionPort(Protocol):
    """The protocol side of one connection: lines in, replies out through its link."""

    # What received bytes pass before they are framed into lines, or None: a plain
    # connection takes telnet's commands out there (they come without a line ending).
    incoming: Callable[[bytes], bytes] | None

    @property
    def speaks_irc(self) -> bool:
        """Whether the peer has shown it speaks IRC (not a person typing)."""

    def line_received(self, raw: bytes) -> None: ...

    def line_too_long(self) -> None: ...

    def flood_exempt(self, raw: bytes) -> bool:
        """Whether `raw` costs no flood token (see LineGate.next_line)."""

    def disconnect(self, reason: str) -> None:
        """Drop the client with `reason` (ERROR, then the others see it quit)."""

    def connection_lost(self, reason: str) -> None:
        """The link is gone; forget the client if it has not left already."""


class Flush(Protocol):
    def mark(self, queue: Any) -> None:
        """Flush `queue` at the end of this loop iteration."""

    def finish(self, queue: Any, then: Callable[[], None]) -> None:
        """Write out what `queue` holds in its turn, then `then()`."""


class ConnectionHost(Protocol):
    """The runtime, as a transport sees it."""

    @property
    def flusher(self) -> Flush: ...

    def gate_settings(self) -> GateSettings: ...

    def handshake_timeout(self) -> float:
        """Seconds a TLS client has to complete its handshake."""

    def admit(self, link: Link) -> str | None:
        """Count a new connection, or say why it is refused (the transport says it)."""

    def release(self, link: Link, failed_handshake: str | None = None) -> None:
        """A counted connection is gone (before its session, if its TLS handshake failed: why)."""

    def open_session(self, link: Link, ip: str, secure: bool, certfp: str | None = None) -> SessionPort:
        """The session of a new connection (`certfp`: its TLS client certificate's fingerprint)."""
