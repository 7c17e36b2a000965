"""The terminal client driven by Textual's pilot, against a real server."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from rich.text import Text
from textual.geometry import Region
from textual.pilot import Pilot

from hubbub.app import Runtime
from hubbub.client import ClientConfig
from hubbub.client import events as ev
from hubbub.client.state import MAX_LINES, Buffer, Line
from hubbub.client.tui.app import ChatApp
from hubbub.client.tui.widgets import (
    BufferList,
    ChatInput,
    MemberList,
    StatusBar,
    TopicBar,
)
from tests.client.conftest import MakeClient, config_for
from tests.client.ircv3_peer import IRCv3Peer

SIZE = (110, 32)


def chat_app(runtime: Runtime, nick: str = "alice", **overrides: object) -> ChatApp:
    overrides.setdefault("channels", ("#lobby",))
    return ChatApp(config_for(runtime, nick, **overrides))


async def until(pilot: Pilot, predicate: Callable[[], object], what: str, timeout: float = 10.0) -> None:
    """Let the app run until `predicate()` holds; fail after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


async def type_line(pilot: Pilot, text: str, enter: bool = True) -> None:
    """Type key by key, as a person does (slow under the pilot: keep it for short lines)."""
    await pilot.press(*text)
    if enter:
        await pilot.press("enter")


async def submit(pilot: Pilot, text: str) -> None:
    """Put a line in the input and press Enter."""
    box = pilot.app.query_one(ChatInput)
    box.value = text
    box.cursor_position = len(text)
    await pilot.press("enter")


def joined(app: ChatApp, channel: str, members: int = 1) -> Callable[[], bool]:
    def check() -> bool:
        buffer = app.state.find(channel)
        return buffer is not None and buffer.joined and len(buffer.members) >= members
    return check


def shown_text(app: ChatApp, buffer: Buffer | None = None) -> str:
    """What the message view of a buffer shows, as plain text."""
    view = app.views[buffer or app.state.current]
    return "\n".join(strip.text for strip in view.lines)


def static_text(widget: BufferList | MemberList | StatusBar | TopicBar) -> str:
    content = widget.content
    return content.plain if isinstance(content, Text) else str(content)


def input_box(app: ChatApp) -> ChatInput:
    return app.query_one(ChatInput)


async def test_two_people_talk_through_the_window(server: Runtime, make_client: MakeClient) -> None:
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        bob, bob_events = await make_client(server, "bob", channels=("#lobby",))
        await until(pilot, joined(app, "#lobby", 2), "bob in the member list")
        assert static_text(app.query_one(MemberList)).split() == ["@alice", "bob"]

        await type_line(pilot, "hi bob, welcome")
        heard = await bob_events.wait_for(ev.MessageReceived, lambda e: e.source == "alice")
        assert (heard.target, heard.text) == ("#lobby", "hi bob, welcome")

        bob.privmsg("#lobby", "thanks alice!")
        bob.action("#lobby", "waves")
        await until(pilot, lambda: "bob waves" in shown_text(app), "bob's action on screen")
        screen = shown_text(app)
        assert "alice hi bob, welcome" in screen
        assert "bob thanks alice!" in screen
        assert "bob joined #lobby" in screen
        assert "#lobby" in static_text(app.query_one(TopicBar))
        assert "alice" in static_text(app.query_one(StatusBar))


async def test_incoming_traffic_while_typing_leaves_the_input_intact(server: Runtime,
                                                                     make_client: MakeClient) -> None:
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        bob, _ = await make_client(server, "bob", channels=("#lobby",))
        await until(pilot, joined(app, "#lobby", 2), "bob joined")
        await type_line(pilot, "half a sentence", enter=False)
        await pilot.press("left", "left")
        box = input_box(app)
        for i in range(30):
            bob.privmsg("#lobby", f"chatter {i}")
        bob.privmsg("alice", "a private word too")
        await until(pilot, lambda: "chatter 29" in shown_text(app), "all the chatter")
        await until(pilot, lambda: app.state.find("bob") is not None, "bob's query buffer")
        assert (box.value, box.cursor_position) == ("half a sentence", len("half a sentence") - 2)
        assert app.focused is box
        await pilot.press("end")
        await type_line(pilot, ", finished")
        await until(pilot, lambda: "half a sentence, finished" in shown_text(app), "the finished line")
        assert box.value == ""


