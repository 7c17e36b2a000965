"""NickServ, and REGISTER/VERIFY (IRCv3 draft/account-registration): owning a nick.

An account is named after the nick it was registered from; that nick is then the
account's (see nick enforcement in accounts.enforce). NickServ's syntax and replies
follow ergo's (`REGISTER <password> [email]`, `IDENTIFY [account] <password>`...), so
bots and bouncers written for it work unchanged. Passwords are hashed off the loop;
failed logins are throttled (logins.py), and so are registrations from one IP address
(`accounts.register_limit` within `accounts.register_window`, refused before hashing).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from collections.abc import Callable

from hubbub.irc import numerics as n
from hubbub.irc.casemap import casefold, glob_to_regex
from hubbub.irc.message import Message
from hubbub.irc.validate import is_valid_nick
from hubbub.passwords import credentials, unusable
from hubbub.server import logins, vhosts
from hubbub.server.account import Account
from hubbub.server.apply import Outcome
from hubbub.server.commands import command
from hubbub.server.context import Context
from hubbub.server.delivery import new_msgid
from hubbub.server.events import (
    AccountCertSet,
    AccountCredentialsSet,
    AccountDropped,
    AccountRegistered,
    LoggedOut,
    NickSet,
    UserQuit,
)
from hubbub.server.handlers import chanserv
from hubbub.server.handlers.history import replay_private
from hubbub.server.handlers.operators import is_oper
from hubbub.server.services import service
from hubbub.server.throttle import FailureThrottle, longest, seconds_words

log = logging.getLogger("hubbub.opers")

MAX_PASSWORD = 300  # bytes: more is no stronger, and argon2 would hash it all

nickserv = service("NickServ", ("NICKSERV", "NS"), "register your nick as an account, and log in to it")


FAILED = "Authentication failed: Invalid account credentials"
BUSY = "The server is busy; try again in a moment"  # too many password hashings wait already


def _say(ctx: Context, text: str) -> None:
    nickserv.reply(ctx, text)


def tell(ctx: Context, text: str) -> None:
    """NickServ's words on what another handler decided (a login by PASS, at the welcome)."""
    _say(ctx, text)


def is_guest_nick(ctx: Context, nick: str) -> bool:
    return is_guest_name(ctx.config.accounts.guest_prefix, nick)


def is_guest_name(prefix: str, nick: str) -> bool:
    """A name of the kind given to guests (`accounts.guest_prefix` and digits), which no
    account may take: `hubbub account add` asks too."""
    return nick.lower().startswith(prefix.lower()) and nick[len(prefix) :].isdigit()


def password_problem(name: str, password: str) -> str | None:
    """Why `password` will not do for the account `name`, in words; None when it will.
    The one rule for every way a password is set: NickServ, IRCv3 REGISTER and
    `hubbub account` (which words it in lower case, as the shell's messages are)."""
    if not password:
        return "A password is needed"
    if len(password.encode()) > MAX_PASSWORD:
        return f"That password is too long (at most {MAX_PASSWORD} bytes)"
    if casefold(password) == casefold(name):
        return "The password cannot be the account name"
    refused = unusable(password)
    if refused is not None:  # control characters, say: what SASL SCRAM cannot carry
        return f"That password has characters a password cannot have ({refused})"
    return None


def create_account(
    ctx: Context, name: str, password: str, email: str, certfp: str | None,
    done: Callable[[Account | None, str | None], None],
) -> None:  # fmt: skip
    """Hash (off the loop) and register the account `name`, then log in to it;
    `done(account, None)` or `done(None, why)`."""
    key = casefold(name)
    counted = ctx.user.group if _registration_throttle(ctx) is not None else ""
    uncount = _count_registration(ctx)

    def hashed(result: tuple[str, str]) -> None:
        password_hash, scram = result
        certs = (certfp,) if certfp else ()
        event = AccountRegistered(key, name, password_hash, scram, email, ctx.now(), certs, counted=counted)

        def registered(outcome: object) -> None:
            account = ctx.state.accounts.get(key)
            if getattr(outcome, "rejected", None) is not None or account is None:
                uncount()
                done(None, "Account already exists")
                return
            ctx.svc.audit.account_registered(ctx.user, account.name)
            logins.log_in(ctx, account, lambda: done(account, None))

        ctx.emit(event, registered)

    cost = ctx.config.accounts.hash_cost()
    work: Callable[[], tuple[str, str]] = (
        (lambda: ("", "")) if password == "*" else (lambda: credentials(password, cost))
    )
    if not ctx.run_blocking(work, hashed):  # "*": a certificate-only account
        uncount()
        done(None, BUSY)


