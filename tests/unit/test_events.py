"""The event core without sockets: events applied in one place, deterministically;
the engine's order; the registration table.

The determinism test is the promise the cluster builds on: a log of events recorded on
one node, sent as plain records, applied to a fresh state elsewhere, gives a replica
equal to the original (same digest).
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hubbub.config import load
from hubbub.engine import snapshot
from hubbub.server.apply import APPLIERS, Outcome, apply
from hubbub.server.engine import LocalEngine
from hubbub.server.events import (
    EVENT_TYPES,
    AccountHashUpgraded,
    AccountRegistered,
    ChannelFounderSet,
    ChannelModesSet,
    ChannelRegistered,
    ChannelRenamed,
    Connected,
    Event,
    Invited,
    Joined,
    Kicked,
    KlineAdded,
    Knocked,
    LoggedIn,
    MetadataCleared,
    MetadataSet,
    ModeChange,
    NickSet,
    Registered,
    Said,
    SaidMultiline,
    UserModesSet,
    UserQuit,
    from_record,
    new_said,
    to_record,
)
from hubbub.server.registration import TRANSITIONS, Phase, Registration, Step
from hubbub.server.state import ChatState
from tests.unit.test_session import FakeClock, Peer, registered

# -- every event can be applied, recorded and read back -----------------------------------


def test_every_event_type_has_an_applier() -> None:
    assert set(EVENT_TYPES.values()) == set(APPLIERS)


def test_records_are_plain_json_and_read_back_equal() -> None:
    events: list[Event] = [
        Connected("u1", "10.0.0.1", "10.0.0.1", False, 5.0),
        NickSet("u1", "alice", 6.0, "m1"),
        ChannelModesSet("u1", "#c", (ModeChange(True, "o", "u2"), ModeChange(False, "k", "*")), 7.0, "m2"),
        Said("u1", "PRIVMSG", "#c", True, "hi", {"+draft/react": "x"}, 8.0, "m3"),
        Said("u1", "NOTICE", "#c", True, "ops", None, 8.0, "m5", "@"),
        SaidMultiline("u1", "#c", True, (("a", False), ("b", True)), None, 8.1, "m10", "", "NOTICE"),
        ChannelRenamed("u1", "#c", "#d", "", 8.5, "m6"),
        MetadataSet("u1", "#d", True, "url", "https://x", 20, 8.6, "m7"),
        MetadataSet("u1", "u1", False, "status", None, 20, 8.7, "m8"),
        MetadataCleared("u1", "u1", False, 8.8, "m9"),
        UserQuit("u1", "bye", 9.0, "m4"),
        AccountHashUpgraded("alice", "$argon2id$old", "$argon2id$new"),
    ]
    for event in events:
        assert from_record(json.loads(json.dumps(to_record(event)))) == event


def test_a_multiline_record_without_its_command_is_a_privmsg() -> None:
    """Records written before a multiline message could be a NOTICE have no `command`."""
    record = to_record(SaidMultiline("u1", "#c", True, (("a", False),), None, 8.0, "m1"))
    del record["command"]
    event = from_record(json.loads(json.dumps(record)))
    assert isinstance(event, SaidMultiline) and event.command == "PRIVMSG"


def test_a_record_of_no_known_kind_is_refused() -> None:
    with pytest.raises(ValueError):
        from_record({"kind": "Nonsense"})
    with pytest.raises(ValueError):
        from_record({"kind": "NickSet", "uid": "u1"})


# -- deterministic application -----------------------------------------------------------


class Recorder:
    """A subscriber keeping the ordered stream as JSON records, as a store or a link would."""

    def __init__(self) -> None:
        self.records: list[str] = []

    def __call__(self, event: Event, outcome: Outcome) -> None:
        self.records.append(json.dumps(to_record(event)))


def replay(records: list[str], created: float) -> ChatState:
    state = ChatState(created)
    for record in records:
        apply(state, from_record(json.loads(record)))
    return state


def recorded_core(clock: FakeClock):  # -> (Services, Recorder)
    from hubbub.server.core import local_core

    svc = local_core(load(None, ["limits.flood_control=false"]), clock)
    recorder = Recorder()
    svc.engine.subscribe(recorder)
    return svc, recorder


def test_two_states_fed_one_event_log_are_equal() -> None:
    clock = FakeClock()
    svc, recorder = recorded_core(clock)
    alice, bob, carol = (registered(svc, nick) for nick in ("alice", "bob", "carol"))
    for line in ("JOIN #a,#b", "TOPIC #a :the topic", "MODE #a +ntk-t key", "MODE #a +b *!*@bad", "AWAY :lunch"):
        clock.advance(1)
        alice.send(line)
    bob.send("JOIN #a key")
    alice.send("MODE #a +ov bob bob")
    bob.send("NICK robert")
    carol.send("JOIN #b")
    alice.send("INVITE carol #a")
    alice.send("KICK #b carol :out")
    bob.send("PRIVMSG #a :hello")
    bob.send("PRIVMSG @#a :to the ops")
    alice.send("METADATA * SET display-name :Alice")
    alice.send("METADATA #a SET url :https://a.example")
    bob.send("METADATA * SET status :here")
    bob.send("METADATA * CLEAR")
    alice.send("RENAME #a #renamed :tidier")
    bob.send("SETNAME :Robert B")
    carol.send("QUIT :bye")
    alice.send("MODE alice +i")
    assert svc.state.find_user("robert") is not None
    copy = replay(recorder.records, svc.state.created)
    assert copy.digest() == svc.state.digest()
    shorter = replay(recorder.records[:-1], svc.state.created)
    assert shorter.digest() != svc.state.digest()  # the digest does see a difference


COMMANDS = st.sampled_from([
    "JOIN #a", "JOIN #b", "PART #a", "PART #b :later", "TOPIC #a :t", "MODE #a +m", "MODE #a -m",
    "MODE #a +o {other}", "MODE #a -o {other}", "MODE #a +b {other}", "MODE #a -b {other}", "MODE #a +l 3",
    "MODE #a +k k", "MODE #a -k", "NICK {fresh}", "AWAY :x", "AWAY", "PRIVMSG #a :hi", "KICK #a {other}",
    "INVITE {other} #a", "MODE {me} +i", "MODE {me} -i", "SETNAME :{fresh}",
    "RENAME #a #c", "RENAME #c #a :back", "RENAME #b #B", "PRIVMSG @#a :ops", "NOTICE +#b :voices",
    "MODE #a +CT", "PRIVMSG #a :\x01VERSION\x01",
    "METADATA * SET display-name :{fresh}", "METADATA * SET status", "METADATA #a SET url :u{fresh}",
    "METADATA #a CLEAR", "METADATA * CLEAR", "METADATA * SUB display-name url",
])  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), COMMANDS, st.integers(0, 9)), max_size=60))
def test_any_sequence_of_commands_replays_to_an_equal_state(script: list[tuple[int, str, int]]) -> None:
    clock = FakeClock()
    svc, recorder = recorded_core(clock)
    peers: list[Peer] = [registered(svc, nick) for nick in ("p0", "p1", "p2")]
    for who, command, n in script:
        clock.advance(0.5)
        me = peers[who].client.nick
        other = peers[(who + 1) % 3].client.nick
        peers[who].send(command.format(me=me, other=other, fresh=f"n{who}x{n}"))
    assert replay(recorder.records, svc.state.created).digest() == svc.state.digest()


def test_a_nick_claimed_meanwhile_is_rejected_in_the_order_of_events() -> None:
    state = ChatState(0.0)
    for uid in ("u1", "u2"):
        apply(state, Connected(uid, "ip", "ip", False, 1.0))
    assert apply(state, NickSet("u1", "Same", 2.0, "m1")).rejected is None
    outcome = apply(state, NickSet("u2", "same", 2.0, "m2"))  # both believed it was free
    assert outcome.rejected == "taken"
    assert state.nick_holder("SAME") is state.users["u1"]


def test_the_first_joiner_in_the_order_of_events_is_op() -> None:
    state = ChatState(0.0)
    for uid, nick in (("u1", "a"), ("u2", "b")):
        apply(state, Connected(uid, "ip", "ip", False, 1.0))
        apply(state, NickSet(uid, nick, 1.0, "m"))
        apply(state, Registered(uid, "~u", "U", 1.0))
    first = apply(state, Joined("u2", "#New", 2.0, "m1"))
    second = apply(state, Joined("u1", "#new", 2.0, "m2"))
    assert first.created and not second.created
    channel = state.channels["#new"]
    assert channel.name == "#New"
    assert channel.status(state.users["u2"]) == "o" and channel.status(state.users["u1"]) == ""
    assert apply(state, Joined("u1", "#NEW", 3.0, "m3")).rejected == "already there"


def test_a_join_that_says_no_op_creates_the_channel_without_one_on_every_replica() -> None:
    """The default channel's creator is no op: the joiner's node says so in the event (from
    its configuration), so replicas that apply it need no configuration to agree; a record
    of a version before (no `op`) still makes its creator op."""
    replicas = [ChatState(0.0), ChatState(0.0)]
    record = json.dumps(to_record(Joined("u1", "#lobby", 2.0, "m1", "", 60.0, False)))
    old = to_record(Joined("u1", "#old", 2.0, "m2", ""))
    del old["op"]
    for state in replicas:
        apply(state, Connected("u1", "ip", "ip", False, 1.0))
        apply(state, NickSet("u1", "a", 1.0, "m"))
        apply(state, Registered("u1", "~u", "U", 1.0))
        assert apply(state, from_record(json.loads(record))).created
        apply(state, from_record(json.loads(json.dumps(old))))
        assert state.channels["#lobby"].status(state.users["u1"]) == ""
        assert state.channels["#old"].status(state.users["u1"]) == "o"
    assert replicas[0].digest() == replicas[1].digest()


def test_a_rename_moves_the_channel_everywhere_and_loses_to_a_name_taken_meanwhile() -> None:
    state = ChatState(0.0)
    for uid, nick in (("u1", "a"), ("u2", "b")):
        apply(state, Connected(uid, "ip", "ip", False, 1.0))
        apply(state, NickSet(uid, nick, 1.0, "m"))
        apply(state, Registered(uid, "~u", "U", 1.0))
    apply(state, Joined("u1", "#old", 2.0, "m1"))
    apply(state, Invited("u1", "u2", "#old", True, 2.0, "m2"))
    outcome = apply(state, ChannelRenamed("u1", "#OLD", "#New", "", 3.0, "m3"))
    assert outcome.rejected is None and outcome.old_name == "#old"
    channel = state.channels["#new"]
    assert "#old" not in state.channels and channel.name == "#New" and channel.key == "#new"
    assert state.users["u1"].channels == {"#new": channel}
    assert state.users["u2"].invited_to == {"#new"}
    apply(state, Joined("u2", "#other", 4.0, "m4"))
    assert apply(state, ChannelRenamed("u1", "#new", "#OTHER", "", 5.0, "m5")).rejected == "taken"
    assert apply(state, ChannelRenamed("u1", "#gone", "#x", "", 5.0, "m6")).rejected == "gone"
    assert apply(state, ChannelRenamed("u1", "#new", "#NEW", "", 6.0, "m7")).rejected is None  # case only


def test_an_invite_applied_after_its_target_or_channel_went_is_refused_and_invites_nobody() -> None:
    """A cluster's order may put the target's quit, or the channel's rename, before an
    INVITE the inviter's node let through: it is refused wherever it is applied, with the
    numeric its handler answers (401, 403), and holds no invitation."""
    state = ChatState(0.0)
    for uid, nick in (("u1", "a"), ("u2", "b"), ("u3", "c")):
        apply(state, Connected(uid, "ip", "ip", False, 1.0))
        apply(state, NickSet(uid, nick, 1.0, "m"))
        apply(state, Registered(uid, "~u", "U", 1.0))
    apply(state, Joined("u1", "#old", 2.0, "m1"))
    apply(state, UserQuit("u2", "bye", 3.0, "m2"))
    assert apply(state, Invited("u1", "u2", "#old", True, 4.0, "m3")).rejected == "401 No such nick/channel"
    apply(state, ChannelRenamed("u1", "#old", "#new", "", 5.0, "m4"))
    assert apply(state, Invited("u1", "u3", "#old", True, 6.0, "m5")).rejected == "403 No such channel"
    assert not state.channels["#new"].invited and not state.users["u3"].invited_to
    apply(state, UserQuit("u1", "bye", 7.0, "m6"))
    assert apply(state, Invited("u1", "u3", "#new", True, 8.0, "m7")).rejected == "gone"  # no inviter to tell


def test_an_invite_applied_after_its_inviter_lost_the_right_is_refused_and_lets_nobody_in() -> None:
    """An op deopped or kicked on another node before its INVITE reaches the log: the
    handler's rules are asked again of the state as applied, on every replica alike, and
    the refusal is the numeric one server would have given (482, 442; 403 for a secret
    channel). On an open channel a deopped op's INVITE still goes, as a plain member's:
    no key past +b, +k and +l."""
    replicas = [ChatState(0.0), ChatState(0.0)]
    for state in replicas:
        for uid, nick in (("u1", "a"), ("u2", "b"), ("u3", "c")):
            apply(state, Connected(uid, "ip", "ip", False, 1.0))
            apply(state, NickSet(uid, nick, 1.0, "m"))
            apply(state, Registered(uid, "~u", "U", 1.0))
        apply(state, Joined("u1", "#c", 2.0, "j1"))
        apply(state, Joined("u2", "#c", 2.1, "j2"))
        apply(state, ChannelModesSet("u1", "#c", (ModeChange(True, "i"), ModeChange(True, "o", "u2")), 3.0, "m1"))
        apply(state, ChannelModesSet("u1", "#c", (ModeChange(False, "o", "u2"),), 4.0, "m2"))  # ordered first
        assert apply(state, Invited("u2", "u3", "#c", True, 5.0, "i1")).rejected == "482 You're not channel operator"
        apply(state, ChannelModesSet("u1", "#c", (ModeChange(True, "o", "u2"),), 6.0, "m3"))
        apply(state, Kicked("u1", "u2", "#c", "out", 7.0, "k1"))
        assert apply(state, Invited("u2", "u3", "#c", True, 8.0, "i2")).rejected == "442 You're not on that channel"
        apply(state, ChannelModesSet("u1", "#c", (ModeChange(True, "s"),), 9.0, "m4"))
        assert apply(state, Invited("u2", "u3", "#c", True, 10.0, "i3")).rejected == "403 No such channel"
        channel = state.channels["#c"]
        assert not channel.invited and not state.users["u3"].invited_to
        apply(state, ChannelModesSet("u1", "#c", (ModeChange(False, "i"), ModeChange(False, "s")), 11.0, "m5"))
        apply(state, Joined("u2", "#c", 12.0, "j3", ""))
        invited = apply(state, Invited("u2", "u3", "#c", True, 13.0, "i4"))  # an op's, deopped by the rejoin
        assert invited.rejected is None and invited.target is state.users["u3"]
        assert not channel.invited and not state.users["u3"].invited_to  # a suggestion, not a key
        assert apply(state, Invited("u1", "u3", "#c", True, 14.0, "i5")).rejected is None
        assert channel.invited == {"u3"}
    assert replicas[0].digest() == replicas[1].digest()


def test_an_invite_applied_after_its_target_joined_or_set_plus_r_is_refused() -> None:
    """The target joined the channel (443), or set user mode +R while the inviter has no
    account (486), before the INVITE in the network's order: refused where it is
    applied, as on one server. Operators still reach a +R user."""
    state = ChatState(0.0)
    for uid, nick in (("u1", "a"), ("u2", "b"), ("u3", "c")):
        apply(state, Connected(uid, "ip", "ip", False, 1.0))
        apply(state, NickSet(uid, nick, 1.0, "m"))
        apply(state, Registered(uid, "~u", "U", 1.0))
    apply(state, Joined("u1", "#c", 2.0, "j1"))
    apply(state, Joined("u2", "#c", 3.0, "j2", ""))  # ordered first
    refused = apply(state, Invited("u1", "u2", "#c", True, 4.0, "i1")).rejected
    assert refused == "443 is already on channel"
    apply(state, UserModesSet("u3", ((True, "R"),), 5.0))  # ordered first
    refused = apply(state, Invited("u1", "u3", "#c", True, 6.0, "i2")).rejected
    assert refused == "486 only takes invitations from users logged in to an account"
    channel = state.channels["#c"]
    assert not channel.invited and not state.users["u2"].invited_to and not state.users["u3"].invited_to
    apply(state, UserModesSet("u1", ((True, "o"),), 7.0))
    assert apply(state, Invited("u1", "u3", "#c", True, 8.0, "i3")).rejected is None
    assert channel.invited == {"u3"}


def test_a_knock_applied_after_no_knock_is_refused() -> None:
    """+K set on one node and a KNOCK let through on another before it arrived: in the
    network's order the +K comes first, and the knock is refused wherever it is applied."""
    state = ChatState(0.0)
    for uid, nick in (("u1", "a"), ("u2", "b")):
        apply(state, Connected(uid, "ip", "ip", False, 1.0))
        apply(state, NickSet(uid, nick, 1.0, "m"))
        apply(state, Registered(uid, "~u", "U", 1.0))
    apply(state, Joined("u1", "#c", 2.0, "m1"))
    apply(state, ChannelModesSet("u1", "#c", (ModeChange(True, "i", None), ModeChange(True, "K", None)), 3.0, "m2"))
    assert apply(state, Knocked("u2", "#c", "", 4.0, "m3", 60.0)).rejected == "no knock"
    apply(state, ChannelModesSet("u1", "#c", (ModeChange(False, "K", None),), 5.0, "m4"))
    assert apply(state, Knocked("u2", "#c", "", 6.0, "m5", 60.0)).rejected is None


