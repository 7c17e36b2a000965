"""What the two halves of a plain session share: where the person is talking."""

from __future__ import annotations

from collections.abc import Callable

from hubbub.plain.text import for_terminal
from hubbub.server.output import Link


class PlainView:
    """The person's current channel, and the line they see things on."""

    __slots__ = ("link", "current", "wanted_nick", "welcomed", "on_welcome", "on_ctcp", "colours")

    def __init__(self, link: Link) -> None:
        self.link = link
        self.current: str | None = None  # the channel typed lines go to
        self.wanted_nick: str | None = None  # chosen, waiting for the server password
        self.welcomed = False  # the welcome burst has been shown (the default channel joined)
        self.on_welcome: Callable[[], None] = lambda: None  # set by the translator
        # a CTCP query (VERSION, PING...) from `nick` to the person, `body` between its
        # \x01s: the translator answers for them (set by the translator)
        self.on_ctcp: Callable[[str, str], None] = lambda nick, body: None
        self.colours = True  # IRC formatting shown as ANSI attributes (/colors off: left out)

    def say(self, text: str) -> None:
        self.link.write((for_terminal(text, self.colours) + "\r\n").encode("utf-8"))
