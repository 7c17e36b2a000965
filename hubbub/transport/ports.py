"""What a transport needs from the rest of the server, and what it offers it.

A transport (TCP, TLS, WebSocket) moves bytes; everything else is on the other side
of these small interfaces, so that no transport imports the runtime and each new kind
of connection plugs into the same ports.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from hubbub.config import WebSection
from hubbub.transport.gate import GateSettings


class TransportCounters:
    """What one kind of transport counts as it moves bytes, for the metrics.

    Kept as plain integers bumped where the transport already knows (a read, a drop, a
    delayed line), never per delivery: the bytes each connection sent are counted by its
    output queue (`OutputQueue.sent`) and added here when it ends.
    """

    __slots__ = ("bytes_received", "bytes_sent", "sendq_drops", "flood_delays")

    def __init__(self) -> None:
        self.bytes_received = 0
        self.bytes_sent = 0  # by connections that have ended; live ones hold their own count
        self.sendq_drops = 0
        self.flood_delays = 0  # times a client's next line had to wait for flood control


class Counted(Protocol):
    """One connection, as the connection limits count it: from its accept to its end."""

    ip: str
    kind: str  # the transport: "tcp", "tls", "websocket", or "http" (metrics, connection counts)
    secure: bool  # carried over TLS

    @property
    def bytes_sent(self) -> int:
        """IRC bytes handed to the transport so far."""

    def abort(self) -> None:
        """Close now, dropping whatever is unsent (shutdown, after a grace period)."""

    def configure(self, settings: GateSettings) -> None:
        """Put new limits (sendq, flood, recvq) in force, after a reload."""


class Link(Counted, Protocol):
    """One connection, as the chat domain and the runtime see it."""

    # Ended by an abort (the grace period of its closing ran out, or it was dropped):
    # what was still unsent never reached the peer (a clean stop's departures count on it).
    cut: bool

    def write(self, data: bytes) -> None:
        """Queue bytes for the peer; never blocks, may drop the peer past its sendq."""

    def close(self) -> None:
        """Flush what is queued, then close."""

    def hold_input(self) -> None:
        """Handle none of the peer's lines until `release_input` (they wait, in order)."""

    def release_input(self) -> None:
        """Handle the lines that waited, and the next ones as they come."""

    def charge(self, lines: int) -> None:
        """Count `lines` more lines against the peer's flood budget (a multiline batch)."""

    def follow_up(self, step: Callable[[], None]) -> bool:
        """Run `step` before the peer's next line, once its input is released (see server/output.py's Link)."""

    def input_waiting(self) -> bool:
        """Whether lines the peer sent wait to be handled (the keepalive asks)."""

    def exempt_from_flood(self, exempt: bool) -> None:
        """Pace the peer's lines by flood control, or not (see server/output.py's Link)."""

    def has_room(self) -> bool:
        """Whether more of a long reply may be written now (see server/output.py's Link)."""

    def when_drained(self, callback: Callable[[], None], patience: float) -> None:
        """Call back once the peer has read most of its unsent output (server/output.py)."""

    def speaks_irc(self, session: SessionPort) -> None:
        """From now on, hand the peer's lines to `session` (see server/output.py's Link)."""


class SessionPort(Protocol):
    """The protocol side of one connection: lines in, replies out through its link."""

    # What received bytes pass before they are framed into lines, or None: a plain
    # connection takes telnet's commands out there (they come without a line ending).
    incoming: Callable[[bytes], bytes] | None

    @property
    def speaks_irc(self) -> bool:
        """Whether the peer has shown it speaks IRC (not a person typing)."""

    @property
    def keystrokes(self) -> bool:
        """Whether the peer may send a lone keystroke as it is typed (a telnet client,
        in character mode), which a pause must not end as a line."""

    def line_received(self, raw: bytes) -> None: ...

    def line_too_long(self) -> None: ...

    def flood_exempt(self, raw: bytes) -> bool:
        """Whether `raw` costs no flood token (see LineGate.next_line)."""

    def disconnect(self, reason: str) -> None:
        """Drop the client with `reason` (ERROR, then the others see it quit)."""

    def connection_lost(self, reason: str) -> None:
        """The link is gone; forget the client if it has not left already."""


class Flush(Protocol):
    marked: list[Any]  # the queues marked in this loop iteration (see gate.Marks)

    def mark(self, queue: Any) -> None:
        """Flush `queue` at the end of this loop iteration."""

    def finish(self, queue: Any, then: Callable[[], None]) -> None:
        """Write out what `queue` holds in its turn, then `then()`."""


class ConnectionHost(Protocol):
    """The runtime, as a transport sees it."""

    @property
    def flusher(self) -> Flush: ...

    def gate_settings(self) -> GateSettings: ...

    def counters(self, kind: str) -> TransportCounters:
        """The shared counters of one kind of transport."""

    def handshake_timeout(self) -> float:
        """Seconds a TLS client has to complete its handshake."""

    def admit(self, link: Counted, per_ip: bool = True) -> str | None:
        """Count a new connection, or say why it is refused (the transport says it).
        `per_ip` False: not against its address's own limit (a trusted proxy's, which
        speaks for many clients)."""

    def hand_over(self, old: Counted, new: Counted) -> str | None:
        """A counted connection goes on as another (an HTTP request becomes a WebSocket):
        the count passes to `new`, checked again for its own address; or why `new` is
        refused (then neither counts)."""

    def release(self, link: Counted, failed_handshake: str | None = None) -> None:
        """A counted connection is gone (before its session, if its TLS handshake failed: why)."""

    def open_session(
        self, link: Link, ip: str, secure: bool, certfp: str | None = None, irc_only: bool = False
    ) -> SessionPort:
        """The protocol side of a new connection (`certfp`: its TLS client certificate's
        fingerprint). `irc_only`: the peer is an IRC client by construction (a WebSocket),
        so no plain-text greeting and no plain mode."""


class WebHost(ConnectionHost, Protocol):
    """The runtime, as the web listener sees it: a transport host that also answers
    the HTTP endpoints about the server itself."""

    @property
    def web_settings(self) -> WebSection:
        """The [web] settings in force (a reload may change the allowed origins)."""

    def metrics_page(self) -> tuple[bytes, str]:
        """The Prometheus exposition and its content type."""

    def client_settings(self) -> dict[str, str | bool]:
        """What the web client's connect screen suggests before it connects (the
        channel to join), as the configuration says it now."""

    async def health(self) -> tuple[bool, dict[str, Any]]:
        """Whether this node can serve its clients (listeners up, no check failed but the
        degrading ones), with details: "status" ("ok", "degraded", "unavailable"), "listeners", "checks"."""