def test_join_flood_closes_at_the_same_join_on_every_replica() -> None:
    """+j counts joins where they are applied, from the events' times: a replica started
    from a snapshot taken mid-window closes the channel at the same join."""
    state = ChatState(0.0)
    for i in range(6):
        apply(state, Connected(f"u{i}", "ip", "ip", False, 1.0))
        apply(state, NickSet(f"u{i}", f"n{i}", 1.0, "m"))
        apply(state, Registered(f"u{i}", "~u", "U", 1.0))
    apply(state, Joined("u0", "#c", 2.0, "j0", ""))
    apply(state, ChannelModesSet("u0", "#c", (ModeChange(True, "j", "3:10"),), 3.0, "m1"))
    assert not apply(state, Joined("u1", "#c", 4.0, "j1", "", 30.0)).closed
    replica = ChatState(0.0)
    snapshot.load_into(replica, json.loads(json.dumps(snapshot.dump(state))))
    for copy in (state, replica):
        assert not apply(copy, Joined("u2", "#c", 5.0, "j2", "", 30.0)).closed
        assert apply(copy, Joined("u3", "#c", 6.0, "j3", "", 30.0)).closed  # the third within 10 s
        refused = apply(copy, Joined("u4", "#c", 7.0, "j4", "", 30.0)).rejected
        assert refused == "437 Cannot join channel (+j): too many joins at once, try again in 29 seconds"
        assert apply(copy, Joined("u4", "#c", 36.0, "j5", "", 30.0)).rejected is None  # the lock is over
    assert state.digest() == replica.digest()
    assert apply(state, Joined("u5", "#c", 37.0, "j6", None)).rejected is None  # unchecked (an old version's)


