"""Which host others see for a user logged in to an account with a virtual host.

An operator gives an account a vhost with HostServ (handlers/hostserv.py); it is kept
with the account. Its owner is shown with it from the moment of logging in (at
registration, with SASL, or later with IDENTIFY), and with the host under it again
(its cloak or address) after logging out, as on ergo. Which host that is, is decided
where the login, the logout, the account's drop or the vhost's change is applied
(apply.py), in the network's order, never by the node that emitted it from its own view,
which may be behind: a HostServ SET racing a logout on another node, a vhost changed
between a SASL login's welcome and its applying, end with the same right host on every
node. A host an operator gave with CHGHOST stays through a logout: only the account's
own vhost is taken back.

Nodes of the version before decide nothing when applying: they show the host each
HostSet says. This module says each change again for them, as a HostSet marked
`for_older_nodes`, which this version rejects (it decided already).
"""

from __future__ import annotations

from hubbub.irc.casemap import casefold
from hubbub.server.apply import Outcome
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


def tell_older_nodes(ctx: Context, outcome: Outcome) -> None:
    """The hosts an applied event changed (`outcome.hosts`), said as HostSet events for
    the nodes of the version before."""
    for user, _ in outcome.hosts:
        said_again(ctx, user)


def said_again(ctx: Context, user: User) -> None:
    """`user`'s host as applied here, for the nodes of the version before."""
    ctx.emit(HostSet(user.uid, user.username, user.host, ctx.now(), new_msgid(), for_older_nodes=True))
