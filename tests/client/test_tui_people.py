"""The terminal client as a person uses it every day, against a real hubbub server.

Each test drives `ChatApp` with Textual's pilot (keys, typed lines, resizes) and reads
what the window shows: the message views as drawn, the buffer list, the bars, the
member list.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from rich.style import Style
from rich.text import Text
from textual.pilot import Pilot

from hubbub.app import Runtime
from hubbub.client import Client, Subscription
from hubbub.client import events as ev
from hubbub.client.state import Buffer
from hubbub.client.tui.app import ChatApp
from hubbub.client.tui.widgets import BufferList, MemberList, StatusBar, TopicBar
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
from tests.client.test_tui_daily import page_up_until
from tests.client.test_tui_view import on_screen, view_of, visible_rows
from tests.helpers import connected

MakeServer = Callable[..., Awaitable[Runtime]]
CONTROL = "\x02\x03\x04\x07\x0f\x11\x16\x1d\x1e\x1f"


# -- helpers -----------------------------------------------------------------------------------


def texts(buffer: Buffer | None) -> list[str]:
    """The text of every line a buffer holds (what its view shows once it is on screen)."""
    assert buffer is not None
    return [line.text for line in buffer.lines]


def buffer(app: ChatApp, name: str) -> Buffer:
    found = app.state.find(name)
    assert found is not None, f"no buffer {name}"
    return found


def has_line(app: ChatApp, name: str, text: str) -> Callable[[], bool]:
    def check() -> bool:
        found = app.state.find(name)
        return found is not None and any(text in line.text for line in found.lines)
    return check


def anywhere(app: ChatApp, text: str) -> Callable[[], bool]:
    return lambda: any(text in line.text for b in app.state.buffers for line in b.lines)


def segment_style(app: ChatApp, word: str) -> Style | None:
    """The style of the first drawn piece of the current view that contains `word`."""
    view = view_of(app)
    for y in range(view.scrollable_content_region.height):
        for segment in view.render_line(y):
            if word in segment.text:
                return segment.style
    return None


def row_styles(app: ChatApp, word: str) -> list[Style]:
    """The styles of every drawn piece of the first row of the current view containing `word`."""
    view = view_of(app)
    for y in range(view.scrollable_content_region.height):
        strip = view.render_line(y)
        if word in strip.text:
            return [segment.style for segment in strip if segment.style is not None and segment.text.strip()]
    raise AssertionError(f"{word!r} is not on screen")


def member_styles(app: ChatApp, nick: str) -> list[Style]:
    content = app.query_one(MemberList).content
    assert isinstance(content, Text)
    at = content.plain.index(nick)
    return [span.style for span in content.spans
            if span.start <= at < span.end and isinstance(span.style, Style)]


def is_mention(styles: list[Style]) -> bool:
    """Drawn in the mention highlight (widgets.MENTION: black on #e5c07b)."""
    return any(style.bgcolor is not None and style.bgcolor.triplet is not None
               and style.bgcolor.triplet.hex == "#e5c07b" for style in styles)


def is_grey(styles: list[Style]) -> bool:
    return any(style.color is not None and style.color.name == "grey50" for style in styles)


def bell_counter(app: ChatApp) -> list[int]:
    rung: list[int] = []
    app.bell = lambda: rung.append(1)  # type: ignore[method-assign]
    return rung


# -- connecting and nicks ----------------------------------------------------------------------


async def test_a_taken_nick_is_explained_and_can_be_taken_back_once_free(server: Runtime,
                                                                         make_client: MakeClient) -> None:
    holder = await connected(server, "alice", "#lobby")
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby", 2), "alice_ in #lobby with the holder")
        assert app.state.nick == "alice_"
        assert any("alice" in t and "already in use" in t for t in texts(app.state.server))
        holder.send("QUIT :bye")
        await until(pilot, lambda: len(app.state.current.members) == 1, "the holder gone")
        await submit(pilot, "/nick alice")
        await until(pilot, lambda: app.state.nick == "alice", "the nick taken back")
        assert static_text(app.query_one(StatusBar)).startswith("alice ·")
        assert "You are now known as alice" in shown_text(app)
        bob, _ = await make_client(server, "bob", channels=("#lobby",))
        await until(pilot, joined(app, "#lobby", 2), "bob joined")
        await pilot.press("alt+1")
        bob.privmsg("#lobby", "alice: welcome back")
        await until(pilot, lambda: buffer(app, "#lobby").mentioned, "a mention of the new nick")
    await holder.close()


# -- buffers -------------------------------------------------------------------------------------


async def test_alt_0_shows_the_tenth_buffer_and_messages_land_in_their_own_buffer(
        server: Runtime, make_client: MakeClient) -> None:
    channels = tuple(f"#c{i}" for i in range(1, 10))
    app = chat_app(server, channels=channels)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: all(joined(app, c)() for c in channels), "nine channels")
        bob, _ = await make_client(server, "bob", channels=("#c1", "#c9"))
        await until(pilot, lambda: joined(app, "#c1", 2)() and joined(app, "#c9", 2)(), "bob in #c1 and #c9")
        await pilot.press("alt+0")
        assert app.state.current.name == "#c9"
        bob.privmsg("#c1", "only for c1")
        bob.privmsg("#c9", "only for c9")
        await until(pilot, lambda: on_screen(app, "only for c9"), "the #c9 line on screen")
        await until(pilot, lambda: buffer(app, "#c1").unread == 1, "#c1 unread")
        assert "only for c1" not in shown_text(app)
        assert "#c1 1" in static_text(app.query_one(BufferList))
        await pilot.press("alt+2")
        assert app.state.current.name == "#c1"
        await until(pilot, lambda: on_screen(app, "only for c1"), "the #c1 line once shown")
        assert "only for c9" not in shown_text(app)
        assert buffer(app, "#c1").unread == 0


