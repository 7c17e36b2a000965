"""IRC messages as values: parse a line into a `Message`, serialize it back.

This is the whole wire grammar of the protocol (RFC 1459 framing as refined by the
Modern IRC document, plus IRCv3 message tags), kept free of I/O so that every
transport and every test shares it. Parsing a line a client sent can only fail with
`ParseError`; anything else escaping from here is a bug of ours.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial

from hubbub.speedups import compiled

__all__ = ["Message", "ParseError", "parse", "escape_tag_value", "unescape_tag_value"]


# A line is at most 512 bytes with its CRLF, tags not counted (RFC 1459, Modern IRC).
MAX_LINE_BODY = 510
MAX_LINE_BYTES = MAX_LINE_BODY + 2


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
            # message-tags: a bad tag name must not get the message rejected; a tag with
            # no name at all cannot be relayed either, so it is dropped.
            continue
        tags[key] = unescape_tag_value(value) if sep else ""
    return tags


# Commands whose last parameter is human text: always sent as a `:trailing` parameter,
# as ircds do, so that naive parsers that split on " :" read it whole.
_TEXT_LAST = frozenset({"PRIVMSG", "NOTICE", "TOPIC", "QUIT", "PART", "KICK", "ERROR", "AWAY",
                        "WALLOPS", "CAP", "FAIL", "WARN", "NOTE", "RENAME"})
# Of those, the ones whose only parameter is already the text (`QUIT :bye`); for the
# others a lone parameter is a target (`PART #chan`) and stays a middle one.
_TEXT_ONLY = frozenset({"QUIT", "ERROR", "AWAY", "WALLOPS"})
# Sent with a source (relayed by a server), the new nick is a trailing parameter too
# (`:old!u@h NICK :new`), as most ircds send it: some clients (ii) read only the
# trailing one and could not follow a nick change otherwise. A client's own
# `NICK new` keeps the plain form.
_RELAYED_TEXT_ONLY = "NICK"


def _command_word(word: str) -> str:
    """The command a line's first word names, as the dispatcher looks it up.

    Any word of printable characters is a command word: one we do not know (`FOO_BAR`,
    `PRIV-MSG`) is the dispatcher's to answer with 421, as the Modern document has it.
    Only a word that cannot be one (control characters, a leading ':') is no message.
    Only ASCII is upper-cased: str.upper() maps some non-ASCII letters onto ASCII ones
    ("\u0131" to "I", "\u017f" to "S"), which would let `prıvmsg` pass for PRIVMSG.
    (`parse` does the same inline, for the lines that are already upper case.)
    """
    if not word.isprintable() or word[0] == ":":
        raise ParseError("invalid command")
    return word.upper() if word.isascii() else word


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
        middle parameter is a bug of the caller and raises ValueError. So does CR, LF or
        NUL anywhere: sent, it would split the line and let text pose as a new message.
        """
        # Every relayed message passes here once per wire form: kept to a few string
        # operations, the common shapes first, the line built by one f-string.
        command = self.command
        params = self.params
        source = self.source
        count = len(params)
        if not count:
            line = f":{source} {command}" if source else command
        else:
            last = params[-1]
            colon = (
                not last
                or " " in last
                or last[0] == ":"
                or command in _TEXT_ONLY
                or (count > 1 and (command in _TEXT_LAST or command.isdigit()))
                or (command == _RELAYED_TEXT_ONLY and source)
            )
            if count == 1:
                body = f"{command} :{last}" if colon else f"{command} {last}"
                line = f":{source} {body}" if source else body
            else:
                if count == 2:
                    middle = params[0]
                    if not middle or " " in middle or middle[0] == ":":
                        raise ValueError(f"middle parameter {middle!r} cannot be serialized")
                else:
                    for p in params[:-1]:
                        if not p or " " in p or p[0] == ":":
                            raise ValueError(f"middle parameter {p!r} cannot be serialized")
                    middle = " ".join(params[:-1])
                if source and colon:  # a relayed message: `:nick!user@host PRIVMSG #chan :text`
                    line = f":{source} {command} {middle} :{last}"
                else:
                    body = f"{command} {middle} :{last}" if colon else f"{command} {middle} {last}"
                    line = f":{source} {body}" if source else body
        tags = self.tags
        if tags:
            table = _ESCAPE_TABLE
            items = ";".join([f"{k}={v.translate(table)}" if v else k for k, v in tags.items()])
            line = f"@{items} {line}"
        if "\r" in line or "\n" in line or "\0" in line:
            raise ValueError(f"CR, LF or NUL cannot be sent in a line: {line!r}")
        return line

    def encode(self) -> bytes:
        """The bytes to put on the wire, CRLF included.

        Never more than 512 bytes without the tags: a longer line has its last parameter
        (the text, in every message that can grow) cut at a character boundary. Limits
        kept elsewhere give better cuts; this is the guarantee behind all of them, at
        the price of one length check on every line that fits.
        """
        if encode_fitting is not None:  # the same bytes, built in C, when nothing is to cut or refuse
            fast = encode_fitting(self)
            if fast is not None:
                return fast
        data = (self.to_line() + "\r\n").encode("utf-8", "replace")
        if len(data) > MAX_LINE_BYTES:
            return self._cut(data)
        return data

    def _cut(self, data: bytes) -> bytes:
        """`data` (this message encoded) brought within 512 bytes without its tags."""
        start = data.index(b" ") + 1 if data[:1] == b"@" else 0
        for _ in range(2):  # a cut may change the trailing ':' by one byte: at most twice
            excess = len(data) - start - MAX_LINE_BYTES
            if excess <= 0:
                return data
            if not self.params:
                break
            last = self.params[-1].encode("utf-8", "replace")
            if len(last) < excess:
                break
            kept = last[: len(last) - excess].decode("utf-8", "ignore")
            shorter = Message(self.command, [*self.params[:-1], kept], self.source, self.tags)
            data = (shorter.to_line() + "\r\n").encode("utf-8", "replace")
        if len(data) - start <= MAX_LINE_BYTES:
            return data
        # Middle parameters alone too long: no message of ours is shaped so. Still a line.
        body = data[start : start + MAX_LINE_BODY].decode("utf-8", "ignore").encode()
        return data[:start] + body + b"\r\n"


