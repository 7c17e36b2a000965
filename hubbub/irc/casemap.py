"""`CASEMAPPING=ascii`: only A-Z and a-z are equivalent.

We advertise ascii, not rfc1459, because modern clients expect `[]\\~` to be distinct
from `{}|^` and because non-ASCII names must not fold in surprising ways.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from hubbub.speedups import compiled

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _casefold(name: str) -> str:
    """The key under which a nick or channel name is unique."""
    # for ASCII text (nearly every name) str.lower() is exactly the ascii mapping, and
    # much cheaper than a translation table
    return name.lower() if name.isascii() else name.translate(_ASCII_LOWER)


# Every message folds its target, and every lookup of a nick: the compiled twin
# (hubbub/_speedups.c) where it is built, the same mapping without a Python frame.
casefold: Callable[[str], str] = compiled.casefold if compiled is not None else _casefold


def _literal(chunk: str) -> str:
    return "".join("." if ch == "?" else re.escape(ch) for ch in chunk)


def glob_to_regex(mask: str) -> re.Pattern[str]:
    """Compile an IRC wildcard mask (`*`, `?`) into a matcher of casefolded text.

    Use it with `fullmatch`. Masks come from users (WHO, bans), so the pattern must
    not backtrack: the naive `.*a.*a.*a.*b` takes minutes on a 200-character realname.
    Between two stars, taking the leftmost place where the next piece fits is always
    right, so each such piece is matched once, atomically; only the last one, which
    must end the text, is searched for from the end.
    """
    first, *middle = casefold(mask).split("*")
    if not middle:
        return re.compile(_literal(first) + r"\Z", re.DOTALL)
    *middle, last = middle
    pattern = _literal(first)
    pattern += "".join(f"(?>.*?{_literal(piece)})" for piece in middle if piece)
    pattern += ".*" + _literal(last) + r"\Z"
    return re.compile(pattern, re.DOTALL)


def mask_matches(mask: str, text: str) -> bool:
    return glob_to_regex(mask).fullmatch(casefold(text)) is not None
