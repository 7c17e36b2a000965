"""What the chat window shows, as plain objects fed with client events.

`ChatState` keeps the buffers a person switches between (the server, each channel,
each private conversation), their lines, members, topics and unread and mention
markers, and which one is on screen. `apply(event)` folds one event in and returns an
`Update` that says what changed, so a UI redraws only that and knows when to ring
the bell. Nothing here draws or does I/O, so all of it is tested by feeding events.

Read markers (`draft/read-marker`) keep the unread counts of the account's devices in
step: what is looked at here is noted (`Update.mark_read`, then `marks_due()` says
what to send), and a marker the server tells (read on another device) takes back the
counts of what was said up to it.
"""

from __future__ import annotations

import enum
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from hubbub.client import events as ev
from hubbub.client.isupport import ISupport
from hubbub.client.nickserv import NICKSERV, hide_passwords
from hubbub.client.protocol import nick_of, refuses_password, utc_now
from hubbub.irc import formatting
from hubbub.irc.casemap import mask_matches
from hubbub.irc.modewords import in_words

__all__ = ["Buffer", "BufferKind", "ChatState", "Line", "LineKind", "ListedChannel", "Update", "describe_reply",
           "quote"]

MAX_LINES = 2000

LineKind = Literal["message", "action", "notice", "wallops", "join", "part", "quit", "nick", "topic",
                   "mode", "info", "error"]
QUOTED = 40  # characters of a message quoted by a reply or a reaction
# Kinds that count as unread: conversation, not comings and goings.
_UNREAD_KINDS = frozenset({"message", "action", "notice", "wallops"})
# How far back a first connection asks for the private conversations held elsewhere
TARGETS_LOOKBACK = timedelta(days=7)
TARGETS_MAX = 20  # conversations opened so at most


def quote(nick: str, text: str) -> str:
    """`carol: "the start of what she said"`: a message named by a reply or a reaction."""
    said = formatting.strip(text)
    return f'{nick}: "{said if len(said) <= QUOTED else said[: QUOTED - 1] + "…"}"'


@dataclass(slots=True)
class Line:
    time: datetime
    kind: LineKind
    text: str
    nick: str | None = None
    own: bool = False
    mention: bool = False
    msgid: str | None = None
    history: bool = False  # fetched with chathistory, not seen live
    answering: str = ""  # a reply's `(↪ carol: "…") `, which its text begins with
    # its time is the server's (server-time), not this machine's clock: a read marker is
    # set from it, since the account's other devices compare it with the server's times
    stamped: bool = False

    @property
    def own_text(self) -> str:
        """The text without what it answers: what a reply to this line quotes."""
        return self.text[len(self.answering):]


class BufferKind(enum.Enum):
    SERVER = "server"
    CHANNEL = "channel"
    QUERY = "query"


@dataclass(eq=False)
class Buffer:
    name: str
    kind: BufferKind
    lines: deque[Line] = field(default_factory=lambda: deque(maxlen=MAX_LINES))
    members: tuple[ev.Member, ...] = ()
    topic: str = ""
    unread: int = 0
    mentioned: bool = False
    joined: bool = False  # channels: we are in it right now
    rejoining: bool = False  # channels: we were in it when the connection dropped (rejoined when it is back)
    msgids: set[str] = field(default_factory=set)
    history_pending: bool = False  # a scroll-back request is on its way
    history_done: bool = False  # the server has nothing older
    # The oldest message or event that fetched history brought, shown or not (an ignored
    # person's is not): the next page is asked for before it, not before the oldest line.
    oldest_fetched: tuple[str | None, datetime] | None = None
    # A private conversation opened because the server said it had messages since this
    # time (CHATHISTORY TARGETS): what its history brings after it is unread
    news_after: datetime | None = None

    @property
    def is_channel(self) -> bool:
        return self.kind is BufferKind.CHANNEL

    def scroll_back_from(self) -> tuple[str | None, datetime] | None:
        """Where the page before what this buffer holds ends: the msgid (None: not known)
        and time of the oldest thing fetched history brought or else of the oldest line;
        None when there is nothing (the latest page is what comes before)."""
        fetched = self.oldest_fetched
        if fetched is not None and (not self.lines or fetched[1] <= self.lines[0].time):
            return fetched
        if not self.lines:
            return None
        named = next((line.msgid for line in self.lines if line.msgid), None)
        return named, self.lines[0].time

    def search(self, term: str) -> list[int]:
        """Indexes of the lines whose text (as read, without codes) or nick contains `term`, any case."""
        folded = term.casefold()
        if not folded:
            return []
        return [i for i, line in enumerate(self.lines)
                if folded in formatting.strip(line.text).casefold() or folded in (line.nick or "").casefold()]

    def __hash__(self) -> int:
        return id(self)


@dataclass
class Update:
    """What one change touched, for a UI to redraw."""

    lines: list[tuple[Buffer, Line]] = field(default_factory=list)
    rewritten: set[Buffer] = field(default_factory=set)  # redraw all lines (history, rename)
    members: set[Buffer] = field(default_factory=set)
    topic: set[Buffer] = field(default_factory=set)
    buffers: bool = False  # the buffer list or its markers changed
    selected: bool = False  # another buffer is on screen
    status: bool = False
    bell: bool = False
    channel_list: bool = False  # a /list answer is complete
    older_wanted: set[Buffer] = field(default_factory=set)  # scroll-back found nothing said: ask further back
    # private conversations whose latest history is to be asked for: those opened before the
    # connection could ask, and after a reconnection what was said while we were away
    latest_wanted: set[Buffer] = field(default_factory=set)
    # registered: the private conversations with messages since this time are to be asked
    # for (CHATHISTORY TARGETS), and opened (logged in to an account: app.py asks)
    targets_since: datetime | None = None
    # a conversation was read past the account's read marker: `marks_due()` has a MARKREAD
    # to send, after a pause (a burst of messages read is one MARKREAD, as in the web client)
    mark_read: bool = False

    def merge(self, other: Update) -> None:
        self.lines += other.lines
        self.rewritten |= other.rewritten
        self.members |= other.members
        self.topic |= other.topic
        self.buffers |= other.buffers
        self.selected |= other.selected
        self.status |= other.status
        self.bell |= other.bell
        self.channel_list |= other.channel_list
        self.older_wanted |= other.older_wanted
        self.latest_wanted |= other.latest_wanted
        self.targets_since = other.targets_since or self.targets_since
        self.mark_read |= other.mark_read


def _words_pattern(words: list[str]) -> re.Pattern[str]:
    """Any of `words` standing alone: "bob" in "bob: hi" or "hi bob!", not in "bobby" or "[bob]x".
    A word in a script written without spaces (Chinese, Japanese) has no edge to stand
    alone at: `日本` is found in `日本に行く`."""
    edge = r"[\w\[\]\\`^{|}-]"
    alternatives = []
    for word in sorted(words, key=len, reverse=True):
        if word and _UNSPACED.search(word):
            alternatives.append(re.escape(word))
        elif word:
            alternatives.append(rf"(?<!{edge}){re.escape(word)}(?!{edge})")
    return re.compile("|".join(alternatives) or "(?!)", re.IGNORECASE)


