"""Which host others see for a user logged in to an account with a virtual host.

An operator gives an account a vhost with HostServ (handlers/hostserv.py); it is kept
with the account. Its owner is shown with it from the moment of logging in (at
registration, with SASL, or later with IDENTIFY), and with its cloak or address again
after logging out, as on ergo. Each change is a HostSet of its own, so everyone sees a
CHGHOST (or the user's next line) and every node applies the same host. A host an
operator gave with CHGHOST stays through a logout: only the account's own vhost is
taken back.
"""

from __future__ import annotations

from hubbub.irc.casemap import casefold
from hubbub.server.context import Context
from hubbub.server.delivery import new_msgid
from hubbub.server.events import HostSet
from hubbub.server.state import ChatState
from hubbub.server.user import User


def account_vhost(state: ChatState, user: User) -> str:
    """The vhost of the account `user` is logged in to; "" for none."""
    if user.account is None:
        return ""
    account = state.accounts.get(casefold(user.account))
    return account.vhost if account is not None else ""


def show(ctx: Context, user: User, vhost: str) -> None:
    """Show `user` (registered) with `vhost`, unless it is already."""
    if vhost and user.registered and user.host != vhost:
        ctx.emit(HostSet(user.uid, user.username, vhost, ctx.now(), new_msgid()))


def take_back(ctx: Context, user: User, vhost: str) -> None:
    """Show `user` with its cloak or address again, if `vhost` (its account's, before a
    logout or the vhost's removal) is what it is shown with."""
    if vhost and user.registered and user.host == vhost:
        ctx.emit(HostSet(user.uid, user.username, ctx.svc.host_for(user.ip, user.group), ctx.now(), new_msgid()))


def logged_in(ctx: Context, user: User, before: str) -> None:
    """After a login: the new account's vhost, or, from an account with one to an
    account without (SASL again), the cloak. `before`: the vhost of the account it was
    logged in to."""
    now = account_vhost(ctx.state, user)
    if now:
        show(ctx, user, now)
    else:
        take_back(ctx, user, before)