def _registration_throttle(ctx: Context) -> FailureThrottle | None:
    """This node's count of registrations per address (`Services.register_throttle`, its
    settings kept current by REHASH: those under way included, counted as they start),
    or None when the user is not limited (`accounts.register_limit` 0, or an IRC
    operator). The network's count, of registrations done on every node, is the state's
    (`ChatState.registrations`, from `AccountRegistered.counted`)."""
    if ctx.config.accounts.register_limit <= 0 or is_oper(ctx.user):
        return None
    return ctx.svc.register_throttle


def registration_wait(ctx: Context) -> float | None:
    """Seconds until the user's address may register another account, or None when it may now."""
    throttle = _registration_throttle(ctx)
    if throttle is None:
        return None
    key, now = f"ip:{ctx.user.group}", ctx.now()
    return longest(throttle.blocked(key, now), ctx.state.registrations.blocked(key, now))


def _count_registration(ctx: Context) -> Callable[[], None]:
    """Count a registration from the user's address as it starts, so that several under
    way at once cannot pass the limit together; returns what uncounts it (it failed)."""
    throttle = _registration_throttle(ctx)
    if throttle is None:
        return lambda: None
    key, at = f"ip:{ctx.user.group}", ctx.now()
    throttle.failed(key, at)
    return lambda: throttle.withdraw(key, at)


def registration_throttled_text(wait: float) -> str:
    return f"Too many accounts registered from your address; try again in {seconds_words(wait)}"


def registration_refused(ctx: Context, name: str) -> str | None:
    """Why the current user may not register the account `name` now; None when it may."""
    if not ctx.config.accounts.registration:
        return "Account registration is disabled on this server"
    if ctx.user.account is not None:
        return "You're already logged into an account"
    if casefold(name) in ctx.state.accounts:
        return "Account already exists"
    if is_guest_nick(ctx, name):
        return "Guest nicknames cannot be registered"
    if casefold(name) != ctx.user.key:
        return "You must hold that nickname in order to register it"
    wait = registration_wait(ctx)  # before any password is hashed: hashing is what costs
    if wait is not None:
        return registration_throttled_text(wait)
    return None


# -- NickServ -------------------------------------------------------------------------------


# NickServ splits what it is told into words: a password of several would be cut to its first
NO_SPACES = "A password given to NickServ cannot contain spaces"

@nickserv.command("REGISTER", 1, "REGISTER <password> [email]",
                  "Registers your current nick as an account, with a password (or * with a TLS client "
                  "certificate), and logs you in to it.")  # fmt: skip
def ns_register(ctx: Context, args: list[str]) -> None:
    password, email = args[0], args[1] if len(args) > 1 else ""
    name = ctx.user.nick
    refused = registration_refused(ctx, name)
    if refused is None and (len(args) > 2 or (email and "@" not in email)):  # never keep the first word alone
        refused = f"Invalid parameters. Usage: REGISTER <password> [email] ({NO_SPACES[0].lower()}{NO_SPACES[1:]})"
    if refused is None and password != "*":
        refused = password_problem(name, password)
    if refused is None and password == "*" and ctx.user.certfp is None:
        refused = "You must be connected with TLS and a client certificate to do this"
    if refused is not None:
        _say(ctx, refused)
        return

    def done(account: Account | None, why: str | None) -> None:
        if account is None:
            _say(ctx, why or "Could not register")
            return
        _say(ctx, "Account created")
        _say(ctx, f"You're now logged in as {account.name}")

    create_account(ctx, name, password, email, ctx.user.certfp if password == "*" else None, done)


