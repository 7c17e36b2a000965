"""Channel mode changes in words (hubbub/irc/modewords.py), as the plain-text mode and
the terminal client say them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hubbub.irc.modewords import in_words
from hubbub.server.chanmodes import CHANNEL_MODES, PARAM_WHEN_SET, PREFIX, SETTING, parse_mode_changes


def said(line: str, channel: str = "#c") -> str:
    letters, *args = line.split()
    return in_words(parse_mode_changes(letters, args), channel)


# Shared with the web client's test (tests/web/js/modewords.test.mjs): both say it alike.
CASES = json.loads((Path(__file__).parent / "modewords_cases.json").read_text())


@pytest.mark.parametrize(("line", "words"), CASES)
def test_each_kind_of_change_reads_as_what_it_does(line: str, words: str) -> None:
    assert said(line) == words


def test_the_same_change_to_several_is_said_once_for_all_of_them() -> None:
    assert said("+ooo a b c") == "gave a, b and c operator status"
    assert said("+bb x!*@* y!*@*") == "banned x!*@* and y!*@*"


def test_changes_of_several_kinds_read_as_one_sentence() -> None:
    assert said("+o-v+mi bob carol") == (
        "gave bob operator status, took the voice from carol, moderated #c: only people with a voice talk "
        "and made #c invite-only"
    )
    assert said("+o-o bob bob") == "gave bob operator status and took operator status from bob"


def test_every_mode_the_server_has_reads_in_words() -> None:
    for letter, spec in CHANNEL_MODES.items():
        for adding in (True, False):
            param = "x" if spec.kind in (PREFIX, SETTING, "A") or (spec.kind == PARAM_WHEN_SET and adding) else None
            text = in_words([(adding, letter, param)], "#c")
            assert f"+{letter}" not in text and f"-{letter}" not in text, (letter, adding, text)


def test_a_letter_unknown_here_is_still_said() -> None:
    assert said("+Z") == "set +Z on #c"
    assert said("+Y arg") == "set +Y on #c"  # our table: +Y takes nothing
    assert in_words([(True, "Y", "arg")], "#c") == "set +Y arg on #c"
