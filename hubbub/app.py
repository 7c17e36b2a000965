"""Assembling a running server: the chat core, its listeners and its timers.

`Runtime` is what `hubbub serve` runs and what end-to-end tests start on port 0 in
their own event loop. It puts together the chat core, the listeners and their shared
connection limits (runtime/listeners.py), the web listener (transport/web.py: the web
client, IRC over WebSocket, /healthz and /metrics), the metrics (metrics.py), the
shared output flusher, the periodic timeout sweep, the worker threads for slow work
(runtime/workers.py), configuration reloads (REHASH, SIGHUP), and a clean shutdown that
tells every client why it is being disconnected. Transports see it only through
`ConnectionHost` and `WebHost` (transport/ports.py).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, cast

from hubbub.config import Config, ConfigError, WebSection
from hubbub.engine.reconcile import reconcile
from hubbub.engine.replica import LOST_TEXT, Replica
from hubbub.engine.settled import Elsewhere, SettledReads
from hubbub.irc.message import Message
from hubbub.metrics import TRANSPORTS, ClusterStatus, Metrics
from hubbub.plain.intake import Intake
from hubbub.runtime import descriptors
from hubbub.runtime.listeners import Admission, Listeners
from hubbub.runtime.persistence import Persistence
from hubbub.runtime.proxied import Accepted, ProxyHeaders
from hubbub.runtime.workers import WorkerPool
from hubbub.server import caps, floodexempt, gateways, keepalive
from hubbub.server.connection import Connection
from hubbub.server.core import build_core, local_core, new_state
from hubbub.server.departures import stop_time
from hubbub.server.handlers.registration import announce_cap_changes
from hubbub.server.session import Session
from hubbub.server.user import new_node_id
from hubbub.store import shared
from hubbub.transport.flusher import Flusher
from hubbub.transport.gate import GateSettings
from hubbub.transport.httpconn import HttpConnection
from hubbub.transport.peer import Network, is_trusted, networks
from hubbub.transport.ports import Counted, Link, SessionPort, TransportCounters
from hubbub.transport.tcp import TcpConnection, tune

if TYPE_CHECKING:
    from aiohttp import web
    from OpenSSL import SSL

    from hubbub.engine.redis import RedisLog

log = logging.getLogger("hubbub")

# for IRC over TLS, for HTTPS, and whether the certificate is self-signed (no STS then)
Contexts = tuple["SSL.Context | None", "ssl.SSLContext | None", bool]
Report = Callable[[str | None, list[str]], None]  # a reload's outcome: (error, notes)

SHUTDOWN_FLUSH_SECONDS = 2.0
SHUTTING_DOWN = "the server is shutting down"  # why a reload asked for at shutdown did not happen
HEALTH_CHECK_SECONDS = 2.0  # a readiness check slower than this counts as failed
# Checks whose failure leaves this node serving its clients: /healthz says "degraded"
# with 200 (a load balancer keeps sending clients). Any other check failing is a 503.
DEGRADING_CHECKS = frozenset({"store", "redis"})
# Settings bound to things made once at startup; a reload keeps their running values.
FIXED_SETTINGS = (
    ("server", "name"), ("listen", "irc"), ("listen", "tls"), ("listen", "web"), ("store", "db"), ("store", "readers"),
    ("store", "commit_on_loop"), ("cluster", "url"), ("cluster", "keyspace"), ("cluster", "node_timeout"),
    ("web", "tls"), ("web", "handshake_timeout"), ("limits", "ipv6_prefix"),
)  # fmt: skip


def _answer(reports: list[Report], error: str | None, notes: list[str]) -> None:
    """Tell every request a reload served how it went."""
    for report in reports:
        try:
            report(error, list(notes))
        except Exception:  # one requester's bug must not keep the others waiting
            log.exception("internal error answering a REHASH")


class Runtime:
    def __init__(
        self, config: Config, loader: Callable[[], Config] | None = None, config_name: str = "defaults"
    ) -> None:
        """`loader` reads the configuration again for REHASH and SIGHUP (by default the
        configuration given is kept, and only the MOTD file is read again)."""
        self.config = config
        self.loader = loader or (lambda: self.config)
        self.config_name = config_name  # shown by REHASH (RPL_REHASHING)
        self._gate_settings: tuple[object, GateSettings] = (None, GateSettings())  # (for limits, settings)
        self._plain_sockets: list[socket.socket] = []  # listening for plain IRC (see _tune_listening)
        self._proxied: ProxyHeaders | None = None  # connections from listen.proxy_from awaiting their header
        self._proxies: list[Network] = networks(config.listen.proxy_from)
        self.cluster: RedisLog | None = None
        if config.cluster.url:  # events ordered by a log in Redis that every node shares
            from hubbub.engine.redis import RedisLog  # the Redis client only for a cluster's node

            node = new_node_id()
            replica = Replica(new_state(config), node)
            self.services = build_core(config, replica, time.time, self._offload, self, node)
            self.cluster = RedisLog(config.cluster, replica, config.server.name, time.time, self._new_node,
                                    lambda: reconcile(self.services))  # fmt: skip
            # (not when we stop: our own NodeLost then ends connections told why already)
            replica.losing = lambda: None if self._stopping else self._disconnect_everyone(LOST_TEXT)
            departures = self.services.departures
            replica.extras["departures"] = (departures.dump, departures.load)
        else:
            self.services = local_core(config, time.time, self._offload, self)
        self.state = self.services.state
        self.engine = self.services.engine
        self.persistence = Persistence(config, self.services, self.engine)
        self.flusher: Flusher
        self.admission = Admission(lambda: self.config.limits, self._refuse_address, self.services.audit,
                                   lambda ip: gateways.is_gateway(self.config.webirc, ip),
                                   network=self._network_connects)  # fmt: skip
        self.services.readdress = self._readdress
        self.services.paces = self.admission.paces
        self.listeners = Listeners()
        self.transport_counters = {kind: TransportCounters() for kind in TRANSPORTS}
        self.metrics = Metrics(self.state, self.admission, self.transport_counters, time.time,
                               self.services.started)  # fmt: skip
        self.engine.subscribe(self.metrics.on_event)
        # Readiness checks beyond the listeners, by name (see `health`, DEGRADING_CHECKS)
        self.health_checks: dict[str, Callable[[], Awaitable[bool]]] = {"store": self._store_answers}
        self._unsynced_since: float | None = None  # when /healthz first found the replica off the log
        if self.cluster is not None:
            self.health_checks["redis"] = self._redis_reachable
            self.health_checks["cluster"] = self._cluster_ready
            self.metrics.cluster = self._cluster_status
        self.persistence.written = self.metrics.history_written
        self.metrics.store = self.persistence.status
        self.tls_context: SSL.Context | None = None  # for new TLS connections (a reload replaces it)
        self.https_context: ssl.SSLContext | None = None  # for new HTTPS ones (web.tls; a reload too)
        self._web: web.AppRunner | None = None
        self.workers = WorkerPool()
        self._tasks: set[asyncio.Task[Any]] = set()  # the loop keeps only weak references
        self._sweeper: asyncio.Task[None] | None = None
        self._swept_at = 0.0  # the loop's time of the last timeout sweep (set at start)
        self._stopping = False
        self._done = asyncio.Event()
        self._reloading = False  # a reload is being read (REHASH, SIGHUP): see rehash
        self._next_reload: list[Report] | None = None  # asked for meanwhile: one more read, for them

    @property
    def clock(self) -> Callable[[], float]:
        return self.services.clock

    @clock.setter
    def clock(self, clock: Callable[[], float]) -> None:
        """Tests replace the clock (K-line expiry, LIST's time filters)."""
        self.services.set_clock(clock)

    # -- ConnectionHost: what the transports ask of us ----------------------------------

    def gate_settings(self) -> GateSettings:
        """The limits every gate enforces: one (frozen) object for all, per configuration."""
        limits = self.config.limits
        if self._gate_settings[0] is not limits:
            self._gate_settings = (limits, GateSettings.from_limits(limits))
        return self._gate_settings[1]

    def counters(self, kind: str) -> TransportCounters:
        return self.transport_counters.setdefault(kind, TransportCounters())

    def handshake_timeout(self) -> float:
        return self.config.limits.tls_handshake_timeout

    def admit(self, link: Counted, per_ip: bool = True) -> str | None:
        return self.admission.admit(link, per_ip)

    def hand_over(self, old: Counted, new: Counted) -> str | None:
        return self.admission.hand_over(old, new)

    def release(self, link: Counted, failed_handshake: str | None = None) -> None:
        self.admission.release(link, failed_handshake)

    def _readdress(self, link: object, ip: str) -> str | None:
        """A WebIRC gateway's connection speaks for `ip` now: the limits count it there."""
        return self.admission.readdress(cast(Counted, link), ip)

    def open_session(
        self, link: Link, ip: str, secure: bool, certfp: str | None = None, irc_only: bool = False
    ) -> SessionPort:
        if irc_only:
            return Session(self.services, link, ip, secure, certfp)
        return Intake(self.services, link, ip, secure, asyncio.get_running_loop().call_later, certfp)

    # -- WebHost: what the web listener asks of us -------------------------------------

    @property
    def web_settings(self) -> WebSection:
        return self.config.web

    def metrics_page(self) -> tuple[bytes, str]:
        return self.metrics.render()

    def client_settings(self) -> dict[str, str | bool]:
        server = self.config.server
        return {"channel": server.default_channel, "network": server.network, "password": bool(server.password)}

    async def health(self) -> tuple[bool, dict[str, Any]]:
        """Whether this node can serve its clients: every listener accepts connections and
        every check but the degrading ones (DEGRADING_CHECKS) passes in time. A degrading
        check failing makes the status "degraded", still ready: chat goes on without the
        store (history and account commands fail), and through a Redis pause."""
        listeners = self.listeners.serving()
        checks = {}
        for name, check in self.health_checks.items():
            try:
                checks[name] = bool(await asyncio.wait_for(check(), HEALTH_CHECK_SECONDS))
            except Exception as exc:  # str() of some is empty (a timeout): the type says what
                log.warning("health check %s failed: %s: %s", name, type(exc).__name__, exc)
                checks[name] = False
        failed = {name for name, passed in checks.items() if not passed}
        ready = not self._stopping and bool(listeners) and all(listeners.values()) and failed <= DEGRADING_CHECKS
        status = "unavailable" if not ready else "degraded" if failed else "ok"
        return ready, {"status": status, "listeners": listeners, "checks": checks}

    async def _store_answers(self) -> bool:
        """Degrading: the store is open and answers a query; `health` logs its error, type
        and text."""
        store = self.persistence.store
        if store is None:
            return False
        await store.ping()
        return True

    async def _redis_reachable(self) -> bool:
        """Degrading: the node's last call to Redis (its reader's, every 250 ms at most) went
        through. No call of its own: a Redis that does not answer would only slow /healthz."""
        assert self.cluster is not None
        return self.cluster.down_since is None

    async def _cluster_ready(self) -> bool:
        """Readiness in a cluster: the node does not refuse what its clients send (it does
        once Redis has been out of reach for `cluster.node_timeout`), and it has not been
        off the shared log (starting again from a snapshot) for that long. Shorter, both
        are a pause its clients ride out, and every node would fail it at once."""
        assert self.cluster is not None
        if self.cluster.replica.refusing is not None:
            return False
        if self.cluster.synced.is_set():
            self._unsynced_since = None
            return True
        now = time.monotonic()
        if self._unsynced_since is None:
            self._unsynced_since = now
        return now - self._unsynced_since < self.config.cluster.node_timeout

    def _cluster_status(self) -> ClusterStatus:
        assert self.cluster is not None
        replica = self.cluster.replica
        return ClusterStatus(self.cluster.down_since is None, replica.refusing is not None,
                             len(self.state.nodes), replica.unpublished())  # fmt: skip

    def _network_connects(self, key: str, limit: int) -> float | None:
        """The wait limits.connects_per_ip sets by the whole network's connections from `key`."""
        return self.state.connects.blocked(key, self.clock(), limit)

    def _refuse_address(self, ip: str) -> str | None:
        """K-lines on the address alone act at once; those naming a username, at registration."""
        kline = self.state.klines.find("", ip, ip, self.clock())
        if kline is None:
            return None
        self.services.notices.send(f"K-line active for a connection from {ip}: {kline.mask}")
        self.services.audit.kline_hit(kline.mask, f"a connection from {ip}")
        return f"K-Lined: {kline.reason}"

    @property
    def addresses(self) -> list[tuple[str, str, int]]:
        return self.listeners.addresses

    @property
    def connections(self) -> set[Counted]:
        """Every connection counted: IRC clients, and HTTP ones to the web listener."""
        return self.admission.links

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Open the store, then listen on every configured address; raises TlsError,
        StoreError or OSError if one of them cannot be used."""
        loop = asyncio.get_running_loop()
        self.flusher = Flusher(loop)
        proxied = self._proxied = ProxyHeaders(self.services.audit)
        self.metrics.proxied = lambda: proxied.outcomes
        self._fit_descriptors()
        # a certificate problem stops us before anything listens; the TLS stack (pyOpenSSL
        # and cryptography, some 60 ms of imports) is loaded by a server with TLS only
        if self.config.listen.tls:
            from hubbub.transport import tls

            self.tls_context = tls.server_context(self.config.tls, self.config.server.name)
            self.services.tls_self_signed = tls.is_self_signed(self.config.tls.cert)
        if self.config.listen.web and self.config.web.tls:
            from hubbub.transport import tls

            self.https_context = tls.https_context(self.config.tls, self.config.server.name)
        await self.persistence.open()  # before anyone connects: the state starts from the store
        if self.cluster is not None and self.persistence.store is not None and shared(self.config.store.db):
            # history reads wait for what other nodes relayed to be stored (engine/settled.py)
            replica = self.cluster.replica
            elsewhere = Elsewhere(self.state, lambda: replica.node, lambda: self.config.history, lambda: replica.source)
            self.engine.subscribe(elsewhere)
            self.services.store = SettledReads(self.persistence.store, elsewhere)
        self.flusher.barrier = self.persistence.barrier
        if self.persistence.recorder is not None:
            self.persistence.recorder.wake = self.flusher.due
            if self.persistence.recorder.pending:  # written while the store opened: the first pass takes them
                self.flusher.due()
        try:
            if self.cluster is not None:  # the network's state replaces what the store gave
                await self.cluster.start()
            for spec in self.config.listen.irc:
                await self._listen("irc", spec, None)
            if self.tls_context is not None:
                for spec in self.config.listen.tls:
                    await self._listen("tls", spec, self.tls_context)
                self.services.tls_port = next(port for kind, _, port in self.addresses if kind == "tls")
                if self.services.tls_self_signed and self.config.tls.sts:
                    log.info("no STS policy is offered with a self-signed certificate (%s): clients that "
                             "honour STS would insist on TLS and refuse it", self.config.tls.cert)
            if self.config.listen.web:
                await self._listen_web(self.config.listen.web)
        except BaseException:
            self.listeners.close()
            if self._web is not None:
                await self._web.cleanup()
            if self.cluster is not None:
                await self.cluster.stop()
            await self.persistence.close()
            raise
        self.metrics.start(loop)
        self._swept_at = loop.time()
        self._sweeper = asyncio.create_task(self._sweep_forever())

    async def _listen(self, kind: str, spec: str, context: SSL.Context | None) -> None:
        if context is None:  # accepted by us, onto a transport of our own (sockets.py)
            sockets = await self.listeners.listen_accepting(kind, spec, self._proxy_aware(self._accept_plain))
            self._plain_sockets.extend(sockets)
            self._tune_listening()
        else:  # accepted by us, so that the handshake counts against the limits (tcp.py)
            await self.listeners.listen_accepting(kind, spec, self._proxy_aware(self._accept_tls))

    def _proxy_aware(self, accepted: Accepted) -> Callable[[socket.socket, str], None]:
        """A listener's handler of accepted sockets: a connection from a trusted proxy
        (listen.proxy_from) is handed on once its PROXY header has named the client
        (runtime/proxied.py); any other at once, as the client it is."""

        def accept(sock: socket.socket, ip: str) -> None:
            if self._proxies and self._proxied is not None and is_trusted(ip, self._proxies):
                room = self.admission.max_clients() - len(self.admission.links)  # for clients, and their descriptors
                self._proxied.take(sock, ip, accepted, self.config.limits.proxy_header_timeout, room)
            else:
                accepted(sock, ip, False)

        return accept

    def _accept_plain(self, sock: socket.socket, ip: str, secure: bool) -> None:
        TcpConnection.accept_plain(self, sock, ip, secure)

    def _tune_listening(self) -> None:
        """Plain connections take their socket options from their listening socket
        (tcp.tune); a reload's send buffer and TCP_NODELAY reach the connections accepted
        after it (and the others through their `configure`)."""
        settings = self.gate_settings()
        for sock in self._plain_sockets:
            if sock.fileno() >= 0:
                tune(sock, settings.send_buffer, settings.nodelay)

    def _accept_tls(self, sock: socket.socket, ip: str, secure: bool = True) -> None:
        """A TLS connection gets the context of the moment (a reload replaces it);
        `secure` (what a proxy said of its client's TLS) changes nothing: it is TLS here."""
        assert self.tls_context is not None
        TcpConnection.accept_tls(self, self.tls_context, sock, ip)

    def _fit_descriptors(self) -> None:
        """As many descriptors as we may have, and no more connections than they allow."""
        limit = descriptors.raise_limit()
        self.admission.ceiling = descriptors.client_ceiling(limit)
        log.info("descriptor limit %d: room for %d connections", limit, self.admission.ceiling)
        note = self._max_clients_note(self.config.limits.max_clients)
        if note is not None:
            log.warning("%s", note)

    def _max_clients_note(self, configured: int) -> str | None:
        """Why `limits.max_clients` cannot be honoured, if it cannot (0, no limit, always can)."""
        ceiling = self.admission.ceiling
        if not configured or configured <= ceiling:
            return None
        return (f"limits.max_clients = {configured}, but the descriptor limit leaves room for {ceiling} "
                f"connections: accepting at most {ceiling} (raise it with ulimit -n, or LimitNOFILE= "
                "in a systemd unit)")  # fmt: skip

    async def _listen_web(self, spec: str) -> None:
        """The HTTP listener, HTTPS with web.tls: the web client, WebSocket, /healthz, /metrics.
        aiohttp is imported here, by a server that has one: it is a fifth of the start of
        one without (`--no-web`, a cluster's nodes behind a proxy, the tests' many)."""
        from aiohttp import web

        from hubbub.transport.web import GuardedHandler, build_app

        settings = self.config.web
        options: dict[str, Any] = {"access_log": None, "keepalive_timeout": settings.handshake_timeout}
        runner = self._web = web.AppRunner(
            build_app(self), handle_signals=False, shutdown_timeout=SHUTDOWN_FLUSH_SECONDS, **options
        )
        await runner.setup()
        server = runner.server
        assert server is not None
        loop = asyncio.get_running_loop()

        def handler() -> asyncio.Protocol:  # aiohttp's own, whose error answers get our headers
            return GuardedHandler(server, loop=loop, **options)

        # accepted by us, so that every connection counts from accept (transport/httpconn.py);
        # an HTTPS one gets the context of the moment (a reload replaces it)
        def accept(sock: socket.socket, ip: str, tls_at_proxy: bool) -> None:
            HttpConnection.accept(self, handler, self.https_context, sock, ip, tls_at_proxy)

        await self.listeners.listen_accepting("web", spec, self._proxy_aware(accept))

    def irc_address(self) -> tuple[str, int]:
        """The first IRC listener's address (what tests connect to)."""
        return self.listeners.address("irc")

    def tls_address(self) -> tuple[str, int]:
        """The first TLS listener's address."""
        return self.listeners.address("tls")

    def web_url(self, path: str = "/") -> str:
        """The web listener's URL (http://HOST:PORT/, https with web.tls)."""
        host, port = self.listeners.address("web")
        shown = f"[{host}]" if ":" in host else host
        return f"{'https' if self.config.web.tls else 'http'}://{shown}:{port}{path}"

    async def _sweep_forever(self) -> None:
        """Sweep the timeouts every `sweep_interval`, measured from the last sweep: a
        reload starts this again (`_apply_config`) so that a shorter interval applies at
        once, and reloads in quick succession still leave the sweep its turn."""
        loop = asyncio.get_running_loop()
        woken = asyncio.Event()
        self.services.wake_sweep = woken.set  # a ghost asked: its wait is shorter (ghosts.py)
        while True:
            woken.clear()
            # the limits may be reloaded: ask each time
            ghosts = self.services.ghosts
            probing = ghosts is not None and ghosts.probing()
            interval = keepalive.sweep_interval(self.config.limits, self.config.accounts, probing)
            try:
                await asyncio.wait_for(woken.wait(), max(0.0, self._swept_at + interval - loop.time()))
                continue  # the interval again, from the same last sweep
            except TimeoutError:
                pass
            self._swept_at = loop.time()
            try:
                keepalive.sweep(self.services, self.clock())
                self.services.audit.flush()  # what a flood kept out of the log, counted
            except Exception:  # a bug of ours must not end every timeout for good
                log.exception("timeout sweep failed")

    async def stop(self, reason: str = "Server shutting down") -> None:
        """Close listeners, tell every client why, give output a moment to drain."""
        if self._stopping:
            await self._done.wait()
            return
        self._stopping = True
        self.listeners.close()
        if self._proxied is not None:
            self._proxied.close()
        self.metrics.stop()
        if self._sweeper is not None:
            self._sweeper.cancel()
        self.workers.stop()
        # What the accounts here were shown until now is not replayed when they rejoin
        # after a restart, here or on another node (server/departures.py): `now`, for
        # those whose output all went out. Not for a client still behind when the grace
        # period ends (its connection is cut, the lines queued for it dropped), nor for
        # one whose deliveries were held behind a JOIN's replay (dropped with it).
        if self.cluster is not None:
            self.cluster.leaving = True
        now = stop_time(self.services.clock(), self.state.clock_us, self.cluster is not None)
        conns = self.services.connections()
        cut = {conn.user.uid for conn in conns if conn.waiting is not None}
        # a JOIN not applied here yet is applied by the others after the cut: its user never
        # saw that channel until `now`, so the others note no departure of it at all (this
        # node's own, from its state, stay right: the user is not in the channel here)
        late = self.cluster.replica.joining() if self.cluster is not None else set()
        self._disconnect_everyone(reason)
        self.flusher.flush()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SHUTDOWN_FLUSH_SECONDS
        while self._clients() and loop.time() < deadline:
            await asyncio.sleep(0.02)
        for link in self._clients():
            link.abort()
        cut.update(conn.user.uid for conn in conns if conn.link.cut)
        shown = [conn.user for conn in conns if conn.user.uid not in cut]
        self.persistence.departures = self.services.departures.stopping(shown, now)
        if self.cluster is not None:  # our users quit for everyone else, naming the node that stopped
            # ("Server shutting down" alone reads, to those on other nodes, as if theirs were)
            await self.cluster.stop(f"{self.config.server.name}: {reason}", seen=now, unseen=tuple(sorted(cut | late)))
        if self._web is not None:  # WebSockets are closed by now; HTTP connections end here
            await self._web.cleanup()
        for link in list(self.connections):  # an HTTP one still in its TLS handshake
            link.abort()
        await self.flusher.drain()
        if self.cluster is None:  # in a cluster, the channels go on on the other nodes
            self.persistence.ending()
        await self.persistence.close()
        self._done.set()

    def _clients(self) -> list[Counted]:
        """The connections that are IRC clients (not HTTP ones still waiting for a request)."""
        return [link for link in self.connections if link.kind != "http"]

    def _new_node(self, node: str) -> None:
        """A new incarnation in the cluster (the old one was declared lost)."""
        self.services.node_id = node

    def _disconnect_everyone(self, reason: str) -> None:
        """Send every client its ERROR and close it, without the QUIT of everybody else.

        Disconnecting clients one by one would tell each remaining member of a channel
        about every earlier leaver: quadratic work (seconds for a few thousand users in
        one channel) and enough QUITs to overflow the sendq of those still waiting.
        """
        conns = self.services.connections()
        for conn in conns:  # now, not behind replies waiting for the network's order
            conn.send_last(Message("ERROR", [f"Closing Link: {conn.user.host} ({reason})"]))
        # No UserQuit is applied here, so the log's line for each departure is written
        # here (rate limited, the rest counted); a cluster's are, as the network applies
        # the node's departure (engine/redis.py)
        audit = self.services.audit if self.cluster is None else None
        for conn in conns:
            conn.leave(reason)  # from now on nothing more is sent to it
            if audit is not None:
                audit.left(conn.user, reason)
        if audit is not None:
            audit.flush()
        for conn in conns:
            conn.close_link()

    async def wait_stopped(self) -> None:
        await self._done.wait()

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- ServerControl: what operator commands may ask (see context.py) -------------

    def die(self, reason: str) -> None:
        """Shut down as SIGTERM does (after the current command's output is written)."""
        self._spawn(self.stop(reason))

    def rehash(self, report: Report | None = None) -> None:
        """Read the configuration again in a worker thread, then put it in force here.

        Nobody is disconnected. `report(error, notes)` follows, once for every request:
        the error that kept the new configuration out (the old one stays), or notes on
        settings that could not change while running. An operator's REHASH holds its
        later lines until then (handlers/operators.py), so an answer that never came
        would stall that client: a request refused because the server is stopping is
        reported at once.

        One reload runs at a time. A request made while one is being read is served by
        one more read after it (requests waiting together share that read): the file is
        always read after the request, and an older read never replaces a newer one in
        force, whichever worker thread finishes first.
        """
        reports = [report] if report is not None else []
        if self._stopping:
            _answer(reports, SHUTTING_DOWN, [])
            return
        if self._reloading:
            if self._next_reload is None:
                self._next_reload = []
            self._next_reload.extend(reports)
            return
        self._reload(reports)

    def _reload(self, reports: list[Report]) -> None:
        """One reload: read off the loop, put in force, then answer every request it serves."""
        self._reloading = True

        def done(finished: Future[tuple[Config, list[str], Contexts]]) -> None:
            _answer(reports, *self._put_in_force(finished))
            self._reloading = False
            waiting, self._next_reload = self._next_reload, None
            if waiting is not None:  # asked for while this one was being read
                if self._stopping:
                    _answer(waiting, SHUTTING_DOWN, [])
                else:
                    self._reload(waiting)

        self.workers.submit(self._read_config, done)

    def _put_in_force(self, finished: Future[tuple[Config, list[str], Contexts]]) -> tuple[str | None, list[str]]:
        """Apply what a worker read, log it and tell the operators watching server notices:
        (the error that kept it out, or None; notes on what stayed)."""
        error: str | None = None
        notes: list[str] = []
        try:
            if finished.cancelled():  # the server stopped meanwhile (WorkerPool.stop)
                error = SHUTTING_DOWN
            else:
                config, motd, contexts = finished.result()
                notes = self._apply_config(config, motd, contexts)
        except ConfigError as exc:
            error = str(exc)
        except Exception:
            log.exception("reloading the configuration failed")
            error = "internal error (see the server log)"
        if error is not None:
            log.error("configuration not reloaded: %s", error)
            self.services.notices.send(f"Configuration not reloaded: {error}")
        else:
            for note in notes:
                log.warning("%s", note)
            log.info("configuration reloaded from %s", self.config_name)
            self.services.notices.send("Configuration reloaded")
        return error, notes

    def _read_config(self) -> tuple[Config, list[str], Contexts]:
        """The blocking part of a reload (worker thread): the file, the MOTD, and the TLS
        contexts of the new certificate (a broken pair is refused here, before any use)."""
        config = self.loader()
        motd = config.motd_lines()
        context = https = None
        self_signed = False
        if self.tls_context is not None:
            from hubbub.transport import tls

            context = tls.server_context(config.tls, self.config.server.name)
            self_signed = tls.is_self_signed(config.tls.cert)
        if self.https_context is not None:
            from hubbub.transport import tls

            https = tls.https_context(config.tls, self.config.server.name)
        return config, motd, (context, https, self_signed)

    def _apply_config(self, config: Config, motd: list[str], contexts: Contexts) -> list[str]:
        notes = []
        for section, key in FIXED_SETTINGS:
            running = getattr(getattr(self.config, section), key)
            if getattr(getattr(config, section), key) != running:
                setattr(getattr(config, section), key, running)
                notes.append(f"{section}.{key} cannot change while the server runs; restart to apply it")
        context, https, self_signed = contexts
        if context is not None:  # new connections get the new certificate (and tls.client_certs)
            self.tls_context = context
            self.services.tls_self_signed = self_signed
        if https is not None:
            self.https_context = https
        previous_max_clients = self.config.limits.max_clients
        exempting_before = floodexempt.rule(self.config.limits)
        offered_before = caps.offered(self.config)
        self.config = config
        self._proxies = networks(config.listen.proxy_from)  # for connections accepted from now on
        self.services.config = config
        announce_cap_changes(self.services, offered_before, caps.offered(config))
        self.persistence.reconfigure(config)  # what history records, and retention
        self.services.motd = motd
        self.state.whowas.resize(config.limits.whowas_entries)
        for throttle in (self.services.login_throttle, self.state.login_failures):  # what was counted still counts
            throttle.limit, throttle.window = config.accounts.login_failures, config.accounts.login_window
        for throttle in (self.services.register_throttle, self.state.registrations):
            throttle.limit, throttle.window = config.accounts.register_limit, config.accounts.register_window
        self.state.connects.window = config.limits.connect_window  # the admission's own follows it by itself
        if config.limits.max_clients != previous_max_clients:
            note = self._max_clients_note(config.limits.max_clients)
            if note is not None:
                notes.append(note)
        settings = self.gate_settings()
        self._tune_listening()
        for link in self.connections:  # sendq and flood limits reach existing clients too
            link.configure(settings)
        if floodexempt.rule(config.limits) != exempting_before:  # and who is exempt from flood control
            for conn in self.services.connections():
                floodexempt.refresh(conn, config.limits)
        # the timeout sweep's sleep was measured for the old timeouts: one lowered here would
        # wait it out (up to 5 s past the new one), so the sweep starts again on the new,
        # counting from its last run
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = asyncio.create_task(self._sweep_forever())
        return notes

    # -- slow work off the loop (Network.offload) ----------------------------------------

    def _offload(self, conn: Connection, work: Callable[[], Any], resume: Callable[[Any], None]) -> bool:
        """Run `work` on a worker thread; `resume(result)` back on the loop. The client's
        later lines are held meanwhile, so they are handled after the reply. False when
        refused (too much work waits already, in all or from the client's address: its
        group, which for a WebIRC gateway's user is the user's own, not the gateway's)."""
        if self._stopping:
            return False
        return self.workers.offload(
            conn.link, work, resume, lambda: self.services.disconnect(conn, "Internal error"),
            conn.user.group, self.config.limits.password_checks_per_address,
        )  # fmt: skip