@nickserv.command("IDENTIFY", 1, "IDENTIFY [account] <password>",
                  "Logs you in to an account: the one named after your nick, or the one you name. "
                  "With a TLS client certificate, IDENTIFY <account> alone.")  # fmt: skip
def ns_identify(ctx: Context, args: list[str]) -> None:
    if ctx.user.account is not None:
        _say(ctx, "You're already logged into an account")
        return
    if len(args) == 1 and ctx.user.certfp is not None:
        # by certificate: one another node just added counts (a password check, below,
        # waits for the log itself: waiting here for it too would be a second round trip)
        ctx.caught_up(lambda: _identify(ctx, args), lambda: _say(ctx, logins.UNAVAILABLE))
    else:
        _identify(ctx, args)


def _identify(ctx: Context, args: list[str]) -> None:
    if ctx.user.account is not None:  # logged in meanwhile (another IDENTIFY, SASL)
        _say(ctx, "You're already logged into an account")
        return
    if len(args) == 1 and ctx.user.certfp is not None and ctx.state.certfps.get(ctx.user.certfp) is not None:
        account = ctx.state.certfps[ctx.user.certfp]
        if casefold(args[0]) == account.key:
            logins.log_in(ctx, account, lambda: _say(ctx, f"You're now logged in as {account.name}"),
                          lambda: replay_private(ctx))  # what waited for the account, to a client that cannot ask
            return
    name, password = (args[0], args[1]) if len(args) > 1 else (ctx.user.nick, args[0])
    identify_with(ctx, name, password)


def identify_with(ctx: Context, name: str, password: str) -> None:
    """Log in to the account `name` with `password`, as IDENTIFY does (NickServ says how
    it went)."""

    def logged_in(account: Account) -> None:
        logins.log_in(ctx, account, lambda: _say(ctx, f"You're now logged in as {account.name}"),
                      lambda: replay_private(ctx))  # what waited for the account, to a client that cannot ask

    _check(ctx, name, password, lambda text: _say(ctx, text), logged_in)


def log_in_by_pass(ctx: Context, given: str, decided: Callable[[str], None]) -> None:
    """The login a registering connection's PASS asks for (`pass_login`), before its
    welcome as a SASL login is: the nick it may keep, and whether it is its account's
    ghost that holds the nick it wanted (ghosts.py), are then known at the welcome.
    `decided(text)` with what NickServ is to say of it once the welcome is out; after a
    login, once all it changed is done (the welcome comes after it, as after SASL's)."""

    def logged_in(account: Account) -> None:
        logins.log_in(ctx, account, None, lambda: decided(f"You're now logged in as {account.name}"),
                      lambda: decided(FAILED))  # the account dropped meanwhile: welcomed without it

    _check(ctx, *pass_login(ctx, given), decided, logged_in)


def _check(
    ctx: Context, name: str, password: str, told: Callable[[str], None], logged_in: Callable[[Account], None]
) -> None:
    """The password checked (refused unchecked while the account's failures are
    throttled): `logged_in(account)` if it is right, else `told(text)` with why not (a
    failure not told to a connection gone meanwhile)."""
    wait = logins.refused_for(ctx, casefold(name))
    if wait is not None:
        told(logins.throttled_text(wait))
        return

    def checked(account: Account | None) -> None:
        if account is not None:
            logged_in(account)
        elif not ctx.conn.gone:
            told(FAILED)

    logins.check_password(ctx, name, password, checked, told)


def pass_login(ctx: Context, given: str) -> tuple[str, str]:
    """The account and password a connection's PASS names when the server asks for none
    (`accounts.login_via_pass`, as ergo takes it): `account:password` where such an
    account exists, else the password of the account named like the nick (a password
    may hold a colon)."""
    name, colon, rest = given.partition(":")
    if colon and name and casefold(name) in ctx.state.accounts:
        return name, rest
    return ctx.user.nick, given


@nickserv.command("LOGOUT", 0, "LOGOUT", "Logs you out of your account.")
def ns_logout(ctx: Context, args: list[str]) -> None:
    if ctx.user.account is None:
        _say(ctx, "You're not logged into an account")
        return

    def done(outcome: Outcome) -> None:
        ctx.conn.numeric(n.RPL_LOGGEDOUT, ctx.user.prefix, "You are now logged out")
        _say(ctx, "You're now logged out")
        vhosts.tell_older_nodes(ctx, outcome)
        check_nick(ctx)

    ctx.emit(LoggedOut(ctx.user.uid, ctx.now(), new_msgid()), done)


