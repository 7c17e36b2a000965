"""Server information: MOTD, LUSERS, VERSION, TIME, and the burst sent on registration."""

from __future__ import annotations

import time

from hubbub.irc import numerics as n
from hubbub.irc.casemap import mask_matches
from hubbub.irc.message import Message
from hubbub.server.client import Client
from hubbub.server.commands import command
from hubbub.server.handlers.replies import shown
from hubbub.server.isupport import (
    VERSION,
    isupport_tokens,
    myinfo_modes,
    myinfo_param_modes,
)

ISUPPORT_PER_LINE = 13


def send_isupport(client: Client) -> None:
    tokens = isupport_tokens(client.net.config)
    for i in range(0, len(tokens), ISUPPORT_PER_LINE):
        client.numeric(n.RPL_ISUPPORT, *tokens[i : i + ISUPPORT_PER_LINE], "are supported by this server")


def send_lusers(client: Client) -> None:
    net = client.net
    users = net.user_count
    invisible = net.mode_counts["i"]
    unknown = len(net.clients) - users
    client.numeric(n.RPL_LUSERCLIENT, f"There are {users - invisible} users and {invisible} invisible on 1 servers")
    opers = net.mode_counts["o"]
    if opers:
        client.numeric(n.RPL_LUSEROP, str(opers), "operator(s) online")
    if unknown > 0:
        client.numeric(n.RPL_LUSERUNKNOWN, str(unknown), "unknown connection(s)")
    client.numeric(n.RPL_LUSERCHANNELS, str(len(net.channels)), "channels formed")
    client.numeric(n.RPL_LUSERME, f"I have {users} clients and 0 servers")
    count, peak = str(users), str(net.peak_users)
    client.numeric(n.RPL_LOCALUSERS, count, peak, f"Current local users {count}, max {peak}")
    client.numeric(n.RPL_GLOBALUSERS, count, peak, f"Current global users {count}, max {peak}")


def send_motd(client: Client) -> None:
    lines = client.net.motd
    if not lines:
        client.numeric(n.ERR_NOMOTD, "MOTD File is missing")
        return
    client.numeric(n.RPL_MOTDSTART, f"- {client.net.name} Message of the day - ")
    for line in lines:
        client.numeric(n.RPL_MOTD, f"- {line}")
    client.numeric(n.RPL_ENDOFMOTD, "End of /MOTD command.")


def send_welcome(client: Client) -> None:
    """001-005, LUSERS and MOTD: what every client expects right after registering."""
    net = client.net
    created = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(net.created))
    client.numeric(n.RPL_WELCOME, f"Welcome to the {net.config.server.network} IRC Network {client.prefix}")
    client.numeric(n.RPL_YOURHOST, f"Your host is {net.name}, running version {VERSION}")
    client.numeric(n.RPL_CREATED, f"This server was created {created}")
    user_modes, channel_modes = myinfo_modes()
    client.numeric(n.RPL_MYINFO, net.name, VERSION, user_modes, channel_modes, myinfo_param_modes())
    send_isupport(client)
    send_lusers(client)
    send_motd(client)


def elsewhere(client: Client, target: str) -> bool:
    """Commands with an optional server (MOTD, VERSION, TIME, INFO, ADMIN, STATS) answer
    for this server, named by a mask or by one of its users' nicks; anything else is
    402. True when the command must stop."""
    net = client.net
    if not target or mask_matches(target, net.name) or net.find_user(target) is not None:
        return False
    client.numeric(n.ERR_NOSUCHSERVER, shown(target), "No such server")
    return True


@command("MOTD")
def handle_motd(client: Client, message: Message) -> None:
    if not elsewhere(client, message.param(0)):
        send_motd(client)


@command("LUSERS")
def handle_lusers(client: Client, message: Message) -> None:
    send_lusers(client)


@command("VERSION")
def handle_version(client: Client, message: Message) -> None:
    if elsewhere(client, message.param(0)):
        return
    client.numeric(n.RPL_VERSION, VERSION, client.net.name, "hubbub IRC server")
    send_isupport(client)


@command("TIME")
def handle_time(client: Client, message: Message) -> None:
    if elsewhere(client, message.param(0)):
        return
    now = client.net.clock()
    text = time.strftime("%A %B %d %Y -- %H:%M:%S +00:00", time.gmtime(now))
    client.numeric(n.RPL_TIME, client.net.name, text)
