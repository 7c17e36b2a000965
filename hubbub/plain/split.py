"""A long typed line as several messages, cut between words, as IRC clients do it.

A relayed message is one IRC line of at most 512 bytes, the sender's `nick!user@host`
and the command and target included; the server cuts what does not fit. An IRC client
splits long input itself; a person with netcat has no client, so the plain mode does it
for them: at the last space that fits, or, in a word longer than a whole message,
between two characters as a reader sees them: never inside one's UTF-8, nor between a
letter and the marks written on it (Thai, which writes no spaces, Devanagari, accents
typed as combining marks), nor inside an emoji built of several (joined with U+200D,
with a skin tone or a variation selector, or a flag's two letters).
"""

from __future__ import annotations

import unicodedata

from hubbub.irc.message import MAX_LINE_BODY, Message

ZWJ = 0x200D
_REGIONAL = range(0x1F1E6, 0x1F200)  # a flag is two of these


def _extends(ch: str) -> bool:
    """Whether `ch` belongs to the character before it, as a reader sees it."""
    cp = ord(ch)
    return (
        unicodedata.category(ch) in ("Mn", "Mc", "Me")
        or cp == ZWJ
        or 0xFE00 <= cp <= 0xFE0F  # variation selectors
        or 0x1F3FB <= cp <= 0x1F3FF  # skin tones
        or 0xE0020 <= cp <= 0xE007F  # tag characters (subdivision flags)
        or 0xE0100 <= cp <= 0xE01EF
    )


def _boundary(text: str, at: int) -> bool:
    """Whether a cut before `text[at]` leaves every character whole."""
    ch, before = text[at], text[at - 1]
    if _extends(ch) or ord(before) == ZWJ:
        return False
    if ord(ch) in _REGIONAL and ord(before) in _REGIONAL:
        run = at
        while run > 0 and ord(text[run - 1]) in _REGIONAL:
            run -= 1
        return (at - run) % 2 == 0  # an even count before: `ch` begins a flag
    return True


def _whole(raw: bytes, start: int, end: int) -> int:
    """`end` moved back to a cut between characters a reader sees whole, if one is
    after `start` (a part is never empty: one character longer than a message is cut)."""
    text = raw[start:].decode("utf-8")
    head = len(raw[start:end].decode("utf-8"))  # characters before the cut
    at = head
    while at > 0 and not _boundary(text, at):
        at -= 1
    return end if at == 0 else start + len(text[:at].encode("utf-8"))


def text_room(source: str, command: str, target: str, wrapper: int = 0) -> int:
    """Bytes of text that fit in one `:source COMMAND target :text` line (`wrapper`:
    bytes the text is wrapped in, as a CTCP ACTION's)."""
    head = Message(command, [target, ""], source).to_line()  # ":source COMMAND target :"
    return MAX_LINE_BODY - len(head.encode("utf-8")) - wrapper


def split_text(text: str, room: int) -> list[str]:
    """`text` in parts of at most `room` bytes of UTF-8 each, cut at spaces where possible.

    The space a cut falls on is dropped (the next part does not start with it); a word
    longer than `room` is cut where it must be.
    """
    raw = text.encode("utf-8")
    if len(raw) <= room:
        return [text]
    room = max(room, 4)  # one character of UTF-8, whatever happens
    parts: list[str] = []
    start = 0
    while len(raw) - start > room:
        end = start + room
        space = raw.rfind(b" ", start, end + 1)  # a space right after the room still ends a part
        if space > start:
            parts.append(raw[start:space].rstrip(b" ").decode("utf-8"))
            start = space + 1
        else:
            while raw[end] & 0xC0 == 0x80:  # a continuation byte: the cut would split a character
                end -= 1
            end = _whole(raw, start, end)
            parts.append(raw[start:end].decode("utf-8"))
            start = end
        while start < len(raw) and raw[start] == 0x20:
            start += 1
    if start < len(raw):
        parts.append(raw[start:].decode("utf-8"))
    return parts
