"""From what the store kept to the events that make a fresh chat state hold it again."""

from __future__ import annotations

from collections.abc import Iterator

from hubbub.server.events import AccountRegistered, ChannelRestored, Event, KlineAdded
from hubbub.server.storage import Snapshot


def restore_events(snapshot: Snapshot, now: float) -> Iterator[Event]:
    """Events that, applied to an empty state, give it the snapshot's contents; K-lines
    that expired while the server was down are left out."""
    for a in snapshot.accounts:
        yield AccountRegistered(a.key, a.name, a.password_hash, a.scram, a.email, a.registered_at, a.certfps, a.vhost)
    for c in snapshot.channels:
        yield ChannelRestored(c.name, c.founder, c.registered_at, c.topic, c.topic_by, c.topic_time, c.modes,
                              c.join_key, c.limit, c.lists, c.access, c.flood, c.join_flood)  # fmt: skip
    for kline in snapshot.klines:
        if kline.expires is None or kline.expires > now:
            yield KlineAdded(kline.mask, kline.reason, kline.set_by, kline.set_at, kline.expires)
