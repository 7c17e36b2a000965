"""One connected client: who it is, what it negotiated, and where its output goes.

The client never touches a socket. It writes bytes to a `Link` that the transport
provides (or that a test provides), and asks the link to close; that is the whole
boundary between the chat domain and I/O.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol

from hubbub.irc.message import Message, reply_params
from hubbub.server.delivery import (
    WANTS_ACCOUNT,
    WANTS_MULTILINE,
    WANTS_TAGS,
    WANTS_TIME,
)
from hubbub.server.labels import LabeledResponse, Shared

if TYPE_CHECKING:
    from hubbub.plain import PlainSession
    from hubbub.server.channel import Channel
    from hubbub.server.network import Network


# capability -> the tag bit it turns on
TAG_CAPS = {"server-time": WANTS_TIME, "message-tags": WANTS_TAGS, "account-tag": WANTS_ACCOUNT}


class Deliverable(Shared, Protocol):
    """A relayed message (`Outgoing`, `MultilineOutgoing`): bytes per form, text for plain users."""

    def irc_bytes(self, mask: int = 0) -> bytes: ...

    def show_plain(self, plain: PlainSession) -> None: ...


class OpenBatch(Protocol):
    """A batch a client has opened (handlers/multiline.py): the lines tagged for it go here."""

    ref: str
    failed: bool  # refused: its remaining lines are swallowed

    def take(self, client: Client, message: Message) -> None: ...


class Link(Protocol):
    """What the chat domain needs from a connection."""

    def write(self, data: bytes) -> None:
        """Queue bytes for the peer; never blocks, may drop the peer past its sendq."""

    def close(self) -> None:
        """Flush what is queued, then close."""

    def hold_input(self) -> None:
        """Handle none of the peer's lines until `release_input` (they wait, in order)."""

    def release_input(self) -> None:
        """Handle the lines that waited, and the next ones as they come."""


class Client:
    """A connection, registered or not, and the user it becomes."""

    def __init__(self, net: Network, link: Link, ip: str, now: float) -> None:
        self.net = net
        self.link = link
        self.ip = ip
        self.host = ip if ":" not in ip else ip.replace(":", "-")  # no ':' in hostnames
        self.nick = "*"
        self.nick_key: str | None = None
        self.username = ""
        self.realname = ""
        self.password: str | None = None
        self.registered = False
        self.cap_negotiating = False
        self.cap_version = 0
        self.caps: set[str] = set()
        self.secure = False  # a TLS connection; set by the transport
        self.tag_mask = 0  # which tags relayed messages carry for us (see delivery.py)
        self.modes: set[str] = set()
        self.away: str | None = None
        self.account: str | None = None  # the account logged in to; there are no accounts yet
        self.monitoring: dict[str, str] = {}  # MONITOR list: casefolded nick -> nick as given
        self.batch: OpenBatch | None = None  # a draft/multiline batch being received
        self.labeled: LabeledResponse | None = None  # collects a labeled command's replies
        self.channels: dict[str, Channel] = {}
        self.connected_at = now
        self.signon = now
        self.last_message = now
        self.last_activity = now
        self.ping_sent = False
        self.plain: PlainSession | None = None
        self.quit_reason: str | None = None  # set once the client is leaving

    def __repr__(self) -> str:
        return f"<Client {self.nick} {self.ip}>"

    @property
    def prefix(self) -> str:
        return f"{self.nick}!{self.username}@{self.host}"

    @property
    def gone(self) -> bool:
        return self.quit_reason is not None

    def send(self, message: Message) -> None:
        """Send one message meant for this client alone."""
        if self.gone:
            return
        if self.labeled is not None:
            self.labeled.items.append(message)
        elif self.plain is not None:
            self.plain.render(message)
        else:
            self.link.write(message.encode())

    def deliver(self, out: Deliverable) -> None:
        """Send a message shared with other recipients, in the form this client wants."""
        if self.gone:
            return
        if self.labeled is not None:
            self.labeled.items.append(out)
        elif self.plain is not None:
            out.show_plain(self.plain)
        else:
            self.link.write(out.irc_bytes(self.tag_mask))

    def deliver_unlabeled(self, out: Deliverable) -> None:
        """Deliver, never as part of a labeled reply: a message a client sent to itself
        arrives as a delivery (unlabeled) besides its echo (labeled-response)."""
        labeled, self.labeled = self.labeled, None
        try:
            self.deliver(out)
        finally:
            self.labeled = labeled

    # -- labeled-response -------------------------------------------------------------

    @contextmanager
    def labeled_reply(self, label: str | None) -> Iterator[None]:
        """What is sent to us within the block goes out as one reply labeled `label`
        (labels.py); no label, or one already being answered, changes nothing."""
        if label is None or self.labeled is not None:
            yield
            return
        self.start_label(label)
        try:
            yield
        finally:
            self.finish_label()

    def start_label(self, label: str) -> None:
        """Collect what is sent to us from now on, to go out labeled (see labels.py)."""
        self.labeled = LabeledResponse(label)

    def finish_label(self) -> None:
        """Send what was collected since `start_label` as one labeled reply."""
        labeled, self.labeled = self.labeled, None
        if labeled is None:
            return
        if self.plain is not None:  # cannot happen (plain users negotiate nothing); be safe
            for message in labeled.messages(self):
                self.plain.render(message)
            return
        self.link.write(b"".join(message.encode() for message in labeled.messages(self)))

    def close_link(self) -> None:
        """Close the connection after what is due to it, a labeled reply included."""
        self.finish_label()
        self.link.close()

    # -- capabilities -----------------------------------------------------------------

    def set_cap(self, name: str, enabled: bool) -> None:
        """Enable or disable a capability, keeping the derived tag wishes in step."""
        if enabled:
            self.caps.add(name)
        else:
            self.caps.discard(name)
        mask = 0
        for cap, bit in TAG_CAPS.items():
            if cap in self.caps:
                mask |= bit
        if "draft/multiline" in self.caps and "batch" in self.caps:
            mask |= WANTS_MULTILINE
        self.tag_mask = mask

    def numeric(self, code: str, *params: str) -> None:
        """A numeric reply: the server is the source and our nick the first parameter."""
        self.send(Message(code, reply_params((self.nick, *params)), self.net.name))

    def server_message(self, command: str, *params: str) -> None:
        self.send(Message(command, list(params), self.net.name))

    def fail(self, command: str, code: str, *context_and_text: str) -> None:
        """A standard reply (`FAIL <command> <code> [context...] :text`)."""
        self.send(Message("FAIL", reply_params((command, code, *context_and_text)), self.net.name))

    def warn(self, command: str, code: str, *context_and_text: str) -> None:
        """A standard reply: the command worked, with something worth knowing (`WARN`)."""
        self.send(Message("WARN", reply_params((command, code, *context_and_text)), self.net.name))

    def note(self, command: str, code: str, *context_and_text: str) -> None:
        """A standard reply that only informs (`NOTE`)."""
        self.send(Message("NOTE", reply_params((command, code, *context_and_text)), self.net.name))