# hubbub/_speedups.c's twins of Message.encode and of parse's common line (None where the
# module is not built, or HUBBUB_PURE=1): each answers None where the Python code has more
# to do, and the Python code stays the reference (tests/unit/test_line_speedups.py).
# `encode_fitting(message)` is also called as it is where every message is encoded once
# (delivery.Outgoing.irc_bytes), a Python frame less than Message.encode.
encode_fitting: Callable[[Message], bytes | None] | None = (
    partial(compiled.encode, _TEXT_ONLY, _TEXT_LAST) if compiled is not None else None
)
parse_common: Callable[[bytes, type[Message]], Message | None] | None = (
    compiled.parse_common if compiled is not None else None
)


def _new_message(
    command: str, params: list[str], source: str | None = None, tags: dict[str, str] | None = None
) -> Message:
    return Message(command, params, source, {} if tags is None else tags)


# Message(command, params, source, tags or {}): where the message path makes one (twice per
# chat line, read and relayed), the compiled twin fills the new instance's slots itself,
# without the Python frame of the dataclass's __init__ (which must stay a plain
# assignment of the four fields for that: tests/unit/test_line_speedups.py checks it).
new_message: Callable[..., Message] = partial(compiled.message, Message) if compiled is not None else _new_message


def parse(line: str) -> Message:
    """Parse one line (without its line ending) into a Message.

    Follows the Modern IRC grammar: optional `@tags`, optional `:source`, a command
    (case-insensitive; see `_command_word` for what counts as one), then parameters
    separated by one or more spaces, the last of which may be a `:trailing` one.
    """
    if "\0" in line or "\r" in line or "\n" in line:
        raise ParseError("NUL, CR or LF inside a line")
    first = line[:1]
    if first != "@" and first != ":" and first != " ":
        # `COMMAND target :text`, as nearly every chat line is: what the general way below
        # would make of it, in fewer steps (anything else takes the general way)
        head, colon, trailing = line.partition(" :")
        command, space, target = head.partition(" ")
        if colon and target and " " not in target and command.isupper() and command.isascii() and command.isalpha():
            return Message(command, [target, trailing], None, {})
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
    # A parameter starting with ':' is the last one, so the first " :" starts it; the
    # rest splits on spaces (several in a row count as one). Every received line comes
    # here: two splits in C rather than a loop.
    head, colon, trailing = rest.partition(" :")
    words = head.split(" ")
    if "" in words:
        words = [word for word in words if word]
        if not words:
            raise ParseError("no command")
    command = words[0]
    if not (command.isupper() and command.isascii() and command.isalpha()):  # PRIVMSG, as nearly all send it
        command = _command_word(command)
    params = words[1:]
    if colon:
        params.append(trailing)
    return Message(command, params, source, tags)


def pack(items: Iterable[str], budget: int) -> list[list[str]]:
    """`items` in runs whose space-joined UTF-8 takes at most `budget` bytes each (an
    item longer than that alone in its run, never cut): a list parameter (NAMES, CAP
    LS) in as many lines as 512 bytes demand. No runs for no items."""
    runs: list[list[str]] = []
    run: list[str] = []
    size = 0
    for item in items:
        cost = len(item.encode()) + (1 if run else 0)
        if run and size + cost > budget:
            runs.append(run)
            run, size, cost = [], 0, cost - 1
        run.append(item)
        size += cost
    if run:
        runs.append(run)
    return runs


def fit_utf8(text: str, max_bytes: int) -> str:
    """`text` cut to at most `max_bytes` of UTF-8, never inside a character."""
    if len(text) * 4 <= max_bytes:
        return text  # cannot be too long, whatever the characters
    raw = text.encode("utf-8")
    if len(raw) <= max_bytes:
        return text
    return raw[:max_bytes].decode("utf-8", "ignore")


def shown(param: str) -> str:
    """`param` if it can be a middle parameter, else `*`.

    Replies echo what a client sent (`403 alice <channel> :No such channel`) in middle
    parameters, which cannot be empty, contain a space or start with ':'; a client can
    still send such a value as its last parameter. We show `*` instead, as ergo does.
    """
    if not param or " " in param or param[0] == ":":
        return "*"
    return param


def reply_params(params: tuple[str, ...] | list[str]) -> list[str]:
    """Reply parameters made serializable: every middle one passed through `shown`."""
    out = [shown(p) for p in params[:-1]]
    if params:
        out.append(params[-1])
    return out