async def test_unread_and_mention_markers(server: Runtime, make_client: MakeClient) -> None:
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        bob, _ = await make_client(server, "bob", channels=("#lobby",))
        await until(pilot, joined(app, "#lobby", 2), "bob joined")
        await pilot.press("alt+1")
        assert app.state.current is app.state.server
        lobby = app.state.find("#lobby")
        assert lobby is not None

        bob.privmsg("#lobby", "just chatting")
        await until(pilot, lambda: lobby.unread == 1, "an unread message")
        assert not lobby.mentioned
        assert "#lobby 1" in static_text(app.query_one(BufferList))

        bob.privmsg("#lobby", "alice: look at this")
        await until(pilot, lambda: lobby.mentioned, "a mention")
        assert "#lobby 2!" in static_text(app.query_one(BufferList))

        bob.privmsg("alice", "private hello")
        await until(pilot, lambda: app.state.find("bob") is not None, "a query buffer")
        query = app.state.find("bob")
        assert query is not None and query.unread == 1 and query.mentioned
        assert "bob 1!" in static_text(app.query_one(BufferList))

        await pilot.press("alt+2")
        assert app.state.current is lobby and lobby.unread == 0 and not lobby.mentioned
        await until(pilot, lambda: "look at this" in shown_text(app), "what was said while away")


async def test_buffers_switch_with_alt_numbers_and_ctrl_n_p(server: Runtime) -> None:
    app = chat_app(server, channels=("#one", "#two"))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: joined(app, "#one")() and joined(app, "#two")(), "both channels")
        names = [b.name for b in app.state.buffers]
        assert names == ["hubbub", "#one", "#two"]
        await pilot.press("alt+2")
        assert app.state.current.name == "#one"
        await pilot.press("ctrl+n")
        assert app.state.current.name == "#two"
        await pilot.press("ctrl+n")
        assert app.state.current is app.state.server
        await pilot.press("ctrl+p")
        assert app.state.current.name == "#two"
        assert app.views[app.state.current].display and not app.views[app.state.server].display
        await pilot.press("alt+9")  # no such buffer: nothing happens
        assert app.state.current.name == "#two"
        assert app.query_one("#members-pane").display  # a channel shows its members
        await pilot.press("alt+1")
        assert not app.query_one("#members-pane").display  # the server buffer has none
        await pilot.click(BufferList, offset=(4, 1))  # the second line: #one
        assert app.state.current.name == "#one"


async def test_a_long_buffer_name_takes_one_row_and_a_click_opens_the_buffer_on_it(server: Runtime) -> None:
    """A name wider than the list is cut with an ellipsis: wrapped onto a second row, it
    made every row below it open the buffer before, and a click on its second row the next."""
    app = chat_app(server, channels=("#averylongchannelname", "#after"))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: joined(app, "#averylongchannelname")() and joined(app, "#after")(), "both")
        assert [b.name for b in app.state.buffers] == ["hubbub", "#averylongchannelname", "#after"]
        shown = app.query_one(BufferList).render_lines(Region(0, 0, 18, 4))
        rows = [line.text.replace("▕", "").strip() for line in shown]  # without the border
        assert rows[1].startswith("2 #averylong") and rows[1].endswith("…"), rows
        assert rows[2] == "3 #after", rows
        await pilot.click(BufferList, offset=(4, 2))  # the third row: #after
        assert app.state.current.name == "#after"
        await pilot.click(BufferList, offset=(4, 1))
        assert app.state.current.name == "#averylongchannelname"


