"""What can happen in the chat, as small frozen values.

Every change to the chat state is one of these events. A handler checks what it must
against the current state and emits events; the engine (engine.py) orders them,
applies them (apply.py) and hands them to its subscribers: local delivery, and later
the store, metrics and other nodes. An event carries everything applying it needs,
its time and msgid included, so applying is deterministic: two copies of the state
fed the same events in the same order end up equal.

Users are named by uid, never by nick (a nick can change between an event's creation
and its application elsewhere). Channels are named by the name the event was made
with; applying casefolds it. Fields are plain values, so an event can be stored or
sent to another node as it is (`to_record` / `from_record`); its kind is its type's
name. Events are named tuples: immutable, and cheap to make on the message path (a
frozen dataclass costs several times more per message).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, NamedTuple, TypeVar, cast

from hubbub.speedups import compiled

T = TypeVar("T")
EVENT_TYPES: dict[str, type[Any]] = {}


def _event(cls: type[T]) -> type[T]:
    EVENT_TYPES[cls.__name__] = cls
    return cls


# -- users ---------------------------------------------------------------------------------


@_event
class Connected(NamedTuple):
    """A connection was accepted: a user exists, not registered yet. Rejected when the
    network holds `ip_limit` users from that address already (0: not counted here).
    `certfp`: the fingerprint of the TLS client certificate it presented, if any."""

    uid: str
    ip: str
    host: str
    secure: bool
    time: float
    ip_limit: int = 0
    certfp: str | None = None
    group: str = ""  # what `ip` counts under, when not itself (server/addresses.py: an IPv6 network)
    # in a cluster, counted by every node for the pace of connections from its address
    # (limits.connects_per_ip); never on one server alone, whose admission counts them all
    paced: bool = False


@_event
class NickSet(NamedTuple):
    """A nick is claimed (before registration) or changed. Rejected if taken meanwhile."""

    uid: str
    nick: str
    time: float
    msgid: str


@_event
class Registered(NamedTuple):
    """Registration completed: the user is visible to everyone from now on."""

    uid: str
    username: str
    realname: str
    time: float
    # The virtual host of the account it logged in to while registering, as its node saw
    # it: for nodes of the version before. This version decides it when applying (the
    # vhost of the account as it is then), and ignores this.
    host: str = ""


@_event
class UserQuit(NamedTuple):
    """The user left (QUIT, a dropped connection, a KILL...): gone from everything."""

    uid: str
    reason: str
    time: float
    msgid: str
    killer: str = ""  # uid of the operator who KILLed, if any
    kill_text: str = ""  # the reason the KILL gave, shown to its victim
    # the time until which its user was surely shown everything, so that a rejoin (on
    # any node) replays only what came after: a node's clean stop (NodeLost.seen), or a
    # connection that died on the network (departures.received_until); 0.0: not known
    seen: float = 0.0
    # its connection fetched what it missed itself (draft/chathistory: a web page, not
    # irssi), as its node knew: its quit is no point to replay private messages from to
    # the account's clients that cannot (departures.py). Nodes of the version before
    # leave it out: False, every quit a point, as then.
    reads_history: bool = False


@_event
class GhostProbed(NamedTuple):
    """A login to an account was refused a nick that a connection logged in to the same
    account holds: that connection's node asks it whether it is still there (a PING),
    and drops it if it stays silent, or says it answered (ghosts.py). Nothing in the
    state changes."""

    uid: str  # the holder
    asker: str
    time: float
    # said by the holder's node once the holder answered: the asker is told at once
    answered: bool = False


@_event
class UserModesSet(NamedTuple):
    uid: str
    changes: tuple[tuple[bool, str], ...]  # (adding, letter), already checked
    time: float


@_event
class AwaySet(NamedTuple):
    uid: str
    text: str | None  # None: back
    time: float
    msgid: str


@_event
class RealnameSet(NamedTuple):
    uid: str
    realname: str
    time: float
    msgid: str


@_event
class HostSet(NamedTuple):
    """A user shown with another host (CHGHOST). A host that comes with an account's
    vhost is decided where the event that brings it (a login, a logout, the vhost's
    change) is applied (apply.py); `for_older_nodes` marks the HostSet said again for
    nodes of the version before, which apply every HostSet as it comes: rejected here."""

    uid: str
    username: str
    host: str
    time: float
    msgid: str
    for_older_nodes: bool = False


@_event
class AddressSet(NamedTuple):
    """A WebIRC gateway named the address of the user it connects (before registration):
    the user takes `ip`, `host` and `secure`, and counts against `ip` instead of the
    gateway's address. Rejected when the network holds `ip_limit` users from `ip` already
    (0: not counted here), and once the user is registered. `gateway`: the gateway's name
    and its own address, which operators see in WHOIS. The gateway's TLS client
    certificate, if any, is the gateway's, not the user's: the user has none from now on."""

    uid: str
    ip: str
    host: str
    secure: bool
    gateway: str
    gateway_ip: str
    time: float
    ip_limit: int = 0
    group: str = ""  # as Connected's


# -- channels ------------------------------------------------------------------------------


@_event
class Joined(NamedTuple):
    """Join, creating the channel (with the joiner as op, if `op`) when it does not exist."""

    uid: str
    channel: str
    time: float
    msgid: str
    # The key the joiner gave ("" for none): the channel's rules (+b, +i, +k, +l...) are
    # checked again when applied, in the network's order, not only against the joiner's
    # node's view. None: not checked then (the events of a version before this one).
    key: str | None = None
    lock: float = 60.0  # how long a +j channel this join fills closes (limits.join_lock of its node)
    # Whether a join that creates the channel makes the joiner its op: not for the server's
    # default channel (server.default_channel_creator_op), decided by the joiner's node
    # from its configuration, so that applying needs none and every node applies it alike.
    op: bool = True


@_event
class Parted(NamedTuple):
    uid: str
    channel: str
    reason: str | None
    time: float
    msgid: str


@_event
class Kicked(NamedTuple):
    uid: str  # the kicker (whose rank is checked again when applied, in the network's order); "": the server
    target: str  # uid of the member removed
    channel: str
    reason: str
    time: float
    msgid: str
    source: str = ""  # the server that kicked (uid ""): every node shows the same name


@_event
class TopicSet(NamedTuple):
    uid: str
    channel: str
    text: str
    time: float
    msgid: str


class ModeChange(NamedTuple):
    """One channel mode change; for a status letter `param` is the target's uid."""

    adding: bool
    letter: str
    param: str | None = None