async def test_a_mention_in_an_action_or_a_private_message_rings_the_bell_but_chatter_does_not(
        server: Runtime, make_client: MakeClient) -> None:
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        rung = bell_counter(app)
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        bob, _ = await make_client(server, "bob", channels=("#lobby",))
        await until(pilot, joined(app, "#lobby", 2), "bob joined")
        await submit(pilot, "my own words")
        bob.privmsg("#lobby", "just chatter")
        await until(pilot, lambda: on_screen(app, "just chatter"), "the chatter")
        assert rung == []
        await pilot.press("alt+1")
        bob.action("#lobby", "pokes alice")
        await until(pilot, lambda: buffer(app, "#lobby").mentioned, "the action as a mention")
        assert len(rung) == 1
        assert "#lobby 1!" in static_text(app.query_one(BufferList))
        bob.privmsg("alice", "a word in private")
        await until(pilot, lambda: app.state.find("bob") is not None, "the conversation")
        await until(pilot, lambda: len(rung) == 2, "the bell for the private message")
        await pilot.press("alt+2")
        assert is_mention(row_styles(app, "pokes alice"))  # highlighted


# -- commands ----------------------------------------------------------------------------------


async def test_join_with_a_key_several_at_once_leave_with_a_reason_and_double_slash(
        server: Runtime, make_client: MakeClient) -> None:
    bob, bob_events = await make_client(server, "bob", channels=("#club", "#a"))
    await bob_events.wait_for(ev.Joined, lambda e: e.own and e.channel == "#a")
    bob.send("MODE #club +k sesame")
    await bob_events.wait_for(ev.ModeChanged, lambda e: e.modes == "+k")
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        await submit(pilot, "/join #club sesame")
        await until(pilot, joined(app, "#club", 2), "into the keyed channel")
        assert app.state.current.name == "#club"
        await submit(pilot, "/join a,b")
        await until(pilot, lambda: joined(app, "#a", 2)() and joined(app, "#b")(), "both channels")
        await submit(pilot, "/msg #a from afar")
        heard = await bob_events.wait_for(ev.MessageReceived, lambda e: e.source == "alice")
        assert (heard.target, heard.text) == ("#a", "from afar")
        assert app.state.current.name == "#b"  # /msg does not switch
        await submit(pilot, "/leave #a see you later")
        parted = await bob_events.wait_for(ev.Parted, lambda e: e.nick == "alice")
        assert (parted.channel, parted.reason) == ("#a", "see you later")
        await until(pilot, lambda: "(#a)" in static_text(app.query_one(BufferList)), "#a in brackets")
        await submit(pilot, "/join #club")  # already in it: shown at once
        assert app.state.current.name == "#club"
        await submit(pilot, "//shrug")
        heard = await bob_events.wait_for(ev.MessageReceived, lambda e: e.source == "alice")
        assert (heard.target, heard.text) == ("#club", "/shrug")


async def test_refusals_are_shown_as_sentences_in_the_buffer_on_screen(server: Runtime,
                                                                       make_client: MakeClient) -> None:
    bob, bob_events = await make_client(server, "bob", channels=("#inv", "#key", "#ban"))
    await bob_events.wait_for(ev.Joined, lambda e: e.own and e.channel == "#ban")
    bob.send("MODE #inv +i")
    bob.send("MODE #key +k sesame")
    bob.send("MODE #ban +b alice!*@*")
    await bob_events.wait_for(ev.ModeChanged, lambda e: e.modes == "+b")
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        for typed in ("/join #inv", "/join #key", "/join #key wrong", "/join #ban", "/msg nobody hi",
                      "/whois nobody"):
            await submit(pilot, typed)
        lobby = buffer(app, "#lobby")
        await until(pilot, lambda: sum("nobody" in t for t in texts(lobby)) == 2, "every refusal")
        screen = shown_text(app)
        for channel, mode in (("#inv", "+i"), ("#key", "+k"), ("#ban", "+b")):
            assert any(channel in row and f"({mode})" in row for row in screen.splitlines()), (channel, screen)
        assert "No such nick" in screen
        assert not any(code in screen for code in ("473", "474", "475", "401"))
        assert [b.name for b in app.state.buffers] == ["hubbub", "#lobby"]  # no buffer for a failed join
        bob.send("INVITE alice #inv")
        await until(pilot, lambda: on_screen(app, "bob invites you to #inv"), "the invitation")
        await submit(pilot, "/join #inv")
        await until(pilot, joined(app, "#inv", 2), "in #inv once invited")
        assert app.state.current.name == "#inv"


async def test_whois_answers_where_it_was_asked_even_with_a_conversation_open(
        server: Runtime, make_client: MakeClient) -> None:
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        bob, _ = await make_client(server, "bob", channels=("#lobby",))
        bob.privmsg("alice", "hi, got a minute?")
        await until(pilot, lambda: app.state.find("bob") is not None, "the conversation with bob")
        assert app.state.current.name == "#lobby"
        await submit(pilot, "/whois bob")
        await until(pilot, anywhere(app, "bob is ~bob@"), "the whois answer")
        assert any(t.startswith("bob is ~bob@") for t in texts(app.state.current)), texts(app.state.current)


async def test_a_taken_nick_error_is_shown_where_nick_was_typed(server: Runtime,
                                                                make_client: MakeClient) -> None:
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        bob, _ = await make_client(server, "bob", channels=("#lobby",))
        bob.privmsg("alice", "hello")
        await until(pilot, lambda: app.state.find("bob") is not None, "the conversation with bob")
        await submit(pilot, "/nick bob")
        await until(pilot, anywhere(app, "already in use"), "the refusal")
        assert app.state.nick == "alice"
        assert any("already in use" in t for t in texts(app.state.current)), texts(app.state.current)


