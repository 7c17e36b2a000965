"""Channel membership and information: JOIN, PART, TOPIC, NAMES, LIST.

JOIN asks access.py whether the channel's modes let the client in; a secret (+s)
channel is invisible from outside in NAMES, LIST, WHO and TOPIC.
"""

from __future__ import annotations

from hubbub.irc import numerics as n
from hubbub.irc.message import Message
from hubbub.irc.validate import is_channel_name, is_valid_channel
from hubbub.server import access, elist
from hubbub.server.channel import Channel
from hubbub.server.client import Client
from hubbub.server.commands import command
from hubbub.server.handlers.replies import send_list, shown
from hubbub.server.notify import from_user

PARTLEN = 300


def visible_count(client: Client, channel: Channel) -> int:
    """How many members `client` may see (LIST), without building the list."""
    if client in channel.members:
        return len(channel.members)
    if channel.hidden_from(client):
        return 0
    return sum(1 for m in channel.members if "i" not in m.modes)


def visible_members(client: Client, channel: Channel) -> list[Client]:
    """Members `client` may see: all of them from inside, visible (-i) ones from outside,
    none of a secret channel's."""
    if client in channel.members:
        return list(channel.members)
    if channel.hidden_from(client):
        return []
    return [m for m in channel.members if "i" not in m.modes]


def send_names(client: Client, channel: Channel) -> None:
    multi = "multi-prefix" in client.caps
    full = "userhost-in-names" in client.caps
    entries = [
        channel.prefix(m, multi) + (m.prefix if full else m.nick) for m in visible_members(client, channel)
    ]
    symbol = "@" if "s" in channel.modes else "="
    send_list(client, n.RPL_NAMREPLY, [symbol, channel.name], entries)
    client.numeric(n.RPL_ENDOFNAMES, channel.name, "End of /NAMES list")


def send_topic(client: Client, channel: Channel) -> None:
    if not channel.topic:
        client.numeric(n.RPL_NOTOPIC, channel.name, "No topic is set")
        return
    client.numeric(n.RPL_TOPIC, channel.name, channel.topic)
    client.numeric(n.RPL_TOPICWHOTIME, channel.name, channel.topic_by, str(int(channel.topic_time)))


def _part_all(client: Client) -> None:
    for channel in list(client.channels.values()):
        client.net.part(client, channel, Message("PART", [channel.name], client.prefix))


@command("JOIN", min_params=1)
def handle_join(client: Client, message: Message) -> None:
    if message.params[0] == "0":
        _part_all(client)
        return
    net = client.net
    lim = net.config.limits
    keys = message.param(1).split(",")
    for index, name in enumerate(message.params[0].split(",")):
        if not name:
            continue
        if not is_channel_name(name):
            client.numeric(n.ERR_NOSUCHCHANNEL, shown(name), "No such channel")
            continue
        if not is_valid_channel(name, lim.channellen):
            client.numeric(n.ERR_BADCHANMASK, shown(name), "Bad Channel Mask")
            continue
        existing = net.find_channel(name)
        if existing is not None and client in existing.members:
            continue
        if len(client.channels) >= lim.max_channels:
            client.numeric(n.ERR_TOOMANYCHANNELS, name, "You have joined too many channels")
            continue
        if existing is not None:
            refusal = access.join_refusal(existing, client, keys[index] if index < len(keys) else "")
            if refusal is not None:
                client.numeric(refusal[0], existing.name, refusal[1])
                continue
            existing.invited.discard(client)  # an invitation lets in once
        channel = net.join(client, name)
        if existing is None:
            # A new channel: show its creator the modes it starts with, as the
            # charybdis family does (`:server MODE #c +nt`); clients display them.
            client.send(Message("MODE", [channel.name, *channel.mode_params(show_key=True)], net.name))
        if channel.topic:
            send_topic(client, channel)
        send_names(client, channel)


@command("PART", min_params=1)
def handle_part(client: Client, message: Message) -> None:
    reason = message.param(1)[:PARTLEN]
    for name in message.params[0].split(","):
        if not name:
            continue
        channel = client.net.find_channel(name)
        if channel is None:
            client.numeric(n.ERR_NOSUCHCHANNEL, shown(name), "No such channel")
            continue
        if client not in channel.members:
            client.numeric(n.ERR_NOTONCHANNEL, channel.name, "You're not on that channel")
            continue
        params = [channel.name, reason] if reason else [channel.name]
        client.net.part(client, channel, Message("PART", params, client.prefix))


@command("TOPIC", min_params=1)
def handle_topic(client: Client, message: Message) -> None:
    net = client.net
    channel = net.find_channel(message.params[0])
    if channel is None or channel.hidden_from(client):  # a secret channel does not exist outside
        client.numeric(n.ERR_NOSUCHCHANNEL, shown(message.params[0]), "No such channel")
        return
    if client not in channel.members and len(message.params) > 1:
        client.numeric(n.ERR_NOTONCHANNEL, channel.name, "You're not on that channel")
        return
    if len(message.params) < 2:
        send_topic(client, channel)
        return
    if not access.may_set_topic(channel, client):
        client.numeric(n.ERR_CHANOPRIVSNEEDED, channel.name, "You're not channel operator")
        return
    channel.topic = message.params[1][: net.config.limits.topiclen]
    channel.topic_by = client.prefix
    channel.topic_time = net.clock()
    channel.broadcast(from_user(client, Message("TOPIC", [channel.name, channel.topic], client.prefix)))


@command("NAMES")
def handle_names(client: Client, message: Message) -> None:
    names = [name for name in message.param(0).split(",") if name]
    if not names:
        client.numeric(n.RPL_ENDOFNAMES, "*", "End of /NAMES list")
        return
    for name in names:
        channel = client.net.find_channel(name)
        if channel is None or channel.hidden_from(client):
            client.numeric(n.RPL_ENDOFNAMES, shown(name), "End of /NAMES list")
        else:
            send_names(client, channel)


@command("LIST")
def handle_list(client: Client, message: Message) -> None:
    """All channels, or those named, filtered by ELIST conditions; secret ones only to members."""
    net = client.net
    wanted = elist.parse(message.params)
    if wanted.only_named:
        found = (net.channels.get(name) for name in dict.fromkeys(wanted.names))
        candidates = [c for c in found if c is not None]
    else:
        candidates = list(net.channels.values())
    now = net.clock()
    client.numeric(n.RPL_LISTSTART, "Channel", "Users  Name")
    for channel in candidates:
        if channel.hidden_from(client):
            continue
        count = visible_count(client, channel)
        topic_time = channel.topic_time if channel.topic else None
        if wanted.accepts(channel.name, count, channel.created, topic_time, now):
            client.numeric(n.RPL_LIST, channel.name, str(count), channel.topic)
    client.numeric(n.RPL_LISTEND, "End of /LIST")
