"""The chat window's model, fed with events: buffers, markers, members, history."""

from __future__ import annotations

from datetime import UTC, datetime

from hubbub.client import events as ev
from hubbub.client.state import BufferKind, ChatState, describe_reply

T = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def message(source: str, target: str, text: str, *, own: bool = False, kind: ev.MessageKind = "privmsg",
            msgid: str | None = None) -> ev.MessageReceived:
    private = not target.startswith("#")
    conversation = target if not private else (target if own else source)
    return ev.MessageReceived(source, target, text, kind, conversation, own, private, False, T, msgid)


def connected(nick: str = "alice") -> ChatState:
    state = ChatState("localhost", clock=lambda: T)
    state.apply(ev.Registered(nick, "irc.test", "testnet", frozenset()))
    return state


def test_registering_names_the_server_buffer_after_the_network() -> None:
    state = connected()
    assert state.server.name == "testnet"
    assert state.status == "connected" and state.nick == "alice"


def test_joining_opens_and_shows_the_channel_buffer() -> None:
    state = connected()
    update = state.apply(ev.Joined("#lobby", "alice", True, T))
    assert state.current.name == "#lobby" and state.current.kind is BufferKind.CHANNEL
    assert update.selected and state.current.joined


def test_messages_elsewhere_count_as_unread_and_mentions_ring_the_bell() -> None:
    state = connected()
    state.apply(ev.Joined("#a", "alice", True, T))
    state.apply(ev.Joined("#b", "alice", True, T))  # now showing #b
    quiet = state.apply(message("bob", "#a", "hello all"))
    loud = state.apply(message("bob", "#a", "Alice: are you there?"))
    buffer = state.find("#a")
    assert buffer is not None and buffer.unread == 2 and buffer.mentioned
    assert not quiet.bell and loud.bell
    state.select(buffer)
    assert buffer.unread == 0 and not buffer.mentioned


def test_a_nick_inside_a_word_is_not_a_mention() -> None:
    state = connected("al")
    state.apply(ev.Joined("#a", "al", True, T))
    assert not state.apply(message("bob", "#a", "totally normal")).bell
    assert state.apply(message("bob", "#a", "hey al!")).bell


def test_a_private_message_opens_a_query_buffer_and_rings() -> None:
    state = connected()
    update = state.apply(message("bob", "alice", "psst"))
    query = state.find("bob")
    assert query is not None and query.kind is BufferKind.QUERY
    assert query.unread == 1 and query.mentioned and update.bell and update.buffers
    assert state.current is state.server  # it does not steal the screen


def test_our_own_messages_are_never_unread() -> None:
    state = connected()
    state.apply(ev.Joined("#a", "alice", True, T))
    state.apply(ev.Joined("#b", "alice", True, T))
    state.apply(message("alice", "#a", "from another window", own=True))
    assert state.find("#a").unread == 0  # type: ignore[union-attr]


def test_joins_and_parts_are_shown_but_not_unread() -> None:
    state = connected()
    state.apply(ev.Joined("#a", "alice", True, T))
    state.select(state.server)
    state.apply(ev.Joined("#a", "bob", False, T))
    state.apply(ev.Parted("#a", "bob", False, "bye", T))
    buffer = state.find("#a")
    assert buffer is not None and buffer.unread == 0
    assert [line.kind for line in buffer.lines][-2:] == ["join", "part"]


def test_quits_and_nick_changes_show_where_the_person_was() -> None:
    state = connected()
    state.apply(ev.Joined("#a", "alice", True, T))
    state.apply(message("bob", "alice", "hi"))
    state.apply(ev.NickChanged("bob", "robert", False, ("#a",), T))
    assert state.find("robert") is not None and state.find("bob") is None  # the query follows the nick
    state.apply(ev.UserQuit("robert", "gone", ("#a",), T))
    assert state.find("#a").lines[-1].text == "robert quit (gone)"  # type: ignore[union-attr]
    assert state.find("robert").lines[-1].kind == "quit"  # type: ignore[union-attr]


