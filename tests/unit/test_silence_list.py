"""SILENCE's list without a socket (server/silence.py): which masks it takes and whom
they keep out. The wire (replies, delivery, the cluster) is tested in tests/e2e."""

from __future__ import annotations

import pytest

from hubbub.config import ConfigError, load
from hubbub.server.bans import BadMask
from hubbub.server.silence import SilenceList, silence_mask
from hubbub.server.user import User


def sender(nick: str, ip: str = "203.0.113.5", host: str | None = None, account: str | None = None) -> User:
    user = User("u1", ip, host or ip, False, 0.0)
    user.nick, user.username, user.account = nick, "~m", account
    user.refresh_prefix()
    return user


def listing(*texts: str) -> SilenceList:
    hush = SilenceList()
    for text in texts:
        assert hush.add(silence_mask(text))
    return hush


def test_masks_are_completed_and_only_account_extbans_are_taken() -> None:
    assert silence_mask("bob") == "bob!*@*"
    assert silence_mask("*@host.example") == "*!*@host.example"
    assert silence_mask("*!*@2001:DB8:0::/48") == "*!*@2001:db8::/48"
    assert silence_mask("a:Mallory") == "a:Mallory"
    for bad in ("", "m:bob", "m:a:bob", "a:bob!*@*", "z:bob", "a b", "x" * 201):
        with pytest.raises(BadMask):
            silence_mask(bad)


def test_one_entry_per_spelling_and_removal_gives_back_the_entry() -> None:
    hush = listing("Mallory")
    assert not hush.add(silence_mask("MALLORY!*@*"))
    assert hush.remove(silence_mask("mallory")) == "Mallory!*@*" and len(hush) == 0
    assert hush.remove(silence_mask("mallory")) is None


def test_who_is_kept_out() -> None:
    assert listing("MALLORY").hushes(sender("mallory"))
    assert not listing("mallory").hushes(sender("mallory_"))
    cloaked = sender("mal", ip="2001:db8::5", host="k3j5x7q2m9a4b6c8.hubbub")
    assert listing("*!*@k3j5x7q2m9a4b6c8.hubbub").hushes(cloaked)
    assert listing("*!*@2001:db8::5").hushes(cloaked)  # the address under the cloak, as bans match
    assert listing("*!*@2001:db8::/32").hushes(cloaked)
    assert not listing("*!*@2001:db9::/32").hushes(cloaked)
    assert listing("a:mal*").hushes(sender("innocent", account="Mallory"))
    assert not listing("a:mal*").hushes(sender("mallory"))  # no account: an account mask cannot match
    operator = sender("mallory")
    operator.modes = frozenset("o")
    assert not listing("*").hushes(operator)


def test_the_limit_is_a_setting_of_at_least_one() -> None:
    assert load(None, []).limits.silence == 32
    with pytest.raises(ConfigError, match=r"limits\.silence must be at least 1"):
        load(None, ["limits.silence=0"])