def test_status_given_at_a_login_is_only_what_the_channel_still_owes_when_applied() -> None:
    """A founder logs in after joining; its node gives +q in ChanServ's name. A SET
    FOUNDER ordered before that MODE (from another node) means +q is owed no more."""
    state = ChatState(0.0)
    apply(state, AccountRegistered("alice", "alice", "h", "s", "", 1.0))
    apply(state, AccountRegistered("bob", "bob", "h", "s", "", 1.0))
    for uid, nick in (("u1", "alice"), ("u2", "carol")):
        apply(state, Connected(uid, "ip", "ip", False, 1.0))
        apply(state, NickSet(uid, nick, 1.0, "m"))
        apply(state, Registered(uid, "~u", "U", 1.0))
    apply(state, Joined("u2", "#c", 2.0, "j1", ""))
    apply(state, LoggedIn("u2", "bob", 2.5, "l0"))
    apply(state, ChannelRegistered("u2", "#c", "alice", 3.0))
    apply(state, Joined("u1", "#c", 4.0, "j2", ""))  # not logged in yet: nothing owed
    apply(state, LoggedIn("u1", "alice", 5.0, "l1"))
    owed = ChannelModesSet("", "#c", (ModeChange(True, "q", "u1"),), 6.0, "m1", "ChanServ!ChanServ@services", owed=True)
    later = apply(state, ChannelFounderSet("#c", "bob"))  # ordered first
    assert later.rejected is None
    assert apply(state, owed).rejected == "not owed"
    assert state.channels["#c"].members[state.users["u1"]] == ""
    apply(state, ChannelFounderSet("#c", "alice"))
    assert apply(state, owed._replace(msgid="m2")).changes == [ModeChange(True, "q", "u1")]


