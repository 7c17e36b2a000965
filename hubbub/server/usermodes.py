"""User modes: the table of letters, each saying who may set and unset it.

RPL_MYINFO advertises the same letters (isupport.USER_MODES; a test keeps them equal).
The MODE handler (handlers/usermodes.py) applies a mode string against this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hubbub.server.user import User


@dataclass(frozen=True, slots=True)
class UserMode:
    letter: str
    meaning: str
    self_set: bool = True  # a user may give it to itself with MODE +x
    self_unset: bool = True  # a user may take it off itself with MODE -x
    oper_only: bool = False  # only operators hold it; it goes when -o does


REGISTERED_ONLY = "R"  # private messages and INVITEs only from accounts (refuses_unregistered)

USER_MODE_TABLE: dict[str, UserMode] = {
    mode.letter: mode
    for mode in (
        UserMode("B", "bot: marks the user as a bot (WHO flag B, WHOIS 335)"),
        UserMode("i", "invisible: hidden from WHO, NAMES and WHOIS of users sharing no channel"),
        # RFC 2812: "+o" from the user itself is ignored; only OPER gives it. -o is allowed.
        UserMode("o", "IRC operator: given by OPER, dropped with -o (WHOIS 313, WHO *)", self_set=False),
        UserMode(REGISTERED_ONLY, "registered only: private messages and invitations only from users logged in "
                 "to an account (and operators)"),
        UserMode("r", "logged in to an account: given and taken by logging in and out", self_set=False,
                 self_unset=False),
        UserMode("s", "server notices: connects, exits, kills, K-lines, rehash (operators only)", oper_only=True),
        UserMode("w", "wallops: receives WALLOPS messages"),
    )
}


def refuses_unregistered(target: User, sender: User) -> bool:
    """User mode +R: a private message or an INVITE from a user with no account (not an
    operator) is kept from the target, as the charybdis family's +R keeps both (ergo's
    keeps messages): unsolicited lines from throwaway connections are the spam a person
    cannot ban. One rule for PRIVMSG (handlers/messaging.py) and INVITE
    (handlers/moderation.py), asked by their handlers of the chat state, which every node
    of a cluster holds alike: the sender's node decides, whichever node the target is
    on, and what it refuses is never an event. An INVITE's is asked again where it is
    applied (access.invite_refusal), the target's +R or the sender's logout having come
    first in the network's order: an invitation is state, a message is not."""
    return (
        REGISTERED_ONLY in target.modes and sender.account is None and "o" not in sender.modes and sender is not target
    )


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
