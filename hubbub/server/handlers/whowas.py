"""WHOWAS: who used a nickname that is gone (see hubbub/server/whowas.py).

Operators are also told the address behind the host others saw (`378`, as WHOIS tells
them of a connected user): with cloaks, the one thing that names whom to K-line once a
spammer has left."""

from __future__ import annotations

import time

from hubbub.irc import numerics as n
from hubbub.irc.message import Message
from hubbub.server.commands import command
from hubbub.server.context import Context
from hubbub.server.handlers.operators import is_oper
from hubbub.server.handlers.replies import shown


def _count(text: str) -> int:
    """RFC 1459: up to <count> entries; a non-positive or missing count means all."""
    try:
        return int(text)
    except ValueError:
        return 0


@command("WHOWAS")
def handle_whowas(ctx: Context, message: Message) -> None:
    conn = ctx.conn
    nick = message.param(0)
    if not nick:
        conn.numeric(n.ERR_NONICKNAMEGIVEN, "No nickname given")
        return
    entries = ctx.state.whowas.lookup(nick, _count(message.param(1)))
    if not entries:
        conn.numeric(n.ERR_WASNOSUCHNICK, shown(nick), "There was no such nickname")
    for entry in entries:
        conn.numeric(n.RPL_WHOWASUSER, entry.nick, entry.username, entry.host, "*", entry.realname)
        if entry.ip and is_oper(ctx.user):
            conn.numeric(n.RPL_WHOISHOST, entry.nick, f"was connecting from *@{entry.ip} {entry.ip}")
        left = time.strftime("%a %b %d %H:%M:%S %Y UTC", time.gmtime(entry.when))
        conn.numeric(n.RPL_WHOISSERVER, entry.nick, entry.server or ctx.name, left)
    conn.numeric(n.RPL_ENDOFWHOWAS, shown(nick), "End of WHOWAS")
