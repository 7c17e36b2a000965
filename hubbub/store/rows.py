"""How a line of history is kept in a row: the same columns, units and encodings in every
backend, so that what one backend stores another would read back the same."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from hubbub.server.storage import StoredMessage

COLUMNS = "target, msgid, time_ms, time_us, command, source, account, params, tags, body"
PLAIN = "command IN ('PRIVMSG', 'NOTICE')"  # without event-playback: messages only
SAID = "command IN ('PRIVMSG', 'NOTICE', 'TAGMSG')"  # something said; the other rows are events (joins, parts...)
# ForgetSilentChannel: a channel's rows up to its end (?2: ms, ?3: µs, `to_ms`, `to_us`),
# unless one of them is something said. Rows stored before schema 4 have no µs (0): their
# millisecond decides. (SQLite's numbered parameters; PostgreSQL's are `$1`...)
FORGET_SILENT = (
    "DELETE FROM messages WHERE target = ?1 AND time_ms <= ?2 AND time_us <= ?3 AND NOT EXISTS "
    f"(SELECT 1 FROM messages WHERE target = ?1 AND time_ms <= ?2 AND time_us <= ?3 AND {SAID})"
)


def to_ms(time: float) -> int:
    """Times are kept in whole milliseconds, the precision of server-time (rounded as
    server_time rounds them)."""
    return round(time * 1000)


def departure_ms(time: float) -> int:
    """A departure's time in whole milliseconds, rounded up: kept after every line its
    user saw (each of which has a time of its own to the microsecond), so that the replay
    after a restart, which counts from it, shows none of them again."""
    return math.ceil(time * 1000)


def to_us(time: float) -> int:
    """A message's time in microseconds: unique in its conversation, and in the order the
    messages were relayed (apply.in_time_order); it orders the messages of one millisecond."""
    return round(time * 1_000_000)


def message_row(message: StoredMessage) -> tuple[Any, ...]:
    """The values of COLUMNS for `message`."""
    m = message
    tags = json.dumps(m.tags, ensure_ascii=False) if m.tags else None
    return (m.target, m.msgid, to_ms(m.time), to_us(m.time), m.command, m.source, m.account,
            json.dumps(m.params, ensure_ascii=False), tags, m.text)  # fmt: skip


def stored_message(row: Sequence[Any]) -> StoredMessage:
    """A message from a row of `id` and COLUMNS."""
    _, target, msgid, time_ms, _, command, source, account, params, tags, body = row
    return StoredMessage(
        target, msgid, time_ms / 1000, command, source, account, tuple(json.loads(params)),
        json.loads(tags) if tags else None, body,
    )  # fmt: skip


def like_escaped(text: str) -> str:
    """`text` matched literally inside a LIKE pattern (backslash is the escape)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def dm_patterns(account: str) -> tuple[str, str]:
    """LIKE patterns (backslash escapes) of the private conversations' keys of `account`
    (storage.dm_key: `dm:` and the two account keys, sorted): as the first, as the second."""
    escaped = like_escaped(account)
    return f"dm:{escaped} %", f"dm:% {escaped}"
