"""Server information: MOTD, LUSERS, VERSION, TIME, and the burst sent on registration."""

from __future__ import annotations

import time

from hubbub.irc import numerics as n
from hubbub.irc.casemap import mask_matches
from hubbub.irc.message import Message
from hubbub.server import metadata
from hubbub.server.commands import command
from hubbub.server.context import Context
from hubbub.server.handlers.replies import shown
from hubbub.server.isupport import (
    VERSION,
    isupport_tokens,
    myinfo_modes,
    myinfo_param_modes,
)

ISUPPORT_PER_LINE = 13


def send_isupport(ctx: Context) -> None:
    tokens = isupport_tokens(ctx.config)
    for i in range(0, len(tokens), ISUPPORT_PER_LINE):
        ctx.conn.numeric(n.RPL_ISUPPORT, *tokens[i : i + ISUPPORT_PER_LINE], "are supported by this server")


def send_lusers(ctx: Context) -> None:
    state, conn = ctx.state, ctx.conn
    users = state.user_count
    invisible = state.mode_counts["i"]
    unknown = len(state.users) - users
    servers = max(1, len(state.nodes))
    shown_users = users - invisible
    conn.numeric(n.RPL_LUSERCLIENT, f"There are {shown_users} users and {invisible} invisible on {servers} servers")
    opers = state.mode_counts["o"]
    if opers:
        conn.numeric(n.RPL_LUSEROP, str(opers), "operator(s) online")
    if unknown > 0:
        conn.numeric(n.RPL_LUSERUNKNOWN, str(unknown), "unknown connection(s)")
    conn.numeric(n.RPL_LUSERCHANNELS, str(len(state.channels)), "channels formed")
    svc = ctx.svc
    local = state.node_users[svc.node_id] if state.nodes else users
    svc.local_peak = max(svc.local_peak, local)
    conn.numeric(n.RPL_LUSERME, f"I have {local} clients and {servers - 1} servers")
    count, peak = str(local), str(svc.local_peak if state.nodes else state.peak_users)
    conn.numeric(n.RPL_LOCALUSERS, count, peak, f"Current local users {count}, max {peak}")
    count, peak = str(users), str(state.peak_users)
    conn.numeric(n.RPL_GLOBALUSERS, count, peak, f"Current global users {count}, max {peak}")


def send_motd(ctx: Context) -> None:
    conn = ctx.conn
    lines = ctx.svc.motd
    if not lines:
        conn.numeric(n.ERR_NOMOTD, "MOTD File is missing")
        return
    conn.numeric(n.RPL_MOTDSTART, f"- {ctx.name} Message of the day - ")
    for line in lines:
        conn.numeric(n.RPL_MOTD, f"- {line}")
    conn.numeric(n.RPL_ENDOFMOTD, "End of /MOTD command.")


def send_welcome(ctx: Context) -> None:
    """001-005, LUSERS and MOTD: what every client expects right after registering (and
    a metadata-aware client's own metadata before the MOTD)."""
    conn = ctx.conn
    created = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ctx.svc.started))  # this node's start
    conn.numeric(n.RPL_WELCOME, f"Welcome to the {ctx.config.server.network} IRC Network {ctx.user.prefix}")
    conn.numeric(n.RPL_YOURHOST, f"Your host is {ctx.name}, running version {VERSION}")
    conn.numeric(n.RPL_CREATED, f"This server was created {created}")
    user_modes, channel_modes = myinfo_modes()
    conn.numeric(n.RPL_MYINFO, ctx.name, VERSION, user_modes, channel_modes, myinfo_param_modes())
    send_isupport(ctx)
    user = ctx.user
    if user.host == ctx.svc.cloak(user.ip, user.group) or user.vhost_of is not None:
        # its address hidden (a cloak, or its account's vhost): say what others see
        conn.numeric(n.RPL_VISIBLEHOST, user.host, "is now your displayed host")
    send_lusers(ctx)
    if metadata.aware(conn):  # draft/metadata-2: one's own keys (set with before-connect)
        metadata.send_own(conn, ctx.user)
    send_motd(ctx)
    if ctx.user.modes:  # set before the welcome (+r of a SASL login): the client learns them now
        conn.send(Message("MODE", [ctx.user.nick, "+" + "".join(sorted(ctx.user.modes))], ctx.user.prefix))


def elsewhere(ctx: Context, target: str) -> bool:
    """Commands with an optional server (MOTD, VERSION, TIME, INFO, ADMIN, STATS) answer
    for this server, named by a mask or by one of its users' nicks; anything else is
    402. True when the command must stop. Another node of a cluster (which LINKS lists)
    is no unknown server: its 402 says it answers only its own users (queries are not
    passed between nodes)."""
    if not target or mask_matches(target, ctx.name) or ctx.state.find_user(target) is not None:
        return False
    if any(mask_matches(target, name) for name in ctx.state.nodes.values()):
        ctx.conn.numeric(n.ERR_NOSUCHSERVER, shown(target),
                         "That server of the network answers this only to its own users: connect to it to ask it")
        return True
    ctx.conn.numeric(n.ERR_NOSUCHSERVER, shown(target), "No such server")
    return True


@command("MOTD")
def handle_motd(ctx: Context, message: Message) -> None:
    if not elsewhere(ctx, message.param(0)):
        send_motd(ctx)


@command("LUSERS")
def handle_lusers(ctx: Context, message: Message) -> None:
    send_lusers(ctx)


@command("VERSION")
def handle_version(ctx: Context, message: Message) -> None:
    if elsewhere(ctx, message.param(0)):
        return
    ctx.conn.numeric(n.RPL_VERSION, VERSION, ctx.name, "hubbub IRC server")
    send_isupport(ctx)


@command("TIME")
def handle_time(ctx: Context, message: Message) -> None:
    if elsewhere(ctx, message.param(0)):
        return
    text = time.strftime("%A %B %d %Y -- %H:%M:%S +00:00", time.gmtime(ctx.now()))
    ctx.conn.numeric(n.RPL_TIME, ctx.name, text)
