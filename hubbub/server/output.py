"""How a connection hears the chat: one output form per kind of connection.

The chat domain hands every connection the same things, messages meant for it alone
(`send`) and messages shared with others (`deliver`, an `Outgoing` whose wire forms
are encoded once for everyone), and never asks what kind of connection it is. The form
decides: `IrcOutput` writes IRC lines to the link; plain text (hubbub/plain) renders
them for a person; a new kind of client adds a form, not a branch in the domain.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from hubbub.irc.message import Message
from hubbub.server.labels import Shared

if TYPE_CHECKING:
    from hubbub.server.session import Session


class Link(Protocol):
    """Where a connection's bytes go (the transport provides it, or a test does)."""

    # Ended by an abort: what was still unsent never reached the peer (a clean stop
    # notes as seen only what reached its clients, app.py).
    cut: bool

    def write(self, data: bytes) -> None:
        """Queue bytes for the peer; never blocks, may drop the peer past its sendq."""

    def close(self) -> None:
        """Flush what is queued, then close."""

    def hold_input(self) -> None:
        """Handle none of the peer's lines until `release_input` (they wait, in order)."""

    def release_input(self) -> None:
        """Handle the lines that waited, and the next ones as they come."""

    def charge(self, lines: int) -> None:
        """Count `lines` more lines against the peer's flood budget (a multiline batch)."""

    def follow_up(self, step: Callable[[], None]) -> bool:
        """Run `step` where the peer's next line would be handled once its input is
        released (it is held: slow work, the network's order), ahead of the lines the
        peer sent meanwhile, and True; False, keeping nothing, when its input is not
        held: the caller goes on at once. Several commands sent in one message (a
        multiline batch to a service) run in order this way, each after the one before
        is done."""

    def input_waiting(self) -> bool:
        """Whether lines the peer sent wait to be handled (flood control delays them):
        then the peer is not silent, whatever its last handled line says."""

    def exempt_from_flood(self, exempt: bool) -> None:
        """Exempt: the peer's lines are handled as they come, never paced by flood
        control nor closed for Excess Flood (a trusted bot's account, an operator:
        floodexempt.py); not: they are paced again, from a full burst. The line length
        and the sendq bound it either way."""

    def has_room(self) -> bool:
        """Whether more of a long reply may be written now: what is unsent for the peer
        (collected, and held by the transport) is under half its sendq."""

    def when_drained(self, callback: Callable[[], None], patience: float) -> None:
        """Call `callback` once the peer has read most of what is unsent for it (a
        quarter of its sendq is left); never, if the connection ends first. A peer that
        reads nothing of it for `patience` seconds is dropped (SendQ exceeded)."""

    def speaks_irc(self, session: Session) -> None:
        """The peer turned out to be an IRC client: hand its lines to `session` directly
        from now on. What decided it (the plain mode's intake) is no longer needed, and
        a transport that lets it go saves its bytes for every idle client."""


class Deliverable(Shared, Protocol):
    """A message relayed to several clients (`Outgoing`, `MultilineOutgoing`)."""

    def irc_bytes(self, mask: int = 0) -> bytes: ...

    def units_for(self, mask: int) -> list[Message | list[Message]]: ...


class Output(Protocol):
    """One kind of connection's way of showing what the chat sends it."""

    # The link relayed IRC bytes may be written to as they are (the delivery fast
    # path), or None when this form transforms what it is given.
    raw: Link | None
    # Whether the peer is a program that answers PING (keepalive applies).
    answers_pings: bool

    def send(self, message: Message) -> None: ...

    def deliver(self, out: Deliverable, mask: int) -> None: ...

    def send_all(self, messages: list[Message]) -> None:
        """Several messages at once (a labeled reply), in order."""


class IrcOutput:
    """IRC lines, as they are: the native form."""

    __slots__ = ("raw",)
    answers_pings = True

    def __init__(self, link: Link) -> None:
        self.raw: Link | None = link

    def send(self, message: Message) -> None:
        assert self.raw is not None
        self.raw.write(message.encode())

    def deliver(self, out: Deliverable, mask: int) -> None:
        assert self.raw is not None
        self.raw.write(out.irc_bytes(mask))

    def send_all(self, messages: list[Message]) -> None:
        assert self.raw is not None
        self.raw.write(b"".join(message.encode() for message in messages))
