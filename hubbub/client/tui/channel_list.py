"""The /list answer as a list to browse: type to filter, Enter to join, Escape to close.

A server with many channels answers /list with hundreds of lines; printed into a
buffer they scroll away. Here they stay in one place, busiest first, and the person
narrows them by typing part of a name or topic.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from hubbub.client.state import ListedChannel


class ChannelListScreen(ModalScreen[str | None]):
    """Returns the name of the channel chosen, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss_list", "Close", show=False),
        Binding("down", "move(1)", show=False),
        Binding("up", "move(-1)", show=False),
    ]
    DEFAULT_CSS = """
    ChannelListScreen { align: center middle; }
    ChannelListScreen > Vertical { width: 90%; height: 80%; border: round $accent; background: $surface; }
    ChannelListScreen #list-filter { border: none; height: 1; padding: 0 1; }
    ChannelListScreen #list-help { height: 1; padding: 0 1; color: $text-muted; }
    ChannelListScreen OptionList { height: 1fr; border: none; }
    """

    def __init__(self, query: str = "") -> None:
        super().__init__()
        self.channels: list[ListedChannel] | None = None  # None until the answer is complete
        self._query = query

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Input(self._query, placeholder="Filter channels by name or topic", id="list-filter")
            yield Static("Enter joins the selected channel · Escape closes", id="list-help")
            yield OptionList(Option("Asking the server for its channels…", disabled=True), id="list-options")

    def on_mount(self) -> None:
        self.query_one("#list-filter", Input).focus()

    def show_channels(self, channels: list[ListedChannel]) -> None:
        self.channels = sorted(channels, key=lambda c: (-c.users, c.name.lower()))
        self._refill()

    def on_input_changed(self, event: Input.Changed) -> None:
        self._refill()

    def _refill(self) -> None:
        if self.channels is None:
            return
        options = self.query_one(OptionList)
        term = self.query_one("#list-filter", Input).value.strip().lower()
        shown = [c for c in self.channels if term in c.name.lower() or term in c.topic.lower()]
        options.clear_options()
        if not shown:
            options.add_option(Option("No channel matches." if self.channels else "The server lists no channels.",
                                      disabled=True))
            return
        width = max(len(c.name) for c in shown)
        options.add_options(
            Option(Text.assemble((c.name.ljust(width), "bold"), f" {c.users:>4}  ", (c.topic, "dim")), id=c.name)
            for c in shown)
        options.highlighted = 0

    def action_move(self, step: int) -> None:
        options = self.query_one(OptionList)
        if step > 0:
            options.action_cursor_down()
        else:
            options.action_cursor_up()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is not None:
            option = options.get_option_at_index(options.highlighted)
            if option.id is not None:
                self.dismiss(option.id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            self.dismiss(event.option.id)

    def action_dismiss_list(self) -> None:
        self.dismiss(None)
