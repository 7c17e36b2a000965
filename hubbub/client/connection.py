"""The asyncio IRC client: a socket, a `ClientProtocol`, and the loop between them.

This layer only moves lines: bytes from the socket go to the protocol, the lines it
wants sent go to the socket, and its events go to every subscriber. It also owns
what needs a clock and a socket: connecting over TCP or TLS, noticing a dead
connection (our own PING after a silence), and reconnecting with exponential
backoff, after which the protocol registers again and rejoins its channels. The one
refusal it does not retry is of the server password (`refuses_password`): the same
password would be refused again, and every try counts against the address.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import random
import socket
import ssl
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar, overload

from hubbub.client import events as ev
from hubbub.client.isupport import ISupport
from hubbub.client.protocol import DEFAULT_CAPS, ClientProtocol, refuses_password, utc_now
from hubbub.irc.framing import TOO_LONG, LineBuffer
from hubbub.irc.message import Message

__all__ = ["Client", "ClientConfig", "NotConnectedError", "Subscription"]

E = TypeVar("E", bound=ev.Event)
log = logging.getLogger("hubbub.client")

MAX_LINE = 512 + 8191 + 2  # a message and its tags, as the message-tags spec bounds them
READ_CHUNK = 65536
KEEPALIVE_TOKEN = "hubbub-keepalive"
CLOSE_GRACE = 3.0  # seconds to wait for the server to close after our QUIT
CLOSED = "connection closed by the server"


def _why(exc: OSError) -> str:
    """A connection failure in words."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        # what to do first: the status bar keeps the first 60 characters
        return f"untrusted certificate: --insecure to accept it ({exc.verify_message})"
    if isinstance(exc, ssl.SSLError):
        if exc.reason in ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG", "HTTP_REQUEST"):
            # what OpenSSL says when the other end answers a TLS hello with plain text
            return "no TLS on that port: try without --tls"
        return f"TLS failed ({exc.reason or exc})"
    if isinstance(exc, ConnectionRefusedError) or exc.errno == errno.ECONNREFUSED:
        return "connection refused (is the server running?)"
    if isinstance(exc, socket.gaierror):
        return f"unknown host ({exc.strerror})"
    return exc.strerror or str(exc)


class NotConnectedError(ConnectionError):
    """A command was given while there is no registered connection to send it on."""


@dataclass
class ClientConfig:
    """Where to connect and as whom; how patient to be."""

    host: str = "localhost"
    port: int = 6667
    nick: str = "guest"
    username: str | None = None
    realname: str = "hubbub chat"
    tls: bool = False
    tls_verify: bool = True
    password: str | None = None  # the server password (PASS)
    sasl_account: str | None = None  # defaults to the nick
    sasl_password: str | None = None  # SASL PLAIN when the server offers it
    channels: tuple[str, ...] = ()  # joined once registered
    caps: frozenset[str] = DEFAULT_CAPS  # requested when offered
    fetch_history: bool = True  # CHATHISTORY on join, where supported
    reconnect: bool = True
    reconnect_delay: float = 1.0  # first wait; doubles up to reconnect_max_delay
    reconnect_max_delay: float = 60.0
    connect_timeout: float = 15.0
    registration_timeout: float = 60.0
    ping_interval: float = 90.0  # silence after which we PING the server
    ping_timeout: float = 60.0  # further silence after which the connection is dead


