"""Questions about users: WHO (with WHOX), WHOIS, ISON, USERHOST, and AWAY which they report."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from hubbub.irc import numerics as n
from hubbub.irc.casemap import casefold, glob_to_regex, mask_matches
from hubbub.irc.message import Message, fit_utf8
from hubbub.irc.validate import is_channel_name
from hubbub.server import metadata
from hubbub.server.channel import Channel
from hubbub.server.channel_info import visible_members
from hubbub.server.commands import command
from hubbub.server.context import Context
from hubbub.server.delivery import new_msgid
from hubbub.server.events import AwaySet
from hubbub.server.handlers.replies import send_list, send_paced, shown
from hubbub.server.isupport import BOT_MODE
from hubbub.server.user import User

PRE_AWAY = "draft/pre-away"
WHO_MAX_RESULTS = 500
USERHOST_MAX = 5
# WHOX fields in the order replies give them, whatever the order asked: the standard
# ones and two that ircu-derived clients ask for (d: hop count, o: op level).
WHOX_FIELDS = "tcuihsnfdlaor"
HIDDEN_IP = "255.255.255.255"  # WHOX: the IP of someone else is not disclosed


def _who_flags(ctx: Context, user: User, channel: Channel | None) -> str:
    """H (here) or G (gone), * for an operator, then channel status, then B for a bot:
    the order Modern IRC gives, so that a client reading the status right after H/G*
    finds it there."""
    flags = "G" if user.away is not None else "H"
    if "o" in user.modes:
        flags += "*"
    if channel is not None:
        flags += channel.prefix(user, "multi-prefix" in ctx.conn.caps)
    if BOT_MODE in user.modes:
        flags += BOT_MODE
    return flags


class Whox:
    """A WHOX request (`%fields[,token]`): which fields each 354 reply carries."""

    __slots__ = ("fields", "token")

    def __init__(self, spec: str) -> None:
        fields, _, token = spec[1:].partition(",")
        self.fields = "".join(f for f in WHOX_FIELDS if f in fields)
        # the token is at most three digits; anything else is not echoed back as given
        self.token = token if token.isascii() and token.isdigit() and len(token) <= 3 else "0"

    def row(self, ctx: Context, user: User, channel: Channel | None) -> Message:
        me = ctx.user
        values: dict[str, Callable[[], str]] = {
            "t": lambda: self.token,
            "c": lambda: channel.name if channel is not None else "*",
            "u": lambda: user.username,
            "i": lambda: user.ip if user is me or "o" in me.modes else HIDDEN_IP,
            "h": lambda: user.host,
            "s": lambda: ctx.server_of(user),
            "n": lambda: user.nick,
            "f": lambda: _who_flags(ctx, user, channel),
            "d": lambda: "0",
            "l": lambda: str(max(0, int(ctx.now() - user.last_message))),
            "a": lambda: user.account or "0",
            "o": lambda: "n/a",
            "r": lambda: user.realname,
        }
        return ctx.conn.numeric_row(n.RPL_WHOSPCRPL, *(values[f]() for f in self.fields))


def _who_row(ctx: Context, user: User, channel: Channel | None, whox: Whox | None = None) -> Message:
    if whox is not None:
        return whox.row(ctx, user, channel)
    flags = _who_flags(ctx, user, channel)
    return ctx.conn.numeric_row(
        n.RPL_WHOREPLY,
        channel.name if channel is not None else "*",
        user.username,
        user.host,
        ctx.server_of(user),
        user.nick,
        flags,
        f"0 {user.realname}",
    )


def _shares_channel(a: User, b: User) -> bool:
    return a is b or not a.channels.keys().isdisjoint(b.channels.keys())


@command("WHO")
def handle_who(ctx: Context, message: Message) -> None:
    """The members of a channel or the users matching a mask; paced as the client reads,
    since a big channel's WHO (which clients send on joining) passes the sendq."""
    send_paced(ctx, _who_rows(ctx, message.param(0) or "*", message.param(1)))


