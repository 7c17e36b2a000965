"""Channel membership and information: JOIN, PART, TOPIC, NAMES, LIST.

JOIN asks access.py whether the channel's modes let the user in; a secret (+s)
channel is invisible from outside in NAMES, LIST, WHO and TOPIC. Whether a JOIN
creates its channel (and makes the joiner its op, but in the default channel) is
settled when the event is applied, in the network's order: the reply to the joiner
follows from that.
"""

from __future__ import annotations

from collections.abc import Iterator

from hubbub.config import ServerSection
from hubbub.irc import numerics as n
from hubbub.irc.casemap import casefold
from hubbub.irc.message import Message, fit_utf8
from hubbub.irc.validate import is_channel_name, is_valid_channel
from hubbub.server import access, channel_info, elist, metadata
from hubbub.server.apply import Outcome
from hubbub.server.channel import Channel
from hubbub.server.channel_info import visible_count
from hubbub.server.commands import command
from hubbub.server.connection import READ_MARKER
from hubbub.server.context import Context
from hubbub.server.delivery import new_msgid
from hubbub.server.events import Joined, Parted, TopicSet
from hubbub.server.handlers.history import autoreplay, replay_query
from hubbub.server.handlers.reading import send_marker
from hubbub.server.handlers.replies import refused_when_applied, send_paced, shown
from hubbub.server.logins import UNAVAILABLE

PARTLEN = 300  # bytes
# A JOIN's topic and NAMES of more lines than this (8 KB at most) are paced; fewer go at once
_PACED_FROM = 16


def creator_op(server: ServerSection, name: str) -> bool:
    """Whether the one whose JOIN creates `name` becomes its op. Not in the default
    channel, unless the configuration says so: everyone is sent there (plain-text users,
    the web client's suggestion), so its first joiner after a start is whoever comes
    first, a stranger on a public server. Registered with ChanServ, it is never created
    by a JOIN (it stays, empty): its founder and access list get their status as in any
    registered channel."""
    return server.default_channel_creator_op or casefold(name) != casefold(server.default_channel)


def send_names(ctx: Context, channel: Channel) -> None:
    channel_info.send_names(ctx.conn, ctx.user, channel)


def send_topic(ctx: Context, channel: Channel) -> None:
    channel_info.send_topic(ctx.conn, channel)


def _charge_channels(ctx: Context, count: int) -> None:
    """A command acting on `count` channels costs the flood budget as `count` commands
    (the first is the line's own token): one line joining and leaving fifty channels a
    go would otherwise make a hundred events, each kept in history, for one token."""
    if count > 1:
        ctx.conn.link.charge(count - 1)


def _part_all(ctx: Context) -> None:
    channels = list(ctx.user.channels.values())
    _charge_channels(ctx, len(channels))
    for channel in channels:
        ctx.emit(Parted(ctx.user.uid, channel.name, None, ctx.now(), new_msgid()))


