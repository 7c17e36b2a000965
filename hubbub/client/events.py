"""What happens on an IRC connection, as small immutable values.

The protocol object turns received lines into these events; the terminal UI, the
benchmark and the tests consume them. Each says what happened in the terms a chat
program cares about (someone joined, a message arrived for this conversation), so
consumers never re-parse IRC lines. Times are timezone-aware: the server's
`server-time` when it sent one, our clock otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from hubbub.irc.message import Message

MessageKind = Literal["privmsg", "notice", "action"]


@dataclass(frozen=True, slots=True)
class Event:
    """Base class of everything a `Client` reports."""


# -- the connection's life ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Connecting(Event):
    host: str
    port: int
    attempt: int  # 1 for the first try, then counting reconnection attempts


@dataclass(frozen=True, slots=True)
class Connected(Event):
    """The TCP (or TLS) connection is up; registration starts."""

    host: str
    port: int
    tls: bool


@dataclass(frozen=True, slots=True)
class Registered(Event):
    """Registration finished (welcome burst and MOTD received): commands may be sent."""

    nick: str
    server: str
    network: str | None
    caps: frozenset[str]


@dataclass(frozen=True, slots=True)
class Disconnected(Event):
    """The connection ended (or never started); `reconnect_in` seconds until the next attempt, None if none."""

    reason: str
    reconnect_in: float | None
    was_connected: bool = True  # False when the attempt failed before a connection was made


@dataclass(frozen=True, slots=True)
class CapsChanged(Event):
    """Capabilities were acknowledged or withdrawn (CAP ACK, CAP DEL)."""

    enabled: frozenset[str]
    added: frozenset[str]
    removed: frozenset[str]


@dataclass(frozen=True, slots=True)
class SaslResult(Event):
    """The outcome of SASL authentication; registration continues either way."""

    success: bool
    account: str | None
    text: str


@dataclass(frozen=True, slots=True)
class ServerError(Event):
    """The server's ERROR line: it is about to close the connection, and says why."""

    text: str


# -- conversation -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reacted(Event):
    """A reaction to a message (`+draft/react` on a TAGMSG, the message named by its
    `+draft/reply` msgid, `to`), or its withdrawal (`+draft/unreact`: `on` False), as web
    clients send them; `conversation` as for a message. `msgid` is the TAGMSG's own (a
    reaction seen live is not shown again when history brings it back)."""

    source: str
    conversation: str
    emoji: str
    to: str
    on: bool
    own: bool
    time: datetime
    prefix: str = ""
    msgid: str | None = None


@dataclass(frozen=True, slots=True)
class MessageReceived(Event):
    """A PRIVMSG, NOTICE or CTCP ACTION, including our own (echoed or local).

    `conversation` is the buffer it belongs to: the channel, or the other person's
    nick for a private message (the target for one we sent). `from_server` marks
    notices from the server itself, which belong to the server buffer.
    """

    source: str
    target: str
    text: str
    kind: MessageKind
    conversation: str
    own: bool
    private: bool
    from_server: bool
    time: datetime
    msgid: str | None = None
    tags: dict[str, str] = field(default_factory=dict, compare=False)
    prefix: str = ""  # the whole source (`nick!user@host`), for ignore masks; "" for our own


@dataclass(frozen=True, slots=True)
class Wallops(Event):
    """A WALLOPS: an operator's (or a server's) message to every user with mode +w.

    It is addressed to nobody in particular, so it belongs with the server's own lines,
    not in a conversation. `own` marks the echo a server sends the operator who said it.
    """

    source: str  # the sender's nick, or the server's name
    text: str
    own: bool
    time: datetime
    msgid: str | None = None
    prefix: str = ""  # the whole source (`nick!user@host`), for ignore masks


@dataclass(frozen=True, slots=True)
class Joined(Event):
    channel: str
    nick: str
    own: bool
    time: datetime
    account: str | None = None  # extended-join
    realname: str | None = None
    msgid: str | None = None  # where the server tags it (history: not shown twice)


@dataclass(frozen=True, slots=True)
class Parted(Event):
    channel: str
    nick: str
    own: bool
    reason: str
    time: datetime
    msgid: str | None = None  # where the server tags it (history: not shown twice)


@dataclass(frozen=True, slots=True)
class Kicked(Event):
    channel: str
    nick: str
    by: str
    own: bool  # we were the one kicked
    reason: str
    time: datetime
    msgid: str | None = None  # where the server tags it (history: not shown twice)


@dataclass(frozen=True, slots=True)
class UserQuit(Event):
    nick: str
    reason: str
    channels: tuple[str, ...]  # the channels we shared with them
    time: datetime
    msgid: str | None = None  # where the server tags it (history: not shown twice)


@dataclass(frozen=True, slots=True)
class NickChanged(Event):
    old: str
    new: str
    own: bool
    channels: tuple[str, ...]
    time: datetime
    msgid: str | None = None  # where the server tags it (history: not shown twice)