# Scripts written without spaces between words: Han, Hiragana, Katakana (and their
# halfwidth forms), Thai, Lao, Khmer, Myanmar
_UNSPACED = re.compile(
    "[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"
    "\u0e00-\u0e7f\u0e80-\u0eff\u1780-\u17ff\u1000-\u109f]"
)


@dataclass(frozen=True, slots=True)
class ListedChannel:
    """One channel of a /list answer."""

    name: str
    users: int
    topic: str


def _local(when: datetime) -> str:
    return when.astimezone().strftime("%Y-%m-%d %H:%M")


def _duration(seconds: int) -> str:
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [f"{v}{u}" for v, u in ((days, "d"), (hours, "h"), (minutes, "m")) if v]
    return " ".join(parts + [f"{secs}s"]) if not parts or secs else " ".join(parts)


SHORT_REASON = 60  # characters of a disconnection's reason in the status bar


def _short_reason(reason: str) -> str:
    """A disconnection's reason for the status bar: `connection refused` for `could not
    connect to 127.0.0.1:6667: connection refused (is the server running?)`."""
    short = re.sub(r"^could not connect to \S+: ", "", reason)
    short = re.sub(r" \([^()]*\?\)$", "", short)  # a hint in brackets: the server buffer has it
    return short if len(short) <= SHORT_REASON else short[: SHORT_REASON - 1].rstrip() + "…"


def _timestamp(value: str) -> str:
    return _local(datetime.fromtimestamp(int(value), UTC)) if value.isdigit() else value


def _knock(channel: str, mask: str, text: str) -> str:
    """710: `mask` asks `channel`'s operators for an invitation, `text` is the server's
    "has asked for an invite", with the knock's reason after it when one was given."""
    nick = nick_of(mask)
    reason = re.sub(r"^has asked for an invite\.?:?\s*", "", text, flags=re.IGNORECASE)
    return f"{nick} ({mask.partition('!')[2]}) asks to be invited to {channel}" + (
        f": {reason}" if reason else "") + f" (/invite {nick})"


NICKSERV_ANSWER = 10.0  # seconds after we wrote to NickServ in which its notices are answers
NICKSERV_WARNING_SHOWN = 60.0  # seconds in which a channel shown after NickServ's warning takes it too

# Replies whose last parameter says it all.
_TEXT_ONLY = frozenset({"001", "002", "003", "251", "255", "265", "266", "305", "306", "372",
                        "375", "376", "422", "901", "903"})
# Replies that only close a list: nothing to show. And 900 (logged in), which a login
# is told otherwise already: by SASL's result ("Logged in as alice."), or by NickServ's
# own notice after IDENTIFY or REGISTER; shown, it said the same a second time.
_SILENT = frozenset({"004", "005", "315", "318", "321", "329", "366", "369", "376", "900", "908"})
_FORMATS: dict[str, Callable[[tuple[str, ...]], str]] = {
    "301": lambda p: f"{p[0]} is away: {p[-1]}",
    "311": lambda p: f"{p[0]} is {p[1]}@{p[2]} ({p[-1]})",
    "312": lambda p: f"{p[0]} is on {p[1]} ({p[-1]})",
    "313": lambda p: f"{p[0]} is an IRC operator",
    "317": lambda p: f"{p[0]} has been idle {_duration(int(p[1]) if p[1].isdigit() else 0)}"
                     + (f", signed on {_timestamp(p[2])}" if len(p) > 3 else ""),
    "319": lambda p: f"{p[0]} is in {p[-1]}",
    "322": lambda p: f"{p[0]} ({p[1]} users) {p[-1]}".rstrip(),
    "323": lambda p: "End of channel list",
    "324": lambda p: f"Modes of {p[0]}: {' '.join(p[1:])}",
    "330": lambda p: f"{p[0]} is logged in as {p[1]}",
    "331": lambda p: f"No topic is set for {p[0]}",
    "333": lambda p: f"Topic set by {nick_of(p[1])} on {_timestamp(p[2])}",
    "341": lambda p: f"Invited {p[0]} to {p[1]}",
    "352": lambda p: f"{p[4]} ({p[1]}@{p[2]}) {p[5]} {p[-1].partition(' ')[2]}",
    "353": lambda p: f"Users on {p[1]}: {p[-1]}",
    "378": lambda p: f"{p[0]} {p[-1]}",
    "671": lambda p: f"{p[0]} is using a secure connection",
    "710": lambda p: _knock(p[0], p[1], p[-1]),
    "711": lambda p: f"Your knock on {p[0]} was delivered: its operators may invite you",
    "511": lambda p: f"The server's silence list is full: {p[0]} was not added there (/silence lists it, "
                     "/silence -mask makes room).",
}


def _ago(then: datetime, now: datetime) -> str:
    """How long ago, in words: "just now", "2 minutes ago", "3 days ago"."""
    seconds = int((now - then).total_seconds())
    if seconds < 60:
        return "just now"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            if unit == "day" and count > 30:
                return f"on {_local(then)}"
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "just now"  # pragma: no cover - the loop always returns


# The entries of the ban (367), exception (348) and invite exception (346) lists, and their ends.
_LIST_ENTRIES = {"367": "", "348": " (exception)", "346": " (invite exception)"}
_LIST_ENDS = {"368": "bans", "349": "exceptions", "347": "invite exceptions"}


def _list_entry(reply: ev.Reply) -> str:
    """`spammy!*@* — set by maya, 2 minutes ago` (a mute: `m:spammy!*@* (mute) — ...`)."""
    params = reply.params
    mask = params[1]
    what = _LIST_ENTRIES[reply.code] or (" (mute)" if mask.lower().startswith("m:") else "")
    text = f"{mask}{what}"
    if len(params) > 2 and params[2]:
        text += f" — set by {nick_of(params[2])}"
        if len(params) > 3 and params[3].isdigit():
            text += ", " + _ago(datetime.fromtimestamp(int(params[3]), UTC), reply.time)
    return text


# The events a chathistory batch plays back besides messages (draft/event-playback).
_PLAYED_BACK = (ev.Joined, ev.Parted, ev.Kicked, ev.UserQuit, ev.NickChanged, ev.TopicChanged, ev.ModeChanged)


