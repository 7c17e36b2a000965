"""Listening sockets and the connection limits every listener shares.

`Admission` counts connections in all and per IP address, whatever listener they came
through (TCP, TLS, or the web listener's HTTP and WebSocket), from the moment they are
accepted (a TLS one too, during its handshake), and refuses past the limits; the chat
core may add a refusal of its own (an address K-line). A WebIRC gateway's connections
count in all only, until WEBIRC names the address each speaks for (`readdress`): from
then on they count against that address. The limit in all is also kept
within the descriptors the process may have (descriptors.py). Each connection and each
refusal is logged, at a bounded rate. `Listeners` opens the sockets and remembers the
addresses they got, logging each as
`listening <kind> <host>:<port>` so tools can find a port chosen with 0.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import time
from collections import Counter
from collections.abc import Callable

from hubbub.config import LimitsSection, parse_hostport
from hubbub.runtime.descriptors import UNKNOWN, client_ceiling, effective_max_clients
from hubbub.server.addresses import Listed, address_of, counted_as
from hubbub.server.audit import Audit
from hubbub.server.throttle import FailureThrottle, longest, seconds_words
from hubbub.transport.ports import Counted

log = logging.getLogger("hubbub")
# The listening lines are how scripts find a port chosen with 0: logged whatever the
# level asked for (cli.py keeps this logger at INFO)
listening_log = logging.getLogger("hubbub.listening")


class ListenError(OSError):
    """An address we were told to listen on cannot be used; the message names it."""


class Admission:
    def __init__(
        self, limits: Callable[[], LimitsSection], refuse: Callable[[str], str | None], audit: Audit | None = None,
        gateway: Callable[[str], bool] = lambda ip: False, clock: Callable[[], float] = time.monotonic,
        network: Callable[[str, int], float | None] = lambda key, limit: None,
    ) -> None:  # fmt: skip
        """`network(key, limit)`: the wait the whole network's count of connections from an
        address (`key`, as counted_as names it) sets for `limits.connects_per_ip`, or None
        (a cluster: every node's connections; this node's own count here is the one that
        has them at once)."""
        self._limits = limits
        self._clock = clock
        self._network = network
        # IRC connections accepted per address lately (limits.connects_per_ip): a client
        # reconnecting in a loop costs a registration, joins and replays each time
        self._recent = FailureThrottle(0, 60.0)
        self._exempt = Listed()  # limits.connect_exempt
        self._refuse = refuse  # the core's own reason to turn an address away, if any
        self._gateway = gateway  # whether an address is a WebIRC gateway's (speaks for many)
        self.audit = audit or Audit()
        self.ceiling = client_ceiling(UNKNOWN)  # connections the descriptor limit leaves room for
        self.links: set[Counted] = set()
        self.per_ip: Counter[str] = Counter()
        self._shared: set[Counted] = set()  # counted in all only (a trusted proxy's, a gateway's)
        self._readdressed: dict[Counted, str] = {}  # counted against another address than theirs (WEBIRC)
        # by transport ("tcp", "tls", "websocket", "http"), for the metrics
        self.open: Counter[str] = Counter()
        self.accepted: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()

    def max_clients(self) -> int:
        """The limit in all, as the descriptors let us honour it."""
        return effective_max_clients(self._limits().max_clients, self.ceiling)

    def admit(self, link: Counted, per_ip: bool = True) -> str | None:
        """Count a new connection, or say why it is refused. `per_ip` False: it counts
        in all but not against its address (a trusted proxy speaks for many clients).

        An HTTP connection is not logged as a connection (page loads and scrapes would
        fill the log); the WebSocket it may become is (`hand_over`). A WebIRC gateway's
        connection counts as a trusted proxy's until it names its user's address.
        """
        per_ip = per_ip and not self._gateway(link.ip)
        paced = self._paced(link, per_ip)
        refusal = self._refusal(link, per_ip, paced)
        if refusal is not None:
            self.refused[link.kind] += 1
            self.audit.refused(link.ip, refusal)
            return refusal
        self._count(link, per_ip, paced)
        if link.kind != "http":
            self.audit.connected(link.ip, link.secure)
        return None

    def hand_over(self, old: Counted, new: Counted) -> str | None:
        """`old`, counted, goes on as `new` (an HTTP connection that became a WebSocket,
        whose address may be another: the client's behind a trusted proxy). Checked again
        as a new connection without `old`'s count; refused, neither counts."""
        self._uncount(old)
        return self.admit(new)

    def readdress(self, link: Counted, ip: str) -> str | None:
        """`link`, counted, speaks for someone at `ip` from now on (a WebIRC gateway's
        connection named its user's address): it counts against `ip` instead of its own
        address, within `limits.max_clients_per_ip` there; or why not (then its count
        stays as it was, and the caller closes it). Address K-lines are the chat core's
        to check: it knows the host too."""
        if link not in self.links:
            return None  # gone meanwhile: nothing to move
        lim = self._limits()
        key = counted_as(ip, lim.ipv6_prefix)
        if link not in self._shared and self._readdressed.get(link, self._key(link.ip)) == key:
            return None  # counted there already
        if lim.max_clients_per_ip and self.per_ip[key] >= lim.max_clients_per_ip:
            self.refused[link.kind] += 1
            return "Too many connections from your IP address"
        self._uncount_address(link)
        self._shared.discard(link)
        self._readdressed[link] = key
        self.per_ip[key] += 1
        return None

    def _key(self, ip: str) -> str:
        """What `ip` counts under (addresses.py); limits.ipv6_prefix is fixed while we run."""
        return counted_as(ip, self._limits().ipv6_prefix)

    def _refusal(self, link: Counted, per_ip: bool, paced: bool) -> str | None:
        lim = self._limits()
        if len(self.links) >= self.max_clients():
            return "Server is full"
        if per_ip and lim.max_clients_per_ip and self.per_ip[self._key(link.ip)] >= lim.max_clients_per_ip:
            return "Too many connections from your IP address"
        if paced:
            key, limit = self._key(link.ip), lim.connects_per_ip
            wait = longest(self._recent.blocked(key, self._clock(), limit), self._network(key, limit))
            if wait is not None:
                return f"Too many connections from your IP address lately; try again in {seconds_words(wait)}"
        return self._refuse(link.ip)

    def _paced(self, link: Counted, per_ip: bool) -> bool:
        """Whether `link` counts against limits.connects_per_ip: an IRC connection (not an
        HTTP one: a page's assets) counted against its own address, not an exempt one."""
        if not (per_ip and link.kind != "http" and self.paces(link.ip)):
            return False
        self._recent.window = self._limits().connect_window  # REHASH may change it
        return True

    def paces(self, ip: str) -> bool:
        """Whether an IRC connection from `ip` counts against limits.connects_per_ip (a
        limit is set, the address is not exempt, it is no WebIRC gateway's). The chat core
        asks it of each arrival, for a cluster's count (`Connected.paced`)."""
        lim = self._limits()
        if not lim.connects_per_ip or self._gateway(ip):
            return False
        address = address_of(ip)
        return address is None or not self._exempt(lim.connect_exempt, address)

    def _count(self, link: Counted, per_ip: bool, paced: bool) -> None:
        self.links.add(link)
        if paced:
            now = self._clock()
            self._recent.sweep(now)  # those past the window: forgotten, the oldest first
            self._recent.failed(self._key(link.ip), now)
        if per_ip:
            self.per_ip[self._key(link.ip)] += 1
        else:
            self._shared.add(link)
        self.open[link.kind] += 1
        self.accepted[link.kind] += 1

    def _uncount(self, link: Counted) -> None:
        if link not in self.links:
            return
        self.links.discard(link)
        self.open[link.kind] -= 1
        self._uncount_address(link)
        self._shared.discard(link)
        self._readdressed.pop(link, None)

    def _uncount_address(self, link: Counted) -> None:
        """Take `link` out of its address's count (none for one counted in all only)."""
        if link in self._shared:
            return
        key = self._readdressed.get(link) or self._key(link.ip)
        self.per_ip[key] -= 1
        if self.per_ip[key] <= 0:
            del self.per_ip[key]

    def release(self, link: Counted, failed_handshake: str | None = None) -> None:
        if failed_handshake is not None:
            self.audit.handshake_failed(link.ip, failed_handshake)
        self._uncount(link)


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

    def is_serving(self) -> bool:
        """Open and accepting (for readiness; a pause after running out of descriptors is not)."""
        return self.sock.fileno() >= 0 and self._retry is None

    def close(self) -> None:
        if self.sock.fileno() < 0:
            return
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        else:
            self.loop.remove_reader(self.sock.fileno())
        self.sock.close()


class Listeners:
    """Every listening socket is ours (`Accepting`): each connection is counted, and put
    on its transport, by the listener's own handler."""

    def __init__(self) -> None:
        self.accepting: list[Accepting] = []
        self.addresses: list[tuple[str, str, int]] = []  # (kind, host, port)
        self._labelled: list[tuple[str, Accepting]] = []

    async def listen_accepting(
        self, kind: str, spec: str, accepted: Callable[[socket.socket, str], None]
    ) -> list[socket.socket]:
        """Listen for TCP connections, each handed to `accepted(socket, address)` as it is
        accepted (see `Accepting`), on every interface for an empty host. The sockets
        listening (to set the options their connections inherit)."""
        host, port = parse_hostport(spec)
        opened: list[socket.socket] = []
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
            )
            for family, kind_, proto, _, address in dict.fromkeys(infos):  # each address once
                sock = socket.socket(family, kind_, proto)
                opened.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind(address)
                sock.listen(BACKLOG)
                sock.setblocking(False)
        except OSError as exc:
            for sock in opened:
                sock.close()
            # with several listeners, "Address already in use" alone leaves the operator guessing
            raise ListenError(f"cannot listen on {spec} ({kind}): {exc.strerror or exc}") from exc
        for sock in opened:
            accepting = Accepting(sock, accepted)
            self.accepting.append(accepting)
            addr = sock.getsockname()
            self.add_address(kind, addr[0], addr[1])
            self._labelled.append((f"{kind} {addr[0]}:{addr[1]}", accepting))
        return opened

    def add_address(self, kind: str, host: str, port: int) -> None:
        self.addresses.append((kind, host, port))
        shown = f"[{host}]" if ":" in host else host
        listening_log.info("listening %s %s:%d", kind, shown, port)

    def address(self, kind: str) -> tuple[str, int]:
        """The first listener of `kind`'s address."""
        _, host, port = next(a for a in self.addresses if a[0] == kind)
        return host, port

    def serving(self) -> dict[str, bool]:
        """Each listening address, as `kind host:port`, and whether it accepts connections."""
        return {label: server.is_serving() for label, server in self._labelled}

    def close(self) -> None:
        for accepting in self.accepting:
            accepting.close()
        self.accepting = []