def test_members_are_sorted_by_rank_then_name() -> None:
    state = connected()
    state.apply(ev.Joined("#a", "alice", True, T))
    members = (ev.Member("zed", "o", "@", 0), ev.Member("bob", "", "", 2), ev.Member("Amy", "", "", 2))
    state.apply(ev.MembersChanged("#a", members))
    assert [m.nick for m in state.find("#a").members] == ["zed", "Amy", "bob"]  # type: ignore[union-attr]


def test_disconnection_is_said_in_every_joined_buffer_and_members_are_cleared() -> None:
    state = connected()
    state.apply(ev.Joined("#a", "alice", True, T))
    state.apply(ev.MembersChanged("#a", (ev.Member("alice", "", "", 2),)))
    state.apply(ev.Disconnected("connection reset", 2.0))
    buffer = state.find("#a")
    assert buffer is not None and not buffer.joined and buffer.members == ()
    assert "Reconnecting in 2s" in buffer.lines[-1].text
    assert state.status == "disconnected"


def test_disconnection_is_said_in_private_conversations_too() -> None:
    state = connected()
    state.apply(message("bob", "alice", "hi"))
    query = state.find("bob")
    assert query is not None
    state.apply(ev.Disconnected("connection reset", 2.0))
    assert query.lines[-1].kind == "error" and "Disconnected" in query.lines[-1].text


def test_history_goes_before_live_lines_without_duplicates() -> None:
    state = connected()
    state.apply(ev.Joined("#a", "alice", True, T))
    state.apply(message("bob", "#a", "live", msgid="m3"))
    old = tuple(message("bob", "#a", f"old {i}", msgid=f"m{i}") for i in (1, 2, 3))
    update = state.apply(ev.History("#a", old))
    buffer = state.find("#a")
    assert buffer is not None and buffer in update.rewritten
    texts = [line.text for line in buffer.lines if line.kind == "message"]
    assert texts == ["old 1", "old 2", "live"]
    assert buffer.unread == 0


def test_a_missed_line_goes_in_time_order_among_what_came_since_and_leaves_earlier_lines_be() -> None:
    """Lines seen before stay in the order they were shown, whatever clock stamped them
    (an own line stamped by a slow client clock, before the line it answers); a line
    missed while away goes among those at or after its own time, before the rejoin."""
    from dataclasses import replace
    from datetime import timedelta

    state = connected()
    state.apply(ev.Joined("#a", "alice", True, T))
    at = lambda seconds: T + timedelta(seconds=seconds)  # noqa: E731
    state.apply(replace(message("bob", "#a", "ready?", msgid="q"), time=at(10)))
    state.apply(replace(message("alice", "#a", "yes", own=True, msgid="y"), time=at(9)))  # our clock, 2 s slow
    state.apply(replace(message("bob", "#a", "go", msgid="g"), time=at(30)))
    state.apply(ev.Joined("#a", "alice", True, at(60)))  # the rejoin after an outage
    update = state.apply(ev.History("#a", (replace(message("bob", "#a", "missed", msgid="m"), time=at(45)),)))
    buffer = state.find("#a")
    assert buffer is not None and buffer in update.rewritten
    said = [line.text for line in buffer.lines]
    assert said[-5:] == ["ready?", "yes", "go", "missed", "You joined #a"], said


def test_nickservs_warning_follows_to_a_channel_opened_at_the_start_until_one_logs_in() -> None:
    for logged_in in (False, True):
        state = connected()
        state.apply(message("NickServ", "alice", "This nickname is registered.", kind="notice"))
        if logged_in:
            state.apply(ev.Reply("900", ("alice!*@*", "alice", "You are now logged in as alice"), T))
        state.apply(ev.Joined("#a", "alice", True, T))
        channel = state.find("#a")
        assert channel is not None and state.current is channel
        warned = [line.text for line in channel.lines if "-NickServ-" in line.text]
        assert warned == ([] if logged_in else ["-NickServ- This nickname is registered."]), logged_in


