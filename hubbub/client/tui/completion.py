"""Tab completion of nicks, channels and commands, cycling through matches.

Pure: given the input line, the cursor and the candidates, it returns the new line
and cursor. Pressing Tab again right after cycles to the next match; any edit in
between starts over. A nick completed at the start of a line gets ": " after it, the
usual way to address someone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass
class _Cycle:
    start: int
    tail: str
    matches: list[str]
    index: int
    suffix_nick: bool
    result: tuple[str, int]


class Completer:
    def __init__(self) -> None:
        self._cycle: _Cycle | None = None

    def complete(
        self,
        value: str,
        cursor: int,
        commands: Sequence[str],
        channels: Sequence[str],
        nicks: Sequence[str],
    ) -> tuple[str, int] | None:
        """The completed (value, cursor), or None when nothing matches."""
        cycle = self._cycle
        if cycle is not None and cycle.result == (value, cursor):
            cycle.index = (cycle.index + 1) % len(cycle.matches)
        else:
            cycle = self._start(value, cursor, commands, channels, nicks)
            if cycle is None:
                self._cycle = None
                return None
            self._cycle = cycle
        match = cycle.matches[cycle.index]
        if cycle.suffix_nick:
            insert = match + ": "
        else:
            insert = match + " "
        tail = cycle.tail.lstrip(" ")
        new_value = value[: cycle.start] + insert + tail
        cycle.result = (new_value, cycle.start + len(insert))
        return cycle.result

    def _start(self, value: str, cursor: int, commands: Sequence[str], channels: Sequence[str],
               nicks: Sequence[str]) -> _Cycle | None:
        start = value.rfind(" ", 0, cursor) + 1
        word = value[start:cursor]
        if not word:
            return None
        if start == 0 and word.startswith("/"):
            candidates = ["/" + name for name in commands]
        elif word[0] in "#&" and not any(n.lower().startswith(word.lower()) for n in nicks):
            candidates = list(channels)
        else:
            candidates = list(nicks)
        folded = word.lower()
        seen: set[str] = set()
        matches = []
        for candidate in candidates:
            key = candidate.lower()
            if key.startswith(folded) and key not in seen:
                seen.add(key)
                matches.append(candidate)
        if not matches:
            return None
        nick_first = start == 0 and not word.startswith("/") and matches[0] in nicks
        return _Cycle(start, value[cursor:], matches, 0, nick_first, (value, cursor))
