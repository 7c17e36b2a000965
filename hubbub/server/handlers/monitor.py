"""MONITOR: be told when nicks come online and leave (IRCv3 monitor).

    MONITOR + nick[,nick]...   watch; answers 730/731 with their state now
    MONITOR - nick[,nick]...   stop watching (no reply)
    MONITOR C                  clear the list (no reply)
    MONITOR L                  the list (732..., 733)
    MONITOR S                  the state of every nick on the list (730/731)

The list holds at most `limits.monitor` nicks (MONITOR= in ISUPPORT); past it, 734
names the nicks that were not added. Targets must be nicknames: masks are not
accepted (the specification's protection against nick-change stalking), they are
skipped. The notifications themselves are sent from monitor.py.
"""

from __future__ import annotations

from hubbub.irc import numerics as n
from hubbub.irc.casemap import casefold
from hubbub.irc.message import Message
from hubbub.irc.validate import is_valid_nick
from hubbub.server.client import Client
from hubbub.server.commands import command
from hubbub.server.handlers.replies import LINE_BUDGET, shown


def send_targets(client: Client, code: str, targets: list[str]) -> None:
    """`code` with the comma-separated `targets`, in as many lines as 512 bytes need."""
    budget = LINE_BUDGET - len(f":{client.net.name} {code} {client.nick} :".encode())
    line: list[str] = []
    size = 0
    for target in targets:
        cost = len(target.encode()) + (1 if line else 0)
        if line and size + cost > budget:
            client.numeric(code, ",".join(line))
            line, size, cost = [], 0, cost - 1
        line.append(target)
        size += cost
    if line:
        client.numeric(code, ",".join(line))


def send_states(client: Client, nicks: list[str]) -> None:
    """730 for those of `nicks` online (with their masks), 731 for the others."""
    online: list[str] = []
    offline: list[str] = []
    for nick in nicks:
        user = client.net.find_user(nick)
        if user is not None:
            online.append(user.prefix)
        else:
            offline.append(nick)
    send_targets(client, n.RPL_MONONLINE, online)
    send_targets(client, n.RPL_MONOFFLINE, offline)


def _add(client: Client, targets: list[str]) -> None:
    net = client.net
    limits = net.config.limits
    added: list[str] = []
    for i, nick in enumerate(targets):
        if not is_valid_nick(nick, limits.nicklen):
            continue
        if casefold(nick) not in client.monitoring and len(client.monitoring) >= limits.monitor:
            client.numeric(n.ERR_MONLISTFULL, str(limits.monitor), ",".join(targets[i:]), "Monitor list is full.")
            break
        net.monitors.watch(client, nick)
        added.append(nick)
    send_states(client, added)


@command("MONITOR", min_params=1)
def handle_monitor(client: Client, message: Message) -> None:
    sub = message.params[0].upper()
    monitors = client.net.monitors
    if sub in ("+", "-"):
        targets = [t for t in message.param(1).split(",") if t]
        if not targets:
            client.numeric(n.ERR_NEEDMOREPARAMS, "MONITOR", "Not enough parameters")
        elif sub == "+":
            _add(client, targets)
        else:
            for nick in targets:
                monitors.unwatch(client, nick)
    elif sub == "C":
        monitors.clear(client)
    elif sub == "L":
        send_targets(client, n.RPL_MONLIST, list(client.monitoring.values()))
        client.numeric(n.RPL_ENDOFMONLIST, "End of MONITOR list")
    elif sub == "S":
        send_states(client, list(client.monitoring.values()))
    else:
        client.fail("MONITOR", "INVALID_PARAMS", shown(message.params[0]), "Unknown MONITOR subcommand")