def test_a_channel_the_start_joins_does_not_take_the_screen_from_a_buffer_the_person_chose() -> None:
    state = connected()
    state.apply(ev.Joined("#a", "alice", True, T))  # the start's first channel: shown
    assert state.current.name == "#a"
    state.view_chosen = True  # a /query typed meanwhile, as the UI marks it
    state.select(state.open("bob"))
    state.apply(ev.Joined("#b", "alice", True, T))  # the start's next one, or a forced join
    assert state.current.name == "bob"
    state.joins_asked.add("#c")  # /join #c
    state.apply(ev.Joined("#C", "alice", True, T))
    assert state.current.name == "#C" and state.joins_asked == set()


def test_replies_go_to_the_buffer_they_name_or_the_one_on_screen() -> None:
    state = connected()
    state.apply(ev.Joined("#a", "alice", True, T))
    state.apply(ev.Reply("482", ("#a", "You're not channel operator"), T))
    state.select(state.server)
    state.apply(ev.Reply("401", ("nobody", "No such nick/channel"), T))
    assert state.find("#a").lines[-1].text == "#a: You're not channel operator"  # type: ignore[union-attr]
    assert state.server.lines[-1].text == "nobody: No such nick/channel"
    assert state.server.lines[-1].kind == "error"


def test_whois_replies_read_as_sentences() -> None:
    assert describe_reply(ev.Reply("311", ("bob", "~b", "host", "*", "Bob B"), T)) == "bob is ~b@host (Bob B)"
    assert describe_reply(ev.Reply("319", ("bob", "@#a #b"), T)) == "bob is in @#a #b"
    assert describe_reply(ev.Reply("317", ("bob", "3725", "0", "seconds idle"), T)).startswith(
        "bob has been idle 1h 2m 5s")
    assert describe_reply(ev.Reply("318", ("bob", "End of /WHOIS list"), T)) is None


def test_closing_a_buffer_shows_the_previous_one() -> None:
    state = connected()
    state.apply(ev.Joined("#a", "alice", True, T))
    state.apply(ev.Joined("#b", "alice", True, T))
    state.close(state.current)
    assert state.current.name == "#a" and state.find("#b") is None
    state.close(state.server)
    assert state.server in state.buffers


def test_buffer_keys_cycle() -> None:
    state = connected()
    state.apply(ev.Joined("#a", "alice", True, T))
    state.select_next(1)
    assert state.current is state.server
    state.select_next(-1)
    assert state.current.name == "#a"
    assert state.select_index(7) is None


def test_ignored_nicks_and_masks_are_not_shown() -> None:
    state = connected()
    state.apply(ev.Joined("#a", "alice", True, T))
    assert state.ignore("bob") and not state.ignore("BOB")
    assert state.ignore("*!*@spam.example")
    hidden = state.apply(message("bob", "#a", "buy now"))
    masked = state.apply(ev.MessageReceived("eve", "#a", "spam", "privmsg", "#a", False, False, False, T,
                                            prefix="eve!e@spam.example"))
    private = state.apply(message("bob", "alice", "psst"))
    shown = state.apply(message("carol", "#a", "hello"))
    assert not hidden.lines and not masked.lines and not private.lines and shown.lines
    assert state.find("bob") is None  # no conversation opened for an ignored nick
    assert state.unignore("Bob") and not state.unignore("bob")
    assert state.apply(message("bob", "#a", "back")).lines
    assert state.ignores == ["*!*@spam.example"]


