"""Operator commands: OPER, and what operators may then do (KILL, WALLOPS, KLINE,
UNKLINE, REHASH, DIE). Everything here but OPER answers 481 to non-operators.

OPER checks an argon2id hash, which is slow on purpose: the check runs off the event
loop (`Network.run_blocking`) and the reply comes when it is done; the client's later
lines wait for it, and nothing happens if the client has left meanwhile.
"""

from __future__ import annotations

import logging

from hubbub.irc import numerics as n
from hubbub.irc.casemap import casefold
from hubbub.irc.message import MAX_LINE_BODY, Message, fit_utf8
from hubbub.passwords import DECOY_HASH, verify_password
from hubbub.server.client import Client
from hubbub.server.commands import command
from hubbub.server.handlers.replies import shown
from hubbub.server.handlers.usermodes import announce_user_modes, set_user_mode
from hubbub.server.klines import (
    MAX_REASON,
    BadMask,
    HostMask,
    Kline,
    describe_duration,
    normalize_mask,
    parse_duration,
)
from hubbub.server.notify import from_user

log = logging.getLogger("hubbub.opers")

KILL_REASON_LEN = 300


def is_oper(client: Client) -> bool:
    return "o" in client.modes


def refused(client: Client) -> bool:
    """481 for a non-operator; True when the command must stop there."""
    if is_oper(client):
        return False
    client.numeric(n.ERR_NOPRIVILEGES, "Permission Denied- You're not an IRC operator")
    return True


def _who(client: Client) -> str:
    return f"{client.nick} ({client.username}@{client.host})"


def _tell(client: Client, text: str) -> None:
    """A server notice to one operator, confirming what its command did."""
    client.server_message("NOTICE", client.nick, f"*** {text}")


# -- OPER -------------------------------------------------------------------------------


@command("OPER", min_params=2)
def handle_oper(client: Client, message: Message) -> None:
    name, password = message.params[0], message.params[1]
    net = client.net
    block = next((b for b in net.config.opers if b.name == name), None)
    if block is not None and block.hosts:
        if not any(HostMask(mask).matches(client.username, client.host, client.ip) for mask in block.hosts):
            client.numeric(n.ERR_NOOPERHOST, "No O-lines for your host")
            net.notices.send(f"Failed OPER attempt by {_who(client)}: not allowed from this host as {name}")
            return
    stored = block.password_hash if block is not None else DECOY_HASH

    def checked(ok: bool) -> None:
        if block is None or not ok:
            client.numeric(n.ERR_PASSWDMISMATCH, "Password incorrect")
            net.notices.send(f"Failed OPER attempt by {_who(client)}")
            return
        changes = set_user_mode(client, "o", True)
        client.numeric(n.RPL_YOUREOPER, "You are now an IRC operator")
        announce_user_modes(client, changes)
        log.info("%s is now an operator as %s", client.prefix, block.name)
        net.notices.send(f"{_who(client)} is now an operator (as {block.name})", exclude=client)

    net.run_blocking(client, lambda: verify_password(stored, password), checked)


# -- KILL, WALLOPS ----------------------------------------------------------------------


@command("KILL", min_params=1)
def handle_kill(client: Client, message: Message) -> None:
    if refused(client):
        return
    net = client.net
    nick = message.params[0]
    if casefold(nick) == casefold(net.name):
        client.numeric(n.ERR_CANTKILLSERVER, "You cant kill a server!")
        return
    victim = net.find_user(nick)
    if victim is None:
        client.numeric(n.ERR_NOSUCHNICK, shown(nick), "No such nick/channel")
        return
    reason = message.param(1)[:KILL_REASON_LEN] or "No reason given"
    victim.send(Message("KILL", [victim.nick, reason], client.prefix))
    log.info("%s killed %s (%s)", client.prefix, victim.prefix, reason)
    net.notices.send(f"Received KILL message for {_who(victim)} from {client.nick}: {reason}")
    net.disconnect(victim, f"Killed ({client.nick} ({reason}))")


@command("WALLOPS", min_params=1)
def handle_wallops(client: Client, message: Message) -> None:
    if refused(client):
        return
    text = message.params[0]
    if not text:
        client.numeric(n.ERR_NEEDMOREPARAMS, "WALLOPS", "Not enough parameters")
        return
    room = MAX_LINE_BODY - len(f":{client.prefix} WALLOPS :".encode())
    out = from_user(client, Message("WALLOPS", [fit_utf8(text, room)], client.prefix))
    # Every +w user, and the sender as an echo (Modern IRC allows both).
    for other in list(client.net.clients):
        if other.registered and ("w" in other.modes or other is client):
            other.deliver(out)


