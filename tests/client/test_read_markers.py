"""Read markers (`draft/read-marker`) without a socket: what the protocol sends and hears,
and what the chat window's model does with them, fed with events.

The account's devices agree on what was read: a conversation looked at here is marked
read on the server with the server-time of its newest message (never backwards, never
the server buffer), and a marker set on another device takes back the unread count of
what was said up to it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hubbub.client import events as ev
from hubbub.client.protocol import ClientProtocol
from hubbub.client.state import ChatState
from tests.client.test_protocol import feed, make, of, register
from tests.client.test_state import T, connected


def at(seconds: float) -> datetime:
    return T + timedelta(seconds=seconds)


def wire(when: datetime) -> str:
    """A time as server-time writes it: `2024-05-01T12:00:01.500Z`."""
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def said(source: str, target: str, text: str, when: datetime, *, own: bool = False,
         stamped: bool = True) -> ev.MessageReceived:
    """A message as the server relays it, with its server-time (`stamped`) or without."""
    private = not target.startswith("#")
    conversation = target if not private else (target if own else source)
    tags = {"time": wire(when)} if stamped else {}
    return ev.MessageReceived(source, target, text, "privmsg", conversation, own, private, False, when, None, tags)


def in_two_channels() -> ChatState:
    """alice in #a and #b, #b on screen."""
    state = connected()
    state.apply(ev.Joined("#a", "alice", True, T))
    state.apply(ev.Joined("#b", "alice", True, T))
    return state


# -- the protocol ------------------------------------------------------------------------------


def logged_in(offer: str = "draft/read-marker batch server-time") -> ClientProtocol:
    proto = make()
    proto.lines_to_send()
    register(proto, offer)
    feed(proto, ":srv 900 alice alice!u@h alice :You are now logged in as alice")
    return proto


def test_the_capability_is_asked_for_where_offered() -> None:
    proto = make()
    proto.lines_to_send()
    feed(proto, ":srv CAP * LS :draft/read-marker server-time")
    assert proto.lines_to_send() == ["CAP REQ :draft/read-marker server-time"]


def test_marking_read_sends_the_time_given_as_server_time_writes_it() -> None:
    proto = logged_in()
    assert proto.mark_read("#a", at(1.5))
    assert proto.request_read_marker("bob")
    assert proto.lines_to_send() == ["MARKREAD #a timestamp=2024-05-01T12:00:01.500Z", "MARKREAD bob"]


def test_nothing_is_marked_without_the_capability_or_an_account() -> None:
    no_cap = logged_in("batch server-time")
    anonymous = make()
    anonymous.lines_to_send()
    register(anonymous, "draft/read-marker")
    for proto in (no_cap, anonymous):
        assert not proto.mark_read("#a", at(1))
        assert not proto.request_read_marker("#a")
        assert proto.lines_to_send() == []


def test_a_marker_heard_is_an_event_and_none_is_none() -> None:
    proto = logged_in()
    events = feed(proto, ":srv MARKREAD #a timestamp=2024-05-01T12:00:01.500Z", ":srv MARKREAD bob *")
    assert of(events, ev.ReadMarker) == [ev.ReadMarker("#a", at(1.5)), ev.ReadMarker("bob", None)]


def test_a_conversation_the_server_keeps_no_marker_of_is_not_asked_again_on_that_connection() -> None:
    proto = logged_in()
    proto.mark_read("NickServ", at(1))
    feed(proto, ":srv FAIL MARKREAD INVALID_PARAMS NickServ :Invalid target",
         ":srv FAIL MARKREAD INVALID_PARAMS timestamp=nonsense :Invalid timestamp")
    proto.lines_to_send()
    assert not proto.mark_read("nickserv", at(2)) and not proto.request_read_marker("NickServ")
    assert proto.mark_read("#a", at(2))  # the refused timestamp named no conversation
    assert proto.lines_to_send() == ["MARKREAD #a timestamp=2024-05-01T12:00:02.000Z"]
    proto.connection_lost()
    proto.connection_made()  # logged in otherwise, perhaps: asked again
    proto.lines_to_send()
    register(proto, "draft/read-marker")
    feed(proto, ":srv 900 alice alice!u@h alice :You are now logged in as alice")
    assert proto.mark_read("NickServ", at(3))


# -- a marker set on another device --------------------------------------------------------------


def test_a_marker_from_another_device_leaves_unread_only_what_came_after_it() -> None:
    state = in_two_channels()
    state.apply(said("bob", "#a", "alice: are you there?", at(1)))
    state.apply(said("bob", "#a", "the meeting moved", at(2)))
    state.apply(said("bob", "#a", "to three", at(3)))
    a = state.find("#a")
    assert a is not None and (a.unread, a.mentioned) == (3, True)
    update = state.apply(ev.ReadMarker("#a", at(2)))
    assert (a.unread, a.mentioned) == (1, False) and update.buffers  # the mention was read there
    state.apply(said("bob", "#a", "ok?", at(4)))
    assert a.unread == 2
    assert not state.apply(ev.ReadMarker("#a", at(1))).buffers  # older: a marker only moves forward
    assert a.unread == 2 and state.read_marker("#a") == at(2)
    state.apply(ev.ReadMarker("#a", at(4)))
    assert (a.unread, a.mentioned) == (0, False)


def test_a_mention_after_the_marker_stays() -> None:
    state = in_two_channels()
    state.apply(said("bob", "#a", "hello", at(1)))
    state.apply(said("bob", "#a", "alice: and you?", at(2)))
    a = state.find("#a")
    assert a is not None
    state.apply(ev.ReadMarker("#a", None))  # nothing read there yet
    assert (a.unread, a.mentioned) == (2, True)
    state.apply(ev.ReadMarker("#a", at(1)))
    assert (a.unread, a.mentioned) == (1, True)


