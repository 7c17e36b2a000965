"""Names: how they compare (CASEMAPPING=ascii), how masks match them, what is allowed."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hubbub.irc.casemap import casefold, glob_to_regex, mask_matches
from hubbub.irc.validate import (
    is_channel_name,
    is_valid_channel,
    is_valid_nick,
    is_valid_tag_name,
    nick_problem,
)

# -- casemap ---------------------------------------------------------------------------


def test_ascii_letters_fold_to_lower_case() -> None:
    assert casefold("NiCk_ABC") == "nick_abc"


def test_rfc1459_brackets_are_not_equivalent_under_ascii() -> None:
    """We advertise ascii: `[]\\~` must stay distinct from `{}|^`."""
    assert casefold("[]\\~") == "[]\\~"
    assert casefold("[]\\~") != casefold("{}|^")


def test_non_ascii_letters_are_not_folded() -> None:
    assert casefold("ÉCOLE") == "École"
    assert casefold("Straße") == "straße"
    assert casefold("ΣΊΣΥΦΟΣ") == "ΣΊΣΥΦΟΣ"
    assert casefold("\u212a") == "\u212a"  # KELVIN SIGN: str.lower() would make it 'k'


def test_star_matches_any_run_including_empty() -> None:
    assert mask_matches("*!*@*.example.com", "Nick!user@host.EXAMPLE.com")
    assert mask_matches("nick*", "nick")
    assert mask_matches("*", "")
    assert not mask_matches("*.example.com", "example.com")


def test_question_mark_matches_exactly_one_character() -> None:
    assert mask_matches("b?b", "bob")
    assert not mask_matches("b?b", "bb")
    assert not mask_matches("b?b", "boob")


def test_mask_must_match_the_whole_text() -> None:
    assert not mask_matches("bob", "bobby")
    assert not mask_matches("bob", "xbob")


def test_mask_matching_is_case_insensitive_in_ascii_only() -> None:
    assert mask_matches("ALICE*", "alice!a@h")
    assert not mask_matches("é*", "É")
    assert not mask_matches("{x}", "[x]")


@pytest.mark.parametrize("mask", ["a.b", "a+b", "(ab)", "a|b", "[ab]", "a^b$", "a\\b", "a{2}", "a.*b"])
def test_regex_metacharacters_in_mask_match_themselves(mask: str) -> None:
    assert mask_matches(mask, mask)


@pytest.mark.parametrize(
    ("mask", "text"),
    [("a.b", "axb"), ("[ab]", "a"), ("a|b", "a"), ("a+", "aa"), ("a{2}", "aa"), ("(a)", "a")],
)
def test_regex_metacharacters_in_mask_have_no_regex_meaning(mask: str, text: str) -> None:
    assert not mask_matches(mask, text)


def test_glob_to_regex_compiles_a_full_matcher_of_casefolded_text() -> None:
    pattern = glob_to_regex("A?c*")
    assert isinstance(pattern, re.Pattern)
    assert pattern.fullmatch("abcdef")
    assert not pattern.fullmatch("abdef")


def test_star_matches_across_newlines() -> None:
    assert mask_matches("a*b", "a\nb")


def _reference_match(mask: str, text: str) -> bool:
    """Plain dynamic programming: obviously right, too slow for the server."""
    mask, text = casefold(mask), casefold(text)
    row = [True] + [False] * len(text)
    for ch in mask:
        if ch == "*":
            new = [row[0]]
            for j in range(1, len(text) + 1):
                new.append(row[j] or new[j - 1])
        else:
            new = [False] + [row[j - 1] and (ch == "?" or ch == text[j - 1]) for j in range(1, len(text) + 1)]
        row = new
    return row[-1]


@settings(max_examples=500, deadline=None)
@given(st.text("ab*?.", max_size=10), st.text("abAB.", max_size=12))
def test_mask_matching_agrees_with_a_reference_matcher(mask: str, text: str) -> None:
    assert mask_matches(mask, text) == _reference_match(mask, text)


def test_many_stars_do_not_backtrack_catastrophically() -> None:
    """Users choose masks (WHO, bans): one must not freeze the event loop.

    A backtracking `.*a.*a...` takes minutes here; the test only needs to finish.
    """
    mask = "*a" * 12 + "*x"
    text = "a" * 200
    assert not mask_matches(mask, text)
    assert glob_to_regex(mask).fullmatch(text) is None


# -- nicknames --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "nick", ["alice", "A", "[away]", "\\o", "`x`", "_bot_", "^^", "{x}|y", "a1-2", "x" * 30]
)
def test_valid_nicknames_are_accepted(nick: str) -> None:
    assert is_valid_nick(nick, 30)
    assert nick_problem(nick, 30) is None


@pytest.mark.parametrize(
    ("nick", "reason_word"),
    [
        ("", "empty"),
        ("x" * 31, "at most 30"),
        ("1abc", "start"),
        ("-abc", "start"),
        ("a b", "only"),
        ("a,b", "only"),
        ("a!b", "only"),
        ("a@b", "only"),
        ("a*b", "only"),
        ("#chan", "start"),
        (":nick", "start"),
        ("ni.ck", "only"),
        ("née", "only"),
    ],
)
def test_invalid_nicknames_are_refused_with_a_reason(nick: str, reason_word: str) -> None:
    problem = nick_problem(nick, 30)
    assert problem is not None and reason_word in problem
    assert not is_valid_nick(nick, 30)


def test_nick_length_limit_is_a_parameter() -> None:
    assert is_valid_nick("abcde", 5)
    assert not is_valid_nick("abcdef", 5)


# -- channels --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["#a", "#lobby", "#hub-bub.dev", "#café", "##", "#" + "x" * 63])
def test_valid_channel_names_are_accepted(name: str) -> None:
    assert is_valid_channel(name, 64)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "#",
        "lobby",
        "&local",
        "+x",
        "#a b",
        "#a,b",
        "#a\x07",
        "#a\x00",
        "#a\r",
        "#a\n",
        "#a:b",
        "#" + "x" * 64,
        "#a\x1b[31m",  # ESC: would drive the reader's terminal
        "#a\tb",
        "#a\x0bb",
        "#a\x7f",
        "#a\x9b",  # C1 control (CSI)
        "#abc\u202ecba",  # right-to-left override
        "#a\u2066b",  # left-to-right isolate
        "#a\u200fb",  # right-to-left mark
        "#a\u061cb",  # Arabic letter mark
    ],
)
def test_invalid_channel_names_are_refused(name: str) -> None:
    assert not is_valid_channel(name, 64)


def test_channellen_counts_bytes() -> None:
    assert is_valid_channel("#" + "é" * 31, 64)  # 63 bytes
    assert not is_valid_channel("#" + "é" * 32, 64)  # 33 characters, 65 bytes
    assert not is_valid_channel("#" + "😀" * 16, 64)


def test_channel_name_routing_needs_only_the_prefix() -> None:
    """A target that starts with '#' goes to channel handling even if invalid (403 there)."""
    assert is_channel_name("#")
    assert is_channel_name("#a b")
    assert not is_channel_name("nick")
    assert not is_channel_name("")


# -- tag names (message-tags) -------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["msgid", "+typing", "+draft/reply", "+example.com/icon", "a-b", "draft/multiline-concat"]
)
def test_tag_names_of_the_grammar_are_valid(name: str) -> None:
    assert is_valid_tag_name(name)


@pytest.mark.parametrize("name", ["", "+", "+k\\ey", "+é", "+a_b", "+a b", "+/x", "+x/", "++x", "+a=b", "+a;b"])
def test_tag_names_outside_the_grammar_are_invalid(name: str) -> None:
    assert not is_valid_tag_name(name)