# -- KLINE, UNKLINE ---------------------------------------------------------------------


@command("KLINE", min_params=1)
def handle_kline(client: Client, message: Message) -> None:
    """`KLINE [duration] <user@host | host | nick> [:reason]`; a nick stands for `*@its host`."""
    if refused(client):
        return
    net = client.net
    params = list(message.params)
    seconds = parse_duration(params[0]) if len(params) >= 2 else None
    if seconds is not None:
        params.pop(0)
    target = params[0]
    reason = (params[1] if len(params) > 1 else "")[:MAX_REASON] or "No reason given"
    user = net.find_user(target) if "@" not in target else None
    if user is not None:
        target = f"*@{user.host}"
    try:
        mask = normalize_mask(target)
    except BadMask as exc:
        client.fail("KLINE", "INVALID_MASK", shown(target), str(exc))
        return
    now = net.clock()
    kline = Kline(mask, reason, client.nick, now, now + seconds if seconds else None)
    if kline.matches(client.username, client.host, client.ip):
        client.fail("KLINE", "INVALID_MASK", shown(mask), "That mask matches you; it was not set")
        return
    net.klines.add(kline)
    lasting = f"for {describe_duration(seconds)}" if seconds else "permanently"
    _tell(client, f"Added K-line on {mask} {lasting}: {reason}")
    net.notices.send(f"{client.nick} added a K-line on {mask} {lasting}: {reason}", exclude=client)
    log.info("%s added a K-line on %s %s: %s", client.prefix, mask, lasting, reason)
    enforce_kline(client, kline)


def enforce_kline(setter: Client, kline: Kline) -> None:
    """Disconnect whoever is connected already and matches the new K-line."""
    net = setter.net
    for other in list(net.clients):
        if not other.gone and kline.matches(other.username, other.host, other.ip):
            net.notices.send(f"K-line active for {_who(other)} [{other.ip}]: {kline.mask}")
            net.disconnect(other, f"K-Lined: {kline.reason}")


@command("UNKLINE", min_params=1)
def handle_unkline(client: Client, message: Message) -> None:
    if refused(client):
        return
    net = client.net
    removed = net.klines.remove(message.params[0], net.clock())
    if removed is None:
        client.fail("UNKLINE", "NO_SUCH_KLINE", shown(message.params[0]), "No K-line is set on that mask")
        return
    _tell(client, f"Removed K-line on {removed.mask}")
    net.notices.send(f"{client.nick} removed the K-line on {removed.mask}", exclude=client)
    log.info("%s removed the K-line on %s", client.prefix, removed.mask)


# -- REHASH, DIE ------------------------------------------------------------------------


@command("REHASH")
def handle_rehash(client: Client, message: Message) -> None:
    if refused(client):
        return
    net = client.net
    control = net.control
    if control is None:
        client.fail("REHASH", "UNAVAILABLE", "This server cannot reload its configuration")
        return
    client.numeric(n.RPL_REHASHING, control.config_name, "Rehashing")
    net.notices.send(f"{client.nick} is rehashing the server configuration", exclude=client)

    def report(error: str | None, notes: list[str]) -> None:
        if client.gone:
            return
        if error is not None:
            client.fail("REHASH", "CONFIG_ERROR", f"Configuration not reloaded: {error}")
            return
        for note in notes:
            _tell(client, note)
        _tell(client, "Configuration reloaded")

    control.rehash(report)


@command("DIE")
def handle_die(client: Client, message: Message) -> None:
    if refused(client):
        return
    net = client.net
    target = message.param(0)
    if target and casefold(target) != casefold(net.name):  # `DIE <server>` as a safety catch
        client.numeric(n.ERR_NOSUCHSERVER, shown(target), "No such server")
        return
    if net.control is None:
        client.fail("DIE", "UNAVAILABLE", "This server cannot be shut down from IRC")
        return
    log.warning("%s asked the server to shut down (DIE)", client.prefix)
    net.notices.send(f"{client.nick} is shutting the server down")
    net.control.die("Server shutting down")
