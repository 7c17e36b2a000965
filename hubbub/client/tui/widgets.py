"""The pieces of the chat window: message view, buffer list, member list, bars, input.

Each widget draws from `ChatState` objects and owns no chat logic. The message view
wraps lines itself (timestamp and nick in a column, the text wrapped beside them)
and redraws from the buffer's lines when its width changes, so a resized terminal
never shows text cut off or wrapped under the nick column.
"""

from __future__ import annotations

import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.console import Console
from rich.style import Style
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, RichLog, Static

from hubbub.client.state import MAX_LINES, Buffer, BufferKind, ChatState, Line
from hubbub.client.tui.completion import Completer
from hubbub.client.tui.history import InputHistory
from hubbub.irc import formatting

# Readable on dark and light backgrounds; picked by a stable hash of the nick, so a
# person keeps their colour across sessions (Python's hash() is salted per process).
NICK_COLOURS = (
    "#e06c75", "#98c379", "#e5c07b", "#61afef", "#c678dd", "#56b6c2",
    "#d19a66", "#be5046", "#7fbbb3", "#a9b665", "#d3869b", "#89b482",
)
NICK_COLUMN = 12
TIME_FORMAT = "%H:%M"
SUBDUED = Style(color="grey50")
ERROR = Style(color="red", bold=True)
MENTION = Style(color="black", bgcolor="#e5c07b", bold=True)
FOUND = Style(color="black", bgcolor="#56b6c2")
WALLOPS = Style(color="#d19a66", bold=True)  # operators' news: apart from the grey server lines


def nick_colour(nick: str) -> str:
    return NICK_COLOURS[zlib.crc32(nick.lower().encode()) % len(NICK_COLOURS)]


def irc_text(text: str, style: Style | str = "") -> Text:
    """IRC text with its formatting codes turned into styles (and nothing raw left).

    Monospace needs no style in a terminal; reverse is left to the terminal, which
    swaps whatever colours are in force.
    """
    out = Text(style=style)
    for span in formatting.parse(text):
        fmt = span.format
        if fmt.plain:
            out.append(span.text)
            continue
        out.append(span.text, Style(
            bold=fmt.bold or None, italic=fmt.italic or None, underline=fmt.underline or None,
            strike=fmt.strike or None, reverse=fmt.reverse or None,
            color=formatting.colour_hex(fmt.fg), bgcolor=formatting.colour_hex(fmt.bg)))
    return out


def _column(text: str, width: int, style: Style | str) -> Text:
    """`text` right-aligned in `width` cells, cut with an ellipsis: counted in terminal
    cells, so that a nick of wide characters (CJK, fullwidth) keeps the column."""
    if cell_len(text) > width:
        kept, cells = [], 0
        for char in text:
            cells += cell_len(char)
            if cells > width - 1:
                break
            kept.append(char)
        text = "".join(kept) + "…"
    return Text(" " * (width - cell_len(text)) + text, style=style)


_MARKS = {"join": "→", "part": "←", "quit": "←", "nick": "•", "topic": "•", "mode": "•", "info": "·",
          "error": "!"}


# Below this many cells the text column would be too narrow to read: the text then
# goes under the time and nick, using the whole width.
MIN_TEXT_WIDTH = 10


def _layout(width: int) -> tuple[bool, int]:
    """(show the time, nick column width) for a message view `width` cells wide."""
    if width >= 60:
        return True, NICK_COLUMN
    return width >= 40, 8


def day_heading(day: date, width: int) -> Text:
    """The row above the first line of a day (irssi's "Day changed"): the time column
    shows hours only, and history can be days old."""
    text = Text(f"── Day changed to {day:%A} {day.day} {day:%B %Y}", style=SUBDUED)
    text.truncate(max(1, width))
    return text


