"""mIRC formatting codes parsed into spans: the cases of the ircdocs Formatting page and irssi's habits."""

from __future__ import annotations

import pytest

from hubbub.irc.formatting import PALETTE, Format, Span, colour_hex, parse, strip


def test_plain_text_is_one_plain_span() -> None:
    assert parse("hello world") == [Span("hello world", Format())]
    assert parse("") == []


def test_toggles_turn_on_and_off() -> None:
    assert parse("a \x02bold\x02 b") == [Span("a ", Format()), Span("bold", Format(bold=True)), Span(" b", Format())]
    spans = parse("\x1di\x1fu\x1es\x11m\x16r")
    assert [s.format for s in spans] == [
        Format(italic=True),
        Format(italic=True, underline=True),
        Format(italic=True, underline=True, strike=True),
        Format(italic=True, underline=True, strike=True, monospace=True),
        Format(italic=True, underline=True, strike=True, monospace=True, reverse=True),
    ]


def test_reset_clears_everything() -> None:
    assert parse("\x02\x034,1x\x0fy")[-1] == Span("y", Format())


def test_colours_as_irssi_sends_them() -> None:
    # irssi: Ctrl+B bold Ctrl+B, Ctrl+C 4red, Ctrl+C 3,1green-on-black
    spans = parse("\x02bold\x02 \x034red\x03 \x033,1green-on-black\x03")
    assert spans == [
        Span("bold", Format(bold=True)),
        Span(" ", Format()),
        Span("red", Format(fg=4)),
        Span(" ", Format()),
        Span("green-on-black", Format(fg=3, bg=1)),
    ]
    assert strip("\x02bold\x02 \x034red\x03 \x033,1green-on-black\x03") == "bold red green-on-black"


@pytest.mark.parametrize(("code", "expected"), [
    ("\x0312,05x", Format(fg=12, bg=5)),
    ("\x0342x", Format(fg=42)),  # the extended palette
    ("\x0398,88x", Format(fg=98, bg=88)),
    ("\x0399,99x", Format()),  # 99: the default colours
    ("\x03099x", Format(fg=9)),  # two digits at most: the third is text
])
def test_colour_numbers(code: str, expected: Format) -> None:
    assert parse(code)[-1].format == expected


def test_only_the_foreground_keeps_the_background() -> None:
    assert parse("\x034,2a\x037b")[-1] == Span("b", Format(fg=7, bg=2))


def test_a_comma_without_a_colour_is_text() -> None:
    assert parse("\x034,text") == [Span(",text", Format(fg=4))]
    assert strip("\x03,x") == ",x"


def test_hex_colours() -> None:
    assert parse("\x04FF8800,000000hex") == [Span("hex", Format(fg="ff8800", bg="000000"))]
    assert parse("\x04zz") == [Span("zz", Format())]


def test_a_bare_colour_code_resets_the_colours_only() -> None:
    assert parse("\x02\x034,1a\x03b")[-1] == Span("b", Format(bold=True))


def test_other_control_characters_are_dropped() -> None:
    assert strip("bell\x07 esc\x1b[31m nul\x00 c1\x9b end\ttab") == "bell esc[31m nul c1 end\ttab"


def test_colour_hex_covers_the_99_colours() -> None:
    assert len(PALETTE) == 99
    assert colour_hex(0) == "#ffffff" and colour_hex(4) == "#ff0000"
    assert colour_hex(52) == "#ff0000" and colour_hex(98) == "#ffffff"
    assert colour_hex("ABCDEF") == "#abcdef"
    assert colour_hex(None) is None