async def test_more_buffers_than_rows_scroll_with_the_one_shown_and_say_what_is_out_of_sight(
        server: Runtime, make_client: MakeClient) -> None:
    names = tuple(f"#room{i:02d}" for i in range(20))
    app = chat_app(server, channels=names)
    async with app.run_test(size=(60, 14)) as pilot:  # the list has 12 rows, for 21 buffers
        await until(pilot, lambda: all(joined(app, name)() for name in names), "all joined")
        bob, _ = await make_client(server, "bob", channels=("#room18",))
        await until(pilot, joined(app, "#room18", 2), "bob in #room18")
        await pilot.press("alt+2")  # #room00: the top of the list
        bob.privmsg("#room18", "alice: are you there?")
        await until(pilot, lambda: "more 1!" in static_text(app.query_one(BufferList)), "the news below, said")
        rows = static_text(app.query_one(BufferList)).splitlines()
        assert rows[1].strip().startswith("2 #room00") and rows[-1].strip().startswith("↓"), rows
        await pilot.click(BufferList, offset=(4, len(rows) - 1))  # the "more" row: to the mention
        assert app.state.current.name == "#room18"
        rows = static_text(app.query_one(BufferList)).splitlines()
        assert rows[0].strip().startswith("↑") and any(row.strip().startswith("20 #room18") for row in rows), rows
        await pilot.click(BufferList, offset=(4, 1))  # a row of the window: the buffer on it
        assert app.state.current.name == rows[1].split()[1]


async def test_a_long_buffer_names_unread_count_and_mention_stay_in_sight(
        server: Runtime, make_client: MakeClient) -> None:
    app = chat_app(server, channels=("#wide-characters-and-long-names",))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#wide-characters-and-long-names"), "joined")
        bob, _ = await make_client(server, "bob", channels=("#wide-characters-and-long-names",))
        await pilot.press("alt+1")
        bob.privmsg("#wide-characters-and-long-names", "alice: urgent question")
        await until(pilot, lambda: "1!" in static_text(app.query_one(BufferList)), "the mention")
        row = static_text(app.query_one(BufferList)).splitlines()[1]
        assert row.strip().startswith("2 #wide") and "… 1!" in row, row


async def test_page_up_in_a_full_buffer_says_only_the_newest_lines_are_kept(server: Runtime) -> None:
    """A page fetched into a buffer holding MAX_LINES would go out again at once: said,
    rather than fetched and thrown away without a word."""
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        lobby = app.state.current
        when = lobby.lines[-1].time
        lobby.lines.extend(Line(when, "message", f"line {i}", "bob") for i in range(MAX_LINES))
        lobby.history_done = False  # as on a server with more of it
        app._fetch_older(lobby, app.views[lobby])
        assert not lobby.history_pending
        await until(pilot, lambda: any(f"newest {MAX_LINES} lines" in str(n.message) for n in app._notifications),
                    "the note")