def test_a_channel_is_given_only_by_its_founder_and_to_an_heir_with_room_as_applied() -> None:
    """SET FOUNDER is checked by its node against a replica that may stand behind the log:
    the event says who gives the channel and the heir's limit, and the applier checks
    both again. A record without them (an older node's) is applied as before."""
    state = ChatState(0.0)
    for key in ("alice", "bob", "carol"):
        apply(state, AccountRegistered(key, key, "h", "s", "", 1.0))
    apply(state, Connected("u1", "ip", "ip", False, 1.0))
    apply(state, NickSet("u1", "alice", 1.0, "m"))
    apply(state, Registered("u1", "~u", "U", 1.0))
    for name in ("#a", "#b", "#c"):
        apply(state, Joined("u1", name, 2.0, "j" + name, ""))
        apply(state, ChannelRegistered("u1", name, "alice", 3.0))
    apply(state, ChannelFounderSet("#b", "carol", "alice", 5))
    assert apply(state, ChannelFounderSet("#a", "bob", "bob", 5)).rejected == "not allowed"  # bob founds no #a
    assert apply(state, ChannelFounderSet("#a", "carol", "alice", 1)).rejected == "too many"  # carol has #b
    assert apply(state, ChannelFounderSet("#a", "alice", "alice", 1)).rejected is None  # to oneself: no new one
    given = apply(state, ChannelFounderSet("#a", "carol", "alice", 2))
    assert given.rejected is None and given.old_founder == "alice"
    assert state.channels["#a"].founder == "carol"
    assert apply(state, ChannelFounderSet("#c", "bob")).rejected is None  # unchecked, as an older node's record


