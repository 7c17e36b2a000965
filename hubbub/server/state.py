"""The chat state: users, their nicks, channels, K-lines, WHOWAS and the counters LUSERS
reports. One node's replica of the network.

Nothing here changes by itself: apply.py is the one place that changes it, one event
at a time, so that two copies fed the same events in the same order are equal (their
`digest()` says so). Everything else reads it through the lookups below.
"""

from __future__ import annotations

import hashlib
from collections import Counter

from hubbub.irc.casemap import casefold
from hubbub.server.account import Account
from hubbub.server.channel import Channel
from hubbub.server.klines import Klines
from hubbub.server.throttle import FailureThrottle
from hubbub.server.user import User
from hubbub.server.whowas import WhowasHistory


class ChatState:
    def __init__(self, created: float, whowas_entries: int = 1000) -> None:
        self.created = created
        self.users: dict[str, User] = {}  # uid -> user, registered or still registering
        self.nicks: dict[str, User] = {}  # casefolded nick -> the user holding it
        self.channels: dict[str, Channel] = {}  # casefolded name -> channel
        self.klines = Klines()
        self.accounts: dict[str, Account] = {}  # casefolded name -> account
        self.certfps: dict[str, Account] = {}  # TLS client-certificate fingerprint -> its account
        # Account key -> uid -> the users logged in to it (registering ones too): asked for
        # every private message (its copies to the account's other devices, announce.py;
        # one to an absent nick, handlers/messaging.py kept_for) and read marker, where a
        # walk over every user would make each node do O(users) work per line. Derived
        # from the users: not in the digest.
        self.online: dict[str, dict[str, User]] = {}
        self.whowas = WhowasHistory(whowas_entries)
        self.user_count = 0  # registered users
        self.peak_users = 0
        self.mode_counts: Counter[str] = Counter()  # registered users with each user mode
        self.per_ip: Counter[str] = Counter()  # users (registered or not) from each address
        self.nodes: dict[str, str] = {}  # a cluster's live nodes: incarnation -> server name
        self.node_users: Counter[str] = Counter()  # registered users on each node (LUSERS)
        # The time of the last event shown with a time and a msgid, in microseconds: no
        # later one is stamped at or before it (apply.in_time_order).
        self.clock_us = 0
        self.knocks: dict[str, float] = {}  # the last KNOCKs' times, by knocker and channel (knocks.py)
        # The registration (its time) of each name whose account was dropped, until the name
        # is registered again: the new registration's write removes that one's row first,
        # should the drop's own write not have reached a shared store yet (store/accounts.py).
        # Like the knocks, it decides no reply, and is not in the digest. The newest
        # apply.DROPPED_KEPT are kept, in the order the drops were applied.
        self.dropped_accounts: dict[str, float] = {}
        # Failed logins lately, by address and account pair, address, account (logins.py)
        # and, for OPER, WEBIRC and the server's password, address (`ip:`, `pass:`): the
        # whole network's, so that a guesser meets the same limits on every node. Like the
        # knocks, not in the digest; its limit and window are the configuration's
        # (accounts.login_failures and login_window, set by new_state and REHASH).
        self.login_failures = FailureThrottle(5, 60.0)
        # Accounts registered lately by address, the network's (AccountRegistered.counted), as
        # the failed logins are (accounts.register_limit and register_window, handlers/nickserv.py).
        self.registrations = FailureThrottle(5, 3600.0)
        # Connections accepted lately by address in a cluster (each Connected its node paced,
        # under its group), the network's: limits.connects_per_ip within connect_window
        # (runtime/listeners.py asks). One server alone leaves it empty: its admission counts.
        self.connects = FailureThrottle(0, 60.0)

    # -- lookups -------------------------------------------------------------------------

    def find_user(self, nick: str) -> User | None:
        """The registered user known by `nick`."""
        user = self.nicks.get(casefold(nick))
        return user if user is not None and user.registered else None

    def logged_in_to(self, account: str) -> list[User]:
        """The registered users logged in to `account` (a key), on every node."""
        return [u for u in self.online.get(account, {}).values() if u.registered]

    def log_in(self, user: User, name: str) -> None:
        """`user` is now logged in to the account `name` (and out of any other)."""
        self.log_out(user)
        user.account = name
        self.online.setdefault(casefold(name), {})[user.uid] = user

    def log_out(self, user: User) -> None:
        """`user` is logged in to no account now."""
        self.unlist(user)
        user.account = None

    def unlist(self, user: User) -> None:
        """`user` (quitting) is online as its account no more; `user.account` stays, for
        those who announce and record the quit."""
        if user.account is None:
            return
        key = casefold(user.account)
        users = self.online.get(key)
        if users is not None:
            users.pop(user.uid, None)
            if not users:
                del self.online[key]

    def founded(self, account: str) -> int:
        """How many registered channels `account` (a key) is the founder of."""
        return sum(1 for channel in self.channels.values() if channel.founder == account)

    def nick_holder(self, nick: str) -> User | None:
        """Whoever holds `nick`, registered or not."""
        return self.nicks.get(casefold(nick))

    def nick_taken(self, nick: str, by: User | None = None) -> bool:
        holder = self.nicks.get(casefold(nick))
        return holder is not None and holder is not by

    def find_channel(self, name: str) -> Channel | None:
        return self.channels.get(casefold(name))

    def neighbours(self, user: User) -> set[User]:
        """Everyone who shares at least one channel with `user`, `user` excluded."""
        seen: set[User] = set()
        for channel in user.channels.values():
            seen.update(channel.members)
        seen.discard(user)
        return seen

    def registered_users(self) -> list[User]:
        return [user for user in self.users.values() if user.registered]

    # -- comparing replicas --------------------------------------------------------------

    def digest(self) -> str:
        """A hash of everything that is chat state: two replicas that applied the same
        events compare equal (what the cluster's checks compare). Most of it is hashed in a
        canonical order; the orders that replies show are hashed as held, since replicas
        that applied the same events hold them alike and a replica that does not would
        answer differently: the nick index (WHO walks it), each user's channels (WHOIS)
        and each channel's members (NAMES)."""
        h = hashlib.sha256()

        def put(*parts: object) -> None:
            h.update(repr(parts).encode())
            h.update(b"\n")

        put("nodes", sorted(self.nodes.items()))
        put("counts", self.user_count, self.peak_users, sorted((k, v) for k, v in self.mode_counts.items() if v))
        for uid in sorted(self.users):
            u = self.users[uid]
            shown = [u.vhost_of] if u.vhost_of is not None else []  # none: the digest of a node of the version before
            put("user", uid, u.nick, u.key, u.username, u.host, u.ip, u.realname, u.account,
                sorted(u.modes), u.away, u.registered, u.signon, u.last_message, u.secure, u.certfp,
                list(u.channels), sorted(u.invited_to), sorted(u.metadata.items()), u.gateway, *shown)  # fmt: skip
        put("nicks", [(k, u.uid) for k, u in self.nicks.items()])
        put("clock", self.clock_us)
        for key in sorted(self.accounts):
            a = self.accounts[key]
            vhost = [a.vhost] if a.vhost else []  # none: the digest of a node of the version before
            put("account", key, a.name, a.password_hash, a.scram, a.email, a.registered_at, sorted(a.certfps), *vhost)
        for key in sorted(self.channels):
            c = self.channels[key]
            lists = [
                (letter, [(e.mask, e.set_by, e.set_at) for e in c.lists[letter].entries]) for letter in sorted(c.lists)
            ]
            members = [(u.uid, s) for u, s in c.members.items()]
            put("channel", key, c.name, c.created, c.topic, c.topic_by, c.topic_time, sorted(c.modes),
                c.join_key, c.limit, c.flood, c.join_flood, c.join_window, c.join_closed,
                sorted(c.invited), members, lists, c.founder, c.registered_at,
                sorted(c.access.items()), sorted(c.metadata.items()))  # fmt: skip
        for kline in sorted(self.klines.all(), key=lambda k: k.mask):
            put("kline", kline.mask, kline.reason, kline.set_by, kline.set_at, kline.expires)
        put("whowas", [(e.nick, e.username, e.host, e.realname, e.when) for e in self.whowas.entries()])
        return h.hexdigest()
