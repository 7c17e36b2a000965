"""The one rule of RFC 6455 framing that aiohttp's frame reader leaves to us: every frame
a client sends is masked (5.1: "a server MUST close the connection upon receiving a
frame that is not masked", with status 1002, 7.4.1).

aiohttp reads the MASK bit only to know whether a masking key follows, so an unmasked
frame is handled like any other. Rather than parse frames a second time, `MaskedOnly`
stands in front of aiohttp's reader (web.py puts it there) and follows the frame
boundaries of the client's byte stream from the headers alone (two bytes, the extended
length of 2 or 8 bytes, the masking key), skipping every payload unread: a few
operations per frame, nothing per payload byte, no copy. The reader gets the bytes
before the first unmasked frame and nothing after them (but that frame's first byte,
when a read ended right after it: alone, it is no frame).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

# The Close frame that fails the connection: FIN, opcode 8, unmasked (a server's frames
# are not), status 1002 (protocol error) and the reason, for whoever debugs the client.
UNMASKED_REASON = b"client frames must be masked"
UNMASKED_CLOSE = bytes((0x88, 2 + len(UNMASKED_REASON))) + (1002).to_bytes(2, "big") + UNMASKED_REASON


class FrameReader(Protocol):
    """What aiohttp asks of its WebSocket reader (`WebSocketReader`): bytes in, and
    whether the connection is over (it has failed it)."""

    def feed_data(self, data: bytes) -> tuple[bool, bytes]: ...

    def feed_eof(self) -> None: ...


class MaskedOnly:
    """A frame reader behind a check of the MASK bit of every frame, however TCP cuts
    the stream: on the first unmasked frame, the bytes before it go to the reader, then
    `fail` is called (and nothing should be fed after that: the connection is failed).

    It trusts the lengths it reads and checks nothing else (the reader does: reserved
    bits, opcodes, sizes). Its own `feed_data` handles the usual reads (within a frame,
    or one whole small frame) without a further call: it runs on every read of every
    WebSocket.
    """

    __slots__ = ("reader", "fail", "head", "left")

    def __init__(self, reader: FrameReader, fail: Callable[[], None]) -> None:
        self.reader = reader
        self.fail = fail
        self.head = b""  # the start of a header cut by the end of a read
        self.left = 0  # bytes of the current frame still to come after its header

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        left, end = self.left, len(data)
        if left >= end:  # inside a frame's payload (a message spanning reads)
            self.left = left - end
            return self.reader.feed_data(data)
        # The usual read: one whole masked frame of under 126 bytes. Its second byte is
        # 0x80 + size and it is 6 + size bytes long (header, key, payload), so that byte
        # less 0x7A is the read's length; 5 < end < 132 leaves out every other second byte.
        if not left and not self.head and 5 < end < 132 and data[1] - 0x7A == end:
            return self.reader.feed_data(data)
        before = self.unmasked_at(data)
        if before < 0:
            return self.reader.feed_data(data)
        if before and self.reader.feed_data(data[:before])[0]:
            return True, b""  # the reader failed the connection first, with its own code
        self.fail()
        return True, b""

    def feed_eof(self) -> None:
        self.reader.feed_eof()

    def unmasked_at(self, data: bytes) -> int:
        """How many bytes of `data` come before the first unmasked frame (0 when it began
        in an earlier read), or -1 if there is none so far; follows the frames."""
        left, end = self.left, len(data)
        if left >= end:
            self.left = left - end
            return -1
        head = self.head
        if head:  # left is 0: a header began in an earlier read
            data = head + data
            behind = len(head)
            end += behind
            i = 0
        else:
            behind = 0
            i = left
        # i: where the next header starts, in `data` (which begins with `head`); a header
        # is 2 bytes, the extended length (2 or 8 bytes), the masking key (4)
        while i + 1 < end:
            second = data[i + 1]
            if second < 0x80:  # MASK bit clear
                return max(i - behind, 0)
            if second < 0xFE:  # a length under 126: as in feed_data
                i += second - 0x7A
            elif second == 0xFE:
                if end - i < 4:
                    break
                i += 8 + int.from_bytes(data[i + 2 : i + 4], "big")
            else:
                if end - i < 10:
                    break
                i += 14 + int.from_bytes(data[i + 2 : i + 10], "big")
        if i < end:  # a header cut short
            self.head, self.left = data[i:], 0
        else:
            self.head, self.left = b"", i - end
        return -1