@_event
class ChannelModesSet(NamedTuple):
    """Mode changes checked by the MODE handler; applying keeps those still meaningful."""

    uid: str  # who changed them; "" for the server or a service
    channel: str
    changes: tuple[ModeChange, ...]
    time: float
    msgid: str
    source: str = ""  # shown as the changer when uid is "" (a service); the server's name otherwise
    # SAMODE: no rank needed. Otherwise the changer's rank is checked again when applied,
    # in the network's order (a deop ordered first takes the right away)
    override: bool = False
    # status a registered channel owes an account, given at a login or a SET FOUNDER: only
    # what it still owes when applied (a SET FOUNDER, an AMODE or a DROP ordered first
    # changes that); a status taken (-q from a SET FOUNDER's old founder): only if the
    # channel owes it no more when applied (a SET FOUNDER back to it ordered first)
    owed: bool = False


@_event
class Invited(NamedTuple):
    uid: str  # the inviter (its membership and rank checked again when applied, in the network's order)
    target: str  # uid
    channel: str
    # lets the target past +i, +b, +k and +l once; when applied, only if the inviter is
    # still a halfop or above (a deop ordered first makes it a suggestion)
    grants: bool
    time: float
    msgid: str


@_event
class Knocked(NamedTuple):
    """KNOCK: someone outside a closed channel asks its halfops and ops to be let in.
    Rejected when the knocker, or the channel, had one within `delay` seconds (knocks.py),
    unless `exempt` (an IRC operator's)."""

    uid: str
    channel: str
    reason: str
    time: float
    msgid: str
    delay: float = 0.0
    exempt: bool = False


