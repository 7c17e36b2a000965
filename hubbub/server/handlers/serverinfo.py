"""What the server says about itself: INFO, ADMIN, STATS, LINKS and HELP (HELPOP).

INFO, ADMIN and STATS accept an optional server target, as the specs have it: our
name, a wildcard matching it, or the nick of a user; anything else is 402 (a query is
not passed on to another node of a cluster: each answers for itself). STATS letters
that reveal configuration (k, o) are for operators. LINKS lists this server and, in a
cluster, the other nodes by the names they joined with.
"""

from __future__ import annotations

import platform
import time

from hubbub import __version__
from hubbub.irc import numerics as n
from hubbub.irc.casemap import mask_matches
from hubbub.irc.message import Message
from hubbub.server.commands import COMMANDS, command
from hubbub.server.context import Context
from hubbub.server.handlers.info import elsewhere
from hubbub.server.handlers.operators import refused
from hubbub.server.handlers.replies import send_list, shown
from hubbub.server.helptext import HELP, TOPICS
from hubbub.server.klines import describe_duration

OPER_STATS = "ko"


def uptime_text(seconds: float) -> str:
    whole = int(max(seconds, 0))
    days, rest = divmod(whole, 86400)
    return f"{days} days {rest // 3600}:{rest % 3600 // 60:02d}:{rest % 60:02d}"


@command("INFO")
def handle_info(ctx: Context, message: Message) -> None:
    if elsewhere(ctx, message.param(0)):
        return
    started_at = ctx.svc.started  # this node's start, not the network's founding
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(started_at))
    server = ctx.config.server
    for line in (
        f"hubbub {__version__}: a multi-user chat server speaking IRC",
        f"running on Python {platform.python_version()}",
        f"{ctx.name} of the {server.network} network: {server.description}",
        f"up since {started} ({uptime_text(ctx.now() - started_at)})",
        "HELP lists the commands this server understands.",
    ):
        ctx.conn.numeric(n.RPL_INFO, line)
    ctx.conn.numeric(n.RPL_ENDOFINFO, "End of INFO list")


@command("ADMIN")
def handle_admin(ctx: Context, message: Message) -> None:
    if elsewhere(ctx, message.param(0)):
        return
    config = ctx.config
    admin = config.admin
    ctx.conn.numeric(n.RPL_ADMINME, ctx.name, "Administrative info")
    ctx.conn.numeric(n.RPL_ADMINLOC1, admin.location or config.server.description)
    ctx.conn.numeric(n.RPL_ADMINLOC2, admin.organization or f"The {config.server.network} network")
    ctx.conn.numeric(n.RPL_ADMINEMAIL, admin.email or "No contact address configured")


@command("STATS", min_params=1)
def handle_stats(ctx: Context, message: Message) -> None:
    letter = message.params[0][:1]
    if not letter:
        ctx.conn.numeric(n.ERR_NEEDMOREPARAMS, "STATS", "Not enough parameters")
        return
    if elsewhere(ctx, message.param(1)):
        return
    conn = ctx.conn
    now = ctx.now()
    if letter in OPER_STATS and refused(ctx):
        pass  # 481, and still the 219 below: a client waits for it to end any STATS
    elif letter == "u":
        conn.numeric(n.RPL_STATSUPTIME, f"Server Up {uptime_text(now - ctx.svc.started)}")
    elif letter == "k":
        for kline in ctx.state.klines.active(now):
            user, _, host = kline.mask.rpartition("@")
            left = "permanent" if kline.expires is None else f"expires in {describe_duration(kline.expires - now)}"
            host = "0" + host if host.startswith(":") else host  # `::1` cannot be a middle parameter: `0::1`
            ctx.conn.numeric(n.RPL_STATSKLINE, "K", host, "*", user, f"{kline.reason} ({left}, set by {kline.set_by})")
    elif letter == "o":
        for block in ctx.config.opers:
            ctx.conn.numeric(n.RPL_STATSOLINE, "O", ",".join(block.hosts) or "*@*", "*", block.name)
    ctx.conn.numeric(n.RPL_ENDOFSTATS, letter, "End of /STATS report")


@command("LINKS")
def handle_links(ctx: Context, message: Message) -> None:
    """`LINKS [[<server>] <mask>]`: the servers whose name matches the mask: this one, and
    in a cluster the other nodes, one hop away (the network's state knows their names,
    not their descriptions)."""
    params = message.params
    if len(params) > 1 and elsewhere(ctx, params[0]):
        return
    mask = params[-1] if params and params[-1] else "*"
    if mask_matches(mask, ctx.name):
        ctx.conn.numeric(n.RPL_LINKS, ctx.name, ctx.name, f"0 {ctx.config.server.description}")
    for name in sorted(set(ctx.state.nodes.values()) - {ctx.name}):
        if mask_matches(mask, name):
            ctx.conn.numeric(n.RPL_LINKS, name, ctx.name, f"1 {name}")
    ctx.conn.numeric(n.RPL_ENDOFLINKS, shown(mask), "End of /LINKS list")


def _help_index(ctx: Context) -> None:
    names = sorted(COMMANDS)
    ctx.conn.numeric(n.RPL_HELPSTART, "*", "** hubbub help **")
    ctx.conn.numeric(n.RPL_HELPTXT, "*", "")
    ctx.conn.numeric(n.RPL_HELPTXT, "*", "Type HELP <command> for one of these commands:")
    send_list(ctx.conn, n.RPL_HELPTXT, ["*"], names)
    ctx.conn.numeric(n.RPL_HELPTXT, "*", "")
    ctx.conn.numeric(n.RPL_HELPTXT, "*", "Topics: " + " ".join(TOPICS))
    ctx.conn.numeric(n.RPL_ENDOFHELP, "*", "End of /HELP")


@command("HELP")
def handle_help(ctx: Context, message: Message) -> None:
    subject = message.param(0).strip()
    if not subject:
        _help_index(ctx)
        return
    key = subject.upper()
    entry = HELP.get(key) if key in COMMANDS or key in TOPICS else None
    if entry is None:
        ctx.conn.numeric(n.ERR_HELPNOTFOUND, shown(subject), "No help available on this topic")
        return
    syntax, lines = entry
    ctx.conn.numeric(n.RPL_HELPSTART, key, syntax)
    ctx.conn.numeric(n.RPL_HELPTXT, key, "")
    for line in lines:
        ctx.conn.numeric(n.RPL_HELPTXT, key, line)
    ctx.conn.numeric(n.RPL_ENDOFHELP, key, "End of /HELP")


@command("HELPOP")
def handle_helpop(ctx: Context, message: Message) -> None:
    handle_help(ctx, message)
