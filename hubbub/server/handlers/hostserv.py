"""HostServ: virtual hosts kept with accounts.

An operator gives an account a vhost (`staff.example.org`, `user/alice`: what networks
give their staff and the members who ask); its owner is shown with it, in place of the
cloak, whenever logged in, on every node and after restarts (the store keeps it with
the account). CHGHOST is the same for one connection, until it ends. Commands as on
ergo's and Anope's HostServ (SET, DEL, INFO, LIST); there is no ON/OFF: a vhost is
shown while one is logged in.
"""

from __future__ import annotations

import logging

from hubbub.irc.casemap import casefold, glob_to_regex
from hubbub.irc.message import Message
from hubbub.irc.validate import HOSTLEN, VHOST_RULE, is_valid_vhost
from hubbub.server import vhosts
from hubbub.server.account import Account
from hubbub.server.apply import Outcome
from hubbub.server.commands import command
from hubbub.server.context import Context
from hubbub.server.delivery import new_msgid
from hubbub.server.events import AccountVhostSet
from hubbub.server.handlers.operators import is_oper
from hubbub.server.services import service

log = logging.getLogger("hubbub.opers")

hostserv = service("HostServ", ("HOSTSERV", "HS"), "virtual hosts kept with accounts, given by IRC operators")

LISTED_MAX = 100  # vhosts LIST names at most; past that, how many more match


def _say(ctx: Context, text: str) -> None:
    hostserv.reply(ctx, text)


def _oper_account(ctx: Context, command: str, name: str) -> Account | None:
    """The account an operator's command is about, or None after saying why not."""
    if not is_oper(ctx.user):
        _say(ctx, f"Permission denied: {command} is for IRC operators")
        return None
    account = ctx.state.accounts.get(casefold(name))
    if account is None:
        _say(ctx, f"There is no account {name}")
    return account


def _set(ctx: Context, account: Account, vhost: str, said: str) -> None:
    def done(outcome: Outcome) -> None:
        if outcome.rejected is not None:  # the account dropped meanwhile (a cluster), or unchanged
            _say(ctx, f"There is no account {account.name}" if outcome.rejected != "unchanged" else said)
            return
        log.info("%s %s", ctx.user.prefix, said)
        ctx.notices.send(f"{ctx.user.nick}: {said}")
        _say(ctx, said)
        vhosts.tell_older_nodes(ctx, outcome)  # whoever is logged in to it, as applied

    ctx.emit(AccountVhostSet(account.key, vhost, ctx.now(), new_msgid()), done)


@hostserv.command("SET", 2, "SET <account> <vhost>",
                  "For IRC operators: gives an account a virtual host, shown in place of its owner's "
                  "cloak or address whenever they are logged in, and kept with the account.")  # fmt: skip
def hs_set(ctx: Context, args: list[str]) -> None:
    account = _oper_account(ctx, "SET", args[0])
    if account is None:
        return
    vhost = args[1]
    if not is_valid_vhost(vhost):  # never one that reads as an address
        _say(ctx, f"{vhost[:HOSTLEN + 1]} cannot be a host: {VHOST_RULE}")
        return
    _set(ctx, account, vhost, f"Set the vhost of {account.name} to {vhost}")


@hostserv.command("DEL", 1, "DEL <account>",
                  "For IRC operators: takes an account's virtual host away; its owner is shown "
                  "with the host under it again (their cloak or address, or one CHGHOST gave).")  # fmt: skip
def hs_del(ctx: Context, args: list[str]) -> None:
    account = _oper_account(ctx, "DEL", args[0])
    if account is None:
        return
    if not account.vhost:
        _say(ctx, f"{account.name} has no vhost")
        return
    _set(ctx, account, "", f"Took the vhost of {account.name} away")


@hostserv.command("INFO", 0, "INFO [account]",
                  "Shows your account's virtual host; an IRC operator may name any account.")  # fmt: skip
def hs_info(ctx: Context, args: list[str]) -> None:
    own = ctx.user.account
    if args and (own is None or casefold(args[0]) != casefold(own)):
        account = _oper_account(ctx, "INFO", args[0])  # another's: for operators
        if account is None:
            return
    elif own is None:
        _say(ctx, "You're not logged into an account")
        return
    else:
        account = ctx.state.accounts.get(casefold(own))
        if account is None:
            _say(ctx, "You're not logged into an account")
            return
    if account.vhost:
        _say(ctx, f"The vhost of {account.name} is {account.vhost}")
    else:
        _say(ctx, f"{account.name} has no vhost")


@hostserv.command("LIST", 0, "LIST [pattern]",
                  "For IRC operators: the accounts with a virtual host, whose names match the "
                  "pattern (* and ?).")  # fmt: skip
def hs_list(ctx: Context, args: list[str]) -> None:
    if not is_oper(ctx.user):
        _say(ctx, "Permission denied: LIST is for IRC operators")
        return
    pattern = glob_to_regex(args[0] if args else "*")
    found = sorted((a for a in ctx.state.accounts.values() if a.vhost and pattern.fullmatch(a.key)),
                   key=lambda a: a.key)  # fmt: skip
    for account in found[:LISTED_MAX]:
        _say(ctx, f"{account.name}: {account.vhost}")
    more = len(found) - LISTED_MAX
    counted = "1 account has a vhost" if len(found) == 1 else f"{len(found)} accounts have a vhost"
    _say(ctx, counted + (f"; {more} not shown: narrow the pattern" if more > 0 else ""))


# -- reaching HostServ -----------------------------------------------------------------------


@command("HOSTSERV")
def handle_hostserv(ctx: Context, message: Message) -> None:
    hostserv.run(ctx, [p for param in message.params for p in param.split()])


@command("HS")
def handle_hs(ctx: Context, message: Message) -> None:
    handle_hostserv(ctx, message)