async def test_opening_a_conversation_shows_no_spurious_history_error(server: Runtime,
                                                                      make_client: MakeClient) -> None:
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        await make_client(server, "bob", channels=("#lobby",))
        await until(pilot, joined(app, "#lobby", 2), "bob joined")
        await submit(pilot, "/query bob hello there")
        await until(pilot, lambda: on_screen(app, "hello there"), "the line said")  # after the history answer
        assert [line.text for line in app.state.current.lines if line.kind == "error"] == []


async def test_topic_alone_shows_the_topic_and_who_set_it(server: Runtime, make_client: MakeClient) -> None:
    bob, bob_events = await make_client(server, "bob", channels=("#t",))
    await bob_events.wait_for(ev.Joined, lambda e: e.own)
    bob.set_topic("#t", "\x02rules\x02: be kind")
    await bob_events.wait_for(ev.TopicChanged)
    app = chat_app(server, channels=("#t",))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: "rules: be kind" in static_text(app.query_one(TopicBar)), "the topic bar")
        await until(pilot, lambda: on_screen(app, "Topic set by bob"), "who set it, on joining")
        await submit(pilot, "/topic")
        await until(pilot, lambda: shown_text(app).count("Topic: rules: be kind") == 2, "the topic again")
        assert shown_text(app).count("Topic set by bob") == 2
        assert not any(ch in shown_text(app) for ch in CONTROL)


# -- what others do ------------------------------------------------------------------------------


async def test_others_nick_changes_show_in_the_buffers_shared_with_them_only(
        server: Runtime, make_client: MakeClient) -> None:
    app = chat_app(server, channels=("#a", "#b", "#c"))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: all(joined(app, c)() for c in ("#a", "#b", "#c")), "three channels")
        bob, _ = await make_client(server, "bob", channels=("#a", "#b"))
        await until(pilot, lambda: joined(app, "#a", 2)() and joined(app, "#b", 2)(), "bob in #a and #b")
        bob.privmsg("alice", "psst")
        await until(pilot, lambda: app.state.find("bob") is not None, "the conversation with bob")
        query = buffer(app, "bob")
        count = len(app.state.buffers)
        bob.change_nick("robert")
        await until(pilot, lambda: query.name == "robert", "the conversation renamed")
        for name in ("#a", "#b", "robert"):
            await until(pilot, has_line(app, name, "bob is now known as robert"), f"the change in {name}")
        assert not has_line(app, "#c", "known as")()
        assert not any("known as" in t for t in texts(app.state.server))
        assert [m.nick for m in buffer(app, "#a").members] == ["alice", "robert"]
        bob.privmsg("alice", "same person")
        await until(pilot, has_line(app, "robert", "same person"), "robert's line in the same buffer")
        assert len(app.state.buffers) == count
        await pilot.press("alt+2")  # #a
        await until(pilot, lambda: "robert" in static_text(app.query_one(MemberList)), "robert in the members")
        assert "bob" not in static_text(app.query_one(MemberList))


async def test_the_status_bar_follows_a_renamed_conversation(server: Runtime, make_client: MakeClient) -> None:
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        bob, _ = await make_client(server, "bob", channels=("#lobby",))
        await until(pilot, joined(app, "#lobby", 2), "bob joined")
        await submit(pilot, "/query bob")
        assert "talking with bob" in static_text(app.query_one(StatusBar))
        bob.change_nick("robert")
        await until(pilot, lambda: "robert" in static_text(app.query_one(TopicBar)), "the topic bar renamed")
        assert app.state.current.name == "robert"
        assert "talking with robert" in static_text(app.query_one(StatusBar))


async def test_a_quit_shows_in_the_shared_channel_and_the_conversation_with_its_reason(
        server: Runtime, make_client: MakeClient) -> None:
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        bob, _ = await make_client(server, "bob", channels=("#lobby",), reconnect=False)
        await until(pilot, joined(app, "#lobby", 2), "bob joined")
        bob.privmsg("alice", "leaving soon")
        await until(pilot, lambda: app.state.find("bob") is not None, "the conversation")
        assert "2 members" in static_text(app.query_one(StatusBar))
        await bob.close("\x02off\x02 to bed")
        await until(pilot, lambda: len(buffer(app, "#lobby").members) == 1, "bob gone from the members")
        assert "1 member" in static_text(app.query_one(StatusBar))
        assert "bob" not in static_text(app.query_one(MemberList))
        await until(pilot, lambda: on_screen(app, "bob quit"), "the quit in #lobby")
        row = next(row for row in visible_rows(app) if "bob quit" in row)
        assert "off to bed" in row and not any(ch in row for ch in CONTROL)
        assert any("bob quit" in t and "off" in t for t in texts(buffer(app, "bob")))


async def test_a_kick_while_looking_elsewhere_rings_and_marks_the_channel(server: Runtime,
                                                                          make_client: MakeClient) -> None:
    bob, bob_events = await make_client(server, "bob", channels=("#k",))
    await bob_events.wait_for(ev.Joined, lambda e: e.own)
    app = chat_app(server, channels=("#lobby", "#k"))
    async with app.run_test(size=SIZE) as pilot:
        rung = bell_counter(app)
        await until(pilot, lambda: joined(app, "#lobby")() and joined(app, "#k", 2)(), "alice in both")
        await pilot.press("alt+2")
        assert app.state.current.name == "#lobby"
        bob.send("KICK #k alice :\x0304no spam\x03 please")
        await until(pilot, lambda: not buffer(app, "#k").joined, "kicked")
        assert rung
        assert "(#k)" in static_text(app.query_one(BufferList))
        await pilot.press("alt+3")
        assert on_screen(app, "bob kicked you from #k (no spam please)")
        assert "not joined" in static_text(app.query_one(TopicBar))
        assert "alice" not in static_text(app.query_one(MemberList))
        await submit(pilot, "anyone?")
        assert on_screen(app, "You are not in #k")


