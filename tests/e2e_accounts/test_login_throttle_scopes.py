"""What a failed login closes, and to whom (docs/accounts.md, "Failed logins are throttled"):
the tight limit (`accounts.login_failures`) per connection and per address and account
pair, so that one person's typos lock out only their own tries at that account from that
address; looser limits per address across accounts (`login_failures_per_address`) and per
account across addresses (`login_failures_per_account`), so that guessing stays bounded.

The first tests are transcripts over real sockets against a real server; connections
from another address bind 127.0.0.x (all of 127/8 is loopback on Linux). The last ones
drive the sans-I/O core with the test's clock, to show which counts a failure and a login
touch, and that a window passes, without sleeping.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from hubbub.config import load
from hubbub.plain.intake import Intake
from hubbub.server.context import Services
from hubbub.server.core import local_core
from tests.e2e_accounts.support import NS, ns, registered_account
from tests.e2e_accounts.test_register_throttle import Link
from tests.e2e_opers.support import connected_from
from tests.helpers import LineClient, connected

INVALID = "Authentication failed: Invalid account credentials"
THROTTLED = re.compile(r"Too many failed attempts; try again in (\d+) seconds")


def logged_in(account: str) -> str:
    return f"You're now logged in as {account}"


async def identify(client: LineClient, account: str, password: str = "correct-horse") -> str:
    """NickServ's answer to `IDENTIFY <account> <password>`."""
    return await ns(client, f"IDENTIFY {account} {password}")


# -- over real sockets ---------------------------------------------------------------------------


async def test_one_persons_typos_lock_out_nobody_else_behind_the_same_address(make_server, clients) -> None:
    """Five wrong passwords for alice from 127.0.0.1, the default limit: alice is refused
    from there (the sixth try, on a fresh connection and with the right password), while
    bob logs in at once from the same address and alice's owner from another."""
    server = await make_server()
    owners = [await registered_account(server, name) for name in ("alice", "bob")]
    typist = await connected(server, "typist")
    neighbour = await connected(server, "neighbour")
    clients.extend([*owners, typist, neighbour])
    for _ in range(5):
        assert await identify(typist, "alice", "correct-hrose") == INVALID
    assert await identify(neighbour, "bob") == logged_in("bob")
    again = await connected(server, "again")
    clients.append(again)
    refused = THROTTLED.fullmatch(await identify(again, "alice"))
    assert refused is not None and 1 <= int(refused.group(1)) <= 60, refused
    elsewhere = await connected_from(server, "127.0.0.2", "elsewhere")
    clients.append(elsewhere)
    assert await identify(elsewhere, "alice") == logged_in("alice")


async def test_failures_over_many_accounts_from_one_address_are_refused_past_the_address_limit(
    make_server, clients
) -> None:
    """One failure at each of five names from 127.0.0.2, two per connection at most: no
    pair and no connection reached its limit (2), the address reached its own (5). A sixth
    account is refused from there, a right password too, and not from elsewhere."""
    server = await make_server("accounts.login_failures=2", "accounts.login_failures_per_address=5")
    dave = await registered_account(server, "dave")
    clients.append(dave)
    names = iter(f"name{number}" for number in range(5))
    for number, tries in enumerate((2, 2, 1)):
        sprayer = await connected_from(server, "127.0.0.2", f"sprayer{number}")
        clients.append(sprayer)
        for _ in range(tries):
            assert await identify(sprayer, next(names), "nope") == INVALID
    fresh = await connected_from(server, "127.0.0.2", "fresh")
    clients.append(fresh)
    assert THROTTLED.fullmatch(await identify(fresh, "dave"))
    elsewhere = await connected_from(server, "127.0.0.3", "elsewhere")
    clients.append(elsewhere)
    assert await identify(elsewhere, "dave") == logged_in("dave")


async def test_failures_at_one_account_from_many_addresses_are_refused_past_the_account_limit(
    make_server, clients
) -> None:
    """Five failures at alice from three addresses, two from each at most: no address and
    no pair reached the tight limit (2), the account reached its own (5). alice is refused
    from a fourth address, the right password too; bob is not, from the same connection."""
    server = await make_server("accounts.login_failures=2", "accounts.login_failures_per_account=5")
    owners = [await registered_account(server, name) for name in ("alice", "bob")]
    clients.extend(owners)
    for ip, tries in (("127.0.0.2", 2), ("127.0.0.3", 2), ("127.0.0.4", 1)):
        guesser = await connected_from(server, ip, f"guesser{ip.rpartition('.')[2]}")
        clients.append(guesser)
        for _ in range(tries):
            assert await identify(guesser, "alice", "nope") == INVALID
    owner = await connected_from(server, "127.0.0.5", "owner")
    clients.append(owner)
    assert THROTTLED.fullmatch(await identify(owner, "alice"))
    assert await identify(owner, "bob") == logged_in("bob")


