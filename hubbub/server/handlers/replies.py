"""Shaping numeric replies so that each one stays a valid IRC line.

Two things can break a reply that looks fine in a handler:

* Echoing what a client sent. Error numerics name the offending target
  (`403 alice <channel> :No such channel`) in a middle parameter, which cannot be
  empty, contain a space or start with ':'. A client can still send such a value as
  its *last* parameter (`TOPIC :#a b`, `MODE #c +v :`); we show `*` instead, as ergo does.
* Long lists. NAMES and WHOIS channel lists grow with the chat; one line may not pass
  512 bytes, so the list is spread over as many numerics as it needs.
* Long replies. A LIST of a big network or a WHO of a big channel passes the client's
  sendq: it is paced, written as the client reads it (`send_paced`).
"""

from __future__ import annotations

from collections.abc import Iterable

from hubbub.irc import numerics as n
from hubbub.irc.message import MAX_LINE_BODY, Message, shown
from hubbub.server.apply import NOT_ALLOWED, Outcome
from hubbub.server.connection import Connection
from hubbub.server.context import Context
from hubbub.server.engine import Then

__all__ = ["LINE_BUDGET", "send_list", "send_paced", "shown"]

LINE_BUDGET = MAX_LINE_BODY  # bytes of a line before its CRLF


def send_list(conn: Connection, code: str, params: list[str], items: list[str]) -> None:
    """Send `code` with `params` and the space-separated `items` as its last parameter,
    in as many lines as needed to keep each under 512 bytes (nothing when no items)."""
    conn.numeric_list(code, params, items)


def send_paced(ctx: Context, rows: Iterable[Message]) -> None:
    """Send a reply of any length as the client reads it (Connection.paced); a client
    that reads none of it for `limits.ping_timeout` seconds is dropped (it may still be
    sending: its lines wait, so the keepalive would take it for a live one)."""
    ctx.conn.paced(rows, ctx.config.limits.ping_timeout)


def refused_when_applied(conn: Connection, channel: str, then: Then | None = None, told: bool = False) -> Then:
    """The `then` of a KICK, TOPIC or MODE, which apply.py checks again in the network's
    order: the 482 the handler would have given had it seen that order (`NOT_ALLOWED`, or
    some of a MODE line's changes dropped), once per command (`told`: the handler gave
    one already); then `then`."""

    def applied(outcome: Outcome) -> None:
        refused = outcome.rejected == NOT_ALLOWED or outcome.dropped
        if refused and not told and not conn.gone:
            conn.numeric(n.ERR_CHANOPRIVSNEEDED, channel, "You're not channel operator")
        if then is not None:
            then(outcome)

    return applied
