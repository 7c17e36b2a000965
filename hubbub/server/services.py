"""Built-in services (NickServ, ChanServ): pseudo-users that answer commands.

A service is reached as `PRIVMSG NickServ :REGISTER pw`, or with its own commands
(`NICKSERV REGISTER pw`, `NS REGISTER pw`), as on ergo, so bots and bouncers written
for it work unchanged. It answers with NOTICEs from `NickServ!NickServ@services`. Each
service is a table of small registered functions, like the command table; a service's
nick is reserved, so nobody can pose as one.

A message to a service is echoed to a sender with `echo-message`, as ergo does (clients
count a line sent once its echo comes); a CTCP to it is answered as a client would
answer VERSION, PING and TIME, and otherwise ignored, never taken for a command.

A `draft/multiline` batch to a service is what its lines would be, sent one by one: its
echo is the batch; a PRIVMSG batch's lines (each joined first to the pieces that
draft/multiline-concat glues to it) are commands, run in order, each once the one
before is done (a REGISTER's password hashed, say), ahead of anything the client sent
after the batch; a NOTICE batch is echoed and otherwise ignored. A label on the batch
answers the whole of it. Like any message to a service, nothing of it is kept or
shown to anyone else.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from hubbub import __version__
from hubbub.irc import ctcp
from hubbub.irc.casemap import casefold
from hubbub.irc.message import Message
from hubbub.server.batch import MultilineOutgoing
from hubbub.server.context import Context
from hubbub.server.delivery import Outgoing, new_msgid
from hubbub.server.isupport import BOT_MODE
from hubbub.server.labels import LabeledResponse

log = logging.getLogger("hubbub.session")

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
        self.take(ctx, text)

    def receive_batch(
        self, ctx: Context, command: str, lines: list[tuple[str, bool]], tags: dict[str, str] | None,
        labeled: LabeledResponse | None,
    ) -> None:  # fmt: skip
        """A draft/multiline batch of PRIVMSG or NOTICE `lines` (text, concatenated to
        the line before) sent to the service: echoed as one batch, then (a PRIVMSG
        batch) its lines run as commands, one after the other. `labeled`, the reply to
        the batch's label, answers all of it."""
        conn, user = ctx.conn, ctx.user
        conn.resume_label(labeled)
        if "echo-message" in conn.caps:
            echo = MultilineOutgoing(
                user.prefix, self.name, tuple(lines), command=command, time=ctx.now(), msgid=new_msgid(),
                client_tags=tags, account=user.account, bot=BOT_MODE in user.modes,
            )  # fmt: skip
            conn.deliver(echo)
        texts: deque[str] = deque()
        if command == "PRIVMSG":  # a NOTICE is never answered
            for text, concat in lines:
                if concat and texts:
                    texts[-1] += text
                else:
                    texts.append(text)
        _Commands(ctx, self, texts, labeled).run()

    def take(self, ctx: Context, text: str) -> None:
        """One line of a PRIVMSG to the service: a CTCP, or a command."""
        if text.startswith("\x01"):
            self._ctcp(ctx, text.strip("\x01"))
            return
        self.run(ctx, text.split())

    def _ctcp(self, ctx: Context, body: str) -> None:
        answer = ctcp.answer(body, f"hubbub {__version__} ({self.name})", ctx.now())
        if answer is not None:  # ACTION and the rest: nothing to answer
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


class _Commands:
    """The commands of a multiline batch to a service, run one at a time, as they would
    run sent line by line: the next once the client's input is no longer held for the
    one before (`Link.follow_up`), ahead of the lines it sent after the batch. The
    batch's labeled reply (`continued` meanwhile) goes out after the last."""

    __slots__ = ("ctx", "service", "texts", "labeled")

    def __init__(self, ctx: Context, service: Service, texts: deque[str], labeled: LabeledResponse | None) -> None:
        self.ctx, self.service, self.texts, self.labeled = ctx, service, texts, labeled
        if labeled is not None:
            labeled.continued = True

    def run(self) -> None:
        ctx = self.ctx
        conn = ctx.conn
        try:
            while self.texts and not conn.gone:
                text = self.texts.popleft()
                conn.resume_label(self.labeled)
                if text:  # a blank line cannot be sent alone: it is no command
                    self.service.take(ctx, text)
                conn.finish_label()  # kept for the next command (`continued`), or deferred for an event
                if conn.link.follow_up(self.run):
                    return  # that command waits for something: the next one runs after it
            if conn.gone:
                return
            labeled = self.labeled
            if labeled is not None:
                labeled.continued = False
            conn.resume_label(labeled)
            conn.finish_label()
        except Exception:  # as a line's handling does (Session.line_received)
            log.exception("internal error handling a line from %r", conn)
            ctx.disconnect("Internal error")


SERVICES: dict[str, Service] = {}


def service(name: str, aliases: tuple[str, ...], about: str) -> Service:
    found = Service(name, aliases, about)
    SERVICES[casefold(name)] = found
    return found


def find_service(nick: str) -> Service | None:
    return SERVICES.get(casefold(nick))


def is_service_nick(nick: str) -> bool:
    return casefold(nick) in SERVICES
