"""A third audit of the terminal client as a person uses it every day (irssi, WeeChat and
HexChat habits), driven with Textual's pilot against a real hubbub server: away and back,
commands an IRC user types without thinking, reconnections, long lines, mentions,
completion and history, and other people's text that must never be interpreted.

Behaviour that is wrong today is written as it should be, under a strict xfail.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from rich.style import Style
from textual import events
from textual.pilot import Pilot

from hubbub.app import Runtime
from hubbub.client import events as ev
from hubbub.client.state import Buffer
from hubbub.client.tui.app import ChatApp
from hubbub.client.tui.widgets import BufferList, MemberList, StatusBar, TopicBar
from hubbub.irc.message import parse
from tests.client.conftest import MakeClient
from tests.client.test_tui import (
    SIZE,
    chat_app,
    input_box,
    joined,
    shown_text,
    static_text,
    submit,
    until,
)
from tests.client.test_tui_view import on_screen, view_of, visible_rows
from tests.helpers import connected

MakeServer = Callable[..., Awaitable[Runtime]]


def buffer(app: ChatApp, name: str) -> Buffer:
    found = app.state.find(name)
    assert found is not None, f"no buffer {name}"
    return found


def texts(found: Buffer) -> list[str]:
    return [line.text for line in found.lines]


def has_line(app: ChatApp, name: str, text: str) -> Callable[[], bool]:
    def check() -> bool:
        found = app.state.find(name)
        return found is not None and any(text in line.text for line in found.lines)
    return check


def status(app: ChatApp) -> str:
    return static_text(app.query_one(StatusBar))


async def round_trip(pilot: Pilot, app: ChatApp, nick: str = "alice") -> None:
    """Everything the server said before now has been shown: a /whois of ourselves comes back last."""
    before = sum(f"{nick} is ~" in t for b in app.state.buffers for t in texts(b))
    app.client.whois(nick)
    await until(pilot, lambda: sum(f"{nick} is ~" in t for b in app.state.buffers for t in texts(b)) > before,
                "the whois round trip")


# -- away and back ----------------------------------------------------------------------------


async def test_away_shows_in_the_status_bar_of_every_buffer_until_back(server: Runtime,
                                                                        make_client: MakeClient) -> None:
    app = chat_app(server, channels=("#lobby", "#side"))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: joined(app, "#lobby")() and joined(app, "#side")(), "both channels")
        bob, bob_events = await make_client(server, "bob", channels=("#lobby",))
        await until(pilot, joined(app, "#lobby", 2), "bob joined")
        await submit(pilot, "/away lunch, back at 2")
        await until(pilot, lambda: "(away)" in status(app), "away in the status bar")
        await until(pilot, lambda: on_screen(app, "marked as being away"), "the server's answer, where typed")
        for key in ("alt+1", "alt+3", "alt+2"):
            await pilot.press(key)
            assert "(away)" in status(app), (key, status(app))
        bob.whois("alice")
        heard = await bob_events.wait_for(ev.Reply, lambda e: e.code == "301")
        assert heard.params[-1] == "lunch, back at 2"
        await submit(pilot, "/away")
        await until(pilot, lambda: "(away)" not in status(app), "back")
        await until(pilot, lambda: on_screen(app, "no longer marked as being away"), "the server's answer")


async def test_back_comes_back_from_away(server: Runtime) -> None:
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        await submit(pilot, "/away brb")
        await until(pilot, lambda: "(away)" in status(app), "away")
        await submit(pilot, "/back")
        assert "Unknown command" not in shown_text(app)
        await until(pilot, lambda: "(away)" not in status(app), "back", timeout=3)


async def test_away_is_kept_across_a_reconnection(make_server: MakeServer, make_client: MakeClient) -> None:
    runtime = await make_server()
    host, port = runtime.irc_address()
    app = chat_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        await submit(pilot, "/away gone fishing")
        await until(pilot, lambda: "(away)" in status(app), "away")
        await runtime.stop()
        await until(pilot, lambda: app.state.status == "disconnected", "disconnected")
        restarted = await make_server(f"listen.irc=['{host}:{port}']")
        await until(pilot, joined(app, "#lobby"), "rejoined #lobby")
        bob, bob_events = await make_client(restarted, "bob")
        bob.whois("alice")
        end = await bob_events.wait_for(ev.Reply, lambda e: e.code in ("301", "318"))
        server_knows = end.code == "301" and end.params[-1] == "gone fishing"
        assert (server_knows, "(away)" in status(app)) == (True, True), status(app)


async def test_an_away_reply_is_shown_once_not_after_every_message(server: Runtime,
                                                                    make_client: MakeClient) -> None:
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        bob, bob_events = await make_client(server, "bob", channels=("#lobby",))
        await until(pilot, joined(app, "#lobby", 2), "bob joined")
        bob.set_away("out to lunch")
        await until(pilot, lambda: buffer(app, "#lobby").members[-1].away, "bob greyed as away")
        await submit(pilot, "/query bob are you there?")
        for text in ("hello?", "ping"):
            await submit(pilot, text)
        for text in ("are you there?", "hello?", "ping"):
            await bob_events.wait_for(ev.MessageReceived, lambda e, t=text: e.text == t)
        await round_trip(pilot, app)
        shown = [t for b in app.state.buffers for t in texts(b) if "bob is away" in t]
        assert shown == ["bob is away: out to lunch"], shown


# -- commands ------------------------------------------------------------------------------------


async def test_me_in_a_conversation_and_part_with_a_reason_from_the_channel(server: Runtime,
                                                                             make_client: MakeClient) -> None:
    app = chat_app(server, channels=("#lobby", "#side"))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: joined(app, "#lobby")() and joined(app, "#side")(), "both channels")
        bob, bob_events = await make_client(server, "bob", channels=("#side",))
        await until(pilot, joined(app, "#side", 2), "bob in #side")
        await submit(pilot, "/query bob")
        await submit(pilot, "/me waves from afar")
        heard = await bob_events.wait_for(ev.MessageReceived, lambda e: e.source == "alice")
        assert (heard.kind, heard.private, heard.text) == ("action", True, "waves from afar")
        await until(pilot, lambda: on_screen(app, "alice waves from afar"), "the action in the conversation")
        await pilot.press("alt+3")
        assert app.state.current.name == "#side"
        await submit(pilot, "/part off to bed, see you")
        parted = await bob_events.wait_for(ev.Parted, lambda e: e.nick == "alice")
        assert (parted.channel, parted.reason) == ("#side", "off to bed, see you")
        await until(pilot, lambda: on_screen(app, "You left #side (off to bed, see you)"), "the part shown")
        assert joined(app, "#lobby")()


async def test_msg_to_a_channel_one_is_not_in(server: Runtime, make_client: MakeClient) -> None:
    bob, bob_events = await make_client(server, "bob", channels=("#open", "#closed"))
    await bob_events.wait_for(ev.Joined, lambda e: e.own and e.channel == "#closed")
    bob.send("MODE #open -n")
    await bob_events.wait_for(ev.ModeChanged, lambda e: e.modes == "-n")
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        await submit(pilot, "/msg #open a word from outside")
        heard = await bob_events.wait_for(ev.MessageReceived, lambda e: e.source == "alice")
        assert (heard.target, heard.text) == ("#open", "a word from outside")
        await submit(pilot, "/msg #closed knock knock")  # +n: refused, and said where it was typed
        await until(pilot, lambda: on_screen(app, "#closed: Cannot send to channel"), "the refusal")
        assert app.state.current.name == "#lobby"  # /msg never switches
        assert app.state.find("#closed") is None
        assert has_line(app, "#open", "a word from outside")()
        assert not buffer(app, "#open").joined


async def test_join_several_keyed_channels_at_once(server: Runtime, make_client: MakeClient) -> None:
    bob, bob_events = await make_client(server, "bob", channels=("#a", "#b"))
    await bob_events.wait_for(ev.Joined, lambda e: e.own and e.channel == "#b")
    bob.send("MODE #a +k ka")
    bob.send("MODE #b +k kb")
    await bob_events.wait_for(ev.ModeChanged, lambda e: e.target == "#b" and e.modes == "+k")
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        await submit(pilot, "/join #a,#b ka,kb")
        await until(pilot, joined(app, "#a", 2), "in #a")
        await round_trip(pilot, app)
        refused = [t for b in app.state.buffers for t in texts(b) if "(+k)" in t]
        assert (refused, joined(app, "#b", 2)()) == ([], True)


IRC_HABITS = [
    ("/notice bob hello there", lambda e: isinstance(e, ev.MessageReceived) and e.kind == "notice"
     and e.text == "hello there"),
    ("/kick bob be nice", lambda e: isinstance(e, ev.Kicked) and e.own and e.reason == "be nice"),
    ("/invite bob #k", lambda e: isinstance(e, ev.Invited) and e.channel == "#k"),
    ("/mode +m", lambda e: isinstance(e, ev.ModeChanged) and e.target == "#k" and e.modes == "+m"),
]


@pytest.mark.parametrize(("typed", "bob_sees"), [
    pytest.param(typed, sees, id=typed.split()[0][1:]) for typed, sees in IRC_HABITS])
async def test_everyday_operator_and_notice_commands(server: Runtime, make_client: MakeClient, typed: str,
                                                     bob_sees: Callable[[ev.Event], bool]) -> None:
    app = chat_app(server, channels=("#k",))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#k"), "alice in #k, an operator")
        bob, bob_events = await make_client(server, "bob", channels=("#lobby",) if "invite" in typed else ("#k",))
        if "invite" not in typed:
            await until(pilot, joined(app, "#k", 2), "bob in #k")
        await submit(pilot, typed)
        assert "Unknown command" not in shown_text(app)
        await bob_events.wait_for(bob_sees, timeout=3)


async def test_typed_wrong_or_asked_about_the_commands_explain_themselves(server: Runtime) -> None:
    app = chat_app(server, channels=("#quiet",))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#quiet"), "alice in #quiet")
        cases = [
            ("/query", "With whom? Usage: /query nick [message]"),
            ("/msg", "To whom, and what? Usage: /msg"),
            ("/nick", "Which nickname (one word)? Usage: /nick newnick"),
            ("/help away", "/away [message]: Mark yourself away"),
            ("/help /leave", "/part [#channel] [reason]: Leave a channel"),
            ("/help topic", "/topic [new topic]: Show this channel"),
        ]
        for typed, answer in cases:
            await submit(pilot, typed)
            assert answer in shown_text(app), (typed, shown_text(app)[-400:])
        await submit(pilot, "/topic")
        await until(pilot, lambda: on_screen(app, "No topic is set for #quiet"), "no topic, said")
        await submit(pilot, "/part #elsewhere")
        await until(pilot, lambda: on_screen(app, "#elsewhere: No such channel"), "the refusal, where typed")
        assert joined(app, "#quiet")()
        assert app.return_code is None


# -- the server goes away and comes back -------------------------------------------------------


async def test_a_long_outage_is_said_once_and_nothing_is_shown_twice_after_it(make_server: MakeServer,
                                                                             make_client: MakeClient) -> None:
    runtime = await make_server()
    host, port = runtime.irc_address()
    bob, bob_events = await make_client(runtime, "bob", channels=("#k",), reconnect=False)
    await bob_events.wait_for(ev.Joined, lambda e: e.own)
    app = chat_app(runtime, channels=("#lobby", "#k"))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: joined(app, "#lobby")() and joined(app, "#k", 2)(), "alice in both")
        bob.join("#lobby")
        await until(pilot, joined(app, "#lobby", 2), "bob joined")
        bob.send("KICK #k alice :out")
        await until(pilot, lambda: not buffer(app, "#k").joined, "kicked from #k")
        await pilot.press("alt+2")
        bob.privmsg("#lobby", "before the outage")
        await submit(pilot, "mine, before")
        await until(pilot, has_line(app, "#lobby", "mine, before"), "both lines")
        attempts = app.client.subscribe()
        await runtime.stop()
        await until(pilot, lambda: app.state.status == "disconnected", "disconnected")
        for _ in range(2):
            await attempts.wait_for(ev.Disconnected, lambda e: not e.was_connected)
        await pilot.pause(0.05)
        said_then = texts(app.state.server)
        for _ in range(3):  # more attempts fail while the server is down
            await attempts.wait_for(ev.Disconnected, lambda e: not e.was_connected)
        await pilot.pause(0.05)
        assert texts(app.state.server) == said_then  # not a line per attempt: the status bar counts them
        lobby = buffer(app, "#lobby")
        assert sum(t.startswith("Disconnected") for t in texts(lobby)) == 1
        assert "Not connected" in status(app) or "Reconnecting" in status(app)
        restarted = await make_server(f"listen.irc=['{host}:{port}']")
        await until(pilot, joined(app, "#lobby"), "rejoined #lobby")
        assert app.state.status == "connected" and "Not connected" not in status(app)
        carol, _ = await make_client(restarted, "carol", channels=("#lobby",))
        await until(pilot, joined(app, "#lobby", 2), "carol joined")
        carol.privmsg("#lobby", "after the outage")
        await until(pilot, lambda: on_screen(app, "after the outage"), "carol's line")
        said = texts(lobby)
        for text in ("before the outage", "mine, before", "after the outage"):
            assert said.count(text) == 1, (text, said)
        assert said.count("You joined #lobby") == 2
        assert sum(t.startswith("Disconnected") for t in said) == 1
        await round_trip(pilot, app)
        assert not buffer(app, "#k").joined  # kicked before: not rejoined behind the person's back
        assert "(#k)" in static_text(app.query_one(BufferList))
        rows = visible_rows(app)
        assert sum("before the outage" in row for row in rows) == 1
        assert sum("after the outage" in row for row in rows) == 1


# -- long lines --------------------------------------------------------------------------------


CYRILLIC = "Привет, как дела? Всё хорошо 👋🏽 "


async def test_long_actions_and_private_messages_are_split_whole_within_the_line_limit(
        server: Runtime) -> None:
    channel = "#" + "длинный-канал"  # a long name leaves less room for the text
    bob = await connected(server, "bob", channel)
    app = chat_app(server, nick="alice_has_a_long_nick", channels=(channel,))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, channel, 2), "alice in the channel with bob")
        action = CYRILLIC * 40 + "😀" * 300 + " конец"  # about 4,500 bytes, a long run without spaces
        input_box(app).value = "/me " + action  # the pilot cannot type these
        await pilot.press("enter")
        private = "ё" * 700 + "🎉" * 150 + " the end"
        await submit(pilot, "/msg bob " + private)
        relayed: list[str] = []
        got: dict[str, list[str]] = {"action": [], "private": []}
        while "".join(got["private"]).replace(" ", "") != private.replace(" ", ""):
            line = await bob.read_line()
            assert line is not None
            message = parse(line)
            if message.command != "PRIVMSG":
                continue
            relayed.append(line)
            text = message.params[1]
            if message.params[0] == channel:
                assert text.startswith("\x01ACTION ") and text.endswith("\x01"), text[:40]
                got["action"].append(text[len("\x01ACTION "):-1])
            else:
                got["private"].append(text)
        assert all(len(line.encode()) + 2 <= 512 for line in relayed), max(len(x.encode()) for x in relayed)
        assert not any("\ufffd" in line for line in relayed)  # nothing cut inside a character
        assert len(got["action"]) > 5 and len(got["private"]) > 2
        assert "".join(got["action"]).replace(" ", "") == action.replace(" ", "")
        pieces = got["action"]
        await until(pilot, lambda: [line.text for line in buffer(app, channel).lines if line.kind == "action"]
                    == pieces, "every piece of the action, in order, in alice's window")
        await until(pilot, has_line(app, "bob", "the end"), "the private pieces in the conversation")
        assert [line.text for line in buffer(app, "bob").lines if line.own] == got["private"]
    await bob.close()


# -- unread counts and mentions -----------------------------------------------------------------


async def test_a_short_nick_inside_other_words_is_not_a_mention(server: Runtime, make_client: MakeClient) -> None:
    app = chat_app(server, nick="al")
    async with app.run_test(size=SIZE) as pilot:
        rung: list[int] = []
        app.bell = lambda: rung.append(1)  # type: ignore[method-assign]
        await until(pilot, joined(app, "#lobby"), "al in #lobby")
        bob, _ = await make_client(server, "bob", channels=("#lobby",))
        await until(pilot, joined(app, "#lobby", 2), "bob joined")
        await pilot.press("alt+1")
        lobby = buffer(app, "#lobby")
        for text in ("also, totally", "Calendar is full", "a sal-al thing", "http://example.com/al_"):
            bob.privmsg("#lobby", text)
        await until(pilot, lambda: lobby.unread == 4, "four unread lines")
        assert not lobby.mentioned and rung == []
        listed = static_text(app.query_one(BufferList))
        assert "#lobby 4" in listed and "4!" not in listed
        bob.privmsg("#lobby", "hey AL, look")
        bob.privmsg("#lobby", "al: over here")
        bob.notice("#lobby", "(al) a notice")
        await until(pilot, lambda: lobby.unread == 7, "seven unread lines")
        assert lobby.mentioned and len(rung) == 3
        assert "#lobby 7!" in static_text(app.query_one(BufferList))
        flagged = [line.text for line in lobby.lines if line.mention]
        assert flagged == ["hey AL, look", "al: over here", "(al) a notice"], flagged
        bob.send("PART #lobby :bye al")  # comings and goings are not unread
        await until(pilot, lambda: len(lobby.members) == 1, "bob gone")
        assert lobby.unread == 7
        await pilot.press("alt+2")
        assert (lobby.unread, lobby.mentioned) == (0, False)
        listed = static_text(app.query_one(BufferList)).splitlines()
        assert listed[1].strip() == "2 #lobby", listed


# -- completion and input history -------------------------------------------------------------------


async def test_tab_offers_the_latest_speaker_first_and_follows_renames(server: Runtime,
                                                                       make_client: MakeClient) -> None:
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        bobby, _ = await make_client(server, "bobby", channels=("#lobby",))
        bonnie, _ = await make_client(server, "bonnie", channels=("#lobby",))
        await until(pilot, joined(app, "#lobby", 3), "everyone joined")
        bobby.privmsg("#lobby", "first")
        bonnie.privmsg("#lobby", "alice: a question for you")
        await until(pilot, has_line(app, "#lobby", "a question"), "bonnie's question")
        box = input_box(app)
        await pilot.press("b", "o", "tab")
        assert box.value == "bonnie: "  # who just spoke comes first
        await pilot.press("tab")
        assert box.value == "bobby: "
        box.value, box.cursor_position = "", 0
        bobby.change_nick("Robert")
        await until(pilot, lambda: "Robert" in static_text(app.query_one(MemberList)), "the rename")
        await pilot.press("r", "o", "tab")
        assert box.value == "Robert: "
        box.value, box.cursor_position = "thanks bo", len("thanks bo")
        await pilot.press("tab")
        assert box.value == "thanks bonnie "  # bobby is no more
        await pilot.press("tab")
        assert box.value == "thanks bonnie "
        box.value, box.cursor_position = "/lea", 4
        await pilot.press("tab")
        assert box.value == "/leave "
        bonnie.privmsg("alice", "psst")
        await until(pilot, lambda: app.state.find("bonnie") is not None, "the conversation")
        await submit(pilot, "/query bonnie")
        await pilot.press("b", "tab")
        assert box.value == "bonnie: "  # in a conversation, the other person


async def test_up_brings_back_commands_and_whole_pastes_from_any_buffer(server: Runtime,
                                                                        make_client: MakeClient) -> None:
    app = chat_app(server, channels=("#lobby", "#side"))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: joined(app, "#lobby")() and joined(app, "#side")(), "both channels")
        _, bob_events = await make_client(server, "bob", channels=("#lobby", "#side"))
        await until(pilot, joined(app, "#side", 2), "bob joined")
        box = input_box(app)
        box.post_message(events.Paste("one\ntwo\nthree"))
        await pilot.pause()
        await pilot.press("enter")
        heard = [(await bob_events.wait_for(ev.MessageReceived, lambda e: e.source == "alice")).text
                 for _ in range(3)]
        assert heard == ["one", "two", "three"]
        await submit(pilot, "/topic side things")
        await until(pilot, lambda: "side things" in static_text(app.query_one(TopicBar)), "the topic")
        await pilot.press("alt+2")  # another buffer: the same history
        await pilot.press("up")
        assert box.value == "/topic side things"
        await pilot.press("up")
        assert box.value == "one\u23cetwo\u23cethree"
        await pilot.press("up")  # nothing older: stays
        assert box.value == "one\u23cetwo\u23cethree"
        await pilot.press("enter")  # said again, whole, here
        again = [(await bob_events.wait_for(ev.MessageReceived, lambda e: e.source == "alice")) for _ in range(3)]
        assert [(e.target, e.text) for e in again] == [("#lobby", "one"), ("#lobby", "two"), ("#lobby", "three")]
        assert box.value == ""
        await pilot.press("up")
        assert box.value == "one\u23cetwo\u23cethree"  # a repeat is kept once
        await pilot.press("up")
        assert box.value == "/topic side things"
        await pilot.press("down", "down")
        assert box.value == ""


# -- other people's text is text ---------------------------------------------------------------------


MARKUP = "[bold]not bold[/bold] [link=https://evil.example]click[/link] [@click=app.quit]quit[/] [red]x[/]"


def drawn_styles(app: ChatApp, word: str) -> list[Style]:
    view = view_of(app)
    found = []
    for y in range(view.scrollable_content_region.height):
        for segment in view.render_line(y):
            if word in segment.text and segment.style is not None:
                found.append(segment.style)
    return found


async def test_textual_and_rich_markup_from_others_is_shown_as_typed(server: Runtime,
                                                                    make_client: MakeClient) -> None:
    bob, bob_events = await make_client(server, "bob", channels=("#m",))
    await bob_events.wait_for(ev.Joined, lambda e: e.own)
    bob.set_topic("#m", MARKUP)
    await bob_events.wait_for(ev.TopicChanged)
    app = chat_app(server, channels=("#m",))
    async with app.run_test(size=(200, 32)) as pilot:
        await until(pilot, joined(app, "#m", 2), "alice in #m")
        eve, _ = await make_client(server, "[b]eve", channels=("#m",))
        await until(pilot, joined(app, "#m", 3), "[b]eve joined")
        bob.privmsg("#m", MARKUP)
        bob.action("#m", MARKUP)
        bob.notice("#m", MARKUP)
        bob.send(f"PART #m :{MARKUP}")
        await until(pilot, lambda: on_screen(app, "bob left"), "everything bob did")
        rows = "\n".join(visible_rows(app))
        assert rows.count(MARKUP) >= 4, rows  # the message, the action, the notice, the reason
        assert MARKUP in static_text(app.query_one(TopicBar))
        assert "[b]eve" in static_text(app.query_one(MemberList))
        for word in ("not bold", "click", "quit"):
            for style in drawn_styles(app, word):
                assert not style.link and not style.meta, (word, style)
        assert not any(style.bold for style in drawn_styles(app, "not bold"))
        eve.privmsg("alice", "[i]hi[/i] from eve")
        await until(pilot, lambda: app.state.find("[b]eve") is not None, "eve's conversation")
        assert "[b]eve" in static_text(app.query_one(BufferList))
        await submit(pilot, "/query [b]eve")
        await until(pilot, lambda: on_screen(app, "[i]hi[/i] from eve"), "eve's line as typed")
        assert "[b]eve" in static_text(app.query_one(TopicBar)) and "talking with [b]eve" in status(app)
        assert app.return_code is None


async def test_a_return_symbol_in_a_typed_line_is_sent_as_it_is(server: Runtime, make_client: MakeClient) -> None:
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        _, bob_events = await make_client(server, "bob", channels=("#lobby",))
        await until(pilot, joined(app, "#lobby", 2), "bob joined")
        input_box(app).value = "the key marked \u23ce sends the line"
        await pilot.press("enter")
        heard = await bob_events.wait_for(ev.MessageReceived, lambda e: e.source == "alice")
        assert heard.text == "the key marked \u23ce sends the line"


# -- what others do ------------------------------------------------------------------------------


async def test_a_rename_that_only_changes_case_keeps_one_conversation(server: Runtime,
                                                                      make_client: MakeClient) -> None:
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        bob, _ = await make_client(server, "bob", channels=("#lobby",))
        await until(pilot, joined(app, "#lobby", 2), "bob joined")
        bob.privmsg("alice", "hi")
        await until(pilot, lambda: app.state.find("bob") is not None, "the conversation")
        count = len(app.state.buffers)
        bob.change_nick("BOB")
        await until(pilot, lambda: buffer(app, "BOB").name == "BOB", "the conversation renamed")
        for name in ("#lobby", "BOB"):
            await until(pilot, has_line(app, name, "bob is now known as BOB"), f"the rename in {name}")
        bob.privmsg("alice", "louder now")
        await until(pilot, has_line(app, "BOB", "louder now"), "the next line in the same conversation")
        assert len(app.state.buffers) == count
        assert "BOB" in static_text(app.query_one(BufferList)).split()
        await pilot.press("alt+3")
        assert "Private conversation with BOB" in static_text(app.query_one(TopicBar))
