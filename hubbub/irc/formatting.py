"""mIRC formatting codes (bold, colours...) parsed into styled spans, with no drawing.

IRC text carries its formatting inline as control characters (ircdocs "Formatting"):
toggles for bold (0x02), italics (0x1D), underline (0x1F), strikethrough (0x1E),
monospace (0x11) and reverse (0x16); 0x0F resets everything; 0x03 sets colours by
number (`\\x034,1` red on black: 0-15 the classic sixteen, 16-98 mIRC's extended
palette, 99 the default) and 0x04 by hex (`\\x04FF8800`). `parse` turns a text into
`Span`s, each a run of plain text with one `Format`; each display maps formats to its
own styles (the terminal client to Textual's, the plain text mode to ANSI escapes),
and `strip` gives the plain text (for search, logs, mention checks). Other control
characters cannot be shown and are dropped, so nothing raw reaches the screen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

__all__ = ["PALETTE", "Colour", "Format", "Span", "colour_hex", "parse", "strip"]

BOLD, COLOUR, HEX_COLOUR, RESET, MONOSPACE = "\x02", "\x03", "\x04", "\x0f", "\x11"
REVERSE, ITALICS, STRIKETHROUGH, UNDERLINE = "\x16", "\x1d", "\x1e", "\x1f"

# 0-15: the classic mIRC colours; 16-98: mIRC's extended palette (99 means "default").
PALETTE: tuple[str, ...] = (
    "ffffff", "000000", "00007f", "009300", "ff0000", "7f0000", "9c009c", "fc7f00",
    "ffff00", "00fc00", "009393", "00ffff", "0000fc", "ff00ff", "7f7f7f", "d2d2d2",
    "470000", "472100", "474700", "324700", "004700", "00472c", "004747", "002747",
    "000047", "2e0047", "470047", "47002a", "740000", "743a00", "747400", "517400",
    "007400", "007449", "007474", "004074", "000074", "4b0074", "740074", "740045",
    "b50000", "b56300", "b5b500", "7db500", "00b500", "00b571", "00b5b5", "0063b5",
    "0000b5", "7500b5", "b500b5", "b5006b", "ff0000", "ff8c00", "ffff00", "b2ff00",
    "00ff00", "00ffa0", "00ffff", "008cff", "0000ff", "a500ff", "ff00ff", "ff0098",
    "ff5959", "ffb459", "ffff71", "cfff60", "6fff6f", "65ffc9", "6dffff", "59b4ff",
    "5959ff", "c459ff", "ff66ff", "ff59bc", "ff9c9c", "ffd39c", "ffff9c", "e2ff9c",
    "9cff9c", "9cffdb", "9cffff", "9cd3ff", "9c9cff", "dc9cff", "ff9cff", "ff94d3",
    "000000", "131313", "282828", "363636", "4d4d4d", "656565", "818181", "9f9f9f",
    "bcbcbc", "e2e2e2", "ffffff",
)

# A colour is a palette number (0-98) or a hex string ("ff8800"); None is the default.
Colour = int | str | None

_COLOUR_CODE = re.compile(r"(\d{1,2})(?:,(\d{1,2}))?")
_HEX_CODE = re.compile(r"([0-9a-fA-F]{6})(?:,([0-9a-fA-F]{6}))?")
_TOGGLES = {BOLD: "bold", ITALICS: "italic", UNDERLINE: "underline", STRIKETHROUGH: "strike",
            MONOSPACE: "monospace", REVERSE: "reverse"}
# Control characters a terminal would act on (or show as garbage): never shown.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\x80-\x9f]")


@dataclass(frozen=True, slots=True)
class Format:
    bold: bool = False
    italic: bool = False
    underline: bool = False
    strike: bool = False
    monospace: bool = False
    reverse: bool = False
    fg: Colour = None
    bg: Colour = None

    @property
    def plain(self) -> bool:
        return self == PLAIN


PLAIN = Format()


@dataclass(frozen=True, slots=True)
class Span:
    text: str
    format: Format


def colour_hex(colour: Colour) -> str | None:
    """`#rrggbb` for a palette number or hex colour; None for the default (and 99)."""
    if colour is None:
        return None
    if isinstance(colour, int):
        return f"#{PALETTE[colour]}" if 0 <= colour < len(PALETTE) else None
    return f"#{colour.lower()}"


def _number(digits: str | None) -> Colour:
    if digits is None:
        return None
    value = int(digits)
    return value if value < len(PALETTE) else None  # 99 (and anything odd): the default


def parse(text: str) -> list[Span]:
    """The text as runs of plain text, each with the formatting in force for it."""
    spans: list[Span] = []
    current = PLAIN
    run: list[str] = []
    i, size = 0, len(text)

    def flush() -> None:
        if run:
            chunk = _CONTROL.sub("", "".join(run))
            if chunk:
                if spans and spans[-1].format == current:
                    spans[-1] = Span(spans[-1].text + chunk, current)
                else:
                    spans.append(Span(chunk, current))
            run.clear()

    while i < size:
        ch = text[i]
        i += 1
        if ch in _TOGGLES:
            flush()
            name = _TOGGLES[ch]
            current = replace(current, **{name: not getattr(current, name)})
        elif ch == RESET:
            flush()
            current = PLAIN
        elif ch == COLOUR or ch == HEX_COLOUR:
            flush()
            match = (_COLOUR_CODE if ch == COLOUR else _HEX_CODE).match(text, i)
            if match is None:
                current = replace(current, fg=None, bg=None)  # a bare code resets both colours
                continue
            i = match.end()
            fg, bg = match.group(1), match.group(2)
            if ch == COLOUR:
                current = replace(current, fg=_number(fg), bg=_number(bg) if bg is not None else current.bg)
            else:
                current = replace(current, fg=fg.lower(), bg=bg.lower() if bg is not None else current.bg)
        else:
            run.append(ch)
    flush()
    return spans


def strip(text: str) -> str:
    """The text without any formatting or control characters: what a person reads."""
    return "".join(span.text for span in parse(text))
