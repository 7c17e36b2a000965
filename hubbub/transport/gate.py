"""The line gate: every rule a connection's bytes pass through, without I/O.

Each connection, whatever carries it (TCP, TLS, later WebSocket), has one gate. Input:
received bytes are framed into lines (bounded, see irc/framing.py), wait in order
while the client's input is held (slow work for it is running) or while the flood
bucket is empty, and a client whose waiting input passes the recvq is reported as
flooding. Output: bytes written for the client are collected until the transport
flushes them, and a client whose unsent output passes its sendq is reported as stuck.

The gate decides, the transport acts: it asks `next_line()` for the lines it may
handle now, `wait()` for when to ask again, and `take_output()` for what to write.
Time comes from an injected clock, so every rule is tested without sleeping.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from hubbub.config import LimitsSection
from hubbub.irc.framing import LineBuffer
from hubbub.server.flood import TokenBucket

Line = bytes | None  # None: a line that was too long (its bytes are gone)
NOTHING: Final = b"\x00nothing"  # next_line(): no line may be handled now
SENDQ_EXCEEDED: Final = b"\x00sendq"  # take_output(): the client is past its sendq


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

    @classmethod
    def from_limits(cls, limits: LimitsSection) -> GateSettings:
        return cls(limits.flood_control, limits.flood_rate, limits.flood_burst, limits.recvq, limits.sendq)


class LineGate:
    __slots__ = (
        "settings", "_clock", "_framer", "_bucket", "_waiting", "_waiting_size", "_held",
        "eof", "_saw_line_end", "_out", "_out_size",
    )  # fmt: skip

    def __init__(self, settings: GateSettings, max_line: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._framer = LineBuffer(max_line)
        self._waiting: deque[Line] = deque()
        self._waiting_size = 0
        self._held = 0
        self.eof = False  # the peer has sent everything
        self._saw_line_end = False
        self._out: list[bytes] = []
        self._out_size = 0
        self._bucket: TokenBucket | None = None
        self.settings = settings
        self.configure(settings)

    def configure(self, settings: GateSettings) -> None:
        """Put new limits in force (a reload): a changed flood rule starts a new bucket."""
        old = self.settings
        self.settings = settings
        if not settings.flood_control:
            self._bucket = None
        elif self._bucket is None or (old.flood_rate, old.flood_burst) != (settings.flood_rate, settings.flood_burst):
            self._bucket = TokenBucket(settings.flood_rate, settings.flood_burst, self._clock)

    # -- input -------------------------------------------------------------------------

    def receive(self, data: bytes) -> None:
        """Frame received bytes; complete lines wait for `next_line()`."""
        if b"\n" in data:
            self._saw_line_end = True
        self._frame(data)

    def _frame(self, data: bytes) -> None:
        for line in self._framer.feed(data):
            self._waiting.append(line)
            self._waiting_size += len(line) if line else 1

    def unterminated(self, data: bytes, speaks_irc: bool) -> bool:
        """Whether the bytes just received look like a message typed without a line
        ending, as the seed chat clients send them: then silence should end the line
        (`end_partial_line`). Never once the peer has ended a line, or speaks IRC; and
        not for a lone keystroke, as a character-mode telnet sends them."""
        return not self._saw_line_end and not speaks_irc and self._framer.pending > 0 and _characters(data) >= 2

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

        A line `exempt` accepts costs no flood token (a line of an accepted multiline
        batch, whose opening paid for it).
        """
        if self._held or not self._waiting:
            return NOTHING
        head = self._waiting[0]
        bucket = self._bucket
        if bucket is not None and not (head is not None and exempt is not None and exempt(head)):
            if bucket.take() > 0.0:
                return NOTHING
        self._waiting.popleft()
        self._waiting_size -= len(head) if head else 1
        return head

    def wait(self) -> float | None:
        """Seconds until `next_line()` may give a waiting line; None if it waits on
        nothing but held input, or nothing waits."""
        if self._held or not self._waiting:
            return None
        return 0.0 if self._bucket is None else self._bucket.wait()

    @property
    def flooded(self) -> bool:
        """More input waits than the recvq allows ("Excess Flood")."""
        return self._waiting_size > self.settings.recvq

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    @property
    def finished(self) -> bool:
        """The peer sent EOF and every line it sent has been handled."""
        return self.eof and not self._waiting and not self._held

    def clear_input(self) -> None:
        self._waiting.clear()
        self._waiting_size = 0

    # -- held input (slow work for the client runs: its later lines wait, in order) ----

    def hold(self) -> None:
        self._held += 1

    def release(self) -> bool:
        """Undo one `hold()`; True when input flows again."""
        if self._held:
            self._held -= 1
        return not self._held

    @property
    def held(self) -> bool:
        return self._held > 0

    # -- output ------------------------------------------------------------------------

    def queue_output(self, data: bytes) -> bool:
        """Collect bytes for the client; False when it is already past its sendq, where
        collecting more is waste (the next flush drops it)."""
        if self._out_size > self.settings.sendq:
            return False
        self._out.append(data)
        self._out_size += len(data)
        return True

    def take_output(self, in_transport: int, closing: bool = False) -> bytes:
        """What to write now: the collected bytes, or SENDQ_EXCEEDED when they and the
        `in_transport` bytes still unsent below us pass the sendq. A closing connection
        gets its last bytes (its ERROR) whatever its sendq."""
        out = self._out
        if not out:
            return b""
        size = self._out_size
        self._out = []
        self._out_size = 0
        if not closing and size + in_transport > self.settings.sendq:
            return SENDQ_EXCEEDED
        return out[0] if len(out) == 1 else b"".join(out)

    def clear_output(self) -> None:
        self._out = []
        self._out_size = 0

    @property
    def output_size(self) -> int:
        return self._out_size
