"""`hubbub chat`: the Textual terminal client.

The app owns a `Client` and a `ChatState`. One worker reads the client's events,
folds each into the state and redraws what the returned `Update` names; the input
line is its own widget, so nothing that arrives can overwrite what is being typed.
What is read here is marked read on the server (`draft/read-marker`) a moment later,
so that the account's other devices stop counting it unread.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import ClassVar

from textual import events, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Horizontal, VerticalScroll
from textual.timer import Timer

from hubbub.client.chatlog import ChatLog, default_log_dir
from hubbub.client.connection import Client, ClientConfig, Subscription
from hubbub.client.protocol import utc_now
from hubbub.client.state import MAX_LINES, TARGETS_MAX, Buffer, BufferKind, ChatState, Line, Update
from hubbub.client.tui import commands
from hubbub.client.tui.channel_list import ChannelListScreen
from hubbub.client.tui.widgets import (
    BufferList,
    ChatInput,
    MemberList,
    MessageView,
    SearchBar,
    StatusBar,
    TopicBar,
)

QUIT_MESSAGE = "hubbub chat"
# Pages of joins and parts alone (or of what ignored people said) that one PageUp fetches
# past by itself, looking for what was said: enough for a busy channel's comings and
# goings, and a channel of nothing else is not read back to its start at one key.
OLDER_PAGES_FETCHED_ON = 5
# Seconds between reading a conversation and marking it read on the server (the web
# client's MARKREAD_DELAY_MS): a burst of messages read, or buffers flicked through, is one
# MARKREAD each, not one per line.
MARK_READ_DELAY = 1.5


def _allow_alt_digits() -> None:
    """Let ESC+digit arrive as alt+1..alt+0, the usual buffer-switching keys.

    Textual maps ESC followed by a digit to the characters WezTerm on macOS sends for
    Option+digit (¡ ™ £ ...), so in every other terminal Alt+digit types a symbol.
    Without those ten entries its parser reports the sequence as alt+N.
    """
    try:
        from textual._ansi_sequences import ANSI_SEQUENCES_KEYS
    except ImportError:  # a Textual without the table: nothing to undo
        return
    for digit in "0123456789":
        ANSI_SEQUENCES_KEYS.pop(f"\x1b{digit}", None)  # type: ignore[attr-defined]


class _ToServerBuffer(logging.Handler):
    """Shows the client library's warnings in the server buffer, not over the screen."""

    def __init__(self, app: ChatApp) -> None:
        super().__init__(logging.WARNING)
        self.app = app

    def emit(self, record: logging.LogRecord) -> None:
        text = f"Internal error: {record.getMessage()}"
        if record.exc_info and record.exc_info[1] is not None:
            text += f" ({record.exc_info[1]!r})"
        self.app.call_later(self.app.show, text, True, self.app.state.server)


