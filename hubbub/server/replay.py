"""Stored history on its way back to a client: as the lines it was, with its original
msgid and time, in a batch when the client negotiated `batch`.

A `draft/multiline` message is kept as one message, with its command, PRIVMSG or NOTICE
(store/recorder.py), and comes back as it went out live (batch.py's
`MultilineOutgoing`): a `draft/multiline` batch, nested in the replay's, to a client
with the capability, its lines with the `draft/multiline-concat` tags they had; its
lines one by one to the others.

A `Replay` is delivered like a relayed message (labels.py's `Shared`): with a labeled
command it becomes part of the labeled response, nested in its batch.
"""

from __future__ import annotations

import datetime
import time

from hubbub.irc.message import MAX_LINE_BODY, Message, fit_utf8
from hubbub.server.batch import CONCAT_TAG, MultilineOutgoing
from hubbub.server.chanmodes import mode_params, parse_mode_changes, split_mode_changes
from hubbub.server.delivery import (
    FORM_BITS,
    WANTS_MULTILINE,
    WANTS_TAGS,
    WANTS_TIME,
    event_tags,
    new_batch_id,
    server_time,
    with_tags,
)
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


def multiline_params(target: str, lines: tuple[tuple[str, bool], ...]) -> tuple[str, str, str]:
    """How a multiline message is kept: its command's parameters `(target, text, marks)`.

    `text` is its lines joined as they read, a line break before each but those
    concatenated to the line before (draft/multiline-concat); `marks` says where those
    begin in `text` (offsets in characters, separated by commas; "" for none). A third
    parameter is what tells a multiline message from a line: messages kept before it
    was written have only the text (see `multiline_lines`)."""
    text = ""
    marks: list[str] = []
    for i, (line, concat) in enumerate(lines):
        if i and concat:
            marks.append(str(len(text)))
            text += line
        else:
            text += "\n" + line if i else line
    return target, text, ",".join(marks)


def multiline_lines(text: str, marks: str, room: int) -> tuple[tuple[str, bool], ...]:
    """The (text, concatenated) lines of a multiline message kept as `text` and `marks`
    (`multiline_params`), none past `room` bytes: a longer one (kept before the marks
    were: its pieces were joined with no trace) is cut into pieces concatenated again,
    at character boundaries."""
    try:
        cuts = sorted({int(mark) for mark in marks.split(",") if mark})
    except ValueError:
        cuts = []
    lines: list[tuple[str, bool]] = []
    start = 0
    for line in text.split("\n"):
        end = start + len(line)
        at, concat = start, False
        for cut in cuts:
            if start <= cut < end:
                lines.append((text[at:cut], concat))
                at, concat = cut, True
        lines.append((text[at:end], concat))
        start = end + 1
    room = max(room, 4)  # one character, whatever the source and target
    fitting: list[tuple[str, bool]] = []
    for line, concat in lines:
        while len(line) * 4 > room and len(line.encode()) > room:
            piece = fit_utf8(line, room)
            fitting.append((piece, concat))
            line, concat = line[len(piece) :], True
        fitting.append((line, concat))
    return tuple(fitting)


def stored_units(stored: StoredMessage, mask: int, server: str) -> list[Message | list[Message]]:
    """What a stored message is to a client whose tag wishes are `mask`: the line, or
    lines (a multiline message's, the msgid on the first; a MODE change's, split as
    members saw it), or a multiline message's batch (with WANTS_MULTILINE)."""
    source = stored.source or server
    params = stored.params
    command = stored.command
    if (command == "PRIVMSG" or command == "NOTICE") and len(params) in (2, 3):
        target, text = params[0], params[1]
        room = MAX_LINE_BODY - len(f":{source} {command} {target} :".encode())
        # a multiline message (kept with its marks, or before they were: with a line break,
        # or too long for one line) goes as it went live
        if len(params) == 3 or "\n" in text or (len(text) * 4 > room and len(text.encode()) > room):
            pieces = multiline_lines(text, params[2] if len(params) == 3 else "", room)
            out = MultilineOutgoing(source, target, pieces, command=command, time=stored.time, msgid=stored.msgid,
                                    client_tags=stored.tags, account=stored.account)  # fmt: skip
            return out.units_for(mask & (FORM_BITS | WANTS_MULTILINE))
    tags = event_tags(mask & FORM_BITS, stored.msgid, stored.time, stored.account, False, stored.tags)
    if stored.command == "MODE" and len(params) >= 2:
        # kept as one change; sent as the line or lines members saw (each with the msgid)
        channel, letters, *args = params
        head = len(f":{source} MODE {channel} +".encode())
        lines = split_mode_changes(head, parse_mode_changes(letters, args))
        if len(lines) > 1:
            return [Message("MODE", mode_params(channel, line), source, tags) for line in lines]
    return [Message(stored.command, list(params), source, tags)]


