"""IRC messages as values: parse a line into a `Message`, serialize it back.

This is the whole wire grammar of the protocol (RFC 1459 framing as refined by the
Modern IRC document, plus IRCv3 message tags), kept free of I/O so that every
transport and every test shares it. Parsing a line a client sent can only fail with
`ParseError`; anything else escaping from here is a bug of ours.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Message", "ParseError", "parse", "escape_tag_value", "unescape_tag_value"]


class ParseError(ValueError):
    """The peer sent a line that is not an IRC message (our reply: ignore or FAIL)."""


_TAG_ESCAPES = {";": "\\:", " ": "\\s", "\\": "\\\\", "\r": "\\r", "\n": "\\n"}
_TAG_UNESCAPES = {":": ";", "s": " ", "\\": "\\", "r": "\r", "n": "\n"}
_ESCAPE_TABLE = str.maketrans(_TAG_ESCAPES)


def escape_tag_value(value: str) -> str:
    """Escape a tag value as the message-tags spec requires."""
    return value.translate(_ESCAPE_TABLE)


def unescape_tag_value(raw: str) -> str:
    """Undo tag escaping; unknown escapes drop the backslash, a trailing one is dropped."""
    if "\\" not in raw:
        return raw
    out: list[str] = []
    i = 0
    n = len(raw)
    while i < n:
        ch = raw[i]
        if ch == "\\":
            i += 1
            if i < n:
                nxt = raw[i]
                out.append(_TAG_UNESCAPES.get(nxt, nxt))
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def _parse_tags(raw: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    for item in raw.split(";"):
        if not item:
            continue
        key, sep, value = item.partition("=")
        if not key or key == "+":
            raise ParseError("empty tag key")
        tags[key] = unescape_tag_value(value) if sep else ""
    return tags


# Commands whose last parameter is human text: always sent as a `:trailing` parameter,
# as ircds do, so that naive parsers that split on " :" read it whole.
_TEXT_LAST = frozenset({"PRIVMSG", "NOTICE", "TOPIC", "QUIT", "PART", "KICK", "ERROR", "AWAY",
                        "WALLOPS", "CAP", "FAIL", "WARN", "NOTE"})


def _valid_command(command: str) -> bool:
    if command.isdigit():
        return len(command) == 3
    return command.isascii() and command.isalpha()


@dataclass(slots=True)
class Message:
    """One IRC message. `command` is upper case; `params` holds the trailing one last."""

    command: str
    params: list[str] = field(default_factory=list)
    source: str | None = None
    tags: dict[str, str] = field(default_factory=dict)

    def param(self, index: int, default: str = "") -> str:
        return self.params[index] if index < len(self.params) else default

    def to_line(self) -> str:
        """Serialize without the line ending.

        Only the last parameter may contain spaces, be empty or start with ':'; such a
        middle parameter is a bug of the caller and raises ValueError.
        """
        parts: list[str] = []
        if self.tags:
            parts.append(
                "@"
                + ";".join(
                    f"{k}={escape_tag_value(v)}" if v else k for k, v in self.tags.items()
                )
            )
        if self.source:
            parts.append(":" + self.source)
        parts.append(self.command)
        params = self.params
        if params:
            last = len(params) - 1
            force = last > 0 and (self.command in _TEXT_LAST or self.command.isdigit())
            for i, p in enumerate(params):
                if i == last:
                    if force or not p or " " in p or p[0] == ":":
                        p = ":" + p
                elif not p or " " in p or p[0] == ":":
                    raise ValueError(f"middle parameter {p!r} cannot be serialized")
                parts.append(p)
        return " ".join(parts)

    def encode(self) -> bytes:
        """The bytes to put on the wire, CRLF included."""
        return (self.to_line() + "\r\n").encode("utf-8", "replace")


def parse(line: str) -> Message:
    """Parse one line (without its line ending) into a Message.

    Follows the Modern IRC grammar: optional `@tags`, optional `:source`, a command
    (letters or a three-digit numeric, case-insensitive), then parameters separated by
    one or more spaces, the last of which may be a `:trailing` one.
    """
    if "\0" in line or "\r" in line or "\n" in line:
        raise ParseError("NUL, CR or LF inside a line")
    rest = line.lstrip(" ")
    tags: dict[str, str] = {}
    if rest.startswith("@"):
        raw_tags, _, rest = rest[1:].partition(" ")
        tags = _parse_tags(raw_tags)
        rest = rest.lstrip(" ")
    source: str | None = None
    if rest.startswith(":"):
        source, _, rest = rest[1:].partition(" ")
        if not source:
            raise ParseError("empty source")
        rest = rest.lstrip(" ")
    command, _, rest = rest.partition(" ")
    if not command:
        raise ParseError("no command")
    if not _valid_command(command):
        raise ParseError("invalid command")
    params: list[str] = []
    while rest:
        rest = rest.lstrip(" ")
        if not rest:
            break
        if rest[0] == ":":
            params.append(rest[1:])
            break
        param, _, rest = rest.partition(" ")
        params.append(param)
    return Message(command.upper(), params, source, tags)