class ChatApp(App[int]):
    """A friendly IRC client: buffers on the left, members on the right, input at the bottom."""

    CSS_PATH = Path(__file__).with_name("app.tcss")
    TITLE = "hubbub chat"
    ENABLE_COMMAND_PALETTE = False  # Ctrl+P is "previous buffer" here
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+n", "next_buffer(1)", "Next buffer", show=False, priority=True),
        Binding("ctrl+p", "next_buffer(-1)", "Previous buffer", show=False, priority=True),
        Binding("pageup", "scroll_messages(-1)", "Scroll up", show=False, priority=True),
        Binding("pagedown", "scroll_messages(1)", "Scroll down", show=False, priority=True),
        Binding("ctrl+q", "quit_chat", "Quit", show=False, priority=True),
        Binding("f2", "toggle_members", "Members", show=False, priority=True),
        Binding("f3", "toggle_buffers", "Buffers", show=False, priority=True),
        Binding("ctrl+f", "search", "Search", show=False, priority=True),
        *(Binding(f"alt+{n}", f"select_buffer({(n - 1) % 10})", show=False, priority=True) for n in range(10)),
    ]

    # The side panels narrow on smaller terminals (widths in app.tcss) ...
    HORIZONTAL_BREAKPOINTS = [(0, "-small"), (80, "-medium"), (100, "-wide")]  # noqa: RUF012 (as App declares it)
    # ... and below these widths they hide unless asked for (F2, F3), so the text
    # column keeps room to be read.
    MEMBERS_MIN_WIDTH = 80
    BUFFERS_MIN_WIDTH = 50

    def __init__(self, config: ClientConfig, *, clock: Callable[[], datetime] = utc_now,
                 highlights: Iterable[str] = (), log_dir: Path | None = None) -> None:
        super().__init__()
        _allow_alt_digits()
        self.config = config
        self.client = Client(config, clock=clock)
        self.state = ChatState(config.host, isupport=self.client.isupport, clock=clock)
        self.views: dict[Buffer, MessageView] = {}
        self._ids = itertools.count(1)
        self._events: Subscription | None = None
        self._quitting = False
        self._log_handler = _ToServerBuffer(self)
        # None: decided by the terminal's width; True/False: the person's choice (F2, F3).
        self.members_wanted: bool | None = None
        self.buffers_wanted: bool | None = None
        for word in highlights:
            self.state.add_highlight(word)
        self.log_dir = log_dir
        self.chatlog: ChatLog | None = ChatLog(log_dir) if log_dir is not None else None
        # The server buffer's lines before the first registration, when the network's name
        # (its log's directory and file) is not known yet: written once it is, into the one
        # file all the others go to, not a file named after the host of their own.
        self._unnamed_log: list[Line] = []
        self._network_named = False
        self._search_at: int | None = None  # the buffer line of the current search match
        self.mark_read_delay = MARK_READ_DELAY
        self._mark_timer: Timer | None = None  # set while a MARKREAD waits for the delay

    # -- layout ---------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield TopicBar(id="topic")
        with Horizontal(id="main"):
            yield BufferList(id="buffers")
            yield Container(id="messages")
            with VerticalScroll(id="members-pane"):
                yield MemberList(id="members")
        yield SearchBar(id="search")
        yield StatusBar(id="status")
        yield ChatInput(self._candidates, id="input", placeholder="Type a message, or /help")

    def on_mount(self) -> None:
        logger = logging.getLogger("hubbub.client")
        logger.addHandler(self._log_handler)
        logger.propagate = False
        self._ensure_views()
        self._redraw(self.state.select(self.state.server))
        self.query_one(ChatInput).focus()
        self.watch(self, "app_focus", self._focus_changed, init=False)
        self._events = self.client.subscribe()
        self.client.start()
        self._pump_events(self._events)

    async def on_unmount(self) -> None:
        await self.client.close(QUIT_MESSAGE)
        logger = logging.getLogger("hubbub.client")
        logger.removeHandler(self._log_handler)
        logger.propagate = True
        if self.chatlog is not None:
            self._network_named = True  # never registered: what there is, under the host's name
            self._log_lines(Update())
            self.chatlog.close()

    @work(exclusive=True, group="irc-events")
    async def _pump_events(self, events: Subscription) -> None:
        async for event in events:
            update = self.state.apply(event)
            if self.is_running:
                self._redraw(update)
            else:
                # Shutting down: Textual prunes the screens before it cancels workers, so an
                # event arriving in between has no widgets to draw on; its lines still
                # reach the chat log.
                self._log_lines(update)

    # -- drawing --------------------------------------------------------------------

    def _ensure_views(self) -> None:
        """A message view for every buffer, and none for closed ones."""
        container = self.query_one("#messages", Container)
        for buffer in self.state.buffers:
            if buffer not in self.views:
                view = MessageView(buffer, id=f"view-{next(self._ids)}")
                view.display = buffer is self.state.current
                self.views[buffer] = view
                container.mount(view)
        for buffer in [b for b in self.views if b not in self.state.buffers]:
            self.views.pop(buffer).remove()

    def _redraw(self, update: Update) -> None:
        current_before = self.state.current
        if update.buffers or update.selected:
            self._ensure_views()
        for buffer, line in update.lines:
            view = self.views.get(buffer)
            if view is not None:
                view.add(line)
        self._log_lines(update)
        for buffer in update.rewritten:
            view = self.views.get(buffer)
            if view is not None:
                if view.asked_older and buffer.history_done and buffer is current_before:
                    self.notify("No older messages on the server.", timeout=3)
                view.rewrite()
        for buffer in update.older_wanted:
            self._fetch_on(buffer)
        for buffer in update.latest_wanted:  # the latest page, as a JOIN brings a channel's: no scroll-back
            if self.client.config.fetch_history and self.client.ready and self.client.history_supported:
                # its read marker first (a channel's comes with its JOIN): known by the time
                # the history is, what was read on another device is not counted unread
                self.client.request_read_marker(buffer.name)
                self.client.request_history(buffer.name)
        since = update.targets_since  # registered: the private conversations held elsewhere meanwhile
        if since is not None and self.client.account and self.client.config.fetch_history and self.client.ready:
            # up to a day ahead of this machine's clock: a server's clock ahead of it still counts
            self.client.request_targets(since + timedelta(milliseconds=1), self.state.clock() + timedelta(days=1),
                                        TARGETS_MAX)
        current = self.state.current
        if update.selected:
            for buffer, view in self.views.items():
                view.display = buffer is current
            if current in self.views:
                self.views[current].catch_up()
        if update.lines or update.buffers or update.selected:
            self.query_one(BufferList).show(self.state)
        if update.selected or current in update.members:
            self._place_panels()
            self.query_one(MemberList).show(current)
        if update.selected or current in update.topic or update.status:  # a channel's bar says if it is rejoined
            self.query_one(TopicBar).show(self.state)
        if update.status or update.selected or current in update.members:
            self._show_status()
        if update.mark_read:
            self._schedule_mark_read()
        if update.bell:
            self.bell()
        if update.channel_list and isinstance(self.screen, ChannelListScreen):
            self.screen.show_channels(self.state.channels_listed)

    def _schedule_mark_read(self) -> None:
        """Mark what was read on the server once MARK_READ_DELAY has passed (a timer already
        set takes what is read meanwhile too)."""
        if self._mark_timer is None and self.client.read_markers_supported:
            self._mark_timer = self.set_timer(self.mark_read_delay, self._mark_read_now)

    def _mark_read_now(self) -> None:
        self._mark_timer = None
        if not self.client.ready or not self.client.read_markers_supported:
            return  # kept: marked once connected again (Update.mark_read on registering)
        for name, when in self.state.marks_due():
            self.client.mark_read(name, when)

    def _focus_changed(self, focused: bool) -> None:
        """The terminal gained or lost the focus (where it reports it): what arrives in
        the buffer on screen is read only while someone looks at it."""
        self._redraw(self.state.set_focused(focused))

    def _log_lines(self, update: Update) -> None:
        if self.chatlog is None:
            return
        self._network_named = self._network_named or self.state.status == "connected"
        self.chatlog.network = self.state.server.name
        if self._network_named and self._unnamed_log:
            for line in self._unnamed_log:
                self.chatlog.write(self.state.server.name, line)
            self._unnamed_log.clear()
        for buffer, line in update.lines:
            if buffer is self.state.server and not self._network_named:
                self._unnamed_log.append(line)
            else:
                self.chatlog.write(buffer.name, line)

    def _show_status(self) -> None:
        view = self.views.get(self.state.current)
        self.query_one(StatusBar).show(self.state, view.unseen if view is not None else 0)

    def on_message_view_more_changed(self, message: MessageView.MoreChanged) -> None:
        if self.views.get(self.state.current) is message.view:
            self._show_status()

    def _place_panels(self, width: int | None = None) -> None:
        """Show or hide the side panels for this buffer and this terminal width."""
        width = self.size.width if width is None else width
        members = self.members_wanted if self.members_wanted is not None else width >= self.MEMBERS_MIN_WIDTH
        buffers = self.buffers_wanted if self.buffers_wanted is not None else width >= self.BUFFERS_MIN_WIDTH
        self.query_one("#members-pane").display = members and self.state.current.kind is BufferKind.CHANNEL
        self.query_one(BufferList).display = buffers

    def on_resize(self, event: events.Resize) -> None:
        self._place_panels(event.size.width)  # self.size catches up a moment later

    # -- what the person does -------------------------------------------------------

    def on_chat_input_sent(self, event: ChatInput.Sent) -> None:
        event.input.history.add(event.text)  # the field was emptied as Enter was pressed
        commands.execute(self, event.text)

    def on_buffer_list_clicked(self, message: BufferList.Clicked) -> None:
        self.action_select_buffer(message.index)

    def action_select_buffer(self, index: int) -> None:
        self.state.view_chosen = True
        update = self.state.select_index(index)
        if update is not None:
            self._redraw(update)

    def action_next_buffer(self, step: int) -> None:
        self.state.view_chosen = True
        self._redraw(self.state.select_next(step))

    def action_scroll_messages(self, direction: int) -> None:
        view = self.views.get(self.state.current)
        if view is not None:
            at_top = view.scroll_offset.y == 0
            view.page(direction)
            if direction < 0 and at_top:
                self._fetch_older(self.state.current, view)

    def _fetch_older(self, buffer: Buffer, view: MessageView) -> None:
        """PageUp at the top of a buffer: ask the server for the messages before the oldest we have."""
        if buffer.history_done and buffer.kind is not BufferKind.SERVER:
            # known already (the history that came on joining was all there is): said again,
            # or PageUp at the top would seem to do nothing (docs/client.md)
            self.notify("No older messages on the server.", timeout=3)
            return
        if buffer.kind is BufferKind.SERVER or buffer.history_pending:
            return
        if len(buffer.lines) >= MAX_LINES:
            # a page fetched now would go out again at once: a buffer keeps its newest lines
            self.notify(f"This buffer keeps its newest {MAX_LINES} lines: older ones are not shown here.", timeout=4)
            return
        if self.client.history_waiting(buffer.name):
            # the latest page, asked for on joining, is still on its way: asking before the
            # join would bring the same lines, and the two answers would be taken each
            # for the other's (the pages fetched on would be off by one)
            return
        if self._ask_older(buffer):
            view.asked_older = True
            view.fetched_on = 0

    def _fetch_on(self, buffer: Buffer) -> None:
        """Scroll-back brought a whole page and nothing said in it that is shown (joins and
        parts, what ignored people said): the page before it too, up to
        OLDER_PAGES_FETCHED_ON times for one PageUp."""
        view = self.views.get(buffer)
        if view is None or buffer.history_pending or view.fetched_on >= OLDER_PAGES_FETCHED_ON:
            return
        if self._ask_older(buffer):
            view.fetched_on += 1

    def _ask_older(self, buffer: Buffer) -> bool:
        """Ask for the page before the oldest line we have (the latest, with none); whether asked."""
        if not self.client.ready or not self.client.history_supported:
            return False
        where = buffer.scroll_back_from()
        if where is None:
            asked = self.client.request_history(buffer.name)
        elif where[0] is not None:
            asked = self.client.request_history_before(buffer.name, msgid=where[0])
        else:
            asked = self.client.request_history_before(buffer.name, time=where[1])
        if asked:
            buffer.history_pending = True
        return asked

    def action_toggle_members(self) -> None:
        shown = self.query_one("#members-pane").display
        if self.state.current.kind is BufferKind.CHANNEL:
            self.members_wanted = not shown
            self._place_panels()

    def action_toggle_buffers(self) -> None:
        self.buffers_wanted = not self.query_one(BufferList).display
        self._place_panels()

    def action_search(self) -> None:
        self._search_at = None
        self.query_one(SearchBar).open()

    def on_search_bar_step(self, message: SearchBar.Step) -> None:
        buffer, bar = self.state.current, self.query_one(SearchBar)
        view = self.views.get(buffer)
        if view is None:
            return
        if view.search != bar.term:
            self._search_at = None
            view.set_search(bar.term)
        matches = buffer.search(bar.term)
        if not matches:
            bar.show_count(None, 0)
            return
        at = self._search_at
        if message.direction < 0:
            earlier = [i for i in matches if at is None or i < at]
            at = earlier[-1] if earlier else matches[0]
        else:
            later = [i for i in matches if at is not None and i > at]
            at = later[0] if later else matches[-1]
        self._search_at = at
        view.show_line(at)
        bar.show_count(len(matches) - matches.index(at), len(matches))  # counted from the newest

    def on_search_bar_closed(self, message: SearchBar.Closed) -> None:
        bar = self.query_one(SearchBar)
        bar.display = False
        self._search_at = None
        for view in self.views.values():
            view.set_search("")
        shown = self.views.get(self.state.current)
        if shown is not None:
            shown.follow()
        self.query_one(ChatInput).focus()

    def action_quit_chat(self) -> None:
        self.quit("")

    def action_help_quit(self) -> None:
        """Ctrl+C, where no text is selected to copy: people press it to leave, and
        Textual's hint names only a binding to its own `quit`, which ours is not."""
        self.notify("Press Ctrl+Q, or type /quit, to leave.", timeout=4)

    def _candidates(self) -> tuple[list[str], list[str], list[str]]:
        """Completion candidates: commands, channels, and nicks (recent speakers first)."""
        buffer = self.state.current
        channels = [b.name for b in self.state.buffers if b.kind is BufferKind.CHANNEL]
        recent: dict[str, None] = {}
        for line in reversed(buffer.lines):
            if line.nick and line.kind in ("message", "action") and not line.own:
                recent.setdefault(line.nick, None)
            if len(recent) >= 20:
                break
        members = [m.nick for m in sorted(buffer.members, key=lambda m: m.nick.lower())]
        if buffer.kind is BufferKind.QUERY:
            members.append(buffer.name)
        present = {m.lower() for m in members}
        nicks = [n for n in recent if n.lower() in present] + members
        return commands.command_names(), channels, nicks

    # -- CommandContext ---------------------------------------------------------------

    def show(self, text: str, error: bool = False, buffer: Buffer | None = None) -> None:
        self._redraw(self.state.info(text, buffer, error=error))

    def switch_to(self, buffer: Buffer) -> None:
        """The person's choice (a command): a channel the start joins later does not take the screen from it."""
        self.state.view_chosen = True
        self._redraw(self.state.select(buffer))

    def close_buffer(self, buffer: Buffer) -> None:
        self._redraw(self.state.close(buffer))
        self._ensure_views()

    def open_channel_list(self, query: str = "") -> None:
        def chosen(name: str | None) -> None:
            if name:
                commands.execute(self, f"/join {name}")
        self.push_screen(ChannelListScreen(query), chosen)

    def set_logging(self, on: bool) -> Path | None:
        """Start or stop writing logs; the directory they go to (None when stopped)."""
        if not on:
            if self.chatlog is not None:
                self.chatlog.close()
            self.chatlog = None
            return None
        if self.chatlog is None:
            self.chatlog = ChatLog(self.log_dir or default_log_dir(), self.state.server.name)
        return self.chatlog.directory

    def quit(self, reason: str) -> None:
        if not self._quitting:
            self._quitting = True
            self._leave(reason or QUIT_MESSAGE)

    @work(group="quit")
    async def _leave(self, reason: str) -> None:
        if self._mark_timer is not None:  # read a moment ago: marked now, not lost with the delay
            self._mark_timer.stop()
            self._mark_read_now()
        await self.client.close(reason)
        self.exit(0)
