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

from hubbub.transport.gate import NOTHING, LineGate
from hubbub.transport.ports import SessionPort, TransportCounters


class GatedInput:
    """The input half of a connection. The transport holds the attributes named here,
    and says how it stops reading (`_pause_input`), how it drops a client
    (`_drop`) and what the end of its input means (`_input_ended`)."""

    __slots__ = ("_drain_handle",)  # the timer that comes back for held lines

    gate: LineGate
    session: SessionPort | None
    counters: TransportCounters
    _closing: bool
    _drain_handle: asyncio.Handle | None  # set to None by the transport as it starts

    def _pause_input(self) -> None:
        raise NotImplementedError

    def _drop(self, reason: str) -> None:
        raise NotImplementedError

    def _input_ended(self) -> None:
        raise NotImplementedError

    def _pump(self) -> None:
        """Handle every line the gate lets through now; arm a timer for the rest."""
        gate = self.gate
        session = self.session
        while not self._closing and session is not None:
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
                self._drop("Excess Flood")
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

    def _drain(self) -> None:
        self._drain_handle = None
        if not self._closing:
            self._pump()