@nickserv.command("INFO", 0, "INFO [account]", "Shows what is known of an account.")
def ns_info(ctx: Context, args: list[str]) -> None:
    name = args[0] if args else (ctx.user.account or ctx.user.nick)
    account = ctx.state.accounts.get(casefold(name))
    if account is None:
        _say(ctx, "Account does not exist")
        return
    _say(ctx, f"Account: {account.name}")
    when = time.strftime("%a, %d %b %Y %H:%M:%S UTC", time.gmtime(account.registered_at))
    _say(ctx, f"Registered at: {when}")
    own = ctx.user.account is not None and casefold(ctx.user.account) == account.key
    if own or "o" in ctx.user.modes:
        if account.email:
            _say(ctx, f"Email address: {account.email}")
        _say(ctx, f"Certificate fingerprints: {len(account.certfps)}")
    online = [u.nick for u in ctx.state.logged_in_to(account.key)]
    if online:
        _say(ctx, "Logged in now as: " + ", ".join(sorted(online)))


LISTED_MAX = 100  # accounts LIST names at most; past that, how many more match


@nickserv.command("LIST", 0, "LIST [pattern]",
                  "For IRC operators: the accounts whose names match the pattern (* and ?), "
                  "with when each was registered.")  # fmt: skip
def ns_list(ctx: Context, args: list[str]) -> None:
    """An operator's view of the accounts on the running server (`hubbub account list`
    reads the store, which a running server on SQLite holds to itself): who exists,
    to help a member who forgot their account's name, or to spot a wave of registrations."""
    if not is_oper(ctx.user):
        _say(ctx, "Permission denied: LIST is for IRC operators")
        return
    pattern = glob_to_regex(args[0] if args else "*")  # it casefolds the mask
    found = sorted((a for a in ctx.state.accounts.values() if pattern.fullmatch(a.key)), key=lambda a: a.key)
    for account in found[:LISTED_MAX]:
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(account.registered_at))
        _say(ctx, f"{account.name} (registered {when})")
    more = len(found) - LISTED_MAX
    counted = "1 account matches" if len(found) == 1 else f"{len(found)} accounts match"
    _say(ctx, counted + (f"; {more} not shown: narrow the pattern" if more > 0 else ""))


@nickserv.command("GHOST", 1, "GHOST <nick>",
                  "Disconnects a connection that holds your nick or is logged in to your account.")  # fmt: skip
def ns_ghost(ctx: Context, args: list[str]) -> None:
    mine = ctx.user.account
    target = ctx.state.nick_holder(args[0])  # a connection holding it before registering too
    if target is None:
        _say(ctx, "No such nick")
        return
    if target is ctx.user:
        _say(ctx, "You can't GHOST yourself (try /QUIT instead)")
        return
    owns = mine is not None and (
        (target.account is not None and casefold(target.account) == casefold(mine)) or target.key == casefold(mine)
    )
    if not owns:
        _say(ctx, "You don't own that nick")
        return
    reason = f"GHOSTed by {ctx.user.nick}"
    ctx.emit(UserQuit(target.uid, reason, ctx.now(), new_msgid(), ctx.user.uid, reason),
             lambda outcome: _say(ctx, f"{args[0]} has been ghosted"))  # fmt: skip


def _drop_code(account: Account) -> str:
    return hashlib.sha256(f"{account.key} {account.registered_at!r}".encode()).hexdigest()[:8]


@nickserv.command("DROP", 0, "DROP [<account> <code>]",
                  "Deletes your account: DROP alone tells you the code that confirms it.")  # fmt: skip
