"""The command table: each command declared once, with the checks the dispatcher enforces.

Handlers are small functions registered with `@command(...)`, given the connection's
`Context` and the message; the dispatcher answers unknown commands (421), commands
used before registration (451) and missing parameters (461), so no handler repeats
those checks.

The dispatcher is also where two IRCv3 mechanisms wrap every command at once: lines of
an open client batch (`draft/multiline`) go to that batch, and a `label` tag makes the
command's whole reply one labeled response (labels.py), whatever the handler sends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from hubbub.irc import numerics as n
from hubbub.irc.message import Message
from hubbub.server.context import Context
from hubbub.server.labels import answers_labels, usable_label

Handler = Callable[[Context, Message], None]


class BatchTaker(Protocol):
    def take(self, ctx: Context, message: Message) -> None: ...


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    handler: Handler
    min_params: int
    before_registration: bool


COMMANDS: dict[str, Command] = {}


def command(name: str, *, min_params: int = 0, before_registration: bool = False) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of `name`."""

    def register(handler: Handler) -> Handler:
        if name in COMMANDS:
            raise RuntimeError(f"command {name} registered twice")
        COMMANDS[name] = Command(name, handler, min_params, before_registration)
        return handler

    return register


def dispatch(ctx: Context, message: Message) -> None:
    """Run the handler of `message.command` for the connection, after the table's checks."""
    tags = message.tags
    if tags:  # an untagged line, the common case, pays for nothing below
        conn = ctx.conn
        batch = conn.batch
        if batch is not None and "batch" in tags:
            taker: BatchTaker = batch  # type: ignore[assignment]
            taker.take(ctx, message)
            return
        label = usable_label(tags) if answers_labels(conn.caps) else None
        if label is not None:
            with conn.labeled_reply(label):
                _run(ctx, message)
            return
    spec = COMMANDS.get(message.command)  # _run, inlined for the common case
    if spec is not None and ctx.conn.registration.registered and len(message.params) >= spec.min_params:
        spec.handler(ctx, message)
    else:
        _run(ctx, message)


def _run(ctx: Context, message: Message) -> None:
    spec = COMMANDS.get(message.command)
    conn = ctx.conn
    if spec is None:
        conn.numeric(n.ERR_UNKNOWNCOMMAND, message.command, "Unknown command")
        return
    if not spec.before_registration and not conn.registration.registered:
        conn.numeric(n.ERR_NOTREGISTERED, "You have not registered")
        return
    if len(message.params) < spec.min_params:
        conn.numeric(n.ERR_NEEDMOREPARAMS, message.command, "Not enough parameters")
        return
    spec.handler(ctx, message)
