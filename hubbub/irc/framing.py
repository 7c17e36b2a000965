"""Split a byte stream into IRC lines, within fixed bounds.

Lines end in LF (a CR before it is dropped), so both CRLF and bare-LF clients work.
The buffer never holds more than one line's limit: a longer line is reported as
`TOO_LONG` once and skipped up to its end, so a peer can neither grow our memory nor
lose its connection by sending too much.
"""

from __future__ import annotations

from typing import Final, cast

from hubbub.speedups import compiled

TOO_LONG: Final = None  # marker yielded in place of an over-long line


class LineBuffer:
    """Accumulates received bytes and hands out complete lines."""

    __slots__ = ("_buf", "_max", "_skipping")

    def __init__(self, max_line: int) -> None:
        self._buf = b""  # the start of a line still waiting for its end (bytes: no object per client)
        self._max = max_line
        self._skipping = False

    def feed(self, data: bytes) -> list[bytes | None]:
        """Add received bytes; return the complete lines (without line endings).

        An over-long line comes out as `TOO_LONG` (None) instead of its bytes.
        """
        buf = self._buf
        if data and not buf and not self._skipping and data.find(b"\n") == len(data) - 1:
            # One whole line and nothing waiting: nearly every read at everyday load.
            line = data[:-2] if data.endswith(b"\r\n") else data[:-1]
            return [line] if len(line) <= self._max else [TOO_LONG]
        out: list[bytes | None] = []
        if buf:
            data = buf + data
        limit = self._max
        # One split does the scanning in C; each line is copied once, by the split.
        *lines, rest = data.split(b"\n")
        for line in lines:
            if line[-1:] == b"\r":
                line = line[:-1]
            if self._skipping:
                self._skipping = False
            elif len(line) > limit:
                out.append(TOO_LONG)
            else:
                out.append(line)
        # The limit counts the line without its ending, so a full-length line may wait
        # here with its CR while the LF is still on the way.
        if len(rest) > limit and not self._skipping and not (len(rest) == limit + 1 and rest[-1] == 13):
            # No line ending in sight: report once, then drop input until the next LF.
            out.append(TOO_LONG)
            self._skipping = True
        self._buf = b"" if self._skipping else rest
        return out

    @property
    def pending(self) -> int:
        return len(self._buf)


def _framers() -> type[LineBuffer]:
    """The class a server's connections frame their input with: LineBuffer above, or its
    compiled twin (hubbub/_speedups.c, the same behaviour: tests/unit/test_line_speedups.py)
    when it was built. Every read of every client passes through `feed`."""
    if compiled is not None:
        return cast("type[LineBuffer]", compiled.LineBuffer)
    return LineBuffer


FRAMER = _framers()