def ns_drop(ctx: Context, args: list[str]) -> None:
    mine = ctx.user.account
    if mine is None:
        _say(ctx, "You're not logged into an account")
        return
    account = ctx.state.accounts.get(casefold(mine))
    if account is None:
        _say(ctx, "You're not logged into an account")
        return
    if len(args) < 2 or casefold(args[0]) != account.key or args[1] != _drop_code(account):
        if args and casefold(args[0]) != account.key:
            _say(ctx, f"You can drop only the account you're logged into, {account.name}.")
        elif len(args) >= 2:
            _say(ctx, f"{args[1]} is not the code that confirms it.")
        _say(ctx, f"Warning: dropping {account.name} deletes it for good; its nick is then free for anyone.")
        _say(ctx, f"To confirm, run this command: /msg NickServ DROP {account.name} {_drop_code(account)}")
        return

    def dropped(outcome: Outcome) -> None:
        if outcome.rejected is not None:
            return
        ctx.svc.audit.account_dropped(ctx.user, account.name)
        _say(ctx, f"Successfully unregistered account {account.name}")
        # The channels the drop unregistered, as the applier found them in the network's
        # order, not this replica's when the command came: in a cluster it may not have
        # applied yet a registration (ChanServ REGISTER on another node) or a transfer
        # (SET FOUNDER) ordered before the drop. Their founder status goes from every
        # connection, joins ordered before the drop included (applied by now).
        chanserv.founders_gone(ctx, list(outcome.unregistered))
        vhosts.tell_older_nodes(ctx, outcome)  # the vhost taken from those it logged out

    ctx.emit(AccountDropped(account.key, ctx.now(), new_msgid()), dropped)


nickserv.commands["UNREGISTER"] = nickserv.commands["DROP"]


def _change_password(ctx: Context, account: Account, password: str) -> None:
    problem = password_problem(account.name, password)
    if problem is not None:
        _say(ctx, problem)
        return

    def hashed(result: tuple[str, str]) -> None:
        ctx.emit(AccountCredentialsSet(account.key, *result), lambda outcome: _say(ctx, "Password changed"))

    if not ctx.run_blocking(lambda: credentials(password, ctx.config.accounts.hash_cost()), hashed):
        _say(ctx, BUSY)


@nickserv.command("SET", 2, "SET PASSWORD <new password>", "Changes your account's password.")
def ns_set(ctx: Context, args: list[str]) -> None:
    account = _own_account(ctx)
    if account is None:
        return
    if args[0].upper() not in ("PASSWORD", "PASS"):
        _say(ctx, "Unknown setting. Settings: PASSWORD")
        return
    if len(args) > 2:  # words are split apart here: taking the first alone would set another password
        _say(ctx, NO_SPACES)
        return
    _change_password(ctx, account, args[1])


PASSWD_SYNTAX = "PASSWD <current> <new> <new again>"


@nickserv.command("PASSWD", 2, PASSWD_SYNTAX,
                  "Changes your account's password. An IRC operator resets another account's "
                  "with PASSWD <account> <new>.")  # fmt: skip
def ns_passwd(ctx: Context, args: list[str]) -> None:
    if len(args) == 2:
        if is_oper(ctx.user):
            _reset_password(ctx, args[0], args[1])
        else:
            _say(ctx, f"Invalid parameters. Usage: {PASSWD_SYNTAX}")
        return
    account = _own_account(ctx)
    if account is None:
        return
    current, new, again = args[:3]
    if new != again:
        _say(ctx, "Passwords do not match")
        return

    def checked(found: Account | None) -> None:
        if found is None:
            if not ctx.conn.gone:
                _say(ctx, "Password incorrect")
            return
        _change_password(ctx, found, new)

    logins.check_password(ctx, account.name, current, checked, lambda why: _say(ctx, why))


def _reset_password(ctx: Context, name: str, password: str) -> None:
    """An operator's answer to a member who forgot their password, on a running server
    (ergo's `PASSWD <account> <new>`): `hubbub account passwd` needs the server stopped.
    Logged and told to the other operators, as their other commands are."""
    account = ctx.state.accounts.get(casefold(name))
    if account is None:
        _say(ctx, "Account does not exist")
        return
    problem = password_problem(account.name, password)
    if problem is not None:
        _say(ctx, problem)
        return
    oper = ctx.user

    def done(outcome: Outcome) -> None:
        if outcome.rejected is not None:  # dropped while its new password was hashed
            _say(ctx, "Account does not exist")
            return
        log.info("%s reset the password of account %s", oper.prefix, account.name)
        ctx.notices.send(f"{oper.nick} reset the password of account {account.name}", exclude=ctx.conn)
        _say(ctx, f"Password of {account.name} changed")

    def hashed(result: tuple[str, str]) -> None:
        ctx.emit(AccountCredentialsSet(account.key, *result), done)

    if not ctx.run_blocking(lambda: credentials(password, ctx.config.accounts.hash_cost()), hashed):
        _say(ctx, BUSY)


