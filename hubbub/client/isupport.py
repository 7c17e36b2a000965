"""What the server told us about itself in RPL_ISUPPORT (005), as a client needs it.

A client must not assume the server's rules: which prefixes rank members, which
characters start a channel name, how names compare, which modes take a parameter.
`ISupport` reads those tokens and answers those questions; it starts with the
defaults the Modern IRC document gives for servers that do not say.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["ISupport", "casefold_for"]

_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER = "abcdefghijklmnopqrstuvwxyz"
_FOLDS = {
    "ascii": str.maketrans(_UPPER, _LOWER),
    "rfc1459": str.maketrans(_UPPER + "[]\\~", _LOWER + "{}|^"),
    "strict-rfc1459": str.maketrans(_UPPER + "[]\\", _LOWER + "{}|"),
}


def casefold_for(casemapping: str) -> dict[int, int]:
    """The translation table for a CASEMAPPING value (rfc1459, the historic default, if unknown)."""
    return _FOLDS.get(casemapping.lower(), _FOLDS["rfc1459"])


def _unescape_value(value: str) -> str:
    # ISUPPORT values escape bytes as \xHH; the message-tags escapes do not apply here.
    out: list[str] = []
    i = 0
    while i < len(value):
        if value.startswith("\\x", i) and i + 4 <= len(value):
            try:
                out.append(chr(int(value[i + 2 : i + 4], 16)))
                i += 4
                continue
            except ValueError:
                pass
        out.append(value[i])
        i += 1
    return "".join(out)


class ISupport:
    """The server's advertised parameters, with sensible defaults until it says otherwise."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Back to the defaults, as before the first 005 of a connection."""
        self.tokens: dict[str, str] = {}
        self.prefix_modes = "ov"
        self.prefix_chars = "@+"
        self.chantypes = "#&"
        self.statusmsg = "@+"  # STATUSMSG: the prefixes that address a channel's ranks (`@#chan`)
        self.casemapping = "rfc1459"
        self.chanmodes: tuple[str, str, str, str] = ("beI", "k", "l", "imnpst")
        self._fold = casefold_for(self.casemapping)

    def update(self, params: Iterable[str]) -> None:
        """Apply the tokens of one 005 line (the nick and the trailing text excluded)."""
        for token in params:
            if not token:
                continue
            if token.startswith("-"):
                self.tokens.pop(token[1:].upper(), None)
                continue
            name, _, value = token.partition("=")
            self.tokens[name.upper()] = _unescape_value(value)
        self._derive()

    def _derive(self) -> None:
        prefix = self.tokens.get("PREFIX")
        if prefix and prefix.startswith("(") and ")" in prefix:
            modes, _, chars = prefix[1:].partition(")")
            if len(modes) == len(chars):
                self.prefix_modes, self.prefix_chars = modes, chars
        elif "PREFIX" in self.tokens:  # "PREFIX=" means no membership prefixes at all
            self.prefix_modes, self.prefix_chars = "", ""
        if "CHANTYPES" in self.tokens:
            self.chantypes = self.tokens["CHANTYPES"]
        # Not advertised: the member prefixes that cannot begin a channel name (ngIRCd's
        # `&` and `+` do: `&chan` is a channel there, not a message to its admins)
        fallback = "".join(c for c in self.prefix_chars if c not in self.chantypes)
        self.statusmsg = self.tokens.get("STATUSMSG") or fallback
        if self.tokens.get("CASEMAPPING"):
            self.casemapping = self.tokens["CASEMAPPING"].lower()
            self._fold = casefold_for(self.casemapping)
        chanmodes = self.tokens.get("CHANMODES")
        if chanmodes is not None:
            parts = (chanmodes.split(",") + ["", "", "", ""])[:4]
            self.chanmodes = (parts[0], parts[1], parts[2], parts[3])

    # -- questions a client asks -------------------------------------------------

    @property
    def network(self) -> str | None:
        return self.tokens.get("NETWORK") or None

    @property
    def chathistory_limit(self) -> int | None:
        """CHATHISTORY=N: the most messages one request may return (0: no limit); None if absent."""
        value = self.tokens.get("CHATHISTORY")
        if value is None:
            return None
        return int(value) if value.isdigit() else 0

    @property
    def silence_limit(self) -> int | None:
        """SILENCE=N: the server keeps a server-side ignore list of at most N masks (0: no
        number given); None when it has none."""
        value = self.tokens.get("SILENCE")
        if value is None:
            return None
        return int(value) if value.isdigit() else 0

    def casefold(self, name: str) -> str:
        """The key under which the server considers `name` unique."""
        return name.translate(self._fold)

    def same(self, a: str, b: str) -> bool:
        return self.casefold(a) == self.casefold(b)

    def is_channel(self, name: str) -> bool:
        return bool(name) and name[0] in self.chantypes

    def split_prefixes(self, entry: str) -> tuple[str, str]:
        """`@+alice` -> ("ov", "alice"): the membership modes in front of a NAMES entry."""
        modes = []
        i = 0
        while i < len(entry) and entry[i] in self.prefix_chars:
            modes.append(self.prefix_modes[self.prefix_chars.index(entry[i])])
            i += 1
        return "".join(modes), entry[i:]

    def prefix_for(self, modes: str) -> str:
        """The highest-ranked prefix character for a set of membership modes ('' if none)."""
        for mode, char in zip(self.prefix_modes, self.prefix_chars, strict=False):
            if mode in modes:
                return char
        return ""

    def rank(self, modes: str) -> int:
        """0 for the highest membership mode, len(PREFIX) for none: a sort key for member lists."""
        for i, mode in enumerate(self.prefix_modes):
            if mode in modes:
                return i
        return len(self.prefix_modes)

    def sort_modes(self, modes: Iterable[str]) -> str:
        wanted = set(modes)
        return "".join(m for m in self.prefix_modes if m in wanted)

    def mode_takes_param(self, mode: str, adding: bool) -> bool:
        """Whether a channel mode letter consumes a parameter (list, key, limit, prefix modes)."""
        a, b, c, _ = self.chanmodes
        if mode in self.prefix_modes or mode in a or mode in b:
            return True
        if mode in c:
            return adding
        return False

    def parse_channel_modes(self, modestring: str, args: list[str]) -> list[tuple[bool, str, str | None]]:
        """`+ov-k alice bob key` -> [(True, 'o', 'alice'), (True, 'v', 'bob'), (False, 'k', 'key')]."""
        changes: list[tuple[bool, str, str | None]] = []
        adding = True
        queue = list(args)
        for ch in modestring:
            if ch in "+-":
                adding = ch == "+"
                continue
            param = queue.pop(0) if self.mode_takes_param(ch, adding) and queue else None
            changes.append((adding, ch, param))
        return changes

