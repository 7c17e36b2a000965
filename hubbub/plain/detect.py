"""Telling a person typing from an IRC client, on the first line a connection sends."""

from __future__ import annotations

REGISTRATION_COMMANDS = frozenset({"CAP", "PASS", "NICK", "USER", "WEBIRC"})
# Also IRC when they come first with a parameter: a client may check the link (PING),
# answer one, or give up (QUIT) before registering; none of them is a nickname.
_IRC_OPENERS = REGISTRATION_COMMANDS | {"PING", "PONG", "QUIT"}


def looks_like_irc(first_line: str) -> bool:
    """Whether a connection's first line is IRC (registration, mostly) rather than a typed nickname."""
    if first_line[:1] in ("@", ":"):
        return True
    words = first_line.split(None, 1)
    return len(words) == 2 and words[0].upper() in _IRC_OPENERS
