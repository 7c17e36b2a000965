"""Opt-in logs of what was said: one plain text file per buffer, as a person reads it.

`hubbub chat --log-dir DIR` (or `/log on`) appends every line shown in a buffer to
`DIR/NETWORK/BUFFER.log`, formatting codes removed, one line per message with the
date and time, the way irssi and WeeChat logs look, so `grep` and `tail -f` work on
them. Each line is flushed as it is written, so nothing is lost when the terminal is
closed; lines are small appends to the page cache, cheap enough for the event loop.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TextIO

from hubbub.client.state import Line
from hubbub.irc import formatting

__all__ = ["ChatLog", "default_log_dir", "format_line", "log_file_name"]

MAX_OPEN_FILES = 32

_UNSAFE = re.compile(r"[^\w#&+!.@-]")


def default_log_dir() -> Path:
    """Where `/log on` writes when no `--log-dir` was given: the XDG data directory."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "hubbub" / "logs"


def _safe(name: str) -> str:
    """Lower case, and nothing a path could be tricked with (`/`, `..`, control characters)."""
    return _UNSAFE.sub("_", name.lower()).lstrip(".") or "_"


def log_file_name(name: str) -> str:
    """The file name of a buffer's log: `#Lobby` -> `#lobby.log`."""
    return f"{_safe(name)}.log"


def format_line(line: Line) -> str:
    """One buffer line as a log line: `2024-05-01 12:00:00 <bob> hello`."""
    when = line.time.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    text = formatting.strip(line.text)
    if line.kind == "message":
        return f"{when} <{line.nick}> {text}"
    if line.kind == "action":
        return f"{when} * {line.nick} {text}"
    if line.kind == "notice":
        return f"{when} -{line.nick}- {text}" if line.nick else f"{when} -!- {text}"
    if line.kind == "wallops":
        return f"{when} -!- Wallops from {line.nick}: {text}"
    return f"{when} -!- {text}"


class ChatLog:
    """Appends lines to one file per buffer under `directory/network/`."""

    def __init__(self, directory: Path, network: str = "irc") -> None:
        self.directory = directory
        self.network = network
        self._files: dict[str, TextIO] = {}

    def path_for(self, buffer_name: str) -> Path:
        return self.directory / _safe(self.network) / log_file_name(buffer_name)

    def write(self, buffer_name: str, line: Line) -> None:
        path = self.path_for(buffer_name)
        key = str(path)
        handle = self._files.get(key)
        if handle is None:
            if len(self._files) >= MAX_OPEN_FILES:
                self._files.pop(next(iter(self._files))).close()
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = self._files[key] = path.open("a", encoding="utf-8")
        handle.write(format_line(line) + "\n")
        handle.flush()

    def close(self) -> None:
        for handle in self._files.values():
            handle.close()
        self._files.clear()
