"""The one place the chat state changes: each event applied, deterministically.

An applier gets the state and one event and changes the state as the event says,
using nothing else: no clock (the event's time), no randomness, no configuration
(what the state keeps of it, such as the WHOWAS budget), no connection. It re-checks
what only the order of events can settle (a nick taken meanwhile, a member gone), so
that every replica applying the same events in the same order agrees, and reports
what happened in an `Outcome`: who was there to hear of it (taken before the change),
what actually changed, or why nothing did.

Appliers are small functions registered per event type, like command handlers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from hubbub.irc import numerics as n
from hubbub.irc.casemap import casefold
from hubbub.server import chanflood, joinflood, knocks
from hubbub.server.access import (
    invitation_admits,
    invite_refusal,
    join_refusal,
    may_apply_mode,
    may_kick,
    may_set_topic,
)
from hubbub.server.account import Account
from hubbub.server.channel import HALFOP, LIST_MODES, STATUS_MODES, Channel
from hubbub.server.events import (
    EVENT_TYPES,
    AccountCertSet,
    AccountCredentialsSet,
    AccountDropped,
    AccountHashUpgraded,
    AccountRegistered,
    AccountVhostSet,
    AddressSet,
    AwaySet,
    ChannelAccessSet,
    ChannelDropped,
    ChannelFounderSet,
    ChannelModesSet,
    ChannelRegistered,
    ChannelRenamed,
    ChannelRestored,
    Connected,
    DigestAsked,
    DigestGiven,
    Event,
    GhostProbed,
    HostSet,
    Invited,
    Joined,
    Kicked,
    KlineAdded,
    KlineRemoved,
    Knocked,
    LoggedIn,
    LoggedOut,
    LoginFailed,
    LoginFailuresForgotten,
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
    Synced,
    TopicSet,
    UserModesSet,
    UserQuit,
    Wallops,
)
from hubbub.server.klines import Kline
from hubbub.server.state import ChatState
from hubbub.server.user import User, node_of
from hubbub.server.whowas import WhowasEntry
from hubbub.speedups import compiled

E = TypeVar("E", bound=Event)


class Outcome:
    """What applying one event did, for its subscribers (delivery above all).

    The defaults are class attributes, so that making one costs only the fields an
    applier sets: one is made per event, on the message path.
    """

    rejected: str | None = None  # why nothing changed (the emitter tells its client)
    user: User | None = None  # the user the event is about
    channel: Channel | None = None
    audience: Sequence[User] = ()  # who was there to hear of it, taken before the change
    changes: Sequence[ModeChange] = ()  # the channel mode changes that really changed something
    user_changes: Sequence[tuple[bool, str]] = ()  # the user mode changes that did
    old_nick = ""
    old_prefix = ""
    old_name = ""  # a renamed channel's name before; a K-line's mask it replaced, written otherwise
    old_founder = ""  # a channel given to another account (SET FOUNDER): its founder before, as applied
    created = False  # the event created its channel
    time = 0.0  # a join's time as applied (in_time_order may have moved it): its autoreplay's bound; a login's
    target: User | None = None  # the other user (kicked, invited, messaged)
    left: Sequence[Channel] = ()  # the channels a quitting user was in; those a dropped account's end took
    # The registered channels a dropped account's end unregistered and that stay (they have
    # members): their founder status (+q) goes too, in the network's order (handlers/nickserv.py)
    unregistered: Sequence[Channel] = ()
    # A dropped account's list entries (`-b a:name`...) taken out, channel by channel
    unlisted: Sequence[tuple[Channel, Sequence[ModeChange]]] = ()
    # A dropped account's registration (its time); for a new one, the registration of its
    # name dropped before it, if any (ChatState.dropped_accounts): the row the store's
    # delete for it may remove, and no other (store/accounts.py)
    registration: float | None = None
    metadata: Sequence[tuple[str, str | None]] = ()  # (key, new value or None) that changed
    # Local connections a channel message was delivered to, when delivery (announce.py)
    # chose them one by one (STATUSMSG, TAGMSG); -1: every local member but its sender.
    delivered = -1
    dropped = False  # some of a MODE line's changes were refused when applied (the log's order)
    closed = False  # a join that closed its +j channel for a while
    # The users whose host a vhost changed (shown, or taken back), each with its prefix
    # before: announced as a HostSet is, with the event's time and msgid
    hosts: Sequence[tuple[User, str]] = ()


# Why an event is refused when applied although its handler let it through: its sender's
# rank (or membership) is not what the handler saw, the network's order having put a
# change of it first (a cluster). The handler's `then` answers it (handlers/replies.py).
NOT_ALLOWED = "not allowed"
TOO_MANY = "too many"  # a channel given to an account that founds as many as it may already
K_LINED = "K-Lined: "  # a connection refused by an address K-line: the reason follows
# Dropped registrations remembered (ChatState.dropped_accounts), the oldest forgotten
# first: each is needed only until its drop's delete has reached the store, seconds.
DROPPED_KEPT = 10_000


def rejected(reason: str) -> Outcome:
    outcome = Outcome()
    outcome.rejected = reason
    return outcome


Applier = Callable[[ChatState, E], Outcome]
APPLIERS: dict[type[Any], Callable[[ChatState, Any], Outcome]] = {}


def applies(event_type: type[E]) -> Callable[[Applier[E]], Applier[E]]:
    def register(fn: Applier[E]) -> Applier[E]:
        APPLIERS[event_type] = fn
        return fn

    return register


def apply(state: ChatState, event: Event) -> Outcome:
    """Apply one event as the engines do (they inline this: it is every message's path)."""
    return APPLIERS[type(event)](state, ordered(state, event, None))


# The events shown with a time and a msgid: the ones clients see stamped, and history keeps.
TIMED: frozenset[type[Any]] = frozenset(
    kind for kind in EVENT_TYPES.values() if "time" in kind._fields and "msgid" in kind._fields
)
_TIME_AT: dict[type[Any], int] = {kind: kind._fields.index("time") for kind in TIMED}
# On one server, a clock set back by more than this is followed (what comes after sorts
# by the new clock) rather than every time held at the old one until it catches up.
STEP_BACK_US = 1_000_000


def in_time_order(state: ChatState, event: E, ceiling_us: int | None = None) -> E:
    """`event`, or a copy of it stamped a microsecond after the last timed event applied
    when its own time is not past that one. Both engines pass every event here before
    applying it; a cluster's gives `ceiling_us`, the end of the millisecond of the log's
    entry (Redis's clock, the same on every node).

    Why: history lists a conversation by time, and clients saw it live in the order its
    events were applied (the log's order, in a cluster); but each event was stamped by
    the clock of the node that took it in. Clocks of different nodes differ, one node's
    can step back, and two events can share a microsecond. Moving the (rare) event
    stamped too early makes the two orders one, and every time unique to the
    microsecond the store keeps (`rows.to_us`), so that stores written by different
    nodes sort alike. The ceiling keeps a node whose clock runs ahead from dragging the
    network's clock with it (every later time would be held there). Deterministic: every
    replica applies the same events in the same order from the same `clock_us`
    (snapshots carry it)."""
    if type(event) not in TIMED:
        return event
    timed: Any = event
    stamped = us = round(timed.time * 1_000_000)
    last = state.clock_us
    if ceiling_us is not None:
        if us > ceiling_us:
            us = ceiling_us
        if us <= last:
            us = last + 1
    elif last - STEP_BACK_US <= us <= last:
        us = last + 1
    state.clock_us = us
    if us == stamped:
        return event
    at = _TIME_AT[type(event)]  # a tuple made as the NamedTuple's own __new__ does: _replace costs 15 times more
    return tuple.__new__(type(event), (*timed[:at], us / 1_000_000, *timed[at + 1 :]))


def _compiled_time_order() -> Callable[..., Any] | None:
    """in_time_order's compiled twin (hubbub/_speedups.c), which every event of every
    engine passes: the same, in C, for a float time and clocks within 2**53 µs, and this
    function itself for anything else (tests/unit/test_line_speedups.py compares them)."""
    if compiled is None:
        return None
    twin: Callable[..., Any] = compiled.TimeOrder(frozenset(TIMED), dict(_TIME_AT), STEP_BACK_US, in_time_order)
    return twin


# What the engines call: the twin when it was built, else the reference above.
ordered: Callable[[ChatState, E, int | None], E] = _compiled_time_order() or in_time_order


# -- users ---------------------------------------------------------------------------------


@applies(Connected)
def _connected(state: ChatState, ev: Connected) -> Outcome:
    if ev.uid in state.users:
        return rejected("duplicate")
    group = ev.group or ev.ip
    if ev.paced:  # accepted by its node: it counts for the pace (limits.connects_per_ip)
        state.connects.failed(group, ev.time)
    if ev.ip_limit and state.per_ip[group] >= ev.ip_limit:
        return rejected("too many from the address")
    # An address K-line is checked where a connection is accepted; in a cluster one added
    # on another node may be ordered between the accepting and this: checked again here.
    kline = state.klines.find("", ev.host, ev.ip, ev.time)
    if kline is not None:
        return rejected(K_LINED + kline.reason)
    user = User(ev.uid, ev.ip, ev.host, ev.secure, ev.time, ev.certfp)
    user.group = group
    state.users[ev.uid] = user
    state.per_ip[group] += 1
    outcome = Outcome()
    outcome.user = user
    return outcome


def _remember(state: ChatState, user: User, nick: str, when: float) -> None:
    """Keep `nick` for WHOWAS, with who used it."""
    server = state.nodes.get(node_of(user.uid), "")  # "": this server, when it is the whole network
    state.whowas.record(WhowasEntry(nick, user.username, user.host, user.realname, server, when, user.ip))


@applies(NickSet)
def _nick_set(state: ChatState, ev: NickSet) -> Outcome:
    user = state.users.get(ev.uid)
    if user is None:
        return rejected("gone")
    key = casefold(ev.nick)
    holder = state.nicks.get(key)
    if holder is not None and holder is not user:
        return rejected("taken")  # someone claimed it first, in the network's order
    outcome = Outcome()
    outcome.user = user
    outcome.old_nick = user.nick
    outcome.old_prefix = user.prefix
    if user.registered and user.nick != ev.nick:
        outcome.audience = list(state.neighbours(user))
        if user.key != key:
            _remember(state, user, user.nick, ev.time)
    if user.key is not None:
        del state.nicks[user.key]
    if key == ev.nick:  # folded already (most nicks): one string kept, not two equal ones
        key = ev.nick
    user.key = key
    user.nick = ev.nick
    state.nicks[key] = user
    user.refresh_prefix()
    return outcome


@applies(Registered)
def _registered(state: ChatState, ev: Registered) -> Outcome:
    user = state.users.get(ev.uid)
    if user is None or user.registered or user.key is None:
        return rejected("not ready")
    user.username = ev.username
    user.realname = ev.realname
    user.registered = True
    _follow_vhost(state, user, [])  # its first host anyone sees: nothing to announce (ev.host is for older nodes)
    user.signon = user.last_message = ev.time
    user.refresh_prefix()
    state.user_count += 1
    state.node_users[node_of(user.uid)] += 1
    state.peak_users = max(state.peak_users, state.user_count)
    for letter in user.modes:
        state.mode_counts[letter] += 1
    outcome = Outcome()
    outcome.user = user
    return outcome


def _uncount_address(state: ChatState, group: str) -> None:
    state.per_ip[group] -= 1
    if state.per_ip[group] <= 0:
        del state.per_ip[group]


@applies(AddressSet)
def _address_set(state: ChatState, ev: AddressSet) -> Outcome:
    user = state.users.get(ev.uid)
    if user is None:
        return rejected("gone")
    if user.registered:  # others have seen its address: it stays
        return rejected("registered")
    group = ev.group or ev.ip
    if group != user.group:
        if ev.ip_limit and state.per_ip[group] >= ev.ip_limit:
            return rejected("too many from the address")
        _uncount_address(state, user.group)
        state.per_ip[group] += 1
    user.group = group
    user.ip = ev.ip
    user.host = ev.host
    user.secure = ev.secure
    user.certfp = None
    user.gateway = (ev.gateway, ev.gateway_ip)
    user.refresh_prefix()
    outcome = Outcome()
    outcome.user = user
    return outcome


@applies(UserQuit)
def _user_quit(state: ChatState, ev: UserQuit) -> Outcome:
    killer = state.users.get(ev.killer) if ev.killer else None  # before it leaves: one may KILL oneself
    user = state.users.pop(ev.uid, None)
    if user is None:
        return rejected("gone")
    _uncount_address(state, user.group)
    state.unlist(user)
    outcome = Outcome()
    outcome.user = user
    outcome.target = killer
    if user.registered:
        outcome.audience = list(state.neighbours(user))
        state.user_count -= 1
        node = node_of(user.uid)
        state.node_users[node] -= 1
        if state.node_users[node] <= 0:
            del state.node_users[node]
        for letter in user.modes:
            state.mode_counts[letter] -= 1
        _remember(state, user, user.nick, ev.time)
    outcome.left = list(user.channels.values())
    for channel in outcome.left:
        _leave(state, channel, user)
    for key in user.invited_to:
        inviting = state.channels.get(key)
        if inviting is not None:
            inviting.invited.discard(user.uid)
    if user.key is not None and state.nicks.get(user.key) is user:
        del state.nicks[user.key]
    return outcome


@applies(UserModesSet)
def _user_modes(state: ChatState, ev: UserModesSet) -> Outcome:
    user = state.users.get(ev.uid)
    if user is None:
        return rejected("gone")
    applied: list[tuple[bool, str]] = []
    for adding, letter in ev.changes:
        if adding == (letter in user.modes):
            continue
        if adding:
            user.modes = user.modes | {letter}
        else:
            user.modes = user.modes - {letter}
        if user.registered:
            state.mode_counts[letter] += 1 if adding else -1
        applied.append((adding, letter))
    outcome = Outcome()
    outcome.user = user
    outcome.user_changes = applied
    return outcome


def _user_or_reject(state: ChatState, uid: str) -> tuple[User | None, Outcome]:
    user = state.users.get(uid)
    if user is None:
        return None, rejected("gone")
    outcome = Outcome()
    outcome.user = user
    return user, outcome


@applies(AwaySet)
def _away(state: ChatState, ev: AwaySet) -> Outcome:
    user, outcome = _user_or_reject(state, ev.uid)
    if user is not None:
        if user.away == ev.text:
            outcome.rejected = "unchanged"
        user.away = ev.text
    return outcome


@applies(RealnameSet)
def _realname(state: ChatState, ev: RealnameSet) -> Outcome:
    user, outcome = _user_or_reject(state, ev.uid)
    if user is not None:
        if user.realname == ev.realname:
            outcome.rejected = "unchanged"
        user.realname = ev.realname
    return outcome


@applies(HostSet)
def _host(state: ChatState, ev: HostSet) -> Outcome:
    if ev.for_older_nodes:  # decided here already, where its cause was applied
        return rejected("decided when applied")
    user, outcome = _user_or_reject(state, ev.uid)
    if user is not None:
        outcome.old_prefix = user.prefix
        if (user.username, user.host) == (ev.username, ev.host):
            outcome.rejected = "unchanged"
        elif user.host != ev.host:
            user.vhost_of = None  # an operator's host (CHGHOST) in place of the vhost: it stays through a logout
        user.username, user.host = ev.username, ev.host
        user.refresh_prefix()
    return outcome


def _follow_vhost(state: ChatState, user: User, changed: list[tuple[User, str]]) -> None:
    """Show registered `user` with the vhost of the account it is logged in to, as that
    account stands now; without one, with the host under the vhost it was shown with, if
    any. Decided here, in the network's order, not by the node that emitted the event:
    that node's view may be behind (a HostServ SET on another node racing a logout, a
    vhost changed between a SASL login's welcome and its applying), and every replica
    must end with the same host. `changed` gets the user and its prefix before, when its
    host changed."""
    if not user.registered:
        return  # its welcome (Registered) decides
    account = state.accounts.get(casefold(user.account)) if user.account is not None else None
    shown = user.vhost_of
    if account is not None and account.vhost:
        host = account.vhost
        user.vhost_of = (account.key, shown[1] if shown is not None else user.host)
    elif shown is not None:
        host = shown[1]
        user.vhost_of = None
    else:
        return
    if user.host != host:
        changed.append((user, user.prefix))
        user.host = host
        user.refresh_prefix()


# -- channels ------------------------------------------------------------------------------


def _leave(state: ChatState, channel: Channel, user: User) -> None:
    channel.members.pop(user, None)
    user.channels.pop(channel.key, None)
    if not channel.members and channel.founder is None:  # a registered channel stays, empty
        _forget(state, channel)


def _forget(state: ChatState, channel: Channel) -> None:
    del state.channels[channel.key]
    for uid in channel.invited:
        invitee = state.users.get(uid)
        if invitee is not None:
            invitee.invited_to = invitee.invited_to - {channel.key}


@applies(Joined)
def _joined(state: ChatState, ev: Joined) -> Outcome:
    user = state.users.get(ev.uid)
    if user is None or not user.registered:
        return rejected("gone")
    key = casefold(ev.channel)
    channel = state.channels.get(key)
    if channel is not None and user in channel.members:
        return rejected("already there")
    if channel is not None and ev.key is not None:
        # checked again in the network's order: a +l, +i, +k or +b set first (from another
        # node, say) shuts out a join its node had let through
        refusal = join_refusal(channel, user, ev.key, ev.time)
        if refusal is not None:
            return rejected(" ".join(refusal))  # "<numeric> <text>", for the joiner
    outcome = Outcome()
    outcome.user = user
    if channel is None:
        channel = Channel(ev.channel, ev.time)
        channel.modes.update(("n", "t"))
        state.channels[key] = channel
        # the first joiner, in the network's order, is op; in the default channel not (ev.op)
        channel.members[user] = "o" if ev.op else ""
        outcome.created = True
    else:
        channel.members[user] = channel.registered_status(user)
        if user.uid in channel.invited:  # an invitation lets in once
            channel.invited.discard(user.uid)
            user.invited_to = user.invited_to - {key}
        if channel.join_flood is not None and ev.key is not None:
            outcome.closed = joinflood.count_join(channel, ev.time, ev.lock)
    user.channels[key] = channel
    outcome.channel = channel
    outcome.audience = list(channel.members)
    outcome.time = ev.time
    return outcome


@applies(ChannelRegistered)
def _channel_registered(state: ChatState, ev: ChannelRegistered) -> Outcome:
    channel = state.channels.get(casefold(ev.channel))
    if channel is None or channel.founder is not None or ev.founder not in state.accounts:
        return rejected("cannot")
    channel.founder = ev.founder
    channel.registered_at = ev.time
    outcome = Outcome()
    outcome.channel = channel
    return outcome


@applies(ChannelAccessSet)
def _channel_access(state: ChatState, ev: ChannelAccessSet) -> Outcome:
    channel = state.channels.get(casefold(ev.channel))
    if channel is None or channel.founder is None:
        return rejected("not registered")
    if ev.modes:
        channel.access[ev.account] = "".join(m for m in STATUS_MODES if m in ev.modes)
    elif channel.access.pop(ev.account, None) is None:
        return rejected("not there")
    outcome = Outcome()
    outcome.channel = channel
    return outcome


@applies(ChannelFounderSet)
def _channel_founder(state: ChatState, ev: ChannelFounderSet) -> Outcome:
    channel = state.channels.get(casefold(ev.channel))
    if channel is None or channel.founder is None or ev.founder not in state.accounts:
        return rejected("cannot")
    if ev.by and channel.founder != ev.by:
        return rejected(NOT_ALLOWED)  # given away first, in the network's order
    if ev.limit and ev.founder != channel.founder and state.founded(ev.founder) >= ev.limit:
        return rejected(TOO_MANY)
    outcome = Outcome()
    outcome.old_founder = channel.founder  # whose connections lose +q (handlers/chanserv.py)
    channel.founder = ev.founder
    outcome.channel = channel
    return outcome


@applies(ChannelDropped)
def _channel_dropped(state: ChatState, ev: ChannelDropped) -> Outcome:
    channel = state.channels.get(casefold(ev.channel))
    if channel is None or channel.founder is None:
        return rejected("not registered")
    channel.founder = None
    channel.access.clear()
    outcome = Outcome()
    outcome.channel = channel
    if not channel.members:
        _forget(state, channel)
    return outcome


@applies(ChannelRestored)
def _channel_restored(state: ChatState, ev: ChannelRestored) -> Outcome:
    key = casefold(ev.name)
    if key in state.channels:
        return rejected("exists")
    # Created when it was registered: the earliest time the store keeps of it (as ergo
    # does), never the restart's time, so 329 and LIST's `C` filter keep its age.
    channel = Channel(ev.name, ev.registered_at)
    channel.founder, channel.registered_at = ev.founder, ev.registered_at
    channel.topic, channel.topic_by, channel.topic_time = ev.topic, ev.topic_by, ev.topic_time
    channel.modes.update(ev.modes)
    channel.join_key, channel.limit = ev.join_key, ev.limit
    channel.flood = chanflood.kept(ev.flood)
    channel.join_flood = joinflood.kept(ev.join_flood)
    for letter, mask, set_by, set_at in ev.lists:
        if letter in channel.lists:
            channel.lists[letter].add(mask, set_by, set_at)
    channel.access.update(dict(ev.access))
    state.channels[key] = channel
    outcome = Outcome()
    outcome.channel = channel
    return outcome


def _member_leaves(state: ChatState, uid: str, name: str) -> tuple[User | None, Channel | None, Outcome]:
    user = state.users.get(uid)
    channel = state.channels.get(casefold(name))
    if user is None or channel is None or user not in channel.members:
        return None, None, rejected("not there")
    outcome = Outcome()
    outcome.user = user
    outcome.channel = channel
    outcome.audience = list(channel.members)
    return user, channel, outcome


@applies(Parted)
def _parted(state: ChatState, ev: Parted) -> Outcome:
    user, channel, outcome = _member_leaves(state, ev.uid, ev.channel)
    if user is not None and channel is not None:
        _leave(state, channel, user)
    return outcome


@applies(Kicked)
def _kicked(state: ChatState, ev: Kicked) -> Outcome:
    victim, channel, outcome = _member_leaves(state, ev.target, ev.channel)
    if victim is not None and channel is not None:
        kicker = state.users.get(ev.uid) if ev.uid else None  # "": the server's (+f)
        # checked again in the network's order: a kicker deopped (or gone) first may not
        if ev.uid and (kicker is None or kicker not in channel.members or channel.rank(kicker) < HALFOP or not (
            may_kick(channel, kicker, victim)
        )):
            return rejected(NOT_ALLOWED)
        if not ev.uid and channel.rank(victim) >= HALFOP:  # +f counts no halfop: one made so first stays
            return rejected(NOT_ALLOWED)
        outcome.target = victim
        outcome.user = kicker
        _leave(state, channel, victim)
    return outcome


@applies(TopicSet)
def _topic(state: ChatState, ev: TopicSet) -> Outcome:
    user = state.users.get(ev.uid)
    channel = state.channels.get(casefold(ev.channel))
    if user is None or channel is None:
        return rejected("gone")
    if not may_set_topic(channel, user):  # checked again, in the network's order
        return rejected(NOT_ALLOWED)
    channel.topic = ev.text
    channel.topic_by = user.prefix
    channel.topic_time = ev.time
    outcome = Outcome()
    outcome.user = user
    outcome.channel = channel
    return outcome


def _channel_mode(state: ChatState, channel: Channel, change: ModeChange, set_by: str, when: float) -> bool:
    """Apply one change; True when it changed something."""
    letter, adding, param = change.letter, change.adding, change.param
    if letter in STATUS_MODES:
        target = state.users.get(param or "")
        if target is None or target not in channel.members:
            return False
        return channel.set_status(target, letter, adding)
    if letter in LIST_MODES:
        entries = channel.lists[letter]
        if adding:
            if param is None or entries.find(param) is not None:
                return False
            entries.add(param, set_by, int(when))
            return True
        return param is not None and entries.remove(param) is not None
    if letter == "k":
        new_key = param if adding else None
        if channel.join_key == new_key:
            return False
        channel.join_key = new_key
        return True
    if letter == "l":
        new_limit = int(param) if adding and param is not None else None
        if channel.limit == new_limit:
            return False
        channel.limit = new_limit
        return True
    if letter == "f":
        new_rule = chanflood.kept(param) if adding else None  # checked by the MODE handler (of its version)
        if adding and new_rule is None:
            return False
        if channel.flood == new_rule:
            return False
        channel.flood, channel.flooding = new_rule, None  # a new rule counts afresh
        return True
    if letter == "j":
        join_rule = joinflood.kept(param) if adding else None
        if (adding and join_rule is None) or channel.join_flood == join_rule:
            return False
        # a new rule counts afresh; taken off, a closed channel opens
        channel.join_flood, channel.join_window, channel.join_closed = join_rule, (0.0, 0), (0.0, 0.0)
        return True
    if adding == (letter in channel.modes):
        return False
    if adding:
        channel.modes.add(letter)
    else:
        channel.modes.discard(letter)
    return True


@applies(ChannelModesSet)
def _channel_modes(state: ChatState, ev: ChannelModesSet) -> Outcome:
    channel = state.channels.get(casefold(ev.channel))
    if channel is None:
        return rejected("gone")
    user = state.users.get(ev.uid) if ev.uid else None
    changes = ev.changes
    if user is not None and not ev.override:
        # the handler's rank rules again, in the network's order, all against the channel
        # as it stands before any of them (as the handler checked them)
        changes = tuple(change for change in changes if may_apply_mode(channel, user, change, state.users.get))
        if not changes:
            return rejected(NOT_ALLOWED)
    if ev.owed:
        changes = tuple(change for change in changes if _still_owed(state, channel, change))
        if not changes:
            return rejected("not owed")
    set_by = user.prefix if user is not None else ev.source  # the server's own (+f), or a service's
    outcome = Outcome()
    if len(changes) < len(ev.changes):
        outcome.dropped = True
    outcome.user = user
    outcome.channel = channel
    applied: list[ModeChange] = []
    for change in changes:
        if change.letter in LIST_MODES and change.param is not None and not change.adding:
            found = channel.lists[change.letter].find(change.param)
            if found is not None:  # announce the mask as it was set, not as typed
                change = ModeChange(False, change.letter, found.mask)
        if _channel_mode(state, channel, change, set_by, ev.time):
            applied.append(change)
    outcome.changes = applied
    return outcome


def _still_owed(state: ChatState, channel: Channel, change: ModeChange) -> bool:
    """A status given because the channel owes it (a login, a SET FOUNDER): the member is
    there, and the channel owes it still; one taken because it no longer does (a SET
    FOUNDER's old founder): the channel still owes it no more."""
    member = state.users.get(change.param or "")
    if member is None or member not in channel.members:
        return False
    return (change.letter in channel.registered_status(member)) == change.adding


@applies(Invited)
def _invited(state: ChatState, ev: Invited) -> Outcome:
    user = state.users.get(ev.uid)
    target = state.users.get(ev.target)
    channel = state.channels.get(casefold(ev.channel))
    # What the inviter's node saw may be gone in the network's order (a cluster): the
    # target quit on its own node, the channel was renamed; the inviter is told which,
    # "<numeric> <text>" as its handler would have answered
    if user is None:
        return rejected("gone")
    if target is None:
        return rejected(f"{n.ERR_NOSUCHNICK} No such nick/channel")
    if channel is None:
        return rejected(f"{n.ERR_NOSUCHCHANNEL} No such channel")
    # checked again in the network's order: the inviter deopped or kicked first, the
    # target joined or set +R first (from another node, say)
    refusal = invite_refusal(channel, user, target)
    if refusal is not None:
        return rejected(" ".join(refusal))
    if ev.grants and invitation_admits(channel, user):  # deopped first: a suggestion, not a key
        channel.invited.add(target.uid)
        target.invited_to = target.invited_to | {channel.key}
    outcome = Outcome()
    outcome.user = user
    outcome.target = target
    outcome.channel = channel
    return outcome


@applies(Knocked)
def _knocked(state: ChatState, ev: Knocked) -> Outcome:
    """News for the channel's halfops and ops on every node, unless a knock by the same
    knocker or on the same channel came within the delay (knocks.py)."""
    user = state.users.get(ev.uid)
    channel = state.channels.get(casefold(ev.channel))
    if user is None or channel is None:
        return rejected("gone")
    if "K" in channel.modes:
        return rejected("no knock")
    if not ev.exempt and knocks.refusal(state.knocks, user.uid, channel.key, ev.time, ev.delay) is not None:
        return rejected("too soon")
    knocks.record(state.knocks, user.uid, channel.key, ev.time, ev.delay)
    outcome = Outcome()
    outcome.user = user
    outcome.channel = channel
    return outcome


@applies(ChannelRenamed)
def _renamed(state: ChatState, ev: ChannelRenamed) -> Outcome:
    """The channel moves to its new key everywhere one is kept: the state's index, each
    member's channels, each invitee's invitations."""
    old_key = casefold(ev.channel)
    channel = state.channels.get(old_key)
    if channel is None:
        return rejected("gone")
    new_key = casefold(ev.new_name)
    if new_key != old_key and new_key in state.channels:
        return rejected("taken")  # someone created it first, in the network's order
    if new_key != old_key and channel.founder is not None:
        return rejected("registered")  # registered first: only its case may change
    outcome = Outcome()
    outcome.user = state.users.get(ev.uid)
    outcome.channel = channel
    outcome.old_name = channel.name
    outcome.audience = list(channel.members)
    del state.channels[old_key]
    channel.name = ev.new_name
    channel.key = new_key
    state.channels[new_key] = channel
    for member in channel.members:
        del member.channels[old_key]
        member.channels[new_key] = channel
    for uid in channel.invited:
        invitee = state.users.get(uid)
        if invitee is not None:
            invitee.invited_to = (invitee.invited_to - {old_key}) | {new_key}
    return outcome


# -- metadata ------------------------------------------------------------------------------


def _metadata_holder(state: ChatState, target: str, to_channel: bool) -> tuple[dict[str, str] | None, Outcome]:
    """The metadata of the event's target, with an outcome naming that target."""
    outcome = Outcome()
    if to_channel:
        outcome.channel = state.channels.get(casefold(target))
        return (outcome.channel.metadata if outcome.channel is not None else None), outcome
    user = outcome.target = state.users.get(target)
    if user is None:
        return None, outcome
    if not isinstance(user.metadata, dict):  # the shared empty one: a dict of its own now
        user.metadata = {}
    return user.metadata, outcome


@applies(MetadataSet)
def _metadata_set(state: ChatState, ev: MetadataSet) -> Outcome:
    holder, outcome = _metadata_holder(state, ev.target, ev.to_channel)
    if holder is None:
        return rejected("gone")
    outcome.user = state.users.get(ev.uid)
    old = holder.get(ev.key)
    if ev.value is None:
        if old is not None:
            del holder[ev.key]
            outcome.metadata = [(ev.key, None)]
    elif old != ev.value:
        if old is None and len(holder) >= ev.max_keys:
            return rejected("limit")
        holder[ev.key] = ev.value
        outcome.metadata = [(ev.key, ev.value)]
    return outcome


@applies(MetadataCleared)
def _metadata_cleared(state: ChatState, ev: MetadataCleared) -> Outcome:
    holder, outcome = _metadata_holder(state, ev.target, ev.to_channel)
    if holder is None:
        return rejected("gone")
    outcome.user = state.users.get(ev.uid)
    outcome.metadata = [(key, None) for key in holder]
    holder.clear()
    return outcome


# -- messages ------------------------------------------------------------------------------


@applies(Said)
def _said(state: ChatState, ev: Said) -> Outcome:
    user = state.users.get(ev.uid)
    if user is None:
        return rejected("gone")
    outcome = Outcome()
    # Every field a message's subscribers read is the instance's own, not the class's
    # default: the interpreter (3.11) specializes the reading of an instance's attribute,
    # not of a class attribute read through it, and every message is read so.
    outcome.rejected = None
    outcome.user = user
    outcome.delivered = -1
    if ev.to_channel:
        channel = outcome.channel = state.channels.get(ev.target)
        outcome.target = None
        if channel is None:
            outcome.rejected = "no such channel"
    else:
        outcome.channel = None
        target = outcome.target = state.users.get(ev.target)
        if target is None:
            outcome.rejected = "no such user"
    if ev.command != "TAGMSG":
        user.last_message = ev.time  # idle time: typing notifications do not count
    return outcome


@applies(SaidMultiline)
def _said_multiline(state: ChatState, ev: SaidMultiline) -> Outcome:
    user = state.users.get(ev.uid)
    if user is None:
        return rejected("gone")
    outcome = Outcome()
    outcome.user = user
    if ev.to_channel:
        outcome.channel = state.channels.get(ev.target)
    else:
        outcome.target = state.users.get(ev.target)
    if outcome.channel is None and outcome.target is None:
        outcome.rejected = "no such target"
    user.last_message = ev.time
    return outcome


@applies(SaidToAccount)
def _said_to_account(state: ChatState, ev: SaidToAccount) -> Outcome:
    """Rejected when the sender has gone or logged out, or the account is no more (dropped,
    or its name registered again in another case), or its owner logged in meanwhile (on
    another node: the sender is told 401 and may say it again, to them), since the
    message was sent."""
    user = state.users.get(ev.uid)
    if user is None:
        return rejected("gone")
    key = casefold(ev.account)
    record = state.accounts.get(key)
    if user.account is None or record is None or record.name != ev.account:
        return rejected("no such account")
    if state.logged_in_to(key):
        return rejected("back")
    outcome = Outcome()
    outcome.user = user
    user.last_message = ev.time
    return outcome


@applies(MarkerSet)
def _marker_set(state: ChatState, ev: MarkerSet) -> Outcome:
    """Read markers are kept by the store, not in the state: nothing changes here."""
    return Outcome()


@applies(Redacted)
def _redacted(state: ChatState, ev: Redacted) -> Outcome:
    """History is the store's: the state only names who hears of it."""
    outcome = Outcome()
    outcome.user = state.users.get(ev.uid)
    if ev.to_channel:
        outcome.channel = state.channels.get(ev.target)
    return outcome


@applies(Wallops)
def _wallops(state: ChatState, ev: Wallops) -> Outcome:
    user, outcome = _user_or_reject(state, ev.uid)
    return outcome


# -- failed logins -------------------------------------------------------------------------


@applies(LoginFailed)
def _login_failed(state: ChatState, ev: LoginFailed) -> Outcome:
    """Counted where it happened and on every other node alike (logins.py reads the
    counts). Not in the digest: counts older than the window are forgotten by time."""
    for key in ev.keys:
        state.login_failures.failed(key, ev.time)
    return Outcome()


@applies(LoginFailuresForgotten)
def _login_failures_forgotten(state: ChatState, ev: LoginFailuresForgotten) -> Outcome:
    state.login_failures.succeeded(ev.key)
    return Outcome()


# -- accounts ------------------------------------------------------------------------------


@applies(AccountRegistered)
def _account_registered(state: ChatState, ev: AccountRegistered) -> Outcome:
    if ev.key in state.accounts:
        return rejected("exists")
    if any(fp in state.certfps for fp in ev.certfps):
        return rejected("certificate in use")
    account = Account(ev.key, ev.name, ev.password_hash, ev.scram, ev.email, ev.time, set(ev.certfps), ev.vhost)
    state.accounts[ev.key] = account
    for fp in ev.certfps:
        state.certfps[fp] = account
    if ev.counted:  # the network's count of registrations per address (handlers/nickserv.py)
        state.registrations.failed(f"ip:{ev.counted}", ev.time)
    outcome = Outcome()
    outcome.registration = state.dropped_accounts.pop(ev.key, None)
    return outcome


@applies(AccountCredentialsSet)
def _account_credentials(state: ChatState, ev: AccountCredentialsSet) -> Outcome:
    account = state.accounts.get(ev.key)
    if account is None:
        return rejected("no such account")
    account.password_hash, account.scram = ev.password_hash, ev.scram
    return Outcome()


@applies(AccountHashUpgraded)
def _account_hash_upgraded(state: ChatState, ev: AccountHashUpgraded) -> Outcome:
    account = state.accounts.get(ev.key)
    if account is None:
        return rejected("no such account")
    if account.password_hash != ev.old:
        return rejected("password changed meanwhile")
    account.password_hash = ev.new
    return Outcome()


@applies(AccountCertSet)
def _account_cert(state: ChatState, ev: AccountCertSet) -> Outcome:
    account = state.accounts.get(ev.key)
    if account is None:
        return rejected("no such account")
    holder = state.certfps.get(ev.fingerprint)
    if ev.adding:
        if holder is not None:
            return rejected("already there" if holder is account else "certificate in use")
        account.certfps.add(ev.fingerprint)
        state.certfps[ev.fingerprint] = account
    else:
        if holder is not account:
            return rejected("not there")
        account.certfps.discard(ev.fingerprint)
        del state.certfps[ev.fingerprint]
    return Outcome()


@applies(AccountVhostSet)
def _account_vhost(state: ChatState, ev: AccountVhostSet) -> Outcome:
    account = state.accounts.get(ev.key)
    if account is None:
        return rejected("no such account")
    if account.vhost == ev.vhost:
        return rejected("unchanged")
    account.vhost = ev.vhost
    outcome = Outcome()
    changed: list[tuple[User, str]] = []
    for user in state.logged_in_to(ev.key):
        _follow_vhost(state, user, changed)
    outcome.hosts = changed
    return outcome


def _log_out(state: ChatState, user: User) -> None:
    state.log_out(user)
    if "r" in user.modes:
        user.modes = user.modes - {"r"}
        if user.registered:
            state.mode_counts["r"] -= 1


@applies(AccountDropped)
def _account_dropped(state: ChatState, ev: AccountDropped) -> Outcome:
    account = state.accounts.pop(ev.key, None)
    if account is None:
        return rejected("no such account")
    for fp in account.certfps:
        state.certfps.pop(fp, None)
    dropped = state.dropped_accounts
    dropped[ev.key] = account.registered_at
    if len(dropped) > DROPPED_KEPT:  # the oldest: its delete reached the store long ago
        del dropped[next(iter(dropped))]
    outcome = Outcome()
    outcome.registration = account.registered_at
    affected = [user for user in state.users.values() if user.account is not None and casefold(user.account) == ev.key]
    changed: list[tuple[User, str]] = []
    for user in affected:
        _log_out(state, user)
        _follow_vhost(state, user, changed)
    outcome.audience = affected
    outcome.hosts = changed
    # What the name held goes with it (the store forgets it too): whoever registers the
    # name next inherits neither its channels nor its place on access lists, nor the
    # bans, exceptions and invite exceptions that name it (`a:<name>`; a wildcard such as
    # `a:zo*` names nobody in particular and stays).
    ended: list[Channel] = []
    unregistered: list[Channel] = []
    unlisted: list[tuple[Channel, list[ModeChange]]] = []
    for channel in list(state.channels.values()):
        if channel.founder == ev.key:
            channel.founder = None
            channel.access.clear()
            if not channel.members:
                _forget(state, channel)
                ended.append(channel)
                continue
            unregistered.append(channel)
        else:
            channel.access.pop(ev.key, None)
        removed = [
            ModeChange(False, letter, entry.mask)
            for letter in LIST_MODES
            for entry in channel.lists[letter].remove_account(ev.key)
        ]
        if removed:
            unlisted.append((channel, removed))
    outcome.left = ended
    outcome.unregistered = unregistered
    outcome.unlisted = unlisted
    return outcome


@applies(LoggedIn)
def _logged_in(state: ChatState, ev: LoggedIn) -> Outcome:
    user = state.users.get(ev.uid)
    account = state.accounts.get(ev.key)
    if user is None or account is None:
        return rejected("gone")
    outcome = Outcome()
    outcome.user = user
    outcome.old_nick = user.account or ""  # the account it was logged in to before, if any
    outcome.time = ev.time  # as applied: the user's own ACCOUNT line follows its 900 (logins.py)
    state.log_in(user, account.name)
    if "r" not in user.modes:
        user.modes = user.modes | {"r"}
        if user.registered:
            state.mode_counts["r"] += 1
    changed: list[tuple[User, str]] = []
    _follow_vhost(state, user, changed)
    outcome.hosts = changed
    return outcome


@applies(LoggedOut)
def _logged_out(state: ChatState, ev: LoggedOut) -> Outcome:
    user = state.users.get(ev.uid)
    if user is None or user.account is None:
        return rejected("not logged in")
    outcome = Outcome()
    outcome.user = user
    _log_out(state, user)
    changed: list[tuple[User, str]] = []
    _follow_vhost(state, user, changed)
    outcome.hosts = changed
    return outcome


# -- server bans ---------------------------------------------------------------------------


@applies(KlineAdded)
def _kline_added(state: ChatState, ev: KlineAdded) -> Outcome:
    replaced = state.klines.add(Kline(ev.mask, ev.reason, ev.set_by, ev.time, ev.expires))
    outcome = Outcome()
    if replaced is not None and replaced.mask != ev.mask:
        outcome.old_name = replaced.mask  # the store keeps masks as written: that row goes
    return outcome


@applies(KlineRemoved)
def _kline_removed(state: ChatState, ev: KlineRemoved) -> Outcome:
    if state.klines.remove(ev.mask, ev.time) is None:
        return rejected("no such K-line")
    return Outcome()



# -- nodes of a cluster ----------------------------------------------------------------------


@applies(NodeUp)
def _node_up(state: ChatState, ev: NodeUp) -> Outcome:
    if ev.node in state.nodes:
        return rejected("known")
    state.nodes[ev.node] = ev.name
    return Outcome()


@applies(NodeLost)
def _node_lost(state: ChatState, ev: NodeLost) -> Outcome:
    """Its users have quit already (see NodeLost); what is left is to forget the node."""
    if state.nodes.pop(ev.node, None) is None:
        return rejected("unknown")
    return Outcome()


@applies(DigestAsked)
def _digest_asked(state: ChatState, ev: DigestAsked) -> Outcome:
    """Nothing changes: the digest is taken where the question stands in the order."""
    return Outcome()


@applies(GhostProbed)
def _ghost_probed(state: ChatState, ev: GhostProbed) -> Outcome:
    """Nothing changes: the holder's node asks it (ghosts.py)."""
    return Outcome()


@applies(Synced)
def _synced(state: ChatState, ev: Synced) -> Outcome:
    return Outcome()


@applies(DigestGiven)
def _digest_given(state: ChatState, ev: DigestGiven) -> Outcome:
    return Outcome()
