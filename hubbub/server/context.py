"""What command handlers get: their connection, and the services they may use.

`Services` is built once by the runtime: the chat state (read-only to handlers), the
engine that events are emitted to, the configuration, the clock, this node's indexes
(MONITOR watchers, server-notice watchers, local connections) and the hooks into the
runtime (slow work off the loop, REHASH and DIE). `Context` is one connection's view
of them, made once per connection and passed to every handler it runs; handlers reach
nothing else.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from hubbub.config import Config
from hubbub.irc.casemap import casefold
from hubbub.irc.message import Message
from hubbub.server.apply import Outcome
from hubbub.server.audit import Audit
from hubbub.server.cloaks import Cloaks, default_suffix
from hubbub.server.connection import CHATHISTORY, READ_MARKER, Connection
from hubbub.server.delivery import new_msgid
from hubbub.server.departures import Departures, received_until
from hubbub.server.engine import Engine, Then
from hubbub.server.events import Event, Synced, UserQuit
from hubbub.server.gateways import GatewayPasswords
from hubbub.server.monitor import MonitorIndex
from hubbub.server.output import Link
from hubbub.server.snotice import ServerNotices
from hubbub.server.state import ChatState
from hubbub.server.throttle import FailureThrottle
from hubbub.server.user import User, host_of, new_node_id, node_of

if TYPE_CHECKING:
    from hubbub.server.ghosts import Ghosts
    from hubbub.server.storage import Store

T = TypeVar("T")
# Runs `work` somewhere it may block, then `resume(result)` back on the event loop; False
# (and nothing run) when too much such work waits already.
Offload = Callable[[Connection, Callable[[], Any], Callable[[Any], None]], bool]
# Awaits what `make()` returns (a store query), then `resume(result)`, or `failed(error)`.
Resume = Callable[[Any], None]
Await = Callable[[Connection, Callable[[], Awaitable[Any]], Resume, Callable[[BaseException], None]], None]
# Counts a connection against another address from now on (a WebIRC gateway named its
# user's), or says why that address may not have one more.
Readdress = Callable[[Link, str], str | None]


class Later(Generic[T]):
    """The rest of a command that waits (slow work, a store query, a check shared with
    other connections): see Context.later. Nothing runs once the client has left."""

    __slots__ = ("conn", "labeled", "resume", "held")

    def __init__(self, conn: Connection, resume: Callable[[T], None], hold_input: bool) -> None:
        self.conn, self.resume, self.held = conn, resume, hold_input
        self.labeled = conn.suspend_label()
        if hold_input:
            conn.link.hold_input()

    def __call__(self, result: T) -> None:
        self.run(self.resume, result)

    def run(self, callback: Callable[[Any], None], value: Any) -> None:
        """`callback(value)` in `resume`'s place (a query's failure)."""
        conn = self.conn
        if conn.gone:
            return
        conn.resume_label(self.labeled)
        passing, conn.passing = conn.passing, True  # its output is the command's, not held
        try:
            callback(value)
        finally:
            conn.passing = passing
            conn.finish_label()
            if self.held:
                conn.link.release_input()

    def cancel(self) -> None:
        """The wait did not begin (the server is busy): the command answers now itself."""
        self.conn.resume_label(self.labeled)
        if self.held:
            self.conn.link.release_input()


def run_inline(conn: Connection, work: Callable[[], T], resume: Callable[[T], None]) -> bool:
    """The offload used without a runtime (unit tests): do the work right away."""
    resume(work())
    return True


def same_count(link: Link, ip: str) -> str | None:
    """Without a runtime nothing counts connections: any address may have one more."""
    return None


def no_awaiting(
    conn: Connection, make: Callable[[], Awaitable[Any]], resume: Callable[[Any], None],
    failed: Callable[[BaseException], None],
) -> None:  # fmt: skip
    """Without a runtime there is no store to wait for."""
    failed(RuntimeError("no event loop to wait on"))


class ServerControl(Protocol):
    """What operator commands may ask of the running server, without importing it."""

    config_name: str  # the configuration file, as RPL_REHASHING names it

    def rehash(self, report: Callable[[str | None, list[str]], None]) -> None:
        """Reload the configuration off the loop and put it in force, then
        `report(error, notes)`: the error that kept it out, or notes on what stayed."""

    def die(self, reason: str) -> None:
        """Shut the server down as SIGTERM does."""


class Services:
    def __init__(
        self,
        config: Config,
        state: ChatState,
        engine: Engine,
        clock: Callable[[], float],
        offload: Offload = run_inline,
        control: ServerControl | None = None,
        node_id: str | None = None,
    ) -> None:
        self.config = config
        self.state = state
        self.engine = engine
        self.clock = clock
        # When this node started: STATS u, INFO and 003 say it. Not `state.created`, which
        # in a cluster is the network's founding (a joining node takes it from the snapshot).
        self.started = clock()
        self.offload = offload
        self.awaiting: Await = no_awaiting  # set by the runtime
        self.readdress: Readdress = same_count  # set by the runtime (its connection limits)
        self.paces: Callable[[str], bool] = lambda ip: False  # set by the runtime (Admission.paces)
        # the timeout sweep recomputes its interval at once (a ghost asked: ghosts.py); set by the runtime
        self.wake_sweep: Callable[[], None] = lambda: None
        self.store: Store | None = None  # set by the runtime once the store is open
        # what SCRAM's made-up keys for unknown names derive from (handlers/sasl.py): the
        # store's, shared by every node and kept across restarts; this process's without one
        self.decoy_secret = os.urandom(32)
        self.cloaks = Cloaks()  # the hosts others see (cloaks.py): keyed by that secret too
        self.control = control
        self.motd = config.motd_lines()
        self.monitors = MonitorIndex()  # MONITOR: which local connections watch which nick
        self.departures = Departures()  # when local users last left channels (autoreplay)
        # connections asked whether they are still there, for a login of their account
        # refused their nick (ghosts.py): set by build_core, which subscribes it
        self.ghosts: Ghosts | None = None
        accounts = config.accounts
        # failed logins on this node, counted at once: by address and account pair, by address, by
        # account (logins.py), and OPER, WEBIRC and PASS guesses by address (`ip:`, `pass:`); the
        # network's count (the state's, from the log) may lag behind by a round trip to the log,
        # or by an outage of it (logins.throttle_wait); a connection counts its own
        self.login_throttle = FailureThrottle(accounts.login_failures, accounts.login_window)
        # accounts registered by IP address, on this node (NickServ REGISTER, draft/account-registration)
        self.register_throttle = FailureThrottle(accounts.register_limit, accounts.register_window)
        self.gateway_passwords = GatewayPasswords()  # WebIRC passwords checked already
        self.notices = ServerNotices()  # local operators watching server notices (+s)
        self.local: dict[str, Context] = {}  # uid -> this node's connections
        self.tls_port: int | None = None  # the first TLS listener's port, once listening (STS)
        self.tls_self_signed = False  # the certificate served is self-signed: no STS policy (sts.py)
        # This process's incarnation: every uid begins with it, so that when a node of a
        # cluster is lost the others know whose users were its own (user.node_of).
        self.node_id = node_id or new_node_id()
        self.audit = Audit()  # the server log's lines on connections (rate limited)
        self._uids = itertools.count(1)
        self.local_peak = 0  # the most registered users this node had at once (LUSERS)

    @property
    def name(self) -> str:
        return self.config.server.name

    def set_clock(self, clock: Callable[[], float]) -> None:
        """Replace the clock (tests do), for the connections made already too."""
        self.clock = clock
        for ctx in self.local.values():
            ctx.now = clock

    def cloak(self, ip: str, group: str) -> str | None:
        """The cloak a user from `ip` (counted as `group`) is shown with, None when its
        address is shown as it is (server.cloak_*)."""
        server = self.config.server
        suffix = server.cloak_suffix or default_suffix(server.network)
        return self.cloaks.shown(ip, group, self.decoy_secret, server.cloak_hosts, suffix, server.cloak_exempt)

    def host_for(self, ip: str, group: str) -> str:
        """The host a new user from `ip` gets: its cloak, or the address itself."""
        cloaked = self.cloak(ip, group)
        return cloaked if cloaked is not None else host_of(ip)

    def new_uid(self) -> str:
        return f"{self.node_id}{next(self._uids):x}"

    def connections(self) -> list[Connection]:
        return [ctx.conn for ctx in self.local.values()]

    def disconnect(self, conn: Connection, reason: str, tell: bool = True) -> None:
        """Tell the client why with ERROR (unless its link is gone already), take it
        out of the chat, close its link."""
        if conn.gone:
            return
        user = conn.user
        if tell:
            conn.send_last(Message("ERROR", [f"Closing Link: {user.host} ({reason})"]))
        conn.leave(reason)
        self.local.pop(user.uid, None)
        if user.uid in self.state.users:
            reads = CHATHISTORY in conn.caps
            seen = received_until(reason, conn.last_activity)
            quit_event = UserQuit(user.uid, reason, self.clock(), new_msgid(), seen=seen, reads_history=reads)
            self.engine.emit(None, quit_event)
        conn.close_link()  # after a labeled reply still being collected, if any

    def recall_markers(self, conn: Connection) -> None:
        """Learn the read markers of the channels `conn` is in, for a connection whose
        account or read-marker capability changed after it joined them: a RENAME shown to
        it as PART and JOIN must give each marker at once (Connection.told_marker), and
        cannot stop amid others' lines to ask the store. Without an account or a store
        there is no marker (`*`); from the store, the client's next lines wait for the
        answer (a login's or a CAP's reply is not kept waiting), and a marker told
        meanwhile is newer than the one read."""
        user = conn.user
        if READ_MARKER not in conn.caps or not user.channels:
            return
        store, account = self.store, user.account
        channels = list(user.channels.values())
        if store is None or account is None:
            for channel in channels:
                conn.told_marker(channel.key, None)
            return
        folded = casefold(account)
        keys = [channel.key for channel in channels]
        # what others' events send meanwhile waits too: a RENAME shown as PART and JOIN
        # meanwhile gives its MARKREAD once the markers are known (LateMarker)
        holding = conn.waiting is None
        if holding:
            conn.hold_deliveries()

        async def ask() -> list[float | None]:
            return [await store.marker(folded, key) for key in keys]

        def learn(found: list[float | None] | None) -> None:
            if found is not None and user.account == account and READ_MARKER in conn.caps:
                # (else another login, or the capability turned off, since)
                # by channel, not by the name read: a channel renamed meanwhile keeps its
                # markers under its new name (as the store does), and is learnt under it
                for channel, when in zip(channels, found, strict=True):
                    if conn.markers is None or channel.key not in conn.markers:
                        conn.told_marker(channel.key, when)
            if holding and conn.waiting is not None:
                conn.release_deliveries()

        self.awaiting(conn, ask, learn, lambda error: learn(None))

    def hang_up(self, conn: Connection, reason: str) -> None:
        """End a connection whose user has left the chat already (quit elsewhere)."""
        if conn.gone:
            return
        conn.send_last(Message("ERROR", [f"Closing Link: {conn.user.host} ({reason})"]))
        conn.leave(reason)
        self.local.pop(conn.user.uid, None)
        conn.close_link()


class Context:
    """One connection's handle on the services: what every handler is given."""

    __slots__ = ("conn", "user", "svc", "state", "engine", "now")

    def __init__(self, conn: Connection, svc: Services) -> None:
        self.conn = conn
        self.user: User = conn.user
        self.svc = svc
        self.state = svc.state
        self.engine = svc.engine
        self.now: Callable[[], float] = svc.clock  # on every message's path: bound once here

    def emit(self, event: Event, then: Then | None = None) -> None:
        """Hand `event` to the engine; `then(outcome)` once it is applied. The connection
        is the event's origin (a clustered engine holds its input until it is ordered)."""
        self.engine.emit(self.conn, event, then)

    def caught_up(self, then: Callable[[], None], unavailable: Callable[[], None]) -> None:
        """`then()` once this node has applied every event the network ordered before this
        call. In a cluster a node's replica may stand a little behind the log (it is busy,
        or was paused); a read that must see what another node has acknowledged (the
        account a login names) waits for this: one round trip to the log. At once on a
        single node. `unavailable()` instead when the log stays out of reach (the client
        is to be told so). Neither for a connection that has gone meanwhile."""
        conn = self.conn

        def back(outcome: Outcome) -> None:
            if conn.gone:
                return
            if outcome.rejected is None:
                then()
            else:
                unavailable()

        self.engine.emit(conn, Synced(self.user.uid, self.now()), back)

    @property
    def config(self) -> Config:
        return self.svc.config

    @property
    def name(self) -> str:
        return self.svc.config.server.name

    @property
    def notices(self) -> ServerNotices:
        return self.svc.notices

    @property
    def monitors(self) -> MonitorIndex:
        return self.svc.monitors

    def server_of(self, user: User) -> str:
        """The name of the node `user` is connected to (ours, unless in a cluster)."""
        return self.state.nodes.get(node_of(user.uid)) or self.svc.config.server.name

    def disconnect(self, reason: str) -> None:
        self.svc.disconnect(self.conn, reason)

    def later(self, resume: Callable[[T], None], hold_input: bool = False) -> Later[T]:
        """`resume` as the rest of the command being handled, to be called once what
        it waits for is there: its labeled reply is set aside until then (lines
        answered meanwhile go out unlabeled) and completed by it. With `hold_input`
        the client's later lines wait for it too (offload and awaiting hold them
        themselves)."""
        return Later(self.conn, resume, hold_input)

    def run_blocking(self, work: Callable[[], T], resume: Callable[[T], None]) -> bool:
        """Run slow `work` (password hashing, reading files) off the event loop, then
        `resume(result)` back on it, unless the client has left meanwhile.

        Handlers stay synchronous: they hand the slow part over and return. The
        client's later lines are held until `resume` has run, so its replies keep
        their order, and a labeled command's reply is completed by `resume`.
        False when the work was refused (too much waits already: the server is busy);
        the handler answers at once then (RPL_TRYAGAIN).
        """
        conn = self.conn
        if conn.gone:
            return False
        later = self.later(resume)
        if self.svc.offload(conn, work, later):
            return True
        later.cancel()
        return False

    def run_query(
        self, make: Callable[[], Awaitable[T]], resume: Callable[[T], None], failed: Callable[[BaseException], None]
    ) -> None:
        """Ask the store (`make()` returns the coroutine), then `resume(result)` on the
        loop, or `failed(error)`; the client's later lines wait meanwhile, as with
        `run_blocking`, so its replies keep their order and its label."""
        later = self.later(resume)
        self.svc.awaiting(self.conn, make, later, lambda error: later.run(failed, error))
