"""After Redis answers again, a node waits before declaring silent nodes lost: at least
a heartbeat's time, and no less than a log made again meanwhile gave them (RedisLog
`_reachable` after `_back_on_a_log`). No Redis is needed: nothing is sent."""

from __future__ import annotations

import time

from hubbub.config import ClusterSection
from hubbub.engine.redis import RedisLog
from hubbub.engine.replica import Replica
from hubbub.server.state import ChatState


async def test_redis_answering_again_does_not_shorten_a_longer_grace() -> None:
    settings = ClusterSection(url="redis://127.0.0.1:1/0", node_timeout=10.0)
    log = RedisLog(settings, Replica(ChatState(0.0), "aaaaaa"), "a.example", time.time, lambda node: None, lambda: None)
    try:
        log.down_since = time.monotonic() - 3
        log._grace_until = time.monotonic() + 60  # a log made again: the others get node_timeout more
        log._reachable()
        assert log.down_since is None
        assert log._grace_until > time.monotonic() + 50
        log.down_since = time.monotonic() - 3
        log._grace_until = 0.0
        log._reachable()  # and at least a heartbeat's time otherwise
        assert log._grace_until >= time.monotonic() + log.ttl
    finally:
        for client in (log.r, log.rr, log.rp):
            await client.aclose()
