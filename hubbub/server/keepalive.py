"""Timeouts: registration deadline, keepalive PING, and ping timeout.

One sweep over this node's connections every few seconds replaces a timer per
connection, which would have to be re-armed on every line received.
"""

from __future__ import annotations

from hubbub.config import AccountsSection, LimitsSection
from hubbub.server.context import Services
from hubbub.server.handlers import nickserv
from hubbub.server.throttle import timeout_seconds

# Said before the ERROR to a connection closed for giving no name in time, whose last
# words would otherwise be a line of IRC (the greeting invited a person to type one)
NO_NAME_IN_TIME = "*** Disconnected: no nickname was chosen in time. Connect again and type one."


def sweep(svc: Services, now: float) -> None:
    lim = svc.config.limits
    svc.login_throttle.sweep(now)  # failures past their window: forgotten, not only pushed out
    svc.state.login_failures.sweep(now)
    svc.register_throttle.sweep(now)
    svc.state.registrations.sweep(now)
    svc.state.connects.sweep(now)
    for conn in svc.connections():
        if conn.gone:
            continue
        if not conn.registered:
            # A person typing names (plain mode) is there while it types: its time runs
            # from its last try (up to ten times the timeout in all); a program's from its
            # connection
            since = conn.user.connected_at
            if not conn.output.answers_pings:
                since = min(conn.last_activity, since + 9 * lim.registration_timeout)
            if now - since >= lim.registration_timeout:
                if conn.user.nick == "*" and conn.output.answers_pings:
                    # no name given, nor a line that made it plain mode: maybe a person who
                    # read the greeting (plain/intake.py) and typed nothing; said as it was
                    conn.server_message("NOTICE", "*", NO_NAME_IN_TIME)
                svc.disconnect(conn, "Registration timed out")
            continue
        if conn.enforce_at is not None and now >= conn.enforce_at:
            ctx = svc.local.get(conn.user.uid)
            if ctx is not None:
                nickserv.take_back(ctx)
        if not conn.output.answers_pings:
            continue  # a person with netcat cannot answer PING; TCP keepalive covers them
        # lines of its that our flood control delays are not its silence (its PONG may be
        # among them): it is idle only from the last line it sent, handled or not
        idle = 0.0 if conn.link.input_waiting() else now - conn.last_activity
        if idle >= lim.ping_interval + lim.ping_timeout:
            svc.disconnect(conn, f"Ping timeout: {timeout_seconds(idle)} seconds")
        elif idle >= lim.ping_interval and not conn.ping_sent:
            conn.ping_sent = True
            conn.server_message("PING", svc.name)
    if svc.ghosts is not None:
        svc.ghosts.sweep(now)  # connections asked whether they are still there (ghosts.py)


def sweep_interval(lim: LimitsSection, accounts: AccountsSection, probing: bool = False) -> float:
    """Often enough that no timeout is overshot by more than a quarter of itself (the
    ghosts' only while one is asked: `probing`, ghosts.py)."""
    shortest = min(lim.registration_timeout, lim.ping_interval, lim.ping_timeout)
    if accounts.enforce == "rename" and accounts.enforce_after > 0:
        shortest = min(shortest, accounts.enforce_after)
    if probing and accounts.ghost_timeout > 0:
        shortest = min(shortest, accounts.ghost_timeout)
    return max(0.05, min(5.0, shortest / 4))
