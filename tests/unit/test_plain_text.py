"""The plain mode's text rules without a socket: typed lines cleaned, long ones split,
IRC formatting shown as terminal attributes, telnet commands taken out and answered."""

from __future__ import annotations

import pytest

from hubbub.irc.formatting import PALETTE
from hubbub.plain.render import ranked_names
from hubbub.plain.split import split_text, text_room
from hubbub.plain.telnet import AYT_ANSWER, TelnetFilter
from hubbub.plain.text import IRC_TO_XTERM, RESET, for_terminal, typed, xterm_index

# -- what a person types --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ("hi\tthere", "hi there"),  # a tab: a space
        ("ding\x07dong", "dingdong"),  # the bell
        ("up\x1b[Aarrow", "uparrow"),  # an arrow key's escape sequence, whole
        ("title\x1b]0;x\x07done", "titledone"),
        ("\x02bold\x02 \x0304red", "bold 04red"),  # formatting codes typed by hand are control characters too
        ("typo\x7f\x7f\x7fpo", "tpo"),  # DEL erases, as in a raw-mode terminal
        ("x\x08\x08y", "y"),
        ("c1\x85\x9bchars", "c1chars"),
        ("nul\x00 cr\r", "nul cr"),
        ("привет, мир", "привет, мир"),
    ],
)
def test_typed_lines_lose_control_characters(line: str, said: str) -> None:
    assert typed(line) == said


# -- long lines -------------------------------------------------------------------------------


def test_room_is_what_a_512_byte_line_leaves_after_source_command_and_target() -> None:
    room = text_room("bob!~bob@127.0.0.1", "PRIVMSG", "#lobby")
    assert len(f":bob!~bob@127.0.0.1 PRIVMSG #lobby :{'x' * room}\r\n") == 512
    assert text_room("bob!~bob@127.0.0.1", "PRIVMSG", "#lobby", 9) == room - 9


def test_split_cuts_at_the_last_space_that_fits_and_drops_it() -> None:
    assert split_text("aaa bbb ccc ddd", 7) == ["aaa bbb", "ccc ddd"]
    assert split_text("aaa bbb ccc ddd", 8) == ["aaa bbb", "ccc ddd"]
    assert split_text("short", 100) == ["short"]
    assert split_text("ab    cd", 3) == ["ab", "cd"]


def test_split_cuts_a_word_longer_than_a_message_between_characters() -> None:
    assert split_text("a" * 10, 4) == ["aaaa", "aaaa", "aa"]
    word = "ж" * 10  # two bytes each: an odd room must not cut one in half
    parts = split_text(word, 5)
    assert parts == ["жж"] * 5
    emoji = "🙂" * 3  # four bytes each
    assert split_text(emoji, 6) == ["🙂"] * 3


@pytest.mark.parametrize("seed", range(5))
def test_split_parts_fit_and_keep_every_word(seed: int) -> None:
    import random

    rng = random.Random(seed)
    alphabet = ["a", "ж", "€", "🙂", " "]
    text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 2000)))
    room = rng.randrange(4, 500)
    parts = split_text(text, room)
    assert all(len(part.encode()) <= room for part in parts)
    assert "".join(parts).replace(" ", "") == text.replace(" ", "")


# -- what a person sees -----------------------------------------------------------------------


def test_every_irc_colour_has_a_256_colour_approximation() -> None:
    assert len(IRC_TO_XTERM) == len(PALETTE) == 99
    assert all(16 <= index <= 255 for index in IRC_TO_XTERM)
    assert IRC_TO_XTERM[0] == 231 and IRC_TO_XTERM[1] == 16 and IRC_TO_XTERM[4] == 196  # white, black, red
    assert IRC_TO_XTERM[14] == 244  # grey: the grey ramp, nearer than the cube
    assert xterm_index("ff8800") == 208


def test_formatting_becomes_sgr_and_every_formatted_line_ends_reset() -> None:
    assert for_terminal("plain") == "plain"
    assert for_terminal("\x02b\x02 \x1di\x1d \x1fu\x1f \x1es\x1e \x16r\x16") == (
        "\x1b[0;1mb\x1b[0m \x1b[0;3mi\x1b[0m \x1b[0;4mu\x1b[0m \x1b[0;9ms\x1b[0m \x1b[0;7mr\x1b[0m"
    )
    assert for_terminal("\x0304,01x").endswith(RESET)
    assert for_terminal("\x0399,99x") == "x"  # 99: the default colours, nothing to set
    assert for_terminal("\x11mono") == "mono"  # monospace: a terminal is already


