"""Listening sockets and the connection limits every listener shares.

`Admission` counts connections in all and per IP address, whatever listener they came
through, from the moment they are accepted (a TLS one too, during its handshake), and
refuses past the limits; the chat core may add a refusal of its own (an address
K-line). The limit in all is also kept within the descriptors the process may have
(descriptors.py). Each connection and each refusal is logged, at a bounded rate.
`Listeners` opens the sockets and remembers the addresses they got, logging each as
`listening <kind> <host>:<port>` so tools can find a port chosen with 0.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections import Counter
from collections.abc import Callable

from hubbub.config import LimitsSection, parse_hostport
from hubbub.runtime.descriptors import UNKNOWN, client_ceiling, effective_max_clients
from hubbub.server.audit import Audit
from hubbub.transport.ports import Link

log = logging.getLogger("hubbub")


class Admission:
    def __init__(
        self, limits: Callable[[], LimitsSection], refuse: Callable[[str], str | None], audit: Audit | None = None
    ) -> None:
        self._limits = limits
        self._refuse = refuse  # the core's own reason to turn an address away, if any
        self.audit = audit or Audit()
        self.ceiling = client_ceiling(UNKNOWN)  # connections the descriptor limit leaves room for
        self.links: set[Link] = set()
        self.per_ip: Counter[str] = Counter()

    def max_clients(self) -> int:
        """The limit in all, as the descriptors let us honour it."""
        return effective_max_clients(self._limits().max_clients, self.ceiling)

    def admit(self, link: Link) -> str | None:
        """Count a new connection, or say why it is refused."""
        refusal = self._refusal(link)
        if refusal is not None:
            self.audit.refused(link.ip, refusal)
            return refusal
        self.links.add(link)
        self.per_ip[link.ip] += 1
        self.audit.connected(link.ip, link.secure)
        return None

    def _refusal(self, link: Link) -> str | None:
        lim = self._limits()
        if len(self.links) >= self.max_clients():
            return "Server is full"
        if lim.max_clients_per_ip and self.per_ip[link.ip] >= lim.max_clients_per_ip:
            return "Too many connections from your IP address"
        return self._refuse(link.ip)

    def release(self, link: Link, failed_handshake: str | None = None) -> None:
        if failed_handshake is not None:
            self.audit.handshake_failed(link.ip, failed_handshake)
        if link in self.links:
            self.links.discard(link)
            self.per_ip[link.ip] -= 1
            if self.per_ip[link.ip] <= 0:
                del self.per_ip[link.ip]


BACKLOG = 1024
ACCEPTS_PER_WAKEUP = 128  # then other work gets its turn
ACCEPT_RETRY = 1.0  # seconds without accepting after the system ran out of descriptors or memory


class Accepting:
    """A listening socket whose connections we accept ourselves, to hand each, with its
    address, to `accepted` before anything else happens on it (a TLS listener: the
    connection is counted before its handshake, which the loop could not tell us of)."""

    def __init__(self, sock: socket.socket, accepted: Callable[[socket.socket, str], None]) -> None:
        self.sock = sock
        self.accepted = accepted
        self.loop = asyncio.get_running_loop()
        self._retry: asyncio.TimerHandle | None = None
        self.loop.add_reader(sock.fileno(), self._ready)

    def _ready(self) -> None:
        for _ in range(ACCEPTS_PER_WAKEUP):
            try:
                conn, addr = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    log.error("cannot accept connections for now: %s", exc.strerror)
                    self.loop.remove_reader(self.sock.fileno())
                    self._retry = self.loop.call_later(ACCEPT_RETRY, self._resume)
                    return
                continue  # the peer gave up before we accepted (ECONNABORTED...)
            conn.setblocking(False)
            try:
                self.accepted(conn, addr[0])
            except Exception:  # a bug of ours must not stop the listener
                log.exception("handling a connection from %s failed", addr[0])
                conn.close()

    def _resume(self) -> None:
        self._retry = None
        self.loop.add_reader(self.sock.fileno(), self._ready)

    def close(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
        else:
            self.loop.remove_reader(self.sock.fileno())
        self.sock.close()


class Listeners:
    def __init__(self) -> None:
        self.servers: list[asyncio.Server] = []
        self.accepting: list[Accepting] = []
        self.addresses: list[tuple[str, str, int]] = []  # (kind, host, port)

    async def listen(self, kind: str, spec: str, factory: Callable[[], asyncio.Protocol]) -> None:
        """Listen for TCP connections, each handed to a new protocol from `factory`."""
        host, port = parse_hostport(spec)
        server = await asyncio.get_running_loop().create_server(
            factory, host or None, port, reuse_address=True, backlog=BACKLOG
        )
        self.servers.append(server)
        for sock in server.sockets:
            addr = sock.getsockname()
            self.add_address(kind, addr[0], addr[1])

    async def listen_accepting(self, kind: str, spec: str, accepted: Callable[[socket.socket, str], None]) -> None:
        """Listen for TCP connections, each handed to `accepted(socket, address)` as it is
        accepted (see `Accepting`); bound like `listen` (every interface for an empty host)."""
        host, port = parse_hostport(spec)
        infos = await asyncio.get_running_loop().getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
        opened: list[socket.socket] = []
        try:
            for family, kind_, proto, _, address in dict.fromkeys(infos):  # each address once
                sock = socket.socket(family, kind_, proto)
                opened.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind(address)
                sock.listen(BACKLOG)
                sock.setblocking(False)
        except OSError:
            for sock in opened:
                sock.close()
            raise
        for sock in opened:
            self.accepting.append(Accepting(sock, accepted))
            addr = sock.getsockname()
            self.add_address(kind, addr[0], addr[1])

    def add_address(self, kind: str, host: str, port: int) -> None:
        self.addresses.append((kind, host, port))
        shown = f"[{host}]" if ":" in host else host
        log.info("listening %s %s:%d", kind, shown, port)

    def address(self, kind: str) -> tuple[str, int]:
        """The first listener of `kind`'s address."""
        _, host, port = next(a for a in self.addresses if a[0] == kind)
        return host, port

    def close(self) -> None:
        for server in self.servers:
            server.close()
        for accepting in self.accepting:
            accepting.close()
        self.accepting = []

    async def wait_closed(self) -> None:
        for server in self.servers:
            await server.wait_closed()