@dataclass(frozen=True, slots=True)
class TopicChanged(Event):
    """A topic set now (`initial` False) or reported on join or request (`initial` True)."""

    channel: str
    topic: str
    by: str | None
    time: datetime
    initial: bool
    msgid: str | None = None  # where the server tags it (history: not shown twice)


@dataclass(frozen=True, slots=True)
class Member:
    nick: str
    modes: str  # membership modes, highest rank first ("ov", "v", "")
    prefix: str  # what to show in front of the nick ("@", "+", "")
    rank: int  # sort key: 0 for the highest membership mode
    away: bool = False


@dataclass(frozen=True, slots=True)
class MembersChanged(Event):
    """A channel's member list after a change (NAMES complete, join, part, mode...)."""

    channel: str
    members: tuple[Member, ...]


@dataclass(frozen=True, slots=True)
class ModeChanged(Event):
    target: str
    by: str
    modes: str
    args: tuple[str, ...]
    time: datetime
    msgid: str | None = None  # where the server tags it (history: not shown twice)


@dataclass(frozen=True, slots=True)
class AwayChanged(Event):
    """away-notify, or our own RPL_NOWAWAY/RPL_UNAWAY: `message` None means back."""

    nick: str
    message: str | None
    own: bool


@dataclass(frozen=True, slots=True)
class AccountChanged(Event):
    nick: str
    account: str | None


@dataclass(frozen=True, slots=True)
class Invited(Event):
    channel: str
    by: str


# -- replies ------------------------------------------------------------------------


# KNOCK refused (too soon, an open channel, already in it): errors numbered past 599
KNOCK_REFUSALS = frozenset({"712", "713", "714"})


@dataclass(frozen=True, slots=True)
class Silenced(Event):
    """Our server-side ignore list changed: the server's `SILENCE +mask` (`on`) or `-mask`,
    sent back to us. `mask` is as the server keeps it (`bob!*@*` for `bob`); `restored`
    marks the masks the client gave again by itself after a reconnection (the list
    belongs to the connection)."""

    mask: str
    on: bool
    restored: bool = False


@dataclass(frozen=True, slots=True)
class SilenceList(Event):
    """The server's answer to `SILENCE` alone: the masks of our list (271 lines, then 272)."""

    masks: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Reply(Event):
    """A numeric reply the protocol did not fold into another event (WHOIS, MOTD, errors)."""

    code: str
    params: tuple[str, ...]  # without our nick
    time: datetime
    during_registration: bool = False

    @property
    def text(self) -> str:
        return self.params[-1] if self.params else ""

    @property
    def is_error(self) -> bool:
        # 422, no MOTD: a server's ordinary greeting (InspIRCd's by default), nothing wrong
        code = self.code
        return code.isdigit() and (400 <= int(code) < 600 or code in KNOCK_REFUSALS) and code != "422"


@dataclass(frozen=True, slots=True)
class StandardReply(Event):
    """FAIL, WARN or NOTE (IRCv3 standard replies)."""

    kind: Literal["FAIL", "WARN", "NOTE"]
    command: str
    code: str
    context: tuple[str, ...]
    text: str


@dataclass(frozen=True, slots=True)
class History(Event):
    """A chathistory batch: past messages of one conversation, oldest first.

    `events` holds everything of the batch in order: the messages and, where the server
    plays events back (draft/event-playback), the joins, parts, kicks, quits, nick,
    topic and mode changes (as `Joined`, `Kicked`, `ModeChanged`... with their msgid).

    `asked` is the limit of the request of ours it answers (None for a batch the server
    sent unasked) and `lines` what the server counted towards it (a multiline message is
    one): a page of joins and parts alone says nothing of what is older, but a `full`
    one says that more may be.
    """

    target: str
    messages: tuple[MessageReceived, ...]
    events: tuple[Event, ...] = ()
    asked: int | None = None
    lines: int = 0

    @property
    def full(self) -> bool:
        """As many lines as asked for: the server may keep more beyond them."""
        return self.asked is not None and 0 < self.asked <= self.lines


@dataclass(frozen=True, slots=True)
class HistoryTargets(Event):
    """CHATHISTORY TARGETS' answer: the conversations (channels, nicks of private ones)
    with messages between the two times asked, each with the time of its latest, latest
    first."""

    targets: tuple[tuple[str, datetime], ...]


@dataclass(frozen=True, slots=True)
class ReadMarker(Event):
    """The account's read marker of a conversation (`draft/read-marker`): everything said
    in it up to `time` was read, on this connection or on another of the account's
    (the server tells them all when it moves, and a channel's on joining it). `time` is
    None when nothing is marked yet (`*`)."""

    target: str
    time: datetime | None


@dataclass(frozen=True, slots=True)
class LabeledResponse(Event):
    """Everything the server answered to one labeled command (labeled-response)."""

    label: str
    messages: tuple[Message, ...]


@dataclass(frozen=True, slots=True)
class Unhandled(Event):
    """A line no other event describes; kept so nothing the server says is lost."""

    message: Message
