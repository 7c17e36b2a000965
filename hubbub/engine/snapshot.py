"""A node's replica of the chat state as plain data, and back.

A node that joins a running cluster, or one that fell too far behind to catch up
from the shared log, starts from a snapshot that another node wrote to Redis, then
applies the log from the position the snapshot was taken at. So that the replica it
builds is equal to the others' (their `digest()` says so), everything that is chat
state is kept, in the order it is held in (NAMES lists members in joining order; a
list mode's entries keep theirs). What can be derived (the nick index, prefixes,
each user's channels) is derived again, in the order the other replicas hold it: WHO
walks the nick index (in the order nicks were claimed) and WHOIS lists a user's
channels in the order they were joined, so a node started from a snapshot must answer
them in the same order. What is this node's alone (connections, the delivery index
`Channel.local`) is not chat state and is not here.

Those two orders travel beside the rest (`nicks`, `user_channels`) rather than inside
the user records, and so do the WebIRC gateways users came through (`gateways`) and
the accounts' vhosts users are shown with (`shown_vhosts`), and the format number
stays: a node of the previous version reads such a snapshot as before (it unpacks user
records of a fixed length and ignores keys it does not know), and a snapshot it wrote,
without them, is read here with the orders derived as that version did (and no
gateways: WHOIS of those users then names none; nor which vhost a user is shown with:
a logout on a node of this version leaves such a user its vhost until it reconnects). A mixed
network during a rolling upgrade therefore keeps working; only the old nodes' answers
keep their old order.
"""

from __future__ import annotations

from typing import Any

from hubbub.server import chanflood, joinflood
from hubbub.server.account import Account
from hubbub.server.channel import Channel
from hubbub.server.klines import Kline, Klines
from hubbub.server.state import ChatState
from hubbub.server.user import User, node_of
from hubbub.server.whowas import WhowasEntry, WhowasHistory

FORMAT = 2  # bumped when the shape changes: a node refuses a snapshot it cannot read
# The failed logins, registrations and connections per address a snapshot carries: those
# of the keys counted last. Counts older than their window count for nothing, and a flood
# of addresses each counted once must not make every snapshot megabytes long.
COUNTS_KEPT = 10_000


def dump(state: ChatState) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "created": state.created,
        "user_count": state.user_count,
        "peak_users": state.peak_users,
        "mode_counts": {k: v for k, v in state.mode_counts.items() if v},
        "nodes": dict(state.nodes),
        "clock_us": state.clock_us,
        "users": [_user(u) for u in state.users.values()],
        # what users count under for the per-address limit, where not their address (an
        # IPv6 network): apart, so that a node of the version before reads the rest
        "groups": {u.uid: u.group for u in state.users.values() if u.group != u.ip},
        "nicks": [u.uid for u in state.nicks.values()],
        # only where the order says something: a user in one channel or none derives it
        "user_channels": {u.uid: list(u.channels) for u in state.users.values() if len(u.channels) > 1},
        "gateways": {u.uid: list(u.gateway) for u in state.users.values() if u.gateway is not None},
        # who is shown with an account's vhost, and the host under it (apply.py takes it
        # back at a logout): apart, as the groups are
        "shown_vhosts": {u.uid: list(u.vhost_of) for u in state.users.values() if u.vhost_of is not None},
        "accounts": [
            [a.key, a.name, a.password_hash, a.scram, a.email, a.registered_at, sorted(a.certfps)]
            for a in state.accounts.values()
        ],
        # apart, as the groups are, so that a node of the version before reads the rest
        "vhosts": {a.key: a.vhost for a in state.accounts.values() if a.vhost},
        "channels": [_channel(c) for c in state.channels.values()],
        "klines": [[k.mask, k.reason, k.set_by, k.set_at, k.expires] for k in state.klines.all()],
        "knocks": dict(state.knocks),
        "login_failures": state.login_failures.recent(COUNTS_KEPT),
        "registrations": state.registrations.recent(COUNTS_KEPT),
        "connects": state.connects.recent(COUNTS_KEPT),
        "dropped_accounts": dict(state.dropped_accounts),
        "whowas": {
            "limit": state.whowas.limit,
            "entries": [[e.nick, e.username, e.host, e.realname, e.server, e.when] for e in state.whowas.entries()],
            "ips": [e.ip for e in state.whowas.entries()],  # apart: a node of the version before reads the rest
        },
    }


def _user(u: User) -> list[Any]:
    return [u.uid, u.nick, u.key, u.username, u.host, u.ip, u.realname, u.account, sorted(u.modes), u.away,
            u.registered, u.connected_at, u.signon, u.last_message, u.secure, u.certfp, sorted(u.invited_to),
            list(u.metadata.items())]  # fmt: skip


def _channel(c: Channel) -> dict[str, Any]:
    return {
        "name": c.name, "created": c.created, "members": [[u.uid, s] for u, s in c.members.items()],
        "topic": [c.topic, c.topic_by, c.topic_time], "modes": sorted(c.modes), "join_key": c.join_key,
        "limit": c.limit, "lists": {k: [[e.mask, e.set_by, e.set_at] for e in v.entries] for k, v in c.lists.items()},
        "invited": sorted(c.invited), "founder": c.founder, "registered_at": c.registered_at,
        "access": c.access, "metadata": list(c.metadata.items()),
        "flood": c.flood.param() if c.flood is not None else None,
        "join_flood": c.join_flood.param() if c.join_flood is not None else None,
        "join_window": list(c.join_window), "join_closed": list(c.join_closed),
    }  # fmt: skip


