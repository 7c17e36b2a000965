"""One connected client: who it is, what it negotiated, and where its output goes.

The client never touches a socket. It writes bytes to a `Link` that the transport
provides (or that a test provides), and asks the link to close; that is the whole
boundary between the chat domain and I/O.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from hubbub.irc.message import Message
from hubbub.server.delivery import WANTS_ACCOUNT, WANTS_TAGS, WANTS_TIME

if TYPE_CHECKING:
    from hubbub.plain import PlainSession
    from hubbub.server.channel import Channel
    from hubbub.server.delivery import Outgoing
    from hubbub.server.network import Network


# capability -> the tag bit it turns on
TAG_CAPS = {"server-time": WANTS_TIME, "message-tags": WANTS_TAGS, "account-tag": WANTS_ACCOUNT}


class Link(Protocol):
    """What the chat domain needs from a connection."""

    def write(self, data: bytes) -> None:
        """Queue bytes for the peer; never blocks, may drop the peer past its sendq."""

    def close(self) -> None:
        """Flush what is queued, then close."""


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
        self.tag_mask = 0  # which tags relayed messages carry for us (see delivery.py)
        self.modes: set[str] = set()
        self.away: str | None = None
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
        if self.plain is not None:
            self.plain.render(message)
        else:
            self.link.write(message.encode())

    def deliver(self, out: Outgoing) -> None:
        """Send a message shared with other recipients, in the form this client wants."""
        if self.gone:
            return
        if self.plain is not None:
            self.plain.render(out.message)
        else:
            self.link.write(out.irc_bytes(self.tag_mask))

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
        self.tag_mask = mask

    def numeric(self, code: str, *params: str) -> None:
        """A numeric reply: the server is the source and our nick the first parameter."""
        self.send(Message(code, [self.nick, *params], self.net.name))

    def server_message(self, command: str, *params: str) -> None:
        self.send(Message(command, list(params), self.net.name))

    def fail(self, command: str, code: str, *context_and_text: str) -> None:
        """A standard reply (`FAIL <command> <code> [context...] :text`)."""
        self.send(Message("FAIL", [command, code, *context_and_text], self.net.name))
