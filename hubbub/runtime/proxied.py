"""Connections from a trusted proxy: their PROXY header read before anything else.

A connection accepted from an address `listen.proxy_from` lists waits here, on no
transport yet and counted against no limit, until the proxy's header has arrived
(transport/proxyheader.py reads it). Then exactly the header's bytes are taken off the
socket, and the connection is handed on as if accepted from the client's address (a
TLS listener's starts its handshake only then: the header comes before the client's
first TLS byte). Being counted from the client's address, not the proxy's, is the
point: per-address limits, K-lines and cloaks apply to the client. A header that says
the proxy relays no client (v2 `LOCAL`, v1 `UNKNOWN`: its own connection) is handed
on, from the proxy's address, once a byte follows it within the header's timeout:
HAProxy's health checks send one and hang up, and are closed here without being
logged or counted as clients.

The header is looked at with MSG_PEEK, so that whatever the client sent behind it in
the same segment stays in the socket for its connection. While a header is cut short
(a proxy that writes it in pieces, which the common ones never do), the socket is
looked at again after a short pause rather than at every wake-up, since the bytes
already there keep it readable. A connection whose header is refused, or has not
come within `limits.proxy_header_timeout`, is closed without a word: a proxy, not a
person, is at the other end. At most as many wait at once as there is room for more
clients (`limits.max_clients`, kept within the descriptors the process may have, less
the connections counted): past that a new one is closed at once, so that waiting ones
cannot take the descriptors the counted ones were promised.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections import Counter
from collections.abc import Callable

from hubbub.server.audit import Audit
from hubbub.transport.proxyheader import INCOMPLETE, PEEK, Refused, read

log = logging.getLogger("hubbub")

RETRY = 0.02  # seconds before a header cut short is looked at again

# accepted(sock, client address, whether the proxy says the client spoke TLS to it)
Accepted = Callable[[socket.socket, str, bool], None]


class Waiting:
    """One connection from a proxy, until its header has been read."""

    __slots__ = ("owner", "sock", "proxy", "then", "timer", "retry", "own")

    def __init__(self, owner: ProxyHeaders, sock: socket.socket, proxy: str, then: Accepted, timeout: float) -> None:
        self.owner = owner
        self.sock = sock
        self.proxy = proxy
        self.then = then
        loop = owner.loop
        self.timer: asyncio.TimerHandle | None = loop.call_later(timeout, self._expired)
        self.retry: asyncio.TimerHandle | None = None
        self.own = False  # its header named no client (LOCAL, UNKNOWN), and nothing came behind it yet
        loop.add_reader(sock.fileno(), self._readable)

    def _readable(self) -> None:
        try:
            data = self.sock.recv(PEEK, socket.MSG_PEEK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:  # reset: an end like any other
            data = b""
        if not data:  # the proxy hung up before its header ended (or, `own`, before a byte after it)
            self.close("check" if self.own else "refused")
            return
        if self.own:  # bytes after a header naming no client: the proxy's own connection, from its address
            self._hand_over(self.proxy, False, "own")
            return
        found = read(data)
        if found is INCOMPLETE:
            self._stop_reading()
            self.retry = self.owner.loop.call_later(RETRY, self._look_again)
            return
        if isinstance(found, Refused):
            self.owner.audit.refused(self.proxy, found.why)
            self.close("refused")
            return
        try:
            taken = self.sock.recv(found.length)  # there already: peeked
        except OSError:
            self.close("refused")
            return
        if len(taken) != found.length:
            self.close("refused")
            return
        if found.local and len(data) == found.length:
            # The proxy's own connection (v2 LOCAL, v1 UNKNOWN) with nothing behind its header
            # yet: HAProxy's health checks send one and hang up. Handed on only once a byte
            # comes, so that a check is neither logged as a client nor counted (every two
            # seconds by default, per proxy and server); one that ends first, or sends
            # nothing within the header's timeout, is closed.
            self.own = True
            return
        self._hand_over(found.address or self.proxy, found.tls, "client" if found.address else "own")

    def _hand_over(self, address: str, tls: bool, outcome: str) -> None:
        self._end()
        self.owner.outcomes[outcome] += 1
        try:
            self.then(self.sock, address, tls)
        except Exception:  # a bug of ours must not leave the socket open (as the listener's own handler)
            log.exception("handling a connection from %s (through %s) failed", address, self.proxy)
            self.sock.close()

    def _look_again(self) -> None:
        self.retry = None
        self.owner.loop.add_reader(self.sock.fileno(), self._readable)

    def _expired(self) -> None:
        self.timer = None
        if not self.own:  # (a health check that stays silent is not worth a line)
            self.owner.audit.refused(self.proxy, "no whole PROXY header in time")
        self.close("check" if self.own else "late")

    def _stop_reading(self) -> None:
        if self.sock.fileno() >= 0:
            self.owner.loop.remove_reader(self.sock.fileno())

    def _end(self) -> None:
        """No longer waiting (handed on, or closed)."""
        self._stop_reading()
        for handle in (self.timer, self.retry):
            if handle is not None:
                handle.cancel()
        self.timer = self.retry = None
        self.owner.waiting.discard(self)

    def close(self, outcome: str | None = None) -> None:
        """`outcome`: what the connection came to, counted (None: the server stops)."""
        self._end()
        self.sock.close()
        if outcome is not None:
            self.owner.outcomes[outcome] += 1


class ProxyHeaders:
    """The connections from trusted proxies whose headers have not all arrived."""

    def __init__(self, audit: Audit) -> None:
        self.loop = asyncio.get_running_loop()
        self.audit = audit
        self.waiting: set[Waiting] = set()
        # what connections from proxies came to (the metric hubbub_proxied_connections)
        self.outcomes: Counter[str] = Counter(dict.fromkeys(("client", "own", "check", "refused", "late"), 0))

    def take(self, sock: socket.socket, proxy: str, then: Accepted, timeout: float, most: int) -> None:
        """Read `sock`'s header, then `then(sock, client address, tls)`; `most`: how
        many may wait at once."""
        if len(self.waiting) >= most:
            self.audit.refused(proxy, "too many connections waiting for their PROXY header")
            sock.close()
            self.outcomes["refused"] += 1
            return
        self.waiting.add(Waiting(self, sock, proxy, then, timeout))

    def close(self) -> None:
        """At shutdown: those still waiting are closed."""
        for waiting in list(self.waiting):
            waiting.close()
