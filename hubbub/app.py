"""Assembling a running server: the network state, its listeners and its timers.

`Runtime` is what `hubbub serve` runs and what end-to-end tests start on port 0 in
their own event loop. It owns the connection limits (per IP and in all), the shared
output flusher, the periodic timeout sweep, and a clean shutdown that tells every
client why it is being disconnected.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter

from hubbub.config import Config, parse_hostport
from hubbub.irc.message import Message
from hubbub.server import keepalive
from hubbub.server.network import Network
from hubbub.transport.irc import Flusher, IrcConnection

log = logging.getLogger("hubbub")

SHUTDOWN_FLUSH_SECONDS = 2.0


class Runtime:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.net = Network(config)
        self.flusher: Flusher
        self.connections: set[IrcConnection] = set()
        self.per_ip: Counter[str] = Counter()
        self.servers: list[asyncio.Server] = []
        self.addresses: list[tuple[str, str, int]] = []  # (kind, host, port)
        self._sweeper: asyncio.Task[None] | None = None
        self._stopping = False
        self._done = asyncio.Event()

    # -- connection accounting (called by the transport) ------------------------------

    def admit(self, conn: IrcConnection) -> str | None:
        """Register a new connection, or say why it is refused."""
        lim = self.config.limits
        if lim.max_clients and len(self.connections) >= lim.max_clients:
            return "Server is full"
        if lim.max_clients_per_ip and self.per_ip[conn.ip] >= lim.max_clients_per_ip:
            return "Too many connections from your IP address"
        self.connections.add(conn)
        self.per_ip[conn.ip] += 1
        return None

    def release(self, conn: IrcConnection) -> None:
        if conn in self.connections:
            self.connections.discard(conn)
            self.per_ip[conn.ip] -= 1
            if self.per_ip[conn.ip] <= 0:
                del self.per_ip[conn.ip]

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.flusher = Flusher(loop)
        for spec in self.config.listen.irc:
            host, port = parse_hostport(spec)
            server = await loop.create_server(
                lambda: IrcConnection(self), host or None, port, reuse_address=True, backlog=1024
            )
            self.servers.append(server)
            for sock in server.sockets:
                addr = sock.getsockname()
                self.addresses.append(("irc", addr[0], addr[1]))
                shown = f"[{addr[0]}]" if ":" in addr[0] else addr[0]
                log.info("listening irc %s:%d", shown, addr[1])
        self._sweeper = asyncio.create_task(self._sweep_forever())

    def irc_address(self) -> tuple[str, int]:
        """The first IRC listener's address (what tests connect to)."""
        kind, host, port = next(a for a in self.addresses if a[0] == "irc")
        return host, port

    async def _sweep_forever(self) -> None:
        interval = keepalive.sweep_interval(self.net)
        while True:
            await asyncio.sleep(interval)
            try:
                keepalive.sweep(self.net, self.net.clock())
            except Exception:  # a bug of ours must not end every timeout for good
                log.exception("timeout sweep failed")

    async def stop(self, reason: str = "Server shutting down") -> None:
        """Close listeners, tell every client why, give output a moment to drain."""
        if self._stopping:
            await self._done.wait()
            return
        self._stopping = True
        for server in self.servers:
            server.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
        self._disconnect_everyone(reason)
        self.flusher.flush()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SHUTDOWN_FLUSH_SECONDS
        while self.connections and loop.time() < deadline:
            await asyncio.sleep(0.02)
        for conn in list(self.connections):
            if conn.transport is not None:
                conn.transport.abort()
        for server in self.servers:
            await server.wait_closed()
        self._done.set()

    def _disconnect_everyone(self, reason: str) -> None:
        """Send every client its ERROR and close it, without the QUIT of everybody else.

        Disconnecting clients one by one would tell each remaining member of a channel
        about every earlier leaver: quadratic work (seconds for a few thousand users in
        one channel) and enough QUITs to overflow the sendq of those still waiting.
        """
        clients = list(self.net.clients)
        for client in clients:
            client.send(Message("ERROR", [f"Closing Link: {client.host} ({reason})"]))
        for client in clients:
            client.quit_reason = reason  # leaving: from now on nothing more is sent to it
        for client in clients:
            client.link.close()

    async def wait_stopped(self) -> None:
        await self._done.wait()
