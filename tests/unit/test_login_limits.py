"""The limits of failed logins: a key's own limit in the failure throttle, and the
settings that give the looser ones (`accounts.login_failures_per_address`,
`accounts.login_failures_per_account`)."""

from __future__ import annotations

import pytest

from hubbub.config import ConfigError, default_config_text, load
from hubbub.server.throttle import FailureThrottle


def test_a_key_may_be_given_its_own_limit() -> None:
    throttle = FailureThrottle(limit=2, window=60.0)
    for t in (0.0, 1.0, 2.0):
        throttle.failed("address:a", t)
        throttle.failed("pair:a alice", t)
    assert throttle.blocked("pair:a alice", 2.0) == 59.0  # the throttle's limit: 2, the one at 1 until 61
    assert throttle.blocked("address:a", 2.0, limit=4) is None  # its own: 4
    assert throttle.blocked("address:a", 2.0, limit=3) == 58.0  # the failure at 0 leaves at 60


def test_the_looser_limits_default_above_the_tight_one() -> None:
    accounts = load(None, []).accounts
    assert (accounts.login_failures, accounts.login_failures_per_address, accounts.login_failures_per_account) == (
        5, 20, 20,
    )  # fmt: skip


def test_the_looser_limits_are_set_and_printed_like_every_setting() -> None:
    accounts = load(None, ["accounts.login_failures_per_address=1", "accounts.login_failures_per_account=300"]).accounts
    assert (accounts.login_failures_per_address, accounts.login_failures_per_account) == (1, 300)
    printed = default_config_text()
    assert "# login_failures_per_address = 20" in printed
    assert "# login_failures_per_account = 20" in printed


@pytest.mark.parametrize("key", ["login_failures_per_address", "login_failures_per_account"])
@pytest.mark.parametrize(
    ("value", "message"),
    [("0", "must be at least 1"), ("-3", "must be at least 1"), ("2.5", "must be a whole number"),
     ("true", "must be a whole number"), ("'many'", "must be a whole number"), ("2147483648", "must be at most")],
)  # fmt: skip
def test_a_looser_limit_that_is_no_positive_whole_number_is_refused(key: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=f"accounts.{key} {message}"):
        load(None, [f"accounts.{key}={value}"])
