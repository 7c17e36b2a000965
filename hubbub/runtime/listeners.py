"""Listening sockets and the connection limits every listener shares.

`Admission` counts connections in all and per IP address, whatever listener they came
through, and refuses past the limits; the chat core may add a refusal of its own (an
address K-line). `Listeners` opens the sockets and remembers the addresses they got,
logging each as `listening <kind> <host>:<port>` so tools can find a port chosen with 0.
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

    def admit(self, link: Link) -> str | None:
        """Count a new connection, or say why it is refused."""
        lim = self._limits()
        if lim.max_clients and len(self.links) >= lim.max_clients:
            return "Server is full"
        if lim.max_clients_per_ip and self.per_ip[link.ip] >= lim.max_clients_per_ip:
            return "Too many connections from your IP address"
        refusal = self._refuse(link.ip)
        if refusal is not None:
            return refusal
        self.links.add(link)
        self.per_ip[link.ip] += 1
        return None

    def release(self, link: Link) -> None:
        if link in self.links:
            self.links.discard(link)
            self.per_ip[link.ip] -= 1
            if self.per_ip[link.ip] <= 0:
                del self.per_ip[link.ip]


class Listeners:
    def __init__(self) -> None:
        self.servers: list[asyncio.Server] = []
        self.addresses: list[tuple[str, str, int]] = []  # (kind, host, port)

    async def listen(
        self, kind: str, spec: str, factory: Callable[[], asyncio.Protocol], context: ssl.SSLContext | None = None
    ) -> None:
        host, port = parse_hostport(spec)
        server = await asyncio.get_running_loop().create_server(
            factory, host or None, port, ssl=context, reuse_address=True, backlog=1024
        )
        self.servers.append(server)
        for sock in server.sockets:
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

    async def wait_closed(self) -> None:
        for server in self.servers:
            await server.wait_closed()