def test_a_connection_ordered_after_an_address_kline_is_refused_on_every_node() -> None:
    """Accepted before the K-line reached its node, ordered after it by the network: the
    connection is refused where it is applied, as it would have been when accepted."""
    state = ChatState(0.0)
    apply(state, KlineAdded("*@127.0.0.7", "address ban", "oper", 1.0, None))
    refused = apply(state, Connected("u1", "127.0.0.7", "127.0.0.7", False, 2.0))
    assert refused.rejected == "K-Lined: address ban" and "u1" not in state.users
    assert apply(state, Connected("u2", "127.0.0.8", "127.0.0.8", False, 2.0)).rejected is None
    apply(state, KlineAdded("baduser@127.0.0.9", "user ban", "oper", 3.0, None))  # a username: at registration
    assert apply(state, Connected("u3", "127.0.0.9", "127.0.0.9", False, 4.0)).rejected is None


def test_users_share_one_empty_metadata_until_theirs_is_set() -> None:
    state = ChatState(0.0)
    apply(state, Connected("u1", "ip", "ip", False, 1.0))
    apply(state, Connected("u2", "ip", "ip", False, 1.0))
    one, two = state.users["u1"], state.users["u2"]
    assert one.metadata is two.metadata == {}
    apply(state, MetadataSet("u1", "u1", False, "a", "1", 2, 2.0, "m1"))
    assert one.metadata == {"a": "1"} and two.metadata == {}
    apply(state, MetadataSet("u2", "u2", False, "zz", None, 2, 2.0, "m2"))  # nothing to delete
    assert two.metadata == {} and one.metadata == {"a": "1"}


