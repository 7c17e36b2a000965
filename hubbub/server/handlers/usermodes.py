"""User modes: MODE on a nick, kept apart from channel modes.

Every user mode is one row of `USER_MODE_TABLE`, saying who may set and unset it;
`user_mode` applies a mode string against that table, and `set_user_mode` is the one
place a letter is turned on or off, so what a mode implies elsewhere (the watchers of
server notices for +s) stays in step whoever changes it: the user, OPER, or -o.
RPL_MYINFO advertises the same letters (isupport.USER_MODES; a test keeps them equal).
"""

from __future__ import annotations

from dataclasses import dataclass

from hubbub.irc import numerics as n
from hubbub.irc.message import Message
from hubbub.server.client import Client


@dataclass(frozen=True, slots=True)
class UserMode:
    letter: str
    meaning: str
    self_set: bool = True  # a user may give it to itself with MODE +x
    oper_only: bool = False  # only operators hold it; it goes when -o does


USER_MODE_TABLE: dict[str, UserMode] = {
    mode.letter: mode
    for mode in (
        UserMode("B", "bot: marks the user as a bot (WHO flag B, WHOIS 335)"),
        UserMode("i", "invisible: hidden from WHO, NAMES and WHOIS of users sharing no channel"),
        # RFC 2812: "+o" from the user itself is ignored; only OPER gives it. -o is allowed.
        UserMode("o", "IRC operator: given by OPER, dropped with -o (WHOIS 313, WHO *)", self_set=False),
        UserMode("s", "server notices: connects, exits, kills, K-lines, rehash (operators only)", oper_only=True),
        UserMode("w", "wallops: receives WALLOPS messages"),
    )
}


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


def set_user_mode(client: Client, letter: str, on: bool) -> list[tuple[bool, str]]:
    """Turn `letter` on or off for `client`, with what it implies; the changes made."""
    if on == (letter in client.modes):
        return []
    changes = [(on, letter)]
    if on:
        client.modes.add(letter)
    else:
        client.modes.discard(letter)
    client.net.count_user_mode(client, letter, on)
    if letter == "s":
        client.net.notices.watch(client, on)
    if letter == "o" and not on:
        for mode in USER_MODE_TABLE.values():
            if mode.oper_only:
                changes += set_user_mode(client, mode.letter, False)
    return changes


def announce_user_modes(client: Client, changes: list[tuple[bool, str]]) -> None:
    """The MODE line telling a user how its own modes changed."""
    if changes:
        client.send(Message("MODE", [client.nick, format_changes(changes)], client.prefix))


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
            continue
        mode = USER_MODE_TABLE.get(letter)
        if mode is None:
            unknown = True
        elif adding and (not mode.self_set or mode.oper_only and "o" not in client.modes):
            continue  # not the user's to take: ignored, as RFC 2812 says of +o
        else:
            applied += set_user_mode(client, letter, adding)
    if unknown:
        client.numeric(n.ERR_UMODEUNKNOWNFLAG, "Unknown MODE flag")
    announce_user_modes(client, applied)
