"""Who flood control leaves alone: trusted bots' accounts, and IRC operators.

Flood control (transport/gate.py) paces every connection alike, a burst and then a few
lines a second, and closes one whose waiting lines pass the recvq ("Excess Flood"). A
bot that pastes a build log or a feed digest is cut by it. `limits.flood_exempt_accounts`
names the accounts whose connections it leaves alone while they are logged in to them
(Solanum's `flood_exempt` auth flag, InspIRCd's connect classes, ergo's `nofakelag`), and
`limits.flood_exempt_opers` does the same for IRC operators while they are +o (charybdis'
`no_oper_flood`): an operator may already KILL, K-line and stop the server, pacing one
protects nothing, and operators paste K-line lists and mass commands.

A user's account and modes change only where events are applied, on every node of a
network, in its order; the gate that paces its lines lives with its connection, on one
node. So this is a subscriber of the engine, on every node: after a login, a logout, an
account's drop or a change of operator status, the user's connection, if it is on this
node, is told whether it is exempt now (`Link.exempt_from_flood`); a reload tells every
local connection again (`refresh`, app.py). Deciding from the applied state, not from
what the emitting handler saw, a logout racing a reload or another node's drop ends
where the state ends.

What still bounds an exempt connection: the line length (the framing), its sendq (it
is dropped past it as anyone is), and its input: its lines are handled as they are
read, so none wait but while its input is held (slow work, a cluster's order), and
then the recvq stops reading from it instead of closing it (transport/pumping.py); each
read is one socket read's worth of lines, and the loop serves everyone else between two.
A channel's own `+f` still counts its lines: that rule is the channel's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hubbub.config import LimitsSection
from hubbub.irc.casemap import casefold
from hubbub.server.apply import Outcome
from hubbub.server.connection import Connection
from hubbub.server.events import AccountDropped, Event, LoggedIn, LoggedOut, UserModesSet
from hubbub.server.user import User

OPER = "o"


def is_exempt(user: User, limits: LimitsSection) -> bool:
    """Whether flood control leaves `user`'s connection alone, under `limits`."""
    if limits.flood_exempt_opers and OPER in user.modes:
        return True
    listed = limits.flood_exempt_accounts
    if user.account is None or not listed:
        return False
    key = casefold(user.account)
    return any(casefold(name) == key for name in listed)


def rule(limits: LimitsSection) -> tuple[frozenset[str], bool]:
    """What decides who is exempt: a reload that changes it tells every connection again."""
    return frozenset(casefold(name) for name in limits.flood_exempt_accounts), limits.flood_exempt_opers


def refresh(conn: Connection, limits: LimitsSection) -> None:
    """Tell `conn`'s link whether it is exempt now (a reload: the lists may have changed)."""
    conn.link.exempt_from_flood(is_exempt(conn.user, limits))


class FloodExemptions:
    """A subscriber of the engine: a local user's exemption follows its account and
    its operator status as they are applied."""

    def __init__(self, limits: Callable[[], LimitsSection]) -> None:
        self._limits = limits  # the settings in force (a reload replaces them)
        self._routes: dict[type[Any], Callable[[Any, Outcome], None]] = {
            LoggedIn: self._account_changed, LoggedOut: self._account_changed, AccountDropped: self._dropped,
            UserModesSet: self._modes_changed,
        }  # fmt: skip

    def route(self, kind: type[Any]) -> Callable[[Any, Outcome], None] | None:
        """Only the events that change an account or operator status (see engine.Routes)."""
        return self._routes.get(kind)

    def __call__(self, event: Event, outcome: Outcome) -> None:
        """For an engine without routes (a cluster's replica): every event comes here."""
        if outcome.rejected is None:
            route = self._routes.get(type(event))
            if route is not None:
                route(event, outcome)

    def _account_changed(self, event: LoggedIn | LoggedOut, outcome: Outcome) -> None:
        if self._limits().flood_exempt_accounts and outcome.user is not None:
            self._tell(outcome.user)

    def _dropped(self, event: AccountDropped, outcome: Outcome) -> None:
        if self._limits().flood_exempt_accounts:
            for user in outcome.audience:  # those it logged out
                self._tell(user)

    def _modes_changed(self, event: UserModesSet, outcome: Outcome) -> None:
        if outcome.user is not None and any(letter == OPER for _, letter in outcome.user_changes):
            self._tell(outcome.user)

    def _tell(self, user: User) -> None:
        conn = user.conn
        if conn is not None:  # on this node
            refresh(conn, self._limits())