class _Joining:
    """One JOIN of one or more channels, joined one after the other: the next once this
    one's reply is whole. Its reply may wait for the store (the read marker; the lines
    replayed to a client without draft/chathistory), and a client must read each
    channel's JOIN, NAMES and replay together, in the order it named them, within one
    labeled reply when it gave a label. While it waits, what others' events send the
    client (the channel's traffic, a KICK) is held, and sent after the whole reply
    (Connection.hold_deliveries): nobody sees talk in a channel before joining it."""

    __slots__ = ("ctx", "names", "keys", "index", "named", "current")

    def __init__(self, ctx: Context, names: list[str], keys: list[str]) -> None:
        self.ctx = ctx
        self.names = names
        self.keys = keys
        self.index = 0
        self.named: set[str] = set()  # channels this JOIN has taken its turn for, casefolded
        self.current = ""  # the channel whose Joined is being applied

    def next(self) -> None:
        """Join the next channel that may be joined; the one after it follows from
        `_joined`. Refusals are answered on the way."""
        ctx = self.ctx
        conn, user = ctx.conn, ctx.user
        lim = ctx.config.limits
        while self.index < len(self.names):
            index = self.index
            self.index += 1
            name = self.names[index]
            if not name or casefold(name) in self.named:  # `JOIN #a,#b,#a`: once (a KICK held meanwhile stays true)
                continue
            self.named.add(casefold(name))
            if not is_channel_name(name):
                conn.numeric(n.ERR_NOSUCHCHANNEL, shown(name), "No such channel")
                continue
            if not is_valid_channel(name, lim.channellen):
                conn.numeric(n.ERR_BADCHANMASK, shown(name), "Bad Channel Mask")
                continue
            existing = ctx.state.find_channel(name)
            if existing is not None and user in existing.members:
                continue
            if len(user.channels) >= lim.max_channels:  # the ones before are applied already
                conn.numeric(n.ERR_TOOMANYCHANNELS, name, "You have joined too many channels")
                continue
            key = self.keys[index] if index < len(self.keys) else ""
            if existing is not None:
                refusal = access.join_refusal(existing, user, key, ctx.now())
                if refusal is not None:
                    conn.numeric(refusal[0], existing.name, refusal[1])
                    continue
            self.current = name
            op = creator_op(ctx.config.server, name)
            ctx.emit(Joined(user.uid, name, ctx.now(), new_msgid(), key, lim.join_lock, op), self._joined)
            return
        if conn.waiting is not None:  # the reply (labeled or not) first, then what was held back meanwhile
            conn.release_after_reply()

    def wait(self) -> None:
        """The reply is about to wait (for the store, or for the client to read a paced
        NAMES): hold what others send meanwhile (again, when a flood during an earlier
        channel's wait let go of the hold)."""
        self.ctx.conn.hold_deliveries()

    def _joined(self, outcome: Outcome) -> None:
        """What the joiner is told once its JOIN is applied (after the JOIN itself)."""
        ctx = self.ctx
        channel = outcome.channel
        if outcome.rejected == "unavailable" and not ctx.conn.gone:
            # The network is out of reach (the engine said so with FAIL): so it is for the
            # channels left, answered alike without asking it again, within this reply
            for name in self.names[self.index :]:
                if name:
                    ctx.conn.fail("JOIN", "TEMPORARILY_UNAVAILABLE", UNAVAILABLE)
            self.index = len(self.names)
        if outcome.rejected is not None or channel is None or ctx.conn.gone:
            if not ctx.conn.gone:
                code, _, text = (outcome.rejected or "").partition(" ")
                if code.isdigit() and text:  # refused when applied (state.apply's check, in the log's order)
                    refused = ctx.state.find_channel(self.current)
                    ctx.conn.numeric(code, refused.name if refused is not None else self.current, text)
                self.next()
            return
        conn = ctx.conn
        if outcome.created:
            # A new channel: show its creator the modes it starts with, as the charybdis
            # family does (`:server MODE #c +nt`); clients display them.
            conn.send(Message("MODE", [channel.name, *channel.mode_params(show_key=True)], ctx.name))
        # Taken now, as applied: what others do while the reply waits for the store comes
        # after it (held), so the topic, NAMES and the replay's bounds are those of the join.
        name = channel.name
        with conn.captured() as info:
            if channel.topic:
                send_topic(ctx, channel)
            send_names(ctx, channel)
        query = replay_query(ctx, channel, outcome.time)

        def rest() -> None:
            if len(info) <= _PACED_FROM:
                for line in info:
                    conn.send(line)
                after_names()
                return
            # the NAMES of a big channel passes the sendq: paced, what others send held
            # meanwhile (a PART before the end of NAMES would contradict a row taken earlier)
            conn.paced(info, ctx.config.limits.ping_timeout, after_names, self.wait)

        def after_names() -> None:
            if conn.metadata_subs and metadata.aware(conn):  # draft/metadata-2: the channel's and its members'
                lines = metadata.sync_lines(conn, metadata.channel_targets(channel))
                metadata.sync(conn, name, lines, metadata.sync_budget(ctx.config.limits.sendq))
            autoreplay(ctx, name, query, self.next, self.wait)

        if READ_MARKER in conn.caps:  # read-marker: the marker comes before the end of NAMES
            send_marker(ctx, channel.key, name, rest, self.wait)
        else:
            rest()


@command("JOIN", min_params=1)
def handle_join(ctx: Context, message: Message) -> None:
    if message.params[0] == "0":
        _part_all(ctx)
        return
    if not message.params[0].strip(","):  # no channel named at all
        ctx.conn.numeric(n.ERR_NEEDMOREPARAMS, "JOIN", "Not enough parameters")
        return
    names = message.params[0].split(",")
    _charge_channels(ctx, sum(1 for name in names if name))
    _Joining(ctx, names, message.param(1).split(",")).next()


