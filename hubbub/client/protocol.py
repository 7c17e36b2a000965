"""The IRC client protocol as an object: lines in, events and lines out, no I/O.

`ClientProtocol` is everything a client must know about IRC: the registration
state machine (CAP LS 302, REQ, SASL PLAIN, CAP END, NICK/USER, a fallback nick),
answering PING, ISUPPORT, channel membership, batches, server-time, echo-message,
labeled-response, chathistory and read markers. The asyncio layer (`connection.py`)
only moves lines between a socket and this object, so every rule here is tested by
feeding lines, and the same core could serve another transport.

Registration moves through `Phase` in one direction per connection:
IDLE -> CAP_LS -> CAP_REQ -> SASL -> WELCOME -> BURST -> READY, skipping what the
server does not offer (no CAP at all, no SASL). `connection_made` starts it again
after a reconnection, and once READY the masks of our server-side ignore list
(SILENCE) are given again, we are marked away again if we were, and the channels we
were in are joined again.
"""

from __future__ import annotations

import base64
import enum
import itertools
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeGuard

from hubbub.client import events as ev
from hubbub.client.isupport import ISupport
from hubbub.client.splitting import split_message, text_budget
from hubbub.irc import ctcp
from hubbub.irc.message import Message, ParseError, parse
from hubbub.irc.numerics import ERR_PASSWDMISMATCH

__all__ = ["DEFAULT_CAPS", "ClientProtocol", "Phase", "nick_of", "refuses_password", "utc_now"]

# What we ask for when the server offers it. chathistory is still a draft, so servers
# name it either way; labeled-response and chathistory are only useful with batch.
DEFAULT_CAPS = frozenset({
    "account-notify", "account-tag", "away-notify", "batch", "cap-notify", "chathistory",
    "draft/chathistory", "draft/event-playback", "draft/read-marker", "echo-message", "extended-join",
    "labeled-response", "message-tags", "multi-prefix", "sasl", "server-time",
})
READ_MARKER = "draft/read-marker"
_NEEDS_BATCH = frozenset({"labeled-response", "chathistory", "draft/chathistory", "draft/event-playback"})
CAP_REQ_BUDGET = 400  # bytes of capability names per CAP REQ line
SASL_CHUNK = 400  # AUTHENTICATE payloads are sent in 400-byte pieces
HISTORY_LIMIT = 50
REACTION_MAX = 32  # characters of a reaction shown (the spec leaves its value free; the web client's bound)
CTCP_VERSION = "hubbub chat"
# Numerics that belong to the welcome burst and the MOTD: shown in the server buffer.
_BURST_CODES = frozenset({"001", "002", "003", "004", "251", "252", "253", "254", "255",
                          "265", "266", "375", "372", "376", "422"})
_SASL_FAILURES = frozenset({"902", "904", "905", "906"})


def utc_now() -> datetime:
    return datetime.now(UTC)


def nick_of(source: str | None) -> str:
    """The nick in `nick!user@host` (or the whole source when it is a server name)."""
    if not source:
        return ""
    return source.split("!", 1)[0].split("@", 1)[0]


def refuses_password(event: ev.Event) -> TypeGuard[ev.Reply]:
    """Whether `event` is the server refusing the connection password (PASS): 464 before
    registration ends. The server closes the link after it, and the next attempt would
    send the same password and be refused again, each time counted against the address
    as a guess; so the connection gives up instead of reconnecting. (A 464 once
    registered answers OPER, and costs nothing but that command.)"""
    return isinstance(event, ev.Reply) and event.code == ERR_PASSWDMISMATCH and event.during_registration


