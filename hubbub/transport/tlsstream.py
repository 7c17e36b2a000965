"""TLS over an accepted socket, done here: the handshake, then plaintext both ways.

Why not the event loop's own TLS (`ssl=` when the socket is handed to the loop): Python's
`ssl` cannot ask a client for a certificate without verifying it against trusted
authorities, and the certificates IRC clients present for CertFP are self-signed.
OpenSSL lets a verify callback accept any certificate, and pyOpenSSL exposes it (see
tls.py). So a TLS connection is an OpenSSL connection in memory-BIO mode driven by this
object, which is two things at once:

- the socket's asyncio protocol: what arrives goes into OpenSSL, what OpenSSL has to
  send goes out, and the handshake has `limits.tls_handshake_timeout` to end;
- once the handshake is done, the transport of the connection's own protocol (tcp.py,
  which cannot tell it from a plain one): plaintext comes out to it through
  `data_received`, and what it writes is encrypted and written to the socket.

The peer's certificate, if it presented one, is kept as its fingerprint only (`certfp`).
A failed handshake is reported to the protocol above with a few words for the log; the
peer is then closed on without a word, as a TLS peer could read no plain ERROR. A peer
whose first byte is printable text is no TLS client (a record starts with its type,
0x16 for a handshake) but an IRC client with its TLS option off, or someone typing: it
is told so in one plain ERROR line, which its client shows, rather than see the
connection drop for no reason it could read.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from OpenSSL import SSL

from hubbub.transport.proxyheader import V1_PREFIX, V2_SIGNATURE
from hubbub.transport.tls import certificate_fingerprint

RECORD = 16384  # the most plaintext one TLS record carries
RECORD_OVERHEAD = 256  # more than any cipher suite adds to a record (header, IV, MAC or tag, padding)
HEADER = 5  # a record's header: type, version, length (2 bytes)
NOT_TLS = (b"ERROR :This port takes TLS connections only: turn on TLS (SSL) in your client's settings for "
           b"this server, or connect to its plain-text port\r\n")  # fmt: skip
# A proxy's PROXY protocol header where TLS should begin (V1_PREFIX, V2_SIGNATURE): one
# from an address that listen.proxy_from does not list (runtime/proxied.py reads those of
# the listed ones)
NOT_TRUSTED = b"ERROR :PROXY header from an address not in listen.proxy_from\r\n"


class RecordCounter:
    """How many TLS records each chunk of the peer's stream completes.

    OpenSSL returns one record's plaintext per read, and tells that nothing is left only
    by raising an exception, which through pyOpenSSL costs as much as the read itself.
    Counting records from their headers, we read exactly as often as records completed:
    every record with data is read (a read never returns part of one: `RECORD` is their
    largest size), and a record without data (an alert, a key update) costs one
    exception, as every read did before.
    """

    __slots__ = ("head", "left")

    def __init__(self) -> None:
        self.head = b""  # the start of a header cut by the end of a chunk
        self.left = 0  # bytes of the current record's body still to come

    def feed(self, data: bytes) -> int:
        head, left, end = self.head, self.left, len(data)
        if not head and not left and end >= HEADER and HEADER + int.from_bytes(data[3:5]) == end:
            return 1  # the usual chunk: one whole record
        complete = i = 0
        while i < end:
            if left:
                step = min(left, end - i)
                i += step
                left -= step
                if left:
                    break
                complete += 1
                continue
            taken = data[i : i + HEADER - len(head)]
            i += len(taken)
            head += taken
            if len(head) < HEADER:
                break
            left = int.from_bytes(head[3:5])
            head = b""
            if not left:
                complete += 1
        self.head, self.left = head, left
        return complete


class Secured(Protocol):
    """What the stream needs of the protocol above it: asyncio's protocol calls, and
    the news of a handshake that failed (`why` None: we ended it ourselves)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None: ...

    def data_received(self, data: bytes) -> None: ...

    def eof_received(self) -> bool | None: ...

    def connection_lost(self, exc: Exception | None) -> None: ...

    def pause_writing(self) -> None: ...

    def resume_writing(self) -> None: ...

    def handshake_failed(self, why: str | None) -> None: ...


def _why(exc: BaseException | None) -> str:
    """A failed handshake's reason, in a few words for the log."""
    if exc is None:
        return "connection closed"
    if isinstance(exc, SSL.Error):
        errors = exc.args[0] if exc.args and isinstance(exc.args[0], list) else []
        reasons = [e[-1] for e in errors if isinstance(e, tuple) and e and e[-1]]
        if reasons:
            return str(reasons[-1])
        if isinstance(exc, SSL.SysCallError):
            return "connection closed"
        return "TLS error"
    strerror = exc.strerror if isinstance(exc, OSError) else None
    return strerror or type(exc).__name__