@_event
class ChannelRenamed(NamedTuple):
    """A channel takes a new name and keeps everything else (draft/channel-rename).
    Rejected if the new name was taken meanwhile."""

    uid: str
    channel: str  # the name it had
    new_name: str
    reason: str
    time: float
    msgid: str


# -- metadata ------------------------------------------------------------------------------


@_event
class MetadataSet(NamedTuple):
    """A metadata key set on a user or a channel, or removed (value None)."""

    uid: str  # who set it
    target: str  # a user's uid, or a channel's name
    to_channel: bool
    key: str
    value: str | None
    max_keys: int  # the limit in force: a new key past it is rejected
    time: float
    msgid: str


@_event
class MetadataCleared(NamedTuple):
    """Every metadata key of a user or a channel removed."""

    uid: str
    target: str  # a user's uid, or a channel's name
    to_channel: bool
    time: float
    msgid: str


@_event
class ChannelRegistered(NamedTuple):
    """ChanServ: the channel now belongs to the account `founder` (a key)."""

    uid: str
    channel: str
    founder: str
    time: float


@_event
class ChannelAccessSet(NamedTuple):
    """ChanServ AMODE: the status letters `account` gets on joining; "" to take it off the list."""

    channel: str
    account: str
    modes: str


@_event
class ChannelFounderSet(NamedTuple):
    """A registered channel given to another account (ChanServ SET FOUNDER). `by`: the
    account that gave it, which must found it still when this is applied, and `limit`:
    how many channels the heir may found (`accounts.max_channels`), counted again then.
    In a cluster the giving node checked both on its replica, which may stand behind the
    log (another transfer, on another node, ordered first). An older node's record has
    neither ("", 0): nothing is checked again."""

    channel: str
    founder: str
    by: str = ""
    limit: int = 0


@_event
class ChannelDropped(NamedTuple):
    """Unregistered: its founder and access list go; an empty channel goes with them."""

    channel: str
    time: float


@_event
class ChannelRestored(NamedTuple):
    """A registered channel as the store kept it, made again at start-up."""

    name: str
    founder: str
    registered_at: float
    topic: str
    topic_by: str
    topic_time: float
    modes: str
    join_key: str | None
    limit: int | None
    lists: tuple[tuple[str, str, str, int], ...]
    access: tuple[tuple[str, str], ...]
    flood: str | None = None  # +f
    join_flood: str | None = None  # +j


# -- messages ------------------------------------------------------------------------------


@_event
class Said(NamedTuple):
    """A PRIVMSG, NOTICE or TAGMSG to a channel or a user (by uid)."""

    uid: str
    command: str
    target: str  # a channel's key (its casefolded name), or a user's uid
    to_channel: bool
    text: str  # "" for TAGMSG
    tags: dict[str, str] | None  # client-only tags to relay
    time: float
    msgid: str
    status: str = ""  # STATUSMSG: to the channel's members of this prefix's rank and above


# Said(*fields), made as NamedTuple's own __new__ makes it (tuple.__new__ with the fields)
# without calling that Python function: every message makes one. All nine fields, in order.
# Where the compiled module is built, by its new_tuple: a partial of tuple.__new__ (a slot
# wrapper, not callable by vectorcall) copies its arguments at each call, and
# tuple.__new__ the fields once more.
new_said = cast(
    "Callable[[tuple[Any, ...]], Said]",
    partial(tuple.__new__, Said) if compiled is None else partial(compiled.new_tuple, Said),
)


@_event
class SaidMultiline(NamedTuple):
    """A draft/multiline PRIVMSG or NOTICE: several lines, one message."""

    uid: str
    target: str  # a channel's key, or a user's uid
    to_channel: bool
    lines: tuple[tuple[str, bool], ...]  # (text, concatenated to the line before)
    tags: dict[str, str] | None
    time: float
    msgid: str
    status: str = ""  # STATUSMSG, as for Said
    command: str = "PRIVMSG"  # or NOTICE; last, so that a record made before it was (a PRIVMSG) still reads


