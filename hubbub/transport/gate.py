"""The line gate: every rule a connection's bytes pass through, without I/O.

Each connection, whatever carries it (TCP, TLS, WebSocket), has one gate. Input:
received bytes are framed into lines (bounded, see irc/framing.py; a WebSocket frames
its lines itself and hands them over one by one), wait in order
while the client's input is held (slow work for it is running) or while the flood
bucket is empty, and a client whose waiting input passes the recvq is reported as
flooding. A connection exempt from flood control (a trusted bot's, an operator's:
server/floodexempt.py decides, `exempt_from_flood`) has no bucket: its lines are handled
as they are read, so none wait but while its input is held, and then the recvq stops
its reading (pumping.py) rather than closing it. Output: bytes written for the client
are collected until the transport flushes them, and a client whose unsent output passes
its sendq is reported as stuck, exempt or not.

The gate decides, the transport acts: it asks `next_line()` for the lines it may
handle now and `wait()` for when to ask again; its `OutputQueue` writes through the
functions the transport gives it. Time comes from an injected clock, so every rule is
tested without sleeping and without a socket.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Protocol, cast

from hubbub.config import LimitsSection
from hubbub.irc.framing import FRAMER
from hubbub.server.flood import TokenBucket
from hubbub.speedups import compiled

Line = bytes | None  # None: a line that was too long (its bytes are gone)
NOTHING: Final = b"\x00nothing"  # next_line(): no line may be handled now


def _characters(data: bytes) -> int:
    """How many characters UTF-8 `data` holds (continuation bytes do not count)."""
    return sum(1 for byte in data if byte & 0xC0 != 0x80)


@dataclass(frozen=True, slots=True)
class GateSettings:
    """The limits a gate enforces; a reload hands every gate new ones."""

    flood_control: bool = True
    flood_rate: float = 4.0
    flood_burst: int = 20
    recvq: int = 8192
    sendq: int = 262144
    # What the transport lets the kernel hold for the client on top of the sendq (its
    # socket's send buffer; 0: the system's default, which grows to megabytes).
    send_buffer: int = 65536
    # TCP_NODELAY: each write sent at once (the default), or gathered with the next while
    # unacknowledged (Nagle's algorithm)
    nodelay: bool = True

    @property
    def room(self) -> int:
        """What one loop pass may write to a client beyond its sendq: what the kernel
        takes at once, its socket's send buffer (the system's default grows to megabytes;
        then as much again as the sendq)."""
        return self.send_buffer if self.send_buffer > 0 else self.sendq

    @classmethod
    def from_limits(cls, limits: LimitsSection) -> GateSettings:
        send_buffer = min(limits.send_buffer, limits.sendq)
        return cls(
            limits.flood_control, limits.flood_rate, limits.flood_burst, limits.recvq, limits.sendq, send_buffer,
            limits.tcp_nodelay,
        )


class LineGate:
    __slots__ = (
        "settings", "_clock", "_framer", "bucket", "exempt", "waiting", "_waiting_size", "held", "steps", "eof",
        "saw_line_end",
    )  # fmt: skip

    def __init__(self, settings: GateSettings, max_line: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._framer = FRAMER(max_line)
        # Lines waiting to be handled, in order; None when none wait (a deque costs ~750
        # bytes, and most clients, most of the time, have nothing waiting).
        self.waiting: deque[Line] | None = None
        self._waiting_size = 0
        self.held = 0  # > 0 while slow work for the client runs: its lines wait
        # the rest of a command that runs as several (see follow_up); None nearly always
        self.steps: deque[Callable[[], None]] | None = None
        self.eof = False  # the peer has sent everything
        self.saw_line_end = False  # the peer has ended a line itself
        # The flood bucket; None: the client's lines are not paced (flood control is off,
        # or the connection is exempt from it)
        self.bucket: TokenBucket | None = None
        self.exempt = False  # exempt from flood control (see exempt_from_flood)
        self.settings = settings
        self.configure(settings)

    def configure(self, settings: GateSettings) -> None:
        """Put new limits in force (a reload): a changed flood rule starts a new bucket;
        an exempt connection stays without one."""
        old = self.settings
        self.settings = settings
        if not settings.flood_control or self.exempt:
            self.bucket = None
        elif self.bucket is None or (old.flood_rate, old.flood_burst) != (settings.flood_rate, settings.flood_burst):
            self.bucket = TokenBucket(settings.flood_rate, settings.flood_burst, self._clock)

    def exempt_from_flood(self, exempt: bool) -> None:
        """Exempt the connection from flood control, or end its exemption (its account
        logged out, its operator status taken away). Exempt, its lines are not paced and
        what it is charged is not counted: nothing is owed when the exemption ends, and
        it starts again from a full burst, as a new connection does."""
        if exempt != self.exempt:
            self.exempt = exempt
            self.bucket = None
            self.configure(self.settings)

    # -- input -------------------------------------------------------------------------

    def receive(self, data: bytes) -> list[Line]:
        """Frame received bytes. When nothing can hold them back (no flood control,
        input not held, nothing waiting: the common case, kept cheap), the complete lines
        are returned to be handled at once, in order; otherwise they wait for
        `next_line()` and the list is empty."""
        # Looked for until found once (it never goes back), and with find, not `in`:
        # bytes.__contains__ first tries b"\n" as an integer, and the TypeError it makes
        # and drops cost more than the search.
        if not self.saw_line_end and data.find(b"\n") >= 0:
            self.saw_line_end = True
        if self.bucket is None and not self.held and self.waiting is None:
            return self._framer.feed(data)
        self._frame(data)
        return []

    def receive_line(self, line: Line) -> bool:
        """A line framed by the transport itself (a WebSocket message is one line; None
        for one longer than the line limit). True when nothing holds it back and it is
        to be handled at once; otherwise it waits, in order, for `next_line()`."""
        if self.bucket is None and not self.held and self.waiting is None:
            return True
        self._lines().append(line)
        self._waiting_size += len(line) if line else 1
        return False

    def defer(self, lines: list[Line]) -> None:
        """Lines returned by `receive` that were not handled (input became held while
        handling an earlier one): they wait, ahead of anything received later."""
        if not lines:
            return
        waiting = self._lines()
        for line in reversed(lines):
            waiting.appendleft(line)
            self._waiting_size += len(line) if line else 1

    def _frame(self, data: bytes) -> None:
        lines = self._framer.feed(data)
        if lines:
            waiting = self._lines()
            for line in lines:
                waiting.append(line)
                self._waiting_size += len(line) if line else 1

    def _lines(self) -> deque[Line]:
        waiting = self.waiting
        if waiting is None:
            waiting = self.waiting = deque()
        return waiting

    @property
    def queue(self) -> Sequence[Line]:
        """The lines waiting to be handled, in order."""
        return self.waiting if self.waiting is not None else ()

    def unterminated(self, data: bytes, speaks_irc: bool, keystrokes: bool = False) -> bool:
        """Whether the bytes just received look like a message typed without a line
        ending, as the seed chat clients send them (a one-letter one too): then silence
        should end the line (`end_partial_line`). Never once the peer has ended a line,
        or speaks IRC; and not for a lone keystroke of a peer that sends them
        (`keystrokes`: a telnet, which may be in character mode)."""
        if self.saw_line_end or speaks_irc or not self._framer.pending:
            return False
        return not keystrokes or _characters(data) >= 2

    def end_partial_line(self) -> None:
        """Take what waits without a line ending as a line (after silence, or at EOF)."""
        if self._framer.pending:
            self._frame(b"\n")  # the peer still has not ended a line itself

    def receive_eof(self, speaks_irc: bool) -> None:
        """The peer has sent everything; a last typed message without a line ending counts."""
        if not speaks_irc:
            self.end_partial_line()
        self.eof = True

    def next_line(self, exempt: Callable[[bytes], bool] | None = None) -> Line | bytes:
        """The next line to handle now, or NOTHING (held, empty, or out of flood tokens).

        A line `exempt` accepts costs no flood token here (a line of an accepted
        multiline batch: the whole batch is charged when it closes, see `charge`).
        """
        waiting = self.waiting
        if self.held or not waiting:
            return NOTHING
        head = waiting[0]
        bucket = self.bucket
        if bucket is not None and not (head is not None and exempt is not None and exempt(head)):
            if bucket.take() > 0.0:
                return NOTHING
        waiting.popleft()
        if not waiting:
            self.waiting = None
        self._waiting_size -= len(head) if head else 1
        return head

    def charge(self, lines: int) -> None:
        """Count `lines` more lines against the flood budget, as if each had been sent
        on its own: the lines of a multiline batch pass at once (`next_line`'s exempt
        lines), and the batch is charged when it closes by the lines it delivers."""
        if self.bucket is not None and lines > 0:
            self.bucket.spend(lines)

    def wait(self) -> float | None:
        """Seconds until `next_line()` may give a waiting line; None if it waits on
        nothing but held input, or nothing waits."""
        if self.held or not self.waiting:
            return None
        return 0.0 if self.bucket is None else self.bucket.wait()

    @property
    def flooded(self) -> bool:
        """More input waits than the recvq allows ("Excess Flood")."""
        return self._waiting_size > self.settings.recvq

    @property
    def finished(self) -> bool:
        """The peer sent EOF and every line it sent has been handled."""
        return self.eof and not self.waiting and not self.held and self.steps is None

    def clear_input(self) -> None:
        self.waiting = None
        self._waiting_size = 0

    # -- held input (slow work for the client runs: its later lines wait, in order) ----

    def hold(self) -> None:
        self.held += 1

    def release(self) -> bool:
        """Undo one `hold()`; True when input flows again."""
        if self.held:
            self.held -= 1
        return not self.held

    def follow_up(self, step: Callable[[], None]) -> bool:
        """Keep `step` to be run where the client's next line would be handled, once
        its input is released, ahead of every line it sent: True. A line that holds
        several commands (a multiline batch to a service) runs them one at a time, each
        once the one before is done, as if each had been sent alone. False when the
        input is not held: nothing is kept, the caller goes on at once."""
        if not self.held:
            return False
        if self.steps is None:
            self.steps = deque()
        self.steps.append(step)
        return True

    def next_step(self) -> Callable[[], None] | None:
        """A step kept by `follow_up` that may run now, or None. Steps cost no flood
        token: the line that made them was charged for them."""
        steps = self.steps
        if steps is None or self.held:
            return None
        step = steps.popleft()
        if not steps:
            self.steps = None
        return step


class Marks(Protocol):
    """Who writes out the marked output queues once per loop iteration (the Flusher).

    The compiled queue (hubbub/_speedups.c) does `mark`'s work itself, without its
    Python frame: it appends to `marked`, and for the first queue of an iteration sets
    `_scheduled` and calls `_schedule()` unless `_scheduled` is set already (as
    transport/flusher.py's Flusher has them); this queue calls `mark`."""

    marked: list[OutputQueue]  # marked in this iteration; never empty while a flush is due

    def mark(self, queue: OutputQueue) -> None:
        """Add `queue` to `marked`, and make sure a flush is due."""


class Sink(Protocol):
    """Where a queue's bytes go: the transport below (asyncio's, or a test's)."""

    def write(self, data: bytes) -> object: ...

    def get_write_buffer_size(self) -> int:
        """Bytes written and not yet taken by the kernel."""

    def abort(self) -> None: ...


class Owner(Protocol):
    """The connection a queue belongs to."""

    def sendq_exceeded(self) -> None:
        """Its client is past its sendq: drop it."""


class OutputQueue:
    """A connection's unsent output: collected as the chat writes it, written out once
    per loop iteration (`flush`, called by the shared flusher), bounded by the sendq.

    Past its sendq, counting what the transport below still holds, the client is
    reported stuck (`owner.sendq_exceeded()`); a closing connection still gets its last
    bytes (its ERROR) whatever its sendq. What the kernel takes at once is not unsent:
    one pass may collect up to `sendq + room` bytes (`room`: what the kernel may hold, the
    socket's send buffer), and the sendq is checked against what is left after the
    write, so a client that reads gets one reply larger than its sendq (a LIST of
    thousands of channels) whole. Past `sendq + room` in one pass, nothing more is
    collected and the client is dropped at the flush (its output would be cut short). This
    is every delivery's path: one call to collect, one to flush, each kept to a few
    operations (the size collected doubles as the "marked for the flusher" flag). `sent`
    counts the bytes handed to the transport (the metrics read it): one addition per
    flush, the cheapest place there is for it.

    Given the socket's descriptor (`fd`), the queue writes to the socket itself while the
    transport holds nothing for it, which is nearly always: the transport's `write`
    (uvloop's: buffer, try, clear, callbacks) cost more than the rest of a delivery, and
    with nothing handed to it, what it holds needs no asking either. What the kernel does
    not take at once (a full socket, an error) goes to the transport, which buffers it or
    ends the connection as it would have; from then on the transport is written to, until
    a flush finds it empty again, so bytes never overtake each other. The descriptor is
    forgotten when the queue stops or aborts: the transport closes it only after telling
    the connection, so while it is known it is this client's socket.
    """

    __slots__ = (
        "ip", "sendq", "room", "closing", "sent", "_out", "_size", "_held", "_flusher", "_marked", "_sink", "_owner",
        "_fd", "_direct", "_check",
    )  # fmt: skip

    def __init__(
        self,
        ip: str,
        sendq: int,
        flusher: Marks,
        sink: Sink,
        owner: Owner,
        fd: int = -1,
        room: int = 0,
    ) -> None:
        self.ip = ip
        self.sendq = sendq
        self.room = room  # what one pass may collect beyond the sendq: the kernel takes it at once
        self.closing = False
        self.sent = 0
        self._out: list[bytes] = []
        self._size = 0  # bytes collected since the last flush; 0: not marked for the flusher
        self._held = 0  # bytes taken and waiting for the store's commit (see Flusher)
        # Marking has `flush` called at the end of this loop iteration. The queues marked
        # in this one are in `flusher.marked`, scheduled as soon as it is not empty: a
        # queue joins it with one append (every delivery's first write passes here).
        self._flusher = flusher
        self._marked = flusher.marked
        self._sink = sink  # objects rather than their bound methods: 64 bytes each, per client
        self._owner = owner
        self._fd = fd  # the socket below the sink, written to while the sink holds nothing; -1: none
        self._direct = False  # the sink was found empty, and nothing was handed to it since
        # Output taken for the store that may pass the sendq unless the kernel takes it:
        # what the kernel leaves of it is checked when it is sent (`send`), and only then
        self._check = False

    def write(self, data: bytes) -> None:
        size = self._size
        if size > self.sendq + self.room or not data:
            return  # more than the client can be sent: the next flush drops it, collecting is waste
        if not size:  # the first bytes since the last flush: the flusher must come by
            marked = self._marked
            if not marked:
                self._flusher.mark(self)
            else:
                marked.append(self)
        self._out.append(data)
        self._size = size + len(data)

    # queue(data) is queue.write(data): a connection keeps its queue as its `write`
    # (transport/tcp.py) rather than the bound method, 72 bytes more a client
    __call__ = write

    def flush(self) -> None:
        size = self._size
        if not size:
            return
        out = self._out
        data = out[0] if len(out) == 1 else b"".join(out)
        out.clear()
        self._size = 0
        waiting = self._held + self._pending()
        if size + waiting > self.sendq and not self.closing:
            # Past the sendq unless the kernel takes it now: it can, only when nothing
            # waits before it, and at most `room`; what it leaves is checked after.
            if waiting or size > self.sendq + self.room:
                self._owner.sendq_exceeded()
                return
            self.sent += size
            self._put(data)
            if not self._direct and self._sink.get_write_buffer_size() > self.sendq:
                self._owner.sendq_exceeded()
            return
        self.sent += size
        self._put(data)

    def take(self) -> bytes:
        """What `flush` would write, kept back by the flusher until the store has
        committed what it shows; b"" when nothing, or when the client is dropped."""
        size = self._size
        if not size:
            return b""
        out = self._out
        data = out[0] if len(out) == 1 else b"".join(out)
        out.clear()
        self._size = 0
        pending = self._pending()
        # As `flush`, the kernel taking at most `room` of it when it is sent, if the socket
        # is empty now (what is held goes out before it, and counts); past the sendq only
        # by that room, what the kernel leaves is checked then.
        waiting = size + self._held + pending
        if waiting > self.sendq and not self.closing:
            if pending or waiting > self.sendq + self.room:
                self._owner.sendq_exceeded()
                return b""
            self._check = True
        self._held += len(data)
        return data

    def send(self, data: bytes) -> None:
        """Write what `take` kept back, now that it may go."""
        self._held -= len(data)
        if data and self.sendq >= 0:  # not stopped (closed) meanwhile
            self.sent += len(data)
            self._put(data)
            if self._check:
                self._check = self._held > 0
                if not (self.closing or self._direct) and self._sink.get_write_buffer_size() + self._held > self.sendq:
                    self._owner.sendq_exceeded()  # what the kernel left is past the sendq

    def _pending(self) -> int:
        """Bytes the sink still holds: none while we write to the socket ourselves; else
        asked, and when it holds none the socket is ours to write to again."""
        if self._direct:
            return 0
        pending = self._sink.get_write_buffer_size()
        if not pending and self._fd >= 0:
            self._direct = True
        return pending

    def _put(self, data: bytes) -> None:
        if self._direct:
            try:
                written = os.write(self._fd, data)
            except OSError:  # full (EAGAIN), or failing: the transport meets it as it would have
                written = 0
            if written == len(data):
                return
            self._direct = False
            data = data[written:]
        self._sink.write(data)

    def abort(self) -> None:
        """Close the connection now, dropping what is unsent."""
        self._fd = -1
        self._direct = False
        self._sink.abort()

    def clear(self) -> None:
        self._out = []
        self._size = 0

    def stop(self) -> None:
        """Collect nothing more (the connection is closed, or closing after its last flush)."""
        self.clear()
        self.sendq = -1
        self.room = 0
        self._fd = -1
        self._direct = False

    @property
    def size(self) -> int:
        return self._size

    @property
    def unsent(self) -> int:
        """Bytes collected, or taken and held for the store's commit, not yet written."""
        return self._size + self._held


def _output_queues() -> type[OutputQueue]:
    """The class transports make their output queues with: OutputQueue above, or its
    compiled twin (hubbub/_speedups.c: the same behaviour, a few times cheaper per
    delivery) when it was built."""
    if compiled is not None:
        return cast("type[OutputQueue]", compiled.OutputQueue)
    return OutputQueue


OUTPUT_QUEUE = _output_queues()
