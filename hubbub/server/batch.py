"""Server-initiated batches: reference tags, a multiline message on its way out, and a
batch of replies to one client (`ReplyBatch`).

A `draft/multiline` message (of PRIVMSG lines, or of NOTICE lines) is one event with
one msgid and time, like any relayed message, but two shapes: a `BATCH` for clients
that negotiated the capability, and its non-blank lines one by one for the others (the
msgid on the first line only, as the specification requires). Like `Outgoing`, each wire form is serialized once and
shared by every recipient wanting it.
"""

from __future__ import annotations

from hubbub.irc.message import Message
from hubbub.server.delivery import FORM_BITS, WANTS_MULTILINE, event_tags, new_batch_id, with_tags

MULTILINE = "draft/multiline"
CONCAT_TAG = "draft/multiline-concat"


class MultilineOutgoing:
    """A multiline PRIVMSG or NOTICE (`command`) from `source` to `target`: `lines` are
    (text, concatenated) pairs."""

    __slots__ = (
        "source", "target", "lines", "command", "time", "msgid", "client_tags", "account", "bot", "ref", "_forms",
    )

    def __init__(
        self,
        source: str,
        target: str,
        lines: tuple[tuple[str, bool], ...],
        *,
        command: str,
        time: float,
        msgid: str,
        client_tags: dict[str, str] | None = None,
        account: str | None = None,
        bot: bool = False,
    ) -> None:
        self.source = source
        self.target = target
        self.lines = lines
        self.command = command
        self.time = time
        self.msgid = msgid
        self.client_tags = client_tags
        self.account = account
        self.bot = bot
        self.ref = new_batch_id()
        self._forms: dict[int, bytes] = {}

    def _tags(self, mask: int, msgid: bool) -> dict[str, str]:
        return event_tags(mask, self.msgid if msgid else None, self.time, self.account, self.bot, self.client_tags)

    def units_for(self, mask: int) -> list[Message | list[Message]]:
        """The messages a recipient with `mask` gets: one batch, or one message per line."""
        command = self.command
        if mask & WANTS_MULTILINE:
            ref = self.ref
            batch = [Message("BATCH", ["+" + ref, MULTILINE, self.target], self.source, self._tags(mask, True))]
            for text, concat in self.lines:
                tags = {"batch": ref, CONCAT_TAG: ""} if concat else {"batch": ref}
                batch.append(Message(command, [self.target, text], self.source, tags))
            batch.append(Message("BATCH", ["-" + ref], self.source))
            return [batch]
        units: list[Message | list[Message]] = []
        for text, _ in self.lines:
            if text:  # blank lines only make sense inside the batch
                units.append(Message(command, [self.target, text], self.source, self._tags(mask, not units)))
        return units

    def irc_bytes(self, mask: int = 0) -> bytes:
        mask &= FORM_BITS | WANTS_MULTILINE
        data = self._forms.get(mask)
        if data is None:
            parts: list[bytes] = []
            for unit in self.units_for(mask):
                for message in unit if isinstance(unit, list) else (unit,):
                    parts.append(message.encode())
            data = self._forms[mask] = b"".join(parts)
        return data


class ReplyBatch:
    """Replies to one client that belong together (a `metadata` batch, say): one unit,
    so that a labeled reply puts its label on the opening `BATCH` line; the replies
    alone, one by one, for a client that did not negotiate `batch`."""

    __slots__ = ("batched", "messages")

    def __init__(self, server: str, kind: str, params: list[str], replies: list[Message], batched: bool) -> None:
        self.batched = batched
        if batched:
            ref = new_batch_id()
            inside = {"batch": ref}
            self.messages = [
                Message("BATCH", ["+" + ref, kind, *params], server),
                *(with_tags(inside, reply) for reply in replies),
                Message("BATCH", ["-" + ref], server),
            ]
        else:
            self.messages = replies

    def units_for(self, mask: int) -> list[Message | list[Message]]:
        if self.batched:
            return [self.messages]
        return list(self.messages)

    def irc_bytes(self, mask: int = 0) -> bytes:
        return b"".join(message.encode() for message in self.messages)
