"""The time a replayed line is led by for a client without `batch` (server/replay.py
`_stamped`): before the words, inside an ACTION, never cutting what was said at the
512-byte limit (the rest on a line of its own), once per line of a multiline batch."""

from __future__ import annotations

import calendar

from hubbub.irc.message import MAX_LINE_BODY, Message
from hubbub.server.batch import CONCAT_TAG
from hubbub.server.delivery import WANTS_MULTILINE
from hubbub.server.replay import Replay
from hubbub.server.storage import StoredMessage

SOURCE = "carol!~carol@127.0.0.1"
WHEN = calendar.timegm((2026, 12, 7, 14, 2, 30)) + 0.25


def stored(text: str, msgid: str = "m1") -> StoredMessage:
    return StoredMessage("#c", msgid, WHEN, "PRIVMSG", SOURCE, None, ("#c", text), None, text)


def replayed(*messages: StoredMessage) -> list[Message]:
    units = Replay(list(messages), "hubbub.local", None, ("#c",), bracketed=True).units_for(0)
    assert all(isinstance(unit, Message) for unit in units)
    return [unit for unit in units if isinstance(unit, Message)]


def test_the_words_and_an_action_are_led_by_when_they_were_said() -> None:
    said, acted, ctcp = replayed(stored("!deploy prod"), stored("\x01ACTION waves\x01", "m2"),
                                 stored("\x01VERSION\x01", "m3"))  # fmt: skip
    assert said.params == ["#c", "[14:02] !deploy prod"]
    assert acted.params == ["#c", "\x01ACTION [14:02] waves\x01"]
    assert ctcp.params == ["#c", "\x01VERSION\x01"]  # not words


def test_a_line_at_the_limit_loses_nothing_to_its_time() -> None:
    room = MAX_LINE_BODY - len(f":{SOURCE} PRIVMSG #c :".encode())
    text = "é" * (room // 2)  # as long as a line may be
    first, rest = replayed(stored(text))
    assert first.params[1].startswith("[14:02] é") and rest.params[1] == "é" * 4
    assert first.params[1][8:] + rest.params[1] == text
    assert all(len(m.encode()) <= MAX_LINE_BODY + 2 for m in (first, rest))
    action = "\x01ACTION " + "x" * (room - 9) + "\x01"
    start, end = replayed(stored(action))
    assert start.params[1].endswith("\x01") and end.params[1] == "\x01ACTION " + "x" * 8 + "\x01"
    assert len(start.encode()) <= MAX_LINE_BODY + 2


def test_a_replay_with_batch_is_not_stamped() -> None:
    units = Replay([stored("hello")], "hubbub.local", "chathistory", ("#c",), bracketed=True).units_for(0)
    (batch,) = units
    assert isinstance(batch, list) and [m.params[1] for m in batch if m.command == "PRIVMSG"] == ["hello"]


def test_in_a_multiline_batch_only_the_start_of_each_line_is_stamped() -> None:
    text = "first\nsecond piece"
    message = StoredMessage("#c", "m1", WHEN, "PRIVMSG", SOURCE, None, ("#c", text, "12"), None, text)
    (unit,) = Replay([message], "hubbub.local", None, ("#c",), bracketed=True).units_for(WANTS_MULTILINE)
    assert isinstance(unit, list)
    lines = [(m.params[1], CONCAT_TAG in m.tags) for m in unit if m.command == "PRIVMSG"]
    assert lines == [("[14:02] first", False), ("[14:02] second", False), (" piece", True)]