def test_highlight_words_count_as_mentions() -> None:
    state = connected()
    state.apply(ev.Joined("#a", "alice", True, T))
    state.apply(ev.Joined("#b", "alice", True, T))
    assert state.add_highlight("deploy") and not state.add_highlight("Deploy")
    update = state.apply(message("bob", "#a", "the Deploy is done"))
    assert update.bell and update.lines[0][1].mention
    assert not state.apply(message("bob", "#a", "redeployment")).bell  # a word, not a piece of one
    assert state.apply(message("bob", "#a", "alice?")).bell  # the nick still counts
    assert state.remove_highlight("DEPLOY") and not state.remove_highlight("deploy")
    assert not state.apply(message("bob", "#a", "deploy again")).bell


def test_the_account_logged_in_to_counts_as_a_mention_under_another_nick() -> None:
    """On a second device as `alice_`, "alice: ..." is still for us; logged out, or on a
    new connection before logging in, it is not."""
    state = connected("alice_")
    state.apply(ev.Joined("#a", "alice_", True, T))
    state.apply(ev.Joined("#b", "alice_", True, T))
    assert not state.apply(message("bob", "#a", "alice: lunch?")).bell
    state.apply(ev.Reply("900", ("alice_!~a@h", "alice", "You are now logged in as alice"), T))
    assert state.apply(message("bob", "#a", "alice: lunch?")).bell
    assert state.apply(message("bob", "#a", "alice_: you too")).bell  # the nick still counts
    state.apply(ev.Reply("901", ("alice_!~a@h", "You are now logged out"), T))
    assert not state.apply(message("bob", "#a", "alice: gone?")).bell
    state.apply(ev.Reply("900", ("alice_!~a@h", "alice", "You are now logged in as alice"), T))
    state.apply(ev.Connected("localhost", 6667, False))
    assert not state.apply(message("bob", "#a", "alice: new connection")).bell


def test_a_highlight_word_in_a_script_without_spaces_is_found_inside_a_run_of_text() -> None:
    state = connected()
    state.apply(ev.Joined("#a", "alice", True, T))
    assert state.add_highlight("日本")
    assert state.apply(message("bob", "#a", "日本に行く")).bell  # Japanese has no spaces to stand alone between
    assert not state.apply(message("bob", "#a", "redeploy 日曜")).bell


def test_mentions_are_found_in_formatted_text() -> None:
    state = connected()
    state.apply(ev.Joined("#a", "alice", True, T))
    assert state.apply(message("bob", "#a", "\x02alice\x02: look")).bell


def test_a_list_answer_is_collected_not_printed() -> None:
    state = connected()
    state.start_list()
    updates = [state.apply(ev.Reply(code, params, T)) for code, params in (
        ("321", ("Channel", "Users Name")), ("322", ("#a", "3", "\x02first\x02 channel")),
        ("322", ("#b", "12", "")), ("323", ("End of /LIST",)))]
    assert not any(u.lines for u in updates)
    assert updates[-1].channel_list and not state.listing
    assert [(c.name, c.users, c.topic) for c in state.channels_listed] == [("#a", 3, "first channel"), ("#b", 12, "")]
    later = state.apply(ev.Reply("322", ("#c", "1", "x"), T))  # not asked for: shown as a line
    assert later.lines


def test_scroll_back_history_goes_before_and_an_empty_answer_ends_it() -> None:
    state = connected()
    state.apply(ev.Joined("#a", "alice", True, T))
    state.apply(message("bob", "#a", "now", msgid="m3"))
    buffer = state.find("#a")
    assert buffer is not None
    buffer.history_pending = True
    older = (message("bob", "#a", "one", msgid="m1"), message("carol", "#a", "two", msgid="m2"))
    update = state.apply(ev.History("#a", older))
    assert buffer in update.rewritten and not buffer.history_pending and not buffer.history_done
    assert [line.text for line in buffer.lines] == ["one", "two", "You joined #a", "now"]
    buffer.history_pending = True
    state.apply(ev.History("#a", ()))
    assert buffer.history_done and not buffer.history_pending