@_event
class SaidToAccount(NamedTuple):
    """A PRIVMSG to an account nobody is connected under: kept in the private history of
    the two accounts, where its owner finds it when back (CHATHISTORY TARGETS names the
    conversation); heard now by the sender alone (its echo). Only from a logged-in user."""

    uid: str
    account: str  # the account's name as registered
    text: str  # "" for a draft/multiline message, whose `lines` say it
    tags: dict[str, str] | None
    time: float
    msgid: str
    lines: tuple[tuple[str, bool], ...] = ()  # a multiline message's, as SaidMultiline's


@_event
class MarkerSet(NamedTuple):
    """draft/read-marker: the account has read `target` (a history key) up to `time`."""

    account: str
    target: str
    shown: str  # how the conversation is named to that account (a channel, the other nick)
    time: float


@_event
class Redacted(NamedTuple):
    """draft/message-redaction: a stored message deleted, for everyone."""

    uid: str
    target: str  # the history key
    shown: str
    to_channel: bool
    redacted: str  # the msgid deleted
    reason: str
    time: float
    msgid: str
    other: str = ""  # a private conversation: the other party's account


@_event
class Wallops(NamedTuple):
    uid: str
    text: str
    time: float
    msgid: str


# -- failed logins -------------------------------------------------------------------------


@_event
class LoginFailed(NamedTuple):
    """A wrong password (an account's, OPER's, WEBIRC's or the server's), counted against
    each of `keys` (logins.py names them) on every node: a guesser spreading tries over
    a cluster's nodes meets the limits of one server. Decides no reply when applied;
    the handlers read the counts before checking a password."""

    keys: tuple[str, ...]
    time: float


@_event
class LoginFailuresForgotten(NamedTuple):
    """A right password for an account from an address: the failures counted against that
    address and account pair (`key`) are forgotten, on every node."""

    key: str


# -- accounts ------------------------------------------------------------------------------


@_event
class AccountRegistered(NamedTuple):
    """A new account (rejected if the name is taken meanwhile); `certfps` for one
    restored from the store or registered with a client certificate."""

    key: str
    name: str
    password_hash: str
    scram: str
    email: str
    time: float
    certfps: tuple[str, ...] = ()
    vhost: str = ""  # one restored from the store
    # the address (as every per-address limit counts it) the registration counts against on
    # every node (accounts.register_limit); "": not counted (restored, or by an operator)
    counted: str = ""


@_event
class AccountVhostSet(NamedTuple):
    """An operator gave an account a virtual host (`vhost`), or took it (""). Whoever is
    logged in to it when this is applied is shown with it, or with the host under it
    again: each change a CHGHOST of this time and msgid (one of a node of the version
    before has neither: moved into the network's order, and without a msgid)."""

    key: str
    vhost: str
    time: float = 0.0
    msgid: str = ""


@_event
class AccountCredentialsSet(NamedTuple):
    key: str
    password_hash: str
    scram: str


@_event
class AccountHashUpgraded(NamedTuple):
    """An account's argon2id hash made again, at a login by password, at the cost the
    configuration now asks (`accounts.hash_*`), so that a change of the cost reaches the
    accounts already there. Applied only while the hash is still `old`: a password changed
    meanwhile, on any node, is never set back. A kind of its own rather than a
    credentials change, so that a node older than it skips it and keeps the old hash,
    which checks the same password."""

    key: str
    old: str
    new: str


@_event
class AccountCertSet(NamedTuple):
    """A TLS client-certificate fingerprint added to, or removed from, an account."""

    key: str
    fingerprint: str
    adding: bool


@_event
class AccountDropped(NamedTuple):
    """The account is gone; whoever was logged in to it is logged out."""

    key: str
    time: float
    msgid: str


