"""An account's vhost, decided where events are applied: whatever the order a cluster
gives a login, a logout, a SASL welcome and the vhost's changes (each emitted by a node
from its own view, which may be behind), the host a user ends with is the one its
account has then, or the host under the vhost once it has none."""

from __future__ import annotations

import json

import pytest

from hubbub.engine import snapshot
from hubbub.server.apply import apply
from hubbub.server.events import (
    AccountDropped,
    AccountRegistered,
    AccountVhostSet,
    Connected,
    Event,
    HostSet,
    LoggedIn,
    LoggedOut,
    NickSet,
    Registered,
)
from hubbub.server.state import ChatState

ALICE = "aaaaaa1"
CLOAK = "k3j5x7q2m9a4b6c8.hubbub"


def applied(events: list[Event]) -> ChatState:
    state = ChatState(0.0)
    for event in events:
        apply(state, event)
    return state


def connecting(*, logged_in: bool = False) -> list[Event]:
    """alice connects (shown with a cloak); with SASL, logged in to her account before her welcome."""
    events: list[Event] = [
        AccountRegistered("alice", "alice", "h", "s", "", 1.0),
        Connected(ALICE, "10.0.0.9", CLOAK, False, 1.0),
        NickSet(ALICE, "alice", 1.1, "m1"),
    ]
    if logged_in:
        events.append(LoggedIn(ALICE, "alice", 1.2, "m2"))
    return events


def logged_in() -> list[Event]:
    """alice registered, then logged in with IDENTIFY."""
    return [*connecting(), Registered(ALICE, "~u", "r", 1.3), LoggedIn(ALICE, "alice", 1.4, "m3")]


def host(state: ChatState) -> str:
    user = state.users[ALICE]
    assert user.prefix == f"alice!~u@{user.host}"
    return user.host


# HS SET alice user/alice on node A: its AccountVhostSet, then the HostSet A says again
# for older nodes; alice's LOGOUT on node B, emitted before B applied A's events
SET = AccountVhostSet("alice", "user/alice", 2.0, "m4")
SAID_AGAIN = HostSet(ALICE, "~u", "user/alice", 2.1, "m5", for_older_nodes=True)
LOGOUT = LoggedOut(ALICE, 2.2, "m6")


@pytest.mark.parametrize(
    "race", [[SET, SAID_AGAIN, LOGOUT], [SET, LOGOUT, SAID_AGAIN], [LOGOUT, SET, SAID_AGAIN]],
    ids=["set, logout", "set, logout, its HostSet", "logout, set"],
)  # fmt: skip
def test_a_vhost_set_racing_a_logout_leaves_the_logged_out_user_its_cloak_in_any_order(race: list[Event]) -> None:
    state = applied([*logged_in(), *race])
    assert host(state) == CLOAK
    assert state.users[ALICE].vhost_of is None


def test_the_hostset_said_again_for_older_nodes_is_rejected_here() -> None:
    state = applied([*logged_in(), SET, LOGOUT])
    assert apply(state, SAID_AGAIN).rejected is not None
    assert host(state) == CLOAK


@pytest.mark.parametrize(
    ("emitted_with", "meanwhile", "shown"),
    [("", "user/alice", "user/alice"), ("user/old", "user/new", "user/new"), ("user/old", "", CLOAK)],
    ids=["set", "changed", "removed"],
)
def test_a_vhost_changed_between_a_sasl_welcome_and_its_applying_is_the_one_shown(
    emitted_with: str, meanwhile: str, shown: str
) -> None:
    """The welcome's node saw the account's vhost as `emitted_with`; the network ordered
    a change to `meanwhile` before the welcome."""
    start = [*connecting(logged_in=True)]
    if emitted_with:
        start.append(AccountVhostSet("alice", emitted_with, 1.25, "m0"))
    state = applied([*start, AccountVhostSet("alice", meanwhile, 1.3, "m4"),
                     Registered(ALICE, "~u", "r", 1.4, emitted_with)])  # fmt: skip
    assert host(state) == shown
    assert state.users[ALICE].vhost_of == (("alice", CLOAK) if meanwhile else None)