class Replay:
    """Stored messages for one client, in a `batch_type` batch if it has `batch`."""

    __slots__ = ("messages", "server", "batch_type", "batch_params", "bracketed", "told")

    def __init__(
        self, messages: list[StoredMessage], server: str, batch_type: str | None, batch_params: tuple[str, ...] = (),
        bracketed: bool = False, told: str = "",
    ) -> None:  # fmt: skip
        self.messages = messages
        self.server = server
        self.batch_type = batch_type  # None: the lines alone
        self.batch_params = batch_params
        # Lines alone, replayed on joining: said to be earlier ones by a server NOTICE to
        # the channel before and after them (`irc_bytes`), as the plain mode says it. A
        # client without `batch` cannot tell them from what is said now otherwise, and
        # many show a line's arrival time, not its server-time.
        self.bracketed = bracketed
        # Whom those NOTICEs go to: the channel, or the client's own nick for a private
        # conversation's (one to the other person would be shown as said to them)
        self.told = told

    def units_for(self, mask: int) -> list[Message | list[Message]]:
        # message-tags: a TAGMSG never reaches a client without the capability, kept or live
        shown = self.messages if mask & WANTS_TAGS else [m for m in self.messages if m.command != "TAGMSG"]
        if self.batch_type is None:
            if self.bracketed and not mask & WANTS_TIME:
                return [unit for stored in shown for unit in _stamped(stored_units(stored, mask, self.server), stored)]
            return [unit for stored in shown for unit in stored_units(stored, mask, self.server)]
        units = [unit for stored in shown for unit in stored_units(stored, mask, self.server)]
        ref = new_batch_id()
        inside = {"batch": ref}
        batch = [Message("BATCH", ["+" + ref, self.batch_type, *self.batch_params], self.server)]
        for unit in units:
            if isinstance(unit, Message):
                batch.append(with_tags(inside, unit))
            else:  # a nested multiline batch: its opening and closing lines belong to ours
                batch.append(with_tags(inside, unit[0]))
                batch.extend(unit[1:-1])
                batch.append(with_tags(inside, unit[-1]))
        batch.append(Message("BATCH", ["-" + ref], self.server))
        return [batch]

    def irc_bytes(self, mask: int = 0) -> bytes:
        parts: list[bytes] = []
        units = self.units_for(mask)
        bracket = self.bracketed and self.batch_type is None and bool(units) and bool(self.batch_params)
        # With server-time, each NOTICE has the time of the line next to it: a client that
        # sorts by it (a bouncer's buffer played back) keeps them around the lines.
        timed = bool(mask & WANTS_TIME)
        if bracket:
            parts.append(self._notice(self._opening(), self.messages[0].time if timed else None))
        for unit in units:
            for message in unit if isinstance(unit, list) else (unit,):
                parts.append(message.encode())
        if bracket:
            end = "End of the earlier messages: what follows is said now"
            parts.append(self._notice(end, self.messages[-1].time if timed else None))
        return b"".join(parts)

    def _notice(self, text: str, when: float | None) -> bytes:
        tags = {"time": server_time(when)} if when is not None else {}
        return Message("NOTICE", [self.told or self.batch_params[0], text], self.server, tags).encode()

    def _opening(self) -> str:
        first, last = self.messages[0].time, self.messages[-1].time
        since = time.strftime("%Y-%m-%d %H:%M", time.gmtime(first))
        if int(first) // 60 == int(last) // 60:  # one minute: "from 06:50 to 06:50" says it twice
            return f"Earlier messages of {self.batch_params[0]}, said at {since} UTC:"
        until = time.strftime("%H:%M" if int(first) // 86400 == int(last) // 86400 else "%Y-%m-%d %H:%M",
                              time.gmtime(last))  # fmt: skip
        return f"Earlier messages of {self.batch_params[0]}, said from {since} to {until} UTC:"


def _stamped(units: list[Message | list[Message]], stored: StoredMessage) -> list[Message | list[Message]]:
    """A replayed message's lines for a client with neither `batch` nor `server-time`,
    each text led by when it was said (`[14:02] ...`, UTC, as the bracketing NOTICE says),
    as ZNC plays its buffer back: such a client cannot tell them from live lines
    otherwise, and a bot would take a `!command` said
    before it joined for one said to it now: behind the time, it is no command. In a
    multiline batch (plain mode reads one: it joins the pieces of a line again), a piece
    concatenated to the one before is left as it is: the line has its time already."""
    stamp = time.strftime("[%H:%M] ", time.gmtime(stored.time))
    stamped: list[Message | list[Message]] = []
    for unit in units:
        if isinstance(unit, Message):
            stamped.extend(_stamp(unit, stamp))
        else:
            stamped.append([line for m in unit for line in ((m,) if CONCAT_TAG in m.tags else _stamp(m, stamp))])
    return stamped


def _stamp(message: Message, stamp: str) -> list[Message]:
    """`message` with `stamp` before its words (inside an ACTION: `* carol [14:02] waves`),
    in as many lines as keep each within 512 bytes: what the stamp pushes past the end
    goes on a line of its own (concatenated to the first in a multiline batch), rather
    than be cut off."""
    command, params, source = message.command, message.params, message.source
    if (command != "PRIVMSG" and command != "NOTICE") or len(params) != 2:
        return [message]
    text, head, tail = params[1], "", ""
    if text.startswith("\x01ACTION "):
        head, text, tail = "\x01ACTION ", text[8:].removesuffix("\x01"), "\x01"
    elif text.startswith("\x01"):  # another CTCP: not words to stamp
        return [message]
    room = MAX_LINE_BODY - len(f":{source or ''} {command} {params[0]} :{head}{tail}".encode())
    text = stamp + text
    tags = message.tags
    lines = []
    while True:
        piece = text if len(text) * 4 <= room or len(text.encode()) <= room else fit_utf8(text, room)
        lines.append(Message(command, [params[0], head + piece + tail], source, tags))
        text = text[len(piece) :]
        if not text:
            return lines
        # the rest: no msgid of its own (it is the same message), a piece of its line in a batch
        tags = {key: value for key, value in message.tags.items() if key != "msgid"}
        if "batch" in tags:
            tags[CONCAT_TAG] = ""