async def test_slash_commands(server: Runtime, make_client: MakeClient) -> None:
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        _, bob_events = await make_client(server, "bob", channels=("#lobby",))
        await until(pilot, joined(app, "#lobby", 2), "bob joined")

        await submit(pilot, "/join side")
        await until(pilot, lambda: app.state.current.name == "#side" and app.state.current.joined, "#side shown")

        await submit(pilot, "/topic Side talk")
        await until(pilot, lambda: app.state.current.topic == "Side talk", "the topic")
        assert "Side talk" in static_text(app.query_one(TopicBar))

        await submit(pilot, "/me stretches")
        await until(pilot, lambda: "alice stretches" in shown_text(app), "the action")

        await submit(pilot, "/msg bob a quiet word")
        heard = await bob_events.wait_for(ev.MessageReceived, lambda e: e.source == "alice")
        assert (heard.text, heard.private) == ("a quiet word", True)
        assert app.state.current.name == "#side"  # /msg does not switch

        await submit(pilot, "/query bob")
        assert app.state.current.name == "bob"
        await submit(pilot, "still there?")
        assert (await bob_events.wait_for(ev.MessageReceived, lambda e: e.source == "alice")).text == "still there?"

        await submit(pilot, "/whois bob")
        await until(pilot, lambda: "bob is ~bob@" in shown_text(app), "whois answer")

        await submit(pilot, "/away making tea")
        await until(pilot, lambda: app.state.away is not None, "away")
        assert "(away)" in static_text(app.query_one(StatusBar))
        await submit(pilot, "/away")
        await until(pilot, lambda: app.state.away is None, "back")

        await submit(pilot, "/nick alicia")
        await until(pilot, lambda: app.state.nick == "alicia", "the new nick")
        renamed = await bob_events.wait_for(ev.NickChanged)
        assert (renamed.old, renamed.new) == ("alice", "alicia")

        await submit(pilot, "/quote PRIVMSG bob :raw hello")
        assert (await bob_events.wait_for(ev.MessageReceived, lambda e: e.source == "alicia")).text == "raw hello"

        await submit(pilot, "/close")  # the query with bob
        assert app.state.find("bob") is None

        await pilot.press("alt+3")
        assert app.state.current.name == "#side"
        await submit(pilot, "/part")
        await until(pilot, lambda: not app.state.current.joined, "parted")
        await submit(pilot, "are you there?")
        assert "You are not in #side" in shown_text(app)
        await submit(pilot, "/close")
        assert app.state.find("#side") is None

        await submit(pilot, "/frobnicate")
        assert "Unknown command /frobnicate" in shown_text(app)
        await submit(pilot, "/help")
        assert "/join #channel [key]" in shown_text(app)
        await submit(pilot, "/help nick")
        assert "Change your nickname" in shown_text(app)
        await submit(pilot, "/msg bob")
        assert "Usage: /msg" in shown_text(app)


async def test_tab_completes_nicks_channels_and_commands(server: Runtime, make_client: MakeClient) -> None:
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        await make_client(server, "bobby", channels=("#lobby",))
        await make_client(server, "bonnie", channels=("#lobby",))
        await until(pilot, joined(app, "#lobby", 3), "everyone joined")
        box = input_box(app)

        await pilot.press("b", "o", "tab")
        assert box.value == "bobby: "
        await pilot.press("tab")
        assert box.value == "bonnie: "
        await pilot.press("tab")
        assert box.value == "bobby: "

        box.value, box.cursor_position = "hello bon", 9
        await pilot.press("tab")
        assert box.value == "hello bonnie "

        box.value, box.cursor_position = "/jo", 3
        await pilot.press("tab")
        assert box.value == "/join "
        await pilot.press("#", "l", "tab")
        assert box.value == "/join #lobby "
        assert app.focused is box  # Tab completes; it does not move the focus


async def test_up_and_down_bring_back_what_was_typed(server: Runtime) -> None:
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        box = input_box(app)
        await submit(pilot, "first")
        await submit(pilot, "second")
        await type_line(pilot, "dra", enter=False)
        await pilot.press("up")
        assert box.value == "second"
        await pilot.press("up")
        assert box.value == "first"
        await pilot.press("down", "down")
        assert box.value == "dra"


async def test_emoji_and_accents_go_through(server: Runtime, make_client: MakeClient) -> None:
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        _, bob_events = await make_client(server, "bob", channels=("#lobby",))
        await until(pilot, joined(app, "#lobby", 2), "bob joined")
        input_box(app).value = "héllo 👋 ça va"  # the pilot cannot type emoji
        await pilot.press("enter")
        heard = await bob_events.wait_for(ev.MessageReceived, lambda e: e.source == "alice")
        assert heard.text == "héllo 👋 ça va"


