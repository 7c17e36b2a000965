"""Cutting what a person typed into lines the server will relay whole.

A server relays `:nick!user@host PRIVMSG target :text` to others, and that line must
fit in 512 bytes; text past the limit is silently truncated by many servers. So a
long message is split here, between words when possible and never inside a UTF-8
character, and pasted newlines become separate messages.
"""

from __future__ import annotations

LINE_LIMIT = 512  # bytes, CRLF included (RFC 1459)
# Used when we do not yet know our own user@host as others see it.
ASSUMED_USER = 10
ASSUMED_HOST = 63


def text_budget(prefix: str | None, nick: str, command: str, target: str, extra: int = 0) -> int:
    """Bytes of text one relayed message may carry, with the source the server will add."""
    if prefix is None:
        prefix = f"{nick}!{'u' * ASSUMED_USER}@{'h' * ASSUMED_HOST}"
    overhead = len(f":{prefix} {command} {target} :".encode()) + 2 + extra
    return max(32, LINE_LIMIT - overhead)


def _cut(text: str, budget: int) -> tuple[str, str]:
    """The longest head of `text` within `budget` bytes, preferring a space to cut at."""
    data = text.encode()
    if len(data) <= budget:
        return text, ""
    end = budget
    while end > 0 and (data[end] & 0xC0) == 0x80:  # do not split a UTF-8 sequence
        end -= 1
    head = data[:end].decode()
    space = head.rfind(" ")
    if space > len(head) // 2:
        return head[:space], text[space + 1 :]
    return head, text[len(head) :]


def split_message(text: str, budget: int) -> list[str]:
    """Split `text` into non-empty pieces of at most `budget` UTF-8 bytes each."""
    pieces: list[str] = []
    text = text.replace("\0", "")
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        rest = line
        while rest:
            head, rest = _cut(rest, budget)
            if head:
                pieces.append(head)
    return pieces