def test_markers_are_remembered_for_conversations_not_open_yet() -> None:
    """A private conversation opened later (the server said it had news: CHATHISTORY
    TARGETS) counts unread only what came after what the account read elsewhere."""
    state = connected()
    state.apply(ev.ReadMarker("bob", at(2)))
    state.apply(ev.HistoryTargets((("bob", at(3)),)))
    history = tuple(said("bob", "alice", text, at(n)) for n, text in ((1, "hi"), (2, "are you coming?"), (3, "well?")))
    state.apply(ev.History("bob", history))
    bob = state.find("bob")
    assert bob is not None and [line.text for line in bob.lines] == ["hi", "are you coming?", "well?"]
    assert (bob.unread, bob.mentioned) == (1, True)


def test_a_live_line_read_elsewhere_already_is_not_unread() -> None:
    state = in_two_channels()
    state.apply(ev.ReadMarker("#a", at(5)))
    state.apply(said("bob", "#a", "said before the marker", at(4)))  # missed, fetched after a reconnection
    state.apply(said("bob", "#a", "said after it", at(6)))
    assert state.find("#a").unread == 1  # type: ignore[union-attr]


def test_a_renamed_conversation_keeps_its_marker() -> None:
    state = connected()
    state.apply(said("bob", "alice", "hi", at(1)))
    state.apply(ev.ReadMarker("bob", at(1)))
    state.apply(ev.NickChanged("bob", "robert", False, (), at(2)))
    assert state.read_marker("robert") == at(1)


def test_a_refused_marker_is_not_shown() -> None:
    state = in_two_channels()
    before = len(state.current.lines)
    state.apply(ev.StandardReply("FAIL", "MARKREAD", "INVALID_PARAMS", ("NickServ",), "Invalid target"))
    assert len(state.current.lines) == before


# -- marking read what is looked at here ---------------------------------------------------------


def test_showing_a_conversation_marks_it_read_at_its_newest_message() -> None:
    state = in_two_channels()
    state.apply(said("bob", "#a", "one", at(1)))
    state.apply(said("bob", "#a", "two", at(2)))
    state.apply(ev.Joined("#a", "carol", False, at(3)))  # not a message: no marker of its own
    a = state.find("#a")
    assert a is not None
    assert not state.marks_due()  # nothing read yet
    assert state.select(a).mark_read
    assert state.marks_due() == [("#a", at(2))]
    assert state.marks_due() == []  # once
    assert state.read_marker("#a") == at(2)


def test_what_arrives_in_the_conversation_on_screen_is_read_as_it_comes() -> None:
    state = in_two_channels()
    assert state.apply(said("bob", "#b", "hello", at(1))).mark_read
    assert state.apply(said("bob", "#b", "again", at(2))).mark_read
    assert state.marks_due() == [("#b", at(2))]  # a burst is one MARKREAD
    assert not state.apply(said("bob", "#a", "elsewhere", at(3))).mark_read


def test_the_marker_never_goes_back() -> None:
    state = in_two_channels()
    state.apply(said("bob", "#a", "one", at(1)))
    state.apply(ev.ReadMarker("#a", at(5)))  # read further on another device
    assert not state.select(state.find("#a")).mark_read  # type: ignore[arg-type]
    assert state.marks_due() == []


def test_a_marker_heard_meanwhile_is_not_sent_back() -> None:
    state = in_two_channels()
    state.apply(said("bob", "#b", "hello", at(1)))
    state.apply(ev.ReadMarker("#b", at(1)))  # the phone marked it before our delay was over
    assert state.marks_due() == []


def test_the_time_marked_is_the_servers_not_this_machines() -> None:
    """A line stamped by our own clock (ours, without echo-message) marks nothing: the
    other devices compare markers with the server's times."""
    state = in_two_channels()
    assert not state.apply(said("alice", "#b", "typed here", at(9), own=True, stamped=False)).mark_read
    assert state.marks_due() == []
    state.apply(said("alice", "#b", "echoed by the server", at(1), own=True))
    assert state.marks_due() == [("#b", at(1))]


def test_the_server_buffer_is_never_marked() -> None:
    state = connected()
    state.apply(ev.MessageReceived("irc.test", "alice", "a notice", "notice", "irc.test", False, True, True,
                                   at(1), None, {"time": wire(at(1))}))
    assert state.current is state.server and state.marks_due() == []


def test_history_that_comes_into_view_is_read() -> None:
    state = in_two_channels()
    update = state.apply(ev.History("#b", (said("bob", "#b", "from before", at(-5)),)))
    assert update.mark_read
    assert state.marks_due() == [("#b", at(-5))]


def test_nothing_is_read_while_nobody_looks() -> None:
    state = in_two_channels()
    state.set_focused(False)
    assert not state.apply(said("bob", "#b", "while away from the terminal", at(1))).mark_read
    assert state.marks_due() == []
    assert state.set_focused(True).mark_read
    assert state.marks_due() == [("#b", at(1))]


def test_a_conversation_closed_before_the_delay_is_left_out() -> None:
    state = in_two_channels()
    state.apply(said("bob", "#a", "one", at(1)))
    state.apply(said("bob", "#b", "two", at(2)))  # read: on screen
    a = state.find("#a")
    assert a is not None
    state.select(a)  # read too, then closed at once
    state.close(a)
    assert state.marks_due() == [("#b", at(2))]


def test_what_was_read_while_disconnected_is_marked_once_registered_again() -> None:
    state = in_two_channels()
    state.apply(said("bob", "#b", "hello", at(1)))
    update = state.apply(ev.Registered("alice", "irc.test", "testnet", frozenset()))
    assert update.mark_read
    assert state.marks_due() == [("#b", at(1))]
