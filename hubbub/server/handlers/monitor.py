"""MONITOR: be told when nicks come online and leave (IRCv3 monitor).

    MONITOR + nick[,nick]...   watch; answers 730/731 with their state now
    MONITOR - nick[,nick]...   stop watching (no reply)
    MONITOR C                  clear the list (no reply)
    MONITOR L                  the list (732..., 733)
    MONITOR S                  the state of every nick on the list (730/731)

The list holds at most `limits.monitor` nicks (MONITOR= in ISUPPORT); past it, 734
names the nicks that were not added. Targets must be nicknames: masks are not
accepted (the specification's protection against nick-change stalking), they are
skipped. The notifications themselves follow the events (announce.py).
"""

from __future__ import annotations

from hubbub.irc import numerics as n
from hubbub.irc.casemap import casefold
from hubbub.irc.message import Message
from hubbub.irc.validate import is_valid_nick
from hubbub.server import metadata
from hubbub.server.commands import command
from hubbub.server.connection import Connection
from hubbub.server.context import Context
from hubbub.server.handlers.replies import LINE_BUDGET, shown


def send_targets(conn: Connection, code: str, targets: list[str]) -> None:
    """`code` with the comma-separated `targets`, in as many lines as 512 bytes need."""
    budget = LINE_BUDGET - len(f":{conn.server} {code} {conn.nick} :".encode())
    line: list[str] = []
    size = 0
    for target in targets:
        cost = len(target.encode()) + (1 if line else 0)
        if line and size + cost > budget:
            conn.numeric(code, ",".join(line))
            line, size, cost = [], 0, cost - 1
        line.append(target)
        size += cost
    if line:
        conn.numeric(code, ",".join(line))


def send_states(ctx: Context, nicks: list[str]) -> None:
    """730 for those of `nicks` online (with their masks), 731 for the others."""
    online: list[str] = []
    offline: list[str] = []
    for nick in nicks:
        user = ctx.state.find_user(nick)
        if user is not None:
            online.append(user.prefix)
        else:
            offline.append(nick)
    send_targets(ctx.conn, n.RPL_MONONLINE, online)
    send_targets(ctx.conn, n.RPL_MONOFFLINE, offline)


def _add(ctx: Context, targets: list[str]) -> None:
    conn = ctx.conn
    limits = ctx.config.limits
    added: list[str] = []
    seen: set[str] = set()  # a nick named twice in one command (a,A) is answered once
    for i, nick in enumerate(targets):
        if not is_valid_nick(nick, limits.nicklen) or casefold(nick) in seen:
            continue
        seen.add(casefold(nick))
        if casefold(nick) not in conn.monitoring and len(conn.monitoring) >= limits.monitor:
            conn.numeric(n.ERR_MONLISTFULL, str(limits.monitor), ",".join(targets[i:]), "Monitor list is full.")
            break
        ctx.monitors.watch(conn, nick)
        added.append(nick)
    send_states(ctx, added)
    if conn.metadata_subs and metadata.aware(conn):  # draft/metadata-2: the keys of those online
        for nick in added:
            user = ctx.state.find_user(nick)
            if user is not None and (lines := metadata.sync_lines(conn, [(user.nick, user.metadata)])):
                metadata.send_batch(conn, user.nick, lines)


@command("MONITOR", min_params=1)
def handle_monitor(ctx: Context, message: Message) -> None:
    conn = ctx.conn
    sub = message.params[0].upper()
    monitors = ctx.monitors
    if sub in ("+", "-"):
        targets = [t for t in message.param(1).split(",") if t]
        if not targets:
            conn.numeric(n.ERR_NEEDMOREPARAMS, "MONITOR", "Not enough parameters")
        elif sub == "+":
            _add(ctx, targets)
        else:
            for nick in targets:
                monitors.unwatch(conn, nick)
    elif sub == "C":
        monitors.clear(conn)
    elif sub == "L":
        send_targets(conn, n.RPL_MONLIST, list(conn.monitoring.values()))
        conn.numeric(n.RPL_ENDOFMONLIST, "End of MONITOR list")
    elif sub == "S":
        send_states(ctx, list(conn.monitoring.values()))
    else:
        conn.fail("MONITOR", "INVALID_PARAMS", shown(message.params[0]), "Unknown MONITOR subcommand")
