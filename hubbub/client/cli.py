"""`hubbub chat [HOST[:PORT]] [--nick NICK] [--password] [--server-password] ...`: the terminal client's command line.

Sensible defaults (localhost, the login name as nick, #lobby) so that `hubbub chat`
alone just works against a local server; passwords are asked for only when
`--password` (the account's) or `--server-password` (the server's) says there is one.
The two are apart because they are two secrets: a server closed to outsiders has one
password for everyone, and each person's account has their own. `--password` alone
is still sent as both, as it always was. Textual is imported when the client starts,
not when the command line is built.
"""

from __future__ import annotations

import argparse
import getpass
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from hubbub.irc.validate import is_valid_nick

if TYPE_CHECKING:
    from hubbub.client.connection import ClientConfig

DEFAULT_PORT = 6667
DEFAULT_TLS_PORT = 6697
DEFAULT_CHANNEL = "#lobby"
NICK_MAX = 16
PASSWORD_ENV = "HUBBUB_PASSWORD"
SERVER_PASSWORD_ENV = "HUBBUB_SERVER_PASSWORD"


def add_chat_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("server", nargs="?", default="localhost", metavar="HOST[:PORT]",
                        help="server to connect to (default localhost:6667; ircs://HOST for TLS)")
    parser.add_argument("--nick", "-n", help="nickname (default: your login name)")
    parser.add_argument("--tls", action="store_true", help="connect over TLS (default port 6697)")
    parser.add_argument("--insecure", action="store_true",
                        help="with --tls: accept any certificate (self-signed test servers)")
    parser.add_argument("--password", action="store_true",
                        help=f"ask for your account's password (or read ${PASSWORD_ENV}), to log in with SASL "
                             "where the server offers it; without --server-password, also sent as the server "
                             "password")
    parser.add_argument("--server-password", action="store_true",
                        help=f"ask for the server's password (or read ${SERVER_PASSWORD_ENV}), for a server "
                             "that lets in only those who give it (PASS)")
    parser.add_argument("--account", help="account name for SASL (default: the nick)")
    parser.add_argument("--join", "-j", default=DEFAULT_CHANNEL, metavar="CHANNELS",
                        help=f"channels to join, comma-separated (default {DEFAULT_CHANNEL}; '' for none)")
    parser.add_argument("--highlight", action="append", default=[], metavar="WORDS",
                        help="words that count as a mention besides your nick, comma-separated (repeatable)")
    parser.add_argument("--log-dir", type=Path, metavar="DIR",
                        help="write what is said to DIR/NETWORK/BUFFER.log (off by default; /log on in the chat)")


def add_chat_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Add the `chat` subcommand to the `hubbub` command line."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "chat", help="the terminal chat client",
        description="Chat on an IRC server (hubbub or any other) in the terminal.",
    )  # fmt: skip
    add_chat_arguments(parser)
    return parser


def parse_server(text: str, tls: bool) -> tuple[str, int, bool]:
    """`host`, `host:port`, `[::1]:6667`, `irc://host:port` or `ircs://host` -> (host, port, tls)."""
    match = re.fullmatch(r"(irc|ircs)://(.*?)/?", text)
    if match:
        tls = tls or match.group(1) == "ircs"
        text = match.group(2)
    host, port = text, ""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, port = text.split(":")
    if port and not port.isdigit():
        raise ValueError(f"not a port number: {port!r}")
    return host or "localhost", int(port) if port else (DEFAULT_TLS_PORT if tls else DEFAULT_PORT), tls


def default_nick() -> str | None:
    """The login name made into a valid nickname, or None if nothing usable is left."""
    try:
        login = getpass.getuser()
    except (KeyError, OSError):
        return None
    nick = re.sub(r"[^A-Za-z0-9\[\]\\`_^{|}-]", "", login)[:NICK_MAX]
    if nick and not is_valid_nick(nick, NICK_MAX):
        nick = ("u" + nick)[:NICK_MAX]
    return nick if nick and is_valid_nick(nick, NICK_MAX) else None


def _ask(prompt: str) -> str:
    try:
        return input(prompt).strip()
    except EOFError:
        return ""


def config_from_args(args: argparse.Namespace) -> ClientConfig:
    """The client settings; asks on the terminal for what is missing."""
    from hubbub.client.connection import ClientConfig  # the client library, loaded when a chat starts

    host, port, tls = parse_server(args.server, args.tls)
    nick = args.nick or default_nick()
    while not nick or not is_valid_nick(nick, 30):
        if nick:
            print(f"{nick!r} cannot be a nickname: use letters, digits and _-[]{{}}|^`\\, "
                  "starting with a letter.", file=sys.stderr)
        nick = _ask("Nickname: ")
    server_password = None
    if args.server_password:
        server_password = (os.environ.get(SERVER_PASSWORD_ENV)
                           or getpass.getpass(f"Server password for {host} (not your account's): "))
    password = None
    if args.password:
        whose = "Account password" if args.server_password else "Password"  # two prompts: say which is which
        password = os.environ.get(PASSWORD_ENV) or getpass.getpass(f"{whose} for {nick} on {host}: ")
    if not args.server_password:  # one secret for both, as before the two were told apart
        server_password = password
    names = [c.strip() for c in args.join.split(",")]  # "#rust, #python": a space after a comma is no name
    channels = tuple(c if c[:1] in "#&" else "#" + c for c in names if c)
    return ClientConfig(
        host=host, port=port, nick=nick, tls=tls, tls_verify=not args.insecure,
        password=server_password or None, sasl_account=args.account,
        sasl_password=password or None, channels=channels,
    )


def run_chat(args: argparse.Namespace) -> int:
    """Run the terminal client until the person quits."""
    try:
        config = config_from_args(args)
    except ValueError as exc:
        print(f"hubbub chat: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    from hubbub.client.tui.app import ChatApp

    highlights = [word.strip() for value in args.highlight for word in value.split(",") if word.strip()]
    result = ChatApp(config, highlights=highlights, log_dir=args.log_dir).run()
    return result or 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hubbub chat", description="Chat on an IRC server in the terminal.")
    add_chat_arguments(parser)
    return run_chat(parser.parse_args(argv))
