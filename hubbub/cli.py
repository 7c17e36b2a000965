"""The `hubbub` command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from collections.abc import Callable, Set
from pathlib import Path

from hubbub import __version__
from hubbub.accounts_cli import add_account_parser, run_account
from hubbub.bench.parser import add_bench_parser
from hubbub.client.cli import add_chat_parser, run_chat
from hubbub.config import Config, ConfigError, default_config_text, load, parse_hostport, parse_override, validate
from hubbub.engine.errors import ClusterError
from hubbub.passwords import DEFAULT_COST
from hubbub.server.storage import StoreError

log = logging.getLogger("hubbub")

LOOPBACK = ("127.0.0.1", "::1", "localhost")


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hubbub", description="A multi-user chat server speaking IRC.")
    parser.add_argument("--version", action="version", version=f"hubbub {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the chat server")
    serve.add_argument("--config", metavar="FILE", help="TOML configuration file")
    serve.add_argument("--listen", metavar="HOST:PORT", action="append",
                       help="IRC and plain-text listener (repeatable; port 0 picks a free port)")
    serve.add_argument("--tls-listen", metavar="HOST:PORT", action="append",
                       help="IRC over TLS listener (repeatable; certificate from [tls] in the config)")
    web = serve.add_mutually_exclusive_group()
    web.add_argument("--web", metavar="HOST:PORT", help="HTTP listener address")
    web.add_argument("--no-web", action="store_true", help="no HTTP listener")
    serve.add_argument("--db", metavar="PATH", help="database file, :memory:, or postgresql://USER@HOST/DB")
    serve.add_argument("--cluster", metavar="redis://HOST:PORT/DB",
                       help="share one network with other nodes through Redis")
    serve.add_argument("--name", metavar="SERVER_NAME", help="server name shown to clients")
    serve.add_argument("--set", metavar="SECTION.KEY=VALUE", action="append", default=[],
                       dest="overrides", help="override one configuration key (repeatable)")
    serve.add_argument("--print-config", action="store_true",
                       help="print the default configuration, every key commented, and exit")
    serve.add_argument("--check-config", action="store_true",
                       help="read the configuration (file, flags, MOTD file, TLS pair), say what is wrong, and exit")
    serve.add_argument("--log-level", default="info",
                       choices=["debug", "info", "warning", "error"], help="logging verbosity")
    serve.add_argument("--loop", default="auto", choices=["auto", "asyncio", "uvloop"],
                       help="event loop: uvloop when installed (auto), or the standard one")
    hashing = sub.add_parser(
        "hash-password",
        help="read a password on standard input and print its argon2id hash (for [[opers]])",
        description="Read a password on standard input (asked twice on a terminal) and print "
        "its argon2id hash, for the password_hash of an [[opers]] or [[webirc]] block. Each "
        "check of it (OPER, WEBIRC) costs what hashing it did.",
    )
    hashing.add_argument("--time-cost", type=int, default=DEFAULT_COST.time_cost, metavar="N",
                         help=f"passes over the memory (at least 1; default {DEFAULT_COST.time_cost})")
    hashing.add_argument("--memory-kib", type=int, default=DEFAULT_COST.memory_kib, metavar="KIB",
                         help=f"memory filled, in KiB (at least 8 per lane; default {DEFAULT_COST.memory_kib})")
    hashing.add_argument("--parallelism", type=int, default=DEFAULT_COST.parallelism, metavar="N",
                         help=f"lanes and threads (1 to 255; default {DEFAULT_COST.parallelism})")
    add_chat_parser(sub)
    add_bench_parser(sub)
    add_account_parser(sub)
    return parser


def _config_from_args(args: argparse.Namespace) -> Config:
    config = load(args.config, args.overrides, check=False)  # validated once the flags are on it
    if args.listen:
        config.listen.irc = list(args.listen)
    if args.tls_listen:
        config.listen.tls = list(args.tls_listen)
    if args.no_web:
        config.listen.web = ""
    elif args.web:
        config.listen.web = args.web
    if args.db:
        config.store.db = args.db
    if args.cluster:
        config.cluster.url = args.cluster
    if args.name:
        config.server.name = args.name
    validate(config)
    return config


def _loop_factory(choice: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    if choice == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            raise SystemExit("hubbub: --loop uvloop, but uvloop is not installed") from None
        return None
    return uvloop.new_event_loop


async def _serve(config: Config, args: argparse.Namespace) -> None:
    from hubbub import speedups
    from hubbub.app import Runtime

    if speedups.stale:
        log.warning("%s", speedups.stale)

    # REHASH and SIGHUP read the file again and apply the same flags on top
    runtime = Runtime(config, loader=lambda: _config_from_args(args), config_name=args.config or "defaults")
    loop = asyncio.get_running_loop()
    starting = asyncio.current_task()
    assert starting is not None
    for sig in (signal.SIGINT, signal.SIGTERM):  # a stop asked for while starting (the store may wait for a lock)
        loop.add_signal_handler(sig, starting.cancel)
    try:
        await runtime.start()
    except asyncio.CancelledError:
        log.info("stopped while starting")
        return
    stopping: list[asyncio.Task[None]] = []  # the loop keeps only a weak reference to tasks
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: stopping.append(asyncio.ensure_future(runtime.stop())))
    loop.add_signal_handler(signal.SIGHUP, runtime.rehash)
    if all(host in LOOPBACK for _, host, _ in runtime.addresses):
        log.info("%s", local_only_hint(runtime.addresses, _listeners_from_command_line(args), args.config))
    log.info("hubbub %s ready as %s (%s event loop)", __version__, config.server.name,
             type(loop).__module__.split(".")[0])
    await runtime.wait_stopped()
    log.info("stopped")


FLAGS = {"irc": "--listen", "tls": "--tls-listen", "web": "--web"}


def _listeners_from_command_line(args: argparse.Namespace) -> set[str]:
    """The kinds of listener the command line set (a flag, or `--set listen.KIND=`),
    rather than the configuration file or the defaults."""
    given = {"irc": bool(args.listen), "tls": bool(args.tls_listen), "web": bool(args.web or args.no_web)}
    for text in args.overrides:
        section, key, _ = parse_override(text)
        if section == "listen" and key in given:
            given[key] = True
    return {kind for kind, set_here in given.items() if set_here}


def local_only_hint(addresses: list[tuple[str, str, int]], from_command_line: Set[str] = frozenset(),
                    config_file: str | None = None) -> str:  # fmt: skip
    """What to change to be reachable from other machines, where the listeners were set:
    each listener's own flag, or, for a server run from a configuration file, that file's
    `listen` keys (a service's command line is not where its admin looks, and a flag
    would hide the file's value from every later reader of it), with the ports the
    listeners are on, not the defaults, which a server on other ports does not use."""
    flags: list[str] = []
    keys: dict[str, list[str]] = {}
    for kind, host, port in addresses:
        if kind not in FLAGS:
            continue
        every = "[::]" if ":" in host else "0.0.0.0"  # every address of the listener's own family
        if config_file is None or kind in from_command_line:
            flags.append(f"{FLAGS[kind]} {every}:{port}")
        else:
            keys.setdefault(kind, []).append(f"{every}:{port}")
    ways = []
    if flags:
        ways.append(f"use {' '.join(dict.fromkeys(flags))}")
    if keys:
        settings = [f"listen.{kind} = {json.dumps(values[0] if kind == 'web' else list(dict.fromkeys(values)))}"
                    for kind, values in keys.items()]  # fmt: skip
        ways.append(f"set {' and '.join(settings)} in {config_file}")
    return f"only local connections are accepted; {' and '.join(ways)} to accept connections from other machines"


def check_config(config: Config, source: str) -> int:
    """`serve --check-config`: what starting would read, read without starting (no port
    opened, no store locked, no certificate written), so that a file can be checked
    before a restart or a REHASH on a live server. Problems a start would only warn of
    (an unreadable MOTD file) are printed as lines of the check's own, `hubbub: warning:
    ...`, before its verdict: the configuration is still usable, status 0."""
    import socket

    from hubbub.transport import tls

    for kind, specs in (("irc", config.listen.irc), ("tls", config.listen.tls), ("web", [config.listen.web])):
        for spec in filter(None, specs):  # each host found as a start finds it (a start would fail here)
            host, port = parse_hostport(spec)
            try:
                socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
            except OSError as exc:
                raise ConfigError(f"cannot listen on {spec} ({kind}): {exc.strerror or exc}") from None
    from hubbub.store import POSTGRESQL_SCHEMES

    db = config.store.db
    if db != ":memory:" and not db.startswith(POSTGRESQL_SCHEMES):  # a SQLite file (PostgreSQL: not reached here)
        from hubbub.store.sqlite import check_writable

        try:
            check_writable(db)
        except StoreError as exc:
            raise ConfigError(f"store.db: {exc}") from None
    _, motd_problem = config.read_motd()  # what a start would log about server.motd_file
    notes = [f"warning: {motd_problem}"] if motd_problem else []
    if config.listen.tls or config.web.tls:
        missing = [path for path in (config.tls.cert, config.tls.key) if not Path(path).exists()]
        if missing and config.tls.self_signed:
            cert, key = (Path(path).absolute() for path in (config.tls.cert, config.tls.key))
            notes.append(f"a self-signed pair will be made at {cert} and {key}")
        else:
            tls.server_context(config.tls, config.server.name)  # raises TlsError, a ConfigError
            if config.tls.sts and tls.is_self_signed(config.tls.cert):
                notes.append("no STS policy will be offered: the certificate is self-signed")
    for note in notes:
        print(f"hubbub: {note}")
    print(f"hubbub: the configuration is usable ({source})")
    return 0


def serve(args: argparse.Namespace) -> int:
    from hubbub.runtime.listeners import ListenError

    if args.print_config:
        sys.stdout.write(default_config_text())
        return 0
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(message)s",
                        stream=sys.stderr)
    if logging.getLogger().level > logging.INFO:  # scripts find ports chosen with 0 in these lines
        logging.getLogger("hubbub.listening").setLevel(logging.INFO)
    try:
        config = _config_from_args(args)
        if args.check_config:
            return check_config(config, args.config or "the defaults and flags")
    except ConfigError as exc:
        print(f"hubbub: {exc}", file=sys.stderr)
        return 2
    try:
        with asyncio.Runner(loop_factory=_loop_factory(args.loop)) as runner:
            runner.run(_serve(config, args))
    except ConfigError as exc:  # TLS: the certificate or key cannot be used
        print(f"hubbub: {exc}", file=sys.stderr)
        return 2
    except (StoreError, ClusterError, ListenError) as exc:  # a ListenError names its listener
        print(f"hubbub: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"hubbub: cannot listen: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl+C before the server had its own handler for it
        return 0
    return 0


def hash_password_command(args: argparse.Namespace) -> int:
    """`hubbub hash-password`: the argon2id hash of a password read on standard input, at
    the cost asked (an operator's block on a small machine may want less than the default,
    as accounts.hash_* does for accounts)."""
    from hubbub.passwords import HashCost, hash_password

    cost = HashCost(args.time_cost, args.memory_kib, args.parallelism)
    if not cost.takeable():
        print("hubbub: --time-cost must be at least 1, --parallelism from 1 to 255, "
              "--memory-kib at least 8 per lane (8 × --parallelism)", file=sys.stderr)  # fmt: skip
        return 2
    if sys.stdin.isatty():
        import getpass

        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            print("hubbub: the two passwords differ", file=sys.stderr)
            return 1
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        print("hubbub: empty password", file=sys.stderr)
        return 1
    print(hash_password(password, cost))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command == "serve":
        return serve(args)
    if args.command == "chat":
        return run_chat(args)
    if args.command == "bench":
        from hubbub.bench.cli import run_bench  # the scenarios: loaded only to run one

        return run_bench(args)
    if args.command == "hash-password":
        return hash_password_command(args)
    if args.command == "account":
        return run_account(args)
    parser.print_help()
    return 2
