"""Who is logged in to an account is kept as an index beside the users (ChatState.online),
asked for every private message to an absent nick: whatever the order of connections,
welcomes, logins to one account or another, logouts, drops and quits, and after a
snapshot, it names exactly the users a walk over all of them finds."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from hubbub.engine import snapshot
from hubbub.irc.casemap import casefold
from hubbub.server.apply import apply
from hubbub.server.events import (
    AccountDropped,
    AccountRegistered,
    Connected,
    Event,
    LoggedIn,
    LoggedOut,
    NickSet,
    Registered,
    UserQuit,
)
from hubbub.server.state import ChatState

UIDS = ["aaaaaa1", "aaaaaa2", "aaaaaa3", "aaaaaa4"]
ACCOUNTS = ["Alice", "bob"]


def walked(state: ChatState) -> dict[str, set[str]]:
    """Who a walk over every user finds logged in to each account (registered ones)."""
    found: dict[str, set[str]] = {}
    for user in state.users.values():
        if user.registered and user.account is not None:
            found.setdefault(casefold(user.account), set()).add(user.uid)
    return found


def indexed(state: ChatState) -> dict[str, set[str]]:
    found = {key: {u.uid for u in state.logged_in_to(key)} for key in map(casefold, ACCOUNTS)}
    return {key: uids for key, uids in found.items() if uids}


STEP = st.tuples(st.sampled_from(["connect", "welcome", "login", "logout", "quit", "drop", "register"]),
                 st.sampled_from(UIDS), st.sampled_from(ACCOUNTS))  # fmt: skip


def event(step: tuple[str, str, str], n: int) -> Event:
    what, uid, account = step
    time, msgid = float(n), f"m{n}"
    if what == "connect":
        return Connected(uid, "10.0.0.1", "h", False, time)
    if what == "welcome":
        return Registered(uid, "~u", "r", time)
    if what == "login":
        return LoggedIn(uid, casefold(account), time, msgid)
    if what == "logout":
        return LoggedOut(uid, time, msgid)
    if what == "quit":
        return UserQuit(uid, "bye", time, msgid)
    if what == "drop":
        return AccountDropped(casefold(account), time, msgid)
    return AccountRegistered(casefold(account), account, "h", "s", "", time)


@settings(max_examples=300, deadline=None)
@given(st.lists(STEP, max_size=40))
def test_the_index_of_who_is_online_as_an_account_is_what_a_walk_finds(steps: list[tuple[str, str, str]]) -> None:
    state = ChatState(0.0)
    for account in ACCOUNTS:
        apply(state, AccountRegistered(casefold(account), account, "h", "s", "", 0.5))
    for n, step in enumerate(steps, 1):
        ev = event(step, n)
        apply(state, ev)
        if isinstance(ev, Connected):
            apply(state, NickSet(ev.uid, f"n{ev.uid}", float(n), f"n{n}"))
        assert indexed(state) == walked(state)
    restored = ChatState(0.0)
    snapshot.load_into(restored, json.loads(json.dumps(snapshot.dump(state))))
    assert indexed(restored) == walked(restored) == walked(state)
    assert all(users for users in state.online.values())  # no account left with nobody


def test_a_quit_leaves_the_account_named_for_its_announcement_and_the_index_without_it() -> None:
    state = ChatState(0.0)
    arriving: list[Event] = [
        AccountRegistered("alice", "Alice", "h", "s", "", 0.5), Connected(UIDS[0], "10.0.0.1", "h", False, 1.0),
        NickSet(UIDS[0], "al", 1.0, "m1"), Registered(UIDS[0], "~u", "r", 1.1), LoggedIn(UIDS[0], "alice", 1.2, "m2"),
    ]
    for ev in arriving:
        apply(state, ev)
    assert [u.uid for u in state.logged_in_to("alice")] == [UIDS[0]]
    outcome = apply(state, UserQuit(UIDS[0], "bye", 2.0, "m3"))
    assert outcome.user is not None and outcome.user.account == "Alice"
    assert state.logged_in_to("alice") == [] and state.online == {}
