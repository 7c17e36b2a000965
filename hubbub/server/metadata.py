"""IRCv3 metadata (draft/metadata-2): what the command, the announcer and the
automatic synchronisations share.

Metadata is chat state: `User.metadata` and `Channel.metadata`, changed only by the
`MetadataSet` and `MetadataCleared` events. A client's subscriptions (the keys it wants
to hear about) are its connection's own, like its MONITOR list, and are forgotten with
it. Every key is public (visibility `*`) to whoever may see its target: anyone for a
user, and for a channel anyone but the outsiders of a secret one.

Three kinds of lines carry metadata:

* replies to the client that asked: `761 RPL_KEYVALUE` and `766 RPL_KEYNOTSET`, in a
  `metadata` batch whose parameter names the target asked about;
* notifications of a change, to subscribers: `:server METADATA <target> <key> *
  [:<value>]`, the value left out when the key was removed;
* synchronisations (SYNC, and on JOIN, MONITOR and subscribing): the same METADATA
  lines in a `metadata` batch, or `774 RPL_METADATASYNCLATER` when the batch would
  not fit comfortably in the client's send queue.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from hubbub.irc import numerics as n
from hubbub.irc.message import Message, reply_params
from hubbub.server.batch import ReplyBatch
from hubbub.server.channel import Channel
from hubbub.server.connection import Connection
from hubbub.server.user import User

CAP = "draft/metadata-2"
VISIBILITY = "*"  # every key is public
# The keys WHOIS shows (760), chosen explicitly as the specification asks: those a
# person reads, not those programs exchange.
WHOIS_KEYS = ("display-name", "pronouns", "status", "website")
SYNC_RETRY_SECONDS = 60  # what 774 asks a client to wait before SYNC again

Targets = Iterable[tuple[str, Mapping[str, str]]]  # (name shown, its metadata)


def aware(conn: Connection) -> bool:
    return CAP in conn.caps


def key_value(conn: Connection, target: str, key: str, value: str | None) -> Message:
    """761 with the value, or 766 when the key is not set."""
    if value is None:
        return Message(n.RPL_KEYNOTSET, reply_params((conn.nick, target, key, "Key not set")), conn.server)
    return Message(n.RPL_KEYVALUE, reply_params((conn.nick, target, key, VISIBILITY, value)), conn.server)


def notification(server: str, target: str, key: str, value: str | None) -> Message:
    """The METADATA line telling a subscriber that `key` of `target` changed."""
    params = [target, key, VISIBILITY] if value is None else [target, key, VISIBILITY, value]
    return Message("METADATA", params, server)


def send_batch(conn: Connection, target: str, replies: list[Message], kind: str = "metadata") -> None:
    """`replies` in a batch of `kind` (with `target` as its parameter, when given)."""
    conn.deliver(ReplyBatch(conn.server, kind, [target] if target else [], replies, "batch" in conn.caps))


def channel_targets(channel: Channel, members: Iterable[User] | None = None) -> list[tuple[str, Mapping[str, str]]]:
    """A channel's metadata and that of each member (or of `members`, those the asker
    may see): what syncing a channel covers."""
    shown = channel.members if members is None else members
    return [(channel.name, channel.metadata), *((member.nick, member.metadata) for member in shown)]


def everything_visible(conn: Connection, monitored: Iterable[User]) -> list[tuple[str, Mapping[str, str]]]:
    """What `*ALL` covers: oneself, one's channels and their members, the users one monitors."""
    user = conn.user
    seen: set[str] = {user.uid}
    found = [(user.nick, user.metadata)]
    for channel in user.channels.values():
        found.append((channel.name, channel.metadata))
        for member in channel.members:
            if member.uid not in seen:
                seen.add(member.uid)
                found.append((member.nick, member.metadata))
    for other in monitored:
        if other.uid not in seen:
            seen.add(other.uid)
            found.append((other.nick, other.metadata))
    return found


def sync_lines(conn: Connection, targets: Targets, keys: set[str] | None = None) -> list[Message]:
    """METADATA lines for the subscribed keys (of `keys`, when given) set on `targets`."""
    wanted = conn.metadata_subs if keys is None else conn.metadata_subs & keys
    lines: list[Message] = []
    if not wanted:
        return lines
    for name, values in targets:
        for key, value in values.items():
            if key in wanted:
                lines.append(notification(conn.server, name, key, value))
    return lines


def sync(conn: Connection, target: str, lines: list[Message], budget: int, following: bool = False) -> None:
    """Send `lines` as the `metadata` batch about `target`, or 774 if they pass `budget`
    bytes: a batch that does not fit comfortably in the send queue would drop its client.
    `following` others' event lines (a RENAME's JOIN), the 774 is held with them too."""
    if sum(len(line.params[-1].encode()) + 64 for line in lines) > budget:
        later = conn.numeric_row(n.RPL_METADATASYNCLATER, target, str(SYNC_RETRY_SECONDS),
                                 "Too much metadata to send at once")  # fmt: skip
        if following:
            conn.follow(later)
        else:
            conn.send(later)
        return
    send_batch(conn, target, lines)


def send_own(conn: Connection, user: User) -> None:
    """One's own keys as a `metadata` batch (empty without any): in the registration burst,
    and when the capability is asked for later."""
    send_batch(conn, user.nick, [key_value(conn, user.nick, key, value) for key, value in user.metadata.items()])


def sync_budget(sendq: int) -> int:
    """How many bytes of metadata one synchronisation may queue for a client."""
    return sendq // 2