async def test_away_members_are_greyed_and_back_members_are_not(server: Runtime, make_client: MakeClient) -> None:
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        bob, _ = await make_client(server, "bob", channels=("#lobby",))
        await until(pilot, joined(app, "#lobby", 2), "bob joined")
        assert not is_grey(member_styles(app, "bob"))
        bob.set_away("gone fishing")
        await until(pilot, lambda: is_grey(member_styles(app, "bob")), "bob greyed")
        assert not is_grey(member_styles(app, "alice"))
        await submit(pilot, "/whois bob")
        await until(pilot, lambda: on_screen(app, "bob is away: gone fishing"), "the away message in whois")
        bob.set_away(None)
        await until(pilot, lambda: not is_grey(member_styles(app, "bob")), "bob back")


# -- long lines, formatting, scrolling, resizing ---------------------------------------------


async def test_a_long_typed_line_goes_out_whole_and_shows_whole(server: Runtime, make_client: MakeClient) -> None:
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        _, bob_events = await make_client(server, "bob", channels=("#lobby",))
        await until(pilot, joined(app, "#lobby", 2), "bob joined")
        text = "é" * 500 + "👋" * 100 + " and the end"  # 1,400 bytes: three IRC lines
        input_box(app).value = text  # the pilot cannot type emoji
        await pilot.press("enter")
        pieces: list[str] = []
        while "".join(pieces).replace(" ", "") != text.replace(" ", ""):
            pieces.append((await bob_events.wait_for(ev.MessageReceived, lambda e: e.source == "alice")).text)
        assert len(pieces) > 1
        assert all(len(p.encode()) <= 512 for p in pieces)
        assert "".join(pieces).replace(" ", "") == text.replace(" ", "")
        await until(pilot, lambda: app.state.current.lines[-1].text == pieces[-1], "alice's own pieces")
        await until(pilot, lambda: on_screen(app, pieces[-1]), "the last piece on screen")
        width = view_of(app).scrollable_content_region.width
        assert all(view_of(app).render_line(y).cell_length <= width
                   for y in range(view_of(app).scrollable_content_region.height))
        drawn = "".join("".join(row.split()) for row in visible_rows(app))
        assert "é" * 100 in drawn and "👋" * 20 in drawn


WIDE = "日本語のテキストと絵文字😀🎉がたくさん入った長いメッセージ" * 4


async def test_lines_received_while_hidden_are_wrapped_at_the_new_width_after_a_resize(
        server: Runtime, make_client: MakeClient) -> None:
    app = chat_app(server, channels=("#a", "#b"))
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: joined(app, "#a")() and joined(app, "#b")(), "both channels")
        bob, _ = await make_client(server, "bob", channels=("#b",))
        await until(pilot, joined(app, "#b", 2), "bob in #b")
        await pilot.press("alt+2")
        assert app.state.current.name == "#a"
        bob.privmsg("#b", WIDE)
        bob.privmsg("#b", "\x02" + "bold words " * 20 + "\x02 tail")
        await until(pilot, has_line(app, "#b", "tail"), "the lines in the hidden buffer")
        await pilot.resize_terminal(60, 24)
        await pilot.pause()
        await pilot.press("alt+3")
        await until(pilot, lambda: on_screen(app, "tail"), "the lines once shown")
        view = view_of(app)
        width = view.scrollable_content_region.width
        rows = [view.render_line(y) for y in range(view.scrollable_content_region.height)]
        assert all(strip.cell_length <= width for strip in rows)
        squeezed = "".join("".join(strip.text.split()) for strip in rows)
        assert WIDE in squeezed  # every wide character drawn, in order
        bold_rows = [strip for strip in rows if "bold" in strip.text]
        assert len(bold_rows) > 1  # wrapped...
        for strip in bold_rows:  # ...and still bold on every row, never raw codes
            assert all(seg.style is not None and seg.style.bold for seg in strip if "bold" in seg.text)
            assert not any(ch in strip.text for ch in CONTROL)


async def test_formatting_in_notices_actions_and_reasons_is_drawn_as_styles(server: Runtime,
                                                                           make_client: MakeClient) -> None:
    app = chat_app(server)
    async with app.run_test(size=(140, 30)) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        bob, _ = await make_client(server, "bob", channels=("#lobby",))
        await until(pilot, joined(app, "#lobby", 2), "bob joined")
        bob.notice("#lobby", "\x1fnotice-under\x1f plain")
        bob.action("#lobby", "\x02waves-bold\x02 slowly")
        bob.send("PART #lobby :\x0304red-reason\x03 bye")
        await until(pilot, lambda: on_screen(app, "bob left"), "the part")
        rows = "\n".join(visible_rows(app))
        assert "notice-under plain" in rows and "bob waves-bold slowly" in rows and "red-reason bye" in rows
        assert not any(ch in rows for ch in CONTROL)
        under, bold, red = (segment_style(app, w) for w in ("notice-under", "waves-bold", "red-reason"))
        assert under is not None and under.underline
        assert bold is not None and bold.bold
        assert red is not None and red.color is not None and red.color.triplet is not None
        assert red.color.triplet.hex == "#ff0000"


