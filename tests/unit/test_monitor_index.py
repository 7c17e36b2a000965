"""MONITOR's index without a socket: a connection's list is its own once it watches."""

from __future__ import annotations

from hubbub.server.connection import Connection
from hubbub.server.monitor import MonitorIndex
from hubbub.server.output import IrcOutput
from hubbub.server.user import User
from tests.unit.test_delivery_loops import Link


def connection(uid: str) -> Connection:
    link = Link()
    return Connection(User(uid, "127.0.0.1", "127.0.0.1", False, 0.0), link, IrcOutput(link), "hubbub.local", 0.0)


def test_connections_share_an_empty_list_until_one_watches() -> None:
    index = MonitorIndex()
    watcher, other = connection("u1"), connection("u2")
    assert watcher.monitoring is other.monitoring
    index.unwatch(watcher, "nobody")  # nothing to remove: nothing changes
    assert index.watch(watcher, "Alice")
    assert not index.watch(watcher, "ALICE")
    assert watcher.monitoring == {"alice": "Alice"} and other.monitoring == {}
    assert index.of("alice") == {watcher}
    index.clear(watcher)
    assert watcher.monitoring == {} and not index.of("alice")
