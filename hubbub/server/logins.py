"""Logging in, whatever the way (SASL, NickServ IDENTIFY, REGISTER): one set of rules.

Throttled failures, counted within `accounts.login_window` seconds, so that guessing
stays bounded without one person's typos locking out others:

- per connection, and per IP address and account pair: `accounts.login_failures` (5).
  This is the tight limit: a guesser at one address gets a handful of tries per account,
  and a person who mistypes waits alone, only for that account from that address
  (everyone else behind the same NAT, and the owner elsewhere, still logs in);
- per IP address, across all accounts: `accounts.login_failures_per_address` (20), so
  that one address cannot try account after account at the tight limit each;
- per account, across all addresses: `accounts.login_failures_per_account` (20), so
  that guessing spread over many addresses is bounded too. It is the one limit that
  others can use to hold an account's owner out, which is why it is looser than the
  tight one (no single address can reach it) while still a hard bound.

Past any of them an attempt is refused before its password is even checked (the check
is what costs), and a connection that keeps trying twice the tight limit is
disconnected. A login forgets the failures of its connection and of its address and
account pair (the mistakes of the person who now got it right), not those of the
address or the account as a whole: those are the bounds that hold whoever fails, and an
owner's login says nothing of guesses from elsewhere (forgetting them would let a
guesser start again after each of the owner's logins). OPER, WEBIRC and the connection
password are counted per address apart from these (their handlers), and per connection
with them. The counts are the network's: every node of a cluster counts every node's
failures (events.LoginFailed), so guesses spread over the nodes meet the same limits.
Checking a password runs off the event loop; an account name that does not
exist is checked against a decoy hash, so it takes as long as a wrong password.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from hubbub.irc import numerics as n
from hubbub.irc.casemap import casefold
from hubbub.passwords import check_and_upgrade, decoy_hash
from hubbub.server import vhosts
from hubbub.server.account import Account
from hubbub.server.announce import tell_own_login
from hubbub.server.apply import Outcome
from hubbub.server.context import Context
from hubbub.server.delivery import new_msgid
from hubbub.server.events import (
    AccountHashUpgraded,
    ChannelModesSet,
    LoggedIn,
    LoginFailed,
    LoginFailuresForgotten,
    ModeChange,
)
from hubbub.server.services import find_service
from hubbub.server.throttle import longest, seconds_words


def _pair_key(ctx: Context, account_key: str) -> str:
    # no address holds a space, so the pair reads one way whatever name was tried (a SASL name may hold one)
    return f"pair:{ctx.user.group} {account_key}"


def _counts(ctx: Context, account_key: str) -> tuple[tuple[str, int], ...]:
    """The throttle's keys a login to `account_key` from this connection's address counts
    against, each with its limit (read now, so that a REHASH changes it at once). The
    address's key is not the `ip:` one of OPER, WEBIRC and PASS: typos of account
    passwords do not close the operators' door, nor the server's password, to a whole NAT."""
    accounts = ctx.config.accounts
    return (
        (_pair_key(ctx, account_key), accounts.login_failures),
        (f"address:{ctx.user.group}", accounts.login_failures_per_address),
        (f"account:{account_key}", accounts.login_failures_per_account),
    )


def _recent_failures(ctx: Context) -> deque[float]:
    """This connection's failed and refused attempts within `accounts.login_window`, the
    older ones forgotten."""
    times = ctx.conn.login_failures
    if times is None:
        times = ctx.conn.login_failures = deque()
    cutoff = ctx.now() - ctx.config.accounts.login_window
    while times and times[0] <= cutoff:
        times.popleft()
    return times


def connection_wait(ctx: Context) -> float | None:
    """Seconds until this connection may try again, by its own recent attempts, or None."""
    accounts = ctx.config.accounts
    times = _recent_failures(ctx)
    if len(times) < accounts.login_failures:
        return None
    return max(0.0, times[-accounts.login_failures] + accounts.login_window - ctx.now())


def count_attempt(ctx: Context, reason: str = "Too many failed login attempts") -> bool:
    """One more failed or refused attempt on this connection; True when it is closed for
    it (twice the failures allowed within the window: it kept trying while refused)."""
    times = _recent_failures(ctx)
    times.append(ctx.now())
    if len(times) >= 2 * ctx.config.accounts.login_failures:
        ctx.disconnect(reason)
        return True
    return False


def refused_for(ctx: Context, account_key: str) -> float | None:
    """Seconds to wait before trying to log in to `account_key` again, or None. A refused
    attempt counts against the connection: one that keeps trying is disconnected."""
    wait = longest(*(throttle_wait(ctx, key, limit) for key, limit in _counts(ctx, account_key)), connection_wait(ctx))
    if wait is None:
        return None
    count_attempt(ctx)
    return wait


def failed(ctx: Context, account_key: str) -> bool:
    """Count a failed attempt; True when the connection has gone (it kept trying)."""
    count_failure(ctx, *(key for key, _ in _counts(ctx, account_key)))
    return count_attempt(ctx)


def count_failure(ctx: Context, *keys: str) -> None:
    """A wrong password, counted against `keys` on this node at once and by the whole
    network (events.LoginFailed). Emitted without an origin: the client is answered at
    once, never held behind its count, nor told that a count could not reach a
    cluster's log (it is published when the log answers again)."""
    now = ctx.now()
    for key in keys:
        ctx.svc.login_throttle.failed(key, now)
    ctx.engine.emit(None, LoginFailed(keys, now))