@command("PART", min_params=1)
def handle_part(ctx: Context, message: Message) -> None:
    conn, user = ctx.conn, ctx.user
    if not message.params[0].strip(","):  # no channel named at all
        conn.numeric(n.ERR_NEEDMOREPARAMS, "PART", "Not enough parameters")
        return
    reason = fit_utf8(message.param(1), PARTLEN)
    _charge_channels(ctx, sum(1 for name in message.params[0].split(",") if name))
    for name in message.params[0].split(","):
        if not name:
            continue
        channel = ctx.state.find_channel(name)
        if channel is None or channel.hidden_from(user):  # a secret channel does not exist outside
            conn.numeric(n.ERR_NOSUCHCHANNEL, shown(name), "No such channel")
            continue
        if user not in channel.members:
            conn.numeric(n.ERR_NOTONCHANNEL, channel.name, "You're not on that channel")
            continue
        # A reason is speech: one who may not speak there (+m, +M, banned, muted) leaves
        # without one, as in the charybdis family, or a PART would say what +m holds back.
        said = reason if reason and access.channel_refuses_speech(channel, user) is None else None
        ctx.emit(Parted(user.uid, channel.name, said, ctx.now(), new_msgid()))


@command("TOPIC", min_params=1)
def handle_topic(ctx: Context, message: Message) -> None:
    conn, user = ctx.conn, ctx.user
    channel = ctx.state.find_channel(message.params[0])
    if channel is None or channel.hidden_from(user):  # a secret channel does not exist outside
        conn.numeric(n.ERR_NOSUCHCHANNEL, shown(message.params[0]), "No such channel")
        return
    if user not in channel.members and len(message.params) > 1:
        conn.numeric(n.ERR_NOTONCHANNEL, channel.name, "You're not on that channel")
        return
    if len(message.params) < 2:
        send_topic(ctx, channel)
        return
    if not access.may_set_topic(channel, user):
        conn.numeric(n.ERR_CHANOPRIVSNEEDED, channel.name, "You're not channel operator")
        return
    text = fit_utf8(message.params[1], ctx.config.limits.topiclen)
    ctx.emit(TopicSet(user.uid, channel.name, text, ctx.now(), new_msgid()), refused_when_applied(conn, channel.name))


@command("NAMES")
def handle_names(ctx: Context, message: Message) -> None:
    """`NAMES #a,#b`: each channel's list in turn (up to TARGMAX NAMES of them)."""
    wanted: dict[str, str] = {}  # each channel once, in the order first asked
    for name in message.param(0).split(","):
        if name:
            wanted.setdefault(casefold(name), name)
    names = list(wanted.values())
    if not names:
        ctx.conn.numeric(n.RPL_ENDOFNAMES, "*", "End of /NAMES list")
        return
    limit = ctx.config.limits.max_targets
    if len(names) > limit:
        ctx.conn.numeric(n.ERR_TOOMANYTARGETS, message.params[0], f"Too many targets, the limit is {limit}")
        return
    send_paced(ctx, _names_rows(ctx, names))  # a big channel's NAMES passes the sendq


def _names_rows(ctx: Context, names: list[str]) -> Iterator[Message]:
    """Each channel's 353 lines and 366, taken as the client reads them."""
    for name in names:
        channel = ctx.state.find_channel(name)
        if channel is None or channel.hidden_from(ctx.user):
            yield ctx.conn.numeric_row(n.RPL_ENDOFNAMES, shown(name), "End of /NAMES list")
        else:
            yield from channel_info.names_rows(ctx.conn, ctx.user, channel)


@command("LIST")
def handle_list(ctx: Context, message: Message) -> None:
    """All channels, or those named, filtered by ELIST conditions; secret ones only to
    members. Paced as the client reads it (SAFELIST): a big network's list passes the sendq."""
    state = ctx.state
    wanted = elist.parse(message.params)
    if wanted.only_named:
        found = (state.channels.get(name) for name in dict.fromkeys(wanted.names))
        candidates = [c for c in found if c is not None]
    else:
        candidates = list(state.channels.values())
    send_paced(ctx, _list_rows(ctx, wanted, candidates))


def _list_rows(ctx: Context, wanted: elist.ListFilter, candidates: list[Channel]) -> Iterator[Message]:
    conn, user, channels = ctx.conn, ctx.user, ctx.state.channels
    now = ctx.now()
    yield conn.numeric_row(n.RPL_LISTSTART, "Channel", "Users  Name")
    for channel in candidates:
        # read as the client reads: a channel gone meanwhile is left out
        if channels.get(channel.key) is not channel or channel.hidden_from(user):
            continue
        count = visible_count(user, channel)
        topic_time = channel.topic_time if channel.topic else None
        if wanted.accepts(channel.name, count, channel.created, topic_time, now):
            yield conn.numeric_row(n.RPL_LIST, channel.name, str(count), channel.topic)
    yield conn.numeric_row(n.RPL_LISTEND, "End of /LIST")