class TlsStream(asyncio.Protocol, asyncio.Transport):
    """The socket's protocol, and the transport of the protocol above it (see above)."""

    def __init__(self, context: SSL.Context, app: Secured, timeout: float) -> None:
        self._tls = SSL.Connection(context, None)
        self._tls.set_accept_state()
        self._records = RecordCounter()
        self._app = app
        self._timeout = timeout
        self._raw: Any = None  # the socket's transport (uvloop's is no asyncio.Transport)
        self._timer: asyncio.TimerHandle | None = None
        self.up = False  # the handshake is done: the protocol above has been told
        self.certfp: str | None = None  # SHA-256 of the client certificate, if one was presented
        self._closing = False
        self._failed = False  # the handshake failed and the protocol above knows it
        self._aborted = False  # we ended it ourselves (shutdown)
        self._heard = False  # the peer's first bytes came (and were a TLS record's)

    # -- the socket's side ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._raw = transport
        self._timer = asyncio.get_running_loop().call_later(self._timeout, self._timed_out)

    def data_received(self, data: bytes) -> None:
        if self._closing:
            return
        if not self._heard:
            self._heard = True
            if data.startswith((V1_PREFIX, V2_SIGNATURE)):
                self._refuse_plain_text(NOT_TRUSTED, "a PROXY header, from an address not in listen.proxy_from")
                return
            if 0x20 <= data[0] < 0x7F:
                self._refuse_plain_text()
                return
        self._tls.bio_write(data)
        records = self._records.feed(data)
        if not self.up and not self._handshake():
            return
        if records:
            self._read(records)

    def eof_received(self) -> bool | None:
        if not self.up:
            self._fail(None)
            return False
        # The peer's side is done; ours stays open while the protocol above still has
        # lines of it to handle (flood control), as over TCP, then it closes
        if not self._closing:
            return bool(self._app.eof_received())
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._closing = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.up:
            self._app.connection_lost(exc)
        elif not self._failed:
            self._failed = True
            self._app.handshake_failed(None if self._aborted else _why(exc))

    def pause_writing(self) -> None:
        self._app.pause_writing()

    def resume_writing(self) -> None:
        self._app.resume_writing()

    # -- TLS -------------------------------------------------------------------------------

    def _handshake(self) -> bool:
        """Go on with the handshake; True once it is done and the protocol above has it."""
        try:
            self._tls.do_handshake()
        except SSL.WantReadError:
            self._send_out()
            return False
        except SSL.Error as exc:
            self._send_out()  # the alert that tells the client why, when OpenSSL made one
            self._fail(exc)
            return False
        self.up = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        cert = self._tls.get_peer_certificate(as_cryptography=True)
        if cert is not None:
            self.certfp = certificate_fingerprint(cert)
        self._send_out()  # the handshake's last flight, session tickets
        self._app.connection_made(self)
        return not self._closing

    def _read(self, records: int) -> None:
        """Hand the protocol above, at once, the plaintext of the records just completed."""
        tls = self._tls
        chunks = []
        ended: BaseException | None = None
        answer = False
        for _ in range(records):
            try:
                chunks.append(tls.recv(RECORD))
            except SSL.WantReadError:  # a record without data: a handshake message, an alert
                answer = True
            except SSL.ZeroReturnError as exc:  # the peer's close_notify: nothing more comes
                ended = exc
                break
            except SSL.Error as exc:  # a record that does not decrypt: the stream is broken
                ended = exc
                break
        if answer:  # what OpenSSL says to it (a refused renegotiation's alert) goes now
            self._send_out()
        if chunks and not self._closing:
            self._app.data_received(chunks[0] if len(chunks) == 1 else b"".join(chunks))
        if ended is None or self._closing:
            return
        if isinstance(ended, SSL.ZeroReturnError):
            if not self._app.eof_received():  # else it closes once its waiting lines are handled
                self.close()
        else:
            self._send_out()
            self.abort()

    def _send_out(self) -> None:
        """Write to the socket what OpenSSL has to send (handshake, alerts)."""
        try:
            while True:
                data = self._tls.bio_read(RECORD + RECORD_OVERHEAD)
                self._raw.write(data)
        except SSL.WantReadError:
            pass

    def _fail(self, exc: BaseException | None) -> None:
        if self._failed or self._closing:
            return
        self._failed = True
        self._closing = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._app.handshake_failed(_why(exc))
        self._raw.close()  # after the alert, if there is one

    def _refuse_plain_text(
        self, line: bytes = NOT_TLS, why: str = "not TLS (plain text: a client with its TLS option off?)"
    ) -> None:
        self._failed = True
        self._closing = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._raw.write(line)
        self._app.handshake_failed(why)
        self._raw.close()  # after the line

    def _timed_out(self) -> None:
        self._timer = None
        if not self.up and not self._closing:
            self._failed = True
            self._closing = True
            self._app.handshake_failed("timed out")
            self._raw.abort()

    # -- the transport of the protocol above ---------------------------------------------------

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._closing or not data:
            return
        tls = self._tls
        try:
            # A memory BIO takes whatever it is given, but OpenSSL writes one record (16
            # KiB) a call: pyOpenSSL's contexts enable partial writes. The rest, in turn.
            written = tls.send(data)
            if written < len(data):
                view = memoryview(data)
                while written < len(view):
                    written += tls.send(view[written:])
        except SSL.Error:
            self.abort()
            return
        # all of it is in OpenSSL's buffer now: one read takes it (the loop, if ever, the rest)
        size = len(data) + RECORD_OVERHEAD * (len(data) // RECORD + 2)
        try:
            out = tls.bio_read(size)
        except SSL.WantReadError:  # nothing to send (cannot happen after a write of something)
            return
        self._raw.write(out)
        if len(out) == size:
            self._send_out()

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        if self.up:
            try:
                self._tls.shutdown()  # close_notify: the client knows nothing was cut off
            except SSL.Error:
                pass
            self._send_out()
        self._raw.close()

    def abort(self) -> None:
        self._closing = True
        self._aborted = True
        if self._raw is not None:
            self._raw.abort()

    def pause_reading(self) -> None:
        self._raw.pause_reading()

    def resume_reading(self) -> None:
        self._raw.resume_reading()

    def is_reading(self) -> bool:
        return bool(self._raw.is_reading())

    def is_closing(self) -> bool:
        return self._closing or self._raw is None or bool(self._raw.is_closing())

    def get_write_buffer_size(self) -> int:
        return int(self._raw.get_write_buffer_size()) if self._raw is not None else 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._raw.get_extra_info(name, default) if self._raw is not None else default
