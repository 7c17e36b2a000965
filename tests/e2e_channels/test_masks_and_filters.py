"""The pure parts under the transcripts: mask normal forms and LIST filters, without sockets."""

from __future__ import annotations

import pytest

from hubbub.irc.casemap import casefold
from hubbub.server import bans, elist
from hubbub.server.chanmodes import (
    BadParam,
    chanmodes_token,
    check_key,
    myinfo_param_modes,
    parse_limit,
)


@pytest.mark.parametrize(
    ("typed", "normal"),
    [
        ("nick", "nick!*@*"),
        ("user@host", "*!user@host"),
        ("nick!user", "nick!user@*"),
        ("!@", "*!*@*"),
        ("*!*@2001:db8::*", "*!*@2001:db8::*"),
        ("m:nick", "m:nick!*@*"),
        ("m:*@host", "m:*!*@host"),
    ],
)
def test_masks_are_completed(typed: str, normal: str) -> None:
    assert bans.normalize(typed) == normal


@pytest.mark.parametrize("bad", ["", "a b", "a,b", ":x", "x\x07", "M:nick", "z:nick", "m:", "x" * 201])
def test_bad_masks_are_refused(bad: str) -> None:
    with pytest.raises(bans.BadMask):
        bans.normalize(bad)


def test_mask_list_matches_by_kind_with_casemapping() -> None:
    entries = bans.MaskList()
    entries.add("Bob!*@*", "op", 1)
    entries.add("m:carol!*@*", "op", 1)
    assert entries.matches(casefold("BOB!~u@host"), ("",))
    assert not entries.matches(casefold("BOB!~u@host"), ("m",))
    assert entries.matches(casefold("Carol!~u@host"), ("m",))
    assert entries.find("bob!*@*") is not None
    assert entries.remove("BOB!*@*") is not None and len(entries) == 1


def test_ban_matching_does_not_backtrack_on_hostile_masks() -> None:
    entries = bans.MaskList()
    entries.add("*a*a*a*a*a*a*a*a*a*a*a*b", "op", 1)
    assert not entries.matches("a" * 180 + "!~u@h", ("",))


def test_mode_parameters_are_validated() -> None:
    assert check_key("abc", 5) == "abc"
    for key in ("", "abcdef", "a b", "a,b", ":a"):
        with pytest.raises(BadParam):
            check_key(key, 5)
    assert parse_limit("10") == 10
    for value in ("0", "-3", "1e3", "x", "9" * 5000):
        with pytest.raises(BadParam):
            parse_limit(value)


def test_tables_derive_the_advertised_modes() -> None:
    assert chanmodes_token() == "beI,k,fjl,CiKMmnRsTt"
    assert myinfo_param_modes() == "Iabefhjkloqv"


def test_list_filter_parsing_and_times() -> None:
    wanted = elist.parse(["#a,#B", "C<10,T>1,>2"])
    assert wanted.only_named and wanted.names == ["#a", "#b"]
    assert wanted.conditions == [("C", "<", 10), ("T", ">", 1), ("U", ">", 2)]
    now = 10_000.0
    assert wanted.accepts("#A", 3, now - 60, now - 120, now)
    assert not wanted.accepts("#a", 3, now - 60, None, now)  # no topic: no T match
    assert not wanted.accepts("#a", 2, now - 60, now - 120, now)
    assert not wanted.accepts("#c", 3, now - 60, now - 120, now)
