"""Text fit for a person's terminal."""

from __future__ import annotations

import re

# What a terminal would act on instead of showing: ANSI/VT escape sequences (CSI, OSC and
# the two-byte ones), IRC formatting codes (colours with their numbers, bold, ...), and
# any other C0/C1 control character. An IRC user must not be able to clear, retitle or
# reprogram a netcat user's terminal, and colour codes would only show up as junk.
_TERMINAL_UNSAFE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?"  # CSI ... final byte
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC ... BEL or ST
    r"|\x1b[ -~]?"  # other escapes
    r"|\x03(?:\d{1,2}(?:,\d{1,2})?)?"  # mIRC colour
    r"|\x04(?:[0-9a-fA-F]{6}(?:,[0-9a-fA-F]{6})?)?"  # hex colour
    r"|[\x00-\x08\x0a-\x1f\x7f-\x9f]"
)


def for_terminal(text: str) -> str:
    """`text` with nothing a terminal would interpret: formatting and control codes removed."""
    return _TERMINAL_UNSAFE.sub("", text)
