"""What a client is told about a channel it is in: the topic and who is there.

JOIN sends both to the joiner; a channel renamed under a client that does not know
RENAME (draft/channel-rename) sends both again, as the join it is shown instead. The
members a client may see follow the channel's visibility (secret channels, invisible
users) in one place.
"""

from __future__ import annotations

from hubbub.irc import numerics as n
from hubbub.irc.message import Message
from hubbub.server.channel import Channel
from hubbub.server.connection import Connection
from hubbub.server.user import User


def visible_count(user: User, channel: Channel) -> int:
    """How many members LIST shows `user`: all of them, as every server counts (an
    invisible user is left out of NAMES and WHO from outside, not out of the count); none
    of a secret channel's from outside."""
    if channel.hidden_from(user):
        return 0
    return len(channel.members)


def visible_members(user: User, channel: Channel) -> list[User]:
    """Members `user` may see: all of them from inside, visible (-i) ones from outside,
    none of a secret channel's."""
    if user in channel.members:
        return list(channel.members)
    if channel.hidden_from(user):
        return []
    return [m for m in channel.members if "i" not in m.modes]


def send_names(conn: Connection, viewer: User, channel: Channel) -> None:
    """353 lines and 366, in the form `conn` negotiated (multi-prefix, userhost-in-names)."""
    for row in names_rows(conn, viewer, channel):
        conn.send(row)


def names_rows(conn: Connection, viewer: User, channel: Channel) -> list[Message]:
    """The lines `send_names` sends: a big channel's pass the sendq, so a NAMES reply is
    paced (a JOIN's too: handlers/channels.py)."""
    multi = "multi-prefix" in conn.caps
    full = "userhost-in-names" in conn.caps
    entries = [channel.prefix(m, multi) + (m.prefix if full else m.nick) for m in visible_members(viewer, channel)]
    symbol = "@" if "s" in channel.modes else "="
    rows = conn.numeric_list_rows(n.RPL_NAMREPLY, [symbol, channel.name], entries)
    rows.append(conn.numeric_row(n.RPL_ENDOFNAMES, channel.name, "End of /NAMES list"))
    return rows


def send_topic(conn: Connection, channel: Channel) -> None:
    """332 and 333, or 331 when there is no topic."""
    if not channel.topic:
        conn.numeric(n.RPL_NOTOPIC, channel.name, "No topic is set")
        return
    conn.numeric(n.RPL_TOPIC, channel.name, channel.topic)
    conn.numeric(n.RPL_TOPICWHOTIME, channel.name, channel.topic_by, str(int(channel.topic_time)))
