"""Encode once, write many: a message on its way to several clients.

A channel message is serialized the first time a recipient needs it and the same
bytes object is written to every other recipient that wants the same form. The form
a client wants depends only on its negotiated capabilities, so the cache is keyed by
form, not by recipient.
"""

from __future__ import annotations

from hubbub.irc.message import Message


class Outgoing:
    """A message shared by many recipients, with its wire forms computed lazily."""

    __slots__ = ("message", "_plain_bytes")

    def __init__(self, message: Message) -> None:
        self.message = message
        self._plain_bytes: bytes | None = None

    def irc_bytes(self) -> bytes:
        """The untagged form, for clients that negotiated no tag capability."""
        data = self._plain_bytes
        if data is None:
            data = self._plain_bytes = self.message.encode()
        return data