def render_line(line: Line, width: int, console: Console, search: str = "") -> Text:
    """One buffer line as wrapped text: `HH:MM  nick │ text`, continuation lines indented.

    Every row is at most `width` cells, so nothing is ever cut off at the right edge:
    the text is wrapped at exactly the room left beside the time and nick columns, and
    when that room is too small the text goes on the rows below at the full width.
    """
    show_time, column = _layout(width)
    stamp = Text(line.time.astimezone().strftime(TIME_FORMAT) + " " if show_time else "", style=SUBDUED)
    nick = line.nick or ""
    if line.kind == "message":
        who = _column(nick, column, MENTION if line.mention else Style(color=nick_colour(nick), bold=line.own))
        body = irc_text(line.text)
    elif line.kind == "action":
        who = _column("*", column, Style(bold=True))
        body = Text.assemble((nick, Style(color=nick_colour(nick), bold=True)),
                             " ", irc_text(line.text, Style(italic=True)))
        if line.mention:
            body.stylize(MENTION)
    elif line.kind == "notice" and line.nick is None:  # from the server itself
        who = _column("»", column, SUBDUED)
        body = irc_text(line.text)
    elif line.kind == "notice":
        who = _column(f"-{nick}-", column, Style(color=nick_colour(nick), italic=True))
        body = irc_text(line.text, MENTION if line.mention else "")
    elif line.kind == "wallops":  # -!- Wallops from ircop: text
        who = _column("-!-", column, WALLOPS)
        body = Text.assemble(("Wallops", WALLOPS), " from ", (nick, Style(color=nick_colour(nick), bold=True)),
                             ": ", irc_text(line.text))
    else:
        style = ERROR if line.kind == "error" else SUBDUED
        who = _column(_MARKS.get(line.kind, "·"), column, style)
        body = irc_text(line.text, style)
    if search:
        body.highlight_words([search], FOUND, case_sensitive=False)
    head = Text.assemble(stamp, who, " ")
    indent = head.cell_len
    if width - indent >= MIN_TEXT_WIDTH:
        rows = list(body.wrap(console, width - indent)) if body.plain else [Text("")]
        out = head
        for i, piece in enumerate(rows):
            if i:
                out.append("\n" + " " * indent)
            out.append_text(piece)
        return out
    head.truncate(max(1, width))
    out = head
    for piece in body.wrap(console, max(1, width)) if body.plain else []:
        out.append("\n")
        out.append_text(piece)
    return out


