"""User modes: MODE on a nick (+i today), kept apart from channel modes."""

from __future__ import annotations

from hubbub.irc import numerics as n
from hubbub.irc.message import Message
from hubbub.server.client import Client
from hubbub.server.isupport import USER_MODES


def format_changes(changes: list[tuple[bool, str]]) -> str:
    """`[(True, "o"), (True, "v"), (False, "t")]` as `+ov-t`."""
    out: list[str] = []
    sign: bool | None = None
    for adding, letter in changes:
        if adding != sign:
            out.append("+" if adding else "-")
            sign = adding
        out.append(letter)
    return "".join(out)


def user_mode(client: Client, target: Client, message: Message) -> None:
    if target is not client:
        client.numeric(n.ERR_USERSDONTMATCH, "Can't change mode for other users")
        return
    if len(message.params) < 2:
        client.numeric(n.RPL_UMODEIS, "+" + "".join(sorted(client.modes)))
        return
    applied: list[tuple[bool, str]] = []
    adding = True
    unknown = False
    for letter in message.params[1]:
        if letter in "+-":
            adding = letter == "+"
        elif letter == "o" and not adding and "o" in client.modes:
            client.modes.discard("o")
            applied.append((False, "o"))
        elif letter in USER_MODES:
            if adding != (letter in client.modes):
                client.modes.add(letter) if adding else client.modes.discard(letter)
                applied.append((adding, letter))
        else:
            unknown = True
    if unknown:
        client.numeric(n.ERR_UMODEUNKNOWNFLAG, "Unknown MODE flag")
    if applied:
        client.send(Message("MODE", [client.nick, format_changes(applied)], client.prefix))
