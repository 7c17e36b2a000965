"""The client protocol without sockets: lines in, lines and events out.

Line by line, with the lines the IRCv3 specifications give: what hubbub's server does
not offer yet (SASL, chathistory), and the cases of batches, server-time and
labeled-response that a real server seldom produces on demand.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from hubbub.client import events as ev
from hubbub.client.protocol import ClientProtocol, Phase
from hubbub.irc.message import Message

FIXED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def make(nick: str = "alice", **kwargs: object) -> ClientProtocol:
    proto = ClientProtocol(nick, clock=lambda: FIXED, **kwargs)  # type: ignore[arg-type]
    proto.connection_made()
    return proto


def feed(proto: ClientProtocol, *lines: str) -> list[ev.Event]:
    for line in lines:
        proto.receive_line(line)
    return proto.events_received()


def register(proto: ClientProtocol, offer: str = "") -> list[ev.Event]:
    """Take a fresh protocol through CAP LS (with `offer`) to the end of the MOTD."""
    events = feed(proto, f":srv CAP * LS :{offer}")
    out = proto.lines_to_send()
    for line in out:
        if line.startswith("CAP REQ"):
            events += feed(proto, f":srv CAP * ACK :{line.split(':', 1)[1]}")
    nick = proto.nick
    events += feed(
        proto,
        f":srv 001 {nick} :Welcome {nick}!u@h",
        f":srv 005 {nick} PREFIX=(ov)@+ CHANTYPES=# CASEMAPPING=ascii NETWORK=testnet :are supported",
        f":srv 376 {nick} :End of MOTD",
    )
    proto.lines_to_send()
    return events


def paced(proto: ClientProtocol) -> list[str]:
    """What the protocol sends, its pacing PINGs answered as a server would."""
    out: list[str] = []
    while lines := proto.lines_to_send():
        for line in lines:
            if line.startswith("PING hubbub-pace-"):
                proto.receive_line(f":srv PONG srv :{line.split()[1]}")
            else:
                out.append(line)
    return out


def of(events: list[ev.Event], kind: type) -> list:
    return [e for e in events if isinstance(e, kind)]


def test_registration_opens_with_cap_ls_302_then_nick_and_user() -> None:
    proto = make(password="pw")
    assert proto.lines_to_send() == ["CAP LS 302", "PASS pw", "NICK alice", "USER alice 0 * :hubbub chat"]
    assert proto.phase is Phase.CAP_LS


def test_only_wanted_caps_the_server_offers_are_requested() -> None:
    proto = make()
    proto.lines_to_send()
    feed(proto, ":srv CAP * LS :echo-message multi-prefix userhost-in-names cap-notify fancy-thing")
    assert proto.lines_to_send() == ["CAP REQ :cap-notify echo-message multi-prefix"]
    events = feed(proto, ":srv CAP * ACK :cap-notify echo-message multi-prefix")
    assert proto.lines_to_send() == ["CAP END"]
    assert of(events, ev.CapsChanged)[0].enabled == {"cap-notify", "echo-message", "multi-prefix"}


def test_multiline_cap_ls_is_read_whole_before_requesting() -> None:
    proto = make()
    proto.lines_to_send()
    feed(proto, ":srv CAP * LS * :echo-message")
    assert proto.lines_to_send() == []
    feed(proto, ":srv CAP * LS :server-time")
    assert proto.lines_to_send() == ["CAP REQ :echo-message server-time"]


def test_nothing_to_request_ends_negotiation_at_once() -> None:
    proto = make()
    proto.lines_to_send()
    feed(proto, ":srv CAP * LS :something-else")
    assert proto.lines_to_send() == ["CAP END"]


def test_batch_dependent_caps_are_not_requested_without_batch() -> None:
    proto = make()
    proto.lines_to_send()
    feed(proto, ":srv CAP * LS :labeled-response draft/chathistory server-time")
    assert proto.lines_to_send() == ["CAP REQ :server-time"]


def test_registered_comes_at_the_end_of_the_motd_and_channels_are_joined() -> None:
    proto = make(channels=["#a", "#b"])
    proto.lines_to_send()
    feed(proto, ":srv CAP * LS :")
    assert proto.lines_to_send() == ["CAP END"]
    events = feed(proto, ":srv 001 alice :Welcome alice!u@h", ":srv 005 alice NETWORK=testnet :are supported")
    assert of(events, ev.Registered) == [] and not proto.ready
    assert proto.lines_to_send() == []  # no JOIN before the end of the MOTD
    events = feed(proto, ":srv 376 alice :End of MOTD")
    assert of(events, ev.Registered) == [ev.Registered("alice", "srv", "testnet", frozenset())]
    assert proto.ready
    assert proto.lines_to_send() == ["JOIN #a,#b"]
    again = feed(proto, ":srv 376 alice :End of MOTD")  # a second end (MOTD asked again) changes nothing
    assert of(again, ev.Registered) == []
    assert proto.lines_to_send() == []


def test_rejoin_after_reconnecting_uses_the_channels_we_were_in() -> None:
    proto = make(channels=["#a"])
    events = feed(proto, ":srv CAP * LS :", ":srv 001 alice :hi", ":srv 422 alice :No MOTD")
    assert "JOIN #a" in proto.lines_to_send()
    assert of(events, ev.Registered)
    feed(proto, ":alice!u@h JOIN #a", ":alice!u@h JOIN #b", ":alice!u@h PART #a")
    proto.connection_lost()
    proto.connection_made()
    proto.lines_to_send()
    feed(proto, ":srv CAP * LS :", ":srv 001 alice :hi", ":srv 376 alice :End")
    assert "JOIN #b" in proto.lines_to_send()


def test_a_taken_nick_during_registration_falls_back_to_another() -> None:
    proto = make()
    proto.lines_to_send()
    feed(proto, ":srv 433 * alice :Nickname is already in use")
    assert proto.lines_to_send() == ["NICK alice_"]
    feed(proto, ":srv 433 * alice_ :Nickname is already in use")
    assert proto.lines_to_send() == ["NICK alice__"]
    feed(proto, ":srv 001 alice__ :Welcome")
    assert proto.nick == "alice__"


def test_a_realname_with_line_breaks_still_registers_on_one_line() -> None:
    proto = make(realname="Alice\r\nof Wonderland\0")
    feed(proto, ":srv CAP * LS :")
    user = [line for line in proto.lines_to_send() if line.startswith("USER")]
    assert user == ["USER alice 0 * :Alice of Wonderland"]


def test_ping_is_answered_with_the_same_token() -> None:
    proto = make()
    proto.lines_to_send()
    assert feed(proto, "PING :abc 123") == []
    assert proto.lines_to_send() == ["PONG :abc 123"]


def test_a_server_without_cap_still_registers() -> None:
    proto = make()
    proto.lines_to_send()
    events = feed(proto, ":srv 421 * CAP :Unknown command", ":srv 001 alice :hi", ":srv 376 alice :end")
    assert of(events, ev.Registered)


# -- SASL ----------------------------------------------------------------------------


def test_sasl_plain_authenticates_before_cap_end() -> None:
    proto = make(sasl_account="alice", sasl_password="s3cret")
    proto.lines_to_send()
    feed(proto, ":srv CAP * LS :sasl=PLAIN,EXTERNAL")
    assert proto.lines_to_send() == ["CAP REQ :sasl"]
    feed(proto, ":srv CAP alice ACK :sasl")
    assert proto.lines_to_send() == ["AUTHENTICATE PLAIN"]
    feed(proto, "AUTHENTICATE +")
    payload = base64.b64encode(b"alice\0alice\0s3cret").decode()
    assert proto.lines_to_send() == [f"AUTHENTICATE {payload}"]
    events = feed(proto, ":srv 900 alice alice!u@h alice :You are now logged in as alice",
                  ":srv 903 alice :SASL authentication successful")
    assert proto.lines_to_send() == ["CAP END"]
    assert of(events, ev.SaslResult) == [ev.SaslResult(True, "alice", "SASL authentication successful")]
    assert proto.account == "alice"


def test_failed_sasl_is_reported_and_registration_goes_on() -> None:
    proto = make(sasl_password="wrong")
    proto.lines_to_send()
    feed(proto, ":srv CAP * LS :sasl", ":srv CAP * ACK :sasl", "AUTHENTICATE +")
    proto.lines_to_send()
    events = feed(proto, ":srv 904 alice :SASL authentication failed")
    assert proto.lines_to_send() == ["CAP END"]
    assert of(events, ev.SaslResult)[0].success is False


def test_a_long_sasl_payload_is_sent_in_400_byte_pieces() -> None:
    password = "x" * 598  # with "a\0a\0" that is 602 bytes: 804 base64 characters
    proto = make("a", sasl_password=password)
    proto.lines_to_send()
    feed(proto, ":srv CAP * LS :sasl", ":srv CAP * ACK :sasl")
    assert proto.lines_to_send() == ["CAP REQ :sasl", "AUTHENTICATE PLAIN"]
    feed(proto, "AUTHENTICATE +")
    lines = proto.lines_to_send()
    pieces = [line.split(" ", 1)[1] for line in lines]
    assert [len(p) for p in pieces] == [400, 400, 4]
    assert base64.b64decode("".join(pieces)) == b"a\0a\0" + password.encode()


def test_a_payload_of_exactly_400_bytes_is_followed_by_a_plus() -> None:
    password = "y" * (300 - len("b\0b\0"))  # 300 bytes -> 400 base64 characters
    proto = make("b", sasl_password=password)
    proto.lines_to_send()
    feed(proto, ":srv CAP * LS :sasl", ":srv CAP * ACK :sasl")
    assert proto.lines_to_send() == ["CAP REQ :sasl", "AUTHENTICATE PLAIN"]
    feed(proto, "AUTHENTICATE +")
    lines = proto.lines_to_send()
    assert len(lines[0].split(" ", 1)[1]) == 400
    assert lines[1] == "AUTHENTICATE +"


@pytest.mark.parametrize("offer", ["sasl=EXTERNAL", "sasl"])
def test_sasl_is_not_requested_when_it_cannot_be_used(offer: str) -> None:
    # Without a password there is nothing to authenticate with; EXTERNAL alone is not ours.
    proto = make(sasl_password="pw" if offer == "sasl=EXTERNAL" else None)
    proto.lines_to_send()
    feed(proto, f":srv CAP * LS :{offer}")
    assert proto.lines_to_send() == ["CAP END"]


# -- conversation ----------------------------------------------------------------------


def test_server_time_is_the_time_of_a_message() -> None:
    proto = make()
    register(proto, "server-time")
    events = feed(proto, "@time=2019-02-03T04:05:06.789Z :bob!u@h PRIVMSG #c :hi")
    message = of(events, ev.MessageReceived)[0]
    assert message.time == datetime(2019, 2, 3, 4, 5, 6, 789000, tzinfo=UTC)


def test_without_server_time_our_clock_stamps_messages() -> None:
    proto = make()
    register(proto)
    message = of(feed(proto, ":bob!u@h PRIVMSG #c :hi"), ev.MessageReceived)[0]
    assert message.time == FIXED


def test_private_and_channel_messages_name_their_conversation() -> None:
    proto = make()
    register(proto)
    events = of(feed(proto, ":bob!u@h PRIVMSG alice :psst", ":bob!u@h PRIVMSG #c :all",
                     ":bob!u@h PRIVMSG @#c :ops only", ":srv NOTICE alice :server says"), ev.MessageReceived)
    assert [(e.conversation, e.private, e.from_server) for e in events] == [
        ("bob", True, False), ("#c", False, False), ("#c", False, False), ("srv", True, True)]


def test_ctcp_action_is_an_action_and_version_is_answered() -> None:
    proto = make()
    register(proto)
    events = feed(proto, ":bob!u@h PRIVMSG #c :\x01ACTION waves\x01", ":bob!u@h PRIVMSG alice :\x01VERSION\x01")
    assert [(e.kind, e.text) for e in of(events, ev.MessageReceived)] == [("action", "waves")]
    assert proto.lines_to_send() == ["NOTICE bob :\x01VERSION hubbub chat\x01"]
    feed(proto, ":bob!u@h PRIVMSG alice :\x01PING 42\x01", ":bob!u@h PRIVMSG alice :\x01FINGER\x01")
    assert proto.lines_to_send() == ["NOTICE bob :\x01PING 42\x01"]  # FINGER: no answer


def test_our_own_answer_to_a_ctcp_echoed_back_is_no_message_someone_elses_is() -> None:
    """With echo-message the server sends our automatic NOTICE back: shown, it opened a
    conversation with whoever asked, as if we had written to them."""
    proto = make()
    register(proto, "echo-message")
    feed(proto, ":webby!u@h PRIVMSG alice :\x01TIME\x01")
    (answer,) = proto.lines_to_send()
    assert answer.startswith("NOTICE webby :\x01TIME ")
    echoed = feed(proto, f":alice!u@h {answer}", ":bob!u@h NOTICE alice :\x01VERSION irssi 1.4\x01")
    assert [(e.source, e.kind, e.text) for e in of(echoed, ev.MessageReceived)] == [
        ("bob", "notice", "VERSION irssi 1.4")]


def test_without_echo_message_our_messages_are_reported_locally() -> None:
    proto = make()
    register(proto)
    proto.privmsg("#c", "hello")
    assert proto.lines_to_send() == ["PRIVMSG #c :hello"]
    (own,) = of(proto.events_received(), ev.MessageReceived)
    assert (own.own, own.conversation, own.text) == (True, "#c", "hello")


def test_with_echo_message_the_server_echo_is_the_only_report() -> None:
    proto = make()
    register(proto, "echo-message")
    proto.privmsg("bob", "hello")
    assert of(proto.events_received(), ev.MessageReceived) == []
    (echo,) = of(feed(proto, ":alice!u@h PRIVMSG bob :hello"), ev.MessageReceived)
    assert (echo.own, echo.conversation) == (True, "bob")


def test_a_long_message_is_split_into_lines_the_server_relays_whole() -> None:
    proto = make()
    register(proto)
    text = " ".join(f"wörd{i}" for i in range(300))
    proto.privmsg("#channel", text)
    lines = paced(proto)
    assert len(lines) > 1
    assert proto.own_prefix == "alice!u@h"  # learnt from the welcome; the server relays with it
    relayed = [f":alice!u@h {line}\r\n".encode() for line in lines]
    assert all(len(line) <= 512 for line in relayed)
    assert " ".join(line.split(" :", 1)[1] for line in lines) == text


def test_pasted_lines_become_separate_messages() -> None:
    proto = make()
    register(proto)
    proto.privmsg("#c", "one\ntwo\r\nthree")
    assert paced(proto) == ["PRIVMSG #c :one", "PRIVMSG #c :two", "PRIVMSG #c :three"]


def test_several_lines_go_one_at_a_time_each_once_the_server_has_read_the_last() -> None:
    proto = make()
    register(proto)
    proto.privmsg("#c", "alone")
    assert proto.lines_to_send() == ["PRIVMSG #c :alone"]  # at once, no PING
    proto.privmsg("#c", "\n".join(f"l{i}" for i in range(1, 10)))
    assert proto.lines_to_send() == ["PRIVMSG #c :l1", "PRIVMSG #c :l2", "PRIVMSG #c :l3", "PRIVMSG #c :l4",
                                     "PING hubbub-pace-1"]  # fmt: skip
    proto.privmsg("#c", "said meanwhile")
    feed(proto, ":srv PONG srv :something-else")
    assert proto.lines_to_send() == []  # waits its turn behind the paste
    feed(proto, ":srv PONG srv :hubbub-pace-1")
    assert proto.lines_to_send() == ["PRIVMSG #c :l5", "PRIVMSG #c :l6", "PRIVMSG #c :l7", "PRIVMSG #c :l8",
                                     "PING hubbub-pace-2"]  # fmt: skip
    feed(proto, ":srv PONG srv hubbub-pace-2")
    assert proto.lines_to_send() == ["PRIVMSG #c :l9", "PRIVMSG #c :said meanwhile"]


def test_a_reconnection_forgets_what_was_waiting_to_be_paced() -> None:
    proto = make()
    register(proto)
    proto.privmsg("#c", "\n".join(f"l{i}" for i in range(1, 10)))
    proto.lines_to_send()
    proto.connection_made()
    register(proto)
    feed(proto, ":srv PONG srv :hubbub-pace-1")  # a PONG of the old connection: nothing to send
    assert proto.lines_to_send() == []


# -- membership -----------------------------------------------------------------------


def test_names_modes_nicks_and_quits_keep_the_member_list() -> None:
    proto = make()
    register(proto, "multi-prefix userhost-in-names")
    events = feed(proto, ":alice!u@h JOIN #c", ":srv 353 alice = #c :@+alice!u@h +bob!b@h carol!c@h",
                  ":srv 366 alice #c :End of NAMES")
    members = of(events, ev.MembersChanged)[-1].members
    assert [(m.nick, m.modes, m.prefix) for m in members] == [("alice", "ov", "@"), ("bob", "v", "+"),
                                                               ("carol", "", "")]
    feed(proto, ":alice!u@h MODE #c +o-v carol bob", ":bob!b@h NICK robert")
    assert [(m.nick, m.modes) for m in proto.members("#c")] == [("alice", "ov"), ("carol", "o"), ("robert", "")]
    events = feed(proto, ":robert!b@h QUIT :bye")
    assert of(events, ev.UserQuit) == [ev.UserQuit("robert", "bye", ("#c",), FIXED)]
    assert [m.nick for m in proto.members("#c")] == ["alice", "carol"]


def test_our_part_forgets_the_channel_and_does_not_rejoin_it() -> None:
    proto = make()
    register(proto)
    feed(proto, ":alice!u@h JOIN #c")
    events = feed(proto, ":alice!u@h PART #c :later")
    assert of(events, ev.Parted)[0].own
    assert proto.channel("#c") is None
    assert proto.desired == {}


def test_rfc1459_casemapping_folds_brackets() -> None:
    proto = make("al[ice]")
    feed(proto, ":srv CAP * LS :", ":srv 001 al[ice] :hi",
         ":srv 005 al[ice] CASEMAPPING=rfc1459 :are supported", ":srv 376 al[ice] :end")
    assert proto.is_me("AL{ICE}")


def test_away_notify_marks_members_away() -> None:
    proto = make()
    register(proto, "away-notify")
    feed(proto, ":alice!u@h JOIN #c", ":srv 353 alice = #c :alice bob", ":srv 366 alice #c :end")
    events = feed(proto, ":bob!u@h AWAY :lunch")
    assert of(events, ev.AwayChanged) == [ev.AwayChanged("bob", "lunch", False)]
    assert [m.away for m in proto.members("#c")] == [False, True]


def test_extended_join_reports_account_and_realname() -> None:
    proto = make()
    register(proto, "extended-join")
    feed(proto, ":alice!u@h JOIN #c * :Alice")
    (joined,) = of(feed(proto, ":bob!u@h JOIN #c bobacct :Bob B"), ev.Joined)
    assert (joined.account, joined.realname) == ("bobacct", "Bob B")


def test_cap_new_and_del_follow_the_servers_offer() -> None:
    proto = make()
    register(proto, "cap-notify")
    feed(proto, ":srv CAP alice NEW :away-notify")
    assert proto.lines_to_send() == ["CAP REQ :away-notify"]
    feed(proto, ":srv CAP alice ACK :away-notify")
    events = feed(proto, ":srv CAP alice DEL :away-notify")
    assert "away-notify" not in proto.caps
    assert of(events, ev.CapsChanged)[0].removed == {"away-notify"}


# -- batches: chathistory and labeled-response -------------------------------------------


def test_joining_requests_history_and_a_chathistory_batch_is_history_not_live() -> None:
    proto = make()
    register(proto, "batch server-time message-tags draft/chathistory")
    feed(proto, ":srv 005 alice CHATHISTORY=20 :are supported")
    feed(proto, ":alice!u@h JOIN #c")
    assert proto.lines_to_send() == ["CHATHISTORY LATEST #c * 20"]
    events = feed(
        proto,
        ":srv BATCH +h1 chathistory #c",
        "@batch=h1;time=2024-01-01T10:00:00.000Z;msgid=m1 :bob!u@h PRIVMSG #c :earlier",
        "@batch=h1;time=2024-01-01T10:01:00.000Z;msgid=m2 :alice!u@h PRIVMSG #c :\x01ACTION waved\x01",
        ":srv BATCH -h1",
    )
    assert of(events, ev.MessageReceived) == []
    (history,) = of(events, ev.History)
    assert history.target == "#c"
    assert [(m.source, m.kind, m.text, m.msgid, m.own) for m in history.messages] == [
        ("bob", "privmsg", "earlier", "m1", False), ("alice", "action", "waved", "m2", True)]
    assert history.messages[0].time == datetime(2024, 1, 1, 10, 0, tzinfo=UTC)


def test_scroll_back_asks_for_history_before_the_oldest_message_by_msgid_or_time() -> None:
    proto = make()
    register(proto, "batch server-time message-tags draft/chathistory")
    feed(proto, ":srv 005 alice CHATHISTORY=20 :are supported")
    assert proto.request_history_before("#c", msgid="m1", limit=50)
    when = datetime(2024, 1, 1, 10, 0, 5, 250000, tzinfo=UTC)
    assert proto.request_history_before("#c", time=when)
    assert proto.lines_to_send() == ["CHATHISTORY BEFORE #c msgid=m1 20",
                                     "CHATHISTORY BEFORE #c timestamp=2024-01-01T10:00:05.250Z 20"]
    assert not proto.request_history_before("#c")  # nothing to count back from


def test_chathistory_targets_is_asked_between_two_times_and_its_batch_is_the_conversations() -> None:
    proto = make()
    register(proto, "batch server-time message-tags draft/chathistory")
    since = datetime(2024, 1, 1, 10, 0, 0, 1000, tzinfo=UTC)
    assert proto.request_targets(since, datetime(2024, 1, 8, tzinfo=UTC), 20)
    assert proto.lines_to_send() == [
        "CHATHISTORY TARGETS timestamp=2024-01-08T00:00:00.000Z timestamp=2024-01-01T10:00:00.001Z 20"]
    events = feed(
        proto,
        ":srv BATCH +t1 draft/chathistory-targets",
        "@batch=t1 :srv CHATHISTORY TARGETS bob 2024-01-02T09:00:00.000Z",
        "@batch=t1 :srv CHATHISTORY TARGETS #c timestamp=2024-01-01T11:00:00.000Z",
        "@batch=t1 :srv CHATHISTORY TARGETS carol not-a-time",
        ":srv BATCH -t1",
    )
    assert of(events, ev.Unhandled) == []
    (found,) = of(events, ev.HistoryTargets)
    assert found.targets == (("bob", datetime(2024, 1, 2, 9, tzinfo=UTC)), ("#c", datetime(2024, 1, 1, 11, tzinfo=UTC)))
    assert not make().request_targets(since, since)  # not registered with history: not asked


def test_a_message_keeps_its_whole_source_for_ignore_masks() -> None:
    proto = make()
    register(proto)
    (message,) = of(feed(proto, ":bob!~b@example.org PRIVMSG alice :hi"), ev.MessageReceived)
    assert message.prefix == "bob!~b@example.org"


def test_history_is_not_requested_when_the_server_cannot_give_it() -> None:
    proto = make()
    register(proto, "server-time")
    feed(proto, ":alice!u@h JOIN #c")
    assert proto.lines_to_send() == []
    assert proto.request_history("#c") is False
    assert proto.request_history_before("#c", msgid="m1") is False


def test_a_labeled_response_batch_is_reported_and_its_lines_handled() -> None:
    proto = make()
    register(proto, "batch labeled-response")
    label = proto.send_labeled(Message("WHOIS", ["bob"]))
    assert proto.lines_to_send() == [f"@label={label} WHOIS bob"]
    events = feed(
        proto,
        f"@label={label} :srv BATCH +b1 labeled-response",
        "@batch=b1 :srv 311 alice bob u h * :Bob",
        "@batch=b1 :srv 318 alice bob :End of WHOIS",
        ":srv BATCH -b1",
    )
    (response,) = of(events, ev.LabeledResponse)
    assert response.label == label and [m.command for m in response.messages] == ["311", "318"]
    assert [r.code for r in of(events, ev.Reply)] == ["311", "318"]


def test_a_single_labeled_reply_and_an_ack_are_reported() -> None:
    proto = make()
    register(proto, "batch labeled-response")
    events = feed(proto, "@label=x1 :srv 305 alice :You are no longer away", "@label=x2 :srv ACK")
    assert [(r.label, len(r.messages)) for r in of(events, ev.LabeledResponse)] == [("x1", 1), ("x2", 0)]


def test_batched_netsplit_lines_are_handled_as_they_close() -> None:
    proto = make()
    register(proto, "batch")
    feed(proto, ":alice!u@h JOIN #c", ":srv 353 alice = #c :alice bob", ":srv 366 alice #c :end")
    events = feed(proto, ":srv BATCH +n netsplit a.net b.net", "@batch=n :bob!u@h QUIT :a.net b.net")
    assert of(events, ev.UserQuit) == []
    events = feed(proto, ":srv BATCH -n")
    assert [q.nick for q in of(events, ev.UserQuit)] == ["bob"]


def test_standard_replies_are_reported() -> None:
    proto = make()
    register(proto)
    (fail,) = feed(proto, ":srv FAIL CHATHISTORY INVALID_TARGET #x :No such channel")
    assert fail == ev.StandardReply("FAIL", "CHATHISTORY", "INVALID_TARGET", ("#x",), "No such channel")


def test_a_raw_line_cannot_smuggle_a_second_command() -> None:
    proto = make()
    register(proto)
    with pytest.raises(ValueError):
        proto.send("PRIVMSG #c :hi\r\nQUIT :gotcha")
    assert proto.lines_to_send() == []


# -- replies and reactions ------------------------------------------------------------


def test_a_long_reply_carries_its_tag_on_the_first_message_alone() -> None:
    """The rest continues it: each piece tagged would quote the same message again."""
    proto = make()
    register(proto, "message-tags echo-message")
    assert proto.reply("#c", "m1", "yes\nand also this")
    assert paced(proto) == ["@+draft/reply=m1 PRIVMSG #c :yes", "PRIVMSG #c :and also this"]


def test_a_reaction_waits_its_turn_behind_a_paste() -> None:
    proto = make()
    register(proto, "message-tags echo-message")
    proto.privmsg("#c", "\n".join(f"l{i}" for i in range(1, 6)))
    assert proto.react("#c", "m1", "🎉")
    assert paced(proto)[-2:] == ["PRIVMSG #c :l5", "@+draft/react=🎉;+draft/reply=m1 TAGMSG #c"]


def test_without_echo_message_our_reply_and_reaction_are_reported_at_once() -> None:
    proto = make()
    register(proto, "message-tags")
    proto.reply("#c", "m1", "I do")
    proto.react("#c", "m1", "👍", on=False)
    assert paced(proto) == ["@+draft/reply=m1 PRIVMSG #c :I do", "@+draft/unreact=👍;+draft/reply=m1 TAGMSG #c"]
    said, reacted = proto.events_received()
    assert isinstance(said, ev.MessageReceived) and said.own and said.tags == {"+draft/reply": "m1"}
    assert reacted == ev.Reacted("alice", "#c", "👍", "m1", False, True, FIXED)


def test_replies_and_reactions_need_message_tags() -> None:
    proto = make()
    register(proto, "echo-message")
    assert not proto.reply("#c", "m1", "I do") and not proto.react("#c", "m1", "👍")
    assert proto.lines_to_send() == [] and proto.events_received() == []


def test_a_message_that_cannot_be_sent_leaves_nothing_half_said() -> None:
    proto = make()
    register(proto, "message-tags")
    with pytest.raises(ValueError):
        proto.privmsg("#c with space", "one\ntwo")
    with pytest.raises(ValueError):
        proto.react("#c", "m1", "x" * 33)
    assert proto.lines_to_send() == [] and proto.events_received() == []
    proto.privmsg("#c", "fine")  # nothing of the refused ones is left to go before it
    assert proto.lines_to_send() == ["PRIVMSG #c :fine"]


def test_reactions_in_history_are_told_with_their_msgids_among_the_messages() -> None:
    proto = make()
    register(proto, "batch message-tags draft/chathistory draft/event-playback server-time")
    events = feed(
        proto,
        ":srv BATCH +h chathistory #c",
        "@batch=h;msgid=m1;time=2024-05-01T09:00:00.000Z :bob!b@h PRIVMSG #c :who has the keys?",
        "@batch=h;msgid=r1;time=2024-05-01T09:01:00.000Z;+draft/react=👍;+draft/reply=m1 :carol!c@h TAGMSG #c",
        "@batch=h;msgid=t1;time=2024-05-01T09:02:00.000Z;+typing=active :carol!c@h TAGMSG #c",
        ":srv BATCH -h",
    )
    history = of(events, ev.History)[0]
    assert [type(e).__name__ for e in history.events] == ["MessageReceived", "Reacted"]
    reacted = history.events[1]
    assert isinstance(reacted, ev.Reacted)
    assert (reacted.source, reacted.conversation, reacted.emoji, reacted.to, reacted.on, reacted.msgid) == (
        "carol", "#c", "👍", "m1", True, "r1")
    assert reacted.time == datetime(2024, 5, 1, 9, 1, tzinfo=UTC)


def test_a_history_page_is_counted_as_the_server_counts_it_against_the_limit_asked() -> None:
    """A multiline message is one of a page, however many lines it has; a page answers
    the oldest request for its target, and a batch nobody asked for answers none."""
    proto = make()
    register(proto, "batch message-tags draft/chathistory server-time")
    assert proto.request_history("#c", limit=3)
    assert proto.request_history_before("#c", msgid="m1", limit=2)
    events = feed(
        proto,
        ":srv BATCH +h chathistory #c",
        "@batch=h;msgid=m2 :bob!b@h PRIVMSG #c :one",
        "@batch=h :srv BATCH +ml draft/multiline #c",
        "@batch=ml;msgid=m3 :bob!b@h PRIVMSG #c :two,",
        "@batch=ml :bob!b@h PRIVMSG #c :in two lines",
        ":srv BATCH -ml",
        ":srv BATCH -h",
        ":srv BATCH +g chathistory #C",
        "@batch=g;msgid=m0 :bob!b@h JOIN #c",
        "@batch=g;msgid=m1 :bob!b@h PART #c",
        ":srv BATCH -g",
        ":srv BATCH +u chathistory #c",
        "@batch=u;msgid=m4 :bob!b@h PRIVMSG #c :unasked",
        ":srv BATCH -u",
    )
    latest, before, unasked = of(events, ev.History)
    assert (latest.asked, latest.lines, latest.full) == (3, 2, False)
    assert (before.asked, before.lines, before.full, before.messages) == (2, 2, True, ())
    assert (unasked.asked, unasked.lines, unasked.full) == (None, 1, False)


# -- SILENCE ----------------------------------------------------------------------------


def register_with(proto: ClientProtocol, *tokens: str) -> list[str]:
    """Register without CAP on a server advertising `tokens`; what we send once READY."""
    proto.lines_to_send()
    feed(proto, ":srv CAP * LS :", ":srv 001 alice :Welcome alice!u@h",
         f":srv 005 alice CHANTYPES=# {' '.join(tokens)} :are supported", ":srv 376 alice :End of MOTD")
    return [line for line in proto.lines_to_send() if line != "CAP END"]


def test_silenced_masks_are_given_again_first_at_every_registration_as_many_as_the_server_keeps() -> None:
    proto = make(channels=["#a"])
    assert not proto.silence("bob")  # not registered: kept for the registration
    assert proto.lines_to_send()[-1].startswith("USER")
    sent = register_with(proto, "SILENCE=2")
    assert sent == ["SILENCE +bob", "PING hubbub-silence-1", "JOIN #a"]
    events = feed(proto, ":alice!u@h SILENCE +bob!*@*", ":srv PONG srv :hubbub-silence-1")
    assert of(events, ev.Silenced) == [ev.Silenced("bob!*@*", True, restored=True)]

    assert proto.silence("*@spam.example") and proto.silence("Carol")
    assert proto.lines_to_send() == ["SILENCE +*@spam.example", "SILENCE +Carol"]
    assert proto.unsilence("BOB") and proto.lines_to_send() == ["SILENCE -BOB"]
    events = feed(proto, ":alice!u@h SILENCE -bob!*@*")
    assert of(events, ev.Silenced) == [ev.Silenced("bob!*@*", False)]  # asked now: not restored

    proto.connection_lost()
    proto.connection_made()
    sent = register_with(proto, "SILENCE=2")
    assert sent == ["SILENCE +*@spam.example", "SILENCE +Carol", "PING hubbub-silence-2", "JOIN #a"]
    proto.connection_lost()
    proto.connection_made()
    assert register_with(proto) == ["JOIN #a"]  # a server without SILENCE
    assert not proto.silence("dave") and proto.lines_to_send() == []
    assert not proto.request_silence_list()


def test_a_silence_list_is_read_in_each_servers_form() -> None:
    """ircu's (hubbub's) `<client> <owner> <mask>`, UnrealIRCd's `<client> <mask>`,
    InspIRCd's `<client> <mask> <flags>`; the list ends at 272."""
    proto = make()
    register_with(proto, "SILENCE=32")
    assert proto.request_silence_list() and proto.lines_to_send() == ["SILENCE"]
    events = feed(proto, ":srv 271 alice alice :bob!*@*", ":srv 271 alice *!*@spam.example",
                  ":srv 271 alice a:mallory* *", ":srv 272 alice :End of Silence List")
    assert events == [ev.SilenceList(("bob!*@*", "*!*@spam.example", "a:mallory*"))]
    assert feed(proto, ":srv 272 alice :End of Silence List") == [ev.SilenceList(())]


def test_a_silence_mask_that_is_no_mask_is_refused_before_anything_is_sent() -> None:
    proto = make()
    register_with(proto, "SILENCE=32")
    for bad in ("", "+bob", "-bob", "bob carol"):
        with pytest.raises(ValueError):
            proto.silence(bad)
    assert proto.lines_to_send() == [] and proto.silences == {}