def _own_account(ctx: Context) -> Account | None:
    account = ctx.state.accounts.get(casefold(ctx.user.account)) if ctx.user.account else None
    if account is None:
        _say(ctx, "You're not logged into an account")
    return account


def normalize_certfp(text: str) -> str | None:
    """A SHA-256 fingerprint as 64 lower-case hex digits (colons allowed), or None."""
    fp = text.replace(":", "").lower()
    return fp if len(fp) == 64 and all(c in "0123456789abcdef" for c in fp) else None


@nickserv.command("CERT", 1, "CERT LIST | CERT ADD [fingerprint] | CERT DEL <fingerprint>",
                  "Manages the TLS client certificates that log you in (SASL EXTERNAL): ADD without a "
                  "fingerprint adds the one you are connected with.")  # fmt: skip
def ns_cert(ctx: Context, args: list[str]) -> None:
    account = _own_account(ctx)
    if account is None:
        return
    sub = args[0].upper()
    if sub == "LIST":
        _say(ctx, f"There are {len(account.certfps)} certificate fingerprint(s) authorized for account {account.name}.")
        for i, held in enumerate(sorted(account.certfps), 1):
            _say(ctx, f"{i}: {held}")
        return
    if sub not in ("ADD", "DEL"):
        _say(ctx, "Invalid parameters. Usage: CERT LIST | CERT ADD [fingerprint] | CERT DEL <fingerprint>")
        return
    if sub == "DEL" and len(args) < 2:
        _say(ctx, "Invalid parameters. Usage: CERT LIST | CERT ADD [fingerprint] | CERT DEL <fingerprint>")
        return
    given: str | None = args[1] if len(args) > 1 else ctx.user.certfp
    fingerprint = normalize_certfp(given) if given else None
    if fingerprint is None:
        _say(ctx, "Invalid certificate fingerprint" if given else "You are not connected with a client certificate")
        return
    fp = fingerprint
    adding = sub == "ADD"
    if adding and fp not in account.certfps and len(account.certfps) >= ctx.config.accounts.max_certs:
        _say(ctx, "You already have too many certificate fingerprints")
        return
    if not adding and fp in account.certfps and len(account.certfps) == 1 and not account.password_hash:
        _say(ctx, "You can't remove all your certificate fingerprints unless you add a password")
        return

    def done(outcome: object) -> None:
        why = getattr(outcome, "rejected", None)
        if why is None:
            _say(ctx, "Certificate fingerprint successfully " + ("added" if adding else "removed"))
        elif why == "already there":
            _say(ctx, "That certificate fingerprint was already authorized")
        elif why == "certificate in use":
            _say(ctx, "That certificate fingerprint is already associated with another account")
        else:
            _say(ctx, "Certificate fingerprint not found")

    ctx.emit(AccountCertSet(account.key, fp, adding), done)


@nickserv.command("HELP", 0, "HELP [command]", "Lists the commands, or explains one.")
def ns_help(ctx: Context, args: list[str]) -> None:
    nickserv.help(ctx, args)


# -- reaching NickServ -----------------------------------------------------------------------


@command("NICKSERV")
def handle_nickserv(ctx: Context, message: Message) -> None:
    nickserv.run(ctx, [p for param in message.params for p in param.split()])


@command("NS")
def handle_ns(ctx: Context, message: Message) -> None:
    handle_nickserv(ctx, message)


# -- REGISTER and VERIFY (draft/account-registration) ------------------------------------------


