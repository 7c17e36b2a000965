"""IRC over TCP (and TLS): an asyncio Protocol per connection, moving bytes only.

Every rule about those bytes (framing, flood control, recvq, held input, sendq) is the
connection's `LineGate`; this module only feeds it what arrives, handles the lines it
lets through, arms the timers it asks for, and writes what it hands out when the
shared `Flusher` says so. A client past its sendq is dropped; nobody else waits for it.

A connection counts against the connection limits from the moment it is accepted: a
plain one on our own small transport (`accept_plain`, sockets.py: a third of the memory
of the loop's), a TLS one too, during its handshake, which runs once we have admitted
the socket (`accept_tls`; the TLS itself is tlsstream.py's, between the socket and this
protocol, over the loop's transport) and which must end within
`limits.tls_handshake_timeout`. A refused plain connection is
told why in one ERROR line; a refused TLS one cannot read plain text and is just
closed. The kernel's
send buffer is bounded (`limits.send_buffer`), so that what a client that does not read
can keep from us stays near its sendq.

Ending: when the peer has sent everything (EOF), what it sent is still handled, at the
flood rate, before the connection closes; lines the kernel acknowledged are not lost.
Until a connection has ended a line, and unless it speaks IRC, a message that arrives
without a line ending and is followed by silence is taken as a line: the seed chat
clients send what was typed exactly that way.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING

from hubbub.irc.message import Message
from hubbub.server.session import MAX_LINE
from hubbub.transport.gate import OUTPUT_QUEUE, GateSettings, LineGate, OutputQueue
from hubbub.transport.ports import ConnectionHost, SessionPort
from hubbub.transport.pumping import GatedInput
from hubbub.transport.sockets import SocketTransport

if TYPE_CHECKING:
    from OpenSSL import SSL

    from hubbub.transport.tlsstream import TlsStream


def _discard(data: bytes) -> None:
    pass


SENDQ_GRACE = 1.0  # seconds a dropped client gets to receive its ERROR before the abort
UNTERMINATED_LINE_DELAY = 0.5  # seconds of silence that end a message sent with no line ending
# TCP keepalive: probes after this many seconds of silence, one every KEEPALIVE_INTERVAL,
# the peer gone after KEEPALIVE_PROBES unanswered (about three minutes in all)
KEEPALIVE_IDLE = 120
KEEPALIVE_INTERVAL = 15
KEEPALIVE_PROBES = 4
# what was sent may go unacknowledged this long before the peer counts as gone (Linux sends
# no keepalive probe while data is in flight, and retransmits for some fifteen minutes)
UNACKNOWLEDGED_MS = 180_000


def tune(sock: socket.socket, send_buffer: int, nodelay: bool = True) -> None:
    """The options every client socket gets. Set on a listening socket, they are those
    of each socket it accepts (Linux and the BSDs copy them at accept): a few system
    calls once, rather than for every connection. `send_buffer` and `nodelay`: see
    GateSettings."""
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    # A person with netcat cannot answer PING: the kernel's probes find one whose machine
    # went away (a laptop closed, Wi-Fi lost) in minutes, rather than its default two hours
    # a ghost in its channels. An IRC client's PONG says the same sooner.
    if hasattr(socket, "TCP_KEEPIDLE"):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, KEEPALIVE_IDLE)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, KEEPALIVE_INTERVAL)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, KEEPALIVE_PROBES)
    if hasattr(socket, "TCP_USER_TIMEOUT"):  # probes wait while data is in flight: a busy channel's
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, UNACKNOWLEDGED_MS)
    # telnet marks its Ctrl+C with urgent data (IAC DM, with `autosynch`): kept in
    # the stream, where the telnet filter expects it, rather than taken out of it
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_OOBINLINE, 1)
    output_options(sock, send_buffer, nodelay)


def output_options(sock: socket.socket, send_buffer: int, nodelay: bool) -> None:
    """How the kernel sends a client's output: at once (TCP_NODELAY) or gathered while
    an earlier write is unacknowledged (Nagle's algorithm), and how much of it it may
    hold (`send_buffer` > 0; 0 leaves the last bound, or the system's default: a socket
    cannot be told "default" again). Not for a socket that is not TCP (a Unix one)."""
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1 if nodelay else 0)
        if send_buffer > 0:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
    except OSError:  # closed meanwhile
        pass


class TcpConnection(GatedInput, asyncio.Protocol):
    """One client connection over TCP or TLS; also its session's `Link`."""

    __slots__ = (
        "host", "secure", "kind", "counters", "transport", "session", "ip", "gate", "output", "write", "_closing",
        "_admitted", "_sock", "_tls", "_handing_over", "_partial_handle", "_reading_paused", "cut",
    )  # fmt: skip

    def __init__(self, host: ConnectionHost, secure: bool = False) -> None:
        self.host = host
        self.cut = False  # ended by an abort: what was still unsent never reached the peer
        self.secure = secure  # a TLS connection (WHOIS 671, the STS policy it is shown)
        self.kind = "tls" if secure else "tcp"
        self.counters = host.counters(self.kind)
        self.transport: asyncio.Transport | None = None
        self.session: SessionPort | None = None
        self.ip = ""
        self.gate = LineGate(host.gate_settings(), MAX_LINE)
        self.output: OutputQueue | None = None
        # Link.write: nothing to write to until the connection is made (or if it is refused);
        # then the output queue itself (calling it is its `write`, and it costs no bound
        # method per client), so the chat's writes go straight into it.
        self.write: Callable[[bytes], None] = _discard
        self._closing = False
        self._admitted = False  # counted by the host (released once, whatever ends us)
        self._sock: socket.socket | None = None  # a TLS connection's (a plain one asks its transport)
        self._tls: TlsStream | None = None  # a TLS connection's stream, from accept to end
        self._handing_over: asyncio.Future[None] | None = None  # the socket, to the loop
        self._drain_handle: asyncio.Handle | None = None
        self._partial_handle: asyncio.TimerHandle | None = None
        self._reading_paused = False  # input held and over the recvq: the socket waits (see _pump)

    # -- a TLS listener's connection: counted when accepted, then its handshake ------------

    @classmethod
    def accept_plain(cls, host: ConnectionHost, sock: socket.socket, ip: str, secure: bool = False) -> None:
        """A connection a plain listener accepted (runtime/listeners.py), on a transport
        of our own (sockets.py); admitted, or refused with its ERROR, as it is made.
        `secure`: a trusted proxy says its client reached it over TLS (runtime/proxied.py)."""
        conn = cls(host, secure=secure)
        conn.ip = ip
        SocketTransport(asyncio.get_running_loop(), sock, conn)

    @classmethod
    def accept_tls(cls, host: ConnectionHost, context: SSL.Context, sock: socket.socket, ip: str) -> None:
        """A connection a TLS listener accepted (runtime/listeners.py): it counts against
        the limits from now on, through its handshake, which must end within
        `limits.tls_handshake_timeout`; a refused one is closed at once (a TLS client
        could not read an ERROR in plain text)."""
        conn = cls(host, secure=True)
        conn.ip = ip
        refusal = host.admit(conn)
        if refusal is not None:
            sock.close()
            return
        conn._admitted = True
        conn._sock = sock
        conn._tune(sock)
        from hubbub.transport.tlsstream import TlsStream  # pyOpenSSL: loaded by a server with TLS only

        conn._tls = TlsStream(context, conn, host.handshake_timeout())
        conn._handing_over = asyncio.ensure_future(conn._hand_over(sock, conn._tls))

    async def _hand_over(self, sock: socket.socket, stream: TlsStream) -> None:
        try:
            # the loop owns the socket from here; the stream calls connection_made once TLS is up
            await asyncio.get_running_loop().connect_accepted_socket(lambda: stream, sock)
            self._output_options()  # the loop's transport sets TCP_NODELAY: the setting says
        except OSError as exc:
            self._forget(exc.strerror or type(exc).__name__)
        except asyncio.CancelledError:  # shutdown
            self._forget()
            raise
        finally:
            self._handing_over = None

    def handshake_failed(self, why: str | None) -> None:
        """The TLS handshake did not end well (`why` None: we ended it, at shutdown)."""
        self._forget(why)

    # -- asyncio.Protocol ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """A plain connection just accepted: count it (or refuse it, saying why), then
        start its session; a TLS one, counted when accepted, is here once TLS is up."""
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass
        if not self._admitted:
            if not self.ip:  # accepted by the loop rather than by us (tests drive it so)
                peer = transport.get_extra_info("peername")
                self.ip = peer[0] if isinstance(peer, tuple) else "127.0.0.1"
            refusal = self.host.admit(self)
            if refusal is not None:
                transport.write(Message("ERROR", [f"Closing Link: {self.ip} ({refusal})"]).encode())  # type: ignore[attr-defined]
                self._closing = True
                transport.close()
                return
            self._admitted = True
            # tuned already: the options of the listening socket (`tune`) are the ones an
            # accepted socket starts with
        # A plain connection's queue writes to its socket itself while the transport holds
        # nothing (gate.py); a TLS one's bytes must pass the stream. (Writing to the
        # socket directly halves the instructions of a delivery.)
        fd = transport.get_extra_info("fd", -1) if self._tls is None else -1
        # the transport itself, and ourselves (sendq_exceeded), rather than bound methods
        settings = self.gate.settings
        output = self.output = OUTPUT_QUEUE(
            self.ip, settings.sendq, self.host.flusher, transport, self, fd, settings.room  # type: ignore[arg-type]
        )
        self.write = output
        certfp = self._tls.certfp if self._tls is not None else None
        self.session = self.host.open_session(self, self.ip, self.secure, certfp)

    def _tune(self, sock: socket.socket) -> None:
        tune(sock, self.gate.settings.send_buffer, self.gate.settings.nodelay)

    def _output_options(self) -> None:
        """The send buffer's bound and TCP_NODELAY as the settings say (output_options):
        after a reload, and for a TLS connection once the loop's transport has its socket
        (which sets TCP_NODELAY on it). A plain connection's descriptor is wrapped in a
        socket only then."""
        sock, view = self._sock, False
        if sock is None and self.transport is not None and self._tls is None:
            fd = self.transport.get_extra_info("fd", -1)
            if fd < 0:
                return
            sock, view = socket.socket(fileno=fd), True  # our transport keeps the descriptor alone
        if sock is None:
            return
        try:
            settings = self.gate.settings
            output_options(sock, settings.send_buffer, settings.nodelay)
        finally:
            if view:
                sock.detach()

    def _forget(self, failed_handshake: str | None = None) -> None:
        """No longer count this connection (it never reached a session, or has ended)."""
        self._closing = True
        if self._admitted:
            self._admitted = False
            self.host.release(self, failed_handshake)

    def data_received(self, data: bytes) -> None:
        session = self.session
        if session is None or self._closing:
            return
        self.counters.bytes_received += len(data)  # as the peer sent them, telnet's commands too
        incoming = session.incoming
        if incoming is not None:
            data = incoming(data)
            if not data:
                return  # nothing but telnet commands (answered already)
        if self._partial_handle is not None:
            self._partial_handle.cancel()
            self._partial_handle = None
        gate = self.gate
        lines = gate.receive(data)
        done = 0  # counted by hand: an enumerate would be made for every read, nearly all of one line
        for line in lines:  # the lines the gate lets through at once
            done += 1
            if line is None:
                session.line_too_long()
            else:
                session.line_received(line)
            if self._closing:
                return
            # Slow work for this client began, or flood control now paces it (its
            # exemption ended with this line: a LOGOUT): the rest waits, for it or its turn
            if gate.held or gate.bucket is not None:
                gate.defer(lines[done:])
                break
        if gate.waiting:
            self._pump()
        if not gate.saw_line_end and not self._closing and gate.unterminated(
            data, session.speaks_irc, session.keystrokes
        ):
            self._partial_handle = asyncio.get_running_loop().call_later(
                UNTERMINATED_LINE_DELAY, self._end_partial_line
            )

    def eof_received(self) -> bool:
        """The peer has sent everything: handle all of it (at the flood rate), then close."""
        session = self.session
        if session is None or self._closing:
            return False
        if self._partial_handle is not None:
            self._partial_handle.cancel()
            self._partial_handle = None
        self.gate.receive_eof(session.speaks_irc)
        self._pump()
        if not self._closing and not self.gate.finished:
            return True  # keep our half open: replies can still go out meanwhile (over TLS too)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._closing = True
        for handle in (self._drain_handle, self._partial_handle):
            if handle is not None:
                handle.cancel()
        self.gate.clear_input()
        if self.output is not None:
            self.output.stop()
            self.counters.bytes_sent += self.output.sent
            self.output.sent = 0
        if self.session is not None:
            reason = "Connection closed" if exc is None else f"Connection error: {exc.__class__.__name__}"
            self.session.connection_lost(reason)
            self.session = None
        self._forget()

    # -- input ---------------------------------------------------------------------------

    def _pause_input(self) -> None:
        if not self._reading_paused and self.transport is not None:
            self._reading_paused = True
            self.transport.pause_reading()

    def _input_ended(self) -> None:
        self.close()

    def _end_partial_line(self) -> None:
        self._partial_handle = None
        if self.session is not None and not self._closing:
            self.gate.end_partial_line()
            self._pump()

    # -- holding input while slow work runs (see the worker pool) ------------------------

    def hold_input(self) -> None:
        """Handle no more of this client's lines until `release_input`; they queue
        (within the recvq, as flood-delayed lines do), so replies keep their order."""
        self.gate.hold()

    def release_input(self) -> None:
        if self.gate.release() and not self._closing and self.transport is not None:
            self._pump()
            if self._reading_paused and not self.gate.held and not self._closing:
                self._reading_paused = False
                self.transport.resume_reading()

    def charge(self, lines: int) -> None:
        self.gate.charge(lines)

    def input_waiting(self) -> bool:
        return bool(self.gate.waiting)

    def speaks_irc(self, session: SessionPort) -> None:
        """An IRC client: its session takes its lines itself; the intake that found out
        is let go (about 220 bytes per client: it, and its two bound methods)."""
        if self.session is not None:
            self.session = session

    def configure(self, settings: GateSettings) -> None:
        before = self.gate.settings
        self.gate.configure(settings)
        if self.output is not None and not self._closing:
            self.output.sendq = settings.sendq
            self.output.room = settings.room
        if (before.send_buffer, before.nodelay) != (settings.send_buffer, settings.nodelay):
            self._output_options()  # system calls for each connection: only for a change

    # -- Link: output ----------------------------------------------------------------------

    def flush(self) -> None:
        if self.output is not None:
            self.output.flush()

    def sendq_exceeded(self) -> None:
        self.counters.sendq_drops += 1
        self._drop("SendQ exceeded")

    def close(self) -> None:
        """Flush and close gracefully; the session has already said goodbye."""
        transport = self.transport
        if transport is None or transport.is_closing() or self._closing:
            return
        self._closing = True
        output = self.output
        if output is None:
            transport.close()
            return
        output.closing = True  # its last flush writes past the sendq: one ERROR line

        def closed() -> None:
            output.stop()
            transport.close()
            self._abort_later()

        self.host.flusher.finish(output, closed)

    def abort(self) -> None:
        self.cut = True
        if self._handing_over is not None:
            self._handing_over.cancel()
        elif self.output is not None:
            self.output.abort()  # the transport's, with the queue's socket forgotten first
        elif self.transport is not None:
            self.transport.abort()
        elif self._tls is not None:  # in its handshake
            self._tls.abort()

    def _drop(self, reason: str, keep_output: bool = False) -> None:
        """Disconnect a misbehaving client; its ERROR is best effort. Past its sendq,
        what is queued for it goes (that is why it is dropped); a flooder keeps the
        replies to the lines it was answered (a login that succeeded says so) before
        its ERROR: they are within its sendq."""
        if self.session is None or self._closing:
            return
        if self.output is not None and not keep_output:
            self.output.clear()
        self.session.disconnect(reason)

    def _abort_later(self) -> None:
        transport = self.transport
        if transport is not None and transport.get_write_buffer_size():
            asyncio.get_running_loop().call_later(SENDQ_GRACE, self._cut_off, transport)

    def _cut_off(self, transport: asyncio.Transport) -> None:
        """A closing client that has not taken its last output within the grace period
        (`transport`: the one it was closing, a SocketTransport or a TlsStream)."""
        if transport.get_write_buffer_size():
            self.cut = True
            transport.abort()

    @property
    def bytes_sent(self) -> int:
        return self.output.sent if self.output is not None else 0

    @property
    def pending_output(self) -> int:
        """Bytes written by the session and not yet taken by the kernel."""
        queued = self.output.size if self.output is not None else 0
        return queued + (self.transport.get_write_buffer_size() if self.transport else 0)
