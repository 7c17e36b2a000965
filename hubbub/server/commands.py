"""The command table: each command declared once, with the checks the dispatcher enforces.

Handlers are small functions registered with `@command(...)`; the dispatcher answers
unknown commands (421), commands used before registration (451) and missing
parameters (461), so no handler repeats those checks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hubbub.irc import numerics as n
from hubbub.irc.message import Message
from hubbub.server.client import Client

Handler = Callable[[Client, Message], None]


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


def dispatch(client: Client, message: Message) -> None:
    """Run the handler of `message.command` for `client`, after the table's checks."""
    spec = COMMANDS.get(message.command)
    if spec is None:
        client.numeric(n.ERR_UNKNOWNCOMMAND, message.command, "Unknown command")
        return
    if not client.registered and not spec.before_registration:
        client.numeric(n.ERR_NOTREGISTERED, "You have not registered")
        return
    if len(message.params) < spec.min_params:
        client.numeric(n.ERR_NEEDMOREPARAMS, message.command, "Not enough parameters")
        return
    spec.handler(client, message)
