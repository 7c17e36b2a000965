"""The web listener's connections, counted against the connection limits from accept.

The web listener accepts its sockets itself (runtime/listeners.py, `Accepting`), as a
TLS listener does, so that each connection counts against `limits.max_clients` and
`limits.max_clients_per_ip` before anything is read from it: through its TLS handshake
(HTTPS) and until its HTTP request has come, both bounded by `web.handshake_timeout`
(the request by aiohttp's keep-alive timer), so that idle or slow sockets cannot take
the server's descriptors without counting. A refused connection is closed at once; over
plain HTTP it is first told why, in a 503 response (a TLS client could not read it).

A trusted proxy (`web.trusted_proxies`) speaks for many clients: its connections count
in all, not against its own address. When a request becomes a WebSocket, its count
passes to the WebSocket connection (`hand_over`), checked again for the client's own
address (which, behind a trusted proxy, only the request's headers tell: peer.py).
Plain HTTP requests (the web client's files, /healthz, /metrics) are counted but not
logged as connections; the WebSocket is.

`HttpConnection` is the protocol the event loop sees: it hands everything to aiohttp's
own protocol for the connection and only adds the count.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable
from email.utils import formatdate

from hubbub.transport import peer
from hubbub.transport.gate import GateSettings
from hubbub.transport.headers import SECURITY_HEADERS
from hubbub.transport.ports import Counted, WebHost


def refusal_response(reason: str) -> bytes:
    """The whole HTTP answer to a connection refused at accept."""
    body = f"{reason}\n".encode()
    security = "".join(f"{name}: {value}\r\n" for name, value in SECURITY_HEADERS.items())
    head = (
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Date: {formatdate(usegmt=True)}\r\n{security}"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


class HttpConnection(asyncio.Protocol):
    """One connection to the web listener, until it ends or becomes a WebSocket."""

    kind = "http"
    bytes_sent = 0  # IRC bytes: an HTTP connection carries none

    def __init__(self, host: WebHost, ip: str, secure: bool) -> None:
        self.host = host
        self.ip = ip
        self.secure = secure
        self.handler: asyncio.Protocol | None = None  # aiohttp's protocol for this connection
        self.transport: asyncio.Transport | None = None
        self._counted = False
        self._starting: asyncio.Future[None] | None = None

    @classmethod
    def accept(
        cls, host: WebHost, handlers: Callable[[], asyncio.Protocol], context: ssl.SSLContext | None,
        sock: socket.socket, ip: str, tls_at_proxy: bool = False,
    ) -> None:  # fmt: skip
        """A connection the web listener accepted: counted from now on, or refused. `ip`:
        the client's, which a TCP proxy's PROXY header may have named (runtime/proxied.py;
        `tls_at_proxy`: it says the client spoke TLS to it), aiohttp seeing the proxy's."""
        settings = host.web_settings
        proxy = bool(settings.trusted_proxies) and peer.is_trusted(ip, peer.networks(settings.trusted_proxies))
        conn = cls(host, ip, secure=context is not None or tls_at_proxy)
        refusal = host.admit(conn, per_ip=not proxy)
        if refusal is not None:
            if context is None:
                try:
                    sock.send(refusal_response(refusal))
                except OSError:
                    pass
            sock.close()
            return
        conn._counted = True
        conn.handler = handlers()
        conn._starting = asyncio.ensure_future(conn._start(sock, context, settings.handshake_timeout))

    async def _start(self, sock: socket.socket, context: ssl.SSLContext | None, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        try:
            # the loop owns the socket from here, and calls connection_made (once TLS is up)
            await loop.connect_accepted_socket(
                lambda: self, sock, ssl=context, ssl_handshake_timeout=timeout if context is not None else None
            )
        except (TimeoutError, OSError) as exc:  # ssl.SSLError, the timeout, a reset: all OSError
            if context is None:
                self._forget()
            else:
                from hubbub.transport.tls import handshake_failure  # loaded by a server with TLS only

                self._forget(handshake_failure(exc))
        except asyncio.CancelledError:  # shutdown
            self._forget()
            raise
        finally:
            self._starting = None

    def hand_over(self, new: Counted) -> str | None:
        """This connection goes on as `new` (its WebSocket): the count passes to it; or
        why `new` is refused (then nothing counts any more)."""
        if not self._counted:  # gone meanwhile: `new` is a connection of its own
            return self.host.admit(new)
        self._counted = False
        return self.host.hand_over(self, new)

    def _forget(self, failed_handshake: str | None = None) -> None:
        if self._counted:
            self._counted = False
            self.host.release(self, failed_handshake)

    # -- asyncio.Protocol: aiohttp's, plus the count ----------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        assert self.handler is not None
        self.handler.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        assert self.handler is not None
        self.handler.data_received(data)

    def eof_received(self) -> bool | None:
        assert self.handler is not None
        return self.handler.eof_received()

    def pause_writing(self) -> None:
        assert self.handler is not None
        self.handler.pause_writing()

    def resume_writing(self) -> None:
        assert self.handler is not None
        self.handler.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        assert self.handler is not None
        try:
            self.handler.connection_lost(exc)
        finally:
            self._forget()

    # -- Counted ---------------------------------------------------------------------------

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()
        elif self._starting is not None:
            self._starting.cancel()

    def configure(self, settings: GateSettings) -> None:
        pass  # no IRC limits apply before a WebSocket
