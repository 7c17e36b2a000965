"""KICK, INVITE and KNOCK: removing a member by force, letting someone in, asking in.

KICK takes one channel and several nicks (`KICK #c a,b :reason`) or as many channels
as nicks, paired (`KICK #a,#b x,y`); each removal is its own KICK line, as clients
expect. INVITE records an invitation that lets its target join once past +i, +b, +k
and +l; with the `invite-notify` capability, the channel's halfops and ops (those who
could have invited to a +i channel themselves) are told too. An INVITE from a user
with no account to one with user mode +R is refused whole (the charybdis family's 486
to the inviter; no invitation, nobody else told). INVITE's rules (access.invite_refusal)
are asked again where the invitation is applied, in the network's order: the inviter
gets 341, or the refusal one server would have given. INVITE without parameters lists
the invitations one holds (336, 337). KNOCK, from outside a channel one cannot join,
asks its halfops and ops for an invitation (710 to them, 711 to the knocker), at
most once per `limits.knock_delay` per knocker and per channel (knocks.py); the
charybdis family's numerics and rules (713 for an open channel, 714 for a member, 404
when banned).
"""

from __future__ import annotations

from hubbub.irc import numerics as n
from hubbub.irc.message import Message, fit_utf8
from hubbub.server import access, knocks
from hubbub.server.apply import Outcome
from hubbub.server.channel import HALFOP, Channel
from hubbub.server.commands import command
from hubbub.server.context import Context
from hubbub.server.delivery import new_msgid
from hubbub.server.events import Invited, Kicked, Knocked
from hubbub.server.handlers.replies import LINE_BUDGET, refused_when_applied, shown
from hubbub.server.throttle import seconds_words


def _kick_pairs(ctx: Context, message: Message) -> list[tuple[str, str]] | None:
    channels = [c for c in message.params[0].split(",") if c]
    nicks = [u for u in message.params[1].split(",") if u]
    if not channels or not nicks or (len(channels) != 1 and len(channels) != len(nicks)):
        return None
    return list(zip(channels * len(nicks) if len(channels) == 1 else channels, nicks, strict=True))


def _kick(ctx: Context, channel: Channel, nick: str, reason: str) -> None:
    conn, user = ctx.conn, ctx.user
    if user not in channel.members:
        conn.numeric(n.ERR_NOTONCHANNEL, channel.name, "You're not on that channel")
        return
    if channel.rank(user) < HALFOP:
        conn.numeric(n.ERR_CHANOPRIVSNEEDED, channel.name, "You're not channel operator")
        return
    victim = ctx.state.find_user(nick)
    if victim is None:
        conn.numeric(n.ERR_NOSUCHNICK, shown(nick), "No such nick/channel")
        return
    if victim not in channel.members:
        conn.numeric(n.ERR_USERNOTINCHANNEL, victim.nick, channel.name, "They aren't on that channel")
        return
    if not access.may_kick(channel, user, victim):
        # an operator (checked above), below the one to be kicked: a protected member, the founder
        conn.numeric(n.ERR_CHANOPRIVSNEEDED, channel.name, "Your channel rank is too low to kick them")
        return
    # the relayed line must stay within 512 bytes whatever the reason's length
    head = len(f":{user.prefix} KICK {channel.name} {victim.nick} :".encode())
    text = fit_utf8(reason, min(ctx.config.limits.kicklen, LINE_BUDGET - head))
    ctx.emit(Kicked(user.uid, victim.uid, channel.name, text, ctx.now(), new_msgid()),
             refused_when_applied(conn, channel.name))  # fmt: skip


@command("KICK", min_params=2)
def handle_kick(ctx: Context, message: Message) -> None:
    pairs = _kick_pairs(ctx, message)
    if pairs is None:
        ctx.conn.numeric(n.ERR_NEEDMOREPARAMS, "KICK", "Not enough parameters")
        return
    reason = message.param(2) or ctx.user.nick  # RFC 2812: the kicker's nick by default
    limit = ctx.config.limits.max_kick_targets  # TARGMAX KICK
    if len(pairs) > limit:  # refused whole, as PRIVMSG and NAMES are: no target left unanswered
        ctx.conn.numeric(n.ERR_TOOMANYTARGETS, shown(message.params[1]), f"Too many targets, the limit is {limit}")
        return
    for name, nick in pairs:
        channel = ctx.state.find_channel(name)
        if channel is None or channel.hidden_from(ctx.user):  # a secret channel does not exist outside
            ctx.conn.numeric(n.ERR_NOSUCHCHANNEL, shown(name), "No such channel")
        else:
            _kick(ctx, channel, nick, reason)


def _list_invitations(ctx: Context) -> None:
    """`INVITE` alone: the channels holding an invitation for us that is still usable."""
    conn, state = ctx.conn, ctx.state
    for key in sorted(ctx.user.invited_to):
        channel = state.channels.get(key)
        if channel is not None:
            conn.numeric(n.RPL_INVITELIST, channel.name)
    conn.numeric(n.RPL_ENDOFINVITELIST, "End of /INVITE list")