def test_a_nick_that_is_its_own_key_is_kept_once() -> None:
    state = ChatState(0.0)
    apply(state, Connected("u1", "ip", "ip", False, 1.0))
    apply(state, Connected("u2", "ip", "ip", False, 1.0))
    apply(state, NickSet("u1", "".join(["ali", "ce"]), 2.0, "m1"))  # not an interned literal
    apply(state, NickSet("u2", "Bob", 2.0, "m2"))
    alice, bob = state.users["u1"], state.users["u2"]
    assert alice.key is alice.nick and state.nicks["alice"] is alice
    assert bob.key == "bob" and bob.nick == "Bob" and state.nicks["bob"] is bob


def test_metadata_keys_past_the_events_limit_are_rejected_and_changes_are_reported() -> None:
    state = ChatState(0.0)
    apply(state, Connected("u1", "ip", "ip", False, 1.0))  # before registration (before-connect) too
    first = apply(state, MetadataSet("u1", "u1", False, "a", "1", 2, 2.0, "m1"))
    assert first.metadata == [("a", "1")] and first.target is state.users["u1"]
    apply(state, MetadataSet("u1", "u1", False, "b", "2", 2, 2.0, "m2"))
    assert apply(state, MetadataSet("u1", "u1", False, "c", "3", 2, 2.0, "m3")).rejected == "limit"
    assert apply(state, MetadataSet("u1", "u1", False, "a", "changed", 2, 2.0, "m4")).metadata == [("a", "changed")]
    assert apply(state, MetadataSet("u1", "u1", False, "a", "changed", 2, 2.0, "m5")).metadata == ()  # unchanged
    assert apply(state, MetadataSet("u1", "u1", False, "zz", None, 2, 2.0, "m6")).metadata == ()  # not there
    cleared = apply(state, MetadataCleared("u1", "u1", False, 3.0, "m7"))
    assert cleared.metadata == [("a", None), ("b", None)] and state.users["u1"].metadata == {}
    assert apply(state, MetadataSet("u1", "#none", True, "url", "x", 2, 4.0, "m8")).rejected == "gone"
    before = state.digest()
    apply(state, MetadataSet("u1", "u1", False, "a", "1", 2, 5.0, "m9"))
    assert state.digest() != before  # metadata is state: replicas compare it


