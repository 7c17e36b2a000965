"""Delivery by audience: each applied event told to those on this node who must hear of it.

An event names its audience (a channel's members, a user, a user's neighbours, those
of them with a capability, MONITOR watchers, operators watching server notices); the
`Announcer`, a subscriber of the engine, resolves that audience against this node's
own connections (`User.conn`) and encodes each wire form once (`Outgoing`). On every
node of a network the same event reaches the same audience, each node serving its own.

This is also where this node acts on events about its own connections that came from
elsewhere: a K-line disconnects the local users it matches, and a user quit by another
node (a KILL) has its connection closed here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import Any, TypeVar

from hubbub.irc import numerics as n
from hubbub.irc.casemap import casefold
from hubbub.irc.message import Message, new_message
from hubbub.server import metadata as md
from hubbub.server.access import is_ctcp_but_action
from hubbub.server.apply import Outcome
from hubbub.server.audit import Audit, via
from hubbub.server.batch import MultilineOutgoing
from hubbub.server.chanmodes import mode_params, shown_changes, split_mode_changes
from hubbub.server.channel import HALFOP, PREFIX_RANKS, Channel
from hubbub.server.channel_info import send_names, send_topic
from hubbub.server.connection import READ_MARKER, Connection, marker_value
from hubbub.server.delivery import ALL_MASKS, WANTS_TAGS, Outgoing, new_outgoing, server_time
from hubbub.server.events import (
    AccountDropped,
    AccountVhostSet,
    AwaySet,
    ChannelModesSet,
    ChannelRenamed,
    DigestAsked,
    DigestGiven,
    Event,
    HostSet,
    Invited,
    Joined,
    Kicked,
    KlineAdded,
    Knocked,
    LoggedIn,
    LoggedOut,
    MarkerSet,
    MetadataCleared,
    MetadataSet,
    ModeChange,
    NickSet,
    NodeLost,
    NodeUp,
    Parted,
    RealnameSet,
    Redacted,
    Registered,
    Said,
    SaidMultiline,
    SaidToAccount,
    TopicSet,
    UserModesSet,
    UserQuit,
    Wallops,
)
from hubbub.server.isupport import BOT_MODE
from hubbub.server.klines import Kline
from hubbub.server.monitor import EXTENDED_MONITOR, MonitorIndex
from hubbub.server.snotice import ServerNotices
from hubbub.server.state import ChatState
from hubbub.server.user import User
from hubbub.server.usermodes import format_changes, refuses_unregistered
from hubbub.speedups import compiled

E = TypeVar("E", bound=Event)


def from_user(
    user: User, message: Message, time: float, msgid: str, client_tags: dict[str, str] | None = None
) -> Outgoing:
    """A message a user causes, with the tags that describe its sender (account, bot)."""
    return Outgoing(message, time, msgid, client_tags, user.account, BOT_MODE in user.modes)


def to_members(channel: Channel, out: Outgoing | MultilineOutgoing, exclude: User | None = None) -> None:
    """Deliver `out` to every local member of `channel` but `exclude`.

    This is the hot path of a chat server, so `Connection.deliver` is inlined for the
    common member (an IRC connection with no labeled reply open, `Connection.fast`):
    the wire form for each tag mask is fetched once per message, kept in a list indexed
    by the mask (cheaper than a dict), and written as it is.
    """
    skip = exclude.conn if exclude is not None else None
    if compiled is not None:  # the same loop in C (hubbub/_speedups.c)
        compiled.deliver(channel.local, skip, out)
        return
    forms: list[bytes | None] = [None] * ALL_MASKS
    for conn in channel.local:
        fast = conn.fast
        if fast is None or conn is skip:
            if conn is not skip:
                conn.deliver(out)  # labeled, leaving, or another output form
            continue
        mask = conn.tag_mask
        data = forms[mask]
        if data is None:
            data = forms[mask] = out.irc_bytes(mask)
        fast.write(data)


def to_ranked_members(channel: Channel, out: Outgoing | MultilineOutgoing, exclude: User, status: str) -> int:
    """STATUSMSG: deliver `out` to the local members of `channel` whose rank is at least
    that of the prefix `status`, but `exclude` (the sender, who gets its echo). Returns
    how many it reached: only this loop knows, and the metrics count deliveries."""
    rank = PREFIX_RANKS[status]
    reached = 0
    for conn in channel.local:
        member = conn.user
        if member is not exclude and channel.rank(member) >= rank:
            conn.deliver(out)
            reached += 1
    return reached


def to_users(users: Iterable[User], out: Outgoing | MultilineOutgoing, cap: str | None = None) -> None:
    """Deliver `out` to those of `users` connected here (with `cap`, when given)."""
    for user in users:
        conn = user.conn
        if conn is not None and (cap is None or cap in conn.caps):
            conn.deliver(out)


class Announcer:
    def __init__(
        self,
        state: ChatState,
        monitors: MonitorIndex,
        notices: ServerNotices,
        server: str,
        local: Callable[[], Iterable[Connection]],
        close: Callable[[Connection, str], None],
        drop: Callable[[Connection, str], None],
        emit: Callable[[Event], None],
        audit: Audit | None = None,
        metadata_budget: Callable[[], int] = lambda: 1 << 20,
        recall_markers: Callable[[Connection], None] = lambda conn: None,
    ) -> None:
        self.state = state
        self.monitors = monitors
        self.notices = notices
        self.server = server
        self.local = local  # this node's connections
        self.close = close  # end a local connection whose user has left already (ERROR, close)
        self.drop = drop  # disconnect a local user: ERROR, its quit (an event), close
        self.emit = emit  # an event of the server's own, in answer to one (DIGEST)
        self.audit = audit or Audit()  # the server log's lines (they go with the server notices)
        # bytes one metadata sync may queue (md.sync_budget), asked each time: a REHASH may change the sendq
        self.metadata_budget = metadata_budget
        self.recall_markers = recall_markers  # a login's read markers, learnt (Services.recall_markers)

    def __call__(self, event: Event, outcome: Outcome) -> None:
        if outcome.rejected is not None:
            return
        announce = ANNOUNCERS.get(type(event))
        if announce is not None:
            announce(self, event, outcome)

    def route(self, kind: type[Any]) -> Callable[[Event, Outcome], None] | None:
        """What announces an applied event of `kind` (see engine.Routes)."""
        announce = ANNOUNCERS.get(kind)
        return partial(announce, self) if announce is not None else None

    # -- audiences -----------------------------------------------------------------------

    def with_cap(self, user: User, out: Outgoing, cap: str, *, include_self: bool) -> None:
        """Those who share a channel with `user` and negotiated `cap`, its extended-monitor
        watchers that did, and `user` itself when the specification says so."""
        recipients: set[Connection] = set()
        for other in self.state.neighbours(user):
            conn = other.conn
            if conn is not None and cap in conn.caps:
                recipients.add(conn)
        for watcher in self.monitors.of(user.nick):
            if cap in watcher.caps and not watcher.caps.isdisjoint(EXTENDED_MONITOR):
                recipients.add(watcher)
        own = user.conn
        if own is not None:
            recipients.discard(own)
            if include_self and cap in own.caps:
                own.deliver(out)
        for conn in recipients:
            conn.deliver(out)

    def came_online(self, user: User) -> None:
        targets = [(user.nick, user.metadata)]
        for watcher in list(self.monitors.of(user.nick)):
            watcher.numeric(n.RPL_MONONLINE, user.prefix)
            if user.metadata and md.aware(watcher):  # its keys, set before registration
                lines = md.sync_lines(watcher, targets)
                if lines:
                    md.send_batch(watcher, user.nick, lines)

    def went_offline(self, nick: str) -> None:
        for watcher in list(self.monitors.of(nick)):
            watcher.numeric(n.RPL_MONOFFLINE, nick)


Announce = Callable[[Announcer, E, Outcome], None]
ANNOUNCERS: dict[type[Any], Callable[[Announcer, Any, Outcome], None]] = {}


def announces(event_type: type[E]) -> Callable[[Announce[E]], Announce[E]]:
    def register(fn: Announce[E]) -> Announce[E]:
        ANNOUNCERS[event_type] = fn
        return fn

    return register


def _who(user: User) -> str:
    return f"{user.nick} ({user.username}@{user.host}) [{user.ip}]{via(user)}"


# -- users ---------------------------------------------------------------------------------


@announces(NickSet)
def _nick_set(a: Announcer, ev: NickSet, outcome: Outcome) -> None:
    user = outcome.user
    assert user is not None
    if not user.registered or outcome.old_nick == user.nick:
        return
    out = from_user(user, Message("NICK", [user.nick], outcome.old_prefix), ev.time, ev.msgid)
    if user.conn is not None:
        user.conn.deliver(out)
    to_users(outcome.audience, out)
    if casefold(outcome.old_nick) != user.key:  # a change of case only is no news
        a.went_offline(outcome.old_nick)
        a.came_online(user)


@announces(Registered)
def _registered(a: Announcer, ev: Registered, outcome: Outcome) -> None:
    user = outcome.user
    assert user is not None
    a.came_online(user)
    a.notices.send(f"Client connecting: {_who(user)}")
    if user.conn is not None:
        a.audit.registered(user)


@announces(UserQuit)
def _user_quit(a: Announcer, ev: UserQuit, outcome: Outcome) -> None:
    user = outcome.user
    assert user is not None
    conn = user.conn
    if conn is not None:  # ours: forget its local traces; close it if another node quit it
        a.audit.left(user, ev.reason)
        for channel in outcome.left:
            channel.local.pop(conn, None)
        if not conn.gone:
            if outcome.target is not None:
                conn.send(Message("KILL", [user.nick, ev.kill_text], outcome.target.prefix))
            a.close(conn, ev.reason)
        a.monitors.clear(conn)
        a.notices.watch(conn, False)
        user.conn = None
    if not user.registered:
        return
    to_users(outcome.audience, from_user(user, Message("QUIT", [ev.reason], user.prefix), ev.time, ev.msgid))
    a.went_offline(user.nick)
    a.notices.send(f"Client exiting: {_who(user)} ({ev.reason})")


@announces(UserModesSet)
def _user_modes(a: Announcer, ev: UserModesSet, outcome: Outcome) -> None:
    user = outcome.user
    assert user is not None
    conn = user.conn
    changes = list(outcome.user_changes)
    if conn is None or not changes:
        return
    for adding, letter in changes:
        if letter == "s":
            a.notices.watch(conn, adding)
    conn.send(Message("MODE", [user.nick, format_changes(changes)], user.prefix))


@announces(AwaySet)
def _away(a: Announcer, ev: AwaySet, outcome: Outcome) -> None:
    """away-notify: `AWAY :text` when going away, a bare `AWAY` when back. Before
    registration (draft/pre-away) there is no one to tell."""
    user = outcome.user
    assert user is not None
    if not user.registered:
        return
    params = [ev.text] if ev.text is not None else []
    a.with_cap(user, from_user(user, Message("AWAY", params, user.prefix), ev.time, ev.msgid), "away-notify",
               include_self=False)  # fmt: skip


@announces(RealnameSet)
def _realname(a: Announcer, ev: RealnameSet, outcome: Outcome) -> None:
    """setname: the change, confirmed to the user and told to those who share a channel."""
    user = outcome.user
    assert user is not None
    out = from_user(user, Message("SETNAME", [user.realname], user.prefix), ev.time, ev.msgid)
    a.with_cap(user, out, "setname", include_self=True)


@announces(HostSet)
def _host(a: Announcer, ev: HostSet, outcome: Outcome) -> None:
    user = outcome.user
    assert user is not None
    _host_changed(a, user, outcome.old_prefix, ev.time, ev.msgid)


def _host_changed(a: Announcer, user: User, old_prefix: str, time: float, msgid: str) -> None:
    """chghost, the user included (without it, the user gets 396). Clients without it
    get no reconnect simulation (the spec's optional QUIT/JOIN): they see the new mask on
    the user's next message."""
    out = from_user(user, Message("CHGHOST", [user.username, user.host], old_prefix), time, msgid)
    a.with_cap(user, out, "chghost", include_self=True)
    conn = user.conn
    if conn is not None and "chghost" not in conn.caps:  # the user learns it all the same, as at its welcome
        conn.numeric(n.RPL_VISIBLEHOST, user.host, "is now your displayed host")


def _hosts_changed(a: Announcer, outcome: Outcome, time: float, msgid: str) -> None:
    """The hosts an account's vhost changed where the event was applied (apply.py), each
    announced as a HostSet is, with an id of its own derived from the event's (the same
    on every node; none for an event of an older node, which has none)."""
    for i, (user, old_prefix) in enumerate(outcome.hosts):
        _host_changed(a, user, old_prefix, time, f"{msgid}-host{i:x}" if msgid else "")


# -- accounts ------------------------------------------------------------------------------


def _account_notice(
    a: Announcer, user: User, time: float, msgid: str, lost_r: bool, prefix: str, include_self: bool = True,
) -> None:
    """account-notify (the user included, unless `include_self` is false: a login's own
    lines, +r among them, follow its 900, tell_own_login), and a logout's own -r, once
    it has a nick to carry them: a login during registration is told by 900 and the
    MODE after the welcome, and nobody else sees a connection that is not registered yet. The read
    markers its connection was told were another account's (or none): forgotten.
    `prefix`: the user's before the event (its host changes after this is told)."""
    if user.conn is not None:
        user.conn.markers = None
        a.recall_markers(user.conn)
    if not user.registered:
        return
    out = from_user(user, Message("ACCOUNT", [user.account or "*"], prefix), time, msgid)
    a.with_cap(user, out, "account-notify", include_self=include_self)
    conn = user.conn
    if include_self and conn is not None and lost_r:
        conn.send(Message("MODE", [user.nick, "-r"], prefix))


def tell_own_login(user: User, time: float, msgid: str, gained_r: bool) -> None:
    """A login's ACCOUNT line (with account-notify) and +r to the user itself, sent by the
    login after its 900 (and SASL's 903): a client that logs in once registered reads
    the answer to its AUTHENTICATE or IDENTIFY first, as irctest and ergo have it, and
    then what the login changed. Others heard of it as it was applied (_logged_in)."""
    conn = user.conn
    if conn is None or not user.registered:
        return
    if "account-notify" in conn.caps:
        conn.deliver(from_user(user, Message("ACCOUNT", [user.account or "*"], user.prefix), time, msgid))
    if gained_r:
        conn.send(Message("MODE", [user.nick, "+r"], user.prefix))


def _prefix_before(user: User, outcome: Outcome) -> str:
    return next((prefix for changed, prefix in outcome.hosts if changed is user), user.prefix)


@announces(LoggedIn)
def _logged_in(a: Announcer, ev: LoggedIn, outcome: Outcome) -> None:
    """The login told to others, then the account's vhost shown (or another account's
    taken back). The user itself hears of it after its 900 (tell_own_login)."""
    user = outcome.user
    assert user is not None
    prefix = _prefix_before(user, outcome)
    _account_notice(a, user, ev.time, ev.msgid, lost_r=False, prefix=prefix, include_self=False)
    _hosts_changed(a, outcome, ev.time, ev.msgid)


@announces(LoggedOut)
def _logged_out(a: Announcer, ev: LoggedOut, outcome: Outcome) -> None:
    """The logout, then the host under the account's vhost shown again."""
    user = outcome.user
    assert user is not None
    prefix = _prefix_before(user, outcome)
    _account_notice(a, user, ev.time, ev.msgid, lost_r=True, prefix=prefix)
    _hosts_changed(a, outcome, ev.time, ev.msgid)


@announces(AccountVhostSet)
def _account_vhost(a: Announcer, ev: AccountVhostSet, outcome: Outcome) -> None:
    """Whoever is logged in to the account, shown with its new vhost or the host under it."""
    _hosts_changed(a, outcome, ev.time, ev.msgid)


@announces(AccountDropped)
def _account_dropped(a: Announcer, ev: AccountDropped, outcome: Outcome) -> None:
    """Its users logged out; and in each channel whose lists named it, the entries taken
    out shown to the members as the server's MODE (`-b a:name`), as a server shows a
    ban that expires: clients that keep the lists (ban list windows) stay right."""
    for user in outcome.audience:
        prefix = _prefix_before(user, outcome)
        _account_notice(a, user, ev.time, ev.msgid, lost_r=True, prefix=prefix)
        if user.conn is not None:
            user.conn.numeric(n.RPL_LOGGEDOUT, prefix, "You are now logged out (the account was dropped)")
    _hosts_changed(a, outcome, ev.time, ev.msgid)
    for channel, changes in outcome.unlisted:
        _mode_lines(a, channel, changes, None, a.server, ev.time, ev.msgid)


# -- channels ------------------------------------------------------------------------------


@announces(Joined)
def _joined(a: Announcer, ev: Joined, outcome: Outcome) -> None:
    """JOIN; `#chan account :realname` to extended-join members, and an away joiner's
    AWAY to away-notify members (away-notify: "when a user joins")."""
    user, channel = outcome.user, outcome.channel
    assert user is not None and channel is not None
    if user.conn is not None:
        channel.local[user.conn] = None
    plain = from_user(user, Message("JOIN", [channel.name], user.prefix), ev.time, ev.msgid)
    extended = from_user(
        user, Message("JOIN", [channel.name, user.account or "*", user.realname], user.prefix), ev.time, ev.msgid
    )
    away = None
    if user.away is not None:
        # a message of its own, with an id of its own (message-ids: never two with one),
        # the same on every node
        away = from_user(user, Message("AWAY", [user.away], user.prefix), ev.time, ev.msgid + "-away")
    # the status a registered channel gives its founder and access list, said as ergo does
    # (`:server MODE #c +o nick`): clients know ranks from MODE lines, not from guesses
    status = "" if outcome.created else channel.members.get(user, "")
    granted = None
    if status:
        params = [channel.name, "+" + status, *([user.nick] * len(status))]
        granted = Outgoing(Message("MODE", params, a.server), ev.time, ev.msgid + "-mode")
    for member in outcome.audience:
        conn = member.conn
        if conn is None:
            continue
        conn.deliver(extended if "extended-join" in conn.caps else plain)
        if away is not None and member is not user and "away-notify" in conn.caps:
            conn.deliver(away)
        if granted is not None:
            conn.deliver(granted)
    if outcome.closed and channel.join_flood is not None:
        _closed_to_joins(a, ev, channel, outcome.audience)


def _closed_to_joins(a: Announcer, ev: Joined, channel: Channel, members: Sequence[User]) -> None:
    """+j: the join that reached the rule closed the channel; its members (the joiner
    too) are told by the server, as InspIRCd does, so that they know why nobody comes."""
    rule = channel.join_flood
    assert rule is not None
    joins = "1 join" if rule.joins == 1 else f"{rule.joins} joins"
    text = f"This channel is closed to new joins for {ev.lock:g} seconds: {joins} in {rule.seconds} seconds (+j)"
    to_users(members, Outgoing(Message("NOTICE", [channel.name, text], a.server), ev.time, ev.msgid + "-j"))


@announces(Parted)
def _parted(a: Announcer, ev: Parted, outcome: Outcome) -> None:
    user, channel = outcome.user, outcome.channel
    assert user is not None and channel is not None
    params = [channel.name, ev.reason] if ev.reason else [channel.name]
    to_users(outcome.audience, from_user(user, Message("PART", params, user.prefix), ev.time, ev.msgid))
    if user.conn is not None:
        channel.local.pop(user.conn, None)


@announces(Kicked)
def _kicked(a: Announcer, ev: Kicked, outcome: Outcome) -> None:
    kicker, victim, channel = outcome.user, outcome.target, outcome.channel
    assert victim is not None and channel is not None
    source = kicker.prefix if kicker is not None else ev.source or a.server
    message = Message("KICK", [channel.name, victim.nick, ev.reason], source)
    out = from_user(kicker, message, ev.time, ev.msgid) if kicker is not None else Outgoing(message, ev.time, ev.msgid)
    to_users(outcome.audience, out)
    if victim.conn is not None:
        channel.local.pop(victim.conn, None)


@announces(TopicSet)
def _topic(a: Announcer, ev: TopicSet, outcome: Outcome) -> None:
    user, channel = outcome.user, outcome.channel
    assert user is not None and channel is not None
    message = Message("TOPIC", [channel.name, channel.topic], user.prefix)
    to_members(channel, from_user(user, message, ev.time, ev.msgid))


@announces(ChannelModesSet)
def _channel_modes(a: Announcer, ev: ChannelModesSet, outcome: Outcome) -> None:
    channel = outcome.channel
    assert channel is not None
    user = outcome.user
    source = user.prefix if user is not None else ev.source or a.server
    _mode_lines(a, channel, outcome.changes, user, source, ev.time, ev.msgid)


def _mode_lines(
    a: Announcer, channel: Channel, changes: Sequence[ModeChange], user: User | None, source: str, time: float,
    msgid: str,
) -> None:  # fmt: skip
    """One MODE line for what changed, split only where 512 bytes demand it."""
    if not changes:
        return
    head = len(f":{source} MODE {channel.name} +".encode())
    for line in split_mode_changes(head, shown_changes(a.state.users, changes)):
        message = Message("MODE", mode_params(channel.name, line), source)
        out = from_user(user, message, time, msgid) if user is not None else Outgoing(message, time, msgid)
        to_members(channel, out)


@announces(Invited)
def _invited(a: Announcer, ev: Invited, outcome: Outcome) -> None:
    """INVITE to its target, unless its SILENCE list names the inviter (the invitation
    stands all the same); with `invite-notify`, the channel's halfops and ops (those
    who could have invited to a +i channel themselves) are told too."""
    user, target, channel = outcome.user, outcome.target, outcome.channel
    assert user is not None and target is not None and channel is not None
    out = from_user(user, Message("INVITE", [target.nick, channel.name], user.prefix), ev.time, ev.msgid)
    conn = target.conn
    if conn is not None and (conn.silence is None or not conn.silence.hushes(user)):  # SILENCE (silence.py)
        conn.deliver(out)
    for member in channel.members:
        conn = member.conn
        if conn is not None and member is not user and "invite-notify" in conn.caps and channel.rank(member) >= HALFOP:
            conn.deliver(out)


@announces(Knocked)
def _knocked(a: Announcer, ev: Knocked, outcome: Outcome) -> None:
    """710 to the channel's halfops and ops (those who can INVITE to a +i channel), as
    the charybdis family sends it: `:server 710 #c #c nick!user@host :has asked for an
    invite.`, the knock's reason after it when one was given."""
    user, channel = outcome.user, outcome.channel
    assert user is not None and channel is not None
    text = f"has asked for an invite: {ev.reason}" if ev.reason else "has asked for an invite."
    line = Message(n.RPL_KNOCK, [channel.name, channel.name, user.prefix, text], a.server)
    out = Outgoing(line, ev.time, "")  # a numeric: no msgid of its own
    for member in channel.members:
        conn = member.conn
        if conn is not None and not conn.gone and channel.rank(member) >= HALFOP:
            conn.deliver(out)


CHANNEL_RENAME = "draft/channel-rename"


def renamed_part_reason(new: str, reason: str) -> str:
    """The PART reason shown in place of a RENAME: the rename's reason, as the
    specification asks, or else where the channel went."""
    return reason or f"Channel renamed to {new}"


@announces(ChannelRenamed)
def _renamed(a: Announcer, ev: ChannelRenamed, outcome: Outcome) -> None:
    """`RENAME old new :reason` to members with draft/channel-rename; to the others, as
    the specification's fallback, their own PART of the old name and JOIN of the new
    one with the usual topic and NAMES (not for a change of case only)."""
    user, channel = outcome.user, outcome.channel
    assert channel is not None
    old = outcome.old_name
    source = user.prefix if user is not None else a.server
    message = Message("RENAME", [old, channel.name, ev.reason], source)
    rename = from_user(user, message, ev.time, ev.msgid) if user is not None else Outgoing(message, ev.time, ev.msgid)
    case_only = casefold(old) == channel.key
    for member in outcome.audience:
        conn = member.conn
        if conn is None or conn.gone:
            continue
        if CHANNEL_RENAME in conn.caps:
            conn.deliver(rename)
        elif not case_only:
            _rename_as_part_and_join(a, conn, member, channel, old, ev)


def _rename_as_part_and_join(
    a: Announcer, conn: Connection, member: User, channel: Channel, old: str, ev: ChannelRenamed
) -> None:
    # Made up lines: they carry the event's time but no msgid (two lines, one event).
    part = Message("PART", [old, renamed_part_reason(channel.name, ev.reason)], member.prefix)
    conn.deliver(from_user(member, part, ev.time, ""))
    params = [channel.name, member.account or "*", member.realname] if "extended-join" in conn.caps else [channel.name]
    conn.deliver(from_user(member, Message("JOIN", params, member.prefix), ev.time, ""))
    with conn.captured() as lines:  # as the channel is now, after those two lines, held with them
        if channel.topic:
            send_topic(conn, channel)
        send_names(conn, member, channel)
    if READ_MARKER in conn.caps:  # as after a JOIN, before the topic and NAMES: the marker it had
        known, when = conn.marker_told(casefold(old))
        if known:
            conn.told_marker(channel.key, when)
            lines.insert(0, Message("MARKREAD", [channel.name, marker_value(when)], conn.server))
        else:  # its markers are being read (a login, Services.recall_markers): the one read, then
            conn.follow_marker(channel.key, channel.name)
    for line in lines:
        conn.follow(line)
    if conn.metadata_subs and md.aware(conn):  # as after a JOIN (the client forgot the old name's)
        md.sync(conn, channel.name, md.sync_lines(conn, md.channel_targets(channel)), a.metadata_budget(), True)


# -- metadata ------------------------------------------------------------------------------


def _metadata_changed(a: Announcer, ev: MetadataSet | MetadataCleared, outcome: Outcome) -> None:
    """METADATA lines to the subscribers who see the target: a channel's members; a
    user's neighbours, MONITOR watchers and the user itself. Not to the connection that
    made the change: its reply said so already."""
    if not outcome.metadata:
        return
    setter = outcome.user
    origin = setter.conn if setter is not None else None
    channel, target = outcome.channel, outcome.target
    recipients: set[Connection] = set()
    if channel is not None:
        name = channel.name
        recipients.update(conn for conn in channel.local if md.aware(conn))
    elif target is not None and target.registered:
        name = target.nick
        for other in (target, *a.state.neighbours(target)):
            if other.conn is not None and md.aware(other.conn):
                recipients.add(other.conn)
        recipients.update(watcher for watcher in a.monitors.of(name) if md.aware(watcher))
    else:
        return
    if origin is not None:
        recipients.discard(origin)
    for key, value in outcome.metadata:
        out = Outgoing(md.notification(a.server, name, key, value), ev.time, "")
        for conn in recipients:
            if key in conn.metadata_subs:
                conn.deliver(out)


announces(MetadataSet)(_metadata_changed)
announces(MetadataCleared)(_metadata_changed)


# -- messages ------------------------------------------------------------------------------


def _to_target(
    a: Announcer,
    user: User,
    outcome: Outcome,
    out: Outgoing | MultilineOutgoing,
    tags_only: bool = False,
    status: str = "",
) -> None:
    """Deliver to the target (with `status`, the channel's members of that rank and
    above) and, with echo-message, back to the sender.

    A message to oneself arrives twice with echo-message, as a delivery and as the
    echo; only the echo can carry a label (labeled-response). A private one whose
    target silenced the sender (silence.py) reaches only the sender's echo. When the
    recipients are chosen one by one, their number is left on the outcome for the
    metrics (`Outcome.delivered`), counted by the loop that chooses them.
    """
    channel, target = outcome.channel, outcome.target
    if channel is not None:
        if tags_only:
            rank = PREFIX_RANKS[status] if status else 0
            reached = 0
            for member in channel.members:
                conn = member.conn
                if (
                    conn is not None and member is not user and conn.tag_mask & WANTS_TAGS
                    and (not rank or channel.rank(member) >= rank)
                ):
                    conn.deliver(out)
                    reached += 1
            outcome.delivered = reached
        elif status:
            outcome.delivered = to_ranked_members(channel, out, user, status)
        else:
            to_members(channel, out, exclude=user)
    elif target is not None and target.conn is not None:
        conn = target.conn
        if not tags_only or conn.tag_mask & WANTS_TAGS:
            if target is user:
                conn.deliver_unlabeled(out)
            elif conn.silence is None or not conn.silence.hushes(user):
                conn.deliver(out)
            else:
                outcome.delivered = 0  # silenced (silence.py): nobody is told
        else:
            outcome.delivered = 0  # a TAGMSG its target could not read
    own = user.conn
    if own is not None and "echo-message" in own.caps and (not tags_only or own.tag_mask & WANTS_TAGS):
        own.deliver(out)


@announces(Said)
def _said(a: Announcer, ev: Said, outcome: Outcome) -> None:
    user = outcome.user
    assert user is not None
    channel = outcome.channel
    tagmsg = ev.command == "TAGMSG"
    status = ev.status
    if channel is not None:
        shown = status + channel.name if status else channel.name
    else:
        shown = outcome.target.nick if outcome.target else ev.target
    params = [shown] if tagmsg else [shown, ev.text]
    out = new_outgoing(new_message(ev.command, params, user.prefix), ev.time, ev.msgid, ev.tags, user.account,
                       BOT_MODE in user.modes)  # fmt: skip
    if not tagmsg:  # the common cases, without a detour
        if channel is not None:
            if status:
                outcome.delivered = to_ranked_members(channel, out, user, status)
            else:
                if compiled is not None:  # to_members's loop in C, without to_members's frame
                    compiled.deliver(channel.local, user.conn, out)
                else:
                    to_members(channel, out, user)
        else:
            target = outcome.target
            if target is not None and target is not user and (conn := target.conn) is not None:
                hush = conn.silence  # SILENCE (silence.py): None for nearly everyone
                if hush is not None and hush.hushes(user):
                    outcome.delivered = 0  # kept from the target; the sender is told nothing
                elif compiled is not None:  # Connection.deliver without its frame (hubbub/_speedups.c)
                    compiled.deliver_one(conn, out)
                else:
                    conn.deliver(out)
            elif target is user and user.conn is not None:
                user.conn.deliver_unlabeled(out)
            if target is not None and (target.account is not None or user.account is not None):
                said_by = partial(_said_by, ev, params, user) if ev.command == "PRIVMSG" else None
                _to_devices(a, user, target, outcome, out, said_by, ev.text)
        own = user.conn
        if own is not None and "echo-message" in own.caps:
            own.deliver(out)
        return
    _to_target(a, user, outcome, out, tags_only=tagmsg, status=status)
    target = outcome.target
    if channel is None and target is not None and (target.account is not None or user.account is not None):
        # a reaction shows on the reacting account's other devices too; typing does not
        tags = ev.tags
        reacting = tags is not None and ("+draft/react" in tags or "+draft/unreact" in tags)
        by = partial(_said_by, ev, params, user) if reacting else None
        _to_devices(a, user, target, outcome, out, by, "", tags_only=True)


def _said_by(ev: Said, params: list[str], user: User, prefix: str) -> Outgoing:
    """`ev` as said from `prefix` (another device's own nick: _to_devices)."""
    return new_outgoing(new_message(ev.command, params, prefix), ev.time, ev.msgid, ev.tags, user.account,
                        BOT_MODE in user.modes)  # fmt: skip


def _to_devices(
    a: Announcer, user: User, target: User, outcome: Outcome, out: Outgoing | MultilineOutgoing,
    said_by: Callable[[str], Outgoing | MultilineOutgoing] | None, text: str, tags_only: bool = False,
) -> None:  # fmt: skip
    """A private message reaches every device of the people on both sides, not only the
    nick it named: this node's other connections logged in to the target's account get
    it as it is (the phone of `alice` as `alice_phone` sees what bob wrote to `alice`),
    and those logged in to the sender's, as said from their own nick (`said_by`): IRC
    clients show such a line as their own, in the conversation with its target, where
    ZNC's self-messages go (with the other nick, irssi opens a conversation with it).
    A CTCP query is not copied (each device would answer it); a TAGMSG (`tags_only`)
    goes to the devices that read tags, the target's (typing, reactions) and, a
    reaction, the sender's; a NOTICE to the target's only (irssi shows a NOTICE from
    its own nick as one to itself). Their SILENCE and +R hold. A bot (`+B`) is one
    recipient, whatever account it is logged in to: what is said to it is its commands,
    what it says is not its owner's line, and a copy would be answered twice (two bots on
    one account each answered what the other was asked). The copies count as deliveries
    (`Outcome.delivered`)."""
    if is_ctcp_but_action(text):
        return
    online = a.state.online
    copies = 0
    theirs = ours = None
    if target.account is not None and BOT_MODE not in target.modes:
        theirs = online.get(casefold(target.account))
    if user.account is not None and BOT_MODE not in user.modes:
        ours = online.get(casefold(user.account))
    # a note to self from one device to another: the third one's too, as its own line
    own_note = said_by if theirs is ours else None
    if theirs is not None and len(theirs) > 1:
        for device in theirs.values():
            conn = device.conn
            if (conn is None or device is target or device is user or not device.registered
                    or BOT_MODE in device.modes or (tags_only and not conn.tag_mask & WANTS_TAGS)
                    or (conn.silence is not None and conn.silence.hushes(user))
                    or refuses_unregistered(device, user)):  # fmt: skip
                continue
            conn.deliver(own_note(device.prefix) if own_note is not None else out)
            copies += 1
    if said_by is not None and ours is not None and len(ours) > 1 and ours is not theirs:
        for device in ours.values():
            conn = device.conn
            if (conn is None or device is user or device is target or not device.registered
                    or BOT_MODE in device.modes or (tags_only and not conn.tag_mask & WANTS_TAGS)):  # fmt: skip
                continue
            conn.deliver(said_by(device.prefix))
            copies += 1
    if copies:
        reached = target.conn is not None and outcome.delivered != 0 and target is not user
        outcome.delivered = copies + (1 if reached else 0)


@announces(SaidMultiline)
def _said_multiline(a: Announcer, ev: SaidMultiline, outcome: Outcome) -> None:
    user = outcome.user
    assert user is not None
    channel, target = outcome.channel, outcome.target
    if channel is not None:
        shown = ev.status + channel.name
    else:
        shown = target.nick if target is not None else ev.target
    bot = BOT_MODE in user.modes

    def said_by(prefix: str) -> MultilineOutgoing:
        return MultilineOutgoing(prefix, shown, ev.lines, command=ev.command, time=ev.time, msgid=ev.msgid,
                                 client_tags=ev.tags, account=user.account, bot=bot)

    out = said_by(user.prefix)
    _to_target(a, user, outcome, out, status=ev.status)
    if target is not None and (target.account is not None or user.account is not None):
        by = said_by if ev.command == "PRIVMSG" else None
        _to_devices(a, user, target, outcome, out, by, ev.lines[0][0] if ev.lines else "")


@announces(SaidToAccount)
def _said_to_account(a: Announcer, ev: SaidToAccount, outcome: Outcome) -> None:
    """Nobody is there to hear it: the sender's echo alone."""
    user = outcome.user
    assert user is not None
    own = user.conn
    if own is None or "echo-message" not in own.caps:
        return
    bot = BOT_MODE in user.modes
    if ev.lines:
        own.deliver(MultilineOutgoing(user.prefix, ev.account, ev.lines, command="PRIVMSG", time=ev.time,
                                      msgid=ev.msgid, client_tags=ev.tags, account=user.account, bot=bot))
    else:
        own.deliver(new_outgoing(new_message("PRIVMSG", [ev.account, ev.text], user.prefix), ev.time, ev.msgid,
                                 ev.tags, user.account, bot))


@announces(MarkerSet)
def _marker_set(a: Announcer, ev: MarkerSet, outcome: Outcome) -> None:
    """draft/read-marker: every connection of the account with the cap hears of it."""
    line = Message("MARKREAD", [ev.shown, "timestamp=" + server_time(ev.time)], a.server)
    for conn in _connections_of(a, ev.account):
        if READ_MARKER in conn.caps:
            conn.told_marker(ev.target, ev.time)
            conn.send(line)


def _connections_of(a: Announcer, key: str) -> list[Connection]:
    """This node's connections logged in to the account `key` (casefolded), from the
    index of who is online as it (ChatState.online), not a walk over every connection."""
    users = a.state.online.get(key)
    if users is None:
        return []
    return [user.conn for user in users.values() if user.conn is not None and not user.conn.gone]


@announces(Redacted)
def _redacted(a: Announcer, ev: Redacted, outcome: Outcome) -> None:
    """REDACT to those with the cap who saw (or could see) the message: the channel's
    members, or both sides of a private conversation (every connection of each)."""
    user = outcome.user
    source = user.prefix if user is not None else a.server
    params = [ev.shown, ev.redacted, ev.reason] if ev.reason else [ev.shown, ev.redacted]
    out = Outgoing(Message("REDACT", params, source), ev.time, ev.msgid,
                   account=user.account if user is not None else None)  # fmt: skip
    cap = "draft/message-redaction"
    if outcome.channel is not None:
        hearers = [m.conn for m in outcome.channel.members if m.conn is not None]
        if user is not None and user.conn is not None and user.conn not in hearers:
            hearers.append(user.conn)
    else:
        parties = {casefold(ev.other), casefold(user.account) if user is not None and user.account else ""}
        hearers = [conn for key in parties for conn in _connections_of(a, key)]
    for conn in hearers:
        if cap in conn.caps:
            conn.deliver(out)


@announces(Wallops)
def _wallops(a: Announcer, ev: Wallops, outcome: Outcome) -> None:
    """Every +w user, and the sender as an echo (Modern IRC allows both)."""
    user = outcome.user
    assert user is not None
    out = from_user(user, Message("WALLOPS", [ev.text], user.prefix), ev.time, ev.msgid)
    for conn in list(a.local()):
        if conn.registered and not conn.gone and ("w" in conn.user.modes or conn.user is user):
            conn.deliver(out)


# -- server bans ---------------------------------------------------------------------------


@announces(KlineAdded)
def _kline_added(a: Announcer, ev: KlineAdded, outcome: Outcome) -> None:
    """Disconnect whoever is connected here already and matches the new K-line."""
    kline = Kline(ev.mask, ev.reason, ev.set_by, ev.time, ev.expires)
    for conn in list(a.local()):
        user = conn.user
        if not conn.gone and kline.matches(user.username, user.host, user.ip):
            if user.registered:
                a.notices.send(f"K-line active for {user.nick} ({user.username}@{user.host}) [{user.ip}]: {kline.mask}")
            else:  # no user name yet, perhaps no nick: the documented form for a connection
                a.notices.send(f"K-line active for a connection from {user.ip}: {kline.mask}")
            a.audit.kline_hit(kline.mask, f"{user.nick}!{user.username}@{user.host} [{user.ip}]")
            a.drop(conn, f"K-Lined: {kline.reason}")


# -- nodes and their replicas -----------------------------------------------------------------


@announces(NodeUp)
def _node_up(a: Announcer, ev: NodeUp, outcome: Outcome) -> None:
    a.notices.send(f"Server {ev.name} joined the network")


@announces(NodeLost)
def _node_lost(a: Announcer, ev: NodeLost, outcome: Outcome) -> None:
    a.notices.send(f"A server left the network: {ev.reason}")  # its name is in the reason


@announces(DigestAsked)
def _digest_asked(a: Announcer, ev: DigestAsked, outcome: Outcome) -> None:
    """DIGEST: every node answers with its replica's digest, taken where the question
    stands in the network's order (equal replicas answer alike, busy or not)."""
    a.emit(DigestGiven(ev.uid, ev.token, a.server, a.state.digest()))


@announces(DigestGiven)
def _digest_given(a: Announcer, ev: DigestGiven, outcome: Outcome) -> None:
    asker = a.state.users.get(ev.uid)
    if asker is not None and asker.conn is not None:
        asker.conn.server_message("NOTICE", asker.nick, f"DIGEST {ev.server} {ev.digest}")
