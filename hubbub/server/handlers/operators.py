"""Operator commands: OPER, and what operators may then do (KILL, WALLOPS, SANICK,
CHGHOST, KLINE, UNKLINE, REHASH, DIE). Everything here but OPER answers 481 to non-operators.

OPER checks an argon2id hash, which is slow on purpose: the check runs off the event
loop (`Context.run_blocking`) and the reply comes when it is done; the client's later
lines wait for it, and nothing happens if the client has left meanwhile. Guessing is
throttled like logging in to an account (logins.py), with the same counters: an address
or a connection with too many recent failures is refused without a check, a connection
that keeps trying is closed, and every failure is logged and told to the operators
watching server notices.
"""

from __future__ import annotations

import logging

from hubbub.irc import numerics as n
from hubbub.irc.casemap import casefold
from hubbub.irc.message import MAX_LINE_BODY, Message, fit_utf8
from hubbub.irc.validate import VHOST_RULE, cidr_block, is_valid_nick, is_valid_vhost
from hubbub.passwords import DECOY_HASH, verify_password
from hubbub.server import logins
from hubbub.server.apply import Outcome
from hubbub.server.commands import command
from hubbub.server.context import Context
from hubbub.server.delivery import new_msgid
from hubbub.server.events import DigestAsked, HostSet, KlineAdded, KlineRemoved, NickSet, UserQuit, Wallops
from hubbub.server.handlers.replies import shown
from hubbub.server.handlers.usermodes import set_user_modes
from hubbub.server.klines import (
    MAX_REASON,
    BadMask,
    HostMask,
    Kline,
    describe_duration,
    normalize_mask,
    parse_duration,
)
from hubbub.server.logins import throttled_text
from hubbub.server.services import is_service_nick
from hubbub.server.user import User

log = logging.getLogger("hubbub.opers")

KILL_REASON_LEN = 300  # bytes


def is_oper(user: User) -> bool:
    return "o" in user.modes


def refused(ctx: Context) -> bool:
    """481 for a non-operator; True when the command must stop there."""
    if is_oper(ctx.user):
        return False
    ctx.conn.numeric(n.ERR_NOPRIVILEGES, "Permission Denied- You're not an IRC operator")
    return True


def _who(user: User) -> str:
    return f"{user.nick} ({user.username}@{user.host})"


def _tell(ctx: Context, text: str) -> None:
    """A server notice to one operator, confirming what its command did."""
    ctx.conn.server_message("NOTICE", ctx.conn.nick, f"*** {text}")


# -- OPER -------------------------------------------------------------------------------


def _count(ctx: Context) -> bool:
    return logins.count_attempt(ctx, "Too many failed OPER attempts")


def _refused(ctx: Context) -> float | None:
    """Seconds this connection must wait before trying again (its address or itself
    failed too often lately), or None."""
    wait = logins.throttle_wait(ctx, f"ip:{ctx.user.group}")
    own = logins.connection_wait(ctx)
    if own is not None:
        wait = max(wait or 0.0, own)
    return wait


def _oper_failed(ctx: Context, why: str) -> None:
    """Count a failed OPER against the address and the connection, and say so."""
    user = ctx.user
    logins.count_failure(ctx, f"ip:{user.group}")
    ctx.notices.send(f"Failed OPER attempt by {_who(user)}{why}")
    ctx.svc.audit.oper_failed(user, why.removeprefix(": ") or "wrong name or password")
    _count(ctx)


