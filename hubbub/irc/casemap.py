"""`CASEMAPPING=ascii`: only A-Z and a-z are equivalent.

We advertise ascii, not rfc1459, because modern clients expect `[]\\~` to be distinct
from `{}|^` and because non-ASCII names must not fold in surprising ways.
"""

from __future__ import annotations

import re

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def casefold(name: str) -> str:
    """The key under which a nick or channel name is unique."""
    return name.translate(_ASCII_LOWER)


def glob_to_regex(mask: str) -> re.Pattern[str]:
    """Compile an IRC wildcard mask (`*`, `?`) into a case-insensitive matcher."""
    parts = []
    for ch in casefold(mask):
        if ch == "*":
            parts.append(".*")
        elif ch == "?":
            parts.append(".")
        else:
            parts.append(re.escape(ch))
    return re.compile("".join(parts), re.DOTALL)


def mask_matches(mask: str, text: str) -> bool:
    return glob_to_regex(mask).fullmatch(casefold(text)) is not None