# -- the engine's order -------------------------------------------------------------------


def test_subscribers_see_one_order_and_events_emitted_meanwhile_wait_their_turn() -> None:
    state = ChatState(0.0)
    engine = LocalEngine(state)
    seen: list[tuple[str, str]] = []
    thens: list[str] = []

    def first(event: Event, outcome: Outcome) -> None:
        seen.append(("first", type(event).__name__))
        if isinstance(event, Connected) and event.uid == "u1":
            engine.emit(None, Connected("u2", "ip", "ip", False, 1.0), lambda o: thens.append("u2"))

    def second(event: Event, outcome: Outcome) -> None:
        seen.append(("second", type(event).__name__ + ":" + (outcome.user.uid if outcome.user else "")))

    engine.subscribe(first)
    engine.subscribe(second)
    engine.emit(None, Connected("u1", "ip", "ip", False, 1.0), lambda o: thens.append("u1"))
    assert seen == [
        ("first", "Connected"), ("second", "Connected:u1"), ("first", "Connected"), ("second", "Connected:u2"),
    ]  # fmt: skip
    assert thens == ["u1", "u2"]


def test_routed_subscribers_hear_applied_events_of_their_kinds_in_the_subscribers_order() -> None:
    """A subscriber may say kind by kind what to call (Announcer, Recorder do): it hears
    only the events applied; one that does not hears everything, rejected ones too."""
    engine = LocalEngine(ChatState(0.0))
    heard: list[str] = []

    class Routed:
        def route(self, kind: type) -> object:
            if kind is NickSet:
                return lambda event, outcome: heard.append(f"routed {event.nick}")
            return None

    engine.subscribe(lambda event, outcome: heard.append(f"plain {type(event).__name__} {outcome.rejected}"))
    engine.subscribe(Routed())
    engine.subscribe(lambda event, outcome: heard.append("last"))
    engine.emit(None, Connected("u1", "ip", "ip", False, 1.0))
    engine.emit(None, NickSet("u1", "alice", 1.0, "m1"))
    engine.emit(None, NickSet("nobody", "bob", 1.0, "m2"))  # rejected: gone
    assert heard == [
        "plain Connected None", "last",
        "plain NickSet None", "routed alice", "last",
        "plain NickSet gone", "last",
    ]  # fmt: skip


