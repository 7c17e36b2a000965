"""The sans-I/O pieces under the operator commands: K-line masks and durations, and the
WHOWAS history's budget."""

from __future__ import annotations

import pytest

from hubbub.server.klines import BadMask, HostMask, Kline, Klines, describe_duration, normalize_mask, parse_duration
from hubbub.server.whowas import WhowasEntry, WhowasHistory


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30", 1800.0), ("0", 0.0), ("90s", 90.0), ("12h", 43200.0), ("1d12h", 129600.0), ("2w", 1209600.0)],
)
def test_durations_are_minutes_or_units(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "1y", "h", "-5", "1.5h", "*@host", "10m5"])
def test_what_is_not_a_duration_is_none(text: str) -> None:
    assert parse_duration(text) is None


def test_durations_read_back_for_people() -> None:
    assert [describe_duration(s) for s in (30, 90, 3600, 90061, 1209600)] == ["30s", "1m30s", "1h", "1d1h1m1s", "2w"]


@pytest.mark.parametrize(
    ("text", "mask"),
    [("host.example", "*@host.example"), ("@host", "*@host"), ("~bob@*", "~bob@*"),
     ("*@10.1.2.3/8", "*@10.0.0.0/8"), ("*@2001:db8::1/32", "*@2001:db8::/32"), ("*@::1", "*@::1")],
)  # fmt: skip
def test_masks_are_normalized_to_user_at_host(text: str, mask: str) -> None:
    assert normalize_mask(text) == mask


@pytest.mark.parametrize("text", ["*@*", "*", "?@*.*", "a b@c", "a,b@c", "n!u@h", "u@", "*@1.0.0.0/7", "*@::/15",
                                  "*@not.a/cidr", "x" * 200 + "@host"])
def test_masks_that_are_malformed_or_ban_everyone_are_refused(text: str) -> None:
    with pytest.raises(BadMask):
        normalize_mask(text)


def test_host_masks_match_host_or_ip_with_ascii_casemapping() -> None:
    mask = HostMask("~Bob@*.EXAMPLE.org")
    assert mask.matches("~bob", "irc.example.ORG", "192.0.2.1")
    assert not mask.matches("~bobby", "irc.example.org", "192.0.2.1")
    assert HostMask("*@192.0.2.*").matches("~x", "some-host", "192.0.2.77")
    assert HostMask("*@2001:db8::/32").matches("~x", "2001-db8--5", "2001:db8::5")
    assert not HostMask("*@2001:db8::/32").matches("~x", "127.0.0.1", "127.0.0.1")


def test_expired_klines_no_longer_match_and_are_forgotten() -> None:
    klines = Klines()
    klines.add(Kline("*@192.0.2.1", "bye", "op", 100.0, 160.0))
    assert klines.find("~u", "192.0.2.1", "192.0.2.1", 159.0) is not None
    assert klines.find("~u", "192.0.2.1", "192.0.2.1", 160.0) is None
    assert klines.active(160.0) == []
    assert klines.remove("*@192.0.2.1", 160.0) is None


def test_unkline_finds_the_mask_as_given_or_normalized() -> None:
    klines = Klines()
    klines.add(Kline(normalize_mask("192.0.2.1"), "bye", "op", 0.0, None))
    assert klines.remove("192.0.2.1", 1.0) is not None
    assert klines.active(1.0) == []


def _entry(nick: str, user: str = "~u") -> WhowasEntry:
    return WhowasEntry(nick, user, "host", "Real", "hubbub.local", 0.0)


def test_whowas_keeps_the_newest_entries_within_its_budget() -> None:
    history = WhowasHistory(3)
    for nick, user in (("a", "~1"), ("b", "~2"), ("A", "~3"), ("c", "~4")):
        history.record(_entry(nick, user))
    assert len(history) == 3
    assert [e.username for e in history.lookup("a")] == ["~3"]  # ~1, the oldest, went first
    assert history.lookup("b")[0].username == "~2"
    history.resize(1)
    assert [e.nick for e in (history.lookup("a") + history.lookup("b") + history.lookup("c"))] == ["c"]


def test_whowas_with_no_budget_remembers_nothing() -> None:
    history = WhowasHistory(0)
    history.record(_entry("a"))
    assert history.lookup("a") == [] and len(history) == 0
