"""The message view as a person sees it: following the newest line, wrapping, paging.

Each test drives the real app against a real server and reads what the view draws
on screen (its rendered rows), not its internal lists.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from rich.cells import cell_len
from rich.color import Color
from rich.style import Style

from hubbub.app import Runtime
from hubbub.client.tui.app import ChatApp
from hubbub.client.tui.widgets import MessageView, TopicBar
from tests.client.conftest import MakeClient
from tests.client.test_tui import chat_app, joined, static_text, submit, until


def view_of(app: ChatApp) -> MessageView:
    return app.views[app.state.current]


def visible_rows(app: ChatApp) -> list[str]:
    """The rows of the current message view as drawn on screen, top to bottom."""
    view = view_of(app)
    return [view.render_line(y).text.rstrip() for y in range(view.scrollable_content_region.height)]


def on_screen(app: ChatApp, text: str) -> bool:
    return any(text in row for row in visible_rows(app))


@pytest.mark.parametrize("size", [(100, 30), (60, 20), (200, 50), (80, 24)])
async def test_the_view_keeps_following_new_lines_after_a_resize(
        server: Runtime, make_client: MakeClient, size: tuple[int, int]) -> None:
    app = chat_app(server)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        bob, _ = await make_client(server, "bob", channels=("#lobby",))
        await until(pilot, joined(app, "#lobby", 2), "bob joined")
        for i in range(60):
            bob.privmsg("#lobby", f"line {i}")
        await until(pilot, lambda: on_screen(app, "line 59"), "the newest line at the bottom")
        await pilot.resize_terminal(*size)
        await pilot.pause(0.1)
        await until(pilot, lambda: on_screen(app, "line 59"), "still at the bottom after the resize")
        bob.privmsg("#lobby", "resized!")
        await until(pilot, lambda: on_screen(app, "resized!"), "the new line on screen")
        assert view_of(app).is_vertical_scroll_end


LONG = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ and some words after it"


async def test_a_small_terminal_wraps_every_character_into_view(server: Runtime, make_client: MakeClient) -> None:
    app = chat_app(server)
    async with app.run_test(size=(60, 20)) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        bob, _ = await make_client(server, "bob", channels=("#lobby",))
        await until(pilot, joined(app, "#lobby", 2), "bob joined")
        bob.privmsg("#lobby", LONG)
        await until(pilot, lambda: on_screen(app, "after it"), "the end of the long line")
        view = view_of(app)
        assert view.scrollable_content_region.width >= 30  # the panels made room for the text
        assert view.virtual_size.width <= view.scrollable_content_region.width  # nothing past the edge
        assert not view.show_horizontal_scrollbar
        squeezed = "".join("".join(row.split()) for row in visible_rows(app))
        assert "".join(LONG.split()) in squeezed  # every character drawn, in order
        assert not app.query_one("#members-pane").display  # no room for the nick list here...
        await pilot.press("f2")
        assert app.query_one("#members-pane").display  # ...unless asked for
        await pilot.pause(0.1)
        await until(pilot, lambda: "".join(LONG.split()) in "".join("".join(r.split()) for r in visible_rows(app)),
                    "the text rewrapped beside the nick list")
        await pilot.press("f2")
        assert not app.query_one("#members-pane").display


async def test_the_member_list_comes_back_when_the_terminal_grows(server: Runtime) -> None:
    app = chat_app(server)
    async with app.run_test(size=(60, 20)) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        pane = app.query_one("#members-pane")
        assert not pane.display
        await pilot.resize_terminal(100, 30)
        await pilot.pause(0.1)
        assert pane.display
        await pilot.resize_terminal(70, 30)
        await pilot.pause(0.1)
        assert not pane.display


@pytest.mark.parametrize("width", [30, 40, 50, 70])
async def test_no_character_is_lost_at_any_width(server: Runtime, make_client: MakeClient, width: int) -> None:
    app = chat_app(server)
    async with app.run_test(size=(width, 20)) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        bob, _ = await make_client(server, "bob", channels=("#lobby",))
        await until(pilot, joined(app, "#lobby", 2), "bob joined")
        bob.privmsg("#lobby", LONG)
        await until(pilot, lambda: any(line.text == LONG for line in app.state.current.lines), "the line")
        await until(pilot, lambda: "".join(LONG.split()) in "".join("".join(r.split()) for r in visible_rows(app)),
                    "every character of the long line on screen")


def numbers(rows: list[str]) -> list[int]:
    found = []
    for row in rows:
        words = row.split()
        if len(words) >= 2 and words[-2] == "line" and words[-1].isdigit():
            found.append(int(words[-1]))
    return found


@pytest.mark.parametrize("size", [(120, 40), (100, 30), (60, 20)])
async def test_the_first_page_up_shows_the_page_just_above(server: Runtime, make_client: MakeClient,
                                                          size: tuple[int, int]) -> None:
    app = chat_app(server, channels=())
    async with app.run_test(size=size) as pilot:
        bob, _ = await make_client(server, "bob")
        await until(pilot, lambda: app.client.ready, "alice connected")
        for i in range(1, 41):
            bob.privmsg("alice", f"line {i}")
        await until(pilot, lambda: app.state.find("bob") is not None, "bob's conversation")
        await pilot.press("alt+2")
        await until(pilot, lambda: numbers(visible_rows(app))[-1:] == [40], "the newest line at the bottom")
        bottom = numbers(visible_rows(app))
        height = view_of(app).scrollable_content_region.height
        await pilot.press("pageup")
        page = numbers(visible_rows(app))
        first = max(1, bottom[0] - height)
        assert page == list(range(first, first + len(page)))  # in order, nothing from the old page
        assert not view_of(app).following
        await pilot.press("pagedown")
        assert numbers(visible_rows(app)) == bottom
        assert view_of(app).following


def styled_segments(app: ChatApp) -> dict[str, Style]:
    """Each drawn piece of text in the current view, with the style it is drawn in."""
    view = view_of(app)
    found: dict[str, Style] = {}
    for y in range(view.scrollable_content_region.height):
        for segment in view.render_line(y):
            if segment.text.strip() and segment.style is not None:
                found[segment.text.strip()] = segment.style
    return found


async def test_irc_formatting_is_drawn_as_styles_not_codes(server: Runtime, make_client: MakeClient) -> None:
    app = chat_app(server)
    async with app.run_test(size=(200, 30)) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        bob, _ = await make_client(server, "bob", channels=("#lobby",))
        await until(pilot, joined(app, "#lobby", 2), "bob joined")
        # What irssi sends for Ctrl+B bold Ctrl+B, Ctrl+C 4red, Ctrl+C 3,1green-on-black, and the rest.
        bob.privmsg("#lobby", "\x02bold\x02 \x034red\x03 \x033,1green-on-black\x03 \x1ditalic\x1d "
                              "\x1funder\x1f \x1estrike\x1e \x11mono\x11 \x16rev\x16 \x0360ext\x03 "
                              "\x04ff8800hex\x04 ding\x07dong")
        await until(pilot, lambda: on_screen(app, "dingdong"), "the formatted line")
        row = next(row for row in visible_rows(app) if "dingdong" in row)
        assert "bold red green-on-black italic under strike mono rev ext hex dingdong" in row
        assert not any(ch in row for ch in "\x02\x03\x04\x07\x0f\x11\x16\x1d\x1e\x1f")
        styles = styled_segments(app)
        assert styles["bold"].bold
        assert styles["red"].color is not None and styles["red"].color.triplet == Color.parse("#ff0000").triplet
        assert styles["green-on-black"].color.triplet == Color.parse("#009300").triplet  # type: ignore[union-attr]
        assert styles["green-on-black"].bgcolor.triplet == Color.parse("#000000").triplet  # type: ignore[union-attr]
        assert styles["italic"].italic and styles["under"].underline and styles["strike"].strike
        assert styles["rev"].reverse
        assert styles["ext"].color.triplet == Color.parse("#0000ff").triplet  # type: ignore[union-attr]
        assert styles["hex"].color.triplet == Color.parse("#ff8800").triplet  # type: ignore[union-attr]

        await submit(pilot, "/topic \x02Welcome\x02 \x034all")
        await until(pilot, lambda: "Welcome all" in static_text(app.query_one(TopicBar)), "the topic, formatted")
        assert "\x02" not in static_text(app.query_one(TopicBar))


async def test_lines_written_before_the_view_knows_its_size_are_drawn_once_it_does() -> None:
    """Textual's RichLog parks what is written before its first Resize and draws it then.
    The view's own resize handling once marked the size known itself, so RichLog never
    drew the parked lines, and when the view had been laid out at that width already
    (nothing to redraw) a conversation shown at that moment stayed blank."""
    from datetime import UTC, datetime

    from textual.app import App, ComposeResult
    from textual.containers import Vertical

    from hubbub.client.state import Buffer, BufferKind, Line

    buffer = Buffer("#early", BufferKind.CHANNEL)
    view = MessageView(buffer)

    class Holder(App[None]):
        def compose(self) -> ComposeResult:
            yield Vertical(id="holder")

    app = Holder()
    async with app.run_test(size=(60, 10)) as pilot:
        line = Line(datetime.now(UTC), "message", "written before the first resize", nick="bob")
        buffer.lines.append(line)
        view._rendered_width = 59  # laid out at this width before: no redraw will follow
        view._write(line)  # parked: the size is not known yet
        await app.query_one("#holder").mount(view)
        await pilot.pause()
        await pilot.pause()
        assert view._width() == 59  # the premise: the width it was laid out at
        drawn = [view.render_line(y).text.rstrip() for y in range(view.scrollable_content_region.height)]
        assert any("written before the first resize" in row for row in drawn), drawn


def test_a_nick_of_wide_characters_keeps_the_nick_column() -> None:
    """Counted in terminal cells: a CJK or fullwidth nick takes two cells a character,
    and the text column after it stays where the others' is."""
    from rich.console import Console

    from hubbub.client.state import Line
    from hubbub.client.tui.widgets import render_line

    console = Console(width=100)
    when = datetime.now(UTC)
    starts = set()
    for nick in ("bob", "山田太郎", "山田太郎山田太郎山田", "ｆｕｌｌｗｉｄｔｈ"):
        row = render_line(Line(when, "message", "hello there", nick), 100, console).plain
        starts.add(cell_len(row[: row.index("hello there")]))
    assert len(starts) == 1, starts


def test_the_buffer_list_window_keeps_the_current_buffer_in_sight_and_its_rows_filled() -> None:
    from hubbub.client.tui.widgets import _window

    assert _window(5, 8, 4, 0) == (0, 5)  # all fit
    assert _window(20, 8, 0, 0) == (0, 7)  # the top: a "more" row below
    assert _window(20, 8, 19, 0) == (13, 20)  # the end: a "more" row above
    first, last = _window(20, 8, 10, 0)
    assert first <= 10 < last and last - first == 6  # in the middle: a row above and one below
    assert _window(20, 8, first + 1, first) == (first, last)  # still in sight: the window stays
    assert _window(9, 8, 8, 13) == (2, 9)  # buffers closed from the bottom: the rows are filled again
    assert _window(14, 8, 13, 13) == (7, 14)
