"""Text between a person's terminal and IRC, both ways.

Out: what the chat sends may carry IRC formatting (bold, colours...) and anything else
a sender put in it. A terminal acts on escape sequences and control characters instead
of showing them, so an IRC user must never get one through: it could clear, retitle or
reprogram a netcat user's terminal. IRC formatting is shown as ANSI SGR attributes
instead (or dropped, for a person who turned colours off), every line ending reset.

In: what a person types goes to IRC users as it is typed, so control characters
(a tab, a bell, the escape sequence of an arrow key) are taken out first; a backspace
a terminal in raw mode sends still erases, as the person meant.
"""

from __future__ import annotations

import re
from functools import lru_cache

from hubbub.irc.formatting import PALETTE, Colour, Format, parse

# What a terminal would act on and IRC formatting does not explain: ANSI/VT escape
# sequences, whole (CSI, OSC and the two-byte ones), so that no half of one shows.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?"  # CSI ... final byte
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC ... BEL or ST
    r"|\x1b[ -~]?"  # other escapes
)
# Any character that is not simply shown: C0 (tab aside), DEL and C1.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
_TYPED_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # the same, tab included

RESET = "\x1b[0m"
_CUBE = (0, 95, 135, 175, 215, 255)  # the xterm 6x6x6 colour cube's levels (indexes 16-231)


def _rgb(hex6: str) -> tuple[int, int, int]:
    return int(hex6[0:2], 16), int(hex6[2:4], 16), int(hex6[4:6], 16)


@lru_cache(maxsize=512)
def xterm_index(hex6: str) -> int:
    """The xterm 256-colour index nearest to `hex6` ("ff8800"): the colour cube or the grey ramp.

    The first sixteen are left out on purpose: terminals and themes redefine them, the
    cube and the ramp are the same everywhere.
    """
    r, g, b = _rgb(hex6)

    def level(value: int) -> int:
        return min(range(6), key=lambda i: abs(_CUBE[i] - value))

    ri, gi, bi = level(r), level(g), level(b)
    cube = (_CUBE[ri], _CUBE[gi], _CUBE[bi])
    grey_step = min(23, max(0, round(((r + g + b) / 3 - 8) / 10)))
    grey = 8 + 10 * grey_step

    def distance(other: tuple[int, int, int]) -> int:
        return (other[0] - r) ** 2 + (other[1] - g) ** 2 + (other[2] - b) ** 2

    if distance((grey, grey, grey)) < distance(cube):
        return 232 + grey_step
    return 16 + 36 * ri + 6 * gi + bi


# The 99 IRC colours (0-98) as the 256-colour indexes that show them best.
IRC_TO_XTERM: tuple[int, ...] = tuple(xterm_index(colour) for colour in PALETTE)


def _colour(colour: Colour) -> int | None:
    if colour is None:
        return None
    if isinstance(colour, int):
        return IRC_TO_XTERM[colour] if 0 <= colour < len(IRC_TO_XTERM) else None
    return xterm_index(colour)


def sgr(fmt: Format) -> str:
    """The SGR sequence that shows `fmt` from a clean state (monospace: every terminal is)."""
    codes = ["0"]
    if fmt.bold:
        codes.append("1")
    if fmt.italic:
        codes.append("3")
    if fmt.underline:
        codes.append("4")
    if fmt.reverse:
        codes.append("7")
    if fmt.strike:
        codes.append("9")
    fg, bg = _colour(fmt.fg), _colour(fmt.bg)
    if fg is not None:
        codes.append(f"38;5;{fg}")
    if bg is not None:
        codes.append(f"48;5;{bg}")
    return "\x1b[" + ";".join(codes) + "m"


def for_terminal(text: str, colours: bool = True) -> str:
    """`text` as a terminal may be given it: IRC formatting as ANSI attributes (or left
    out without `colours`), ending in a reset; nothing else a terminal would act on."""
    if _CONTROL.search(text) is None:
        return text  # the common case: nothing to show differently
    spans = parse(_ESCAPES.sub("", text))  # parse drops the control characters left
    if not colours:
        return "".join(span.text for span in spans)
    out: list[str] = []
    current = RESET  # what the terminal shows with: nothing set
    for span in spans:
        wanted = sgr(span.format)
        if wanted != current:
            current = wanted
            out.append(wanted)
        out.append(span.text)
    if current != RESET:
        out.append(RESET)
    return "".join(out)


def typed(text: str) -> str:
    """A line as a person typed it, fit to be said to IRC users: backspaces applied,
    escape sequences and control characters taken out, a tab as a space."""
    if _TYPED_CONTROL.search(text) is None:
        return text
    if "\x08" in text or "\x7f" in text:
        kept: list[str] = []
        for ch in text:
            if ch in "\x08\x7f":
                if kept:
                    kept.pop()
            else:
                kept.append(ch)
        text = "".join(kept)
    return _TYPED_CONTROL.sub("", _ESCAPES.sub("", text).replace("\t", " "))