def _event_text(event: ev.Joined | ev.Parted | ev.Kicked | ev.UserQuit | ev.NickChanged | ev.TopicChanged
                | ev.ModeChanged, isupport: ISupport | None = None) -> tuple[LineKind, str]:
    """How a join, part, kick, quit, nick, topic or mode change reads, live or in history:
    a channel's mode changes in words, then as letters (`isupport` says which letters
    take a parameter)."""
    if isinstance(event, ev.Joined):
        return "join", f"You joined {event.channel}" if event.own else f"{event.nick} joined {event.channel}"
    if isinstance(event, ev.Parted):
        reason = f" ({event.reason})" if event.reason else ""
        return "part", f"You left {event.channel}{reason}" if event.own else f"{event.nick} left{reason}"
    if isinstance(event, ev.Kicked):
        reason = f" ({event.reason})" if event.reason else ""
        if event.own:
            return "error", f"{event.by} kicked you from {event.channel}{reason}"
        return "part", f"{event.by} kicked {event.nick}{reason}"
    if isinstance(event, ev.UserQuit):
        return "quit", f"{event.nick} quit" + (f" ({event.reason})" if event.reason else "")
    if isinstance(event, ev.NickChanged):
        return "nick", f"You are now known as {event.new}" if event.own else f"{event.old} is now known as {event.new}"
    if isinstance(event, ev.TopicChanged):
        if event.initial:
            return "topic", f"Topic: {event.topic}"
        if event.topic:
            return "topic", f"{event.by} changed the topic to: {event.topic}"
        return "topic", f"{event.by} cleared the topic"
    raw = f"{event.modes} {' '.join(event.args)}".rstrip()
    # a server's (its name has a dot: a new channel's +nt) is nobody's doing: the letters do
    if isupport is None or not isupport.is_channel(event.target) or "." in event.by:
        return "mode", f"{event.by} sets mode {raw}"
    changes = isupport.parse_channel_modes(event.modes, list(event.args))
    return "mode", f"{event.by} {in_words(changes, event.target)} ({raw})"


def _newest_message(buffer: Buffer) -> datetime | None:
    """The server-time of the newest message a buffer shows: what a read marker is set
    to once it is read (None when it shows none stamped by the server)."""
    for line in reversed(buffer.lines):
        if line.stamped and line.kind in _UNREAD_KINDS:
            return line.time
    return None


def _placed(item: ev.Event) -> tuple[str | None, datetime] | None:
    """The msgid and time of a message or event of fetched history, where it has a time."""
    when = getattr(item, "time", None)
    return (getattr(item, "msgid", None), when) if isinstance(when, datetime) else None


def _silence_refused(event: ev.StandardReply) -> str:
    """`FAIL SILENCE ...` in words: the mask the server would not take, or could not find."""
    mask = event.context[-1] if event.context else ""
    if event.code == "NO_SUCH_ENTRY" and mask:
        return f"{mask} is not on your silence list at the server (/silence lists it)."
    if event.code == "INVALID_MASK" and mask:
        return f"The server refused {mask} as a silence mask: {event.text}"
    return f"SILENCE: {event.text}"


def _password_refusal(reply: ev.Reply) -> str:
    """A refused server password in words: "Password incorrect" alone does not say which
    of a person's passwords it was, nor that the account's (SASL, likely logged in with
    a moment ago) is not the one the server wants."""
    said = f" ({reply.text})" if reply.text else ""
    return (f"The server refused its connection password{said}. Start hubbub chat again with "
            "--server-password and the server's own password (its operators know it); "
            "--password is your account's.")


def describe_reply(reply: ev.Reply) -> str | None:
    """A numeric reply in words a person reads; None for those not worth a line."""
    code, params = reply.code, reply.params
    if code in _SILENT:
        return None
    if code in _LIST_ENTRIES and len(params) >= 2:
        return _list_entry(reply)
    if code in _LIST_ENDS and params:
        return f"End of the {_LIST_ENDS[code]} of {params[0]}"
    formatter = _FORMATS.get(code)
    if formatter is not None:
        try:
            return formatter(params)
        except IndexError:
            pass
    if code in _TEXT_ONLY or len(params) <= 1:
        return reply.text
    if reply.is_error:
        return f"{' '.join(params[:-1])}: {params[-1]}"
    return " ".join(params)


