"""What the server says about itself: INFO, ADMIN, STATS and HELP (HELPOP).

INFO, ADMIN and STATS accept an optional server target, as the specs have it: our
name, a wildcard matching it, or the nick of a user (all of them are here); anything
else is 402. STATS letters that reveal configuration (k, o) are for operators.
"""

from __future__ import annotations

import platform
import time

from hubbub import __version__
from hubbub.irc import numerics as n
from hubbub.irc.message import Message
from hubbub.server.client import Client
from hubbub.server.commands import COMMANDS, command
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
def handle_info(client: Client, message: Message) -> None:
    if elsewhere(client, message.param(0)):
        return
    net = client.net
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(net.created))
    for line in (
        f"hubbub {__version__}: a multi-user chat server speaking IRC",
        f"running on Python {platform.python_version()}",
        f"{net.name} of the {net.config.server.network} network: {net.config.server.description}",
        f"up since {started} ({uptime_text(net.clock() - net.created)})",
        "HELP lists the commands this server understands.",
    ):
        client.numeric(n.RPL_INFO, line)
    client.numeric(n.RPL_ENDOFINFO, "End of INFO list")


@command("ADMIN")
def handle_admin(client: Client, message: Message) -> None:
    if elsewhere(client, message.param(0)):
        return
    config = client.net.config
    admin = config.admin
    client.numeric(n.RPL_ADMINME, client.net.name, "Administrative info")
    client.numeric(n.RPL_ADMINLOC1, admin.location or config.server.description)
    client.numeric(n.RPL_ADMINLOC2, admin.organization or f"The {config.server.network} network")
    client.numeric(n.RPL_ADMINEMAIL, admin.email or "No contact address configured")


@command("STATS", min_params=1)
def handle_stats(client: Client, message: Message) -> None:
    letter = message.params[0][:1]
    if not letter:
        client.numeric(n.ERR_NEEDMOREPARAMS, "STATS", "Not enough parameters")
        return
    if elsewhere(client, message.param(1)):
        return
    if letter in OPER_STATS and refused(client):
        return
    net = client.net
    now = net.clock()
    if letter == "u":
        client.numeric(n.RPL_STATSUPTIME, f"Server Up {uptime_text(now - net.created)}")
    elif letter == "k":
        for kline in net.klines.active(now):
            user, _, host = kline.mask.rpartition("@")
            left = "permanent" if kline.expires is None else f"expires in {describe_duration(kline.expires - now)}"
            client.numeric(n.RPL_STATSKLINE, "K", host, "*", user, f"{kline.reason} ({left}, set by {kline.set_by})")
    elif letter == "o":
        for block in net.config.opers:
            client.numeric(n.RPL_STATSOLINE, "O", ",".join(block.hosts) or "*@*", "*", block.name)
    client.numeric(n.RPL_ENDOFSTATS, letter, "End of /STATS report")


def _help_index(client: Client) -> None:
    names = sorted(COMMANDS)
    client.numeric(n.RPL_HELPSTART, "*", "** hubbub help **")
    client.numeric(n.RPL_HELPTXT, "*", "")
    client.numeric(n.RPL_HELPTXT, "*", "Type HELP <command> for one of these commands:")
    send_list(client, n.RPL_HELPTXT, ["*"], names)
    client.numeric(n.RPL_HELPTXT, "*", "")
    client.numeric(n.RPL_HELPTXT, "*", "Topics: " + " ".join(TOPICS))
    client.numeric(n.RPL_ENDOFHELP, "*", "End of /HELP")


@command("HELP")
def handle_help(client: Client, message: Message) -> None:
    subject = message.param(0).strip()
    if not subject:
        _help_index(client)
        return
    key = subject.upper()
    entry = HELP.get(key) if key in COMMANDS or key in TOPICS else None
    if entry is None:
        client.numeric(n.ERR_HELPNOTFOUND, shown(subject), "No help available on this topic")
        return
    syntax, lines = entry
    client.numeric(n.RPL_HELPSTART, key, syntax)
    client.numeric(n.RPL_HELPTXT, key, "")
    for line in lines:
        client.numeric(n.RPL_HELPTXT, key, line)
    client.numeric(n.RPL_ENDOFHELP, key, "End of /HELP")


@command("HELPOP")
def handle_helpop(client: Client, message: Message) -> None:
    handle_help(client, message)
