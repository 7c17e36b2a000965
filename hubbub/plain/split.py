"""A long typed line as several messages, cut between words, as IRC clients do it.

A relayed message is one IRC line of at most 512 bytes, the sender's `nick!user@host`
and the command and target included; the server cuts what does not fit. An IRC client
splits long input itself; a person with netcat has no client, so the plain mode does it
for them: at the last space that fits, or, in a word longer than a whole message,
between two characters (never inside one: UTF-8 is cut on character boundaries).
"""

from __future__ import annotations

from hubbub.irc.message import MAX_LINE_BODY, Message


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
            parts.append(raw[start:end].decode("utf-8"))
            start = end
        while start < len(raw) and raw[start] == 0x20:
            start += 1
    if start < len(raw):
        parts.append(raw[start:].decode("utf-8"))
    return parts