@command("OPER", min_params=2)
def handle_oper(ctx: Context, message: Message) -> None:
    # `/oper alice correct horse` reaches us as three parameters (irssi, WeeChat, HexChat):
    # the password is the rest of the line, spaces included
    name, password = message.params[0], " ".join(message.params[1:])
    user = ctx.user
    wait = _refused(ctx)
    if wait is not None:  # refused unchecked, a right password too: no way to tell a guess worked
        ctx.conn.numeric(n.ERR_PASSWDMISMATCH, throttled_text(wait))
        ctx.svc.audit.oper_failed(user, "refused, too many failed attempts")
        _count(ctx)
        return
    block = next((b for b in ctx.config.opers if b.name == name), None)
    # From a host the block does not allow, answered as a wrong password, after as long:
    # a name that exists is not told apart from one that does not (the operators
    # watching, and the log, are told why)
    elsewhere = block is not None and bool(block.hosts) and not any(
        HostMask(mask).matches(user.username, user.host, user.ip) for mask in block.hosts)
    stored = block.password_hash if block is not None and not elsewhere else DECOY_HASH

    def checked(ok: bool) -> None:
        if block is None or elsewhere or not ok:
            ctx.conn.numeric(n.ERR_PASSWDMISMATCH, "Password incorrect")
            _oper_failed(ctx, f": not allowed from this host as {name}" if elsewhere else "")
            return
        ctx.conn.login_failures = None
        ctx.conn.numeric(n.RPL_YOUREOPER, "You are now an IRC operator")
        set_user_modes(ctx, [(True, "o")])
        log.info("%s is now an operator as %s", user.prefix, block.name)
        ctx.notices.send(f"{_who(user)} is now an operator (as {block.name})", exclude=ctx.conn)

    if not ctx.run_blocking(lambda: verify_password(stored, password), checked):
        busy = "Server load is temporarily too heavy. Please wait a while and try again."
        ctx.conn.numeric(n.RPL_TRYAGAIN, "OPER", busy)


# -- KILL, WALLOPS ----------------------------------------------------------------------


@command("KILL", min_params=1)
def handle_kill(ctx: Context, message: Message) -> None:
    if refused(ctx):
        return
    nick = message.params[0]
    if casefold(nick) == casefold(ctx.name):
        ctx.conn.numeric(n.ERR_CANTKILLSERVER, "You cant kill a server!")
        return
    victim = ctx.state.find_user(nick)
    if victim is None:
        ctx.conn.numeric(n.ERR_NOSUCHNICK, shown(nick), "No such nick/channel")
        return
    reason = fit_utf8(message.param(1), KILL_REASON_LEN) or "No reason given"
    log.info("%s killed %s (%s)", ctx.user.prefix, victim.prefix, reason)
    ctx.notices.send(f"Received KILL message for {_who(victim)} from {ctx.user.nick}: {reason}")
    quit_reason = f"Killed ({ctx.user.nick} ({reason}))"
    ctx.emit(UserQuit(victim.uid, quit_reason, ctx.now(), new_msgid(), killer=ctx.user.uid, kill_text=reason))


@command("WALLOPS", min_params=1)
def handle_wallops(ctx: Context, message: Message) -> None:
    if refused(ctx):
        return
    text = message.params[0]
    if not text:
        ctx.conn.numeric(n.ERR_NEEDMOREPARAMS, "WALLOPS", "Not enough parameters")
        return
    room = MAX_LINE_BODY - len(f":{ctx.user.prefix} WALLOPS :".encode())
    ctx.emit(Wallops(ctx.user.uid, fit_utf8(text, room), ctx.now(), new_msgid()))


# -- SANICK, CHGHOST -------------------------------------------------------------------------


def _operand(ctx: Context, nick: str) -> User | None:
    """The user an operator's command is about, or None after 481 (not an operator) or
    401 (nobody of that nick, or one still registering)."""
    if refused(ctx):
        return None
    target = ctx.state.find_user(nick)
    if target is None or not target.registered:
        ctx.conn.numeric(n.ERR_NOSUCHNICK, shown(nick), "No such nick/channel")
        return None
    return target


@command("SANICK", min_params=2)
def handle_sanick(ctx: Context, message: Message) -> None:
    """`SANICK <nick> <new nick>` (ergo's, InspIRCd's, Unreal's): an operator renames a
    user whose nick offends, rather than disconnecting it. Never onto a service's nick, one
    in use, or an account's nick that the user is not logged in to (its owner's, which
    the enforcement would take back)."""
    nick, new = message.params[0], message.params[1]
    target = _operand(ctx, nick)
    if target is None:
        return
    if not is_valid_nick(new, ctx.config.limits.nicklen) or is_service_nick(new):
        ctx.conn.numeric(n.ERR_ERRONEUSNICKNAME, shown(new), "Erroneous nickname")
        return
    if ctx.state.nick_taken(new, by=target):
        ctx.conn.numeric(n.ERR_NICKNAMEINUSE, new, "Nickname is already in use")
        return
    owner = ctx.state.accounts.get(casefold(new))
    if owner is not None and (target.account is None or casefold(target.account) != owner.key):
        ctx.conn.numeric(n.ERR_NICKNAMEINUSE, new, "Nickname is registered to another account")
        return
    if new == target.nick:
        return
    old = _who(target)

    def done(outcome: Outcome) -> None:
        if outcome.rejected == "taken":  # by someone else first (a cluster)
            ctx.conn.numeric(n.ERR_NICKNAMEINUSE, new, "Nickname is already in use")
        if outcome.rejected is not None:  # or the user left meanwhile
            return
        log.info("%s renamed %s to %s", ctx.user.prefix, old, new)
        ctx.notices.send(f"{ctx.user.nick} used SANICK to rename {old} to {new}")
        _tell(ctx, f"{nick} is now {new}")

    ctx.emit(NickSet(target.uid, new, ctx.now(), new_msgid()), done)