def test_then_gets_the_outcome_with_the_rejection() -> None:
    engine = LocalEngine(ChatState(0.0))
    outcomes: list[Outcome] = []
    engine.emit(None, NickSet("nobody", "x", 1.0, "m"), outcomes.append)
    assert outcomes[0].rejected == "gone"


# -- registration as a table --------------------------------------------------------------


@pytest.mark.parametrize("phase", list(Phase))
@pytest.mark.parametrize("step", list(Step))
def test_registration_moves_only_along_its_table(phase: Phase, step: Step) -> None:
    registration = Registration()
    registration.phase = phase
    moved = registration.step(step)
    expected = TRANSITIONS.get((phase, step))
    assert moved == (expected is not None)
    assert registration.phase is (expected if expected is not None else phase)
    assert registration.registered == (registration.phase in (Phase.REGISTERED, Phase.REAUTHENTICATING))


def test_registration_is_ready_only_with_nick_and_user_and_nothing_open() -> None:
    registration = Registration()
    assert not registration.ready(has_nick=True)
    registration.username = "~u"
    assert registration.ready(has_nick=True) and not registration.ready(has_nick=False)
    registration.step(Step.CAP_START)
    assert not registration.ready(has_nick=True)
    registration.step(Step.SASL_START)
    registration.step(Step.CAP_END)  # CAP END ends an exchange still open
    assert registration.phase is Phase.NEW and registration.ready(has_nick=True)


def test_registration_waits_while_pass_logs_in_and_only_outside_a_negotiation() -> None:
    registration = Registration()
    registration.username = "~u"
    assert registration.step(Step.PASS_START) and not registration.ready(has_nick=True)
    assert not registration.step(Step.CAP_END) and not registration.step(Step.COMPLETE)  # nothing else moves it
    assert registration.step(Step.PASS_DONE) and registration.ready(has_nick=True)
    registration.step(Step.CAP_START)
    assert not registration.step(Step.PASS_START)  # checked once the negotiation is over (CAP END)


def test_new_said_makes_the_same_event_as_said() -> None:
    fields = ("u1", "PRIVMSG", "#c", True, "hi", {"+x": "1"}, 1.5, "id1", "@")
    made = new_said(fields)
    assert type(made) is Said and made == Said(*fields) and made._asdict() == Said(*fields)._asdict()
    assert from_record(to_record(made)) == made
