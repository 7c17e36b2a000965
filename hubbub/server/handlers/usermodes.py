"""User modes: MODE on a nick, kept apart from channel modes.

Every user mode is one row of `USER_MODE_TABLE` (usermodes.py), saying who may set and
unset it; `user_mode` applies a mode string against that table, and `set_user_modes`
is the one place changes are emitted, with what they imply (dropping +o drops the
modes only operators hold), whoever asks: the user, OPER, or -o.
"""

from __future__ import annotations

from hubbub.irc import numerics as n
from hubbub.irc.message import Message
from hubbub.server.context import Context
from hubbub.server.events import UserModesSet
from hubbub.server.user import User
from hubbub.server.usermodes import USER_MODE_TABLE, format_changes

__all__ = ["USER_MODE_TABLE", "format_changes", "set_user_modes", "user_mode"]


def set_user_modes(ctx: Context, wanted: list[tuple[bool, str]]) -> None:
    """Emit the changes among `wanted` that change something, with what they imply; the
    user is told in one MODE line when they are applied."""
    modes = set(ctx.user.modes)
    changes: list[tuple[bool, str]] = []

    def change(adding: bool, letter: str) -> None:
        if adding == (letter in modes):
            return
        modes.add(letter) if adding else modes.discard(letter)
        changes.append((adding, letter))
        if letter == "o" and not adding:
            for mode in USER_MODE_TABLE.values():
                if mode.oper_only:
                    change(False, mode.letter)

    for adding, letter in wanted:
        change(adding, letter)
    if changes:
        ctx.emit(UserModesSet(ctx.user.uid, tuple(changes), ctx.now()))


def user_mode(ctx: Context, target: User, message: Message) -> None:
    conn, user = ctx.conn, ctx.user
    if target is not user:
        conn.numeric(n.ERR_USERSDONTMATCH, "Can't change mode for other users")
        return
    if len(message.params) < 2:
        conn.numeric(n.RPL_UMODEIS, "+" + "".join(sorted(user.modes)))
        return
    wanted: list[tuple[bool, str]] = []
    adding = True
    unknown = False
    is_oper = "o" in user.modes
    for letter in message.params[1]:
        if letter in "+-":
            adding = letter == "+"
            continue
        mode = USER_MODE_TABLE.get(letter)
        if mode is None:
            unknown = True
        elif adding and (not mode.self_set or mode.oper_only and not is_oper):
            continue  # not the user's to take: ignored, as RFC 2812 says of +o
        elif not adding and not mode.self_unset:
            continue  # follows something else (logging in and out), not MODE
        else:
            wanted.append((adding, letter))
            if letter == "o":  # dropped: the operator's modes are out of reach from here on
                is_oper = False
    if unknown:
        conn.numeric(n.ERR_UMODEUNKNOWNFLAG, "Unknown MODE flag")
    set_user_modes(ctx, wanted)