@command("CHGHOST", min_params=2)
def handle_chghost(ctx: Context, message: Message) -> None:
    """`CHGHOST <nick> <host>` (InspIRCd's and Unreal's): a virtual host, such as
    `staff.example.org`, in place of the cloak or address others see, until the user
    disconnects; `CHGHOST <nick> *` gives back the one it connected with."""
    nick, wanted = message.params[0], message.params[1]
    target = _operand(ctx, nick)
    if target is None:
        return
    host = ctx.svc.host_for(target.ip, target.group) if wanted == "*" else wanted
    if wanted != "*" and not is_valid_vhost(host):  # never one that reads as an address
        _tell(ctx, f"{shown(wanted)} cannot be a host: {VHOST_RULE}")
        return
    if host == target.host:
        _tell(ctx, f"{target.nick}'s host is {host} already")
        return
    log.info("%s set the host of %s to %s", ctx.user.prefix, target.prefix, host)
    ctx.notices.send(f"{ctx.user.nick} set the host of {_who(target)} to {host}")
    _tell(ctx, f"The host of {target.nick} is now {host}")
    ctx.emit(HostSet(target.uid, target.username, host, ctx.now(), new_msgid()))


# -- KLINE, UNKLINE ---------------------------------------------------------------------


def kline_arguments(params: list[str]) -> tuple[float | None, str, list[str]]:
    """KLINE's duration in seconds (None or 0: permanent), target and reason's words, in
    either order operators type them: ours and ratbox's `KLINE 1h *@host :reason`, and
    InspIRCd's and Unreal's `KLINE *@host 1h :reason`, which read the other way would set
    a permanent K-line whose reason is "1h". A reason sent without its colon keeps all its words."""
    if len(params) >= 2:
        for at in (0, 1):
            seconds = parse_duration(params[at])
            if seconds is not None:
                return seconds, params[1 - at], params[2:]
    return None, params[0], params[1:]


def looks_like_a_nick(target: str) -> bool:
    """A word that can only be a nick (no `@`, `.`, `:`, `/` or wildcard): one not
    connected is answered 401 rather than K-lined as a host of that name, which no
    client has."""
    return not any(c in target for c in "@.:/*?")


@command("KLINE", min_params=1)
def handle_kline(ctx: Context, message: Message) -> None:
    """`KLINE [duration] <user@host | host | nick> [:reason]`; a nick stands for `*@its address`
    (an IPv6 one's block as limits count it), whatever host it is shown with: a cloak, a
    vhost or a CHGHOST name may be shared by others, and its owner reconnects without it.
    Only a user with no address to name (a Unix socket's) is K-lined by its host."""
    if refused(ctx):
        return
    user = ctx.user
    seconds, target, words = kline_arguments(message.params)
    reason = fit_utf8(" ".join(words), MAX_REASON) or "No reason given"
    named = ctx.state.find_user(target) if "@" not in target else None
    if named is not None:
        # its address: what operators read (WHOIS), checked as a connection is accepted,
        # and kept whatever becomes of a cloak's key, a vhost or a host CHGHOST gave
        target = f"*@{named.group}" if cidr_block(named.group) is not None else f"*@{named.host}"
    elif looks_like_a_nick(target):
        ctx.conn.numeric(n.ERR_NOSUCHNICK, target, "No such nick (to K-line a host by name, write *@host)")
        return
    try:
        mask = normalize_mask(target)
    except BadMask as exc:
        ctx.conn.fail("KLINE", "INVALID_MASK", shown(target), str(exc))
        return
    now = ctx.now()
    expires = now + seconds if seconds else None
    if Kline(mask, reason, user.nick, now, expires).matches(user.username, user.host, user.ip):
        ctx.conn.fail("KLINE", "INVALID_MASK", shown(mask), "That mask matches you; it was not set")
        return
    lasting = f"for {describe_duration(seconds)}" if seconds else "permanently"
    _tell(ctx, f"Added K-line on {mask} {lasting}: {reason}")
    ctx.notices.send(f"{user.nick} added a K-line on {mask} {lasting}: {reason}", exclude=ctx.conn)
    log.info("%s added a K-line on %s %s: %s", user.prefix, mask, lasting, reason)
    ctx.emit(KlineAdded(mask, reason, user.nick, now, expires))  # those it matches are disconnected