class Subscription:
    """A queue of every event the client reports from the moment it was created.

    Bounded: a consumer that stops reading loses the oldest events (counted in
    `dropped`) rather than growing memory without end.
    """

    def __init__(self, client: Client, maxsize: int) -> None:
        self._client = client
        self._queue: asyncio.Queue[ev.Event] = asyncio.Queue()
        self._maxsize = maxsize
        self._recent: deque[ev.Event] = deque(maxlen=20)
        self.dropped = 0

    def _put(self, event: ev.Event) -> None:
        if self._queue.qsize() >= self._maxsize:
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(event)

    def pending(self) -> list[ev.Event]:
        """Take every event already queued, without waiting."""
        out = []
        while not self._queue.empty():
            out.append(self._queue.get_nowait())
        return out

    async def get(self, timeout: float | None = None) -> ev.Event:
        event = await asyncio.wait_for(self._queue.get(), timeout)
        self._recent.append(event)
        return event

    @overload
    async def wait_for(self, kind: type[E], where: Callable[[E], bool] | None = None,
                       timeout: float = 10.0) -> E: ...
    @overload
    async def wait_for(self, kind: Callable[[ev.Event], bool], where: None = None,
                       timeout: float = 10.0) -> ev.Event: ...

    async def wait_for(self, kind, where=None, timeout=10.0):  # type: ignore[no-untyped-def]
        """The next event of type `kind` (matching `where`), skipping others; TimeoutError if none."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            try:
                if remaining <= 0:
                    raise TimeoutError
                event = await self.get(remaining)
            except TimeoutError:
                wanted = getattr(kind, "__name__", repr(kind))
                raise TimeoutError(f"no {wanted} within {timeout}s; last events: {list(self._recent)}") from None
            if isinstance(kind, type):
                if isinstance(event, kind) and (where is None or where(event)):
                    return event
            elif kind(event):
                return event

    def close(self) -> None:
        self._client._subscribers.discard(self)

    def __aiter__(self) -> AsyncIterator[ev.Event]:
        return self

    async def __anext__(self) -> ev.Event:
        return await self.get()


class Client:
    """An IRC connection that keeps itself alive: connect, register, chat, reconnect."""

    def __init__(self, config: ClientConfig, *, clock: Callable[[], datetime] = utc_now) -> None:
        self.config = config
        self.protocol = ClientProtocol(
            config.nick,
            username=config.username,
            realname=config.realname,
            password=config.password,
            sasl_account=config.sasl_account,
            sasl_password=config.sasl_password,
            wanted_caps=config.caps,
            channels=config.channels,
            fetch_history=config.fetch_history,
            clock=clock,
        )
        self._subscribers: set[Subscription] = set()
        self._task: asyncio.Task[None] | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._closing = False
        self._wake = asyncio.Event()
        self.last_disconnect: str | None = None
        # The server's words (464) when it refused the server password on the last
        # connection: the reason not to reconnect, which a new start() clears.
        self.password_refused: str | None = None

    # -- state ----------------------------------------------------------------------

    @property
    def nick(self) -> str:
        return self.protocol.nick

    @property
    def caps(self) -> frozenset[str]:
        return frozenset(self.protocol.caps)

    @property
    def isupport(self) -> ISupport:
        return self.protocol.isupport

    @property
    def connected(self) -> bool:
        """A socket is open (registration may still be under way)."""
        return self._writer is not None

    @property
    def ready(self) -> bool:
        """Registered and past the welcome burst: commands will be understood."""
        return self._writer is not None and self.protocol.ready

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    # -- lifecycle --------------------------------------------------------------------

    def subscribe(self, maxsize: int = 10_000) -> Subscription:
        """Every event from now on, in order, for one consumer."""
        sub = Subscription(self, maxsize)
        self._subscribers.add(sub)
        return sub

    def start(self) -> None:
        """Connect in the background, and keep reconnecting until `close()`."""
        if self.running:
            return
        self._closing = False
        self._task = asyncio.create_task(self._run(), name=f"irc-client-{self.config.nick}")

    async def connect(self, timeout: float | None = None) -> None:
        """Connect and register; ConnectionError if the first attempt fails.

        Later disconnections are handled by reconnecting (when configured), not raised.
        """
        sub = self.subscribe()
        self.start()
        limit = timeout or (self.config.connect_timeout + self.config.registration_timeout)
        try:
            async with asyncio.timeout(limit):
                async for event in sub:
                    if isinstance(event, ev.Registered):
                        return
                    if isinstance(event, ev.Disconnected):
                        await self.close()
                        raise ConnectionError(event.reason)
        except TimeoutError:
            await self.close()
            raise ConnectionError("timed out connecting") from None
        finally:
            sub.close()

    async def close(self, reason: str = "") -> None:
        """Say goodbye (QUIT) if connected, stop reconnecting, and wait until closed."""
        self._closing = True
        self._wake.set()
        task = self._task
        if task is None or task.done():
            return
        if self._writer is not None:
            self.protocol.quit(reason)
            self._flush()
        try:
            await asyncio.wait_for(asyncio.shield(task), CLOSE_GRACE)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def wait_closed(self) -> None:
        if self._task is not None:
            await asyncio.shield(self._task)

    async def drain(self) -> None:
        """Wait until the socket accepted what was written (for bulk senders)."""
        if self._writer is not None:
            await self._writer.drain()

    # -- commands ---------------------------------------------------------------------

    def _require(self) -> ClientProtocol:
        if self._writer is None:
            raise NotConnectedError("not connected")
        return self.protocol

    def send(self, message: Message | str) -> None:
        """Send one message or raw line as is."""
        self._require().send(message)
        self._flush()

    def privmsg(self, target: str, text: str) -> None:
        self._require().privmsg(target, text)
        self._flush()

    def notice(self, target: str, text: str) -> None:
        self._require().notice(target, text)
        self._flush()

    def action(self, target: str, text: str) -> None:
        self._require().action(target, text)
        self._flush()

    def reply(self, target: str, msgid: str, text: str) -> bool:
        """Say `text` in answer to the message `msgid` (`+draft/reply`); False when the
        server relays no client tags (`tags_supported`)."""
        ok = self._require().reply(target, msgid, text)
        self._flush()
        return ok

    def react(self, target: str, msgid: str, emoji: str, on: bool = True) -> bool:
        """React to the message `msgid` with `emoji`, or take it back (`on` False); False
        when the server relays no client tags (`tags_supported`)."""
        ok = self._require().react(target, msgid, emoji, on)
        self._flush()
        return ok

    def join(self, channel: str, key: str | None = None) -> None:
        self._require().join(channel, key)
        self._flush()

    def part(self, channel: str, reason: str = "") -> None:
        self._require().part(channel, reason)
        self._flush()

    def forget(self, channel: str) -> None:
        """Do not rejoin a channel after reconnecting; nothing is sent, so this works while disconnected."""
        self.protocol.forget(channel)

    def change_nick(self, nick: str) -> None:
        self._require().change_nick(nick)
        self._flush()

    def set_topic(self, channel: str, topic: str | None = None) -> None:
        self._require().set_topic(channel, topic)
        self._flush()

    def whois(self, nick: str) -> None:
        self._require().whois(nick)
        self._flush()

    def set_away(self, text: str | None) -> None:
        self._require().set_away(text)
        self._flush()

    def silence(self, mask: str) -> bool:
        """Have the server keep `mask`'s private messages, notices and invites from us
        (SILENCE), now and after every reconnection; kept while disconnected too. Whether
        it was sent now (False: not registered, or a server without SILENCE)."""
        sent = self.protocol.silence(mask)
        self._flush()
        return sent

    def unsilence(self, mask: str) -> bool:
        """Take `mask` off the server's SILENCE list, and off those given after a reconnection."""
        sent = self.protocol.unsilence(mask)
        self._flush()
        return sent

    def request_silence_list(self) -> bool:
        """Ask for the server's SILENCE list (a `SilenceList` event); False when it has none."""
        ok = self._require().request_silence_list()
        self._flush()
        return ok

    @property
    def silence_supported(self) -> bool:
        return self.protocol.silence_supported

    def request_history(self, target: str, limit: int = 50) -> bool:
        ok = self._require().request_history(target, limit)
        self._flush()
        return ok

    def request_history_before(self, target: str, *, msgid: str | None = None, time: datetime | None = None,
                               limit: int = 50) -> bool:
        ok = self._require().request_history_before(target, msgid=msgid, time=time, limit=limit)
        self._flush()
        return ok

    def request_targets(self, since: datetime, until: datetime, limit: int = 20) -> bool:
        ok = self._require().request_targets(since, until, limit)
        self._flush()
        return ok

    @property
    def history_supported(self) -> bool:
        return self.protocol.history_supported

    def mark_read(self, target: str, when: datetime) -> bool:
        """Mark `target` read up to `when` (the server-time of the newest message read) for
        the account, on every connection of it (`MARKREAD`); False where no marker of it
        is kept (no `draft/read-marker`, not logged in, a conversation the server refused)."""
        ok = self._require().mark_read(target, when)
        self._flush()
        return ok

    def request_read_marker(self, target: str) -> bool:
        """Ask for the account's read marker of `target` (a `ReadMarker` event); False where none is kept."""
        ok = self._require().request_read_marker(target)
        self._flush()
        return ok

    @property
    def read_markers_supported(self) -> bool:
        """The server keeps read markers for us: `draft/read-marker`, logged in to an account."""
        return self.protocol.read_markers_supported

    @property
    def account(self) -> str | None:
        """The account this connection is logged in to (900), or None."""
        return self.protocol.account

    def history_waiting(self, target: str) -> bool:
        return self.protocol.history_waiting(target)

    @property
    def tags_supported(self) -> bool:
        return self.protocol.tags_supported

    async def request(self, message: Message, timeout: float = 10.0) -> tuple[Message, ...]:
        """Send a command and return everything the server answered to it (labeled-response)."""
        protocol = self._require()
        sub = self.subscribe()
        try:
            label = protocol.send_labeled(message)
            self._flush()
            if label is None:
                raise RuntimeError("the server does not offer labeled-response")
            event = await sub.wait_for(ev.LabeledResponse, lambda e: e.label == label, timeout)
            return event.messages
        finally:
            sub.close()

    # -- internals ------------------------------------------------------------------

    def _publish(self, events: Iterable[ev.Event]) -> None:
        for event in events:
            for sub in list(self._subscribers):
                sub._put(event)

    def _flush(self) -> list[ev.Event]:
        """Write what the protocol wants sent, then report what it produced."""
        lines = self.protocol.lines_to_send()
        if self._writer is not None and lines:
            self._writer.write(b"".join(line.encode("utf-8", "replace") + b"\r\n" for line in lines))
        events = self.protocol.events_received()
        self._publish(events)
        return events

    def _tls_context(self) -> ssl.SSLContext | None:
        if not self.config.tls:
            return None
        context = ssl.create_default_context()
        if not self.config.tls_verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    async def _run(self) -> None:
        cfg = self.config
        delay = cfg.reconnect_delay
        attempt = 0
        while True:
            attempt += 1
            self.password_refused = None
            self._publish([ev.Connecting(cfg.host, cfg.port, attempt)])
            reason, registered, was_connected = await self._session()
            if self.password_refused is not None:
                reason = f"server password refused: {reason}"
            self.last_disconnect = reason
            if registered:
                delay, attempt = cfg.reconnect_delay, 0
            if self._closing or not cfg.reconnect or self.password_refused is not None:
                self._publish([ev.Disconnected(reason, None, was_connected)])
                return
            wait = min(delay, cfg.reconnect_max_delay) * random.uniform(0.8, 1.2)
            self._publish([ev.Disconnected(reason, wait, was_connected)])
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)
            if self._closing:
                return
            delay = min(delay * 2, cfg.reconnect_max_delay)

    async def _session(self) -> tuple[str, bool, bool]:
        """One connection from connect to close: why it ended, whether we registered, whether we connected."""
        cfg = self.config
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(cfg.host, cfg.port, ssl=self._tls_context(),
                                        server_hostname=cfg.host if cfg.tls else None),
                cfg.connect_timeout)
        except TimeoutError:
            return f"could not connect to {cfg.host}:{cfg.port}: timed out", False, False
        except OSError as exc:  # ssl.SSLError is an OSError too
            return f"could not connect to {cfg.host}:{cfg.port}: {_why(exc)}", False, False
        if self._closing:  # close() was called while we were connecting
            writer.close()
            return "closed", False, False
        self._writer = writer
        self.protocol.connection_made()
        self._publish([ev.Connected(cfg.host, cfg.port, cfg.tls)])
        self._flush()
        try:
            reason, registered = await self._read_loop(reader)
            return reason, registered, True
        finally:
            self._writer = None
            self.protocol.connection_lost()
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    async def _read_loop(self, reader: asyncio.StreamReader) -> tuple[str, bool]:
        cfg = self.config
        buffer = LineBuffer(MAX_LINE)
        registered = False
        pinged = False
        reason = CLOSED
        while True:
            if not self.protocol.ready:
                timeout = cfg.registration_timeout
            else:
                timeout = cfg.ping_timeout if pinged else cfg.ping_interval
            try:
                data = await asyncio.wait_for(reader.read(READ_CHUNK), timeout)
            except TimeoutError:
                if not self.protocol.ready:
                    return "registration timed out", registered
                if pinged:
                    return "ping timeout", registered
                pinged = True
                self.protocol.send(Message("PING", [KEEPALIVE_TOKEN]))
                self._flush()
                continue
            except OSError as exc:
                return f"connection lost: {exc.strerror or exc}", registered
            if not data:
                return reason, registered
            pinged = False
            for raw in buffer.feed(data):
                if raw is TOO_LONG:
                    continue
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError:
                    line = raw.decode("latin-1")  # old servers and bridges still send it
                try:
                    self.protocol.receive_line(line)
                except Exception:  # a bug of ours must not cost the connection
                    log.exception("could not handle %r", line)
            for event in self._flush():
                if isinstance(event, ev.Registered):
                    registered = True
                elif isinstance(event, ev.ServerError):
                    reason = event.text or reason
                elif refuses_password(event):
                    self.password_refused = event.text
                    if reason == CLOSED:  # until the server's ERROR says more
                        reason = event.text or reason