@_event
class LoggedIn(NamedTuple):
    uid: str
    key: str  # the account's key
    time: float
    msgid: str


@_event
class LoggedOut(NamedTuple):
    uid: str
    time: float
    msgid: str


# -- server bans ---------------------------------------------------------------------------


@_event
class KlineAdded(NamedTuple):
    mask: str
    reason: str
    set_by: str
    time: float
    expires: float | None


@_event
class KlineRemoved(NamedTuple):
    mask: str
    time: float


# -- nodes of a cluster -------------------------------------------------------------------


@_event
class NodeUp(NamedTuple):
    """A node joined the network: `node` is its incarnation, the prefix of its users' uids."""

    node: str
    name: str  # its server name
    time: float


@_event
class NodeLost(NamedTuple):
    """A node stopped answering: every user of it quits (the engine applies a UserQuit
    for each, in uid order, before this), then the node is forgotten."""

    node: str
    reason: str
    time: float
    msgid: str
    # A node that stops cleanly says so itself: the time of the last event it applied
    # before ending its connections, which its users were shown, but for the `unseen`
    # (uids: clients whose output was cut). A node declared lost by another (or an older
    # node) leaves it 0: nobody knows what its users saw.
    seen: float = 0.0
    unseen: tuple[str, ...] = ()


@_event
class DigestAsked(NamedTuple):
    """An operator asked for every node's digest of its replica (DIGEST). Each node
    answers with DigestGiven, computed where this event stands in the network's order:
    equal replicas give equal digests even while the network is busy."""

    uid: str
    token: str
    time: float


@_event
class Synced(NamedTuple):
    """Nothing happens: a node appends this to wait for it. Once it is back, the node has
    applied every event the network ordered before it, so a read that must not be stale
    (a login to an account another node registered a moment ago) can be made."""

    uid: str
    time: float


@_event
class DigestGiven(NamedTuple):
    uid: str  # who asked
    token: str
    server: str  # the node answering
    digest: str


Event = (
    Connected | NickSet | Registered | UserQuit | GhostProbed | UserModesSet | AwaySet | RealnameSet | HostSet
    | AddressSet | Joined | Parted
    | Kicked | TopicSet | ChannelModesSet | Invited | Knocked | ChannelRenamed | MetadataSet | MetadataCleared | Said
    | SaidMultiline | SaidToAccount | Wallops | KlineAdded | KlineRemoved | AccountRegistered | AccountCredentialsSet
    | AccountHashUpgraded
    | AccountCertSet | AccountVhostSet | AccountDropped | LoggedIn | LoggedOut | LoginFailed | LoginFailuresForgotten
    | ChannelRegistered | ChannelAccessSet
    | ChannelFounderSet | ChannelDropped | ChannelRestored | MarkerSet | Redacted
    | NodeUp | NodeLost | DigestAsked | DigestGiven | Synced
)


# -- records -------------------------------------------------------------------------------


def kind_of(event: Event) -> str:
    return type(event).__name__


def to_record(event: Event) -> dict[str, Any]:
    """The event as plain data: `{"kind": ..., field: value...}` (JSON-ready)."""
    record = event._asdict()
    if isinstance(event, ChannelModesSet):
        record["changes"] = [list(change) for change in event.changes]
    record["kind"] = kind_of(event)
    return record


def from_record(record: dict[str, Any]) -> Event:
    """The event a record describes; raises ValueError for what is not one."""
    cls = EVENT_TYPES.get(str(record.get("kind")))
    if cls is None:
        raise ValueError(f"unknown event kind {record.get('kind')!r}")
    values = {}
    for name in cls._fields:
        if name not in record:
            if name in cls._field_defaults:
                continue
            raise ValueError(f"{cls.__name__} without {name}")
        value = record[name]
        if name == "changes" and cls is ChannelModesSet:
            value = tuple(ModeChange(*change) for change in value)
        elif isinstance(value, list):
            value = tuple(tuple(item) if isinstance(item, list) else item for item in value)
        values[name] = value
    event: Event = cls(**values)
    return event