def test_nothing_a_terminal_acts_on_gets_through() -> None:
    shown = for_terminal("\x1b[2J\x1b]0;title\x07\x1bc\x07\x00\x9b2Jok\x02!")
    assert shown == "2Jok\x1b[0;1m!\x1b[0m"  # C1 CSI (0x9b) gone, its harmless tail left as text
    assert for_terminal("\x1b[31mred\x0f", colours=False) == "red"


# -- telnet -----------------------------------------------------------------------------------

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
IP, AYT, NOP, TM, ECHO, NAWS = 244, 246, 241, 6, 1, 31


def test_ctrl_c_interrupt_and_timing_mark_are_answered_and_counted() -> None:
    telnet = TelnetFilter()
    text, answer = telnet.feed(bytes([IAC, IP, IAC, DO, TM]))
    assert text == b"" and answer == bytes([IAC, WILL, TM])
    assert telnet.interrupts == 1


def test_options_are_refused_and_refusals_not_acknowledged() -> None:
    telnet = TelnetFilter()
    assert telnet.feed(bytes([IAC, DO, ECHO, IAC, WILL, NAWS, IAC, DONT, ECHO, IAC, WONT, NAWS])) == (
        b"", bytes([IAC, WONT, ECHO, IAC, DONT, NAWS])
    )


def test_telnet_carriage_return_cr_nul_ends_a_line_even_cut_between_reads() -> None:
    """RFC 854's CR NUL, what a telnet in character mode sends for Enter: a line's end."""
    stream = b"hi\r\x00there\r\x00" + bytes([IAC, NOP]) + b"ok\r\n"
    for cut in range(len(stream) + 1):
        telnet = TelnetFilter()
        first, _ = telnet.feed(stream[:cut])
        second, _ = telnet.feed(stream[cut:])
        assert first + second == b"hi\r\nthere\r\nok\r\n", cut
    assert TelnetFilter().feed(b"a\x00b")[0] == b"a\x00b"  # a NUL not after CR is left to the line's checks


def test_text_keeps_flowing_around_commands_cut_anywhere() -> None:
    stream = b"hel" + bytes([IAC, NOP]) + b"lo " + bytes([IAC, SB, NAWS, 0, 80, 0, 24, IAC, SE]) + b"you\r\n"
    stream += bytes([IAC, IAC]) + b"!"  # IAC IAC: the byte 255 as data
    for cut in range(len(stream) + 1):
        telnet = TelnetFilter()
        first, _ = telnet.feed(stream[:cut])
        second, _ = telnet.feed(stream[cut:])
        assert first + second == b"hello you\r\n\xff!"


def test_a_byte_255_before_no_command_is_text_and_the_peer_no_telnet() -> None:
    """cp1251's `я` is 255: at a word's end the next byte is the line's end, which taking
    it for a command would swallow. A command proper says the peer is a telnet client."""
    line = "Таня\r\n".encode("cp1251")
    for cut in range(len(line) + 1):
        telnet = TelnetFilter()
        first, _ = telnet.feed(line[:cut])
        second, answer = telnet.feed(line[cut:])
        assert (first + second, answer, telnet.spoken) == (line, b"", False), cut
    telnet = TelnetFilter()
    assert telnet.feed(bytes([IAC, DO, 3, IAC, DO, ECHO])) == (b"", bytes([IAC, WONT, 3, IAC, WONT, ECHO]))
    assert telnet.spoken  # what `mode character` sends first


def test_are_you_there_gets_one_answer_per_read() -> None:
    telnet = TelnetFilter()
    assert telnet.feed(bytes([IAC, AYT] * 100)) == (b"", AYT_ANSWER)


def test_text_without_commands_passes_as_it_is() -> None:
    data = "привет\r\n".encode()
    assert TelnetFilter().feed(data) == (data, b"")


def test_a_member_list_reads_highest_rank_first_then_by_name() -> None:
    assert ranked_names("@alice @dave ~bob erin") == "~bob, @alice, @dave, erin"
    assert ranked_names("+zed @+Carl Abe %hal &pro") == "&pro, @+Carl, %hal, +zed, Abe"
    assert ranked_names("") == ""