class ChatState:
    """All buffers of one connection and which one is shown."""

    def __init__(self, server_label: str, isupport: ISupport | None = None,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.isupport = isupport or ISupport()
        self.clock = clock
        self.server = Buffer(server_label, BufferKind.SERVER)
        self.buffers: list[Buffer] = [self.server]
        self.current = self.server
        self.nick = ""
        self.targets_asked: datetime | None = None  # the time the last TARGETS asked from (_history_targets)
        self.status = "disconnected"  # "connecting", "connected" or "disconnected"
        self.status_text = ""
        self.away: str | None = None
        self._attempt = 0
        self.highlights: list[str] = []  # words that count as a mention, besides our nick
        # The account logged in to (900): its name is a mention too, as our nick is. With
        # several devices of one account the nicks differ (alice_, alice_phone), and
        # people write to the person by the name they know.
        self.account: str | None = None
        self.ignores: list[str] = []  # nicks or nick!user@host masks whose messages are hidden
        self.channels_listed: list[ListedChannel] = []
        self.listing = False  # a /list answer is being collected
        self._mention = _words_pattern([])
        # The away message last shown for each person (folded nick), in answer to what we
        # said to them: the server repeats its 301 after every message, shown once per away.
        self._away_shown: dict[str, str] = {}
        self._whois: set[str] = set()  # folded nicks whose WHOIS answer is arriving
        self._asked_nickserv: datetime | None = None  # when we last wrote to NickServ (its answers follow)
        # NickServ's last warning shown in the server buffer, with when: the channel the
        # client then joins and shows takes it too, or it would be off screen at once
        self._nickserv_warning: tuple[datetime, str] | None = None
        # channels the person asked to join (/join, casefolded): a new one is shown when it
        # opens; one joined otherwise (the start's, a forced join) only while the person
        # has chosen no buffer (`view_chosen`, set by the UI), so that a conversation
        # opened meanwhile (a /query typed at the start) keeps the screen
        self.joins_asked: set[str] = set()
        self.view_chosen = False
        # The server's words when it refused its password on this attempt (464): the
        # disconnection that follows is final, and says what to do instead of a retry
        self._password_refused: str | None = None
        # Whether someone is looking (the terminal has the focus, where it says so): only
        # then is what arrives in the buffer on screen read, and marked read on the server.
        self.focused = True
        # The account's read markers (folded conversation name -> time read up to), as the
        # server told them or as we set them: kept for conversations not open yet, which
        # then open with what was read elsewhere not unread. A marker only moves forward.
        self._markers: dict[str, datetime] = {}
        # What was read here since the last `marks_due()`: buffer -> its newest message then
        self._reading: dict[Buffer, datetime] = {}
        self._handlers: dict[type[ev.Event], Callable[[Any, Update], None]] = {
            ev.Connecting: self._connecting, ev.Connected: self._connected,
            ev.Registered: self._registered, ev.Disconnected: self._disconnected,
            ev.CapsChanged: self._caps, ev.SaslResult: self._sasl, ev.ServerError: self._server_error,
            ev.MessageReceived: self._message, ev.Joined: self._joined, ev.Parted: self._parted,
            ev.Kicked: self._kicked, ev.UserQuit: self._quit, ev.NickChanged: self._nick,
            ev.TopicChanged: self._topic, ev.MembersChanged: self._members,
            ev.ModeChanged: self._mode, ev.AwayChanged: self._away, ev.Invited: self._invited,
            ev.Reply: self._reply, ev.StandardReply: self._standard, ev.History: self._history,
            ev.Wallops: self._wallops, ev.Unhandled: self._unhandled, ev.Reacted: self._reacted,
            ev.Silenced: self._silenced, ev.SilenceList: self._silence_list,
            ev.HistoryTargets: self._history_targets, ev.ReadMarker: self._read_marker,
        }

    # -- buffers ------------------------------------------------------------------------

    def find(self, name: str) -> Buffer | None:
        key = self.isupport.casefold(name)
        for buffer in self.buffers:
            if buffer.kind is not BufferKind.SERVER and self.isupport.casefold(buffer.name) == key:
                return buffer
        return None

    def open(self, name: str, update: Update | None = None) -> Buffer:
        """The buffer for a channel or a nick, created at the end of the list if new."""
        buffer = self.find(name)
        if buffer is None:
            kind = BufferKind.CHANNEL if self.isupport.is_channel(name) else BufferKind.QUERY
            buffer = Buffer(name, kind)
            self.buffers.append(buffer)
            if update is not None:
                update.buffers = True
        return buffer

    def select(self, buffer: Buffer) -> Update:
        update = Update(buffers=True, selected=True, members={buffer}, topic={buffer}, status=True)
        self.current = buffer
        buffer.unread = 0
        buffer.mentioned = False
        self._note_read(buffer, update)
        return update

    def select_index(self, index: int) -> Update | None:
        if 0 <= index < len(self.buffers):
            return self.select(self.buffers[index])
        return None

    def select_next(self, step: int) -> Update:
        index = self.buffers.index(self.current)
        return self.select(self.buffers[(index + step) % len(self.buffers)])

    def close(self, buffer: Buffer) -> Update:
        """Drop a buffer (never the server's); the one before it is shown instead."""
        if buffer is self.server or buffer not in self.buffers:
            return Update()
        index = self.buffers.index(buffer)
        self.buffers.remove(buffer)
        self._reading.pop(buffer, None)  # closed before its MARKREAD went: not marked
        if self.current is buffer:
            return self.select(self.buffers[max(0, index - 1)])
        return Update(buffers=True)

    def info(self, text: str, buffer: Buffer | None = None, error: bool = False) -> Update:
        """A line of our own (help, a typing mistake) in a buffer, the current one by default."""
        update = Update()
        self._add(buffer or self.current, Line(self.clock(), "error" if error else "info", text), update)
        return update

    # -- read markers (draft/read-marker) --------------------------------------------------

    def set_focused(self, focused: bool) -> Update:
        """The terminal gained or lost the focus: once back, the buffer on screen is read."""
        update = Update()
        self.focused = focused
        self._note_read(self.current, update)
        return update

    def read_marker(self, name: str) -> datetime | None:
        """Up to when the account has read a conversation, as far as we know."""
        return self._markers.get(self.isupport.casefold(name))

    def marks_due(self) -> list[tuple[str, datetime]]:
        """The conversations read here past the account's marker since the last call, each
        with the server-time of its newest message read then: the MARKREADs to send now.
        Each is the marker from now on, so none is sent twice or moved backwards. One
        closed meanwhile is left out (`close`; the web client does the same)."""
        self._note_read(self.current, Update())  # what came into view meanwhile (history) is read too
        due: list[tuple[str, datetime]] = []
        for buffer, newest in self._reading.items():
            if self._past_marker(buffer.name, newest):
                self._markers[self.isupport.casefold(buffer.name)] = newest
                due.append((buffer.name, newest))
        self._reading.clear()
        return due

    def _past_marker(self, name: str, when: datetime) -> bool:
        """Whether `when` is later than the account's marker of `name` (or none is known)."""
        marker = self.read_marker(name)
        return marker is None or when > marker

    def _read_elsewhere(self, buffer: Buffer, line: Line) -> bool:
        """Whether the account had read `line` already (on another device: its read marker
        is at or after it), so that it is not unread here."""
        marker = self.read_marker(buffer.name)
        return marker is not None and line.time <= marker

    def _note_read(self, buffer: Buffer, update: Update) -> None:
        """`buffer` is on screen to someone looking: its newest message is read, and to be
        marked read on the server unless the account's marker is there already. The server
        buffer keeps no marker."""
        if buffer is not self.current or buffer is self.server or not self.focused:
            return
        newest = _newest_message(buffer)
        if newest is None or not self._past_marker(buffer.name, newest):
            return
        noted = self._reading.get(buffer)
        if noted is None or newest > noted:
            self._reading[buffer] = newest
            update.mark_read = True

    def _read_marker(self, event: ev.ReadMarker, update: Update) -> None:
        """The account's marker moved (read on another device, or our own MARKREAD's
        answer), or was told on joining or asked for: remembered for the conversation,
        open or not, and what was said up to it is no longer unread. What came after it
        stays unread. An older marker than the one known changes nothing."""
        if event.time is None or not self._past_marker(event.target, event.time):
            return
        self._markers[self.isupport.casefold(event.target)] = event.time
        buffer = self.find(event.target)
        if buffer is not None and self._recount(buffer, event.time):
            update.buffers = True

    def _recount(self, buffer: Buffer, marker: datetime) -> bool:
        """The unread count and mention of `buffer` once what was said up to `marker` is
        read: of the lines counted (the newest that count), those after it stay. Whether
        anything changed."""
        unread, mentioned, counted = 0, False, 0
        for line in reversed(buffer.lines):
            if counted >= buffer.unread:
                break
            if not self._counts(buffer, line):
                continue
            counted += 1
            if line.time > marker:
                unread += 1
                mentioned = mentioned or line.mention
        mentioned = mentioned and buffer.mentioned
        if (unread, mentioned) == (buffer.unread, buffer.mentioned):
            return False
        buffer.unread, buffer.mentioned = unread, mentioned
        return True

    # -- what the person asks for ---------------------------------------------------------

    def _update_mentions(self) -> None:
        names = [name for name in (self.nick, self.account) if name]
        self._mention = _words_pattern([*names, *self.highlights])

    def add_highlight(self, word: str) -> bool:
        """Count `word` as a mention from now on; False if it already was."""
        if not word or word.casefold() in (w.casefold() for w in self.highlights):
            return False
        self.highlights.append(word)
        self._update_mentions()
        return True

    def remove_highlight(self, word: str) -> bool:
        kept = [w for w in self.highlights if w.casefold() != word.casefold()]
        removed = len(kept) != len(self.highlights)
        self.highlights = kept
        self._update_mentions()
        return removed

    def ignore(self, mask: str) -> bool:
        """Hide the messages of a nick (`bob`, `bo*`) or a mask (`*!*@host`); False if already hidden."""
        if not mask or any(self.isupport.same(mask, m) for m in self.ignores):
            return False
        self.ignores.append(mask)
        return True

    def unignore(self, mask: str) -> bool:
        kept = [m for m in self.ignores if not self.isupport.same(mask, m)]
        removed = len(kept) != len(self.ignores)
        self.ignores = kept
        return removed

    def is_ignored(self, nick: str, prefix: str = "") -> bool:
        for mask in self.ignores:
            if "!" in mask or "@" in mask:
                full = mask if "!" in mask else "*!" + mask
                if prefix and mask_matches(full, prefix):
                    return True
            elif mask_matches(mask, nick):
                return True
        return False

    def start_list(self) -> None:
        """A /list was sent: collect the answer for a browsable list instead of lines."""
        self.listing = True
        self.channels_listed = []

    # -- events ---------------------------------------------------------------------------

    def apply(self, event: ev.Event) -> Update:
        update = Update()
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(event, update)
        return update

    def _add(self, buffer: Buffer, line: Line, update: Update) -> None:
        if line.msgid is not None:
            if line.msgid in buffer.msgids:
                return
            buffer.msgids.add(line.msgid)
        buffer.lines.append(line)
        update.lines.append((buffer, line))
        if buffer is self.current:
            if line.stamped:  # a message from the server: read as it comes, by someone looking
                self._note_read(buffer, update)
        elif self._counts(buffer, line) and not self._read_elsewhere(buffer, line):
            buffer.unread += 1
            update.buffers = True
            if line.mention:
                buffer.mentioned = True

    def _counts(self, buffer: Buffer, line: Line) -> bool:
        """Whether `line` counts as unread where it is not on screen: what others say, not
        comings and goings. The server buffer's notices are not conversation: only
        mentions there count, and wallops, which are operators talking to each other."""
        if line.own:
            return False
        if buffer is self.server:
            return line.mention or line.kind == "wallops"
        return line.kind in _UNREAD_KINDS or line.mention

    def _event_line(self, buffer: Buffer, when: datetime, kind: LineKind, text: str, update: Update,
                     nick: str | None = None, msgid: str | None = None) -> None:
        self._add(buffer, Line(when, kind, text, nick, msgid=msgid), update)

    def _set_status(self, status: str, text: str, update: Update) -> None:
        self.status, self.status_text = status, text
        update.status = True

    def _connecting(self, event: ev.Connecting, update: Update) -> None:
        self._attempt = event.attempt
        self._password_refused = None
        where = f"{event.host}:{event.port}"
        verb = "Connecting" if event.attempt == 1 else f"Reconnecting (attempt {event.attempt})"
        self._set_status("connecting", f"{verb} to {where}…", update)
        if event.attempt == 1:  # later attempts show in the status bar only
            self._event_line(self.server, self.clock(), "info", f"{verb} to {where}…", update)

    def _connected(self, event: ev.Connected, update: Update) -> None:
        self.account = None  # a new connection: logged in again, or not (900)
        self._update_mentions()
        self._set_status("connecting", f"Connected to {event.host}:{event.port}, logging in…", update)

    def _registered(self, event: ev.Registered, update: Update) -> None:
        self.nick = event.nick
        self._update_mentions()
        self.away = None
        self._away_shown.clear()  # who is away is not known on this new connection
        self._whois.clear()
        if event.network and self.server.name != event.network:
            self.server.name = event.network
            update.buffers = True
        self._set_status("connected", f"Connected to {event.network or event.server}", update)
        self._event_line(self.server, self.clock(), "info", f"You are {event.nick}.", update)
        # a channel's history comes with its JOIN; a conversation's is asked for here
        update.latest_wanted |= {b for b in self.buffers if b.kind is BufferKind.QUERY}
        # and conversations held meanwhile elsewhere (another device of the account): since
        # the newest message we have anywhere, or the last week's on a first connection
        said = [line.time for b in self.buffers if b is not self.server
                for line in b.lines if line.kind in _UNREAD_KINDS]
        update.targets_since = self.targets_asked = max(said) if said else self.clock() - TARGETS_LOOKBACK
        update.mark_read = bool(self._reading)  # read while the connection was down: marked now

    def _disconnected(self, event: ev.Disconnected, update: Update) -> None:
        seconds = None if event.reconnect_in is None else max(1, round(event.reconnect_in))
        if event.was_connected:
            text = f"Disconnected: {event.reason}."
            if seconds is not None:
                text += f" Reconnecting in {seconds}s…"
        else:
            text = f"{event.reason[:1].upper()}{event.reason[1:]}."
            if seconds is not None:
                text += f" Retrying in {seconds}s…"
        # the status bar is one line: why in a few words (the whole reason is in the buffers)
        status = f"Not connected: {_short_reason(event.reason)}"
        if seconds is not None:
            status += f"; retrying in {seconds}s"
        elif self._password_refused is not None:
            # the client stays as it is, with nothing going on: say so, and how to leave
            text += " Not reconnecting: the same password would be refused again. /quit or Ctrl+Q to leave."
            status = "Not connected: server password refused: check --server-password"
        self._set_status("disconnected", status, update)
        self.listing = False  # a /list answer cut short will not be completed
        for buffer in self.buffers:
            buffer.history_pending = False
        if not event.was_connected and self._attempt > 1:
            return  # the same failure again: the status bar says it
        now = self.clock()
        for buffer in self.buffers:
            # a private conversation too: what is typed there now goes nowhere
            if buffer is self.server or buffer.joined or buffer.kind is BufferKind.QUERY:
                self._event_line(buffer, now, "error", text, update)
            if buffer.joined:  # set here only: a failed retry, the channel left already, keeps it
                buffer.rejoining = True
                self._left(buffer, update)

    def _left(self, buffer: Buffer, update: Update) -> None:
        """We are no longer in a channel: its members and topic are no longer known."""
        buffer.joined = False
        buffer.members = ()
        buffer.topic = ""
        update.members.add(buffer)
        update.topic.add(buffer)

    def _caps(self, event: ev.CapsChanged, update: Update) -> None:
        if event.added:
            names = ", ".join(sorted(event.added))
            self._event_line(self.server, self.clock(), "info", f"Capabilities enabled: {names}", update)

    def _sasl(self, event: ev.SaslResult, update: Update) -> None:
        if event.success:
            self._event_line(self.server, self.clock(), "info", f"Logged in as {event.account}.", update)
        else:
            self._event_line(self.server, self.clock(), "error", f"Login failed: {event.text}. A wrong password, "
                             "or no account of that name yet: to create one for your nick, type /register "
                             "<password> once connected (the same as /msg NickServ REGISTER <password>).", update)

    def _server_error(self, event: ev.ServerError, update: Update) -> None:
        self._event_line(self.server, self.clock(), "error", event.text, update)

    def _message(self, event: ev.MessageReceived, update: Update) -> None:
        if not event.own and not event.from_server and self.is_ignored(event.source, event.prefix):
            return
        if event.from_server:
            buffer = self.server
        else:
            buffer = self.open(event.conversation, update)
        kind: LineKind = "message" if event.kind == "privmsg" else event.kind
        nick = None if event.from_server else event.source  # a server name is not a person
        answering = self._replying(buffer, event)
        line = Line(event.time, kind, answering + self._shown_text(event), nick, event.own, self._mentions(event),
                    event.msgid, answering=answering, stamped="time" in event.tags)
        self._arrived(buffer, line, update)
        if event.own and self.isupport.same(event.target, NICKSERV):
            self._asked_nickserv = self.clock()
        elif self._unasked_nickserv_notice(event) and self.current is not buffer:
            # "This nickname is registered: log in within 30 seconds" after a reconnect:
            # in its own buffer alone, nobody sees it before the nick is taken away
            self._event_line(self.current, event.time, "info", f"-NickServ- {event.text}", update)
            self._nickserv_warning = (self.clock(), event.text) if self.current is self.server else None

    def _quoted(self, buffer: Buffer, msgid: str, page: dict[str, ev.MessageReceived] | None = None) -> str:
        """`carol: "the start of what she said"`, for a message of `buffer` (or of the
        history `page` arriving) named by its msgid; `an earlier message` when it is not
        among the lines kept."""
        found = page.get(msgid) if page else None
        if found is not None:
            nick, text = found.source, found.text
        else:
            line = next((line for line in reversed(buffer.lines) if line.msgid == msgid and line.nick), None)
            if line is None or line.nick is None:
                return "an earlier message"
            nick, text = line.nick, line.own_text
        return quote(nick, text)

    def _replying(self, buffer: Buffer, event: ev.MessageReceived,
                  page: dict[str, ev.MessageReceived] | None = None) -> str:  # fmt: skip
        """What a reply (`+draft/reply`, as web clients send it) answers, before its text."""
        to = event.tags.get("+draft/reply")
        return f"(↪ {self._quoted(buffer, to, page)}) " if to else ""

    def _reaction_text(self, buffer: Buffer, event: ev.Reacted,
                       page: dict[str, ev.MessageReceived] | None = None) -> str:  # fmt: skip
        """`carol reacted 👍 to bob: "the start of what he said"`, live or in history."""
        who = "You" if event.own else event.source
        about = self._quoted(buffer, event.to, page)
        return f"{who} reacted {event.emoji} to {about}" if event.on else f"{who} took back {event.emoji} from {about}"

    def _reacted(self, event: ev.Reacted, update: Update) -> None:
        """A reaction, as a line of its own in the conversation (not unread: no one said
        anything); in no buffer that is not open already. Its msgid keeps it from showing
        again when fetched history brings it back."""
        if not event.own and self.is_ignored(event.source, event.prefix):
            return
        buffer = self.find(event.conversation)
        if buffer is None:
            return
        self._event_line(buffer, event.time, "info", self._reaction_text(buffer, event), update, msgid=event.msgid)

    def _unasked_nickserv_notice(self, event: ev.MessageReceived) -> bool:
        """A notice NickServ sends of itself (a warning about our nick), not an answer to
        something we wrote to it in the last NICKSERV_ANSWER seconds."""
        return (event.kind == "notice" and event.private and not event.own and not event.from_server
                and self.isupport.same(event.source, NICKSERV)
                and (self._asked_nickserv is None
                     or (self.clock() - self._asked_nickserv).total_seconds() > NICKSERV_ANSWER))

    def _shown_text(self, message: ev.MessageReceived) -> str:
        """A message's text as shown and logged: passwords hidden in ours to NickServ."""
        if message.own and self.isupport.same(message.target, NICKSERV):
            return hide_passwords(message.text)
        return message.text

    def _wallops(self, event: ev.Wallops, update: Update) -> None:
        """Server-wide news among operators: in the server buffer, where the server's notices are."""
        if not event.own and self.is_ignored(event.source, event.prefix):
            return
        line = Line(event.time, "wallops", event.text, event.source, event.own, msgid=event.msgid)
        self._arrived(self.server, line, update)

    def _arrived(self, buffer: Buffer, line: Line, update: Update) -> None:
        """A new line: unread where it is not on screen, and the bell when it is for us."""
        before = len(update.lines)
        self._add(buffer, line, update)
        if len(update.lines) > before and line.mention:
            update.bell = True

    def _mentions(self, event: ev.MessageReceived) -> bool:
        """Whether a message is for us: a private one (not a notice), or one naming us or a highlight word."""
        return not event.own and not event.from_server and (
            (event.private and event.kind != "notice") or bool(self._mention.search(formatting.strip(event.text))))

    def _joined(self, event: ev.Joined, update: Update) -> None:
        if event.own:
            is_new = self.find(event.channel) is None
            buffer = self.open(event.channel, update)
            buffer.joined = True
            buffer.rejoining = False
            # The server sends the topic after the JOIN, and nothing when there is none:
            # whatever we knew from before (a kick, a reconnection) is not news.
            buffer.topic = ""
            update.topic.add(buffer)
            self._event_line(buffer, event.time, "join", f"You joined {event.channel}", update, msgid=event.msgid)
            folded = self.isupport.casefold(event.channel)
            asked = folded in self.joins_asked
            self.joins_asked.discard(folded)
            if is_new and (asked or not self.view_chosen):
                update.merge(self.select(buffer))
            if is_new:
                # into each channel the start opens (the last one opened is the one on screen)
                warned = self._nickserv_warning
                if warned is not None and (self.clock() - warned[0]).total_seconds() < NICKSERV_WARNING_SHOWN:
                    self._event_line(buffer, self.clock(), "info", f"-NickServ- {warned[1]}", update)
            return
        other = self.find(event.channel)
        if other is not None:
            self._event_line(other, event.time, *_event_text(event), update, event.nick, event.msgid)

    def _parted(self, event: ev.Parted, update: Update) -> None:
        buffer = self.find(event.channel)
        if buffer is None:
            return
        if event.own:
            self._left(buffer, update)
            buffer.rejoining = False
        self._event_line(buffer, event.time, *_event_text(event), update, None if event.own else event.nick,
                         event.msgid)

    def _kicked(self, event: ev.Kicked, update: Update) -> None:
        buffer = self.find(event.channel)
        if buffer is None:
            return
        if event.own:
            self._left(buffer, update)
            buffer.rejoining = False
            update.bell = True
        self._event_line(buffer, event.time, *_event_text(event), update, msgid=event.msgid)

    def _quit(self, event: ev.UserQuit, update: Update) -> None:
        self._away_shown.pop(self.isupport.casefold(event.nick), None)
        targets = [self.find(name) for name in (*event.channels, event.nick)]
        for buffer in dict.fromkeys(b for b in targets if b is not None):
            self._event_line(buffer, event.time, *_event_text(event), update, event.nick, event.msgid)

    def _nick(self, event: ev.NickChanged, update: Update) -> None:
        shown = self._away_shown.pop(self.isupport.casefold(event.old), None)
        if shown is not None:
            self._away_shown[self.isupport.casefold(event.new)] = shown
        if event.own:
            self.nick = event.new
            self._update_mentions()
            update.status = True
        kind, text = _event_text(event)
        query = self.find(event.old)
        if query is not None and query.kind is BufferKind.QUERY and self.find(event.new) in (None, query):
            marker = self._markers.pop(self.isupport.casefold(event.old), None)
            if marker is not None:  # the conversation is the same: so is what was read of it
                self._markers[self.isupport.casefold(event.new)] = marker
            query.name = event.new
            update.buffers = True
            update.topic.add(query)
            update.status = True  # it says whom we are talking with
        targets = [self.find(name) for name in (*event.channels, event.new)]
        if event.own:
            targets += [self.server, self.current]
        for buffer in dict.fromkeys(b for b in targets if b is not None):
            self._event_line(buffer, event.time, kind, text, update, msgid=event.msgid)

    def _topic(self, event: ev.TopicChanged, update: Update) -> None:
        buffer = self.find(event.channel)
        if buffer is None:
            return
        buffer.topic = event.topic
        update.topic.add(buffer)
        self._event_line(buffer, event.time, *_event_text(event), update, msgid=event.msgid)

    def _members(self, event: ev.MembersChanged, update: Update) -> None:
        buffer = self.find(event.channel)
        if buffer is None:
            return
        fold = self.isupport.casefold
        buffer.members = tuple(sorted(event.members, key=lambda m: (m.rank, fold(m.nick))))
        update.members.add(buffer)

    def _mode(self, event: ev.ModeChanged, update: Update) -> None:
        buffer = self.find(event.target) if self.isupport.is_channel(event.target) else self.server
        if buffer is None:
            return
        self._event_line(buffer, event.time, *_event_text(event, self.isupport), update, msgid=event.msgid)

    def _away(self, event: ev.AwayChanged, update: Update) -> None:
        if event.own:
            self.away = event.message
            update.status = True
        elif event.message is None:  # back (away-notify): the next time away is news again
            self._away_shown.pop(self.isupport.casefold(event.nick), None)

    def _repeated_away(self, event: ev.Reply) -> bool:
        """Whether a reply is the away message of someone we wrote to, shown already.

        A server answers every message to someone away with their away message (301),
        as it does a /whois; like irssi and HexChat, a conversation shows it once, and
        again only once it changes or they were back in between. A /whois shows it always.
        """
        fold = self.isupport.casefold
        if event.code == "311" and event.params:  # a WHOIS answer starts
            self._whois.add(fold(event.params[0]))
        elif event.code == "318" and event.params:  # ... and ends
            self._whois.difference_update(fold(nick) for nick in event.params[0].split(","))
        if event.code != "301" or len(event.params) < 2:
            return False
        nick, text = fold(event.params[0]), event.params[-1]
        if nick in self._whois:
            return False
        if self._away_shown.get(nick) == text:
            return True
        self._away_shown[nick] = text
        return False

    def _invited(self, event: ev.Invited, update: Update) -> None:
        text = f"{event.by} invites you to {event.channel} (type /join {event.channel})"
        for buffer in dict.fromkeys((self.current, self.server)):
            self._event_line(buffer, self.clock(), "info", text, update)
        update.bell = True

    def _reply(self, event: ev.Reply, update: Update) -> None:
        if event.code == "900":  # logged in: NickServ's warning about the nick is past
            self._nickserv_warning = None
            self.account = event.params[1] if len(event.params) > 2 else None
            self._update_mentions()
        elif event.code == "901":  # logged out
            self.account = None
            self._update_mentions()
        if self.listing and event.code in ("321", "322", "323"):
            if event.code == "322" and len(event.params) >= 2:
                users = int(event.params[1]) if event.params[1].isdigit() else 0
                topic = formatting.strip(event.params[2]) if len(event.params) > 2 else ""
                self.channels_listed.append(ListedChannel(event.params[0], users, topic))
            elif event.code == "323":
                self.listing = False
                update.channel_list = True
            return
        if event.code == "331" and event.params:  # RPL_NOTOPIC
            channel = self.find(event.params[0])
            if channel is not None:
                channel.topic = ""
                update.topic.add(channel)
        if self._repeated_away(event):
            return
        if refuses_password(event):
            self._password_refused = event.text
            self._event_line(self.server, event.time, "error", _password_refusal(event), update)
            return
        text = describe_reply(event)
        if text is None:
            return
        target = self.find(event.params[0]) if event.params else None
        if event.during_registration:
            buffer = self.server
        elif target is not None and target.is_channel:
            buffer = target
        else:  # about a nick (/whois, /nick): where it was typed, not a hidden conversation of that name
            buffer = self.current
        if event.code == "710" and buffer is target:  # a knock at a channel we run: someone waits, for us
            self._arrived(buffer, Line(event.time, "info", text, mention=True), update)
            return
        self._event_line(buffer, event.time, "error" if event.is_error else "info", text, update)

    def _standard(self, event: ev.StandardReply, update: Update) -> None:
        if event.command == "MARKREAD":
            # Read markers are the client's own doing, in the background: a refusal (a
            # conversation the server keeps none of) is no business of the person's.
            return
        if event.kind == "FAIL" and event.command == "CHATHISTORY" and event.context:
            found = self.find(event.context[-1])
            if found is not None:
                # The client asks on its own (joining, /query, PageUp), and a server keeps
                # nothing of some conversations for us (private ones without accounts):
                # that is an answer with nothing in it, not an error to show.
                self._history(ev.History(found.name, ()), update)
                return
        kind: LineKind = "error" if event.kind == "FAIL" else "info"
        text = f"{event.command}: {event.text}"
        if event.kind == "FAIL" and event.command == "SILENCE":
            text = _silence_refused(event)
        self._event_line(self.current, self.clock(), kind, text, update)

    def _silenced(self, event: ev.Silenced, update: Update) -> None:
        """The server's SILENCE list changed: said where it was asked for, and a mask given
        again by the client itself after a reconnection in the server buffer, among the
        other news of a new connection."""
        if event.on:
            text = f"The server now keeps {event.mask}'s private messages, notices and invites from you (SILENCE)."
            if event.restored:
                text = f"Silenced at the server again: {event.mask}."
        else:
            text = f"The server no longer keeps {event.mask}'s private messages from you."
        self._event_line(self.server if event.restored else self.current, self.clock(), "info", text, update)

    def _silence_list(self, event: ev.SilenceList, update: Update) -> None:
        most = self.isupport.silence_limit
        if not event.masks:
            text = "Your silence list at the server is empty (/silence +mask adds to it, as /ignore does)."
        else:
            count = f"{len(event.masks)} of {most}" if most else str(len(event.masks))
            text = f"Silenced at the server ({count}): {', '.join(event.masks)}"
        self._event_line(self.current, self.clock(), "info", text, update)

    def _history(self, event: ev.History, update: Update) -> None:
        found = self.find(event.target)
        items = event.events or event.messages
        # Something said that is shown: a message, or a reaction (a page may hold reactions
        # and no message: it is shown, and is no end of history), of someone not ignored.
        said = any(self._talk_shown(item) for item in items)
        scrolling = found is not None and found.history_pending  # PageUp asked for it
        if found is not None:
            found.history_pending = False
        if not items:
            if found is not None:
                found.history_done = True
                update.rewritten.add(found)  # nothing came: the view stops waiting
            return
        if not said and not scrolling:
            # The latest page, fetched on joining (or /query), held only joins, parts and
            # the like, or what ignored people said: not shown, so a channel opens on what
            # happens now rather than on who came and went before. A page shorter than
            # asked is all there is; a full one may have talk before it, which PageUp
            # fetches (and then shows these).
            if found is not None:
                found.history_done = found.history_done or not event.full
                update.rewritten.add(found)
            return
        buffer = self.open(event.target, update)
        # Scroll-back is older than all the buffer holds. A line we lack from after its start
        # was said while we were away (disconnected, or out of the channel): it comes after
        # what we saw, as if it arrived now.
        start = buffer.lines[0].time if buffer.lines else None
        older: list[Line] = []
        missed: list[Line] = []
        hidden = False  # what an ignored person said: no line, but the page went back past it
        page = {m.msgid: m for m in event.messages if m.msgid}  # what a reply in it may answer
        # a page comes oldest first: the next one is asked for before its first item older than the buffer
        first = next((p for p in map(_placed, items) if p is not None and (start is None or p[1] <= start)), None)
        if first is not None and (buffer.oldest_fetched is None or first[1] <= buffer.oldest_fetched[1]):
            buffer.oldest_fetched = first
        for item in items:
            line = self._history_line(item, buffer, page)
            if line is None:
                hidden = hidden or isinstance(item, ev.MessageReceived | ev.Reacted)
                continue
            if line.msgid is not None and line.msgid in buffer.msgids:
                continue
            if start is not None and line.time > start:
                missed.append(line)
                continue
            if line.msgid is not None:
                buffer.msgids.add(line.msgid)
            older.append(line)
        for line in missed:
            self._arrived(buffer, line, update)
        if missed:
            self._in_time_order(buffer, min(line.time for line in missed), update)
        if older:
            merged = older + list(buffer.lines)  # keep the newest lines
            buffer.lines.clear()
            buffer.lines.extend(merged[-MAX_LINES:])
            update.rewritten.add(buffer)
            news_after, buffer.news_after = buffer.news_after, None
            if news_after is not None and buffer is not self.current:  # opened for what came meanwhile
                # what the other person said: not what our account said from another device
                news = [line for line in older if line.kind in _UNREAD_KINDS and line.time > news_after
                        and self.isupport.same(line.nick or "", buffer.name)
                        and not self._read_elsewhere(buffer, line)]
                buffer.unread += len(news)
                buffer.mentioned = buffer.mentioned or any(line.mention for line in news)
                update.buffers = True
        elif not missed and not (hidden and event.full):
            if not scrolling:
                # the latest page (a rejoin's, a reconnection's) held only what we have:
                # it says nothing of what lies before our oldest line
                return
            # a page of scroll-back with only what we had (asking again would bring the
            # same), or shorter than asked of what ignored people said: nothing before it
            buffer.history_done = True
            update.rewritten.add(buffer)
            return
        self._note_read(buffer, update)  # on screen: what it brought is read (missed lines were, as they came)
        if scrolling and not said and event.full and (older or hidden):
            # a whole page of joins and parts in a busy channel, or of what ignored people
            # said: no end of the history, and the person wants what was said, further back
            update.older_wanted.add(buffer)

    def _history_targets(self, event: ev.HistoryTargets, update: Update) -> None:
        """Private conversations with messages since `targets_since`: opened where they
        are not, their latest history asked for, what it brings after that time unread."""
        since = self.targets_asked
        for name, _ in event.targets:
            mine = self.isupport.casefold(name) == self.isupport.casefold(self.nick)
            if self.isupport.is_channel(name) or mine or self.find(name) is not None:
                continue
            buffer = self.open(name, update)
            buffer.news_after = since
            update.latest_wanted.add(buffer)

    def _in_time_order(self, buffer: Buffer, since: datetime, update: Update) -> None:
        """The lines from `since` (the earliest line missed while we were away, counted as
        new above) in the order of their times: a missed line was said before our rejoin
        and before what came live after it, not after them. What we saw before stays as it
        was, whatever clock stamped it."""
        lines = list(buffer.lines)
        cut = next((i for i, line in enumerate(lines) if line.time >= since), len(lines))
        ordered = sorted(lines[cut:], key=lambda line: line.time)  # stable: lines of one time keep their order
        if any(a is not b for a, b in zip(ordered, lines[cut:], strict=True)):
            buffer.lines.clear()
            buffer.lines.extend(lines[:cut] + ordered)
            update.rewritten.add(buffer)

    def _talk_shown(self, item: ev.Event) -> bool:
        """A message or a reaction of fetched history that is shown: ours, or of someone not ignored."""
        if isinstance(item, ev.MessageReceived | ev.Reacted):
            return item.own or not self.is_ignored(item.source, item.prefix)
        return False

    def _history_line(self, item: ev.Event, buffer: Buffer, page: dict[str, ev.MessageReceived]) -> Line | None:
        """A line of fetched history: a message (a reply quoting what it answers, from the
        `page` or the lines kept), a reaction (quoting the same way), or a join, kick,
        mode change... worded as when it happens live; None for what is not shown (an
        ignored person's message or reaction)."""
        if isinstance(item, ev.MessageReceived):
            if not item.own and self.is_ignored(item.source, item.prefix):
                return None
            kind: LineKind = "message" if item.kind == "privmsg" else item.kind
            answering = self._replying(buffer, item, page)
            return Line(item.time, kind, answering + self._shown_text(item), item.source, item.own,
                        self._mentions(item), item.msgid, history=True, answering=answering,
                        stamped="time" in item.tags)
        if isinstance(item, ev.Reacted):
            if not item.own and self.is_ignored(item.source, item.prefix):
                return None
            return Line(item.time, "info", self._reaction_text(buffer, item, page), msgid=item.msgid, history=True)
        if not isinstance(item, _PLAYED_BACK):
            return None
        kind, text = _event_text(item, self.isupport)
        nick = item.nick if isinstance(item, ev.Joined | ev.Parted) and not item.own else None
        if isinstance(item, ev.UserQuit):
            nick = item.nick
        return Line(item.time, kind, text, nick, msgid=item.msgid, history=True)

    def _unhandled(self, event: ev.Unhandled, update: Update) -> None:
        self._event_line(self.server, self.clock(), "info", event.message.to_line(), update)
