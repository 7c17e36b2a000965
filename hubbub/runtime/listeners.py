"""Listening sockets and the connection limits every listener shares.

`Admission` counts connections in all and per IP address, whatever listener they came
through (TCP, TLS or a WebSocket on the web listener), and refuses past the limits;
the chat core may add a refusal of its own (an address K-line). `Listeners` opens the
sockets and remembers the addresses they got, logging each as
`listening <kind> <host>:<port>` so tools can find a port chosen with 0.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections import Counter
from collections.abc import Callable

from hubbub.config import LimitsSection, parse_hostport
from hubbub.transport.ports import Link

log = logging.getLogger("hubbub")


class Admission:
    def __init__(self, limits: Callable[[], LimitsSection], refuse: Callable[[str], str | None]) -> None:
        self._limits = limits
        self._refuse = refuse  # the core's own reason to turn an address away, if any
        self.links: set[Link] = set()
        self.per_ip: Counter[str] = Counter()
        # by transport ("tcp", "tls", "websocket"), for the metrics
        self.open: Counter[str] = Counter()
        self.accepted: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()

    def admit(self, link: Link) -> str | None:
        """Count a new connection, or say why it is refused."""
        refusal = self._refusal(link)
        if refusal is not None:
            self.refused[link.kind] += 1
            return refusal
        self.links.add(link)
        self.per_ip[link.ip] += 1
        self.open[link.kind] += 1
        self.accepted[link.kind] += 1
        return None

    def _refusal(self, link: Link) -> str | None:
        lim = self._limits()
        if lim.max_clients and len(self.links) >= lim.max_clients:
            return "Server is full"
        if lim.max_clients_per_ip and self.per_ip[link.ip] >= lim.max_clients_per_ip:
            return "Too many connections from your IP address"
        return self._refuse(link.ip)

    def release(self, link: Link) -> None:
        if link in self.links:
            self.links.discard(link)
            self.open[link.kind] -= 1
            self.per_ip[link.ip] -= 1
            if self.per_ip[link.ip] <= 0:
                del self.per_ip[link.ip]


class Listeners:
    def __init__(self) -> None:
        self.servers: list[asyncio.Server] = []
        self.addresses: list[tuple[str, str, int]] = []  # (kind, host, port)
        self._labelled: list[tuple[str, asyncio.Server]] = []

    async def listen(
        self,
        kind: str,
        spec: str,
        factory: Callable[[], asyncio.BaseProtocol],
        context: ssl.SSLContext | None = None,
        handshake_timeout: float | None = None,
    ) -> None:
        host, port = parse_hostport(spec)
        server = await asyncio.get_running_loop().create_server(
            factory, host or None, port, ssl=context, reuse_address=True, backlog=1024,
            ssl_handshake_timeout=handshake_timeout if context is not None else None,
        )  # fmt: skip
        self.servers.append(server)
        for sock in server.sockets:
            addr = sock.getsockname()
            self.add_address(kind, addr[0], addr[1])
            self._labelled.append((f"{kind} {addr[0]}:{addr[1]}", server))

    def add_address(self, kind: str, host: str, port: int) -> None:
        self.addresses.append((kind, host, port))
        shown = f"[{host}]" if ":" in host else host
        log.info("listening %s %s:%d", kind, shown, port)

    def address(self, kind: str) -> tuple[str, int]:
        """The first listener of `kind`'s address."""
        _, host, port = next(a for a in self.addresses if a[0] == kind)
        return host, port

    def serving(self) -> dict[str, bool]:
        """Each listening address, as `kind host:port`, and whether it accepts connections."""
        return {label: server.is_serving() for label, server in self._labelled}

    def close(self) -> None:
        for server in self.servers:
            server.close()

    async def wait_closed(self) -> None:
        for server in self.servers:
            await server.wait_closed()
