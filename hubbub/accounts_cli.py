"""`hubbub account add|passwd|del|list`: account administration on the store, offline.

These open the store the server uses (the `store.db` of `--config`, or `--db`), so they
run while the servers are stopped: a server reads accounts at start-up only, and would
not know an account written under it (and its next registration of that name would meet
the stored one). A running server holds its SQLite file; on PostgreSQL every running
server holds hubbub's accounts lock shared, and `add`, `passwd` and `del` take it alone,
or are refused (store/pglock.py): a running server is administered through NickServ
instead. `list` only reads, and runs beside PostgreSQL servers. The password is read
before the store is opened, so that it is held only for the moment of the change (a
server starting then waits for it).

Only `add` creates a SQLite file that does not exist yet (the first account of a new
server); `list`, `passwd` and `del` refuse one, since a mistyped `--db` would otherwise
leave an empty store behind and answer "no accounts" about the wrong file. An account
cannot be named after a service (NickServ, ChanServ): nobody may use that nick, as
NickServ REGISTER would find.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
import time
from collections.abc import Iterable

from hubbub.config import Config, ConfigError, load, validate
from hubbub.irc.casemap import casefold
from hubbub.irc.validate import nick_problem
from hubbub.passwords import HashCost, credentials
from hubbub.server.bans import ACCOUNT
from hubbub.server.storage import (
    AccountRecord,
    ChannelRecord,
    DeleteAccount,
    PutAccount,
    PutChannel,
    Snapshot,
    Store,
    StoreError,
)
from hubbub.store import POSTGRESQL_SCHEMES, Claim, StoreInUse, open_store

IN_USE_ADVICE = ("stop the servers first (every node of a cluster), or manage accounts through NickServ on a "
                 "running server (an IRC operator sets a forgotten password with /msg NickServ PASSWD <account> "
                 "<new password>)")


def add_account_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "account", help="add, change, delete or list accounts (the server stopped)",
        description="Account administration on the server's store, while the server is stopped. "
        "`add` creates the store file if there is none yet (a new server's first account); "
        "`list`, `passwd` and `del` need it to exist.",
    )  # fmt: skip
    parser.add_argument("--config", metavar="FILE", help="TOML configuration file (for store.db)")
    parser.add_argument("--db", metavar="PATH",
                        help="database file or postgresql:// URL (default: store.db of the configuration)")
    # the same two options after the action too (`hubbub account list --db x.db`), as people type them
    store = argparse.ArgumentParser(add_help=False)
    store.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS, help="as before the action")
    store.add_argument("--db", metavar="PATH", default=argparse.SUPPRESS, help="as before the action")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser("add", parents=[store], help="create an account; the password is read on "
                             "standard input (creates the store file if there is none yet; the others need it "
                             "to exist)")  # fmt: skip
    add.add_argument("name")
    add.add_argument("--email", default="")
    passwd = actions.add_parser("passwd", parents=[store], help="set an account's password (read on standard input)")
    passwd.add_argument("name")
    delete = actions.add_parser("del", parents=[store], help="delete an account")
    delete.add_argument("name")
    actions.add_parser("list", parents=[store], help="list the accounts")


def _password(name: str) -> str:
    """The new password of the account `name`, held to NickServ's rules (password_problem):
    a password set from the shell is the same one the users' clients will send."""
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            raise ValueError("the two passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise ValueError("empty password")
    from hubbub.server.handlers.nickserv import password_problem  # (see _check_new_name)

    problem = password_problem(name, password)
    if problem is not None:
        raise ValueError(problem[0].lower() + problem[1:])
    return password


def _missing_file(db: str) -> bool:
    """A SQLite store that does not exist yet (a URL or `:memory:` never is missing)."""
    return not db.startswith(POSTGRESQL_SCHEMES) and db != ":memory:" and not os.path.exists(db)


def _check_new_name(name: str, config: Config) -> None:
    """What NickServ REGISTER would refuse, refused before the store is opened (or made):
    a name longer than the server's `limits.nicklen` too, since no one could ever take
    the nick to register it, or log in under it (`432 Erroneous nickname`)."""
    # The handlers (which register the services, for is_service_nick) only where a name
    # or a password is checked: they are most of what every other command line would load
    from hubbub.server.handlers.nickserv import is_guest_name
    from hubbub.server.services import is_service_nick

    problem = nick_problem(name, config.limits.nicklen)
    if problem:
        raise ValueError(f"{name!r} cannot be an account name: {problem}")
    if is_service_nick(name):
        raise ValueError(f"{name!r} cannot be an account name: it is reserved for a service")
    if is_guest_name(config.accounts.guest_prefix, name):  # the server renames users to such nicks
        raise ValueError(f"{name!r} cannot be an account name: it is a guest nickname "
                         f"(accounts.guest_prefix {config.accounts.guest_prefix!r} and digits)")


def _unlisted(channels: Iterable[ChannelRecord], key: str) -> list[PutChannel]:
    """The registered channels whose access list or lists name the account `key` (`a:<name>`),
    kept without those entries, as NickServ DROP leaves them (apply.py): whoever registers
    the name next inherits no status, ban, exception or invite exception. Its own channels
    go with it (DeleteAccount), and are not written again. (A channel is written whole:
    one written with the access entry still in it would put back what DeleteAccount took.)"""
    named = casefold(f"{ACCOUNT}:{key}")
    kept: list[PutChannel] = []
    for channel in channels:
        if channel.founder == key:
            continue
        lists = tuple(entry for entry in channel.lists if casefold(entry[1]) != named)
        access = tuple(entry for entry in channel.access if entry[0] != key)
        if len(lists) != len(channel.lists) or len(access) != len(channel.access):
            kept.append(PutChannel(channel._replace(lists=lists, access=access)))
    return kept


def _prepared(db: str, args: argparse.Namespace, config: Config) -> str:
    """What is checked and read before the store is opened: a refused `add` leaves no
    file behind, and nobody types a password while the store is held. The password, or ""."""
    if args.action == "add":
        _check_new_name(args.name, config)
        if args.email and ("@" not in args.email or any(c.isspace() for c in args.email)):
            raise ValueError(f"{args.email!r} is not an e-mail address")  # as NickServ REGISTER refuses it
        return _password(args.name)
    if _missing_file(db):
        raise ValueError(f"there is no store at {_where(db)}: check --db or store.db "
                         "(`hubbub account add` creates one)")
    return _password(args.name) if args.action == "passwd" else ""


def _where(db: str) -> str:
    """The store named in messages: a file by its whole path (a store made or read in the
    wrong directory is seen to be), a PostgreSQL URL without its password."""
    if db.startswith(POSTGRESQL_SCHEMES):
        from hubbub.store.postgres import parse_url

        try:
            return str(parse_url(db)[1])
        except ValueError:
            return "the PostgreSQL database"
    return db if db == ":memory:" else os.path.abspath(db)


def _listed(accounts: Iterable[AccountRecord], db: str) -> str:
    """One line per account; an empty store names itself (`no accounts in /srv/hubbub/hubbub.db`), so
    that a list read from the wrong file (the working directory's, without --config) is
    seen to be."""
    rows = []
    for a in sorted(accounts, key=lambda a: a.key):
        when = time.strftime("%Y-%m-%d", time.gmtime(a.registered_at))
        certs = f", {len(a.certfps)} certificate(s)" if a.certfps else ""
        rows.append(f"{a.name}\tregistered {when}{certs}{', ' + a.email if a.email else ''}")
    return "\n".join(rows) if rows else f"no accounts in {_where(db)}"


async def _change(
    store: Store, snapshot: Snapshot, args: argparse.Namespace, password: str, cost: HashCost, where: str
) -> str:
    """add, passwd or del on the opened store, which holds the accounts alone. What it did
    names the store (`where`): an account made in the wrong directory's file is seen to be."""
    key = casefold(args.name)
    found = next((a for a in snapshot.accounts if a.key == key), None)
    if args.action == "add":
        if found is not None:
            raise ValueError(f"the account {found.name} exists already in {where}")
        password_hash, scram = credentials(password, cost)
        record = AccountRecord(key, args.name, password_hash, scram, args.email, time.time(), ())
        await store.write([PutAccount(record)])
        return f"account {args.name} created in {where}"
    if found is None:
        raise ValueError(f"there is no account {args.name} in {where}")
    if args.action == "passwd":
        password_hash, scram = credentials(password, cost)
        await store.write([PutAccount(found._replace(password_hash=password_hash, scram=scram))])
        return f"password of {found.name} changed in {where}"
    await store.write([DeleteAccount(key), *_unlisted(snapshot.channels, key)])
    return f"account {found.name} deleted from {where}"


async def _run(db: str, args: argparse.Namespace, config: Config) -> str:
    password = _prepared(db, args, config)
    store = open_store(db, claim=Claim.READING if args.action == "list" else Claim.CHANGING)
    snapshot = await store.open()
    try:
        if args.action == "list":
            return _listed(snapshot.accounts, db)
        return await _change(store, snapshot, args, password, config.accounts.hash_cost(), _where(db))
    finally:
        await store.close()


def run_account(args: argparse.Namespace) -> int:
    try:
        config = load(args.config, [], check=False)
        if args.db:  # before the check: a cluster's file names its url, the command line its store
            config.store.db = args.db
        validate(config)
        db = config.store.db
        print(asyncio.run(_run(db, args, config)))
    except StoreInUse as exc:
        print(f"hubbub: {exc}: {IN_USE_ADVICE}", file=sys.stderr)
        return 1
    except (ConfigError, StoreError, ValueError) as exc:
        print(f"hubbub: {exc}", file=sys.stderr)
        return 1
    return 0