def throttle_wait(ctx: Context, key: str, limit: int | None = None) -> float | None:
    """Seconds until `key` may try again (`limit`, when given, is its own), or None. The
    network's count holds every node's failures but this node's only once they came
    back from the log; this node's own count holds them at once (and through an outage
    of the log): the longer wait of the two (throttle.longest)."""
    now = ctx.now()
    return longest(ctx.svc.login_throttle.blocked(key, now, limit), ctx.state.login_failures.blocked(key, now, limit))


def succeeded(ctx: Context, account_key: str) -> None:
    """A right password, or a login by any way, for `account_key` from this address:
    the pair's failures were the mistakes of someone who knows it. The address's and
    the account's counts stay (see the module's docstring)."""
    key = _pair_key(ctx, account_key)
    ctx.svc.login_throttle.succeeded(key)
    ctx.engine.emit(None, LoginFailuresForgotten(key))


def check_password(
    ctx: Context, name: str, password: str, done: Callable[[Account | None], None],
    unavailable: Callable[[str], None],
) -> None:  # fmt: skip
    """Check `password` for the account `name` off the loop; `done(account)` with the
    account on success, None on failure (after counting it). The account is read once
    this node has caught up with the network's order (`Context.caught_up`): an account
    registered, or a password changed, on another node a moment ago counts here too;
    `unavailable(why)` when the password could not be checked, nothing counted: the
    network's log stays out of reach (UNAVAILABLE), or too many checks wait already
    (BUSY: never "invalid credentials" to someone whose password was not even looked at)."""
    ctx.caught_up(lambda: _check_password(ctx, casefold(name), password, done, unavailable),
                  lambda: unavailable(UNAVAILABLE))  # fmt: skip


def _check_password(
    ctx: Context, key: str, password: str, done: Callable[[Account | None], None], unavailable: Callable[[str], None]
) -> None:
    account = ctx.state.accounts.get(key)
    stored = account.password_hash if account is not None and account.password_hash else None
    cost = ctx.config.accounts.hash_cost()  # of the decoy a name without an account is checked against

    def checked(result: tuple[bool, str | None]) -> None:
        ok, upgraded = result
        current = ctx.state.accounts.get(key)
        if ok and account is not None and current is account:
            if upgraded is not None and stored is not None:  # made at another cost than the configured one
                ctx.engine.emit(None, AccountHashUpgraded(key, stored, upgraded))
            succeeded(ctx, key)  # PASSWD's check too, which logs nobody in
            done(account)
            return
        if not failed(ctx, key):
            done(None)

    if not ctx.run_blocking(lambda: check_and_upgrade(stored or decoy_hash(cost), password, cost), checked):
        unavailable(BUSY)  # too many checks wait already: refused unchecked, and not counted as a failure


def log_in(
    ctx: Context, account: Account, then: Callable[[], None] | None = None, last: Callable[[], None] | None = None,
    refused: Callable[[], None] | None = None,
) -> None:  # fmt: skip
    """Log the connection in to `account` (emitted, then 900); `then()` after that, and
    `last()` once everything the login changed is told (what may wait for the store: a
    labeled command's reply is whole by then); `refused()` if the login was not applied
    (the account dropped meanwhile). A registered user is shown with the account's
    vhost from then on, as the login is applied (vhosts.py); one still registering,
    from its welcome."""
    user = ctx.user

    def logged(outcome: Outcome) -> None:
        if outcome.rejected is not None:
            if refused is not None:
                refused()
            return
        ctx.conn.login_failures = None  # forgotten, and its memory with them
        succeeded(ctx, account.key)  # SCRAM, a certificate, REGISTER: no password checked here
        if ctx.conn.enforce_at is not None and user.key == account.key:
            ctx.conn.enforce_at = None  # the nick is its own now
        nick_mask = user.prefix if user.registered else f"{user.nick}!*@*"
        ctx.conn.numeric(n.RPL_LOGGEDIN, nick_mask, account.name, f"You are now logged in as {account.name}")
        if then is not None:
            then()
        tell_own_login(user, outcome.time, msgid, gained_r=not outcome.old_nick)
        give_owed_status(ctx)
        vhosts.tell_older_nodes(ctx, outcome)
        if last is not None:
            last()

    msgid = new_msgid()
    ctx.emit(LoggedIn(user.uid, account.key, ctx.now(), msgid), logged)


def give_owed_status(ctx: Context) -> None:
    """A login after joining (a client that rejoins its channels before its user types
    IDENTIFY): the status each registered channel one is in owes the account (its founder
    +q, its access list's letters) is given now, in ChanServ's name, as a JOIN after the
    login would have; Anope's NickServ does the same at IDENTIFY."""
    user = ctx.user
    chanserv = find_service("ChanServ")
    for channel in list(user.channels.values()):
        have = channel.members.get(user, "")
        missing = [letter for letter in channel.registered_status(user) if letter not in have]
        if missing:
            changes = tuple(ModeChange(True, letter, user.uid) for letter in missing)
            source = chanserv.source if chanserv is not None else ""
            ctx.emit(ChannelModesSet("", channel.name, changes, ctx.now(), new_msgid(), source, owed=True))


UNAVAILABLE = "The network is out of reach, try again soon"
BUSY = "The server is busy checking passwords, try again in a moment"


def throttled_text(wait: float) -> str:
    return f"Too many failed attempts; try again in {seconds_words(wait)}"
