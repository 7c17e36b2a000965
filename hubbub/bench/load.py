"""Lean IRC load connections: raw asyncio Protocols that count lines instead of parsing them.

A load generator that parses every line it receives becomes the bottleneck long before
a fast server does: fanout to 1,000 clients is hundreds of thousands of lines a second.
So these connections are deliberately not an IRC client library. They speak just enough
IRC to register, join a channel, answer PING and bounce a PRIVMSG, with no parsing on
the hot path:

- while measuring, a receiver adds `chunk.count(b"\\n")` (one C call per read, however
  many lines it holds) and notes the time; a PING is spotted with a substring search
  and answered (and not counted);
- a few receivers also carry a `Sampler`, which does split lines to read the send time
  and sequence number every benchmark message carries, for latency and order checks;
- during setup a connection waits for one reply at a time (`expect`): a token such as
  `b" 366 "` searched for in the received bytes, registered before the command that
  causes it is sent, so no reply can slip past.

Times are `time.monotonic_ns()`: the same clock in every process of one machine, so a
message sent by one generator process can be timed by another.

IRC over WebSocket (`--transport websocket`) uses the same connections with a thin
framing layer (`WebSocketLoadConnection`): the HTTP upgrade written by hand, each
received frame turned back into a CRLF-ended line for the counting above, each line
sent as one masked frame. Not a WebSocket library, for the same reason as above: a
library builds a message object per frame and wakes a task for it, which would make
the generator, not the server, the thing measured.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

_now = time.monotonic
_now_ns = time.monotonic_ns

MAX_TAIL = 16384  # bytes of an unfinished line kept between reads

# Commands awaited during setup. The last replies of a registration burst: end of
# MOTD, or "no MOTD".
WELCOME_DONE = (b"376", b"422")
REGISTRATION_FAILURES = (b"ERROR", b"432", b"433", b"436", b"437", b"464", b"465")
JOINED = (b"366",)
JOIN_FAILURES = (b"ERROR", b"403", b"405", b"471", b"473", b"474", b"475", b"477")


class ServerRefused(Exception):
    """The server answered with an error instead of the reply we waited for."""


def _command(line: bytes) -> bytes:
    """The command (or numeric) of a raw line: the first word after tags and source."""
    words = line.split(b" ", 3)
    i = 0
    if words and words[0].startswith(b"@"):
        i += 1
    if i < len(words) and words[i].startswith(b":"):
        i += 1
    return words[i] if i < len(words) else b""


def _is_ping(line: bytes) -> bytes | None:
    """The parameters of a PING line (without the line ending), or None for any other line."""
    if line.startswith(b"PING "):
        return line[5:]
    if line.startswith(b":"):
        space = line.find(b" ")
        if space > 0 and line.startswith(b"PING ", space + 1):
            return line[space + 6 :]
    return None


class Sampler:
    """Reads the timestamp and sequence number in every benchmark message one receiver gets.

    Benchmark messages are `PRIVMSG <channel> :<tag> <sender> <seq> <send_ns> <padding>`.
    Latency is receive time minus send time, with the receive time taken once per read;
    a sequence number that skips ahead is a gap (lost messages), one that goes back is
    a reordering.
    """

    __slots__ = ("marker", "latencies_ns", "gaps", "reordered", "messages", "_last_seq", "_tail")

    def __init__(self, tag: bytes) -> None:
        self.marker = b" :" + tag + b" "
        self.latencies_ns: list[int] = []
        self.gaps = 0
        self.reordered = 0
        self.messages = 0
        self._last_seq: dict[int, int] = {}
        self._tail = b""

    def reset(self) -> None:
        self.latencies_ns = []
        self.gaps = 0
        self.reordered = 0
        self.messages = 0
        self._last_seq.clear()

    def feed(self, data: bytes, now_ns: int) -> None:
        buf = self._tail + data if self._tail else data
        end = buf.rfind(b"\n")
        if end < 0:
            self._tail = buf[-MAX_TAIL:]
            return
        self._tail = buf[end + 1 :]
        marker = self.marker
        skip = len(marker)
        latencies = self.latencies_ns
        last_seq = self._last_seq
        for line in buf[:end].split(b"\n"):
            at = line.find(marker)
            if at < 0:
                continue
            fields = line[at + skip :].split(b" ", 3)
            try:
                sender, seq, sent_ns = int(fields[0]), int(fields[1]), int(fields[2])
            except (ValueError, IndexError):
                continue
            self.messages += 1
            latencies.append(now_ns - sent_ns)
            previous = last_seq.get(sender)
            if previous is not None:
                if seq > previous + 1:
                    self.gaps += seq - previous - 1
                elif seq <= previous:
                    self.reordered += 1
                    continue
            last_seq[sender] = seq


class LoadConnection(asyncio.Protocol):
    """One benchmark client connection (see the module docstring for its three modes)."""

    def __init__(self, nick: str, capture: bool = False) -> None:
        self.nick = nick
        self.transport: asyncio.Transport | None = None
        self.lines = 0  # lines counted while counting, PINGs excluded
        self.pings = 0
        self.last_rx = 0.0  # monotonic time of the last read while counting
        self.counting = False
        self.sampler: Sampler | None = None
        self.on_line: Callable[[bytes], None] | None = None
        self.on_lost: Callable[[LoadConnection], None] | None = None
        self.captured: list[bytes] | None = [] if capture else None
        self.lost = False
        self.lost_reason = ""
        self._tail = b""
        self._want: tuple[bytes, ...] = ()
        self._fail: tuple[bytes, ...] = ()
        self._text: bytes | None = None
        self._count_after = False
        self._waiter: asyncio.Future[bytes] | None = None

    # -- asyncio.Protocol ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass

    def data_received(self, data: bytes) -> None:
        if not self.counting:
            self._setup_data(data)
            return
        tail = self._tail
        self.lines += data.count(b"\n")
        self.last_rx = _now()
        if self.sampler is not None:
            self.sampler.feed(data, _now_ns())
        if b"PING" in data or (tail and b"PING" in tail + data[:8]):
            self._answer_pings(tail + data, counted=True)
        end = data.rfind(b"\n")
        if end >= 0:
            self._tail = data[end + 1 :]
        else:
            self._tail = (tail + data)[-MAX_TAIL:]

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.lost_reason = "closed by server" if exc is None else f"{type(exc).__name__}: {exc}"
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(ConnectionError(f"connection lost ({self.lost_reason})"))
        if self.on_lost is not None:
            self.on_lost(self)

    # -- setup and line modes ---------------------------------------------------------------

    def _setup_data(self, data: bytes) -> None:
        buf = self._tail + data if self._tail else data
        end = buf.rfind(b"\n")
        if end < 0:
            self._tail = buf[-MAX_TAIL:]
            return
        complete = buf[: end + 1]
        self._tail = buf[end + 1 :]
        if self.captured is not None and len(self.captured) < 200:
            self.captured.extend(line.rstrip(b"\r") for line in complete.split(b"\n")[:-1])
        if b"PING" in complete:
            self._answer_pings(complete, counted=False)
        if self.on_line is not None:
            for line in complete.split(b"\n")[:-1]:
                line = line.rstrip(b"\r")
                if _is_ping(line) is None:
                    self.on_line(line)
            return
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        hit = self._match(complete)
        if hit is None:
            return
        line, failed, stop = hit
        self._waiter = None
        if failed:
            waiter.set_exception(ServerRefused(line.decode("utf-8", "replace")))
            return
        if self._count_after:
            # Everything after the awaited line is load: start counting from here.
            self.counting = True
            self.last_rx = _now()
            self.lines += complete.count(b"\n", stop + 1)
        waiter.set_result(line)

    def _match(self, complete: bytes) -> tuple[bytes, bool, int] | None:
        """The first line of `complete` that the waiter wants or fails on: (line, failed, end).

        A cheap substring test comes first, as a JOIN storm of thousands of lines
        passes through here; only then are candidate lines split into words.
        """
        text = self._text
        if text is not None:
            at = complete.find(text)
            if at < 0:
                return None
            start = complete.rfind(b"\n", 0, at) + 1
            stop = complete.find(b"\n", at)
            return complete[start:stop].rstrip(b"\r"), False, stop
        if not any(c in complete for c in self._want) and not any(c in complete for c in self._fail):
            return None
        start = 0
        while start < len(complete):
            stop = complete.find(b"\n", start)
            line = complete[start:stop].rstrip(b"\r")
            command = _command(line)
            if command in self._want:
                return line, False, stop
            if command in self._fail:
                return line, True, stop
            start = stop + 1
        return None

    def _answer_pings(self, buf: bytes, counted: bool) -> None:
        """Answer every complete PING line in `buf`; counted ones are taken off the count."""
        replies = []
        for line in buf.split(b"\n")[:-1]:
            params = _is_ping(line.rstrip(b"\r"))
            if params is not None:
                replies.append(b"PONG " + params + b"\r\n")
        if replies:
            self.pings += len(replies)
            if counted:
                self.lines -= len(replies)
            self.send(b"".join(replies))

    # -- commands ----------------------------------------------------------------------------

    def expect(
        self,
        want: Iterable[bytes] = (),
        fail: Iterable[bytes] = (),
        text: bytes | None = None,
        count_after: bool = False,
    ) -> asyncio.Future[bytes]:
        """Wait for the first line whose command is in `want` (fail on one in `fail`), or,
        with `text`, for the first line containing that text.

        Call it before sending the command whose reply it waits for. With `count_after`
        the connection starts counting with the lines that follow the awaited one.
        """
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bytes] = loop.create_future()
        if self.lost:
            waiter.set_exception(ConnectionError(f"connection lost ({self.lost_reason})"))
            return waiter
        self._want = tuple(want)
        self._fail = tuple(fail)
        self._text = text
        self._count_after = count_after
        self.counting = False
        self._waiter = waiter
        return waiter

    def send(self, data: bytes) -> None:
        if self.transport is not None and not self.lost:
            self.transport.write(data)

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class WebSocketLoadConnection(LoadConnection):
    """A load connection speaking IRC over WebSocket (IRCv3: one line per frame).

    Frames from the server are unmasked; each data frame is one line, handed on with a
    CRLF so that everything above counts and parses as for TCP. Frames to the server
    must be masked: the mask is zero, which leaves the bytes as they are (the mask only
    protects browsers' proxies from scripted payloads; a server cannot tell).
    """

    def __init__(self, nick: str, capture: bool = False, host: str = "", path: str = "/webirc") -> None:
        super().__init__(nick, capture)
        key = base64.b64encode(os.urandom(16)).decode()
        self._request = (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                         "Sec-WebSocket-Protocol: text.ircv3.net\r\n\r\n").encode()  # fmt: skip
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._head = b""
        self._frames = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        transport.write(self._request)  # type: ignore[attr-defined]

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(f"connection lost ({self.lost_reason})"))

    def data_received(self, data: bytes) -> None:
        if not self.opened.done():
            head = self._head + data
            end = head.find(b"\r\n\r\n")
            if end < 0:
                self._head = head[-MAX_TAIL:]
                return
            self._head = b""
            status = head[: head.find(b"\r\n")]
            if not status.startswith(b"HTTP/1.1 101"):
                self.opened.set_exception(ServerRefused(status.decode("utf-8", "replace")))
                self.abort()
                return
            self.opened.set_result(None)
            data = head[end + 4 :]
        lines = self._unframe(data)
        if lines:
            super().data_received(lines)

    def _unframe(self, data: bytes) -> bytes:
        """The complete data frames of what has arrived, as CRLF-ended lines."""
        buf = self._frames + data if self._frames else data
        lines: list[bytes] = []
        pos, size_all = 0, len(buf)
        while pos + 2 <= size_all:
            opcode = buf[pos] & 0x0F
            size = buf[pos + 1] & 0x7F
            start = pos + 2
            if size == 126:
                if start + 2 > size_all:
                    break
                size, start = int.from_bytes(buf[start : start + 2], "big"), start + 2
            elif size == 127:
                if start + 8 > size_all:
                    break
                size, start = int.from_bytes(buf[start : start + 8], "big"), start + 8
            end = start + size
            if end > size_all:
                break
            if opcode <= 0x2:  # text, binary (or a continuation, which hubbub never sends)
                lines.append(buf[start:end])
            elif opcode == 0x9:  # a ping: its pong
                self._write_frame(0xA, buf[start:end])
            pos = end
        self._frames = buf[pos:]
        if not lines:
            return b""
        lines.append(b"")
        return b"\r\n".join(lines)

    def _write_frame(self, opcode: int, payload: bytes) -> None:
        if self.transport is not None and not self.lost:
            self.transport.write(_client_frame(opcode, payload))

    def send(self, data: bytes) -> None:
        """`data`: CRLF-ended IRC lines, each sent as its own frame."""
        if self.transport is None or self.lost:
            return
        lines = data.split(b"\r\n")
        if lines and not lines[-1]:
            lines.pop()
        self.transport.write(b"".join(_client_frame(0x1, line) for line in lines))


def _client_frame(opcode: int, payload: bytes) -> bytes:
    size = len(payload)
    if size < 126:
        header = bytes((0x80 | opcode, 0x80 | size))
    elif size < 65536:
        header = bytes((0x80 | opcode, 0x80 | 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((0x80 | opcode, 0x80 | 127)) + size.to_bytes(8, "big")
    return header + b"\0\0\0\0" + payload  # a zero mask: the payload as it is


# -- helpers shared by the scenarios and the worker processes ---------------------------------


async def connect(
    host: str, port: int, nick: str, timeout: float, capture: bool = False, path: str | None = None
) -> LoadConnection:
    """Open a connection and register it as `nick` (done at the end of the MOTD); with
    `path`, over a WebSocket to that path of the web listener at host:port."""
    loop = asyncio.get_running_loop()
    if path is None:
        def factory() -> LoadConnection:
            return LoadConnection(nick, capture)
    else:
        shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

        def factory() -> LoadConnection:
            return WebSocketLoadConnection(nick, capture, shown, path)
    _, conn = await asyncio.wait_for(loop.create_connection(factory, host, port), timeout)
    try:
        if isinstance(conn, WebSocketLoadConnection):
            await asyncio.wait_for(asyncio.shield(conn.opened), timeout)
        waiter = conn.expect(WELCOME_DONE, REGISTRATION_FAILURES)
        name = nick.encode()
        conn.send(b"NICK " + name + b"\r\nUSER " + name + b" 0 * :hubbub bench\r\n")
        await asyncio.wait_for(waiter, timeout)
    except BaseException:
        conn.abort()
        raise
    return conn


def failure_reason(exc: BaseException) -> str:
    """A short, countable name for why a connection did not register."""
    if isinstance(exc, ServerRefused):
        words = str(exc).split(" ")
        code = next((w for w in words[1:3] if w.isdigit() or w == "ERROR"), words[0])
        return f"server said {code}: {str(exc)[:80]}" if code == "ERROR" else f"server said {code}"
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return "timeout"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, OSError) and exc.errno is not None:
        import errno

        return errno.errorcode.get(exc.errno, str(exc.errno))
    return type(exc).__name__


@dataclass
class Registrations:
    """What `connect_many` got: the connections (None where one failed, in nick order),
    the failures by reason, each success's connect-to-end-of-MOTD time in seconds, and
    when the last success finished (monotonic)."""

    conns: list[LoadConnection | None]
    failures: Counter[str]
    durations: list[float]
    last_ok_at: float

    @property
    def ok(self) -> list[LoadConnection]:
        return [c for c in self.conns if c is not None]


async def connect_many(
    host: str,
    port: int,
    nicks: Sequence[str],
    concurrency: int,
    timeout: float,
    on_done: Callable[[int, int], None] | None = None,
    path: str | None = None,
    nodes: Sequence[tuple[str, int]] = (),
) -> Registrations:
    """Connect and register every nick, at most `concurrency` at a time (over WebSocket
    to `path` when given; nick i on node i mod len(nodes) when `nodes` names a cluster's)."""
    result = Registrations([None] * len(nicks), Counter(), [], 0.0)
    gate = asyncio.Semaphore(max(1, concurrency))
    done = 0

    async def one(index: int) -> None:
        nonlocal done
        async with gate:
            started = _now()
            try:
                to_host, to_port = nodes[index % len(nodes)] if nodes else (host, port)
                result.conns[index] = await connect(to_host, int(to_port), nicks[index], timeout, path=path)
                result.last_ok_at = _now()
                result.durations.append(result.last_ok_at - started)
            except (TimeoutError, OSError, ServerRefused, ConnectionError) as exc:
                result.failures[failure_reason(exc)] += 1
            done += 1
            if on_done is not None:
                on_done(done, len(nicks))

    await asyncio.gather(*(one(i) for i in range(len(nicks))))
    return result


async def join_all(conns: Sequence[LoadConnection], channel: str, concurrency: int, timeout: float) -> None:
    """Join every connection to `channel`; each waits for its end of NAMES (366)."""
    gate = asyncio.Semaphore(max(1, concurrency))
    line = b"JOIN " + channel.encode() + b"\r\n"

    async def one(conn: LoadConnection) -> None:
        async with gate:
            waiter = conn.expect(JOINED, JOIN_FAILURES)
            conn.send(line)
            await asyncio.wait_for(waiter, timeout)

    await asyncio.gather(*(one(c) for c in conns))


async def start_counting(conns: Sequence[LoadConnection], token: bytes, timeout: float, ordered: bool = False) -> None:
    """Barrier: each connection PINGs with `token` and starts counting after the PONG.

    Everything the server queued for a connection before it answered that PING (the
    JOIN storm of setup, say) is therefore left out of the count. A node of a cluster
    answers a PING at once, possibly before it has applied the other nodes' JOINs from
    the log: `ordered` first makes a round trip through the log (AWAY set and cleared:
    the 305 comes after every event published before it, all the JOINs among them).
    """

    async def one(conn: LoadConnection) -> None:
        if ordered:
            synced = conn.expect((b"305",))
            conn.send(b"AWAY :sync\r\nAWAY\r\n")
            await asyncio.wait_for(synced, timeout)
        waiter = conn.expect(text=token, count_after=True)
        conn.send(b"PING :" + token + b"\r\n")
        await asyncio.wait_for(waiter, timeout)

    await asyncio.gather(*(one(c) for c in conns))


def totals(conns: Iterable[LoadConnection]) -> tuple[int, float, int]:
    """(lines counted, latest read time, connections lost) over `conns`."""
    lines = 0
    last = 0.0
    lost = 0
    for conn in conns:
        lines += conn.lines
        if conn.last_rx > last:
            last = conn.last_rx
        if conn.lost:
            lost += 1
    return lines, last, lost