async def test_resizing_while_scrolled_back_keeps_the_place(server: Runtime, make_client: MakeClient) -> None:
    app = chat_app(server)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        bob, _ = await make_client(server, "bob", channels=("#lobby",))
        await until(pilot, joined(app, "#lobby", 2), "bob joined")
        for i in range(100):
            bob.privmsg("#lobby", f"line {i} " + "word " * 8)
        await until(pilot, lambda: on_screen(app, "line 99 "), "all lines")
        for _ in range(3):
            await pilot.press("pageup")
        reading = next(row for row in visible_rows(app) if "line " in row).split("line ")[1].split()[0]
        assert not view_of(app).following
        await pilot.resize_terminal(70, 25)
        await pilot.pause()
        await until(pilot, lambda: view_of(app).scrollable_content_region.width < 70, "the narrower view")
        await pilot.pause(0.1)
        assert not view_of(app).following
        assert on_screen(app, f"line {reading} "), (reading, visible_rows(app))
        bob.privmsg("#lobby", "new after resize")
        await until(pilot, has_line(app, "#lobby", "new after resize"), "the new line")
        await pilot.pause(0.1)
        assert not on_screen(app, "new after resize")  # not pulled down
        for _ in range(30):
            if view_of(app).following:
                break
            await pilot.press("pagedown")
        await until(pilot, lambda: on_screen(app, "new after resize"), "the newest line at the bottom")


# -- history (a server with a store) ------------------------------------------------------------


async def test_history_on_join_is_shown_once_and_not_again_after_a_server_restart(
        make_server: MakeServer, make_client: MakeClient, tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    runtime = await make_server(f"store.db='{db}'")
    host, port = runtime.irc_address()
    bob, bob_events = await make_client(runtime, "bob", channels=("#lobby",))
    await bob_events.wait_for(ev.Joined, lambda e: e.own)
    for i in range(3):
        bob.privmsg("#lobby", f"early {i}")
    await bob_events.wait_for(ev.MessageReceived, lambda e: e.text == "early 2")
    app = chat_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: on_screen(app, "early 2"), "the history on screen")
        lobby = buffer(app, "#lobby")
        said = texts(lobby)
        assert said.index("early 0") < said.index("early 1") < said.index("early 2") < said.index("You joined #lobby")
        await submit(pilot, "mine")
        await until(pilot, has_line(app, "#lobby", "mine"), "alice's line")
        events = app.client.subscribe()
        await runtime.stop()
        await until(pilot, lambda: app.state.status == "disconnected", "disconnected")
        await make_server(f"listen.irc=['{host}:{port}']", f"store.db='{db}'")
        await until(pilot, joined(app, "#lobby"), "rejoined")
        replay = await events.wait_for(ev.History, lambda e: e.target == "#lobby" and bool(e.messages))
        assert {m.text for m in replay.messages} >= {"early 0", "mine"}  # the server did send them again
        await pilot.pause(0.1)
        said = texts(lobby)
        for text in ("early 0", "early 1", "early 2", "mine"):
            assert said.count(text) == 1, (text, said)
        assert sum("early" in row for row in shown_text(app).splitlines()) == 3


async def dropped_while_bob_says(pilot: Pilot, app: ChatApp, bob: Client, bob_events: Subscription, text: str) -> None:
    """The network drops alice's connection; once bob has seen her go he says `text` in
    #lobby, and she reconnects at once (rather than after the test's 30 s) and rejoins."""
    assert app.client._writer is not None
    app.client._writer.transport.abort()
    await until(pilot, lambda: app.state.status == "disconnected", "disconnected")
    await bob_events.wait_for(ev.UserQuit, lambda e: e.nick == "alice")
    bob.privmsg("#lobby", text)
    await bob_events.wait_for(ev.MessageReceived, lambda e: e.text == text)
    app.client._wake.set()
    await until(pilot, joined(app, "#lobby", 2), "rejoined")


async def test_messages_missed_while_disconnected_come_after_the_disconnection(
        server: Runtime, make_client: MakeClient) -> None:
    app = chat_app(server, reconnect_delay=30.0, reconnect_max_delay=30.0)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        bob, bob_events = await make_client(server, "bob", channels=("#lobby",))
        await until(pilot, joined(app, "#lobby", 2), "bob joined")
        bob.privmsg("#lobby", "before the drop")
        await until(pilot, has_line(app, "#lobby", "before the drop"), "the first line")
        await dropped_while_bob_says(pilot, app, bob, bob_events, "said while you were away")
        await until(pilot, has_line(app, "#lobby", "said while you were away"), "the missed line")
        said = texts(buffer(app, "#lobby"))
        dropped = next(i for i, t in enumerate(said) if t.startswith("Disconnected"))
        assert said.index("before the drop") < dropped < said.index("said while you were away"), said
        # and before the rejoin, which came after it: the lines since the drop in time order
        rejoined = len(said) - 1 - said[::-1].index("You joined #lobby")
        assert said.index("said while you were away") < rejoined, said
        assert on_screen(app, "said while you were away")


async def test_lines_missed_in_a_channel_not_on_screen_are_drawn_in_time_order_when_it_is_shown(
        server: Runtime, make_client: MakeClient) -> None:
    app = chat_app(server, reconnect_delay=30.0, reconnect_max_delay=30.0)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        bob, bob_events = await make_client(server, "bob", channels=("#lobby",))
        await until(pilot, joined(app, "#lobby", 2), "bob joined")
        await pilot.press("alt+1")  # the server buffer on screen: #lobby is drawn later
        await until(pilot, lambda: app.state.current is app.state.server, "the server buffer shown")
        await dropped_while_bob_says(pilot, app, bob, bob_events, "said while you were away")
        await until(pilot, has_line(app, "#lobby", "said while you were away"), "the missed line")
        await pilot.press("alt+2")
        await until(pilot, lambda: on_screen(app, "said while you were away"), "shown")
        rows = shown_text(app).splitlines()
        said = next(i for i, row in enumerate(rows) if "said while you were away" in row)
        rejoined = max(i for i, row in enumerate(rows) if "You joined #lobby" in row)
        assert said < rejoined, rows  # as the buffer has them: in the order of their time