async def test_page_up_scrolls_back_and_new_lines_do_not_yank_the_view(server: Runtime,
                                                                        make_client: MakeClient) -> None:
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        bob, _ = await make_client(server, "bob", channels=("#lobby",))
        await until(pilot, joined(app, "#lobby", 2), "bob joined")
        for i in range(80):
            bob.privmsg("#lobby", f"line {i}")
        await until(pilot, lambda: "line 79" in shown_text(app), "all lines")
        view = app.views[app.state.current]
        await until(pilot, lambda: view.is_vertical_scroll_end, "the view at the bottom")
        await pilot.press("pageup")
        await until(pilot, lambda: not view.is_vertical_scroll_end, "scrolled back")
        scrolled_to = view.scroll_y
        bob.privmsg("#lobby", "something new")
        await until(pilot, lambda: "something new" in shown_text(app), "the new line")
        assert view.scroll_y == scrolled_to
        await pilot.press("pagedown", "pagedown", "pagedown")
        await until(pilot, lambda: view.is_vertical_scroll_end, "back at the bottom")


async def test_disconnection_is_shown_and_the_client_reconnects(make_server, make_client: MakeClient) -> None:  # type: ignore[no-untyped-def]
    runtime = await make_server()
    host, port = runtime.irc_address()
    app = chat_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        await runtime.stop()
        await until(pilot, lambda: app.state.status == "disconnected", "the disconnected status")
        status = app.query_one(StatusBar)
        assert "Not connected" in static_text(status) and status.has_class("-disconnected")
        assert "Disconnected" in shown_text(app)
        # the client rejoins #lobby by itself: the bar does not ask for a /join, after a
        # failed retry too (the channel was left already when it failed)
        await until(pilot, lambda: app.state._attempt >= 3, "two failed retries")
        assert static_text(app.query_one(TopicBar)) == (
            "#lobby  not joined while the connection is down: rejoined when it is back")
        await submit(pilot, "hello?")
        assert "Not connected" in shown_text(app)

        restarted = await make_server(f"listen.irc=['{host}:{port}']")
        await until(pilot, joined(app, "#lobby"), "rejoined #lobby")
        assert app.state.status == "connected" and not status.has_class("-disconnected")
        await until(pilot, lambda: "rejoined" not in static_text(app.query_one(TopicBar)), "the topic bar again")
        _, bob_events = await make_client(restarted, "bob", channels=("#lobby",))
        await until(pilot, joined(app, "#lobby", 2), "bob joined")
        await submit(pilot, "I'm back")
        assert (await bob_events.wait_for(ev.MessageReceived, lambda e: e.source == "alice")).text == "I'm back"


async def test_ctrl_c_says_how_to_leave(server: Runtime) -> None:
    """People press Ctrl+C to leave: with nothing selected to copy, it says how."""
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        await pilot.press("ctrl+c")
        await until(pilot, lambda: any("Ctrl+Q" in str(n.message) for n in app._notifications), "the hint")
        assert app.return_code is None  # still running


async def test_quit_leaves_with_a_message_and_closes_the_app(server: Runtime, make_client: MakeClient) -> None:
    app = chat_app(server)
    _, bob_events = await make_client(server, "bob", channels=("#lobby",))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby", 2), "alice and bob in #lobby")
        await submit(pilot, "/quit see you all")
        quit_ = await bob_events.wait_for(ev.UserQuit)
        assert quit_.nick == "alice" and "see you all" in quit_.reason
        await until(pilot, lambda: app.return_code == 0, "the app to exit")


async def test_history_appears_before_live_lines_where_the_server_keeps_it(ircv3_peer: IRCv3Peer) -> None:
    # hubbub does not offer chathistory yet: a scripted IRCv3 server stands in.
    port = await ircv3_peer.start()
    app = ChatApp(ClientConfig(host="127.0.0.1", port=port, nick="alice", channels=("#past",)))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: "carol second" in shown_text(app), "the history on screen")
        await submit(pilot, "and now")
        await until(pilot, lambda: "alice and now" in shown_text(app), "a live line")
        screen = shown_text(app)
        assert screen.index("bob first!") < screen.index("carol second") < screen.index("alice and now")
        assert app.state.current.unread == 0


async def test_library_warnings_show_in_the_server_buffer_not_over_the_screen(server: Runtime) -> None:
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        logging.getLogger("hubbub.client").warning("something odd")
        await until(pilot, lambda: any("Internal error: something odd" in line.text
                                       for line in app.state.server.lines), "the warning")
