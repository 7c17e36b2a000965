"""DIGEST: every node's digest of its replica, to check that the replicas are equal.

The question is an event (DigestAsked): every node meets it at the same place in the
network's order and answers (DigestGiven) with the digest of its state there, so equal
replicas answer alike even while events keep coming. The asker's node relays each
answer to it as a NOTICE: `DIGEST <server> <digest>`, one per node.
"""

from __future__ import annotations

from hubbub.server.apply import Outcome
from hubbub.server.context import Services
from hubbub.server.events import DigestAsked, DigestGiven, Event


class Digests:
    """A subscriber of the engine: answers digest questions, relays the answers."""

    def __init__(self, svc: Services) -> None:
        self.svc = svc

    def __call__(self, event: Event, outcome: Outcome) -> None:
        kind = type(event)
        if kind is DigestAsked:
            assert isinstance(event, DigestAsked)
            svc = self.svc
            svc.engine.emit(None, DigestGiven(event.uid, event.token, svc.name, svc.state.digest()))
        elif kind is DigestGiven:
            assert isinstance(event, DigestGiven)
            ctx = self.svc.local.get(event.uid)
            if ctx is not None:
                ctx.conn.server_message("NOTICE", ctx.user.nick, f"DIGEST {event.server} {event.digest}")