def _who_rows(ctx: Context, mask: str, option: str) -> Iterator[Message]:
    state, me = ctx.state, ctx.user
    flags, percent, wanted = option.partition("%")  # "o", "%tcuhn", "o%tcuhn"
    whox = Whox(percent + wanted) if percent else None
    if whox is not None and not whox.fields:  # `%` alone, or no field we know: a 354 of nothing
        whox = None  # would break its readers; plain WHO's rows instead, as ergo does
    opers_only = "o" in flags  # RFC 2812: only operators matching the mask
    if is_channel_name(mask):
        channel = state.find_channel(mask)
        if channel is not None:
            for member in visible_members(me, channel):
                # read as the client reads: whoever left meanwhile is left out
                if member.channels.get(channel.key) is channel and (not opers_only or "o" in member.modes):
                    yield _who_row(ctx, member, channel, whox)
    else:
        exact = state.find_user(mask)
        if exact is not None:
            if not opers_only or "o" in exact.modes:
                yield _who_row(ctx, exact, None, whox)
        else:
            pattern = glob_to_regex("*" if mask == "0" else mask)
            found = 0
            for user in list(state.nicks.values()):
                if found >= WHO_MAX_RESULTS:
                    break
                if not user.registered or state.find_user(user.nick) is not user:
                    continue
                if ("i" in user.modes and not _shares_channel(me, user)) or (opers_only and "o" not in user.modes):
                    continue
                fields = (user.nick, user.username, user.host, user.realname, ctx.server_of(user))
                if any(pattern.fullmatch(casefold(f)) for f in fields):
                    yield _who_row(ctx, user, None, whox)
                    found += 1
    yield ctx.conn.numeric_row(n.RPL_ENDOFWHO, shown(mask), "End of WHO list")


@command("WHOIS", min_params=1)
def handle_whois(ctx: Context, message: Message) -> None:
    conn, me, config = ctx.conn, ctx.user, ctx.config
    asked = message.params[1] if len(message.params) > 1 else message.params[0]
    nick = asked.split(",")[0]  # one nick answered (TARGMAX WHOIS=1); 318 names what was asked
    if not nick:
        conn.numeric(n.ERR_NONICKNAMEGIVEN, "No nickname given")
        return
    if len(message.params) > 1 and not _names_us(ctx, message.params[0]):
        conn.numeric(n.ERR_NOSUCHSERVER, shown(message.params[0]), "No such server")
        return
    user = ctx.state.find_user(nick)
    if user is None:
        conn.numeric(n.ERR_NOSUCHNICK, shown(nick), "No such nick/channel")
        conn.numeric(n.RPL_ENDOFWHOIS, shown(asked), "End of /WHOIS list")
        return
    conn.numeric(n.RPL_WHOISUSER, user.nick, user.username, user.host, "*", user.realname)
    if user is me or "o" in me.modes:  # the real address: to oneself and to operators
        conn.numeric(n.RPL_WHOISHOST, user.nick, f"is connecting from *@{user.ip} {user.ip}")
        if user.gateway is not None:  # and the WebIRC gateway it came through
            name, address = user.gateway
            conn.numeric(n.RPL_WHOISSPECIAL, user.nick, f"is connected via the WebIRC gateway {name} ({address})")
    if "o" in me.modes:  # and the user modes, to operators
        conn.numeric(n.RPL_WHOISMODES, user.nick, f"is using modes +{''.join(sorted(user.modes))}")
    multi = "multi-prefix" in conn.caps
    listed = [
        channel.prefix(user, multi) + channel.name
        for channel in user.channels.values()
        if ("i" not in user.modes or me in channel.members) and not channel.hidden_from(me)
    ]
    send_list(conn, n.RPL_WHOISCHANNELS, [user.nick], listed)
    server = ctx.server_of(user)
    description = config.server.description if server == ctx.name else "a node of this network"
    conn.numeric(n.RPL_WHOISSERVER, user.nick, server, description)
    if "o" in user.modes:
        conn.numeric(n.RPL_WHOISOPERATOR, user.nick, "is an IRC operator")
    if BOT_MODE in user.modes:
        conn.numeric(n.RPL_WHOISBOT, user.nick, f"is a bot on {config.server.network}")
    if user.secure:
        conn.numeric(n.RPL_WHOISSECURE, user.nick, "is using a secure connection")
    if user.certfp is not None and (user is me or "o" in me.modes):  # as the real address
        conn.numeric(n.RPL_WHOISCERTFP, user.nick, f"has client certificate fingerprint {user.certfp}")
    if user.account is not None:
        conn.numeric(n.RPL_WHOISACCOUNT, user.nick, user.account, "is logged in as")
    if user.away is not None:
        conn.numeric(n.RPL_AWAY, user.nick, user.away)
    for key in metadata.WHOIS_KEYS:
        if key in user.metadata:
            conn.numeric(n.RPL_WHOISKEYVALUE, user.nick, key, metadata.VISIBILITY, user.metadata[key])
    idle = max(0, int(ctx.now() - user.last_message))
    conn.numeric(n.RPL_WHOISIDLE, user.nick, str(idle), str(int(user.signon)), "seconds idle, signon time")
    conn.numeric(n.RPL_ENDOFWHOIS, shown(asked), "End of /WHOIS list")  # as sent: the spec's MUST