def test_a_scroll_back_page_of_ignored_peoples_talk_alone_asks_for_the_one_before_it() -> None:
    """Nothing of it is shown, yet a full page is no end of the history; the next page is
    asked for before its oldest message (the oldest line shown would bring it again)."""
    state = connected()
    state.ignore("mallory")
    state.apply(ev.Joined("#a", "alice", True, T))
    state.apply(message("bob", "#a", "now", msgid="m9"))
    buffer = state.find("#a")
    assert buffer is not None
    earlier = datetime(2024, 5, 1, 11, 0, tzinfo=UTC)
    spam = tuple(ev.MessageReceived("mallory", "#a", f"spam {i}", "privmsg", "#a", False, False, False, earlier,
                                    f"s{i}", prefix="mallory!m@h") for i in range(3))  # fmt: skip
    buffer.history_pending = True
    update = state.apply(ev.History("#a", spam, spam, asked=3, lines=3))
    assert update.older_wanted == {buffer} and not buffer.history_done
    assert [line.text for line in buffer.lines] == ["You joined #a", "now"]
    assert buffer.scroll_back_from() == ("s0", earlier)
    buffer.history_pending = True
    shorter = state.apply(ev.History("#a", spam[:1], spam[:1], asked=3, lines=1))  # all that is left
    assert not shorter.older_wanted and buffer.history_done


def test_search_finds_lines_by_text_or_nick_in_any_case() -> None:
    state = connected()
    state.apply(ev.Joined("#a", "alice", True, T))
    for who, text in (("bob", "The \x02Quick\x02 fox"), ("carol", "slow"), ("quickly", "hi")):
        state.apply(message(who, "#a", text))
    buffer = state.find("#a")
    assert buffer is not None
    assert [buffer.lines[i].text for i in buffer.search("quick")] == ["The \x02Quick\x02 fox", "hi"]
    assert buffer.search("") == []


def test_a_reaction_is_a_line_naming_the_message_and_counts_as_nothing_unread() -> None:
    state = connected()
    state.apply(ev.Joined("#a", "alice", True, T))
    state.apply(ev.Joined("#b", "alice", True, T))  # now showing #b
    state.apply(message("carol", "#a", "lunch at noon? the usual place, with everyone", msgid="m1"))
    buffer = state.find("#a")
    assert buffer is not None and buffer.unread == 1
    state.apply(ev.Reacted("bob", "#a", "👍", "m1", True, False, T))
    state.apply(ev.Reacted("alice", "#a", "🎉", "m1", True, True, T))
    state.apply(ev.Reacted("bob", "#a", "👍", "m1", False, False, T))
    state.apply(ev.Reacted("bob", "#a", "😮", "gone", True, False, T))
    state.apply(ev.Reacted("bob", "#nowhere", "😮", "m1", True, False, T))  # opens no buffer
    texts = [line.text for line in buffer.lines][-4:]
    assert texts == [
        'bob reacted 👍 to carol: "lunch at noon? the usual place, with ev…"',
        'You reacted 🎉 to carol: "lunch at noon? the usual place, with ev…"',
        'bob took back 👍 from carol: "lunch at noon? the usual place, with ev…"',
        "bob reacted 😮 to an earlier message",
    ]
    assert buffer.unread == 1 and state.find("#nowhere") is None


def test_a_reply_shows_what_it_answers() -> None:
    state = connected()
    state.apply(ev.Joined("#a", "alice", True, T))
    state.apply(message("carol", "#a", "who has the keys?", msgid="m1"))
    reply = ev.MessageReceived("bob", "#a", "I do", "privmsg", "#a", False, False, False, T, "m2",
                               {"+draft/reply": "m1"})  # fmt: skip
    state.apply(reply)
    lost = ev.MessageReceived("bob", "#a", "and that", "privmsg", "#a", False, False, False, T, "m3",
                              {"+draft/reply": "m0"})  # fmt: skip
    state.apply(lost)
    buffer = state.find("#a")
    assert buffer is not None
    assert [line.text for line in buffer.lines][-2:] == ['(↪ carol: "who has the keys?") I do',
                                                         "(↪ an earlier message) and that"]  # fmt: skip