class MessageView(RichLog):
    """The lines of one buffer; follows new lines unless scrolled back.

    Whether the view follows the newest line is a decision of the person, kept in
    `following`: scrolling back turns it off, scrolling to the bottom turns it on,
    and nothing else changes it. A resize, a redraw or new lines never do, so after
    a terminal resize a view that was at the bottom stays at the bottom.

    Lines that arrive while the view is hidden (another buffer on screen) wait in
    `_pending` and are drawn when it is shown; a change of width redraws everything.
    """

    DEFAULT_CSS = """
    MessageView { background: $surface; scrollbar-size-vertical: 1; overflow-x: hidden;
                  scrollbar-gutter: stable; }
    """

    def __init__(self, buffer: Buffer, **kwargs: Any) -> None:
        super().__init__(wrap=False, min_width=1, markup=False, auto_scroll=False,
                         max_lines=MAX_LINES * 4, **kwargs)
        self.buffer = buffer
        self.can_focus = False
        self._following = True
        self.unseen = 0  # lines drawn below while scrolled back (irssi's "-- more --")
        self._rendered_width = 0
        self._pending: list[Line] = []
        self._day: date | None = None  # the day of the last line drawn
        self._first: tuple[Line, bool] | None = None  # the first line drawn, and whether under a day heading
        self._adjusting = 0  # >0 while we move the view ourselves: not the person's choice
        self._heights: deque[int] = deque(maxlen=MAX_LINES)  # rows drawn for each buffer line
        self.search = ""  # highlighted wherever it occurs (Ctrl+F)
        self.asked_older = False  # PageUp at the top asked the server for older lines
        self.fetched_on = 0  # older pages asked for since, by the app itself (no talk in the last)

    class MoreChanged(Message):
        """The count of lines below the view (scrolled back) changed: the status bar says it."""

        def __init__(self, view: MessageView) -> None:
            super().__init__()
            self.view = view

    @property
    def following(self) -> bool:
        return self._following

    @following.setter
    def following(self, value: bool) -> None:
        self._following = value
        if value and self.unseen:
            self.unseen = 0
            self.post_message(self.MoreChanged(self))

    def _width(self) -> int:
        return self.scrollable_content_region.width

    def _drawable(self) -> bool:
        width = self._width()
        return self.display and self._size_known and width > 0 and width == self._rendered_width

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if not self._adjusting:
            self.following = round(new_value) >= self.max_scroll_y

    def _move_to(self, y: float) -> None:
        self._adjusting += 1
        try:
            self.scroll_to(y=y, animate=False, force=True)
        finally:
            self._adjusting -= 1

    def follow(self) -> None:
        """Show the newest line and keep following."""
        self.following = True
        self._move_to(self.max_scroll_y)

    def page(self, direction: int) -> None:
        """Scroll one page back (-1) or forward (1); at the bottom, follow again.

        The target is clamped here, and the whole view repainted, so the first page
        drawn is the page asked for, never a mix of the old and the new.
        """
        height = max(1, self.scrollable_content_region.height)
        target = min(max(0, self.scroll_offset.y + direction * height), self.max_scroll_y)
        self._move_to(target)
        self.following = target >= self.max_scroll_y
        self.refresh()

    def _write(self, line: Line) -> bool:
        """Draw one line (under a day heading when its day is not the day above it, or,
        first, not today); whether it got a heading."""
        text = render_line(line, self._rendered_width, self.app.console, self.search)
        day = line.time.astimezone().date()
        headed = day != (self._day or datetime.now().astimezone().date())
        if headed:
            text = Text.assemble(day_heading(day, self._rendered_width), "\n", text)
        self._day = day
        if self._first is None:
            self._first = (line, headed)
        self.write(text, width=self._rendered_width, scroll_end=False)
        self._heights.append(text.plain.count("\n") + 1)  # rows fit the width: one per line break
        return headed

    def row_of(self, index: int) -> int:
        """The first row drawn for buffer line `index` (negative if no longer drawn)."""
        heights = list(self._heights)
        return len(self.lines) - sum(heights[index:])

    def set_search(self, term: str) -> None:
        if term != self.search:
            self.search = term
            self.rewrite()

    def show_line(self, index: int) -> None:
        """Scroll so that buffer line `index` is in the middle of the view (search results)."""
        height = self.scrollable_content_region.height
        target = min(max(0, self.row_of(index) - height // 2), self.max_scroll_y)
        self._move_to(target)
        self.following = target >= self.max_scroll_y
        self.refresh()

    def add(self, line: Line) -> None:
        if not self._drawable():
            if len(self._pending) >= MAX_LINES:
                self._pending.clear()
                self._rendered_width = -1  # too much missed: redraw from the buffer instead
            else:
                self._pending.append(line)
            return
        self._write(line)
        if self.following:
            self.follow()
        else:
            self.unseen += 1
            self.post_message(self.MoreChanged(self))

    def catch_up(self) -> None:
        """Draw what arrived while hidden (call once shown)."""
        self.call_after_refresh(self._catch_up)

    def _catch_up(self) -> None:
        if not self._pending and self._width() == self._rendered_width:
            if self.following:
                self.follow()
            return
        if not self._drawable():
            self.rewrite()
            return
        pending, self._pending = self._pending, []
        for line in pending:
            self._write(line)
        if self.following:
            self.follow()
        elif pending:  # drawn below where the person was reading, while the view was hidden
            self.unseen += len(pending)
            self.post_message(self.MoreChanged(self))

    def rewrite(self) -> None:
        width = self._width()
        if width <= 0 or not self.display:
            # hidden: drawn again from the buffer once shown (what asked may have put its
            # lines in another order, as lines missed during an outage are)
            self._pending.clear()
            self._rendered_width = -1
            return
        following, top = self.following, self.scroll_offset.y
        same_width, rows_before = width == self._rendered_width, len(self.lines)
        self._adjusting += 1
        try:
            first, lost = self._first, 0
            self.clear()
            self._heights.clear()
            self._day, self._first = None, None
            self._pending.clear()
            self._rendered_width = width
            for line in self.buffer.lines:
                headed = self._write(line)
                if first is not None and line is first[0]:
                    lost = int(first[1] and not headed)  # older lines of its day came above it
        finally:
            self._adjusting -= 1
        if following:
            self.follow()
            return
        if same_width and len(self.lines) > rows_before:
            # Older lines came in above (scroll-back): what was on screen stays put, and
            # when PageUp asked for them, the page just above it is shown.
            # the day heading the old first line lost was the top row: only there does it count
            top += len(self.lines) - rows_before + (lost if top == 0 else 0)
            if self.asked_older:
                top -= self.scrollable_content_region.height
        self.asked_older = False
        self._move_to(min(max(0, top), self.max_scroll_y))
        self.following = False

    def on_resize(self, event: events.Resize) -> None:
        # RichLog's own handler (called after this one) learns the size and draws what
        # was written before it was known: setting `_size_known` here left those lines
        # parked, a conversation shown blank until the terminal's width changed.
        if event.size.width:
            if self._width() != self._rendered_width:
                self.call_after_refresh(self.rewrite)
            elif self.following:
                self.call_after_refresh(self.follow)


class BufferList(Static):
    """Numbered buffers with unread counts; the mention marker stands out.

    More buffers than rows: a window of them with the one shown in it, and a row above
    or below saying how many more there are and whether any of them has news (clicked,
    it goes to the nearest with a mention, else with unread lines, else the next). A name
    too long for the column is cut, not its count."""

    class Clicked(Message):
        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._state: ChatState | None = None
        self._first = 0  # the first buffer shown when they do not all fit
        self._rows: list[int] = []  # the buffer index each row stands for (a click's target)

    def show(self, state: ChatState) -> None:
        self._state = state
        buffers = state.buffers
        current = buffers.index(state.current) if state.current in buffers else 0
        first, last = _window(len(buffers), self.content_size.height, current, self._first)
        self._first = first
        width = self.content_size.width
        text = Text(no_wrap=True, overflow="ellipsis")
        rows: list[int] = []
        if first > 0:
            rows.append(_nearest_news(buffers, range(first - 1, -1, -1)))
            text.append_text(_more_row("↑", buffers[:first]))
        for i in range(first, last):
            if rows:
                text.append("\n")
            rows.append(i)
            text.append_text(_buffer_row(i, buffers[i], buffers[i] is state.current, buffers[i] is state.server, width))
        if last < len(buffers):
            rows.append(_nearest_news(buffers, range(last, len(buffers))))
            text.append("\n")
            text.append_text(_more_row("↓", buffers[last:]))
        self._rows = rows
        self.update(text)

    def on_resize(self, event: events.Resize) -> None:
        if self._state is not None:
            self.show(self._state)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is not None and 0 <= offset.y < len(self._rows):
            self.post_message(self.Clicked(self._rows[offset.y]))


def _window(count: int, height: int, current: int, first: int) -> tuple[int, int]:
    """The buffers shown (first, last + 1) when `count` may not fit in `height` rows: all
    when they fit; else from `first` if the current one is shown so, else the fewest
    moves that show it, beside a row for those above and one for those below."""
    if height <= 0 or count <= height:
        return 0, count
    height = max(height, 3)

    def span(start: int) -> tuple[int, int]:
        room = height - (1 if start > 0 else 0)
        if start + room < count:
            room -= 1
        return start, min(count, start + room)

    start, end = span(max(0, min(first, count - 1)))
    if current < start:
        start, end = span(current)
    elif current >= end:
        start = current
        while start > 0 and span(start - 1)[1] > current:
            start -= 1
        start, end = span(start)
    while start > 0 and span(start - 1)[1] == count:  # rows left empty below (buffers closed): fill them
        start, end = span(start - 1)
    return start, end


def _buffer_row(i: int, buffer: Buffer, current: bool, server: bool, width: int) -> Text:
    number = f"{i + 1:>2} "
    name = buffer.name if buffer.kind is not BufferKind.CHANNEL or buffer.joined or server else f"({buffer.name})"
    style = Style(reverse=True, bold=True) if current else (
        Style(color="#e5c07b", bold=True) if buffer.mentioned else
        Style(bold=True) if buffer.unread else SUBDUED if buffer.kind is BufferKind.CHANNEL
        and not buffer.joined else Style())
    count = (f" {buffer.unread}!", MENTION) if buffer.mentioned else \
        (f" {buffer.unread}", Style(color="#61afef", bold=True)) if buffer.unread else ("", Style())
    shown = Text(name, style=style)
    if width > 0:  # the name is cut to leave room for its count
        shown.truncate(max(1, width - len(number) - len(count[0])), overflow="ellipsis")
    return Text.assemble((number, SUBDUED if not current else style), shown, count)


def _more_row(arrow: str, hidden: list[Buffer]) -> Text:
    """`↓ 5 more 2!`: how many buffers are out of the list's sight, and their news."""
    mentions = sum(1 for b in hidden if b.mentioned)
    unread = sum(1 for b in hidden if b.unread and not b.mentioned)
    text = Text(f" {arrow} {len(hidden)} more", style=SUBDUED)
    if mentions:
        text.append(f" {mentions}!", style=MENTION)
    if unread:
        text.append(f" {unread}", style=Style(color="#61afef", bold=True))
    return text


def _nearest_news(buffers: list[Buffer], order: range) -> int:
    """Where a click on a "more" row goes: the nearest buffer in `order` with a mention,
    else with unread lines, else the nearest."""
    for wanted in (lambda b: b.mentioned, lambda b: bool(b.unread)):
        for i in order:
            if wanted(buffers[i]):
                return i
    return order[0]


class MemberList(Static):
    """The members of the shown channel, highest rank first; away members greyed."""

    def show(self, buffer: Buffer) -> None:
        text = Text(no_wrap=True, overflow="ellipsis")
        for i, member in enumerate(buffer.members):
            if i:
                text.append("\n")
            text.append(member.prefix or " ", style=Style(color="#98c379", bold=True))
            text.append(member.nick, style=SUBDUED if member.away else Style(color=nick_colour(member.nick)))
        self.update(text)


class TopicBar(Static):
    def show(self, state: ChatState) -> None:
        buffer = state.current
        if buffer.kind is BufferKind.CHANNEL:
            if buffer.joined:
                topic = buffer.topic or "no topic"
            elif buffer.rejoining and state.status != "connected":  # the client rejoins it by itself
                topic = "not joined while the connection is down: rejoined when it is back"
            else:
                topic = "not joined: type /join " + buffer.name
            shown = irc_text(topic, "" if buffer.topic else SUBDUED)
            text = Text.assemble((buffer.name, Style(bold=True)), "  ", shown)
        elif buffer.kind is BufferKind.QUERY:
            text = Text.assemble(("Private conversation with ", SUBDUED), (buffer.name, Style(
                bold=True, color=nick_colour(buffer.name))))
        else:
            text = Text.assemble((buffer.name, Style(bold=True)), ("  server messages · /help for commands",
                                                                    SUBDUED))
        self.update(text)


class StatusBar(Static):
    _shown: tuple[ChatState, int] | None = None  # what `show` was last given, for a resize

    def on_resize(self, event: events.Resize) -> None:
        if self._shown is not None:  # what fits is chosen by the width: chosen again
            self.show(*self._shown)

    def show(self, state: ChatState, more: int = 0) -> None:
        """`more`: lines below what the scrolled-back view shows, said at the end."""
        self._shown = (state, more)
        self.set_class(state.status == "disconnected", "-disconnected")
        self.set_class(state.status == "connecting", "-connecting")
        if state.status != "connected":
            self.update(Text(state.status_text or "Not connected", no_wrap=True, overflow="ellipsis"))
            return
        buffer = state.current
        where = ""
        if buffer.kind is BufferKind.CHANNEL and buffer.joined:
            count = len(buffer.members)
            where = f" · {buffer.name} · {count} member{'s' if count != 1 else ''}"
        elif buffer.kind is BufferKind.QUERY:
            where = f" · talking with {buffer.name}"
        network = f" · {state.status_text}"
        away = " (away)" if state.away is not None else ""
        scrolled = f" · -- more ({more}) --" if more else ""
        # In a narrow terminal the network's name goes first, so that what is about the
        # buffer on screen (and "-- more --", when scrolled back) still fits
        if self.size.width and len(state.nick + away + network + where + scrolled) > self.size.width:
            network = ""
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(state.nick, style=Style(bold=True))
        text.append(away + network + where)
        if scrolled:
            text.append(scrolled, style=Style(reverse=True))
        self.update(text)


LINE_BREAK = "\u23ce"  # ⏎: how a line break of a paste shows in the one-line input


class ChatInput(Input):
    """The line being typed: Up/Down walk the history, Tab completes nicks, channels, commands.

    A paste of several lines stays whole: each of its line breaks shows as ⏎
    (`LINE_BREAK`), and Enter sends every line. Which ⏎ are line breaks is kept
    beside the value (`_breaks`, their positions, moved along by every edit), not
    in it: a ⏎ typed, or inside a pasted line, is text like any other and sent as is.
    `text` is what Enter sends: the value with the pasted line breaks as line breaks.
    """

    # Enter, Tab, Up and Down are taken in the order they were typed (`_on_key`), not as
    # bindings: Textual runs a binding when the key has bubbled up to the app, by which
    # time the keys typed after it in a burst are in the line already (Enter sent
    # "m1n1" for "m1", Enter, "n1"), and a priority binding runs before the keys typed
    # ahead of it are in (Tab completed "bo" for "bob").
    KEYS: ClassVar[frozenset[str]] = frozenset({"enter", "tab", "up", "down"})

    @dataclass
    class Sent(Message):
        """Enter: `text` is what to send, a paste's line breaks as line breaks."""

        input: ChatInput
        text: str

        @property
        def control(self) -> ChatInput:
            return self.input

    def __init__(self, candidates: Callable[[], tuple[list[str], list[str], list[str]]], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.history = InputHistory()
        self.completer = Completer()
        self._candidates = candidates
        self._breaks: list[int] = []  # positions in `_marked` of the ⏎ that are pasted line breaks
        self._marked = ""  # the value `_breaks` belong to
        self._pasted: list[int] = []  # during a paste: where its line breaks go in the text inserted

    @property
    def text(self) -> str:
        """The value as it is to be sent: the pasted line breaks as line breaks, any other ⏎ as it is."""
        self._follow(self.value)
        chars = list(self.value)
        for at in self._breaks:
            chars[at] = "\n"
        return "".join(chars)

    @text.setter
    def text(self, text: str) -> None:
        """Show `text` (its line breaks as ⏎) with the cursor at its end."""
        value = text.replace("\n", LINE_BREAK)
        self._breaks = [i for i, ch in enumerate(text) if ch == "\n"]
        self._marked = value
        self.value = value
        self.cursor_position = len(value)

    def _follow(self, value: str) -> None:
        """Move the line breaks to a value set as a whole (completion, a program): what is
        the same at its start and its end keeps them; those in what changed are gone."""
        old = self._marked
        if value == old:
            return
        head = 0
        most = min(len(old), len(value))
        while head < most and old[head] == value[head]:
            head += 1
        tail = 0
        while tail < most - head and old[-1 - tail] == value[-1 - tail]:
            tail += 1
        self._moved(head, len(old) - tail, len(value) - len(old), [])
        self._marked = value

    def _moved(self, start: int, end: int, growth: int, added: list[int]) -> None:
        """old[start:end] was replaced, the value growing by `growth`; `added`: new breaks."""
        self._breaks = ([at for at in self._breaks if at < start] + added
                        + [at + growth for at in self._breaks if at >= end])

    def replace(self, text: str, start: int, end: int) -> None:
        """Every edit by a key comes here (Textual's Input funnels them all through it)."""
        self._follow(self.value)
        old = self.value
        start, end = sorted((max(0, start), min(len(old), end)))
        super().replace(text, start, end)
        if self.value == old[:start] + text + old[end:]:  # the edit was made (not refused by a restriction)
            self._moved(start, end, len(text) - (end - start), [start + i for i in self._pasted])
            self._marked = self.value

    def on_paste(self, event: events.Paste) -> None:
        """Textual's Input keeps the first line of a paste and drops the rest; a chat
        sends them all, each line break shown as ⏎."""
        text = event.text.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
        if "\n" not in text:
            return  # one line: Textual's own handling
        event.prevent_default()
        event.stop()
        selection = self.selection
        start, end = (self.cursor_position,) * 2 if selection.is_empty else sorted(selection)
        self._pasted = [i for i, ch in enumerate(text) if ch == "\n"]
        try:
            self.replace(text.replace("\n", LINE_BREAK), start, end)
        finally:
            self._pasted = []

    async def _on_key(self, event: events.Key) -> None:
        key = event.key
        if key not in self.KEYS:
            await super()._on_key(event)
            return
        event.stop()
        event.prevent_default()
        if key == "enter":
            await self.action_submit()
        elif key == "tab":
            self.action_complete()
        else:
            self.action_history(-1 if key == "up" else 1)

    async def action_submit(self) -> None:
        """Send the line and empty the field at once: keys that come before the app has
        handled `Sent` (a burst of typing, a laggy link) start the next line, instead of
        being added to this one and wiped with it, or this one sent again by the next Enter."""
        text = self.text
        self.text = ""
        self.post_message(self.Sent(self, text))

    def action_complete(self) -> None:
        commands, channels, nicks = self._candidates()
        result = self.completer.complete(self.value, self.cursor_position, commands, channels, nicks)
        if result is not None:
            value, cursor = result
            self.value = value
            self.cursor_position = cursor

    def action_history(self, step: int) -> None:
        text = self.history.previous(self.text) if step < 0 else self.history.next()
        if text is not None:
            self.text = text


class SearchBar(Horizontal):
    """Ctrl+F: a search through the scroll-back of the buffer on screen.

    Enter or Up goes to the previous (older) match, Down to the next one; every
    match is highlighted; Escape closes the bar and returns to the newest line.
    """

    DEFAULT_CSS = """
    SearchBar { height: 1; display: none; background: $panel; }
    SearchBar > #search-label { width: auto; padding: 0 1; }
    SearchBar > Input { border: none; height: 1; width: 1fr; padding: 0; }
    SearchBar > Input:focus { border: none; }
    SearchBar > #search-count { width: auto; padding: 0 1; color: $text-muted; }
    """

    class Step(Message):
        def __init__(self, direction: int) -> None:
            super().__init__()
            self.direction = direction  # -1: older, 1: newer

    class Closed(Message):
        pass

    def compose(self) -> ComposeResult:
        yield Static("Search:", id="search-label")
        yield _SearchInput(placeholder="text or nick; Enter/Up older, Down newer, Esc closes", id="search-input")
        yield Static("", id="search-count")

    @property
    def term(self) -> str:
        return self.query_one(_SearchInput).value

    def open(self) -> None:
        self.display = True
        self.query_one(_SearchInput).focus()

    def show_count(self, position: int | None, total: int) -> None:
        text = "no match" if total == 0 else f"{position} of {total}" if position else f"{total} found"
        self.query_one("#search-count", Static).update(text if self.term else "")


class _SearchInput(Input):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "step(-1)", show=False),
        Binding("down", "step(1)", show=False),
        Binding("escape", "close", show=False),
    ]

    def action_step(self, direction: int) -> None:
        self.post_message(SearchBar.Step(direction))

    def action_close(self) -> None:
        self.post_message(SearchBar.Closed())

    async def action_submit(self) -> None:
        self.post_message(SearchBar.Step(-1))