@command("INVITE")
def handle_invite(ctx: Context, message: Message) -> None:
    conn, user = ctx.conn, ctx.user
    if not message.params:
        _list_invitations(ctx)
        return
    if len(message.params) < 2:
        conn.numeric(n.ERR_NEEDMOREPARAMS, "INVITE", "Not enough parameters")
        return
    nick, name = message.params[0], message.params[1]
    target = ctx.state.find_user(nick)
    if target is None:
        conn.numeric(n.ERR_NOSUCHNICK, shown(nick), "No such nick/channel")
        return
    channel = ctx.state.find_channel(name)
    if channel is None or channel.hidden_from(user):  # a secret channel does not exist outside: named as typed
        conn.numeric(n.ERR_NOSUCHCHANNEL, shown(name), "No such channel")
        return
    # as this node knew them: a refusal names them so (a renamed channel's object has its new name)
    target_nick, channel_name = target.nick, channel.name
    refusal = access.invite_refusal(channel, user, target)
    if refusal is not None:
        _refuse_invite(ctx, *refusal, target_nick, channel_name)
        return

    def invited(outcome: Outcome) -> None:  # once the invitation holds (in a cluster, network-wide)
        if outcome.rejected is None:
            conn.numeric(n.RPL_INVITING, target.nick, channel.name)
            if target.away is not None:
                conn.numeric(n.RPL_AWAY, target.nick, target.away)
            return
        # checked again in the network's order (apply.py): the target quit, the channel
        # was renamed, the inviter deopped or kicked, the target joined or set +R first
        code, _, text = outcome.rejected.partition(" ")
        if code.isdigit() and text:
            _refuse_invite(ctx, code, text, target_nick, channel_name)

    grants = access.invitation_admits(channel, user)
    ctx.emit(Invited(user.uid, target.uid, channel_name, grants, ctx.now(), new_msgid()), invited)


def _refuse_invite(ctx: Context, code: str, text: str, nick: str, channel: str) -> None:
    """An INVITE's refusal (access.invite_refusal's, or the applier's), each numeric naming what it is about."""
    if code in (n.ERR_NOSUCHNICK, n.ERR_NONONREG):
        ctx.conn.numeric(code, nick, text)
    elif code == n.ERR_USERONCHANNEL:
        ctx.conn.numeric(code, nick, channel, text)
    else:
        ctx.conn.numeric(code, channel, text)


@command("KNOCK", min_params=1)
def handle_knock(ctx: Context, message: Message) -> None:
    conn, user = ctx.conn, ctx.user
    name = message.params[0]
    channel = ctx.state.find_channel(name)
    # a secret channel does not exist outside, unless it was made known to us (invited, +I)
    if channel is None or (channel.hidden_from(user) and not access.knows_of(channel, user)):
        conn.numeric(n.ERR_NOSUCHCHANNEL, shown(name), "No such channel")
        return
    if user in channel.members:
        conn.numeric(n.ERR_KNOCKONCHAN, channel.name, "You are already on that channel")
        return
    if access.join_refusal(channel, user, "", ctx.now()) is None:
        conn.numeric(n.ERR_CHANOPEN, channel.name, "Channel is open: JOIN it")
        return
    if "K" in channel.modes:
        conn.numeric(n.ERR_CANNOTKNOCK, channel.name, "Cannot KNOCK on channel (+K)")
        return
    if access.is_banned(channel, user):
        conn.numeric(n.ERR_CANNOTSENDTOCHAN, channel.name, "Cannot KNOCK on channel (+b)")
        return
    now = ctx.now()
    delay, exempt = ctx.config.limits.knock_delay, "o" in user.modes  # IRC operators wait for nothing
    too_soon = None if exempt else knocks.refusal(ctx.state.knocks, user.uid, channel.key, now, delay)
    if too_soon is not None:
        _too_many_knocks(ctx, channel.name, *too_soon)
        return
    shown_as = f":{ctx.name} {n.RPL_KNOCK} {channel.name} {channel.name} {user.prefix} :has asked for an invite: "
    head = len(shown_as.encode())  # the ops' 710 line stays within 512 bytes
    reason = fit_utf8(message.param(1), LINE_BUDGET - head)
    event = Knocked(user.uid, channel.name, reason, now, new_msgid(), delay, exempt)

    def applied(outcome: Outcome) -> None:  # in the network's order: another knock may have come first
        if outcome.rejected is None:
            conn.numeric(n.RPL_KNOCKDLVR, channel.name, "Your KNOCK has been delivered")
            return
        if outcome.rejected == "no knock":  # +K came first, in the network's order
            conn.numeric(n.ERR_CANNOTKNOCK, channel.name, "Cannot KNOCK on channel (+K)")
            return
        late = knocks.refusal(ctx.state.knocks, user.uid, channel.key, now, delay)
        if late is not None:
            _too_many_knocks(ctx, channel.name, *late)

    ctx.emit(event, applied)


def _too_many_knocks(ctx: Context, channel: str, kind: str, wait: float) -> None:
    ctx.conn.numeric(n.ERR_TOOMANYKNOCK, channel, f"Too many KNOCKs ({kind}): wait {seconds_words(wait)}")