async def test_history_lines_that_mention_you_are_highlighted(make_server: MakeServer, make_client: MakeClient,
                                                              tmp_path: Path) -> None:
    runtime = await make_server(f"store.db='{tmp_path / 'store.db'}'")
    bob, bob_events = await make_client(runtime, "bob", channels=("#lobby",))
    await bob_events.wait_for(ev.Joined, lambda e: e.own)
    bob.privmsg("#lobby", "alice: are you around?")
    await bob_events.wait_for(ev.MessageReceived, lambda e: e.text == "alice: are you around?")
    app = chat_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: on_screen(app, "are you around?"), "the history on screen")
        bob.privmsg("#lobby", "alice: now live")
        await until(pilot, lambda: on_screen(app, "now live"), "the live mention")
        assert is_mention(row_styles(app, "now live"))
        assert not is_mention(row_styles(app, "You joined #lobby"))
        assert is_mention(row_styles(app, "are you around?"))


async def long_history(make_server: MakeServer, make_client: MakeClient, tmp_path: Path, count: int) -> Runtime:
    """A server keeping history, where bob has said `old 0` to `old <count - 1>` in #long."""
    runtime = await make_server(f"store.db='{tmp_path / 'store.db'}'")
    bob, bob_events = await make_client(runtime, "bob", channels=("#long",))
    await bob_events.wait_for(ev.Joined, lambda e: e.own)
    for i in range(count):
        bob.privmsg("#long", f"old {i}")
    await bob_events.wait_for(ev.MessageReceived, lambda e: e.text == f"old {count - 1}")
    return runtime


async def test_page_up_fetches_older_history_from_a_real_server(make_server: MakeServer, make_client: MakeClient,
                                                                tmp_path: Path) -> None:
    runtime = await long_history(make_server, make_client, tmp_path, 120)
    app = chat_app(runtime, channels=("#long",))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: on_screen(app, "old 119"), "the latest history")
        long = app.state.current
        # the latest 50 of the history, our own join (played back, shown once) among them
        assert long.lines[0].text == "old 71"
        await page_up_until(pilot, lambda: any(line.text == "old 0" for line in long.lines))
        await page_up_until(pilot, lambda: long.history_done)
        assert [t for t in texts(long) if t.startswith("old ")] == [f"old {i}" for i in range(120)]
        assert texts(long)[0] == "bob joined #long"  # played back, before what he said
        assert on_screen(app, "old 0")


async def test_page_up_still_fetches_older_history_after_a_part_and_a_join(
        make_server: MakeServer, make_client: MakeClient, tmp_path: Path) -> None:
    """The latest page a rejoin brings holds only lines the buffer has: that says nothing
    of what lies before them (it ended scroll-back for good: "No older messages")."""
    runtime = await long_history(make_server, make_client, tmp_path, 90)
    app = chat_app(runtime, channels=("#long",))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: on_screen(app, "old 89"), "the latest history")
        long = app.state.current
        events = app.client.subscribe()
        await submit(pilot, "/part")
        await until(pilot, lambda: not long.joined, "parted")
        await submit(pilot, "/join #long")
        await until(pilot, lambda: long.joined, "joined again")
        await events.wait_for(ev.History, lambda e: e.target == "#long")
        await pilot.pause(0.1)
        assert not long.history_done
        await page_up_until(pilot, lambda: any(line.text == "old 0" for line in long.lines))


# -- disconnection and reconnection -----------------------------------------------------------


async def test_reconnecting_rejoins_joined_channels_not_parted_ones_and_keeps_the_place(
        make_server: MakeServer, make_client: MakeClient) -> None:
    runtime = await make_server()
    host, port = runtime.irc_address()
    app = chat_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        await submit(pilot, "/join #gone")
        await until(pilot, joined(app, "#gone"), "#gone joined")
        await submit(pilot, "/part")
        await until(pilot, lambda: not buffer(app, "#gone").joined, "#gone left")
        await submit(pilot, "/join #extra")
        await until(pilot, joined(app, "#extra"), "#extra joined")
        await runtime.stop()
        await until(pilot, lambda: app.state.status == "disconnected", "disconnected")
        assert "Not connected" in static_text(app.query_one(StatusBar))
        assert "(#extra)" in static_text(app.query_one(BufferList))
        restarted = await make_server(f"listen.irc=['{host}:{port}']")
        await until(pilot, lambda: joined(app, "#lobby")() and joined(app, "#extra")(), "both rejoined")
        assert app.state.current.name == "#extra"  # the person stays where they were
        bufs = static_text(app.query_one(BufferList))
        assert "(#lobby)" not in bufs and "(#extra)" not in bufs and "(#gone)" in bufs
        assert not buffer(app, "#gone").joined
        await until(pilot, lambda: "@alice" in static_text(app.query_one(MemberList)), "the member list back")
        assert "Disconnected" in shown_text(app)
        bob, _ = await make_client(restarted, "bob", channels=("#extra",))
        await until(pilot, joined(app, "#extra", 2), "bob in #extra")
        bob.privmsg("#extra", "welcome back")
        await until(pilot, lambda: on_screen(app, "welcome back"), "bob's line")


async def test_a_channel_closed_while_disconnected_stays_closed(make_server: MakeServer) -> None:
    runtime = await make_server()
    host, port = runtime.irc_address()
    app = chat_app(runtime, channels=("#lobby", "#noise"))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: joined(app, "#lobby")() and joined(app, "#noise")(), "both channels")
        await runtime.stop()
        await until(pilot, lambda: app.state.status == "disconnected", "disconnected")
        await pilot.press("alt+3")
        assert app.state.current.name == "#noise"
        await submit(pilot, "/close")
        assert app.state.find("#noise") is None
        await pilot.press("alt+2")
        await make_server(f"listen.irc=['{host}:{port}']")
        await until(pilot, joined(app, "#lobby"), "#lobby rejoined")
        await submit(pilot, "/whois alice")  # a round trip after the rejoin's JOIN line
        await until(pilot, anywhere(app, "alice is ~alice@"), "the whois answer")
        assert app.state.find("#noise") is None
        assert app.state.current.name == "#lobby"


