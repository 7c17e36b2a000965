"""The command table: each command declared once, with the checks the dispatcher enforces.

Handlers are small functions registered with `@command(...)`; the dispatcher answers
unknown commands (421), commands used before registration (451) and missing
parameters (461), so no handler repeats those checks.

The dispatcher is also where two IRCv3 mechanisms wrap every command at once: lines of
an open client batch (`draft/multiline`) go to that batch, and a `label` tag makes the
command's whole reply one labeled response (labels.py), whatever the handler sends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hubbub.irc import numerics as n
from hubbub.irc.message import Message
from hubbub.server.client import Client
from hubbub.server.labels import answers_labels, usable_label

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
    tags = message.tags
    if tags:  # an untagged line, the common case, pays for nothing below
        if client.batch is not None and "batch" in tags:
            client.batch.take(client, message)
            return
        label = usable_label(tags) if answers_labels(client) else None
        if label is not None:
            with client.labeled_reply(label):
                _run(client, message)
            return
    _run(client, message)


def _run(client: Client, message: Message) -> None:
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
