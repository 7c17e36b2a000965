"""CHATHISTORY's modes, worked out once for every backend.

A backend answers two small questions: where a msgid is in a conversation (`Locate`),
and which messages lie strictly between two positions (`Page`). How the five modes
(latest, before, after, around, between) turn into those questions, and what bounds,
ties and limits mean, lives here alone, as a generator that yields the questions and
is sent the answers: SQLite drives it on a reader thread, PostgreSQL from a coroutine,
and both give the same answers to the same history.

A position is (time in ms, time in µs, id): the time in microseconds orders the messages
of one millisecond in the order they were relayed (unique: apply.in_time_order); the id,
messages stored before it was kept (time_us 0), in the order they were stored.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from typing import Any, NamedTuple, TypeVar

from hubbub.server.storage import HistoryQuery, Ref, StoredMessage
from hubbub.store.rows import to_ms, to_us

Point = tuple[int, int, int]
FIRST = -1  # positions' (time_us, id) before and after every stored message of one millisecond
LAST = 1 << 62


class Locate(NamedTuple):
    """Where is `msgid` in the conversation? Answer: a Located, or None."""

    msgid: str


class Located(NamedTuple):
    point: Point
    message: StoredMessage


class Page(NamedTuple):
    """The messages strictly between `above` and `below` (None: open), oldest first: the
    `limit` oldest of them, or the `limit` newest. Answer: a list of StoredMessage."""

    limit: int
    above: Point | None
    below: Point | None
    newest: bool


Question = Locate | Page
Plan = Generator[Question, Any, list[StoredMessage]]
T = TypeVar("T")


def run(plan: Generator[Question, Any, T], answer: Callable[[Question], Any]) -> T:
    """Drive `plan` with a blocking `answer`."""
    try:
        question = next(plan)
        while True:
            question = plan.send(answer(question))
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


async def run_async(plan: Generator[Question, Any, T], answer: Callable[[Question], Awaitable[Any]]) -> T:
    """Drive `plan` with an asynchronous `answer`."""
    try:
        question = next(plan)
        while True:
            question = plan.send(await answer(question))
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


def _position(ref: Ref, after: bool) -> Generator[Question, Any, Located | None]:
    """Where `ref` is; None for an unknown msgid. A time (whole milliseconds on the wire)
    stands after every message of its millisecond when counting forward from it (AFTER),
    before every one when counting back (BEFORE): bounds are exclusive of the whole
    millisecond either way, since which of its messages the client has it cannot say
    (a client that may lack some asks from the millisecond before, or by msgid)."""
    if ref.kind == "msgid":
        found: Located | None = yield Locate(str(ref.value))
        return found
    assert isinstance(ref.value, float)
    edge = LAST if after else FIRST
    if ref.kind == "instant":  # an applied event's own time (autoreplay), exact to the microsecond
        return Located((to_ms(ref.value), to_us(ref.value), edge), _NOTHING)
    return Located((to_ms(ref.value), edge, edge), _NOTHING)


_NOTHING = StoredMessage("", "", 0.0, "", "", None, (), None, "")


def plan(query: HistoryQuery) -> Plan:
    """The messages `query` asks for, oldest first."""
    mode, limit, first = query.mode, query.limit, query.first
    if mode == "latest":
        if first is None:
            page: list[StoredMessage] = yield Page(limit, None, None, newest=True)
            return page
        since = yield from _position(first, True)
        if since is None:
            return []
        page = yield Page(limit, since.point, None, newest=True)
        return page
    assert first is not None
    if mode == "before":
        point = yield from _position(first, False)
        if point is None:
            return []
        page = yield Page(limit, None, point.point, newest=True)
        return page
    if mode == "after":
        point = yield from _position(first, True)
        if point is None:
            return []
        page = yield Page(limit, point.point, None, newest=False)
        return page
    if mode == "around":
        return (yield from _around(query, first))
    if mode == "between":
        assert query.second is not None
        start = yield from _position(first, True)
        end = yield from _position(query.second, False)
        if start is None or end is None:
            return []
        if start.point <= end.point:
            page = yield Page(limit, start.point, end.point, newest=False)
            return page
        # counted backwards in time from the first bound: its side of the range is exclusive too
        start = yield from _position(first, False)
        end = yield from _position(query.second, True)
        assert start is not None and end is not None
        page = yield Page(limit, end.point, start.point, newest=True)
        return page
    raise ValueError(f"unknown history mode {mode!r}")


def _around(query: HistoryQuery, first: Ref) -> Plan:
    """Half the limit before the reference, the referenced message itself, the rest after.
    A timestamp's own millisecond counts with the later half: a client that jumps to a
    message by its time (a read marker, a link) gets that message, not the ones around it."""
    found = yield from _position(first, False)
    if found is None:
        return []
    limit = query.limit
    earlier: list[StoredMessage] = yield Page(limit // 2, None, found.point, newest=True)
    middle: list[StoredMessage] = []
    if first.kind == "msgid" and (query.events or found.message.command in ("PRIVMSG", "NOTICE")):
        middle = [found.message]
    rest = limit - len(earlier) - len(middle)
    later: list[StoredMessage] = (yield Page(rest, found.point, None, newest=False)) if rest > 0 else []
    return earlier + middle + later