def _parse_time(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _timestamp(when: datetime) -> str:
    """A CHATHISTORY reference to a time: `timestamp=2024-05-01T12:00:00.000Z`."""
    return "timestamp=" + when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# Lines of a long message sent before waiting for the server to have read them (see
# ClientProtocol._pump): at most 4 x 512 bytes wait in its input queue at a time.
PACED_LINES = 4

class Phase(enum.Enum):
    IDLE = "idle"  # no connection
    CAP_LS = "cap-ls"  # CAP LS 302 sent, reading the offer
    CAP_REQ = "cap-req"  # waiting for ACK/NAK of our requests
    SASL = "sasl"  # AUTHENTICATE in progress
    WELCOME = "welcome"  # CAP END sent (or no CAP), waiting for 001
    BURST = "burst"  # 001 received, waiting for the end of the MOTD
    READY = "ready"


@dataclass
class ChannelState:
    """A channel we are in: its members (folded nick -> (nick, modes)) and topic."""

    name: str
    members: dict[str, tuple[str, str]] = field(default_factory=dict)
    topic: str = ""
    names: dict[str, tuple[str, str]] | None = None  # NAMES replies being collected


@dataclass
class _Batch:
    kind: str
    params: list[str]
    parent: str | None
    label: str | None
    messages: list[Message] = field(default_factory=list)
    items: int = 0  # lines and nested batches directly in it: what a server counts towards a limit


class ClientProtocol:
    """One client's view of one IRC connection (and of the next, after reconnecting)."""

    def __init__(
        self,
        nick: str,
        *,
        username: str | None = None,
        realname: str = "hubbub chat",
        password: str | None = None,
        sasl_account: str | None = None,
        sasl_password: str | None = None,
        wanted_caps: Iterable[str] = DEFAULT_CAPS,
        channels: Iterable[str] = (),
        fetch_history: bool = True,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.wanted_nick = nick
        self.nick = nick
        self.username = username or "".join(c for c in nick if c.isascii() and c.isalnum())[:10] or "hubbub"
        # one line on the wire: a line break (or NUL) in it would make USER unsendable and
        # registration hang, so each becomes a space
        self.realname = " ".join(realname.replace("\0", " ").splitlines()).strip() or "hubbub chat"
        self.password = password
        self.sasl_account = sasl_account
        self.sasl_password = sasl_password
        self.wanted_caps = frozenset(wanted_caps)
        self.fetch_history = fetch_history
        self.clock = clock
        self.phase = Phase.IDLE
        self.isupport = ISupport()
        self.offered: dict[str, str | None] = {}
        self.caps: set[str] = set()
        self.server_name: str | None = None
        self.account: str | None = None
        self.own_prefix: str | None = None  # nick!user@host as others see us, once known
        self.away: str | None = None
        self.channels: dict[str, ChannelState] = {}
        # Channels we mean to be in (folded -> name): joined again after reconnecting.
        self.desired: dict[str, str] = {}
        for name in channels:
            self.desired[self.isupport.casefold(name)] = name
        # Keys (+k) of those channels (folded -> key): given to join(), or seen set since.
        self.keys: dict[str, str] = {}
        self._out: list[str] = []
        self._events: list[ev.Event] = []
        self._pending_reqs = 0
        self._ls_done = False
        self._batches: dict[str, _Batch] = {}
        # The limits of our CHATHISTORY requests not yet answered, per folded target, in
        # the order asked: the server answers in that order, and a page shorter than its
        # limit tells that nothing more is kept (`History.full`).
        self._history_asked: dict[str, deque[int]] = {}
        self._labels = itertools.count(1)
        self._nick_attempts = 0
        self._nick_short = False  # an alternative nick of ours was refused as erroneous
        # What _say (and react) has yet to send, one line at a time once there are several
        # (see _pump): each line, and the event that stands for its echo where the server sends none
        self._paced: deque[tuple[str, ev.Event | None]] = deque()
        self._pacing: str | None = None  # the PING token whose PONG lets the next line go
        self._pace_tokens = itertools.count(1)
        self._away_nicks: set[str] = set()
        self._requested_away: str | None = None
        # Masks for the server's SILENCE list (folded -> as given), which lasts as long as
        # one connection: given again at every registration.
        self.silences: dict[str, str] = {}
        self._silence_listed: list[str] | None = None  # 271 lines being collected
        self._silence_restoring: str | None = None  # the PING token after the masks given again
        # Conversations the server keeps no read marker of for us (folded): it said so once
        # (FAIL MARKREAD INVALID_PARAMS: a person without an account, a service) and is not
        # asked again on this connection. A new one may be logged in otherwise: asked again.
        self._unmarked: set[str] = set()

    # -- the transport's side ---------------------------------------------------------

    def connection_made(self) -> None:
        """A new connection: forget the old one's state and start registering."""
        self.phase = Phase.CAP_LS if self.wanted_caps else Phase.WELCOME
        self.nick = self.wanted_nick
        self.isupport.reset()  # the server may have changed; shared with observers, so in place
        self.offered.clear()
        self.caps.clear()
        self.channels.clear()
        self._batches.clear()
        self._history_asked.clear()
        self._away_nicks.clear()
        self._pending_reqs = 0
        self._ls_done = False
        self._nick_attempts = 0
        self._nick_short = False
        self._paced.clear()
        self._pacing = None
        self._silence_listed = None
        self._silence_restoring = None
        self._unmarked.clear()
        self.account = None
        self.away = None
        self._out.clear()
        if self.wanted_caps:
            self._out.append("CAP LS 302")
        if self.password:
            self._send("PASS", self.password)
        self._send("NICK", self.nick)
        self._send("USER", self.username, "0", "*", self.realname)

    def connection_lost(self) -> None:
        self.phase = Phase.IDLE
        self.channels.clear()
        self._batches.clear()
        self._history_asked.clear()

    def receive_line(self, line: str) -> None:
        """Handle one received line (without its line ending); junk is ignored."""
        try:
            message = parse(line)
        except ParseError:
            return
        self.receive(message)

    def receive(self, message: Message) -> None:
        ref = message.tags.get("batch")
        if ref is not None and ref in self._batches and message.command != "BATCH":
            batch = self._batches[ref]
            batch.messages.append(message)
            batch.items += 1
            return
        label = message.tags.get("label")
        self._dispatch(message)
        if label is not None and message.command not in ("BATCH", "ACK"):
            self._emit(ev.LabeledResponse(label, (message,)))

    def events_received(self) -> list[ev.Event]:
        """Events produced since the last call, oldest first."""
        out, self._events = self._events, []
        return out

    def lines_to_send(self) -> list[str]:
        """Lines to write since the last call (without line endings)."""
        out, self._out = self._out, []
        return out

    # -- what we know -----------------------------------------------------------------

    @property
    def registered(self) -> bool:
        return self.phase in (Phase.BURST, Phase.READY)

    @property
    def ready(self) -> bool:
        return self.phase is Phase.READY

    @property
    def tags_supported(self) -> bool:
        """The server relays client tags (`message-tags`): replies and reactions can be sent."""
        return "message-tags" in self.caps

    @property
    def history_supported(self) -> bool:
        return "batch" in self.caps and bool(self.caps & {"chathistory", "draft/chathistory"})

    @property
    def silence_supported(self) -> bool:
        """The server keeps a server-side ignore list (ISUPPORT `SILENCE`)."""
        return self.isupport.silence_limit is not None

    @property
    def read_markers_supported(self) -> bool:
        """The server keeps read markers for us (`draft/read-marker`): they belong to an
        account, so only once logged in to one."""
        return READ_MARKER in self.caps and self.account is not None

    def keeps_marker(self, target: str) -> bool:
        """Whether a read marker of `target` can be set or asked for now: read markers
        are kept, and the server did not say it keeps none of this conversation."""
        return self.read_markers_supported and self.isupport.casefold(target) not in self._unmarked

    def is_me(self, nick: str) -> bool:
        return bool(nick) and self.isupport.same(nick, self.nick)

    def of_our_account(self, message: Message) -> bool:
        """Whether the account we are logged in to said `message` (account-tag), from
        another device under another nick: our own line, as one typed here is."""
        account = message.tags.get("account")
        ours = self.account
        if not account or account == "*" or ours is None:
            return False
        return self.isupport.same(account, ours)

    def is_channel(self, name: str) -> bool:
        return self.isupport.is_channel(name)

    def channel(self, name: str) -> ChannelState | None:
        return self.channels.get(self.isupport.casefold(name))

    def members(self, name: str) -> tuple[ev.Member, ...]:
        state = self.channel(name)
        if state is None:
            return ()
        isup = self.isupport
        return tuple(
            ev.Member(nick, modes, isup.prefix_for(modes), isup.rank(modes), isup.casefold(nick) in self._away_nicks)
            for nick, modes in state.members.values()
        )

    # -- commands ---------------------------------------------------------------------

    def send(self, message: Message | str) -> None:
        """Queue a raw message (or line) as is; ValueError if it would not be one line."""
        if isinstance(message, str):
            if any(ch in message for ch in "\r\n\0"):
                raise ValueError("a raw line cannot contain CR, LF or NUL")
            self._out.append(message)
        else:
            self._out.append(message.to_line())

    def send_labeled(self, message: Message) -> str | None:
        """Send with a `label` tag when labeled-response is on; the label, or None."""
        if "labeled-response" not in self.caps:
            self.send(message)
            return None
        label = f"hb{next(self._labels)}"
        message.tags["label"] = label
        self.send(message)
        return label

    def privmsg(self, target: str, text: str) -> None:
        self._say("privmsg", target, text)

    def notice(self, target: str, text: str) -> None:
        self._say("notice", target, text)

    def action(self, target: str, text: str) -> None:
        self._say("action", target, text)

    def reply(self, target: str, msgid: str, text: str) -> bool:
        """Say `text` to `target` in answer to its message `msgid` (`+draft/reply`, as web
        clients send it); False when the server relays no client tags. A long text goes in
        several messages as `privmsg` sends it, the first one carrying the tag: the others
        continue it."""
        if not self.tags_supported:
            return False
        if not msgid:
            raise ValueError("a reply needs the msgid of the message it answers")
        self._say("privmsg", target, text, {"+draft/reply": msgid})
        return True

    def react(self, target: str, msgid: str, emoji: str, on: bool = True) -> bool:
        """React to the message `msgid` of `target` with `emoji` (a TAGMSG with `+draft/react`
        and `+draft/reply`), or take the reaction back (`on` False: `+draft/unreact`, which
        the spec lacks and web clients send); False when the server relays no client tags.
        Without echo-message it is reported at once as our own `Reacted`."""
        if not self.tags_supported:
            return False
        if not msgid:
            raise ValueError("a reaction needs the msgid of the message it is about")
        if not emoji or len(emoji) > REACTION_MAX:
            raise ValueError(f"a reaction is 1 to {REACTION_MAX} characters")
        tags = {"+draft/react" if on else "+draft/unreact": emoji, "+draft/reply": msgid}  # as web clients order them
        line = Message("TAGMSG", [target], tags=tags).to_line()
        echo = None
        if "echo-message" not in self.caps:
            echo = ev.Reacted(self.nick, target, emoji, msgid, on, True, self.clock())
        self._paced.append((line, echo))
        self._pump()
        return True

    def join(self, channel: str, key: str | None = None) -> None:
        if key:
            for name, given in zip(channel.split(","), key.split(","), strict=False):
                if given:
                    self.keys[self.isupport.casefold(name)] = given
        self._send("JOIN", channel, *([key] if key else []))

    def part(self, channel: str, reason: str = "") -> None:
        self.desired.pop(self.isupport.casefold(channel), None)
        self._send("PART", channel, *([reason] if reason else []))

    def forget(self, channel: str) -> None:
        """Do not join a channel again after reconnecting (one closed while disconnected); nothing is sent."""
        self.desired.pop(self.isupport.casefold(channel), None)
        self.keys.pop(self.isupport.casefold(channel), None)

    def change_nick(self, nick: str) -> None:
        self._send("NICK", nick)  # wanted_nick follows once the server agrees

    def set_topic(self, channel: str, topic: str | None = None) -> None:
        self._send("TOPIC", channel, *([] if topic is None else [topic]))

    def whois(self, nick: str) -> None:
        self._send("WHOIS", nick)

    def set_away(self, text: str | None) -> None:
        self._requested_away = text or None
        self._send("AWAY", *([text] if text else []))

    def quit(self, reason: str = "") -> None:
        self._send("QUIT", *([reason] if reason else []))

    def silence(self, mask: str) -> bool:
        """Have the server keep `mask`'s private messages, notices and invites from us
        (`SILENCE +mask`), on this connection and on every one after it; whether it was
        sent now (False: not registered, or a server without SILENCE; it is sent at the
        next registration where the server has it). The server's answer is a `Silenced`."""
        _check_silence_mask(mask)
        self.silences[self.isupport.casefold(mask)] = mask
        return self._send_silence("+", mask)

    def unsilence(self, mask: str) -> bool:
        """Take `mask` off the server's list (`SILENCE -mask`) and off those given again
        after a reconnection; whether it was sent now."""
        _check_silence_mask(mask)
        self.silences.pop(self.isupport.casefold(mask), None)
        return self._send_silence("-", mask)

    def _send_silence(self, sign: str, mask: str) -> bool:
        """`SILENCE +mask` or `-mask` now, if the server can take it now; whether it was sent."""
        if not self.ready or not self.silence_supported:
            return False
        self._send("SILENCE", sign + mask)
        return True

    def request_silence_list(self) -> bool:
        """Ask for the server's list (`SILENCE`), answered as a `SilenceList`; False
        when the server has none."""
        if not self.silence_supported:
            return False
        self._send("SILENCE")
        return True

    def request_history(self, target: str, limit: int = HISTORY_LIMIT) -> bool:
        """Ask for the latest messages of a conversation; False when the server cannot."""
        if not self.history_supported:
            return False
        most = self.isupport.chathistory_limit
        if most:
            limit = min(limit, most)
        self._send("CHATHISTORY", "LATEST", target, "*", str(limit))
        self._asked_history(target, limit)
        return True

    def request_targets(self, since: datetime, until: datetime, limit: int = 20) -> bool:
        """Ask which conversations had messages between two times (`CHATHISTORY TARGETS`),
        answered as a `HistoryTargets`; False when the server cannot. The later time goes
        first: the limit counts from the first, and the latest conversations are wanted."""
        if not self.history_supported:
            return False
        self._send("CHATHISTORY", "TARGETS", _timestamp(until), _timestamp(since), str(limit))
        return True

    def request_history_before(self, target: str, *, msgid: str | None = None, time: datetime | None = None,
                               limit: int = HISTORY_LIMIT) -> bool:
        """Ask for the messages before one we have (by msgid, else by time); False when the server cannot.

        This is scroll-back: the oldest line a buffer holds is the reference, and the
        answer is a `History` event whose messages go before it.
        """
        if not self.history_supported or (msgid is None and time is None):
            return False
        most = self.isupport.chathistory_limit
        if most:
            limit = min(limit, most)
        if msgid is not None:
            ref = f"msgid={msgid}"
        else:
            assert time is not None
            ref = _timestamp(time)
        self._send("CHATHISTORY", "BEFORE", target, ref, str(limit))
        self._asked_history(target, limit)
        return True

    def mark_read(self, target: str, when: datetime) -> bool:
        """Tell the server (and so the account's other connections) that `target` was read
        up to `when`, the server-time of the newest message read (`MARKREAD <target>
        timestamp=...`); False where no marker of it is kept. The server keeps the later
        of this and the marker it has, and answers with it (a `ReadMarker`)."""
        if not self.keeps_marker(target):
            return False
        self._send("MARKREAD", target, _timestamp(when))
        return True

    def request_read_marker(self, target: str) -> bool:
        """Ask for the account's read marker of `target` (`MARKREAD <target>`), answered as
        a `ReadMarker`; False where none is kept. A channel's comes unasked on joining it;
        a private conversation's only when asked."""
        if not self.keeps_marker(target):
            return False
        self._send("MARKREAD", target)
        return True

    # -- internals: output ----------------------------------------------------------

    def _send(self, command: str, *params: str) -> None:
        self._out.append(Message(command, list(params)).to_line())

    def _emit(self, event: ev.Event) -> None:
        self._events.append(event)

    def _time(self, message: Message) -> datetime:
        value = message.tags.get("time")
        parsed = _parse_time(value) if value else None
        return parsed or self.clock()

    def _say(self, kind: ev.MessageKind, target: str, text: str, tags: dict[str, str] | None = None) -> None:
        """Queue what was said, in as many messages as it needs; `tags` go on the first.
        Every line is made before any is queued, so one that cannot be sent (ValueError)
        leaves nothing half said."""
        command = "NOTICE" if kind == "notice" else "PRIVMSG"
        extra = len("\x01ACTION \x01") if kind == "action" else 0
        budget = text_budget(self.own_prefix, self.nick, command, target, extra)
        lines: list[tuple[str, ev.Event | None]] = []
        for i, piece in enumerate(split_message(text, budget) or ([""] if kind == "action" else [])):
            wire = f"\x01ACTION {piece}\x01" if kind == "action" else piece
            first_tags = dict(tags) if tags and i == 0 else {}
            echo: ev.Event | None = None
            if "echo-message" not in self.caps:
                private = not self.is_channel(target)
                echo = ev.MessageReceived(self.nick, target, piece, kind, target, True, private, False, self.clock(),
                                          tags=first_tags)  # fmt: skip
            lines.append((Message(command, [target, wire], tags=first_tags).to_line(), echo))
        self._paced.extend(lines)
        self._pump()

    def _pump(self) -> None:
        """Send what was said, a few lines at a time while more wait: after them a PING,
        and the next few once its PONG is back. The server's flood control then holds at
        most a few lines of ours waiting (a couple of KiB, well within its input limit),
        and a long paste arrives at the pace it allows instead of ending in "Excess
        Flood". What is said alone goes at once, and what is said meanwhile keeps its
        place behind."""
        sent = 0
        while self._pacing is None and self._paced:
            line, echo = self._paced.popleft()
            self._out.append(line)
            if echo is not None:
                self._emit(echo)
            sent += 1
            if self._paced and sent == PACED_LINES:
                self._pacing = f"hubbub-pace-{next(self._pace_tokens)}"
                self._send("PING", self._pacing)

    # -- internals: dispatch ----------------------------------------------------------

    def _dispatch(self, message: Message) -> None:
        command = message.command
        if self.phase is Phase.BURST and not command.isdigit() and command not in _BURST_NEUTRAL:
            self._become_ready()  # a server that sends no MOTD end: act once it moves on
        handler = getattr(self, f"_on_{command.lower()}", None)
        if handler is not None:
            handler(message)
        elif command.isdigit():
            self._reply(message)
        else:
            self._emit(ev.Unhandled(message))

    def _reply(self, message: Message) -> None:
        params = tuple(message.params[1:])
        during = not self.ready or message.command in _BURST_CODES
        self._emit(ev.Reply(message.command, params, self._time(message), during))

    # -- registration -----------------------------------------------------------------

    def _on_cap(self, message: Message) -> None:
        sub = message.param(1).upper()
        args = message.params[2:]
        more = len(args) > 1 and args[0] == "*"
        tokens = args[-1].split() if args else []
        if sub == "LS":
            for token in tokens:
                name, sep, value = token.partition("=")
                self.offered[name] = value if sep else None
            if not more and not self._ls_done:
                self._ls_done = True
                self._request_caps(self.offered)
        elif sub == "NEW":
            new: dict[str, str | None] = {}
            for token in tokens:
                name, sep, value = token.partition("=")
                new[name] = value if sep else None
            self.offered.update(new)
            self._request_caps(new)
        elif sub in ("ACK", "NAK"):
            if sub == "ACK":
                added = {t for t in tokens if not t.startswith("-")}
                removed = {t[1:] for t in tokens if t.startswith("-")}
                self.caps |= added
                self.caps -= removed
                self._emit(ev.CapsChanged(frozenset(self.caps), frozenset(added), frozenset(removed)))
            self._pending_reqs = max(0, self._pending_reqs - 1)
            if self._pending_reqs == 0 and self.phase is Phase.CAP_REQ:
                self._after_caps()
        elif sub == "DEL":
            gone = set(tokens)
            for name in gone:
                self.offered.pop(name, None)
            removed = self.caps & gone
            self.caps -= gone
            if removed:
                self._emit(ev.CapsChanged(frozenset(self.caps), frozenset(), frozenset(removed)))
        else:
            self._emit(ev.Unhandled(message))

    def _wanted_from(self, offer: dict[str, str | None]) -> list[str]:
        wanted = [name for name in sorted(offer) if name in self.wanted_caps and name not in self.caps]
        if "sasl" in wanted:
            mechanisms = offer["sasl"]
            usable = self.sasl_password is not None and self.phase is Phase.CAP_LS
            if not usable or (mechanisms and "PLAIN" not in mechanisms.upper().split(",")):
                wanted.remove("sasl")
        if "batch" not in offer and "batch" not in self.caps:
            wanted = [name for name in wanted if name not in _NEEDS_BATCH]
        return wanted

    def _request_caps(self, offer: dict[str, str | None]) -> None:
        wanted = self._wanted_from(offer)
        line: list[str] = []
        size = 0
        for name in wanted:
            if line and size + len(name) + 1 > CAP_REQ_BUDGET:
                self._send("CAP", "REQ", " ".join(line))
                self._pending_reqs += 1
                line, size = [], 0
            line.append(name)
            size += len(name) + 1
        if line:
            self._send("CAP", "REQ", " ".join(line))
            self._pending_reqs += 1
        if self.phase is Phase.CAP_LS:
            if self._pending_reqs:
                self.phase = Phase.CAP_REQ
            else:
                self._after_caps()

    def _after_caps(self) -> None:
        if "sasl" in self.caps and self.sasl_password is not None:
            self.phase = Phase.SASL
            self._send("AUTHENTICATE", "PLAIN")
        else:
            self._end_cap()

    def _end_cap(self) -> None:
        self.phase = Phase.WELCOME
        self._send("CAP", "END")

    def _on_authenticate(self, message: Message) -> None:
        if self.phase is not Phase.SASL or message.param(0) != "+":
            return
        account = self.sasl_account or self.wanted_nick
        payload = f"{account}\0{account}\0{self.sasl_password or ''}".encode()
        encoded = base64.b64encode(payload).decode()
        for i in range(0, len(encoded), SASL_CHUNK):
            self._send("AUTHENTICATE", encoded[i : i + SASL_CHUNK])
        if len(encoded) % SASL_CHUNK == 0:
            self._send("AUTHENTICATE", "+")  # an empty (or exactly 400-byte) last piece

    def _on_900(self, message: Message) -> None:  # RPL_LOGGEDIN
        self.account = message.param(2) or None
        self._reply(message)

    def _on_901(self, message: Message) -> None:  # RPL_LOGGEDOUT
        self.account = None
        self._reply(message)

    def _on_903(self, message: Message) -> None:  # RPL_SASLSUCCESS
        self._emit(ev.SaslResult(True, self.account or self.sasl_account or self.wanted_nick, message.param(1)))
        if self.phase is Phase.SASL:
            self._end_cap()

    def _sasl_failed(self, message: Message) -> None:
        self._emit(ev.SaslResult(False, None, message.params[-1] if message.params else "SASL failed"))
        if self.phase is Phase.SASL:
            self._end_cap()

    _on_902 = _on_904 = _on_905 = _on_906 = _sasl_failed

    def _on_907(self, message: Message) -> None:  # ERR_SASLALREADY: we are logged in already
        if self.phase is Phase.SASL:
            self._end_cap()

    def _on_908(self, message: Message) -> None:  # RPL_SASLMECHS, followed by 904
        pass

    def _on_421(self, message: Message) -> None:  # ERR_UNKNOWNCOMMAND
        if message.param(1).upper() == "CAP" and self.phase in (Phase.CAP_LS, Phase.CAP_REQ):
            self.phase = Phase.WELCOME  # a server without CAP: plain registration goes on
            return
        self._reply(message)

    def _on_001(self, message: Message) -> None:
        self.nick = message.param(0) or self.nick
        self.server_name = message.source
        last = message.param(len(message.params) - 1).rsplit(" ", 1)[-1]
        if "!" in last and "@" in last and self.is_me(nick_of(last)):
            self.own_prefix = last
        if self.phase is not Phase.READY:
            self.phase = Phase.BURST
        self._reply(message)

    def _on_005(self, message: Message) -> None:
        before = self.isupport.casemapping
        self.isupport.update(message.params[1:-1])
        if self.isupport.casemapping != before:
            self.desired = {self.isupport.casefold(name): name for name in self.desired.values()}

    def _on_376(self, message: Message) -> None:  # RPL_ENDOFMOTD
        self._reply(message)
        self._become_ready()

    _on_422 = _on_376  # ERR_NOMOTD ends the burst just the same

    def _become_ready(self) -> None:
        if self.phase is Phase.READY:
            return
        self.phase = Phase.READY
        network = self.isupport.network
        self._emit(ev.Registered(self.nick, self.server_name or "", network, frozenset(self.caps)))
        self._restore_silences()
        # A new connection knows nothing of our being away: say it again (the server's 306
        # shows it), before the channels are joined, so their members see it from the start.
        if self._requested_away is not None and self.away is None:
            self._send("AWAY", self._requested_away)
        # the keyed channels first, their keys in the same order
        fold = self.isupport.casefold
        names = sorted(self.desired.values(), key=lambda name: fold(name) not in self.keys)
        for i in range(0, len(names), 10):
            some = names[i : i + 10]
            keys = [self.keys[fold(name)] for name in some if fold(name) in self.keys]
            self._send("JOIN", ",".join(some), *([",".join(keys)] if keys else []))

    def _restore_silences(self) -> None:
        """The server's SILENCE list is the connection's: give ours again, first thing,
        as many as it keeps. A PING after them marks where the answers to them end, so
        that they are told apart (`Silenced.restored`) from the answers to what the
        person asks next."""
        most = self.isupport.silence_limit
        if not self.silences or most is None:
            return
        masks = list(self.silences.values())
        for mask in masks[:most] if most else masks:
            self._send("SILENCE", "+" + mask)
        self._silence_restoring = f"hubbub-silence-{next(self._pace_tokens)}"
        self._send("PING", self._silence_restoring)

    def _on_433(self, message: Message) -> None:  # ERR_NICKNAMEINUSE
        self._reply(message)
        if not self.registered:
            self._try_other_nick()

    def _on_432(self, message: Message) -> None:  # ERR_ERRONEUSNICKNAME
        self._reply(message)
        if not self.registered:
            if self._nick_attempts:  # one of our alternatives: too long, most likely
                self._nick_short = True
            self._try_other_nick()

    def _on_437(self, message: Message) -> None:  # ERR_UNAVAILRESOURCE
        self._on_433(message)

    def _try_other_nick(self) -> None:
        """The nick asked for is taken (or refused): `nick_`, `nick__`, then a shorter one
        with digits. Before registration the server has not said its NICKLEN: an
        alternative is cut only once one was refused as erroneous (to the length of the
        wanted nick, which was not), the digit ones to 9, the least any server allows."""
        self._nick_attempts += 1
        base = self.wanted_nick
        known = int(self.isupport.tokens.get("NICKLEN", "0") or 0)
        limit = known or (len(base) if self._nick_short else 0)
        underscores = "_" * self._nick_attempts
        if self._nick_attempts <= 2 and (not limit or len(base) + len(underscores) <= limit):
            nick = base + underscores
        else:
            suffix = str(self._nick_attempts)
            room = (limit or 9) - len(suffix)
            nick = (base[:room] if room > 0 else "guest") + suffix
        if not nick or not (nick[0].isalpha() or nick[0] in "[]\\`_^{|}"):
            nick = f"guest{self._nick_attempts}"
        self.nick = nick
        self._send("NICK", nick)

    def _on_ping(self, message: Message) -> None:
        self._send("PONG", *message.params[:1] or [""])

    def _on_pong(self, message: Message) -> None:
        token = message.params[-1] if message.params else None
        if token is not None and token == self._silence_restoring:
            self._silence_restoring = None
        if self._pacing is not None and token == self._pacing:
            self._pacing = None
            self._pump()

    def _on_error(self, message: Message) -> None:
        self._emit(ev.ServerError(message.param(0)))

    # -- batches and labels ------------------------------------------------------------

    def _on_batch(self, message: Message) -> None:
        ref = message.param(0)
        if ref.startswith("+") and len(ref) > 1:
            parent = message.tags.get("batch")
            self._batches[ref[1:]] = _Batch(message.param(1), message.params[2:], parent, message.tags.get("label"))
            if parent is not None and parent in self._batches:
                self._batches[parent].items += 1  # a multiline message is one of a history page
        elif ref.startswith("-"):
            batch = self._batches.pop(ref[1:], None)
            if batch is not None:
                self._close_batch(batch)

    def _close_batch(self, batch: _Batch) -> None:
        if batch.kind == "draft/chathistory-targets":
            targets: list[tuple[str, datetime]] = []
            for m in batch.messages:  # CHATHISTORY TARGETS <target> <time of its latest message>
                if m.command == "CHATHISTORY" and len(m.params) >= 3 and m.params[0] == "TARGETS":
                    when = _parse_time(m.params[2].removeprefix("timestamp="))
                    if when is not None:
                        targets.append((m.params[1], when))
            self._emit(ev.HistoryTargets(tuple(targets)))
            return
        if batch.kind in ("chathistory", "draft/chathistory"):
            target = batch.params[0] if batch.params else ""
            found = [e for e in (self._history_event(m, target) for m in batch.messages) if e is not None]
            messages = tuple(e for e in found if isinstance(e, ev.MessageReceived))
            self._emit(ev.History(target, messages, tuple(found), self._history_answered(target), batch.items))
            return
        parent = self._batches.get(batch.parent) if batch.parent else None
        if parent is not None:
            parent.messages.extend(batch.messages)
            return
        if batch.kind == "labeled-response" and batch.label is not None:
            self._emit(ev.LabeledResponse(batch.label, tuple(batch.messages)))
        for inner in batch.messages:
            self._dispatch(inner)

    def _asked_history(self, target: str, limit: int) -> None:
        # bounded: an answer that never comes (a FAIL naming no target) leaves its entry
        self._history_asked.setdefault(self.isupport.casefold(target), deque(maxlen=8)).append(limit)

    def history_waiting(self, target: str) -> bool:
        """Whether a CHATHISTORY request of ours for `target` has had no answer yet: the
        page fetched on joining, asked for before the buffer knows of it."""
        return bool(self._history_asked.get(self.isupport.casefold(target)))

    def _history_answered(self, target: str) -> int | None:
        """The limit of the oldest request for `target` not yet answered (now answered);
        None when none is waiting (a batch the server sent unasked)."""
        key = self.isupport.casefold(target)
        waiting = self._history_asked.get(key)
        if not waiting:
            return None
        limit = waiting.popleft()
        if not waiting:
            del self._history_asked[key]
        return limit

    def _history_event(self, message: Message, target: str) -> ev.Event | None:
        """One line of a chathistory batch as the event it was: a message, or (with
        draft/event-playback) a reaction, a join, part, kick, quit, nick, topic or mode
        change, told about and never applied (the channel as it is now is not what it was
        then)."""
        command, source = message.command, nick_of(message.source)
        when, msgid = self._time(message), message.tags.get("msgid")
        if command in ("PRIVMSG", "NOTICE"):
            return self._message_event(message, history=True)
        if command == "JOIN":
            return ev.Joined(message.param(0) or target, source, self.is_me(source), when, msgid=msgid)
        if command == "PART":
            return ev.Parted(message.param(0) or target, source, self.is_me(source), message.param(1), when, msgid)
        if command == "KICK":
            kicked = message.param(1)
            return ev.Kicked(message.param(0) or target, kicked, source or (self.server_name or ""),
                             self.is_me(kicked), message.param(2), when, msgid)
        if command == "QUIT":
            return ev.UserQuit(source, message.param(0), (target,), when, msgid)
        if command == "NICK":
            return ev.NickChanged(source, message.param(0), False, (target,), when, msgid)
        if command == "TOPIC":
            return ev.TopicChanged(message.param(0) or target, message.param(1), source, when, False, msgid)
        if command == "MODE":
            return ev.ModeChanged(message.param(0) or target, source or (self.server_name or ""),
                                  message.param(1), tuple(message.params[2:]), when, msgid)
        if command == "TAGMSG":
            return self._reaction(message)  # a reaction, as live; typing notifications are nothing
        return None

    def _on_ack(self, message: Message) -> None:
        label = message.tags.get("label")
        if label is not None:
            self._emit(ev.LabeledResponse(label, ()))

    # -- conversation -------------------------------------------------------------------

    def _message_event(self, message: Message, history: bool = False) -> ev.MessageReceived | None:
        if len(message.params) < 2:
            return None
        target, text = message.params[0], message.params[1]
        kind: ev.MessageKind = "notice" if message.command == "NOTICE" else "privmsg"
        if text.startswith("\x01"):
            inner = text.strip("\x01")
            verb, _, arg = inner.partition(" ")
            if verb.upper() == "ACTION":
                kind, text = "action", arg
            elif kind == "notice":
                if self.is_me(nick_of(message.source)) or self.of_our_account(message):
                    # our own answer to someone's CTCP (VERSION, TIME, PING), echoed or played
                    # back: the client made it, nobody wrote it, and it is no conversation
                    return None
                text = inner  # someone's CTCP reply: show it as the notice it is
            else:
                if not history:
                    self._answer_ctcp(nick_of(message.source), inner)
                return None
        source = nick_of(message.source) or (self.server_name or "")
        own = self.is_me(source) or self.of_our_account(message)
        from_server = (message.source is None or message.source == self.server_name
                       or ("!" not in message.source and "." in message.source)
                       or (not self.registered and not history))
        bare = target
        statusmsg = self.isupport.statusmsg  # "@#chan": to a channel's ops, where the server has it
        if target[:1] in statusmsg and target[:1] and self.is_channel(target.lstrip(statusmsg)):
            bare = target.lstrip(statusmsg)  # not where `&` and `+` begin channel names (ngIRCd)
        private = not self.is_channel(bare)
        if private:
            conversation = target if own and not self.is_me(target) else source
        else:
            conversation = bare
        return ev.MessageReceived(
            source, target, text, kind, conversation, own, private, from_server,
            self._time(message), message.tags.get("msgid"), dict(message.tags), message.source or "")

    def _on_privmsg(self, message: Message) -> None:
        event = self._message_event(message)
        if event is not None:
            self._emit(event)

    _on_notice = _on_privmsg

    def _reaction(self, message: Message) -> ev.Reacted | None:
        """A TAGMSG as the reaction (or its withdrawal) it carries; None for any other
        (typing notifications and the rest)."""
        tags = message.tags
        to, emoji = tags.get("+draft/reply"), tags.get("+draft/react") or tags.get("+draft/unreact")
        source, target = nick_of(message.source), message.param(0)
        if not to or not emoji or len(emoji) > REACTION_MAX or not source or not target:
            return None
        own = self.is_me(source) or self.of_our_account(message)
        conversation = target if self.is_channel(target) or (own and not self.is_me(target)) else source
        return ev.Reacted(source, conversation, emoji, to, "+draft/react" in tags, own, self._time(message),
                          message.source or "", tags.get("msgid"))  # fmt: skip

    def _on_tagmsg(self, message: Message) -> None:
        """A message of tags alone: a reaction is told (`Reacted`); typing notifications
        and the rest are not shown, nor given as raw lines."""
        reaction = self._reaction(message)
        if reaction is not None:
            self._emit(reaction)

    def _on_kill(self, message: Message) -> None:
        """Nothing to show: the ERROR that closes the connection next says why, in words."""

    def _on_wallops(self, message: Message) -> None:
        source = nick_of(message.source) or (self.server_name or "")
        self._emit(ev.Wallops(source, message.param(0), self.is_me(source), self._time(message),
                              message.tags.get("msgid"), message.source or ""))

    def _answer_ctcp(self, nick: str, body: str) -> None:
        if not nick or self.is_me(nick):
            return
        reply = ctcp.answer(body, CTCP_VERSION, self.clock().timestamp())
        if reply is not None:
            self._send("NOTICE", nick, f"\x01{reply}\x01")

    def _members_changed(self, state: ChannelState) -> None:
        self._emit(ev.MembersChanged(state.name, self.members(state.name)))

    def _on_join(self, message: Message) -> None:
        nick = nick_of(message.source)
        name = message.param(0)
        own = self.is_me(nick)
        account = message.param(1) if len(message.params) > 2 else None
        realname = message.param(2) if len(message.params) > 2 else None
        fold = self.isupport.casefold
        state: ChannelState | None
        if own:
            state = self.channels.setdefault(fold(name), ChannelState(name))
            state.members[fold(nick)] = (nick, "")
            self.desired[fold(name)] = name
            if message.source and "!" in message.source:
                self.own_prefix = message.source
        else:
            state = self.channel(name)
            if state is not None:
                state.members[fold(nick)] = (nick, "")
        self._emit(ev.Joined(name, nick, own, self._time(message),
                             None if account in (None, "*") else account, realname, message.tags.get("msgid")))
        if state is not None:
            self._members_changed(state)
        if own and self.fetch_history:
            self.request_history(name)

    def _leave(self, name: str, nick: str) -> None:
        fold = self.isupport.casefold
        if self.is_me(nick):
            self.channels.pop(fold(name), None)
            self.desired.pop(fold(name), None)
            self.keys.pop(fold(name), None)
            return
        state = self.channel(name)
        if state is not None:
            state.members.pop(fold(nick), None)
            self._members_changed(state)

    def _on_part(self, message: Message) -> None:
        nick = nick_of(message.source)
        name = message.param(0)
        self._emit(ev.Parted(name, nick, self.is_me(nick), message.param(1), self._time(message),
                             message.tags.get("msgid")))
        self._leave(name, nick)

    def _on_kick(self, message: Message) -> None:
        name, nick = message.param(0), message.param(1)
        self._emit(ev.Kicked(name, nick, nick_of(message.source), self.is_me(nick),
                             message.param(2), self._time(message), message.tags.get("msgid")))
        self._leave(name, nick)

    def _shared(self, nick: str) -> list[ChannelState]:
        key = self.isupport.casefold(nick)
        return [state for state in self.channels.values() if key in state.members]

    def _on_quit(self, message: Message) -> None:
        nick = nick_of(message.source)
        shared = self._shared(nick)
        self._emit(ev.UserQuit(nick, message.param(0), tuple(s.name for s in shared), self._time(message),
                               message.tags.get("msgid")))
        key = self.isupport.casefold(nick)
        self._away_nicks.discard(key)
        for state in shared:
            state.members.pop(key, None)
            self._members_changed(state)

    def _on_nick(self, message: Message) -> None:
        old, new = nick_of(message.source), message.param(0)
        if not new:
            return
        own = self.is_me(old)
        fold = self.isupport.casefold
        shared = self._shared(old)
        if own:
            self.nick = self.wanted_nick = new
            if self.own_prefix:
                self.own_prefix = new + self.own_prefix[len(old):]
        self._emit(ev.NickChanged(old, new, own, tuple(s.name for s in shared), self._time(message),
                                  message.tags.get("msgid")))
        for state in shared:
            _, modes = state.members.pop(fold(old))
            state.members[fold(new)] = (new, modes)
            self._members_changed(state)
        if fold(old) in self._away_nicks:
            self._away_nicks.discard(fold(old))
            self._away_nicks.add(fold(new))

    def _on_topic(self, message: Message) -> None:
        name, topic = message.param(0), message.param(1)
        state = self.channel(name)
        if state is not None:
            state.topic = topic
        self._emit(ev.TopicChanged(name, topic, nick_of(message.source), self._time(message), False,
                                   message.tags.get("msgid")))

    def _on_332(self, message: Message) -> None:  # RPL_TOPIC
        name, topic = message.param(1), message.param(2)
        state = self.channel(name)
        if state is not None:
            state.topic = topic
        self._emit(ev.TopicChanged(name, topic, None, self._time(message), True))

    def _on_353(self, message: Message) -> None:  # RPL_NAMREPLY
        name = message.param(2)
        state = self.channel(name)
        if state is None:
            self._reply(message)
            return
        if state.names is None:
            state.names = {}
        fold = self.isupport.casefold
        for entry in message.param(3).split():
            modes, rest = self.isupport.split_prefixes(entry)
            nick = nick_of(rest)  # userhost-in-names sends nick!user@host
            if nick:
                state.names[fold(nick)] = (nick, self.isupport.sort_modes(modes))

    def _on_366(self, message: Message) -> None:  # RPL_ENDOFNAMES
        state = self.channel(message.param(1))
        if state is None or state.names is None:
            if state is None:
                self._reply(message)
            return
        state.members, state.names = state.names, None
        self._members_changed(state)

    def _on_mode(self, message: Message) -> None:
        target = message.param(0)
        modes = message.param(1)
        args = message.params[2:]
        state = self.channel(target) if self.is_channel(target) else None
        if state is not None:
            changed = False
            fold = self.isupport.casefold
            for adding, letter, param in self.isupport.parse_channel_modes(modes, list(args)):
                if letter == "k":  # the key to rejoin with ("*" to those not allowed to see it)
                    if not adding:
                        self.keys.pop(fold(target), None)
                    elif param and param != "*":
                        self.keys[fold(target)] = param
                elif letter in self.isupport.prefix_modes and param and fold(param) in state.members:
                    nick, current = state.members[fold(param)]
                    letters = set(current) | {letter} if adding else set(current) - {letter}
                    state.members[fold(param)] = (nick, self.isupport.sort_modes(letters))
                    changed = True
            if changed:
                self._members_changed(state)
        self._emit(ev.ModeChanged(target, nick_of(message.source), modes, tuple(args), self._time(message),
                                  message.tags.get("msgid")))

    def _on_away(self, message: Message) -> None:  # away-notify
        nick = nick_of(message.source)
        text = message.param(0) or None
        key = self.isupport.casefold(nick)
        if text is None:
            self._away_nicks.discard(key)
        else:
            self._away_nicks.add(key)
        self._emit(ev.AwayChanged(nick, text, self.is_me(nick)))
        for state in self._shared(nick):
            self._members_changed(state)

    def _on_305(self, message: Message) -> None:  # RPL_UNAWAY
        self.away = None
        self._emit(ev.AwayChanged(self.nick, None, True))
        self._reply(message)

    def _on_306(self, message: Message) -> None:  # RPL_NOWAWAY
        self.away = self._requested_away or self.away or "away"
        self._emit(ev.AwayChanged(self.nick, self.away, True))
        self._reply(message)

    def _on_account(self, message: Message) -> None:  # account-notify
        account = message.param(0)
        self._emit(ev.AccountChanged(nick_of(message.source), None if account in ("", "*") else account))

    def _on_invite(self, message: Message) -> None:
        self._emit(ev.Invited(message.param(1), nick_of(message.source)))

    # -- SILENCE ------------------------------------------------------------------------

    def _on_silence(self, message: Message) -> None:
        """`:us!u@h SILENCE +mask`: the server changed our list as asked."""
        change = message.param(0)
        if change[:1] not in ("+", "-") or len(change) < 2:
            self._emit(ev.Unhandled(message))
            return
        self._emit(ev.Silenced(change[1:], change[0] == "+", self._silence_restoring is not None))

    def _on_271(self, message: Message) -> None:  # RPL_SILELIST
        """One mask of our list. Servers never agreed on the line: ircu's (hubbub's)
        `<client> <owner> <mask>`, UnrealIRCd's `<client> <mask>`, InspIRCd's `<client>
        <mask> <flags>`; an owner is a nick, and a nick holds none of `!@*?:`."""
        params = message.params[1:]
        owner_first = len(params) >= 2 and not any(c in params[0] for c in "!@*?:")
        mask = params[1] if owner_first else message.param(1)
        if mask:
            if self._silence_listed is None:
                self._silence_listed = []
            self._silence_listed.append(mask)

    def _on_272(self, message: Message) -> None:  # RPL_ENDOFSILELIST
        listed, self._silence_listed = self._silence_listed or [], None
        self._emit(ev.SilenceList(tuple(listed)))

    # -- read markers (draft/read-marker) -------------------------------------------------

    def _on_markread(self, message: Message) -> None:
        """`MARKREAD <target> timestamp=...` (or `*`): the account's marker, as asked, as
        set by us or another of its connections, or told on joining a channel."""
        target, value = message.param(0), message.param(1)
        if not target or not value:
            self._emit(ev.Unhandled(message))
            return
        when = None if value == "*" else _parse_time(value.removeprefix("timestamp="))
        if when is None and value != "*":
            self._emit(ev.Unhandled(message))
            return
        self._emit(ev.ReadMarker(target, when))

    def _standard_reply(self, message: Message) -> None:
        params = message.params
        context = tuple(params[2:-1])
        if message.command == "FAIL" and message.param(0) == "CHATHISTORY" and context:
            self._history_answered(context[-1])  # refused: that request has its answer
        if (message.command == "FAIL" and message.param(0) == "MARKREAD" and message.param(1) == "INVALID_PARAMS"
                and context and not context[-1].startswith("timestamp=")):
            # `<target> :Invalid target` (not `<value> :Invalid timestamp`): no marker of it is kept for us
            self._unmarked.add(self.isupport.casefold(context[-1]))
        self._emit(ev.StandardReply(
            message.command,  # type: ignore[arg-type]
            message.param(0), message.param(1), context, params[-1] if len(params) > 2 else ""))

    _on_fail = _on_warn = _on_note = _standard_reply


# Commands that may come between 001 and the end of the MOTD without meaning it is over.
_BURST_NEUTRAL = frozenset({"NOTICE", "PING", "PONG", "CAP", "MODE", "BATCH", "ERROR", "AUTHENTICATE"})


def _check_silence_mask(mask: str) -> None:
    """A space or a leading sign would make the server read another change, or none."""
    if not mask or mask[0] in "+-" or " " in mask:
        raise ValueError("a silence mask is one word, not starting with + or -")