@command("UNKLINE", min_params=1)
def handle_unkline(ctx: Context, message: Message) -> None:
    if refused(ctx):
        return
    now = ctx.now()
    found = ctx.state.klines.get(message.params[0], now)
    if found is None:
        ctx.conn.fail("UNKLINE", "NO_SUCH_KLINE", shown(message.params[0]), "No K-line is set on that mask")
        return
    ctx.emit(KlineRemoved(found.mask, now))
    _tell(ctx, f"Removed K-line on {found.mask}")
    ctx.notices.send(f"{ctx.user.nick} removed the K-line on {found.mask}", exclude=ctx.conn)
    log.info("%s removed the K-line on %s", ctx.user.prefix, found.mask)


# -- REHASH, DIE ------------------------------------------------------------------------


@command("REHASH")
def handle_rehash(ctx: Context, message: Message) -> None:
    """382 at once; the reload's answer (a notice per setting that stayed, then
    `Configuration reloaded`, or FAIL) once the file is read off the loop and put in force.
    The other operators watching server notices hear who asked for it, and the runtime
    tells every watcher how it ended; an operator that watches them itself has its
    `Configuration reloaded` as that server notice only: one notice for one reload.

    The operator's later lines wait for that answer (`Context.later`, holding its input,
    as `run_blocking` does), so that a command sent right after a REHASH sees the new
    configuration and its reply comes after the REHASH's; a labeled REHASH's reply is
    completed by the answer. Not `run_blocking` itself: the reload is the server's own
    work (shared with SIGHUP and with other operators' REHASH, one at a time), never
    refused as busy, and the runtime answers every request once.
    """
    if refused(ctx):
        return
    control = ctx.svc.control
    if control is None:
        ctx.conn.fail("REHASH", "UNAVAILABLE", "This server cannot reload its configuration")
        return
    ctx.conn.numeric(n.RPL_REHASHING, control.config_name, "Rehashing")
    ctx.notices.send(f"{ctx.user.nick} is rehashing the server configuration", exclude=ctx.conn)

    def answer(outcome: tuple[str | None, list[str], bool]) -> None:
        error, notes, told = outcome
        if error is not None:
            ctx.conn.fail("REHASH", "CONFIG_ERROR", f"Configuration not reloaded: {error}")
            return
        for note in notes:
            _tell(ctx, note)
        if not told:
            _tell(ctx, "Configuration reloaded")

    later = ctx.later(answer, hold_input=True)  # nothing runs if the operator has left meanwhile
    # The runtime tells every operator watching server notices (+s) how a reload ended,
    # whoever asked for it (a SIGHUP too), just before it reports to each REHASH: an
    # operator among them has had its `Configuration reloaded` already, and gets it once.
    control.rehash(lambda error, notes: later((error, notes, ctx.conn in ctx.notices.watchers)))


@command("DIE")
def handle_die(ctx: Context, message: Message) -> None:
    if refused(ctx):
        return
    target = message.param(0)
    if target and casefold(target) != casefold(ctx.name):  # `DIE <server>` as a safety catch
        ctx.conn.numeric(n.ERR_NOSUCHSERVER, shown(target), "No such server")
        return
    control = ctx.svc.control
    if control is None:
        ctx.conn.fail("DIE", "UNAVAILABLE", "This server cannot be shut down from IRC")
        return
    log.warning("%s asked the server to shut down (DIE)", ctx.user.prefix)
    ctx.notices.send(f"{ctx.user.nick} is shutting the server down")
    control.die("Server shutting down")


# -- DIGEST -------------------------------------------------------------------------------


@command("DIGEST")
def handle_digest(ctx: Context, message: Message) -> None:
    """Every node answers with its replica's digest (server/digest.py): they should agree."""
    if refused(ctx):
        return
    ctx.emit(DigestAsked(ctx.user.uid, new_msgid(), ctx.now()))
