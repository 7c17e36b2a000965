"""The IRCv3 capabilities we offer, with their CAP LS values.

Only what is implemented is listed here, and listing it is what makes it requestable.
"""

from __future__ import annotations

# name -> value advertised to CAP LS 302 clients (None: no value)
SUPPORTED: dict[str, str | None] = {
    "cap-notify": None,
    "echo-message": None,
    "multi-prefix": None,
    "userhost-in-names": None,
}


def ls_tokens(version: int) -> list[str]:
    """The CAP LS list; values are only shown to clients that asked for 302."""
    tokens = []
    for name, value in sorted(SUPPORTED.items()):
        tokens.append(f"{name}={value}" if value and version >= 302 else name)
    return tokens