async def test_quitting_while_the_server_is_down_closes_the_app(make_server: MakeServer) -> None:
    runtime = await make_server()
    app = chat_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        await runtime.stop()
        await until(pilot, lambda: app.state.status == "disconnected", "disconnected")
        await submit(pilot, "/quit bye")
        await until(pilot, lambda: app.return_code == 0, "the app to exit")


async def test_ctrl_q_leaves_with_the_default_goodbye(server: Runtime, make_client: MakeClient) -> None:
    _, bob_events = await make_client(server, "bob", channels=("#lobby",))
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby", 2), "alice and bob")
        await pilot.press("ctrl+q")
        quit_ = await bob_events.wait_for(ev.UserQuit, lambda e: e.nick == "alice")
        assert "hubbub chat" in quit_.reason
        await until(pilot, lambda: app.return_code == 0, "the app to exit")


# -- accounts (SASL) ---------------------------------------------------------------------------


async def register_accounts(runtime: Runtime, make_client: MakeClient, *nicks: str) -> None:
    for nick in nicks:
        client, events = await make_client(runtime, nick)
        client.privmsg("NickServ", f"REGISTER pw-{nick}")
        await events.wait_for(ev.MessageReceived, lambda e: e.source == "NickServ" and "created" in e.text)
        await client.close()


async def test_nickservs_warning_about_ones_nick_shows_where_one_is_looking(
    make_server: MakeServer, make_client: MakeClient, tmp_path: Path
) -> None:
    """Taking a registered nick without logging in (a reconnect after an IDENTIFY typed
    in the chat, a /nick): NickServ's warning is also shown in the buffer on screen, or
    the nick is taken away unseen. Its answers to what one writes to it stay in its buffer."""
    runtime = await make_server(f"store.db='{tmp_path / 'store.db'}'")
    await register_accounts(runtime, make_client, "carol")
    app = chat_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        lobby = app.state.current
        await submit(pilot, "/nick carol")
        await until(pilot, lambda: any("-NickServ- This nickname is registered" in line.text for line in lobby.lines),
                    "the warning in #lobby")
        await submit(pilot, "/msg NickServ INFO carol")
        nickserv = app.state.find("NickServ")
        assert nickserv is not None
        await until(pilot, lambda: len([line for line in nickserv.lines if line.nick == "NickServ"]) >= 2,
                    "the answer in NickServ's buffer")
        await pilot.pause(0.2)
        assert sum("-NickServ-" in line.text for line in lobby.lines) == 1  # the answer stayed there


async def test_nickservs_warning_at_start_follows_to_the_channel_the_client_shows(
    make_server: MakeServer, make_client: MakeClient, tmp_path: Path
) -> None:
    """Started with a registered nick and no password: the warning comes while the server
    buffer is on screen, and the channel joined next took the screen from it at once."""
    runtime = await make_server(f"store.db='{tmp_path / 'store.db'}'")
    await register_accounts(runtime, make_client, "carol")
    app = chat_app(runtime, "carol", channels=("#a", "#b"))  # each opened in turn, the last one shown
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: joined(app, "#a")() and joined(app, "#b")(), "carol in #a and #b")
        shown = app.state.current
        assert shown.name == "#b"
        await until(pilot, lambda: on_screen(app, "-NickServ- This nickname is registered"), "the warning on screen")
        assert sum("-NickServ-" in line.text for line in shown.lines) == 1


async def test_sasl_login_is_shown_and_private_history_comes_back(make_server: MakeServer,
                                                                  make_client: MakeClient, tmp_path: Path) -> None:
    runtime = await make_server(f"store.db='{tmp_path / 'store.db'}'")
    await register_accounts(runtime, make_client, "alice", "bob")
    bob, _ = await make_client(runtime, "bob", sasl_password="pw-bob")
    alice, alice_events = await make_client(runtime, "alice", sasl_password="pw-alice")
    bob.privmsg("alice", "a secret from before")
    await alice_events.wait_for(ev.MessageReceived, lambda e: e.text == "a secret from before")
    await alice.close()
    app = chat_app(runtime, sasl_password="pw-alice")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        logins = [text for text in texts(app.state.server) if "logged in as alice" in text.lower()]
        assert logins == ["Logged in as alice."], logins  # once: not the 900 saying it again
        assert app.state.nick == "alice"
        await submit(pilot, "/query bob")
        await until(pilot, lambda: on_screen(app, "a secret from before"), "the conversation's history")
        assert [line.text for line in app.state.current.lines if line.kind == "error"] == []
        await submit(pilot, "and now?")
        await until(pilot, lambda: on_screen(app, "and now?"), "a new line")
        said = texts(app.state.current)
        assert said.index("a secret from before") < said.index("and now?")