@command("REGISTER", min_params=3, before_registration=True)
def handle_register(ctx: Context, message: Message) -> None:
    conn = ctx.conn
    name, email, password = message.params[0], message.params[1], message.params[2]
    if not conn.registered:
        conn.fail("REGISTER", "COMPLETE_CONNECTION_REQUIRED", "Register your connection first, then the account")
        return
    if name == "*":
        name = ctx.user.nick
    if ctx.user.account is not None:
        conn.fail("REGISTER", "ALREADY_AUTHENTICATED", name, "You are already logged in to an account")
        return
    if not is_valid_nick(name, ctx.config.limits.nicklen):
        conn.fail("REGISTER", "BAD_ACCOUNT_NAME", name, "That is not a valid account name")
        return
    if casefold(name) != ctx.user.key:
        why = "You may only register your nickname as your account name"
        conn.fail("REGISTER", "ACCOUNT_NAME_MUST_BE_NICK", name, why)
        return
    refused = registration_refused(ctx, name)
    if refused == "Account already exists":
        conn.fail("REGISTER", "ACCOUNT_EXISTS", name, refused)
        return
    if refused is not None:
        conn.fail("REGISTER", "TEMPORARILY_UNAVAILABLE", name, refused)
        return
    if email != "*" and "@" not in email:  # as NickServ REGISTER: an address or none (*)
        conn.fail("REGISTER", "INVALID_EMAIL", name, "That is not an e-mail address; send * for none")
        return
    problem = password_problem(name, password)
    if problem is not None:
        conn.fail("REGISTER", "UNACCEPTABLE_PASSWORD", name, problem)
        return

    def done(account: Account | None, why: str | None) -> None:
        if account is None:
            code = "TEMPORARILY_UNAVAILABLE" if why == BUSY else "ACCOUNT_EXISTS"
            conn.fail("REGISTER", code, name, why or "Account already exists")
            return
        conn.server_message("REGISTER", "SUCCESS", account.name, "Account successfully registered")

    create_account(ctx, name, password, "" if email == "*" else email, None, done)


@command("VERIFY", min_params=2, before_registration=True)
def handle_verify(ctx: Context, message: Message) -> None:
    """No registration here waits for a code (no e-mail is needed), so none is valid."""
    ctx.conn.fail("VERIFY", "INVALID_CODE", message.params[0], "Invalid verification code")


# -- nick ownership --------------------------------------------------------------------------


def owns_nick(ctx: Context) -> bool:
    """Whether the user's nick is free to use: not an account's, or its own account's."""
    user = ctx.user
    return user.key is None or user.key not in ctx.state.accounts or (
        user.account is not None and casefold(user.account) == user.key
    )


def check_nick(ctx: Context) -> None:
    """After a nick change or a logout: a registered nick used without its account is
    taken back after `accounts.enforce_after` (with enforce = rename); say so now."""
    conn = ctx.conn
    if ctx.config.accounts.enforce != "rename" or not conn.registered or owns_nick(ctx):
        conn.enforce_at = None
        return
    after = ctx.config.accounts.enforce_after
    conn.enforce_at = ctx.now() + after
    _say(ctx, f"This nickname is registered. Log in to it within {after:g} seconds (with /msg NickServ IDENTIFY "
              "<password>, or SASL), or you will be renamed.")  # fmt: skip


def take_back(ctx: Context) -> None:
    """The time to log in has passed: rename the user to a guest nick, and say why."""
    ctx.conn.enforce_at = None
    if owns_nick(ctx):
        return
    prefix = ctx.config.accounts.guest_prefix
    for _ in range(20):
        guest = f"{prefix}{secrets.randbelow(90000) + 10000}"
        if not ctx.state.nick_taken(guest):
            break
    else:
        ctx.disconnect("Using a registered nickname without logging in")
        return
    taken = ctx.user.nick

    def renamed(outcome: object) -> None:
        if getattr(outcome, "rejected", None) is None:
            _say(ctx, f"You are now {guest}: the nickname {taken} is registered, and you did not log in to it.")
        else:  # someone took the guest nick meanwhile: try again at the next sweep
            ctx.conn.enforce_at = ctx.now()

    ctx.emit(NickSet(ctx.user.uid, guest, ctx.now(), new_msgid()), renamed)
