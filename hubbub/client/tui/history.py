"""Input history: Up brings back earlier lines, Down goes forward to what was being typed."""

from __future__ import annotations

HISTORY_LIMIT = 500


class InputHistory:
    def __init__(self, limit: int = HISTORY_LIMIT) -> None:
        self.entries: list[str] = []
        self.limit = limit
        self._index: int | None = None  # position while browsing; None when not
        self._draft = ""

    def add(self, text: str) -> None:
        """Remember a submitted line (not blank, not a repeat of the last one)."""
        self._index = None
        if text.strip() and (not self.entries or self.entries[-1] != text):
            self.entries.append(text)
            del self.entries[: -self.limit]

    def previous(self, current: str) -> str | None:
        if not self.entries:
            return None
        if self._index is None:
            self._draft = current
            self._index = len(self.entries)
        if self._index == 0:
            return None
        self._index -= 1
        return self.entries[self._index]

    def next(self) -> str | None:
        if self._index is None:
            return None
        self._index += 1
        if self._index >= len(self.entries):
            self._index = None
            return self._draft
        return self.entries[self._index]
