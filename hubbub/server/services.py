"""Built-in services (NickServ, ChanServ): pseudo-users that answer commands.

A service is reached as `PRIVMSG NickServ :REGISTER pw`, or with its own commands
(`NICKSERV REGISTER pw`, `NS REGISTER pw`), as on ergo, so bots and bouncers written
for it work unchanged. It answers with NOTICEs from `NickServ!NickServ@services`. Each
service is a table of small registered functions, like the command table; a service's
nick is reserved, so nobody can pose as one.

A message to a service is echoed to a sender with `echo-message`, as ergo does (clients
count a line sent once its echo comes); a CTCP to it is answered as a client would
answer VERSION, PING and TIME, and otherwise ignored, never taken for a command.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from hubbub import __version__
from hubbub.irc.casemap import casefold
from hubbub.irc.message import Message
from hubbub.server.context import Context
from hubbub.server.delivery import Outgoing, new_msgid
from hubbub.server.isupport import BOT_MODE

ServiceHandler = Callable[[Context, list[str]], None]


@dataclass(frozen=True, slots=True)
class ServiceCommand:
    name: str
    handler: ServiceHandler
    min_args: int
    syntax: str
    help: str


class Service:
    def __init__(self, name: str, aliases: tuple[str, ...], about: str) -> None:
        self.name = name
        self.aliases = aliases  # the IRC commands that reach it (NICKSERV, NS)
        self.about = about
        self.commands: dict[str, ServiceCommand] = {}

    @property
    def source(self) -> str:
        return f"{self.name}!{self.name}@services"

    def command(
        self, name: str, min_args: int = 0, syntax: str = "", help: str = ""
    ) -> Callable[[ServiceHandler], ServiceHandler]:
        def register(handler: ServiceHandler) -> ServiceHandler:
            self.commands[name] = ServiceCommand(name, handler, min_args, syntax or name, help)
            return handler

        return register

    def reply(self, ctx: Context, text: str) -> None:
        ctx.conn.send(Message("NOTICE", [ctx.conn.nick, text], self.source))

    def receive(self, ctx: Context, command: str, text: str, tags: dict[str, str] | None) -> None:
        """A PRIVMSG or NOTICE sent to the service: echoed, then (a PRIVMSG) run."""
        conn, user = ctx.conn, ctx.user
        if "echo-message" in conn.caps:
            echo = Message(command, [self.name, text], user.prefix)
            conn.deliver(Outgoing(echo, ctx.now(), new_msgid(), tags, user.account, BOT_MODE in user.modes))
        if command != "PRIVMSG":
            return  # a NOTICE is never answered
        if text.startswith("\x01"):
            self._ctcp(ctx, text.strip("\x01"))
            return
        self.run(ctx, text.split())

    def _ctcp(self, ctx: Context, body: str) -> None:
        kind, _, arg = body.partition(" ")
        kind = kind.upper()
        if kind == "VERSION":
            answer = f"VERSION hubbub {__version__} ({self.name})"
        elif kind == "PING":
            answer = f"PING {arg}" if arg else "PING"
        elif kind == "TIME":
            answer = "TIME " + time.strftime("%a %b %d %H:%M:%S %Y UTC", time.gmtime(ctx.now()))
        else:
            return  # ACTION and the rest: nothing to answer
        self.reply(ctx, f"\x01{answer}\x01")

    def run(self, ctx: Context, words: list[str]) -> None:
        """Run one command line typed to the service."""
        if not words:
            self.reply(ctx, f"Unknown command. To see available commands, run: /msg {self.name} HELP")
            return
        spec = self.commands.get(words[0].upper())
        if spec is None:
            self.reply(ctx, f"Unknown command. To see available commands, run: /msg {self.name} HELP")
            return
        args = words[1:]
        if len(args) < spec.min_args:
            self.reply(ctx, f"Invalid parameters. Usage: {spec.syntax}")
            return
        spec.handler(ctx, args)

    def help(self, ctx: Context, args: list[str]) -> None:
        if args and args[0].upper() in self.commands:
            spec = self.commands[args[0].upper()]
            self.reply(ctx, f"Syntax: {spec.syntax}")
            self.reply(ctx, spec.help)
            return
        self.reply(ctx, f"{self.name}: {self.about}. Commands:")
        aliases: dict[str, list[str]] = {}
        for name, spec in self.commands.items():
            if name != spec.name:  # another name for a command (UNREGISTER for DROP): said on its line
                aliases.setdefault(spec.name, []).append(name)
        for spec in sorted({s.name: s for s in self.commands.values()}.values(), key=lambda s: s.name):
            also = aliases.get(spec.name)
            self.reply(ctx, f"  {spec.syntax}" + (f" (also {', '.join(sorted(also))})" if also else ""))
        self.reply(ctx, f"Type /msg {self.name} HELP <command> for more on one of them.")


SERVICES: dict[str, Service] = {}


def service(name: str, aliases: tuple[str, ...], about: str) -> Service:
    found = Service(name, aliases, about)
    SERVICES[casefold(name)] = found
    return found


def find_service(nick: str) -> Service | None:
    return SERVICES.get(casefold(nick))


def is_service_nick(nick: str) -> bool:
    return casefold(nick) in SERVICES
