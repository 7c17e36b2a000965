"""KICK and INVITE: removing a member by force, and letting someone in.

KICK takes one channel and several nicks (`KICK #c a,b :reason`) or as many channels
as nicks, paired (`KICK #a,#b x,y`); each removal is its own KICK line, as clients
expect. INVITE records an invitation that lets its target join once past +i, +b, +k
and +l; with the `invite-notify` capability, the channel's halfops and ops (those who
could have invited to a +i channel themselves) are told too.
"""

from __future__ import annotations

from hubbub.irc import numerics as n
from hubbub.irc.message import Message, fit_utf8
from hubbub.server import access
from hubbub.server.channel import HALFOP, Channel
from hubbub.server.client import Client
from hubbub.server.commands import command
from hubbub.server.handlers.replies import LINE_BUDGET, shown
from hubbub.server.notify import from_user


def _kick_pairs(client: Client, message: Message) -> list[tuple[str, str]] | None:
    channels = [c for c in message.params[0].split(",") if c]
    nicks = [u for u in message.params[1].split(",") if u]
    if not channels or not nicks or (len(channels) != 1 and len(channels) != len(nicks)):
        return None
    pairs = list(zip(channels * len(nicks) if len(channels) == 1 else channels, nicks))
    return pairs[: client.net.config.limits.max_kick_targets]  # the rest is dropped silently


def _kick(client: Client, channel: Channel, nick: str, reason: str) -> None:
    net = client.net
    if client not in channel.members:
        client.numeric(n.ERR_NOTONCHANNEL, channel.name, "You're not on that channel")
        return
    if channel.rank(client) < HALFOP:
        client.numeric(n.ERR_CHANOPRIVSNEEDED, channel.name, "You're not channel operator")
        return
    victim = net.find_user(nick)
    if victim is None:
        client.numeric(n.ERR_NOSUCHNICK, shown(nick), "No such nick/channel")
        return
    if victim not in channel.members:
        client.numeric(n.ERR_USERNOTINCHANNEL, victim.nick, channel.name, "They aren't on that channel")
        return
    if not access.may_kick(channel, client, victim):
        client.numeric(n.ERR_CHANOPRIVSNEEDED, channel.name, "You must be a channel operator to kick them")
        return
    # the relayed line must stay within 512 bytes whatever the reason's length
    head = len(f":{client.prefix} KICK {channel.name} {victim.nick} :".encode())
    text = fit_utf8(reason[: net.config.limits.kicklen], LINE_BUDGET - head)
    net.part(victim, channel, Message("KICK", [channel.name, victim.nick, text], client.prefix), by=client)


@command("KICK", min_params=2)
def handle_kick(client: Client, message: Message) -> None:
    pairs = _kick_pairs(client, message)
    if pairs is None:
        client.numeric(n.ERR_NEEDMOREPARAMS, "KICK", "Not enough parameters")
        return
    reason = message.param(2) or client.nick  # RFC 2812: the kicker's nick by default
    for name, nick in pairs:
        channel = client.net.find_channel(name)
        if channel is None:
            client.numeric(n.ERR_NOSUCHCHANNEL, shown(name), "No such channel")
        else:
            _kick(client, channel, nick, reason)


@command("INVITE", min_params=2)
def handle_invite(client: Client, message: Message) -> None:
    net = client.net
    nick, name = message.params[0], message.params[1]
    target = net.find_user(nick)
    if target is None:
        client.numeric(n.ERR_NOSUCHNICK, shown(nick), "No such nick/channel")
        return
    channel = net.find_channel(name)
    if channel is None:
        client.numeric(n.ERR_NOSUCHCHANNEL, shown(name), "No such channel")
        return
    if client not in channel.members:
        client.numeric(n.ERR_NOTONCHANNEL, channel.name, "You're not on that channel")
        return
    if not access.may_invite(channel, client):
        client.numeric(n.ERR_CHANOPRIVSNEEDED, channel.name, "You're not channel operator")
        return
    if target in channel.members:
        client.numeric(n.ERR_USERONCHANNEL, target.nick, channel.name, "is already on channel")
        return
    if channel.rank(client) >= HALFOP:
        # Only an invitation from someone who could lift +i, +b, +k and +l lets its
        # target past them; a plain member's INVITE is a suggestion, not a key.
        channel.invited.add(target)
    client.numeric(n.RPL_INVITING, target.nick, channel.name)
    if target.away is not None:
        client.numeric(n.RPL_AWAY, target.nick, target.away)
    out = from_user(client, Message("INVITE", [target.nick, channel.name], client.prefix))
    target.deliver(out)
    for member in channel.members:
        if (
            member is not client
            and "invite-notify" in member.caps
            and channel.rank(member) >= HALFOP
        ):
            member.deliver(out)
