"""Stored history on its way back to a client: as the lines it was, with its original
msgid and time, in a batch when the client negotiated `batch`.

A `Replay` is delivered like a relayed message (labels.py's `Shared`): with a labeled
command it becomes part of the labeled response, nested in its batch.
"""

from __future__ import annotations

import datetime

from hubbub.irc.message import Message
from hubbub.server.chanmodes import mode_params, parse_mode_changes, split_mode_changes
from hubbub.server.delivery import FORM_BITS, WANTS_TAGS, event_tags, new_batch_id
from hubbub.server.storage import StoredMessage

_FORMATS = ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(text: str) -> float | None:
    """A server-time timestamp (`2019-01-04T14:33:26.123Z`) as seconds since the epoch."""
    for fmt in _FORMATS:
        try:
            moment = datetime.datetime.strptime(text, fmt)
        except ValueError:
            continue
        return moment.replace(tzinfo=datetime.UTC).timestamp()
    return None


def stored_lines(stored: StoredMessage, mask: int, server: str) -> list[Message]:
    """The line (or lines: a multiline message's, the msgid on the first) a stored message was."""
    source = stored.source or server
    if stored.command in ("PRIVMSG", "NOTICE") and len(stored.params) == 2 and "\n" in stored.params[1]:
        target, text = stored.params
        out: list[Message] = []
        for line in text.split("\n"):
            if line:
                tags = event_tags(mask, stored.msgid if not out else None, stored.time, stored.account, False,
                                  stored.tags)  # fmt: skip
                out.append(Message(stored.command, [target, line], source, tags))
        return out
    tags = event_tags(mask, stored.msgid, stored.time, stored.account, False, stored.tags)
    if stored.command == "MODE" and len(stored.params) >= 2:
        # kept as one change; sent as the line or lines members saw (each with the msgid)
        channel, letters, *args = stored.params
        head = len(f":{source} MODE {channel} +".encode())
        lines = split_mode_changes(head, parse_mode_changes(letters, args))
        if len(lines) > 1:
            return [Message("MODE", mode_params(channel, line), source, tags) for line in lines]
    return [Message(stored.command, list(stored.params), source, tags)]


class Replay:
    """Stored messages for one client, in a `batch_type` batch if it has `batch`."""

    __slots__ = ("messages", "server", "batch_type", "batch_params")

    def __init__(
        self, messages: list[StoredMessage], server: str, batch_type: str | None, batch_params: tuple[str, ...] = ()
    ) -> None:
        self.messages = messages
        self.server = server
        self.batch_type = batch_type  # None: the lines alone
        self.batch_params = batch_params

    def units_for(self, mask: int) -> list[Message | list[Message]]:
        # message-tags: a TAGMSG never reaches a client without the capability, kept or live
        shown = self.messages if mask & WANTS_TAGS else [m for m in self.messages if m.command != "TAGMSG"]
        lines = [line for stored in shown for line in stored_lines(stored, mask & FORM_BITS, self.server)]
        if self.batch_type is None:
            return list(lines)
        ref = new_batch_id()
        batch = [Message("BATCH", ["+" + ref, self.batch_type, *self.batch_params], self.server)]
        for line in lines:
            batch.append(Message(line.command, line.params, line.source, {"batch": ref, **line.tags}))
        batch.append(Message("BATCH", ["-" + ref], self.server))
        return [batch]

    def irc_bytes(self, mask: int = 0) -> bytes:
        parts: list[bytes] = []
        for unit in self.units_for(mask):
            for message in unit if isinstance(unit, list) else (unit,):
                parts.append(message.encode())
        return b"".join(parts)
