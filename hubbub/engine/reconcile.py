"""After a replica started again from a snapshot: this node's connections against it.

The snapshot is the network's state; a local client whose user is there as the client
knows it (same nick, same registration, same channels) carries on, its connection
bound to the new objects; one the network does not have, or has otherwise (an event
only this node had applied, from a log Redis lost), is disconnected with a clear
ERROR rather than left believing something nobody else does.

When the snapshot jumped over entries this node never applied (`Replica.skipped`: it
fell further behind than the log keeps, or it could not follow a log made again), no
local client can be shown what it missed (messages, modes, kicks...): each is
disconnected with an ERROR, its user quitting for everyone through the log as any
quit does, rather than carrying on with a silent hole in what it saw. The users of
this node that the snapshot holds and no connection here serves (a connection whose
arrival the snapshot holds, its client already told: `Replica.restore`) quit too, so
that the network does not keep a user nobody is behind.
"""

from __future__ import annotations

from hubbub.engine.replica import BEHIND_TEXT, LOST_TEXT, Replica
from hubbub.server import floodexempt
from hubbub.server.context import Services
from hubbub.server.delivery import new_msgid
from hubbub.server.events import UserQuit
from hubbub.server.user import node_of


def reconcile(svc: Services) -> None:
    state = svc.state
    engine = svc.engine
    skipped = isinstance(engine, Replica) and engine.skipped
    served: set[str] = set()
    for uid, ctx in list(svc.local.items()):
        served.add(uid)
        conn = ctx.conn
        old = conn.user
        new = state.users.get(uid)
        old.conn = None
        if new is None:
            svc.hang_up(conn, LOST_TEXT)
            continue
        if skipped:
            svc.disconnect(conn, BEHIND_TEXT)
            continue
        if new.nick != old.nick or new.registered != old.registered or new.channels.keys() != old.channels.keys():
            svc.disconnect(conn, LOST_TEXT)  # its quit, an event, takes the user out everywhere
            continue
        new.conn = conn
        conn.user = ctx.user = new
        for channel in new.channels.values():
            channel.local[conn] = None
        # logged out or opered elsewhere meanwhile: flood control follows the user it has now
        limits = svc.config.limits
        if floodexempt.is_exempt(new, limits) != floodexempt.is_exempt(old, limits):
            floodexempt.refresh(conn, limits)
    if skipped:
        assert isinstance(engine, Replica)
        quitting = {event.uid for _, event in engine.outbox if type(event) is UserQuit}
        for uid in [uid for uid in state.users if node_of(uid) == engine.node]:
            if uid not in served and uid not in quitting:
                engine.emit(None, UserQuit(uid, BEHIND_TEXT, svc.clock(), new_msgid()))
