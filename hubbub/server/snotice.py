"""Server notices: what the server tells operators who asked for it (user mode +s).

Only operators may hold +s (it goes with -o). The events reported are: conns
connecting and exiting, KILLs, K-lines set, lifted or enforced, OPER successes and
failures, REHASH and DIE. Each goes out as
`:server NOTICE <nick> :*** Notice -- <text>`. Watchers are kept in a set, so an event
costs nothing when no operator is listening, however many users are connected.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hubbub.server.connection import Connection

PREFIX = "*** Notice -- "


class ServerNotices:
    def __init__(self) -> None:
        self.watchers: set[Connection] = set()

    def watch(self, conn: Connection, on: bool) -> None:
        if on:
            self.watchers.add(conn)
        else:
            self.watchers.discard(conn)

    def send(self, text: str, exclude: Connection | None = None) -> None:
        for watcher in list(self.watchers):
            if watcher is not exclude and not watcher.gone:
                watcher.server_message("NOTICE", watcher.nick, PREFIX + text)
