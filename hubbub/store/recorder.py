"""The store's write-behind: a subscriber of the engine that turns applied events into writes.

What it keeps: every PRIVMSG, NOTICE and TAGMSG to a channel (not those to some of its
members only, STATUSMSG), private messages between two logged-in accounts, and (with
`history.events`) the joins, parts, kicks, quits, topic, mode and nick changes of each
channel, as the lines clients saw; K-lines; accounts and registered channels (see
accounts.py for their events). What an unregistered channel leaves when it ends: nothing
of a closed one, nothing of one where nothing was said (`_ended`). Writes collect here
during an event-loop iteration; `cut()` hands them over as one batch, and the flusher
writes that iteration's output to sockets only once the batch is committed: nothing a
client has seen can be missing from the history after a crash.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from hubbub.config import HistorySection
from hubbub.irc.casemap import casefold
from hubbub.server.apply import APPLIERS, Outcome
from hubbub.server.chanmodes import mode_params, shown_changes
from hubbub.server.channel import LIST_MODES, Channel
from hubbub.server.events import (
    AccountCertSet,
    AccountCredentialsSet,
    AccountDropped,
    AccountHashUpgraded,
    AccountRegistered,
    AccountVhostSet,
    ChannelAccessSet,
    ChannelDropped,
    ChannelFounderSet,
    ChannelModesSet,
    ChannelRegistered,
    ChannelRenamed,
    Event,
    Joined,
    Kicked,
    KlineAdded,
    KlineRemoved,
    MarkerSet,
    NickSet,
    Parted,
    Redacted,
    Said,
    SaidMultiline,
    SaidToAccount,
    TopicSet,
    UserQuit,
)
from hubbub.server.replay import multiline_params
from hubbub.server.state import ChatState
from hubbub.server.storage import (
    AccountRecord,
    AddMessage,
    ChannelRecord,
    ClosedChannel,
    CopyMarkers,
    DeleteAccount,
    DeleteChannel,
    DeleteKline,
    DeleteMessage,
    ForgetConversation,
    ForgetSilentChannel,
    KlineRecord,
    LiveChannel,
    PutAccount,
    PutChannel,
    PutKline,
    PutMarker,
    PutVhost,
    StoredMessage,
    Write,
    dm_key,
)
from hubbub.server.user import User


def _nothing() -> None:
    pass


class Recorder:
    def __init__(self, state: ChatState, history: HistorySection) -> None:
        self.state = state
        self.history = history
        self.pending: list[Write] = []
        self.recorders: dict[type[Any], Any] = {}
        # Told when a write is pending and none was: the flusher's pass (its barrier, the
        # commit) must come even when nothing is to be sent to anyone here (a message to
        # members on other nodes only, a K-line, a sender alone in its channel).
        self.wake: Callable[[], None] = _nothing

    def __call__(self, event: Event, outcome: Outcome) -> None:
        if outcome.rejected is not None:
            return
        record = _RECORDERS.get(type(event))
        if record is not None:
            record(self, event, outcome)

    def route(self, kind: type[Any]) -> Callable[[Event, Outcome], None] | None:
        """What records an applied event of `kind` (see engine.Routes): with history off,
        nothing for a message, which every message would otherwise call to learn it
        (a reload that turns history on has the engine ask again: Persistence.reconfigure)."""
        if kind in KEPT and not self.history.enabled:
            return None
        record = _RECORDERS.get(kind)
        return partial(record, self) if record is not None else None

    def add(self, write: Write) -> None:
        if not self.pending:
            self.wake()
        self.pending.append(write)

    def cut(self) -> list[Write]:
        """The writes collected since the last cut, to be committed as one batch."""
        batch, self.pending = self.pending, []
        return batch

    def _line(
        self, target: str, msgid: str, time: float, command: str, user: User | None, params: tuple[str, ...],
        tags: dict[str, str] | None = None, text: str = "", source: str | None = None,
    ) -> None:  # fmt: skip
        pending = self.pending  # `add`, inlined: every stored message passes here
        if not pending:
            self.wake()
        pending.append(AddMessage(StoredMessage(
            target, msgid, time, command, source or (user.prefix if user else ""), user.account if user else None,
            params, tags, text,
        )))  # fmt: skip


def kept_as(history: HistorySection, ev: Said | SaidMultiline, outcome: Outcome) -> tuple[str, str] | None:
    """Where an applied message is kept: (its history key, its target as shown), or None
    when it is not kept (history off, a STATUSMSG, between people without accounts)."""
    if not history.enabled or ev.status:  # STATUSMSG (`@#c`): for some members only, never kept
        return None
    channel, target = outcome.channel, outcome.target
    if channel is not None:
        return channel.key, channel.name
    user = outcome.user
    if target is not None and user is not None and user.account and target.account:
        return dm_key(user.account, target.account), target.nick
    return None  # between people without accounts, nothing is kept


def _said(r: Recorder, ev: Said, outcome: Outcome) -> None:
    if not r.history.enabled or ev.status:  # kept_as, its common cases inlined: every message passes here
        return
    channel = outcome.channel
    if channel is not None:
        key, shown = channel.key, channel.name
    else:
        kept = kept_as(r.history, ev, outcome)
        if kept is None:
            return
        key, shown = kept
    params = (shown,) if ev.command == "TAGMSG" else (shown, ev.text)
    r._line(key, ev.msgid, ev.time, ev.command, outcome.user, params, ev.tags, ev.text)


def _said_multiline(r: Recorder, ev: SaidMultiline, outcome: Outcome) -> None:
    """Kept as one message of its command (PRIVMSG or NOTICE), its lines joined as they
    read (concatenated ones without a line break), with where the concatenated ones
    begin (replay.py's `multiline_params`): replayed as it was delivered live."""
    kept = kept_as(r.history, ev, outcome)
    if kept is None:
        return
    key, shown = kept
    params = multiline_params(shown, ev.lines)
    r._line(key, ev.msgid, ev.time, ev.command, outcome.user, params, ev.tags, params[1])


def _said_to_account(r: Recorder, ev: SaidToAccount, outcome: Outcome) -> None:
    user = outcome.user
    if not r.history.enabled or user is None or user.account is None:
        return
    params = multiline_params(ev.account, ev.lines) if ev.lines else (ev.account, ev.text)
    r._line(dm_key(user.account, ev.account), ev.msgid, ev.time, "PRIVMSG", user, params, ev.tags, params[1])


def _events_on(r: Recorder) -> bool:
    return r.history.enabled and r.history.events


def _joined(r: Recorder, ev: Joined, outcome: Outcome) -> None:
    channel = outcome.channel
    if channel is None:
        return
    if outcome.created:
        _lives(r, channel)
    if _events_on(r):
        user = outcome.user
        assert user is not None
        r._line(channel.key, ev.msgid, ev.time, "JOIN", user, (channel.name,))


def _ended(r: Recorder, channel: Channel, key: str, time: float) -> None:
    """A channel whose name is free again (it emptied, was renamed, or its registration
    was dropped while empty) ended at `time`. A closed one takes its history with it:
    whoever creates the name next is its op, and would read what only the old members
    could. An open one where nothing was said leaves nothing either (its joins, parts and
    mode changes go), so that trying names does not fill the store; one where something
    was said keeps its history for the next channel of its name. A registered channel
    never empties away (docs/history.md)."""
    if key in r.state.channels:
        return
    if channel.closed:
        r.add(ForgetConversation(key))
    elif r.history.enabled:
        r.add(ForgetSilentChannel(key, time))


def _lives(r: Recorder, channel: Channel) -> None:
    """An unregistered channel now exists under its name: listed in the store until it
    ends, for a start after a crash to end it (runtime/persistence.py)."""
    if r.history.enabled and channel.founder is None:
        r.add(LiveChannel(channel.key))


def end_channels(r: Recorder) -> None:
    """At the end of a lone server: every unregistered channel ends with it (as when it
    empties), after the last event applied."""
    until = r.state.clock_us / 1_000_000
    for channel in r.state.channels.values():
        if channel.founder is None:
            if channel.closed:
                r.add(ForgetConversation(channel.key))
            elif r.history.enabled:
                r.add(ForgetSilentChannel(channel.key, until))


def _parted(r: Recorder, ev: Parted, outcome: Outcome) -> None:
    channel = outcome.channel
    if channel is None:
        return
    if _events_on(r):
        params = (channel.name, ev.reason) if ev.reason else (channel.name,)
        r._line(channel.key, ev.msgid, ev.time, "PART", outcome.user, params)
    _ended(r, channel, channel.key, ev.time)


def _kicked(r: Recorder, ev: Kicked, outcome: Outcome) -> None:
    channel = outcome.channel
    if channel is None:
        return
    if _events_on(r) and outcome.target is not None:
        params = (channel.name, outcome.target.nick, ev.reason)
        r._line(channel.key, ev.msgid, ev.time, "KICK", outcome.user, params, source=ev.source or None)
    _ended(r, channel, channel.key, ev.time)


def _quit(r: Recorder, ev: UserQuit, outcome: Outcome) -> None:
    user = outcome.user
    if _events_on(r) and user is not None and user.registered:
        for channel in outcome.left:
            r._line(channel.key, ev.msgid, ev.time, "QUIT", user, (ev.reason,))
    for channel in outcome.left:
        _ended(r, channel, channel.key, ev.time)


def _renamed(r: Recorder, ev: ChannelRenamed, outcome: Outcome) -> None:
    channel = outcome.channel
    old_key = casefold(outcome.old_name)
    if channel is not None and old_key != channel.key:  # not a change of case only
        r.add(CopyMarkers(old_key, channel.key))  # before the old name's are forgotten (closed)
        _ended(r, channel, old_key, ev.time)
        _lives(r, channel)
        if channel.closed:
            r.add(ClosedChannel(channel.key, True))
    _registered_channel(r, ev, outcome)  # a registered one's new case (the only rename it may have)


def _nick(r: Recorder, ev: NickSet, outcome: Outcome) -> None:
    user = outcome.user
    if _events_on(r) and user is not None and user.registered and outcome.old_nick != user.nick:
        for channel in user.channels.values():
            r._line(channel.key, ev.msgid, ev.time, "NICK", user, (user.nick,), source=outcome.old_prefix)


def _topic(r: Recorder, ev: TopicSet, outcome: Outcome) -> None:
    if _events_on(r) and outcome.channel is not None:
        r._line(outcome.channel.key, ev.msgid, ev.time, "TOPIC", outcome.user, (outcome.channel.name, ev.text))
    _registered_channel(r, ev, outcome)


def _modes(r: Recorder, ev: ChannelModesSet, outcome: Outcome) -> None:
    channel = outcome.channel
    if channel is not None and outcome.changes:
        _registered_channel(r, ev, outcome)
        if any(change.letter in "sikR" for change in outcome.changes):  # rare: written each time (Channel.closed)
            r.add(ClosedChannel(channel.key, channel.closed))
    if not _events_on(r) or channel is None or not outcome.changes:
        return
    params = mode_params(channel.name, shown_changes(r.state.users, outcome.changes))  # as announced
    source = outcome.user.prefix if outcome.user is not None else ev.source
    r._line(channel.key, ev.msgid, ev.time, "MODE", outcome.user, tuple(params), source=source)


def _account_changed(
    r: Recorder, ev: AccountRegistered | AccountCredentialsSet | AccountHashUpgraded | AccountCertSet, o: Outcome
) -> None:
    account = r.state.accounts.get(ev.key)
    if account is not None:
        if o.registration is not None:  # a name dropped before: its row goes first, if still there
            r.add(DeleteAccount(ev.key, o.registration))
        r.add(PutAccount(AccountRecord(
            account.key, account.name, account.password_hash, account.scram, account.email, account.registered_at,
            tuple(sorted(account.certfps)), account.vhost,
        )))  # fmt: skip


def _vhost_set(r: Recorder, ev: AccountVhostSet, o: Outcome) -> None:
    account = r.state.accounts.get(ev.key)
    if account is not None:
        r.add(PutVhost(account.key, account.registered_at, account.vhost))


def _account_dropped(r: Recorder, ev: AccountDropped, outcome: Outcome) -> None:
    r.add(DeleteAccount(ev.key, outcome.registration))
    for channel in outcome.left:  # its empty registered channels ended with it
        r.add(DeleteChannel(channel.key))
        _ended(r, channel, channel.key, ev.time)
    for channel, changes in outcome.unlisted:  # the list entries naming it, taken out
        if channel.founder is not None:  # registered: kept without them (after DeleteAccount, in one batch)
            r.add(PutChannel(channel_record(channel)))
        if _events_on(r):  # the server's MODE, as members saw it (source "": the server)
            params = mode_params(channel.name, shown_changes(r.state.users, changes))
            r._line(channel.key, ev.msgid, ev.time, "MODE", None, tuple(params))


def channel_record(channel: Channel) -> ChannelRecord:
    """What the store keeps of a registered channel."""
    assert channel.founder is not None
    lists = tuple(
        (letter, entry.mask, entry.set_by, entry.set_at)
        for letter in LIST_MODES
        for entry in channel.lists[letter].entries
    )
    return ChannelRecord(
        channel.key, channel.name, channel.founder, channel.registered_at, channel.topic, channel.topic_by,
        channel.topic_time, "".join(sorted(channel.modes)), channel.join_key, channel.limit, lists,
        tuple(sorted(channel.access.items())), channel.flood.param() if channel.flood is not None else None,
        channel.join_flood.param() if channel.join_flood is not None else None,
    )  # fmt: skip


def _registered_channel(r: Recorder, ev: Any, outcome: Outcome) -> None:
    """A registered channel changed (its registration, access, topic, modes): keep it."""
    channel = outcome.channel
    if channel is not None and channel.founder is not None:
        r.add(PutChannel(channel_record(channel)))


def _channel_dropped(r: Recorder, ev: ChannelDropped, outcome: Outcome) -> None:
    r.add(DeleteChannel(casefold(ev.channel)))
    if outcome.channel is not None:
        _ended(r, outcome.channel, casefold(ev.channel), ev.time)
        if outcome.channel.key in r.state.channels:  # it goes on, unregistered, while members stay
            _lives(r, outcome.channel)


def _marker(r: Recorder, ev: MarkerSet, outcome: Outcome) -> None:
    r.add(PutMarker(ev.account, ev.target, ev.time))


def _redacted(r: Recorder, ev: Redacted, outcome: Outcome) -> None:
    r.add(DeleteMessage(ev.target, ev.redacted))


def _kline_added(r: Recorder, ev: KlineAdded, outcome: Outcome) -> None:
    if outcome.old_name:  # the same K-line set again in another case: one row, not two
        r.add(DeleteKline(outcome.old_name))
    r.add(PutKline(KlineRecord(ev.mask, ev.reason, ev.set_by, ev.time, ev.expires)))


def _kline_removed(r: Recorder, ev: KlineRemoved, outcome: Outcome) -> None:
    r.add(DeleteKline(ev.mask))


_RECORDERS: dict[type[Any], Any] = {
    Said: _said,
    SaidMultiline: _said_multiline,
    SaidToAccount: _said_to_account,
    Joined: _joined,
    Parted: _parted,
    Kicked: _kicked,
    UserQuit: _quit,
    NickSet: _nick,
    TopicSet: _topic,
    ChannelModesSet: _modes,
    KlineAdded: _kline_added,
    AccountRegistered: _account_changed,
    AccountCredentialsSet: _account_changed,
    AccountHashUpgraded: _account_changed,
    AccountCertSet: _account_changed,
    AccountVhostSet: _vhost_set,
    AccountDropped: _account_dropped,
    ChannelRegistered: _registered_channel,
    ChannelAccessSet: _registered_channel,
    ChannelFounderSet: _registered_channel,
    ChannelDropped: _channel_dropped,
    ChannelRenamed: _renamed,
    MarkerSet: _marker,
    Redacted: _redacted,
    KlineRemoved: _kline_removed,
}

assert set(_RECORDERS) <= set(APPLIERS)
# the messages, which record nothing with history off (kept_as)
KEPT: frozenset[type[Any]] = frozenset({Said, SaidMultiline, SaidToAccount})