def test_a_reply_in_fetched_history_quotes_what_it_answers() -> None:
    """From the same page (the question and its answer came back together), or from the
    lines kept (the question arrived live, its answer in a later page)."""
    state = connected()
    state.apply(ev.Joined("#a", "alice", True, T))
    question = message("carol", "#a", "who has the keys?", msgid="q1")
    answer = ev.MessageReceived("bob", "#a", "I do", "privmsg", "#a", False, False, False, T, "a1",
                                {"+draft/reply": "q1"})  # fmt: skip
    state.apply(ev.History("#a", (question, answer)))
    buffer = state.find("#a")
    assert buffer is not None
    texts = [line.text for line in buffer.lines]  # older than what the buffer held: first
    assert texts[:2] == ["who has the keys?", '(↪ carol: "who has the keys?") I do'], texts


def test_reactions_in_fetched_history_are_lines_in_time_order_and_not_unread() -> None:
    """As live ones read: quoting the message from the same page or the lines kept; an
    ignored person's left out; a page of reactions alone shown too (no end of history)."""
    state = connected()
    state.apply(ev.Joined("#a", "alice", True, T))
    state.apply(ev.Joined("#b", "alice", True, T))  # now showing #b
    state.ignore("mallory")
    earlier, later = datetime(2024, 5, 1, 11, 0, tzinfo=UTC), datetime(2024, 5, 1, 11, 1, tzinfo=UTC)
    question = ev.MessageReceived("bob", "#a", "who has the keys?", "privmsg", "#a", False, False, False, earlier, "m1")
    page = (question,
            ev.Reacted("carol", "#a", "👍", "m1", True, False, later, "carol!c@h", "r1"),
            ev.Reacted("mallory", "#a", "👎", "m1", True, False, later, "mallory!m@h", "r2"),
            ev.Reacted("alice", "#a", "🎉", "m0", True, True, later, "alice!a@h", "r3"))  # fmt: skip
    state.apply(ev.History("#a", (question,), page))
    buffer = state.find("#a")
    assert buffer is not None
    assert [(line.kind, line.text) for line in buffer.lines][:3] == [
        ("message", "who has the keys?"),
        ("info", 'carol reacted 👍 to bob: "who has the keys?"'),
        ("info", "You reacted 🎉 to an earlier message"),
    ]
    # one made while we were away (after the lines we saw) comes last, as if it arrived now
    missed = ev.Reacted("dave", "#a", "😮", "m1", True, False, datetime(2024, 5, 1, 12, 5, tzinfo=UTC), "", "r4")
    state.apply(ev.History("#a", (question,), (question, missed)))
    assert buffer.lines[-1].text == 'dave reacted 😮 to bob: "who has the keys?"'
    assert buffer.unread == 0
    # scroll-back brings a page with no message in it, only a withdrawal: shown, not the end
    gone = ev.Reacted("carol", "#a", "👍", "m1", False, False, earlier, "carol!c@h", "r0")
    state.apply(ev.History("#a", (), (gone,)))
    assert buffer.lines[0].text == 'carol took back 👍 from bob: "who has the keys?"'
    assert not buffer.history_done


def test_a_reaction_seen_live_is_not_shown_again_by_history() -> None:
    state = connected()
    state.apply(ev.Joined("#a", "alice", True, T))
    state.apply(message("bob", "#a", "lunch?", msgid="m1"))
    reacted = ev.Reacted("carol", "#a", "👍", "m1", True, False, T, "carol!c@h", "r1")
    state.apply(reacted)
    state.apply(ev.History("#a", (), (reacted,)))  # fetched again after a reconnection
    buffer = state.find("#a")
    assert buffer is not None
    assert [line.text for line in buffer.lines].count('carol reacted 👍 to bob: "lunch?"') == 1
