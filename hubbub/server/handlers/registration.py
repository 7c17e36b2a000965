"""Connection registration: CAP negotiation, PASS, NICK and USER.

Registration completes when a nick and a user are known and no CAP negotiation is
open; it is refused (464) when the server has a password the client did not give.
NICK also lives here because after registration it is the same claim on a name.
"""

from __future__ import annotations

import hmac
import re

from hubbub.irc import numerics as n
from hubbub.irc.message import Message
from hubbub.irc.validate import is_valid_nick
from hubbub.server import caps, monitor, sts
from hubbub.server.access import refuse_nick_change
from hubbub.server.client import Client
from hubbub.server.commands import command
from hubbub.server.handlers.info import send_welcome
from hubbub.server.handlers.replies import shown

USERLEN = 10
CAP_LINE_BUDGET = 400  # bytes of capability names per CAP LS line before continuing
_USERNAME_JUNK = re.compile(r"[^A-Za-z0-9._-]")


def try_complete_registration(client: Client) -> None:
    if client.registered or client.cap_negotiating or client.nick_key is None or not client.username:
        return
    net = client.net
    wanted = net.config.server.password
    if wanted and not hmac.compare_digest((client.password or "").encode(), wanted.encode()):
        client.numeric(n.ERR_PASSWDMISMATCH, "Password incorrect")
        net.disconnect(client, "Bad password")
        return
    if not net.admit_user(client):  # K-lined: disconnected; operators are told either way
        return
    client.registered = True
    client.signon = client.last_message = net.clock()
    net.count_registration(client)
    send_welcome(client)
    monitor.came_online(client)


# -- CAP ---------------------------------------------------------------------------


def _cap_reply(client: Client, sub: str, *params: str) -> None:
    client.server_message("CAP", client.nick, sub, *params)


def _cap_ls(client: Client, message: Message) -> None:
    version = message.param(1)
    # The version is a number; isdigit() alone would also let "³" through to int().
    asked = int(version) if version.isascii() and version.isdigit() else 0
    # A client keeps the highest version it ever sent, but each reply follows the request.
    client.cap_version = max(client.cap_version, asked)
    if client.cap_version >= 302:
        client.set_cap("cap-notify", True)  # implied by 302
    tokens = caps.ls_tokens(asked, client.net.config, sts.policy(client))
    lines: list[list[str]] = [[]]
    size = 0
    for token in tokens:
        if lines[-1] and size + len(token) + 1 > CAP_LINE_BUDGET and asked >= 302:
            lines.append([])
            size = 0
        lines[-1].append(token)
        size += len(token) + 1
    for i, chunk in enumerate(lines):
        more = ["*"] if i < len(lines) - 1 else []
        _cap_reply(client, "LS", *more, " ".join(chunk))


def _cap_req(client: Client, message: Message) -> None:
    """Accept the whole set or none of it (NAK), as the spec requires."""
    changes = [
        (token[1:], False) if token.startswith("-") else (token, True) for token in message.param(1).split()
    ]
    offered = caps.offered(client.net.config)
    acceptable = bool(changes) and all(
        name in offered
        # cap-notify is part of CAP 302 itself: such a client may not turn it off
        and (enable or name != "cap-notify" or client.cap_version < 302)
        for name, enable in changes
    )
    if not acceptable:
        _cap_reply(client, "NAK", message.param(1))
        return
    for name, enable in changes:
        client.set_cap(name, enable)
    _cap_reply(client, "ACK", " ".join(message.param(1).split()))


@command("CAP", min_params=1, before_registration=True)
def handle_cap(client: Client, message: Message) -> None:
    sub = message.params[0].upper()
    if sub in ("LS", "REQ") and not client.registered:
        client.cap_negotiating = True
    if sub == "LS":
        _cap_ls(client, message)
    elif sub == "LIST":
        _cap_reply(client, "LIST", " ".join(sorted(client.caps)))
    elif sub == "REQ":
        if len(message.params) < 2:
            client.numeric(n.ERR_NEEDMOREPARAMS, "CAP", "Not enough parameters")
            return
        _cap_req(client, message)
    elif sub == "END":
        if not client.registered:
            client.cap_negotiating = False
            try_complete_registration(client)
    else:
        client.numeric(n.ERR_INVALIDCAPCMD, shown(message.params[0]), "Invalid CAP command")


# -- PASS, NICK, USER ----------------------------------------------------------------


@command("PASS", min_params=1, before_registration=True)
def handle_pass(client: Client, message: Message) -> None:
    if client.registered:
        client.numeric(n.ERR_ALREADYREGISTERED, "You may not reregister")
        return
    client.password = message.params[0]


@command("NICK", before_registration=True)
def handle_nick(client: Client, message: Message) -> None:
    nick = message.param(0)
    if not nick:
        client.numeric(n.ERR_NONICKNAMEGIVEN, "No nickname given")
        return
    net = client.net
    if not is_valid_nick(nick, net.config.limits.nicklen):
        client.numeric(n.ERR_ERRONEUSNICKNAME, shown(nick), "Erroneous nickname")
        return
    if net.nick_taken(nick, by=client):
        client.numeric(n.ERR_NICKNAMEINUSE, nick, "Nickname is already in use")
        return
    if nick == client.nick:
        return
    if refuse_nick_change(client, nick):  # banned or muted in a channel: 435
        return
    net.set_nick(client, nick)
    try_complete_registration(client)


@command("USER", min_params=4, before_registration=True)
def handle_user(client: Client, message: Message) -> None:
    if client.registered:
        client.numeric(n.ERR_ALREADYREGISTERED, "You may not reregister")
        return
    username = _USERNAME_JUNK.sub("", message.params[0])[: USERLEN - 1] or "user"
    client.username = "~" + username
    client.realname = message.params[3][: client.net.config.limits.namelen]
    try_complete_registration(client)