def _names_us(ctx: Context, target: str) -> bool:
    """Whether `WHOIS <target> <nick>` asks this network: a mask of this server's name or
    of one of the cluster's nodes, or a user's nick (irssi sends `WHOIS bob bob` for the
    idle time), as MOTD and the others take it (info.py `elsewhere`)."""
    names = (ctx.name, *ctx.state.nodes.values())
    return any(mask_matches(target, name) for name in names) or ctx.state.find_user(target) is not None


@command("ISON", min_params=1)
def handle_ison(ctx: Context, message: Message) -> None:
    online = []
    for param in message.params:
        for nick in param.split():
            user = ctx.state.find_user(nick)
            if user is not None:
                online.append(user.nick)
    ctx.conn.numeric(n.RPL_ISON, " ".join(online))


@command("USERHOST", min_params=1)
def handle_userhost(ctx: Context, message: Message) -> None:
    replies = []
    nicks = [nick for param in message.params for nick in param.split()][:USERHOST_MAX]
    for nick in nicks:
        user = ctx.state.find_user(nick)
        if user is None:
            continue
        oper = "*" if "o" in user.modes else ""
        away = "-" if user.away is not None else "+"
        replies.append(f"{user.nick}{oper}={away}{user.username}@{user.host}")
    ctx.conn.numeric(n.RPL_USERHOST, " ".join(replies))


@command("AWAY", before_registration=True)
def handle_away(ctx: Context, message: Message) -> None:
    """AWAY; before registration too with draft/pre-away (`AWAY *`: away, no reason given)."""
    conn, user = ctx.conn, ctx.user
    if not conn.registered and PRE_AWAY not in conn.caps:
        conn.numeric(n.ERR_NOTREGISTERED, "You have not registered")
        return
    text = message.param(0)
    away = fit_utf8(text, ctx.config.limits.awaylen) if text else None

    def done(outcome: object = None) -> None:
        if away is not None:
            conn.numeric(n.RPL_NOWAWAY, "You have been marked as being away")
        else:
            conn.numeric(n.RPL_UNAWAY, "You are no longer marked as being away")

    if away != user.away:  # told once it is in force (in a cluster: once the network has it)
        ctx.emit(AwaySet(user.uid, away, ctx.now(), new_msgid()), done)  # away-notify
    else:
        done()