# -- the core, with the test's clock -------------------------------------------------------------


def checked_at_once(conn: object, work: Callable[[], Any], resume: Callable[[Any], None]) -> bool:
    """The hand-off of slow work, done at once: the password really is checked."""
    resume(work())
    return True


def core(*overrides: str) -> tuple[Services, list[float]]:
    """A core whose clock reads `now[0]`."""
    now = [1000.0]
    return local_core(load(None, list(overrides)), clock=lambda: now[0], offload=checked_at_once), now


def user(svc: Services, nick: str, ip: str = "127.0.0.1") -> Callable[[str], str]:
    """A registered user from `ip`; calling it sends a line and returns NickServ's first answer."""
    link = Link()
    intake = Intake(svc, link, ip)
    for line in (f"NICK {nick}", "USER u 0 * :U"):
        intake.line_received(line.encode())
    link.take()

    def say(line: str) -> str:
        intake.line_received(line.encode())
        return next(m.params[-1] for m in link.take() if m.command == "NOTICE" and m.source == NS)

    return say


def counted(svc: Services) -> set[str]:
    return set(svc.login_throttle._failures)


def test_a_failure_counts_against_its_pair_its_address_and_its_account() -> None:
    svc, now = core()  # an account that does not exist counts as one that does
    assert user(svc, "guesser", "192.0.2.7")("NS IDENTIFY alice nope") == INVALID
    assert counted(svc) == {"pair:192.0.2.7 alice", "address:192.0.2.7", "account:alice"}


def test_a_login_forgets_its_pairs_failures_and_keeps_the_address_and_account_counts() -> None:
    """The one who mistyped got it right: their failures at this account from here go;
    what the address failed elsewhere, and what others failed at the account, stay."""
    svc, now = core("accounts.login_failures_per_account=3")
    assert user(svc, "alice")("NS REGISTER correct-horse") == "Account created"
    user(svc, "guesser", "192.0.2.9")("NS IDENTIFY alice nope")
    typist = user(svc, "typist", "192.0.2.7")
    assert typist("NS IDENTIFY alice correct-hrose") == INVALID
    assert typist("NS IDENTIFY alice correct-horse") == logged_in("alice")
    assert counted(svc) == {"pair:192.0.2.9 alice", "address:192.0.2.9", "address:192.0.2.7", "account:alice"}
    # the account still counts both failures: one more from anywhere reaches its limit of 3
    assert user(svc, "other", "192.0.2.8")("NS IDENTIFY alice nope") == INVALID
    assert THROTTLED.fullmatch(user(svc, "owner", "192.0.2.7")("NS IDENTIFY alice correct-horse"))


def test_the_address_limit_lifts_when_its_oldest_failure_leaves_the_window() -> None:
    svc, now = core("accounts.login_failures=2", "accounts.login_failures_per_address=3")
    for name in ("ann", "ben", "cat"):
        assert user(svc, f"{name}_guess")(f"NS IDENTIFY {name} nope") == INVALID
        now[0] += 10
    assert user(svc, "dan")("NS IDENTIFY dan nope") == "Too many failed attempts; try again in 30 seconds"
    now[0] += 30  # ann's failure, at 1000, is out of the 60 seconds' window
    assert user(svc, "dan2")("NS IDENTIFY dan nope") == INVALID


def test_new_limits_are_in_force_at_once_and_the_failures_counted_still_count() -> None:
    """What a REHASH does: the services are given the new configuration."""
    svc, now = core("accounts.login_failures=2")
    for name in ("ann", "ben", "cat"):
        assert user(svc, f"{name}_guess")(f"NS IDENTIFY {name} nope") == INVALID
    svc.config = load(None, ["accounts.login_failures=2", "accounts.login_failures_per_address=3"])
    assert THROTTLED.fullmatch(user(svc, "dan")("NS IDENTIFY dan nope"))
    svc.config = load(None, ["accounts.login_failures=2", "accounts.login_failures_per_address=4"])
    assert user(svc, "dan2")("NS IDENTIFY dan nope") == INVALID