async def test_a_private_conversation_held_on_another_device_opens_unread(
        make_server: MakeServer, make_client: MakeClient, tmp_path: Path) -> None:
    """Logged in, the client asks which private conversations the account had meanwhile
    (CHATHISTORY TARGETS: the last week's on a first connection) and opens them, what
    came in them unread; one it knows of already is not opened again."""
    runtime = await make_server(f"store.db='{tmp_path / 'store.db'}'")
    await register_accounts(runtime, make_client, "alice", "bob", "carol")
    bob, _ = await make_client(runtime, "bob", sasl_password="pw-bob")
    phone, phone_events = await make_client(runtime, "alice_phone", sasl_account="alice", sasl_password="pw-alice")
    bob.privmsg("alice_phone", "are you coming tonight?")
    await phone_events.wait_for(ev.MessageReceived, lambda e: e.text == "are you coming tonight?")
    phone.privmsg("bob", "yes, at eight")
    await phone_events.wait_for(ev.MessageReceived, lambda e: e.text == "yes, at eight")
    app = chat_app(runtime, sasl_password="pw-alice")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        await until(pilot, lambda: app.state.find("bob") is not None, "the conversation opened")
        conversation = app.state.find("bob")
        assert conversation is not None
        await until(pilot, lambda: has_line(app, "bob", "yes, at eight")(), "its history")
        assert (conversation.unread, conversation.mentioned) == (1, True)  # bob's line; not ours
        assert app.state.current.name == "#lobby"  # opened aside: the screen stays
        assert [b.name for b in app.state.buffers].count("bob") == 1


async def test_what_the_account_says_from_another_device_is_ours(
        make_server: MakeServer, make_client: MakeClient, tmp_path: Path) -> None:
    """A line the account we are logged in to says from another device (another nick;
    its account tag is ours) is our own: not unread, no mention, and a private one goes
    in the conversation with the person it was said to, not in one with the phone."""
    runtime = await make_server(f"store.db='{tmp_path / 'store.db'}'")
    await register_accounts(runtime, make_client, "alice", "bob")
    bob, bob_events = await make_client(runtime, "bob", channels=("#lobby",), sasl_password="pw-bob")
    phone, phone_events = await make_client(runtime, "alice_phone", channels=("#lobby",),
                                            sasl_account="alice", sasl_password="pw-alice")
    app = chat_app(runtime, sasl_password="pw-alice")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby", 3), "alice, bob and the phone in #lobby")
        await submit(pilot, "/query carol")  # looking elsewhere
        phone.privmsg("#lobby", "alice: typed on the phone")
        bob.privmsg("#lobby", "and bob says")
        await until(pilot, has_line(app, "#lobby", "and bob says"), "both lines")
        lobby = buffer(app, "#lobby")
        phone_line = next(line for line in lobby.lines if line.text == "alice: typed on the phone")
        assert (phone_line.own, phone_line.mention) == (True, False)
        assert (lobby.unread, lobby.mentioned) == (1, False)  # bob's line alone
        phone.privmsg("bob", "a word from the phone")
        await bob_events.wait_for(ev.MessageReceived, lambda e: e.text == "a word from the phone")
        await submit(pilot, "/query bob")
        await until(pilot, has_line(app, "bob", "a word from the phone"), "the conversation's history")
        said = next(line for line in buffer(app, "bob").lines if line.text == "a word from the phone")
        assert said.own
        assert app.state.find("alice_phone") is None


async def test_a_private_conversation_catches_up_after_a_reconnection(make_server: MakeServer,
                                                                      make_client: MakeClient, tmp_path: Path) -> None:
    """A channel's history comes with its JOIN; a conversation has no JOIN: what was said
    in it while the connection was down (to the account's other device, a phone) is asked
    for once the client is back."""
    runtime = await make_server(f"store.db='{tmp_path / 'store.db'}'")
    await register_accounts(runtime, make_client, "alice", "bob")
    bob, bob_events = await make_client(runtime, "bob", sasl_password="pw-bob")
    await make_client(runtime, "alice_phone", sasl_account="alice", sasl_password="pw-alice")
    app = chat_app(runtime, sasl_password="pw-alice", reconnect_delay=30.0, reconnect_max_delay=30.0)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        await submit(pilot, "/query bob")
        await submit(pilot, "are you there?")
        await bob_events.wait_for(ev.MessageReceived, lambda e: e.text == "are you there?")
        assert app.client._writer is not None
        app.client._writer.transport.abort()  # the network drops the connection
        await until(pilot, lambda: app.state.status == "disconnected", "disconnected")
        await until(pilot, lambda: runtime.services.state.find_user("alice") is None, "alice gone from the server")
        bob.privmsg("alice_phone", "yes, said while you were away")  # kept for the two accounts
        await bob_events.wait_for(ev.MessageReceived, lambda e: e.own and e.text == "yes, said while you were away")
        app.client._wake.set()
        await until(pilot, lambda: app.state.status == "connected", "reconnected")
        await until(pilot, lambda: on_screen(app, "yes, said while you were away"), "the missed line")
        said = texts(app.state.current)
        assert said.index("are you there?") < said.index("yes, said while you were away")


async def test_a_wrong_sasl_password_is_said_and_the_chat_goes_on(make_server: MakeServer,
                                                                  make_client: MakeClient, tmp_path: Path) -> None:
    runtime = await make_server(f"store.db='{tmp_path / 'store.db'}'")
    await register_accounts(runtime, make_client, "alice")
    _, bob_events = await make_client(runtime, "bob", channels=("#lobby",))
    app = chat_app(runtime, sasl_password="not-it")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby", 2), "alice in #lobby")
        assert any(line.kind == "error" and line.text.startswith("Login failed") for line in app.state.server.lines)
        await submit(pilot, "hello anyway")
        heard = await bob_events.wait_for(ev.MessageReceived, lambda e: e.source == "alice")
        assert heard.text == "hello anyway"


async def test_names_lists_the_channel_members_with_their_status(server: Runtime, make_client: MakeClient) -> None:
    bob, bob_events = await make_client(server, "bob", channels=("#lobby",))
    await bob_events.wait_for(ev.Joined, lambda e: e.own and e.channel == "#lobby")
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby", 2), "alice and bob in #lobby")
        await submit(pilot, "/names")
        await until(pilot, has_line(app, "#lobby", "In #lobby (2): @bob alice"), "the list, ops first")
        await submit(pilot, "/names extra words are ignored")
        assert texts(buffer(app, "#lobby")).count("In #lobby (2): @bob alice") == 2
