"""After a replica started again from a snapshot: this node's connections against it.

The snapshot is the network's state; a local client whose user is there as the client
knows it (same nick, same registration, same channels) carries on, its connection
bound to the new objects; one the network does not have, or has otherwise (an event
only this node had applied, from a log Redis lost), is disconnected with a clear
ERROR rather than left believing something nobody else does.
"""

from __future__ import annotations

from hubbub.engine.replica import LOST_TEXT
from hubbub.server.context import Services


def reconcile(svc: Services) -> None:
    state = svc.state
    for uid, ctx in list(svc.local.items()):
        conn = ctx.conn
        old = conn.user
        new = state.users.get(uid)
        old.conn = None
        if new is None:
            svc.hang_up(conn, LOST_TEXT)
            continue
        if new.nick != old.nick or new.registered != old.registered or new.channels.keys() != old.channels.keys():
            svc.disconnect(conn, LOST_TEXT)  # its quit, an event, takes the user out everywhere
            continue
        new.conn = conn
        conn.user = ctx.user = new
        for channel in new.channels.values():
            channel.local[conn] = None