def load_into(state: ChatState, data: dict[str, Any]) -> None:
    """Make `state` hold what `data` describes, in place: everything that holds the
    state object (services, subscribers) sees the new contents. Raises ValueError for
    a snapshot of another format."""
    if data.get("format") != FORMAT:
        raise ValueError(f"snapshot format {data.get('format')!r}, this node reads {FORMAT}")
    state.created = data["created"]
    state.user_count = data["user_count"]
    state.peak_users = data["peak_users"]
    # cleared and refilled rather than replaced: nothing keeps a stale reference
    state.mode_counts.clear()
    state.mode_counts.update(data["mode_counts"])
    state.nodes.clear()
    state.nodes.update(data["nodes"])
    state.clock_us = int(data.get("clock_us", 0))  # absent: written by a node of a version before it
    state.knocks.clear()
    state.knocks.update(data.get("knocks", {}))  # absent: written by a node of a version before it
    state.dropped_accounts.clear()
    state.dropped_accounts.update(data.get("dropped_accounts", {}))  # absent: likewise
    state.login_failures.restore(data.get("login_failures", {}))  # absent: likewise
    state.registrations.restore(data.get("registrations", {}))  # absent: likewise
    state.connects.restore(data.get("connects", {}))  # absent: likewise
    state.users.clear()
    state.online.clear()
    state.nicks.clear()
    state.per_ip.clear()
    state.node_users.clear()
    groups: dict[str, str] = data.get("groups", {})  # absent: written by a node of a version before it
    nick_order: list[str] | None = data.get("nicks")  # None: written by a node of the previous version
    for (uid, nick, key, username, host, ip, realname, account, modes, away, registered, connected_at, signon,
         last_message, secure, certfp, invited_to, metadata) in data["users"]:  # fmt: skip
        user = User(uid, ip, host, secure, connected_at, certfp)
        user.nick, user.key, user.username, user.realname = nick, key, username, realname
        user.modes, user.away, user.registered = frozenset(modes), away, registered
        if account is not None:
            state.log_in(user, account)
        user.signon, user.last_message, user.invited_to = signon, last_message, frozenset(invited_to)
        if metadata:
            user.metadata = dict(metadata)
        user.refresh_prefix()
        state.users[uid] = user
        user.group = groups.get(uid, ip)
        state.per_ip[user.group] += 1
        if registered:
            state.node_users[node_of(uid)] += 1
        if key is not None and nick_order is None:
            state.nicks[key] = user
    for uid in nick_order or ():
        user = state.users[uid]
        assert user.key is not None
        state.nicks[user.key] = user
    state.accounts.clear()
    state.certfps.clear()
    vhosts = data.get("vhosts", {})  # a snapshot of an older node has none
    for key, name, password_hash, scram, email, registered_at, certfps in data["accounts"]:
        account = Account(key, name, password_hash, scram, email, registered_at, set(certfps), vhosts.get(key, ""))
        state.accounts[key] = account
        for fp in certfps:
            state.certfps[fp] = account
    state.channels.clear()
    for c in data["channels"]:
        channel = Channel(c["name"], c["created"])
        for uid, status in c["members"]:
            member = state.users[uid]
            channel.members[member] = status
            member.channels[channel.key] = channel
        channel.topic, channel.topic_by, channel.topic_time = c["topic"]
        channel.modes = set(c["modes"])
        channel.join_key, channel.limit = c["join_key"], c["limit"]
        flood = c.get("flood")  # absent: written by a node of a version before it
        channel.flood = chanflood.kept(flood)
        channel.join_flood = joinflood.kept(c.get("join_flood"))  # absent: likewise
        start, joins = c.get("join_window", (0.0, 0))
        closed_at, opens_at = c.get("join_closed", (0.0, 0.0))
        channel.join_window, channel.join_closed = (start, joins), (closed_at, opens_at)
        for letter, entries in c["lists"].items():
            for mask, set_by, set_at in entries:
                channel.lists[letter].add(mask, set_by, set_at)
        channel.invited = set(c["invited"])
        channel.founder, channel.registered_at, channel.access = c["founder"], c["registered_at"], dict(c["access"])
        channel.metadata = dict(c["metadata"])
        state.channels[channel.key] = channel
    for uid, keys in data.get("user_channels", {}).items():
        user = state.users[uid]
        joined = user.channels
        user.channels = {key: joined[key] for key in keys}
    for uid, (name, address) in data.get("gateways", {}).items():
        state.users[uid].gateway = (name, address)
    # absent: written by a node of a version before it, which decides no host when applying
    for uid, (key, under) in data.get("shown_vhosts", {}).items():
        state.users[uid].vhost_of = (key, under)
    state.klines = Klines()
    for mask, reason, set_by, set_at, expires in data["klines"]:
        state.klines.add(Kline(mask, reason, set_by, set_at, expires))
    whowas = data["whowas"]
    state.whowas = WhowasHistory(whowas["limit"])
    entries = whowas["entries"]
    ips = whowas.get("ips") or [""] * len(entries)  # a snapshot of an older node has none
    for (nick, username, host, realname, server, when), ip in zip(entries, ips, strict=True):
        state.whowas.record(WhowasEntry(nick, username, host, realname, server, when, ip))
