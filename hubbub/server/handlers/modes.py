"""MODE: the command, and channel modes (+n +t, +o +v); user modes live in usermodes.py.

Changes are parsed letter by letter; what was applied is collected and announced in
one MODE line, the way clients expect to display it.
"""

from __future__ import annotations

from hubbub.irc import numerics as n
from hubbub.irc.message import Message
from hubbub.irc.validate import is_channel_name
from hubbub.server.channel import FLAG_MODES, STATUS_MODES, Channel
from hubbub.server.client import Client
from hubbub.server.commands import command
from hubbub.server.delivery import Outgoing
from hubbub.server.handlers.replies import shown
from hubbub.server.handlers.usermodes import format_changes, user_mode


def channel_mode(client: Client, channel: Channel, message: Message) -> None:
    if len(message.params) < 2:
        client.numeric(n.RPL_CHANNELMODEIS, channel.name, channel.mode_string())
        client.numeric(n.RPL_CREATIONTIME, channel.name, str(int(channel.created)))
        return
    net = client.net
    args = message.params[2:]
    max_with_param = net.config.limits.max_modes
    applied: list[tuple[bool, str]] = []
    applied_args: list[str] = []
    adding = True
    denied = False
    for letter in message.params[1]:
        if letter in "+-":
            adding = letter == "+"
            continue
        if letter not in FLAG_MODES and letter not in STATUS_MODES:
            client.numeric(n.ERR_UNKNOWNMODE, shown(letter), "is unknown mode char to me")
            continue
        if not channel.is_op(client):
            denied = True
            continue
        if letter in FLAG_MODES:
            if adding != (letter in channel.modes):
                channel.modes.add(letter) if adding else channel.modes.discard(letter)
                applied.append((adding, letter))
            continue
        # status modes take a nick
        if not args or len(applied_args) >= max_with_param:
            continue
        nick = args.pop(0)
        target = net.find_user(nick)
        if target is None:
            client.numeric(n.ERR_NOSUCHNICK, shown(nick), "No such nick/channel")
            continue
        if target not in channel.members:
            client.numeric(n.ERR_USERNOTINCHANNEL, target.nick, channel.name, "They aren't on that channel")
            continue
        if channel.set_status(target, letter, adding):
            applied.append((adding, letter))
            applied_args.append(target.nick)
    if denied:
        client.numeric(n.ERR_CHANOPRIVSNEEDED, channel.name, "You're not channel operator")
    if applied:
        change = Message("MODE", [channel.name, format_changes(applied), *applied_args], client.prefix)
        channel.broadcast(Outgoing(change))


@command("MODE", min_params=1)
def handle_mode(client: Client, message: Message) -> None:
    target = message.params[0]
    net = client.net
    if is_channel_name(target):
        channel = net.find_channel(target)
        if channel is None:
            client.numeric(n.ERR_NOSUCHCHANNEL, shown(target), "No such channel")
        else:
            channel_mode(client, channel, message)
        return
    user = net.find_user(target)
    if user is None:
        client.numeric(n.ERR_NOSUCHNICK, shown(target), "No such nick/channel")
    else:
        user_mode(client, user, message)