def test_a_vhost_changed_or_removed_while_logged_in_follows_and_is_announced() -> None:
    state = applied(logged_in())
    outcome = apply(state, AccountVhostSet("alice", "user/a", 2.0, "m4"))
    assert host(state) == "user/a"
    assert [(user.uid, before) for user, before in outcome.hosts] == [(ALICE, f"alice!~u@{CLOAK}")]
    outcome = apply(state, AccountVhostSet("alice", "user/b", 2.1, "m5"))
    assert host(state) == "user/b"
    assert [before for _, before in outcome.hosts] == ["alice!~u@user/a"]
    assert state.users[ALICE].vhost_of == ("alice", CLOAK)  # the host under it is still the cloak
    outcome = apply(state, AccountVhostSet("alice", "", 2.2, "m6"))
    assert host(state) == CLOAK
    assert [before for _, before in outcome.hosts] == ["alice!~u@user/b"]


def test_a_login_shows_the_account_s_vhost_and_a_login_elsewhere_or_a_drop_takes_it_back() -> None:
    state = applied([*logged_in(), AccountRegistered("work", "work", "h", "s", "", 1.5)])
    apply(state, SET)
    apply(state, LoggedOut(ALICE, 2.1, "m5"))
    outcome = apply(state, LoggedIn(ALICE, "alice", 2.2, "m6"))  # IDENTIFY again
    assert host(state) == "user/alice" and len(outcome.hosts) == 1
    apply(state, AccountVhostSet("work", "staff/work", 2.3, "m7"))
    apply(state, LoggedIn(ALICE, "work", 2.4, "m8"))  # SASL again, to another account
    assert host(state) == "staff/work"
    assert state.users[ALICE].vhost_of == ("work", CLOAK)
    apply(state, AccountVhostSet("work", "", 2.5, "m9"))
    apply(state, LoggedIn(ALICE, "alice", 2.6, "m10"))
    apply(state, LoggedIn(ALICE, "work", 2.7, "m11"))  # to one without a vhost: the cloak
    assert host(state) == CLOAK
    apply(state, LoggedIn(ALICE, "alice", 2.8, "m12"))
    outcome = apply(state, AccountDropped("alice", 2.9, "m13"))
    assert host(state) == CLOAK and [user.uid for user, _ in outcome.hosts] == [ALICE]


def test_a_chghost_stays_through_a_logout_and_is_the_host_under_a_later_vhost() -> None:
    state = applied([*logged_in(), SET])
    apply(state, HostSet(ALICE, "~u", "guest.example.org", 2.1, "m5"))  # an operator's CHGHOST
    apply(state, LOGOUT)
    assert host(state) == "guest.example.org"
    apply(state, LoggedIn(ALICE, "alice", 2.3, "m7"))
    assert host(state) == "user/alice"
    apply(state, AccountVhostSet("alice", "", 2.4, "m8"))
    assert host(state) == "guest.example.org"


def test_a_user_still_registering_is_shown_with_no_vhost_until_its_welcome() -> None:
    state = applied([*connecting(logged_in=True), SET])
    assert state.users[ALICE].host == CLOAK and state.users[ALICE].vhost_of is None
    apply(state, Registered(ALICE, "~u", "r", 2.1))
    assert host(state) == "user/alice"


def test_a_snapshot_knows_who_is_shown_with_a_vhost_and_the_digest_tells() -> None:
    """A node started from a snapshot takes the vhost back at a logout as the others do."""
    state = applied([*logged_in(), SET])
    restored = ChatState(5.0)
    snapshot.load_into(restored, json.loads(json.dumps(snapshot.dump(state))))
    assert restored.users[ALICE].vhost_of == ("alice", CLOAK)
    assert restored.digest() == state.digest()
    for replica in (state, restored):
        apply(replica, LOGOUT)
        assert host(replica) == CLOAK
    assert restored.digest() == state.digest()

    shown, plain = applied([*logged_in(), SET]), applied([*logged_in(), SET])
    plain.users[ALICE].vhost_of = None
    assert shown.digest() != plain.digest()


def test_a_snapshot_of_the_version_before_shows_no_one_with_a_vhost_it_would_take_back() -> None:
    state = applied([*logged_in(), SET])
    data = json.loads(json.dumps(snapshot.dump(state)))
    del data["shown_vhosts"]
    restored = ChatState(5.0)
    snapshot.load_into(restored, data)
    assert host(restored) == "user/alice" and restored.users[ALICE].vhost_of is None
