"""Handing a connection's lines from its gate to its session, the same for every
transport (TCP, TLS, WebSocket): a transport differs in how it reads, not in what it
does with what it read.

The gate (gate.py) decides which line may go now; this is the loop around it, with the
one timer that comes back for the lines flood control holds, and the two answers to a
full input queue: a client that floods is dropped, a client whose input we hold (slow
work, or the network's order in a cluster) is read no further until it is released.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from hubbub.transport.gate import NOTHING, LineGate, OutputQueue
from hubbub.transport.ports import SessionPort, TransportCounters


class GatedInput:
    """The input half of a connection. The transport holds the attributes named here,
    and says how it stops reading (`_pause_input`), how it drops a client
    (`_drop`) and what the end of its input means (`_input_ended`)."""

    __slots__ = ("_drain_handle",)  # the timer that comes back for held lines

    gate: LineGate
    session: SessionPort | None
    counters: TransportCounters
    output: OutputQueue | None
    transport: Any  # asyncio's transport, uvloop's or our own (sockets.py)
    _closing: bool
    _drain_handle: asyncio.Handle | None  # set to None by the transport as it starts

    def _pause_input(self) -> None:
        raise NotImplementedError

    def _drop(self, reason: str, keep_output: bool = False) -> None:
        raise NotImplementedError

    def _input_ended(self) -> None:
        raise NotImplementedError

    def _pump(self) -> None:
        """Handle every line the gate lets through now; arm a timer for the rest."""
        gate = self.gate
        session = self.session
        while not self._closing and session is not None:
            if gate.steps is not None:  # the rest of a command comes before later lines
                step = gate.next_step()
                if step is not None:
                    step()
                    session = self.session
                    continue
            line = gate.next_line(session.flood_exempt)
            if line is NOTHING:
                break
            if line is None:
                session.line_too_long()
            else:
                session.line_received(line)
            session = self.session
        if self._closing or session is None:
            return
        if gate.flooded:
            if not gate.held:
                self._drop("Excess Flood", keep_output=True)  # the replies to what it handled go first
                return
            # The wait is ours (slow work, or the network's order in a cluster), not the
            # client's flooding: stop reading until it is over rather than drop it.
            self._pause_input()
        wait = gate.wait()
        if wait is not None:
            if self._drain_handle is None:
                loop = asyncio.get_running_loop()
                if wait <= 0.0:
                    self._drain_handle = loop.call_soon(self._drain)
                else:
                    self.counters.flood_delays += 1
                    self._drain_handle = loop.call_later(wait, self._drain)
        elif gate.finished:
            self._input_ended()

    def follow_up(self, step: Callable[[], None]) -> bool:
        """See Link.follow_up (server/output.py)."""
        return self.gate.follow_up(step)

    def exempt_from_flood(self, exempt: bool) -> None:
        """See Link.exempt_from_flood (server/output.py). Lines that were waiting for a
        token go at once, not when the flood timer would have come back for them."""
        gate = self.gate
        if exempt == gate.exempt:
            return
        gate.exempt_from_flood(exempt)
        if exempt and gate.waiting and not gate.held and not self._closing:
            if self._drain_handle is not None:
                self._drain_handle.cancel()
            self._drain_handle = asyncio.get_running_loop().call_soon(self._drain)

    def _drain(self) -> None:
        self._drain_handle = None
        if not self._closing:
            self._pump()

    # -- a reply longer than the sendq, paced as the client reads (Connection.paced) ----

    def _unsent(self) -> int:
        """Bytes for the client not yet taken by the kernel: collected, held for the
        store's commit, or held by the transport."""
        output, transport = self.output, self.transport
        if output is None or transport is None:
            return 0
        return output.unsent + int(transport.get_write_buffer_size())

    def has_room(self) -> bool:
        output = self.output
        return output is None or self._closing or self._unsent() < output.sendq // 2

    def when_drained(self, callback: Callable[[], None], patience: float) -> None:
        _DrainWatch(self, callback, patience)

    def sendq_exceeded(self) -> None:
        raise NotImplementedError


class _DrainWatch:
    """Looks at a connection's unsent output until the client has read most of it, then
    calls back. A few looks a second at most (the first right after this pass's flush):
    only connections in the middle of a long reply have one, and the kernel gives no
    word when a socket written to directly (gate.py) drains. The client taking nothing
    for `patience` seconds is dropped as one past its sendq: it stopped reading."""

    __slots__ = ("_conn", "_callback", "_patience", "_loop", "_last", "_since", "_delay")

    def __init__(self, conn: GatedInput, callback: Callable[[], None], patience: float) -> None:
        self._conn = conn
        self._callback = callback
        self._patience = patience
        self._loop = asyncio.get_running_loop()
        self._last = conn._unsent()
        self._since = self._loop.time()  # when the client last took something
        self._delay = 0.0
        self._loop.call_soon(self._look)

    def _look(self) -> None:
        conn = self._conn
        if conn._closing or conn.session is None or conn.output is None:
            return
        unsent = conn._unsent()
        if unsent <= conn.output.sendq // 4:
            self._callback()
            return
        now = self._loop.time()
        if unsent < self._last:
            self._since = now
            self._delay = 0.0
        elif now - self._since >= self._patience:
            conn.sendq_exceeded()
            return
        self._last = unsent
        self._delay = min(max(self._delay * 2, _FIRST_LOOK), _LONGEST_LOOK)
        self._loop.call_later(self._delay, self._look)


_FIRST_LOOK = 0.002  # seconds to the second look, doubling while the client reads nothing
_LONGEST_LOOK = 0.1
